/* alerts.h: the alert thread: it owns the matcher of saved queries
 * (ps_matcher, lib/core/match.cc), adds the queries of subscribe requests
 * to it, and matches every durable write group against them.
 *
 * In:  one bounded job_queue (ALERTS_QUEUE items; queue.h) fed by the I/O
 *      thread (subscribe jobs: full -> busy) and by the writer (groups,
 *      after their log fdatasync and publish, or their commit: full -> the
 *      group is not matched, counted, logged, and every subscription is
 *      told through a "lagged" notification; the writer never waits).
 *      Removals (unsubscribe, a connection closed) go through a list of
 *      ids under a mutex, never refused, applied before the next item.
 * Out: the done_list of the workers' pattern (event_active on done_ev):
 *      subscribe jobs answered, and jobs without a connection whose
 *      payload is an alert_batch of packed notifications, in commit
 *      order; the I/O thread delivers them (subs.h).  Only the I/O thread
 *      writes to connections.
 */
#ifndef SEARCHD_ALERTS_H
#define SEARCHD_ALERTS_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <msgpack.h>

#include "config.h"
#include "job.h"
#include "polysearch.h"

/* Items (groups and subscribe requests) waiting for the alert thread. */
#define ALERTS_QUEUE 64u

typedef struct alerts alerts;

/* The documents of one durable write group, in commit order. */
typedef struct alert_group alert_group;

/* One packed notification of a batch: buf[off, off+len) is the whole
 * message [2, "match", [{...}]] for subscription sub. */
typedef struct alert_note {
    uint64_t sub;
    size_t off, len;
    uint64_t seq;               /* the match's seq (0: a lagged note) */
} alert_note;

/* What the alert thread hands to the I/O thread (payload of a job with
 * no connection). */
typedef struct alert_batch {
    alert_note *v;
    size_t n, cap;
    msgpack_sbuffer buf;
    uint64_t overflow_docs;     /* documents of groups dropped because the
                                   queue was full (every subscription may
                                   have missed them) */
    uint64_t overflow_from;     /* with overflow_docs: the seq before the
                                   first of them (a resume from it gets
                                   them), UINT64_MAX when unknown */
    int catchup;                /* notes of a catch-up (resume_from, or
                                   another writer's changes): delivered
                                   whatever the connection's queue holds
                                   (bounded by --resume-max instead) */
    uint64_t last_seq;          /* seq of the last match packed */
} alert_batch;

/* Figures for stats (a snapshot). */
typedef struct alerts_stats {
    uint64_t queries;           /* queries in the matcher */
    uint64_t groups, docs;      /* groups and documents matched */
    uint64_t matches;           /* notifications produced */
    uint64_t candidates;        /* queries run over groups */
    uint64_t last_us, max_us, total_us;  /* time to match a group */
    uint64_t overflow_groups, overflow_docs;  /* not matched: queue full */
    uint64_t resumes;           /* subscribe with resume_from */
    uint64_t catchups;          /* other writers' changes caught up on */
    uint64_t catchup_docs;      /* notifications sent by catch-ups */
    uint64_t catchup_dropped;   /* ... not sent: past --resume-max */
    unsigned queued;            /* items waiting now */
} alerts_stats;

/* Returns the alert machinery (thread not started), or NULL on allocation
 * failure.  done_ev is activated whenever results are ready; it must
 * outlive the object.  Main thread. */
alerts *alerts_create(const searchd_config *cfg, struct event *done_ev);

/* Starts the thread (signals blocked).  Returns 0 or -1 with errno.  Main
 * thread. */
int alerts_start(alerts *a);

/* Stops the thread after its current item (the items queued are dropped:
 * nobody would deliver their notifications), joins it and closes its
 * catch-up handle, which is attached to the write-ahead log's delta.
 * Idempotent (NULL is fine).  Main thread, after writer_stop (the writer
 * submits groups) and before writer_destroy (it frees the delta). */
void alerts_stop(alerts *a);

/* alerts_stop if not done; frees the matcher, the queue, the results
 * nobody took and a (NULL is fine).  Main thread, after the connections
 * were freed. */
void alerts_destroy(alerts *a);

/* The write-ahead log's delta (NULL in commit mode): the alert thread's
 * read handle, opened at its first catch-up, is attached to it, so that a
 * catch-up sees main + delta.  Main thread, before alerts_start. */
void alerts_set_delta(alerts *a, ps_delta *d);

/* Hands the alert thread a catch-up of the changes another writer (a
 * local polysearch-index) committed with seqs in (after, upto]: every
 * subscription gets the documents it matches among them, by seq, at most
 * --resume-max each (then a lagged notification).  Queued in order with
 * the groups; never waits (queue full: counted as overflow, every
 * subscription gets a lagged notification).  Writer thread. */
void alerts_submit_catchup(alerts *a, uint64_t after, uint64_t upto);

/* Tells the writer whether groups are wanted: nsubs subscriptions exist
 * (registered on the I/O thread).  Any thread. */
void alerts_set_wanted(alerts *a, uint64_t nsubs);

/* The writer brackets each group with these (any a, NULL is fine): a
 * resume's catch-up waits until every group begun before its
 * subscription was registered has ended (published and handed over), so
 * that a group that did not keep its documents for the alerts (nobody
 * was subscribed when it was applied) is visible to the catch-up.
 * Writer thread. */
void alerts_group_begin(alerts *a);
void alerts_group_end(alerts *a);

/* The number of groups begun so far (for j->epoch, taken after
 * alerts_set_wanted).  Any thread. */
uint64_t alerts_epoch(alerts *a);

/* 1 when subscriptions exist (the writer keeps its prepared documents
 * for a group), else 0 (also for a NULL a).  Any thread. */
int alerts_wanted(alerts *a);

/* A new empty group, or NULL on allocation failure.  Writer thread. */
alert_group *alerts_group_new(void);

/* Appends the put of p with its change sequence number; replaced: the id
 * existed before.  Takes p in every case (freed on failure).  Returns 0,
 * or -1 on allocation failure (then the group should be dropped).
 * Writer thread. */
int alerts_group_put(alert_group *g, ps_prepared *p, uint64_t seq, int replaced);

/* Appends the delete of id (copied).  Returns 0 or -1 as above.  Writer
 * thread. */
int alerts_group_del(alert_group *g, const char *id, uint64_t seq);

/* Number of changes in g (0 for NULL).  Writer thread. */
size_t alerts_group_size(const alert_group *g);

/* Frees g and the documents it holds (NULL is fine).  Any thread owning
 * it. */
void alerts_group_free(alert_group *g);

/* Hands a durable group to the alert thread (takes g; NULL or empty: just
 * freed).  Never waits: when the queue is full the group is freed,
 * counted, logged, and every subscription will get a lagged
 * notification.  Writer thread. */
void alerts_submit_group(alerts *a, alert_group *g);

/* Queues a subscribe job (j->sub, j->q, j->name): the thread adds the
 * query and hands the job back answered (j->err set on failure).  With
 * j->resume, the thread then runs the catch-up of the query over the
 * documents with a seq above j->resume_from (main + delta, by seq, at
 * most --resume-max, then a lagged notification {subscription, dropped,
 * resume_from}) and hands those notifications back right after the job;
 * live matches with a seq at or below the highest seq the catch-up found
 * are not sent again (no gap: the query is in the matcher before the
 * catch-up runs, and both run on this one thread, in queue order).  Returns
 * 0, or -1 when the queue is full or stopping (caller still owns j).  I/O
 * thread. */
int alerts_submit(alerts *a, job *j);

/* Removes subscription id from the matcher before the thread's next item
 * (nothing if unknown).  Never fails (out of memory: logged, and the
 * query stays, its matches dropped by the I/O thread).  I/O thread. */
void alerts_remove(alerts *a, uint64_t id);

/* The jobs handed back (linked by next; caller owns them), or NULL.  I/O
 * thread. */
job *alerts_take_done(alerts *a);

/* Fills *out.  Any thread. */
void alerts_get_stats(alerts *a, alerts_stats *out);

/* Packs the notification [2, "lagged", [{subscription, dropped,
 * resume_from?}]] (resume_from when has_from: the seq a resume of a
 * catch-up cut at --resume-max starts from).  Returns msgpack's status.
 * Any thread (alerts_pack.c). */
int alerts_pack_lagged(msgpack_packer *pk, uint64_t sub, uint64_t dropped,
                       int has_from, uint64_t from);

#endif
