/* http.h: the HTTP/JSON front end of polysearchd (docs/HTTP.md): libevent's
 * evhttp on the I/O thread's event base, JSON with jansson.  A request
 * becomes the job of the MessagePack-RPC method it names (its arguments
 * built by http_args.c and checked by the method's own parse step), runs
 * on the same workers or writer under the same limits, and its result is
 * turned into JSON in one place (jsonmp.h).  Every function here runs on
 * the I/O thread.
 */
#ifndef SEARCHD_HTTP_H
#define SEARCHD_HTTP_H

#include "server.h"

/* Opens every --http address (evhttp over listener_bind_tcp) and writes
 * --http-port-file.  Nothing without --http.  Returns 0, or an exit
 * status as listeners_open after logging why.  Before the loop runs. */
int http_open(server *s);

/* Stops accepting HTTP connections (SIGTERM); requests already read are
 * still answered, and every /watch stream is ended (http_watch.h).
 * Idempotent; nothing without --http. */
void http_stop_accepting(server *s);

/* Frees evhttp, its connections and the front end (NULL s->http is
 * fine).  After the event loop ended and after workers_destroy and
 * writer_destroy (jobs still out then are freed with them; their HTTP
 * requests are dropped with their connections here). */
void http_free(server *s);

#endif
