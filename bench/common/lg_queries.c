/* lg_queries.c: loads the query file.  Contract in lg_queries.h. */
#include "lg_queries.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LG_MAX_QUERY 4096

int lg_queries_load(const char *path, lg_queries *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "queries: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *blob = malloc(cap + 1);
    while (blob) {
        size_t r = fread(blob + len, 1, cap - len, f);
        len += r;
        if (len < cap)
            break;
        cap *= 2;
        char *nb = realloc(blob, cap + 1);
        if (!nb) {
            free(blob);
            blob = NULL;
        } else {
            blob = nb;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!blob || err) {
        fprintf(stderr, "queries: %s: read failed\n", path);
        free(blob);
        return -1;
    }
    blob[len] = '\0';
    if (memchr(blob, '\0', len)) {
        fprintf(stderr, "queries: %s: NUL byte in file\n", path);
        free(blob);
        return -1;
    }
    size_t nmax = 1;
    for (size_t i = 0; i < len; i++)
        nmax += blob[i] == '\n';
    char **q = calloc(nmax, sizeof *q);
    if (!q) {
        free(blob);
        return -1;
    }
    size_t n = 0, lineno = 0;
    char *p = blob;
    while (*p) {
        char *nl = strchr(p, '\n');
        char *next = nl ? nl + 1 : p + strlen(p);
        if (nl)
            *nl = '\0';
        lineno++;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r')
            p[--l] = '\0';
        if (l > LG_MAX_QUERY) {
            fprintf(stderr, "queries: %s:%zu: line longer than %d bytes\n", path,
                    lineno, LG_MAX_QUERY);
            free(q);
            free(blob);
            return -1;
        }
        if (l && p[0] != '#')
            q[n++] = p;
        p = next;
    }
    if (n == 0) {
        fprintf(stderr, "queries: %s: no query\n", path);
        free(q);
        free(blob);
        return -1;
    }
    out->q = q;
    out->n = n;
    out->blob = blob;
    return 0;
}

void lg_queries_free(lg_queries *qs)
{
    free(qs->q);
    free(qs->blob);
    memset(qs, 0, sizeof *qs);
}
