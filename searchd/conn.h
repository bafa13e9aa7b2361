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

/* Drains the workers' done queue and answers each job.  I/O thread (the
 * done event's callback). */
void conn_done_cb(evutil_socket_t fd, short what, void *arg);

/* Starts a graceful shutdown: no more reading; connections close once
 * their in-flight requests are answered and flushed.  Calls
 * event_base_loopexit when none is left.  I/O thread. */
void conn_shutdown_all(server *s);

/* Frees every connection immediately (forced exit).  I/O thread, after
 * the loop ended and the workers were destroyed. */
void conn_free_all(server *s);

#endif
