/* stats.h: request counters and a latency histogram for the stats method.
 * Owned and touched by the I/O thread only (no locking).
 */
#ifndef SEARCHD_STATS_H
#define SEARCHD_STATS_H

#include <stdint.h>

/* Protocol error codes, in the order used by the counters. */
typedef enum searchd_err {
    ERR_BAD_REQUEST = 0, ERR_TOO_LARGE, ERR_QUERY_SYNTAX, ERR_TOO_MANY_TERMS,
    ERR_NOT_FOUND, ERR_BUSY, ERR_TIMEOUT, ERR_UNKNOWN_METHOD, ERR_INTERNAL,
    ERR_UNAVAILABLE, ERR_IO_ERROR, ERR_UNAUTHORIZED, ERR_FORBIDDEN, ERR_COUNT
} searchd_err;

/* Wire word of an error code ("bad_request", ...).  Static; any thread. */
const char *searchd_err_code(searchd_err e);

/* Log-linear histogram: 8 sub-buckets per power of two of microseconds,
 * so a percentile is reported within 12.5 % of the true value. */
#define STATS_SUB 8
#define STATS_POW 40
typedef struct searchd_stats {
    uint64_t started_us;        /* ps_now_us() at start */
    uint64_t requests;          /* responses sent (success or error) */
    uint64_t errors[ERR_COUNT];
    uint64_t hist[STATS_POW * STATS_SUB];
    uint64_t nlat;
} searchd_stats;

/* Zeroes the counters and records the start time.  I/O thread. */
void stats_init(searchd_stats *s);

/* Counts one response; err < 0 means success.  latency_us is the time from
 * the complete request to the response.  I/O thread. */
void stats_record(searchd_stats *s, int err, uint64_t latency_us);

/* Counts an error sent without a request (bad frame, max_clients).  I/O
 * thread. */
void stats_error(searchd_stats *s, searchd_err e);

/* Latency percentile (0 < p <= 100) in microseconds: the upper bound of the
 * bucket holding it, 0 when nothing was recorded.  I/O thread. */
uint64_t stats_percentile(const searchd_stats *s, double p);

#endif
