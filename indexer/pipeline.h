/* pipeline.h: the threaded indexing pipeline of polysearch-index.
 *
 *   reading thread --submit--> [bounded ring, input order]
 *     writer thread: early "unchanged?" check, in input order
 *     N analysis threads: ps_doc_prepare() (any order)
 *     writer thread: write callback, strictly in input order
 *
 * The writer thread is the only one that touches the database while the
 * pipeline runs (through the callbacks).  Memory is bounded: at most
 * max_docs documents and (beyond the first) max_bytes bytes of input text
 * are in flight; pipeline_submit() blocks while the ring is full.  Every
 * thread the pipeline starts blocks all signals, so SIGINT/SIGTERM reach
 * the reading thread (and interrupt its reads).
 */
#ifndef PS_INDEXER_PIPELINE_H
#define PS_INDEXER_PIPELINE_H

#include "polysearch.h"

#include <stddef.h>

/* A document in flight.  The pipeline owns it; callbacks get it for the
 * duration of the call. */
typedef struct pipe_doc {
    ps_doc_in d;            /* strings point into the pipeline's own copy */
    const char *where;      /* input name for warnings (FILE or FILE:LINE) */
    int dup;                /* id already seen in this run */
    int unchanged;          /* check callback said so: not analysed */
    ps_status st;           /* status of ps_doc_prepare() */
    ps_prepared *p;         /* prepared document when st == PS_OK */
    char *err;              /* prepare's message when st != PS_OK */
} pipe_doc;

typedef struct pipeline_cbs {
    void *ctx;
    /* Writer thread, input order, before analysis.  Returns 1 when the
     * document is stored unchanged (it is then not analysed and reaches
     * write() with unchanged = 1), else 0. */
    int (*check)(void *ctx, const pipe_doc *doc);
    /* Writer thread, input order, after analysis.  Returns 0, or a
     * <sysexits.h> code that stops the pipeline (the documents not yet
     * written are then dropped). */
    int (*write)(void *ctx, pipe_doc *doc);
} pipeline_cbs;

typedef struct pipeline pipeline;

/* Starts `workers` analysis threads (at least 1) and the writer thread.
 * bp is the boilerplate matcher for ps_doc_prepare() (must outlive the
 * pipeline).  Returns NULL when memory or threads are short (nothing is
 * left running).  Reading thread. */
pipeline *pipeline_start(unsigned workers, const ps_boilerplate *bp,
                         size_t max_docs, size_t max_bytes,
                         const pipeline_cbs *cbs);

/* Copies d (and where) into the pipeline, waiting while it is full.  dup:
 * the id was seen before in this run (the early check is skipped: an
 * earlier copy may still be in flight).  Returns 0; the write callback's
 * code once the pipeline stopped on an error; or -1 when out of memory.
 * Reading thread. */
int pipeline_submit(pipeline *pl, const ps_doc_in *d, const char *where,
                    int dup);

/* Ends the pipeline: with discard == 0, waits until every submitted
 * document is written; with discard != 0, drops what is not written yet.
 * Joins the threads and frees everything.  Returns 0 or the write
 * callback's code.  Reading thread; pl is invalid afterwards. */
int pipeline_finish(pipeline *pl, int discard);

#endif
