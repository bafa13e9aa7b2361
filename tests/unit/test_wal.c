/* test_wal: the write-ahead log's file layer (searchd/wal.c, wal_open.c;
 * format in docs/WAL.md).
 *
 * Append, sync and reopen replay every record in order; the checkpoint
 * skips and deletes; a torn tail at every byte offset of the last records
 * (one segment and two) and a flipped byte in each field are cut at the
 * last complete record and never replayed half; corruption in a middle
 * segment cuts everything after it; rotate and drop; the payload limit;
 * the sequence goes on across reopens; open errors.  Failures of the
 * system calls: a real one (RLIMIT_FSIZE in a forked child: EFBIG after a
 * partial write) and injected ones: this test is linked with
 * -Wl,--wrap=writev,--wrap=fdatasync,--wrap=fsync,--wrap=ftruncate
 * (tests/unit/wal.cmake), so the log's calls land in the __wrap_ functions
 * below, which fail when told to and otherwise call the real ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_core_util.h"
#include "util.h"
#include "wal.h"
#include "wal_internal.h"   /* the record encoding, for a forged record */

/* ---- Injected failures (--wrap) ----------------------------------------- */

ssize_t __real_writev(int fd, const struct iovec *iov, int iovcnt);
int __real_fdatasync(int fd);
int __real_fsync(int fd);
int __real_ftruncate(int fd, off_t len);

/* Each counter: calls to let through before failing (-1: never fail);
 * the errno to fail with; and how many calls fail in a row (then the
 * counter goes back to -1). */
typedef struct inject {
    int after;
    int err;
    int times;
    int calls;      /* calls seen since reset */
} inject;

static inject g_writev, g_fdatasync, g_fsync, g_ftruncate;
static size_t g_writev_partial;  /* a failing writev first writes this many
                                    bytes (one short write), then fails */

static void inject_reset(void)
{
    inject none = {.after = -1};
    g_writev = g_fdatasync = g_fsync = g_ftruncate = none;
    g_writev_partial = 0;
}

/* Returns 1 when this call must fail (errno set). */
static int inject_now(inject *in)
{
    in->calls++;
    if (in->after < 0)
        return 0;
    if (in->after > 0) {
        in->after--;
        return 0;
    }
    if (--in->times <= 0)
        in->after = -1;
    errno = in->err;
    return 1;
}

ssize_t __wrap_writev(int fd, const struct iovec *iov, int iovcnt)
{
    if (g_writev.after == 0 && g_writev_partial > 0) {
        /* One short write of the first bytes; the next call fails. */
        struct iovec one = {.iov_base = iov[0].iov_base,
                            .iov_len = g_writev_partial < iov[0].iov_len
                                     ? g_writev_partial : iov[0].iov_len};
        g_writev_partial = 0;
        g_writev.calls++;
        return __real_writev(fd, &one, 1);
    }
    if (inject_now(&g_writev))
        return -1;
    return __real_writev(fd, iov, iovcnt);
}

int __wrap_fdatasync(int fd)
{
    return inject_now(&g_fdatasync) ? -1 : __real_fdatasync(fd);
}

int __wrap_fsync(int fd)
{
    return inject_now(&g_fsync) ? -1 : __real_fsync(fd);
}

int __wrap_ftruncate(int fd, off_t len)
{
    return inject_now(&g_ftruncate) ? -1 : __real_ftruncate(fd, len);
}

/* ---- Helpers ------------------------------------------------------------- */

static char *g_root;       /* scratch directory of the test */
static char g_dir[4200];   /* g_root/wal: the log */

static int setup(void **state)
{
    (void)state;
    inject_reset();
    g_root = tcu_mkdtemp();
    if (g_root == NULL)
        return -1;
    snprintf(g_dir, sizeof g_dir, "%s/wal", g_root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    inject_reset();
    tcu_rmtree(g_root);
    free(g_root);
    return 0;
}

/* The payload of record seq, generation gen: 0 to 299 bytes (0 for every
 * tenth), a pattern that depends on both. */
static size_t payload(uint64_t seq, unsigned gen, unsigned char *buf)
{
    size_t len = seq % 10 == 0 ? 0 : (size_t)((seq * 37 + gen * 11) % 300);
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(seq * 131 + i * 7 + gen * 29);
    return len;
}

/* Records given to the replay function. */
typedef struct coll {
    size_t n;
    uint64_t seq[4096];
    size_t len[4096];
    unsigned char *data[4096];
    int stop_at;            /* return 1 for this seq (0: never) */
} coll;

static int collect(void *arg, uint64_t seq, const void *p, size_t len)
{
    coll *c = arg;
    if (c->stop_at != 0 && (uint64_t)c->stop_at == seq)
        return 1;
    assert_true(c->n < 4096);
    c->seq[c->n] = seq;
    c->len[c->n] = len;
    c->data[c->n] = malloc(len + 1);
    assert_non_null(c->data[c->n]);
    if (len > 0)
        memcpy(c->data[c->n], p, len);
    c->n++;
    return 0;
}

static void coll_free(coll *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->data[i]);
    c->n = 0;
}

/* Checks that c holds exactly records first..last of generation gen. */
static void coll_check(const coll *c, uint64_t first, uint64_t last,
                       unsigned gen)
{
    unsigned char buf[300];
    assert_int_equal(c->n, last >= first ? last - first + 1 : 0);
    for (size_t i = 0; i < c->n; i++) {
        size_t len = payload(first + i, gen, buf);
        assert_int_equal(c->seq[i], first + i);
        assert_int_equal(c->len[i], len);
        if (len > 0)
            assert_memory_equal(c->data[i], buf, len);
    }
}

/* Opens the log at checkpoint cp, replaying into c (which is reset). */
static wal *open_ok(uint64_t cp, coll *c)
{
    char err[512];
    wal *w = NULL;
    coll_free(c);
    int rc = wal_open(g_dir, cp, NULL, collect, c, &w, err, sizeof err);
    if (rc != 0)
        fail_msg("wal_open: %s", err);
    assert_non_null(w);
    return w;
}

/* Appends records first..last of generation gen; checks their seqs. */
static void append_range(wal *w, uint64_t first, uint64_t last, unsigned gen)
{
    unsigned char buf[300];
    for (uint64_t s = first; s <= last; s++) {
        uint64_t got = 0;
        size_t len = payload(s, gen, buf);
        assert_int_equal(wal_append(w, buf, len, &got), 0);
        assert_int_equal(got, s);
    }
}

/* Size of the record of seq s, generation gen, on disk. */
static uint64_t rec_size(uint64_t s, unsigned gen)
{
    unsigned char buf[300];
    return 16 + payload(s, gen, buf);
}

static char *seg_path(uint64_t first)
{
    static char path[4300];
    snprintf(path, sizeof path, "%s/%016llx.log", g_dir,
             (unsigned long long)first);
    return path;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Number of *.log files in the log directory. */
static int count_segments(void)
{
    int n = 0;
    DIR *d = opendir(g_dir);
    struct dirent *de;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".log") == 0)
            n++;
    }
    closedir(d);
    return n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    long long n = file_size(path);
    unsigned char *b;
    int fd = open(path, O_RDONLY);
    assert_true(n >= 0 && fd >= 0);
    b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(read(fd, b, (size_t)n), n);
    close(fd);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, len), (ssize_t)len);
    close(fd);
}

static void flip_byte(const char *path, long long off)
{
    unsigned char c;
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* stderr (ps_log) captured into a file while a call runs. */
static int g_saved_stderr = -1;
static char g_cap_path[4300];

static void capture_begin(void)
{
    int fd;
    snprintf(g_cap_path, sizeof g_cap_path, "%s/stderr.txt", g_root);
    fd = open(g_cap_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    fflush(stderr);
    g_saved_stderr = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* Returns what was logged since capture_begin (malloc'd). */
static char *capture_end(void)
{
    size_t len;
    char *s;
    fflush(stderr);
    dup2(g_saved_stderr, STDERR_FILENO);
    close(g_saved_stderr);
    s = (char *)slurp(g_cap_path, &len);
    s[len] = '\0';
    return s;
}

/* ---- Tests ----------------------------------------------------------------- */

static void test_append_sync_reopen(void **state)
{
    (void)state;
    coll c = {0};
    wal_stats st;
    wal *w = open_ok(0, &c);           /* the directory is created */
    assert_int_equal(c.n, 0);
    assert_int_equal(wal_next_seq(w), 1);
    assert_int_equal(wal_last_synced_seq(w), 0);
    assert_int_equal(wal_bytes(w), 16);
    assert_int_equal(file_size(seg_path(1)), 16);
    append_range(w, 1, 100, 0);
    assert_int_equal(wal_last_synced_seq(w), 0);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(wal_last_synced_seq(w), 100);
    assert_int_equal(wal_sync(w), 0);  /* nothing to do */
    wal_get_stats(w, &st);
    assert_int_equal(st.appends, 100);
    assert_int_equal(st.syncs, 1);
    assert_int_equal(st.segments, 1);
    assert_int_equal(st.next_seq, 101);
    assert_int_equal(st.bytes, (uint64_t)file_size(seg_path(1)));
    assert_int_equal(st.failed, 0);
    wal_close(w);

    w = open_ok(0, &c);
    coll_check(&c, 1, 100, 0);
    wal_get_stats(w, &st);
    assert_int_equal(st.replayed, 100);
    assert_int_equal(st.cut_bytes, 0);
    assert_int_equal(st.next_seq, 101);
    assert_int_equal(st.synced_seq, 100);
    /* The sequence goes on after a reopen, in the same segment. */
    append_range(w, 101, 150, 0);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    w = open_ok(0, &c);
    coll_check(&c, 1, 150, 0);
    assert_int_equal(count_segments(), 1);
    /* Records appended but never synced are read back by a reopen too
     * (wal_open makes them durable). */
    append_range(w, 151, 152, 0);
    wal_close(w);
    w = open_ok(150, &c);
    coll_check(&c, 151, 152, 0);
    assert_int_equal(wal_last_synced_seq(w), 152);
    coll_free(&c);
    wal_close(w);
}

static void test_checkpoint(void **state)
{
    (void)state;
    coll c = {0};
    wal *w = open_ok(0, &c);
    append_range(w, 1, 50, 0);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);

    w = open_ok(20, &c);
    coll_check(&c, 21, 50, 0);
    wal_close(w);
    w = open_ok(50, &c);               /* all checkpointed: kept, goes on */
    assert_int_equal(c.n, 0);
    assert_int_equal(wal_next_seq(w), 51);
    assert_int_equal(count_segments(), 1);
    wal_close(w);
    /* The database is ahead of the log: the log goes on after the
     * checkpoint, in a new segment; the old one is deleted. */
    capture_begin();
    w = open_ok(80, &c);
    char *log = capture_end();
    assert_non_null(strstr(log, "WARN"));
    assert_non_null(strstr(log, "before the checkpoint 80"));
    free(log);
    assert_int_equal(c.n, 0);
    assert_int_equal(wal_next_seq(w), 81);
    assert_int_equal(count_segments(), 1);
    assert_int_equal(file_size(seg_path(81)), 16);
    append_range(w, 81, 85, 0);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    w = open_ok(80, &c);
    coll_check(&c, 81, 85, 0);
    wal_close(w);
    /* An empty directory with a checkpoint: starts after it. */
    tcu_rmtree(g_dir);
    w = open_ok(1000, &c);
    assert_int_equal(wal_next_seq(w), 1001);
    assert_int_equal(file_size(seg_path(1001)), 16);
    coll_free(&c);
    wal_close(w);
}

/* Writes segments: 1..10 | 11..20 | 21..30 (rotated), all synced. */
static void three_segments(void)
{
    coll c = {0};
    wal *w = open_ok(0, &c);
    append_range(w, 1, 10, 0);
    assert_int_equal(wal_rotate(w), 0);
    append_range(w, 11, 20, 0);
    assert_int_equal(wal_rotate(w), 0);
    append_range(w, 21, 30, 0);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
}

/* wal_may_hold_records: only records above the checkpoint count, in any
 * segment (a segment that starts at or below it may still end above it,
 * after a failed checkpoint); a torn record counts. */
static void test_may_hold_records(void **state)
{
    (void)state;
    coll c = {0};
    assert_int_equal(wal_may_hold_records(g_dir, 0), 0);   /* no files */
    wal *w = open_ok(0, &c);
    assert_int_equal(wal_may_hold_records(g_dir, 0), 0);   /* empty segment */
    append_range(w, 1, 10, 0);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(wal_may_hold_records(g_dir, 0), 1);
    assert_int_equal(wal_may_hold_records(g_dir, 9), 1);
    assert_int_equal(wal_may_hold_records(g_dir, 10), 0);  /* all at or below */
    assert_int_equal(wal_rotate(w), 0);                    /* 11: empty */
    assert_int_equal(wal_may_hold_records(g_dir, 5), 1);   /* 6..10 in 1 */
    assert_int_equal(wal_may_hold_records(g_dir, 10), 0);
    append_range(w, 11, 12, 0);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(wal_may_hold_records(g_dir, 10), 1);
    assert_int_equal(wal_may_hold_records(g_dir, 12), 0);
    wal_close(w);
    /* A torn last record (cut inside its payload) counts. */
    long long sz = file_size(seg_path(11));
    assert_int_equal(truncate(seg_path(11), sz - 3), 0);
    assert_int_equal(wal_may_hold_records(g_dir, 12), 1);
    assert_int_equal(truncate(seg_path(11), sz - (long long)rec_size(12, 0) + 5), 0);
    assert_int_equal(wal_may_hold_records(g_dir, 12), 1);  /* torn header */
    coll_free(&c);
}

static void test_rotate_drop(void **state)
{
    (void)state;
    coll c = {0};
    wal_stats st;
    wal *w = open_ok(0, &c);
    assert_int_equal(wal_rotate(w), 0);   /* no record: nothing */
    assert_int_equal(count_segments(), 1);
    append_range(w, 1, 10, 0);
    assert_int_equal(wal_rotate(w), 0);   /* syncs the current one first */
    assert_int_equal(wal_last_synced_seq(w), 10);
    assert_int_equal(wal_rotate(w), 0);   /* the new one is empty: nothing */
    append_range(w, 11, 20, 0);
    assert_int_equal(wal_rotate(w), 0);
    append_range(w, 21, 30, 0);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(count_segments(), 3);
    assert_int_equal(file_size(seg_path(11)), 16 + (long long)(
        rec_size(11, 0) + rec_size(12, 0) + rec_size(13, 0) + rec_size(14, 0) +
        rec_size(15, 0) + rec_size(16, 0) + rec_size(17, 0) + rec_size(18, 0) +
        rec_size(19, 0) + rec_size(20, 0)));
    wal_get_stats(w, &st);
    assert_int_equal(st.segments, 3);
    assert_int_equal(st.bytes, (uint64_t)(file_size(seg_path(1)) +
                     file_size(seg_path(11)) + file_size(seg_path(21))));
    assert_int_equal(wal_drop_upto(w, 15), 0);      /* 11..20 stays */
    assert_int_equal(count_segments(), 2);
    assert_int_equal(file_size(seg_path(1)), -1);
    assert_int_equal(wal_bytes(w), (uint64_t)(file_size(seg_path(11)) +
                                               file_size(seg_path(21))));
    assert_int_equal(wal_drop_upto(w, 20), 0);
    assert_int_equal(count_segments(), 1);
    assert_int_equal(wal_drop_upto(w, 1000), 0);    /* never the current */
    assert_int_equal(count_segments(), 1);
    assert_int_equal(wal_bytes(w), (uint64_t)file_size(seg_path(21)));
    wal_close(w);
    w = open_ok(20, &c);
    coll_check(&c, 21, 30, 0);
    wal_close(w);

    /* At open: segments entirely <= the checkpoint are deleted unread (a
     * corrupt one among them does not matter). */
    tcu_rmtree(g_dir);
    three_segments();
    flip_byte(seg_path(1), 40);
    w = open_ok(25, &c);
    coll_check(&c, 26, 30, 0);
    assert_int_equal(count_segments(), 1);
    wal_get_stats(w, &st);
    assert_int_equal(st.cut_bytes, 0);
    assert_int_equal(st.segments, 1);
    wal_close(w);
    /* ... and those ending exactly at it. */
    tcu_rmtree(g_dir);
    three_segments();
    w = open_ok(20, &c);
    coll_check(&c, 21, 30, 0);
    assert_int_equal(count_segments(), 1);
    coll_free(&c);
    wal_close(w);
}

/* Opens the log after the last segment (starting at `first`) was cut at
 * L bytes; records 1..last were written, first..last in that segment.
 * Checks that exactly the complete records come back, that the cut is
 * reported (WARN naming the segment and the bytes cut) and made, and that
 * appending goes on without a gap. */
static void torn_step(uint64_t first, uint64_t last, size_t L)
{
    uint64_t end = 16, whole = first - 1;
    coll c = {0};
    wal_stats st;
    char *log;
    wal *w;

    while (whole < last && end + rec_size(whole + 1, 0) <= L)
        end += rec_size(++whole, 0);
    capture_begin();
    w = open_ok(0, &c);
    log = capture_end();
    coll_check(&c, 1, whole, 0);
    wal_get_stats(w, &st);
    assert_int_equal(st.next_seq, whole + 1);
    assert_null(strstr(log, "ERROR"));
    if (L >= 16 && L == end) {
        /* At a record boundary (L == full among them): nothing torn. */
        assert_int_equal(st.cut_bytes, 0);
        assert_null(strstr(log, "WARN"));
    } else {
        char want[200];
        assert_non_null(strstr(log, "WARN"));
        snprintf(want, sizeof want, "%016llx.log", (unsigned long long)first);
        assert_non_null(strstr(log, want));
        assert_int_equal(st.cut_bytes, L < 16 ? L : L - end);
        snprintf(want, sizeof want, "cut %llu bytes",
                 (unsigned long long)st.cut_bytes);
        assert_non_null(strstr(log, want));
    }
    free(log);
    if (L < 16 && first > 1) {
        /* A torn header: that segment is gone, the previous one is
         * appended to. */
        assert_int_equal(file_size(seg_path(first)), -1);
        assert_int_equal(st.segments, 1);
    } else {
        /* Cut at the last complete record (a torn header of the only
         * segment: made again, empty). */
        assert_int_equal(file_size(seg_path(first)), (long long)end);
    }
    append_range(w, whole + 1, whole + 1, 1);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    w = open_ok(0, &c);
    assert_int_equal(c.n, whole + 1);
    for (size_t i = 0; i < c.n; i++)
        assert_int_equal(c.seq[i], i + 1);
    wal_close(w);
    coll_free(&c);
}

static void test_torn_tail_every_offset(void **state)
{
    (void)state;
    coll c = {0};
    size_t seg1_len, full_len;
    unsigned char *seg1, *full;

    /* One segment holding records 1..3, cut at every length. */
    wal *w = open_ok(0, &c);
    append_range(w, 1, 3, 0);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    full = slurp(seg_path(1), &full_len);
    for (size_t L = 0; L <= full_len; L++) {
        spit(seg_path(1), full, L);
        torn_step(1, 3, L);
    }
    free(full);

    /* Two segments, 1..3 | 4..5, the second cut at every length. */
    tcu_rmtree(g_dir);
    w = open_ok(0, &c);
    append_range(w, 1, 3, 0);
    assert_int_equal(wal_rotate(w), 0);
    append_range(w, 4, 5, 0);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    seg1 = slurp(seg_path(1), &seg1_len);
    full = slurp(seg_path(4), &full_len);
    for (size_t L = 0; L <= full_len; L++) {
        spit(seg_path(1), seg1, seg1_len);
        spit(seg_path(4), full, L);
        torn_step(4, 5, L);
    }
    free(full);
    free(seg1);
    coll_free(&c);
}

/* Segment 1 holding 1..5; flips one byte at offset off of the file; a
 * reopen must replay 1..expect_last and cut the file at the end of
 * expect_last. */
static void flip_case(long long off, uint64_t expect_last, const char *why)
{
    coll c = {0};
    wal *w;
    char *log;
    long long end = 16;

    tcu_rmtree(g_dir);
    w = open_ok(0, &c);
    append_range(w, 1, 5, 0);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    flip_byte(seg_path(1), off);
    capture_begin();
    w = open_ok(0, &c);
    log = capture_end();
    coll_check(&c, 1, expect_last, 0);
    assert_non_null(strstr(log, "WARN"));
    if (strstr(log, why) == NULL)
        fail_msg("offset %lld: want '%s' in: %s", off, why, log);
    free(log);
    for (uint64_t s = 1; s <= expect_last; s++)
        end += (long long)rec_size(s, 0);
    assert_int_equal(file_size(seg_path(1)), expect_last == 0 ? 16 : end);
    assert_int_equal(wal_next_seq(w), expect_last + 1);
    coll_free(&c);
    wal_close(w);
}

static void test_flipped_byte(void **state)
{
    (void)state;
    long long r5 = 16;                 /* offset of record 5 */
    for (uint64_t s = 1; s <= 4; s++)
        r5 += (long long)rec_size(s, 0);
    assert_true(rec_size(5, 0) > 16);  /* record 5 has a payload */
    flip_case(r5 + 0, 4, "");          /* length (short payload or crc) */
    flip_case(r5 + 3, 4, "over the limit");  /* length's high byte */
    flip_case(r5 + 4, 4, "bad checksum");    /* crc */
    flip_case(r5 + 7, 4, "bad checksum");
    flip_case(r5 + 8, 4, "bad checksum");    /* seq: covered by the crc */
    flip_case(r5 + 15, 4, "bad checksum");
    flip_case(r5 + 16, 4, "bad checksum");   /* payload */
    flip_case(r5 + (long long)rec_size(5, 0) - 1, 4, "bad checksum");
    flip_case(16 + 16, 0, "bad checksum");   /* record 1: all after it */
    flip_case(2, 0, "bad magic");            /* header */
    flip_case(7, 0, "bad magic");
    flip_case(9, 0, "the header names seq");
}

/* The bytes of a segment holding one record, as docs/WAL.md shows them. */
static void test_format_golden(void **state)
{
    (void)state;
    static const unsigned char want[] = {
        0x50, 0x53, 0x57, 0x41, 0x4c, 0x00, 0x01, 0x00,   /* PSWAL 0 1 0 */
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   /* first seq 1 */
        0x04, 0x00, 0x00, 0x00,                           /* length 4 */
        0x08, 0xfe, 0x62, 0x24,                           /* crc 0x2462fe08 */
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   /* seq 1 */
        0x92, 0xa1, 0x61, 0x01,                           /* ["a", 1] */
    };
    coll c = {0};
    size_t len;
    uint64_t seq = 0;
    wal *w = open_ok(0, &c);
    assert_int_equal(wal_append(w, want + 32, 4, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    unsigned char *got = slurp(seg_path(1), &len);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(got, want, sizeof want);
    free(got);
}

/* A record with a valid checksum but the wrong seq is cut too. */
static void test_bad_seq(void **state)
{
    (void)state;
    coll c = {0};
    unsigned char rec[16 + 4] = {0};
    char *log;
    wal *w = open_ok(0, &c);
    append_range(w, 1, 3, 0);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    /* Record "seq 3 again", well formed. */
    {
        wal_put_le32(rec, 4);
        wal_put_le32(rec + 4, wal_record_crc(3, "abcd", 4));
        wal_put_le64(rec + 8, 3);
        memcpy(rec + 16, "abcd", 4);
        int fd = open(seg_path(1), O_WRONLY | O_APPEND);
        assert_int_equal(write(fd, rec, sizeof rec), (ssize_t)sizeof rec);
        close(fd);
    }
    capture_begin();
    w = open_ok(0, &c);
    log = capture_end();
    coll_check(&c, 1, 3, 0);
    assert_non_null(strstr(log, "seq 3 where 4 was expected"));
    free(log);
    coll_free(&c);
    wal_close(w);
}

static void test_middle_segment_corrupt(void **state)
{
    (void)state;
    coll c = {0};
    char *log;
    wal_stats st;
    long long off = 16;
    wal *w;

    three_segments();
    /* Record 14's payload (in 11..20). */
    for (uint64_t s = 11; s < 14; s++)
        off += (long long)rec_size(s, 0);
    assert_true(rec_size(14, 0) > 16);
    flip_byte(seg_path(11), off + 16);
    long long seg21 = file_size(seg_path(21)), seg11 = file_size(seg_path(11));
    capture_begin();
    w = open_ok(0, &c);
    log = capture_end();
    coll_check(&c, 1, 13, 0);
    assert_non_null(strstr(log, "ERROR"));
    assert_non_null(strstr(log, "000000000000000b.log"));
    assert_non_null(strstr(log, "bad checksum"));
    assert_non_null(strstr(log, "removed 1 later segment"));
    free(log);
    assert_int_equal(file_size(seg_path(21)), -1);
    assert_int_equal(file_size(seg_path(11)), off);
    wal_get_stats(w, &st);
    assert_int_equal(st.cut_bytes, (uint64_t)(seg11 - off + seg21));
    assert_int_equal(st.next_seq, 14);
    append_range(w, 14, 16, 1);     /* goes on in segment 11 */
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    w = open_ok(13, &c);
    coll_check(&c, 14, 16, 1);
    wal_close(w);

    /* A missing middle segment: the next one does not follow on. */
    tcu_rmtree(g_dir);
    three_segments();
    unlink(seg_path(11));
    capture_begin();
    w = open_ok(0, &c);
    log = capture_end();
    coll_check(&c, 1, 10, 0);
    assert_non_null(strstr(log, "starts at seq 21 where 11 was expected"));
    assert_non_null(strstr(log, "ERROR"));
    free(log);
    assert_int_equal(count_segments(), 1);
    assert_int_equal(wal_next_seq(w), 11);
    wal_close(w);

    /* A gap between the checkpoint and the log: reported, replayed. */
    tcu_rmtree(g_dir);
    three_segments();
    unlink(seg_path(1));
    capture_begin();
    w = open_ok(5, &c);
    log = capture_end();
    coll_check(&c, 11, 30, 0);
    assert_non_null(strstr(log, "records 6 to 10 are missing"));
    free(log);
    coll_free(&c);
    wal_close(w);
}

static void test_payload_limit(void **state)
{
    (void)state;
    coll c = {0};
    char err[256];
    unsigned char big[2000];
    uint64_t seq = 0;
    wal *w = NULL;
    wal_opts o = {.max_payload = 1000};

    memset(big, 'x', sizeof big);
    assert_int_equal(wal_open(g_dir, 0, &o, collect, &c, &w, err, sizeof err), 0);
    assert_int_equal(wal_append(w, big, 1000, &seq), 0);
    assert_int_equal(seq, 1);
    errno = 0;
    assert_int_equal(wal_append(w, big, 1001, &seq), -1);
    assert_int_equal(errno, EMSGSIZE);
    assert_int_equal(wal_next_seq(w), 2);
    assert_int_equal(wal_bytes(w), 16 + 16 + 1000);
    assert_int_equal(file_size(seg_path(1)), 16 + 16 + 1000);
    errno = 0;
    assert_int_equal(wal_append(w, NULL, 5, &seq), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(wal_append(w, NULL, 0, &seq), 0);   /* empty: fine */
    assert_int_equal(seq, 2);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    /* A lower limit at the next open does not cut what was written. */
    o.max_payload = 100;
    assert_int_equal(wal_open(g_dir, 0, &o, collect, &c, &w, err, sizeof err), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.len[0], 1000);
    assert_int_equal(c.len[1], 0);
    /* The default limit (the payload is never read when refused). */
    wal_close(w);
    coll_free(&c);
    assert_int_equal(wal_open(g_dir, 2, NULL, NULL, NULL, &w, err, sizeof err), 0);
    errno = 0;
    assert_int_equal(wal_append(w, big, (size_t)WAL_DEFAULT_MAX_PAYLOAD + 1, &seq), -1);
    assert_int_equal(errno, EMSGSIZE);
    wal_close(w);
    /* Options over the format's limit. */
    o.max_payload = WAL_FORMAT_MAX_PAYLOAD + 1;
    errno = 0;
    assert_int_equal(wal_open(g_dir, 0, &o, NULL, NULL, &w, err, sizeof err), -1);
    assert_int_equal(errno, EINVAL);
    assert_null(w);
}

/* A real failed write: RLIMIT_FSIZE in a child makes the record's writev
 * stop short (EFBIG, SIGXFSZ ignored); nothing of it may stay. */
static void test_write_failure_fsize(void **state)
{
    (void)state;
    coll c = {0};
    wal *w = open_ok(0, &c);
    append_range(w, 1, 3, 0);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    long long before = file_size(seg_path(1));

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned char buf[300];
        struct rlimit rl;
        char err[256];
        uint64_t seq = 0;
        int rc = 0;
        signal(SIGXFSZ, SIG_IGN);
        if (wal_open(g_dir, 3, NULL, NULL, NULL, &w, err, sizeof err) != 0)
            _exit(10);
        getrlimit(RLIMIT_FSIZE, &rl);
        struct rlimit small = {.rlim_cur = (rlim_t)before + 20, .rlim_max = rl.rlim_max};
        if (setrlimit(RLIMIT_FSIZE, &small) != 0)
            _exit(11);
        errno = 0;
        size_t len = payload(4, 0, buf);
        if (len < 10)
            _exit(12);
        if (wal_append(w, buf, len, &seq) != -1 || errno != EFBIG)
            rc = 13;
        else if (file_size(seg_path(1)) != before)
            rc = 14;
        else if (wal_next_seq(w) != 4)
            rc = 15;
        setrlimit(RLIMIT_FSIZE, &rl);
        if (rc == 0 && (wal_append(w, buf, len, &seq) != 0 || seq != 4 ||
                        wal_sync(w) != 0))
            rc = 16;
        wal_close(w);
        _exit(rc);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    w = open_ok(0, &c);
    coll_check(&c, 1, 4, 0);
    wal_stats st;
    wal_get_stats(w, &st);
    assert_int_equal(st.cut_bytes, 0);
    coll_free(&c);
    wal_close(w);
}

/* Injected failures of writev and ftruncate. */
static void test_append_failures(void **state)
{
    (void)state;
    coll c = {0};
    unsigned char buf[300];
    uint64_t seq = 0;
    wal_stats st;
    wal *w = open_ok(0, &c);
    append_range(w, 1, 3, 0);
    assert_int_equal(wal_sync(w), 0);
    long long before = file_size(seg_path(1));

    /* A short write, then ENOSPC: cut back, seq not used. */
    size_t len = payload(4, 0, buf);
    g_writev = (inject){.after = 0, .err = ENOSPC, .times = 1};
    g_writev_partial = 7;
    errno = 0;
    assert_int_equal(wal_append(w, buf, len, &seq), -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(file_size(seg_path(1)), before);
    assert_int_equal(wal_bytes(w), (uint64_t)before);
    assert_int_equal(wal_next_seq(w), 4);
    /* EIO at once. */
    g_writev = (inject){.after = 0, .err = EIO, .times = 1};
    assert_int_equal(wal_append(w, buf, len, &seq), -1);
    assert_int_equal(errno, EIO);
    assert_int_equal(file_size(seg_path(1)), before);
    append_range(w, 4, 5, 0);
    assert_int_equal(wal_sync(w), 0);
    wal_get_stats(w, &st);
    assert_int_equal(st.failed, 0);

    /* The cut fails too: the failed state, nothing more is written. */
    before = file_size(seg_path(1));
    g_writev = (inject){.after = 0, .err = ENOSPC, .times = 1};
    g_writev_partial = 9;
    g_ftruncate = (inject){.after = 0, .err = EIO, .times = 1};
    capture_begin();
    assert_int_equal(wal_append(w, buf, payload(6, 0, buf), &seq), -1);
    char *log = capture_end();
    assert_int_equal(errno, ENOSPC);
    assert_non_null(strstr(log, "ERROR"));
    free(log);
    assert_int_equal(file_size(seg_path(1)), before + 9);  /* the partial */
    wal_get_stats(w, &st);
    assert_int_equal(st.failed, 1);
    errno = 0;
    assert_int_equal(wal_append(w, buf, 1, &seq), -1);
    assert_int_equal(errno, EIO);
    assert_int_equal(wal_sync(w), -1);
    assert_int_equal(wal_rotate(w), -1);
    assert_int_equal(wal_drop_upto(w, 1), -1);
    assert_int_equal(file_size(seg_path(1)), before + 9);
    wal_close(w);
    /* Reopening cuts the partial record and goes on. */
    capture_begin();
    w = open_ok(0, &c);
    log = capture_end();
    assert_non_null(strstr(log, "cut 9 bytes"));
    free(log);
    coll_check(&c, 1, 5, 0);
    append_range(w, 6, 6, 0);
    assert_int_equal(wal_sync(w), 0);
    coll_free(&c);
    wal_close(w);
}

/* Injected failures of fdatasync and of the directory's fsync. */
static void test_sync_failures(void **state)
{
    (void)state;
    coll c = {0};
    wal_stats st;
    char *log;
    wal *w = open_ok(0, &c);
    append_range(w, 1, 2, 0);
    assert_int_equal(wal_sync(w), 0);
    long long synced = file_size(seg_path(1));

    /* One failed fdatasync: the records since the last sync are dropped,
     * their seqs given again. */
    append_range(w, 3, 5, 0);
    g_fdatasync = (inject){.after = 0, .err = EIO, .times = 1};
    capture_begin();
    assert_int_equal(wal_sync(w), -1);
    log = capture_end();
    assert_int_equal(errno, EIO);
    assert_non_null(strstr(log, "dropping the 3 record(s)"));
    free(log);
    assert_int_equal(file_size(seg_path(1)), synced);
    assert_int_equal(wal_next_seq(w), 3);
    assert_int_equal(wal_last_synced_seq(w), 2);
    wal_get_stats(w, &st);
    assert_int_equal(st.sync_failures, 1);
    assert_int_equal(st.failed, 0);
    append_range(w, 3, 4, 1);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(wal_last_synced_seq(w), 4);
    wal_close(w);
    w = open_ok(2, &c);
    coll_check(&c, 3, 4, 1);

    /* Two in a row (the sync and the one after the cut): failed state. */
    append_range(w, 5, 6, 0);
    g_fdatasync = (inject){.after = 0, .err = EIO, .times = 2};
    capture_begin();
    assert_int_equal(wal_sync(w), -1);
    log = capture_end();
    assert_non_null(strstr(log, "refuses writes"));
    free(log);
    wal_get_stats(w, &st);
    assert_int_equal(st.failed, 1);
    errno = 0;
    assert_int_equal(wal_append(w, "x", 1, NULL), -1);
    assert_int_equal(errno, EIO);
    wal_close(w);
    w = open_ok(4, &c);
    assert_int_equal(wal_next_seq(w), 5);
    assert_int_equal(c.n, 0);

    /* Rotate: the directory's fsync fails; the new segment is current and
     * the next wal_sync fsyncs the directory before acknowledging. */
    append_range(w, 5, 6, 0);
    g_fsync = (inject){.after = 0, .err = EIO, .times = 1};
    g_fsync.calls = 0;
    assert_int_equal(wal_rotate(w), -1);
    assert_int_equal(errno, EIO);
    assert_int_equal(file_size(seg_path(7)), 16);
    append_range(w, 7, 8, 0);
    int fsyncs = g_fsync.calls;
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(g_fsync.calls, fsyncs + 1);
    append_range(w, 9, 9, 0);
    fsyncs = g_fsync.calls;
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(g_fsync.calls, fsyncs);        /* not needed again */
    /* Rotate: creating the segment fails (its header's fdatasync): the
     * current one stays, no file is left. */
    append_range(w, 10, 10, 0);
    g_fdatasync = (inject){.after = 1, .err = ENOSPC, .times = 1};
    assert_int_equal(wal_rotate(w), -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(file_size(seg_path(11)), -1);
    assert_int_equal(wal_last_synced_seq(w), 10);
    append_range(w, 11, 11, 0);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    w = open_ok(4, &c);
    coll_check(&c, 5, 11, 0);
    assert_int_equal(count_segments(), 2);
    /* The fdatasync that makes replayed records durable fails: no open. */
    wal_close(w);
    g_fdatasync = (inject){.after = 0, .err = EIO, .times = 1};
    {
        char err[256];
        assert_int_equal(wal_open(g_dir, 0, NULL, NULL, NULL, &w, err,
                                  sizeof err), -1);
        assert_int_equal(errno, EIO);
        assert_non_null(strstr(err, "cannot sync"));
    }
    coll_free(&c);
}

static void test_open_errors(void **state)
{
    (void)state;
    coll c = {0};
    char err[512], path[4400];
    wal *w = NULL, *w2 = NULL;

    /* Missing parent. */
    snprintf(path, sizeof path, "%s/no/such/wal", g_root);
    errno = 0;
    assert_int_equal(wal_open(path, 0, NULL, NULL, NULL, &w, err, sizeof err), -1);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(err, path));
    assert_null(w);
    /* Not a directory. */
    snprintf(path, sizeof path, "%s/file", g_root);
    spit(path, (const unsigned char *)"x", 1);
    errno = 0;
    assert_int_equal(wal_open(path, 0, NULL, NULL, NULL, &w, err, sizeof err), -1);
    assert_int_equal(errno, ENOTDIR);
    /* An existing empty directory; other files are ignored. */
    assert_int_equal(mkdir(g_dir, 0755), 0);
    snprintf(path, sizeof path, "%s/README", g_dir);
    spit(path, (const unsigned char *)"x", 1);
    snprintf(path, sizeof path, "%s/000000000000000A.log", g_dir);
    spit(path, (const unsigned char *)"x", 1);
    snprintf(path, sizeof path, "%s/0000000000000000.log", g_dir);
    spit(path, (const unsigned char *)"x", 1);
    w = open_ok(0, &c);
    assert_int_equal(file_size(seg_path(1)), 16);
    /* Locked by the first opener. */
    errno = 0;
    assert_int_equal(wal_open(g_dir, 0, NULL, NULL, NULL, &w2, err, sizeof err), -1);
    assert_int_equal(errno, EWOULDBLOCK);
    assert_non_null(strstr(err, "in use"));
    append_range(w, 1, 5, 0);
    wal_close(w);
    /* The replay function refuses: an error, nothing cut. */
    c.stop_at = 3;
    errno = 0;
    assert_int_equal(wal_open(g_dir, 0, NULL, collect, &c, &w, err, sizeof err), -1);
    assert_int_equal(errno, ECANCELED);
    assert_non_null(strstr(err, "seq 3"));
    c.stop_at = 0;
    w = open_ok(0, &c);
    coll_check(&c, 1, 5, 0);
    wal_close(w);
    /* A segment of a later format version: refused, left as it is. */
    flip_byte(seg_path(1), 6);               /* 0x01 -> 0x5b */
    long long size = file_size(seg_path(1));
    errno = 0;
    assert_int_equal(wal_open(g_dir, 0, NULL, NULL, NULL, &w, err, sizeof err), -1);
    assert_int_equal(errno, EPROTONOSUPPORT);
    assert_non_null(strstr(err, "version 91"));
    assert_int_equal(file_size(seg_path(1)), size);
    /* Bad arguments; a zero-length error buffer is fine. */
    assert_int_equal(wal_open(NULL, 0, NULL, NULL, NULL, &w, err, sizeof err), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(wal_open(g_dir, UINT64_MAX, NULL, NULL, NULL, &w, NULL, 0), -1);
    wal_close(NULL);
    coll_free(&c);
}

/* The getters from another thread while the owner appends. */
static atomic_int g_stop;

static void *reader_thread(void *arg)
{
    wal *w = arg;
    uint64_t prev = 0, reads = 0;
    while (!atomic_load(&g_stop) || reads == 0) {
        wal_stats st;
        uint64_t n = wal_next_seq(w);
        assert_true(n >= prev);
        prev = n;
        (void)wal_bytes(w);
        (void)wal_last_synced_seq(w);
        wal_get_stats(w, &st);
        reads++;
    }
    return NULL;
}

static void test_getters_any_thread(void **state)
{
    (void)state;
    coll c = {0};
    pthread_t t;
    wal *w = open_ok(0, &c);
    atomic_store(&g_stop, 0);
    assert_int_equal(pthread_create(&t, NULL, reader_thread, w), 0);
    for (uint64_t s = 1; s <= 2000; s += 100) {
        append_range(w, s, s + 99, 0);
        assert_int_equal(wal_sync(w), 0);
        if (s % 500 == 1)
            assert_int_equal(wal_rotate(w), 0);
    }
    atomic_store(&g_stop, 1);
    pthread_join(t, NULL);
    assert_int_equal(wal_next_seq(w), 2001);
    wal_close(w);
}

int main(void)
{
    ps_log_init("test_wal", PS_LOG_INFO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_sync_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_middle_segment_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payload_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure_fsize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_may_hold_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getters_any_thread, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
