/* workers.h: the pool of search threads, each with its own read-only
 * database handle, fed by a bounded job_queue (cfg->queue jobs; queue.h).
 * Finished jobs go to a done_list that wakes the I/O thread with
 * event_active().
 */
#ifndef SEARCHD_WORKERS_H
#define SEARCHD_WORKERS_H

#include <event2/event.h>

#include "config.h"
#include "job.h"

typedef struct worker_pool worker_pool;

/* Per-worker context handed to a method's exec step. */
typedef struct worker_ctx {
    ps_db *db;                  /* this worker's read-only handle */
    worker_pool *pool;
} worker_ctx;

/* Opens cfg->workers read-only handles on cfg->db_path.  Returns the pool
 * (threads not started yet) or NULL with *st and a malloc'd *errmsg
 * (caller frees).  done_ev is activated (EV_READ) whenever jobs are done;
 * it must outlive the pool.  Main thread. */
worker_pool *workers_create(const searchd_config *cfg, struct event *done_ev,
                            ps_status *st, char **errmsg);

/* Starts the threads.  Returns 0 or -1 (errno set; already started ones
 * are stopped by workers_destroy).  Main thread. */
int workers_start(worker_pool *p);

/* Queues a job for a worker (the pool owns it until it comes back from
 * workers_take_done).  Returns 0, or -1 when the queue is full or the pool
 * is stopping (caller still owns the job).  I/O thread. */
int workers_submit(worker_pool *p, job *j);

/* Returns the list of finished jobs (linked by next; caller owns them), or
 * NULL.  I/O thread. */
job *workers_take_done(worker_pool *p);

/* Asks every worker to close and reopen its handle before its next job
 * (SIGHUP).  Any thread. */
void workers_hup(worker_pool *p);

/* Attaches delta d (the write-ahead log's; NULL: nothing) to every
 * worker's handle, and to the handles reopened later (SIGHUP), so that
 * searches see the changes acknowledged but not yet checkpointed.  Returns
 * 0, or -1 with a message in err.  Main thread, before workers_start. */
int workers_attach_delta(worker_pool *p, ps_delta *d, char *err, size_t errlen);

/* Tells the workers that the writer committed: sharded handles reopen
 * before their next job instead of waiting for their periodic reopen (a
 * single database is polled on every job anyway).  Call before answering
 * the write, so a search sent after the answer sees it.  Any thread. */
void workers_note_write(worker_pool *p);

/* With a delta attached: kicks every worker to bring its view up to date
 * (between jobs) and waits until each started worker shows seq, at most
 * wait_us.  Returns 0 when they all do (also without a delta or with
 * wait_us 0, at once), -1 after wait_us (counted).  Any thread but a
 * worker's (the writer's, after publishing). */
int workers_wait_visible(worker_pool *p, uint64_t seq, uint64_t wait_us);

/* workers_wait_visible calls so far, and those that gave up.  Any
 * thread. */
uint64_t workers_visible_waits(worker_pool *p);
uint64_t workers_visible_timeouts(worker_pool *p);

/* Counters for stats: handle reopens after a commit or SIGHUP, and
 * searches retried after DatabaseModifiedError.  Any thread. */
uint64_t workers_reopens(worker_pool *p);
uint64_t workers_retries(worker_pool *p);
void workers_count_retry(worker_pool *p);

/* 1 when the database served is a shard set (several databases), else 0.
 * Main thread, before workers_start. */
int workers_sharded(worker_pool *p);

/* Jobs waiting in the queue now.  Any thread. */
unsigned workers_queued(worker_pool *p);

/* Stops the threads after their current job, joins them, frees queued and
 * done jobs that were never taken, closes the handles, frees the pool
 * (NULL is fine).  Main/I/O thread, after the event loop ended. */
void workers_destroy(worker_pool *p);

#endif
