/* unpack.c: decoding of search result and document maps received from
 * the network (ps_rpc_unpack_results, ps_rpc_unpack_document; rpc.h).
 * The inverse of pack.c.  Every string is checked to be valid UTF-8
 * without NUL bytes and every key to be known and given at most once.
 */
#include "rpc.h"

#include <stdlib.h>
#include <string.h>

/* Looks key up in names[0..n); returns its index or -1. */
static int key_index(const msgpack_object *key, const char *const *names,
                     int n)
{
    if (key->type != MSGPACK_OBJECT_STR)
        return -1;
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(names[i]);
        if (nl == key->via.str.size &&
            memcmp(names[i], key->via.str.ptr, nl) == 0)
            return i;
    }
    return -1;
}

/* Collects the values of a map whose keys must all be in names[0..n)
 * (n <= 16), each at most once; `lenient`: keys not in names are skipped
 * instead (forward compatibility of notifications).  vals[i] is NULL when
 * key i is absent.  Returns 0, or -1 with *why set (`what` when o is not a
 * map). */
static int map_fields_ex(const msgpack_object *o, const char *const *names,
                         int n, const msgpack_object **vals, const char *what,
                         int lenient, const char **why)
{
    for (int i = 0; i < n; i++)
        vals[i] = NULL;
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP) {
        *why = what;
        return -1;
    }
    for (uint32_t k = 0; k < o->via.map.size; k++) {
        int idx = key_index(&o->via.map.ptr[k].key, names, n);
        if (idx < 0) {
            if (lenient)
                continue;
            *why = "unexpected key in map";
            return -1;
        }
        if (vals[idx] != NULL) {
            *why = "duplicate key in map";
            return -1;
        }
        vals[idx] = &o->via.map.ptr[k].val;
    }
    return 0;
}

static int map_fields(const msgpack_object *o, const char *const *names,
                      int n, const msgpack_object **vals, const char *what,
                      const char **why)
{
    return map_fields_ex(o, names, n, vals, what, 0, why);
}

/* Copies a msgpack string into a new NUL-terminated heap string, after
 * checking it is valid UTF-8 without NUL bytes.  `optional`: absent (v
 * NULL) or nil yields *out = NULL.  Returns 0 or -1 with *why set. */
static int take_str(const msgpack_object *v, int optional, char **out,
                    const char *name_why, const char **why)
{
    char *s;
    *out = NULL;
    if (v == NULL || v->type == MSGPACK_OBJECT_NIL) {
        if (optional)
            return 0;
        *why = name_why;
        return -1;
    }
    if (v->type != MSGPACK_OBJECT_STR) {
        *why = name_why;
        return -1;
    }
    if (!ps_utf8_valid(v->via.str.ptr, v->via.str.size)) {
        *why = "invalid UTF-8 in a string";
        return -1;
    }
    s = malloc((size_t)v->via.str.size + 1);
    if (s == NULL) {
        *why = "out of memory";
        return -1;
    }
    if (v->via.str.size > 0)
        memcpy(s, v->via.str.ptr, v->via.str.size);
    s[v->via.str.size] = '\0';
    *out = s;
    return 0;
}

/* Reads an unsigned integer <= max.  Returns 0 or -1 with *why set. */
static int take_uint(const msgpack_object *v, uint64_t max, uint64_t *out,
                     const char *name_why, const char **why)
{
    if (v == NULL || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        v->via.u64 > max) {
        *why = name_why;
        return -1;
    }
    *out = v->via.u64;
    return 0;
}

enum { H_ID, H_TITLE, H_LANG, H_DATE, H_URL, H_SCORE, H_RANK, H_SNIPPET,
       H_HL, H_SYN, H_COUNT };
static const char *const hit_keys[H_COUNT] = {
    "id", "title", "lang", "date", "url", "score", "rank", "snippet",
    "highlights", "synonyms"
};

/* Checks that o is an array of strings (what_why otherwise). */
static int check_strs(const msgpack_object *o, const char *what_why,
                      const char **why)
{
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        *why = what_why;
        return -1;
    }
    for (uint32_t i = 0; i < o->via.array.size; i++)
        if (o->via.array.ptr[i].type != MSGPACK_OBJECT_STR) {
            *why = what_why;
            return -1;
        }
    return 0;
}

/* Copies the strings of array o (checked by check_strs) into a new array
 * of n heap strings (*out; free each and the array with free_strs).
 * Returns 0 or -1 with *why set. */
static int take_strs(const msgpack_object *o, char ***out, uint32_t *n,
                     const char *what_why, const char **why)
{
    char **v;
    *out = NULL;
    *n = 0;
    if (check_strs(o, what_why, why) != 0)
        return -1;
    if (o->via.array.size == 0)
        return 0;
    v = calloc(o->via.array.size, sizeof *v);
    if (v == NULL) {
        *why = "out of memory";
        return -1;
    }
    *out = v;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        if (take_str(&o->via.array.ptr[i], 0, &v[i], what_why, why) != 0)
            return -1;
        *n = i + 1;
    }
    return 0;
}

static void free_strs(char **v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Decodes one hit map and adds it to the builder.  Returns 0 or -1. */
static int unpack_hit(const msgpack_object *o, ps_results_builder *b,
                      const char **why)
{
    const msgpack_object *v[H_COUNT];
    char *s[H_URL + 1] = { NULL };
    char *snippet = NULL;
    ps_span *hl = NULL;
    uint32_t nhl = 0;
    uint64_t rank = 0;
    double score = 0;
    size_t snippet_len;
    int rc = -1;

    if (map_fields(o, hit_keys, H_COUNT, v, "hit is not a map", why) != 0)
        return -1;
    if (take_str(v[H_ID], 0, &s[H_ID], "hit id must be a string", why) ||
        take_str(v[H_TITLE], 0, &s[H_TITLE], "hit title must be a string",
                 why) ||
        take_str(v[H_LANG], 0, &s[H_LANG], "hit lang must be a string",
                 why) ||
        take_str(v[H_DATE], 1, &s[H_DATE], "hit date must be a string",
                 why) ||
        take_str(v[H_URL], 1, &s[H_URL], "hit url must be a string", why) ||
        take_str(v[H_SNIPPET], 0, &snippet, "hit snippet must be a string",
                 why) ||
        take_uint(v[H_RANK], UINT32_MAX, &rank,
                  "hit rank must be an unsigned 32-bit integer", why))
        goto out;
    if (v[H_SCORE] == NULL) {
        *why = "hit score must be a number";
        goto out;
    }
    switch (v[H_SCORE]->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        score = v[H_SCORE]->via.f64;
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        score = (double)v[H_SCORE]->via.u64;
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        score = (double)v[H_SCORE]->via.i64;
        break;
    default:
        *why = "hit score must be a number";
        goto out;
    }
    if (v[H_HL] == NULL || v[H_HL]->type != MSGPACK_OBJECT_ARRAY) {
        *why = "hit highlights must be an array";
        goto out;
    }
    snippet_len = strlen(snippet);
    nhl = v[H_HL]->via.array.size;
    if (nhl > 0) {
        hl = malloc((size_t)nhl * sizeof *hl);
        if (hl == NULL) {
            *why = "out of memory";
            goto out;
        }
    }
    for (uint32_t i = 0; i < nhl; i++) {
        const msgpack_object *p = &v[H_HL]->via.array.ptr[i];
        uint64_t off, len;
        if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 2 ||
            take_uint(&p->via.array.ptr[0], UINT32_MAX, &off, "", why) ||
            take_uint(&p->via.array.ptr[1], UINT32_MAX, &len, "", why)) {
            *why = "highlight must be [offset, length]";
            goto out;
        }
        if (off > snippet_len || len > snippet_len - off) {
            *why = "highlight lies outside the snippet";
            goto out;
        }
        hl[i].off = (uint32_t)off;
        hl[i].len = (uint32_t)len;
    }
    if (v[H_SYN] != NULL &&
        check_strs(v[H_SYN], "hit synonyms must be an array of strings",
                   why) != 0)
        goto out;
    if (ps_results_builder_add_hit(b, s[H_ID], s[H_TITLE], s[H_LANG],
                                   s[H_DATE], s[H_URL], snippet, score,
                                   (uint32_t)rank, hl, nhl) != PS_OK) {
        *why = "out of memory";
        goto out;
    }
    if (v[H_SYN] != NULL) {
        char **syn = NULL;
        uint32_t nsyn = 0;
        int bad = take_strs(v[H_SYN], &syn, &nsyn,
                            "hit synonyms must be an array of strings", why);
        for (uint32_t i = 0; !bad && i < nsyn; i++)
            if (ps_results_builder_add_hit_synonym(b, syn[i]) != PS_OK) {
                *why = "out of memory";
                bad = 1;
            }
        free_strs(syn, nsyn);
        if (bad)
            goto out;
    }
    rc = 0;
out:
    for (int i = 0; i <= H_URL; i++)
        free(s[i]);
    free(snippet);
    free(hl);
    return rc;
}

/* Decodes {"lang": {code: count}} into the builder. */
static int unpack_facets(const msgpack_object *o, ps_results_builder *b,
                         const char **why)
{
    static const char *const fkeys[1] = { "lang" };
    const msgpack_object *v[1];
    const msgpack_object_map *m;
    if (map_fields(o, fkeys, 1, v, "facets must be a map", why) != 0)
        return -1;
    if (v[0] == NULL)
        return 0;
    if (v[0]->type != MSGPACK_OBJECT_MAP) {
        *why = "facets.lang must be a map";
        return -1;
    }
    m = &v[0]->via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        char *code = NULL;
        uint64_t count;
        if (take_str(&m->ptr[i].key, 0, &code,
                     "facet values must be strings", why) != 0)
            return -1;
        if (take_uint(&m->ptr[i].val, UINT64_MAX, &count,
                      "facet counts must be unsigned integers", why) != 0 ||
            ps_results_builder_add_facet(b, code, count) != PS_OK) {
            if (*why == NULL)
                *why = "out of memory";
            free(code);
            return -1;
        }
        free(code);
    }
    return 0;
}

enum { R_TOTAL, R_HITS, R_FACETS, R_SUGG, R_TOOK, R_PARTIAL, R_FAILED,
       R_EXPANDED, R_COUNT };
static const char *const res_keys[R_COUNT] = {
    "total", "hits", "facets", "suggestion", "took_us", "partial",
    "failed_shards", "expanded"
};

/* "expanded" (optional): [{"from": str, "to": [str...]}...] into b.
 * Returns 0 or -1 with *why set. */
static int unpack_expanded(const msgpack_object *o, ps_results_builder *b,
                           const char **why)
{
    static const char *const ekeys[2] = { "from", "to" };
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        *why = "expanded must be an array";
        return -1;
    }
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *v[2];
        char *from = NULL, **to = NULL;
        uint32_t nto = 0;
        int rc = -1;
        if (map_fields(&o->via.array.ptr[i], ekeys, 2, v,
                       "expanded entries must be maps", why) != 0)
            return -1;
        if (v[1] == NULL) {
            *why = "expanded entries need from and to";
            return -1;
        }
        if (take_str(v[0], 0, &from, "expanded from must be a string",
                     why) == 0 &&
            take_strs(v[1], &to, &nto, "expanded to must be an array of "
                      "strings", why) == 0) {
            if (ps_results_builder_add_expansion(
                    b, from, (const char *const *)to, nto) == PS_OK)
                rc = 0;
            else
                *why = "out of memory";
        }
        free(from);
        free_strs(to, nto);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* "partial" (bool, optional) and "failed_shards" (array of strings,
 * optional) of a sharded search: adds the failed shard specs to b.
 * Returns 0 or -1 with *why set. */
static int unpack_failed(const msgpack_object *partial,
                         const msgpack_object *failed, ps_results_builder *b,
                         const char **why)
{
    if (partial != NULL && partial->type != MSGPACK_OBJECT_BOOLEAN) {
        *why = "partial must be a boolean";
        return -1;
    }
    if (failed == NULL)
        return 0;
    if (failed->type != MSGPACK_OBJECT_ARRAY) {
        *why = "failed_shards must be an array";
        return -1;
    }
    for (uint32_t i = 0; i < failed->via.array.size; i++) {
        char *spec = NULL;
        if (take_str(&failed->via.array.ptr[i], 0, &spec,
                     "failed_shards entries must be strings", why) != 0)
            return -1;
        if (ps_results_builder_add_failed(b, spec) != PS_OK) {
            free(spec);
            *why = "out of memory";
            return -1;
        }
        free(spec);
    }
    return 0;
}

ps_results *ps_rpc_unpack_results(const msgpack_object *o, const char **why)
{
    const char *dummy;
    const msgpack_object *v[R_COUNT];
    ps_results_builder *b = NULL;
    char *sugg = NULL;
    uint64_t total = 0, took = 0;
    ps_results *r;

    if (why == NULL)
        why = &dummy;
    *why = NULL;
    if (map_fields(o, res_keys, R_COUNT, v, "results must be a map",
                   why) != 0)
        return NULL;
    if (take_uint(v[R_TOTAL], UINT64_MAX, &total,
                  "results total must be an unsigned integer", why) ||
        take_uint(v[R_TOOK], UINT64_MAX, &took,
                  "results took_us must be an unsigned integer", why))
        return NULL;
    if (v[R_HITS] == NULL || v[R_HITS]->type != MSGPACK_OBJECT_ARRAY) {
        *why = "results hits must be an array";
        return NULL;
    }
    b = ps_results_builder_new();
    if (b == NULL) {
        *why = "out of memory";
        return NULL;
    }
    for (uint32_t i = 0; i < v[R_HITS]->via.array.size; i++)
        if (unpack_hit(&v[R_HITS]->via.array.ptr[i], b, why) != 0)
            goto fail;
    if (v[R_FACETS] != NULL && unpack_facets(v[R_FACETS], b, why) != 0)
        goto fail;
    if (unpack_failed(v[R_PARTIAL], v[R_FAILED], b, why) != 0)
        goto fail;
    if (v[R_EXPANDED] != NULL && unpack_expanded(v[R_EXPANDED], b, why) != 0)
        goto fail;
    if (take_str(v[R_SUGG], 1, &sugg, "suggestion must be a string",
                 why) != 0)
        goto fail;
    r = ps_results_builder_finish(b, total, sugg, took);
    free(sugg);
    if (r == NULL)
        *why = "out of memory";
    return r;
fail:
    ps_results_builder_free(b);
    return NULL;
}

enum { D_ID, D_TITLE, D_BODY, D_LANG, D_DATE, D_URL, D_HASH, D_COUNT };
static const char *const doc_keys[D_COUNT] = {
    "id", "title", "body", "lang", "date", "url", "hash"
};

ps_document *ps_rpc_unpack_document(const msgpack_object *o, const char **why)
{
    static const char *const why_type[D_COUNT] = {
        "document id must be a string", "document title must be a string",
        "document body must be a string", "document lang must be a string",
        "document date must be a string", "document url must be a string",
        "document hash must be a string"
    };
    const char *dummy;
    const msgpack_object *v[D_COUNT];
    char *s[D_COUNT] = { NULL };
    ps_document *d = NULL;

    if (why == NULL)
        why = &dummy;
    *why = NULL;
    if (map_fields(o, doc_keys, D_COUNT, v, "document must be a map",
                   why) != 0)
        return NULL;
    for (int i = 0; i < D_COUNT; i++)
        if (take_str(v[i], i == D_DATE || i == D_URL, &s[i], why_type[i],
                     why) != 0)
            goto out;
    d = ps_document_new(s[D_ID], s[D_TITLE], s[D_BODY], s[D_LANG],
                        s[D_DATE], s[D_URL], s[D_HASH]);
    if (d == NULL)
        *why = "out of memory";
out:
    for (int i = 0; i < D_COUNT; i++)
        free(s[i]);
    return d;
}

/* ---- Notifications ---------------------------------------------------- */

enum { N_SUB, N_NAME, N_ID, N_TITLE, N_LANG, N_DATE, N_URL, N_SNIPPET,
       N_SEQ, N_REPLACED, N_DROPPED, N_RESUME_FROM, N_COUNT };
static const char *const note_keys[N_COUNT] = {
    "subscription", "name", "id", "title", "lang", "date", "url", "snippet",
    "seq", "replaced", "dropped", "resume_from"
};

void ps_notification_free(ps_notification *n)
{
    free(n);
}

ps_notification *ps_rpc_unpack_notification(ps_notification_kind kind,
                                             const msgpack_object *o,
                                             const char **why)
{
    /* The string fields of a match, in the order of note_keys. */
    static const int str_keys[] = { N_NAME, N_ID, N_TITLE, N_LANG, N_DATE,
                                    N_URL, N_SNIPPET };
    enum { NSTR = sizeof str_keys / sizeof str_keys[0] };
    const char *dummy;
    const msgpack_object *v[N_COUNT];
    char *s[NSTR] = { NULL };
    ps_notification *n = NULL;
    uint64_t sub = 0, seq = 0, dropped = 0, from = 0;
    int replaced = 0;

    if (why == NULL)
        why = &dummy;
    *why = NULL;
    if (kind != PS_NOTIFY_MATCH && kind != PS_NOTIFY_LAGGED) {
        *why = "unknown notification kind";
        return NULL;
    }
    if (map_fields_ex(o, note_keys, N_COUNT, v, "notification entry is not a map", 1,
                      why) != 0 ||
        take_uint(v[N_SUB], UINT64_MAX, &sub,
                  "notification subscription must be an unsigned integer",
                  why) != 0)
        return NULL;
    if (kind == PS_NOTIFY_LAGGED) {
        if (take_uint(v[N_DROPPED], UINT64_MAX, &dropped,
                      "lagged dropped must be an unsigned integer", why) != 0 ||
            (v[N_RESUME_FROM] != NULL &&
             take_uint(v[N_RESUME_FROM], UINT64_MAX, &from,
                       "lagged resume_from must be an unsigned integer", why) != 0))
            return NULL;
        n = calloc(1, sizeof *n);
        if (n == NULL) {
            *why = "out of memory";
            return NULL;
        }
        n->kind = kind;
        n->subscription = sub;
        n->dropped = dropped;
        n->has_resume_from = v[N_RESUME_FROM] != NULL;
        n->resume_from = from;
        return n;
    }
    if (take_uint(v[N_SEQ], UINT64_MAX, &seq,
                  "match seq must be an unsigned integer", why) != 0)
        return NULL;
    if (v[N_REPLACED] != NULL) {
        if (v[N_REPLACED]->type != MSGPACK_OBJECT_BOOLEAN) {
            *why = "match replaced must be a boolean";
            return NULL;
        }
        replaced = v[N_REPLACED]->via.boolean;
    }
    size_t size = sizeof *n;
    for (int i = 0; i < NSTR; i++) {
        int k = str_keys[i];
        if (take_str(v[k], k == N_DATE || k == N_URL, &s[i],
                     "match fields must be strings", why) != 0)
            goto out;
        if (s[i] != NULL)
            size += strlen(s[i]) + 1;
    }
    n = malloc(size);
    if (n == NULL) {
        *why = "out of memory";
        goto out;
    }
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->subscription = sub;
    n->seq = seq;
    n->replaced = replaced;
    const char **dst[NSTR] = { &n->name, &n->id, &n->title, &n->lang,
                               &n->date, &n->url, &n->snippet };
    char *p = (char *)(n + 1);
    for (int i = 0; i < NSTR; i++) {
        if (s[i] == NULL)
            continue;
        size_t len = strlen(s[i]) + 1;
        memcpy(p, s[i], len);
        *dst[i] = p;
        p += len;
    }
out:
    for (int i = 0; i < NSTR; i++)
        free(s[i]);
    return n;
}
