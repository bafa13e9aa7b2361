/* conn.c: connections: scanning, decoding, dispatch, replies, deadlines,
 * back-pressure.  I/O thread only. */
#include "conn.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <msgpack.h>

#include "job.h"
#include "methods.h"
#include "rpc.h"
#include "stats.h"
#include "util.h"

typedef struct conn {
    server *srv;
    struct bufferevent *bev;    /* NULL once the socket is closed */
    struct conn *prev, *next;   /* srv->conns: every live struct */
    uint64_t id;
    ps_scanner sc;
    uint64_t frame_start_us;    /* 0: no partial frame being received */
    struct event *timer;        /* frame deadline / stalled output / flush */
    unsigned pending;           /* jobs at the workers */
    atomic_int gone;            /* socket closed: workers skip its jobs */
    int closing;                /* close once answered and flushed */
    int paused;                 /* reading paused: output over max_output */
} conn;

static void conn_close(conn *c, const char *why);
static int process_input(conn *c);

static void maybe_exit(server *s)
{
    if (s->shutting_down && s->nlive == 0)
        event_base_loopexit(s->base, NULL);
}

static void conn_unlink_free(conn *c)
{
    server *s = c->srv;
    if (c->prev) c->prev->next = c->next; else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nlive--;
    free(c);
    maybe_exit(s);
}

/* Closes the socket now.  The struct lives on (orphaned) until its last
 * job returns. */
static void conn_close(conn *c, const char *why)
{
    if (!c->bev) return;
    ps_log(PS_LOG_DEBUG, "conn %llu closed: %s", (unsigned long long)c->id, why);
    bufferevent_free(c->bev);
    c->bev = NULL;
    event_free(c->timer);
    c->timer = NULL;
    c->srv->nconns--;
    if (c->pending == 0) conn_unlink_free(c);
    else atomic_store(&c->gone, 1);
}

static void arm(conn *c, uint64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    evtimer_add(c->timer, &tv);
}

static size_t out_len(conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* After a reply or a state change: closes the connection when it is done
 * (closing or shutting down, nothing pending, nothing left to write). */
static int check_done(conn *c)
{
    if (!c->bev) return -1;
    if ((c->closing || c->srv->shutting_down) && c->pending == 0 &&
        out_len(c) == 0) {
        conn_close(c, c->closing ? "closed after reply" : "shutdown");
        return -1;
    }
    return 0;
}

static void conn_write(conn *c, const char *data, size_t len)
{
    if (!c->bev) return;
    if (evbuffer_add(bufferevent_get_output(c->bev), data, len) != 0) {
        c->closing = 1;     /* closed by the caller's check_done */
        return;
    }
    if (!c->paused && !c->closing && out_len(c) >= c->srv->cfg->max_output) {
        c->paused = 1;
        bufferevent_disable(c->bev, EV_READ);
        arm(c, c->srv->cfg->deadline_ms);   /* must drain by then */
        ps_log(PS_LOG_DEBUG, "conn %llu: output over max_output, reading paused",
               (unsigned long long)c->id);
    }
}

static void reply_error(conn *c, uint32_t msgid, searchd_err e, const char *msg)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (ps_rpc_pack_response_error(&pk, msgid, searchd_err_code(e), msg) == 0)
        conn_write(c, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Answers a job (success or error) and frees it. */
static void answer(conn *c, job *j)
{
    server *s = c->srv;
    uint64_t now = ps_now_us();
    if (j->err < 0 && now > j->deadline_us && !j->method->write) {
        j->err = ERR_TIMEOUT;
        snprintf(j->errmsg, sizeof j->errmsg,
                 "deadline of %llu ms exceeded",
                 (unsigned long long)s->cfg->deadline_ms);
    }
    if (j->err < 0 && j->method->finish) {
        msgpack_packer pk;
        msgpack_sbuffer_clear(&j->out);
        msgpack_packer_init(&pk, &j->out, msgpack_sbuffer_write);
        if (ps_rpc_pack_response_ok(&pk, j->msgid) != 0 ||
            j->method->finish(j, &pk, s) != 0) {
            j->err = ERR_INTERNAL;
            snprintf(j->errmsg, sizeof j->errmsg, "cannot encode the result");
        }
    }
    if (j->err >= 0)
        reply_error(c, j->msgid, (searchd_err)j->err, j->errmsg);
    else
        conn_write(c, j->out.data, j->out.size);
    stats_record(&s->stats, j->err, now - j->ready_us);
    job_free(j);
}

/* Reads a msgid from the start of a request frame that could not be
 * decoded (for example one that is too large), so the error can name it. */
static int peek_msgid(const uint8_t *p, size_t len, uint32_t *id)
{
    if (len < 3 || p[0] != 0x94 || p[1] != 0x00) return 0;
    if (p[2] <= 0x7f) { *id = p[2]; return 1; }
    if (p[2] == 0xcc && len >= 4) { *id = p[3]; return 1; }
    if (p[2] == 0xcd && len >= 5) { *id = (uint32_t)p[3] << 8 | p[4]; return 1; }
    if (p[2] == 0xce && len >= 7) {
        *id = (uint32_t)p[3] << 24 | (uint32_t)p[4] << 16 |
              (uint32_t)p[5] << 8 | p[6];
        return 1;
    }
    return 0;
}

static void dispatch(conn *c, const ps_rpc_msg *m, uint64_t start_us)
{
    server *s = c->srv;
    uint64_t now = ps_now_us();
    const method *me = methods_find(m->method, m->method_len);
    if (m->type == PS_RPC_NOTIFY) {
        /* Never answered, never closes the connection.  No method has an
         * effect worth running without an answer (writes must be
         * acknowledged), so every notification is logged and dropped. */
        ps_log(PS_LOG_DEBUG, "conn %llu: notification '%.*s' ignored%s",
               (unsigned long long)c->id,
               (int)(m->method_len > 64 ? 64 : m->method_len), m->method,
               me ? "" : " (unknown method)");
        return;
    }
    if (!me) {
        char msg[128];
        snprintf(msg, sizeof msg, "unknown method '%.*s'",
                 (int)(m->method_len > 64 ? 64 : m->method_len), m->method);
        reply_error(c, m->msgid, ERR_UNKNOWN_METHOD, msg);
        stats_record(&s->stats, ERR_UNKNOWN_METHOD, 0);
        return;
    }
    job *j = job_new(c, me, m->msgid);
    if (j) j->gone = &c->gone;
    if (!j) {
        reply_error(c, m->msgid, ERR_INTERNAL, "out of memory");
        stats_record(&s->stats, ERR_INTERNAL, 0);
        return;
    }
    j->ready_us = now;
    j->deadline_us = start_us + s->cfg->deadline_ms * 1000u;
    int e = me->parse(j, &m->params, s->cfg);
    if (e >= 0) {
        j->err = e;
        answer(c, j);
        return;
    }
    if (me->write) {
        if (!s->writer) {
            j->err = ERR_UNAVAILABLE;
            snprintf(j->errmsg, sizeof j->errmsg, "this daemon was started "
                     "with --read-only: %.*s is refused (restart it without "
                     "--read-only, or index with polysearch-index)",
                     (int)m->method_len, m->method);
            answer(c, j);
        } else if (writer_submit(s->writer, j) != 0) {
            j->err = ERR_BUSY;
            snprintf(j->errmsg, sizeof j->errmsg, "server busy: %u write "
                     "requests queued (write_queue limit)", s->cfg->write_queue);
            answer(c, j);
        } else {
            c->pending++;
        }
        return;
    }
    if (!me->exec) {
        answer(c, j);
        return;
    }
    if (workers_submit(s->pool, j) != 0) {
        j->err = ERR_BUSY;
        snprintf(j->errmsg, sizeof j->errmsg,
                 "server busy: %u requests queued (queue limit)", s->cfg->queue);
        answer(c, j);
        return;
    }
    c->pending++;
}

/* Handles one complete, scanner-checked frame. */
static void handle_frame(conn *c, const uint8_t *p, size_t len, uint64_t start)
{
    ps_rpc_msg m;
    const char *why = "malformed message";
    int known = 0;
    memset(&m, 0, sizeof m);
    if (ps_rpc_decode((const char *)p, len, &m, &why, &known) != 0) {
        if (m.type == PS_RPC_NOTIFY) {
            /* A notification is never answered, whatever is wrong with it. */
            ps_log(PS_LOG_DEBUG, "conn %llu: bad notification ignored: %s",
                   (unsigned long long)c->id, why);
        } else if (known) {
            reply_error(c, m.msgid, ERR_BAD_REQUEST, why);
            stats_record(&c->srv->stats, ERR_BAD_REQUEST, 0);
        } else {
            /* No msgid: the stream is not MessagePack-RPC (an HTTP line, a
             * TLS hello...).  Answer with msgid 0, then close. */
            reply_error(c, 0, ERR_BAD_REQUEST, why);
            stats_error(&c->srv->stats, ERR_BAD_REQUEST);
            c->closing = 1;
        }
        return;
    }
    if (m.type == PS_RPC_RESPONSE) {
        reply_error(c, m.msgid, ERR_BAD_REQUEST,
                    "responses are not accepted by the server");
        stats_record(&c->srv->stats, ERR_BAD_REQUEST, 0);
    } else {
        dispatch(c, &m, start);
    }
    ps_rpc_msg_destroy(&m);
}

/* Scans and dispatches every complete frame in the input buffer.  Returns
 * 0, or -1 when the connection was closed (c may be freed). */
static int process_input(conn *c)
{
    server *s = c->srv;
    const searchd_config *cfg = s->cfg;
    while (c->bev && !c->closing && !c->paused && !s->shutting_down) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        size_t len = evbuffer_get_length(in);
        if (len == 0) {
            c->frame_start_us = 0;
            break;
        }
        if (!c->frame_start_us) {
            c->frame_start_us = ps_now_us();
            arm(c, cfg->deadline_ms);
        }
        size_t want = len < cfg->max_frame + 16 ? len : cfg->max_frame + 16;
        const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)want);
        if (!p) { c->closing = 1; break; }
        size_t flen = 0;
        ps_scan_result r = ps_scanner_feed(&c->sc, p, want, &flen);
        if (r == PS_SCAN_NEED_MORE) break;
        if (r == PS_SCAN_INVALID) {
            uint32_t id = 0;
            int known = peek_msgid(p, want, &id);
            searchd_err e = c->sc.error == PS_SCAN_E_TOO_LARGE ? ERR_TOO_LARGE
                                                              : ERR_BAD_REQUEST;
            char msg[160];
            snprintf(msg, sizeof msg, "%s (max_frame %llu, max_depth %u)",
                     ps_scan_error_str(c->sc.error),
                     (unsigned long long)cfg->max_frame, cfg->max_depth);
            reply_error(c, known ? id : 0, e, msg);
            stats_error(&s->stats, e);
            c->closing = 1;
            evbuffer_drain(in, len);
            bufferevent_disable(c->bev, EV_READ);
            ps_log(PS_LOG_DEBUG, "conn %llu: invalid frame: %s",
                   (unsigned long long)c->id, msg);
            break;
        }
        uint64_t start = c->frame_start_us;
        handle_frame(c, p, flen, start);
        evbuffer_drain(in, flen);
        ps_scanner_init(&c->sc, cfg->max_frame, cfg->max_depth);
        c->frame_start_us = 0;
        /* The frame deadline ends here; a stall or flush timer stays. */
        if (!c->paused && !c->closing) evtimer_del(c->timer);
    }
    if (c->bev && c->closing) {
        bufferevent_disable(c->bev, EV_READ);
        arm(c, cfg->deadline_ms);   /* flush the last reply by then */
    }
    return check_done(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    (void)process_input(arg);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    (void)bev;
    /* The write low watermark is 0: called when the output is empty. */
    if (c->paused) {
        c->paused = 0;
        evtimer_del(c->timer);
        if (!c->closing && !c->srv->shutting_down) {
            bufferevent_enable(c->bev, EV_READ);
            /* A partial frame left in the buffer restarts its deadline. */
            c->frame_start_us = 0;
            if (process_input(c) != 0) return;
        }
    }
    (void)check_done(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_TIMEOUT) {
        if (c->pending > 0) {   /* waiting for our answer is not idleness */
            bufferevent_enable(c->bev, EV_READ);
            return;
        }
        conn_close(c, "idle timeout");
        return;
    }
    if (what & BEV_EVENT_EOF) {
        /* The client may have only shut down its sending side: answer what
         * is in flight, then close.  A partial frame is dropped. */
        c->closing = 1;
        bufferevent_disable(c->bev, EV_READ);
        if (c->pending == 0 && out_len(c) == 0) {
            conn_close(c, evbuffer_get_length(bufferevent_get_input(c->bev))
                          ? "EOF inside a frame" : "EOF");
            return;
        }
        arm(c, c->srv->cfg->deadline_ms);
        return;
    }
    conn_close(c, (what & BEV_EVENT_ERROR) ? strerror(EVUTIL_SOCKET_ERROR())
                                           : "event");
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    (void)fd;
    (void)what;
    if (c->closing) conn_close(c, "reply not flushed before the deadline");
    else if (c->paused) conn_close(c, "client not reading: output cap reached");
    else if (c->frame_start_us) {
        ps_log(PS_LOG_INFO, "conn %llu: request incomplete after %llu ms: closed",
               (unsigned long long)c->id,
               (unsigned long long)c->srv->cfg->deadline_ms);
        conn_close(c, "deadline");
    }
}

static void refuse(server *s, evutil_socket_t fd)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char msg[96];
    snprintf(msg, sizeof msg, "too many clients (max_clients %u)",
             s->cfg->max_clients);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (ps_rpc_pack_response_error(&pk, 0, "busy", msg) == 0) {
        ssize_t w = send(fd, sb.data, sb.size, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w;    /* best effort: the socket buffer is empty */
    }
    msgpack_sbuffer_destroy(&sb);
    evutil_closesocket(fd);
    stats_error(&s->stats, ERR_BUSY);
    ps_log(PS_LOG_WARN, "connection refused: %s", msg);
}

void conn_accept(server *s, evutil_socket_t fd)
{
    if (s->shutting_down) { evutil_closesocket(fd); return; }
    if (s->nconns >= s->cfg->max_clients) { refuse(s, fd); return; }
    evutil_make_socket_nonblocking(fd);
    conn *c = calloc(1, sizeof *c);
    if (c) atomic_init(&c->gone, 0);
    if (!c) { evutil_closesocket(fd); return; }
    c->srv = s;
    c->id = ++s->conn_seq;
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(s->base, timer_cb, c);
    if (!c->bev || !c->timer) {
        if (c->bev) bufferevent_free(c->bev); else evutil_closesocket(fd);
        if (c->timer) event_free(c->timer);
        free(c);
        return;
    }
    ps_scanner_init(&c->sc, s->cfg->max_frame, s->cfg->max_depth);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    /* Bound what is buffered before scanning: one frame plus slack. */
    bufferevent_setwatermark(c->bev, EV_READ, 0, s->cfg->max_frame + 65536);
    struct timeval idle = { (time_t)(s->cfg->idle_ms / 1000),
                            (suseconds_t)((s->cfg->idle_ms % 1000) * 1000) };
    bufferevent_set_timeouts(c->bev, &idle, NULL);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->nlive++;
    ps_log(PS_LOG_DEBUG, "conn %llu accepted", (unsigned long long)c->id);
}

void conn_done_cb(evutil_socket_t fd, short what, void *arg)
{
    server *s = arg;
    (void)fd;
    (void)what;
    job *j = workers_take_done(s->pool);
    if (s->writer) {                /* append the writer's answers */
        job **tail = &j;
        while (*tail) tail = &(*tail)->next;
        *tail = writer_take_done(s->writer);
        if (*tail)                  /* before the answers go out */
            workers_note_write(s->pool);
    }
    while (j) {
        job *next = j->next;
        conn *c = j->conn;
        c->pending--;
        if (!c->bev) {              /* orphaned: client went away */
            job_free(j);
            if (c->pending == 0) conn_unlink_free(c);
        } else {
            answer(c, j);
            (void)check_done(c);
        }
        j = next;
    }
}

void conn_shutdown_all(server *s)
{
    conn *c = s->conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (!c->bev) continue;
        bufferevent_disable(c->bev, EV_READ);
        (void)check_done(c);
    }
    maybe_exit(s);
}

void conn_free_all(server *s)
{
    while (s->conns) {
        conn *c = s->conns;
        c->pending = 0;
        if (c->bev) conn_close(c, "forced exit");   /* frees it */
        else conn_unlink_free(c);
    }
}
