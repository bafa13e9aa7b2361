/* bulk.h: the parallel build of a new database (polysearch-index
 * --parallel-build).
 *
 *   reading thread -> pipeline (pipeline.h): analysis threads
 *     -> the pipeline's writer thread, input order: bulk_put() deals each
 *        analysed document to writer thread ps_shard_of(id, N)
 *     -> N writer threads, each writing its own part of a ps_bulk
 *        (polysearch.h, "Bulk builds") and committing it every --batch
 *   bulk_finish(): the parts merged by Xapian's compactor, the result
 *   switched in at the database path in one rename (phase "merging").
 *
 * Every copy of an id goes to the same writer, so "the later duplicate
 * wins" holds as in a serial run.  Until bulk_finish() has switched the
 * result in, the database path holds no database; a kill leaves none.
 */
#ifndef PS_INDEXER_BULK_H
#define PS_INDEXER_BULK_H

#include "pipeline.h"
#include "progress.h"
#include "run.h"

#include <stdint.h>

/* Writers of --parallel-build auto (and of a bare --parallel-build). */
#define BULK_AUTO_WRITERS 2u
/* --parallel-build auto builds in parallel only when the inputs are at
 * least this large (their size known before reading). */
#define BULK_AUTO_MIN_BYTES (32ull << 20)
/* Largest --parallel-build N. */
#define BULK_MAX_WRITERS 16u

typedef struct bulk bulk;

/* Number of writers a run with options o should build with: 0 for a
 * serial run.  Non-zero only for a local run (no --server, --watch or
 * --shards, not a shard set) with --jobs > 1 into a path that holds no
 * database (ps_db_place_of: missing or empty), and then o->parallel
 * writers, or for auto (o->parallel == 0) BULK_AUTO_WRITERS when
 * bytes_known and input_bytes >= BULK_AUTO_MIN_BYTES.  Main thread. */
unsigned bulk_writers_for(const run_opts *o, uint64_t input_bytes,
                          int bytes_known);

/* Starts a build of a new database at o->db_path with `writers` writer
 * threads, each committing its part every o->batch written documents.
 * Returns 0 with *out set; -1 when a parallel build cannot be done here
 * (the reason is logged as a debug line; nothing was changed: index
 * serially); or a <sysexits.h> code after logging the error (EX_TEMPFAIL:
 * another writer holds the lock, named in the message).  Main thread. */
int bulk_start(const run_opts *o, unsigned writers, bulk **out);

/* The pipeline's writer thread, input order: takes the analysed document
 * of doc (doc->st == PS_OK; doc->p is taken over and set to NULL) and
 * queues it for its writer, waiting while that writer's queue is full.
 * Returns 0, or the exit code of a writer that failed (its error was
 * logged; the build is then to be discarded). */
int bulk_put(bulk *b, pipe_doc *doc);

/* Ends the build: waits for the writers to write what was queued (with
 * discard != 0: drops it), joins them and adds their counts (added,
 * updated, unchanged) to *st.  Then, unless discard or a writer failed,
 * sets the phase "merging" on prog and merges and switches in the
 * database (ps_bulk_finish), logging "committed N documents (total M)"
 * as a debug line once it is in place; otherwise discards everything.
 * Frees b.  Returns 0 or a <sysexits.h> code (logged).  Main thread,
 * after the pipeline has finished. */
int bulk_finish(bulk *b, int discard, progress *prog, run_stats *st);

#endif
