/* http_args.c: query strings and JSON bodies to method arguments
 * (http_args.h). */
#include "http_args.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "jsonmp.h"
#include "util.h"

const http_param_type http_search_types[] = {
    {"offset", HTTP_P_UINT}, {"limit", HTTP_P_UINT},
    {"snippet", HTTP_P_BOOL}, {"facets", HTTP_P_BOOL},
    {"spelling", HTTP_P_BOOL}, {"synonyms", HTTP_P_BOOL},
};
const size_t http_search_ntypes =
    sizeof http_search_types / sizeof http_search_types[0];

const http_param_type http_synonyms_types[] = {
    {"offset", HTTP_P_UINT}, {"limit", HTTP_P_UINT},
};
const size_t http_synonyms_ntypes =
    sizeof http_synonyms_types / sizeof http_synonyms_types[0];

const http_param_type http_watch_types[] = {
    {"durable", HTTP_P_BOOL}, {"resume_from", HTTP_P_UINT}, {"synonyms", HTTP_P_BOOL},
};
const size_t http_watch_ntypes = sizeof http_watch_types / sizeof http_watch_types[0];

int http_params_new(msgpack_zone *zone, unsigned nkeys, msgpack_object *params)
{
    msgpack_object *map = msgpack_zone_malloc(zone, sizeof *map);
    msgpack_object_kv *kv = nkeys ? msgpack_zone_malloc(zone, nkeys * sizeof *kv)
                                  : NULL;
    if (!map || (nkeys && !kv)) return -1;
    if (nkeys) memset(kv, 0, nkeys * sizeof *kv);
    map->type = MSGPACK_OBJECT_MAP;
    map->via.map.size = nkeys;
    map->via.map.ptr = kv;
    params->type = MSGPACK_OBJECT_ARRAY;
    params->via.array.size = 1;
    params->via.array.ptr = map;
    return 0;
}

msgpack_object http_str(const char *s, size_t len)
{
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_STR;
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)len;
    return o;
}

void http_params_set(msgpack_object *params, unsigned i, const char *key,
                     const msgpack_object *val)
{
    msgpack_object_kv *kv = &params->via.array.ptr[0].via.map.ptr[i];
    kv->key = http_str(key, strlen(key));
    kv->val = *val;
}

int http_params_add(msgpack_zone *zone, msgpack_object *params, const char *key,
                    const msgpack_object *val)
{
    msgpack_object *map = &params->via.array.ptr[0];
    uint32_t n = map->via.map.size;
    msgpack_object_kv *kv = msgpack_zone_malloc(zone, (n + 1) * sizeof *kv);
    if (!kv) return -1;
    if (n) memcpy(kv, map->via.map.ptr, n * sizeof *kv);
    map->via.map.ptr = kv;
    map->via.map.size = n + 1;
    http_params_set(params, n, key, val);
    return 0;
}

static const char *zdup(msgpack_zone *z, const char *s)
{
    size_t n = strlen(s);
    char *c = msgpack_zone_malloc(z, n + 1);
    if (c) memcpy(c, s, n + 1);
    return c;
}

/* The typed value of one query parameter (see http_param_type). */
static msgpack_object typed(const char *key, const char *val,
                            const http_param_type *types, size_t ntypes)
{
    msgpack_object o = http_str(val, strlen(val));
    for (size_t i = 0; i < ntypes; i++) {
        if (strcmp(types[i].name, key) != 0) continue;
        uint64_t u;
        if (types[i].type == HTTP_P_UINT &&
            ps_parse_u64(val, 0, UINT64_MAX, &u) == 0) {
            o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            o.via.u64 = u;
        } else if (types[i].type == HTTP_P_BOOL &&
                   (!strcmp(val, "true") || !strcmp(val, "1") ||
                    !strcmp(val, "false") || !strcmp(val, "0"))) {
            o.type = MSGPACK_OBJECT_BOOLEAN;
            o.via.boolean = val[0] == 't' || val[0] == '1';
        }
        break;
    }
    return o;
}

int http_query_params(const char *query, const http_param_type *types,
                      size_t ntypes, msgpack_zone *zone,
                      msgpack_object *params, char *err, size_t errlen)
{
    if (query && strstr(query, "%00")) {
        snprintf(err, errlen, "a query parameter holds a NUL byte (%%00)");
        return -1;
    }
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    if (query && *query && evhttp_parse_query_str(query, &kv) != 0) {
        snprintf(err, errlen, "malformed query string (want "
                 "name=value&name=value, percent-encoded)");
        return -1;
    }
    unsigned n = 0;
    struct evkeyval *e;
    TAILQ_FOREACH(e, &kv, next) n++;
    int rc = http_params_new(zone, n, params);
    unsigned i = 0;
    TAILQ_FOREACH(e, &kv, next) {
        if (rc != 0) break;
        const char *k = zdup(zone, e->key), *v = zdup(zone, e->value);
        if (!k || !v) { rc = -1; break; }
        msgpack_object val = typed(k, v, types, ntypes);
        http_params_set(params, i++, k, &val);
    }
    evhttp_clear_headers(&kv);
    if (rc != 0) snprintf(err, errlen, "out of memory");
    return rc;
}

/* Parses one JSON value of body[0..len) into *out (appended to docs by
 * the caller), keeping it in keep.  what names it in messages. */
static int one_value(const char *p, size_t len, unsigned max_depth,
                     msgpack_zone *zone, json_t *keep, msgpack_object *out,
                     const char *what, char *err, size_t errlen)
{
    json_error_t je;
    json_t *v = json_loadb(p, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!v) {
        snprintf(err, errlen, "%s: invalid JSON at line %d, column %d: %s",
                 what, je.line, je.column, je.text);
        return -1;
    }
    if (json_array_append_new(keep, v) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (ps_json_to_msgpack(v, zone, max_depth, out) != 0) {
        snprintf(err, errlen, "%s: nested deeper than %u (max_depth) or out "
                 "of memory", what, max_depth);
        return -1;
    }
    return 0;
}

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return 0;
    return 1;
}

int http_docs_from_body(const char *body, size_t len, int ndjson,
                        unsigned max_depth, msgpack_zone *zone, json_t *keep,
                        msgpack_object *docs, char *err, size_t errlen)
{
    memset(docs, 0, sizeof *docs);
    docs->type = MSGPACK_OBJECT_ARRAY;
    if (!ndjson) {
        msgpack_object v;
        /* The list itself is one level above its documents. */
        if (one_value(body, len, max_depth + 1, zone, keep, &v, "body",
                      err, errlen) != 0)
            return -1;
        if (v.type == MSGPACK_OBJECT_ARRAY) {
            *docs = v;
            return 0;
        }
        docs->via.array.ptr = msgpack_zone_malloc(zone, sizeof v);
        if (!docs->via.array.ptr) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        docs->via.array.ptr[0] = v;
        docs->via.array.size = 1;
        return 0;
    }
    size_t nlines = 0;
    for (size_t i = 0; i < len; i++)
        if (body[i] == '\n') nlines++;
    nlines++;
    msgpack_object *arr = msgpack_zone_malloc(zone, nlines * sizeof *arr);
    if (!arr) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uint32_t n = 0;
    size_t start = 0, line = 0;
    while (start <= len) {
        const char *nl = memchr(body + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - body) : len;
        line++;
        if (!blank(body + start, end - start)) {
            char what[48];
            snprintf(what, sizeof what, "line %zu", line);
            if (one_value(body + start, end - start, max_depth, zone, keep,
                          &arr[n], what, err, errlen) != 0)
                return -1;
            n++;
        }
        if (!nl) break;
        start = end + 1;
    }
    docs->via.array.ptr = arr;
    docs->via.array.size = n;
    return 0;
}
