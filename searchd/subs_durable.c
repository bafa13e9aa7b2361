/* subs_durable.c: durable subscriptions on the I/O thread (see
 * subs_internal.h): the store (substore.h, DB/subscriptions.msgpack)
 * loaded at start, a subscribe that creates or attaches one by name, an
 * unsubscribe that removes it.  What survives a connection is the
 * store's entry; what is attached to a connection is an ordinary
 * subscription of the registry (subs.c) marked durable. */
#include "subs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "stats.h"
#include "util.h"

int subs_open_store(subs_registry *r, const char *path, char *err, size_t errlen)
{
    substore_free(&r->store);
    if (substore_load(&r->store, path, r->cfg->max_subs, err, errlen) != 0) return -1;
    if (r->store.n)
        ps_log(PS_LOG_INFO, "%zu durable subscriptions loaded from %s", r->store.n, path);
    return 0;
}

void subs_durable_unstore_new(server *srv, job *j)
{
    if (j->durable != 2) return;
    substore *st = &srv->subs->store;
    ssize_t i = substore_find(st, j->name);
    char err[300];
    if (i >= 0 && substore_remove(st, (size_t)i, err, sizeof err) != 0)
        ps_log(PS_LOG_ERROR, "durable subscription '%s' stays stored: %s", j->name, err);
    j->durable = 1;
}

int subs_durable_remove(server *srv, const sub *s, char *err, size_t errlen)
{
    if (!s->durable) return 0;
    substore *st = &srv->subs->store;
    ssize_t i = substore_find(st, s->name);
    return i >= 0 ? substore_remove(st, (size_t)i, err, errlen) : 0;
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

/* Whether job j may attach or remove the stored e: made with a token,
 * only that token or an admin may (made without access control: anyone,
 * as every request is then admin).  Sets j->errmsg when not. */
static int may_use(job *j, const substore_entry *e)
{
    if (!e->owner || strcmp(e->owner, j->principal) == 0 || j->role >= AUTH_ADMIN)
        return 1;
    snprintf(j->errmsg, sizeof j->errmsg, "the durable subscription '%s' belongs "
             "to another token (only that token or an admin token may use it)",
             j->name);
    return 0;
}

/* The owner holding the durable subscription name, if any, drops it and
 * is told (taken; removed: it left the store).  Returns 1 when one held
 * it, else 0. */
static int drop_holder(server *srv, const char *name, int removed)
{
    sub *o = subs_reg_find_durable(srv->subs, name);
    if (!o) return 0;
    subs_owner *prev = o->owner;
    subs_drop(srv, prev->subs, o);
    if (prev->taken) prev->taken(prev, name, removed);
    return 1;
}

int subs_durable_attach(job *j, server *srv)
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
        if (substore_add(st, j->name, j->q.q, j->q.lang, j->q.date_from,
                         j->q.no_synonyms, j->principal, err, sizeof err) != 0) {
            snprintf(j->errmsg, sizeof j->errmsg, "%s", err);
            return st->n >= st->max_entries ? ERR_BUSY
                 : strstr(err, "cannot write") ? ERR_IO_ERROR : ERR_TOO_LARGE;
        }
        j->durable = 2;
        return -1;
    }
    const substore_entry *e = &st->v[i];
    if (!may_use(j, e)) return ERR_FORBIDDEN;
    if (j->q.q && (strcmp(j->q.q, e->q) != 0 || !same_opt(j->q.lang, e->lang) ||
                   !same_opt(j->q.date_from, e->date_from) ||
                   !j->q.no_synonyms != !e->no_synonyms)) {
        snprintf(j->errmsg, sizeof j->errmsg, "'%s' is a durable subscription with "
                 "another query, language, date_from or synonyms: unsubscribe it "
                 "first, or choose another name", j->name);
        return ERR_BAD_REQUEST;
    }
    j->q.q = zone_dup(j, e->q);
    j->q.lang = zone_dup(j, e->lang);
    j->q.date_from = zone_dup(j, e->date_from);
    j->q.no_synonyms = e->no_synonyms;
    if (!j->q.q || (e->lang && !j->q.lang) || (e->date_from && !j->q.date_from)) {
        snprintf(j->errmsg, sizeof j->errmsg, "out of memory");
        return ERR_INTERNAL;
    }
    j->durable = 1;
    /* Attached elsewhere (a client reconnecting before its old connection
     * was seen closed): it moves here. */
    if (drop_holder(srv, j->name, 0))
        ps_log(PS_LOG_INFO, "durable subscription '%s' moves to another "
               "connection", j->name);
    return -1;
}

int subs_durable_remove_named(job *j, server *srv)
{
    subs_registry *r = srv->subs;
    ssize_t i = r ? substore_find(&r->store, j->name) : -1;
    if (i < 0) {
        snprintf(j->errmsg, sizeof j->errmsg, "no durable subscription named "
                 "'%s'", j->name);
        return ERR_NOT_FOUND;
    }
    if (!may_use(j, &r->store.v[i])) return ERR_FORBIDDEN;
    char err[400];
    if (substore_remove(&r->store, (size_t)i, err, sizeof err) != 0) {
        snprintf(j->errmsg, sizeof j->errmsg, "%s: the subscription stays", err);
        return ERR_IO_ERROR;
    }
    drop_holder(srv, j->name, 1);
    ps_log(PS_LOG_INFO, "durable subscription '%s' removed by name", j->name);
    return -1;
}
