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

/* Value of a string key in a msgpack map, or NULL. */
const msgpack_object *psci_map_get(const msgpack_object *m, const char *key);

#endif
