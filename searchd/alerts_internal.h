/* alerts_internal.h: what the alert thread's files share (alerts.c the
 * thread, its queue and matching; alerts_catchup.c the catch-ups of
 * resume_from and of other writers; alerts_pack.c the batches of packed
 * notifications).  Not for other files: they use alerts.h.
 */
#ifndef SEARCHD_ALERTS_INTERNAL_H
#define SEARCHD_ALERTS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts.h"
#include "queue.h"

/* What the matcher holds per query (its user pointer): the query again,
 * for catch-ups, and the floor: live matches with a seq at or below it
 * were sent by a catch-up already. */
typedef struct asub {
    uint64_t id;
    uint64_t floor;
    char *name, *q, *lang, *date_from;
    int no_synonyms;
} asub;

struct alert_group {
    ps_match_doc *v;
    size_t n, cap;
};

struct alerts {
    const searchd_config *cfg;
    job_queue queue;            /* I/O thread and writer -> alert thread */
    done_list done;             /* alert thread -> I/O thread */
    pthread_t thread;
    int started;
    int stopped;                /* alerts_stop done */
    atomic_uint_fast64_t wanted;        /* subscriptions registered */
    uint64_t overflow_docs;     /* dropped, not yet reported (under mu) */
    uint64_t overflow_from;     /* the seq before the first of them
                                   (UINT64_MAX: unknown; under mu) */
    atomic_uint_fast64_t g_begun, g_ended;  /* writer groups */
    pthread_mutex_t mu;         /* removals and st */
    uint64_t *removed;
    size_t nremoved, capremoved;
    alerts_stats st;
    ps_matcher *m;              /* alert thread only (after start) */
    ps_db *syn_db;              /* alert thread: a read handle for the
                                   synonym table (opened at first use) */
    int syn_warned;
    ps_delta *delta;            /* log mode: what the handle attaches */
    ps_db *db;                  /* alert thread: catch-ups (lazy) */
    asub **subs;                /* alert thread: the queries, by id */
    size_t nsubs, capsubs;
};

/* The payload of a catch-up item (alerts_submit_catchup). */
typedef struct catchup_range {
    uint64_t after, upto;
} catchup_range;

/* ---- alerts.c ---- */

/* Removes query id from the matcher and a->subs, frees its asub.  Alert
 * thread. */
void alerts_forget(alerts *a, uint64_t id);

/* A result job carrying b to the I/O thread (b freed on failure). */
void alerts_hand_back(alerts *a, alert_batch *b);

/* Records that docs changes from the one after seq `from` on were not
 * matched (UINT64_MAX: from unknown): every subscription gets a lagged
 * notification, with resume_from when known.  Any thread. */
void alerts_overflow(alerts *a, uint64_t docs, uint64_t from);

/* ---- alerts_pack.c (any thread owning the batch) ---- */

/* A new empty batch, or NULL on allocation failure. */
alert_batch *alerts_batch_new(void);

/* Frees a batch (void * for payload_free; NULL is fine). */
void alerts_batch_free(void *b);

/* A ps_match_cb: packs [2, "match", [{...}]] for one match into the
 * batch ctx; a live match at or below its subscription's floor (sent by
 * a catch-up) is skipped.  Returns 0 or -1 (out of memory). */
int alerts_pack_match(void *ctx, const ps_match *mt);

/* Packs [2, "lagged", [{subscription, dropped, resume_from}]] into b as
 * a note of sub.  Returns 0 or -1. */
int alerts_batch_lagged(alert_batch *b, uint64_t sub, uint64_t dropped, uint64_t from);

/* ---- alerts_catchup.c (alert thread) ---- */

/* The resume of a subscribe job whose query as was just added: waits for
 * the groups begun before j->epoch, then catches as up from
 * j->resume_from.  Returns the batch to hand back after the job (NULL:
 * none, or failure: then j->err and j->errmsg are set and the query is
 * forgotten). */
alert_batch *alerts_resume(alerts *a, job *j, asub *as);

/* Another writer's changes (after, upto]: caught up for every query. */
void alerts_do_catchup(alerts *a, uint64_t after, uint64_t upto);

/* Closes the catch-up handle (NULL is fine).  Main thread, at exit. */
void alerts_catchup_close(alerts *a);

#endif
