/* rpc.h: MessagePack-RPC framing shared by the daemon and the client.
 *
 * Untrusted bytes are never handed straight to msgpack_unpack: a resumable
 * scanner first checks a complete frame (depth, declared counts, total
 * size, no ext types); only then is it unpacked with msgpack-c.
 *
 * Implemented in four files, one per section below: scan.c (frame
 * scanner), decode.c (envelope decoding and named arguments), pack.c
 * (encoding) and unpack.c (decoding results and documents).  UTF-8 checks
 * are in utf8.h, included here for the callers of ps_utf8_valid().
 *
 * Nothing here depends on Xapian.  All functions are reentrant; a
 * ps_scanner is used by one thread at a time.
 */
#ifndef PS_RPC_H
#define PS_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#include "ps_types.h"
#include "utf8.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PS_RPC_DEFAULT_MAX_FRAME (1024u * 1024u)
#define PS_RPC_DEFAULT_MAX_DEPTH 16u
#define PS_RPC_MAX_DEPTH_LIMIT 64u

enum { PS_RPC_REQUEST = 0, PS_RPC_RESPONSE = 1, PS_RPC_NOTIFY = 2 };

/* ---- Frame scanner (scan.c) ------------------------------------------- */

typedef enum ps_scan_result {
    PS_SCAN_NEED_MORE = 0,  /* frame incomplete so far, all valid */
    PS_SCAN_COMPLETE = 1,   /* a complete valid frame of *frame_len bytes */
    PS_SCAN_INVALID = 2     /* protocol violation; see ps_scanner.error */
} ps_scan_result;

typedef enum ps_scan_error {
    PS_SCAN_OK = 0,
    PS_SCAN_E_TOO_LARGE,    /* frame or a declared length beyond max_frame */
    PS_SCAN_E_DEPTH,        /* nesting deeper than max_depth */
    PS_SCAN_E_EXT,          /* ext / fixext types are not accepted */
    PS_SCAN_E_BADBYTE       /* 0xc1 (never used) */
} ps_scan_error;

/* Scanner state.  Resumable: it remembers how far it got, so feeding a
 * frame one byte at a time costs O(total bytes), not O(n^2). */
typedef struct ps_scanner {
    size_t max_frame;
    unsigned max_depth;
    size_t pos;             /* bytes of the current frame already checked */
    unsigned depth;         /* current open containers */
    uint64_t remaining[PS_RPC_MAX_DEPTH_LIMIT + 1]; /* items left per level */
    ps_scan_error error;
} ps_scanner;

/* Initialises (or resets for the next frame).  max_frame 0 ->
 * PS_RPC_DEFAULT_MAX_FRAME, max_depth 0 -> PS_RPC_DEFAULT_MAX_DEPTH (capped
 * at PS_RPC_MAX_DEPTH_LIMIT).  Any thread. */
void ps_scanner_init(ps_scanner *s, size_t max_frame, unsigned max_depth);

/* Scans buf[0..len), which must always start at the first byte of the
 * current frame and hold every byte received for it so far (len only grows
 * between calls).  Returns PS_SCAN_COMPLETE with *frame_len set (the caller
 * consumes those bytes and calls ps_scanner_init again), PS_SCAN_NEED_MORE,
 * or PS_SCAN_INVALID with s->error set.  Never reads past len. */
ps_scan_result ps_scanner_feed(ps_scanner *s, const uint8_t *buf, size_t len,
                               size_t *frame_len);

/* Message text of a scanner error (static string). */
const char *ps_scan_error_str(ps_scan_error e);

/* ---- Decoding (decode.c) ---------------------------------------------- */

/* A decoded message.  Objects point into `unpacked` (owned by the
 * message); release with ps_rpc_msg_destroy(). */
typedef struct ps_rpc_msg {
    int type;               /* PS_RPC_REQUEST / RESPONSE / NOTIFY */
    uint32_t msgid;         /* requests and responses */
    const char *method;     /* requests and notifications; NOT terminated */
    size_t method_len;
    msgpack_object params;  /* requests/notifications: the params array */
    msgpack_object error;   /* responses: nil or error map */
    msgpack_object result;  /* responses */
    msgpack_unpacked unpacked;
} ps_rpc_msg;

/* Unpacks one complete frame (as found by the scanner) and checks the
 * envelope: array of 4 (request/response) or 3 (notification), type in
 * range, msgid an unsigned integer <= 2^32-1, method a str or bin holding
 * valid UTF-8 (Neovim and pynvim send bin), params an array.  Returns 0 on
 * success (caller must ps_rpc_msg_destroy), -1 on failure with a static
 * reason in *why; then msg->type is the type read from the first element
 * (PS_RPC_NOTIFY for a broken notification, which must not be answered;
 * 0 when unreadable) and, when the msgid could be read, *msgid_known = 1
 * and msg->msgid set (so the caller can reply).  Any thread. */
int ps_rpc_decode(const char *frame, size_t len, ps_rpc_msg *msg,
                  const char **why, int *msgid_known);

/* Releases a decoded message.  Safe on a zeroed struct. */
void ps_rpc_msg_destroy(ps_rpc_msg *msg);

/* ---- Named-argument helpers for params = [ {map} ] (decode.c) --------- */

/* Argument specification for ps_rpc_args_parse(). */
typedef enum ps_arg_type {
    PS_ARG_STR,             /* out: const char * (copied into arena) */
    PS_ARG_UINT,            /* out: uint64_t */
    PS_ARG_BOOL,            /* out: int */
    PS_ARG_ARRAY,           /* out: msgpack_object (array) */
    PS_ARG_MAP              /* out: msgpack_object (map) */
} ps_arg_type;

typedef struct ps_arg_spec {
    const char *name;
    ps_arg_type type;
    int required;
    void *out;              /* where to store the value */
    int *present;           /* may be NULL; set to 1 when given */
    uint64_t max;           /* PS_ARG_UINT: upper bound (0 = none);
                               PS_ARG_STR: max bytes (0 = none) */
} ps_arg_spec;

/* Parses params (an array that must be empty or hold exactly one map) into
 * the specs.  Unknown keys, non-string keys, wrong types, values over max,
 * invalid UTF-8 and missing required keys are rejected with a message
 * written to errbuf.  Strings are NUL-terminated copies allocated in
 * `zone` (freed with it).  Returns 0 on success, -1 on failure. */
int ps_rpc_args_parse(const msgpack_object *params, const ps_arg_spec *specs,
                      size_t nspecs, msgpack_zone *zone, char *errbuf,
                      size_t errlen);

/* ---- Encoding (pack.c) ------------------------------------------------ */

/* Every encoder writes into the caller's packer (whose buffer the caller
 * owns), returns 0, or -1 when the packer fails or an argument is
 * inconsistent (NULL where data is required, a count without its array),
 * and may be called from any thread on a packer used by that thread only.
 * Nothing is allocated except by the packer's buffer. */

/* Packs a request [0, msgid, method, [params...]] header: the caller then
 * packs exactly `nparams` objects.  Returns 0 or -1 (packer error). */
int ps_rpc_pack_request(msgpack_packer *pk, uint32_t msgid, const char *method,
                        uint32_t nparams);

/* Packs a success response header [1, msgid, nil, ...]: the caller then
 * packs exactly one result object.  Returns 0 or -1. */
int ps_rpc_pack_response_ok(msgpack_packer *pk, uint32_t msgid);

/* Packs a complete error response [1, msgid, {"code","message"}, nil]
 * (NULL code packs "internal", NULL message ""). Returns 0 or -1. */
int ps_rpc_pack_response_error(msgpack_packer *pk, uint32_t msgid,
                               const char *code, const char *message);

/* Packs a string (NULL packs nil).  Returns 0 or -1. */
int ps_rpc_pack_str(msgpack_packer *pk, const char *s);

/* Packs a search result map as documented in docs/PROTOCOL.md:
 * {total, hits:[{id,title,lang,date?,url?,score,snippet,highlights}],
 *  facets?:{lang:{code:count}}, suggestion?, partial?, failed_shards?,
 *  took_us}.  r is only read.  Returns 0 or -1. */
int ps_rpc_pack_results(msgpack_packer *pk, const ps_results *r,
                        int with_facets);

/* Packs a stored document map {id,title,body,lang,date?,url?,hash}.
 * Returns 0 or -1 (also for d NULL). */
int ps_rpc_pack_document(msgpack_packer *pk, const ps_document *d);

/* ---- Decoding results and documents (unpack.c) ------------------------ */

/* Decodes a search result map (the inverse of ps_rpc_pack_results) into a
 * new ps_results block (caller frees with ps_results_free; nothing points
 * into o).  Returns NULL with a static reason in *why (why may be NULL)
 * when the shape is wrong, a string is not valid UTF-8 or memory runs out.
 * Any thread. */
ps_results *ps_rpc_unpack_results(const msgpack_object *o, const char **why);

/* Decodes a document map into a new ps_document block (caller frees with
 * ps_document_free; nothing points into o), or NULL with a static reason
 * in *why (why may be NULL).  Any thread. */
ps_document *ps_rpc_unpack_document(const msgpack_object *o, const char **why);

/* Decodes one entry of a notification's params array (docs/PROTOCOL.md,
 * "subscribe"): kind PS_NOTIFY_MATCH for [2, "match", [entry...]]
 * ({subscription, name, id, title, lang, date?, url?, snippet, seq,
 * replaced?}), PS_NOTIFY_LAGGED for [2, "lagged", [entry...]]
 * ({subscription, dropped}).  Keys not listed are ignored (a newer daemon
 * may add some); a listed key of the wrong type, invalid UTF-8 or a
 * missing required key fails.  Returns a new block (caller frees with
 * ps_notification_free; nothing points into o), or NULL with a static
 * reason in *why (why may be NULL).  Any thread. */
ps_notification *ps_rpc_unpack_notification(ps_notification_kind kind,
                                             const msgpack_object *o,
                                             const char **why);

#ifdef __cplusplus
}
#endif
#endif
