/* Unit tests of searchd/queue.c: the bounded job queue (capacity, FIFO
 * order, shutdown modes, timed waits, kicks, batch take, a producer/consumer run)
 * and the done list (hand-off and wake-up of the event loop). */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "job.h"
#include "queue.h"
#include "util.h"

static job *mk(uint32_t id)
{
    job *j = job_new(NULL, NULL, id);
    assert_non_null(j);
    return j;
}

static void test_capacity(void **state)
{
    (void)state;
    job_queue q;
    assert_int_equal(queue_init(&q, 3), 0);
    for (uint32_t i = 0; i < 3; i++) assert_int_equal(queue_push(&q, mk(i)), 0);
    assert_int_equal(queue_len(&q), 3);
    job *extra = mk(99);
    assert_int_equal(queue_push(&q, extra), -1);    /* full: still ours */
    assert_int_equal(queue_len(&q), 3);
    job *j = queue_pop(&q);
    assert_int_equal(j->msgid, 0);
    job_free(j);
    assert_int_equal(queue_len(&q), 2);
    assert_int_equal(queue_push(&q, extra), 0);     /* room again */
    assert_int_equal(queue_len(&q), 3);
    queue_destroy(&q);                              /* frees the three */
}

static void test_zero_capacity(void **state)
{
    (void)state;
    job_queue q;
    assert_int_equal(queue_init(&q, 0), 0);
    job *j = mk(1);
    assert_int_equal(queue_push(&q, j), -1);
    job_free(j);
    queue_destroy(&q);
}

static void test_fifo(void **state)
{
    (void)state;
    job_queue q;
    assert_int_equal(queue_init(&q, 100), 0);
    for (uint32_t i = 0; i < 50; i++) assert_int_equal(queue_push(&q, mk(i)), 0);
    for (uint32_t i = 0; i < 20; i++) {
        job *j = queue_pop(&q);
        assert_int_equal(j->msgid, i);
        assert_null(j->next);
        job_free(j);
    }
    for (uint32_t i = 50; i < 60; i++) assert_int_equal(queue_push(&q, mk(i)), 0);
    for (uint32_t i = 20; i < 60; i++) {
        job *j = NULL;
        assert_int_equal(queue_pop_until(&q, QUEUE_NO_DEADLINE, &j), QUEUE_READY);
        assert_int_equal(j->msgid, i);
        job_free(j);
    }
    assert_int_equal(queue_len(&q), 0);
    queue_destroy(&q);
}

static uint64_t msgid_size(const job *j) { return j->msgid; }

static void test_take(void **state)
{
    (void)state;
    job_queue q;
    assert_int_equal(queue_init(&q, 10), 0);
    /* sizes 3, 4, 5, 1 */
    const uint32_t sz[] = {3, 4, 5, 1};
    for (unsigned i = 0; i < 4; i++) assert_int_equal(queue_push(&q, mk(sz[i])), 0);
    job *list = NULL, **tail = &list;
    uint64_t total = 0;
    /* 3 + 4 fit in 8, 5 does not: stops there (FIFO, no skipping). */
    assert_int_equal(queue_take(&q, 8, msgid_size, &total, &tail), 2);
    assert_int_equal(total, 7);
    assert_int_equal(list->msgid, 3);
    assert_int_equal(list->next->msgid, 4);
    assert_null(list->next->next);
    assert_ptr_equal(tail, &list->next->next);
    assert_int_equal(queue_take(&q, 8, msgid_size, &total, &tail), 0);
    assert_int_equal(queue_take(&q, 13, msgid_size, &total, &tail), 2);
    assert_int_equal(total, 13);
    assert_int_equal(queue_len(&q), 0);
    assert_int_equal(queue_take(&q, 100, msgid_size, &total, &tail), 0);
    unsigned n = 0;
    for (job *j = list, *next; j; j = next, n++) { next = j->next; job_free(j); }
    assert_int_equal(n, 4);
    queue_destroy(&q);
}

static void test_timed_wait(void **state)
{
    (void)state;
    job_queue q;
    assert_int_equal(queue_init(&q, 4), 0);
    job *j = (job *)&j;
    uint64_t t0 = ps_now_us();
    assert_int_equal(queue_pop_until(&q, t0 + 50000, &j), QUEUE_TIMEOUT);
    uint64_t dt = ps_now_us() - t0;
    assert_null(j);
    assert_true(dt >= 50000);
    assert_true(dt < 5000000);
    t0 = ps_now_us();
    assert_int_equal(queue_wait_until(&q, t0 + 30000), QUEUE_TIMEOUT);
    dt = ps_now_us() - t0;
    assert_true(dt >= 30000);
    assert_true(dt < 5000000);
    /* A deadline already passed returns at once; a queued job wins over
     * it, and queue_wait_until leaves it queued. */
    assert_int_equal(queue_wait_until(&q, 1), QUEUE_TIMEOUT);
    assert_int_equal(queue_push(&q, mk(7)), 0);
    assert_int_equal(queue_wait_until(&q, 1), QUEUE_READY);
    assert_int_equal(queue_len(&q), 1);
    assert_int_equal(queue_pop_until(&q, 1, &j), QUEUE_READY);
    assert_int_equal(j->msgid, 7);
    job_free(j);
    queue_destroy(&q);
}

/* queue_pop_kick: a kick wakes a blocked consumer once; a job queued wins
 * over a kick; a kick given while nobody waits is seen at the next call;
 * shutdown still stops. */
typedef struct kicked {
    job_queue *q;
    uint64_t seen;
    queue_wait r;
} kicked;

static void *kick_waiter(void *arg)
{
    kicked *k = arg;
    job *j = NULL;
    k->r = queue_pop_kick(k->q, &k->seen, &j);
    if (j) job_free(j);
    return NULL;
}

static void test_kick(void **state)
{
    (void)state;
    job_queue q;
    assert_int_equal(queue_init(&q, 4), 0);
    kicked k = {.q = &q, .seen = 0, .r = QUEUE_READY};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, kick_waiter, &k), 0);
    usleep(20000);                  /* let it block (a late start is fine:
                                       the kick is seen at once then) */
    queue_kick(&q);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(k.r, QUEUE_KICKED);
    assert_int_equal(k.seen, 1);
    /* A kick while nobody waits is seen at the next call, once. */
    queue_kick(&q);
    job *j = (job *)&j;
    assert_int_equal(queue_pop_kick(&q, &k.seen, &j), QUEUE_KICKED);
    assert_null(j);
    assert_int_equal(k.seen, 2);
    /* A queued job wins over a kick. */
    queue_kick(&q);
    assert_int_equal(queue_push(&q, mk(5)), 0);
    assert_int_equal(queue_pop_kick(&q, &k.seen, &j), QUEUE_READY);
    assert_int_equal(j->msgid, 5);
    job_free(j);
    assert_int_equal(queue_pop_kick(&q, &k.seen, &j), QUEUE_KICKED);
    /* Shut down: stopped, not kicked. */
    queue_kick(&q);
    queue_shutdown(&q, QUEUE_DISCARD);
    assert_int_equal(queue_pop_kick(&q, &k.seen, &j), QUEUE_STOPPED);
    assert_null(j);
    queue_destroy(&q);
}

typedef struct waiter {
    job_queue *q;
    int kind;                   /* 0 pop, 1 pop_until, 2 wait_until */
    job *got;
    queue_wait r;
} waiter;

static void *waiter_main(void *arg)
{
    waiter *w = arg;
    uint64_t far = ps_now_us() + 60000000u;     /* 60 s: shutdown must win */
    if (w->kind == 0) w->got = queue_pop(w->q);
    else if (w->kind == 1) w->r = queue_pop_until(w->q, far, &w->got);
    else w->r = queue_wait_until(w->q, far);
    return NULL;
}

static void test_shutdown_wakes_waiters(void **state)
{
    (void)state;
    job_queue q;
    assert_int_equal(queue_init(&q, 4), 0);
    enum { N = 6 };
    waiter w[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        w[i] = (waiter){ .q = &q, .kind = i % 3, .got = (job *)&w[i],
                         .r = QUEUE_READY };
        assert_int_equal(pthread_create(&t[i], NULL, waiter_main, &w[i]), 0);
    }
    struct timespec nap = { 0, 50 * 1000 * 1000 };
    nanosleep(&nap, NULL);      /* let them block (not needed for the result) */
    uint64_t t0 = ps_now_us();
    queue_shutdown(&q, QUEUE_DISCARD);
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    assert_true(ps_now_us() - t0 < 10000000u);
    for (int i = 0; i < N; i++) {
        if (w[i].kind != 2) assert_null(w[i].got);
        if (w[i].kind != 0) assert_int_equal(w[i].r, QUEUE_STOPPED);
    }
    job *j = mk(1);
    assert_int_equal(queue_push(&q, j), -1);        /* refused after shutdown */
    job_free(j);
    queue_destroy(&q);
}

static void test_shutdown_discard(void **state)
{
    (void)state;
    job_queue q;
    assert_int_equal(queue_init(&q, 4), 0);
    assert_int_equal(queue_push(&q, mk(1)), 0);
    assert_int_equal(queue_push(&q, mk(2)), 0);
    queue_shutdown(&q, QUEUE_DISCARD);
    queue_shutdown(&q, QUEUE_DRAIN);                /* the first mode stays */
    assert_null(queue_pop(&q));
    job *j = (job *)&j;
    assert_int_equal(queue_pop_until(&q, QUEUE_NO_DEADLINE, &j), QUEUE_STOPPED);
    assert_null(j);
    job *list = NULL, **tail = &list;
    uint64_t total = 0;
    assert_int_equal(queue_take(&q, 100, msgid_size, &total, &tail), 0);
    assert_int_equal(queue_len(&q), 2);
    queue_destroy(&q);                              /* frees both */
}

static void test_shutdown_drain(void **state)
{
    (void)state;
    job_queue q;
    assert_int_equal(queue_init(&q, 4), 0);
    for (uint32_t i = 1; i <= 3; i++) assert_int_equal(queue_push(&q, mk(i)), 0);
    queue_shutdown(&q, QUEUE_DRAIN);
    job *j = queue_pop(&q);
    assert_int_equal(j->msgid, 1);
    job_free(j);
    assert_int_equal(queue_wait_until(&q, QUEUE_NO_DEADLINE), QUEUE_READY);
    job *list = NULL, **tail = &list;
    uint64_t total = 0;
    assert_int_equal(queue_take(&q, 100, msgid_size, &total, &tail), 2);
    assert_int_equal(total, 5);
    job_free(list->next);
    job_free(list);
    assert_null(queue_pop(&q));
    assert_int_equal(queue_pop_until(&q, 1, &j), QUEUE_STOPPED);
    assert_int_equal(queue_wait_until(&q, QUEUE_NO_DEADLINE), QUEUE_STOPPED);
    queue_destroy(&q);
}

/* ---- producer / consumer ------------------------------------------ */

#define NJOBS 20000u

typedef struct pc {
    job_queue q;
    done_list d;
    int order_ok;
    unsigned consumed;
} pc;

static void *consumer_main(void *arg)
{
    pc *p = arg;
    uint32_t expect = 0;
    job *j;
    while ((j = queue_pop(&p->q)) != NULL) {
        if (j->msgid != expect) p->order_ok = 0;
        expect++;
        p->consumed++;
        j->err = 0;             /* "ran" */
        done_put(&p->d, j);
    }
    return NULL;
}

static void test_producer_consumer(void **state)
{
    (void)state;
    pc p = { .order_ok = 1 };
    assert_int_equal(queue_init(&p.q, 4), 0);       /* small: pushes fail */
    assert_int_equal(done_init(&p.d, NULL), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, consumer_main, &p), 0);
    unsigned refused = 0, done = 0;
    uint32_t next_done = 0;
    int done_order_ok = 1;
    for (uint32_t i = 0; i < NJOBS; i++) {
        job *j = mk(i);
        while (queue_push(&p.q, j) != 0) {
            refused++;
            sched_yield();
        }
        if (i % 64 == 0) {      /* take the done list now and then */
            for (job *d = done_take(&p.d), *next; d; d = next) {
                next = d->next;
                if (d->msgid != next_done++) done_order_ok = 0;
                done++;
                job_free(d);
            }
        }
    }
    queue_shutdown(&p.q, QUEUE_DRAIN);
    pthread_join(t, NULL);
    for (job *d = done_take(&p.d), *next; d; d = next) {
        next = d->next;
        if (d->msgid != next_done++) done_order_ok = 0;
        done++;
        job_free(d);
    }
    assert_true(p.order_ok);
    assert_true(done_order_ok);
    assert_int_equal(p.consumed, NJOBS);
    assert_int_equal(done, NJOBS);
    assert_int_equal(queue_len(&p.q), 0);
    print_message("producer/consumer: %u jobs, %u pushes refused (full)\n",
                  NJOBS, refused);
    done_destroy(&p.d);
    queue_destroy(&p.q);
}

/* ---- done list wakes the event loop -------------------------------- */

typedef struct wake {
    done_list d;
    unsigned got;
    struct event_base *base;
} wake;

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    wake *w = arg;
    (void)fd;
    assert_true(what & EV_READ);
    for (job *j = done_take(&w->d), *next; j; j = next) {
        next = j->next;
        w->got++;
        job_free(j);
    }
    if (w->got == 3) event_base_loopexit(w->base, NULL);
}

static void *putter_main(void *arg)
{
    wake *w = arg;
    job *a = mk(1), *b = mk(2);
    a->next = b;
    done_put(&w->d, a);         /* a list of two */
    done_put(&w->d, NULL);      /* nothing */
    done_put(&w->d, mk(3));
    return NULL;
}

static void test_done_wakes_loop(void **state)
{
    (void)state;
    assert_int_equal(evthread_use_pthreads(), 0);
    wake w = { 0 };
    w.base = event_base_new();
    assert_non_null(w.base);
    struct event *ev = event_new(w.base, -1, 0, done_cb, &w);
    assert_non_null(ev);
    assert_int_equal(done_init(&w.d, ev), 0);
    struct timeval limit = { 30, 0 };              /* fail, not hang */
    event_base_loopexit(w.base, &limit);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, putter_main, &w), 0);
    event_base_dispatch(w.base);
    pthread_join(t, NULL);
    assert_int_equal(w.got, 3);
    assert_null(done_take(&w.d));
    done_put(&w.d, mk(4));      /* left for done_destroy to free */
    done_destroy(&w.d);
    event_free(ev);
    event_base_free(w.base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_zero_capacity),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_timed_wait),
        cmocka_unit_test(test_kick),
        cmocka_unit_test(test_shutdown_wakes_waiters),
        cmocka_unit_test(test_shutdown_discard),
        cmocka_unit_test(test_shutdown_drain),
        cmocka_unit_test(test_producer_consumer),
        cmocka_unit_test(test_done_wakes_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
