/* subs.c: the I/O thread's subscriptions (see subs.h): a registry by id
 * (open addressing), a list per owner (connection or SSE stream), the
 * delivery of notifications with the per-owner bound and "lagged", and the
 * stats.  The methods are in subs_methods.c, the durable subscriptions'
 * store in subs_durable.c. */
#include "subs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "stats.h"
#include "util.h"

/* ---- the registry ------------------------------------------------------ */

static size_t slot_of(const subs_registry *r, uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & (r->cap - 1);
}

sub *subs_reg_find(const subs_registry *r, uint64_t id)
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

sub *subs_reg_find_durable(const subs_registry *r, const char *name)
{
    for (size_t k = 0; k < r->cap; k++) {
        sub *o = r->slot[k];
        if (o && o->durable && strcmp(o->name, name) == 0) return o;
    }
    return NULL;
}

int subs_add(subs_registry *r, sub_conn **scp, sub *s)
{
    if (!*scp && !(*scp = calloc(1, sizeof **scp))) return -1;
    s->id = r->next_id;
    if (reg_insert(r, s) != 0) return -1;
    r->next_id++;
    sub_conn *sc = *scp;
    s->prev = NULL;
    s->next = sc->head;
    if (sc->head) sc->head->prev = s;
    sc->head = s;
    sc->n++;
    return 0;
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
    substore_free(&r->store);
    free(r);
}

void subs_sub_free(sub *s)
{
    free(s->name);
    free(s->q);
    free(s->lang);
    free(s->date_from);
    free(s);
}

void subs_drop(server *srv, sub_conn *sc, sub *s)
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
    subs_sub_free(s);
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
    while (sc->head) subs_drop(srv, sc, sc->head);
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
        int has_from = s->gap_from != UINT64_MAX;
        if (alerts_pack_lagged(&pk, s->id, s->dropped, has_from, s->gap_from) == 0 &&
            o->notify(o, sb.data, sb.size, UINT64_MAX) == 0) {
            s->dropped = 0;
            srv->subs->lagged++;
        }
        msgpack_sbuffer_destroy(&sb);
    }
}

/* Drops a notification of s: the first opens a gap (before seq `from`;
 * UINT64_MAX: unknown), later ones only widen it to an earlier seq. */
static void gap(sub *s, uint64_t n, uint64_t from)
{
    if (s->dropped == 0 || from < s->gap_from) s->gap_from = from;
    s->dropped += n;
}

void subs_deliver(server *srv, job *j)
{
    subs_registry *r = srv->subs;
    const alert_batch *b = j->payload;
    for (size_t i = 0; r && b && i < b->n; i++) {
        const alert_note *nt = &b->v[i];
        sub *s = subs_reg_find(r, nt->sub);
        if (!s) continue;           /* unsubscribed, or its owner closed */
        /* In a gap, everything waits for the lagged notification (a
         * resume from its resume_from sends them all, in order). */
        if (s->dropped == 0 &&
            s->owner->notify(s->owner, b->buf.data + nt->off, nt->len,
                             b->catchup ? UINT64_MAX
                                        : srv->cfg->max_notify_queue) == 0) {
            r->pushed++;
        } else {
            /* Only match notes carry a seq; a catch-up's own lagged note
             * (resume_max reached) drops nothing more. */
            if (nt->seq > 0) gap(s, 1, nt->seq - 1);
            else if (s->dropped == 0) gap(s, 1, UINT64_MAX);
            r->dropped++;
        }
    }
    if (r && b && b->overflow_docs > 0) {
        /* Groups were not matched: every subscription may have missed
         * up to that many documents. */
        for (size_t i = 0; i < r->cap; i++)
            if (r->slot[i]) gap(r->slot[i], b->overflow_docs, b->overflow_from);
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
