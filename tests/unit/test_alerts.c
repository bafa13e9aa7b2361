/* test_alerts.c: the alert thread (searchd/alerts.c) without a daemon:
 * a subscribe job adds its query; durable groups are matched in order into
 * batches of packed "match" notifications; a full queue never makes the
 * writer wait: the group is dropped, counted, and reported to the I/O
 * thread as overflow; a removed subscription matches nothing more. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* memmem */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "config.h"
#include "methods.h"

static const method fake_subscribe = {"subscribe", NULL, NULL, NULL, 0, NULL, NULL};

static alert_group *group_of(const char *id, const char *body)
{
    ps_doc_in d = {.id = id, .body = body, .lang = "fr"};
    ps_prepared *p = NULL;
    assert_int_equal(ps_doc_prepare(&d, NULL, &p, NULL), PS_OK);
    alert_group *g = alerts_group_new();
    assert_non_null(g);
    static uint64_t seq = 0;
    assert_int_equal(alerts_group_put(g, p, ++seq, 0), 0);
    return g;
}

/* Waits (bounded: 60 s) until the thread has matched `groups` groups. */
static void wait_groups(alerts *a, uint64_t groups)
{
    for (int i = 0; i < 6000; i++) {
        alerts_stats st;
        alerts_get_stats(a, &st);
        if (st.groups >= groups && st.queued == 0) return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("the alert thread did not match %llu groups", (unsigned long long)groups);
}

static void test_queue_full_and_order(void **state)
{
    (void)state;
    searchd_config cfg;
    searchd_config_defaults(&cfg);
    alerts *a = alerts_create(&cfg, NULL);
    assert_non_null(a);
    assert_int_equal(alerts_wanted(a), 0);
    alerts_set_wanted(a, 1);
    assert_int_equal(alerts_wanted(a), 1);

    job *j = job_new(NULL, &fake_subscribe, 1);
    assert_non_null(j);
    j->sub = 7;
    j->q.q = "SANTE";
    j->name = "health";
    assert_int_equal(alerts_submit(a, j), 0);
    /* The thread is not running: the queue fills up. */
    char id[32];
    for (unsigned i = 1; i < ALERTS_QUEUE; i++) {
        snprintf(id, sizeof id, "doc-%u", i);
        alerts_submit_group(a, group_of(id, "La santé publique."));
    }
    alerts_submit_group(a, group_of("dropped", "La santé encore."));  /* returns */
    alerts_stats st;
    alerts_get_stats(a, &st);
    assert_int_equal(st.queued, ALERTS_QUEUE);
    assert_int_equal(st.overflow_groups, 1);
    assert_int_equal(st.overflow_docs, 1);
    /* A subscribe job is refused (busy) while the queue is full. */
    job *j2 = job_new(NULL, &fake_subscribe, 2);
    assert_int_equal(alerts_submit(a, j2), -1);
    job_free(j2);

    assert_int_equal(alerts_start(a), 0);
    wait_groups(a, ALERTS_QUEUE - 1);
    job *done = alerts_take_done(a);
    unsigned notes = 0, overflow = 0, answered = 0;
    for (job *r = done; r; r = r->next) {
        if (r->method) {
            assert_ptr_equal(r, j);
            assert_int_equal(j->err, -1);
            answered++;
            continue;
        }
        const alert_batch *b = r->payload;
        overflow += (unsigned)b->overflow_docs;
        for (size_t k = 0; k < b->n; k++) {
            assert_int_equal(b->v[k].sub, 7);
            /* The packed message names the document, in commit order. */
            snprintf(id, sizeof id, "doc-%u", notes + 1);
            assert_non_null(memmem(b->buf.data + b->v[k].off, b->v[k].len, id, strlen(id)));
            assert_non_null(memmem(b->buf.data + b->v[k].off, b->v[k].len, "health", 6));
            notes++;
        }
    }
    assert_int_equal(answered, 1);
    assert_int_equal(notes, ALERTS_QUEUE - 1);
    assert_int_equal(overflow, 1);
    while (done) {
        job *next = done->next;
        job_free(done);
        done = next;
    }

    /* Removed: nothing more. */
    alerts_remove(a, 7);
    alerts_submit_group(a, group_of("after", "La santé toujours."));
    wait_groups(a, ALERTS_QUEUE);
    alerts_get_stats(a, &st);
    assert_int_equal(st.queries, 0);
    assert_null(alerts_take_done(a));
    alerts_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_full_and_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
