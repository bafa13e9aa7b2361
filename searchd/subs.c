/* subs.c: the I/O thread's subscriptions (see subs.h): a registry by id
 * (open addressing), a list per owner (connection or SSE stream), the methods subscribe,
 * unsubscribe and subscriptions, and the delivery of notifications. */
#include "subs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "isodate.h"
#include "lang.h"
#include "rpc.h"
#include "stats.h"
#include "util.h"

typedef struct sub {
    uint64_t id;
    subs_owner *owner;
    char *name, *q, *lang, *date_from;
    uint64_t dropped;           /* notifications dropped since the last
                                   lagged notification */
    struct sub *prev, *next;    /* the owner's list */
} sub;

struct sub_conn {
    sub *head;
    unsigned n;
};

struct subs_registry {
    const searchd_config *cfg;
    alerts *alerts;
    sub **slot;                 /* open addressing by id, linear probing */
    size_t cap, n;
    uint64_t next_id;
    uint64_t pushed, dropped, lagged;
};

/* ---- the registry ------------------------------------------------------ */

static size_t slot_of(const subs_registry *r, uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & (r->cap - 1);
}

static sub *reg_find(const subs_registry *r, uint64_t id)
{
    if (r->cap == 0) return NULL;
    for (size_t i = slot_of(r, id);; i = (i + 1) & (r->cap - 1)) {
        if (!r->slot[i]) return NULL;
        if (r->slot[i]->id == id) return r->slot[i];
    }
}

static int reg_insert(subs_registry *r, sub *s);

static int reg_grow(subs_registry *r)
{
    size_t oldcap = r->cap;
    sub **old = r->slot;
    size_t cap = oldcap ? oldcap * 2 : 64;
    sub **v = calloc(cap, sizeof *v);
    if (!v) return -1;
    r->slot = v;
    r->cap = cap;
    r->n = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i]) (void)reg_insert(r, old[i]);
    free(old);
    return 0;
}

static int reg_insert(subs_registry *r, sub *s)
{
    if ((r->n + 1) * 2 > r->cap && reg_grow(r) != 0) return -1;
    size_t i = slot_of(r, s->id);
    while (r->slot[i]) i = (i + 1) & (r->cap - 1);
    r->slot[i] = s;
    r->n++;
    return 0;
}

/* Removes s's slot (backward-shift deletion keeps probes unbroken). */
static void reg_erase(subs_registry *r, sub *s)
{
    size_t i = slot_of(r, s->id);
    while (r->slot[i] != s) i = (i + 1) & (r->cap - 1);
    r->slot[i] = NULL;
    r->n--;
    for (size_t j = (i + 1) & (r->cap - 1); r->slot[j]; j = (j + 1) & (r->cap - 1)) {
        size_t home = slot_of(r, r->slot[j]->id);
        /* Move slot j into the hole i when its home is not in (i, j]. */
        int between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            r->slot[i] = r->slot[j];
            r->slot[j] = NULL;
            i = j;
        }
    }
}

subs_registry *subs_create(const searchd_config *cfg, alerts *a)
{
    subs_registry *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->cfg = cfg;
    r->alerts = a;
    r->next_id = 1;
    return r;
}

void subs_destroy(subs_registry *r)
{
    if (!r) return;
    free(r->slot);      /* the subs themselves went with their owners */
    free(r);
}

static void sub_free(sub *s)
{
    free(s->name);
    free(s->q);
    free(s->lang);
    free(s->date_from);
    free(s);
}

/* Unlinks s from its owner's list and the registry, tells the
 * matcher, frees it. */
static void sub_drop(server *srv, sub_conn *sc, sub *s)
{
    subs_registry *r = srv->subs;
    if (s->prev) s->prev->next = s->next; else sc->head = s->next;
    if (s->next) s->next->prev = s->prev;
    sc->n--;
    reg_erase(r, s);
    if (r->alerts) {
        alerts_remove(r->alerts, s->id);
        alerts_set_wanted(r->alerts, r->n);
    }
    sub_free(s);
}

/* ---- subscribe --------------------------------------------------------- */

int subs_subscribe_parse(job *j, const msgpack_object *params, const searchd_config *c)
{
    const char *q = NULL, *lang = NULL, *df = NULL, *name = NULL;
    int synonyms = 1;
    const ps_arg_spec sp[] = {
        {"q", PS_ARG_STR, 1, &q, NULL, 0},
        {"lang", PS_ARG_STR, 0, &lang, NULL, 16},
        {"date_from", PS_ARG_STR, 0, &df, NULL, 64},
        {"name", PS_ARG_STR, 0, &name, NULL, 0},
        {"synonyms", PS_ARG_BOOL, 0, &synonyms, NULL, 0},
    };
    if (ps_rpc_args_parse(params, sp, sizeof sp / sizeof sp[0], j->zone, j->errmsg,
                          sizeof j->errmsg) != 0)
        return ERR_BAD_REQUEST;
    if (strlen(q) > c->max_query || (name && strlen(name) > c->max_query)) {
        snprintf(j->errmsg, sizeof j->errmsg, "%s is %zu bytes, more than "
                 "max_query (%u)", strlen(q) > c->max_query ? "q" : "name",
                 strlen(strlen(q) > c->max_query ? q : name), c->max_query);
        return ERR_TOO_LARGE;
    }
    if (lang && *lang && !ps_lang_valid(lang)) {
        snprintf(j->errmsg, sizeof j->errmsg, "unknown language code '%s'", lang);
        return ERR_BAD_REQUEST;
    }
    char key[PS_DATE_KEY_LEN + 1];
    if (df && *df && ps_date_normalize(df, 0, key) != 0) {
        snprintf(j->errmsg, sizeof j->errmsg, "invalid date_from '%s'", df);
        return ERR_BAD_REQUEST;
    }
    memset(&j->q, 0, sizeof j->q);
    j->q.q = q;
    j->q.lang = (lang && *lang) ? lang : NULL;
    j->q.date_from = (df && *df) ? df : NULL;
    j->q.max_query = c->max_query;
    j->q.max_wildcard = c->max_wildcard;
    j->q.no_synonyms = !synonyms;
    j->name = name ? name : q;
    return -1;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int subs_subscribe_io(job *j, server *srv)
{
    subs_registry *r = srv->subs;
    const searchd_config *c = srv->cfg;
    if (!r || !r->alerts) {
        snprintf(j->errmsg, sizeof j->errmsg, "subscriptions need this daemon's "
                 "writer on a single database: not with --read-only or a shard "
                 "set (docs/PROTOCOL.md, subscribe)");
        return ERR_UNAVAILABLE;
    }
    subs_owner *o = j->owner;
    sub_conn **scp = &o->subs;
    unsigned mine = subs_owner_count(o);
    if (mine >= c->max_subs_per_conn) {
        snprintf(j->errmsg, sizeof j->errmsg, "this connection has %u "
                 "subscriptions already (max_subscriptions_per_conn %u)",
                 mine, c->max_subs_per_conn);
        return ERR_BUSY;
    }
    if (r->n >= c->max_subs) {
        snprintf(j->errmsg, sizeof j->errmsg, "%zu subscriptions already "
                 "(max_subscriptions %u)", r->n, c->max_subs);
        return ERR_BUSY;
    }
    if (!*scp && !(*scp = calloc(1, sizeof **scp))) goto oom;
    sub *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->id = r->next_id;
    s->owner = o;
    s->name = strdup(j->name);
    s->q = strdup(j->q.q);
    s->lang = dup_or_null(j->q.lang);
    s->date_from = dup_or_null(j->q.date_from);
    if (!s->name || !s->q || (j->q.lang && !s->lang) ||
        (j->q.date_from && !s->date_from) || reg_insert(r, s) != 0) {
        sub_free(s);
        goto oom;
    }
    r->next_id++;
    sub_conn *sc = *scp;
    s->next = sc->head;
    if (sc->head) sc->head->prev = s;
    sc->head = s;
    sc->n++;
    j->sub = s->id;
    /* Before the answer: the writer keeps the groups of adds sent after
     * it (alerts_wanted). */
    alerts_set_wanted(r->alerts, r->n);
    if (alerts_submit(r->alerts, j) != 0) {
        sub_drop(srv, sc, s);
        snprintf(j->errmsg, sizeof j->errmsg, "server busy: %u items wait for "
                 "the alert thread", ALERTS_QUEUE);
        return ERR_BUSY;
    }
    return -2;
oom:
    snprintf(j->errmsg, sizeof j->errmsg, "out of memory");
    return ERR_INTERNAL;
}

void subs_subscribe_done(job *j, server *srv)
{
    subs_registry *r = srv->subs;
    sub *s = reg_find(r, j->sub);
    if (j->err < 0) {
        if (!s) alerts_remove(r->alerts, j->sub);   /* closed meanwhile */
        return;
    }
    /* Refused by the matcher (query_syntax...): forget it. */
    if (s) sub_drop(srv, s->owner->subs, s);
}

int subs_subscribe_finish(job *j, msgpack_packer *pk, server *srv)
{
    (void)srv;
    msgpack_pack_map(pk, 2);
    msgpack_pack_str_with_body(pk, "subscription", 12);
    msgpack_pack_uint64(pk, j->sub);
    msgpack_pack_str_with_body(pk, "name", 4);
    return ps_rpc_pack_str(pk, j->name);
}

/* ---- unsubscribe, subscriptions ---------------------------------------- */

int subs_unsubscribe_parse(job *j, const msgpack_object *params, const searchd_config *c)
{
    (void)c;
    const ps_arg_spec sp[] = {
        {"subscription", PS_ARG_UINT, 1, &j->sub, NULL, 0},
    };
    if (ps_rpc_args_parse(params, sp, 1, j->zone, j->errmsg, sizeof j->errmsg) != 0)
        return ERR_BAD_REQUEST;
    return -1;
}

int subs_unsubscribe_io(job *j, server *srv)
{
    sub *s = srv->subs ? reg_find(srv->subs, j->sub) : NULL;
    if (!s || s->owner != j->owner) {
        snprintf(j->errmsg, sizeof j->errmsg, "no subscription %llu on this "
                 "connection", (unsigned long long)j->sub);
        return ERR_NOT_FOUND;
    }
    sub_drop(srv, j->owner->subs, s);
    return -1;
}

int subs_unsubscribe_finish(job *j, msgpack_packer *pk, server *srv)
{
    (void)srv;
    msgpack_pack_map(pk, 1);
    msgpack_pack_str_with_body(pk, "subscription", 12);
    return msgpack_pack_uint64(pk, j->sub);
}

static void kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    ps_rpc_pack_str(pk, v);
}

int subs_list_finish(job *j, msgpack_packer *pk, server *srv)
{
    (void)srv;
    sub_conn *sc = j->owner->subs;
    msgpack_pack_array(pk, sc ? sc->n : 0);
    /* Oldest first: the list is newest first. */
    sub *last = sc ? sc->head : NULL;
    while (last && last->next) last = last->next;
    for (sub *s = last; s; s = s->prev) {
        msgpack_pack_map(pk, 3 + (s->lang != NULL) + (s->date_from != NULL));
        msgpack_pack_str_with_body(pk, "subscription", 12);
        msgpack_pack_uint64(pk, s->id);
        kv_str(pk, "name", s->name);
        kv_str(pk, "q", s->q);
        if (s->lang) kv_str(pk, "lang", s->lang);
        if (s->date_from) kv_str(pk, "date_from", s->date_from);
    }
    return 0;
}

/* ---- owners and delivery ---------------------------------------------- */

unsigned subs_owner_count(const subs_owner *o)
{
    return o->subs ? o->subs->n : 0;
}

void subs_owner_closed(server *srv, subs_owner *o)
{
    sub_conn *sc = o->subs;
    if (!sc) return;
    while (sc->head) sub_drop(srv, sc, sc->head);
    free(sc);
    o->subs = NULL;
}

void subs_owner_drained(server *srv, subs_owner *o)
{
    sub_conn *sc = o->subs;
    if (!sc) return;
    for (sub *s = sc->head; s; s = s->next) {
        if (s->dropped == 0) continue;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 3);
        msgpack_pack_uint8(&pk, 2);
        msgpack_pack_str_with_body(&pk, "lagged", 6);
        msgpack_pack_array(&pk, 1);
        msgpack_pack_map(&pk, 2);
        msgpack_pack_str_with_body(&pk, "subscription", 12);
        msgpack_pack_uint64(&pk, s->id);
        msgpack_pack_str_with_body(&pk, "dropped", 7);
        msgpack_pack_uint64(&pk, s->dropped);
        if (o->notify(o, sb.data, sb.size, UINT64_MAX) == 0) {
            s->dropped = 0;
            srv->subs->lagged++;
        }
        msgpack_sbuffer_destroy(&sb);
    }
}

void subs_deliver(server *srv, job *j)
{
    subs_registry *r = srv->subs;
    const alert_batch *b = j->payload;
    for (size_t i = 0; r && b && i < b->n; i++) {
        sub *s = reg_find(r, b->v[i].sub);
        if (!s) continue;           /* unsubscribed, or its owner closed */
        if (s->owner->notify(s->owner, b->buf.data + b->v[i].off, b->v[i].len,
                             srv->cfg->max_notify_queue) == 0) {
            r->pushed++;
        } else {
            s->dropped++;
            r->dropped++;
        }
    }
    if (r && b && b->overflow_docs > 0) {
        /* Groups were not matched: every subscription may have missed
         * up to that many documents. */
        for (size_t i = 0; i < r->cap; i++)
            if (r->slot[i]) r->slot[i]->dropped += b->overflow_docs;
        for (size_t i = 0; i < r->cap; i++) {
            sub *s = r->slot[i];
            if (s && s->dropped && s->owner->out_empty(s->owner))
                subs_owner_drained(srv, s->owner);
        }
    }
    job_free(j);
}

static void kv_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    msgpack_pack_uint64(pk, v);
}

void subs_pack_stats(msgpack_packer *pk, server *srv)
{
    subs_registry *r = srv->subs;
    alerts_stats st;
    alerts_get_stats(srv->alerts, &st);
    msgpack_pack_str_with_body(pk, "alerts", 6);
    msgpack_pack_map(pk, 13);
    kv_u64(pk, "enabled", srv->alerts != NULL);
    kv_u64(pk, "subscriptions", r ? r->n : 0);
    kv_u64(pk, "pushed", r ? r->pushed : 0);
    kv_u64(pk, "dropped", r ? r->dropped : 0);
    kv_u64(pk, "lagged", r ? r->lagged : 0);
    kv_u64(pk, "matches", st.matches);
    kv_u64(pk, "groups", st.groups);
    kv_u64(pk, "docs", st.docs);
    kv_u64(pk, "queued", st.queued);
    kv_u64(pk, "last_group_us", st.last_us);
    kv_u64(pk, "max_group_us", st.max_us);
    kv_u64(pk, "avg_group_us", st.groups ? st.total_us / st.groups : 0);
    kv_u64(pk, "overflow_docs", st.overflow_docs);
}
