/* lg_queries.h: the benchmark query list (one query per line) shared by
 * ps-loadgen and ps-inproc-bench.
 */
#ifndef LG_QUERIES_H
#define LG_QUERIES_H

#include <stddef.h>

typedef struct lg_queries {
    char **q;       /* NUL-terminated queries, non-empty */
    size_t n;
    char *blob;     /* the file's bytes; q[i] point into it */
} lg_queries;

/* Loads `path`: one query per line, empty lines and lines starting with
 * '#' skipped, trailing CR removed.  Returns 0 and fills *out (caller frees
 * with lg_queries_free) or -1 with a message on stderr (missing file, no
 * query, NUL byte, line over 4096 bytes).  Any thread. */
int lg_queries_load(const char *path, lg_queries *out);

/* Frees what lg_queries_load allocated; a zeroed struct is fine. */
void lg_queries_free(lg_queries *qs);

#endif
