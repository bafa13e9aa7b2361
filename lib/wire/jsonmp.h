/* jsonmp.h: JSON values (jansson) to MessagePack objects and back.
 *
 * polysearchd's HTTP/JSON front end (searchd/http.c) turns a request into
 * the same named arguments the MessagePack-RPC methods parse, and their
 * MessagePack results into JSON, through these two functions only: the
 * two protocols share every check and every result field.
 */
#ifndef PS_JSONMP_H
#define PS_JSONMP_H

#include <jansson.h>
#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Converts the JSON value j into *out: an object becomes a map (str
 * keys), an array an array, a string str (its bytes, NUL bytes
 * included), an integer a positive or negative integer, a real float64,
 * true/false boolean, null nil.  The arrays and maps are allocated in
 * zone (freed with it); strings and keys point into j, which must outlive
 * *out.  Nesting deeper than max_depth (a scalar is depth 0, [1] is 1)
 * fails.  Returns 0, or -1 (depth, or zone out of memory; *out is then
 * meaningless).  Any thread (j, zone and out are the caller's). */
int ps_json_to_msgpack(json_t *j, msgpack_zone *zone, unsigned max_depth,
                       msgpack_object *out);

/* Converts the MessagePack object o into a new JSON value (the caller owns
 * the reference: json_decref): str and bin -> string (must be valid
 * UTF-8; a NUL byte is kept, written \u0000), positive and
 * negative integers -> integer (above INT64_MAX: real), float32/64 ->
 * real, boolean, nil -> null, array, map (its keys must be str).  Returns
 * NULL when o holds invalid UTF-8, a non-string key, NaN or infinity, an
 * ext value, nests deeper than 64, or memory runs out.  Any thread. */
json_t *ps_msgpack_to_json(const msgpack_object *o);

#ifdef __cplusplus
}
#endif
#endif
