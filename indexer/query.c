/* query.c: the --query dev mode of polysearch-index (run.h): one search
 * on a read-only handle, hits printed on stdout. */
#include "run.h"

#include "polysearch.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/* Prints the snippet with its highlighted spans between [ and ]; spans
 * outside the snippet are ignored. */
static void print_snippet(const ps_hit *h)
{
    const char *s = h->snippet ? h->snippet : "";
    size_t len = strlen(s), pos = 0;
    if (len == 0)
        return;
    fputs("   ", stdout);
    for (uint32_t i = 0; i < h->nhighlights; i++) {
        const ps_span *sp = &h->highlights[i];
        if (sp->off < pos || sp->off > len || sp->len > len - sp->off)
            continue;
        fwrite(s + pos, 1, sp->off - pos, stdout);
        putchar('[');
        fwrite(s + sp->off, 1, sp->len, stdout);
        putchar(']');
        pos = sp->off + sp->len;
    }
    fputs(s + pos, stdout);
    putchar('\n');
}

int run_query(const run_opts *o, const char *q, uint32_t limit)
{
    ps_db *db = NULL;
    char *msg = NULL;
    ps_status st = ps_db_open_dir(o->db_path, PS_DB_READ, o->shards, &db, &msg);
    if (st != PS_OK) {
        ps_log(PS_LOG_ERROR, "cannot open database %s: %s", o->db_path,
               msg ? msg : ps_status_str(st));
        free(msg);
        if (st == PS_ERR_NO_DB)
            return EX_NOINPUT;
        return st == PS_ERR_IO || st == PS_ERR_CORRUPT ? EX_IOERR
                                                       : EX_SOFTWARE;
    }
    free(msg);
    ps_query query;
    memset(&query, 0, sizeof query);
    query.q = q;
    query.limit = limit;
    query.lang = o->lang;
    query.snippets = 1;
    ps_results *res = NULL;
    st = ps_search(db, &query, &res);
    if (st != PS_OK) {
        ps_log(PS_LOG_ERROR, "query \"%s\": %s: %s", q, ps_status_str(st),
               ps_db_errmsg(db));
        ps_db_close(db);
        if (st == PS_ERR_QUERY || st == PS_ERR_TOO_MANY_TERMS ||
            st == PS_ERR_INVALID)
            return EX_DATAERR;
        return st == PS_ERR_IO || st == PS_ERR_CORRUPT ? EX_IOERR
                                                       : EX_SOFTWARE;
    }
    for (uint32_t i = 0; i < res->nhits; i++) {
        const ps_hit *h = &res->hits[i];
        printf("%u. %s\n   id=%s lang=%s score=%.3f\n", h->rank,
               h->title && h->title[0] ? h->title : "(untitled)", h->id,
               h->lang ? h->lang : "und", h->score);
        print_snippet(h);
    }
    printf("%u of about %llu matches (%.1f ms)\n", res->nhits,
           (unsigned long long)res->total, (double)res->took_us / 1000.0);
    ps_results_free(res);
    ps_db_close(db);
    return fflush(stdout) == 0 ? 0 : EX_IOERR;
}
