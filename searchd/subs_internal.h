/* subs_internal.h: what the I/O thread's subscription files share
 * (subs.c the registry, owners and delivery; subs_methods.c the
 * methods subscribe, unsubscribe and subscriptions; subs_durable.c the
 * durable subscriptions' store).  Not for other files: they use subs.h.
 * Everything here runs on the I/O thread.
 */
#ifndef SEARCHD_SUBS_INTERNAL_H
#define SEARCHD_SUBS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "subs.h"
#include "substore.h"

typedef struct sub {
    uint64_t id;
    subs_owner *owner;
    char *name, *q, *lang, *date_from;
    uint64_t dropped;           /* notifications dropped since the last
                                   lagged notification: while not 0, every
                                   notification of the subscription is
                                   dropped, so none comes after the gap
                                   before the lagged one */
    uint64_t gap_from;          /* while dropped: the seq before the first
                                   one dropped (UINT64_MAX: unknown), the
                                   lagged notification's resume_from */
    int durable;                /* in the store (substore.h) under name */
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
    substore store;             /* the durable subscriptions */
};

/* ---- subs.c ---- */

/* The subscription id, or NULL. */
sub *subs_reg_find(const subs_registry *r, uint64_t id);

/* The subscription attached to the durable subscription name, or
 * NULL. */
sub *subs_reg_find_durable(const subs_registry *r, const char *name);

/* Takes s (its id the registry's next, its fields set): into the registry
 * and at the head of the owner's list *scp (made when NULL).  Returns
 * 0, or -1 on allocation failure (s not taken). */
int subs_add(subs_registry *r, sub_conn **scp, sub *s);

/* Frees s and its strings (not linked anywhere). */
void subs_sub_free(sub *s);

/* Unlinks s from its owner's list and the registry, tells the
 * matcher, frees it (a durable one stays in the store). */
void subs_drop(server *srv, sub_conn *sc, sub *s);

/* ---- subs_durable.c ---- */

/* The durable side of subscribe's I/O step: a name in the store attaches
 * that subscription (its query into j->q; the one given, if any, must be
 * the same), taking it over from an owner that holds it; durable:
 * true with a new name stores it (j->durable 2).  Returns -1 to go on, or
 * an error code with j->errmsg. */
int subs_durable_attach(job *j, server *srv);

/* A durable subscription this job created (j->durable 2) leaves the
 * store again: the subscribe failed. */
void subs_durable_unstore_new(server *srv, job *j);

/* unsubscribe of s: a durable one leaves the store.  Returns 0, or -1
 * with the reason in err (the store could not be written: it stays). */
int subs_durable_remove(server *srv, const sub *s, char *err, size_t errlen);

/* unsubscribe {name}: the durable subscription j->name leaves the store
 * (with access control only for the token that stored it, or an admin)
 * and the owner holding it, if any, drops it (told through taken).
 * Returns -1 when removed, or an error code with j->errmsg: not_found,
 * forbidden, io_error (the store could not be written: nothing
 * changed). */
int subs_durable_remove_named(job *j, server *srv);

#endif
