/* util.h: small helpers shared by every program: strict number parsing,
 * logging to stderr with time and level, monotonic time.  Pure C.
 */
#ifndef PS_UTIL_H
#define PS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parses a whole decimal unsigned integer in [min, max].  Rejects empty
 * strings, signs, spaces, trailing junk and overflow.  Returns 0 and sets
 * *out on success, -1 otherwise.  Any thread. */
int ps_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a size with optional k/K, m/M, g/G suffix (powers of 1024), in
 * [min, max].  Returns 0 or -1.  Any thread. */
int ps_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a duration "500ms", "10s", "2m" or a bare number of seconds into
 * milliseconds, in [min_ms, max_ms].  Returns 0 or -1.  Any thread. */
int ps_parse_duration_ms(const char *s, uint64_t min_ms, uint64_t max_ms,
                         uint64_t *out);

typedef enum ps_log_level {
    PS_LOG_ERROR = 0, PS_LOG_WARN = 1, PS_LOG_INFO = 2, PS_LOG_DEBUG = 3
} ps_log_level;

/* Sets the process-wide log threshold (default PS_LOG_INFO) and the
 * program name shown in each line.  Call once at start-up, before threads. */
void ps_log_init(const char *progname, ps_log_level level);

/* Writes "2026-11-23T09:30:00.123Z polysearchd[pid] LEVEL: message\n" to
 * stderr as one write(2) when level <= threshold, or hands that line to
 * the writer set with ps_log_set_writer().  Any thread. */
void ps_log(ps_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A log line's way out instead of write(2) to stderr: gets each formatted
 * line (len bytes, ending in its newline) on the thread that logged it,
 * and must write it; e.g. a terminal progress line erases itself before
 * the line and redraws itself after it (indexer/progress.c).  It must
 * not call ps_log(). */
typedef void (*ps_log_writer)(void *ctx, const char *line, size_t len);

/* Routes every later ps_log() line to fn(ctx, ...); NULL restores the
 * plain write(2) to stderr.  Call while no other thread logs (before
 * threads start, after they are joined). */
void ps_log_set_writer(ps_log_writer fn, void *ctx);

/* Monotonic clock in microseconds.  Any thread. */
uint64_t ps_now_us(void);

/* fsyncs the directory open on fd, so that the names created, renamed or
 * removed in it are durable.  File systems that cannot fsync a directory
 * (EINVAL, EROFS) count as success.  Returns 0 or -1 with errno set; fd
 * stays open.  Any thread. */
int ps_fsync_dir_fd(int fd);

/* fsyncs the directory that holds path (the last component's parent;
 * "." for a bare name; a trailing slash is ignored), as ps_fsync_dir_fd.
 * Returns 0 or -1 with errno set.  Any thread. */
int ps_fsync_parent(const char *path);

/* Writes `data` to path atomically: path.tmp, fsync, rename, fsync dir.
 * Returns 0 or -1 with errno set.  Any thread. */
int ps_write_file_atomic(const char *path, const char *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
