/* pack.c: MessagePack-RPC encoding: request and response headers, and
 * the search result and document maps of docs/PROTOCOL.md (rpc.h,
 * "Encoding").  The inverse is unpack.c.
 */
#include "rpc.h"

#include <string.h>

/* Packs a string of known length. */
static int pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
    if (msgpack_pack_str(pk, n) != 0)
        return -1;
    return n ? msgpack_pack_str_body(pk, s, n) : 0;
}

int ps_rpc_pack_str(msgpack_packer *pk, const char *s)
{
    if (s == NULL)
        return msgpack_pack_nil(pk);
    return pack_strn(pk, s, strlen(s));
}

int ps_rpc_pack_request(msgpack_packer *pk, uint32_t msgid, const char *method,
                        uint32_t nparams)
{
    if (method == NULL)
        return -1;
    if (msgpack_pack_array(pk, 4) != 0 ||
        msgpack_pack_uint8(pk, PS_RPC_REQUEST) != 0 ||
        msgpack_pack_uint32(pk, msgid) != 0 ||
        ps_rpc_pack_str(pk, method) != 0 ||
        msgpack_pack_array(pk, nparams) != 0)
        return -1;
    return 0;
}

int ps_rpc_pack_response_ok(msgpack_packer *pk, uint32_t msgid)
{
    if (msgpack_pack_array(pk, 4) != 0 ||
        msgpack_pack_uint8(pk, PS_RPC_RESPONSE) != 0 ||
        msgpack_pack_uint32(pk, msgid) != 0 ||
        msgpack_pack_nil(pk) != 0)
        return -1;
    return 0;
}

int ps_rpc_pack_response_error(msgpack_packer *pk, uint32_t msgid,
                               const char *code, const char *message)
{
    if (msgpack_pack_array(pk, 4) != 0 ||
        msgpack_pack_uint8(pk, PS_RPC_RESPONSE) != 0 ||
        msgpack_pack_uint32(pk, msgid) != 0 ||
        msgpack_pack_map(pk, 2) != 0 ||
        ps_rpc_pack_str(pk, "code") != 0 ||
        ps_rpc_pack_str(pk, code != NULL ? code : "internal") != 0 ||
        ps_rpc_pack_str(pk, "message") != 0 ||
        ps_rpc_pack_str(pk, message != NULL ? message : "") != 0 ||
        msgpack_pack_nil(pk) != 0)
        return -1;
    return 0;
}

/* Packs "key": string (NULL packs ""). */
static int pack_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
    if (ps_rpc_pack_str(pk, key) != 0)
        return -1;
    return ps_rpc_pack_str(pk, val != NULL ? val : "");
}

/* Packs "key": string when val is not NULL (an optional key, absent
 * otherwise). */
static int pack_kv_opt(msgpack_packer *pk, const char *key, const char *val)
{
    return val != NULL ? pack_kv_str(pk, key, val) : 0;
}

static int pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t val)
{
    if (ps_rpc_pack_str(pk, key) != 0)
        return -1;
    return msgpack_pack_uint64(pk, val);
}

/* Packs "key": [strings] (NULL entries pack ""). */
static int pack_kv_strs(msgpack_packer *pk, const char *key,
                        const char *const *v, uint32_t n)
{
    if ((n > 0 && v == NULL) || ps_rpc_pack_str(pk, key) != 0 ||
        msgpack_pack_array(pk, n) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (ps_rpc_pack_str(pk, v[i] != NULL ? v[i] : "") != 0)
            return -1;
    return 0;
}

static int pack_hit(msgpack_packer *pk, const ps_hit *h)
{
    uint32_t nkeys = 7 + (h->date != NULL) + (h->url != NULL) +
                     (h->nsynonyms > 0);
    if (msgpack_pack_map(pk, nkeys) != 0 ||
        pack_kv_str(pk, "id", h->id) != 0 ||
        pack_kv_str(pk, "title", h->title) != 0 ||
        pack_kv_str(pk, "lang", h->lang) != 0 ||
        pack_kv_opt(pk, "date", h->date) != 0 ||
        pack_kv_opt(pk, "url", h->url) != 0 ||
        ps_rpc_pack_str(pk, "score") != 0 ||
        msgpack_pack_double(pk, h->score) != 0 ||
        pack_kv_u64(pk, "rank", h->rank) != 0 ||
        pack_kv_str(pk, "snippet", h->snippet) != 0 ||
        ps_rpc_pack_str(pk, "highlights") != 0)
        return -1;
    if (h->nhighlights > 0 && h->highlights == NULL)
        return -1;
    if (msgpack_pack_array(pk, h->nhighlights) != 0)
        return -1;
    for (uint32_t i = 0; i < h->nhighlights; i++)
        if (msgpack_pack_array(pk, 2) != 0 ||
            msgpack_pack_uint32(pk, h->highlights[i].off) != 0 ||
            msgpack_pack_uint32(pk, h->highlights[i].len) != 0)
            return -1;
    /* Only when a synonym matched: older clients know no such key. */
    if (h->nsynonyms > 0 &&
        pack_kv_strs(pk, "synonyms", h->synonyms, h->nsynonyms) != 0)
        return -1;
    return 0;
}

int ps_rpc_pack_results(msgpack_packer *pk, const ps_results *r,
                        int with_facets)
{
    uint32_t nkeys;
    if (r == NULL || (r->nhits > 0 && r->hits == NULL) ||
        (r->nfacets > 0 && r->facets == NULL))
        return -1;
    if (r->nfailed > 0 && r->failed == NULL)
        return -1;
    if (r->nexpanded > 0 && r->expanded == NULL)
        return -1;
    nkeys = 3 + (with_facets ? 1 : 0) + (r->suggestion != NULL) +
            (r->nfailed > 0 ? 2 : 0) + (r->nexpanded > 0);
    if (msgpack_pack_map(pk, nkeys) != 0 ||
        pack_kv_u64(pk, "total", r->total) != 0 ||
        ps_rpc_pack_str(pk, "hits") != 0 ||
        msgpack_pack_array(pk, r->nhits) != 0)
        return -1;
    for (uint32_t i = 0; i < r->nhits; i++)
        if (pack_hit(pk, &r->hits[i]) != 0)
            return -1;
    if (with_facets) {
        if (ps_rpc_pack_str(pk, "facets") != 0 ||
            msgpack_pack_map(pk, 1) != 0 ||
            ps_rpc_pack_str(pk, "lang") != 0 ||
            msgpack_pack_map(pk, r->nfacets) != 0)
            return -1;
        for (uint32_t i = 0; i < r->nfacets; i++)
            if (pack_kv_u64(pk, r->facets[i].value != NULL
                                    ? r->facets[i].value : "",
                            r->facets[i].count) != 0)
                return -1;
    }
    if (r->suggestion != NULL &&
        pack_kv_str(pk, "suggestion", r->suggestion) != 0)
        return -1;
    if (r->nfailed > 0) {
        /* Sharded search with shards down (docs/SCALING.md). */
        if (ps_rpc_pack_str(pk, "partial") != 0 ||
            msgpack_pack_true(pk) != 0 ||
            ps_rpc_pack_str(pk, "failed_shards") != 0 ||
            msgpack_pack_array(pk, r->nfailed) != 0)
            return -1;
        for (uint32_t i = 0; i < r->nfailed; i++)
            if (ps_rpc_pack_str(pk, r->failed[i] != NULL ? r->failed[i]
                                                         : "") != 0)
                return -1;
    }
    if (r->nexpanded > 0) {
        /* Synonym expansions (only when some applied). */
        if (ps_rpc_pack_str(pk, "expanded") != 0 ||
            msgpack_pack_array(pk, r->nexpanded) != 0)
            return -1;
        for (uint32_t i = 0; i < r->nexpanded; i++) {
            const ps_expansion *e = &r->expanded[i];
            if (msgpack_pack_map(pk, 2) != 0 ||
                pack_kv_str(pk, "from", e->from) != 0 ||
                pack_kv_strs(pk, "to", e->to, e->nto) != 0)
                return -1;
        }
    }
    return pack_kv_u64(pk, "took_us", r->took_us);
}

int ps_rpc_pack_document(msgpack_packer *pk, const ps_document *d)
{
    uint32_t nkeys;
    if (d == NULL)
        return -1;
    nkeys = 5 + (d->date != NULL) + (d->url != NULL);
    if (msgpack_pack_map(pk, nkeys) != 0 ||
        pack_kv_str(pk, "id", d->id) != 0 ||
        pack_kv_str(pk, "title", d->title) != 0 ||
        pack_kv_str(pk, "body", d->body) != 0 ||
        pack_kv_str(pk, "lang", d->lang) != 0 ||
        pack_kv_opt(pk, "date", d->date) != 0 ||
        pack_kv_opt(pk, "url", d->url) != 0)
        return -1;
    return pack_kv_str(pk, "hash", d->hash);
}
