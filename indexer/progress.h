/* progress.h: the single updating progress line polysearch-index shows at
 * the bottom of stderr when stderr is a terminal:
 *
 *   indexing: 1200/2005 docs, 850.3 docs/s, 60%, ETA 0:01
 *
 * (the phase, documents done and, when known, their total, the rate, and
 * percent and ETA when the input size is known).  While it is enabled,
 * every ps_log() line goes through it (ps_log_set_writer): the line is
 * erased, the log line printed, the line redrawn below it, so log lines
 * scroll above it and never run into it.  Disabled (not a terminal,
 * --quiet), every call is a no-op and ps_log() is left alone.
 *
 * progress_update() and progress_set_phase() may be called from any
 * thread; progress_init() and progress_end() from the thread that owns p,
 * while no other thread logs.
 */
#ifndef PS_INDEXER_PROGRESS_H
#define PS_INDEXER_PROGRESS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct progress {
    int enabled;            /* 0: every call is a no-op */
    int shown;              /* a line is currently on screen */
    uint64_t total_docs;    /* 0 when unknown */
    uint64_t total_bytes;   /* 0 when unknown */
    uint64_t start_us;
    uint64_t last_us;       /* last redraw */
    uint64_t docs, bytes;   /* as of the last update */
    char phase[16];         /* "indexing", "merging", ... */
    char text[192];         /* the line on screen, without "\r\033[K" */
    size_t len;
    pthread_mutex_t mu;     /* all of the above, and the terminal */
} progress;

/* Initialises p with the phase "indexing".  enabled should be isatty(2)
 * && !quiet; when set, ps_log() lines go through the line until
 * progress_end().  total_docs and total_bytes may be 0 (unknown); percent
 * and ETA come from bytes when known.  Every p initialised must be ended
 * with progress_end(). */
void progress_init(progress *p, int enabled, uint64_t total_docs,
                   uint64_t total_bytes);

/* Sets the phase word shown first on the line (e.g. "merging"; at most 15
 * bytes are kept) and redraws the line if it is shown. */
void progress_set_phase(progress *p, const char *phase);

/* Records docs done and input bytes consumed, and redraws the line (at
 * most every 200 ms unless force). */
void progress_update(progress *p, uint64_t docs, uint64_t bytes, int force);

/* Erases the line if shown and gives ps_log() back its plain output; p is
 * disabled afterwards (so a second call does nothing).  Call before
 * printing anything else on the terminal (the summary line). */
void progress_end(progress *p);

#endif
