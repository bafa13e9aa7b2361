/* proto_msgpack.c: polysearchd's MessagePack-RPC for ps-loadgen.  Frames
 * are checked by the project's resumable scanner (lib/wire/rpc.h) before they
 * are decoded, exactly as the daemon and the client do.  Contract in
 * lg_proto.h.
 */
#include "lg_proto.h"

#include <string.h>
#include <msgpack.h>

#include "rpc.h"

#define MP_MAX_FRAME (16u * 1024u * 1024u)

typedef struct mp_state {
    ps_scanner scanner;
} mp_state;

static int mp_on_connect(void *st, lg_buf *out)
{
    (void)out;
    mp_state *s = st;
    ps_scanner_init(&s->scanner, MP_MAX_FRAME, 0);
    return 1;
}

static int buf_write(void *data, const char *buf, size_t len)
{
    return lg_buf_append(data, buf, len);
}

static int mp_encode(void *st, uint32_t msgid, const char *q, uint32_t limit,
                     int snippet, lg_buf *out)
{
    (void)st;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_write);
    size_t qlen = strlen(q);
    if (ps_rpc_pack_request(&pk, msgid, "search", 1) != 0
        || msgpack_pack_map(&pk, snippet >= 0 ? 3 : 2) != 0
        || msgpack_pack_str_with_body(&pk, "q", 1) != 0
        || msgpack_pack_str_with_body(&pk, q, qlen) != 0
        || msgpack_pack_str_with_body(&pk, "limit", 5) != 0
        || msgpack_pack_uint32(&pk, limit) != 0)
        return -1;
    if (snippet >= 0
        && (msgpack_pack_str_with_body(&pk, "snippet", 7) != 0
            || (snippet ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk)) != 0))
        return -1;
    return 0;
}

/* Returns the value of string key `key` in map o, or NULL. */
static const msgpack_object *map_get(const msgpack_object *o, const char *key)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == kl
            && memcmp(kv->key.via.str.ptr, key, kl) == 0)
            return &kv->val;
    }
    return NULL;
}

static int mp_parse(void *st, const uint8_t *in, size_t len, size_t *consumed,
                    lg_reply *reply, lg_buf *out)
{
    (void)out;
    mp_state *s = st;
    size_t flen = 0;
    *consumed = 0;
    ps_scan_result r = ps_scanner_feed(&s->scanner, in, len, &flen);
    if (r == PS_SCAN_NEED_MORE)
        return LG_P_NEED_MORE;
    if (r == PS_SCAN_INVALID)
        return LG_P_ERROR;
    ps_scanner_init(&s->scanner, MP_MAX_FRAME, 0);
    *consumed = flen;

    ps_rpc_msg msg;
    const char *why = NULL;
    int known = 0;
    memset(&msg, 0, sizeof msg);
    if (ps_rpc_decode((const char *)in, flen, &msg, &why, &known) != 0)
        return LG_P_ERROR;
    if (msg.type != PS_RPC_RESPONSE) {
        ps_rpc_msg_destroy(&msg);
        return LG_P_AGAIN;  /* a notification: ignored */
    }
    memset(reply, 0, sizeof *reply);
    reply->msgid = msg.msgid;
    if (msg.error.type != MSGPACK_OBJECT_NIL) {
        reply->is_error = 1;
        const msgpack_object *code = map_get(&msg.error, "code");
        if (code && code->type == MSGPACK_OBJECT_STR) {
            size_t n = code->via.str.size < sizeof reply->error - 1
                           ? code->via.str.size : sizeof reply->error - 1;
            memcpy(reply->error, code->via.str.ptr, n);
        } else {
            strcpy(reply->error, "error");
        }
    } else {
        const msgpack_object *hits = map_get(&msg.result, "hits");
        if (!hits || hits->type != MSGPACK_OBJECT_ARRAY) {
            reply->is_error = 1;
            strcpy(reply->error, "bad_result");
        } else {
            reply->hits = hits->via.array.size;
        }
    }
    ps_rpc_msg_destroy(&msg);
    return LG_P_REPLY;
}

static void mp_destroy(void *st)
{
    (void)st;
}

const lg_proto lg_proto_msgpack = {
    .name = "msgpack",
    .state_size = sizeof(mp_state),
    .max_depth = 1024,
    .on_connect = mp_on_connect,
    .encode = mp_encode,
    .parse = mp_parse,
    .destroy = mp_destroy,
};
