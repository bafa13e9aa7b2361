/* client_internal.h: helpers shared by client.c (connection and I/O) and
 * calls.c (method encoding and decoding).  Not installed.
 */
#ifndef PSC_CLIENT_INTERNAL_H
#define PSC_CLIENT_INTERNAL_H

#include <msgpack.h>

#include "polysearch-client.h"
#include "rpc.h"

/* A received reply: the decoded message points into frame. */
typedef struct psc_reply {
    char *frame;
    ps_rpc_msg msg;
} psc_reply;

/* Returns the next request msgid (never 0).  Owner thread. */
uint32_t psci_next_msgid(psc_client *c);

/* Clears the last error of c.  Owner thread. */
void psci_clear_error(psc_client *c);

/* Records a failure (code, message) on c and returns st. */
psc_status psci_fail(psc_client *c, psc_status st, const char *code,
                     const char *msg);

/* Sends a packed request; sets *msgid_out = msgid on success. */
psc_status psci_send_packed(psc_client *c, const msgpack_sbuffer *sb,
                            uint32_t msgid, uint32_t *msgid_out);

/* Waits for the reply to msgid.  PSC_OK: *rep holds a success reply
 * (caller calls psci_reply_free).  PSC_ERR_SERVER: the daemon's code and
 * message are recorded on c and nothing is left in *rep. */
psc_status psci_recv_reply(psc_client *c, uint32_t msgid, psc_reply *rep);

/* Frees a reply taken by psci_recv_reply (zeroed struct is fine). */
void psci_reply_free(psc_reply *rep);

/* Notifications received and not yet handed out: a ring of decoded
 * entries, oldest first, at most PSC_MAX_NOTIFICATIONS; the ones that did
 * not fit are counted in `dropped` (notify.c). */
typedef struct psci_nqueue {
    ps_notification **v;
    size_t head, n, cap;
    uint64_t dropped;
} psci_nqueue;

/* Decodes every entry of a notification message (match or lagged; other
 * methods are skipped) and appends them to q.  PSC_OK, or a protocol
 * error (a malformed entry) or PSC_ERR_NOMEM recorded on c. */
psc_status psci_notify_keep(psc_client *c, psci_nqueue *q,
                            const ps_rpc_msg *msg);

/* Frees every queued notification and the ring (q stays valid, empty). */
void psci_nqueue_clear(psci_nqueue *q);

/* The notification queue of c. */
psci_nqueue *psci_nqueue_of(psc_client *c);

/* Reads one message before deadline (ms of psci_now_ms): a notification
 * goes to the queue, a reply is kept for its psci_recv_reply.  A deadline
 * passing sets *timed_out = 1 and returns PSC_OK (the connection stays
 * usable); failures are recorded on c as by the calls. */
psc_status psci_pump(psc_client *c, int64_t deadline, int *timed_out);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t psci_now_ms(void);

/* Value of a string key in a msgpack map, or NULL. */
const msgpack_object *psci_map_get(const msgpack_object *m, const char *key);

#endif
