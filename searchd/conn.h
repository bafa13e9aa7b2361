/* conn.h: one client connection on the I/O thread: a bufferevent, the
 * frame scanner, dispatch to the methods, replies, deadlines and
 * back-pressure.  Every function here runs on the I/O thread.  The
 * connection states (enum conn_state) and their transitions are listed at
 * the top of conn.c.
 */
#ifndef SEARCHD_CONN_H
#define SEARCHD_CONN_H

#include <event2/util.h>

#include "server.h"

/* Takes ownership of an accepted socket (non-blocking).  Over max_clients
 * it answers a busy error with msgid 0 and closes it.  I/O thread. */
void conn_accept(server *s, evutil_socket_t fd);

/* Hands a parsed job to the thread that runs it: the writer for a write
 * method (unavailable with --read-only, busy past --write-queue), a
 * worker for one with an exec step (busy past --queue).  Returns 0 when
 * queued (that thread owns j until it comes back through the done event),
 * or -1 when the caller must answer j now: with j->err set, or a success
 * for a method answered on the I/O thread (no exec step).  Shared by
 * every front end (MessagePack-RPC here, HTTP in http.c).  I/O thread. */
int conn_submit_job(server *s, job *j);

/* Ends the event loop when the daemon is shutting down and nothing is
 * left: no connection struct alive and no HTTP request waiting for its
 * job.  I/O thread. */
void conn_maybe_exit(server *s);

/* Drains the workers' done queue and answers each job.  I/O thread (the
 * done event's callback). */
void conn_done_cb(evutil_socket_t fd, short what, void *arg);

/* Takes back one finished job (from a worker, the writer, the alert
 * thread, or a delayed refusal of access.h): hands it to its front end's
 * done hook (HTTP), delivers it (notifications), or answers it on its
 * connection (dropped when the client went away) and frees it.  I/O
 * thread. */
void conn_job_back(server *s, job *j);

/* Starts a graceful shutdown: no more reading; connections close once
 * their in-flight requests are answered and flushed.  Calls
 * event_base_loopexit when none is left.  I/O thread. */
void conn_shutdown_all(server *s);

/* Frees every connection immediately (forced exit).  I/O thread, after
 * the loop ended and the workers were destroyed. */
void conn_free_all(server *s);

#endif
