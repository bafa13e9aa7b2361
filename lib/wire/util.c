/* util.c: strict number parsing, logging to stderr, monotonic time and
 * atomic file writes.  Contracts are in util.h.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Parses s[0..len) as decimal digits only; 0 on success, -1 on empty,
 * non-digit or overflow. */
static int parse_digits(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int ps_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (s == NULL || out == NULL)
        return -1;
    if (parse_digits(s, strlen(s), &v) != 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Multiplies v by mul with overflow check; 0 on success. */
static int mul_checked(uint64_t v, uint64_t mul, uint64_t *out)
{
    if (mul != 0 && v > UINT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int ps_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    size_t len;
    uint64_t v, mul = 1;
    if (s == NULL || out == NULL)
        return -1;
    len = strlen(s);
    if (len > 0) {
        switch (s[len - 1]) {
        case 'k': case 'K': mul = UINT64_C(1) << 10; len--; break;
        case 'm': case 'M': mul = UINT64_C(1) << 20; len--; break;
        case 'g': case 'G': mul = UINT64_C(1) << 30; len--; break;
        default: break;
        }
    }
    if (parse_digits(s, len, &v) != 0 || mul_checked(v, mul, &v) != 0)
        return -1;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int ps_parse_duration_ms(const char *s, uint64_t min_ms, uint64_t max_ms,
                         uint64_t *out)
{
    size_t len;
    uint64_t v, mul = 1000;
    if (s == NULL || out == NULL)
        return -1;
    len = strlen(s);
    if (len >= 2 && strcmp(s + len - 2, "ms") == 0) {
        mul = 1;
        len -= 2;
    } else if (len >= 1 && s[len - 1] == 's') {
        len -= 1;
    } else if (len >= 1 && s[len - 1] == 'm') {
        mul = 60000;
        len -= 1;
    }
    if (parse_digits(s, len, &v) != 0 || mul_checked(v, mul, &v) != 0)
        return -1;
    if (v < min_ms || v > max_ms)
        return -1;
    *out = v;
    return 0;
}

/* ---- Logging ---------------------------------------------------------- */

static ps_log_level g_level = PS_LOG_INFO;
static char g_prog[64] = "polysearch";
static ps_log_writer g_writer;     /* NULL: write(2) to stderr */
static void *g_writer_ctx;

void ps_log_set_writer(ps_log_writer fn, void *ctx)
{
    g_writer = fn;
    g_writer_ctx = ctx;
}

void ps_log_init(const char *progname, ps_log_level level)
{
    if (progname != NULL) {
        const char *slash = strrchr(progname, '/');
        if (slash != NULL && slash[1] != '\0')
            progname = slash + 1;
        snprintf(g_prog, sizeof g_prog, "%s", progname);
    }
    g_level = level;
}

static const char *level_name(ps_log_level level)
{
    switch (level) {
    case PS_LOG_ERROR: return "ERROR";
    case PS_LOG_WARN: return "WARN";
    case PS_LOG_INFO: return "INFO";
    case PS_LOG_DEBUG: return "DEBUG";
    }
    return "?";
}

void ps_log(ps_log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int k;
    va_list ap;

    if (level > g_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    k = snprintf(line, sizeof line,
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s: ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, g_prog,
                 (long)getpid(), level_name(level));
    if (k < 0)
        return;
    n = (size_t)k < sizeof line ? (size_t)k : sizeof line - 1;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    if (k > 0)
        n += (size_t)k < sizeof line - n ? (size_t)k : sizeof line - n - 1;
    /* Keep one line per record: embedded newlines become spaces. */
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    if (n >= sizeof line - 1) {
        /* Truncated: mark it and make room for the newline. */
        memcpy(line + sizeof line - 5, "...", 3);
        n = sizeof line - 2;
    }
    line[n++] = '\n';
    if (g_writer != NULL) {
        g_writer(g_writer_ctx, line, n);
        return;
    }
    /* One write(2) so concurrent lines never interleave; retry on EINTR. */
    for (;;) {
        ssize_t w = write(STDERR_FILENO, line, n);
        if (w >= 0 || errno != EINTR)
            break;
    }
}

uint64_t ps_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- Atomic file write ------------------------------------------------ */

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

int ps_fsync_dir_fd(int fd)
{
    if (fsync(fd) == 0)
        return 0;
    if (errno == EINVAL || errno == EROFS)
        return 0; /* some file systems cannot fsync directories */
    return -1;
}

int ps_fsync_parent(const char *path)
{
    const char *slash;
    char *dir;
    int fd, rc;
    if (path == NULL) {
        errno = EINVAL;
        return -1;
    }
    slash = strrchr(path, '/');
    /* "a/b/" names b: its parent is a. */
    while (slash != NULL && slash > path && slash[1] == '\0') {
        const char *p = slash;
        while (p > path && p[-1] == '/')
            p--;
        slash = p > path ? memrchr(path, '/', (size_t)(p - path)) : NULL;
    }
    if (slash == NULL)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL) {
        errno = ENOMEM;
        return -1;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -1;
    rc = ps_fsync_dir_fd(fd);
    {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return rc;
}

int ps_write_file_atomic(const char *path, const char *data, size_t len)
{
    char *tmp;
    size_t plen;
    int fd, saved;

    if (path == NULL || (data == NULL && len > 0)) {
        errno = EINVAL;
        return -1;
    }
    plen = strlen(path);
    tmp = malloc(plen + 5);
    if (tmp == NULL) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto fail;
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        saved = errno;
        close(fd);
        unlink(tmp);
        errno = saved;
        goto fail;
    }
    if (close(fd) != 0) {
        saved = errno;
        unlink(tmp);
        errno = saved;
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        saved = errno;
        unlink(tmp);
        errno = saved;
        goto fail;
    }
    free(tmp);
    return ps_fsync_parent(path);
fail:
    saved = errno;
    free(tmp);
    errno = saved;
    return -1;
}
