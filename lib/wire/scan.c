/* scan.c: the resumable MessagePack frame scanner (rpc.h, "Frame
 * scanner").
 *
 * Untrusted bytes reach msgpack_unpack_next() (decode.c) only after this
 * scanner has accepted the whole frame, so every declared count and length
 * is backed by real bytes and the nesting depth is bounded.
 */
#include "rpc.h"

#include <string.h>

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
