/* http_watch.c: GET /watch as Server-Sent Events (http_watch.h). */
#include "http_watch.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>
#include <msgpack.h>

#include "jsonmp.h"
#include "stats.h"
#include "subs.h"
#include "util.h"

#define KEEPALIVE_MS 15000u

/* One stream: prepared with its subscribe job, started (req set) when the
 * alert thread accepted the query. */
typedef struct watch {
    subs_owner owner;           /* its one subscription (subs.h) */
    http_watches *ws;
    struct evhttp_request *req; /* NULL until started */
    struct evhttp_connection *evcon;
    atomic_int gone;            /* j->gone of its subscribe job */
    int taken;                  /* its subscription taken (1) or removed (2)
                                   before it started */
    struct event *end_ev;       /* ends the stream after a lagged event
                                   with a resume point (made on demand) */
    struct watch *prev, *next;  /* ws->list, once started */
} watch;

struct http_watches {
    server *s;
    watch *list;
    unsigned n;
    struct event *tick;         /* keep-alive comments while n > 0 */
    struct timeval period;
};

static watch *owner_watch(subs_owner *o)
{
    return (watch *)(void *)((char *)o - offsetof(watch, owner));
}

/* The stream's unsent output, or NULL when it is not (or no longer)
 * writable. */
static struct evbuffer *out_of(watch *w)
{
    if (!w->req || !w->evcon) return NULL;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(w->evcon);
    return bev ? bufferevent_get_output(bev) : NULL;
}

static int watch_out_empty(subs_owner *o)
{
    struct evbuffer *out = out_of(owner_watch(o));
    return out && evbuffer_get_length(out) == 0;
}

/* Called by evhttp when the stream's output is fully sent: the "lagged"
 * events owed, as on a MessagePack connection. */
static void drained_cb(struct evhttp_connection *evcon, void *arg)
{
    watch *w = arg;
    (void)evcon;
    if (w->owner.subs && watch_out_empty(&w->owner))
        subs_owner_drained(w->ws->s, &w->owner);
}

static void send_chunk(watch *w, struct evbuffer *ev)
{
    evhttp_send_reply_chunk_with_cb(w->req, ev, drained_cb, w);
}

/* Appends the packed notification msg ([2, method, [{...}]]) to ev as one
 * event: "id: SEQ" when the map has a seq, "event: METHOD", "data: " the
 * map as compact JSON (one line: JSON escapes line breaks).  A lagged
 * notification with a resume_from gets it as its id (and a short retry):
 * *resume is then set, and the stream is to end, so that the client
 * reconnects with Last-Event-ID and gets what was dropped.  Returns 0,
 * or -1 when msg is not such a notification or memory runs out. */
static int format_event(const char *msg, size_t len, struct evbuffer *ev, int *resume)
{
    *resume = 0;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = -1;
    if (msgpack_unpack_next(&u, msg, len, NULL) != MSGPACK_UNPACK_SUCCESS)
        goto out;
    const msgpack_object *o = &u.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3) goto out;
    const msgpack_object *name = &o->via.array.ptr[1], *params = &o->via.array.ptr[2];
    if (name->type != MSGPACK_OBJECT_STR || name->via.str.size == 0 ||
        name->via.str.size > 32 || params->type != MSGPACK_OBJECT_ARRAY ||
        params->via.array.size != 1 ||
        params->via.array.ptr[0].type != MSGPACK_OBJECT_MAP)
        goto out;
    for (uint32_t i = 0; i < name->via.str.size; i++) {
        char c = name->via.str.ptr[i];
        if (!((c >= 'a' && c <= 'z') || c == '_')) goto out;    /* our names */
    }
    const msgpack_object *m = &params->via.array.ptr[0];
    json_t *v = ps_msgpack_to_json(m);
    char *data = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!data) goto out;
    rc = 0;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR ||
            kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            continue;
        int seq = kv->key.via.str.size == 3 && memcmp(kv->key.via.str.ptr, "seq", 3) == 0;
        int from = kv->key.via.str.size == 11 &&
                   memcmp(kv->key.via.str.ptr, "resume_from", 11) == 0;
        if ((seq || from) && evbuffer_add_printf(ev, "%sid: %llu\n",
                                                 from ? "retry: 500\n" : "",
                                                 (unsigned long long)kv->val.via.u64) < 0)
            rc = -1;
        if (from) *resume = 1;
    }
    if (rc == 0 && evbuffer_add_printf(ev, "event: %.*s\ndata: %s\n\n",
                                       (int)name->via.str.size,
                                       name->via.str.ptr, data) < 0)
        rc = -1;
    free(data);
out:
    msgpack_unpacked_destroy(&u);
    return rc;
}

static void end_cb(evutil_socket_t fd, short what, void *arg);

/* subs_owner.notify: one event, unless the unsent output holds bytes and
 * would pass cap with it (then dropped: a "lagged" event follows once the
 * output drained). */
static int watch_notify(subs_owner *o, const char *msg, size_t len, uint64_t cap)
{
    watch *w = owner_watch(o);
    struct evbuffer *out = out_of(w), *ev = out ? evbuffer_new() : NULL;
    if (!ev) return -1;
    int resume = 0;
    int rc = format_event(msg, len, ev, &resume);
    size_t have = evbuffer_get_length(out), n = evbuffer_get_length(ev);
    if (rc == 0 && have > 0 && (have > cap || n > cap - have)) rc = -1;
    if (rc == 0) send_chunk(w, ev);
    evbuffer_free(ev);
    if (rc == 0 && resume) {
        /* Not here: the caller is walking the owner's subscriptions. */
        if (!w->end_ev) w->end_ev = evtimer_new(w->ws->s->base, end_cb, w);
        if (w->end_ev) event_active(w->end_ev, EV_TIMEOUT, 1);
    }
    return rc;
}

static void send_text(watch *w, const char *text)
{
    struct evbuffer *ev = evbuffer_new();
    if (!ev) return;
    if (evbuffer_add(ev, text, strlen(text)) == 0) send_chunk(w, ev);
    evbuffer_free(ev);
}

/* Unlinks a started stream, removes its subscription and frees it (not
 * its request). */
static void watch_close(watch *w)
{
    http_watches *ws = w->ws;
    atomic_store(&w->gone, 1);
    if (w->req) {
        if (w->prev) w->prev->next = w->next; else ws->list = w->next;
        if (w->next) w->next->prev = w->prev;
        if (--ws->n == 0) evtimer_del(ws->tick);
    }
    subs_owner_closed(ws->s, &w->owner);
    if (w->end_ev) event_free(w->end_ev);
    free(w);
}

/* Ends a started stream (the chunked reply is finished, then evhttp
 * closes the connection) and frees it. */
static void end_stream(watch *w)
{
    struct evhttp_request *req = w->req;
    evhttp_connection_set_closecb(w->evcon, NULL, NULL);
    watch_close(w);
    evhttp_send_reply_end(req);         /* then evhttp closes it */
}

/* subs_owner.taken: the stream's one subscription, a durable one, was
 * attached by another client (subscribe by name, or /watch?name= of
 * another stream) or removed (unsubscribe by name, DELETE
 * /subscriptions/NAME): a comment says so and the stream ends. */
static void watch_taken(subs_owner *o, const char *name, int removed)
{
    watch *w = owner_watch(o);
    if (!w->req) {              /* not started: http_watch_start ends it */
        w->taken = 1 + (removed != 0);
        return;
    }
    char text[160];
    snprintf(text, sizeof text, ": durable subscription '%.64s' %s; stream ended\n\n",
             name, removed ? "removed" : "taken by another client");
    send_text(w, text);
    end_stream(w);
}

/* After a lagged event with a resume point: the stream ends (an
 * EventSource reconnects with that point as its Last-Event-ID). */
static void end_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    end_stream(arg);
}

/* evhttp closes the stream's connection: the client went away (EOF,
 * error, a write timeout; evhttp detached the request, which is then
 * ours to free) or evhttp_free at exit (it frees the request itself). */
static void closed_cb(struct evhttp_connection *evcon, void *arg)
{
    watch *w = arg;
    struct evhttp_request *req = w->req;
    (void)evcon;
    int detached = evhttp_request_get_connection(req) == NULL;
    ps_log(PS_LOG_DEBUG, "http /watch: stream closed by the client");
    watch_close(w);
    if (detached) evhttp_request_free(req);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    http_watches *ws = arg;
    (void)fd;
    (void)what;
    for (watch *w = ws->list; w; w = w->next) {
        struct evbuffer *out = out_of(w);
        if (out && evbuffer_get_length(out) == 0)  /* else not idle */
            send_text(w, ": keep-alive\n\n");
    }
}

static void watch_free_cb(void *p)
{
    watch *w = p;
    subs_owner_closed(w->ws->s, &w->owner);
    free(w);
}

http_watches *http_watch_new(server *s)
{
    http_watches *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    ws->s = s;
    uint64_t ms = s->cfg->idle_ms / 2;
    if (ms > KEEPALIVE_MS) ms = KEEPALIVE_MS;
    if (ms < 100) ms = 100;
    ws->period.tv_sec = (time_t)(ms / 1000);
    ws->period.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    ws->tick = event_new(s->base, -1, EV_PERSIST, tick_cb, ws);
    if (!ws->tick) { free(ws); return NULL; }
    return ws;
}

int http_watch_prepare(http_watches *ws, job *j)
{
    watch *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(j->errmsg, sizeof j->errmsg, "out of memory");
        return ERR_INTERNAL;
    }
    w->ws = ws;
    atomic_init(&w->gone, 0);
    w->owner.notify = watch_notify;
    w->owner.out_empty = watch_out_empty;
    w->owner.taken = watch_taken;
    j->owner = &w->owner;
    j->gone = &w->gone;
    j->payload = w;
    j->payload_free = watch_free_cb;
    return -1;
}

void http_watch_start(http_watches *ws, job *j, struct evhttp_request *req)
{
    watch *w = j->payload;
    j->payload = NULL;
    j->payload_free = NULL;
    j->owner = NULL;
    j->gone = NULL;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (!evcon || evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        subs_owner_closed(ws->s, &w->owner);
        free(w);
        if (!evcon) {                   /* the client left: req is ours */
            evhttp_request_free(req);
            return;
        }
        evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
        evhttp_send_reply(req, 200, NULL, NULL);
        return;
    }
    evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "X-Accel-Buffering", "no");
    evhttp_add_header(h, "Connection", "close");
    evhttp_send_reply_start(req, 200, "OK");
    /* The stream is not idle while it waits for matches: no read timeout
     * (the client sends nothing more); a client that stops reading is
     * still closed after --idle-timeout by the write timeout. */
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    const searchd_config *c = ws->s->cfg;
    struct timeval idle = { (time_t)(c->idle_ms / 1000),
                            (suseconds_t)((c->idle_ms % 1000) * 1000) };
    if (bev) bufferevent_set_timeouts(bev, NULL, &idle);
    w->req = req;
    w->evcon = evcon;
    evhttp_connection_set_closecb(evcon, closed_cb, w);
    w->next = ws->list;
    if (ws->list) ws->list->prev = w;
    ws->list = w;
    if (ws->n++ == 0) evtimer_add(ws->tick, &ws->period);
    char hello[96];
    snprintf(hello, sizeof hello, ": polysearch watch, subscription %llu\n\n",
             (unsigned long long)j->sub);
    send_text(w, hello);
    ps_log(PS_LOG_DEBUG, "http /watch: subscription %llu streaming",
           (unsigned long long)j->sub);
    if (w->taken) watch_taken(&w->owner, "", w->taken - 1);
}

void http_watch_end_all(http_watches *ws)
{
    if (!ws) return;
    while (ws->list) {
        watch *w = ws->list;
        struct evhttp_request *req = w->req;
        evhttp_connection_set_closecb(w->evcon, NULL, NULL);
        watch_close(w);
        evhttp_send_reply_end(req);     /* then evhttp closes it */
    }
}

void http_watch_free(http_watches *ws)
{
    if (!ws) return;
    while (ws->list) {      /* not closed by evhttp_free: never seen */
        watch *w = ws->list;
        watch_close(w);
    }
    event_free(ws->tick);
    free(ws);
}
