/* subs.c: the I/O thread's subscriptions (see subs.h): a registry by id
 * (open addressing), a list per connection, the methods subscribe,
 * unsubscribe and subscriptions, and the delivery of notifications. */
#include "subs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "conn.h"
#include "isodate.h"
#include "lang.h"
#include "rpc.h"
#include "stats.h"
#include "substore.h"
#include "util.h"

typedef struct sub {
    uint64_t id;
    struct conn *conn;
    char *name, *q, *lang, *date_from;
    uint64_t dropped;           /* notifications dropped since the last
                                   lagged notification */
    int durable;                /* in the store (substore.h) under name */
    struct sub *prev, *next;    /* the connection's list */
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
    substore store;             /* the durable subscriptions */
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
    free(r->slot);      /* the subs themselves went with their connections */
    substore_free(&r->store);
    free(r);
}

int subs_open_store(subs_registry *r, const char *path, char *err, size_t errlen)
{
    substore_free(&r->store);
    if (substore_load(&r->store, path, r->cfg->max_subs, err, errlen) != 0) return -1;
    if (r->store.n)
        ps_log(PS_LOG_INFO, "%zu durable subscriptions loaded from %s", r->store.n, path);
    return 0;
}

static void sub_free(sub *s)
{
    free(s->name);
    free(s->q);
    free(s->lang);
    free(s->date_from);
    free(s);
}

/* Unlinks s from its connection's list and the registry, tells the
 * matcher, frees it (a durable one stays in the store). */
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
    int durable = 0, has_resume = 0;
    uint64_t resume_from = 0;
    const ps_arg_spec sp[] = {
        {"q", PS_ARG_STR, 0, &q, NULL, 0},
        {"lang", PS_ARG_STR, 0, &lang, NULL, 16},
        {"date_from", PS_ARG_STR, 0, &df, NULL, 64},
        {"name", PS_ARG_STR, 0, &name, NULL, 0},
        {"synonyms", PS_ARG_BOOL, 0, &synonyms, NULL, 0},
        {"durable", PS_ARG_BOOL, 0, &durable, NULL, 0},
        {"resume_from", PS_ARG_UINT, 0, &resume_from, &has_resume, 0},
    };
    if (ps_rpc_args_parse(params, sp, sizeof sp / sizeof sp[0], j->zone, j->errmsg,
                          sizeof j->errmsg) != 0)
        return ERR_BAD_REQUEST;
    if (!q && !name) {
        snprintf(j->errmsg, sizeof j->errmsg, "missing \"q\" (or the \"name\" of a "
                 "durable subscription to attach)");
        return ERR_BAD_REQUEST;
    }
    if (durable && (!name || !*name)) {
        snprintf(j->errmsg, sizeof j->errmsg, "durable: true needs a \"name\"");
        return ERR_BAD_REQUEST;
    }
    if ((q && strlen(q) > c->max_query) || (name && strlen(name) > c->max_query)) {
        int qlong = q && strlen(q) > c->max_query;
        snprintf(j->errmsg, sizeof j->errmsg, "%s is %zu bytes, more than "
                 "max_query (%u)", qlong ? "q" : "name", strlen(qlong ? q : name),
                 c->max_query);
        return ERR_TOO_LARGE;
    }
    if (durable && strlen(name) > SUBSTORE_MAX_NAME) {
        snprintf(j->errmsg, sizeof j->errmsg, "the name of a durable subscription is "
                 "%zu bytes, more than %u", strlen(name), SUBSTORE_MAX_NAME);
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
    j->q.q = q;                 /* NULL: the durable subscription's (io) */
    j->q.lang = (lang && *lang) ? lang : NULL;
    j->q.date_from = (df && *df) ? df : NULL;
    j->q.max_query = c->max_query;
    j->q.max_wildcard = c->max_wildcard;
    j->q.no_synonyms = !synonyms;
    j->name = name ? name : q;
    j->durable = durable;
    j->resume = has_resume;
    j->resume_from = resume_from;
    return -1;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A durable subscription this job created (j->durable 2) leaves the
 * store again: the subscribe failed. */
static void unstore_new(server *srv, job *j)
{
    if (j->durable != 2) return;
    substore *st = &srv->subs->store;
    ssize_t i = substore_find(st, j->name);
    char err[300];
    if (i >= 0 && substore_remove(st, (size_t)i, err, sizeof err) != 0)
        ps_log(PS_LOG_ERROR, "durable subscription '%s' stays stored: %s", j->name, err);
    j->durable = 1;
}

static int same_opt(const char *a, const char *b)
{
    return (!a || !*a) ? (!b || !*b) : (b && strcmp(a, b) == 0);
}

static char *zone_dup(job *j, const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *c = msgpack_zone_malloc(j->zone, n);
    if (c) memcpy(c, s, n);
    return c;
}

/* The durable side of subscribe: a name in the store attaches that
 * subscription (its query; the one given, if any, must be the same),
 * taking it over from a connection that holds it; durable: true with a
 * new name stores it (j->durable 2).  Returns -1 to go on, or an error. */
static int attach_durable(job *j, server *srv)
{
    subs_registry *r = srv->subs;
    substore *st = &r->store;
    ssize_t i = j->name ? substore_find(st, j->name) : -1;
    if (i < 0) {
        if (!j->q.q) {
            snprintf(j->errmsg, sizeof j->errmsg, "no durable subscription named "
                     "'%s' (give \"q\" to create one)", j->name);
            return ERR_NOT_FOUND;
        }
        if (!j->durable) return -1;
        char err[400];
        if (substore_add(st, j->name, j->q.q, j->q.lang, j->q.date_from, err,
                         sizeof err) != 0) {
            snprintf(j->errmsg, sizeof j->errmsg, "%s", err);
            return st->n >= st->max_entries ? ERR_BUSY
                 : strstr(err, "cannot write") ? ERR_IO_ERROR : ERR_TOO_LARGE;
        }
        j->durable = 2;
        return -1;
    }
    const substore_entry *e = &st->v[i];
    if (j->q.q && (strcmp(j->q.q, e->q) != 0 || !same_opt(j->q.lang, e->lang) ||
                   !same_opt(j->q.date_from, e->date_from))) {
        snprintf(j->errmsg, sizeof j->errmsg, "'%s' is a durable subscription with "
                 "another query, language or date_from: unsubscribe it first, or "
                 "choose another name", j->name);
        return ERR_BAD_REQUEST;
    }
    j->q.q = zone_dup(j, e->q);
    j->q.lang = zone_dup(j, e->lang);
    j->q.date_from = zone_dup(j, e->date_from);
    if (!j->q.q || (e->lang && !j->q.lang) || (e->date_from && !j->q.date_from)) {
        snprintf(j->errmsg, sizeof j->errmsg, "out of memory");
        return ERR_INTERNAL;
    }
    j->durable = 1;
    /* Attached elsewhere (a client reconnecting before its old connection
     * was seen closed): it moves here. */
    for (size_t k = 0; k < r->cap; k++) {
        sub *o = r->slot[k];
        if (o && o->durable && strcmp(o->name, j->name) == 0) {
            ps_log(PS_LOG_INFO, "durable subscription '%s' moves to another "
                   "connection", j->name);
            sub_drop(srv, *conn_subs(o->conn), o);
            break;
        }
    }
    return -1;
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
    sub_conn **scp = conn_subs(j->conn);
    unsigned mine = subs_conn_count(*scp);
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
    int err = attach_durable(j, srv);
    if (err >= 0) return err;
    if (!*scp && !(*scp = calloc(1, sizeof **scp))) goto oom_unstore;
    sub *s = calloc(1, sizeof *s);
    if (!s) goto oom_unstore;
    s->id = r->next_id;
    s->conn = j->conn;
    s->durable = j->durable != 0;
    s->name = strdup(j->name);
    s->q = strdup(j->q.q);
    s->lang = dup_or_null(j->q.lang);
    s->date_from = dup_or_null(j->q.date_from);
    if (!s->name || !s->q || (j->q.lang && !s->lang) ||
        (j->q.date_from && !s->date_from) || reg_insert(r, s) != 0) {
        sub_free(s);
        goto oom_unstore;
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
    j->epoch = alerts_epoch(r->alerts);
    if (alerts_submit(r->alerts, j) != 0) {
        sub_drop(srv, sc, s);
        unstore_new(srv, j);
        snprintf(j->errmsg, sizeof j->errmsg, "server busy: %u items wait for "
                 "the alert thread", ALERTS_QUEUE);
        return ERR_BUSY;
    }
    return -2;
oom_unstore:
    unstore_new(srv, j);
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
    if (s) sub_drop(srv, *conn_subs(s->conn), s);
    unstore_new(srv, j);
}

int subs_subscribe_finish(job *j, msgpack_packer *pk, server *srv)
{
    (void)srv;
    msgpack_pack_map(pk, 2 + (j->durable != 0));
    msgpack_pack_str_with_body(pk, "subscription", 12);
    msgpack_pack_uint64(pk, j->sub);
    if (j->durable) {
        msgpack_pack_str_with_body(pk, "durable", 7);
        msgpack_pack_true(pk);
    }
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
    if (!s || s->conn != j->conn) {
        snprintf(j->errmsg, sizeof j->errmsg, "no subscription %llu on this "
                 "connection", (unsigned long long)j->sub);
        return ERR_NOT_FOUND;
    }
    if (s->durable) {
        substore *st = &srv->subs->store;
        ssize_t i = substore_find(st, s->name);
        char err[400];
        if (i >= 0 && substore_remove(st, (size_t)i, err, sizeof err) != 0) {
            snprintf(j->errmsg, sizeof j->errmsg, "%s: the subscription stays", err);
            return ERR_IO_ERROR;
        }
    }
    sub_drop(srv, *conn_subs(j->conn), s);
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
    sub_conn *sc = *conn_subs(j->conn);
    msgpack_pack_array(pk, sc ? sc->n : 0);
    /* Oldest first: the list is newest first. */
    sub *last = sc ? sc->head : NULL;
    while (last && last->next) last = last->next;
    for (sub *s = last; s; s = s->prev) {
        msgpack_pack_map(pk, 3 + (s->lang != NULL) + (s->date_from != NULL) +
                             (s->durable != 0));
        if (s->durable) {
            msgpack_pack_str_with_body(pk, "durable", 7);
            msgpack_pack_true(pk);
        }
        msgpack_pack_str_with_body(pk, "subscription", 12);
        msgpack_pack_uint64(pk, s->id);
        kv_str(pk, "name", s->name);
        kv_str(pk, "q", s->q);
        if (s->lang) kv_str(pk, "lang", s->lang);
        if (s->date_from) kv_str(pk, "date_from", s->date_from);
    }
    return 0;
}

/* ---- connections and delivery ----------------------------------------- */

unsigned subs_conn_count(const sub_conn *sc)
{
    return sc ? sc->n : 0;
}

void subs_conn_closed(server *srv, sub_conn **scp)
{
    sub_conn *sc = *scp;
    if (!sc) return;
    while (sc->head) sub_drop(srv, sc, sc->head);
    free(sc);
    *scp = NULL;
}

void subs_conn_drained(server *srv, struct conn *c, sub_conn *sc)
{
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
        if (conn_notify(c, sb.data, sb.size, UINT64_MAX) == 0) {
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
        if (!s) continue;           /* unsubscribed, or its connection closed */
        if (conn_notify(s->conn, b->buf.data + b->v[i].off, b->v[i].len,
                        b->catchup ? UINT64_MAX : srv->cfg->max_notify_queue) == 0) {
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
            if (s && s->dropped && conn_out_empty(s->conn))
                subs_conn_drained(srv, s->conn, *conn_subs(s->conn));
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
    msgpack_pack_map(pk, 18);
    kv_u64(pk, "enabled", srv->alerts != NULL);
    kv_u64(pk, "subscriptions", r ? r->n : 0);
    kv_u64(pk, "durable", r ? r->store.n : 0);
    kv_u64(pk, "resumes", st.resumes);
    kv_u64(pk, "catchups", st.catchups);
    kv_u64(pk, "catchup_docs", st.catchup_docs);
    kv_u64(pk, "catchup_dropped", st.catchup_dropped);
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
