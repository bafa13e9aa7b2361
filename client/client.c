/* client.c: libpolysearch-client connection, I/O and calls (see
 * polysearch-client.h for the contracts).
 *
 * The socket is non-blocking; every wait is a poll() bounded by the call's
 * deadline, EINTR is retried, and writes use MSG_NOSIGNAL so a closed peer
 * gives EPIPE instead of SIGPIPE.  Incoming bytes go through ps_scanner
 * before msgpack-c sees them.
 */
#include "polysearch-client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>

#include "addr.h"
#include "client_internal.h"
#include "rpc.h"

#ifndef PSC_VERSION
#define PSC_VERSION "0.0.0"
#endif

/* A reply read while waiting for another msgid. */
typedef struct pending_reply {
    uint32_t msgid;
    char *frame;
    size_t len;
} pending_reply;

struct psc_client {
    int fd;
    int timeout_ms;
    size_t max_reply;
    uint32_t next_msgid;
    int broken;
    char errcode[32];
    char errmsg[512];
    uint8_t *rbuf;          /* bytes received, starting at a frame */
    size_t rlen, rcap;
    ps_scanner sc;
    pending_reply *pend;
    size_t npend, cappend;
    psci_nqueue nq;         /* notifications not yet handed out */
};

const char *psc_version(void)
{
    return PSC_VERSION;
}

const char *psc_status_str(psc_status st)
{
    switch (st) {
    case PSC_OK: return "success";
    case PSC_ERR_INVALID: return "invalid argument";
    case PSC_ERR_CONNECT: return "cannot connect";
    case PSC_ERR_TIMEOUT: return "timed out";
    case PSC_ERR_IO: return "connection closed or broken";
    case PSC_ERR_PROTOCOL: return "protocol error in the reply";
    case PSC_ERR_SERVER: return "server error";
    case PSC_ERR_NOMEM: return "out of memory";
    }
    return "unknown status";
}

/* ---- Errors ------------------------------------------------------------ */

/* Records code + message on c and returns st.  Local failures that leave
 * the stream in an unknown state mark the connection broken. */
__attribute__((format(printf, 4, 5)))
static psc_status fail(psc_client *c, psc_status st, const char *code,
                       const char *fmt, ...)
{
    va_list ap;
    snprintf(c->errcode, sizeof c->errcode, "%s", code);
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    if (st == PSC_ERR_TIMEOUT || st == PSC_ERR_IO || st == PSC_ERR_PROTOCOL)
        c->broken = 1;
    return st;
}

static void clear_error(psc_client *c)
{
    c->errcode[0] = '\0';
    c->errmsg[0] = '\0';
}

const char *psc_last_error_code(const psc_client *c)
{
    return c ? c->errcode : "invalid";
}

const char *psc_last_error_message(const psc_client *c)
{
    return c ? c->errmsg : "no client";
}

int psc_fd(const psc_client *c)
{
    return c ? c->fd : -1;
}

void psc_set_timeout(psc_client *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : PSC_DEFAULT_TIMEOUT_MS;
}

void psc_set_max_reply(psc_client *c, size_t max_bytes)
{
    c->max_reply = max_bytes ? max_bytes : PSC_DEFAULT_MAX_REPLY;
    ps_scanner_init(&c->sc, c->max_reply, 0);
}

/* ---- Time -------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline (0 when passed), for poll(). */
static int ms_left(int64_t deadline)
{
    int64_t left = deadline - now_ms();
    if (left <= 0)
        return 0;
    return left > 1000000000 ? 1000000000 : (int)left;
}

/* Waits for events on fd until deadline.  Returns 1 ready, 0 timed out,
 * -1 error (errno). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
        int left = ms_left(deadline);
        int r = poll(&p, 1, left);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* ---- Connect ----------------------------------------------------------- */

/* Non-blocking connect of fd to sa with a deadline.  Returns 0, or -1 with
 * errno (ETIMEDOUT when the deadline passed). */
static int connect_with_deadline(int fd, const struct sockaddr *sa,
                                 socklen_t salen, int64_t deadline)
{
    if (connect(fd, sa, salen) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR && errno != EAGAIN)
        return -1;
    int r = wait_fd(fd, POLLOUT, deadline);
    if (r == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    if (r < 0)
        return -1;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
        return -1;
    if (soerr != 0) {
        errno = soerr;
        return -1;
    }
    return 0;
}

static int open_socket(int family)
{
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

/* Connects to a parsed address; returns the fd or -1 with errno (and for
 * resolution failures *gai set to the getaddrinfo code). */
static int connect_addr(const ps_addr *a, int64_t deadline, int *gai)
{
    *gai = 0;
    if (a->kind == PS_ADDR_UNIX) {
        struct sockaddr_un sun;
        memset(&sun, 0, sizeof sun);
        sun.sun_family = AF_UNIX;
        memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
        int fd = open_socket(AF_UNIX);
        if (fd < 0)
            return -1;
        if (connect_with_deadline(fd, (struct sockaddr *)&sun,
                                  (socklen_t)sizeof sun, deadline) != 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        return fd;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int r = getaddrinfo(a->host, a->port_str, &hints, &res);
    if (r != 0) {
        *gai = r;
        return -1;
    }
    int fd = -1, e = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = open_socket(ai->ai_family);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect_with_deadline(fd, ai->ai_addr, ai->ai_addrlen,
                                  deadline) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
        if (e == ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        errno = e;
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Sets *err to a malloc'd copy of the formatted message (if err). */
__attribute__((format(printf, 2, 3)))
static void set_connect_err(char **err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    *err = strdup(buf);
}

psc_status psc_connect(const char *addr, int connect_timeout_ms,
                       psc_client **out, char **err)
{
    *out = NULL;
    if (err)
        *err = NULL;
    if (addr == NULL)
        addr = PSC_DEFAULT_ADDR;
    static const ps_addr_opts connect_opts = PS_ADDR_CONNECT;
    ps_addr a;
    char why[256];
    if (ps_addr_parse(addr, &connect_opts, &a, why, sizeof why) != 0) {
        set_connect_err(err, "invalid address '%s': %s", addr, why);
        return PSC_ERR_INVALID;
    }
    if (connect_timeout_ms <= 0)
        connect_timeout_ms = PSC_DEFAULT_TIMEOUT_MS;
    int gai = 0;
    int fd = connect_addr(&a, now_ms() + connect_timeout_ms, &gai);
    if (fd < 0) {
        if (gai != 0) {
            set_connect_err(err, "cannot connect to %s: %s", addr,
                            gai_strerror(gai));
            return PSC_ERR_CONNECT;
        }
        int e = errno;
        set_connect_err(err, "cannot connect to %s: %s", addr, strerror(e));
        return e == ETIMEDOUT ? PSC_ERR_TIMEOUT : PSC_ERR_CONNECT;
    }
    psc_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        set_connect_err(err, "out of memory");
        return PSC_ERR_NOMEM;
    }
    c->fd = fd;
    c->timeout_ms = PSC_DEFAULT_TIMEOUT_MS;
    c->next_msgid = 1;
    psc_set_max_reply(c, 0);
    *out = c;
    return PSC_OK;
}

void psc_close(psc_client *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    for (size_t i = 0; i < c->npend; i++)
        free(c->pend[i].frame);
    free(c->pend);
    psci_nqueue_clear(&c->nq);
    free(c->rbuf);
    free(c);
}

/* ---- Sending ----------------------------------------------------------- */

/* Waits until c's socket is ready for events (POLLOUT: sending the
 * request, POLLIN: a reply) before deadline.  Returns PSC_OK, or the
 * timeout or poll failure recorded on c. */
static psc_status await_socket(psc_client *c, short events, int64_t deadline)
{
    int r = wait_fd(c->fd, events, deadline);
    if (r < 0)
        return fail(c, PSC_ERR_IO, "io", "poll: %s", strerror(errno));
    if (r == 0 && events == POLLOUT)
        return fail(c, PSC_ERR_TIMEOUT, "timeout",
                    "timed out after %d ms sending the request",
                    c->timeout_ms);
    if (r == 0)
        return fail(c, PSC_ERR_TIMEOUT, "timeout",
                    "no reply from the daemon within %d ms", c->timeout_ms);
    return PSC_OK;
}

/* Writes all of data before deadline. */
static psc_status send_all(psc_client *c, const char *data, size_t len,
                           int64_t deadline)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(c->fd, data + done, len - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            psc_status st = await_socket(c, POLLOUT, deadline);
            if (st != PSC_OK)
                return st;
            continue;
        }
        return fail(c, PSC_ERR_IO, "io", "sending to the daemon: %s",
                    n < 0 ? strerror(errno) : "short write");
    }
    return PSC_OK;
}

psc_status psci_send_packed(psc_client *c, const msgpack_sbuffer *sb,
                            uint32_t msgid, uint32_t *msgid_out)
{
    if (c->broken)
        return fail(c, PSC_ERR_IO, "io",
                    "connection unusable after an earlier error");
    psc_status st = send_all(c, sb->data, sb->size, now_ms() + c->timeout_ms);
    if (st == PSC_OK && msgid_out)
        *msgid_out = msgid;
    return st;
}

uint32_t psci_next_msgid(psc_client *c)
{
    uint32_t id = c->next_msgid++;
    if (c->next_msgid == 0)
        c->next_msgid = 1;
    return id;
}

void psci_clear_error(psc_client *c)
{
    clear_error(c);
}

psc_status psci_fail(psc_client *c, psc_status st, const char *code,
                     const char *msg)
{
    return fail(c, st, code, "%s", msg);
}

/* ---- Receiving --------------------------------------------------------- */

/* Reads one complete, scanner-checked frame before deadline into a new
 * malloc'd buffer.  When timed_out is not NULL, a deadline passing is no
 * failure: *timed_out = 1, PSC_OK, *frame NULL, and the connection stays
 * usable (bytes of a partial frame stay buffered).  With timed_out NULL it
 * is PSC_ERR_TIMEOUT, which makes the connection unusable. */
static psc_status read_frame(psc_client *c, int64_t deadline, char **frame,
                             size_t *flen, int *timed_out)
{
    *frame = NULL;
    for (;;) {
        if (c->rlen > 0) {
            size_t n = 0;
            ps_scan_result r = ps_scanner_feed(&c->sc, c->rbuf, c->rlen, &n);
            if (r == PS_SCAN_COMPLETE) {
                char *f = malloc(n ? n : 1);
                if (f == NULL)
                    return fail(c, PSC_ERR_NOMEM, "nomem", "out of memory");
                memcpy(f, c->rbuf, n);
                memmove(c->rbuf, c->rbuf + n, c->rlen - n);
                c->rlen -= n;
                ps_scanner_init(&c->sc, c->max_reply, 0);
                *frame = f;
                *flen = n;
                return PSC_OK;
            }
            if (r == PS_SCAN_INVALID)
                return fail(c, PSC_ERR_PROTOCOL, "protocol",
                            "invalid reply from the daemon: %s (max reply "
                            "%zu bytes)", ps_scan_error_str(c->sc.error),
                            c->max_reply);
        }
        if (c->rcap - c->rlen < 4096) {
            size_t ncap = c->rcap ? c->rcap * 2 : 16384;
            uint8_t *nb = realloc(c->rbuf, ncap);
            if (nb == NULL)
                return fail(c, PSC_ERR_NOMEM, "nomem", "out of memory");
            c->rbuf = nb;
            c->rcap = ncap;
        }
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (n > 0) {
            c->rlen += (size_t)n;
            continue;
        }
        if (n == 0)
            return fail(c, PSC_ERR_IO, "io",
                        "the daemon closed the connection");
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return fail(c, PSC_ERR_IO, "io", "receiving from the daemon: %s",
                        strerror(errno));
        if (timed_out != NULL) {
            int r = wait_fd(c->fd, POLLIN, deadline);
            if (r < 0)
                return fail(c, PSC_ERR_IO, "io", "poll: %s", strerror(errno));
            if (r == 0) {
                *timed_out = 1;
                return PSC_OK;
            }
            continue;
        }
        psc_status st = await_socket(c, POLLIN, deadline);
        if (st != PSC_OK)
            return st;
    }
}

/* Looks up a string key in a msgpack map; NULL when absent. */
const msgpack_object *psci_map_get(const msgpack_object *m, const char *key)
{
    if (m->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR &&
            kv->key.via.str.size == klen &&
            memcmp(kv->key.via.str.ptr, key, klen) == 0)
            return &kv->val;
    }
    return NULL;
}

/* Copies a msgpack string into buf (truncated, NUL-terminated). */
static void copy_str(char *buf, size_t cap, const msgpack_object *o,
                     const char *dflt)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_STR) {
        snprintf(buf, cap, "%s", dflt);
        return;
    }
    size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
    memcpy(buf, o->via.str.ptr, n);
    buf[n] = '\0';
}

/* Decodes a frame and, when it is not the reply awaited (`awaiting` and
 * its msgid is msgid), keeps it: a reply for its own psci_recv_reply, a
 * notification in c's notification queue.  Takes frame.  Returns 1 when
 * *rep holds the awaited reply, 0 when kept, or -1 with *st set on
 * failure. */
static int take_frame(psc_client *c, int awaiting, uint32_t msgid,
                      char *frame, size_t len, psc_reply *rep,
                      psc_status *st)
{
    const char *why = NULL;
    int known = 0;
    ps_rpc_msg msg;
    memset(&msg, 0, sizeof msg);
    if (ps_rpc_decode(frame, len, &msg, &why, &known) != 0) {
        free(frame);
        *st = fail(c, PSC_ERR_PROTOCOL, "protocol",
                   "malformed reply from the daemon: %s", why ? why : "?");
        return -1;
    }
    if (msg.type != PS_RPC_RESPONSE) {
        /* A notification (match, lagged) waits in the queue for
         * psc_next_notification, whatever call is waiting now. */
        psc_status nst = PSC_OK;
        if (msg.type == PS_RPC_NOTIFY)
            nst = psci_notify_keep(c, &c->nq, &msg);
        else
            nst = fail(c, PSC_ERR_PROTOCOL, "protocol",
                       "unexpected request message from the daemon");
        ps_rpc_msg_destroy(&msg);
        free(frame);
        if (nst == PSC_OK)
            return 0;
        *st = nst;
        return -1;
    }
    if (awaiting && msg.msgid == msgid) {
        rep->frame = frame;
        rep->msg = msg;
        return 1;
    }
    uint32_t other = msg.msgid;
    ps_rpc_msg_destroy(&msg);
    if (c->npend >= PSC_MAX_PENDING) {
        free(frame);
        *st = fail(c, PSC_ERR_PROTOCOL, "protocol",
                   "more than %u unclaimed replies kept", PSC_MAX_PENDING);
        return -1;
    }
    if (c->npend == c->cappend) {
        size_t ncap = c->cappend ? c->cappend * 2 : 8;
        pending_reply *np = realloc(c->pend, ncap * sizeof *np);
        if (np == NULL) {
            free(frame);
            *st = fail(c, PSC_ERR_NOMEM, "nomem", "out of memory");
            return -1;
        }
        c->pend = np;
        c->cappend = ncap;
    }
    c->pend[c->npend++] = (pending_reply){ other, frame, len };
    return 0;
}

psc_status psci_recv_reply(psc_client *c, uint32_t msgid, psc_reply *rep)
{
    memset(rep, 0, sizeof *rep);
    clear_error(c);
    psc_status st = PSC_OK;
    for (size_t i = 0; i < c->npend; i++) {
        if (c->pend[i].msgid != msgid)
            continue;
        pending_reply p = c->pend[i];
        c->pend[i] = c->pend[--c->npend];
        int r = take_frame(c, 1, msgid, p.frame, p.len, rep, &st);
        if (r < 0)
            return st;
        if (r == 1)
            goto got;
    }
    if (c->broken)
        return fail(c, PSC_ERR_IO, "io",
                    "connection unusable after an earlier error");
    int64_t deadline = now_ms() + c->timeout_ms;
    for (;;) {
        char *frame = NULL;
        size_t len = 0;
        st = read_frame(c, deadline, &frame, &len, NULL);
        if (st != PSC_OK)
            return st;
        int r = take_frame(c, 1, msgid, frame, len, rep, &st);
        if (r < 0)
            return st;
        if (r == 1)
            break;
    }
got:
    if (rep->msg.error.type != MSGPACK_OBJECT_NIL) {
        char code[32], message[480];
        copy_str(code, sizeof code, psci_map_get(&rep->msg.error, "code"),
                 "internal");
        copy_str(message, sizeof message,
                 psci_map_get(&rep->msg.error, "message"),
                 "error without a message");
        psci_reply_free(rep);
        snprintf(c->errcode, sizeof c->errcode, "%s", code);
        snprintf(c->errmsg, sizeof c->errmsg, "%s", message);
        return PSC_ERR_SERVER;
    }
    return PSC_OK;
}

void psci_reply_free(psc_reply *rep)
{
    ps_rpc_msg_destroy(&rep->msg);
    free(rep->frame);
    memset(rep, 0, sizeof *rep);
}

psc_status psci_pump(psc_client *c, int64_t deadline, int *timed_out)
{
    *timed_out = 0;
    if (c->broken)
        return fail(c, PSC_ERR_IO, "io",
                    "connection unusable after an earlier error");
    char *frame = NULL;
    size_t len = 0;
    psc_status st = read_frame(c, deadline, &frame, &len, timed_out);
    if (st != PSC_OK || *timed_out)
        return st;
    psc_reply unused;
    memset(&unused, 0, sizeof unused);
    (void)take_frame(c, 0, 0, frame, len, &unused, &st);
    return st;
}

psci_nqueue *psci_nqueue_of(psc_client *c)
{
    return &c->nq;
}

int64_t psci_now_ms(void)
{
    return now_ms();
}
