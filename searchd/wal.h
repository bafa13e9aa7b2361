/* wal.h: polysearchd's write-ahead log, the file layer.
 *
 * A log is a directory (<dbdir>/wal/) of segment files "%016llx.log",
 * each named by the sequence number of its first record.  Records carry
 * opaque payloads (the writer's MessagePack) and sequence numbers that the
 * log assigns: 1, 2, 3, ... without gaps, across segments.  Every record
 * has a CRC-32; on open, a torn or corrupt tail is reported and cut at the
 * last complete record, never replayed half.  The format, the recovery
 * rules and what is guaranteed are in docs/WAL.md.
 *
 * The contract with the database: the Xapian database stores the last
 * checkpointed seq (every record <= it is in the database); wal_open
 * replays only the records above it, and wal_drop_upto deletes the
 * segments the database no longer needs.
 *
 * Threads: one thread (the writer's) makes every call, except the getters
 * wal_bytes, wal_next_seq, wal_last_synced_seq and wal_get_stats, which
 * any thread may call while the log is open (atomics).
 *
 * System calls, one purpose each (for strace fault sweeps): writev appends
 * records, write only writes a new segment's header, fdatasync syncs a
 * segment, fsync syncs the directory, ftruncate cuts a segment, unlinkat
 * removes one, openat opens one, read and getdents read them.  Nothing is
 * retried except on EINTR.
 */
#ifndef SEARCHD_WAL_H
#define SEARCHD_WAL_H

#include <stddef.h>
#include <stdint.h>

/* Default and largest payload of one record (wal_opts.max_payload). */
#define WAL_DEFAULT_MAX_PAYLOAD (UINT32_C(64) << 20)   /* 64 MiB */
#define WAL_FORMAT_MAX_PAYLOAD  (UINT32_C(1) << 30)    /* 1 GiB */

typedef struct wal wal;

typedef struct wal_opts {
    /* wal_append refuses larger payloads (EMSGSIZE).  0 means
     * WAL_DEFAULT_MAX_PAYLOAD; at most WAL_FORMAT_MAX_PAYLOAD.  Reading
     * accepts records up to WAL_FORMAT_MAX_PAYLOAD, so lowering the option
     * never cuts records written under a higher one. */
    uint32_t max_payload;
} wal_opts;

/* Called by wal_open for each complete, checksummed record above the
 * checkpoint, in sequence order.  payload (len bytes, not NUL-terminated)
 * belongs to the log and is valid only during the call.  Returns 0 to go
 * on; anything else makes wal_open fail (nothing is cut or deleted for
 * it).  Called on the thread calling wal_open. */
typedef int (*wal_replay_fn)(void *arg, uint64_t seq, const void *payload,
                             size_t len);

/* Figures of an open log (each field read atomically; not one snapshot). */
typedef struct wal_stats {
    uint64_t bytes;          /* size of all segments */
    uint64_t segments;       /* segment files, the current one included */
    uint64_t next_seq;       /* the seq the next wal_append gets */
    uint64_t synced_seq;     /* last seq made durable (0: none yet) */
    uint64_t replayed;       /* records given to the replay function */
    uint64_t cut_bytes;      /* bytes cut by wal_open (torn/corrupt) */
    uint64_t appends;        /* records appended since wal_open */
    uint64_t syncs;          /* successful wal_sync calls that synced */
    uint64_t sync_failures;  /* wal_sync calls that failed */
    int failed;              /* 1: the log refuses appends until reopened */
} wal_stats;

/* Opens the log in directory dir (created if missing; its parent must
 * exist and is fsynced), takes an exclusive flock on it (a
 * second opener fails), reads every segment in order and calls
 * fn(arg, seq, payload, len) for each complete record with seq >
 * checkpoint_seq (fn may be NULL).  A torn or corrupt tail is logged
 * (WARN in the last segment, ERROR in an earlier one, which also removes
 * every later segment) and cut at the last complete record.  Segments
 * whose records are all <= checkpoint_seq are deleted.  The last segment
 * is then opened for appending, or a new one is created; the next seq is
 * one more than the larger of the last record's seq and checkpoint_seq.
 * o may be NULL (defaults).  Returns 0 and *out (the caller owns it: free
 * with wal_close), or -1 with a message in err (errlen bytes, may be 0)
 * and errno set: ENOTDIR, ENOENT (no parent), EWOULDBLOCK (another
 * process has the log open), EPROTONOSUPPORT (a segment of an unknown
 * format version: nothing is cut), ECANCELED (fn returned nonzero), EINVAL
 * (bad options), or the failed call's errno; the records fn was given
 * before a failure must then be discarded.  Any thread, which then owns
 * the log. */
int wal_open(const char *dir, uint64_t checkpoint_seq, const wal_opts *o,
             wal_replay_fn fn, void *arg, wal **out, char *err,
             size_t errlen);

/* Appends one record (payload: len bytes, copied; may be NULL when len is
 * 0) to the current segment with writev and sets *seq (may be NULL) to
 * its sequence number.  Not durable until wal_sync.  Returns 0, or -1
 * with errno: EMSGSIZE (len over max_payload; nothing written), EIO (the
 * log is in the failed state), or the write's error (ENOSPC, EIO, EFBIG,
 * ...), after which the segment was cut back to the end of the previous
 * record (nothing partial stays; the seq is not used).  If that cut fails
 * the log enters the failed state.  The owning thread. */
int wal_append(wal *w, const void *payload, size_t len, uint64_t *seq);

/* Makes every record appended so far durable: fdatasync of the current
 * segment, and fsync of the directory when a segment creation is not yet
 * known durable.  Returns 0 at once when there is nothing to sync.  On
 * failure returns -1 with the sync's errno: the records appended since the
 * last successful sync are not durable and are dropped (the segment is
 * cut back to the last synced record and synced again; their seqs will be
 * given again); if that fails too, the log enters the failed state (every
 * later call but the getters and wal_close fails with EIO; close and open
 * again to recover).  The owning thread. */
int wal_sync(wal *w);

/* Leaves the failed state (a sync and its cut both failed, e.g. on a
 * full disk): cuts the segment back to the last synced record again and
 * syncs that cut.  Returns 0 (not failed, or recovered: appends work
 * again, seqs go on after the last synced one), or -1 with errno (still
 * failed; try again later).  Owning thread. */
int wal_recover(wal *w);

/* 1 when the log directory dir may hold records above checkpoint_seq (a
 * segment whose first record is above it, or a record header in a
 * segment carrying a seq above it, or a torn record), else 0 (no
 * directory, no segment, only records at or below it).  Reads names,
 * sizes and record headers only (no CRC: errs towards 1); writes, syncs
 * and locks nothing.  Any thread. */
int wal_may_hold_records(const char *dir, uint64_t checkpoint_seq);

/* The delta seq of operation i of log record r (docs/WAL.md, "The
 * contract with the database"): a record holds at most 2^WAL_OP_BITS
 * operations, and the database's metadata polysearch.wal_seq holds the
 * last checkpointed operation's seq, so its record is seq >> WAL_OP_BITS. */
#define WAL_OP_BITS 24
#define OP_SEQ(r, i) (((uint64_t)(r) << WAL_OP_BITS) | (uint64_t)(i))

/* 1 when the log of the database at db_path (db_path/wal) may hold
 * changes not yet in that database, whose stored checkpoint (metadata
 * polysearch.wal_seq, ps_db_get_wal_seq) is ck_op_seq; else 0 (no log, or
 * nothing above the checkpoint).  For the programs that must not write
 * the database while such changes wait: polysearchd --no-wal and a local
 * polysearch-index.  Reads as wal_may_hold_records.
 * Any thread. */
int wal_db_pending(const char *db_path, uint64_t ck_op_seq);

/* Starts a new segment whose first seq is wal_next_seq(): syncs the
 * current one first (as wal_sync), creates the new file (header written,
 * fdatasynced), fsyncs the directory and appends to it from then on.  The
 * writer calls it when a checkpoint starts, so that the records after the
 * checkpoint are in segments of their own.  Does nothing when the current
 * segment holds no record.  Returns 0, or -1 with errno: when the sync or
 * the creation fails the current segment stays (any half-made file is
 * removed); when only the directory fsync fails the new segment is
 * current and wal_sync fsyncs the directory again before acknowledging
 * anything in it.  The owning thread. */
int wal_rotate(wal *w);

/* Makes next the seq of the next record, when it is above wal_next_seq():
 * the current segment is synced, a new one starting at next is created
 * (as by wal_rotate) and every older segment is deleted.  Precondition:
 * the database's checkpoint is next - 1 or more (another writer, a local
 * polysearch-index, committed changes numbered up to there while this
 * daemon held no lock, docs/WAL.md "Change sequence numbers"), so a later
 * wal_open deletes the older segments unread and finds no gap.  Returns
 * 0 (also when next is not above wal_next_seq(): nothing done), or -1
 * with errno as wal_rotate (a failed deletion only leaves segments that
 * the next wal_open deletes).  The owning thread. */
int wal_skip_to(wal *w, uint64_t next);

/* Deletes every segment but the current one whose records all have seq <=
 * seq (a segment's last seq is the next segment's first seq - 1), oldest
 * first, then fsyncs the directory.  Returns 0, or -1 with errno (the
 * segments not deleted stay listed; a deletion not made durable only
 * leaves a segment that the next wal_open deletes).  The owning thread. */
int wal_drop_upto(wal *w, uint64_t seq);

/* Total size in bytes of the segment files.  Any thread. */
uint64_t wal_bytes(const wal *w);

/* The seq the next wal_append gets.  Any thread. */
uint64_t wal_next_seq(const wal *w);

/* The last seq known durable (0 when none since the checkpoint).  Any
 * thread. */
uint64_t wal_last_synced_seq(const wal *w);

/* Fills *out with the current figures.  Any thread. */
void wal_get_stats(const wal *w, wal_stats *out);

/* Closes the files and frees the log (NULL is fine).  Records appended
 * since the last wal_sync are not synced (they may or may not survive).
 * The owning thread, after every other thread stopped using w. */
void wal_close(wal *w);

#endif
