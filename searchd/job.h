/* job.h: one request travelling from the I/O thread to a worker and back.
 *
 * Ownership: the I/O thread creates a job (job_new), a worker fills the
 * result fields, the I/O thread answers and frees it (job_free).  Between
 * those steps it is handed over through a job_queue and a done_list
 * (queue.h, mutex-protected), so no field is ever touched by two threads
 * at once.
 */
#ifndef SEARCHD_JOB_H
#define SEARCHD_JOB_H

#include <stdatomic.h>
#include <stdint.h>
#include <msgpack.h>

#include "auth.h"
#include "polysearch.h"

struct conn;
struct method;
struct subs_owner;
struct server;

/* One document of an add request: the fields (copied into the job's zone
 * by the parse step) and, when it was refused, the reason (a static or
 * zone string).  reject_id: the id to echo in the rejection, or NULL when
 * the document had no usable id. */
typedef struct wdoc {
    ps_doc_in in;
    const char *reject;
    const char *reject_id;
} wdoc;

typedef struct job {
    struct job *next;           /* job_queue / done_list link (queue.h) */
    struct conn *conn;          /* I/O thread only */
    /* Another front end than conn.c (searchd/http.c): when set, the I/O
     * thread hands the finished job to done (which answers and frees it)
     * instead of answering on conn; ctx is done's. */
    void (*done)(struct job *j, struct server *s);
    void *ctx;
    const atomic_int *gone;     /* set by the I/O thread when the client
                                   disconnected: workers skip the job */
    const struct method *method;
    uint32_t msgid;
    uint64_t ready_us;          /* request complete (latency origin) */
    uint64_t deadline_us;       /* first byte + --deadline */
    msgpack_zone *zone;         /* owns the argument strings */
    /* Arguments (set by the method's parse step). */
    ps_query q;                 /* search */
    int facets;                 /* search */
    const char *id;             /* get */
    wdoc *docs;                 /* add: ndocs entries in the zone */
    uint32_t nwdocs;
    const char **ids;           /* delete: nids ids in the zone */
    uint32_t nids;
    uint64_t sub;               /* subscribe, unsubscribe: the subscription
                                   id (subscribe: the query is in q) */
    const char *name;           /* subscribe: its name (in the zone) */
    int role;                   /* the request's role (auth_role, access.h);
                                   auth: the role granted */
    char principal[AUTH_OWNER_LEN + 1];  /* the owner id of the request's token
                                   (auth.h, AUTH_OWNER_LEN), "" without
                                   one or without access control */
    struct subs_owner *owner;   /* subscribe, unsubscribe, subscriptions:
                                   who holds the subscriptions (subs.h):
                                   the connection's, or an SSE stream's */
    int durable;                /* subscribe: stored (substore.h) */
    int resume;                 /* subscribe: resume_from was given */
    uint64_t resume_from;       /* subscribe: catch up on seqs above it */
    uint64_t epoch;             /* subscribe: writer groups begun when it
                                   was registered (alerts_epoch) */
    /* The alert thread's items (alerts.h), with no method: a group of
     * documents to match (writer -> alert thread) or the notifications
     * found (alert thread -> I/O thread); freed by job_free through
     * payload_free. */
    void *payload;
    void (*payload_free)(void *payload);
    /* Results (set by the worker). */
    int err;                    /* -1 success, else a searchd_err */
    char errmsg[640];           /* lock conflicts quote the holder */
    msgpack_sbuffer out;        /* packed success response, when used */
    ps_results *langs;          /* stats: per-language counts */
    ps_results *shards;         /* stats of a sharded database: facets are
                                   the shard specs, count 1 up / 0 down */
    uint64_t ndocs, revision;   /* stats */
    uint64_t added, replaced, unchanged;   /* add (writer thread) */
    uint64_t deleted, not_found;            /* delete (writer thread) */
    /* The first job of a write group waiting to be answered once visible
     * (writer_ack.c): the next such group, the seq to wait for (0: none),
     * until when, the group's changes for the alert thread. */
    struct job *group_next;
    uint64_t vis_seq, vis_until_us;
    void *vis_ag;
} job;

/* Returns a new zeroed job with its zone, or NULL on allocation failure.
 * I/O thread. */
job *job_new(struct conn *c, const struct method *m, uint32_t msgid);

/* Frees the job and everything it owns (NULL is fine; not ctx).  Any
 * thread that currently owns the job. */
void job_free(job *j);

/* Turns a successful read job whose answer comes after its deadline
 * (now_us > j->deadline_us) into a timeout error naming deadline_ms.  A
 * write job keeps its success: it is applied, saying otherwise would be a
 * lie; so does a subscribe (a method with a done hook): it is registered.
 * I/O thread, before answering. */
void job_expire(job *j, uint64_t now_us, uint64_t deadline_ms);

#endif
