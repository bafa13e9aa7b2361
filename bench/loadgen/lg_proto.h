/* lg_proto.h: the wire protocols ps-loadgen speaks: polysearchd's
 * MessagePack-RPC and Sphinx's SphinxQL (MySQL client/server protocol).
 * A protocol keeps per-connection state in an opaque block of
 * `state_size` bytes (zeroed by the caller before on_connect).  All
 * functions are called by the one event-loop thread.
 */
#ifndef LG_PROTO_H
#define LG_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "lg_buf.h"

/* Results of lg_proto.parse. */
enum {
    LG_P_ERROR = -1,    /* protocol violation: close the connection */
    LG_P_NEED_MORE = 0, /* nothing complete in the input yet */
    LG_P_REPLY = 1,     /* *reply filled (one request answered) */
    LG_P_READY = 2,     /* handshake done: requests may be sent */
    LG_P_AGAIN = 3      /* consumed something; call again */
};

typedef struct lg_reply {
    uint32_t msgid;     /* id of the answered request (SphinxQL: in order) */
    int is_error;       /* the server answered with an error */
    uint32_t hits;      /* rows / hits returned (<= limit) */
    char error[96];     /* error code or message when is_error */
} lg_reply;

typedef struct lg_proto {
    const char *name;
    size_t state_size;
    int max_depth;      /* largest allowed pipelining depth */
    /* Called once connected.  Returns 1 when requests may be sent at
     * once, 0 when a handshake must complete first (parse then returns
     * LG_P_READY), -1 on error. */
    int (*on_connect)(void *st, lg_buf *out);
    /* Appends one search request for query q (limit rows) with id msgid
     * to out; snippet: -1 server default, 0 off, 1 on (msgpack only).
     * Returns 0 or -1 (out of memory / query too long). */
    int (*encode)(void *st, uint32_t msgid, const char *q, uint32_t limit,
                  int snippet, lg_buf *out);
    /* Parses in[0..len): sets *consumed to the bytes used and returns one
     * of the LG_P_ values; may append handshake bytes to out. */
    int (*parse)(void *st, const uint8_t *in, size_t len, size_t *consumed,
                 lg_reply *reply, lg_buf *out);
    /* Releases what the state holds (not the block itself). */
    void (*destroy)(void *st);
} lg_proto;

extern const lg_proto lg_proto_msgpack;
extern const lg_proto lg_proto_sphinxql;

#endif
