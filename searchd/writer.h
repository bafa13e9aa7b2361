/* writer.h: the one thread that changes the index (add, delete).
 *
 * It owns the only writable ps_db of the daemon, opened lazily on the
 * first write and closed again after --writer-idle without writes, so a
 * local polysearch-index can take Xapian's writer lock between bursts.
 * Jobs arrive through a bounded job_queue (write_queue jobs, full -> busy;
 * queue.h).  Group commit: the writer takes every queued job (up to
 * WRITER_GROUP_DOCS documents), applies them all, waits at most
 * --commit-delay for more when other writers were active in the previous
 * group, commits once, and only then hands every job of the group to the
 * I/O thread through its done_list (the same event as the workers').  A
 * failed commit is cancelled and every job of the group gets the error:
 * nothing of it is acknowledged.
 */
#ifndef SEARCHD_WRITER_H
#define SEARCHD_WRITER_H

#include <stdint.h>
#include <event2/event.h>

#include "alerts.h"
#include "checkpoint.h"
#include "config.h"
#include "job.h"
#include "wal.h"

/* At most this many documents (and ids) are applied in one commit; a
 * single larger request still gets a commit of its own. */
#define WRITER_GROUP_DOCS 5000u

typedef struct writer writer;

/* Figures for the stats method (a snapshot). */
typedef struct writer_stats {
    const char *state;          /* "idle" (lock not held), "open" (lock
                                   held), "locked" (last attempt found
                                   another writer), "failed" (last commit
                                   failed) */
    char holder[400];           /* the last lock conflict message, or "" */
    uint64_t writes;            /* write requests applied and committed */
    uint64_t commits;           /* successful commits */
    uint64_t docs;              /* documents and ids in those commits */
    uint64_t max_group;         /* most requests in one commit */
    uint64_t failed_commits;    /* commits that failed (nothing acked) */
    uint64_t lock_conflicts;    /* groups refused: lock held elsewhere */
    uint64_t last_commit_us;    /* duration of the last commit call */
    uint64_t max_commit_us;
    uint64_t opens;             /* writable handle opens (lock taken) */
    unsigned queued;            /* write requests waiting now */
    /* Log mode (logged = 1): "commits" above are log syncs, the Xapian
     * commits are the checkpoints (ck); state and lock figures come from
     * the checkpointer. */
    int logged;
    ckpt_stats ck;
    wal_stats log;
    ps_delta_info delta;
} writer_stats;

/* Returns a writer for cfg->db_path (thread not started, database not
 * opened), or NULL on allocation failure.  done_ev is activated whenever
 * jobs are done; it must outlive the writer.  Main thread. */
writer *writer_create(const searchd_config *cfg, struct event *done_ev);

/* Write-ahead-log mode (docs/WAL.md; the caller decides: not with
 * --read-only, --no-wal or a --shard list without --wal-dir): opens the
 * writer's read handle, the delta and the log (searchd_config_wal_dir:
 * DB/wal, a shard set's included, or --wal-dir), replays the records
 * after the database's checkpoint (a shard set: the lowest of its
 * shards', so every shard must answer) into the delta (searchable once
 * the workers attach it: writer_delta) and sets up the checkpointer.
 * Returns 0, or -1 with a message in err (a log that cannot be opened or
 * replayed, a shard down: the daemon must not start).  Main thread,
 * before writer_start. */
int writer_open_log(writer *w, char *err, size_t errlen);

/* --no-wal (commit mode) on a database whose write-ahead log still holds
 * acknowledged groups above its checkpoint (a shard set: its lowest
 * shard's; a shard down counts as such, its checkpoint being unknown):
 * returns -1 with a message in err (the daemon must not start: those
 * changes would be skipped, and applied out of order by a later start
 * with the log), else 0 (no log, or an empty one).  Main thread, before
 * the workers start. */
int writer_check_no_log(const searchd_config *cfg, char *err, size_t errlen);

/* The delta the workers attach to their read handles, or NULL in commit
 * mode.  Owned by the writer (freed by writer_destroy, so the workers'
 * handles must be closed first).  Main thread. */
ps_delta *writer_delta(writer *w);

/* Hands every durable group to the alert thread a (alerts.h; NULL:
 * none): documents put and ids deleted, with their seq, after the log's
 * fdatasync and publish (log mode) or the commit, and after the group's
 * answers were handed back.  Main thread, before writer_start. */
void writer_set_alerts(writer *w, alerts *a);

/* Log mode: a group's answers are handed back once every reader shows
 * its changes: after publishing them the writer hands the group to its
 * acker thread (writer_ack.c) and goes on with the next group; the acker
 * calls wait(ctx, seq, until_us) with the group's last seq, which returns
 * once every reader shows it or at until_us (monotonic, ps_now_us; its
 * result is ignored): the workers' workers_wait_visible, so that an
 * acknowledged change is already in each worker's view.  NULL: answered
 * at once by the writer.  Main thread, before writer_start. */
void writer_set_visible_wait(writer *w,
                             void (*wait)(void *ctx, uint64_t seq, uint64_t until_us),
                             void *ctx);

/* Starts the thread (signals blocked in it).  Returns 0 or -1 with errno.
 * Main thread. */
int writer_start(writer *w);

/* Queues a write job; the writer owns it until writer_take_done returns
 * it.  Returns 0, or -1 when the queue is full or the writer is stopping
 * (the caller still owns the job).  I/O thread. */
int writer_submit(writer *w, job *j);

/* Returns the list of answered jobs (linked by next; caller owns them), or
 * NULL.  I/O thread. */
job *writer_take_done(writer *w);

/* Fills *out with the current figures.  Any thread. */
void writer_get_stats(writer *w, writer_stats *out);

/* Stops the thread after it has applied and committed every queued job
 * (their answers are dropped if nobody takes them) and joins it; from
 * then on nothing is handed to the alert thread.  Idempotent (NULL is
 * fine).  Main thread, after the event loop ended. */
void writer_stop(writer *w);

/* writer_stop if not done; then in log mode checkpoints everything and
 * closes the log; closes the writable handle and frees the writer and the
 * delta (NULL is fine).  Main thread, after the event loop ended, after
 * workers_destroy and alerts_stop (their handles use the delta). */
void writer_destroy(writer *w);

#endif
