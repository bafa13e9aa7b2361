/* pipeline.c: reading -> check -> analysis threads -> ordered writes
 * (pipeline.h).
 *
 * One mutex guards a ring of `cap` slots indexed by sequence number and
 * the cursors n_write <= n_check <= n_submit:
 *   [n_write, n_check)   checked: TODO (to analyse), BUSY, or DONE
 *   [n_check, n_submit)  NEW: waiting for the writer's early check
 * n_run, the next slot an analysis thread looks at, stays below n_check
 * and is moved up to n_write before use (slots skipped as unchanged may
 * be written before any analysis thread looked at them).  A slot is free
 * again once n_write has passed it.
 *
 * The writer does not free what it wrote: it moves it to the garbage
 * list, which the reading thread frees in pipeline_submit() (freeing an
 * analysed document, thousands of small blocks, would otherwise take
 * time from the writer, the busiest thread).  Garbage still counts in
 * `bytes` until freed, so the byte budget stays exact; there are never
 * more than `cap` entries (the writer writes at most `cap` documents
 * between two calls of pipeline_submit(), each of which empties it).
 */
#include "pipeline.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { S_NEW, S_TODO, S_BUSY, S_DONE };

typedef struct slot {
    pipe_doc doc;
    char *buf;              /* one block holding the copied strings */
    size_t bytes;
    int state;
} slot;

/* What a written slot held, waiting to be freed by the reading thread. */
typedef struct garbage {
    ps_prepared *p;
    char *err;
    char *buf;
    size_t bytes;
} garbage;

struct pipeline {
    pthread_mutex_t mu;
    pthread_cond_t space_cv;    /* reading thread: room in the ring */
    pthread_cond_t work_cv;     /* analysis threads: a TODO slot */
    pthread_cond_t writer_cv;   /* writer: a NEW slot or a DONE one */
    slot *ring;
    size_t cap;
    garbage *junk, *junk_spare;     /* cap entries each */
    size_t njunk;
    uint64_t n_submit, n_check, n_run, n_write;
    size_t bytes, max_bytes;
    int closing;                /* no more submissions */
    int abort;                  /* drop everything, threads exit */
    int fatal;                  /* write callback's code */
    const ps_boilerplate *bp;
    pipeline_cbs cbs;
    unsigned nworkers;          /* threads started */
    pthread_t *workers;
    pthread_t writer;
    int writer_started;
};

static void slot_clear(slot *s)
{
    ps_prepared_free(s->doc.p);
    free(s->doc.err);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

static void junk_free(garbage *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ps_prepared_free(g[i].p);
        free(g[i].err);
        free(g[i].buf);
    }
}

/* Called with pl->mu held; returns with it held.  Frees the garbage list
 * (outside the lock) and gives its bytes back to the budget. */
static void junk_collect(pipeline *pl)
{
    if (pl->njunk == 0)
        return;
    garbage *g = pl->junk;
    size_t n = pl->njunk;
    pl->junk = pl->junk_spare;
    pl->junk_spare = NULL;      /* ours until we give it back */
    pl->njunk = 0;
    pthread_mutex_unlock(&pl->mu);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += g[i].bytes;
    junk_free(g, n);
    pthread_mutex_lock(&pl->mu);
    pl->junk_spare = g;
    pl->bytes -= bytes;
}

static void *worker_main(void *arg)
{
    pipeline *pl = arg;
    pthread_mutex_lock(&pl->mu);
    for (;;) {
        /* Skip what is written already and the slots the early check
         * marked unchanged. */
        if (pl->n_run < pl->n_write)
            pl->n_run = pl->n_write;
        while (pl->n_run < pl->n_check &&
               pl->ring[pl->n_run % pl->cap].state != S_TODO)
            pl->n_run++;
        if (pl->abort)
            break;
        if (pl->n_run < pl->n_check) {
            slot *s = &pl->ring[pl->n_run % pl->cap];
            pl->n_run++;
            s->state = S_BUSY;
            pthread_mutex_unlock(&pl->mu);
            ps_prepared *p = NULL;
            char *err = NULL;
            ps_status st = ps_doc_prepare(&s->doc.d, pl->bp, &p, &err);
            pthread_mutex_lock(&pl->mu);
            s->doc.st = st;
            s->doc.p = p;
            s->doc.err = err;
            s->state = S_DONE;
            pthread_cond_signal(&pl->writer_cv);
            continue;
        }
        if (pl->closing && pl->n_run == pl->n_submit)
            break;
        pthread_cond_wait(&pl->work_cv, &pl->mu);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

static void *writer_main(void *arg)
{
    pipeline *pl = arg;
    pthread_mutex_lock(&pl->mu);
    while (!pl->abort) {
        if (pl->n_check < pl->n_submit) {
            /* Early check first: it is cheap and feeds the workers. */
            slot *s = &pl->ring[pl->n_check % pl->cap];
            int skip = 0;
            pthread_mutex_unlock(&pl->mu);
            if (!s->doc.dup)
                skip = pl->cbs.check(pl->cbs.ctx, &s->doc) == 1;
            pthread_mutex_lock(&pl->mu);
            s->doc.unchanged = skip;
            s->state = skip ? S_DONE : S_TODO;
            pl->n_check++;
            if (!skip)
                pthread_cond_signal(&pl->work_cv);
            continue;
        }
        if (pl->n_write < pl->n_check &&
            pl->ring[pl->n_write % pl->cap].state == S_DONE) {
            slot *s = &pl->ring[pl->n_write % pl->cap];
            pthread_mutex_unlock(&pl->mu);
            int rc = pl->cbs.write(pl->cbs.ctx, &s->doc);
            garbage g = { s->doc.p, s->doc.err, s->buf, s->bytes };
            memset(s, 0, sizeof *s);
            pthread_mutex_lock(&pl->mu);
            if (pl->junk != NULL && pl->njunk < pl->cap) {
                pl->junk[pl->njunk++] = g;
            } else {
                /* The reading thread is freeing the list (or, against
                 * the invariant, it is full): free this one here. */
                pthread_mutex_unlock(&pl->mu);
                junk_free(&g, 1);
                pthread_mutex_lock(&pl->mu);
                pl->bytes -= g.bytes;
            }
            pl->n_write++;
            pthread_cond_signal(&pl->space_cv);
            if (rc != 0) {
                pl->fatal = rc;
                pl->abort = 1;
                pthread_cond_broadcast(&pl->work_cv);
                pthread_cond_broadcast(&pl->space_cv);
            }
            continue;
        }
        if (pl->closing && pl->n_write == pl->n_submit)
            break;
        pthread_cond_wait(&pl->writer_cv, &pl->mu);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

/* Stops and joins whatever was started, frees the pipeline. */
static void teardown(pipeline *pl)
{
    pthread_mutex_lock(&pl->mu);
    pl->abort = 1;
    pthread_cond_broadcast(&pl->work_cv);
    pthread_cond_broadcast(&pl->writer_cv);
    pthread_cond_broadcast(&pl->space_cv);
    pthread_mutex_unlock(&pl->mu);
    if (pl->writer_started)
        pthread_join(pl->writer, NULL);
    for (unsigned i = 0; i < pl->nworkers; i++)
        pthread_join(pl->workers[i], NULL);
    for (uint64_t q = pl->n_write; q < pl->n_submit; q++)
        slot_clear(&pl->ring[q % pl->cap]);
    if (pl->junk != NULL)
        junk_free(pl->junk, pl->njunk);
    free(pl->junk);
    free(pl->junk_spare);
    pthread_cond_destroy(&pl->space_cv);
    pthread_cond_destroy(&pl->work_cv);
    pthread_cond_destroy(&pl->writer_cv);
    pthread_mutex_destroy(&pl->mu);
    free(pl->workers);
    free(pl->ring);
    free(pl);
}

pipeline *pipeline_start(unsigned workers, const ps_boilerplate *bp,
                         size_t max_docs, size_t max_bytes,
                         const pipeline_cbs *cbs)
{
    if (workers < 1)
        workers = 1;
    if (max_docs < 1)
        max_docs = 1;
    pipeline *pl = calloc(1, sizeof *pl);
    if (pl == NULL)
        return NULL;
    pl->ring = calloc(max_docs, sizeof *pl->ring);
    pl->workers = calloc(workers, sizeof *pl->workers);
    pl->junk = calloc(max_docs, sizeof *pl->junk);
    pl->junk_spare = calloc(max_docs, sizeof *pl->junk_spare);
    if (pl->ring == NULL || pl->workers == NULL || pl->junk == NULL ||
        pl->junk_spare == NULL) {
        free(pl->ring);
        free(pl->workers);
        free(pl->junk);
        free(pl->junk_spare);
        free(pl);
        return NULL;
    }
    pl->cap = max_docs;
    pl->max_bytes = max_bytes;
    pl->bp = bp;
    pl->cbs = *cbs;
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->space_cv, NULL);
    pthread_cond_init(&pl->work_cv, NULL);
    pthread_cond_init(&pl->writer_cv, NULL);

    /* Threads inherit this mask: signals stay with the reading thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int ok = pthread_create(&pl->writer, NULL, writer_main, pl) == 0;
    pl->writer_started = ok;
    for (unsigned i = 0; ok && i < workers; i++) {
        ok = pthread_create(&pl->workers[i], NULL, worker_main, pl) == 0;
        if (ok)
            pl->nworkers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!ok) {
        teardown(pl);
        return NULL;
    }
    return pl;
}

/* Copies the strings of d and where into one block; fills *doc. */
static char *copy_doc(const ps_doc_in *d, const char *where, pipe_doc *doc,
                      size_t *bytes)
{
    const char *src[7] = { d->id, d->title, d->body, d->lang, d->date,
                           d->url, where };
    size_t len[7], total = 0;
    for (int i = 0; i < 7; i++) {
        len[i] = src[i] ? strlen(src[i]) + 1 : 0;
        total += len[i];
    }
    char *buf = malloc(total ? total : 1);
    if (buf == NULL)
        return NULL;
    const char *dst[7];
    char *p = buf;
    for (int i = 0; i < 7; i++) {
        if (src[i] == NULL) {
            dst[i] = NULL;
            continue;
        }
        memcpy(p, src[i], len[i]);
        dst[i] = p;
        p += len[i];
    }
    memset(doc, 0, sizeof *doc);
    doc->d.id = dst[0];
    doc->d.title = dst[1];
    doc->d.body = dst[2];
    doc->d.lang = dst[3];
    doc->d.date = dst[4];
    doc->d.url = dst[5];
    doc->where = dst[6];
    *bytes = total;
    return buf;
}

int pipeline_submit(pipeline *pl, const ps_doc_in *d, const char *where,
                    int dup)
{
    pipe_doc doc;
    size_t bytes;
    char *buf = copy_doc(d, where, &doc, &bytes);
    if (buf == NULL)
        return -1;
    doc.dup = dup;
    pthread_mutex_lock(&pl->mu);
    junk_collect(pl);
    /* Full: cap documents in flight, or the byte budget (a document is
     * always admitted when nothing else is in flight). */
    while (!pl->abort &&
           (pl->n_submit - pl->n_write >= pl->cap ||
            (pl->n_submit > pl->n_write && pl->bytes + bytes > pl->max_bytes))) {
        pthread_cond_wait(&pl->space_cv, &pl->mu);
        junk_collect(pl);
    }
    if (pl->abort) {
        int rc = pl->fatal;
        pthread_mutex_unlock(&pl->mu);
        free(buf);
        return rc != 0 ? rc : -1;
    }
    slot *s = &pl->ring[pl->n_submit % pl->cap];
    s->doc = doc;
    s->buf = buf;
    s->bytes = bytes;
    s->state = S_NEW;
    pl->n_submit++;
    pl->bytes += bytes;
    pthread_cond_signal(&pl->writer_cv);
    pthread_mutex_unlock(&pl->mu);
    return 0;
}

int pipeline_finish(pipeline *pl, int discard)
{
    pthread_mutex_lock(&pl->mu);
    pl->closing = 1;
    if (discard)
        pl->abort = 1;
    pthread_cond_broadcast(&pl->work_cv);
    pthread_cond_broadcast(&pl->writer_cv);
    pthread_mutex_unlock(&pl->mu);
    /* The writer returns once everything is written (or on abort). */
    pthread_join(pl->writer, NULL);
    pl->writer_started = 0;
    int rc = pl->fatal;
    teardown(pl);
    return rc;
}
