/* subs.h: the subscriptions as the I/O thread knows them: each with its
 * owner (a connection or an SSE stream), name, query and count of
 * dropped notifications; the
 * methods subscribe, unsubscribe and subscriptions (their parse and
 * I/O-thread steps, for the table of methods.c); the delivery of the
 * alert thread's notifications (alerts.h) to connections, with the
 * per-connection bound (--max-notify-queue) and the "lagged"
 * notifications.  Every function here runs on the I/O thread.
 */
#ifndef SEARCHD_SUBS_H
#define SEARCHD_SUBS_H

#include <stdint.h>
#include <msgpack.h>

#include "job.h"
#include "server.h"

/* An owner's list of subscriptions (subs.c's). */
typedef struct sub_conn sub_conn;

/* Who holds subscriptions and receives their notifications: a
 * MessagePack-RPC connection (conn.c) or a Server-Sent Events stream
 * (http_watch.c).  Embedded in its holder, which sets the two calls and
 * zeroes subs; subs.c reaches the holder only through them.  The job of
 * subscribe, unsubscribe or subscriptions names its owner (job.h,
 * owner). */
typedef struct subs_owner subs_owner;
struct subs_owner {
    /* Writes one packed notification msg[0..len) (the whole MessagePack
     * message [2, method, [{...}]]) unless the owner's unsent output
     * holds bytes already and would pass cap with it.  Returns 0 when
     * written, -1 when dropped (over cap, closed, out of memory). */
    int (*notify)(subs_owner *o, const char *msg, size_t len, uint64_t cap);
    /* 1 when the owner is open and its output fully sent. */
    int (*out_empty)(subs_owner *o);
    /* Optional (NULL: nothing): called after the durable subscription
     * name was taken over by another owner (a subscribe attaching it by
     * name; removed 0) or removed from the store (an unsubscribe by name;
     * removed 1) and dropped from this one; the holder may end itself (an
     * SSE stream, which has no other subscription).  I/O thread. */
    void (*taken)(subs_owner *o, const char *name, int removed);
    sub_conn *subs;             /* NULL until the first subscription */
};

/* The registry: returns it, or NULL on allocation failure.  a may be NULL
 * (no alert thread: subscribe answers unavailable). */
subs_registry *subs_create(const searchd_config *cfg, alerts *a);

/* Loads the durable subscriptions from path (substore.h; NULL: kept in
 * memory only).  Returns 0, or -1 with a message in err (a store that
 * cannot be read or is malformed: the daemon must not start, so as not
 * to lose or overwrite it).  Main thread, before the I/O loop. */
int subs_open_store(subs_registry *r, const char *path, char *err, size_t errlen);

/* Frees the registry (NULL is fine); after conn_free_all. */
void subs_destroy(subs_registry *r);

/* Methods (methods.h).  subscribe: parse checks the arguments; io checks
 * the limits, attaches or stores a durable subscription, registers the
 * subscription and queues the job for the alert thread (returns -2, or an
 * error); done, when the job comes back, forgets a subscription the alert
 * thread refused (and a durable one it had just stored); finish packs
 * {subscription, durable?, name}.  unsubscribe of a durable subscription
 * removes it from the store; a connection closed keeps it there. */
int subs_subscribe_parse(job *j, const msgpack_object *params, const searchd_config *c);
int subs_subscribe_io(job *j, server *s);
void subs_subscribe_done(job *j, server *s);
int subs_subscribe_finish(job *j, msgpack_packer *pk, server *s);
/* unsubscribe {subscription}: io removes it (not_found when it is not one
 * of this connection's); finish packs {subscription}. */
int subs_unsubscribe_parse(job *j, const msgpack_object *params, const searchd_config *c);
int subs_unsubscribe_io(job *j, server *s);
int subs_unsubscribe_finish(job *j, msgpack_packer *pk, server *s);
/* subscriptions {}: finish packs this connection's list. */
int subs_list_finish(job *j, msgpack_packer *pk, server *s);

/* An owner closes: its subscriptions leave the registry and the matcher,
 * and o->subs is freed (set to NULL). */
void subs_owner_closed(server *s, subs_owner *o);

/* Number of subscriptions of an owner. */
unsigned subs_owner_count(const subs_owner *o);

/* The owner's output drained: a "lagged" notification for each of its
 * subscriptions that dropped notifications since the last one. */
void subs_owner_drained(server *s, subs_owner *o);

/* Delivers a batch of the alert thread (a job without a connection whose
 * payload is an alert_batch) and frees the job. */
void subs_deliver(server *s, job *j);

/* Packs "alerts": {...} (figures of the registry and the alert thread)
 * as one key and value of the stats map. */
void subs_pack_stats(msgpack_packer *pk, server *s);

#endif
