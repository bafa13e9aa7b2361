/* batch.c: add batches and document packing (batch.h). */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

struct ps_add_batch {
    size_t max_docs;
    size_t max_bytes;
    msgpack_sbuffer buf;    /* the documents' maps, back to back */
    size_t *off;            /* max_docs + 1 offsets into buf */
    char **tag;             /* per document: "id\0source\0", malloc'd */
    size_t n;
    uint64_t offset;        /* documents cleared before */
};

/* Packing order: id and body first (the daemon names the id in a
 * rejection even when a later key is wrong). */
static const ps_doc_key pack_order[PS_DOC_NKEYS] = {
    PS_DOC_ID, PS_DOC_BODY, PS_DOC_TITLE, PS_DOC_LANG, PS_DOC_DATE, PS_DOC_URL
};

static int pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

int ps_add_doc_pack(msgpack_packer *pk, const char *const f[PS_DOC_NKEYS])
{
    uint32_t nkeys = 0;
    for (unsigned k = 0; k < PS_DOC_NKEYS; k++)
        nkeys += f[k] != NULL;
    if (msgpack_pack_map(pk, nkeys) != 0)
        return -1;
    for (unsigned i = 0; i < PS_DOC_NKEYS; i++) {
        ps_doc_key k = pack_order[i];
        if (f[k] != NULL &&
            (pack_str(pk, ps_doc_key_name(k)) || pack_str(pk, f[k])))
            return -1;
    }
    return 0;
}

int ps_add_params_pack_begin(msgpack_packer *pk, uint32_t ndocs)
{
    return msgpack_pack_map(pk, 1) || pack_str(pk, "docs") ||
           msgpack_pack_array(pk, ndocs);
}

/* msgpack writer that only counts. */
static int count_bytes(void *data, const char *buf, size_t len)
{
    (void)buf;
    *(size_t *)data += len;
    return 0;
}

static size_t packed_size(const char *const f[PS_DOC_NKEYS])
{
    size_t n = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &n, count_bytes);
    (void)ps_add_doc_pack(&pk, f);
    return n;
}

ps_add_batch *ps_add_batch_new(size_t max_docs, size_t max_bytes)
{
    ps_add_batch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->max_docs = max_docs == 0 || max_docs > PS_ADD_BATCH_MAX_DOCS
                      ? PS_ADD_BATCH_MAX_DOCS : max_docs;
    b->max_bytes = max_bytes == 0 ? PS_ADD_BATCH_MAX_BYTES : max_bytes;
    msgpack_sbuffer_init(&b->buf);
    b->off = calloc(b->max_docs + 1, sizeof *b->off);
    b->tag = calloc(b->max_docs, sizeof *b->tag);
    if (b->off == NULL || b->tag == NULL) {
        ps_add_batch_free(b);
        return NULL;
    }
    return b;
}

void ps_add_batch_free(ps_add_batch *b)
{
    if (b == NULL)
        return;
    if (b->tag != NULL)
        ps_add_batch_clear(b);
    msgpack_sbuffer_destroy(&b->buf);
    free(b->off);
    free(b->tag);
    free(b);
}

ps_add_batch_status ps_add_batch_add(ps_add_batch *b,
                                     const char *const f[PS_DOC_NKEYS],
                                     const char *source)
{
    if (f[PS_DOC_ID] == NULL || f[PS_DOC_BODY] == NULL)
        return PS_ADD_BATCH_INVALID;
    if (b->n == b->max_docs)
        return PS_ADD_BATCH_FULL;
    size_t size = packed_size(f);
    if (b->n > 0 && (b->buf.size + size < b->buf.size ||
                     b->buf.size + size > b->max_bytes))
        return PS_ADD_BATCH_FULL;
    if (source == NULL)
        source = "?";
    size_t idlen = strlen(f[PS_DOC_ID]), srclen = strlen(source);
    char *tag = malloc(idlen + srclen + 2);
    if (tag == NULL)
        return PS_ADD_BATCH_NOMEM;
    memcpy(tag, f[PS_DOC_ID], idlen + 1);
    memcpy(tag + idlen + 1, source, srclen + 1);
    size_t before = b->buf.size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b->buf, msgpack_sbuffer_write);
    if (ps_add_doc_pack(&pk, f) != 0) {
        b->buf.size = before;           /* drop the partial map */
        free(tag);
        return PS_ADD_BATCH_NOMEM;
    }
    b->tag[b->n] = tag;
    b->n++;
    b->off[b->n] = b->buf.size;
    return PS_ADD_BATCH_OK;
}

int ps_add_batch_full(const ps_add_batch *b)
{
    return b->n >= b->max_docs;
}

size_t ps_add_batch_count(const ps_add_batch *b)
{
    return b->n;
}

size_t ps_add_batch_bytes(const ps_add_batch *b)
{
    return b->buf.size;
}

size_t ps_add_batch_doc_bytes(const ps_add_batch *b, size_t i)
{
    return i < b->n ? b->off[i + 1] - b->off[i] : 0;
}

const char *ps_add_batch_id(const ps_add_batch *b, size_t i)
{
    return i < b->n ? b->tag[i] : NULL;
}

const char *ps_add_batch_source(const ps_add_batch *b, size_t i)
{
    return i < b->n ? b->tag[i] + strlen(b->tag[i]) + 1 : NULL;
}

uint64_t ps_add_batch_offset(const ps_add_batch *b)
{
    return b->offset;
}

int ps_add_batch_params(const ps_add_batch *b, size_t first, size_t n,
                        char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (n == 0 || first > b->n || n > b->n - first || n > UINT32_MAX)
        return -1;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    size_t from = b->off[first], to = b->off[first + n];
    if (ps_add_params_pack_begin(&pk, (uint32_t)n) != 0 ||
        msgpack_sbuffer_write(&sb, b->buf.data + from, to - from) != 0) {
        msgpack_sbuffer_destroy(&sb);
        return -1;
    }
    *len = sb.size;
    *out = msgpack_sbuffer_release(&sb);
    return 0;
}

void ps_add_batch_clear(ps_add_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->tag[i]);
        b->tag[i] = NULL;
    }
    b->offset += b->n;
    b->n = 0;
    b->buf.size = 0;
}
