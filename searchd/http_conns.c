/* http_conns.c: HTTP connections counted and given a request deadline
 * (http_conns.h). */
#include "http_conns.h"

#include <stdlib.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "util.h"

typedef struct hconn {
    struct hconn *prev, *next;
    http_conns *hc;
    struct bufferevent *bev;    /* one reference is ours */
    struct evbuffer_cb_entry *cb;
    uint64_t start_us;          /* first byte of the request being read;
                                   0 between requests and while answered */
    int over;                   /* accepted beyond max_clients */
    int shut;                   /* shut down at its deadline */
} hconn;

struct http_conns {
    server *s;
    hconn *list;
    struct event *sweep;
    struct timeval period;
};

static void input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                     void *arg)
{
    hconn *c = arg;
    (void)buf;
    if (info->n_added && !c->start_us)
        c->start_us = ps_now_us();
}

static void unlink_free(hconn *c)
{
    http_conns *hc = c->hc;
    if (c->prev) c->prev->next = c->next; else hc->list = c->next;
    if (c->next) c->next->prev = c->prev;
    evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->cb);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    bufferevent_decref(c->bev);         /* the last one: closes the socket */
    hc->s->http_nconns--;
    free(c);
}

/* Whether evhttp still owns c's bufferevent (see the header). */
static int alive(const hconn *c)
{
    bufferevent_event_cb ev = NULL;
    bufferevent_getcb(c->bev, NULL, NULL, &ev, NULL);
    return ev != NULL;
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    http_conns *hc = arg;
    (void)fd;
    (void)what;
    uint64_t now = ps_now_us(), limit = hc->s->cfg->deadline_ms * 1000u;
    hconn *c = hc->list, *next;
    for (; c; c = next) {
        next = c->next;
        if (!alive(c)) {
            unlink_free(c);
        } else if (c->start_us && !c->shut && now - c->start_us >= limit) {
            c->shut = 1;
            ps_log(PS_LOG_INFO, "http: request incomplete after %llu ms: "
                   "connection closed",
                   (unsigned long long)hc->s->cfg->deadline_ms);
            shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
        }
    }
}

http_conns *http_conns_new(server *s)
{
    http_conns *hc = calloc(1, sizeof *hc);
    if (!hc) return NULL;
    hc->s = s;
    uint64_t ms = s->cfg->deadline_ms / 4;
    if (ms < 20) ms = 20;
    if (ms > 1000) ms = 1000;
    hc->period.tv_sec = (time_t)(ms / 1000);
    hc->period.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    hc->sweep = event_new(s->base, -1, EV_PERSIST, sweep_cb, hc);
    if (!hc->sweep || event_add(hc->sweep, &hc->period) != 0) {
        if (hc->sweep) event_free(hc->sweep);
        free(hc);
        return NULL;
    }
    return hc;
}

struct bufferevent *http_conns_bevcb(struct event_base *base, void *arg)
{
    http_conns *hc = arg;
    hconn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) { free(c); return NULL; }
    c->cb = evbuffer_add_cb(bufferevent_get_input(c->bev), input_cb, c);
    if (!c->cb) {
        bufferevent_free(c->bev);
        free(c);
        return NULL;
    }
    bufferevent_incref(c->bev);
    c->hc = hc;
    c->over = hc->s->http_nconns >= hc->s->cfg->max_clients;
    c->next = hc->list;
    if (hc->list) hc->list->prev = c;
    hc->list = c;
    hc->s->http_nconns++;
    return c->bev;
}

uint64_t http_conns_request(http_conns *hc, struct evhttp_request *req,
                            int *over)
{
    uint64_t now = ps_now_us(), start = now;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    *over = 0;
    for (hconn *c = hc->list; bev && c; c = c->next) {
        if (c->bev != bev) continue;
        if (c->start_us) start = c->start_us;
        *over = c->over;
        /* Bytes of a pipelined next request start its deadline now. */
        c->start_us = evbuffer_get_length(bufferevent_get_input(bev)) ? now : 0;
        break;
    }
    return start;
}

void http_conns_free(http_conns *hc)
{
    if (!hc) return;
    while (hc->list) unlink_free(hc->list);
    if (hc->sweep) event_free(hc->sweep);
    free(hc);
}
