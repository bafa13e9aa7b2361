/* polysearch-client.h: libpolysearch-client, the C client of polysearchd.
 *
 * Talks MessagePack-RPC (docs/PROTOCOL.md) to a polysearchd over TCP
 * ("host:port", "[v6addr]:port") or a Unix socket ("unix:/path").  Every
 * reply is checked by the same frame scanner as the daemon uses (depth,
 * declared sizes, a maximum frame size) before it is unpacked.
 *
 * Threading: a psc_client is used by one thread at a time; different
 * clients are independent.  The library never installs signal handlers and
 * never raises SIGPIPE (it writes with MSG_NOSIGNAL).  EINTR is retried.
 *
 * Errors: every call returns a psc_status.  Output pointers are set to NULL
 * (or 0) on failure.  psc_last_error_code() / psc_last_error_message()
 * describe the last failure on a client: the daemon's error code and
 * message for PSC_ERR_SERVER, a local code otherwise ("connect", "timeout",
 * "io", "protocol", "invalid", "nomem").  After PSC_ERR_TIMEOUT, PSC_ERR_IO
 * or PSC_ERR_PROTOCOL the connection is unusable (later calls return
 * PSC_ERR_IO); close it and connect again.  PSC_ERR_SERVER leaves it usable.
 *
 * Pipelining: psc_send_*() writes a request and returns its msgid without
 * waiting; psc_recv_*() waits for the reply with that msgid.  Replies to
 * other msgids that arrive first are kept (up to the limit below) and handed
 * out by their own psc_recv_*() later, so replies may come in any order.
 * The synchronous calls (psc_search, psc_get, ...) are send + recv.
 *
 * Results use the plain one-block structs of ps_types.h: free a ps_results
 * with ps_results_free(), a ps_document with ps_document_free() and a
 * ps_notification with ps_notification_free().
 *
 * Notifications: after psc_subscribe(), the daemon pushes a notification
 * for each new matching document ([2, "match", ...]) and when some were
 * dropped ([2, "lagged", ...]).  They may arrive at any time, also while a
 * call waits for its reply: every call then keeps them, in order, in the
 * client's queue (up to PSC_MAX_NOTIFICATIONS), and psc_next_notification()
 * hands them out one by one.  None is lost or taken for a reply.
 */
#ifndef POLYSEARCH_CLIENT_H
#define POLYSEARCH_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "ps_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PSC_DEFAULT_ADDR "127.0.0.1:7117"
#define PSC_DEFAULT_PORT "7117"
#define PSC_DEFAULT_TIMEOUT_MS 10000
#define PSC_DEFAULT_MAX_REPLY (64u * 1024u * 1024u)
/* Most out-of-order replies kept while waiting for another msgid. */
#define PSC_MAX_PENDING 1024u

typedef enum psc_status {
    PSC_OK = 0,
    PSC_ERR_INVALID,        /* bad argument or address (nothing was sent) */
    PSC_ERR_CONNECT,        /* could not connect (refused, unreachable...) */
    PSC_ERR_TIMEOUT,        /* connect or call deadline passed */
    PSC_ERR_IO,             /* connection closed or broken */
    PSC_ERR_PROTOCOL,       /* reply too large, malformed or unexpected */
    PSC_ERR_SERVER,         /* the daemon answered with an error */
    PSC_ERR_NOMEM           /* allocation failure */
} psc_status;

typedef struct psc_client psc_client;

/* Returns the library version string ("0.1.0"); static.  Any thread. */
const char *psc_version(void);

/* Returns a static English text for a status.  Any thread. */
const char *psc_status_str(psc_status st);

/* Connects to `addr` ("host:port", "host" (port 7117), "[v6]:port" or
 * "unix:/path"); NULL means PSC_DEFAULT_ADDR.  Each resolved address is
 * tried in turn, each with connect_timeout_ms (<= 0: 10 s).  On success
 * returns PSC_OK and *out is a new client (caller owns; psc_close).  On
 * failure *out is NULL and, when err is not NULL, *err receives a malloc'd
 * one-line message (caller frees), e.g. "cannot connect to 127.0.0.1:7117:
 * Connection refused".  Returns PSC_ERR_INVALID for a malformed address,
 * PSC_ERR_TIMEOUT when the connect timed out, PSC_ERR_CONNECT otherwise.
 * Any thread. */
psc_status psc_connect(const char *addr, int connect_timeout_ms,
                       psc_client **out, char **err);

/* Closes the socket and frees the client and any kept replies.  NULL is
 * fine.  Owner thread. */
void psc_close(psc_client *c);

/* Sets the deadline of each later call (send + wait for the reply), in
 * milliseconds; <= 0 restores PSC_DEFAULT_TIMEOUT_MS.  Owner thread. */
void psc_set_timeout(psc_client *c, int timeout_ms);

/* Sets the largest reply frame accepted (0 restores 64 MiB).  A larger
 * reply fails with PSC_ERR_PROTOCOL before anything is unpacked.  Owner
 * thread. */
void psc_set_max_reply(psc_client *c, size_t max_bytes);

/* Code of the last failure on c: the daemon's code ("query_syntax",
 * "not_found", "busy", ...) after PSC_ERR_SERVER, otherwise a local code.
 * "" when the last call succeeded.  Valid until the next call on c.  Owner
 * thread. */
const char *psc_last_error_code(const psc_client *c);

/* Message of the last failure on c ("" after success).  Valid until the
 * next call on c.  Owner thread. */
const char *psc_last_error_message(const psc_client *c);

/* The socket descriptor (for poll() by a caller that pipelines); owned by
 * the client.  Owner thread. */
int psc_fd(const psc_client *c);

/* ---- Arguments and results -------------------------------------------- */

/* Arguments of a search.  Initialise with psc_search_args_init(), then set
 * what you need; unset optional fields are not sent (daemon defaults). */
typedef struct psc_search_args {
    const char *q;          /* required: the query text (UTF-8) */
    uint32_t offset;        /* 0 = first hit */
    uint32_t limit;         /* 0 = not sent (daemon default) */
    const char *lang;       /* language filter ("fr") or NULL */
    const char *sort;       /* "relevance", "date" or NULL */
    const char *date_from;  /* ISO 8601 or NULL */
    const char *date_to;    /* ISO 8601 or NULL */
    int snippet;            /* -1 = not sent, 0 = no snippets, 1 = snippets */
    int facets;             /* -1 = not sent, 0/1 */
    int spelling;           /* -1 = not sent, 0/1 */
    int synonyms;           /* -1 = not sent (daemon default: expanded),
                               0 = no synonym expansion, 1 */
} psc_search_args;

/* Fills a with defaults (q NULL, every optional field unset).  Any thread. */
void psc_search_args_init(psc_search_args *a);

/* A document to add: ps_doc_in of ps_types.h {id, title, body, lang, date,
 * url}.  id and body are required; the rest may be NULL (the daemon then
 * derives the title and detects the language). */
typedef ps_doc_in psc_doc;

/* A document the daemon refused in an add call. */
typedef struct psc_rejected {
    uint32_t index;         /* position in the docs array sent */
    const char *reason;
} psc_rejected;

/* Result of an add call: ONE malloc'd block; free with
 * psc_add_result_free(). */
typedef struct psc_add_result {
    uint64_t added;
    uint64_t replaced;
    uint64_t unchanged;
    uint32_t nrejected;
    psc_rejected *rejected;
} psc_add_result;

/* Frees an add result (NULL is fine).  Any thread. */
void psc_add_result_free(psc_add_result *r);

/* ---- Synchronous calls ------------------------------------------------- */

/* Runs a search.  On PSC_OK *out is a new results block (caller frees with
 * ps_results_free); otherwise *out is NULL.  Owner thread. */
psc_status psc_search(psc_client *c, const psc_search_args *a,
                      ps_results **out);

/* Fetches a stored document by id.  On PSC_OK *out is a new block (caller
 * frees with ps_document_free).  A missing id is PSC_ERR_SERVER with code
 * "not_found".  Owner thread. */
psc_status psc_get(psc_client *c, const char *id, ps_document **out);

/* Fetches the daemon's statistics as a JSON object text (caller frees with
 * free()).  Owner thread. */
psc_status psc_stats(psc_client *c, char **json_out);

/* Sends ping and checks that the answer is "pong".  Owner thread. */
psc_status psc_ping(psc_client *c);

/* Lists the daemon's synonym groups (docs/PROTOCOL.md, "synonyms"): all,
 * or the group of word (NULL: all), groups offset..offset+limit-1 (limit
 * 0: not sent, the daemon's max_limit).  On PSC_OK *json_out is the
 * result as a JSON object text {"total": N, "groups": [[...], ...]}
 * (caller frees with free()).  Owner thread. */
psc_status psc_synonyms(psc_client *c, const char *word, uint32_t offset,
                        uint32_t limit, char **json_out);

/* Adds or replaces n documents in one call.  On PSC_OK *out is a new block
 * (caller frees with psc_add_result_free).  Owner thread. */
psc_status psc_add(psc_client *c, const psc_doc *docs, size_t n,
                   psc_add_result **out);

/* Like psc_add(), with add's params map already packed by the caller:
 * params[0..len) is one MessagePack map such as {"docs": [...]}
 * (polysearch's own tools pack it with lib/wire/batch.h).  The library
 * sends the bytes as they are: the daemon checks them.  PSC_ERR_INVALID
 * when params is NULL or len is 0.  Owner thread. */
psc_status psc_add_packed(psc_client *c, const void *params, size_t len,
                          psc_add_result **out);

/* Deletes n documents by id.  On PSC_OK *deleted and *not_found (either
 * may be NULL) receive the daemon's counts.  Owner thread. */
psc_status psc_delete(psc_client *c, const char *const *ids, size_t n,
                      uint64_t *deleted, uint64_t *not_found);

/* ---- Access control (docs/PROTOCOL.md, "Access control") -------------- */

/* The role a daemon gives a connection; each includes the ones below. */
typedef enum psc_role {
    PSC_ROLE_NONE = 0,      /* no token: ping and auth only */
    PSC_ROLE_READ = 1,      /* search, get, stats, subscriptions */
    PSC_ROLE_WRITE = 2,     /* and add, delete */
    PSC_ROLE_ADMIN = 3      /* and reload; every call on a daemon without
                               --auth-token-file */
} psc_role;

/* Authenticates the connection: sends auth {token} and waits for the
 * answer (at most the call timeout).  On PSC_OK every later call on c has
 * the token's role, and *role (may be NULL) receives it (PSC_ROLE_ADMIN
 * from a daemon without tokens).  A new connection (psc_connect after a
 * failure) starts without a role: call psc_auth on it again.
 *
 * token (NUL-terminated, caller owns) is copied into the request only;
 * the library keeps no copy and wipes the request's buffer once sent.  It
 * never puts a token in an error message.
 *
 * Failures (*role = PSC_ROLE_NONE): PSC_ERR_INVALID when token is NULL or
 * empty (nothing sent); PSC_ERR_SERVER with the daemon's code:
 * "unauthorized" for a token the daemon does not know (answered after
 * about 1 s; the daemon then closes the connection, so later calls fail
 * with PSC_ERR_IO: close it), "bad_request", or "unknown_method" from a
 * polysearchd older than access control (which asks no token: c stays
 * usable with every call allowed); PSC_ERR_PROTOCOL when the answer is
 * not one of the roles above; the other statuses as for every call.
 *
 * On a daemon with tokens, every call except psc_ping needs a role: one
 * made without it fails with PSC_ERR_SERVER and code "unauthorized" (no
 * token on this connection), or "forbidden" (the token's role is too low;
 * the message names the role needed and the role held).  Both leave c
 * usable.  Owner thread. */
psc_status psc_auth(psc_client *c, const char *token, psc_role *role);

/* ---- Pipelined calls --------------------------------------------------- */

/* Each psc_send_* writes one request (waiting at most the call timeout for
 * the socket to accept it) and stores its msgid in *msgid.  Arguments are
 * copied into the request, so they may be freed at once.  Owner thread. */
psc_status psc_send_search(psc_client *c, const psc_search_args *a,
                           uint32_t *msgid);
psc_status psc_send_get(psc_client *c, const char *id, uint32_t *msgid);
psc_status psc_send_stats(psc_client *c, uint32_t *msgid);
psc_status psc_send_synonyms(psc_client *c, const char *word, uint32_t offset,
                             uint32_t limit, uint32_t *msgid);
psc_status psc_send_ping(psc_client *c, uint32_t *msgid);
psc_status psc_send_add(psc_client *c, const psc_doc *docs, size_t n,
                        uint32_t *msgid);
psc_status psc_send_add_packed(psc_client *c, const void *params,
                               size_t len, uint32_t *msgid);
psc_status psc_send_delete(psc_client *c, const char *const *ids, size_t n,
                           uint32_t *msgid);

/* Each psc_recv_* waits (at most the call timeout) for the reply to msgid
 * and decodes it like the synchronous call of the same name; outputs and
 * ownership are the same.  Replies to other msgids read meanwhile are kept
 * for their own psc_recv_*.  Owner thread. */
psc_status psc_recv_search(psc_client *c, uint32_t msgid, ps_results **out);
psc_status psc_recv_get(psc_client *c, uint32_t msgid, ps_document **out);
psc_status psc_recv_stats(psc_client *c, uint32_t msgid, char **json_out);
psc_status psc_recv_synonyms(psc_client *c, uint32_t msgid, char **json_out);
psc_status psc_recv_ping(psc_client *c, uint32_t msgid);
psc_status psc_recv_add(psc_client *c, uint32_t msgid, psc_add_result **out);
psc_status psc_recv_delete(psc_client *c, uint32_t msgid, uint64_t *deleted,
                           uint64_t *not_found);

/* ---- Subscriptions (docs/ALERTS.md) ------------------------------------ */

/* Most notifications kept unread per client.  Past it, new ones are
 * dropped and counted: psc_next_notification() then hands out, after the
 * kept ones, a lagged notification with subscription 0 and that count. */
#define PSC_MAX_NOTIFICATIONS 65536u

/* Arguments of a subscription.  Initialise with psc_subscribe_args_init();
 * unset optional fields are not sent. */
typedef struct psc_subscribe_args {
    const char *q;          /* the query (search's syntax); NULL is sent as
                               no q at all: only to attach a durable
                               subscription by name (with or without
                               resume) */
    const char *lang;       /* only documents of this language, or NULL */
    const char *date_from;  /* only documents dated on/after it, or NULL */
    const char *name;       /* label echoed in each match, or NULL (the
                               daemon uses q) */
    int durable;            /* -1 = not sent, 0/1: a subscription kept by
                               the daemon across connections (needs name) */
    int resume;             /* 1: send resume_from */
    uint64_t resume_from;   /* the last seq received: the daemon first sends
                               the matching documents changed after it
                               (any subscription; at most its resume_max,
                               then a lagged notification) */
} psc_subscribe_args;

/* Fills a with defaults (every field unset).  Any thread. */
void psc_subscribe_args_init(psc_subscribe_args *a);

/* Registers a subscription on this connection (method subscribe).  On
 * PSC_OK *subscription (may be NULL) is the daemon's id of it; on failure
 * 0.  The daemon's refusals are PSC_ERR_SERVER with its code
 * ("query_syntax", "bad_request" also for durable/resume_from on a daemon
 * that does not know them, "not_found" for a name without q that is no
 * durable subscription, "busy", "unavailable", "too_large", "io_error":
 * the daemon could not store a durable subscription).
 * PSC_ERR_INVALID when a is NULL, or both q and name are NULL.  Owner
 * thread. */
psc_status psc_subscribe(psc_client *c, const psc_subscribe_args *a,
                         uint64_t *subscription);

/* Removes one of this connection's subscriptions: no notification of it is
 * queued after PSC_OK (those received before stay in the queue).  An
 * unknown id is PSC_ERR_SERVER "not_found".  Owner thread. */
psc_status psc_unsubscribe(psc_client *c, uint64_t subscription);

/* Pipelined forms of the two calls above (see "Pipelined calls"). */
psc_status psc_send_subscribe(psc_client *c, const psc_subscribe_args *a,
                              uint32_t *msgid);
psc_status psc_recv_subscribe(psc_client *c, uint32_t msgid,
                              uint64_t *subscription);
psc_status psc_send_unsubscribe(psc_client *c, uint64_t subscription,
                                uint32_t *msgid);
psc_status psc_recv_unsubscribe(psc_client *c, uint32_t msgid);

/* Hands out the oldest notification received on c, waiting for one up to
 * timeout_ms (0: only what has arrived already, read without blocking;
 * < 0: no limit).  On PSC_OK *out is a new block (caller frees with
 * ps_notification_free), or NULL when none arrived in time: that is no
 * failure, the connection stays usable.  Replies to pipelined calls read
 * meanwhile are kept for their psc_recv_*.  Failures (connection closed:
 * PSC_ERR_IO; a malformed notification: PSC_ERR_PROTOCOL) leave *out NULL
 * and the connection unusable, as for the calls; notifications queued
 * before the failure are still handed out first.  EINTR is retried: to stop
 * on a signal, poll psc_fd() yourself and call this with timeout 0 (it
 * reads everything the socket holds).  Owner thread. */
psc_status psc_next_notification(psc_client *c, int timeout_ms,
                                 ps_notification **out);

/* Number of notifications waiting in c's queue (what
 * psc_next_notification(c, 0, ...) would hand out without reading the
 * socket).  Owner thread. */
size_t psc_pending_notifications(const psc_client *c);

#ifdef __cplusplus
}
#endif
#endif
