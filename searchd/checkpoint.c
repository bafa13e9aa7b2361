/* checkpoint.c: the checkpointer thread (checkpoint.h): writable handle,
 * writer lock, checkpoints by size, count and age, back-off after a
 * failure. */
#include "checkpoint.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* After a failed checkpoint, the next attempt waits this long. */
#define CKPT_RETRY_US 1000000u

struct checkpointer {
    const searchd_config *cfg;
    ps_delta *delta;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* to the thread: open, check, stop */
    pthread_cond_t done_cv;     /* to the writer: open attempt, room */
    pthread_t thread;
    int started;
    /* mu */
    int stop;
    int want_open;              /* the writer waits for an open attempt */
    int open_gen;               /* attempts made (the writer waits for +1) */
    int open_ok;                /* the handle is open */
    char open_msg[600];         /* why the last attempt failed */
    int open_locked;
    int in_group;               /* the writer is between begin and done */
    int requested;              /* ckpt_request */
    uint64_t last_write_us;     /* last group done */
    uint64_t first_pending_us;  /* when the delta last became non-empty */
    uint64_t retry_after_us;    /* back-off after a failure */
    ckpt_stats st;
    /* thread only */
    ps_db *db;
};

checkpointer *ckpt_create(const searchd_config *cfg, ps_delta *d)
{
    checkpointer *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cfg = cfg;
    c->delta = d;
    if (pthread_mutex_init(&c->mu, NULL) != 0) { free(c); return NULL; }
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        free(c);
        return NULL;
    }
    if (pthread_cond_init(&c->done_cv, NULL) != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return NULL;
    }
    c->st.state = "idle";
    return c;
}

static void delta_now(checkpointer *c, ps_delta_info *di)
{
    ps_delta_stats(c->delta, di);
}

/* Absolute CLOCK_REALTIME time for pthread_cond_timedwait, us from now. */
static struct timespec in_us(uint64_t us)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(us / 1000000u);
    ts.tv_nsec += (long)(us % 1000000u) * 1000;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    return ts;
}

/* Opens the writable handle (mu not held).  Records the outcome under mu
 * and wakes the writer. */
static void open_db(checkpointer *c)
{
    ps_db *db = NULL;
    char *msg = NULL;
    ps_status st = searchd_config_open_db(c->cfg, PS_DB_WRITE, &db, &msg);
    pthread_mutex_lock(&c->mu);
    c->open_gen++;
    c->want_open = 0;
    if (st == PS_OK) {
        c->db = db;
        c->open_ok = 1;
        c->st.state = "open";
        c->st.opens++;
        ps_log(PS_LOG_INFO, "took the write lock on %s", searchd_config_db_name(c->cfg));
    } else {
        c->open_ok = 0;
        c->open_locked = st == PS_ERR_LOCKED;
        if (st == PS_ERR_LOCKED)
            snprintf(c->open_msg, sizeof c->open_msg, "cannot write: %s. Retry "
                     "once it is done (this daemon takes the lock on the next "
                     "add/delete), or run polysearch-index --server ADDR to "
                     "send its documents through this daemon",
                     msg ? msg : "another writer holds the lock");
        else
            snprintf(c->open_msg, sizeof c->open_msg, "cannot open %s for writing: %s",
                     searchd_config_db_name(c->cfg), msg ? msg : ps_status_str(st));
        c->st.state = st == PS_ERR_LOCKED ? "locked" : "failed";
        snprintf(c->st.holder, sizeof c->st.holder, "%s", msg ? msg : "");
        if (st == PS_ERR_LOCKED) c->st.lock_conflicts++;
        ps_log(PS_LOG_WARN, "%s", c->open_msg);
    }
    pthread_cond_broadcast(&c->done_cv);
    pthread_mutex_unlock(&c->mu);
    free(msg);
}

/* Checkpoints everything published (mu not held).  Returns 0 or -1. */
static int checkpoint(checkpointer *c)
{
    ps_delta_info before;
    delta_now(c, &before);
    uint64_t t0 = ps_now_us(), done = 0;
    ps_status st = ps_delta_checkpoint(c->delta, c->db, UINT64_MAX, &done);
    uint64_t took = ps_now_us() - t0;
    pthread_mutex_lock(&c->mu);
    if (st == PS_OK) {
        c->st.checkpoints++;
        c->st.last_seq = done;
        c->st.last_ops = before.ops;
        c->st.last_us = took;
        if (took > c->st.max_us) c->st.max_us = took;
        c->st.last_unix = (uint64_t)time(NULL);
        c->st.state = "open";
        c->st.last_error[0] = '\0';
        c->retry_after_us = 0;
        ps_delta_info after;
        delta_now(c, &after);
        c->first_pending_us = after.ops ? ps_now_us() : 0;
        pthread_cond_broadcast(&c->done_cv);    /* room for waiting writers */
    } else {
        c->st.failed++;
        c->st.state = "failed";
        snprintf(c->st.last_error, sizeof c->st.last_error, "%s", ps_db_errmsg(c->db));
        c->retry_after_us = ps_now_us() + CKPT_RETRY_US;
    }
    pthread_mutex_unlock(&c->mu);
    if (st == PS_OK) {
        ps_log(PS_LOG_DEBUG, "checkpoint: %llu operations up to seq %llu in %llu us",
               (unsigned long long)before.ops, (unsigned long long)done,
               (unsigned long long)took);
        return 0;
    }
    ps_log(PS_LOG_ERROR, "checkpoint failed, its %llu operations stay in the "
           "log and are retried: %s", (unsigned long long)before.ops,
           ps_db_errmsg(c->db));
    /* A failed commit may leave the handle unusable: reopen next time. */
    ps_db_close(c->db);
    c->db = NULL;
    pthread_mutex_lock(&c->mu);
    c->open_ok = 0;             /* the next group takes the lock again */
    pthread_mutex_unlock(&c->mu);
    return -1;
}

/* 1 when a checkpoint is due (mu held). */
static int due(checkpointer *c, const ps_delta_info *di, uint64_t now)
{
    if (di->ops == 0) return 0;
    if (c->stop || c->requested) return 1;
    if (now < c->retry_after_us) return 0;
    if (di->ops >= c->cfg->checkpoint_docs || di->bytes >= c->cfg->checkpoint_bytes)
        return 1;
    /* Writes paused for writer_idle: checkpoint, so the lock can go. */
    if (!c->in_group && now - c->last_write_us >= c->cfg->writer_idle_ms * 1000u)
        return 1;
    return c->first_pending_us &&
           now - c->first_pending_us >= c->cfg->checkpoint_interval_ms * 1000u;
}

static void *ckpt_main(void *arg)
{
    checkpointer *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        uint64_t now = ps_now_us();
        ps_delta_info di;
        delta_now(c, &di);
        if (di.ops && !c->first_pending_us) c->first_pending_us = now;
        if (c->want_open && !c->db) {
            pthread_mutex_unlock(&c->mu);
            open_db(c);
            pthread_mutex_lock(&c->mu);
            continue;
        }
        if (due(c, &di, now)) {
            if (!c->db) {
                /* Operations replayed at start, or a handle lost after a
                 * failure: take the lock (retried after a back-off). */
                pthread_mutex_unlock(&c->mu);
                open_db(c);
                pthread_mutex_lock(&c->mu);
                if (!c->db) {
                    c->retry_after_us = ps_now_us() + CKPT_RETRY_US;
                    if (c->stop) break;
                    c->requested = 0;
                }
                continue;
            }
            c->requested = 0;
            pthread_mutex_unlock(&c->mu);
            int rc = checkpoint(c);
            pthread_mutex_lock(&c->mu);
            if (rc != 0 && c->stop) break;  /* logged: replayed next start */
            continue;
        }
        if (c->stop) break;
        /* Release the lock when nothing is pending and no write came for
         * writer_idle. */
        uint64_t idle_end = c->last_write_us + c->cfg->writer_idle_ms * 1000u;
        if (c->db && !c->in_group && di.ops == 0 && di.unpublished == 0 &&
            now >= idle_end) {
            ps_db *db = c->db;
            c->db = NULL;
            c->open_ok = 0;
            c->st.state = "idle";
            pthread_mutex_unlock(&c->mu);
            ps_status st = ps_db_close(db);
            if (st != PS_OK)
                ps_log(PS_LOG_WARN, "closing the writable handle: %s", ps_status_str(st));
            ps_log(PS_LOG_INFO, "released the write lock on %s (idle)",
                   searchd_config_db_name(c->cfg));
            pthread_mutex_lock(&c->mu);
            continue;
        }
        /* Sleep until the next time something may be due. */
        uint64_t wake = now + 1000000u;
        if (c->db && idle_end > now && idle_end < wake) wake = idle_end;
        if (di.ops && c->first_pending_us) {
            uint64_t age_end = c->first_pending_us + c->cfg->checkpoint_interval_ms * 1000u;
            if (age_end < wake) wake = age_end > now ? age_end : now + 1000u;
        }
        if (c->retry_after_us > now && c->retry_after_us < wake) wake = c->retry_after_us;
        struct timespec ts = in_us(wake > now ? wake - now : 1000u);
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    pthread_mutex_unlock(&c->mu);
    if (c->db) {
        ps_status st = ps_db_close(c->db);
        c->db = NULL;
        if (st != PS_OK)
            ps_log(PS_LOG_WARN, "closing the writable handle: %s", ps_status_str(st));
    }
    return NULL;
}

int ckpt_start(checkpointer *c)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&c->thread, NULL, ckpt_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) { errno = e; return -1; }
    c->started = 1;
    return 0;
}

int ckpt_group_begin(checkpointer *c, char *msg, size_t msglen, int *locked)
{
    *locked = 0;
    pthread_mutex_lock(&c->mu);
    c->in_group = 1;
    if (!c->open_ok) {
        int gen = c->open_gen;
        c->want_open = 1;
        pthread_cond_signal(&c->cv);
        while (c->open_gen == gen && !c->stop)
            pthread_cond_wait(&c->done_cv, &c->mu);
        if (!c->open_ok) {
            snprintf(msg, msglen, "%s", c->stop ? "the daemon is stopping"
                                                 : c->open_msg);
            *locked = c->open_locked;
            c->in_group = 0;
            pthread_mutex_unlock(&c->mu);
            return -1;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void ckpt_group_done(checkpointer *c, int published)
{
    pthread_mutex_lock(&c->mu);
    c->in_group = 0;
    c->last_write_us = ps_now_us();
    if (published) {
        ps_delta_info di;
        delta_now(c, &di);
        if (!c->first_pending_us && di.ops) c->first_pending_us = ps_now_us();
        if (due(c, &di, ps_now_us())) pthread_cond_signal(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

int ckpt_wait_room(checkpointer *c, uint64_t deadline_us)
{
    pthread_mutex_lock(&c->mu);
    for (;;) {
        ps_delta_info di;
        delta_now(c, &di);
        if (di.bytes <= c->cfg->max_delta_bytes) break;
        uint64_t now = ps_now_us();
        if (now >= deadline_us || c->stop) {
            pthread_mutex_unlock(&c->mu);
            return -1;
        }
        c->requested = 1;
        pthread_cond_signal(&c->cv);
        uint64_t wait = deadline_us - now;
        struct timespec ts = in_us(wait < 100000u ? wait : 100000u);
        pthread_cond_timedwait(&c->done_cv, &c->mu, &ts);
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

void ckpt_request(checkpointer *c)
{
    pthread_mutex_lock(&c->mu);
    c->requested = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void ckpt_get_stats(checkpointer *c, ckpt_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    pthread_mutex_unlock(&c->mu);
}

void ckpt_destroy(checkpointer *c)
{
    if (!c) return;
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_cond_broadcast(&c->done_cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    pthread_cond_destroy(&c->done_cv);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
