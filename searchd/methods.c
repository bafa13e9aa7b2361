/* methods.c: search, get, stats and ping: argument checks (I/O thread) and
 * execution on a worker's database handle. */
#include "methods.h"

#include <stdio.h>
#include <string.h>

#include "polysearch.h"
#include "rpc.h"
#include "stats.h"
#include "util.h"

int methods_status_err(ps_status st)
{
    switch (st) {
    case PS_OK: return -1;
    case PS_ERR_NOT_FOUND: return ERR_NOT_FOUND;
    case PS_ERR_QUERY: return ERR_QUERY_SYNTAX;
    case PS_ERR_TOO_MANY_TERMS: return ERR_TOO_MANY_TERMS;
    case PS_ERR_INVALID: return ERR_BAD_REQUEST;
    case PS_ERR_LOCKED: case PS_ERR_MODIFIED: case PS_ERR_IO:
    case PS_ERR_CORRUPT: case PS_ERR_NO_DB: return ERR_UNAVAILABLE;
    default: return ERR_INTERNAL;
    }
}

static int args(job *j, const msgpack_object *params, const ps_arg_spec *sp,
                size_t n)
{
    if (ps_rpc_args_parse(params, sp, n, j->zone, j->errmsg,
                          sizeof j->errmsg) != 0)
        return ERR_BAD_REQUEST;
    return -1;
}

static void fail(job *j, ps_db *db, ps_status st)
{
    j->err = methods_status_err(st);
    const char *m = db ? ps_db_errmsg(db) : "";
    snprintf(j->errmsg, sizeof j->errmsg, "%s", (m && *m) ? m : ps_status_str(st));
}

/* ---- search ------------------------------------------------------------ */

static int search_parse(job *j, const msgpack_object *params,
                        const searchd_config *c)
{
    const char *q = NULL, *lang = NULL, *sort = NULL, *df = NULL, *dt = NULL;
    uint64_t offset = 0, limit = 10;
    int snippet = 1, facets = 0, spelling = 0;
    const ps_arg_spec sp[] = {
        {"q", PS_ARG_STR, 1, &q, NULL, 0},
        {"offset", PS_ARG_UINT, 0, &offset, NULL, 0},
        {"limit", PS_ARG_UINT, 0, &limit, NULL, 0},
        {"lang", PS_ARG_STR, 0, &lang, NULL, 16},
        {"sort", PS_ARG_STR, 0, &sort, NULL, 16},
        {"date_from", PS_ARG_STR, 0, &df, NULL, 64},
        {"date_to", PS_ARG_STR, 0, &dt, NULL, 64},
        {"snippet", PS_ARG_BOOL, 0, &snippet, NULL, 0},
        {"facets", PS_ARG_BOOL, 0, &facets, NULL, 0},
        {"spelling", PS_ARG_BOOL, 0, &spelling, NULL, 0},
    };
    int e = args(j, params, sp, sizeof sp / sizeof sp[0]);
    if (e >= 0) return e;
    size_t qlen = strlen(q);
    if (qlen > c->max_query) {
        snprintf(j->errmsg, sizeof j->errmsg,
                 "q is %zu bytes, more than max_query (%u)", qlen, c->max_query);
        return ERR_TOO_LARGE;
    }
    if (limit < 1 || limit > c->max_limit) {
        snprintf(j->errmsg, sizeof j->errmsg,
                 "limit must be in [1, %u] (max_limit)", c->max_limit);
        return ERR_BAD_REQUEST;
    }
    if (offset > c->max_window || offset + limit > c->max_window) {
        snprintf(j->errmsg, sizeof j->errmsg,
                 "offset+limit must be at most %u (max_window)", c->max_window);
        return ERR_BAD_REQUEST;
    }
    ps_sort order = PS_SORT_RELEVANCE;
    if (sort && strcmp(sort, "date") == 0) order = PS_SORT_DATE;
    else if (sort && strcmp(sort, "relevance") != 0) {
        snprintf(j->errmsg, sizeof j->errmsg,
                 "sort must be \"relevance\" or \"date\"");
        return ERR_BAD_REQUEST;
    }
    memset(&j->q, 0, sizeof j->q);
    j->q.q = q;
    j->q.offset = (uint32_t)offset;
    j->q.limit = (uint32_t)limit;
    j->q.lang = (lang && *lang) ? lang : NULL;
    j->q.sort = order;
    j->q.date_from = (df && *df) ? df : NULL;
    j->q.date_to = (dt && *dt) ? dt : NULL;
    j->q.snippets = snippet;
    j->q.facets = facets;
    j->q.spelling = spelling;
    j->q.max_wildcard = c->max_wildcard;
    j->facets = facets;
    return -1;
}

static void search_exec(job *j, worker_ctx *w)
{
    ps_results *r = NULL;
    ps_status st = ps_search(w->db, &j->q, &r);
    if (st == PS_ERR_MODIFIED) {
        workers_count_retry(w->pool);
        ps_db_reopen(w->db, NULL);
        st = ps_search(w->db, &j->q, &r);
    }
    if (st != PS_OK) {
        fail(j, w->db, st);
        return;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &j->out, msgpack_sbuffer_write);
    if (ps_rpc_pack_response_ok(&pk, j->msgid) != 0 ||
        ps_rpc_pack_results(&pk, r, j->facets) != 0) {
        j->err = ERR_INTERNAL;
        snprintf(j->errmsg, sizeof j->errmsg, "cannot encode the results");
    }
    ps_results_free(r);
}

/* ---- get --------------------------------------------------------------- */

static int get_parse(job *j, const msgpack_object *params,
                     const searchd_config *c)
{
    (void)c;
    const ps_arg_spec sp[] = {
        {"id", PS_ARG_STR, 1, &j->id, NULL, PS_MAX_ID_BYTES},
    };
    return args(j, params, sp, 1);
}

static void get_exec(job *j, worker_ctx *w)
{
    ps_document *d = NULL;
    ps_status st = ps_db_get(w->db, j->id, &d);
    if (st == PS_ERR_MODIFIED) {
        workers_count_retry(w->pool);
        ps_db_reopen(w->db, NULL);
        st = ps_db_get(w->db, j->id, &d);
    }
    if (st == PS_ERR_NOT_FOUND) {
        j->err = ERR_NOT_FOUND;
        snprintf(j->errmsg, sizeof j->errmsg, "no document with id \"%.200s\"",
                 j->id);
        return;
    }
    if (st != PS_OK) {
        fail(j, w->db, st);
        return;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &j->out, msgpack_sbuffer_write);
    if (ps_rpc_pack_response_ok(&pk, j->msgid) != 0 ||
        ps_rpc_pack_document(&pk, d) != 0) {
        j->err = ERR_INTERNAL;
        snprintf(j->errmsg, sizeof j->errmsg, "cannot encode the document");
    }
    ps_document_free(d);
}

/* ---- stats ------------------------------------------------------------- */

static int noargs_parse(job *j, const msgpack_object *params,
                        const searchd_config *c)
{
    (void)c;
    return args(j, params, NULL, 0);
}

static void stats_exec(job *j, worker_ctx *w)
{
    ps_status st = ps_db_count(w->db, &j->ndocs);
    if (st == PS_OK) st = ps_db_lang_counts(w->db, &j->langs);
    if (st != PS_OK) {
        fail(j, w->db, st);
        return;
    }
    j->revision = ps_db_revision(w->db);
}

static void kv_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    msgpack_pack_uint64(pk, v);
}

static int stats_finish(job *j, msgpack_packer *pk, server *s)
{
    const searchd_config *c = s->cfg;
    msgpack_pack_map(pk, 14);
    kv_u64(pk, "documents", j->ndocs);
    msgpack_pack_str_with_body(pk, "languages", 9);
    uint32_t nf = j->langs ? j->langs->nfacets : 0;
    msgpack_pack_map(pk, nf);
    for (uint32_t i = 0; i < nf; i++) {
        ps_rpc_pack_str(pk, j->langs->facets[i].value);
        msgpack_pack_uint64(pk, j->langs->facets[i].count);
    }
    kv_u64(pk, "revision", j->revision);
    kv_u64(pk, "uptime_s", (ps_now_us() - s->stats.started_us) / 1000000u);
    kv_u64(pk, "requests", s->stats.requests);
    msgpack_pack_str_with_body(pk, "errors", 6);
    msgpack_pack_map(pk, ERR_COUNT);
    for (int e = 0; e < ERR_COUNT; e++)
        kv_u64(pk, searchd_err_code((searchd_err)e), s->stats.errors[e]);
    msgpack_pack_str_with_body(pk, "latency_us", 10);
    msgpack_pack_map(pk, 2);
    kv_u64(pk, "p50", stats_percentile(&s->stats, 50));
    kv_u64(pk, "p99", stats_percentile(&s->stats, 99));
    kv_u64(pk, "connections", s->nconns);
    kv_u64(pk, "workers", c->workers);
    kv_u64(pk, "queued", workers_queued(s->pool));
    kv_u64(pk, "reopens", workers_reopens(s->pool));
    kv_u64(pk, "retries", workers_retries(s->pool));
    msgpack_pack_str_with_body(pk, "limits", 6);
    msgpack_pack_map(pk, 11);
    kv_u64(pk, "max_frame", c->max_frame);
    kv_u64(pk, "max_depth", c->max_depth);
    kv_u64(pk, "deadline_ms", c->deadline_ms);
    kv_u64(pk, "idle_timeout_ms", c->idle_ms);
    kv_u64(pk, "max_clients", c->max_clients);
    kv_u64(pk, "max_output", c->max_output);
    kv_u64(pk, "queue", c->queue);
    kv_u64(pk, "max_limit", c->max_limit);
    kv_u64(pk, "max_window", c->max_window);
    kv_u64(pk, "max_query", c->max_query);
    kv_u64(pk, "max_wildcard", c->max_wildcard);
    msgpack_pack_str_with_body(pk, "version", 7);
    return ps_rpc_pack_str(pk, PS_VERSION);
}

/* ---- ping -------------------------------------------------------------- */

static int ping_finish(job *j, msgpack_packer *pk, server *s)
{
    (void)j;
    (void)s;
    return ps_rpc_pack_str(pk, "pong");
}

/* add/delete belong to the writer thread (not here yet): unknown_method. */
static const method table[] = {
    {"search", search_parse, search_exec, NULL},
    {"get", get_parse, get_exec, NULL},
    {"stats", noargs_parse, stats_exec, stats_finish},
    {"ping", noargs_parse, NULL, ping_finish},
};

const method *methods_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0)
            return &table[i];
    return NULL;
}
