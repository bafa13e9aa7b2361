/* rpc.c: MessagePack-RPC framing: the resumable frame scanner, envelope
 * decoding with msgpack-c, named-argument parsing, and the encoders and
 * decoders of search results and documents.  Contracts are in rpc.h.
 *
 * Untrusted bytes reach msgpack_unpack_next() only after the scanner has
 * accepted the whole frame, so every declared count and length is backed
 * by real bytes and the nesting depth is bounded.
 */
#include "rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * Frame scanner
 * ====================================================================== */

void ps_scanner_init(ps_scanner *s, size_t max_frame, unsigned max_depth)
{
    memset(s, 0, sizeof *s);
    s->max_frame = max_frame ? max_frame : PS_RPC_DEFAULT_MAX_FRAME;
    if (max_depth == 0)
        max_depth = PS_RPC_DEFAULT_MAX_DEPTH;
    if (max_depth > PS_RPC_MAX_DEPTH_LIMIT)
        max_depth = PS_RPC_MAX_DEPTH_LIMIT;
    s->max_depth = max_depth;
    s->depth = 0;
    s->remaining[0] = 1;    /* the frame is exactly one top-level object */
    s->error = PS_SCAN_OK;
}

const char *ps_scan_error_str(ps_scan_error e)
{
    switch (e) {
    case PS_SCAN_OK: return "no error";
    case PS_SCAN_E_TOO_LARGE: return "message or declared length too large";
    case PS_SCAN_E_DEPTH: return "message nested too deeply";
    case PS_SCAN_E_EXT: return "extension types are not accepted";
    case PS_SCAN_E_BADBYTE: return "invalid MessagePack type byte 0xc1";
    }
    return "unknown scanner error";
}

/* Reads a big-endian unsigned integer of n (1, 2 or 4) bytes. */
static uint32_t be_read(const uint8_t *p, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* What the first byte of an object says about it. */
typedef struct item_kind {
    unsigned hdr;       /* header bytes including the type byte */
    unsigned lenbytes;  /* bytes of the length/count field after the type
                           byte (0: the length is in `fixed`) */
    uint32_t fixed;     /* payload bytes (scalars) or fixed count */
    int container;      /* 0 scalar/str/bin, 1 array, 2 map */
    ps_scan_error bad;  /* PS_SCAN_OK unless the byte is refused */
} item_kind;

static item_kind classify(uint8_t b)
{
    item_kind k = { 1, 0, 0, 0, PS_SCAN_OK };
    if (b <= 0x7f || b >= 0xe0)                 /* fixint */
        return k;
    if (b <= 0x8f) { k.container = 2; k.fixed = b & 0x0fu; return k; }
    if (b <= 0x9f) { k.container = 1; k.fixed = b & 0x0fu; return k; }
    if (b <= 0xbf) { k.fixed = b & 0x1fu; return k; }   /* fixstr */
    switch (b) {
    case 0xc0: case 0xc2: case 0xc3: return k;          /* nil, bools */
    case 0xc1: k.bad = PS_SCAN_E_BADBYTE; return k;
    case 0xc4: case 0xd9: k.lenbytes = 1; break;        /* bin8, str8 */
    case 0xc5: case 0xda: k.lenbytes = 2; break;        /* bin16, str16 */
    case 0xc6: case 0xdb: k.lenbytes = 4; break;        /* bin32, str32 */
    case 0xc7: case 0xc8: case 0xc9:                    /* ext 8/16/32 */
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext */
        k.bad = PS_SCAN_E_EXT; return k;
    case 0xca: k.fixed = 4; return k;                   /* float32 */
    case 0xcb: k.fixed = 8; return k;                   /* float64 */
    case 0xcc: case 0xd0: k.fixed = 1; return k;
    case 0xcd: case 0xd1: k.fixed = 2; return k;
    case 0xce: case 0xd2: k.fixed = 4; return k;
    case 0xcf: case 0xd3: k.fixed = 8; return k;
    case 0xdc: k.container = 1; k.lenbytes = 2; break;
    case 0xdd: k.container = 1; k.lenbytes = 4; break;
    case 0xde: k.container = 2; k.lenbytes = 2; break;
    case 0xdf: k.container = 2; k.lenbytes = 4; break;
    default: k.bad = PS_SCAN_E_BADBYTE; return k;       /* unreachable */
    }
    k.hdr = 1 + k.lenbytes;
    return k;
}

static ps_scan_result scan_fail(ps_scanner *s, ps_scan_error e)
{
    s->error = e;
    return PS_SCAN_INVALID;
}

/* Marks one object at the current level as finished and closes every
 * container that thereby became complete. */
static void item_done(ps_scanner *s)
{
    s->remaining[s->depth]--;
    while (s->depth > 0 && s->remaining[s->depth] == 0) {
        s->depth--;
        s->remaining[s->depth]--;
    }
}

ps_scan_result ps_scanner_feed(ps_scanner *s, const uint8_t *buf, size_t len,
                               size_t *frame_len)
{
    if (s->error != PS_SCAN_OK)
        return PS_SCAN_INVALID;
    /* s->pos always sits at the first byte of an object not yet accepted
     * (or at the end of a complete frame), and s->pos <= max_frame. */
    while (!(s->depth == 0 && s->remaining[0] == 0)) {
        size_t pos = s->pos, room, body;
        item_kind k;
        uint64_t n;

        if (pos >= len)
            return PS_SCAN_NEED_MORE;
        k = classify(buf[pos]);
        if (k.bad != PS_SCAN_OK)
            return scan_fail(s, k.bad);
        /* The header must fit in the frame, then in what we have. */
        if (k.hdr > s->max_frame - pos)
            return scan_fail(s, PS_SCAN_E_TOO_LARGE);
        if (k.hdr > len - pos)
            return PS_SCAN_NEED_MORE;
        n = k.lenbytes ? be_read(buf + pos + 1, k.lenbytes) : k.fixed;
        body = pos + k.hdr;                 /* first byte after the header */
        room = s->max_frame - body;         /* bytes still allowed */

        if (k.container == 0) {
            /* Scalar, str or bin: n payload bytes follow the header. */
            if (n > room)
                return scan_fail(s, PS_SCAN_E_TOO_LARGE);
            if (n > len - body)
                return PS_SCAN_NEED_MORE;   /* rescanned in O(1) later */
            s->pos = body + (size_t)n;
            item_done(s);
            continue;
        }
        /* Array or map: each element takes at least one byte. */
        if (k.container == 2)
            n *= 2;
        if (s->depth + 1 > s->max_depth)
            return scan_fail(s, PS_SCAN_E_DEPTH);
        if (n > room)
            return scan_fail(s, PS_SCAN_E_TOO_LARGE);
        s->pos = body;
        if (n == 0) {
            item_done(s);
        } else {
            s->depth++;
            s->remaining[s->depth] = n;
        }
    }
    if (frame_len != NULL)
        *frame_len = s->pos;
    return PS_SCAN_COMPLETE;
}

/* ======================================================================
 * UTF-8
 * ====================================================================== */

int ps_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    if (len > 0 && s == NULL)
        return 0;
    while (i < len) {
        unsigned c = s[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xbf;      /* range of the 2nd byte */
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0)
                lo = 0xa0;                  /* no overlongs */
            else if (c == 0xed)
                hi = 0x9f;                  /* no surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0)
                lo = 0x90;                  /* no overlongs */
            else if (c == 0xf4)
                hi = 0x8f;                  /* <= U+10FFFF */
        } else {
            return 0;                       /* 0x80-0xc1, 0xf5-0xff */
        }
        if (need > len - i - 1)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t j = 2; j <= need; j++)
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
        i += need + 1;
    }
    return 1;
}

/* ======================================================================
 * Envelope decoding
 * ====================================================================== */

/* Reads a method name: str, or bin as Neovim and pynvim send it (older
 * MessagePack had no str type), either way valid UTF-8 without NUL.
 * Returns NULL with *why set when it is neither. */
static const char *method_name(const msgpack_object *o, size_t *len,
                               const char **why)
{
    const char *p;
    size_t n;
    if (o->type == MSGPACK_OBJECT_STR) {
        p = o->via.str.ptr;
        n = o->via.str.size;
    } else if (o->type == MSGPACK_OBJECT_BIN) {
        p = o->via.bin.ptr;
        n = o->via.bin.size;
    } else {
        *why = "method must be a string";
        return NULL;
    }
    if (!ps_utf8_valid(p, n)) {
        *why = "invalid UTF-8 in method";
        return NULL;
    }
    *len = n;
    return p;
}

int ps_rpc_decode(const char *frame, size_t len, ps_rpc_msg *msg,
                  const char **why, int *msgid_known)
{
    const char *dummy_why;
    int dummy_known;
    size_t off = 0;
    msgpack_unpack_return ur;
    const msgpack_object *a;
    uint32_t n;
    uint64_t type;

    if (why == NULL)
        why = &dummy_why;
    if (msgid_known == NULL)
        msgid_known = &dummy_known;
    *why = NULL;
    *msgid_known = 0;
    memset(msg, 0, sizeof *msg);
    msgpack_unpacked_init(&msg->unpacked);
    if (frame == NULL || len == 0) {
        *why = "empty message";
        return -1;
    }
    ur = msgpack_unpack_next(&msg->unpacked, frame, len, &off);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        /* msgpack-c also reports nesting over 32 levels this way. */
        *why = "message too deeply nested or out of memory";
        goto fail;
    }
    if (ur != MSGPACK_UNPACK_SUCCESS && ur != MSGPACK_UNPACK_EXTRA_BYTES) {
        *why = "malformed MessagePack data";
        goto fail;
    }
    if (off != len) {
        *why = "trailing bytes after the message";
        goto fail;
    }
    if (msg->unpacked.data.type != MSGPACK_OBJECT_ARRAY) {
        *why = "message is not an array";
        goto fail;
    }
    n = msg->unpacked.data.via.array.size;
    a = msg->unpacked.data.via.array.ptr;
    /* The type is known as soon as it is read, so that a caller can tell a
     * broken notification (never answered) from a broken request. */
    if (n >= 1 && a[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        a[0].via.u64 <= PS_RPC_NOTIFY)
        msg->type = (int)a[0].via.u64;
    if (n != 3 && n != 4) {
        *why = "message must be an array of 3 or 4 elements";
        goto fail;
    }
    if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        a[0].via.u64 > PS_RPC_NOTIFY) {
        *why = "message type must be 0 (request), 1 (response) or "
               "2 (notification)";
        goto fail;
    }
    type = a[0].via.u64;
    msg->type = (int)type;
    if (type == PS_RPC_NOTIFY) {
        if (n != 3) {
            *why = "notification must be an array of 3 elements";
            goto fail;
        }
        msg->method = method_name(&a[1], &msg->method_len, why);
        if (!msg->method)
            goto fail;
        if (a[2].type != MSGPACK_OBJECT_ARRAY) {
            *why = "params must be an array";
            goto fail;
        }
        msg->params = a[2];
        return 0;
    }
    if (n != 4) {
        *why = type == PS_RPC_REQUEST
                   ? "request must be an array of 4 elements"
                   : "response must be an array of 4 elements";
        goto fail;
    }
    if (a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        a[1].via.u64 > UINT32_MAX) {
        *why = "msgid must be an unsigned 32-bit integer";
        goto fail;
    }
    msg->msgid = (uint32_t)a[1].via.u64;
    *msgid_known = 1;
    if (type == PS_RPC_RESPONSE) {
        if (a[2].type != MSGPACK_OBJECT_NIL &&
            a[2].type != MSGPACK_OBJECT_MAP) {
            *why = "response error must be nil or a map";
            goto fail;
        }
        msg->error = a[2];
        msg->result = a[3];
        return 0;
    }
    msg->method = method_name(&a[2], &msg->method_len, why);
    if (!msg->method)
        goto fail;
    if (a[3].type != MSGPACK_OBJECT_ARRAY) {
        *why = "params must be an array";
        goto fail;
    }
    msg->params = a[3];
    return 0;

fail:
    {
        uint32_t keep = msg->msgid;
        int keep_type = msg->type;
        msgpack_unpacked_destroy(&msg->unpacked);
        memset(msg, 0, sizeof *msg);
        msg->msgid = keep;
        msg->type = keep_type;
    }
    return -1;
}

void ps_rpc_msg_destroy(ps_rpc_msg *msg)
{
    if (msg == NULL)
        return;
    msgpack_unpacked_destroy(&msg->unpacked);
    memset(msg, 0, sizeof *msg);
}

/* ======================================================================
 * Named arguments
 * ====================================================================== */

/* Writes a printable, bounded rendering of a client-supplied name into
 * out[0..outlen) so that error messages never carry control bytes or
 * invalid UTF-8 back to the client or into logs. */
static void safe_name(const char *p, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    const size_t cap = 64;
    if (outlen == 0)
        return;
    if (!ps_utf8_valid(p, n)) {
        snprintf(out, outlen, "%s", "<invalid UTF-8>");
        return;
    }
    for (size_t i = 0; i < n && i < cap && o + 1 < outlen; i++) {
        unsigned char c = (unsigned char)p[i];
        out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    /* Do not end in the middle of a multi-byte sequence. */
    while (o > 0 && ((unsigned char)out[o - 1] & 0x80) &&
           !ps_utf8_valid(out, o))
        o--;
    out[o] = '\0';
    if (n > cap && o + 4 < outlen) {
        memcpy(out + o, "...", 4);
    }
}

static int arg_fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int arg_fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (errbuf != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *arg_type_name(ps_arg_type t)
{
    switch (t) {
    case PS_ARG_STR: return "a string";
    case PS_ARG_UINT: return "an unsigned integer";
    case PS_ARG_BOOL: return "a boolean";
    case PS_ARG_ARRAY: return "an array";
    case PS_ARG_MAP: return "a map";
    }
    return "a valid value";
}

/* Checks and stores one value for spec `sp`.  Returns 0 or -1. */
static int arg_store(const ps_arg_spec *sp, const msgpack_object *v,
                     msgpack_zone *zone, char *errbuf, size_t errlen)
{
    switch (sp->type) {
    case PS_ARG_STR: {
        char *copy;
        if (v->type != MSGPACK_OBJECT_STR)
            break;
        if (!ps_utf8_valid(v->via.str.ptr, v->via.str.size))
            return arg_fail(errbuf, errlen,
                            "argument '%s' is not valid UTF-8 (or holds a "
                            "NUL byte)", sp->name);
        if (sp->max != 0 && v->via.str.size > sp->max)
            return arg_fail(errbuf, errlen,
                            "argument '%s' is too long (%u bytes, at most "
                            "%llu)", sp->name, (unsigned)v->via.str.size,
                            (unsigned long long)sp->max);
        copy = msgpack_zone_malloc(zone, (size_t)v->via.str.size + 1);
        if (copy == NULL)
            return arg_fail(errbuf, errlen, "out of memory");
        if (v->via.str.size > 0)
            memcpy(copy, v->via.str.ptr, v->via.str.size);
        copy[v->via.str.size] = '\0';
        if (sp->out != NULL)
            *(const char **)sp->out = copy;
        return 0;
    }
    case PS_ARG_UINT:
        if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return arg_fail(errbuf, errlen,
                            "argument '%s' must not be negative", sp->name);
        if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            break;
        if (sp->max != 0 && v->via.u64 > sp->max)
            return arg_fail(errbuf, errlen,
                            "argument '%s' is too large (at most %llu)",
                            sp->name, (unsigned long long)sp->max);
        if (sp->out != NULL)
            *(uint64_t *)sp->out = v->via.u64;
        return 0;
    case PS_ARG_BOOL:
        if (v->type != MSGPACK_OBJECT_BOOLEAN)
            break;
        if (sp->out != NULL)
            *(int *)sp->out = v->via.boolean ? 1 : 0;
        return 0;
    case PS_ARG_ARRAY:
        if (v->type != MSGPACK_OBJECT_ARRAY)
            break;
        if (sp->out != NULL)
            *(msgpack_object *)sp->out = *v;
        return 0;
    case PS_ARG_MAP:
        if (v->type != MSGPACK_OBJECT_MAP)
            break;
        if (sp->out != NULL)
            *(msgpack_object *)sp->out = *v;
        return 0;
    }
    return arg_fail(errbuf, errlen, "argument '%s' must be %s", sp->name,
                    arg_type_name(sp->type));
}

int ps_rpc_args_parse(const msgpack_object *params, const ps_arg_spec *specs,
                      size_t nspecs, msgpack_zone *zone, char *errbuf,
                      size_t errlen)
{
    const msgpack_object_map *m = NULL;
    unsigned char *seen;

    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
    if (params == NULL || zone == NULL || (nspecs > 0 && specs == NULL))
        return arg_fail(errbuf, errlen, "internal error: bad arguments");
    for (size_t i = 0; i < nspecs; i++)
        if (specs[i].present != NULL)
            *specs[i].present = 0;
    if (params->type != MSGPACK_OBJECT_ARRAY)
        return arg_fail(errbuf, errlen, "params must be an array");
    if (params->via.array.size > 1 ||
        (params->via.array.size == 1 &&
         params->via.array.ptr[0].type != MSGPACK_OBJECT_MAP))
        return arg_fail(errbuf, errlen,
                        "params must be [] or [ {map of named arguments} ]");
    if (params->via.array.size == 1)
        m = &params->via.array.ptr[0].via.map;

    seen = msgpack_zone_malloc(zone, nspecs + 1);
    if (seen == NULL)
        return arg_fail(errbuf, errlen, "out of memory");
    memset(seen, 0, nspecs + 1);

    for (uint32_t k = 0; m != NULL && k < m->size; k++) {
        const msgpack_object *key = &m->ptr[k].key;
        size_t idx;
        char name[80];
        if (key->type != MSGPACK_OBJECT_STR)
            return arg_fail(errbuf, errlen,
                            "argument names must be strings");
        for (idx = 0; idx < nspecs; idx++) {
            size_t nl = strlen(specs[idx].name);
            if (nl == key->via.str.size &&
                memcmp(specs[idx].name, key->via.str.ptr, nl) == 0)
                break;
        }
        if (idx == nspecs) {
            safe_name(key->via.str.ptr, key->via.str.size, name,
                      sizeof name);
            return arg_fail(errbuf, errlen, "unknown argument '%s'", name);
        }
        if (seen[idx])
            return arg_fail(errbuf, errlen, "duplicate argument '%s'",
                            specs[idx].name);
        seen[idx] = 1;
        if (arg_store(&specs[idx], &m->ptr[k].val, zone, errbuf, errlen) != 0)
            return -1;
        if (specs[idx].present != NULL)
            *specs[idx].present = 1;
    }
    for (size_t i = 0; i < nspecs; i++)
        if (specs[i].required && !seen[i])
            return arg_fail(errbuf, errlen, "missing required argument '%s'",
                            specs[i].name);
    return 0;
}

/* ======================================================================
 * Encoding
 * ====================================================================== */

/* Packs a string of known length. */
static int pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
    if (msgpack_pack_str(pk, n) != 0)
        return -1;
    return n ? msgpack_pack_str_body(pk, s, n) : 0;
}

int ps_rpc_pack_str(msgpack_packer *pk, const char *s)
{
    if (s == NULL)
        return msgpack_pack_nil(pk);
    return pack_strn(pk, s, strlen(s));
}

int ps_rpc_pack_request(msgpack_packer *pk, uint32_t msgid, const char *method,
                        uint32_t nparams)
{
    if (method == NULL)
        return -1;
    if (msgpack_pack_array(pk, 4) != 0 ||
        msgpack_pack_uint8(pk, PS_RPC_REQUEST) != 0 ||
        msgpack_pack_uint32(pk, msgid) != 0 ||
        ps_rpc_pack_str(pk, method) != 0 ||
        msgpack_pack_array(pk, nparams) != 0)
        return -1;
    return 0;
}

int ps_rpc_pack_response_ok(msgpack_packer *pk, uint32_t msgid)
{
    if (msgpack_pack_array(pk, 4) != 0 ||
        msgpack_pack_uint8(pk, PS_RPC_RESPONSE) != 0 ||
        msgpack_pack_uint32(pk, msgid) != 0 ||
        msgpack_pack_nil(pk) != 0)
        return -1;
    return 0;
}

int ps_rpc_pack_response_error(msgpack_packer *pk, uint32_t msgid,
                               const char *code, const char *message)
{
    if (msgpack_pack_array(pk, 4) != 0 ||
        msgpack_pack_uint8(pk, PS_RPC_RESPONSE) != 0 ||
        msgpack_pack_uint32(pk, msgid) != 0 ||
        msgpack_pack_map(pk, 2) != 0 ||
        ps_rpc_pack_str(pk, "code") != 0 ||
        ps_rpc_pack_str(pk, code != NULL ? code : "internal") != 0 ||
        ps_rpc_pack_str(pk, "message") != 0 ||
        ps_rpc_pack_str(pk, message != NULL ? message : "") != 0 ||
        msgpack_pack_nil(pk) != 0)
        return -1;
    return 0;
}

/* Packs "key": string (NULL packs ""). */
static int pack_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
    if (ps_rpc_pack_str(pk, key) != 0)
        return -1;
    return ps_rpc_pack_str(pk, val != NULL ? val : "");
}

static int pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t val)
{
    if (ps_rpc_pack_str(pk, key) != 0)
        return -1;
    return msgpack_pack_uint64(pk, val);
}

static int pack_hit(msgpack_packer *pk, const ps_hit *h)
{
    uint32_t nkeys = 7 + (h->date != NULL) + (h->url != NULL);
    if (msgpack_pack_map(pk, nkeys) != 0 ||
        pack_kv_str(pk, "id", h->id) != 0 ||
        pack_kv_str(pk, "title", h->title) != 0 ||
        pack_kv_str(pk, "lang", h->lang) != 0)
        return -1;
    if (h->date != NULL && pack_kv_str(pk, "date", h->date) != 0)
        return -1;
    if (h->url != NULL && pack_kv_str(pk, "url", h->url) != 0)
        return -1;
    if (ps_rpc_pack_str(pk, "score") != 0 ||
        msgpack_pack_double(pk, h->score) != 0 ||
        pack_kv_u64(pk, "rank", h->rank) != 0 ||
        pack_kv_str(pk, "snippet", h->snippet) != 0 ||
        ps_rpc_pack_str(pk, "highlights") != 0)
        return -1;
    if (h->nhighlights > 0 && h->highlights == NULL)
        return -1;
    if (msgpack_pack_array(pk, h->nhighlights) != 0)
        return -1;
    for (uint32_t i = 0; i < h->nhighlights; i++)
        if (msgpack_pack_array(pk, 2) != 0 ||
            msgpack_pack_uint32(pk, h->highlights[i].off) != 0 ||
            msgpack_pack_uint32(pk, h->highlights[i].len) != 0)
            return -1;
    return 0;
}

int ps_rpc_pack_results(msgpack_packer *pk, const ps_results *r,
                        int with_facets)
{
    uint32_t nkeys;
    if (r == NULL || (r->nhits > 0 && r->hits == NULL) ||
        (r->nfacets > 0 && r->facets == NULL))
        return -1;
    if (r->nfailed > 0 && r->failed == NULL)
        return -1;
    nkeys = 3 + (with_facets ? 1 : 0) + (r->suggestion != NULL) +
            (r->nfailed > 0 ? 2 : 0);
    if (msgpack_pack_map(pk, nkeys) != 0 ||
        pack_kv_u64(pk, "total", r->total) != 0 ||
        ps_rpc_pack_str(pk, "hits") != 0 ||
        msgpack_pack_array(pk, r->nhits) != 0)
        return -1;
    for (uint32_t i = 0; i < r->nhits; i++)
        if (pack_hit(pk, &r->hits[i]) != 0)
            return -1;
    if (with_facets) {
        if (ps_rpc_pack_str(pk, "facets") != 0 ||
            msgpack_pack_map(pk, 1) != 0 ||
            ps_rpc_pack_str(pk, "lang") != 0 ||
            msgpack_pack_map(pk, r->nfacets) != 0)
            return -1;
        for (uint32_t i = 0; i < r->nfacets; i++)
            if (pack_kv_u64(pk, r->facets[i].value != NULL
                                    ? r->facets[i].value : "",
                            r->facets[i].count) != 0)
                return -1;
    }
    if (r->suggestion != NULL &&
        pack_kv_str(pk, "suggestion", r->suggestion) != 0)
        return -1;
    if (r->nfailed > 0) {
        /* Sharded search with shards down (docs/SCALING.md). */
        if (ps_rpc_pack_str(pk, "partial") != 0 ||
            msgpack_pack_true(pk) != 0 ||
            ps_rpc_pack_str(pk, "failed_shards") != 0 ||
            msgpack_pack_array(pk, r->nfailed) != 0)
            return -1;
        for (uint32_t i = 0; i < r->nfailed; i++)
            if (ps_rpc_pack_str(pk, r->failed[i] != NULL ? r->failed[i]
                                                         : "") != 0)
                return -1;
    }
    return pack_kv_u64(pk, "took_us", r->took_us);
}

int ps_rpc_pack_document(msgpack_packer *pk, const ps_document *d)
{
    uint32_t nkeys;
    if (d == NULL)
        return -1;
    nkeys = 5 + (d->date != NULL) + (d->url != NULL);
    if (msgpack_pack_map(pk, nkeys) != 0 ||
        pack_kv_str(pk, "id", d->id) != 0 ||
        pack_kv_str(pk, "title", d->title) != 0 ||
        pack_kv_str(pk, "body", d->body) != 0 ||
        pack_kv_str(pk, "lang", d->lang) != 0)
        return -1;
    if (d->date != NULL && pack_kv_str(pk, "date", d->date) != 0)
        return -1;
    if (d->url != NULL && pack_kv_str(pk, "url", d->url) != 0)
        return -1;
    return pack_kv_str(pk, "hash", d->hash);
}

/* ======================================================================
 * Decoding results and documents (data from the network)
 * ====================================================================== */

/* Looks key up in names[0..n); returns its index or -1. */
static int key_index(const msgpack_object *key, const char *const *names,
                     int n)
{
    if (key->type != MSGPACK_OBJECT_STR)
        return -1;
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(names[i]);
        if (nl == key->via.str.size &&
            memcmp(names[i], key->via.str.ptr, nl) == 0)
            return i;
    }
    return -1;
}

/* Collects the values of a map whose keys must all be in names[0..n)
 * (n <= 16), each at most once.  vals[i] is NULL when key i is absent.
 * Returns 0, or -1 with *why set. */
static int map_fields(const msgpack_object *o, const char *const *names,
                      int n, const msgpack_object **vals, const char *what,
                      const char **why)
{
    for (int i = 0; i < n; i++)
        vals[i] = NULL;
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP) {
        *why = what;
        return -1;
    }
    for (uint32_t k = 0; k < o->via.map.size; k++) {
        int idx = key_index(&o->via.map.ptr[k].key, names, n);
        if (idx < 0) {
            *why = "unexpected key in map";
            return -1;
        }
        if (vals[idx] != NULL) {
            *why = "duplicate key in map";
            return -1;
        }
        vals[idx] = &o->via.map.ptr[k].val;
    }
    return 0;
}

/* Copies a msgpack string into a new NUL-terminated heap string, after
 * checking it is valid UTF-8 without NUL bytes.  `optional`: absent (v
 * NULL) or nil yields *out = NULL.  Returns 0 or -1 with *why set. */
static int take_str(const msgpack_object *v, int optional, char **out,
                    const char *name_why, const char **why)
{
    char *s;
    *out = NULL;
    if (v == NULL || v->type == MSGPACK_OBJECT_NIL) {
        if (optional)
            return 0;
        *why = name_why;
        return -1;
    }
    if (v->type != MSGPACK_OBJECT_STR) {
        *why = name_why;
        return -1;
    }
    if (!ps_utf8_valid(v->via.str.ptr, v->via.str.size)) {
        *why = "invalid UTF-8 in a string";
        return -1;
    }
    s = malloc((size_t)v->via.str.size + 1);
    if (s == NULL) {
        *why = "out of memory";
        return -1;
    }
    if (v->via.str.size > 0)
        memcpy(s, v->via.str.ptr, v->via.str.size);
    s[v->via.str.size] = '\0';
    *out = s;
    return 0;
}

/* Reads an unsigned integer <= max.  Returns 0 or -1 with *why set. */
static int take_uint(const msgpack_object *v, uint64_t max, uint64_t *out,
                     const char *name_why, const char **why)
{
    if (v == NULL || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        v->via.u64 > max) {
        *why = name_why;
        return -1;
    }
    *out = v->via.u64;
    return 0;
}

enum { H_ID, H_TITLE, H_LANG, H_DATE, H_URL, H_SCORE, H_RANK, H_SNIPPET,
       H_HL, H_COUNT };
static const char *const hit_keys[H_COUNT] = {
    "id", "title", "lang", "date", "url", "score", "rank", "snippet",
    "highlights"
};

/* Decodes one hit map and adds it to the builder.  Returns 0 or -1. */
static int unpack_hit(const msgpack_object *o, ps_results_builder *b,
                      const char **why)
{
    const msgpack_object *v[H_COUNT];
    char *s[H_URL + 1] = { NULL };
    char *snippet = NULL;
    ps_span *hl = NULL;
    uint32_t nhl = 0;
    uint64_t rank = 0;
    double score = 0;
    size_t snippet_len;
    int rc = -1;

    if (map_fields(o, hit_keys, H_COUNT, v, "hit is not a map", why) != 0)
        return -1;
    if (take_str(v[H_ID], 0, &s[H_ID], "hit id must be a string", why) ||
        take_str(v[H_TITLE], 0, &s[H_TITLE], "hit title must be a string",
                 why) ||
        take_str(v[H_LANG], 0, &s[H_LANG], "hit lang must be a string",
                 why) ||
        take_str(v[H_DATE], 1, &s[H_DATE], "hit date must be a string",
                 why) ||
        take_str(v[H_URL], 1, &s[H_URL], "hit url must be a string", why) ||
        take_str(v[H_SNIPPET], 0, &snippet, "hit snippet must be a string",
                 why) ||
        take_uint(v[H_RANK], UINT32_MAX, &rank,
                  "hit rank must be an unsigned 32-bit integer", why))
        goto out;
    if (v[H_SCORE] == NULL) {
        *why = "hit score must be a number";
        goto out;
    }
    switch (v[H_SCORE]->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        score = v[H_SCORE]->via.f64;
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        score = (double)v[H_SCORE]->via.u64;
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        score = (double)v[H_SCORE]->via.i64;
        break;
    default:
        *why = "hit score must be a number";
        goto out;
    }
    if (v[H_HL] == NULL || v[H_HL]->type != MSGPACK_OBJECT_ARRAY) {
        *why = "hit highlights must be an array";
        goto out;
    }
    snippet_len = strlen(snippet);
    nhl = v[H_HL]->via.array.size;
    if (nhl > 0) {
        hl = malloc((size_t)nhl * sizeof *hl);
        if (hl == NULL) {
            *why = "out of memory";
            goto out;
        }
    }
    for (uint32_t i = 0; i < nhl; i++) {
        const msgpack_object *p = &v[H_HL]->via.array.ptr[i];
        uint64_t off, len;
        if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 2 ||
            take_uint(&p->via.array.ptr[0], UINT32_MAX, &off, "", why) ||
            take_uint(&p->via.array.ptr[1], UINT32_MAX, &len, "", why)) {
            *why = "highlight must be [offset, length]";
            goto out;
        }
        if (off > snippet_len || len > snippet_len - off) {
            *why = "highlight lies outside the snippet";
            goto out;
        }
        hl[i].off = (uint32_t)off;
        hl[i].len = (uint32_t)len;
    }
    if (ps_results_builder_add_hit(b, s[H_ID], s[H_TITLE], s[H_LANG],
                                   s[H_DATE], s[H_URL], snippet, score,
                                   (uint32_t)rank, hl, nhl) != PS_OK) {
        *why = "out of memory";
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i <= H_URL; i++)
        free(s[i]);
    free(snippet);
    free(hl);
    return rc;
}

/* Decodes {"lang": {code: count}} into the builder. */
static int unpack_facets(const msgpack_object *o, ps_results_builder *b,
                         const char **why)
{
    static const char *const fkeys[1] = { "lang" };
    const msgpack_object *v[1];
    const msgpack_object_map *m;
    if (map_fields(o, fkeys, 1, v, "facets must be a map", why) != 0)
        return -1;
    if (v[0] == NULL)
        return 0;
    if (v[0]->type != MSGPACK_OBJECT_MAP) {
        *why = "facets.lang must be a map";
        return -1;
    }
    m = &v[0]->via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        char *code = NULL;
        uint64_t count;
        if (take_str(&m->ptr[i].key, 0, &code,
                     "facet values must be strings", why) != 0)
            return -1;
        if (take_uint(&m->ptr[i].val, UINT64_MAX, &count,
                      "facet counts must be unsigned integers", why) != 0 ||
            ps_results_builder_add_facet(b, code, count) != PS_OK) {
            if (*why == NULL)
                *why = "out of memory";
            free(code);
            return -1;
        }
        free(code);
    }
    return 0;
}

enum { R_TOTAL, R_HITS, R_FACETS, R_SUGG, R_TOOK, R_PARTIAL, R_FAILED,
       R_COUNT };
static const char *const res_keys[R_COUNT] = {
    "total", "hits", "facets", "suggestion", "took_us", "partial",
    "failed_shards"
};

/* "partial" (bool, optional) and "failed_shards" (array of strings,
 * optional) of a sharded search: adds the failed shard specs to b.
 * Returns 0 or -1 with *why set. */
static int unpack_failed(const msgpack_object *partial,
                         const msgpack_object *failed, ps_results_builder *b,
                         const char **why)
{
    if (partial != NULL && partial->type != MSGPACK_OBJECT_BOOLEAN) {
        *why = "partial must be a boolean";
        return -1;
    }
    if (failed == NULL)
        return 0;
    if (failed->type != MSGPACK_OBJECT_ARRAY) {
        *why = "failed_shards must be an array";
        return -1;
    }
    for (uint32_t i = 0; i < failed->via.array.size; i++) {
        char *spec = NULL;
        if (take_str(&failed->via.array.ptr[i], 0, &spec,
                     "failed_shards entries must be strings", why) != 0)
            return -1;
        if (ps_results_builder_add_failed(b, spec) != PS_OK) {
            free(spec);
            *why = "out of memory";
            return -1;
        }
        free(spec);
    }
    return 0;
}

ps_results *ps_rpc_unpack_results(const msgpack_object *o, const char **why)
{
    const char *dummy;
    const msgpack_object *v[R_COUNT];
    ps_results_builder *b = NULL;
    char *sugg = NULL;
    uint64_t total = 0, took = 0;
    ps_results *r;

    if (why == NULL)
        why = &dummy;
    *why = NULL;
    if (map_fields(o, res_keys, R_COUNT, v, "results must be a map",
                   why) != 0)
        return NULL;
    if (take_uint(v[R_TOTAL], UINT64_MAX, &total,
                  "results total must be an unsigned integer", why) ||
        take_uint(v[R_TOOK], UINT64_MAX, &took,
                  "results took_us must be an unsigned integer", why))
        return NULL;
    if (v[R_HITS] == NULL || v[R_HITS]->type != MSGPACK_OBJECT_ARRAY) {
        *why = "results hits must be an array";
        return NULL;
    }
    b = ps_results_builder_new();
    if (b == NULL) {
        *why = "out of memory";
        return NULL;
    }
    for (uint32_t i = 0; i < v[R_HITS]->via.array.size; i++)
        if (unpack_hit(&v[R_HITS]->via.array.ptr[i], b, why) != 0)
            goto fail;
    if (v[R_FACETS] != NULL && unpack_facets(v[R_FACETS], b, why) != 0)
        goto fail;
    if (unpack_failed(v[R_PARTIAL], v[R_FAILED], b, why) != 0)
        goto fail;
    if (take_str(v[R_SUGG], 1, &sugg, "suggestion must be a string",
                 why) != 0)
        goto fail;
    r = ps_results_builder_finish(b, total, sugg, took);
    free(sugg);
    if (r == NULL)
        *why = "out of memory";
    return r;
fail:
    ps_results_builder_free(b);
    return NULL;
}

enum { D_ID, D_TITLE, D_BODY, D_LANG, D_DATE, D_URL, D_HASH, D_COUNT };
static const char *const doc_keys[D_COUNT] = {
    "id", "title", "body", "lang", "date", "url", "hash"
};

ps_document *ps_rpc_unpack_document(const msgpack_object *o, const char **why)
{
    static const char *const why_type[D_COUNT] = {
        "document id must be a string", "document title must be a string",
        "document body must be a string", "document lang must be a string",
        "document date must be a string", "document url must be a string",
        "document hash must be a string"
    };
    const char *dummy;
    const msgpack_object *v[D_COUNT];
    char *s[D_COUNT] = { NULL };
    ps_document *d = NULL;

    if (why == NULL)
        why = &dummy;
    *why = NULL;
    if (map_fields(o, doc_keys, D_COUNT, v, "document must be a map",
                   why) != 0)
        return NULL;
    for (int i = 0; i < D_COUNT; i++)
        if (take_str(v[i], i == D_DATE || i == D_URL, &s[i], why_type[i],
                     why) != 0)
            goto out;
    d = ps_document_new(s[D_ID], s[D_TITLE], s[D_BODY], s[D_LANG],
                        s[D_DATE], s[D_URL], s[D_HASH]);
    if (d == NULL)
        *why = "out of memory";
out:
    for (int i = 0; i < D_COUNT; i++)
        free(s[i]);
    return d;
}
