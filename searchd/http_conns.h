/* http_conns.h: the HTTP connections, as far as libevent 2.1's evhttp
 * lets us see them.
 *
 * evhttp 2.1 has no connection limit and only an inactivity timeout
 * (reset by every byte, so a client sending one byte a second would hold
 * a connection forever).  To apply --max-clients and the --deadline of a
 * request's first byte as on the MessagePack-RPC listeners, every
 * connection's bufferevent is made here (evhttp_set_bevcb) and tracked:
 * a callback on its input buffer notes the first byte of each request,
 * http_conns_request notes its end, and a periodic sweep shuts down
 * (shutdown(2): evhttp then sees EOF and frees the connection) any
 * connection whose request is still incomplete at its deadline.  We hold
 * a reference on each bufferevent, so the sweep can tell when evhttp has
 * freed it (bufferevent_free clears its callbacks; evhttp never clears
 * the event callback of a live incoming connection) and only then drops
 * ours, which closes the socket: a closed connection's descriptor lives
 * at most one sweep period longer.  I/O thread only.
 */
#ifndef SEARCHD_HTTP_CONNS_H
#define SEARCHD_HTTP_CONNS_H

#include <stdint.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "server.h"

typedef struct http_conns http_conns;

/* Returns the tracker of s's HTTP connections (s->http_nconns counts
 * them) with its sweep timer armed, or NULL (out of memory).  I/O
 * thread. */
http_conns *http_conns_new(server *s);

/* For evhttp_set_bevcb (arg: the http_conns): a new connection's
 * bufferevent, tracked.  Returns NULL on allocation failure (evhttp then
 * makes an untracked one).  I/O thread. */
struct bufferevent *http_conns_bevcb(struct event_base *base, void *arg);

/* A complete request req arrived: returns the time of its first byte
 * (now when unknown), and sets *over when its connection was accepted
 * beyond --max-clients (answer busy and close it).  The connection's
 * deadline is off until its next request's first byte.  I/O thread. */
uint64_t http_conns_request(http_conns *hc, struct evhttp_request *req,
                            int *over);

/* Drops every reference (the connections themselves must be freed first:
 * evhttp_free) and frees the tracker (NULL is fine).  I/O thread. */
void http_conns_free(http_conns *hc);

#endif
