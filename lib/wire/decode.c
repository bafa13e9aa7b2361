/* decode.c: MessagePack-RPC envelope decoding with msgpack-c and the
 * named-argument parser ps_rpc_args_parse() (rpc.h, "Decoding" and
 * "Named-argument helpers").
 *
 * ps_rpc_decode() is handed only frames the scanner (scan.c) accepted.
 */
#include "rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ======================================================================
 * Envelope decoding
 * ====================================================================== */

/* Reads a method name: str, or bin as Neovim and pynvim send it (older
 * MessagePack had no str type), either way valid UTF-8 without NUL.
 * Returns NULL with *why set when it is neither.  An empty name is a name
 * (the dispatcher answers unknown_method): msgpack-c gives it a NULL
 * pointer, so "" is returned for it. */
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
    return n > 0 ? p : "";
}

/* Reads the method name at a[0] and the params array at a[1] of a
 * request (a = envelope + 2) or a notification (a = envelope + 1) into
 * msg.  Returns 0, or -1 with *why set. */
static int method_and_params(const msgpack_object *a, ps_rpc_msg *msg,
                             const char **why)
{
    msg->method = method_name(&a[0], &msg->method_len, why);
    if (!msg->method)
        return -1;
    if (a[1].type != MSGPACK_OBJECT_ARRAY) {
        *why = "params must be an array";
        return -1;
    }
    msg->params = a[1];
    return 0;
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
        if (method_and_params(&a[1], msg, why) != 0)
            goto fail;
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
    if (method_and_params(&a[2], msg, why) != 0)
        goto fail;
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
    /* Do not end in the middle of a multi-byte sequence (out[0..o) is
     * p[0..o) with control bytes replaced, and p is valid). */
    o = ps_utf8_cut(p, n, o);
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
    case PS_ARG_MAP:
        /* out receives the msgpack_object itself. */
        if (v->type != (sp->type == PS_ARG_ARRAY ? MSGPACK_OBJECT_ARRAY
                                                 : MSGPACK_OBJECT_MAP))
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
