/* Unit tests for indexer/progress.c: the line's content and phase, log
 * lines printed above it through ps_log's writer, erasure at the end, and
 * no output at all when disabled.  stderr is redirected to a file (the
 * module writes to fd 2 whatever it is; the caller decides on isatty). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "progress.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLEAR "\r\033[K"

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int g_saved = -1;
static int g_fd = -1;
static off_t g_read;            /* bytes of the file already returned */

static void capture_start(void)
{
    char path[] = "/tmp/ps_test_progress_XXXXXX";
    g_fd = mkstemp(path);
    assert_true(g_fd >= 0);
    unlink(path);
    fflush(stderr);
    g_saved = dup(STDERR_FILENO);
    assert_true(g_saved >= 0);
    assert_true(dup2(g_fd, STDERR_FILENO) >= 0);
    g_read = 0;
}

/* What was written to stderr since the last call (malloc'd). */
static char *captured(void)
{
    char *buf = calloc(1, 16384);
    assert_non_null(buf);
    ssize_t n = pread(g_fd, buf, 16383, g_read);
    assert_true(n >= 0);
    g_read += n;
    return buf;
}

static void capture_end(void)
{
    assert_true(dup2(g_saved, STDERR_FILENO) >= 0);
    close(g_saved);
    close(g_fd);
}

static void test_line_and_log_above(void **state)
{
    (void)state;
    progress p;
    ps_log_init("test_progress", PS_LOG_INFO);
    capture_start();
    progress_init(&p, 1, 10, 1000);
    char *out = captured();
    assert_string_equal(out, "");           /* nothing before an update */
    free(out);

    progress_update(&p, 4, 500, 1);
    out = captured();
    assert_true(starts_with(out, CLEAR "indexing: 4/10 docs, "));
    assert_non_null(strstr(out, " docs/s, 50%, ETA "));
    assert_null(strchr(out, '\n'));
    free(out);

    /* A log line: the line is erased, the log line printed whole, the line
     * drawn again below it. */
    ps_log(PS_LOG_WARN, "file.jsonl:7: malformed JSON: failed");
    out = captured();
    assert_true(starts_with(out, CLEAR));
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_non_null(strstr(out, "] WARN: file.jsonl:7: malformed JSON: "
                                "failed\n"));
    assert_true(starts_with(nl + 1, "indexing: 4/10 docs, "));
    assert_null(strchr(nl + 1, '\n'));
    free(out);

    /* Below the threshold: nothing at all, the line stays as it is. */
    ps_log(PS_LOG_DEBUG, "not shown");
    out = captured();
    assert_string_equal(out, "");
    free(out);

    /* The phase word is shown at once. */
    progress_set_phase(&p, "merging");
    out = captured();
    assert_true(starts_with(out, CLEAR "merging: 4/10 docs, "));
    free(out);

    /* The end erases the line; later log lines are plain again. */
    progress_end(&p);
    out = captured();
    assert_string_equal(out, CLEAR);
    free(out);
    progress_end(&p);                       /* a second call: nothing */
    ps_log(PS_LOG_WARN, "after");
    out = captured();
    assert_null(strchr(out, '\r'));
    assert_non_null(strstr(out, "] WARN: after\n"));
    free(out);
    capture_end();
}

static void test_unknown_totals(void **state)
{
    (void)state;
    progress p;
    capture_start();
    progress_init(&p, 1, 0, 0);
    progress_update(&p, 12, 0, 1);
    char *out = captured();
    assert_true(starts_with(out, CLEAR "indexing: 12 docs, "));
    assert_null(strstr(out, "ETA"));        /* no size, no ETA */
    free(out);
    progress_end(&p);
    free(captured());
    capture_end();
}

static void test_disabled(void **state)
{
    (void)state;
    progress p;
    ps_log_init("test_progress", PS_LOG_INFO);
    capture_start();
    progress_init(&p, 0, 10, 1000);
    progress_update(&p, 4, 500, 1);
    progress_set_phase(&p, "merging");
    ps_log(PS_LOG_WARN, "plain");
    progress_end(&p);
    char *out = captured();
    assert_null(strchr(out, '\r'));
    assert_null(strstr(out, "docs/s"));
    assert_non_null(strstr(out, "] WARN: plain\n"));
    free(out);
    capture_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_and_log_above),
        cmocka_unit_test(test_unknown_totals),
        cmocka_unit_test(test_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
