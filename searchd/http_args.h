/* http_args.h: an HTTP request's query string and JSON body turned into
 * the named arguments of a MessagePack-RPC method (params = [ {map} ]),
 * so that the method's own parse step (methods.c) checks them: the two
 * protocols share every rule and every error message.  Pure functions
 * over a msgpack_zone; no I/O.
 */
#ifndef SEARCHD_HTTP_ARGS_H
#define SEARCHD_HTTP_ARGS_H

#include <stddef.h>
#include <jansson.h>
#include <msgpack.h>

/* The query string has no types: the parameters listed here are sent as
 * an unsigned integer (digits only) or a boolean (true/false/1/0) when
 * their text is one; any other text, and every other parameter, goes as a
 * string, so the method's parse names the wrong type. */
typedef enum http_ptype { HTTP_P_UINT, HTTP_P_BOOL } http_ptype;
typedef struct http_param_type {
    const char *name;
    http_ptype type;
} http_param_type;

/* The parameters of GET /search typed as above (the rest are strings). */
extern const http_param_type http_search_types[];
extern const size_t http_search_ntypes;
/* The same for GET /synonyms (word is a string). */
extern const http_param_type http_synonyms_types[];
extern const size_t http_synonyms_ntypes;

/* The same for GET /watch (subscribe's durable, resume_from, synonyms). */
extern const http_param_type http_watch_types[];
extern const size_t http_watch_ntypes;

/* Makes *params = [ {nkeys entries} ] in zone, entries zeroed (nil keys
 * and values: fill them with http_params_set).  Returns 0 or -1 (out of
 * memory).  Any thread. */
int http_params_new(msgpack_zone *zone, unsigned nkeys, msgpack_object *params);

/* Sets entry i of params (from http_params_new) to key (a static or zone
 * string) and val.  Any thread. */
void http_params_set(msgpack_object *params, unsigned i, const char *key,
                     const msgpack_object *val);

/* Appends key (a static or zone string) = val to params (from
 * http_params_new or http_query_params), the map copied into zone with
 * one entry more.  Returns 0 or -1 (out of memory).  Any thread. */
int http_params_add(msgpack_zone *zone, msgpack_object *params, const char *key,
                    const msgpack_object *val);

/* A str object over s[0..len) (not copied). */
msgpack_object http_str(const char *s, size_t len);

/* Builds *params from the query string query (NULL or "" = no
 * arguments; percent-encoded, '+' a space, split by libevent's
 * evhttp_parse_query_str) with types for the typed ones; the keys and
 * values are copied into zone.  Returns 0, or -1 with a message in err
 * (malformed query string, %00 anywhere: a NUL byte cannot be carried,
 * out of memory).  Any thread. */
int http_query_params(const char *query, const http_param_type *types,
                      size_t ntypes, msgpack_zone *zone,
                      msgpack_object *params, char *err, size_t errlen);

/* Parses the body of POST /docs (body[0..len), not NUL-terminated) into
 * an array of documents: ndjson = 0: one JSON value (an array is the
 * list of documents, anything else one document); ndjson = 1: one JSON
 * value per non-blank line.  Each value is converted with
 * ps_json_to_msgpack (max_depth deep at most, counting the document as 1)
 * into *docs, whose strings point into the JSON values appended to *keep
 * (a JSON array the caller creates and json_decref's once *docs is no
 * longer used).  A value that is not an object stays in the list: add
 * rejects it by its index.  JSON strings may hold \u0000 (the document
 * rules then reject that document).  Returns 0, or -1 with a message in
 * err (invalid JSON or UTF-8, naming the line for ndjson; too deep; out
 * of memory).  Any thread. */
int http_docs_from_body(const char *body, size_t len, int ndjson,
                        unsigned max_depth, msgpack_zone *zone, json_t *keep,
                        msgpack_object *docs, char *err, size_t errlen);

#endif
