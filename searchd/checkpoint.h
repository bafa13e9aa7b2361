/* checkpoint.h: the checkpointer thread of polysearchd's write-ahead-log
 * mode (docs/WAL.md).
 *
 * The writer thread (writer.c) acknowledges add/delete once they are in
 * the log and in the in-memory delta (ps_delta, lib/core); this thread
 * owns the only writable ps_db of the daemon, and with it Xapian's writer
 * lock, and puts the delta into the database in large commits
 * (ps_delta_checkpoint): when it holds --checkpoint-docs operations or
 * --checkpoint-bytes bytes, when its oldest operation is --checkpoint-
 * interval old, when no write came for --writer-idle, and at stop.  The
 * lock is held from the first write until the delta is empty and no
 * write came for --writer-idle, so a local
 * polysearch-index never writes underneath changes that are only in the
 * log.  A failed checkpoint (full disk...) changes nothing: the operations
 * stay in the delta and the log, searchable, and it is retried after a
 * back-off; while the delta holds more than --max-delta bytes, writers
 * wait (ckpt_wait_room).
 */
#ifndef SEARCHD_CHECKPOINT_H
#define SEARCHD_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "polysearch.h"

typedef struct checkpointer checkpointer;

/* Figures for the stats method (a snapshot). */
typedef struct ckpt_stats {
    const char *state;          /* "idle" (lock not held), "open" (lock
                                   held), "locked" (the last attempt found
                                   another writer), "failed" (the last
                                   checkpoint failed) */
    char holder[400];           /* the last lock conflict message, or "" */
    char last_error[400];       /* the last checkpoint failure, or "" */
    uint64_t checkpoints;       /* successful checkpoint commits */
    uint64_t failed;            /* failed checkpoints */
    uint64_t opens;             /* writable handle opens (lock taken) */
    uint64_t lock_conflicts;    /* opens refused: lock held elsewhere */
    uint64_t last_seq;          /* delta seq of the last checkpoint */
    uint64_t last_ops;          /* operations in the last checkpoint */
    uint64_t last_us;           /* its duration */
    uint64_t max_us;
    uint64_t last_unix;         /* its time (seconds since the epoch), 0:
                                   none since start */
} ckpt_stats;

/* Returns a checkpointer for cfg->db_path over delta d (both must outlive
 * it), thread not started, database not opened; NULL on allocation
 * failure.  Main thread. */
checkpointer *ckpt_create(const searchd_config *cfg, ps_delta *d);

/* Starts the thread (signals blocked in it).  Returns 0 or -1 with errno.
 * Main thread. */
int ckpt_start(checkpointer *c);

/* Makes sure the daemon holds the database's writer lock before the
 * writer accepts a group: opens the writable handle when it is closed
 * (the open runs on this thread) and keeps it open until the writer
 * calls ckpt_group_done.  Returns 0, or -1 with a message for the client
 * in msg (*locked is 1 when another process holds the lock, 0 for any
 * other failure).  Writer thread. */
int ckpt_group_begin(checkpointer *c, char *msg, size_t msglen, int *locked);

/* Ends what ckpt_group_begin started; published says whether the group
 * put anything into the delta (the thread then checks its thresholds).
 * Writer thread. */
void ckpt_group_done(checkpointer *c, int published);

/* Waits until the delta holds at most --max-delta bytes or until
 * deadline_us (ps_now_us clock).  Returns 0 when there is room, -1 when
 * the deadline passed first.  Writer thread. */
int ckpt_wait_room(checkpointer *c, uint64_t deadline_us);

/* Asks for a checkpoint now (replayed operations at start-up).  Any
 * thread. */
void ckpt_request(checkpointer *c);

/* Fills *out.  Any thread. */
void ckpt_get_stats(checkpointer *c, ckpt_stats *out);

/* Stops the thread after a last checkpoint of everything published (a
 * failure is logged: the operations stay in the log and are replayed at
 * the next start), joins it, closes the writable handle and frees c
 * (NULL is fine).  Main thread, after the writer stopped. */
void ckpt_destroy(checkpointer *c);

#endif
