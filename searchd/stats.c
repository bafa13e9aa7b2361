/* stats.c: counters and latency histogram (I/O thread only). */
#include "stats.h"

#include <string.h>

#include "util.h"

static const char *const codes[ERR_COUNT] = {
    "bad_request", "too_large", "query_syntax", "too_many_terms",
    "not_found", "busy", "timeout", "unknown_method", "internal",
    "unavailable", "io_error", "unauthorized", "forbidden"
};

const char *searchd_err_code(searchd_err e)
{
    return (unsigned)e < ERR_COUNT ? codes[e] : "internal";
}

void stats_init(searchd_stats *s)
{
    memset(s, 0, sizeof *s);
    s->started_us = ps_now_us();
}

/* Bucket of v: values below STATS_SUB get their own bucket; above, the
 * power of two selects a group and the next 3 bits the sub-bucket. */
static unsigned bucket_of(uint64_t v)
{
    if (v < STATS_SUB) return (unsigned)v;
    unsigned p = 63u - (unsigned)__builtin_clzll(v);   /* >= 3 */
    unsigned sub = (unsigned)(v >> (p - 3)) & (STATS_SUB - 1);
    unsigned b = (p - 2) * STATS_SUB + sub;
    return b < STATS_POW * STATS_SUB ? b : STATS_POW * STATS_SUB - 1;
}

static uint64_t bucket_upper(unsigned b)
{
    if (b < STATS_SUB) return b;
    unsigned p = b / STATS_SUB + 2, sub = b % STATS_SUB;
    uint64_t lo = ((uint64_t)(STATS_SUB + sub)) << (p - 3);
    return lo + (1ull << (p - 3)) - 1;
}

void stats_record(searchd_stats *s, int err, uint64_t latency_us)
{
    s->requests++;
    if (err >= 0 && err < ERR_COUNT) s->errors[err]++;
    s->hist[bucket_of(latency_us)]++;
    s->nlat++;
}

void stats_error(searchd_stats *s, searchd_err e)
{
    if ((unsigned)e < ERR_COUNT) s->errors[e]++;
}

uint64_t stats_percentile(const searchd_stats *s, double p)
{
    if (s->nlat == 0) return 0;
    uint64_t rank = (uint64_t)((double)s->nlat * p / 100.0 + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > s->nlat) rank = s->nlat;
    uint64_t seen = 0;
    for (unsigned b = 0; b < STATS_POW * STATS_SUB; b++) {
        seen += s->hist[b];
        if (seen >= rank) return bucket_upper(b);
    }
    return bucket_upper(STATS_POW * STATS_SUB - 1);
}
