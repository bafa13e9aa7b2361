/* conn.c: connections: scanning, decoding, dispatch, replies, deadlines,
 * back-pressure.  I/O thread only. */
#include "conn.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <msgpack.h>

#include "access.h"
#include "job.h"
#include "methods.h"
#include "rpc.h"
#include "stats.h"
#include "subs.h"
#include "util.h"

/* Connection states.  A connection is in exactly one; conn_set_state()
 * is the only place that changes it (after conn_accept's initial READING)
 * and logs every transition at debug level.  The one timer of a
 * connection (c->timer, always --deadline long) means what the state says.
 * Jobs at the workers or the writer (c->pending) are counted in every
 * state: requests are pipelined.
 *
 *   CONN_READING   socket open, reading, between frames: nothing of the
 *                  next frame received.  No timer; the idle timeout
 *                  (--idle-timeout, bufferevent read timeout) applies.
 *   CONN_IN_FRAME  part of a frame received: the frame deadline (from its
 *                  first byte) is armed; frame_start_us is that time.
 *   CONN_PAUSED    output buffer at --max-output: reading disabled, the
 *                  stall deadline armed (the client must drain by then).
 *                  A partial frame waits in the input buffer.
 *   CONN_CLOSING   the client is done or must go: reading disabled, the
 *                  requests in flight are answered, the output flushed,
 *                  then the socket is closed; the flush deadline is armed.
 *   CONN_ORPHANED  socket closed while jobs are out: the struct waits for
 *                  them (gone tells the threads to skip them) and their
 *                  answers are dropped.
 *   CONN_CLOSED    socket closed and nothing out: the struct is freed at
 *                  once (the state only shows in the log).
 *
 * Transitions (event: from -> to):
 *   conn_accept:                         -> READING
 *   first byte of a frame (process_input): READING -> IN_FRAME, arm
 *   frame complete and handled:          IN_FRAME -> READING, disarm
 *   output reaches max_output (conn_write): READING, IN_FRAME -> PAUSED,
 *                                        stop reading, arm
 *   output drained (write_cb):           PAUSED -> READING, disarm, read
 *                                        again (-> IN_FRAME at once when a
 *                                        partial frame is buffered)
 *   frame rejected by the scanner, a stream that is not MessagePack-RPC
 *   (no msgid), EOF with requests in flight or output unflushed (a
 *   half-closed client), out of memory:  READING, IN_FRAME, PAUSED ->
 *                                        CLOSING (start_closing: stop
 *                                        reading, arm)
 *   CLOSING with nothing out or unflushed (check_done): -> CLOSED
 *   the timer fires (frame, stall or flush deadline), idle timeout with
 *   nothing out, EOF with nothing to answer, socket error, forced exit:
 *                                        any open state -> CLOSED, or ->
 *                                        ORPHANED when jobs are out
 *   last job back (conn_done_cb):        ORPHANED -> CLOSED
 *
 * Server shutdown (SIGTERM, srv->shutting_down) is not a connection
 * state: conn_shutdown_all stops reading on every open connection, which
 * then closes as soon as it has nothing out and nothing unflushed
 * (check_done) whatever its state; the deadlines armed keep running and
 * PAUSED -> READING no longer reads again.
 *
 * Notifications are never answered and never change the state.
 */
enum conn_state {
    CONN_READING,
    CONN_IN_FRAME,
    CONN_PAUSED,
    CONN_CLOSING,
    CONN_ORPHANED,
    CONN_CLOSED
};

typedef struct conn {
    server *srv;
    enum conn_state state;
    struct bufferevent *bev;    /* NULL from ORPHANED on */
    struct conn *prev, *next;   /* srv->conns: every live struct */
    uint64_t id;
    ps_scanner sc;
    uint64_t frame_start_us;    /* IN_FRAME: first byte of the frame */
    struct event *timer;        /* the state's deadline; NULL from ORPHANED */
    unsigned pending;           /* jobs at the workers or the writer */
    atomic_int gone;            /* set on ORPHANED: read by the workers,
                                   the writer and the alert thread
                                   (j->gone), which skip its jobs */
    subs_owner owner;           /* its subscriptions (subs.h) */
    auth_role role;             /* granted by auth (access.h) */
    char principal[AUTH_OWNER_LEN + 1];  /* the owner id of auth's token */
} conn;

static void conn_close(conn *c, const char *why);
static int process_input(conn *c);

static const char *state_name(enum conn_state st)
{
    switch (st) {
    case CONN_READING: return "reading";
    case CONN_IN_FRAME: return "in-frame";
    case CONN_PAUSED: return "paused";
    case CONN_CLOSING: return "closing";
    case CONN_ORPHANED: return "orphaned";
    case CONN_CLOSED: return "closed";
    }
    return "?";
}

/* The one place a connection changes state (see the table above); why
 * (may be NULL) goes into the debug log. */
static void conn_set_state(conn *c, enum conn_state to, const char *why)
{
    if (c->state == to) return;
    ps_log(PS_LOG_DEBUG, "conn %llu: %s -> %s%s%s%s", (unsigned long long)c->id,
           state_name(c->state), state_name(to), why ? " (" : "", why ? why : "",
           why ? ")" : "");
    c->state = to;
}

/* Whether the socket is still open (READING to CLOSING). */
static int sock_open(const conn *c)
{
    return c->state <= CONN_CLOSING;
}

/* Whether the connection reads and scans frames (READING, IN_FRAME). */
static int reading(const conn *c)
{
    return c->state == CONN_READING || c->state == CONN_IN_FRAME;
}

static void maybe_exit(server *s)
{
    if (s->shutting_down && s->nlive == 0 && s->http_pending == 0)
        event_base_loopexit(s->base, NULL);
}

void conn_maybe_exit(server *s)
{
    maybe_exit(s);
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

/* Closes the socket now: CLOSED (freed), or ORPHANED until its last job
 * returns.  Nothing when the socket is already closed. */
static void conn_close(conn *c, const char *why)
{
    if (!sock_open(c)) return;
    bufferevent_free(c->bev);
    c->bev = NULL;
    event_free(c->timer);
    c->timer = NULL;
    c->srv->nconns--;
    /* gone first: a subscribe job still queued is then skipped by the
     * alert thread, or removed by the removal that follows. */
    atomic_store(&c->gone, 1);
    subs_owner_closed(c->srv, &c->owner);
    if (c->pending == 0) {
        conn_set_state(c, CONN_CLOSED, why);
        conn_unlink_free(c);
    } else {
        conn_set_state(c, CONN_ORPHANED, why);
    }
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

/* IN_FRAME -> READING: the frame deadline ends (a stall or flush
 * deadline of another state stays). */
static void end_frame(conn *c)
{
    if (c->state != CONN_IN_FRAME) return;
    conn_set_state(c, CONN_READING, NULL);
    evtimer_del(c->timer);
}

/* READING, IN_FRAME or PAUSED -> CLOSING: stops reading and arms the
 * flush deadline for the requests in flight and the output.  Nothing when
 * already closing or closed. */
static void start_closing(conn *c, const char *why)
{
    if (!sock_open(c) || c->state == CONN_CLOSING) return;
    conn_set_state(c, CONN_CLOSING, why);
    bufferevent_disable(c->bev, EV_READ);
    arm(c, c->srv->cfg->deadline_ms);
}

/* After a reply or a state change: closes the connection when it is done
 * (CLOSING or shutting down, nothing pending, nothing left to write).
 * Returns 0, or -1 when the socket is closed (c may be freed). */
static int check_done(conn *c)
{
    if (!sock_open(c)) return -1;
    int closing = c->state == CONN_CLOSING;
    if ((closing || c->srv->shutting_down) && c->pending == 0 &&
        out_len(c) == 0) {
        conn_close(c, closing ? "closed after reply" : "shutdown");
        return -1;
    }
    return 0;
}

static void conn_write(conn *c, const char *data, size_t len)
{
    if (!sock_open(c)) return;
    if (evbuffer_add(bufferevent_get_output(c->bev), data, len) != 0) {
        start_closing(c, "out of memory");  /* the caller's check_done */
        return;
    }
    if (reading(c) && out_len(c) >= c->srv->cfg->max_output) {
        conn_set_state(c, CONN_PAUSED, "output over max_output");
        bufferevent_disable(c->bev, EV_READ);
        arm(c, c->srv->cfg->deadline_ms);   /* must drain by then */
    }
}

/* The connection of its subs_owner. */
static conn *owner_conn(subs_owner *o)
{
    return (conn *)(void *)((char *)o - offsetof(conn, owner));
}

/* subs_owner.notify: written unless the output holds bytes and would pass
 * cap with it; never pauses reading (requests' answers do, at
 * --max-output). */
static int conn_notify(subs_owner *o, const char *data, size_t len, uint64_t cap)
{
    conn *c = owner_conn(o);
    if (!sock_open(c)) return -1;
    size_t have = out_len(c);
    if (have > 0 && (have > cap || len > cap - have)) return -1;
    return evbuffer_add(bufferevent_get_output(c->bev), data, len) == 0 ? 0 : -1;
}

static int conn_out_empty(subs_owner *o)
{
    conn *c = owner_conn(o);
    return sock_open(c) && out_len(c) == 0;
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
    job_expire(j, now, s->cfg->deadline_ms);
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
    if (j) {
        j->gone = &c->gone;
        j->owner = &c->owner;
    }
    if (!j) {
        reply_error(c, m->msgid, ERR_INTERNAL, "out of memory");
        stats_record(&s->stats, ERR_INTERNAL, 0);
        return;
    }
    j->ready_us = now;
    j->deadline_us = start_us + s->cfg->deadline_ms * 1000u;
    msgpack_object params;
    int failed = 0;
    int e = access_rpc(s, &c->role, c->principal, me, &m->params, j, &params, &failed);
    if (failed) {
        /* A wrong token: answered after the delay (a timer; everyone else
         * is served meanwhile), then the connection closes. */
        j->err = e;
        start_closing(c, "wrong token");
        arm(c, s->cfg->deadline_ms + ACCESS_FAIL_DELAY_MS);
        if (access_delay(s, j) == 0)
            c->pending++;
        else
            answer(c, j);
        return;
    }
    if (e < 0) e = me->parse(j, &params, s->cfg);
    if (e < 0 && me->io) e = me->io(j, s);
    if (e == -2) {              /* handed to another thread (subscribe) */
        c->pending++;
        return;
    }
    if (e >= 0) {
        j->err = e;
        answer(c, j);
        return;
    }
    if (conn_submit_job(s, j) == 0)
        c->pending++;
    else
        answer(c, j);
}

int conn_submit_job(server *s, job *j)
{
    const method *me = j->method;
    if (me->write) {
        if (!s->writer) {
            j->err = ERR_UNAVAILABLE;
            snprintf(j->errmsg, sizeof j->errmsg, "this daemon was started "
                     "with --read-only: %s is refused (restart it without "
                     "--read-only, or index with polysearch-index)", me->name);
            return -1;
        }
        if (writer_submit(s->writer, j) != 0) {
            j->err = ERR_BUSY;
            snprintf(j->errmsg, sizeof j->errmsg, "server busy: %u write "
                     "requests queued (write_queue limit)", s->cfg->write_queue);
            return -1;
        }
        return 0;
    }
    if (!me->exec)
        return -1;              /* answered on the I/O thread: a success */
    if (workers_submit(s->pool, j) != 0) {
        j->err = ERR_BUSY;
        snprintf(j->errmsg, sizeof j->errmsg,
                 "server busy: %u requests queued (queue limit)", s->cfg->queue);
        return -1;
    }
    return 0;
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
            start_closing(c, "not MessagePack-RPC");
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
    while (reading(c) && !s->shutting_down) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        size_t len = evbuffer_get_length(in);
        if (len == 0) {
            end_frame(c);       /* not expected: a frame ends when handled */
            break;
        }
        if (c->state == CONN_READING) {
            c->frame_start_us = ps_now_us();
            conn_set_state(c, CONN_IN_FRAME, NULL);
            arm(c, cfg->deadline_ms);
        }
        size_t want = len < cfg->max_frame + 16 ? len : cfg->max_frame + 16;
        const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)want);
        if (!p) {
            start_closing(c, "out of memory");
            break;
        }
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
            evbuffer_drain(in, len);
            ps_log(PS_LOG_DEBUG, "conn %llu: invalid frame: %s",
                   (unsigned long long)c->id, msg);
            start_closing(c, "invalid frame");  /* flush the reply, close */
            break;
        }
        /* May answer at once, and so pause or start closing. */
        handle_frame(c, p, flen, c->frame_start_us);
        evbuffer_drain(in, flen);
        ps_scanner_init(&c->sc, cfg->max_frame, cfg->max_depth);
        end_frame(c);
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
    if (c->state == CONN_PAUSED) {
        evtimer_del(c->timer);
        conn_set_state(c, CONN_READING, "output drained");
        if (!c->srv->shutting_down) {
            bufferevent_enable(c->bev, EV_READ);
            /* A partial frame left in the buffer restarts its deadline. */
            if (process_input(c) != 0) return;
        }
    }
    if (c->owner.subs && conn_out_empty(&c->owner)) /* lagged notifications */
        subs_owner_drained(c->srv, &c->owner);
    (void)check_done(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_TIMEOUT) {
        if (c->pending > 0 || subs_owner_count(&c->owner) > 0) {
            /* waiting for our answer, or for notifications, is not
             * idleness */
            bufferevent_enable(c->bev, EV_READ);
            return;
        }
        conn_close(c, "idle timeout");
        return;
    }
    if (what & BEV_EVENT_EOF) {
        /* The client may have only shut down its sending side: answer what
         * is in flight, then close.  A partial frame is dropped. */
        if (c->pending == 0 && out_len(c) == 0) {
            conn_close(c, evbuffer_get_length(bufferevent_get_input(c->bev))
                          ? "EOF inside a frame" : "EOF");
            return;
        }
        start_closing(c, "EOF: answering what is in flight");
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
    switch (c->state) {
    case CONN_CLOSING:
        conn_close(c, "reply not flushed before the deadline");
        break;
    case CONN_PAUSED:
        conn_close(c, "client not reading: output cap reached");
        break;
    case CONN_IN_FRAME:
        ps_log(PS_LOG_INFO, "conn %llu: request incomplete after %llu ms: closed",
               (unsigned long long)c->id,
               (unsigned long long)c->srv->cfg->deadline_ms);
        conn_close(c, "deadline");
        break;
    case CONN_READING:          /* no deadline of its own */
    case CONN_ORPHANED:         /* no timer any more */
    case CONN_CLOSED:
        break;
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
    c->owner.notify = conn_notify;
    c->owner.out_empty = conn_out_empty;
    c->state = CONN_READING;
    c->role = access_conn_role(s);
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
    {                               /* then the alert thread's */
        job **tail = &j;
        while (*tail) tail = &(*tail)->next;
        *tail = alerts_take_done(s->alerts);
    }
    while (j) {
        job *next = j->next;
        conn_job_back(s, j);
        j = next;
    }
}

void conn_job_back(server *s, job *j)
{
    j->next = NULL;
    if (j->done) {                  /* another front end's (http.c) */
        j->done(j, s);
        return;
    }
    conn *c = j->conn;
    if (!c) {                       /* notifications (subs.h) */
        subs_deliver(s, j);
        return;
    }
    if (j->method->done) j->method->done(j, s);
    c->pending--;
    if (c->state == CONN_ORPHANED) {        /* client went away */
        job_free(j);
        if (c->pending == 0) {
            conn_set_state(c, CONN_CLOSED, "last job returned");
            conn_unlink_free(c);
        }
    } else {
        answer(c, j);
        (void)check_done(c);
    }
}

void conn_shutdown_all(server *s)
{
    conn *c = s->conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (!sock_open(c)) continue;
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
        if (sock_open(c)) {
            conn_close(c, "forced exit");           /* frees it */
        } else {
            conn_set_state(c, CONN_CLOSED, "forced exit");
            conn_unlink_free(c);
        }
    }
}
