/* wal_open.c: opening a write-ahead log: the directory (created, locked),
 * its segments (listed, checked record by record, replayed above the
 * checkpoint), the recovery rules (a torn or corrupt tail is cut at the
 * last complete record; checkpointed segments are deleted) and the
 * segment appended to from then on.  Contracts are in wal.h; the format
 * and the rules in docs/WAL.md.
 */
#include "wal_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define READ_CHUNK (64u * 1024u)

/* Buffered reading of one segment: unread bytes are buf[pos, len). */
typedef struct reader {
    int fd;
    unsigned char *buf;
    size_t cap, pos, len;
} reader;

/* What reading one segment found. */
typedef struct seg_scan {
    uint64_t end;       /* end of the last complete record; 0: bad header */
    uint64_t last;      /* seq of the last complete record (first - 1) */
    char why[160];      /* "" when the segment is whole, else the reason */
    int boundary;       /* why: the segment does not follow the previous
                           one (never a torn write: always an ERROR) */
} seg_scan;

/* Everything wal_open carries around. */
typedef struct opener {
    wal *w;
    uint64_t checkpoint;
    wal_replay_fn fn;
    void *arg;
    char *err;
    size_t errlen;
    reader rd;
} opener;

/* Writes "wal: <dir>[/<name>]: <message>" into the caller's buffer;
 * keeps errno. */
static void set_err(opener *op, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(opener *op, const char *name, const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    int k;
    if (op->err == NULL || op->errlen == 0)
        return;
    k = snprintf(op->err, op->errlen, "wal: %s%s%s: ", op->w->dir,
                 name ? "/" : "", name ? name : "");
    if (k >= 0 && (size_t)k < op->errlen) {
        va_start(ap, fmt);
        vsnprintf(op->err + k, op->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    errno = e;
}

/* Makes n unread bytes available if the file has them: *got is how many
 * are (fewer than n only at the end of the file).  Returns 0, or -1 with
 * errno on a read or allocation failure. */
static int rd_need(reader *r, size_t n, size_t *got)
{
    if (r->len - r->pos < n) {
        if (r->pos > 0) {
            memmove(r->buf, r->buf + r->pos, r->len - r->pos);
            r->len -= r->pos;
            r->pos = 0;
        }
        if (n > r->cap) {
            size_t cap = n < READ_CHUNK ? READ_CHUNK : n;
            unsigned char *b = realloc(r->buf, cap);
            if (b == NULL) {
                errno = ENOMEM;
                return -1;
            }
            r->buf = b;
            r->cap = cap;
        }
        while (r->len < n) {
            ssize_t k = read(r->fd, r->buf + r->len, r->cap - r->len);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return -1;
            if (k == 0)
                break;
            r->len += (size_t)k;
        }
    }
    *got = r->len - r->pos < n ? r->len - r->pos : n;
    return 0;
}

/* Checks the header of the segment starting at first; expect is the seq
 * it must start at (0: any).  Returns 0 (res->why set when it is bad), or
 * -1 on a read error or an unknown format version. */
static int scan_header(opener *op, const char *name, uint64_t first,
                       uint64_t expect, seg_scan *res)
{
    static const unsigned char magic[6] = {'P', 'S', 'W', 'A', 'L', 0};
    const unsigned char *h;
    size_t got;

    if (rd_need(&op->rd, WAL_HEADER_SIZE, &got) != 0) {
        set_err(op, name, "cannot read: %s", strerror(errno));
        return -1;
    }
    h = op->rd.buf + op->rd.pos;
    if (got < WAL_HEADER_SIZE) {
        snprintf(res->why, sizeof res->why, "short header (%zu bytes)", got);
    } else if (memcmp(h, magic, sizeof magic) != 0 || h[7] != 0) {
        snprintf(res->why, sizeof res->why, "bad magic");
    } else if (h[6] != WAL_VERSION) {
        errno = EPROTONOSUPPORT;
        set_err(op, name, "format version %u, this program reads version "
                "%u: nothing was changed", h[6], WAL_VERSION);
        return -1;
    } else if (wal_get_le64(h + 8) != first) {
        snprintf(res->why, sizeof res->why, "the header names seq %llu",
                 (unsigned long long)wal_get_le64(h + 8));
    } else if (expect != 0 && first != expect) {
        res->boundary = 1;
        snprintf(res->why, sizeof res->why, "starts at seq %llu where %llu "
                 "was expected", (unsigned long long)first,
                 (unsigned long long)expect);
    } else {
        op->rd.pos += WAL_HEADER_SIZE;
        res->end = WAL_HEADER_SIZE;
    }
    return 0;
}

/* Reads the segment `name` (open on fd, size bytes, starting at first):
 * checks the header and every record, calls the replay function for the
 * records above the checkpoint, and stops at the first incomplete or bad
 * one.  Returns 0 (res->why says whether it stopped early), or -1 with a
 * message (read error, unknown version, replay function refused). */
static int scan_segment(opener *op, const char *name, int fd, uint64_t first,
                        uint64_t size, uint64_t expect, seg_scan *res)
{
    reader *r = &op->rd;
    uint64_t seq = first;

    r->fd = fd;
    r->pos = r->len = 0;
    res->end = 0;
    res->last = first - 1;
    res->why[0] = '\0';
    res->boundary = 0;
    if (scan_header(op, name, first, expect, res) != 0)
        return -1;
    while (res->why[0] == '\0') {
        const unsigned char *h;
        uint32_t len, crc;
        uint64_t rseq;
        size_t got;

        if (rd_need(r, WAL_RECORD_HEADER_SIZE, &got) != 0)
            goto read_error;
        if (got == 0)
            break;                                  /* whole */
        if (got < WAL_RECORD_HEADER_SIZE) {
            snprintf(res->why, sizeof res->why, "short record header "
                     "(%zu bytes)", got);
            break;
        }
        h = r->buf + r->pos;
        len = wal_get_le32(h);
        crc = wal_get_le32(h + 4);
        rseq = wal_get_le64(h + 8);
        if (len > WAL_FORMAT_MAX_PAYLOAD) {
            snprintf(res->why, sizeof res->why, "length %lu over the limit",
                     (unsigned long)len);
            break;
        }
        if ((uint64_t)len > size - res->end - WAL_RECORD_HEADER_SIZE) {
            snprintf(res->why, sizeof res->why, "short payload (%llu of %lu "
                     "bytes)", (unsigned long long)(size - res->end -
                                                    WAL_RECORD_HEADER_SIZE),
                     (unsigned long)len);
            break;
        }
        if (rd_need(r, WAL_RECORD_HEADER_SIZE + (size_t)len, &got) != 0)
            goto read_error;
        if (got < WAL_RECORD_HEADER_SIZE + (size_t)len) {
            snprintf(res->why, sizeof res->why, "short payload (%zu of %lu "
                     "bytes)", got - WAL_RECORD_HEADER_SIZE,
                     (unsigned long)len);
            break;
        }
        h = r->buf + r->pos;                        /* may have moved */
        if (wal_record_crc(rseq, h + WAL_RECORD_HEADER_SIZE, len) != crc) {
            snprintf(res->why, sizeof res->why, "bad checksum");
            break;
        }
        if (rseq != seq) {
            snprintf(res->why, sizeof res->why, "seq %llu where %llu was "
                     "expected", (unsigned long long)rseq,
                     (unsigned long long)seq);
            break;
        }
        if (rseq > op->checkpoint && op->fn != NULL) {
            if (op->fn(op->arg, rseq, h + WAL_RECORD_HEADER_SIZE, len) != 0) {
                errno = ECANCELED;
                set_err(op, name, "the replay stopped at seq %llu",
                        (unsigned long long)rseq);
                return -1;
            }
            atomic_fetch_add(&op->w->a_replayed, 1);
        }
        r->pos += WAL_RECORD_HEADER_SIZE + (size_t)len;
        res->end += WAL_RECORD_HEADER_SIZE + (uint64_t)len;
        res->last = seq++;
    }
    return 0;
read_error:
    set_err(op, name, "cannot read: %s", strerror(errno));
    return -1;
}

static int cmp_seg(const void *a, const void *b)
{
    const wal_seg *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Lists the segment files (names of the segment form, regular files) in
 * ascending order into *out (malloc'd, caller frees) and *n.  Returns 0 or
 * -1 with a message. */
static int list_segments(opener *op, wal_seg **out, size_t *n)
{
    wal_seg *v = NULL;
    size_t len = 0, cap = 0;
    struct dirent *de;
    DIR *d;
    int fd = openat(op->w->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || (d = fdopendir(fd)) == NULL) {
        set_err(op, NULL, "cannot list: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (;;) {
        struct stat st;
        uint64_t first;
        errno = 0;
        if ((de = readdir(d)) == NULL)
            break;
        if ((first = wal_seg_parse_name(de->d_name)) == 0)
            continue;
        if (fstatat(op->w->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            set_err(op, de->d_name, "cannot stat: %s", strerror(errno));
            goto fail;
        }
        if (!S_ISREG(st.st_mode)) {
            ps_log(PS_LOG_WARN, "wal: %s/%s: not a regular file: ignored",
                   op->w->dir, de->d_name);
            continue;
        }
        if (len == cap) {
            wal_seg *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
            if (nv == NULL) {
                errno = ENOMEM;
                set_err(op, NULL, "out of memory");
                goto fail;
            }
            v = nv;
        }
        v[len].first = first;
        v[len].size = (uint64_t)st.st_size;
        len++;
    }
    if (errno != 0) {
        set_err(op, NULL, "cannot list: %s", strerror(errno));
        goto fail;
    }
    closedir(d);
    if (len > 1)
        qsort(v, len, sizeof *v, cmp_seg);
    *out = v;
    *n = len;
    return 0;
fail:
    closedir(d);
    free(v);
    return -1;
}

/* Creates dir if missing, fsyncs its parent, opens and locks it.
 * Returns 0 or -1 with a message. */
static int open_dir(opener *op, const char *dir)
{
    wal *w = op->w;
    if (mkdir(dir, 0755) == 0) {
        ps_log(PS_LOG_INFO, "wal: created %s", dir);
    } else if (errno != EEXIST) {
        set_err(op, NULL, "cannot create: %s", strerror(errno));
        return -1;
    }
    /* Every time: a previous run may have made it and died before. */
    if (ps_fsync_parent(dir) != 0) {
        set_err(op, NULL, "cannot sync the parent directory: %s",
                strerror(errno));
        return -1;
    }
    w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dirfd < 0) {
        set_err(op, NULL, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (flock(w->dirfd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            set_err(op, NULL, "in use by another process");
        else
            set_err(op, NULL, "cannot lock: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Removes segment first of the directory; 0 or -1 with a message. */
static int remove_seg(opener *op, uint64_t first)
{
    char name[WAL_NAME_SIZE];
    wal_seg_name(first, name);
    if (unlinkat(op->w->dirfd, name, 0) != 0 && errno != ENOENT) {
        set_err(op, name, "cannot remove: %s", strerror(errno));
        return -1;
    }
    op->w->dir_dirty = 1;
    return 0;
}

/* Cuts the log at segment list[i] (open on fd, size bytes), which stopped
 * early as res says: reports it (WARN for the last segment, where a crash
 * leaves torn writes; ERROR before it, or when a segment does not follow
 * on), removes the later segments (newest first), then cuts list[i] at
 * its last complete record, or removes it when its header is bad.
 * Returns 0 (*fd closed and -1 when list[i] was removed) or -1 with a
 * message. */
static int cut_tail(opener *op, const wal_seg *list, size_t i, size_t n,
                    uint64_t size, int *fd, const seg_scan *res)
{
    wal *w = op->w;
    char name[WAL_NAME_SIZE];
    uint64_t later = 0, cut;

    for (size_t j = i + 1; j < n; j++)
        later += list[j].size;
    cut = size - res->end + later;
    wal_seg_name(list[i].first, name);
    if (i + 1 == n)
        ps_log(res->boundary ? PS_LOG_ERROR : PS_LOG_WARN,
               "wal: %s/%s: torn or corrupt tail at offset %llu"
               " (%s): cut %llu bytes; the log ends at seq %llu", w->dir,
               name, (unsigned long long)res->end, res->why,
               (unsigned long long)cut, (unsigned long long)res->last);
    else
        ps_log(PS_LOG_ERROR, "wal: %s/%s: corrupt at offset %llu (%s), "
               "before the last segment: cut %llu bytes of it and removed %zu"
               " later segment(s) (%llu bytes); records after seq %llu are "
               "lost", w->dir, name, (unsigned long long)res->end, res->why,
               (unsigned long long)(size - res->end), n - i - 1,
               (unsigned long long)later, (unsigned long long)res->last);
    for (size_t j = n; j-- > i + 1;)
        if (remove_seg(op, list[j].first) != 0)
            return -1;
    atomic_store(&w->a_cut_bytes, cut);
    if (res->end == 0) {
        close(*fd);
        *fd = -1;
        return remove_seg(op, list[i].first);
    }
    if (ftruncate(*fd, (off_t)res->end) != 0 || fdatasync(*fd) != 0) {
        set_err(op, name, "cannot cut at offset %llu: %s",
                (unsigned long long)res->end, strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads list[k..n) in order (replaying), cuts a bad tail, and leaves the
 * whole segments in w->segs with the last one open on *fd (or *fd = -1
 * when it is not open).  *last is the seq of the last complete record (0
 * when no segment is left).  Returns 0 or -1 with a message. */
static int read_segments(opener *op, const wal_seg *list, size_t k, size_t n,
                         int *fd, uint64_t *last)
{
    wal *w = op->w;
    uint64_t expect = 0;

    *fd = -1;
    *last = 0;
    for (size_t i = k; i < n; i++) {
        char name[WAL_NAME_SIZE];
        seg_scan res;
        struct stat st;
        uint64_t size;

        if (*fd >= 0) {
            close(*fd);
            *fd = -1;
        }
        wal_seg_name(list[i].first, name);
        *fd = openat(w->dirfd, name, O_RDWR | O_APPEND | O_CLOEXEC);
        if (*fd < 0) {
            set_err(op, name, "cannot open: %s", strerror(errno));
            return -1;
        }
        if (fstat(*fd, &st) != 0) {
            set_err(op, name, "cannot stat: %s", strerror(errno));
            return -1;
        }
        size = (uint64_t)st.st_size;
        if (scan_segment(op, name, *fd, list[i].first, size, expect,
                         &res) != 0)
            return -1;
        if (res.why[0] != '\0') {
            if (cut_tail(op, list, i, n, size, fd, &res) != 0)
                return -1;
            if (res.end == 0)
                break;
        } else if (fdatasync(*fd) != 0) {
            /* What was replayed must be durable, whoever wrote it. */
            set_err(op, name, "cannot sync: %s", strerror(errno));
            return -1;
        }
        if (wal_segs_push(w, list[i].first, res.end) != 0) {
            set_err(op, NULL, "out of memory");
            return -1;
        }
        *last = res.last;
        expect = res.last + 1;
        if (res.why[0] != '\0')
            break;
    }
    return 0;
}

/* Picks the segment to append to: the last one when the log goes on from
 * it (fd, or reopened), else a new one starting at next.  Returns 0 or -1
 * with a message. */
static int open_current(opener *op, int fd, uint64_t last, uint64_t next)
{
    wal *w = op->w;
    char name[WAL_NAME_SIZE];

    if (w->nsegs > 0 && last + 1 == next) {
        wal_seg_name(w->segs[w->nsegs - 1].first, name);
        if (fd < 0)
            fd = openat(w->dirfd, name, O_RDWR | O_APPEND | O_CLOEXEC);
        if (fd < 0) {
            set_err(op, name, "cannot open: %s", strerror(errno));
            return -1;
        }
        w->fd = fd;
        w->end = w->synced_end = w->segs[w->nsegs - 1].size;
        return 0;
    }
    if (fd >= 0)
        close(fd);
    if (w->nsegs > 0)
        ps_log(PS_LOG_WARN, "wal: %s: the log ends at seq %llu, before the "
               "checkpoint %llu (normal after another writer, such as a local "
               "polysearch-index, committed): it goes on at seq %llu", w->dir,
               (unsigned long long)last, (unsigned long long)op->checkpoint,
               (unsigned long long)next);
    wal_seg_name(next, name);
    if (wal_segs_push(w, next, WAL_HEADER_SIZE) != 0) {
        set_err(op, NULL, "out of memory");
        return -1;
    }
    w->fd = wal_seg_create(w, next);
    if (w->fd < 0) {
        set_err(op, name, "cannot create: %s", strerror(errno));
        return -1;
    }
    w->dir_dirty = 1;
    w->end = w->synced_end = WAL_HEADER_SIZE;
    return 0;
}

int wal_open(const char *dir, uint64_t checkpoint_seq, const wal_opts *o,
             wal_replay_fn fn, void *arg, wal **out, char *err, size_t errlen)
{
    opener op = {.checkpoint = checkpoint_seq, .fn = fn, .arg = arg,
                 .err = err, .errlen = errlen};
    wal_seg *list = NULL;
    size_t n = 0, k = 0;
    uint64_t last = 0, next;
    int fd = -1;
    wal *w;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out != NULL)
        *out = NULL;
    if (dir == NULL || out == NULL || checkpoint_seq == UINT64_MAX ||
        (o != NULL && o->max_payload > WAL_FORMAT_MAX_PAYLOAD)) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "wal: bad arguments");
        errno = EINVAL;
        return -1;
    }
    w = calloc(1, sizeof *w);
    if (w == NULL || (w->dir = strdup(dir)) == NULL) {
        free(w);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "wal: out of memory");
        errno = ENOMEM;
        return -1;
    }
    op.w = w;
    w->fd = w->dirfd = -1;
    w->max_payload = o != NULL && o->max_payload != 0
                   ? o->max_payload : WAL_DEFAULT_MAX_PAYLOAD;
    if (open_dir(&op, dir) != 0 || list_segments(&op, &list, &n) != 0)
        goto fail;
    /* list[i] with i < k holds only seqs <= the checkpoint (it ends at
     * list[i + 1].first - 1): deleted unread. */
    while (k + 1 < n && list[k + 1].first - 1 <= checkpoint_seq)
        k++;
    for (size_t i = 0; i < k; i++)
        if (remove_seg(&op, list[i].first) != 0)
            goto fail;
    if (k < n && list[k].first - 1 > checkpoint_seq)
        ps_log(PS_LOG_ERROR, "wal: %s: records %llu to %llu are missing: the "
               "log starts at seq %llu and the checkpoint is %llu", dir,
               (unsigned long long)checkpoint_seq + 1,
               (unsigned long long)list[k].first - 1,
               (unsigned long long)list[k].first,
               (unsigned long long)checkpoint_seq);
    if (read_segments(&op, list, k, n, &fd, &last) != 0)
        goto fail;
    next = (last > checkpoint_seq ? last : checkpoint_seq) + 1;
    if (open_current(&op, fd, last, next) != 0) {
        fd = -1;                                /* closed or now w->fd */
        goto fail;
    }
    fd = -1;
    if (wal_drop_segments(w, checkpoint_seq) != 0 ||
        (w->dir_dirty && ps_fsync_dir_fd(w->dirfd) != 0)) {
        set_err(&op, NULL, "cannot sync: %s", strerror(errno));
        goto fail;
    }
    w->dir_dirty = 0;
    wal_publish(w, next, next - 1);
    ps_log(PS_LOG_INFO, "wal: %s: %zu segment(s), %llu bytes; %llu record(s) "
           "replayed above checkpoint %llu; next seq %llu", dir, w->nsegs,
           (unsigned long long)w->total,
           (unsigned long long)atomic_load(&w->a_replayed),
           (unsigned long long)checkpoint_seq, (unsigned long long)next);
    free(list);
    free(op.rd.buf);
    *out = w;
    return 0;
fail:
    {
        int e = errno;
        if (fd >= 0)
            close(fd);
        free(list);
        free(op.rd.buf);
        wal_close(w);
        errno = e;
    }
    return -1;
}
