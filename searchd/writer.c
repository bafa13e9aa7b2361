/* writer.c: the writer thread: group commit, and the commit mode (--no-wal,
 * a --shard list without --wal-dir: lazy writable handle, a Xapian commit
 * per group, idle release of the lock); the log mode is in writer_log.c.  Jobs come in through a
 * job_queue and go back through a done_list (queue.h). */
#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "methods.h"
#include "polysearch.h"
#include "queue.h"
#include "stats.h"
#include "util.h"
#include "wal.h"
#include "writer_internal.h"

static uint64_t job_size(const job *j)
{
    return j->docs ? j->nwdocs : j->nids;
}

writer *writer_create(const searchd_config *cfg, struct event *done_ev)
{
    writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->cfg = cfg;
    if (queue_init(&w->queue, cfg->write_queue) != 0) {
        free(w);
        return NULL;
    }
    if (done_init(&w->done, done_ev) != 0) {
        queue_destroy(&w->queue);
        free(w);
        return NULL;
    }
    if (pthread_mutex_init(&w->st_mu, NULL) != 0) {
        done_destroy(&w->done);
        queue_destroy(&w->queue);
        free(w);
        return NULL;
    }
    w->st.state = "idle";
    return w;
}

void writer_set_alerts(writer *w, alerts *a)
{
    w->alerts = a;
}

void writer_set_visible_wait(writer *w,
                             void (*wait)(void *ctx, uint64_t seq, uint64_t until_us),
                             void *ctx)
{
    w->vis_wait = wait;
    w->vis_ctx = ctx;
}

void wr_alert_change(writer *w, ps_prepared *p, const char *id, uint64_t seq,
                     int replaced)
{
    if (!alerts_wanted(w->alerts)) {
        ps_prepared_free(p);
        return;
    }
    if (!w->ag && !(w->ag = alerts_group_new())) {
        ps_prepared_free(p);
        ps_log(PS_LOG_ERROR, "alerts: out of memory: a change is not matched");
        return;
    }
    int rc = p ? alerts_group_put(w->ag, p, seq, replaced)
               : alerts_group_del(w->ag, id, seq);
    if (rc != 0)
        ps_log(PS_LOG_ERROR, "alerts: out of memory: a change is not matched");
}

/* The database's change counter now.  Returns 0, or -1 (logged). */
static int read_counter(writer *w, uint64_t *seq)
{
    ps_db *db = w->view ? w->view : w->db;
    ps_db *tmp = NULL;
    if (!db) {
        char *msg = NULL;
        if (searchd_config_open_db(w->cfg, PS_DB_READ, &tmp, &msg) != PS_OK) {
            ps_log(PS_LOG_WARN, "writer: cannot read the change counter: %s",
                   msg ? msg : "open failed");
            free(msg);
            return -1;
        }
        free(msg);
        db = tmp;
    } else if (db == w->view && ps_db_revision(db) != ps_db_disk_revision(w->cfg->db_path) &&
               ps_db_reopen(db, NULL) != PS_OK) {
        ps_log(PS_LOG_WARN, "writer: reopen failed: %s", ps_db_errmsg(db));
    }
    ps_status st = ps_db_get_wal_seq(db, seq);
    if (st != PS_OK)
        ps_log(PS_LOG_WARN, "writer: cannot read the change counter: %s", ps_db_errmsg(db));
    ps_db_close(tmp);
    return st == PS_OK ? 0 : -1;
}

void wr_check_external(writer *w, uint64_t *db_seq)
{
    if (w->cfg->nshards > 0 || (w->view && ps_db_nshards(w->view) > 0)) return;
    uint64_t rev = ps_db_disk_revision(w->cfg->db_path);
    if (rev == 0 || rev == w->ext_rev) return;
    uint64_t s = 0;
    if (read_counter(w, &s) != 0) return;
    w->ext_rev = rev;
    if (db_seq) *db_seq = s;
    if (s <= w->seen_seq) return;
    ps_log(PS_LOG_INFO, "another writer committed changes numbered up to %llu "
           "(above %llu): they are matched against the subscriptions",
           (unsigned long long)s, (unsigned long long)w->seen_seq);
    wr_ack_drain(w);            /* after the groups answered before */
    alerts_submit_catchup(w->alerts, w->seen_seq, s);
    w->seen_seq = s;
}

int writer_submit(writer *w, job *j)
{
    return queue_push(&w->queue, j);
}

job *writer_take_done(writer *w)
{
    return done_take(&w->done);
}

void writer_get_stats(writer *w, writer_stats *out)
{
    pthread_mutex_lock(&w->st_mu);
    *out = w->st;
    pthread_mutex_unlock(&w->st_mu);
    out->queued = queue_len(&w->queue);
    wrlog_stats(w, out);
}

/* Takes the queued jobs that follow while the group stays within
 * WRITER_GROUP_DOCS documents/ids (*docs so far), appending them at *tail.
 * Returns how many were taken.  Writer thread. */
static unsigned take_more(writer *w, job ***tail, uint64_t *docs)
{
    return queue_take(&w->queue, WRITER_GROUP_DOCS, job_size, docs, tail);
}

void wr_set_err(job *j, int err, const char *msg)
{
    j->err = err;
    snprintf(j->errmsg, sizeof j->errmsg, "%s", msg);
}

void wr_reject(job *j, wdoc *d, const char *m)
{
    size_t len = strlen(m);
    char *copy = msgpack_zone_malloc(j->zone, len + 1);
    if (copy) memcpy(copy, m, len + 1);
    d->reject = copy ? copy : "invalid document";
    d->reject_id = d->in.id;
}

/* 1 (the job answered with its error, nothing applied) when its client
 * is gone or its deadline passed while it was queued, else 0. */
int wr_skipped(job *j)
{
    if (j->gone && atomic_load(j->gone)) {
        wr_set_err(j, ERR_INTERNAL, "client gone");
        return 1;
    }
    if (ps_now_us() > j->deadline_us) {
        wr_set_err(j, ERR_TIMEOUT,
                "deadline passed while queued for the writer: nothing applied");
        return 1;
    }
    return 0;
}

/* Applies one job to the open handle.  Returns PS_OK (the job is part of
 * the commit, or was answered without being applied), or the status of a
 * database failure (the whole group must be cancelled; message in the
 * handle). */
static ps_status apply(writer *w, job *j)
{
    if (wr_skipped(j)) return PS_OK;
    if (j->docs) {
        for (uint32_t i = 0; i < j->nwdocs; i++) {
            wdoc *d = &j->docs[i];
            if (d->reject) continue;
            ps_put_outcome o;
            ps_prepared *p = NULL;
            char *msg = NULL;
            ps_status st;
            if (alerts_wanted(w->alerts)) {
                /* ps_db_put in its two steps, to keep the document */
                st = ps_doc_prepare(&d->in, ps_db_boilerplate(w->db), &p, &msg);
                if (st == PS_OK) st = ps_db_put_prepared(w->db, p, &o);
            } else {
                st = ps_db_put(w->db, &d->in, &o);
            }
            /* The handle stamps the change seq (ps_db_stamp_seqs). */
            if (st == PS_OK && o != PS_PUT_UNCHANGED)
                wr_alert_change(w, p, NULL, ps_db_last_seq(w->db), o == PS_PUT_REPLACED);
            else
                ps_prepared_free(p);
            if (st == PS_ERR_INVALID) {
                wr_reject(j, d, msg ? msg : ps_db_errmsg(w->db));
                free(msg);
                continue;
            }
            free(msg);
            if (st != PS_OK) return st;
            if (o == PS_PUT_ADDED) j->added++;
            else if (o == PS_PUT_REPLACED) j->replaced++;
            else j->unchanged++;
        }
    } else {
        for (uint32_t i = 0; i < j->nids; i++) {
            ps_status st = ps_db_delete(w->db, j->ids[i]);
            if (st == PS_OK) {
                j->deleted++;
                wr_alert_change(w, NULL, j->ids[i], ps_db_last_seq(w->db), 1);
            }
            else if (st == PS_ERR_NOT_FOUND || st == PS_ERR_INVALID) j->not_found++;
            else return st;
        }
    }
    return PS_OK;
}

/* Every job of the group that has not already got its own error gets
 * this one (and its counts are not reported). */
void wr_fail_group(job *group, int err, const char *msg)
{
    for (job *j = group; j; j = j->next) {
        if (j->err >= 0) continue;      /* its own error (gone, timeout) */
        j->err = err;
        snprintf(j->errmsg, sizeof j->errmsg, "%s", msg);
    }
}

static void close_db(writer *w, const char *why)
{
    if (!w->db) return;
    ps_status st = ps_db_close(w->db);
    w->db = NULL;
    if (st != PS_OK)
        ps_log(PS_LOG_WARN, "closing the writable handle: %s", ps_status_str(st));
    ps_log(PS_LOG_INFO, "writer released the write lock on %s (%s)",
           searchd_config_db_name(w->cfg), why);
}

/* Opens the writable handle when needed.  Returns 0, or -1 after failing
 * the whole group with unavailable. */
static int ensure_open(writer *w, job *group)
{
    if (w->db) return 0;
    char *msg = NULL;
    ps_status st = searchd_config_open_db(w->cfg, PS_DB_WRITE, &w->db, &msg);
    if (st == PS_OK) {
        free(msg);
        /* One database: each document gets its change seq, the counter
         * shared with polysearch-index; what another writer committed
         * meanwhile is caught up on before this group's changes. */
        if (ps_db_nshards(w->db) == 0) {
            (void)ps_db_stamp_seqs(w->db);
            wr_check_external(w, NULL);
        }
        pthread_mutex_lock(&w->st_mu);
        w->st.state = "open";
        w->st.opens++;
        pthread_mutex_unlock(&w->st_mu);
        ps_log(PS_LOG_INFO, "writer took the write lock on %s", searchd_config_db_name(w->cfg));
        return 0;
    }
    char text[sizeof group->errmsg];
    if (st == PS_ERR_LOCKED)
        snprintf(text, sizeof text, "cannot write: %s. Retry once it is "
                 "done (this daemon takes the lock on the next add/delete), "
                 "or run polysearch-index --server ADDR to send its "
                 "documents through this daemon",
                 msg ? msg : "another writer holds the lock");
    else
        snprintf(text, sizeof text, "cannot open %s for writing: %s",
                 searchd_config_db_name(w->cfg), msg ? msg : ps_status_str(st));
    ps_log(PS_LOG_WARN, "%s", text);
    pthread_mutex_lock(&w->st_mu);
    w->st.state = st == PS_ERR_LOCKED ? "locked" : "failed";
    snprintf(w->st.holder, sizeof w->st.holder, "%s", msg ? msg : "");
    if (st == PS_ERR_LOCKED) w->st.lock_conflicts++;
    pthread_mutex_unlock(&w->st_mu);
    free(msg);
    wr_fail_group(group, ERR_UNAVAILABLE, text);
    return -1;
}

/* After a failed write or commit (what: "write", "commit"): cancels the
 * group's changes, closes the handle (the next group reopens it), answers
 * every job of the group that has no error of its own with err and "WHAT
 * failed, nothing of this request was applied: <the handle's message>",
 * counts a failed commit and hands the group to the I/O thread.  Writer
 * thread. */
static void abort_group(writer *w, job *group, const char *what, int err)
{
    char msg[sizeof group->errmsg], why[32];
    snprintf(msg, sizeof msg, "%s failed, nothing of this request was "
             "applied: %s", what, ps_db_errmsg(w->db));
    ps_log(PS_LOG_ERROR, "%s", msg);
    ps_db_cancel(w->db);
    snprintf(why, sizeof why, "%s failure", what);
    close_db(w, why);
    wr_fail_group(group, err, msg);
    pthread_mutex_lock(&w->st_mu);
    w->st.state = "failed";
    w->st.failed_commits++;
    pthread_mutex_unlock(&w->st_mu);
    done_put(&w->done, group);
}


/* Runs one group: open, apply, maybe wait for more, commit, answer.
 * Returns 1 when the group was committed, 0 when it failed (either way
 * it was handed back, or, committed with the acker running, left in
 * *defer for it). */
static int run_group_inner(writer *w, job *group, job **tail, uint64_t docs,
                           unsigned n, job **defer)
{
    int logged = w->log != NULL;
    if (logged ? wrlog_begin(w, group) != 0 : ensure_open(w, group) != 0) {
        done_put(&w->done, group);
        return 0;
    }
    uint64_t t0 = ps_now_us();
    ps_status st = PS_OK;
    job *applied_to = NULL;     /* last job applied */
    for (job *j = group; j && st == PS_OK; j = j->next) {
        st = logged ? wrlog_apply(w, j) : apply(w, j);
        applied_to = j;
    }
    /* Group commit: when the previous commit served several requests,
     * other writers are active; give them up to commit_delay to join. */
    if (st == PS_OK && w->cfg->commit_delay_ms > 0 && w->prev_group > 1) {
        uint64_t end = t0 + w->cfg->commit_delay_ms * 1000u;
        for (;;) {
            /* Wait until a job is queued, stop, or end. */
            if (n < w->prev_group) (void)queue_wait_until(&w->queue, end);
            unsigned more = docs < WRITER_GROUP_DOCS ? take_more(w, &tail, &docs) : 0;
            if (more == 0) break;
            n += more;
            for (job *j = applied_to->next; j && st == PS_OK; j = j->next) {
                st = logged ? wrlog_apply(w, j) : apply(w, j);
                applied_to = j;
            }
            if (st != PS_OK || ps_now_us() >= end || n >= w->prev_group) break;
        }
    }
    int err = st == PS_ERR_IO ? ERR_IO_ERROR : methods_status_err(st);
    if (st != PS_OK && logged) {
        char what[sizeof group->errmsg - 64];
        snprintf(what, sizeof what, "write failed: %s", ps_delta_errmsg(w->delta));
        wrlog_abort(w, group, err, what);
        return 0;
    }
    if (st != PS_OK) {
        abort_group(w, group, "write", err);
        return 0;
    }
    uint64_t c0 = ps_now_us();
    if (logged) {
        if (wrlog_commit(w, group) != 0) return 0;
    } else {
        st = ps_db_commit(w->db);
    }
    uint64_t took = ps_now_us() - c0;
    w->last_write_us = ps_now_us();
    if (st != PS_OK) {
        abort_group(w, group, "commit", ERR_IO_ERROR);
        return 0;
    }
    if (!logged && ps_db_last_seq(w->db) > w->seen_seq) {
        w->seen_seq = ps_db_last_seq(w->db);
        w->ext_rev = ps_db_revision(w->db);
    }
    uint64_t ok = 0;
    for (job *j = group; j; j = j->next)
        if (j->err < 0) ok++;
    pthread_mutex_lock(&w->st_mu);
    if (!logged) w->st.state = "open";
    w->st.writes += ok;
    w->st.commits++;
    w->st.docs += docs;
    if (n > w->st.max_group) w->st.max_group = n;
    w->st.last_commit_us = took;
    if (took > w->st.max_commit_us) w->st.max_commit_us = took;
    pthread_mutex_unlock(&w->st_mu);
    ps_log(PS_LOG_DEBUG, "writer committed %u requests (%llu documents/ids) "
           "in %llu us", n, (unsigned long long)docs, (unsigned long long)took);
    w->prev_group = n;
    if (w->ack_started) *defer = group;
    else done_put(&w->done, group);
    return 1;
}

/* Runs one group; once it is durable and answered, its changes go to the
 * alert thread (never waiting for it).  With the acker (writer_ack.c), a
 * committed group is answered, and its changes handed on, by the acker
 * once every worker shows it, while this thread goes on. */
static void run_group(writer *w, job *group, job **tail, uint64_t docs,
                      unsigned n)
{
    alerts_group_begin(w->alerts);
    w->vis_seq = 0;
    job *defer = NULL;
    int ok = run_group_inner(w, group, tail, docs, n, &defer);
    if (defer) {
        wr_ack_put(w, defer, w->vis_seq,
                   ps_now_us() + w->cfg->visible_wait_ms * 1000u, w->ag);
        w->ag = NULL;
        return;
    }
    wr_ack_drain(w);            /* the alerts' groups end in order */
    if (ok) alerts_submit_group(w->alerts, w->ag);
    else alerts_group_free(w->ag);
    w->ag = NULL;
    alerts_group_end(w->alerts);
}


static void *writer_main(void *arg)
{
    writer *w = arg;
    for (;;) {
        /* An open handle is released after writer_idle without a write.
         * At stop the queue drains (QUEUE_DRAIN): every job accepted is
         * applied and committed before QUEUE_STOPPED. */
        uint64_t idle_end = w->db ? w->last_write_us + w->cfg->writer_idle_ms * 1000u
                          : w->log || w->alerts ? ps_now_us() + 1000000u
                                   : QUEUE_NO_DEADLINE;
        job *first;
        queue_wait r = queue_pop_until(&w->queue, idle_end, &first);
        if (r != QUEUE_READY) {     /* stop, or the idle deadline passed */
            int stop = r == QUEUE_STOPPED;
            if (w->log) wrlog_drop_checkpointed(w);
            if (w->db) {
                close_db(w, stop ? "stopping" : "idle");
                pthread_mutex_lock(&w->st_mu);
                w->st.state = "idle";
                pthread_mutex_unlock(&w->st_mu);
            }
            if (stop) break;
            /* Each idle second: has another writer (a local
             * polysearch-index) committed?  Not while this daemon holds
             * the lock (commit mode: the handle is open). */
            if (w->alerts && !w->db) wr_check_external(w, NULL);
            continue;
        }
        /* The first job always, then what fits in WRITER_GROUP_DOCS. */
        job *group = first, **tail = &first->next;
        uint64_t docs = job_size(first);
        unsigned n = 1 + take_more(w, &tail, &docs);
        run_group(w, group, tail, docs, n);
    }
    return NULL;
}

int writer_start(writer *w)
{
    /* Commit mode: the changes before this start are not news.  (Log
     * mode: writer_open_log.) */
    if (!w->log && w->cfg->nshards == 0) {
        uint64_t s = 0;
        w->ext_rev = ps_db_disk_revision(w->cfg->db_path);
        if (read_counter(w, &s) == 0) w->seen_seq = s;
    }
    /* The acker before the writer thread, which reads ack_started. */
    if (w->log && w->vis_wait && wr_ack_start(w) != 0) return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&w->thread, NULL, writer_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) { errno = e; return -1; }   /* writer_stop stops the acker */
    w->started = 1;
    if (w->ck && ckpt_start(w->ck) != 0) return -1;
    return 0;
}

void writer_stop(writer *w)
{
    if (!w || w->stopped) return;
    w->stopped = 1;
    queue_shutdown(&w->queue, QUEUE_DRAIN);
    if (w->started) pthread_join(w->thread, NULL);
    else close_db(w, "stopping");
    wr_ack_stop(w);             /* answers the groups still waiting */
}

void writer_destroy(writer *w)
{
    if (!w) return;
    writer_stop(w);
    /* Log mode: a last checkpoint of everything (a failure leaves it in
     * the log, replayed at the next start), then the log is closed. */
    wrlog_close(w);
    queue_destroy(&w->queue);   /* not started: the jobs never applied */
    done_destroy(&w->done);     /* answers nobody took */
    pthread_mutex_destroy(&w->st_mu);
    free(w);
}
