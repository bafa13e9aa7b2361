/* wal_internal.h: what wal.c (appending, syncing, rotating, dropping) and
 * wal_open.c (listing, checking and replaying segments) share: the struct
 * behind the opaque wal, the on-disk constants (docs/WAL.md) and the
 * segment helpers.  Not for other modules: use wal.h.
 */
#ifndef SEARCHD_WAL_INTERNAL_H
#define SEARCHD_WAL_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "wal.h"

/* Segment header: "PSWAL" 0x00, version, 0x00, u64 LE first seq. */
#define WAL_MAGIC "PSWAL"           /* 5 bytes, then a 0x00 */
#define WAL_VERSION 1
#define WAL_HEADER_SIZE 16u
/* Record header: u32 LE payload length, u32 LE CRC-32 of (u64 LE seq,
 * payload), u64 LE seq. */
#define WAL_RECORD_HEADER_SIZE 16u
/* "%016llx.log" and its NUL. */
#define WAL_NAME_LEN 20u
#define WAL_NAME_SIZE (WAL_NAME_LEN + 1u)

/* One segment file, in memory: its first seq (its name) and its size. */
typedef struct wal_seg {
    uint64_t first;
    uint64_t size;
} wal_seg;

struct wal {
    char *dir;                  /* for messages */
    int dirfd;                  /* the directory, flock'ed */
    int fd;                     /* the current segment (the last of segs),
                                   O_RDWR | O_APPEND */
    uint32_t max_payload;
    wal_seg *segs;              /* ascending first seq; the current last */
    size_t nsegs, capsegs;
    uint64_t end;               /* current segment: end of the last record */
    uint64_t synced_end;        /* ... of the last record synced */
    uint64_t total;             /* sum of segs[].size */
    int dir_dirty;              /* a name change not known durable yet */
    /* Written by the owning thread, read by any (wal_get_stats). */
    _Atomic uint64_t a_bytes, a_segments, a_next_seq, a_synced_seq;
    _Atomic uint64_t a_replayed, a_cut_bytes, a_appends, a_syncs;
    _Atomic uint64_t a_sync_failures;
    _Atomic int a_failed;
};

/* Writes the file name of the segment starting at first into name.
 * Any thread. */
void wal_seg_name(uint64_t first, char name[WAL_NAME_SIZE]);

/* Returns the first seq named by a segment file name, or 0 when name is
 * not one ("%016llx.log", lowercase, seq >= 1).  Any thread. */
uint64_t wal_seg_parse_name(const char *name);

/* Fills hdr with the header of a segment starting at first.  Any thread. */
void wal_seg_header(uint64_t first, unsigned char hdr[WAL_HEADER_SIZE]);

/* CRC-32 (zlib) of the 8 little-endian bytes of seq followed by the
 * payload; what a record header stores.  Any thread. */
uint32_t wal_record_crc(uint64_t seq, const void *payload, size_t len);

void wal_put_le32(unsigned char *p, uint32_t v);
void wal_put_le64(unsigned char *p, uint64_t v);
uint32_t wal_get_le32(const unsigned char *p);
uint64_t wal_get_le64(const unsigned char *p);

/* Creates the segment file starting at first (O_EXCL), writes its header
 * and fdatasyncs it; the directory is not fsynced.  Returns the open
 * descriptor (O_RDWR | O_APPEND), or -1 with errno (a half-made file is
 * removed).  The owning thread. */
int wal_seg_create(wal *w, uint64_t first);

/* Appends a segment to w->segs.  Returns 0, or -1 with errno ENOMEM.  The
 * owning thread. */
int wal_segs_push(wal *w, uint64_t first, uint64_t size);

/* Publishes bytes, segment count, next and synced seq to the atomics.  The
 * owning thread. */
void wal_publish(wal *w, uint64_t next_seq, uint64_t synced_seq);

/* Removes the non-current segments whose records are all <= seq, oldest
 * first, and fsyncs the directory when any was removed.  Returns 0 or -1
 * with errno.  The owning thread. */
int wal_drop_segments(wal *w, uint64_t seq);

#endif
