/* wal.c: the write-ahead log once open: appending records, syncing them,
 * starting segments, dropping checkpointed ones, the figures.  Opening
 * (listing, checking, cutting and replaying segments) is wal_open.c.
 * Contracts are in wal.h; the format in docs/WAL.md.
 *
 * Invariants of an open log (the owning thread keeps them):
 * - the current segment (fd, the last of segs) holds exactly `end` bytes:
 *   its header and complete records, the last one's seq next_seq - 1;
 * - every byte below `synced_end` is durable, and so are the names of the
 *   segment files unless dir_dirty;
 * - in the failed state nothing is written any more.
 */
#include "wal_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "util.h"

/* ---- Encoding --------------------------------------------------------- */

void wal_put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void wal_put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

uint32_t wal_get_le32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint64_t wal_get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint32_t wal_record_crc(uint64_t seq, const void *payload, size_t len)
{
    unsigned char s[8];
    uLong crc = crc32(0L, Z_NULL, 0);
    wal_put_le64(s, seq);
    crc = crc32_z(crc, s, sizeof s);
    if (len > 0)
        crc = crc32_z(crc, payload, len);
    return (uint32_t)crc;
}

void wal_seg_name(uint64_t first, char name[WAL_NAME_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        name[i] = hex[(first >> (4 * (15 - i))) & 0xf];
    memcpy(name + 16, ".log", 5);
}

uint64_t wal_seg_parse_name(const char *name)
{
    uint64_t v = 0;
    if (strlen(name) != WAL_NAME_LEN || strcmp(name + 16, ".log") != 0)
        return 0;
    for (int i = 0; i < 16; i++) {
        char c = name[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return 0;
        v = (v << 4) | d;
    }
    return v;
}

void wal_seg_header(uint64_t first, unsigned char hdr[WAL_HEADER_SIZE])
{
    memcpy(hdr, WAL_MAGIC, 5);
    hdr[5] = 0;
    hdr[6] = WAL_VERSION;
    hdr[7] = 0;
    wal_put_le64(hdr + 8, first);
}

/* ---- Segments ---------------------------------------------------------- */

/* Closes fd keeping errno. */
static void close_keep_errno(int fd)
{
    int e = errno;
    close(fd);
    errno = e;
}

int wal_seg_create(wal *w, uint64_t first)
{
    char name[WAL_NAME_SIZE];
    unsigned char hdr[WAL_HEADER_SIZE];
    size_t done = 0;
    int fd;

    wal_seg_name(first, name);
    wal_seg_header(first, hdr);
    fd = openat(w->dirfd, name,
                O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    while (done < sizeof hdr) {
        ssize_t n = write(fd, hdr + done, sizeof hdr - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            goto fail;
        }
        done += (size_t)n;
    }
    if (fdatasync(fd) != 0)
        goto fail;
    return fd;
fail:
    close_keep_errno(fd);
    {
        int e = errno;
        /* Not durable either way: a header-less file left by a crash
         * here is removed by the next wal_open. */
        unlinkat(w->dirfd, name, 0);
        errno = e;
    }
    return -1;
}

int wal_segs_push(wal *w, uint64_t first, uint64_t size)
{
    if (w->nsegs == w->capsegs) {
        size_t cap = w->capsegs ? w->capsegs * 2 : 8;
        wal_seg *s = realloc(w->segs, cap * sizeof *s);
        if (s == NULL) {
            errno = ENOMEM;
            return -1;
        }
        w->segs = s;
        w->capsegs = cap;
    }
    w->segs[w->nsegs].first = first;
    w->segs[w->nsegs].size = size;
    w->nsegs++;
    w->total += size;
    return 0;
}

void wal_publish(wal *w, uint64_t next_seq, uint64_t synced_seq)
{
    atomic_store(&w->a_bytes, w->total);
    atomic_store(&w->a_segments, (uint64_t)w->nsegs);
    atomic_store(&w->a_next_seq, next_seq);
    atomic_store(&w->a_synced_seq, synced_seq);
}

/* The current segment's entry. */
static wal_seg *current(wal *w)
{
    return &w->segs[w->nsegs - 1];
}

/* Sets the current segment's size to w->end and republishes. */
static void set_end(wal *w, uint64_t end, uint64_t next_seq,
                    uint64_t synced_seq)
{
    w->total = w->total - current(w)->size + end;
    current(w)->size = end;
    w->end = end;
    wal_publish(w, next_seq, synced_seq);
}

/* Enters the failed state after `what` failed; keeps errno. */
static void fail_log(wal *w, const char *what)
{
    int e = errno;
    char name[WAL_NAME_SIZE];
    wal_seg_name(current(w)->first, name);
    ps_log(PS_LOG_ERROR, "wal: %s/%s: %s failed (%s): the log refuses "
           "writes until it is opened again", w->dir, name, what,
           strerror(e));
    atomic_store(&w->a_failed, 1);
    errno = e;
}

static int failed(const wal *w)
{
    if (atomic_load(&w->a_failed)) {
        errno = EIO;
        return 1;
    }
    return 0;
}

/* ---- Appending and syncing -------------------------------------------- */

int wal_append(wal *w, const void *payload, size_t len, uint64_t *seq)
{
    unsigned char hdr[WAL_RECORD_HEADER_SIZE];
    struct iovec iov[2];
    int iovcnt = len > 0 ? 2 : 1;
    struct iovec *v = iov;
    uint64_t s, total = WAL_RECORD_HEADER_SIZE + (uint64_t)len;

    if (failed(w))
        return -1;
    if (len > w->max_payload) {
        errno = EMSGSIZE;
        return -1;
    }
    if (payload == NULL && len > 0) {
        errno = EINVAL;
        return -1;
    }
    s = atomic_load(&w->a_next_seq);
    wal_put_le32(hdr, (uint32_t)len);
    wal_put_le32(hdr + 4, wal_record_crc(s, payload, len));
    wal_put_le64(hdr + 8, s);
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof hdr;
    iov[1].iov_base = (void *)(uintptr_t)payload;
    iov[1].iov_len = len;
    while (iovcnt > 0) {
        ssize_t n = writev(w->fd, v, iovcnt);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n == 0 ? EIO : errno;
            /* Nothing partial may stay: back to the last record's end. */
            if (ftruncate(w->fd, (off_t)w->end) != 0)
                fail_log(w, "cutting a failed append");
            errno = e;
            return -1;
        }
        while (iovcnt > 0 && (size_t)n >= v->iov_len) {
            n -= (ssize_t)v->iov_len;
            v++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            v->iov_base = (char *)v->iov_base + n;
            v->iov_len -= (size_t)n;
        }
    }
    set_end(w, w->end + total, s + 1, atomic_load(&w->a_synced_seq));
    atomic_fetch_add(&w->a_appends, 1);
    if (seq != NULL)
        *seq = s;
    return 0;
}

int wal_sync(wal *w)
{
    uint64_t next, synced;
    int e;

    if (failed(w))
        return -1;
    if (w->end == w->synced_end && !w->dir_dirty)
        return 0;
    next = atomic_load(&w->a_next_seq);
    synced = atomic_load(&w->a_synced_seq);
    if (fdatasync(w->fd) == 0 &&
        (!w->dir_dirty || ps_fsync_dir_fd(w->dirfd) == 0)) {
        w->synced_end = w->end;
        w->dir_dirty = 0;
        wal_publish(w, next, next - 1);
        atomic_fetch_add(&w->a_syncs, 1);
        return 0;
    }
    e = errno;
    atomic_fetch_add(&w->a_sync_failures, 1);
    {
        char name[WAL_NAME_SIZE];
        wal_seg_name(current(w)->first, name);
        ps_log(PS_LOG_WARN, "wal: %s/%s: sync failed (%s): dropping the "
               "%llu record(s) appended since the last sync (%llu bytes)",
               w->dir, name, strerror(e),
               (unsigned long long)(next - 1 - synced),
               (unsigned long long)(w->end - w->synced_end));
    }
    /* The records since the last sync are not acknowledged: cut them and
     * make the cut durable, or stop writing altogether. */
    if (ftruncate(w->fd, (off_t)w->synced_end) != 0) {
        fail_log(w, "cutting the unsynced records");
    } else if (fdatasync(w->fd) != 0) {
        fail_log(w, "syncing after the cut");
    } else if (w->dir_dirty && ps_fsync_dir_fd(w->dirfd) != 0) {
        fail_log(w, "syncing the directory");
    } else {
        w->dir_dirty = 0;
        set_end(w, w->synced_end, synced + 1, synced);
    }
    errno = e;
    return -1;
}

int wal_recover(wal *w)
{
    if (!atomic_load(&w->a_failed))
        return 0;
    uint64_t synced = atomic_load(&w->a_synced_seq);
    if (ftruncate(w->fd, (off_t)w->synced_end) != 0 || fdatasync(w->fd) != 0 ||
        (w->dir_dirty && ps_fsync_dir_fd(w->dirfd) != 0))
        return -1;
    w->dir_dirty = 0;
    set_end(w, w->synced_end, synced + 1, synced);
    atomic_store(&w->a_failed, 0);
    ps_log(PS_LOG_INFO, "wal: %s: writable again (cut back to record %llu)",
           w->dir, (unsigned long long)synced);
    return 0;
}

/* ---- Segments: rotate and drop ---------------------------------------- */

/* Makes the current segment (synced by the caller) the last one and starts
 * a new one whose first record is next, made durable by the directory's
 * fsync.  Returns 0, or -1 with errno (nothing changed, but for a failed
 * directory fsync: the segment is in use, the next wal_sync tries it
 * again). */
static int start_segment(wal *w, uint64_t next)
{
    if (wal_segs_push(w, next, WAL_HEADER_SIZE) != 0)
        return -1;
    int fd = wal_seg_create(w, next);
    if (fd < 0) {
        int e = errno;
        w->nsegs--;
        w->total -= WAL_HEADER_SIZE;
        errno = e;
        return -1;
    }
    close(w->fd);                      /* synced by the caller */
    w->fd = fd;
    w->end = w->synced_end = WAL_HEADER_SIZE;
    wal_publish(w, next, next - 1);
    if (ps_fsync_dir_fd(w->dirfd) != 0) {
        w->dir_dirty = 1;              /* wal_sync tries again */
        return -1;
    }
    return 0;
}

int wal_rotate(wal *w)
{
    if (failed(w))
        return -1;
    if (w->end == WAL_HEADER_SIZE)
        return 0;                      /* no record: a new one is pointless */
    if (wal_sync(w) != 0)
        return -1;
    return start_segment(w, atomic_load(&w->a_next_seq));
}

int wal_drop_segments(wal *w, uint64_t seq)
{
    size_t n = 0;
    int rc = 0;

    /* segs[n] ends at segs[n + 1].first - 1; the current one stays. */
    while (n + 1 < w->nsegs && w->segs[n + 1].first - 1 <= seq) {
        char name[WAL_NAME_SIZE];
        wal_seg_name(w->segs[n].first, name);
        if (unlinkat(w->dirfd, name, 0) != 0 && errno != ENOENT) {
            rc = -1;
            break;
        }
        w->total -= w->segs[n].size;
        n++;
    }
    if (n > 0) {
        int e = errno;
        memmove(w->segs, w->segs + n, (w->nsegs - n) * sizeof *w->segs);
        w->nsegs -= n;
        atomic_store(&w->a_bytes, w->total);
        atomic_store(&w->a_segments, (uint64_t)w->nsegs);
        if (ps_fsync_dir_fd(w->dirfd) != 0) {
            w->dir_dirty = 1;          /* the next wal_sync tries again */
            return -1;
        }
        w->dir_dirty = 0;              /* every name change is durable */
        errno = e;
    }
    return rc;
}

int wal_skip_to(wal *w, uint64_t next)
{
    if (failed(w))
        return -1;
    if (next <= atomic_load(&w->a_next_seq))
        return 0;
    if (wal_sync(w) != 0)
        return -1;
    if (start_segment(w, next) != 0)
        return -1;
    /* Every record before next is in the database (the caller's
     * precondition): the older segments go. */
    return wal_drop_segments(w, next - 1);
}

int wal_drop_upto(wal *w, uint64_t seq)
{
    if (failed(w))
        return -1;
    return wal_drop_segments(w, seq);
}

/* ---- Figures and closing ------------------------------------------------ */

uint64_t wal_bytes(const wal *w)
{
    return atomic_load(&w->a_bytes);
}

uint64_t wal_next_seq(const wal *w)
{
    return atomic_load(&w->a_next_seq);
}

uint64_t wal_last_synced_seq(const wal *w)
{
    return atomic_load(&w->a_synced_seq);
}

void wal_get_stats(const wal *w, wal_stats *out)
{
    out->bytes = atomic_load(&w->a_bytes);
    out->segments = atomic_load(&w->a_segments);
    out->next_seq = atomic_load(&w->a_next_seq);
    out->synced_seq = atomic_load(&w->a_synced_seq);
    out->replayed = atomic_load(&w->a_replayed);
    out->cut_bytes = atomic_load(&w->a_cut_bytes);
    out->appends = atomic_load(&w->a_appends);
    out->syncs = atomic_load(&w->a_syncs);
    out->sync_failures = atomic_load(&w->a_sync_failures);
    out->failed = atomic_load(&w->a_failed);
}

void wal_close(wal *w)
{
    if (w == NULL)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->dirfd >= 0)
        close(w->dirfd);               /* releases the flock */
    free(w->segs);
    free(w->dir);
    free(w);
}

/* ---- A look without opening ------------------------------------------- */

/* 1 when segment name (size bytes, in directory dfd) may hold a record
 * above ck: walks the record headers (length and seq only, no CRC: a
 * record the open would cut still counts, so the answer errs towards
 * "may"); a header or payload running past the end counts as one. */
static int seg_above(int dfd, const char *name, off_t size, uint64_t ck)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    int above = 0;
    off_t off = WAL_HEADER_SIZE;
    while (off < size) {
        unsigned char h[WAL_RECORD_HEADER_SIZE];
        if (size - off < (off_t)sizeof h ||
            pread(fd, h, sizeof h, off) != (ssize_t)sizeof h) {
            above = 1;                  /* torn header */
            break;
        }
        uint64_t len = wal_get_le32(h);
        if (wal_get_le64(h + 8) > ck ||
            (off_t)len > size - off - (off_t)sizeof h) {
            above = 1;
            break;
        }
        off += (off_t)sizeof h + (off_t)len;
    }
    close(fd);
    return above;
}

int wal_may_hold_records(const char *dir, uint64_t checkpoint_seq)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return 0;
    int above = 0;
    struct dirent *e;
    while (!above && (e = readdir(dp)) != NULL) {
        uint64_t first = wal_seg_parse_name(e->d_name);
        if (first == 0)
            continue;
        struct stat sb;
        if (fstatat(dirfd(dp), e->d_name, &sb, 0) != 0)
            continue;
        if (sb.st_size <= (off_t)WAL_HEADER_SIZE)
            continue;                   /* no record */
        if (first > checkpoint_seq)
            above = 1;                  /* its first record is above */
        else
            above = seg_above(dirfd(dp), e->d_name, sb.st_size, checkpoint_seq);
    }
    closedir(dp);
    return above;
}

int wal_db_pending(const char *db_path, uint64_t ck_op_seq)
{
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof dir, "%s/wal", db_path) >= sizeof dir)
        return 1;               /* cannot look: assume the worst */
    return wal_may_hold_records(dir, ck_op_seq >> WAL_OP_BITS);
}
