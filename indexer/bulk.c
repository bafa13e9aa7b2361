/* bulk.c: the parallel build of a new database (bulk.h).
 *
 * One mutex guards every writer's queue (a small ring of analysed
 * documents) and the build's state; each writer waits on its own
 * condition variable for work, the dealing thread (the pipeline's writer
 * thread) on `space` for room.  A writer that fails sets `fatal`: the
 * writers then drop what is queued, and bulk_put() returns the code, which
 * stops the pipeline.
 *
 * The writers are the busiest threads, so they do not free what they
 * wrote (an analysed document is thousands of small blocks): they put it
 * on the `junk` list, which the dealing thread frees in bulk_put().  At
 * most n * QUEUE_DOCS documents are written between two calls of
 * bulk_put() (each writer's queue), so the list never holds more.
 */
#include "bulk.h"

#include "polysearch.h"
#include "util.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/* Analysed documents waiting per writer: enough to ride out a commit of
 * the other writer's part without starving either. */
#define QUEUE_DOCS 64

typedef struct writer {
    struct bulk *b;
    unsigned index;
    ps_db *part;                /* owned by the ps_bulk */
    pthread_t th;
    int started;
    pthread_cond_t work;        /* queue not empty, or closing */
    ps_prepared *q[QUEUE_DOCS];
    size_t head, n;
    uint64_t pending;           /* written since the part's last commit */
    run_stats st;               /* added, updated, unchanged */
} writer;

struct bulk {
    ps_bulk *pb;
    const run_opts *o;
    pthread_mutex_t mu;
    pthread_cond_t space;       /* room in a queue, or fatal */
    int closing;                /* no more documents */
    int discard;                /* drop what is queued */
    int fatal;                  /* exit code of a writer's failure */
    unsigned n;
    writer *w;
    ps_prepared **junk;         /* written, to be freed by the dealer */
    size_t njunk, junk_cap;     /* junk_cap = n * QUEUE_DOCS */
};

unsigned bulk_writers_for(const run_opts *o, uint64_t input_bytes,
                          int bytes_known)
{
    if (o->parallel < 0 || o->sink != NULL || o->db != NULL || o->jobs < 2 ||
        o->shards != 0)
        return 0;
    if (o->parallel == 0 && (!bytes_known || input_bytes < BULK_AUTO_MIN_BYTES))
        return 0;
    ps_db_place pl = ps_db_place_of(o->db_path, NULL);
    if (pl != PS_PLACE_MISSING && pl != PS_PLACE_EMPTY)
        return 0;
    return o->parallel > 0 ? (unsigned)o->parallel : BULK_AUTO_WRITERS;
}

/* Writer thread: fails the build with code rc (mu held). */
static void set_fatal(bulk *b, int rc)
{
    if (b->fatal == 0)
        b->fatal = rc;
    pthread_cond_broadcast(&b->space);
    for (unsigned i = 0; i < b->n; i++)
        pthread_cond_signal(&b->w[i].work);
}

/* Writer thread: writes one document into the part, commits every
 * --batch.  Returns 0 or an exit code (logged). */
static int write_one(writer *w, const ps_prepared *p)
{
    ps_put_outcome out = PS_PUT_ADDED;
    ps_status st = ps_db_put_prepared(w->part, p, &out);
    if (st != PS_OK) {
        ps_log(PS_LOG_ERROR, "cannot index \"%s\": %s: %s", ps_prepared_id(p),
               ps_status_str(st), ps_db_errmsg(w->part));
        return run_status_exit(st);
    }
    if (out == PS_PUT_UNCHANGED) {
        w->st.unchanged++;
        return 0;
    }
    if (out == PS_PUT_ADDED)
        w->st.added++;
    else
        w->st.updated++;
    if (++w->pending < w->b->o->batch)
        return 0;
    w->pending = 0;
    st = ps_db_commit(w->part);
    if (st != PS_OK) {
        ps_log(PS_LOG_ERROR, "parallel build: writing part %u of %s failed: "
               "%s: %s; no database is made", w->index, w->b->o->db_path,
               ps_status_str(st), ps_db_errmsg(w->part));
        return run_status_exit(st);
    }
    return 0;
}

static void *part_writer_main(void *arg)
{
    writer *w = arg;
    bulk *b = w->b;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        if (w->n > 0) {
            ps_prepared *p = w->q[w->head];
            w->head = (w->head + 1) % QUEUE_DOCS;
            w->n--;
            int skip = b->fatal != 0 || b->discard;
            pthread_cond_signal(&b->space);
            pthread_mutex_unlock(&b->mu);
            int rc = skip ? 0 : write_one(w, p);
            pthread_mutex_lock(&b->mu);
            if (b->njunk < b->junk_cap) {
                b->junk[b->njunk++] = p;
            } else {                    /* against the invariant: free here */
                pthread_mutex_unlock(&b->mu);
                ps_prepared_free(p);
                pthread_mutex_lock(&b->mu);
            }
            if (rc != 0)
                set_fatal(b, rc);
            continue;
        }
        if (b->closing)
            break;
        pthread_cond_wait(&w->work, &b->mu);
    }
    int skip = b->fatal != 0 || b->discard;
    pthread_mutex_unlock(&b->mu);
    /* The last commit of the part (ps_bulk_finish would make it too, but
     * here a failure names the part and its cause). */
    if (!skip && w->pending > 0) {
        ps_status st = ps_db_commit(w->part);
        if (st != PS_OK) {
            ps_log(PS_LOG_ERROR, "parallel build: writing part %u of %s failed: "
                   "%s: %s; no database is made", w->index, b->o->db_path,
                   ps_status_str(st), ps_db_errmsg(w->part));
            pthread_mutex_lock(&b->mu);
            set_fatal(b, run_status_exit(st));
            pthread_mutex_unlock(&b->mu);
        }
    }
    return NULL;
}

/* Stops and joins the writers that were started; frees b's threads'
 * state, not the ps_bulk. */
static void stop_writers(bulk *b, int discard)
{
    pthread_mutex_lock(&b->mu);
    b->closing = 1;
    if (discard)
        b->discard = 1;
    for (unsigned i = 0; i < b->n; i++)
        pthread_cond_signal(&b->w[i].work);
    pthread_mutex_unlock(&b->mu);
    for (unsigned i = 0; i < b->n; i++) {
        if (b->w[i].started)
            pthread_join(b->w[i].th, NULL);
        b->w[i].started = 0;
    }
}

/* Frees the documents on the junk list (mu held on entry and return;
 * released while freeing).  The dealing thread, or any thread once the
 * writers are joined. */
static void junk_free(bulk *b)
{
    while (b->njunk > 0) {
        ps_prepared *batch[QUEUE_DOCS];
        size_t k = 0;
        while (b->njunk > 0 && k < QUEUE_DOCS)
            batch[k++] = b->junk[--b->njunk];
        pthread_mutex_unlock(&b->mu);
        for (size_t i = 0; i < k; i++)
            ps_prepared_free(batch[i]);
        pthread_mutex_lock(&b->mu);
    }
}

static void free_bulk(bulk *b)
{
    pthread_mutex_lock(&b->mu);
    junk_free(b);
    pthread_mutex_unlock(&b->mu);
    free(b->junk);
    for (unsigned i = 0; i < b->n; i++)
        pthread_cond_destroy(&b->w[i].work);
    pthread_cond_destroy(&b->space);
    pthread_mutex_destroy(&b->mu);
    free(b->w);
    free(b);
}

int bulk_start(const run_opts *o, unsigned writers, bulk **out)
{
    *out = NULL;
    ps_bulk *pb = NULL;
    char *msg = NULL;
    ps_status st = ps_bulk_begin(o->db_path, writers, &pb, &msg);
    if (st != PS_OK) {
        /* The serial path meets the same condition (a lock, a missing
         * parent, a mount point...) and reports it, or works. */
        ps_log(PS_LOG_DEBUG, "no parallel build into %s: %s: %s", o->db_path,
               ps_status_str(st), msg ? msg : "");
        free(msg);
        return -1;
    }
    bulk *b = calloc(1, sizeof *b);
    writer *w = calloc(writers, sizeof *w);
    ps_prepared **junk = calloc((size_t)writers * QUEUE_DOCS, sizeof *junk);
    if (b == NULL || w == NULL || junk == NULL) {
        free(b);
        free(w);
        free(junk);
        ps_bulk_abort(pb);
        ps_log(PS_LOG_ERROR, "out of memory");
        return EX_SOFTWARE;
    }
    b->pb = pb;
    b->o = o;
    b->n = writers;
    b->w = w;
    b->junk = junk;
    b->junk_cap = (size_t)writers * QUEUE_DOCS;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->space, NULL);
    /* Threads inherit this mask: signals stay with the reading thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int ok = 1;
    for (unsigned i = 0; i < writers; i++) {
        w[i].b = b;
        w[i].index = i;
        w[i].part = ps_bulk_part(pb, i);
        pthread_cond_init(&w[i].work, NULL);
        if (ok)
            ok = w[i].started = pthread_create(&w[i].th, NULL, part_writer_main,
                                               &w[i]) == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!ok) {
        stop_writers(b, 1);
        ps_bulk_abort(pb);
        free_bulk(b);
        ps_log(PS_LOG_DEBUG, "no parallel build: cannot start %u threads",
               writers);
        return -1;
    }
    ps_log(PS_LOG_DEBUG, "parallel build of %s: %u writers, scratch "
           "directory %s", o->db_path, writers, ps_bulk_scratch(pb));
    *out = b;
    return 0;
}

int bulk_put(bulk *b, pipe_doc *doc)
{
    writer *w = &b->w[ps_shard_of(doc->d.id, b->n)];
    pthread_mutex_lock(&b->mu);
    junk_free(b);
    while (w->n == QUEUE_DOCS && b->fatal == 0) {
        pthread_cond_wait(&b->space, &b->mu);
        junk_free(b);
    }
    int rc = b->fatal;
    if (rc == 0) {
        w->q[(w->head + w->n) % QUEUE_DOCS] = doc->p;
        w->n++;
        doc->p = NULL;
        pthread_cond_signal(&w->work);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int bulk_finish(bulk *b, int discard, progress *prog, run_stats *st)
{
    stop_writers(b, discard);
    uint64_t written = 0;
    for (unsigned i = 0; i < b->n; i++) {
        st->added += b->w[i].st.added;
        st->updated += b->w[i].st.updated;
        st->unchanged += b->w[i].st.unchanged;
        written += b->w[i].st.added + b->w[i].st.updated;
    }
    int code = b->fatal;
    ps_bulk *pb = b->pb;
    const char *path = b->o->db_path;
    free_bulk(b);
    if (discard || code != 0) {
        ps_bulk_abort(pb);
        return code;
    }
    progress_set_phase(prog, "merging");
    uint64_t t0 = ps_now_us(), total = 0;
    char *msg = NULL;
    ps_status s = ps_bulk_finish(pb, &total, &msg);
    if (s != PS_OK) {
        ps_log(PS_LOG_ERROR, "parallel build: merging into %s failed: %s: %s; "
               "no database was made", path,
               ps_status_str(s), msg ? msg : "");
        free(msg);
        return run_status_exit(s);
    }
    ps_log(PS_LOG_DEBUG, "merged and switched in %s in %.1f s", path, (double)(ps_now_us() - t0) / 1e6);
    ps_log(PS_LOG_DEBUG, "committed %llu documents (total %llu)",
           (unsigned long long)written, (unsigned long long)total);
    return 0;
}
