/* http_page.h: the search page (GET /, /app.js, /style.css; docs/HTTP.md,
 * "The search page").  Its files live in web/ and are compiled into the
 * daemon (web/embed.cmake writes them as C arrays at build time), so it
 * needs no file, no network and no other program at run time.  Every
 * answer carries an ETag (If-None-Match: 304), Cache-Control: no-cache
 * (revalidated, so a new daemon's page is never stale) and a strict
 * Content-Security-Policy: the page runs its own script only, and talks
 * only to its own origin.
 */
#ifndef SEARCHD_HTTP_PAGE_H
#define SEARCHD_HTTP_PAGE_H

#include <stddef.h>
#include <event2/buffer.h>
#include <event2/http.h>

/* One embedded file (the generated web_assets.c defines the table). */
typedef struct http_asset {
    const char *name;           /* its name under web/ */
    const unsigned char *data;
    size_t len;
    const char *etag;           /* quoted, as sent */
} http_asset;

extern const http_asset http_assets[];
extern const size_t http_nassets;

/* The Content-Security-Policy of the page. */
#define HTTP_PAGE_CSP "default-src 'self'; script-src 'self'; " \
    "style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
    "object-src 'none'; base-uri 'none'; form-action 'self'; " \
    "frame-ancestors 'none'"

/* Answers GET or HEAD of path (a route of the page: "/", "/app.js",
 * "/style.css"): adds the headers to req, puts the file into out (by
 * reference: the bytes are static) and its type into *type, and returns
 * 200; or 304 with nothing in out when If-None-Match names its ETag; or
 * 404 with a plain text body for another path.  I/O thread. */
int http_page_reply(struct evhttp_request *req, const char *path,
                    struct evbuffer *out, const char **type);

#endif
