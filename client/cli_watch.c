/* cli_watch.c: `polysearch watch`: subscribe, print each notification as
 * it arrives, reconnect (sending the token again) and resubscribe when the
 * connection is lost, stop on SIGINT/SIGTERM (docs/ALERTS.md,
 * docs/man/polysearch.1).
 *
 * One thread.  Signals reach the loop through a self-pipe polled with the
 * socket, so a Ctrl-C stops a watch that waits for matches at once; a
 * second signal kills (SA_RESETHAND), as polysearch-index --watch does.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* Backoff between reconnection attempts: 0.1 s doubling to 5 s, each wait
 * drawn in [d/2, d] so that many watchers of a restarted daemon spread. */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
/* A ping after this long without anything from the daemon, so a
 * connection that died silently is noticed. */
#define KEEPALIVE_MS 30000

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
    (void)sig;
    int e = errno;
    ssize_t n = write(sig_pipe[1], "x", 1);
    (void)n;
    errno = e;
}

typedef struct watch {
    const cli_opts *o;
    const cli_watch_args *w;
    psc_client *c;
    uint64_t sub;
    int have_seq;           /* a match was received: last_seq is set */
    uint64_t last_seq;      /* highest seq received */
    int resumed;            /* the subscription was resumed from skip_to */
    uint64_t skip_to;       /* matches with seq <= this are repeats */
    int no_resume;          /* the daemon refused resume_from once */
    int heal;               /* a lagged notification with resume_from:
                               subscribe again from heal_from */
    uint64_t heal_from;
    unsigned rand_state;
} watch;

/* Local time now as "HH:MM:SS" (human) or ISO 8601 UTC (JSON). */
static void now_text(char *buf, size_t cap, int iso)
{
    time_t t = time(NULL);
    struct tm tm;
    if (iso)
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    else
        strftime(buf, cap, "%H:%M:%S", localtime_r(&t, &tm));
}

/* Waits up to ms (< 0: no limit) for the socket fd (-1: none) or a signal.
 * Returns 1 stop (a signal came), 0 otherwise. */
static int wait_event(int fd, int ms)
{
    struct pollfd p[2] = { { .fd = sig_pipe[0], .events = POLLIN },
                           { .fd = fd, .events = POLLIN } };
    int r = poll(p, fd >= 0 ? 2 : 1, ms);
    if (r < 0 && errno != EINTR)
        return 0;
    return (p[0].revents & POLLIN) != 0;
}

/* Prints one notification; returns 0, or -1 when stdout failed. */
static int show(watch *x, ps_notification *n)
{
    const cli_opts *o = x->o;
    char when[32];
    now_text(when, sizeof when, o->json);
    if (n->subscription != 0 && n->subscription != x->sub)
        return 0;     /* of a subscription replaced by a resume (heal) */
    if (n->kind == PS_NOTIFY_MATCH) {
        if (x->resumed && n->seq <= x->skip_to)
            return 0; /* sent again by a resume: printed before */
        if (!x->have_seq || n->seq > x->last_seq)
            x->last_seq = n->seq;
        x->have_seq = 1;
        if (o->json)
            cli_emit_json(stdout, cli_notification_json(n, when));
        else
            cli_print_match(stdout, n, when, &o->style);
    } else {
        if (o->json)
            cli_emit_json(stdout, cli_notification_json(n, when));
        if (n->subscription == 0) {
            fprintf(stderr, "polysearch: watch: %llu notifications dropped "
                    "by the client library (its queue was full)\n",
                    (unsigned long long)n->dropped);
        } else if (n->has_resume_from && !x->no_resume) {
            /* The daemon sent nothing after the gap: a resume from its
             * start gets the dropped matches and the rest, in order. */
            x->heal = 1;
            x->heal_from = n->resume_from;
            fprintf(stderr, "polysearch: watch: %llu matches not sent by the "
                    "daemon (this client read too slowly, or a resume went "
                    "past the daemon's --resume-max); asking for them again "
                    "after seq %llu\n", (unsigned long long)n->dropped,
                    (unsigned long long)n->resume_from);
        } else {
            fprintf(stderr, "polysearch: watch: %llu matches dropped by the "
                    "daemon (this client read too slowly); they are not "
                    "sent again\n", (unsigned long long)n->dropped);
        }
    }
    return fflush(stdout) == 0 ? 0 : -1;
}

/* Sends subscribe; with resume set, resume_from = from.  Returns the
 * status (the daemon's refusal recorded on x->c). */
static psc_status subscribe(watch *x, int resume, uint64_t from)
{
    psc_subscribe_args a;
    psc_subscribe_args_init(&a);
    a.q = x->w->q;
    a.lang = x->w->lang;
    a.date_from = x->w->date_from;
    a.name = x->w->name;
    if (x->w->durable)
        a.durable = 1;
    a.resume = resume;
    a.resume_from = from;
    psc_status st = psc_subscribe(x->c, &a, &x->sub);
    if (st == PSC_OK) {
        x->resumed = resume;
        x->skip_to = from;
    }
    return st;
}

/* The resume point of a resubscription: the last seq received, else
 * --resume-from; 0 when there is none (or no name, or refused before). */
static int resume_point(const watch *x, uint64_t *from)
{
    if (x->w->name == NULL || x->no_resume)
        return 0;
    if (x->have_seq) {
        *from = x->last_seq;
        return 1;
    }
    if (x->w->resume) {
        *from = x->w->resume_from;
        return 1;
    }
    return 0;
}

/* Whether a refusal of the daemon may go away by itself. */
static int transient(psc_status st, const char *code)
{
    if (st != PSC_ERR_SERVER)
        return 1;
    return !strcmp(code, "busy") || !strcmp(code, "unavailable") ||
           !strcmp(code, "timeout") || !strcmp(code, "internal");
}

/* Connects and resubscribes after a lost connection, waiting with
 * backoff between attempts.  Returns -1 when stopped by a signal, 0 when
 * subscribed again, or an exit code > 0 when the daemon refuses the
 * subscription for good. */
static int reconnect(watch *x)
{
    int delay = BACKOFF_FIRST_MS;
    for (;;) {
        int ms = delay / 2 + (int)(rand_r(&x->rand_state) % (unsigned)
                                   (delay / 2 + 1));
        if (wait_event(-1, ms))
            return -1;
        if (delay < BACKOFF_MAX_MS)
            delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
        char *err = NULL;
        psc_status st = psc_connect(x->o->server, x->o->timeout_ms, &x->c,
                                    &err);
        if (st != PSC_OK) {
            free(err);
            continue;
        }
        psc_set_timeout(x->c, x->o->timeout_ms);
        /* A new connection has no role: send the token again. */
        st = cli_auth(x->c, x->o);
        if (st != PSC_OK) {
            int rc = 0;
            if (!transient(st, psc_last_error_code(x->c)))
                rc = cli_report_error(x->c, x->o, st, "watch: auth");
            psc_close(x->c);
            x->c = NULL;
            if (rc != 0)
                return rc;
            continue;
        }
        uint64_t from = 0;
        int resume = resume_point(x, &from);
        st = subscribe(x, resume, from);
        if (st == PSC_ERR_SERVER && resume &&
            !strcmp(psc_last_error_code(x->c), "bad_request")) {
            fprintf(stderr, "polysearch: watch: the daemon cannot resume "
                    "'%s' (%s): matches added while disconnected are "
                    "missed\n", x->w->name, psc_last_error_message(x->c));
            x->no_resume = 1;
            st = subscribe(x, 0, 0);
        }
        if (st == PSC_OK) {
            if (resume && !x->no_resume)
                fprintf(stderr, "polysearch: watch: reconnected to %s, "
                        "resuming after seq %llu (subscription %llu)\n",
                        x->o->server, (unsigned long long)from,
                        (unsigned long long)x->sub);
            else
                fprintf(stderr, "polysearch: watch: reconnected to %s "
                        "(subscription %llu)\n", x->o->server,
                        (unsigned long long)x->sub);
            return 0;
        }
        if (!transient(st, psc_last_error_code(x->c))) {
            int rc = cli_report_error(x->c, x->o, st, "watch: subscribe");
            psc_close(x->c);
            x->c = NULL;
            return rc;
        }
        psc_close(x->c);
        x->c = NULL;
    }
}

/* After a lagged notification with resume_from: subscribes again from
 * there (a durable subscription moves to the new registration, which
 * drops the old one; any other is unsubscribed once the new one is in).
 * Returns 0, or -1 when the connection failed (then reconnect, which
 * resumes from the last seq printed). */
static int heal(watch *x)
{
    uint64_t old = x->sub, from = x->heal_from;
    x->heal = 0;
    psc_status st = subscribe(x, 1, from);
    if (st != PSC_OK) {
        fprintf(stderr, "polysearch: watch: could not ask for the dropped "
                "matches again: %s\n", psc_last_error_message(x->c));
        if (st == PSC_ERR_SERVER) {
            x->sub = old;
            return 0;
        }
        return -1;
    }
    /* A refusal ("not_found": the durable one moved) is fine. */
    st = psc_unsubscribe(x->c, old);
    return st == PSC_OK || st == PSC_ERR_SERVER ? 0 : -1;
}

/* Prints what has arrived and waits for more until the connection is lost
 * (returns 0), a signal (-1) or stdout fails (EX_IOERR). */
static int receive(watch *x)
{
    int64_t quiet_ms = 0;
    for (;;) {
        ps_notification *n = NULL;
        psc_status st;
        while ((st = psc_next_notification(x->c, 0, &n)) == PSC_OK &&
               n != NULL) {
            int r = show(x, n);
            ps_notification_free(n);
            quiet_ms = 0;
            if (r != 0)
                return EX_IOERR;
            if (x->heal && heal(x) != 0) {
                fprintf(stderr, "polysearch: watch: connection to %s lost "
                        "(%s); reconnecting\n", x->o->server,
                        psc_last_error_message(x->c));
                return 0;
            }
        }
        if (st != PSC_OK) {
            fprintf(stderr, "polysearch: watch: connection to %s lost (%s); "
                    "reconnecting\n", x->o->server,
                    psc_last_error_message(x->c));
            return 0;
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (wait_event(psc_fd(x->c), (int)(KEEPALIVE_MS - quiet_ms)))
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        quiet_ms += (t1.tv_sec - t0.tv_sec) * 1000 +
                    (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (quiet_ms >= KEEPALIVE_MS) {
            quiet_ms = 0;
            /* Matches read while waiting for the pong stay queued. */
            if (psc_ping(x->c) != PSC_OK) {
                fprintf(stderr, "polysearch: watch: %s did not answer a "
                        "ping (%s); reconnecting\n", x->o->server,
                        psc_last_error_message(x->c));
                return 0;
            }
        }
    }
}

int cli_cmd_watch(const cli_opts *o, const cli_watch_args *w)
{
    watch x;
    memset(&x, 0, sizeof x);
    x.o = o;
    x.w = w;
    x.rand_state = (unsigned)getpid() ^ (unsigned)time(NULL);
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        fprintf(stderr, "polysearch: watch: pipe: %s\n", strerror(errno));
        return EX_OSERR;
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second signal kills at once */
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    int rc = EX_OK;
    x.c = cli_connect(o, &rc);
    if (x.c != NULL) {
        psc_status st = subscribe(&x, w->resume, w->resume_from);
        if (st != PSC_OK) {
            rc = cli_report_error(x.c, o, st, "watch: subscribe");
        } else {
            fprintf(stderr, "polysearch: watching '%s' on %s (subscription "
                    "%llu); Ctrl-C stops\n", w->q, o->server,
                    (unsigned long long)x.sub);
            for (;;) {
                int r = receive(&x);
                if (r != 0) {
                    rc = r < 0 ? EX_OK : r;
                    break;
                }
                psc_close(x.c);
                x.c = NULL;
                r = reconnect(&x);
                if (r != 0) {
                    rc = r < 0 ? EX_OK : r;
                    break;
                }
            }
        }
    }
    psc_close(x.c);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    sig_pipe[0] = sig_pipe[1] = -1;
    return rc;
}
