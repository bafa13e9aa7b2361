/* alerts_pack.c: the notifications of the alert thread, packed: batches
 * (alert_batch, handed to the I/O thread, see alerts.h) of whole
 * MessagePack-RPC notifications, "match" and "lagged" (docs/PROTOCOL.md,
 * subscribe).  No thread of its own: the alert thread fills a batch, the
 * I/O thread reads and frees it; the I/O thread packs its own "lagged"
 * with alerts_pack_lagged too (subs.c). */
#include "alerts_internal.h"

#include <stdlib.h>
#include <string.h>

#include "rpc.h"

alert_batch *alerts_batch_new(void)
{
    alert_batch *b = calloc(1, sizeof *b);
    if (b) msgpack_sbuffer_init(&b->buf);
    return b;
}

void alerts_batch_free(void *p)
{
    alert_batch *b = p;
    if (!b) return;
    free(b->v);
    msgpack_sbuffer_destroy(&b->buf);
    free(b);
}

static void kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    ps_rpc_pack_str(pk, v);
}

/* Room for one more note in b.  Returns 0 or -1. */
static int note_room(alert_batch *b)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        alert_note *v = realloc(b->v, cap * sizeof *v);
        if (!v) return -1;
        b->v = v;
        b->cap = cap;
    }
    return 0;
}

int alerts_pack_match(void *ctx, const ps_match *mt)
{
    alert_batch *b = ctx;
    const asub *as = mt->user;
    if (!b->catchup && as && mt->seq <= as->floor) return 0;
    if (note_room(b) != 0) return -1;
    size_t off = b->buf.size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b->buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, 2);
    msgpack_pack_str_with_body(&pk, "match", 5);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 7 + (mt->date != NULL) + (mt->url != NULL) + (mt->replaced != 0));
    msgpack_pack_str_with_body(&pk, "subscription", 12);
    msgpack_pack_uint64(&pk, mt->sub);
    kv_str(&pk, "name", as ? as->name : "");
    kv_str(&pk, "id", mt->id);
    kv_str(&pk, "title", mt->title);
    kv_str(&pk, "lang", mt->lang);
    if (mt->date) kv_str(&pk, "date", mt->date);
    if (mt->url) kv_str(&pk, "url", mt->url);
    kv_str(&pk, "snippet", mt->snippet);
    msgpack_pack_str_with_body(&pk, "seq", 3);
    msgpack_pack_uint64(&pk, mt->seq);
    if (mt->replaced) {
        msgpack_pack_str_with_body(&pk, "replaced", 8);
        msgpack_pack_true(&pk);
    }
    b->v[b->n++] = (alert_note){mt->sub, off, b->buf.size - off, mt->seq};
    b->last_seq = mt->seq;
    return 0;
}

int alerts_pack_lagged(msgpack_packer *pk, uint64_t sub, uint64_t dropped,
                       int has_from, uint64_t from)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint8(pk, 2);
    msgpack_pack_str_with_body(pk, "lagged", 6);
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 2 + (has_from != 0));
    msgpack_pack_str_with_body(pk, "subscription", 12);
    msgpack_pack_uint64(pk, sub);
    msgpack_pack_str_with_body(pk, "dropped", 7);
    int e = msgpack_pack_uint64(pk, dropped);
    if (has_from) {
        msgpack_pack_str_with_body(pk, "resume_from", 11);
        e = msgpack_pack_uint64(pk, from);
    }
    return e;
}

int alerts_batch_lagged(alert_batch *b, uint64_t sub, uint64_t dropped, uint64_t from)
{
    if (note_room(b) != 0) return -1;
    size_t off = b->buf.size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b->buf, msgpack_sbuffer_write);
    if (alerts_pack_lagged(&pk, sub, dropped, 1, from) != 0) return -1;
    b->v[b->n++] = (alert_note){sub, off, b->buf.size - off, 0};
    return 0;
}
