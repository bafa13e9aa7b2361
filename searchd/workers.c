/* workers.c: the search worker threads and their handles; jobs come in
 * through a job_queue and go back through a done_list (queue.h). */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "methods.h"
#include "queue.h"
#include "stats.h"
#include "util.h"

/* Sharded handles: minimum interval between two reopens of a worker. */
#define SHARD_REOPEN_US 200000u

typedef struct worker {
    pthread_t thread;
    int started;
    worker_ctx ctx;
    uint64_t hup_seen;
    uint64_t shard_reopen_us;   /* sharded: time of the last reopen */
    uint64_t write_seen;        /* sharded: write_gen at the last reopen */
    uint64_t kick_seen;         /* queue_pop_kick's */
    atomic_uint_fast64_t applied;   /* delta seq its handle shows */
} worker;

struct worker_pool {
    const searchd_config *cfg;
    job_queue queue;            /* I/O thread -> workers (cfg->queue) */
    done_list done;             /* workers -> I/O thread (done_ev) */
    atomic_uint_fast64_t hup_gen;
    atomic_uint_fast64_t write_gen;     /* writes this daemon acknowledged */
    atomic_uint_fast64_t reopens;
    atomic_uint_fast64_t retries;
    unsigned n;
    worker *w;
    ps_delta *delta;            /* the write-ahead log's, or NULL */
    /* workers_wait_visible: a waiter sleeps on vis_cv until every
     * worker's applied reaches its seq; workers broadcast when one
     * waits. */
    pthread_mutex_t vis_mu;
    pthread_cond_t vis_cv;      /* CLOCK_MONOTONIC */
    int vis_ready;              /* vis_mu and vis_cv initialised */
    atomic_uint waiters;
    atomic_uint_fast64_t vis_waits, vis_timeouts;
};

/* Initialises the visibility wait's mutex and condition variable.  Returns
 * 0 or -1. */
static int vis_init(worker_pool *p)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) return -1;
    int e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (e == 0) e = pthread_cond_init(&p->vis_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (e != 0) return -1;
    if (pthread_mutex_init(&p->vis_mu, NULL) != 0) {
        pthread_cond_destroy(&p->vis_cv);
        return -1;
    }
    p->vis_ready = 1;
    return 0;
}

worker_pool *workers_create(const searchd_config *cfg, struct event *done_ev,
                            ps_status *st, char **errmsg)
{
    *st = PS_OK;
    *errmsg = NULL;
    worker_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->w = calloc(cfg->workers, sizeof *p->w))) {
        free(p);
        *st = PS_ERR_NOMEM;
        return NULL;
    }
    p->cfg = cfg;
    int queue_ok = queue_init(&p->queue, cfg->queue) == 0;
    if (!queue_ok || done_init(&p->done, done_ev) != 0) {
        if (queue_ok) queue_destroy(&p->queue);
        free(p->w);
        free(p);
        *st = PS_ERR_NOMEM;
        return NULL;
    }
    atomic_init(&p->hup_gen, 0);
    atomic_init(&p->write_gen, 0);
    atomic_init(&p->reopens, 0);
    atomic_init(&p->retries, 0);
    atomic_init(&p->waiters, 0);
    atomic_init(&p->vis_waits, 0);
    atomic_init(&p->vis_timeouts, 0);
    if (vis_init(p) != 0) {
        workers_destroy(p);
        *st = PS_ERR_NOMEM;
        return NULL;
    }
    for (unsigned i = 0; i < cfg->workers; i++) {
        atomic_init(&p->w[i].applied, 0);
        p->w[i].ctx.pool = p;
        *st = searchd_config_open_db(cfg, PS_DB_READ, &p->w[i].ctx.db, errmsg);
        if (*st != PS_OK) {
            p->n = i;
            workers_destroy(p);
            return NULL;
        }
    }
    p->n = cfg->workers;
    return p;
}

/* Brings the worker's handle up to date: a full close/open after SIGHUP,
 * else a cheap reopen when the committed revision on disk moved.  Returns
 * 0, or -1 with the job's error set when no handle is usable. */
static int refresh(worker *w, job *j)
{
    worker_pool *p = w->ctx.pool;
    uint64_t gen = atomic_load(&p->hup_gen);
    if (gen != w->hup_seen || !w->ctx.db) {
        ps_db *fresh = NULL;
        char *msg = NULL;
        ps_status st = searchd_config_open_db(p->cfg, PS_DB_READ, &fresh, &msg);
        if (st == PS_OK && p->delta && (st = ps_db_attach_delta(fresh, p->delta)) != PS_OK) {
            ps_db_close(fresh);
            fresh = NULL;
        }
        if (st == PS_OK) {
            ps_db_close(w->ctx.db);
            w->ctx.db = fresh;
            w->hup_seen = gen;
            atomic_fetch_add(&p->reopens, 1);
            ps_log(PS_LOG_INFO, "worker reopened %s at revision %llu",
                   searchd_config_db_name(p->cfg), (unsigned long long)ps_db_revision(fresh));
        } else {
            ps_log(PS_LOG_ERROR, "cannot reopen %s: %s", searchd_config_db_name(p->cfg),
                   msg ? msg : ps_status_str(st));
            free(msg);
            w->hup_seen = gen;  /* keep the old handle; retried on next HUP */
        }
        if (!w->ctx.db) {
            j->err = ERR_UNAVAILABLE;
            snprintf(j->errmsg, sizeof j->errmsg, "database %s unavailable",
                     searchd_config_db_name(p->cfg));
            return -1;
        }
        return 0;
    }
    if (ps_db_nshards(w->ctx.db) > 0) {
        /* Shards: no single version file to poll; reopen (one round trip
         * per remote shard, and a retry of the shards that are down) at
         * most every SHARD_REOPEN_US, and, without the write-ahead log, at
         * once after a write this daemon acknowledged (its client may
         * search for it next; with the log the delta already shows it,
         * and a checkpoint that passed the handle reopens it). */
        uint64_t now = ps_now_us();
        uint64_t wgen = atomic_load(&p->write_gen);
        if (now - w->shard_reopen_us >= SHARD_REOPEN_US ||
            (!p->delta && wgen != w->write_seen)) {
            int changed = 0;
            w->shard_reopen_us = now;
            w->write_seen = wgen;
            if (ps_db_reopen(w->ctx.db, &changed) != PS_OK)
                ps_log(PS_LOG_WARN, "reopen failed: %s", ps_db_errmsg(w->ctx.db));
            else if (changed)
                atomic_fetch_add(&p->reopens, 1);
        }
        return 0;
    }
    uint64_t disk = ps_db_disk_revision(p->cfg->db_path);
    if (disk != 0 && disk != ps_db_revision(w->ctx.db)) {
        int changed = 0;
        ps_status st = ps_db_reopen(w->ctx.db, &changed);
        if (st != PS_OK)
            ps_log(PS_LOG_WARN, "reopen failed: %s", ps_db_errmsg(w->ctx.db));
        else if (changed)
            atomic_fetch_add(&p->reopens, 1);
    }
    return 0;
}

/* Runs one job (or answers why not) and hands it back.  Worker thread. */
static void run_job(worker *w, job *j)
{
    worker_pool *p = w->ctx.pool;
    if (j->gone && atomic_load(j->gone)) {
        j->err = ERR_INTERNAL;      /* nobody will read the answer */
        snprintf(j->errmsg, sizeof j->errmsg, "client gone");
    } else if (ps_now_us() > j->deadline_us) {
        j->err = ERR_TIMEOUT;
        snprintf(j->errmsg, sizeof j->errmsg,
                 "deadline of %llu ms passed while queued",
                 (unsigned long long)p->cfg->deadline_ms);
    } else if (refresh(w, j) == 0) {
        j->method->exec(j, &w->ctx);
    }
    done_put(&p->done, j);
}

/* Brings the worker's view of the delta up to date and publishes how far
 * it got in w->applied, waking a workers_wait_visible waiter.  A failure
 * is retried at the next job or kick (the search path retries it too and
 * reports it).  Worker thread. */
static void sync_view(worker *w)
{
    worker_pool *p = w->ctx.pool;
    uint64_t applied = UINT64_MAX;      /* no handle: nothing to wait for */
    if (w->ctx.db) {
        /* A checkpoint past the handle's revision makes the sync reopen it
         * (counted as refresh() counts its reopens). */
        uint64_t rev = ps_db_revision(w->ctx.db);
        if (ps_db_sync_delta(w->ctx.db, &applied) != PS_OK)
            ps_log(PS_LOG_DEBUG, "worker: bringing the delta up to date: %s",
                   ps_db_errmsg(w->ctx.db));
        if (ps_db_revision(w->ctx.db) != rev)
            atomic_fetch_add(&p->reopens, 1);
    }
    if (atomic_exchange(&w->applied, applied) == applied) return;
    if (atomic_load(&p->waiters) > 0) {
        pthread_mutex_lock(&p->vis_mu);
        pthread_cond_broadcast(&p->vis_cv);
        pthread_mutex_unlock(&p->vis_mu);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    worker_pool *p = w->ctx.pool;
    /* QUEUE_STOPPED once workers_destroy shut the queue (QUEUE_DISCARD): a
     * worker stops after its current job, whatever is still queued.  With
     * the write-ahead log a worker is also kicked when changes are
     * published (workers_wait_visible), and brings its view of the delta
     * up to date after every job and every kick, not at its next search. */
    for (;;) {
        job *j = NULL;
        queue_wait qw;
        if (p->delta) {
            qw = queue_pop_kick(&p->queue, &w->kick_seen, &j);
        } else {
            j = queue_pop(&p->queue);
            qw = j ? QUEUE_READY : QUEUE_STOPPED;
        }
        if (qw == QUEUE_STOPPED) break;
        if (qw == QUEUE_READY) run_job(w, j);
        if (p->delta) sync_view(w);
    }
    return NULL;
}


int workers_start(worker_pool *p)
{
    sigset_t all, old;
    sigfillset(&all);
    /* Workers never handle signals: the I/O thread does. */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (unsigned i = 0; i < p->n; i++) {
        int e = pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i]);
        if (e != 0) { errno = e; rc = -1; break; }
        p->w[i].started = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int workers_submit(worker_pool *p, job *j)
{
    return queue_push(&p->queue, j);
}

job *workers_take_done(worker_pool *p)
{
    return done_take(&p->done);
}

int workers_attach_delta(worker_pool *p, ps_delta *d, char *err, size_t errlen)
{
    if (!d) return 0;
    for (unsigned i = 0; i < p->n; i++) {
        if (ps_db_attach_delta(p->w[i].ctx.db, d) != PS_OK) {
            snprintf(err, errlen, "cannot search the log's changes: %s",
                     ps_db_errmsg(p->w[i].ctx.db));
            return -1;
        }
    }
    p->delta = d;
    return 0;
}

/* 1 when every started worker shows seq.  vis_mu held. */
static int all_applied(worker_pool *p, uint64_t seq)
{
    for (unsigned i = 0; i < p->n; i++)
        if (p->w[i].started && atomic_load(&p->w[i].applied) < seq) return 0;
    return 1;
}

int workers_wait_visible(worker_pool *p, uint64_t seq, uint64_t wait_us)
{
    if (!p->delta || wait_us == 0) return 0;
    queue_kick(&p->queue);
    uint64_t deadline = ps_now_us() + wait_us;
    int rc = 0;
    pthread_mutex_lock(&p->vis_mu);
    atomic_fetch_add(&p->waiters, 1);
    atomic_fetch_add(&p->vis_waits, 1);
    while (!all_applied(p, seq)) {
        if (ps_now_us() >= deadline) {
            atomic_fetch_add(&p->vis_timeouts, 1);
            rc = -1;
            break;
        }
        struct timespec ts = {
            .tv_sec = (time_t)(deadline / 1000000u),
            .tv_nsec = (long)(deadline % 1000000u) * 1000L,
        };
        pthread_cond_timedwait(&p->vis_cv, &p->vis_mu, &ts);
    }
    atomic_fetch_sub(&p->waiters, 1);
    pthread_mutex_unlock(&p->vis_mu);
    return rc;
}

uint64_t workers_visible_waits(worker_pool *p) { return atomic_load(&p->vis_waits); }
uint64_t workers_visible_timeouts(worker_pool *p) { return atomic_load(&p->vis_timeouts); }

void workers_note_write(worker_pool *p)
{
    atomic_fetch_add(&p->write_gen, 1);
}

void workers_hup(worker_pool *p) { atomic_fetch_add(&p->hup_gen, 1); }
uint64_t workers_reopens(worker_pool *p) { return atomic_load(&p->reopens); }
uint64_t workers_retries(worker_pool *p) { return atomic_load(&p->retries); }
void workers_count_retry(worker_pool *p) { atomic_fetch_add(&p->retries, 1); }

int workers_sharded(worker_pool *p)
{
    return p->n > 0 && p->w[0].ctx.db && ps_db_nshards(p->w[0].ctx.db) > 0;
}

unsigned workers_queued(worker_pool *p)
{
    return queue_len(&p->queue);
}

void workers_destroy(worker_pool *p)
{
    if (!p) return;
    queue_shutdown(&p->queue, QUEUE_DISCARD);
    for (unsigned i = 0; i < p->n; i++)
        if (p->w[i].started) pthread_join(p->w[i].thread, NULL);
    queue_destroy(&p->queue);   /* frees the jobs never run */
    done_destroy(&p->done);     /* ... and the answers never taken */
    for (unsigned i = 0; i < p->n; i++) ps_db_close(p->w[i].ctx.db);
    if (p->vis_ready) {
        pthread_mutex_destroy(&p->vis_mu);
        pthread_cond_destroy(&p->vis_cv);
    }
    free(p->w);
    free(p);
}
