/* http.c: the HTTP/JSON routes of polysearchd (http.h, docs/HTTP.md). */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <jansson.h>
#include <msgpack.h>

#include "access.h"
#include "conn.h"
#include "http_args.h"
#include "http_conns.h"
#include "http_metrics.h"
#include "http_page.h"
#include "http_watch.h"
#include "job.h"
#include "jsonmp.h"
#include "listener.h"
#include "methods.h"
#include "stats.h"
#include "utf8.h"
#include "util.h"
#include "writer.h"

#define JSON_TYPE "application/json"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct http_front http_front;
typedef struct http_route http_route;

/* One request waiting for its job (allocated in the job's zone). */
typedef struct http_call {
    http_front *f;
    struct evhttp_request *req;
    const http_route *r;
    unsigned route;             /* r's index: its /metrics row */
    uint64_t start_us;          /* the request's first byte */
} http_call;

/* A route: a path and an HTTP method mapped onto an RPC method (rpc) whose
 * parse, exec and finish steps it reuses.  args builds the method's named
 * arguments from the request (rest: the percent-decoded path after a
 * prefix route's path); returns -1, or a searchd_err with j->errmsg set.
 * reply, when set, writes the answer of a successful job itself (status
 * returned, body into out, *type its content type) or sets j->err.
 * flags: ROUTE_QUERY, the query string is the method's arguments (else
 * a query string is 400); ROUTE_ANY_QUERY, a query string is ignored
 * (the page: its state lives in its URL); ROUTE_STREAM, the route is
 * /watch (http_watch.h): the job gets a stream before the method's io
 * step, and a success starts the stream instead of an answer. */
#define ROUTE_QUERY 1
#define ROUTE_ANY_QUERY 2
#define ROUTE_STREAM 4
struct http_route {
    enum evhttp_cmd_type cmd;
    const char *path;
    int prefix;                 /* path is followed by a document id */
    const char *label;          /* the route in /metrics */
    const char *rpc;            /* NULL: answered on the I/O thread */
    int (*args)(http_call *h, job *j, const char *rest, size_t restlen,
                msgpack_object *params, json_t *keep);
    int (*reply)(http_call *h, job *j, struct evbuffer *out, const char **type);
    int flags;
};

struct http_front {
    server *s;
    struct evhttp *eh;
    http_conns *conns;
    http_watches *watches;
    http_metrics metrics;
};

/* ---- answers ----------------------------------------------------------- */

/* The HTTP status of a protocol error (docs/HTTP.md, "Errors"). */
static int status_of(int err)
{
    switch (err) {
    case ERR_BAD_REQUEST: case ERR_QUERY_SYNTAX: case ERR_TOO_MANY_TERMS:
        return 400;
    case ERR_TOO_LARGE: return 413;
    case ERR_UNAUTHORIZED: return 401;
    case ERR_FORBIDDEN: return 403;
    case ERR_NOT_FOUND: case ERR_UNKNOWN_METHOD: return 404;
    case ERR_BUSY: return 429;
    case ERR_TIMEOUT: return 504;
    case ERR_UNAVAILABLE: case ERR_IO_ERROR: return 503;
    default: return 500;
    }
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    return evbuffer_add(data, buf, size);
}

/* Appends v (consumed) to out as compact JSON.  Returns 0 or -1. */
static int put_json(struct evbuffer *out, json_t *v)
{
    int rc = v ? json_dump_callback(v, dump_cb, out, JSON_COMPACT | JSON_ENCODE_ANY)
               : -1;
    json_decref(v);
    return rc;
}

/* {"error": {"code": ..., "message": ...}} into out. */
static void put_error(struct evbuffer *out, int err, const char *msg)
{
    size_t n = strlen(msg);
    char *fixed = ps_utf8_valid(msg, n) ? NULL : ps_utf8_repair(msg, n, 0, &n, NULL);
    json_t *m = json_stringn(fixed ? fixed : msg, n);
    free(fixed);
    json_t *e = json_pack("{s:{s:s,s:o?}}", "error", "code",
                          searchd_err_code((searchd_err)err), "message", m);
    evbuffer_drain(out, evbuffer_get_length(out));
    if (put_json(out, e) != 0)
        evbuffer_add_printf(out, "{\"error\":{\"code\":\"internal\"}}");
}

/* Sends status with body out (freed) and counts it; err is the protocol
 * error (-1: success) for stats. */
static void send_reply(http_front *f, struct evhttp_request *req, unsigned route,
                       uint64_t start_us, int status, int err,
                       const char *type, struct evbuffer *out)
{
    server *s = f->s;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    if (status == 429 || (status == 503 && err == ERR_BUSY))
        evhttp_add_header(h, "Retry-After", "1");
    if (s->shutting_down || (status == 503 && err == ERR_BUSY))
        evhttp_add_header(h, "Connection", "close");
    evhttp_send_reply(req, status, NULL, out);
    evbuffer_free(out);
    http_metrics_record(&f->metrics, route, status, ps_now_us() - start_us);
}

/* Answers an error that needs no job (no route, refused connection). */
static void send_error(http_front *f, struct evhttp_request *req,
                       unsigned route, uint64_t start_us, int status, int err,
                       const char *msg)
{
    struct evbuffer *out = evbuffer_new();
    if (!out) { evhttp_send_error(req, 500, NULL); return; }
    put_error(out, err, msg);
    stats_record(&f->s->stats, err, ps_now_us() - start_us);
    send_reply(f, req, route, start_us, status, err, JSON_TYPE, out);
}

/* The job's result as JSON: the method's finish step packed here, or the
 * response the worker packed (its 4th element).  NULL on failure. */
static json_t *result_json(job *j, server *s)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    const char *data = j->out.data;
    size_t size = j->out.size;
    int whole = 1;              /* j->out holds [1, msgid, nil, result] */
    if (j->method->finish) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        if (j->method->finish(j, &pk, s) != 0) {
            msgpack_sbuffer_destroy(&sb);
            return NULL;
        }
        data = sb.data;
        size = sb.size;
        whole = 0;
    }
    json_t *v = NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (data && msgpack_unpack_next(&u, data, size, NULL) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *o = &u.data;
        if (whole)
            o = (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 4)
                ? &o->via.array.ptr[3] : NULL;
        if (o) v = ps_msgpack_to_json(o);
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    return v;
}

/* Answers a job (done, or refused before it ran) and frees it. */
static void answer(http_call *h, job *j)
{
    http_front *f = h->f;
    server *s = f->s;
    const http_route *r = h->r;
    uint64_t now = ps_now_us();
    job_expire(j, now, s->cfg->deadline_ms);
    if (j->err < 0 && (r->flags & ROUTE_STREAM)) {
        /* The subscription is made: the answer is the event stream. */
        http_metrics_record(&f->metrics, h->route, 200, now - h->start_us);
        stats_record(&s->stats, -1, now - j->ready_us);
        http_watch_start(f->watches, j, h->req);
        job_free(j);
        return;
    }
    struct evbuffer *out = evbuffer_new();
    const char *type = JSON_TYPE;
    int status = 200;
    if (out && j->err < 0) {
        if (r->reply) {
            status = r->reply(h, j, out, &type);
        } else if (put_json(out, result_json(j, s)) != 0) {
            j->err = ERR_INTERNAL;
            snprintf(j->errmsg, sizeof j->errmsg, "cannot encode the result");
        }
    }
    if (!out) {
        evhttp_send_error(h->req, 500, NULL);
    } else {
        if (j->err >= 0) {
            status = status_of(j->err);
            type = JSON_TYPE;
            put_error(out, j->err, j->errmsg);
        }
        send_reply(f, h->req, h->route, h->start_us, status, j->err, type, out);
    }
    stats_record(&s->stats, j->err, now - j->ready_us);
    job_free(j);
}

/* The job came back from a worker or the writer (job.h, done). */
static void job_done(job *j, server *s)
{
    s->http_pending--;
    if (j->method->done) j->method->done(j, s);     /* subscribe's */
    answer(j->ctx, j);
    conn_maybe_exit(s);
}

/* ---- arguments of each route -------------------------------------------- */

/* The query string as the method's arguments (/search, /watch). */
static int args_query(http_call *h, job *j, const char *rest, size_t restlen,
                      msgpack_object *params, json_t *keep)
{
    (void)rest; (void)restlen; (void)keep;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(h->req);
    if (http_query_params(evhttp_uri_get_query(u), http_search_types,
                          http_search_ntypes, j->zone, params, j->errmsg,
                          sizeof j->errmsg) != 0)
        return ERR_BAD_REQUEST;
    return -1;
}

/* GET /watch: the query string as subscribe's arguments, and a
 * Last-Event-ID header (an EventSource reconnecting sends the id: of the
 * last event it got, a change seq) as resume_from unless the query string
 * gives one. */
static int args_watch(http_call *h, job *j, const char *rest, size_t restlen,
                      msgpack_object *params, json_t *keep)
{
    (void)rest; (void)restlen; (void)keep;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(h->req);
    if (http_query_params(evhttp_uri_get_query(u), http_watch_types,
                          http_watch_ntypes, j->zone, params, j->errmsg,
                          sizeof j->errmsg) != 0)
        return ERR_BAD_REQUEST;
    const char *last = evhttp_find_header(evhttp_request_get_input_headers(h->req),
                                          "Last-Event-ID");
    if (!last) return -1;
    const msgpack_object *map = &params->via.array.ptr[0];
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->via.str.size == 11 && memcmp(k->via.str.ptr, "resume_from", 11) == 0)
            return -1;
    }
    msgpack_object seq;
    memset(&seq, 0, sizeof seq);
    seq.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    if (ps_parse_u64(last, 0, UINT64_MAX, &seq.via.u64) != 0) {
        snprintf(j->errmsg, sizeof j->errmsg, "Last-Event-ID must be the id: of an "
                 "event of this stream (a change sequence number)");
        return ERR_BAD_REQUEST;
    }
    if (http_params_add(j->zone, params, "resume_from", &seq) != 0) {
        snprintf(j->errmsg, sizeof j->errmsg, "out of memory");
        return ERR_INTERNAL;
    }
    return -1;
}

static int args_synonyms(http_call *h, job *j, const char *rest, size_t restlen,
                         msgpack_object *params, json_t *keep)
{
    (void)rest; (void)restlen; (void)keep;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(h->req);
    if (http_query_params(evhttp_uri_get_query(u), http_synonyms_types,
                          http_synonyms_ntypes, j->zone, params, j->errmsg,
                          sizeof j->errmsg) != 0)
        return ERR_BAD_REQUEST;
    return -1;
}

static int args_none(http_call *h, job *j, const char *rest, size_t restlen,
                     msgpack_object *params, json_t *keep)
{
    (void)h; (void)rest; (void)restlen; (void)keep;
    return http_params_new(j->zone, 0, params) == 0 ? -1 : ERR_INTERNAL;
}

static int args_get(http_call *h, job *j, const char *rest, size_t restlen,
                    msgpack_object *params, json_t *keep)
{
    (void)h; (void)keep;
    msgpack_object id = http_str(rest, restlen);
    if (http_params_new(j->zone, 1, params) != 0) return ERR_INTERNAL;
    http_params_set(params, 0, "id", &id);
    return -1;
}

static int args_delete(http_call *h, job *j, const char *rest, size_t restlen,
                       msgpack_object *params, json_t *keep)
{
    (void)h; (void)keep;
    msgpack_object *one = msgpack_zone_malloc(j->zone, sizeof *one), ids;
    if (!one || http_params_new(j->zone, 1, params) != 0) return ERR_INTERNAL;
    *one = http_str(rest, restlen);
    memset(&ids, 0, sizeof ids);
    ids.type = MSGPACK_OBJECT_ARRAY;
    ids.via.array.size = 1;
    ids.via.array.ptr = one;
    http_params_set(params, 0, "ids", &ids);
    return -1;
}

/* DELETE /subscriptions/{name}: unsubscribe {name}. */
static int args_unsubscribe(http_call *h, job *j, const char *rest, size_t restlen,
                            msgpack_object *params, json_t *keep)
{
    (void)h; (void)keep;
    if (http_params_new(j->zone, 1, params) != 0) return ERR_INTERNAL;
    msgpack_object name = http_str(rest, restlen);
    http_params_set(params, 0, "name", &name);
    return -1;
}

/* Whether the request's Content-Type names newline-delimited JSON. */
static int is_ndjson(struct evhttp_request *req)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req),
                                        "Content-Type");
    if (!ct) return 0;
    static const char *const nd[] = {"application/x-ndjson",
                                     "application/jsonl",
                                     "application/jsonlines"};
    for (size_t i = 0; i < sizeof nd / sizeof nd[0]; i++) {
        size_t n = strlen(nd[i]);
        if (strncasecmp(ct, nd[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';' ||
                                               ct[n] == ' '))
            return 1;
    }
    return 0;
}

static int args_add(http_call *h, job *j, const char *rest, size_t restlen,
                    msgpack_object *params, json_t *keep)
{
    (void)rest; (void)restlen;
    struct evbuffer *in = evhttp_request_get_input_buffer(h->req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    msgpack_object docs;
    if (len && !body) {
        snprintf(j->errmsg, sizeof j->errmsg, "out of memory");
        return ERR_INTERNAL;
    }
    if (http_docs_from_body(body, len, is_ndjson(h->req), h->f->s->cfg->max_depth,
                            j->zone, keep, &docs, j->errmsg, sizeof j->errmsg) != 0)
        return ERR_BAD_REQUEST;
    if (http_params_new(j->zone, 1, params) != 0) return ERR_INTERNAL;
    http_params_set(params, 0, "docs", &docs);
    return -1;
}

/* ---- replies of the special routes -------------------------------------- */

/* DELETE of an id that was not stored: 404 not_found (nothing changed). */
static int reply_delete(http_call *h, job *j, struct evbuffer *out,
                        const char **type)
{
    (void)type;
    if (j->deleted == 0 && j->not_found > 0) {
        j->err = ERR_NOT_FOUND;
        snprintf(j->errmsg, sizeof j->errmsg, "no document with id \"%.200s\"",
                 j->ids[0]);
        return 404;
    }
    if (put_json(out, result_json(j, h->f->s)) != 0) {
        j->err = ERR_INTERNAL;
        snprintf(j->errmsg, sizeof j->errmsg, "cannot encode the result");
    }
    return 200;
}

static int reply_healthz(http_call *h, job *j, struct evbuffer *out,
                         const char **type)
{
    (void)h; (void)j; (void)type;
    return put_json(out, json_pack("{s:s}", "status", "ok")) == 0 ? 200 : 500;
}

/* Ready: a worker read the database (the stats job succeeded), the daemon
 * is not stopping, and the writer is usable (not failed, not locked out;
 * read_only counts as usable: it serves what it was started for). */
static int reply_readyz(http_call *h, job *j, struct evbuffer *out,
                        const char **type)
{
    (void)type;
    server *s = h->f->s;
    writer_stats ws;
    memset(&ws, 0, sizeof ws);
    ws.state = "read_only";
    if (s->writer) writer_get_stats(s->writer, &ws);
    if (s->shutting_down) {
        j->err = ERR_UNAVAILABLE;
        snprintf(j->errmsg, sizeof j->errmsg, "shutting down");
    } else if (!strcmp(ws.state, "failed") || !strcmp(ws.state, "locked")) {
        j->err = ERR_UNAVAILABLE;
        snprintf(j->errmsg, sizeof j->errmsg, "writer %s: %s", ws.state,
                 ws.holder[0] ? ws.holder : "the last commit failed");
    }
    if (j->err >= 0) return 503;
    return put_json(out, json_pack("{s:b,s:I,s:s}", "ready", 1, "documents",
                                   (json_int_t)j->ndocs, "writer", ws.state)) == 0
           ? 200 : 500;
}

/* The search page and its assets (http_page.h). */
static int reply_page(http_call *h, job *j, struct evbuffer *out,
                      const char **type)
{
    (void)j;
    return http_page_reply(h->req, h->r->path, out, type);
}

static int reply_metrics(http_call *h, job *j, struct evbuffer *out,
                         const char **type)
{
    http_metrics_extra x = { j->ndocs };
    *type = METRICS_TYPE;
    return http_metrics_write(&h->f->metrics, h->f->s, &x, out) == 0 ? 200 : 500;
}

/* ---- the route table ---------------------------------------------------- */

static const http_route http_routes[] = {
    {EVHTTP_REQ_GET, "/search", 0, "/search", "search", args_query, NULL, ROUTE_QUERY},
    {EVHTTP_REQ_GET, "/docs/", 1, "/docs/{id}", "get", args_get, NULL, 0},
    {EVHTTP_REQ_DELETE, "/docs/", 1, "/docs/{id}", "delete", args_delete, reply_delete, 0},
    {EVHTTP_REQ_POST, "/docs", 0, "/docs", "add", args_add, NULL, 0},
    {EVHTTP_REQ_GET, "/synonyms", 0, "/synonyms", "synonyms", args_synonyms, NULL,
     ROUTE_QUERY},
    {EVHTTP_REQ_GET, "/stats", 0, "/stats", "stats", args_none, NULL, 0},
    {EVHTTP_REQ_GET, "/healthz", 0, "/healthz", NULL, NULL, reply_healthz, 0},
    {EVHTTP_REQ_GET, "/readyz", 0, "/readyz", "stats", args_none, reply_readyz, 0},
    {EVHTTP_REQ_GET, "/metrics", 0, "/metrics", "stats", args_none, reply_metrics, 0},
    {EVHTTP_REQ_GET, "/watch", 0, "/watch", "subscribe", args_watch, NULL,
     ROUTE_QUERY | ROUTE_STREAM},
    {EVHTTP_REQ_DELETE, "/subscriptions/", 1, "/subscriptions/{name}", "unsubscribe",
     args_unsubscribe, NULL, 0},
    {EVHTTP_REQ_GET, "/", 0, "/", NULL, NULL, reply_page, ROUTE_ANY_QUERY},
    {EVHTTP_REQ_GET, "/app.js", 0, "/app.js", NULL, NULL, reply_page, 0},
    {EVHTTP_REQ_GET, "/style.css", 0, "/style.css", NULL, NULL, reply_page, 0},
};
#define NROUTES (sizeof http_routes / sizeof http_routes[0])
#define ROUTE_OTHER NROUTES     /* the metrics row of unmatched requests */

static const char *cmd_name(enum evhttp_cmd_type c)
{
    switch (c) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "?";
}

static http_metric_route metric_rows[NROUTES + 1];

/* Whether path matches route r; *rest is the id part of a prefix route. */
static int path_match(const http_route *r, const char *path, const char **rest)
{
    size_t n = strlen(r->path);
    if (!r->prefix) return strcmp(path, r->path) == 0;
    if (strncmp(path, r->path, n) != 0 || path[n] == '\0') return 0;
    *rest = path + n;
    return 1;
}

static void request_cb(struct evhttp_request *req, void *arg)
{
    http_front *f = arg;
    server *s = f->s;
    int over = 0;
    uint64_t start = http_conns_request(f->conns, req, &over);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    enum evhttp_cmd_type as = cmd == EVHTTP_REQ_HEAD ? EVHTTP_REQ_GET : cmd;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    char msg[256];
    if (over) {
        snprintf(msg, sizeof msg, "too many clients (max_clients %u)",
                 s->cfg->max_clients);
        ps_log(PS_LOG_WARN, "http connection refused: %s", msg);
        send_error(f, req, ROUTE_OTHER, start, 503, ERR_BUSY, msg);
        return;
    }
    if (!path || !*path) path = "/";
    unsigned ri = ROUTE_OTHER, path_seen = 0;
    const char *rest = NULL;
    char allow[64] = "";
    for (unsigned i = 0; i < NROUTES; i++) {
        const char *rr = NULL;
        if (!path_match(&http_routes[i], path, &rr)) continue;
        path_seen = 1;
        if (http_routes[i].cmd == as) { ri = i; rest = rr; break; }
        const char *name = cmd_name(http_routes[i].cmd);
        snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s%s",
                 *allow ? ", " : "", name,
                 http_routes[i].cmd == EVHTTP_REQ_GET ? ", HEAD" : "");
    }
    if (ri == ROUTE_OTHER) {
        char shown[80];
        snprintf(shown, sizeof shown, "%s", path);
        if (!path_seen) {
            snprintf(msg, sizeof msg, "no route %.80s (see docs/openapi.yaml)", shown);
            send_error(f, req, ROUTE_OTHER, start, 404, ERR_UNKNOWN_METHOD, msg);
        } else {
            snprintf(msg, sizeof msg, "%s is not allowed on %.80s (allowed: %s)",
                     cmd_name(cmd), shown, allow);
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
            send_error(f, req, ROUTE_OTHER, start, 405, ERR_UNKNOWN_METHOD, msg);
        }
        return;
    }
    const http_route *r = &http_routes[ri];
    if (s->shutting_down) {
        send_error(f, req, ri, start, 503, ERR_UNAVAILABLE, "shutting down");
        return;
    }
    const method *me = r->rpc ? methods_find(r->rpc, strlen(r->rpc)) : NULL;
    /* A route answered here runs as a method without an exec step would:
     * a job that never leaves the I/O thread (ping's shape). */
    if (!me) me = methods_find("ping", 4);
    job *j = me ? job_new(NULL, me, 0) : NULL;
    http_call *h = j ? msgpack_zone_malloc(j->zone, sizeof *h) : NULL;
    if (!h) {
        job_free(j);
        send_error(f, req, ri, start, 500, ERR_INTERNAL, "out of memory");
        return;
    }
    h->f = f;
    h->req = req;
    h->r = r;
    h->route = ri;
    h->start_us = start;
    j->done = job_done;
    j->ctx = h;
    j->ready_us = ps_now_us();
    j->deadline_us = start + s->cfg->deadline_ms * 1000u;
    /* Access control (access.h): a wrong token is answered after a delay. */
    int failed = 0;
    int ae = access_http(s, req, r->rpc, j, &failed);
    if (ae >= 0) {
        j->err = ae;
        if (failed && access_delay(s, j) == 0) {
            s->http_pending++;
            return;
        }
        answer(h, j);
        return;
    }
    const char *query = evhttp_uri_get_query(u);
    if (!(r->flags & (ROUTE_QUERY | ROUTE_ANY_QUERY)) && query && *query) {
        j->err = ERR_BAD_REQUEST;
        snprintf(j->errmsg, sizeof j->errmsg, "%s %s takes no query parameters",
                 cmd_name(r->cmd), r->label);
        answer(h, j);
        return;
    }
    if (!r->rpc) {
        answer(h, j);
        return;
    }
    msgpack_object params;
    json_t *keep = json_array();
    char *id = NULL;
    size_t idlen = 0;
    int e = keep ? -1 : ERR_INTERNAL;
    if (e < 0 && rest) {
        id = evhttp_uridecode(rest, 0, &idlen);
        if (!id) {
            e = ERR_INTERNAL;
            snprintf(j->errmsg, sizeof j->errmsg, "out of memory");
        } else if (strlen(id) != idlen) {
            e = ERR_BAD_REQUEST;
            snprintf(j->errmsg, sizeof j->errmsg, "the id holds a NUL byte (%%00)");
        }
    }
    if (e < 0) {
        const char *idz = NULL;
        if (id) {
            char *c = msgpack_zone_malloc(j->zone, idlen + 1);
            if (c) memcpy(c, id, idlen + 1);
            idz = c;
        }
        if (id && !idz) {
            e = ERR_INTERNAL;
            snprintf(j->errmsg, sizeof j->errmsg, "out of memory");
        } else {
            e = r->args(h, j, idz, idlen, &params, keep);
        }
    }
    if (e < 0)
        e = me->parse(j, &params, s->cfg);   /* the method's own checks */
    free(id);
    json_decref(keep);          /* parse copied what the job keeps */
    if (e < 0 && (r->flags & ROUTE_STREAM))
        e = http_watch_prepare(f->watches, j);
    if (e < 0 && me->io) {
        e = me->io(j, s);       /* subscribe: registered, off to the alert thread */
        if (e == -2) {
            s->http_pending++;
            return;
        }
    }
    if (e >= 0) {
        j->err = e;
        answer(h, j);
        return;
    }
    if (conn_submit_job(s, j) == 0) {
        s->http_pending++;
        return;
    }
    answer(h, j);
}

/* ---- setup -------------------------------------------------------------- */

int http_open(server *s)
{
    const searchd_config *c = s->cfg;
    if (c->nhttp == 0) return 0;
    http_front *f = calloc(1, sizeof *f);
    if (!f) return EX_OSERR;
    s->http = f;
    f->s = s;
    for (unsigned i = 0; i < NROUTES; i++) {
        metric_rows[i].method = cmd_name(http_routes[i].cmd);
        metric_rows[i].route = http_routes[i].label;
    }
    metric_rows[NROUTES].method = "";
    metric_rows[NROUTES].route = "other";
    http_metrics_init(&f->metrics, metric_rows, NROUTES + 1);
    f->eh = evhttp_new(s->base);
    f->conns = f->eh ? http_conns_new(s) : NULL;
    f->watches = f->conns ? http_watch_new(s) : NULL;
    if (!f->watches) return EX_OSERR;
    evhttp_set_bevcb(f->eh, http_conns_bevcb, f->conns);
    evhttp_set_gencb(f->eh, request_cb, f);
    evhttp_set_allowed_methods(f->eh, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                               EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                               EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                               EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
                               EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(f->eh, (ev_ssize_t)c->max_request);
    evhttp_set_max_headers_size(f->eh, (ev_ssize_t)c->max_headers);
    struct timeval idle = { (time_t)(c->idle_ms / 1000),
                            (suseconds_t)((c->idle_ms % 1000) * 1000) };
    evhttp_set_timeout_tv(f->eh, &idle);
    evhttp_set_default_content_type(f->eh, JSON_TYPE);
    for (unsigned i = 0; i < c->nhttp; i++) {
        struct evconnlistener *l;
        int rc = listener_bind_tcp(s, c->http[i], "--http", &l);
        if (rc) return rc;
        if (!evhttp_bind_listener(f->eh, l)) {
            evconnlistener_free(l);
            return EX_OSERR;
        }
        s->http_listeners[s->nhttp_listeners++] = l;
        ps_log(PS_LOG_INFO, "serving HTTP on %s", c->http[i]);
    }
    return listener_write_port_file(c->http_port_file, "--http-port-file",
                                    s->http_listeners, s->nhttp_listeners);
}

static void unbind_cb(struct evhttp_bound_socket *b, void *arg)
{
    struct evhttp_bound_socket **list = arg;
    for (unsigned i = 0; i < SEARCHD_MAX_LISTEN; i++)
        if (!list[i]) { list[i] = b; break; }
}

void http_stop_accepting(server *s)
{
    http_front *f = s->http;
    if (!f || !f->eh) return;
    struct evhttp_bound_socket *bound[SEARCHD_MAX_LISTEN + 1] = {0};
    evhttp_foreach_bound_socket(f->eh, unbind_cb, bound);
    for (unsigned i = 0; bound[i]; i++)
        evhttp_del_accept_socket(f->eh, bound[i]);    /* frees the listener */
    s->nhttp_listeners = 0;
    http_watch_end_all(f->watches);
}

void http_free(server *s)
{
    http_front *f = s->http;
    if (!f) return;
    s->nhttp_listeners = 0;
    if (f->eh) evhttp_free(f->eh);      /* its connections and requests */
    http_watch_free(f->watches);        /* after: evhttp_free closes them */
    http_conns_free(f->conns);
    free(f);
    s->http = NULL;
}
