/* queue.c: the bounded job queue and the done list (see queue.h). */
#include "queue.h"

#include <errno.h>
#include <time.h>

#include "util.h"

static void free_list(job *j)
{
    while (j) {
        job *next = j->next;
        job_free(j);
        j = next;
    }
}

int queue_init(job_queue *q, unsigned cap)
{
    pthread_condattr_t ca;
    int e = pthread_condattr_init(&ca);
    if (e != 0) { errno = e; return -1; }
    /* Deadlines come from ps_now_us(), which reads CLOCK_MONOTONIC. */
    e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (e == 0) e = pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (e != 0) { errno = e; return -1; }
    e = pthread_mutex_init(&q->mu, NULL);
    if (e != 0) {
        pthread_cond_destroy(&q->cv);
        errno = e;
        return -1;
    }
    q->head = q->tail = NULL;
    q->len = 0;
    q->cap = cap;
    q->stop = 0;
    q->kicks = 0;
    return 0;
}

void queue_destroy(job_queue *q)
{
    free_list(q->head);
    q->head = q->tail = NULL;
    q->len = 0;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

int queue_push(job_queue *q, job *j)
{
    int rc = -1;
    j->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (!q->stop && q->len < q->cap) {
        if (q->tail) q->tail->next = j; else q->head = j;
        q->tail = j;
        q->len++;
        rc = 0;
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

/* Whether a consumer may be handed the head now.  mu held. */
static int has_job_locked(const job_queue *q)
{
    return q->head && q->stop != QUEUE_DISCARD;
}

/* Waits (mu held) until a job can be handed out, the queue is shut down,
 * it is kicked (kick_seen not NULL and q->kicks != *kick_seen) or
 * deadline_us passes; returns which, the job check first, then shutdown,
 * then the kick, then the deadline. */
static queue_wait wait_locked(job_queue *q, uint64_t deadline_us,
                              const uint64_t *kick_seen)
{
    for (;;) {
        if (has_job_locked(q)) return QUEUE_READY;
        if (q->stop) return QUEUE_STOPPED;
        if (kick_seen && q->kicks != *kick_seen) return QUEUE_KICKED;
        if (deadline_us == QUEUE_NO_DEADLINE) {
            pthread_cond_wait(&q->cv, &q->mu);
            continue;
        }
        if (ps_now_us() >= deadline_us) return QUEUE_TIMEOUT;
        struct timespec ts = {
            .tv_sec = (time_t)(deadline_us / 1000000u),
            .tv_nsec = (long)(deadline_us % 1000000u) * 1000L,
        };
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
    }
}

/* Unlinks the head (mu held, queue not empty). */
static job *unlink_head_locked(job_queue *q)
{
    job *j = q->head;
    q->head = j->next;
    if (!q->head) q->tail = NULL;
    q->len--;
    j->next = NULL;
    return j;
}

queue_wait queue_pop_until(job_queue *q, uint64_t deadline_us, job **out)
{
    pthread_mutex_lock(&q->mu);
    queue_wait r = wait_locked(q, deadline_us, NULL);
    *out = r == QUEUE_READY ? unlink_head_locked(q) : NULL;
    pthread_mutex_unlock(&q->mu);
    return r;
}

queue_wait queue_pop_kick(job_queue *q, uint64_t *kick_seen, job **out)
{
    pthread_mutex_lock(&q->mu);
    queue_wait r = wait_locked(q, QUEUE_NO_DEADLINE, kick_seen);
    *out = r == QUEUE_READY ? unlink_head_locked(q) : NULL;
    if (r == QUEUE_KICKED) *kick_seen = q->kicks;
    pthread_mutex_unlock(&q->mu);
    return r;
}

void queue_kick(job_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->kicks++;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

job *queue_pop(job_queue *q)
{
    job *j;
    (void)queue_pop_until(q, QUEUE_NO_DEADLINE, &j);
    return j;
}

queue_wait queue_wait_until(job_queue *q, uint64_t deadline_us)
{
    pthread_mutex_lock(&q->mu);
    queue_wait r = wait_locked(q, deadline_us, NULL);
    pthread_mutex_unlock(&q->mu);
    return r;
}

unsigned queue_take(job_queue *q, uint64_t max, uint64_t (*size)(const job *),
                    uint64_t *total, job ***tail)
{
    unsigned n = 0;
    pthread_mutex_lock(&q->mu);
    while (has_job_locked(q)) {
        uint64_t sz = size(q->head);
        if (*total + sz > max) break;
        job *j = unlink_head_locked(q);
        **tail = j;
        *tail = &j->next;
        *total += sz;
        n++;
    }
    pthread_mutex_unlock(&q->mu);
    return n;
}

void queue_shutdown(job_queue *q, queue_stop_mode mode)
{
    pthread_mutex_lock(&q->mu);
    if (!q->stop) q->stop = (int)mode;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

unsigned queue_len(job_queue *q)
{
    pthread_mutex_lock(&q->mu);
    unsigned n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

int done_init(done_list *d, struct event *ev)
{
    int e = pthread_mutex_init(&d->mu, NULL);
    if (e != 0) { errno = e; return -1; }
    d->head = d->tail = NULL;
    d->ev = ev;
    return 0;
}

void done_put(done_list *d, job *list)
{
    if (!list) return;
    job *last = list;
    while (last->next) last = last->next;
    pthread_mutex_lock(&d->mu);
    if (d->tail) d->tail->next = list; else d->head = list;
    d->tail = last;
    pthread_mutex_unlock(&d->mu);
    if (d->ev) event_active(d->ev, EV_READ, 0);
}

job *done_take(done_list *d)
{
    pthread_mutex_lock(&d->mu);
    job *l = d->head;
    d->head = d->tail = NULL;
    pthread_mutex_unlock(&d->mu);
    return l;
}

void done_destroy(done_list *d)
{
    free_list(d->head);
    d->head = d->tail = NULL;
    pthread_mutex_destroy(&d->mu);
}
