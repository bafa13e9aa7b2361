/* test_util.c: strict parsers, logging, time and atomic writes
 * (lib/wire/util.c). */
#include "test_analysis_util.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static void test_parse_u64(void **state)
{
    uint64_t v = 77;
    (void)state;
    assert_int_equal(ps_parse_u64("0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ps_parse_u64("10", 0, 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(ps_parse_u64("007", 0, 10, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(ps_parse_u64("18446744073709551615", 0, UINT64_MAX, &v),
                     0);
    assert_true(v == UINT64_MAX);
    v = 5;
    /* Rejected: v untouched. */
    static const char *const bad[] = {
        "", "-1", "+1", " 1", "1 ", "1x", "x1", "0x10", "1.0", "1e3",
        "18446744073709551616", "99999999999999999999999", "\t1", "1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ps_parse_u64(bad[i], 0, UINT64_MAX, &v), -1);
        assert_int_equal(v, 5);
    }
    assert_int_equal(ps_parse_u64("11", 0, 10, &v), -1);   /* > max */
    assert_int_equal(ps_parse_u64("0", 1, 10, &v), -1);    /* < min */
    assert_int_equal(ps_parse_u64(NULL, 0, 10, &v), -1);
    assert_int_equal(v, 5);
}

static void test_parse_size(void **state)
{
    uint64_t v = 0;
    (void)state;
    assert_int_equal(ps_parse_size("512", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 512);
    assert_int_equal(ps_parse_size("4k", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(ps_parse_size("4K", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(ps_parse_size("16M", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 16u << 20);
    assert_int_equal(ps_parse_size("2g", 0, UINT64_MAX, &v), 0);
    assert_true(v == (UINT64_C(2) << 30));
    v = 9;
    static const char *const bad[] = {
        "", "k", "-1k", " 1k", "1 k", "1kb", "1x", "1.5M",
        "18446744073709551616", "17179869184G", /* 2^34 G overflows */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ps_parse_size(bad[i], 0, UINT64_MAX, &v), -1);
        assert_int_equal(v, 9);
    }
    assert_int_equal(ps_parse_size("2k", 0, 1024, &v), -1);
    assert_int_equal(ps_parse_size("1k", 2048, 4096, &v), -1);
}

static void test_parse_duration(void **state)
{
    uint64_t v = 0;
    (void)state;
    assert_int_equal(ps_parse_duration_ms("500ms", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 500);
    assert_int_equal(ps_parse_duration_ms("10s", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 10000);
    assert_int_equal(ps_parse_duration_ms("2m", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 120000);
    assert_int_equal(ps_parse_duration_ms("3", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 3000);
    assert_int_equal(ps_parse_duration_ms("0", 0, UINT64_MAX, &v), 0);
    assert_int_equal(v, 0);
    v = 1;
    static const char *const bad[] = {
        "", "ms", "s", "-1s", " 1s", "1 s", "1h", "1.5s", "1sec", "1mss",
        "18446744073709551615s",                /* overflow in ms */
        "18446744073709551616ms",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ps_parse_duration_ms(bad[i], 0, UINT64_MAX, &v), -1);
        assert_int_equal(v, 1);
    }
    assert_int_equal(ps_parse_duration_ms("2s", 0, 1000, &v), -1);
    assert_int_equal(ps_parse_duration_ms("1ms", 10, 1000, &v), -1);
}

/* Runs fn with stderr redirected to a temporary file; returns the output
 * (malloc'd). */
static char *capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/ps_test_log_XXXXXX";
    int fd = mkstemp(path), saved;
    char *buf;
    ssize_t n;
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    fn();
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    buf = calloc(1, 8192);
    assert_non_null(buf);
    n = pread(fd, buf, 8191, 0);
    assert_true(n >= 0);
    close(fd);
    return buf;
}

static void log_some(void)
{
    ps_log_init("/usr/bin/test_util", PS_LOG_INFO);
    ps_log(PS_LOG_INFO, "hello %d", 42);
    ps_log(PS_LOG_DEBUG, "hidden");
    ps_log(PS_LOG_ERROR, "two\nlines");
}

static void log_long(void)
{
    char big[5000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ps_log(PS_LOG_WARN, "%s", big);
}

static void test_log_format(void **state)
{
    regex_t re;
    char *out;
    (void)state;
    out = capture_stderr(log_some);
    assert_int_equal(regcomp(&re,
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
        "test_util\\[[0-9]+\\] INFO: hello 42\n"
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
        "test_util\\[[0-9]+\\] ERROR: two lines\n$", REG_EXTENDED), 0);
    if (regexec(&re, out, 0, NULL, 0) != 0)
        fail_msg("unexpected log output: [%s]", out);
    regfree(&re);
    free(out);
    /* A huge message is truncated to one line. */
    out = capture_stderr(log_long);
    assert_non_null(strstr(out, " WARN: zzz"));
    assert_non_null(strstr(out, "...\n"));
    assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
    free(out);
}

/* A writer that records what it is given (test_log_writer). */
static char g_seen[4096];
static size_t g_seen_len;
static int g_seen_calls;

static void record_line(void *ctx, const char *line, size_t len)
{
    assert_ptr_equal(ctx, &g_seen_calls);
    assert_true(g_seen_len + len < sizeof g_seen);
    memcpy(g_seen + g_seen_len, line, len);
    g_seen_len += len;
    g_seen[g_seen_len] = '\0';
    g_seen_calls++;
}

static void log_through_writer(void)
{
    ps_log_init("test_util", PS_LOG_INFO);
    ps_log_set_writer(record_line, &g_seen_calls);
    ps_log(PS_LOG_WARN, "to the writer");
    ps_log(PS_LOG_DEBUG, "below the threshold");
    ps_log_set_writer(NULL, NULL);
    ps_log(PS_LOG_INFO, "to stderr again");
}

static void test_log_writer(void **state)
{
    (void)state;
    char *out = capture_stderr(log_through_writer);
    /* The writer got the one line above the threshold, whole, with its
     * newline; stderr got only what was logged after it was removed. */
    assert_int_equal(g_seen_calls, 1);
    assert_non_null(strstr(g_seen, " test_util["));
    assert_non_null(strstr(g_seen, "] WARN: to the writer\n"));
    assert_int_equal(strchr(g_seen, '\n') - g_seen + 1, (long)g_seen_len);
    assert_null(strstr(out, "to the writer"));
    assert_non_null(strstr(out, "] INFO: to stderr again\n"));
    free(out);
}

static void test_now_us(void **state)
{
    uint64_t a = ps_now_us(), b;
    (void)state;
    usleep(2000);
    b = ps_now_us();
    assert_true(b >= a + 1500);
    assert_true(b - a < 5u * 1000 * 1000);
}

static void test_write_file_atomic(void **state)
{
    char dir[] = "/tmp/ps_test_atomic_XXXXXX", path[256], tmp[300], buf[64];
    int fd;
    ssize_t n;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/port", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(ps_write_file_atomic(path, "12345\n", 6), 0);
    assert_int_equal(ps_write_file_atomic(path, "678\n", 4), 0);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, buf, sizeof buf);
    close(fd);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "678\n", 4);
    assert_int_equal(access(tmp, F_OK), -1);   /* no leftover tmp file */
    assert_int_equal(ps_write_file_atomic(path, "", 0), 0);
    assert_int_equal(unlink(path), 0);
    /* Errors: missing directory, bad arguments. */
    snprintf(path, sizeof path, "%s/missing/port", dir);
    errno = 0;
    assert_int_equal(ps_write_file_atomic(path, "x", 1), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(ps_write_file_atomic(NULL, "x", 1), -1);
    assert_int_equal(ps_write_file_atomic(path, NULL, 1), -1);
    assert_int_equal(rmdir(dir), 0);
}

static void test_fsync_parent(void **state)
{
    char dir[] = "/tmp/ps_test_fsync_XXXXXX", path[256];
    int fd;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(ps_fsync_parent(path), 0);
    snprintf(path, sizeof path, "%s/sub/", dir);   /* parent is still dir */
    assert_int_equal(ps_fsync_parent(path), 0);
    assert_int_equal(ps_fsync_parent("relative-name"), 0);   /* "." */
    assert_int_equal(ps_fsync_parent("/"), 0);
    snprintf(path, sizeof path, "%s/missing/x", dir);
    errno = 0;
    assert_int_equal(ps_fsync_parent(path), -1);
    assert_int_equal(errno, ENOENT);
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    assert_int_equal(ps_fsync_dir_fd(fd), 0);
    close(fd);
    errno = 0;
    assert_int_equal(ps_fsync_dir_fd(-1), -1);
    assert_int_equal(errno, EBADF);
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_log_format),
        cmocka_unit_test(test_log_writer),
        cmocka_unit_test(test_now_us),
        cmocka_unit_test(test_write_file_atomic),
        cmocka_unit_test(test_fsync_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
