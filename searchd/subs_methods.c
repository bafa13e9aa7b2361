/* subs_methods.c: the methods subscribe, unsubscribe and subscriptions
 * (see subs.h): their argument checks, their I/O-thread steps over the
 * registry (subs.c) and the durable store (subs_durable.c), and their
 * answers.  I/O thread. */
#include "subs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "isodate.h"
#include "lang.h"
#include "rpc.h"
#include "stats.h"

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
    int err = subs_durable_attach(j, srv);
    if (err >= 0) return err;
    sub *s = calloc(1, sizeof *s);
    if (!s) goto oom_unstore;
    s->owner = o;
    s->durable = j->durable != 0;
    s->name = strdup(j->name);
    s->q = strdup(j->q.q);
    s->lang = dup_or_null(j->q.lang);
    s->date_from = dup_or_null(j->q.date_from);
    if (!s->name || !s->q || (j->q.lang && !s->lang) ||
        (j->q.date_from && !s->date_from) || subs_add(r, scp, s) != 0) {
        subs_sub_free(s);
        goto oom_unstore;
    }
    sub_conn *sc = *scp;
    j->sub = s->id;
    /* Before the answer: the writer keeps the groups of adds sent after
     * it (alerts_wanted). */
    alerts_set_wanted(r->alerts, r->n);
    j->epoch = alerts_epoch(r->alerts);
    if (alerts_submit(r->alerts, j) != 0) {
        subs_drop(srv, sc, s);
        subs_durable_unstore_new(srv, j);
        snprintf(j->errmsg, sizeof j->errmsg, "server busy: %u items wait for "
                 "the alert thread", ALERTS_QUEUE);
        return ERR_BUSY;
    }
    return -2;
oom_unstore:
    subs_durable_unstore_new(srv, j);
    snprintf(j->errmsg, sizeof j->errmsg, "out of memory");
    return ERR_INTERNAL;
}

void subs_subscribe_done(job *j, server *srv)
{
    subs_registry *r = srv->subs;
    sub *s = subs_reg_find(r, j->sub);
    if (j->err < 0) {
        if (!s) alerts_remove(r->alerts, j->sub);   /* closed meanwhile */
        return;
    }
    /* Refused by the matcher (query_syntax...): forget it. */
    if (s) subs_drop(srv, s->owner->subs, s);
    subs_durable_unstore_new(srv, j);
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
    j->sub = UINT64_MAX;        /* not given */
    const ps_arg_spec sp[] = {
        {"subscription", PS_ARG_UINT, 0, &j->sub, NULL, 0},
        {"name", PS_ARG_STR, 0, &j->name, NULL, 0},
    };
    if (ps_rpc_args_parse(params, sp, 2, j->zone, j->errmsg, sizeof j->errmsg) != 0)
        return ERR_BAD_REQUEST;
    if ((j->sub == UINT64_MAX) == (j->name == NULL)) {
        snprintf(j->errmsg, sizeof j->errmsg, "unsubscribe needs either "
                 "{subscription} or {name} (a durable subscription)");
        return ERR_BAD_REQUEST;
    }
    return -1;
}

int subs_unsubscribe_io(job *j, server *srv)
{
    if (j->name) return subs_durable_remove_named(j, srv);
    sub *s = srv->subs ? subs_reg_find(srv->subs, j->sub) : NULL;
    if (!s || s->owner != j->owner) {
        snprintf(j->errmsg, sizeof j->errmsg, "no subscription %llu on this "
                 "connection", (unsigned long long)j->sub);
        return ERR_NOT_FOUND;
    }
    char err[400];
    if (subs_durable_remove(srv, s, err, sizeof err) != 0) {
        snprintf(j->errmsg, sizeof j->errmsg, "%s: the subscription stays", err);
        return ERR_IO_ERROR;
    }
    subs_drop(srv, j->owner->subs, s);
    return -1;
}

int subs_unsubscribe_finish(job *j, msgpack_packer *pk, server *srv)
{
    (void)srv;
    msgpack_pack_map(pk, 1);
    if (j->name) {
        msgpack_pack_str_with_body(pk, "name", 4);
        return ps_rpc_pack_str(pk, j->name);
    }
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
