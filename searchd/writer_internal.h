/* writer_internal.h: what writer.c (the thread, group commit, commit
 * mode) and writer_log.c (the write-ahead-log mode) share: struct writer
 * and the helpers each defines for the other.  Writer thread unless said
 * otherwise. */
#ifndef SEARCHD_WRITER_INTERNAL_H
#define SEARCHD_WRITER_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <msgpack.h>

#include "alerts.h"
#include "checkpoint.h"
#include "polysearch.h"
#include "queue.h"
#include "wal.h"
#include "writer.h"

/* Log mode: OP_SEQ and WAL_OP_BITS are in wal.h; the seqs of the other
 * writers (ps_db_stamp_seqs) follow the same layout. */
_Static_assert(WAL_OP_BITS == PS_SEQ_OP_BITS, "one layout of change seqs");
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
    int stopped;                /* writer_stop done */
    /* Writer thread only. */
    ps_db *db;                  /* commit mode: the writable handle */
    uint64_t last_write_us;
    uint64_t prev_group;        /* requests in the previous commit */
    /* Alerts: the changes of the group being applied, handed to the
     * alert thread once durable (NULL while nobody subscribes); commit
     * mode numbers its changes itself (log mode: OP_SEQ). */
    alerts *alerts;
    alert_group *ag;
    /* Change seqs (docs/WAL.md "Change sequence numbers"): the highest
     * this daemon wrote or handed to the alert thread as another
     * writer's; the database revision whose counter was last read. */
    uint64_t seen_seq;
    uint64_t ext_rev;
    void (*vis_wait)(void *ctx, uint64_t seq, uint64_t until_us);
    void *vis_ctx;              /* writer_set_visible_wait */
    uint64_t vis_seq;           /* wrlog_commit: the group's last seq */
    /* writer_ack.c: groups answered once visible, off the writer thread
     * (ack_mu: the list, busy, stop). */
    pthread_t ack_thread;
    int ack_started;
    pthread_mutex_t ack_mu;
    pthread_cond_t ack_cv;      /* a group queued, or stop */
    pthread_cond_t ack_idle_cv; /* the list emptied and nothing in hand */
    job *ack_head, *ack_tail;
    int ack_busy, ack_stop;
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
    uint64_t view_opens;        /* shard set: the checkpointer's lock
                                   takings the view was reopened after */
};

/* ---- writer_ack.c ---- */

/* Starts the acker thread (log mode with a visible wait).  Returns 0 or -1
 * with errno.  Main thread, from writer_start. */
int wr_ack_start(writer *w);

/* Hands a committed group (its first job) to the acker, which waits until
 * every worker shows seq (0: no wait) or until_us, then answers the group
 * (done list) and submits ag (taken; may be NULL) to the alert thread
 * and ends the alerts' group, in the order groups were put. */
void wr_ack_put(writer *w, job *group, uint64_t seq, uint64_t until_us, alert_group *ag);

/* Returns once every group put was answered (before the writer hands the
 * alert thread anything itself, to keep the order).  Writer thread. */
void wr_ack_drain(writer *w);

/* Drains, stops and joins the acker thread (no-op when not started).
 * Main thread, after the writer thread ended. */
void wr_ack_stop(writer *w);

/* ---- writer.c ---- */

/* Sets the job's error code and message. */
void wr_set_err(job *j, int err, const char *msg);

/* 1 (the job answered with its error, nothing applied) when its client is
 * gone or its deadline passed while it was queued, else 0. */
int wr_skipped(job *j);

/* Rejects document d of job j (the add goes on with the others): the
 * message m (copied into j's zone) and d's id echoed in the answer. */
void wr_reject(job *j, wdoc *d, const char *m);

/* Every job of the group without an error of its own gets this one. */
void wr_fail_group(job *group, int err, const char *msg);

/* Alerts: records the put of p (taken: kept for the alert thread, or
 * freed) or, p NULL, the delete of id, with its seq, in the group's
 * alert_group when subscriptions exist. */
void wr_alert_change(writer *w, ps_prepared *p, const char *id, uint64_t seq,
                     int replaced);

/* Another writer (a local polysearch-index) committed since the database
 * revision last looked at: the changes it numbered above seen_seq go to
 * the alert thread as a catch-up, and seen_seq moves to the counter.
 * db_seq (may be NULL) gets the counter read (unchanged when the revision
 * did not move or it cannot be read).  Cheap when nothing moved (reads
 * the version file). */
void wr_check_external(writer *w, uint64_t *db_seq);

/* ---- writer_log.c ---- */

/* Before a group: the writer lock (through the checkpointer), room in the
 * delta, a log usable again after a failure, a current view, a new record.
 * Returns 0, or -1 after failing the group (not yet handed back). */
int wrlog_begin(writer *w, job *group);

/* Applies one job to the delta and packs its changes into the record.
 * Returns PS_OK, or a failure of the delta (the group must be cancelled
 * with wrlog_abort). */
ps_status wrlog_apply(writer *w, job *j);

/* The group's changes leave the delta, every job gets err and "WHAT,
 * nothing of this request was applied", and the group is handed back. */
void wrlog_abort(writer *w, job *group, int err, const char *what);

/* One record, one fdatasync, then the changes are published before any
 * answer.  Returns 0 (the caller answers the group), or -1 after failing
 * and handing back the group. */
int wrlog_commit(writer *w, job *group);

/* After a checkpoint: a new segment, and the segments the database holds
 * deleted. */
void wrlog_drop_checkpointed(writer *w);

/* The log-mode figures into *out (out->logged 0 in commit mode).  Any
 * thread. */
void wrlog_stats(writer *w, writer_stats *out);

/* At stop, after the thread was joined: the last checkpoint, the log
 * closed, the view and the delta freed (nothing in commit mode).  Main
 * thread. */
void wrlog_close(writer *w);

#endif
