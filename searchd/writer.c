/* writer.c: the writer thread: lazy writable handle, group commit, idle
 * release of the lock.  Jobs come in through a job_queue and go back
 * through a done_list (queue.h). */
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
#include "walops.h"

/* Log mode: the delta seq of operation i of log record r (docs/WAL.md,
 * "The contract with the database"): a record holds at most
 * 2^WAL_OP_BITS operations, so the checkpointed record is seq >> 24. */
#define WAL_OP_BITS 24
#define OP_SEQ(r, i) (((uint64_t)(r) << WAL_OP_BITS) | (uint64_t)(i))
_Static_assert(WRITER_GROUP_DOCS + SEARCHD_MAX_ADD_DOCS < (1u << WAL_OP_BITS),
               "a writer group must fit in one log record");

struct writer {
    const searchd_config *cfg;
    job_queue queue;            /* I/O thread -> writer (cfg->write_queue) */
    done_list done;             /* writer -> I/O thread (done_ev) */
    pthread_mutex_t st_mu;
    writer_stats st;            /* st_mu (state/holder/counters) */
    pthread_t thread;
    int started;
    /* Writer thread only. */
    ps_db *db;                  /* commit mode: the writable handle */
    uint64_t last_write_us;
    uint64_t prev_group;        /* requests in the previous commit */
    /* Log mode (writer_open_log): the delta shared with the workers and
     * the checkpointer, the log, this thread's read handle for outcomes,
     * the record being packed, the last record whose segments were
     * dropped. */
    ps_delta *delta;
    wal *log;
    checkpointer *ck;
    ps_db *view;
    msgpack_sbuffer rec;
    msgpack_packer pk;
    uint32_t rec_ops;           /* operations packed into the record */
    uint32_t rec_next;          /* next operation index (delta seq) */
    uint64_t rec_seq;           /* the record's log seq */
    uint64_t dropped_upto;
};

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
    out->logged = w->log != NULL;
    if (!out->logged) return;
    ckpt_get_stats(w->ck, &out->ck);
    out->state = out->ck.state;
    snprintf(out->holder, sizeof out->holder, "%s", out->ck.holder);
    out->lock_conflicts += out->ck.lock_conflicts;
    out->opens = out->ck.opens;
    wal_get_stats(w->log, &out->log);
    ps_delta_stats(w->delta, &out->delta);
}

/* Takes the queued jobs that follow while the group stays within
 * WRITER_GROUP_DOCS documents/ids (*docs so far), appending them at *tail.
 * Returns how many were taken.  Writer thread. */
static unsigned take_more(writer *w, job ***tail, uint64_t *docs)
{
    return queue_take(&w->queue, WRITER_GROUP_DOCS, job_size, docs, tail);
}

static void set_err(job *j, int err, const char *msg)
{
    j->err = err;
    snprintf(j->errmsg, sizeof j->errmsg, "%s", msg);
}

/* 1 (the job answered with its error, nothing applied) when its client
 * is gone or its deadline passed while it was queued, else 0. */
static int skipped(job *j)
{
    if (j->gone && atomic_load(j->gone)) {
        set_err(j, ERR_INTERNAL, "client gone");
        return 1;
    }
    if (ps_now_us() > j->deadline_us) {
        set_err(j, ERR_TIMEOUT,
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
    if (skipped(j)) return PS_OK;
    if (j->docs) {
        for (uint32_t i = 0; i < j->nwdocs; i++) {
            wdoc *d = &j->docs[i];
            if (d->reject) continue;
            ps_put_outcome o;
            ps_status st = ps_db_put(w->db, &d->in, &o);
            if (st == PS_ERR_INVALID) {
                const char *m = ps_db_errmsg(w->db);
                size_t len = strlen(m);
                char *copy = msgpack_zone_malloc(j->zone, len + 1);
                if (copy) memcpy(copy, m, len + 1);
                d->reject = copy ? copy : "invalid document";
                d->reject_id = d->in.id;
                continue;
            }
            if (st != PS_OK) return st;
            if (o == PS_PUT_ADDED) j->added++;
            else if (o == PS_PUT_REPLACED) j->replaced++;
            else j->unchanged++;
        }
    } else {
        for (uint32_t i = 0; i < j->nids; i++) {
            ps_status st = ps_db_delete(w->db, j->ids[i]);
            if (st == PS_OK) j->deleted++;
            else if (st == PS_ERR_NOT_FOUND || st == PS_ERR_INVALID) j->not_found++;
            else return st;
        }
    }
    return PS_OK;
}

/* Every job of the group that has not already got its own error gets
 * this one (and its counts are not reported). */
static void fail_group(job *group, int err, const char *msg)
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
    fail_group(group, ERR_UNAVAILABLE, text);
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
    fail_group(group, err, msg);
    pthread_mutex_lock(&w->st_mu);
    w->st.state = "failed";
    w->st.failed_commits++;
    pthread_mutex_unlock(&w->st_mu);
    done_put(&w->done, group);
}


/* ---- Log mode (docs/WAL.md) --------------------------------------------- */

/* Starts the record of the next group: an array32 header whose count is
 * filled in by rec_finish, so the operations can be packed as they are
 * applied. */
static void rec_begin(writer *w)
{
    msgpack_sbuffer_clear(&w->rec);
    static const char hdr[5] = {(char)0xdd, 0, 0, 0, 0};
    msgpack_sbuffer_write(&w->rec, hdr, sizeof hdr);
    w->rec_ops = 0;
    w->rec_next = 0;
    w->rec_seq = wal_next_seq(w->log);
}

static void rec_finish(writer *w)
{
    unsigned char *p = (unsigned char *)w->rec.data;
    p[1] = (unsigned char)(w->rec_ops >> 24);
    p[2] = (unsigned char)(w->rec_ops >> 16);
    p[3] = (unsigned char)(w->rec_ops >> 8);
    p[4] = (unsigned char)w->rec_ops;
}

/* Replay at start: each operation of a record into the delta. */
typedef struct replay_ctx {
    writer *w;
    uint64_t rec;
    uint32_t i;
    uint64_t ops;
} replay_ctx;

static int replay_op(void *arg, const ps_doc_in *put, const char *del_id)
{
    replay_ctx *r = arg;
    uint64_t seq = OP_SEQ(r->rec, r->i++);
    ps_status st;
    if (put) {
        ps_prepared *p = NULL;
        char *msg = NULL;
        st = ps_doc_prepare(put, ps_db_boilerplate(r->w->view), &p, &msg);
        if (st == PS_OK) st = ps_delta_put(r->w->delta, NULL, p, seq, NULL);
        else ps_log(PS_LOG_ERROR, "log record %llu: document %s cannot be "
                    "analysed (%s): skipped", (unsigned long long)r->rec, put->id,
                    msg ? msg : ps_status_str(st));
        ps_prepared_free(p);
        free(msg);
        if (st == PS_ERR_INVALID) return 0;
    } else {
        st = ps_delta_delete(r->w->delta, NULL, del_id, seq);
    }
    if (st != PS_OK) {
        ps_log(PS_LOG_ERROR, "log record %llu: %s", (unsigned long long)r->rec,
               ps_delta_errmsg(r->w->delta));
        return -1;
    }
    r->ops++;
    return 0;
}

static int replay_record(void *arg, uint64_t seq, const void *payload, size_t len)
{
    replay_ctx *r = arg;
    char err[256];
    r->rec = seq;
    r->i = 0;
    int rc = walops_unpack(payload, len, replay_op, r, err, sizeof err);
    if (rc == -1)
        ps_log(PS_LOG_ERROR, "log record %llu is not a valid group: %s",
               (unsigned long long)seq, err);
    return rc;
}

int writer_open_log(writer *w, char *err, size_t errlen)
{
    const searchd_config *c = w->cfg;
    char *msg = NULL;
    ps_status st = searchd_config_open_db(c, PS_DB_READ, &w->view, &msg);
    if (st != PS_OK) {
        snprintf(err, errlen, "cannot open %s: %s", searchd_config_db_name(c),
                 msg ? msg : ps_status_str(st));
        free(msg);
        return -1;
    }
    free(msg);
    if (ps_db_nshards(w->view) > 0) {
        ps_log(PS_LOG_INFO, "%s is a shard set: no write-ahead log, every "
               "write group is committed (docs/SCALING.md)", c->db_path);
        ps_db_close(w->view);
        w->view = NULL;
        return 0;
    }
    uint64_t ck = 0;
    if ((st = ps_db_get_wal_seq(w->view, &ck)) != PS_OK) {
        snprintf(err, errlen, "%s: cannot read the checkpoint of the "
                 "write-ahead log: %s", c->db_path, ps_db_errmsg(w->view));
        return -1;
    }
    if (ps_delta_new(ck, &w->delta) != PS_OK) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof dir, "%s/wal", c->db_path) >= sizeof dir) {
        snprintf(err, errlen, "database path too long");
        return -1;
    }
    replay_ctx r = {w, 0, 0, 0};
    if (wal_open(dir, ck >> WAL_OP_BITS, NULL, replay_record, &r, &w->log, err,
                 errlen) != 0)
        return -1;
    ps_delta_publish(w->delta, UINT64_MAX);
    w->dropped_upto = ck >> WAL_OP_BITS;
    msgpack_sbuffer_init(&w->rec);
    msgpack_packer_init(&w->pk, &w->rec, msgpack_sbuffer_write);
    if (!(w->ck = ckpt_create(c, w->delta))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (r.ops) {
        ps_log(PS_LOG_INFO, "replayed %llu operations from the write-ahead log "
               "(records after %llu); they are searchable and will be "
               "checkpointed", (unsigned long long)r.ops,
               (unsigned long long)(ck >> WAL_OP_BITS));
        ckpt_request(w->ck);
    }
    return 0;
}

ps_delta *writer_delta(writer *w)
{
    return w ? w->delta : NULL;
}

/* After a checkpoint: starts a new segment and deletes the segments whose
 * records are all in the database. */
static void drop_checkpointed(writer *w)
{
    ps_delta_info di;
    ps_delta_stats(w->delta, &di);
    uint64_t upto = di.watermark >> WAL_OP_BITS;
    if (upto <= w->dropped_upto) return;
    if (wal_rotate(w->log) != 0 || wal_drop_upto(w->log, upto) != 0) {
        ps_log(PS_LOG_WARN, "write-ahead log: cannot drop the records up to "
               "%llu (they stay, and are skipped at replay): %s",
               (unsigned long long)upto, strerror(errno));
        return;
    }
    w->dropped_upto = upto;
}

/* Applies one job to the delta and packs its changes into the record.
 * Returns PS_OK, or a failure of the delta (the group is cancelled). */
static ps_status apply_logged(writer *w, job *j)
{
    if (skipped(j)) return PS_OK;
    if (j->docs) {
        for (uint32_t i = 0; i < j->nwdocs; i++) {
            wdoc *d = &j->docs[i];
            if (d->reject) continue;
            char hash[17];
            int unchanged = 0;
            ps_doc_content_hash(&d->in, hash);
            ps_status st = ps_delta_check_unchanged(w->delta, w->view, d->in.id,
                                                    hash, &unchanged);
            if (st != PS_OK && st != PS_ERR_INVALID) return st;
            if (unchanged) { j->unchanged++; continue; }
            ps_prepared *p = NULL;
            char *msg = NULL;
            st = ps_doc_prepare(&d->in, ps_db_boilerplate(w->view), &p, &msg);
            if (st == PS_ERR_INVALID) {
                const char *m = msg ? msg : "invalid document";
                size_t len = strlen(m);
                char *copy = msgpack_zone_malloc(j->zone, len + 1);
                if (copy) memcpy(copy, m, len + 1);
                d->reject = copy ? copy : "invalid document";
                d->reject_id = d->in.id;
                free(msg);
                continue;
            }
            free(msg);
            if (st != PS_OK) return st;
            ps_put_outcome o;
            st = ps_delta_put(w->delta, w->view, p, OP_SEQ(w->rec_seq, w->rec_next++), &o);
            ps_prepared_free(p);
            if (st != PS_OK) return st;
            if (o == PS_PUT_UNCHANGED) { j->unchanged++; continue; }
            if (walops_put(&w->pk, &d->in) != 0) return PS_ERR_NOMEM;
            w->rec_ops++;
            if (o == PS_PUT_ADDED) j->added++;
            else j->replaced++;
        }
    } else {
        for (uint32_t i = 0; i < j->nids; i++) {
            ps_status st = ps_delta_delete(w->delta, w->view, j->ids[i],
                                           OP_SEQ(w->rec_seq, w->rec_next++));
            if (st == PS_ERR_NOT_FOUND || st == PS_ERR_INVALID) { j->not_found++; continue; }
            if (st != PS_OK) return st;
            if (walops_del(&w->pk, j->ids[i]) != 0) return PS_ERR_NOMEM;
            w->rec_ops++;
            j->deleted++;
        }
    }
    return PS_OK;
}

/* Log mode: takes the writer lock (through the checkpointer) and waits
 * for room in the delta.  Returns 0, or -1 after failing the group. */
static int begin_logged(writer *w, job *group)
{
    char msg[sizeof group->errmsg];
    int locked = 0;
    if (ckpt_group_begin(w->ck, msg, sizeof msg, &locked) != 0) {
        fail_group(group, ERR_UNAVAILABLE, msg);
        pthread_mutex_lock(&w->st_mu);
        if (locked) w->st.lock_conflicts++;
        pthread_mutex_unlock(&w->st_mu);
        return -1;
    }
    if (ckpt_wait_room(w->ck, group->deadline_us) != 0) {
        fail_group(group, ERR_BUSY, "too many changes wait for a checkpoint "
                   "(--max-delta): nothing of this request was applied; retry");
        ckpt_group_done(w->ck, 0);
        return -1;
    }
    if (wal_recover(w->log) != 0) {
        char msg2[200];
        snprintf(msg2, sizeof msg2, "the write-ahead log cannot be written (%s): "
                 "nothing of this request was applied; retry", strerror(errno));
        fail_group(group, ERR_IO_ERROR, msg2);
        ckpt_group_done(w->ck, 0);
        return -1;
    }
    /* Outcomes (added/replaced, not_found) are computed against the view:
     * bring it up to a commit made meanwhile by a local polysearch-index
     * (between two lock holds of this daemon). */
    uint64_t disk = ps_db_disk_revision(w->cfg->db_path);
    if (disk != 0 && disk != ps_db_revision(w->view) &&
        ps_db_reopen(w->view, NULL) != PS_OK)
        ps_log(PS_LOG_WARN, "writer: reopen failed: %s", ps_db_errmsg(w->view));
    drop_checkpointed(w);
    rec_begin(w);
    return 0;
}

/* Log mode: the group's changes leave the delta and nothing is
 * acknowledged. */
static void abort_logged(writer *w, job *group, int err, const char *what)
{
    char msg[sizeof group->errmsg];
    snprintf(msg, sizeof msg, "%s, nothing of this request was applied", what);
    ps_log(PS_LOG_ERROR, "%s", msg);
    ps_delta_discard_unpublished(w->delta);
    fail_group(group, err, msg);
    pthread_mutex_lock(&w->st_mu);
    w->st.failed_commits++;
    pthread_mutex_unlock(&w->st_mu);
    ckpt_group_done(w->ck, 0);
    done_put(&w->done, group);
}

/* Log mode: one record, one fdatasync, then the changes are published
 * (searchable) before any answer.  Returns 0, or -1 after failing the
 * group. */
static int commit_logged(writer *w, job *group)
{
    if (w->rec_ops == 0) {          /* nothing changed: nothing to log */
        ps_delta_discard_unpublished(w->delta);
        ckpt_group_done(w->ck, 0);
        return 0;
    }
    rec_finish(w);
    uint64_t seq = 0;
    if (wal_append(w->log, w->rec.data, w->rec.size, &seq) != 0 ||
        wal_sync(w->log) != 0) {
        char what[160];
        snprintf(what, sizeof what, "writing the write-ahead log failed (%s)",
                 strerror(errno));
        abort_logged(w, group, ERR_IO_ERROR, what);
        return -1;
    }
    if (seq != w->rec_seq)
        ps_log(PS_LOG_ERROR, "write-ahead log: record %llu written as %llu",
               (unsigned long long)w->rec_seq, (unsigned long long)seq);
    ps_delta_publish(w->delta, UINT64_MAX);
    ckpt_group_done(w->ck, 1);
    return 0;
}

/* Runs one group: open, apply, maybe wait for more, commit, answer. */
static void run_group(writer *w, job *group, job **tail, uint64_t docs,
                      unsigned n)
{
    int logged = w->log != NULL;
    if (logged ? begin_logged(w, group) != 0 : ensure_open(w, group) != 0) {
        done_put(&w->done, group);
        return;
    }
    uint64_t t0 = ps_now_us();
    ps_status st = PS_OK;
    job *applied_to = NULL;     /* last job applied */
    for (job *j = group; j && st == PS_OK; j = j->next) {
        st = logged ? apply_logged(w, j) : apply(w, j);
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
                st = logged ? apply_logged(w, j) : apply(w, j);
                applied_to = j;
            }
            if (st != PS_OK || ps_now_us() >= end || n >= w->prev_group) break;
        }
    }
    int err = st == PS_ERR_IO ? ERR_IO_ERROR : methods_status_err(st);
    if (st != PS_OK && logged) {
        char what[sizeof group->errmsg - 64];
        snprintf(what, sizeof what, "write failed: %s", ps_delta_errmsg(w->delta));
        abort_logged(w, group, err, what);
        return;
    }
    if (st != PS_OK) {
        abort_group(w, group, "write", err);
        return;
    }
    uint64_t c0 = ps_now_us();
    if (logged) {
        if (commit_logged(w, group) != 0) return;
    } else {
        st = ps_db_commit(w->db);
    }
    uint64_t took = ps_now_us() - c0;
    w->last_write_us = ps_now_us();
    if (st != PS_OK) {
        abort_group(w, group, "commit", ERR_IO_ERROR);
        return;
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
    done_put(&w->done, group);
}


static void *writer_main(void *arg)
{
    writer *w = arg;
    for (;;) {
        /* An open handle is released after writer_idle without a write.
         * At stop the queue drains (QUEUE_DRAIN): every job accepted is
         * applied and committed before QUEUE_STOPPED. */
        uint64_t idle_end = w->db ? w->last_write_us + w->cfg->writer_idle_ms * 1000u
                          : w->log ? ps_now_us() + 1000000u
                                   : QUEUE_NO_DEADLINE;
        job *first;
        queue_wait r = queue_pop_until(&w->queue, idle_end, &first);
        if (r != QUEUE_READY) {     /* stop, or the idle deadline passed */
            int stop = r == QUEUE_STOPPED;
            if (w->log) drop_checkpointed(w);
            if (w->db) {
                close_db(w, stop ? "stopping" : "idle");
                pthread_mutex_lock(&w->st_mu);
                w->st.state = "idle";
                pthread_mutex_unlock(&w->st_mu);
            }
            if (stop) break;
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
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&w->thread, NULL, writer_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) { errno = e; return -1; }
    w->started = 1;
    if (w->ck && ckpt_start(w->ck) != 0) return -1;
    return 0;
}

void writer_destroy(writer *w)
{
    if (!w) return;
    queue_shutdown(&w->queue, QUEUE_DRAIN);
    if (w->started) pthread_join(w->thread, NULL);
    else close_db(w, "stopping");
    /* Log mode: a last checkpoint of everything (a failure leaves it in
     * the log, replayed at the next start), then the log is closed. */
    ckpt_destroy(w->ck);
    if (w->log) {
        drop_checkpointed(w);
        wal_close(w->log);
        msgpack_sbuffer_destroy(&w->rec);
    }
    ps_db_close(w->view);
    ps_delta_free(w->delta);
    queue_destroy(&w->queue);   /* not started: the jobs never applied */
    done_destroy(&w->done);     /* answers nobody took */
    pthread_mutex_destroy(&w->st_mu);
    free(w);
}
