/* queue.h: how jobs travel between the I/O thread and the threads that run
 * them (the search workers, the writer).
 *
 * job_queue: a bounded FIFO from the I/O thread (producer) to one or more
 * consumer threads, with a mutex and a condition variable.  A push beyond
 * the capacity fails at once (the caller answers busy); consumers block in
 * queue_pop / queue_pop_until / queue_wait_until until a job arrives, a
 * deadline passes or the queue is shut down.
 *
 * done_list: the way back.  A consumer appends finished jobs and wakes the
 * I/O thread with event_active() on the event it was given; the I/O thread
 * takes the whole list at once.
 *
 * Jobs are linked through their intrusive `next` field (job.h), so nothing
 * here allocates and a job is on at most one list at a time: whoever holds
 * the list a job is on owns the job.
 *
 * Deadlines are absolute times on the ps_now_us() clock (CLOCK_MONOTONIC,
 * microseconds); QUEUE_NO_DEADLINE waits without one.
 */
#ifndef SEARCHD_QUEUE_H
#define SEARCHD_QUEUE_H

#include <pthread.h>
#include <stdint.h>
#include <event2/event.h>

#include "job.h"

#define QUEUE_NO_DEADLINE UINT64_MAX

/* What the consumers do with jobs still queued after queue_shutdown. */
typedef enum queue_stop_mode {
    QUEUE_DISCARD = 1,  /* pops return nothing at once; the jobs left are
                           freed by queue_destroy (the search workers) */
    QUEUE_DRAIN = 2     /* pops return the jobs left, then report stopped
                           (the writer commits everything it accepted) */
} queue_stop_mode;

/* Outcome of a wait. */
typedef enum queue_wait {
    QUEUE_READY,        /* a job is queued (queue_pop_until: *out is it) */
    QUEUE_TIMEOUT,      /* the deadline passed with nothing queued */
    QUEUE_STOPPED,      /* shut down, and nothing (more) to return */
    QUEUE_KICKED        /* queue_pop_kick: queue_kick was called */
} queue_wait;

/* The fields are private to queue.c: use the functions below. */
typedef struct job_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* signalled on push, broadcast on shutdown */
    job *head, *tail;
    unsigned len, cap;
    int stop;                   /* 0 or a queue_stop_mode */
    uint64_t kicks;             /* queue_kick calls so far */
} job_queue;

typedef struct done_list {
    pthread_mutex_t mu;
    job *head, *tail;
    struct event *ev;           /* activated (EV_READ) on every put */
} done_list;

/* Initialises an empty queue that holds at most cap jobs.  Returns 0, or
 * -1 with errno set (nothing to destroy then).  Before any other thread
 * sees the queue. */
int queue_init(job_queue *q, unsigned cap);

/* Frees every job still queued and the queue's mutex and condition
 * variable (not q itself).  After the consumers were joined. */
void queue_destroy(job_queue *q);

/* Appends j (the queue owns it from now on).  Returns 0, or -1 when the
 * queue holds cap jobs or was shut down: the caller still owns j.  Wakes
 * one waiting consumer.  Any thread (the I/O thread in the daemon). */
int queue_push(job_queue *q, job *j);

/* Removes and returns the oldest job, waiting as long as the queue is
 * empty.  Returns NULL once the queue is shut down (QUEUE_DISCARD: at once;
 * QUEUE_DRAIN: when it is empty).  The caller owns the job returned.
 * Consumer threads. */
job *queue_pop(job_queue *q);

/* Like queue_pop, but gives up at deadline_us.  Returns QUEUE_READY with
 * the job in *out (caller owns it), else QUEUE_STOPPED (shut down; checked
 * before the deadline) or QUEUE_TIMEOUT, with *out NULL.  Consumer
 * threads. */
queue_wait queue_pop_until(job_queue *q, uint64_t deadline_us, job **out);

/* Like queue_pop, but also returns when queue_kick was called since the
 * consumer last saw a kick: QUEUE_READY with the job in *out (caller owns
 * it; a queued job wins over a kick), QUEUE_STOPPED, or QUEUE_KICKED with
 * *out NULL and *kick_seen updated (start it at 0).  Consumer threads. */
queue_wait queue_pop_kick(job_queue *q, uint64_t *kick_seen, job **out);
/* Wakes every consumer waiting in queue_pop_kick (and makes the next such
 * call of each consumer that was not waiting return QUEUE_KICKED at
 * once, unless a job is queued).  Any thread. */
void queue_kick(job_queue *q);
/* Waits until a job is queued, the queue is shut down or deadline_us
 * passes, without removing anything.  Returns QUEUE_READY, QUEUE_STOPPED or
 * QUEUE_TIMEOUT as queue_pop_until.  Consumer threads. */
queue_wait queue_wait_until(job_queue *q, uint64_t deadline_us);

/* Removes jobs from the head, without waiting, while *total + size(job)
 * stays within max: each is appended at **tail (a NULL-terminated list the
 * caller owns with them; *tail moves to the new end) and its size added
 * to *total.  Returns how many were taken (0 when the head does not fit,
 * the queue is empty, or it was shut down with QUEUE_DISCARD).  Consumer
 * threads. */
unsigned queue_take(job_queue *q, uint64_t max, uint64_t (*size)(const job *),
                    uint64_t *total, job ***tail);

/* Refuses further pushes and wakes every waiting consumer; mode says
 * whether the jobs left are still handed out.  A second call keeps the
 * first mode.  Any thread. */
void queue_shutdown(job_queue *q, queue_stop_mode mode);

/* Returns the number of jobs queued now (a snapshot, for stats).  Any
 * thread. */
unsigned queue_len(job_queue *q);

/* Initialises an empty done list that activates ev (EV_READ) whenever jobs
 * are put on it; ev may be NULL (nobody woken) and must outlive the list.
 * Returns 0, or -1 with errno set.  Before any other thread sees it. */
int done_init(done_list *d, struct event *ev);

/* Appends a NULL-terminated list of finished jobs linked by next (the list
 * owns them from now on; NULL does nothing), then activates the event.
 * Consumer threads. */
void done_put(done_list *d, job *list);

/* Returns every job put so far, oldest first, linked by next (the caller
 * owns them), or NULL.  The I/O thread (the event's callback). */
job *done_take(done_list *d);

/* Frees every job nobody took and the mutex (not d itself).  After the
 * consumers were joined. */
void done_destroy(done_list *d);

#endif
