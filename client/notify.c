/* notify.c: the notifications of libpolysearch-client: the queue that
 * keeps them while calls wait for their replies, and
 * psc_next_notification().  Contracts are in polysearch-client.h; the
 * decoding of each entry is lib/wire/unpack.c's.
 */
#include "polysearch-client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "rpc.h"

void psci_nqueue_clear(psci_nqueue *q)
{
    for (size_t i = 0; i < q->n; i++)
        ps_notification_free(q->v[(q->head + i) % q->cap]);
    free(q->v);
    memset(q, 0, sizeof *q);
}

/* Appends n (taken) to q; when q is full or cannot grow, n is freed and
 * counted as dropped. */
static void nqueue_push(psci_nqueue *q, ps_notification *n)
{
    if (q->n == q->cap && q->cap < PSC_MAX_NOTIFICATIONS) {
        size_t ncap = q->cap ? q->cap * 2 : 16;
        if (ncap > PSC_MAX_NOTIFICATIONS)
            ncap = PSC_MAX_NOTIFICATIONS;
        ps_notification **nv = malloc(ncap * sizeof *nv);
        if (nv != NULL) {
            for (size_t i = 0; i < q->n; i++)
                nv[i] = q->v[(q->head + i) % q->cap];
            free(q->v);
            q->v = nv;
            q->cap = ncap;
            q->head = 0;
        }
    }
    if (q->n == q->cap) {
        ps_notification_free(n);
        q->dropped++;
        return;
    }
    q->v[(q->head + q->n) % q->cap] = n;
    q->n++;
}

/* Removes and returns the oldest notification of q, then (once q is empty)
 * the lagged one accounting for the drops; NULL when there is none. */
static ps_notification *nqueue_pop(psci_nqueue *q)
{
    if (q->n > 0) {
        ps_notification *n = q->v[q->head];
        q->head = (q->head + 1) % q->cap;
        q->n--;
        return n;
    }
    if (q->dropped == 0)
        return NULL;
    ps_notification *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->kind = PS_NOTIFY_LAGGED;
    n->subscription = 0;
    n->dropped = q->dropped;
    q->dropped = 0;
    return n;
}

/* Whether the method of msg is `name`. */
static int method_is(const ps_rpc_msg *msg, const char *name)
{
    size_t n = strlen(name);
    return msg->method_len == n && memcmp(msg->method, name, n) == 0;
}

psc_status psci_notify_keep(psc_client *c, psci_nqueue *q,
                            const ps_rpc_msg *msg)
{
    ps_notification_kind kind;
    if (method_is(msg, "match"))
        kind = PS_NOTIFY_MATCH;
    else if (method_is(msg, "lagged"))
        kind = PS_NOTIFY_LAGGED;
    else
        return PSC_OK; /* a notification this library does not know */
    const msgpack_object *p = &msg->params;
    if (p->type != MSGPACK_OBJECT_ARRAY)
        return psci_fail(c, PSC_ERR_PROTOCOL, "protocol",
                         "malformed notification: params is not an array");
    for (uint32_t i = 0; i < p->via.array.size; i++) {
        const char *why = NULL;
        ps_notification *n = ps_rpc_unpack_notification(
            kind, &p->via.array.ptr[i], &why);
        if (n == NULL) {
            char m[200];
            snprintf(m, sizeof m, "malformed %s notification: %s",
                     kind == PS_NOTIFY_MATCH ? "match" : "lagged",
                     why ? why : "?");
            if (why && !strcmp(why, "out of memory"))
                return psci_fail(c, PSC_ERR_NOMEM, "nomem", m);
            return psci_fail(c, PSC_ERR_PROTOCOL, "protocol", m);
        }
        nqueue_push(q, n);
    }
    return PSC_OK;
}

psc_status psc_next_notification(psc_client *c, int timeout_ms,
                                 ps_notification **out)
{
    *out = NULL;
    if (c == NULL)
        return PSC_ERR_INVALID;
    psci_clear_error(c);
    psci_nqueue *q = psci_nqueue_of(c);
    int64_t deadline = timeout_ms < 0 ? INT64_MAX / 2
                                      : psci_now_ms() + timeout_ms;
    for (;;) {
        if (q->n > 0 || q->dropped > 0) {
            *out = nqueue_pop(q);
            if (*out == NULL)
                return psci_fail(c, PSC_ERR_NOMEM, "nomem", "out of memory");
            return PSC_OK;
        }
        int timed_out = 0;
        psc_status st = psci_pump(c, deadline, &timed_out);
        if (st != PSC_OK)
            return st;
        if (timed_out)
            return PSC_OK;
    }
}

size_t psc_pending_notifications(const psc_client *c)
{
    if (c == NULL)
        return 0;
    const psci_nqueue *q = psci_nqueue_of((psc_client *)c);
    return q->n + (q->dropped > 0);
}
