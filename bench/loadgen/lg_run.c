/* lg_run.c: the closed-loop connection engine.  Contract in lg_run.h.
 *
 * One epoll loop drives every connection.  A connection sends up to
 * `depth` requests, and each reply immediately triggers the next request
 * (closed loop), so the offered load adapts to the server's speed.  In the
 * warm-up pass each query is sent exactly once (its hit count recorded);
 * in the measured run queries are replayed round-robin until the deadline,
 * then in-flight requests drain (at most LG_DRAIN_MS).
 */
#include "lg_run.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <unistd.h>

#include "util.h"

#define LG_DRAIN_MS 10000u
#define LG_CONNECT_MS 10000u

typedef struct inflight {
    uint32_t msgid;
    uint64_t t_us;
    size_t qi;
} inflight;

typedef struct conn {
    int fd;
    int ready;
    int want_out;
    uint32_t next_msgid;
    lg_buf in, out;
    inflight *fl;
    unsigned nfl;
    void *pst;
} conn;

typedef struct run {
    const lg_config *cfg;
    const lg_queries *qs;
    lg_stats *st;
    int ep;
    conn *c;
    unsigned nconn, nalive;
    int measuring;
    int stop_sending;
    size_t next_q;
    uint64_t total_fl;
} run;

uint64_t lg_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    uint64_t kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoull(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static void note_error(run *r, const char *what)
{
    if (r->st->first_error[0] == '\0') {
        snprintf(r->st->first_error, sizeof r->st->first_error, "%s", what);
    }
}

static void conn_close(run *r, conn *c, const char *why)
{
    if (c->fd < 0)
        return;
    epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    r->nalive--;
    r->st->conn_failures++;
    /* requests in flight on a lost connection are errors */
    if (r->measuring)
        r->st->errors += c->nfl;
    else
        r->st->warm_errors += c->nfl;
    r->total_fl -= c->nfl;
    c->nfl = 0;
    note_error(r, why);
}

static void set_events(run *r, conn *c, int want_out)
{
    if (c->fd < 0 || c->want_out == want_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0u),
                             .data.ptr = c};
    epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want_out;
}

static void conn_flush(run *r, conn *c)
{
    while (c->fd >= 0 && c->out.len > c->out.off) {
        ssize_t w = write(c->fd, c->out.data + c->out.off, c->out.len - c->out.off);
        if (w > 0) {
            lg_buf_consume(&c->out, (size_t)w);
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(r, c, 1);
            return;
        } else {
            conn_close(r, c, "write failed");
            return;
        }
    }
    set_events(r, c, 0);
}

/* Sends requests until the connection has `depth` in flight. */
static void conn_fill(run *r, conn *c)
{
    if (c->fd < 0)
        return;
    while (c->ready && c->nfl < r->cfg->depth && !r->stop_sending) {
        if (!r->measuring && r->next_q >= r->qs->n)
            break;              /* warm-up: each query once */
        size_t qi = r->next_q++ % r->qs->n;
        uint32_t id = c->next_msgid++;
        if (r->cfg->proto->encode(c->pst, id, r->qs->q[qi], r->cfg->limit,
                                     r->cfg->snippet, &c->out) != 0) {
            note_error(r, "request encoding failed");
            if (r->measuring)
                r->st->errors++;
            else
                r->st->warm_errors++;
            continue;
        }
        c->fl[c->nfl++] = (inflight){.msgid = id, .t_us = ps_now_us(), .qi = qi};
        r->total_fl++;
    }
    conn_flush(r, c);
}

static void on_reply(run *r, conn *c, const lg_reply *rep)
{
    unsigned i;
    for (i = 0; i < c->nfl; i++)
        if (c->fl[i].msgid == rep->msgid)
            break;
    if (i == c->nfl) {
        note_error(r, "reply to an unknown msgid");
        conn_close(r, c, "reply to an unknown msgid");
        return;
    }
    inflight f = c->fl[i];
    c->fl[i] = c->fl[--c->nfl];
    r->total_fl--;
    uint64_t lat = ps_now_us() - f.t_us;
    lg_stats *st = r->st;
    if (r->measuring) {
        st->replies++;
        if (rep->is_error) {
            st->errors++;
            note_error(r, rep->error);
        } else if (rep->hits > 0) {
            st->with_hits++;
        }
        lg_latency_add(&st->lat, lat);
    } else {
        st->warm_replies++;
        if (rep->is_error) {
            st->warm_errors++;
            note_error(r, rep->error);
        } else if (rep->hits > 0) {
            st->warm_with_hits++;
        }
        st->hits_per_query[f.qi] = rep->is_error ? UINT32_MAX : rep->hits;
    }
}

static void conn_read(run *r, conn *c)
{
    for (;;) {
        if (lg_buf_reserve(&c->in, 65536) != 0) {
            conn_close(r, c, "out of memory");
            return;
        }
        ssize_t n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
        if (n > 0) {
            c->in.len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        conn_close(r, c, n == 0 ? "server closed the connection" : "read failed");
        return;
    }
    while (c->fd >= 0 && c->in.len > c->in.off) {
        size_t used = 0;
        lg_reply rep;
        int pr = r->cfg->proto->parse(c->pst, c->in.data + c->in.off,
                                      c->in.len - c->in.off, &used, &rep, &c->out);
        lg_buf_consume(&c->in, used);
        if (pr == LG_P_NEED_MORE)
            break;
        if (pr == LG_P_ERROR) {
            conn_close(r, c, "protocol error in a reply");
            return;
        }
        if (pr == LG_P_READY)
            c->ready = 1;
        else if (pr == LG_P_REPLY)
            on_reply(r, c, &rep);
    }
    if (c->fd >= 0)
        conn_fill(r, c);    /* also flushes handshake bytes */
}

static int conn_open(run *r, conn *c)
{
    const lg_config *cfg = r->cfg;
    c->fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = LG_CONNECT_MS / 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(c->fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->fl = calloc(cfg->depth, sizeof *c->fl);
    c->pst = calloc(1, cfg->proto->state_size ? cfg->proto->state_size : 1);
    if (!c->fl || !c->pst) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    r->nalive++;
    int rc = cfg->proto->on_connect(c->pst, &c->out);
    if (rc < 0) {
        conn_close(r, c, "handshake failed");
        return -1;
    }
    c->ready = rc == 1;
    return 0;
}

/* Runs the loop until done() says so or the time limit passes.  Samples
 * RSS each second when sample_rss.  Returns 0, or -1 on timeout. */
static int loop(run *r, int (*done)(run *), uint64_t limit_us, int sample_rss)
{
    struct epoll_event evs[64];
    uint64_t next_rss = ps_now_us();
    while (!done(r)) {
        uint64_t now = ps_now_us();
        if (now >= limit_us)
            return -1;
        if (sample_rss && now >= next_rss) {
            if (r->st->nrss < LG_MAX_RSS_SAMPLES)
                r->st->rss_kb[r->st->nrss++] = lg_rss_kb(r->cfg->pid);
            next_rss += 1000000u;
        }
        uint64_t wait_us = limit_us - now;
        if (sample_rss && next_rss - now < wait_us)
            wait_us = next_rss > now ? next_rss - now : 0;
        if (r->measuring && !r->stop_sending && r->st->elapsed_us - now < wait_us)
            wait_us = r->st->elapsed_us > now ? r->st->elapsed_us - now : 0;
        int timeout = (int)(wait_us / 1000u) + 1;
        if (timeout > 1000)
            timeout = 1000;
        int n = epoll_wait(r->ep, evs, 64, timeout);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return -1;
        }
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c->fd < 0)
                continue;
            if (evs[i].events & EPOLLOUT)
                conn_flush(r, c);
            if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                conn_read(r, c);
        }
        /* measured run: deadline reached -> stop sending, then drain */
        if (r->measuring && !r->stop_sending && ps_now_us() >= r->st->elapsed_us)
            r->stop_sending = 1;
    }
    return 0;
}

static int all_ready(run *r)
{
    for (unsigned i = 0; i < r->nconn; i++)
        if (r->c[i].fd >= 0 && !r->c[i].ready)
            return 0;
    return 1;
}

static int warm_done(run *r)
{
    return r->nalive == 0 || (r->next_q >= r->qs->n && r->total_fl == 0);
}

static int measure_done(run *r)
{
    return r->nalive == 0 || (r->stop_sending && r->total_fl == 0);
}

int lg_run(const lg_config *cfg, const lg_queries *qs, lg_stats *st)
{
    run r = {.cfg = cfg, .qs = qs, .st = st, .nconn = cfg->connections};
    int rc = -1;
    st->hits_per_query = calloc(qs->n, sizeof *st->hits_per_query);
    r.c = calloc(cfg->connections, sizeof *r.c);
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!st->hits_per_query || !r.c || r.ep < 0) {
        fprintf(stderr, "ps-loadgen: out of memory or epoll failure\n");
        goto out;
    }
    for (unsigned i = 0; i < r.nconn; i++) {
        r.c[i].fd = -1;
        if (conn_open(&r, &r.c[i]) != 0) {
            fprintf(stderr, "ps-loadgen: connection %u failed: %s\n", i, strerror(errno));
            st->conn_failures++;
        }
    }
    if (r.nalive == 0) {
        fprintf(stderr, "ps-loadgen: no connection could be made\n");
        goto out;
    }
    for (unsigned i = 0; i < r.nconn; i++)
        conn_flush(&r, &r.c[i]);
    if (loop(&r, all_ready, ps_now_us() + LG_CONNECT_MS * 1000u, 0) != 0) {
        fprintf(stderr, "ps-loadgen: handshake timed out\n");
        goto out;
    }

    if (cfg->warmup) {
        uint64_t t0 = ps_now_us();
        for (unsigned i = 0; i < r.nconn; i++)
            conn_fill(&r, &r.c[i]);
        if (loop(&r, warm_done, t0 + 600u * 1000000u, 0) != 0)
            fprintf(stderr, "ps-loadgen: warm-up pass timed out\n");
        st->warm_us = ps_now_us() - t0;
    }

    r.measuring = 1;
    r.next_q = 0;
    uint64_t t0 = ps_now_us();
    st->elapsed_us = t0 + cfg->duration_ms * 1000u;    /* deadline, for loop() */
    for (unsigned i = 0; i < r.nconn; i++)
        conn_fill(&r, &r.c[i]);
    if (loop(&r, measure_done, st->elapsed_us + LG_DRAIN_MS * 1000u, cfg->pid > 0) != 0) {
        fprintf(stderr, "ps-loadgen: %llu requests still in flight after the drain time\n",
                (unsigned long long)r.total_fl);
        st->errors += r.total_fl;
        note_error(&r, "timeout");
    }
    st->elapsed_us = ps_now_us() - t0;
    if (cfg->pid > 0 && st->nrss < LG_MAX_RSS_SAMPLES)
        st->rss_kb[st->nrss++] = lg_rss_kb(cfg->pid);
    rc = 0;
out:
    if (r.c) {
        for (unsigned i = 0; i < r.nconn; i++) {
            conn *c = &r.c[i];
            if (c->fd >= 0)
                close(c->fd);
            if (c->pst)
                cfg->proto->destroy(c->pst);
            free(c->pst);
            free(c->fl);
            lg_buf_free(&c->in);
            lg_buf_free(&c->out);
        }
        free(r.c);
    }
    if (r.ep >= 0)
        close(r.ep);
    return rc;
}

void lg_stats_free(lg_stats *st)
{
    free(st->hits_per_query);
    st->hits_per_query = NULL;
    lg_latency_free(&st->lat);
}
