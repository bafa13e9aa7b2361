/* methods.c: search, get, stats and ping: argument checks (I/O thread) and
 * execution on a worker's database handle; add and delete (writer.c); the
 * table of methods, subscribe and its kin included (subs.c). */
#include "methods.h"

#include <stdio.h>
#include <string.h>

#include "access.h"
#include "docmap.h"
#include "docvalid.h"
#include "polysearch.h"
#include "rpc.h"
#include "stats.h"
#include "subs.h"
#include "util.h"

int methods_status_err(ps_status st)
{
    switch (st) {
    case PS_OK: return -1;
    case PS_ERR_NOT_FOUND: return ERR_NOT_FOUND;
    case PS_ERR_QUERY: return ERR_QUERY_SYNTAX;
    case PS_ERR_TOO_MANY_TERMS: return ERR_TOO_MANY_TERMS;
    case PS_ERR_INVALID: return ERR_BAD_REQUEST;
    case PS_ERR_TOO_LARGE: return ERR_TOO_LARGE;
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

/* After st == PS_ERR_MODIFIED (a writer moved the database under the
 * worker's snapshot): counts a retry, reopens w's handle and returns 1, so
 * the caller runs its read once more.  Returns 0 for any other status. */
static int reopen_for_retry(worker_ctx *w, ps_status st)
{
    if (st != PS_ERR_MODIFIED)
        return 0;
    workers_count_retry(w->pool);
    ps_db_reopen(w->db, NULL);
    return 1;
}

/* Starts j's success reply in j->out: pk is set up over it and holds the
 * response header.  Returns 0 or -1 (as the ps_rpc_pack_* calls). */
static int reply_ok(job *j, msgpack_packer *pk)
{
    msgpack_packer_init(pk, &j->out, msgpack_sbuffer_write);
    return ps_rpc_pack_response_ok(pk, j->msgid);
}

/* Turns j into an internal error: its reply (what: "results", ...) could
 * not be encoded. */
static void encode_failed(job *j, const char *what)
{
    j->err = ERR_INTERNAL;
    snprintf(j->errmsg, sizeof j->errmsg, "cannot encode the %s", what);
}

/* The page of a search or a listing: limit in [1, max_limit] and
 * offset + limit within max_window.  Returns -1, or ERR_BAD_REQUEST with
 * the job's message set. */
static int check_window(job *j, uint64_t offset, uint64_t limit,
                        const searchd_config *c)
{
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
    return -1;
}

/* ---- search ------------------------------------------------------------ */

static int search_parse(job *j, const msgpack_object *params,
                        const searchd_config *c)
{
    const char *q = NULL, *lang = NULL, *sort = NULL, *df = NULL, *dt = NULL;
    uint64_t offset = 0, limit = 10;
    int snippet = 1, facets = 0, spelling = 0, synonyms = 1;
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
        {"synonyms", PS_ARG_BOOL, 0, &synonyms, NULL, 0},
    };
    int e = args(j, params, sp, sizeof sp / sizeof sp[0]);
    if (e >= 0) return e;
    if ((e = check_window(j, offset, limit, c)) >= 0) return e;
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
    j->q.no_synonyms = !synonyms;
    j->q.max_wildcard = c->max_wildcard;
    j->q.max_query = c->max_query;      /* checked by ps_search */
    j->facets = facets;
    return -1;
}

static void search_exec(job *j, worker_ctx *w)
{
    ps_results *r = NULL;
    ps_status st = ps_search(w->db, &j->q, &r);
    if (reopen_for_retry(w, st))
        st = ps_search(w->db, &j->q, &r);
    if (st != PS_OK) {
        fail(j, w->db, st);
        return;
    }
    msgpack_packer pk;
    if (reply_ok(j, &pk) != 0 || ps_rpc_pack_results(&pk, r, j->facets) != 0)
        encode_failed(j, "results");
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
    if (reopen_for_retry(w, st))
        st = ps_db_get(w->db, j->id, &d);
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
    if (reply_ok(j, &pk) != 0 || ps_rpc_pack_document(&pk, d) != 0)
        encode_failed(j, "document");
    ps_document_free(d);
}

/* ---- synonyms ---------------------------------------------------------- */

/* synonyms {word?, offset?, limit?}: the word goes in j->id, offset and
 * limit in j->q (no search is run). */
static int synonyms_parse(job *j, const msgpack_object *params,
                          const searchd_config *c)
{
    uint64_t offset = 0, limit = c->max_limit;
    j->id = NULL;
    const ps_arg_spec sp[] = {
        {"word", PS_ARG_STR, 0, &j->id, NULL, c->max_query},
        {"offset", PS_ARG_UINT, 0, &offset, NULL, 0},
        {"limit", PS_ARG_UINT, 0, &limit, NULL, 0},
    };
    int e = args(j, params, sp, sizeof sp / sizeof sp[0]);
    if (e >= 0) return e;
    if ((e = check_window(j, offset, limit, c)) >= 0) return e;
    memset(&j->q, 0, sizeof j->q);
    j->q.offset = (uint32_t)offset;
    j->q.limit = (uint32_t)limit;
    return -1;
}

static void synonyms_exec(job *j, worker_ctx *w)
{
    ps_synonym_list *l = NULL;
    ps_status st = ps_db_synonym_groups(w->db, j->id, j->q.offset, j->q.limit, &l);
    if (reopen_for_retry(w, st))
        st = ps_db_synonym_groups(w->db, j->id, j->q.offset, j->q.limit, &l);
    if (st != PS_OK) {
        fail(j, w->db, st);
        return;
    }
    msgpack_packer pk;
    int e = reply_ok(j, &pk) != 0 || msgpack_pack_map(&pk, 2) != 0;
    if (!e) {
        e = msgpack_pack_str_with_body(&pk, "total", 5) != 0 ||
            msgpack_pack_uint32(&pk, l->total) != 0 ||
            msgpack_pack_str_with_body(&pk, "groups", 6) != 0 ||
            msgpack_pack_array(&pk, l->ngroups) != 0;
    }
    for (uint32_t g = 0; !e && g < l->ngroups; g++) {
        e = msgpack_pack_array(&pk, l->groups[g].n) != 0;
        for (uint32_t i = 0; !e && i < l->groups[g].n; i++)
            e = ps_rpc_pack_str(&pk, l->groups[g].members[i]) != 0;
    }
    if (e)
        encode_failed(j, "synonyms");
    ps_synonym_list_free(l);
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
    uint32_t ns = ps_db_nshards(w->db);
    if (ns > 0) {
        ps_results_builder *b = ps_results_builder_new();
        for (uint32_t i = 0; b && i < ns; i++) {
            const char *spec = NULL;
            int up = 0;
            if (ps_db_shard_state(w->db, i, &spec, &up) != PS_OK ||
                ps_results_builder_add_facet(b, spec, (uint64_t)up) != PS_OK) {
                ps_results_builder_free(b);
                b = NULL;
            }
        }
        j->shards = b ? ps_results_builder_finish(b, ns, NULL, 0) : NULL;
    }
}

static void kv_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    msgpack_pack_uint64(pk, v);
}

/* "writer": the writer thread's figures (state "read_only" and zeros
 * with --read-only). */
static void pack_writer(msgpack_packer *pk, server *s)
{
    writer_stats ws;
    memset(&ws, 0, sizeof ws);
    ws.state = "read_only";
    if (s->writer) writer_get_stats(s->writer, &ws);
    msgpack_pack_str_with_body(pk, "writer", 6);
    msgpack_pack_map(pk, 14);
    msgpack_pack_str_with_body(pk, "state", 5);
    ps_rpc_pack_str(pk, ws.state);
    msgpack_pack_str_with_body(pk, "lock_holder", 11);
    ps_rpc_pack_str(pk, ws.holder);
    kv_u64(pk, "writes", ws.writes);
    kv_u64(pk, "commits", ws.commits);
    kv_u64(pk, "docs", ws.docs);
    msgpack_pack_str_with_body(pk, "docs_per_commit", 15);
    msgpack_pack_double(pk, ws.commits ? (double)ws.docs / (double)ws.commits : 0.0);
    msgpack_pack_str_with_body(pk, "writes_per_commit", 17);
    msgpack_pack_double(pk, ws.commits ? (double)ws.writes / (double)ws.commits : 0.0);
    kv_u64(pk, "max_writes_per_commit", ws.max_group);
    kv_u64(pk, "last_commit_us", ws.last_commit_us);
    kv_u64(pk, "max_commit_us", ws.max_commit_us);
    kv_u64(pk, "failed_commits", ws.failed_commits);
    kv_u64(pk, "lock_conflicts", ws.lock_conflicts);
    kv_u64(pk, "lock_taken", ws.opens);
    kv_u64(pk, "queued", ws.queued);
}

/* "wal": the write-ahead log, its pending changes and the checkpoints
 * (docs/WAL.md); {"enabled": 0} in commit mode and with --read-only. */
static void pack_wal(msgpack_packer *pk, server *s)
{
    writer_stats ws;
    memset(&ws, 0, sizeof ws);
    if (s->writer) writer_get_stats(s->writer, &ws);
    msgpack_pack_str_with_body(pk, "wal", 3);
    if (!ws.logged) {
        msgpack_pack_map(pk, 1);
        kv_u64(pk, "enabled", 0);
        return;
    }
    msgpack_pack_map(pk, 17);
    kv_u64(pk, "enabled", 1);
    kv_u64(pk, "bytes", ws.log.bytes);
    kv_u64(pk, "segments", ws.log.segments);
    kv_u64(pk, "synced_seq", ws.log.synced_seq);
    kv_u64(pk, "replayed", ws.log.replayed);
    kv_u64(pk, "pending_ops", ws.delta.ops);
    kv_u64(pk, "pending_bytes", ws.delta.bytes);
    kv_u64(pk, "checkpoints", ws.ck.checkpoints);
    kv_u64(pk, "failed_checkpoints", ws.ck.failed);
    kv_u64(pk, "last_checkpoint_unix", ws.ck.last_unix);
    kv_u64(pk, "last_checkpoint_ops", ws.ck.last_ops);
    kv_u64(pk, "last_checkpoint_us", ws.ck.last_us);
    kv_u64(pk, "max_checkpoint_us", ws.ck.max_us);
    msgpack_pack_str_with_body(pk, "last_checkpoint_error", 21);
    ps_rpc_pack_str(pk, ws.ck.last_error);
    kv_u64(pk, "sync_failures", ws.log.sync_failures);
    kv_u64(pk, "visible_waits", workers_visible_waits(s->pool));
    kv_u64(pk, "visible_timeouts", workers_visible_timeouts(s->pool));
}

static int stats_finish(job *j, msgpack_packer *pk, server *s)
{
    const searchd_config *c = s->cfg;
    msgpack_pack_map(pk, 18 + (j->shards != NULL));
    kv_u64(pk, "documents", j->ndocs);
    if (j->shards) {
        /* Sharded database: [{"spec": S, "state": "up"|"down"}, ...]. */
        msgpack_pack_str_with_body(pk, "shards", 6);
        msgpack_pack_array(pk, j->shards->nfacets);
        for (uint32_t i = 0; i < j->shards->nfacets; i++) {
            msgpack_pack_map(pk, 2);
            msgpack_pack_str_with_body(pk, "spec", 4);
            ps_rpc_pack_str(pk, j->shards->facets[i].value);
            msgpack_pack_str_with_body(pk, "state", 5);
            ps_rpc_pack_str(pk, j->shards->facets[i].count ? "up" : "down");
        }
    }
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
    kv_u64(pk, "connections", s->nconns + s->http_nconns);
    kv_u64(pk, "workers", c->workers);
    kv_u64(pk, "queued", workers_queued(s->pool));
    kv_u64(pk, "reopens", workers_reopens(s->pool));
    kv_u64(pk, "retries", workers_retries(s->pool));
    pack_writer(pk, s);
    pack_wal(pk, s);
    /* "auth": access control (access.h); never a token. */
    msgpack_pack_str_with_body(pk, "auth", 4);
    msgpack_pack_map(pk, 3);
    kv_u64(pk, "enabled", s->tokens != NULL);
    kv_u64(pk, "tokens", auth_tokens_count(s->tokens));
    kv_u64(pk, "failed_attempts", s->auth_failures);
    subs_pack_stats(pk, s);
    msgpack_pack_str_with_body(pk, "limits", 6);
    msgpack_pack_map(pk, 29);
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
    kv_u64(pk, "read_only", (uint64_t)(c->read_only != 0));
    kv_u64(pk, "max_add_docs", c->max_add_docs);
    kv_u64(pk, "max_body", c->max_body);
    kv_u64(pk, "write_queue", c->write_queue);
    kv_u64(pk, "commit_delay_ms", c->commit_delay_ms);
    kv_u64(pk, "visible_wait_ms", c->visible_wait_ms);
    kv_u64(pk, "writer_idle_ms", c->writer_idle_ms);
    char waldir[8];
    kv_u64(pk, "wal", (uint64_t)(c->no_wal == 0 &&
                                 searchd_config_wal_dir(c, waldir, sizeof waldir) != 0));
    kv_u64(pk, "checkpoint_docs", c->checkpoint_docs);
    kv_u64(pk, "checkpoint_bytes", c->checkpoint_bytes);
    kv_u64(pk, "checkpoint_interval_ms", c->checkpoint_interval_ms);
    kv_u64(pk, "max_delta", c->max_delta_bytes);
    kv_u64(pk, "max_subscriptions", c->max_subs);
    kv_u64(pk, "max_subscriptions_per_conn", c->max_subs_per_conn);
    kv_u64(pk, "max_notify_queue", c->max_notify_queue);
    kv_u64(pk, "max_request", c->max_request);
    kv_u64(pk, "max_headers", c->max_headers);
    kv_u64(pk, "resume_max", c->resume_max);
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

/* ---- add / delete (run on the writer thread, writer.c) ----------------- */

/* Copies s[0..n) into the zone, NUL-terminated; NULL when memory is short. */
static const char *zcopy(job *j, const char *s, size_t n)
{
    char *c = msgpack_zone_malloc(j->zone, n + 1);
    if (!c) return NULL;
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

/* Copies a msgpack string into the zone as a NUL-terminated string.
 * Returns NULL when it is not a string, not valid UTF-8 (or holds a NUL),
 * or on allocation failure (*why says which). */
static const char *zstr(job *j, const msgpack_object *o, const char **why)
{
    if (o->type != MSGPACK_OBJECT_STR) { *why = "is not a string"; return NULL; }
    const char *p = o->via.str.ptr;
    uint32_t n = o->via.str.size;
    if (!ps_utf8_valid(p, n)) {
        *why = "is not valid UTF-8 or contains a NUL byte";
        return NULL;
    }
    const char *c = zcopy(j, p, n);
    if (!c) *why = "out of memory";
    return c;
}

_Static_assert(PS_DOC_MAX_ID == PS_MAX_ID_BYTES,
               "docvalid.h and polysearch.h disagree on the longest id");

/* Checks one element of docs into d with the document rules (docvalid.h,
 * strict: the network rule); sets d->reject when it is refused, and
 * d->reject_id when it still had a usable id. */
static void parse_doc(job *j, const msgpack_object *o, wdoc *d,
                      const searchd_config *c)
{
    memset(d, 0, sizeof *d);
    if (o->type != MSGPACK_OBJECT_MAP) {
        d->reject = "a document must be a map {id, body, title?, lang?, date?, url?}";
        return;
    }
    ps_docv v;
    ps_docv_init(&v, PS_DOC_STRICT, c->max_body);
    ps_docv_set_msgpack(&v, o);
    int refused = ps_docv_finish(&v) != 0;
    const char **slot[PS_DOC_NKEYS] = {&d->in.id, &d->in.title, &d->in.body,
                                       &d->in.lang, &d->in.date, &d->in.url};
    for (unsigned f = 0; f < PS_DOC_NKEYS; f++) {
        size_t n;
        const char *s = ps_docv_get(&v, (ps_doc_key)f, &n);
        if (s && (!refused || f == PS_DOC_ID) && !(*slot[f] = zcopy(j, s, n))) {
            d->reject = "out of memory";
            break;
        }
    }
    if (refused && !d->reject) {
        const char *r = ps_docv_reason(&v);
        d->reject = zcopy(j, r, strlen(r));
        if (!d->reject) d->reject = "invalid document";
    }
    if (d->reject) d->reject_id = d->in.id;
    ps_docv_clear(&v);
}

/* The parameters of add and delete: {key: [1 to max_add_docs elements]}.
 * unit names the elements in messages ("documents", "ids").  On success
 * stores the array in *arr, allocates one element of elsize bytes per
 * entry in j's zone (freed with it) into *elems and returns -1; else
 * returns an error code with j->errmsg set.  I/O thread. */
static int batch_parse(job *j, const msgpack_object *params,
                       const searchd_config *c, const char *key,
                       const char *unit, size_t elsize,
                       msgpack_object *arr, void **elems)
{
    const ps_arg_spec sp[] = {
        {key, PS_ARG_ARRAY, 1, arr, NULL, 0},
    };
    int e = args(j, params, sp, 1);
    if (e >= 0) return e;
    uint32_t n = arr->via.array.size;
    if (n == 0) {
        snprintf(j->errmsg, sizeof j->errmsg, "%s is empty (1 to %u %s)",
                 key, c->max_add_docs, unit);
        return ERR_BAD_REQUEST;
    }
    if (n > c->max_add_docs) {
        snprintf(j->errmsg, sizeof j->errmsg,
                 "%u %s, more than max_add_docs (%u): split the batch",
                 n, unit, c->max_add_docs);
        return ERR_TOO_LARGE;
    }
    *elems = msgpack_zone_malloc(j->zone, (size_t)n * elsize);
    if (!*elems) {
        snprintf(j->errmsg, sizeof j->errmsg, "out of memory");
        return ERR_INTERNAL;
    }
    return -1;
}

static int add_parse(job *j, const msgpack_object *params,
                     const searchd_config *c)
{
    msgpack_object docs;
    void *mem;
    int e = batch_parse(j, params, c, "docs", "documents", sizeof *j->docs,
                        &docs, &mem);
    if (e >= 0) return e;
    uint32_t n = docs.via.array.size;
    j->docs = mem;
    j->nwdocs = n;
    for (uint32_t i = 0; i < n; i++)
        parse_doc(j, &docs.via.array.ptr[i], &j->docs[i], c);
    return -1;
}

static int add_finish(job *j, msgpack_packer *pk, server *s)
{
    (void)s;
    uint32_t nrej = 0;
    for (uint32_t i = 0; i < j->nwdocs; i++)
        if (j->docs[i].reject) nrej++;
    msgpack_pack_map(pk, 4);
    kv_u64(pk, "added", j->added);
    kv_u64(pk, "replaced", j->replaced);
    kv_u64(pk, "unchanged", j->unchanged);
    msgpack_pack_str_with_body(pk, "rejected", 8);
    msgpack_pack_array(pk, nrej);
    for (uint32_t i = 0; i < j->nwdocs; i++) {
        const wdoc *d = &j->docs[i];
        if (!d->reject) continue;
        msgpack_pack_map(pk, d->reject_id ? 3 : 2);
        kv_u64(pk, "index", i);
        if (d->reject_id) {
            msgpack_pack_str_with_body(pk, "id", 2);
            ps_rpc_pack_str(pk, d->reject_id);
        }
        msgpack_pack_str_with_body(pk, "reason", 6);
        ps_rpc_pack_str(pk, d->reject);
    }
    return 0;
}

static int delete_parse(job *j, const msgpack_object *params,
                        const searchd_config *c)
{
    msgpack_object ids;
    void *mem;
    int e = batch_parse(j, params, c, "ids", "ids", sizeof *j->ids, &ids, &mem);
    if (e >= 0) return e;
    uint32_t n = ids.via.array.size;
    j->ids = mem;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *o = &ids.via.array.ptr[i];
        const char *why = NULL;
        if (o->type == MSGPACK_OBJECT_STR &&
            (o->via.str.size == 0 || o->via.str.size > PS_MAX_ID_BYTES))
            why = "must be 1 to 240 bytes";
        else if (!(j->ids[i] = zstr(j, o, &why)) && !why)
            why = "is invalid";
        if (why) {
            snprintf(j->errmsg, sizeof j->errmsg, "ids[%u] %s", i, why);
            return ERR_BAD_REQUEST;
        }
    }
    j->nids = n;
    return -1;
}

static int delete_finish(job *j, msgpack_packer *pk, server *s)
{
    (void)s;
    msgpack_pack_map(pk, 2);
    kv_u64(pk, "deleted", j->deleted);
    kv_u64(pk, "not_found", j->not_found);
    return 0;
}

static const method table[] = {
    {"search", search_parse, search_exec, NULL, 0, NULL, NULL},
    {"get", get_parse, get_exec, NULL, 0, NULL, NULL},
    {"synonyms", synonyms_parse, synonyms_exec, NULL, 0, NULL, NULL},
    {"stats", noargs_parse, stats_exec, stats_finish, 0, NULL, NULL},
    {"ping", noargs_parse, NULL, ping_finish, 0, NULL, NULL},
    {"add", add_parse, NULL, add_finish, 1, NULL, NULL},
    {"delete", delete_parse, NULL, delete_finish, 1, NULL, NULL},
    /* subs.c: subscriptions, on the I/O and alert threads */
    {"subscribe", subs_subscribe_parse, NULL, subs_subscribe_finish, 0,
     subs_subscribe_io, subs_subscribe_done},
    {"unsubscribe", subs_unsubscribe_parse, NULL, subs_unsubscribe_finish, 0,
     subs_unsubscribe_io, NULL},
    {"subscriptions", noargs_parse, NULL, subs_list_finish, 0, NULL, NULL},
    /* access.c: access control (the token argument is taken out before
     * parse, so auth's {token} parses as no arguments) */
    {"auth", noargs_parse, NULL, access_auth_finish, 0, NULL, NULL},
    {"reload", noargs_parse, NULL, access_reload_finish, 0, access_reload_io, NULL},
};

const method *methods_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0)
            return &table[i];
    return NULL;
}
