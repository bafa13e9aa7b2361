/* access.h: access control of polysearchd (docs/PROTOCOL.md, "Access
 * control"): which role each method needs, the token checks of both
 * front ends (conn.c for MessagePack-RPC, http.c for HTTP), the delayed
 * answer of a wrong token, the start-up refusal of an exposed listener
 * without tokens, and the admin method reload.  The tokens themselves
 * are auth.h.  Every function here runs on the I/O thread unless noted.
 *
 * Without --auth-token-file (s->tokens NULL) every request may do
 * everything and tokens are ignored.  With it, a request has the role
 * of the token it carries (MessagePack: a "token" argument; HTTP:
 * "Authorization: Bearer TOKEN"), else its connection's (MessagePack:
 * set by a successful auth call), else none.  A wrong token is a failed
 * attempt: counted (s->auth_failures), answered unauthorized only after
 * ACCESS_FAIL_DELAY_MS (a timer: nothing waits), and its connection is
 * closed after that answer, so one connection tries at most one token
 * per delay.
 */
#ifndef SEARCHD_ACCESS_H
#define SEARCHD_ACCESS_H

#include <msgpack.h>

#include "auth.h"
#include "config.h"
#include "job.h"
#include "server.h"

struct evhttp_request;
struct method;

#define ACCESS_FAIL_DELAY_MS 1000u

/* The role the RPC method named name needs: AUTH_NONE for ping and auth
 * (and for NULL: a route answered on the I/O thread, /healthz),
 * AUTH_READ for search, get, stats, subscribe, unsubscribe and
 * subscriptions, AUTH_WRITE for add and delete, AUTH_ADMIN for reload and
 * for any method not listed (so a new method is closed until it is
 * classified here).  Any thread. */
auth_role access_method_role(const char *name);

/* The start-up check: refuses (returns EX_CONFIG after an error line on
 * the log naming the address and the three ways out) when a --listen or
 * --http address is not loopback (127.0.0.0/8, ::1, ::ffff:127.x) while
 * writes are enabled (no --read-only) and no --auth-token-file is given.
 * Returns -1 to go on.  Unparsable addresses are left to the listeners.
 * Main thread, before anything is opened. */
int access_check_exposure(const searchd_config *c);

/* Loads --auth-token-file into s->tokens (nothing without it).  Returns
 * -1 to go on, or an exit status (auth_tokens_load's) after logging why,
 * never quoting a token.  Main thread, at start. */
int access_open(server *s);

/* The role a new MessagePack-RPC connection starts with: AUTH_ADMIN
 * without tokens (everything allowed), else AUTH_NONE. */
auth_role access_conn_role(const server *s);

/* Checks a MessagePack-RPC request of method me on a connection whose
 * role is *conn_role.  params are the request's params; *out receives
 * them without the "token" argument (a copy in j's zone when one was
 * removed), to hand to the method's parse.  j->role and j->principal
 * (the token's owner id, auth.h) are the call's token's, else the
 * connection's (*conn_role, conn_principal: AUTH_OWNER_LEN + 1 bytes);
 * for the auth method a good token also sets those two.  Without access
 * control j->role is admin and j->principal "".  Returns -1 when the request may go
 * on, else a searchd_err with j->errmsg set; *failed is set to 1 for a
 * wrong token (the caller delays the answer with access_delay and closes
 * the connection after it). */
int access_rpc(server *s, auth_role *conn_role, char *conn_principal,
               const struct method *me,
               const msgpack_object *params, job *j, msgpack_object *out,
               int *failed);

/* Checks an HTTP request for a route running the RPC method rpc (NULL:
 * answered on the I/O thread).  A token in the query string ("token",
 * "access_token", "api_key", any case) is refused as bad_request and
 * never used.  On unauthorized, adds "WWW-Authenticate: Bearer ..." to
 * req's output headers (and "Connection: close" after a wrong token); on
 * forbidden, the insufficient_scope form.  Returns -1 when the request
 * may go on, else a searchd_err with j->errmsg set; *failed as for
 * access_rpc. */
int access_http(server *s, struct evhttp_request *req, const char *rpc,
                job *j, int *failed);

/* Holds the refused job j (j->err set) for ACCESS_FAIL_DELAY_MS, then
 * hands it back as a finished job (conn_job_back): a timer event, so the
 * I/O thread serves everyone else meanwhile.  The caller counts j as
 * pending (a connection's c->pending, or s->http_pending) exactly as for
 * a job sent to a worker.  Returns 0, or -1 when no timer could be made
 * (answer j now). */
int access_delay(server *s, job *j);

/* Frees the jobs still held by access_delay (forced exit) and the
 * tokens.  After the loop ended, before event_base_free. */
void access_free(server *s);

/* The auth method's finish step: packs the role granted (a string). */
int access_auth_finish(job *j, msgpack_packer *pk, server *s);

/* The admin method reload {}: re-reads --auth-token-file (on failure the
 * old tokens stay and the answer is unavailable, naming the problem) and
 * makes every worker reopen the database, as SIGHUP does.  io step of the
 * method table (returns -1 or a searchd_err with j->errmsg). */
int access_reload_io(job *j, server *s);

/* reload's finish step: packs {tokens: N}. */
int access_reload_finish(job *j, msgpack_packer *pk, server *s);

/* Re-reads --auth-token-file into s->tokens (SIGHUP, reload).  Returns 0
 * (also without a token file: nothing to do), or -1 with a message in
 * err[0..errlen) and the old tokens kept. */
int access_reload(server *s, char *err, size_t errlen);

#endif
