/* calls.c: the daemon methods of libpolysearch-client: request encoding
 * (params = [ {named args} ]) and reply decoding into plain C structs.
 * Contracts are in polysearch-client.h.
 */
#include "polysearch-client.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>

#include "batch.h"
#include "client_internal.h"
#include "rpc.h"

void psc_search_args_init(psc_search_args *a)
{
    memset(a, 0, sizeof *a);
    a->snippet = -1;
    a->facets = -1;
    a->spelling = -1;
    a->synonyms = -1;
}

/* ---- Packing ----------------------------------------------------------- */

static int pack_key(msgpack_packer *pk, const char *k)
{
    size_t n = strlen(k);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, k, n);
}

static int pack_kstr(msgpack_packer *pk, const char *k, const char *v)
{
    return pack_key(pk, k) || ps_rpc_pack_str(pk, v);
}

static int pack_kuint(msgpack_packer *pk, const char *k, uint64_t v)
{
    return pack_key(pk, k) || msgpack_pack_uint64(pk, v);
}

static int pack_kbool(msgpack_packer *pk, const char *k, int v)
{
    return pack_key(pk, k) ||
           (v ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
}

/* Starts a request with one params map of nkeys entries. */
static int begin(msgpack_packer *pk, uint32_t msgid, const char *method,
                 uint32_t nkeys)
{
    return ps_rpc_pack_request(pk, msgid, method, 1) ||
           msgpack_pack_map(pk, nkeys);
}

/* A request being packed: its buffer, a packer writing to it, its msgid. */
typedef struct request {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    uint32_t id;
} request;

/* Starts an empty request *q (which must stay in place until finish_send)
 * with c's next msgid. */
static void request_init(psc_client *c, request *q)
{
    msgpack_sbuffer_init(&q->sb);
    msgpack_packer_init(&q->pk, &q->sb, msgpack_sbuffer_write);
    q->id = psci_next_msgid(c);
}

/* Sends the packed request (or reports a packing failure) and frees its
 * buffer. */
static psc_status finish_send(psc_client *c, request *q, int perr,
                              uint32_t *out)
{
    psc_status st;
    if (perr)
        st = psci_fail(c, PSC_ERR_NOMEM, "nomem", "cannot encode request");
    else
        st = psci_send_packed(c, &q->sb, q->id, out);
    msgpack_sbuffer_destroy(&q->sb);
    return st;
}

psc_status psc_send_search(psc_client *c, const psc_search_args *a,
                           uint32_t *msgid)
{
    psci_clear_error(c);
    if (a == NULL || a->q == NULL)
        return psci_fail(c, PSC_ERR_INVALID, "invalid", "no query given");
    uint32_t n = 1 + (a->offset != 0) + (a->limit != 0) + (a->lang != NULL) +
                 (a->sort != NULL) + (a->date_from != NULL) +
                 (a->date_to != NULL) + (a->snippet >= 0) +
                 (a->facets >= 0) + (a->spelling >= 0) + (a->synonyms >= 0);
    request q;
    request_init(c, &q);
    msgpack_packer *pk = &q.pk;
    int e = begin(pk, q.id, "search", n) || pack_kstr(pk, "q", a->q);
    if (!e && a->offset)
        e = pack_kuint(pk, "offset", a->offset);
    if (!e && a->limit)
        e = pack_kuint(pk, "limit", a->limit);
    if (!e && a->lang)
        e = pack_kstr(pk, "lang", a->lang);
    if (!e && a->sort)
        e = pack_kstr(pk, "sort", a->sort);
    if (!e && a->date_from)
        e = pack_kstr(pk, "date_from", a->date_from);
    if (!e && a->date_to)
        e = pack_kstr(pk, "date_to", a->date_to);
    if (!e && a->snippet >= 0)
        e = pack_kbool(pk, "snippet", a->snippet);
    if (!e && a->facets >= 0)
        e = pack_kbool(pk, "facets", a->facets);
    if (!e && a->spelling >= 0)
        e = pack_kbool(pk, "spelling", a->spelling);
    if (!e && a->synonyms >= 0)
        e = pack_kbool(pk, "synonyms", a->synonyms);
    return finish_send(c, &q, e, msgid);
}

psc_status psc_send_get(psc_client *c, const char *id, uint32_t *msgid)
{
    psci_clear_error(c);
    if (id == NULL)
        return psci_fail(c, PSC_ERR_INVALID, "invalid", "no id given");
    request q;
    request_init(c, &q);
    int e = begin(&q.pk, q.id, "get", 1) || pack_kstr(&q.pk, "id", id);
    return finish_send(c, &q, e, msgid);
}

psc_status psc_send_synonyms(psc_client *c, const char *word, uint32_t offset,
                             uint32_t limit, uint32_t *msgid)
{
    psci_clear_error(c);
    uint32_t n = (word != NULL) + (offset != 0) + (limit != 0);
    request q;
    request_init(c, &q);
    int e = begin(&q.pk, q.id, "synonyms", n);
    if (!e && word)
        e = pack_kstr(&q.pk, "word", word);
    if (!e && offset)
        e = pack_kuint(&q.pk, "offset", offset);
    if (!e && limit)
        e = pack_kuint(&q.pk, "limit", limit);
    return finish_send(c, &q, e, msgid);
}

/* stats and ping take an empty map. */
static psc_status send_noargs(psc_client *c, const char *method,
                              uint32_t *msgid)
{
    psci_clear_error(c);
    request q;
    request_init(c, &q);
    int e = begin(&q.pk, q.id, method, 0);
    return finish_send(c, &q, e, msgid);
}

psc_status psc_send_stats(psc_client *c, uint32_t *msgid)
{
    return send_noargs(c, "stats", msgid);
}

psc_status psc_send_ping(psc_client *c, uint32_t *msgid)
{
    return send_noargs(c, "ping", msgid);
}

psc_status psc_send_add(psc_client *c, const psc_doc *docs, size_t n,
                        uint32_t *msgid)
{
    psci_clear_error(c);
    if ((docs == NULL && n > 0) || n > UINT32_MAX)
        return psci_fail(c, PSC_ERR_INVALID, "invalid", "bad document array");
    for (size_t i = 0; i < n; i++)
        if (docs[i].id == NULL || docs[i].body == NULL)
            return psci_fail(c, PSC_ERR_INVALID, "invalid",
                             "every document needs an id and a body");
    request q;
    request_init(c, &q);
    int e = ps_rpc_pack_request(&q.pk, q.id, "add", 1) ||
            ps_add_params_pack_begin(&q.pk, (uint32_t)n);
    for (size_t i = 0; !e && i < n; i++) {
        const psc_doc *d = &docs[i];
        const char *f[PS_DOC_NKEYS] = { d->id, d->title, d->body, d->lang,
                                        d->date, d->url };
        e = ps_add_doc_pack(&q.pk, f);
    }
    return finish_send(c, &q, e, msgid);
}

psc_status psc_send_add_packed(psc_client *c, const void *params,
                               size_t len, uint32_t *msgid)
{
    psci_clear_error(c);
    if (params == NULL || len == 0)
        return psci_fail(c, PSC_ERR_INVALID, "invalid",
                         "no add parameters");
    request q;
    request_init(c, &q);
    int e = ps_rpc_pack_request(&q.pk, q.id, "add", 1) ||
            msgpack_sbuffer_write(&q.sb, params, len) != 0;
    return finish_send(c, &q, e, msgid);
}

psc_status psc_send_delete(psc_client *c, const char *const *ids, size_t n,
                           uint32_t *msgid)
{
    psci_clear_error(c);
    if ((ids == NULL && n > 0) || n > UINT32_MAX)
        return psci_fail(c, PSC_ERR_INVALID, "invalid", "bad id array");
    for (size_t i = 0; i < n; i++)
        if (ids[i] == NULL)
            return psci_fail(c, PSC_ERR_INVALID, "invalid", "NULL id");
    request q;
    request_init(c, &q);
    int e = begin(&q.pk, q.id, "delete", 1) || pack_key(&q.pk, "ids") ||
            msgpack_pack_array(&q.pk, (uint32_t)n);
    for (size_t i = 0; !e && i < n; i++)
        e = ps_rpc_pack_str(&q.pk, ids[i]);
    return finish_send(c, &q, e, msgid);
}

void psc_subscribe_args_init(psc_subscribe_args *a)
{
    memset(a, 0, sizeof *a);
    a->durable = -1;
}

psc_status psc_send_subscribe(psc_client *c, const psc_subscribe_args *a,
                              uint32_t *msgid)
{
    psci_clear_error(c);
    if (a == NULL || (a->q == NULL && a->name == NULL))
        return psci_fail(c, PSC_ERR_INVALID, "invalid", "no query given");
    uint32_t n = (a->q != NULL) + (a->lang != NULL) +
                 (a->date_from != NULL) + (a->name != NULL) +
                 (a->durable >= 0) + (a->resume != 0);
    request q;
    request_init(c, &q);
    msgpack_packer *pk = &q.pk;
    int e = begin(pk, q.id, "subscribe", n);
    if (!e && a->q)
        e = pack_kstr(pk, "q", a->q);
    if (!e && a->lang)
        e = pack_kstr(pk, "lang", a->lang);
    if (!e && a->date_from)
        e = pack_kstr(pk, "date_from", a->date_from);
    if (!e && a->name)
        e = pack_kstr(pk, "name", a->name);
    if (!e && a->durable >= 0)
        e = pack_kbool(pk, "durable", a->durable);
    if (!e && a->resume)
        e = pack_kuint(pk, "resume_from", a->resume_from);
    return finish_send(c, &q, e, msgid);
}

psc_status psc_send_unsubscribe(psc_client *c, uint64_t subscription,
                                uint32_t *msgid)
{
    psci_clear_error(c);
    request q;
    request_init(c, &q);
    int e = begin(&q.pk, q.id, "unsubscribe", 1) ||
            pack_kuint(&q.pk, "subscription", subscription);
    return finish_send(c, &q, e, msgid);
}

/* auth {token}.  The buffer is allocated at its final size up front, so
 * msgpack never reallocates it (which would leave a copy of the token in
 * freed memory), and wiped once sent. */
static psc_status send_auth(psc_client *c, const char *token,
                            uint32_t *msgid)
{
    psci_clear_error(c);
    if (token == NULL || token[0] == '\0')
        return psci_fail(c, PSC_ERR_INVALID, "invalid", "no token given");
    size_t tlen = strlen(token);
    if (tlen > UINT32_MAX - 64)
        return psci_fail(c, PSC_ERR_INVALID, "invalid", "token too long");
    request q;
    request_init(c, &q);
    size_t cap = tlen + 64; /* envelope, "auth", {"token": str32 header} */
    q.sb.data = malloc(cap);
    if (q.sb.data == NULL)
        return psci_fail(c, PSC_ERR_NOMEM, "nomem", "out of memory");
    q.sb.alloc = cap;
    int e = begin(&q.pk, q.id, "auth", 1) || pack_key(&q.pk, "token") ||
            msgpack_pack_str(&q.pk, tlen) ||
            msgpack_pack_str_body(&q.pk, token, tlen) || q.sb.alloc != cap;
    psc_status st;
    if (e)
        st = psci_fail(c, PSC_ERR_NOMEM, "nomem", "cannot encode request");
    else
        st = psci_send_packed(c, &q.sb, q.id, msgid);
    explicit_bzero(q.sb.data, q.sb.alloc);
    msgpack_sbuffer_destroy(&q.sb);
    return st;
}

/* ---- Decoding ---------------------------------------------------------- */

static psc_status bad_reply(psc_client *c, psc_reply *rep, const char *why)
{
    psci_reply_free(rep);
    char msg[200];
    snprintf(msg, sizeof msg, "unexpected reply shape: %s", why);
    return psci_fail(c, PSC_ERR_PROTOCOL, "protocol", msg);
}

/* Unpacks a reply's result into a new object, or returns NULL with *why
 * set to the reason (or left alone when there is none to give). */
typedef void *(*unpack_fn)(const msgpack_object *o, const char **why);

static void *unpack_results(const msgpack_object *o, const char **why)
{
    return ps_rpc_unpack_results(o, why);
}

static void *unpack_document(const msgpack_object *o, const char **why)
{
    return ps_rpc_unpack_document(o, why);
}

/* Receives the reply to msgid and unpacks its result into *out with
 * unpack; `what` names the expected result in a protocol error. */
static psc_status recv_unpacked(psc_client *c, uint32_t msgid,
                                unpack_fn unpack, const char *what,
                                void **out)
{
    *out = NULL;
    psc_reply rep;
    psc_status st = psci_recv_reply(c, msgid, &rep);
    if (st != PSC_OK)
        return st;
    const char *why = what;
    void *v = unpack(&rep.msg.result, &why);
    if (v == NULL)
        return bad_reply(c, &rep, why ? why : what);
    psci_reply_free(&rep);
    *out = v;
    return PSC_OK;
}

psc_status psc_recv_search(psc_client *c, uint32_t msgid, ps_results **out)
{
    void *r;
    psc_status st = recv_unpacked(c, msgid, unpack_results, "search result",
                                  &r);
    *out = r;
    return st;
}

psc_status psc_recv_get(psc_client *c, uint32_t msgid, ps_document **out)
{
    void *d;
    psc_status st = recv_unpacked(c, msgid, unpack_document, "document", &d);
    *out = d;
    return st;
}

/* Converts a (scanner-checked, so depth-bounded) msgpack object to JSON.
 * Binary strings become hex text; non-string map keys are skipped. */
static json_t *to_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return json_null();
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return json_real((double)o->via.u64);
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return json_stringn_nocheck(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN: {
        static const char hex[] = "0123456789abcdef";
        size_t n = o->via.bin.size;
        char *buf = malloc(2 * n + 1);
        if (buf == NULL)
            return NULL;
        for (size_t i = 0; i < n; i++) {
            unsigned char b = (unsigned char)o->via.bin.ptr[i];
            buf[2 * i] = hex[b >> 4];
            buf[2 * i + 1] = hex[b & 15];
        }
        json_t *s = json_stringn_nocheck(buf, 2 * n);
        free(buf);
        return s;
    }
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            json_t *v = to_json(&o->via.array.ptr[i]);
            if (v == NULL || json_array_append_new(a, v) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                continue;
            json_t *v = to_json(&kv->val);
            if (v == NULL || json_object_setn_new_nocheck(
                                 m, kv->key.via.str.ptr, kv->key.via.str.size,
                                 v) != 0) {
                json_decref(m);
                return NULL;
            }
        }
        return m;
    }
    default:
        return json_null();
    }
}

/* Receives the reply to msgid, a map, as JSON text (stats, synonyms). */
static psc_status recv_json_map(psc_client *c, uint32_t msgid,
                                const char *notmap, char **json_out)
{
    *json_out = NULL;
    psc_reply rep;
    psc_status st = psci_recv_reply(c, msgid, &rep);
    if (st != PSC_OK)
        return st;
    if (rep.msg.result.type != MSGPACK_OBJECT_MAP)
        return bad_reply(c, &rep, notmap);
    json_t *j = to_json(&rep.msg.result);
    psci_reply_free(&rep);
    char *s = j ? json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
    json_decref(j);
    if (s == NULL)
        return psci_fail(c, PSC_ERR_NOMEM, "nomem", "out of memory");
    *json_out = s;
    return PSC_OK;
}

psc_status psc_recv_stats(psc_client *c, uint32_t msgid, char **json_out)
{
    return recv_json_map(c, msgid, "stats is not a map", json_out);
}

psc_status psc_recv_synonyms(psc_client *c, uint32_t msgid, char **json_out)
{
    return recv_json_map(c, msgid, "synonyms is not a map", json_out);
}

psc_status psc_recv_ping(psc_client *c, uint32_t msgid)
{
    psc_reply rep;
    psc_status st = psci_recv_reply(c, msgid, &rep);
    if (st != PSC_OK)
        return st;
    const msgpack_object *o = &rep.msg.result;
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size != 4 ||
        memcmp(o->via.str.ptr, "pong", 4) != 0)
        return bad_reply(c, &rep, "ping did not answer \"pong\"");
    psci_reply_free(&rep);
    return PSC_OK;
}

/* Reads an unsigned count from map m; -1 when absent or not unsigned. */
static int get_count(const msgpack_object *m, const char *key, uint64_t *v)
{
    const msgpack_object *o = psci_map_get(m, key);
    if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return -1;
    *v = o->via.u64;
    return 0;
}

void psc_add_result_free(psc_add_result *r)
{
    free(r);
}

psc_status psc_recv_add(psc_client *c, uint32_t msgid, psc_add_result **out)
{
    *out = NULL;
    psc_reply rep;
    psc_status st = psci_recv_reply(c, msgid, &rep);
    if (st != PSC_OK)
        return st;
    const msgpack_object *m = &rep.msg.result;
    uint64_t added, replaced, unchanged;
    if (get_count(m, "added", &added) || get_count(m, "replaced", &replaced) ||
        get_count(m, "unchanged", &unchanged))
        return bad_reply(c, &rep, "add counts missing");
    const msgpack_object *rj = psci_map_get(m, "rejected");
    uint32_t nrej = 0;
    if (rj != NULL && rj->type == MSGPACK_OBJECT_ARRAY)
        nrej = rj->via.array.size;
    else if (rj != NULL && rj->type != MSGPACK_OBJECT_NIL)
        return bad_reply(c, &rep, "rejected is not an array");
    /* One block: struct, array, then the reason strings. */
    size_t size = sizeof(psc_add_result) + (size_t)nrej * sizeof(psc_rejected);
    for (uint32_t i = 0; i < nrej; i++) {
        const msgpack_object *e = &rj->via.array.ptr[i];
        const msgpack_object *reason = psci_map_get(e, "reason");
        uint64_t idx;
        if (get_count(e, "index", &idx) || idx > UINT32_MAX || reason == NULL ||
            reason->type != MSGPACK_OBJECT_STR)
            return bad_reply(c, &rep, "bad rejected entry");
        size += reason->via.str.size + 1;
    }
    psc_add_result *r = malloc(size);
    if (r == NULL) {
        psci_reply_free(&rep);
        return psci_fail(c, PSC_ERR_NOMEM, "nomem", "out of memory");
    }
    r->added = added;
    r->replaced = replaced;
    r->unchanged = unchanged;
    r->nrejected = nrej;
    r->rejected = (psc_rejected *)(r + 1);
    char *p = (char *)(r->rejected + nrej);
    for (uint32_t i = 0; i < nrej; i++) {
        const msgpack_object *e = &rj->via.array.ptr[i];
        const msgpack_object *reason = psci_map_get(e, "reason");
        uint64_t idx = 0;
        (void)get_count(e, "index", &idx);
        r->rejected[i].index = (uint32_t)idx;
        r->rejected[i].reason = p;
        memcpy(p, reason->via.str.ptr, reason->via.str.size);
        p += reason->via.str.size;
        *p++ = '\0';
    }
    psci_reply_free(&rep);
    *out = r;
    return PSC_OK;
}

psc_status psc_recv_delete(psc_client *c, uint32_t msgid, uint64_t *deleted,
                           uint64_t *not_found)
{
    if (deleted)
        *deleted = 0;
    if (not_found)
        *not_found = 0;
    psc_reply rep;
    psc_status st = psci_recv_reply(c, msgid, &rep);
    if (st != PSC_OK)
        return st;
    uint64_t d, nf;
    if (get_count(&rep.msg.result, "deleted", &d) ||
        get_count(&rep.msg.result, "not_found", &nf))
        return bad_reply(c, &rep, "delete counts missing");
    psci_reply_free(&rep);
    if (deleted)
        *deleted = d;
    if (not_found)
        *not_found = nf;
    return PSC_OK;
}

/* Receives a reply {subscription: uint, ...} (subscribe, unsubscribe). */
static psc_status recv_subscription(psc_client *c, uint32_t msgid,
                                    const char *what, uint64_t *subscription)
{
    if (subscription)
        *subscription = 0;
    psc_reply rep;
    psc_status st = psci_recv_reply(c, msgid, &rep);
    if (st != PSC_OK)
        return st;
    uint64_t id;
    if (get_count(&rep.msg.result, "subscription", &id))
        return bad_reply(c, &rep, what);
    psci_reply_free(&rep);
    if (subscription)
        *subscription = id;
    return PSC_OK;
}

psc_status psc_recv_subscribe(psc_client *c, uint32_t msgid,
                              uint64_t *subscription)
{
    return recv_subscription(c, msgid, "subscribe answered no subscription",
                             subscription);
}

psc_status psc_recv_unsubscribe(psc_client *c, uint32_t msgid)
{
    return recv_subscription(c, msgid, "unsubscribe answered no subscription",
                             NULL);
}

static psc_status recv_auth(psc_client *c, uint32_t msgid, psc_role *role)
{
    static const char *const names[] = { "read", "write", "admin" };
    static const psc_role roles[] = { PSC_ROLE_READ, PSC_ROLE_WRITE,
                                      PSC_ROLE_ADMIN };
    psc_reply rep;
    psc_status st = psci_recv_reply(c, msgid, &rep);
    if (st != PSC_OK)
        return st;
    const msgpack_object *o = &rep.msg.result;
    for (size_t i = 0; o->type == MSGPACK_OBJECT_STR && i < 3; i++) {
        if (o->via.str.size == strlen(names[i]) &&
            memcmp(o->via.str.ptr, names[i], o->via.str.size) == 0) {
            psci_reply_free(&rep);
            *role = roles[i];
            return PSC_OK;
        }
    }
    return bad_reply(c, &rep, "auth did not answer read, write or admin");
}

/* ---- Synchronous = send + recv ------------------------------------------ */

psc_status psc_search(psc_client *c, const psc_search_args *a,
                      ps_results **out)
{
    uint32_t id;
    *out = NULL;
    psc_status st = psc_send_search(c, a, &id);
    return st != PSC_OK ? st : psc_recv_search(c, id, out);
}

psc_status psc_get(psc_client *c, const char *docid, ps_document **out)
{
    uint32_t id;
    *out = NULL;
    psc_status st = psc_send_get(c, docid, &id);
    return st != PSC_OK ? st : psc_recv_get(c, id, out);
}

psc_status psc_stats(psc_client *c, char **json_out)
{
    uint32_t id;
    *json_out = NULL;
    psc_status st = psc_send_stats(c, &id);
    return st != PSC_OK ? st : psc_recv_stats(c, id, json_out);
}

psc_status psc_synonyms(psc_client *c, const char *word, uint32_t offset,
                        uint32_t limit, char **json_out)
{
    uint32_t id;
    *json_out = NULL;
    psc_status st = psc_send_synonyms(c, word, offset, limit, &id);
    return st != PSC_OK ? st : psc_recv_synonyms(c, id, json_out);
}

psc_status psc_ping(psc_client *c)
{
    uint32_t id;
    psc_status st = psc_send_ping(c, &id);
    return st != PSC_OK ? st : psc_recv_ping(c, id);
}

psc_status psc_add(psc_client *c, const psc_doc *docs, size_t n,
                   psc_add_result **out)
{
    uint32_t id;
    *out = NULL;
    psc_status st = psc_send_add(c, docs, n, &id);
    return st != PSC_OK ? st : psc_recv_add(c, id, out);
}

psc_status psc_add_packed(psc_client *c, const void *params, size_t len,
                          psc_add_result **out)
{
    uint32_t id;
    *out = NULL;
    psc_status st = psc_send_add_packed(c, params, len, &id);
    return st != PSC_OK ? st : psc_recv_add(c, id, out);
}

psc_status psc_delete(psc_client *c, const char *const *ids, size_t n,
                      uint64_t *deleted, uint64_t *not_found)
{
    uint32_t id;
    psc_status st = psc_send_delete(c, ids, n, &id);
    return st != PSC_OK ? st
                        : psc_recv_delete(c, id, deleted, not_found);
}

psc_status psc_subscribe(psc_client *c, const psc_subscribe_args *a,
                         uint64_t *subscription)
{
    uint32_t id;
    if (subscription)
        *subscription = 0;
    psc_status st = psc_send_subscribe(c, a, &id);
    return st != PSC_OK ? st : psc_recv_subscribe(c, id, subscription);
}

psc_status psc_unsubscribe(psc_client *c, uint64_t subscription)
{
    uint32_t id;
    psc_status st = psc_send_unsubscribe(c, subscription, &id);
    return st != PSC_OK ? st : psc_recv_unsubscribe(c, id);
}

psc_status psc_auth(psc_client *c, const char *token, psc_role *role)
{
    uint32_t id;
    psc_role r = PSC_ROLE_NONE;
    psc_status st = send_auth(c, token, &id);
    if (st == PSC_OK)
        st = recv_auth(c, id, &r);
    if (role)
        *role = r;
    return st;
}
