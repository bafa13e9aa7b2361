/* writer_log.c: the writer's write-ahead-log mode (docs/WAL.md): replay at
 * start into the delta, each group analysed into the delta and packed into
 * one log record, one fdatasync, publish, answer; the checkpointer
 * (checkpoint.c) commits the delta to Xapian. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "methods.h"
#include "util.h"
#include "walops.h"
#include "writer_internal.h"


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
                    "analysed (%s): wr_skipped", (unsigned long long)r->rec, put->id,
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
    /* A shard set is replayed from its least advanced shard (each shard
     * stores the checkpoint it committed): every shard must answer. */
    uint64_t ck = 0;
    if ((st = ps_db_get_wal_seq(w->view, &ck)) != PS_OK) {
        snprintf(err, errlen, "%s: cannot read the checkpoint of the "
                 "write-ahead log: %s", searchd_config_db_name(c),
                 ps_db_errmsg(w->view));
        return -1;
    }
    if (ps_delta_new(ck, &w->delta) != PS_OK) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char dir[4096];
    if (searchd_config_wal_dir(c, dir, sizeof dir) != 1) {
        snprintf(err, errlen, "no place for the write-ahead log (path too "
                 "long, or a --shard list without --wal-dir)");
        return -1;
    }
    w->view_opens = 0;
    replay_ctx r = {w, 0, 0, 0};
    if (wal_open(dir, ck >> WAL_OP_BITS, NULL, replay_record, &r, &w->log, err,
                 errlen) != 0)
        return -1;
    ps_delta_publish(w->delta, UINT64_MAX);
    w->dropped_upto = ck >> WAL_OP_BITS;
    /* The changes before this start (replayed ones included) are not
     * news for the alerts: they are found by resume_from only. */
    ps_delta_info di;
    ps_delta_stats(w->delta, &di);
    w->seen_seq = di.last_seq > ck ? di.last_seq : ck;
    if (ps_db_nshards(w->view) == 0) w->ext_rev = ps_db_disk_revision(c->db_path);
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
void wrlog_drop_checkpointed(writer *w)
{
    ps_delta_info di;
    ps_delta_stats(w->delta, &di);
    uint64_t upto = di.watermark >> WAL_OP_BITS;
    if (upto <= w->dropped_upto) return;
    if (wal_rotate(w->log) != 0 || wal_drop_upto(w->log, upto) != 0) {
        ps_log(PS_LOG_WARN, "write-ahead log: cannot drop the records up to "
               "%llu (they stay, and are wr_skipped at replay): %s",
               (unsigned long long)upto, strerror(errno));
        return;
    }
    w->dropped_upto = upto;
}

/* Applies one job to the delta and packs its changes into the record.
 * Returns PS_OK, or a failure of the delta (the group is cancelled). */
ps_status wrlog_apply(writer *w, job *j)
{
    if (wr_skipped(j)) return PS_OK;
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
                wr_reject(j, d, msg ? msg : "invalid document");
                free(msg);
                continue;
            }
            free(msg);
            if (st != PS_OK) return st;
            ps_put_outcome o;
            uint64_t seq = OP_SEQ(w->rec_seq, w->rec_next++);
            st = ps_delta_put(w->delta, w->view, p, seq, &o);
            if (st != PS_OK || o == PS_PUT_UNCHANGED) ps_prepared_free(p);
            else wr_alert_change(w, p, NULL, seq, o == PS_PUT_REPLACED);
            if (st != PS_OK) return st;
            if (o == PS_PUT_UNCHANGED) { j->unchanged++; continue; }
            if (walops_put(&w->pk, &d->in) != 0) return PS_ERR_NOMEM;
            w->rec_ops++;
            if (o == PS_PUT_ADDED) j->added++;
            else j->replaced++;
        }
    } else {
        for (uint32_t i = 0; i < j->nids; i++) {
            uint64_t seq = OP_SEQ(w->rec_seq, w->rec_next++);
            ps_status st = ps_delta_delete(w->delta, w->view, j->ids[i], seq);
            if (st == PS_ERR_NOT_FOUND || st == PS_ERR_INVALID) { j->not_found++; continue; }
            if (st != PS_OK) return st;
            wr_alert_change(w, NULL, j->ids[i], seq, 1);
            if (walops_del(&w->pk, j->ids[i]) != 0) return PS_ERR_NOMEM;
            w->rec_ops++;
            j->deleted++;
        }
    }
    return PS_OK;
}

/* Log mode: takes the writer lock (through the checkpointer) and waits
 * for room in the delta.  Returns 0, or -1 after failing the group. */
int wrlog_begin(writer *w, job *group)
{
    char msg[sizeof group->errmsg];
    int locked = 0;
    if (ckpt_group_begin(w->ck, msg, sizeof msg, &locked) != 0) {
        wr_fail_group(group, ERR_UNAVAILABLE, msg);
        pthread_mutex_lock(&w->st_mu);
        if (locked) w->st.lock_conflicts++;
        pthread_mutex_unlock(&w->st_mu);
        return -1;
    }
    if (ckpt_wait_room(w->ck, group->deadline_us) != 0) {
        wr_fail_group(group, ERR_BUSY, "too many changes wait for a checkpoint "
                   "(--max-delta): nothing of this request was applied; retry");
        ckpt_group_done(w->ck, 0);
        return -1;
    }
    if (wal_recover(w->log) != 0) {
        char msg2[200];
        snprintf(msg2, sizeof msg2, "the write-ahead log cannot be written (%s): "
                 "nothing of this request was applied; retry", strerror(errno));
        wr_fail_group(group, ERR_IO_ERROR, msg2);
        ckpt_group_done(w->ck, 0);
        return -1;
    }
    /* Outcomes (added/replaced, not_found) are computed against the view:
     * bring it up to a commit made meanwhile by another writer (a local
     * polysearch-index, another daemon through a --writable tcpsrv)
     * between two lock holds of this daemon.  One database: its version
     * file says; a shard set has none: reopened whenever the checkpointer
     * took the locks again. */
    if (ps_db_nshards(w->view) > 0) {
        ckpt_stats cs;
        ckpt_get_stats(w->ck, &cs);
        if (cs.opens != w->view_opens) {
            if (ps_db_reopen(w->view, NULL) != PS_OK)
                ps_log(PS_LOG_WARN, "writer: reopen failed: %s", ps_db_errmsg(w->view));
            w->view_opens = cs.opens;
        }
    } else {
        uint64_t disk = ps_db_disk_revision(w->cfg->db_path);
        if (disk != 0 && disk != ps_db_revision(w->view) &&
            ps_db_reopen(w->view, NULL) != PS_OK)
            ps_log(PS_LOG_WARN, "writer: reopen failed: %s", ps_db_errmsg(w->view));
    }
    /* Another writer (a local polysearch-index) may have committed while
     * this daemon held no lock, numbering its changes past this log's
     * next record: the log skips past them (docs/WAL.md, "Change
     * sequence numbers"), and the alerts catch up on them. */
    if (ps_db_nshards(w->view) == 0) {
        uint64_t ck = 0;
        if (ps_db_get_wal_seq(w->view, &ck) == PS_OK &&
            (ck >> WAL_OP_BITS) >= wal_next_seq(w->log)) {
            if (wal_skip_to(w->log, (ck >> WAL_OP_BITS) + 1) != 0) {
                char msg2[200];
                snprintf(msg2, sizeof msg2, "the write-ahead log cannot skip past "
                         "another writer's changes (%s): nothing of this request "
                         "was applied; retry", strerror(errno));
                wr_fail_group(group, ERR_IO_ERROR, msg2);
                ckpt_group_done(w->ck, 0);
                return -1;
            }
            ps_log(PS_LOG_INFO, "write-ahead log: another writer committed changes "
                   "up to %llu; the log goes on at record %llu",
                   (unsigned long long)ck, (unsigned long long)(ck >> WAL_OP_BITS) + 1);
            w->dropped_upto = ck >> WAL_OP_BITS;
        }
        wr_check_external(w, NULL);
    }
    wrlog_drop_checkpointed(w);
    rec_begin(w);
    return 0;
}

/* Log mode: the group's changes leave the delta and nothing is
 * acknowledged. */
void wrlog_abort(writer *w, job *group, int err, const char *what)
{
    char msg[sizeof group->errmsg];
    snprintf(msg, sizeof msg, "%s, nothing of this request was applied", what);
    ps_log(PS_LOG_ERROR, "%s", msg);
    ps_delta_discard_unpublished(w->delta);
    wr_fail_group(group, err, msg);
    pthread_mutex_lock(&w->st_mu);
    w->st.failed_commits++;
    pthread_mutex_unlock(&w->st_mu);
    ckpt_group_done(w->ck, 0);
    done_put(&w->done, group);
}

/* Log mode: one record, one fdatasync, then the changes are published
 * (searchable) before any answer.  Returns 0, or -1 after failing the
 * group. */
int wrlog_commit(writer *w, job *group)
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
        wrlog_abort(w, group, ERR_IO_ERROR, what);
        return -1;
    }
    if (seq != w->rec_seq)
        ps_log(PS_LOG_ERROR, "write-ahead log: record %llu written as %llu",
               (unsigned long long)w->rec_seq, (unsigned long long)seq);
    if (w->rec_next > 0 && OP_SEQ(w->rec_seq, w->rec_next - 1) > w->seen_seq)
        w->seen_seq = OP_SEQ(w->rec_seq, w->rec_next - 1);
    ps_delta_publish(w->delta, UINT64_MAX);
    ckpt_group_done(w->ck, 1);
    if (w->vis_wait) {          /* the acker waits for it (writer_ack.c) */
        ps_delta_info di;
        ps_delta_stats(w->delta, &di);
        w->vis_seq = di.published;
    }
    return 0;
}

void wrlog_stats(writer *w, writer_stats *out)
{
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

void wrlog_close(writer *w)
{
    ckpt_destroy(w->ck);
    if (w->log) {
        wrlog_drop_checkpointed(w);
        wal_close(w->log);
        msgpack_sbuffer_destroy(&w->rec);
    }
    ps_db_close(w->view);
    ps_delta_free(w->delta);
}

int writer_check_no_log(const searchd_config *c, char *err, size_t errlen)
{
    char dir[4096];
    struct stat sb;
    if (searchd_config_wal_dir(c, dir, sizeof dir) != 1 || stat(dir, &sb) != 0)
        return 0;               /* no log was ever written here */
    ps_db *db = NULL;
    char *msg = NULL;
    if (searchd_config_open_db(c, PS_DB_READ, &db, &msg) != PS_OK) {
        free(msg);
        return 0;               /* the workers reported it already */
    }
    free(msg);
    uint64_t ck = 0;
    int rc = 0;
    ps_status st = ps_db_get_wal_seq(db, &ck);
    if (st != PS_OK && ps_db_nshards(db) > 0) {
        /* A shard down: its checkpoint is unknown, so is what the log
         * still holds for it. */
        snprintf(err, errlen, "cannot tell whether %s holds changes not yet "
                 "in the database: %s", dir, ps_db_errmsg(db));
        rc = -1;
    } else if (st == PS_OK && wal_may_hold_records(dir, ck >> WAL_OP_BITS)) {
        snprintf(err, errlen, "%s may hold acknowledged changes not yet in the "
                 "database: start once without --no-wal to apply them (they "
                 "would be skipped now, and applied out of order later)", dir);
        rc = -1;
    }
    ps_db_close(db);
    return rc;
}
