/* run.h: the indexing run of polysearch-index (inputs -> database in
 * batches, prune, summary) and the --query dev mode.  Main thread only:
 * run_index() installs SIGINT/SIGTERM handlers for its duration.
 */
#ifndef PS_INDEXER_RUN_H
#define PS_INDEXER_RUN_H

#include <stddef.h>
#include <stdint.h>

typedef struct run_opts {
    const char *db_path;        /* database directory */
    const char *lang;           /* default language, NULL = detect */
    const char *boilerplate;    /* extra boilerplate list file, or NULL */
    const char *const *excludes; /* NULL-terminated fnmatch patterns of
                                    names skipped in directory walks */
    int prune;                  /* delete ids not seen in this run */
    int force_jsonl;            /* read every file input as JSON Lines */
    int quiet;                  /* no progress line, no info logs */
    uint64_t batch;             /* commit every `batch` written docs */
    uint64_t max_doc_bytes;     /* larger files / lines are skipped */
} run_opts;

typedef struct run_stats {
    uint64_t added, updated, unchanged, deleted, skipped, failed;
} run_stats;

/* Indexes inputs[0..n) ("-" = JSON Lines on stdin, directories walked,
 * "*.jsonl" or --jsonl files read as JSON Lines, other files one document
 * each) into o->db_path, commits every o->batch written documents and at
 * the end, prunes when asked, prints the summary line on stdout and
 * returns a <sysexits.h> exit code (or 128+signal after SIGINT/SIGTERM).
 * When st is not NULL it receives the counters. */
int run_index(const run_opts *o, char *const *inputs, size_t n,
              run_stats *st);

/* Opens o->db_path read-only, runs query q (limit hits, language filter
 * o->lang when set) with snippets and prints the hits on stdout.  Returns
 * a <sysexits.h> exit code. */
int run_query(const run_opts *o, const char *q, uint32_t limit);

#endif
