/* server.h: the state of the I/O thread shared by listener.c, conn.c,
 * methods.c and main.c.  Every field is touched by the I/O thread only,
 * except where noted.
 */
#ifndef SEARCHD_SERVER_H
#define SEARCHD_SERVER_H

#include <sys/types.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "alerts.h"
#include "config.h"
#include "stats.h"
#include "workers.h"
#include "writer.h"

struct conn;
struct auth_tokens;
struct access_held;
typedef struct subs_registry subs_registry;
struct http_front;

typedef struct server {
    struct event_base *base;
    const searchd_config *cfg;
    searchd_stats stats;
    worker_pool *pool;
    writer *writer;             /* NULL with --read-only */
    struct event *done_ev;      /* activated by the workers', the
                                   writer's and the alert thread's
                                   done_put (thread-safe) */
    alerts *alerts;             /* the alert thread; NULL with --read-only
                                   or a shard set (subscribe unavailable) */
    subs_registry *subs;        /* the subscriptions (subs.h) */
    struct conn *conns;         /* connections with an open socket */
    unsigned nconns;            /* ... their number (max_clients) */
    unsigned nlive;             /* conn structs alive, orphans included */
    uint64_t conn_seq;
    struct evconnlistener *listeners[SEARCHD_MAX_LISTEN + 1];
    unsigned nlisteners;
    struct event *relisten;     /* re-enables listeners after EMFILE */
    int listeners_paused;
    char *socket_path;          /* Unix socket we created, or NULL */
    dev_t socket_dev;
    ino_t socket_ino;
    /* HTTP/JSON (http.c; NULL without --http).  Its listeners are owned
     * by evhttp; listener.c pauses them with the others on EMFILE. */
    struct http_front *http;
    struct evconnlistener *http_listeners[SEARCHD_MAX_LISTEN];
    unsigned nhttp_listeners;
    unsigned http_nconns;       /* open HTTP connections (max_clients) */
    unsigned http_pending;      /* HTTP requests waiting for their job */
    /* Access control (access.h): the tokens (NULL: none), failed
     * attempts, refused jobs waiting for their delayed answer. */
    struct auth_tokens *tokens;
    uint64_t auth_failures;
    struct access_held *auth_held;
    int shutting_down;
    struct event *force_exit;   /* 5 s after SIGTERM */
} server;

#endif
