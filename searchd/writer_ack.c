/* writer_ack.c: answering write groups once every worker shows them, off
 * the writer thread (--visible-wait, log mode).  The writer publishes a
 * group's changes, hands the group here and goes on with the next one, so
 * the next group's analysis and fdatasync overlap the workers' update of
 * their views; this thread answers the groups in order, each once visible
 * or at its deadline, then hands its changes to the alert thread (so a
 * notification never comes before the add's answer). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "util.h"
#include "writer_internal.h"

static void *ack_main(void *arg)
{
    writer *w = arg;
    pthread_mutex_lock(&w->ack_mu);
    for (;;) {
        while (!w->ack_head && !w->ack_stop) pthread_cond_wait(&w->ack_cv, &w->ack_mu);
        job *g = w->ack_head;
        if (!g) break;                          /* stopping, nothing left */
        w->ack_head = g->group_next;
        if (!w->ack_head) w->ack_tail = NULL;
        w->ack_busy = 1;
        pthread_mutex_unlock(&w->ack_mu);

        /* Read before done_put: the I/O thread frees the group then. */
        uint64_t seq = g->vis_seq, until = g->vis_until_us;
        alert_group *ag = g->vis_ag;
        g->group_next = NULL;
        g->vis_ag = NULL;
        if (seq && w->vis_wait) w->vis_wait(w->vis_ctx, seq, until);
        done_put(&w->done, g);
        alerts_submit_group(w->alerts, ag);
        alerts_group_end(w->alerts);

        pthread_mutex_lock(&w->ack_mu);
        w->ack_busy = 0;
        if (!w->ack_head) pthread_cond_broadcast(&w->ack_idle_cv);
    }
    pthread_mutex_unlock(&w->ack_mu);
    return NULL;
}

int wr_ack_start(writer *w)
{
    if (pthread_mutex_init(&w->ack_mu, NULL) != 0) return -1;
    if (pthread_cond_init(&w->ack_cv, NULL) != 0) {
        pthread_mutex_destroy(&w->ack_mu);
        return -1;
    }
    if (pthread_cond_init(&w->ack_idle_cv, NULL) != 0) {
        pthread_cond_destroy(&w->ack_cv);
        pthread_mutex_destroy(&w->ack_mu);
        return -1;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&w->ack_thread, NULL, ack_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        pthread_cond_destroy(&w->ack_idle_cv);
        pthread_cond_destroy(&w->ack_cv);
        pthread_mutex_destroy(&w->ack_mu);
        errno = e;
        return -1;
    }
    w->ack_started = 1;
    return 0;
}

void wr_ack_put(writer *w, job *group, uint64_t seq, uint64_t until_us, alert_group *ag)
{
    group->group_next = NULL;
    group->vis_seq = seq;
    group->vis_until_us = until_us;
    group->vis_ag = ag;
    pthread_mutex_lock(&w->ack_mu);
    if (w->ack_tail) w->ack_tail->group_next = group;
    else w->ack_head = group;
    w->ack_tail = group;
    pthread_cond_signal(&w->ack_cv);
    pthread_mutex_unlock(&w->ack_mu);
}

void wr_ack_drain(writer *w)
{
    if (!w->ack_started) return;
    pthread_mutex_lock(&w->ack_mu);
    while (w->ack_head || w->ack_busy) pthread_cond_wait(&w->ack_idle_cv, &w->ack_mu);
    pthread_mutex_unlock(&w->ack_mu);
}

void wr_ack_stop(writer *w)
{
    if (!w->ack_started) return;
    pthread_mutex_lock(&w->ack_mu);
    w->ack_stop = 1;
    pthread_cond_signal(&w->ack_cv);
    pthread_mutex_unlock(&w->ack_mu);
    pthread_join(w->ack_thread, NULL);
    w->ack_started = 0;
    pthread_cond_destroy(&w->ack_idle_cv);
    pthread_cond_destroy(&w->ack_cv);
    pthread_mutex_destroy(&w->ack_mu);
}
