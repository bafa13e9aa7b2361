/* http_watch.h: GET /watch, the matches of one saved query as a stream of
 * Server-Sent Events (docs/HTTP.md, "/watch").
 *
 * A stream is a subscription of the alert thread like those of the
 * MessagePack-RPC subscribe method (subs.h), with the stream as its owner
 * instead of a connection: the route runs subscribe's parse and io steps
 * (so its limits, --max-subscriptions and the rest, and its errors), and
 * once the alert thread accepted the query the request becomes an
 * evhttp chunked reply of text/event-stream.  Each "match" or "lagged"
 * notification becomes one event (id: the match's seq; data: the
 * notification's map as JSON), a comment line keeps the connection alive
 * every min(15 s, --idle-timeout / 2), and the subscription is removed
 * when the client goes away or the daemon stops.  Every function here
 * runs on the I/O thread.
 */
#ifndef SEARCHD_HTTP_WATCH_H
#define SEARCHD_HTTP_WATCH_H

#include <event2/http.h>

#include "job.h"
#include "server.h"

typedef struct http_watches http_watches;

/* Returns the set of s's streams (none yet), or NULL on allocation
 * failure. */
http_watches *http_watch_new(server *s);

/* Gives the subscribe job j a new stream as its subscriptions' owner
 * (j->owner, j->gone; the stream is j's payload, freed with it until
 * http_watch_start takes it).  Before subscribe's io step.  Returns -1,
 * or ERR_INTERNAL with j->errmsg set. */
int http_watch_prepare(http_watches *ws, job *j);

/* The subscribe job j succeeded: answers req with 200 and starts its
 * event stream, which takes j's stream and req (j is the caller's to
 * free).  When the client left meanwhile, or for HEAD, the subscription
 * is dropped and req finished at once. */
void http_watch_start(http_watches *ws, job *j, struct evhttp_request *req);

/* Number of streams open now. */
unsigned http_watch_count(const http_watches *ws);

/* Ends every stream (the daemon stops): each reply is finished and its
 * subscription removed.  Idempotent. */
void http_watch_end_all(http_watches *ws);

/* Frees the set (NULL is fine).  After evhttp_free (which closes the
 * streams still open, removing their subscriptions). */
void http_watch_free(http_watches *ws);

#endif
