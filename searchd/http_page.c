/* http_page.c: the search page and its assets, embedded (http_page.h). */
#include "http_page.h"

#include <string.h>

/* The page's routes and the files they serve. */
static const struct {
    const char *path, *file, *type;
} pages[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/style.css", "style.css", "text/css; charset=utf-8"},
};

static const http_asset *asset_named(const char *name)
{
    for (size_t i = 0; i < http_nassets; i++)
        if (strcmp(http_assets[i].name, name) == 0) return &http_assets[i];
    return NULL;
}

/* Whether the If-None-Match value inm names etag (a list of quoted tags,
 * weak ones W/"..." included, or "*"). */
static int etag_matches(const char *inm, const char *etag)
{
    if (!inm) return 0;
    while (*inm == ' ') inm++;
    if (strcmp(inm, "*") == 0) return 1;
    return strstr(inm, etag) != NULL;
}

int http_page_reply(struct evhttp_request *req, const char *path,
                    struct evbuffer *out, const char **type)
{
    const http_asset *a = NULL;
    for (size_t i = 0; i < sizeof pages / sizeof pages[0] && !a; i++)
        if (strcmp(pages[i].path, path) == 0) {
            a = asset_named(pages[i].file);
            *type = pages[i].type;
        }
    if (!a) {
        *type = "text/plain; charset=utf-8";
        evbuffer_add_printf(out, "not found\n");
        return 404;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "ETag", a->etag);
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "Content-Security-Policy", HTTP_PAGE_CSP);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(req),
                                         "If-None-Match");
    if (etag_matches(inm, a->etag)) return 304;
    if (evbuffer_add_reference(out, a->data, a->len, NULL, NULL) != 0) {
        *type = "text/plain; charset=utf-8";
        evbuffer_add_printf(out, "out of memory\n");
        return 500;
    }
    return 200;
}
