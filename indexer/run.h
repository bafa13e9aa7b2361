/* run.h: the indexing run of polysearch-index (inputs -> database in
 * batches, prune, summary) and the --query dev mode.  Main thread only:
 * run_index() installs SIGINT/SIGTERM handlers for its duration.
 */
#ifndef PS_INDEXER_RUN_H
#define PS_INDEXER_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "polysearch.h"

struct run_stats;

/* Where documents go instead of a local database (polysearch-index
 * --server: remote.h).  Used by the thread that calls run_index(). */
typedef struct run_sink {
    void *ctx;
    /* Takes one parsed document (valid during the call only; `where` names
     * its file or FILE:LINE for warnings) and counts its outcome in *st,
     * possibly later, at a flush.  Returns 0, or a <sysexits.h> code that
     * ends the run. */
    int (*put)(void *ctx, const ps_doc_in *d, const char *where,
               struct run_stats *st);
    /* Sends what put() kept and waits until it is committed; called where
     * a local run commits.  Returns 0 or a <sysexits.h> code. */
    int (*flush)(void *ctx, struct run_stats *st);
} run_sink;

typedef struct run_opts {
    const char *db_path;        /* database directory */
    unsigned shards;            /* --shards N: db_path is a shard set of N
                                   (ps_db_open_dir); 0: whatever it is */
    const char *lang;           /* default language, NULL = detect */
    const char *boilerplate;    /* extra boilerplate list file, or NULL */
    const char *const *excludes; /* NULL-terminated fnmatch patterns of
                                    names skipped in directory walks */
    int prune;                  /* delete ids not seen in this run */
    int force_jsonl;            /* read every file input as JSON Lines */
    int quiet;                  /* no progress line, no info logs */
    uint64_t batch;             /* commit every `batch` written docs */
    uint64_t max_doc_bytes;     /* larger files / lines are skipped */
    unsigned jobs;              /* > 1: jobs - 1 analysis threads plus a
                                   writer thread (pipeline.h); 0 or 1: all
                                   on the calling thread */
    int parallel;               /* --parallel-build: -1 off; 0 auto; N > 0
                                   N writer threads for a new database
                                   (bulk.h) */
    /* Live reindexing (--watch, --server: watch.h, remote.h): */
    ps_db *db;                  /* NULL: open db_path for the run; else an
                                   open writable database owned by the
                                   caller: used and committed, not closed */
    const run_sink *sink;       /* NULL: local database; else documents go
                                   to the sink and no database is opened
                                   (--prune is then not done) */
    const char *id_root;        /* NULL: a FILE input's id is its base name;
                                   else FILE inputs are paths id_root/REL
                                   and get the id a walk of id_root gives */
    int no_summary;             /* do not print the summary line */
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

/* The exit code for a failed library call's status: EX_IOERR for I/O
 * errors and corruption, EX_TEMPFAIL for a lock held by another writer,
 * EX_SOFTWARE otherwise.  Pure. */
int run_status_exit(ps_status st);

/* Opens o->db_path for writing (created when missing).  Returns 0 with
 * *out a new handle (caller closes with ps_db_close), or logs a clear error
 * and returns an exit code: EX_TEMPFAIL when another writer holds the lock
 * (the message names it when possible and suggests --server ADDR),
 * EX_IOERR, EX_CANTCREAT or EX_SOFTWARE.  Main thread. */
int run_open_db(const run_opts *o, ps_db **out);

/* Opens o->db_path read-only, runs query q (limit hits, language filter
 * o->lang when set) with snippets and prints the hits on stdout.  Returns
 * a <sysexits.h> exit code. */
int run_query(const run_opts *o, const char *q, uint32_t limit);

#endif
