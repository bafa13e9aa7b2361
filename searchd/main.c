/* main.c: polysearchd entry point: options, database check, signals, the
 * event loop, graceful shutdown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "access.h"
#include "config.h"
#include "conn.h"
#include "http.h"
#include "listener.h"
#include "polysearch.h"
#include "server.h"
#include "subs.h"
#include "substore.h"
#include "util.h"

#define FORCE_EXIT_S 5

static void force_cb(evutil_socket_t fd, short what, void *arg)
{
    server *s = arg;
    (void)fd;
    (void)what;
    ps_log(PS_LOG_WARN, "in-flight requests not finished after %d s: exiting",
           FORCE_EXIT_S);
    event_base_loopbreak(s->base);
}

static void term_cb(evutil_socket_t sig, short what, void *arg)
{
    server *s = arg;
    (void)what;
    if (s->shutting_down) return;
    ps_log(PS_LOG_INFO, "%s: stopping (answering %u open connections' "
           "requests in flight)", sig == SIGINT ? "SIGINT" : "SIGTERM", s->nconns);
    s->shutting_down = 1;
    listeners_close(s);
    http_stop_accepting(s);
    struct timeval tv = { FORCE_EXIT_S, 0 };
    s->force_exit = evtimer_new(s->base, force_cb, s);
    if (s->force_exit) evtimer_add(s->force_exit, &tv);
    conn_shutdown_all(s);
}

static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
    server *s = arg;
    (void)sig;
    (void)what;
    ps_log(PS_LOG_INFO, "SIGHUP: every worker reopens %s before its next request",
           searchd_config_db_name(s->cfg));
    workers_hup(s->pool);
    char err[512];
    if (access_reload(s, err, sizeof err) != 0)
        ps_log(PS_LOG_ERROR, "SIGHUP: --auth-token-file: %s (the old tokens "
               "stay)", err);
}

/* The wait before a write group is answered (writer_set_visible_wait):
 * until every worker shows seq, at most until until_us (the group's
 * publication + --visible-wait).  The writer's acker thread. */
static void visible_wait(void *ctx, uint64_t seq, uint64_t until_us)
{
    server *s = ctx;
    uint64_t now = ps_now_us();
    (void)workers_wait_visible(s->pool, seq, until_us > now ? until_us - now : 1);
}

/* --create: makes an empty database at --db when none is there
 * (ps_db_create: never in a file or a directory holding other files).
 * Returns -1 to go on (made, or one was there already), else the exit
 * status after an error on stderr: EX_TEMPFAIL when another writer holds
 * the lock of the directory, EX_CANTCREAT otherwise.  Main thread, after
 * ps_log_init, before the workers open the database. */
static int create_db(const searchd_config *cfg)
{
    int created = 0;
    char *msg = NULL;
    ps_status st = ps_db_create(cfg->db_path, &created, &msg);
    if (st != PS_OK) {
        ps_log(PS_LOG_ERROR, "--create: cannot create a database at %s: %s",
               cfg->db_path, msg && *msg ? msg : ps_status_str(st));
        free(msg);
        return st == PS_ERR_LOCKED ? EX_TEMPFAIL : EX_CANTCREAT;
    }
    free(msg);
    if (created)
        ps_log(PS_LOG_INFO, "--create: created an empty database at %s",
               cfg->db_path);
    else
        ps_log(PS_LOG_DEBUG, "--create: %s holds a database already; opening it",
               cfg->db_path);
    return -1;
}

/* The error for a database the workers could not open (st, msg from
 * workers_create): names --create when it would help (--db missing or
 * an empty directory, --create not given).  Main thread. */
static void log_open_error(const searchd_config *cfg, ps_status st, const char *msg)
{
    if (st == PS_ERR_NO_DB && cfg->nshards == 0) {
        ps_db_place pl = ps_db_place_of(cfg->db_path, NULL);
        int hint = !cfg->create && (pl == PS_PLACE_MISSING || pl == PS_PLACE_EMPTY);
        ps_log(PS_LOG_ERROR, "no index at %s: run polysearch-index --db %s PATH "
               "first%s (%s)", cfg->db_path, cfg->db_path,
               hint ? ", or start with --create for an empty database fed "
                      "through add" : "",
               msg ? msg : "");
    } else {
        ps_log(PS_LOG_ERROR, "cannot open %s: %s", searchd_config_db_name(cfg),
               msg ? msg : ps_status_str(st));
    }
}

/* Runs the daemon with a parsed configuration until SIGTERM/SIGINT.
 * Returns the exit status.  Main thread. */
static int serve(searchd_config *cfgp)
{
    searchd_config cfg = *cfgp;
    int rc;
    ps_log_init("polysearchd", (ps_log_level)cfg.log_level);
    signal(SIGPIPE, SIG_IGN);

    if (evthread_use_pthreads() != 0) {
        ps_log(PS_LOG_ERROR, "libevent without thread support");
        return EX_SOFTWARE;
    }
    /* Access control first: an exposed listener without tokens, or a
     * bad token file, stops the start before anything is opened. */
    if ((rc = access_check_exposure(&cfg)) != -1) return rc;
    server s;
    memset(&s, 0, sizeof s);
    s.cfg = &cfg;
    if ((rc = access_open(&s)) != -1) return rc;
    stats_init(&s.stats);
    s.base = event_base_new();
    if (!s.base) { access_free(&s); return EX_OSERR; }
    s.done_ev = event_new(s.base, -1, 0, conn_done_cb, &s);
    if (!s.done_ev) { access_free(&s); event_base_free(s.base); return EX_OSERR; }

    ps_status st;
    char *msg = NULL;
    if (cfg.create && (rc = create_db(&cfg)) != -1) {
        event_free(s.done_ev);
        event_base_free(s.base);
        access_free(&s);
        return rc;
    }
    s.pool = workers_create(&cfg, s.done_ev, &st, &msg);
    if (!s.pool) {
        log_open_error(&cfg, st, msg);
        free(msg);
        event_free(s.done_ev);
        event_base_free(s.base);
        access_free(&s);
        return st == PS_ERR_NO_DB ? EX_NOINPUT
             : st == PS_ERR_CORRUPT ? EX_DATAERR : EX_UNAVAILABLE;
    }

    if (!cfg.read_only && !(s.writer = writer_create(&cfg, s.done_ev))) {
        workers_destroy(s.pool);
        event_free(s.done_ev);
        event_base_free(s.base);
        access_free(&s);
        return EX_OSERR;
    }
    /* Alerts: matched on their own thread, for a writer on one database
     * (a shard set or --read-only: subscribe answers unavailable). */
    if (s.writer && cfg.nshards == 0 && !workers_sharded(s.pool) &&
        !(s.alerts = alerts_create(&cfg, s.done_ev))) {
        writer_destroy(s.writer);
        workers_destroy(s.pool);
        event_free(s.done_ev);
        event_base_free(s.base);
        access_free(&s);
        return EX_OSERR;
    }
    if (!(s.subs = subs_create(&cfg, s.alerts))) {
        alerts_destroy(s.alerts);
        writer_destroy(s.writer);
        workers_destroy(s.pool);
        event_free(s.done_ev);
        event_base_free(s.base);
        access_free(&s);
        return EX_OSERR;
    }
    if (s.writer) writer_set_alerts(s.writer, s.alerts);
    struct event *sigs[3] = {
        evsignal_new(s.base, SIGTERM, term_cb, &s),
        evsignal_new(s.base, SIGINT, term_cb, &s),
        evsignal_new(s.base, SIGHUP, hup_cb, &s),
    };
    rc = 0;
    for (int i = 0; i < 3; i++)
        if (!sigs[i] || evsignal_add(sigs[i], NULL) != 0) rc = EX_OSERR;
    if (rc == 0) rc = listeners_open(&s);
    if (rc == 0) rc = http_open(&s);
    /* The write-ahead log: replayed after the listeners are open (a
     * second daemon on a live socket fails there, 69) and before anything
     * is answered; its delta is searched by every worker.  A --shard list
     * has one only with --wal-dir. */
    char waldir[4096];
    int has_log = searchd_config_wal_dir(&cfg, waldir, sizeof waldir);
    if (rc == 0 && s.writer && has_log < 0) {
        ps_log(PS_LOG_ERROR, "the path of the write-ahead log is too long");
        rc = EX_IOERR;
    } else if (rc == 0 && s.writer && !cfg.no_wal && has_log) {
        char err[700];
        if (writer_open_log(s.writer, err, sizeof err) != 0 ||
            workers_attach_delta(s.pool, writer_delta(s.writer), err, sizeof err) != 0) {
            ps_log(PS_LOG_ERROR, "write-ahead log %s: %s", waldir, err);
            rc = EX_IOERR;
        } else if (cfg.visible_wait_ms > 0) {
            writer_set_visible_wait(s.writer, visible_wait, &s);
        }
    } else if (rc == 0 && s.writer && has_log) {
        char err[700];
        if (writer_check_no_log(&cfg, err, sizeof err) != 0) {
            ps_log(PS_LOG_ERROR, "--no-wal: %s", err);
            rc = EX_IOERR;
        }
    } else if (rc == 0 && s.writer && !cfg.no_wal) {
        ps_log(PS_LOG_INFO, "--shard list without --wal-dir: no write-ahead "
               "log, every write group is committed on every shard before "
               "its answer; --wal-dir DIR turns the log on (docs/SCALING.md)");
    }
    if (rc == 0 && workers_start(s.pool) != 0) {
        ps_log(PS_LOG_ERROR, "cannot start worker threads: %s", strerror(errno));
        rc = EX_OSERR;
    }
    /* The durable subscriptions (DB/subscriptions.msgpack): a store that
     * cannot be read stops the start rather than being overwritten. */
    if (rc == 0 && s.alerts) {
        char path[4200], err[700];
        snprintf(path, sizeof path, "%s/%s", cfg.db_path, SUBSTORE_FILE);
        if (subs_open_store(s.subs, path, err, sizeof err) != 0) {
            ps_log(PS_LOG_ERROR, "durable subscriptions: %s (move the file away to "
                   "start without them)", err);
            rc = EX_DATAERR;
        }
        alerts_set_delta(s.alerts, writer_delta(s.writer));
    }
    if (rc == 0 && s.alerts && alerts_start(s.alerts) != 0) {
        ps_log(PS_LOG_ERROR, "cannot start the alert thread: %s", strerror(errno));
        rc = EX_OSERR;
    }
    if (rc == 0 && s.writer && writer_start(s.writer) != 0) {
        ps_log(PS_LOG_ERROR, "cannot start the writer thread: %s", strerror(errno));
        rc = EX_OSERR;
    }
    if (rc == 0 && s.writer && !searchd_config_can_write(&cfg))
        ps_log(PS_LOG_WARN, "remote shards without --write-shard: add/delete "
               "will answer unavailable (docs/SCALING.md)");
    if (rc == 0) {
        ps_log(PS_LOG_INFO, "polysearchd %s serving %s with %u workers%s (pid %ld)",
               PS_VERSION, searchd_config_db_name(&cfg), cfg.workers,
               cfg.read_only ? ", read-only" : " and a writer", (long)getpid());
        event_base_dispatch(s.base);
    }

    listeners_close(&s);
    /* The writer first: its last groups are answered once the workers
     * show them (the acker waits on the pool, which must still exist). */
    writer_stop(s.writer);          /* commits what is queued, joins */
    workers_destroy(s.pool);        /* joins; closes the delta's readers */
    alerts_stop(s.alerts);          /* joins; closes its reader of the delta */
    writer_destroy(s.writer);       /* last checkpoint; frees the delta */
    conn_free_all(&s);              /* their subscriptions too */
    http_free(&s);
    access_free(&s);                /* refusals still held, the tokens */
    alerts_destroy(s.alerts);       /* after the writer and the conns */
    subs_destroy(s.subs);
    for (int i = 0; i < 3; i++)
        if (sigs[i]) event_free(sigs[i]);
    if (s.force_exit) event_free(s.force_exit);
    event_free(s.done_ev);
    event_base_free(s.base);
    libevent_global_shutdown();
    if (rc == 0) ps_log(PS_LOG_INFO, "stopped");
    return rc;
}

int main(int argc, char **argv)
{
    searchd_config cfg;
    searchd_config_defaults(&cfg);
    int rc = searchd_config_parse(&cfg, argc, argv);
    if (rc < 0) rc = serve(&cfg);
    searchd_config_free(&cfg);
    return rc;
}
