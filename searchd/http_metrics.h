/* http_metrics.h: the counters of the HTTP front end and GET /metrics in
 * the Prometheus text format (version 0.0.4).  I/O thread only.
 */
#ifndef SEARCHD_HTTP_METRICS_H
#define SEARCHD_HTTP_METRICS_H

#include <stdint.h>
#include <event2/buffer.h>

#include "server.h"

/* Routes counted: the route table's entries, plus one "other" row for
 * requests that matched none (404, 405, refused connections). */
#define HTTP_METRIC_ROUTES 16
/* Latency buckets (upper bounds in microseconds) and statuses counted. */
#define HTTP_METRIC_BUCKETS 14
#define HTTP_METRIC_STATUSES 12

typedef struct http_metric_route {
    const char *method;         /* "GET", ... ("" for the other row) */
    const char *route;          /* "/search", "/docs/{id}", "other" */
} http_metric_route;

typedef struct http_metrics {
    const http_metric_route *routes;    /* nroutes rows, "other" last */
    unsigned nroutes;
    uint64_t requests[HTTP_METRIC_ROUTES][HTTP_METRIC_STATUSES];
    uint64_t bucket[HTTP_METRIC_ROUTES][HTTP_METRIC_BUCKETS];
    uint64_t count[HTTP_METRIC_ROUTES];
    uint64_t sum_us[HTTP_METRIC_ROUTES];
} http_metrics;

/* Zeroes m and sets its rows (at most HTTP_METRIC_ROUTES, the last one
 * being the "other" row; routes must outlive m).  I/O thread. */
void http_metrics_init(http_metrics *m, const http_metric_route *routes,
                       unsigned nroutes);

/* Counts one answer of row route (out of range: the last row) with HTTP
 * status, latency_us from the request's first byte.  I/O thread. */
void http_metrics_record(http_metrics *m, unsigned route, int status,
                         uint64_t latency_us);

/* The figures of the daemon that /metrics shows beside m's, taken by the
 * caller (documents comes from a worker's stats job). */
typedef struct http_metrics_extra {
    uint64_t documents;
} http_metrics_extra;

/* Appends the whole /metrics text to out: m's counters and latency
 * histograms by route, and from s the requests and errors by code of both
 * protocols (stats.h), the writer's writes and commits, the write-ahead
 * log's checkpoints and pending operations, queue depths, connections by
 * protocol, uptime; documents from x.  Returns 0 or -1 (out of memory).
 * I/O thread. */
int http_metrics_write(const http_metrics *m, server *s,
                       const http_metrics_extra *x, struct evbuffer *out);

#endif
