/* lg_run.h: the closed-loop engine of ps-loadgen: N connections on one
 * epoll loop, each keeping `depth` requests in flight, replaying the query
 * list round-robin.  Single-threaded.
 */
#ifndef LG_RUN_H
#define LG_RUN_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "lg_latency.h"
#include "lg_proto.h"
#include "lg_queries.h"

#define LG_MAX_RSS_SAMPLES 3600

typedef struct lg_config {
    const lg_proto *proto;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    unsigned connections;
    unsigned depth;
    uint64_t duration_ms;
    uint32_t limit;
    int snippet;            /* -1 server default, 0 off, 1 on */
    int warmup;             /* one pass over all queries before timing */
    pid_t pid;              /* > 0: sample this process's VmRSS each second */
} lg_config;

typedef struct lg_stats {
    /* warm-up pass: every query exactly once */
    uint64_t warm_us;
    uint64_t warm_replies, warm_errors, warm_with_hits;
    uint32_t *hits_per_query;   /* malloc'd, qs->n entries (warm-up) */
    /* measured run */
    uint64_t elapsed_us;
    uint64_t replies, errors, with_hits;
    uint64_t conn_failures;     /* connections lost or refused */
    lg_latency lat;
    char first_error[96];
    /* RSS samples (kB), one per second of the measured run */
    uint64_t rss_kb[LG_MAX_RSS_SAMPLES];
    unsigned nrss;
} lg_stats;

/* Runs the warm-up pass (when cfg->warmup) and the measured run.  Returns
 * 0 when it ran (errors are counted in *st), -1 when it could not start
 * (no connection could be made; message on stderr).  *st must be zeroed by
 * the caller and released with lg_stats_free. */
int lg_run(const lg_config *cfg, const lg_queries *qs, lg_stats *st);

/* Frees what lg_run allocated in *st. */
void lg_stats_free(lg_stats *st);

/* VmRSS of process pid in kB, or 0 when it cannot be read. */
uint64_t lg_rss_kb(pid_t pid);

#endif
