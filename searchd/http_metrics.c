/* http_metrics.c: HTTP counters and the Prometheus text of GET /metrics
 * (http_metrics.h). */
#include "http_metrics.h"

#include <stdio.h>
#include <string.h>

#include "stats.h"
#include "util.h"
#include "workers.h"
#include "writer.h"

static const uint64_t bucket_us[HTTP_METRIC_BUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000, 10000000
};

/* The statuses counted one by one; the last slot is "any other". */
static const int statuses[HTTP_METRIC_STATUSES] = {
    200, 400, 404, 405, 413, 429, 500, 503, 504, 401, 403, 0
};

void http_metrics_init(http_metrics *m, const http_metric_route *routes,
                       unsigned nroutes)
{
    memset(m, 0, sizeof *m);
    m->routes = routes;
    m->nroutes = nroutes > HTTP_METRIC_ROUTES ? HTTP_METRIC_ROUTES : nroutes;
}

void http_metrics_record(http_metrics *m, unsigned route, int status,
                         uint64_t latency_us)
{
    if (m->nroutes == 0) return;
    if (route >= m->nroutes) route = m->nroutes - 1;
    unsigned si = HTTP_METRIC_STATUSES - 1;
    for (unsigned i = 0; i + 1 < HTTP_METRIC_STATUSES; i++)
        if (statuses[i] == status) { si = i; break; }
    m->requests[route][si]++;
    for (unsigned b = 0; b < HTTP_METRIC_BUCKETS; b++)
        if (latency_us <= bucket_us[b]) m->bucket[route][b]++;
    m->count[route]++;
    m->sum_us[route] += latency_us;
}

/* "# HELP name help\n# TYPE name type\n". */
static void head(struct evbuffer *o, const char *name, const char *type,
                 const char *help)
{
    evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct evbuffer *o, const char *name, const char *type,
                const char *help, uint64_t v)
{
    head(o, name, type, help);
    evbuffer_add_printf(o, "%s %llu\n", name, (unsigned long long)v);
}

int http_metrics_write(const http_metrics *m, server *s,
                       const http_metrics_extra *x, struct evbuffer *o)
{
    head(o, "polysearch_http_requests_total", "counter",
         "HTTP requests answered, by method, route and status code.");
    for (unsigned r = 0; r < m->nroutes; r++)
        for (unsigned i = 0; i < HTTP_METRIC_STATUSES; i++) {
            if (!m->requests[r][i]) continue;
            char code[8] = "other";
            if (statuses[i]) snprintf(code, sizeof code, "%d", statuses[i]);
            evbuffer_add_printf(o, "polysearch_http_requests_total{method=\"%s\","
                                "route=\"%s\",code=\"%s\"} %llu\n",
                                m->routes[r].method, m->routes[r].route, code,
                                (unsigned long long)m->requests[r][i]);
        }
    head(o, "polysearch_http_request_duration_seconds", "histogram",
         "HTTP request latency, first byte of the request to its answer.");
    for (unsigned r = 0; r < m->nroutes; r++) {
        if (!m->count[r]) continue;
        const char *me = m->routes[r].method, *ro = m->routes[r].route;
        for (unsigned b = 0; b < HTTP_METRIC_BUCKETS; b++)
            evbuffer_add_printf(o, "polysearch_http_request_duration_seconds_bucket"
                                "{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
                                me, ro, (double)bucket_us[b] / 1e6,
                                (unsigned long long)m->bucket[r][b]);
        evbuffer_add_printf(o, "polysearch_http_request_duration_seconds_bucket"
                            "{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n"
                            "polysearch_http_request_duration_seconds_sum"
                            "{method=\"%s\",route=\"%s\"} %.6f\n"
                            "polysearch_http_request_duration_seconds_count"
                            "{method=\"%s\",route=\"%s\"} %llu\n",
                            me, ro, (unsigned long long)m->count[r],
                            me, ro, (double)m->sum_us[r] / 1e6,
                            me, ro, (unsigned long long)m->count[r]);
    }
    one(o, "polysearch_requests_total", "counter",
        "Requests answered over both protocols (success or error).",
        s->stats.requests);
    head(o, "polysearch_errors_total", "counter",
         "Errors sent over both protocols, by protocol error code.");
    for (int e = 0; e < ERR_COUNT; e++)
        evbuffer_add_printf(o, "polysearch_errors_total{code=\"%s\"} %llu\n",
                            searchd_err_code((searchd_err)e),
                            (unsigned long long)s->stats.errors[e]);
    one(o, "polysearch_auth_failures_total", "counter",
        "Requests refused for a wrong token (both protocols).",
        s->auth_failures);
    one(o, "polysearch_documents", "gauge",
        "Documents in the database, changes waiting in the log included.",
        x->documents);
    writer_stats ws;
    memset(&ws, 0, sizeof ws);
    if (s->writer) writer_get_stats(s->writer, &ws);
    one(o, "polysearch_writer_writes_total", "counter",
        "add/delete requests applied and acknowledged.", ws.writes);
    one(o, "polysearch_writer_commits_total", "counter",
        "Write groups made durable (log syncs, or Xapian commits without the log).",
        ws.commits);
    one(o, "polysearch_writer_failed_commits_total", "counter",
        "Write groups whose write or commit failed.", ws.failed_commits);
    one(o, "polysearch_wal_checkpoints_total", "counter",
        "Checkpoints of the write-ahead log into the database.", ws.ck.checkpoints);
    one(o, "polysearch_wal_pending_operations", "gauge",
        "Operations acknowledged but not yet checkpointed.", ws.delta.ops);
    head(o, "polysearch_queue_depth", "gauge",
         "Requests waiting for a worker (search) or the writer (write).");
    evbuffer_add_printf(o, "polysearch_queue_depth{queue=\"search\"} %u\n"
                        "polysearch_queue_depth{queue=\"write\"} %u\n",
                        workers_queued(s->pool), ws.queued);
    head(o, "polysearch_connections", "gauge",
         "Open client connections, by protocol.");
    evbuffer_add_printf(o, "polysearch_connections{protocol=\"msgpack\"} %u\n"
                        "polysearch_connections{protocol=\"http\"} %u\n",
                        s->nconns, s->http_nconns);
    one(o, "polysearch_reopens_total", "counter",
        "Database handle reopens of the workers.", workers_reopens(s->pool));
    one(o, "polysearch_uptime_seconds", "gauge", "Seconds since start.",
        (ps_now_us() - s->stats.started_us) / 1000000u);
    return 0;
}
