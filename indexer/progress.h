/* progress.h: the single updating progress line polysearch-index shows on
 * stderr when stderr is a terminal.  One thread.
 */
#ifndef PS_INDEXER_PROGRESS_H
#define PS_INDEXER_PROGRESS_H

#include <stdint.h>

typedef struct progress {
    int enabled;            /* 0: every call is a no-op */
    int shown;              /* a line is currently on screen */
    uint64_t total_docs;    /* 0 when unknown */
    uint64_t total_bytes;   /* 0 when unknown */
    uint64_t start_us;
    uint64_t last_us;
} progress;

/* Initialises p.  enabled should be isatty(2) && !quiet.  total_docs and
 * total_bytes may be 0 (unknown); the ETA comes from bytes when known. */
void progress_init(progress *p, int enabled, uint64_t total_docs,
                   uint64_t total_bytes);

/* Redraws the line (at most every 200 ms unless force) with docs done,
 * docs/s and, when the total is known, the ETA. */
void progress_update(progress *p, uint64_t docs, uint64_t bytes, int force);

/* Erases the line if shown (before a log line or at the end). */
void progress_clear(progress *p);

#endif
