/* batch.h: the add batcher shared by `polysearch add` (client/cli_add.c)
 * and `polysearch-index --server` (indexer/remote.c), and the packing of
 * one document map used by every `add` request (client/calls.c too).
 *
 * A batch packs documents (already checked with docvalid.h) as the
 * MessagePack maps of an `add` request's "docs" array, up to max_docs
 * documents and max_bytes packed bytes, and remembers for each the id and
 * the caller's source text ("FILE:LINE"), so that the `rejected[].index`
 * of the daemon's answer maps back to the input.  ps_add_batch_params()
 * gives the params map {"docs": [...]} ready for psc_add_packed().
 *
 * One thread at a time per batch; the pack functions are reentrant.
 */
#ifndef PS_BATCH_H
#define PS_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#include "docvalid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The protocol's default max_add_docs: documents per add request. */
#define PS_ADD_BATCH_MAX_DOCS 1000u
/* Packed document bytes per request: half the daemon's default 1 MiB
 * frame (--max-frame), leaving room for a larger document. */
#define PS_ADD_BATCH_MAX_BYTES (512u * 1024u)

/* Packs one document map {id, body, title?, lang?, date?, url?} from the
 * NUL-terminated fields f (NULL = left out).  Returns 0, or -1 when the
 * packer's writer fails.  Any thread. */
int ps_add_doc_pack(msgpack_packer *pk, const char *const f[PS_DOC_NKEYS]);

/* Packs the start of add's params map, {"docs": [, for ndocs maps that
 * the caller packs next.  Returns 0 or -1 (writer failure).  Any thread. */
int ps_add_params_pack_begin(msgpack_packer *pk, uint32_t ndocs);

typedef struct ps_add_batch ps_add_batch;

typedef enum ps_add_batch_status {
    PS_ADD_BATCH_OK = 0,        /* the document is in the batch */
    PS_ADD_BATCH_FULL,          /* not added: send and clear, then again */
    PS_ADD_BATCH_INVALID,       /* not added: id or body is NULL */
    PS_ADD_BATCH_NOMEM          /* not added: allocation failure */
} ps_add_batch_status;

/* Returns a new empty batch of at most max_docs documents (0 or more than
 * PS_ADD_BATCH_MAX_DOCS: PS_ADD_BATCH_MAX_DOCS) and about max_bytes packed
 * bytes (0: PS_ADD_BATCH_MAX_BYTES), or NULL on allocation failure.
 * Caller owns it (ps_add_batch_free). */
ps_add_batch *ps_add_batch_new(size_t max_docs, size_t max_bytes);

/* Frees the batch and its documents (NULL is fine). */
void ps_add_batch_free(ps_add_batch *b);

/* Packs a copy of document f (NUL-terminated fields, NULL = absent) into
 * the batch with a copy of `source` (NULL: "?").  A document that would
 * take the batch past max_docs, or past max_bytes when the batch is not
 * empty, is not added: PS_ADD_BATCH_FULL.  A document larger than
 * max_bytes alone goes into an empty batch (it is sent alone).  Nothing of
 * f or source is kept by reference. */
ps_add_batch_status ps_add_batch_add(ps_add_batch *b,
                                     const char *const f[PS_DOC_NKEYS],
                                     const char *source);

/* 1 when the batch holds max_docs documents (send it now), else 0. */
int ps_add_batch_full(const ps_add_batch *b);

/* Documents in the batch. */
size_t ps_add_batch_count(const ps_add_batch *b);

/* Packed bytes of the documents in the batch (without the params
 * header). */
size_t ps_add_batch_bytes(const ps_add_batch *b);

/* Packed bytes of document i, 0 when i >= count. */
size_t ps_add_batch_doc_bytes(const ps_add_batch *b, size_t i);

/* The id / the source of document i (owned by the batch, valid until it
 * is cleared), or NULL when i >= count: a `rejected[].index` of the
 * daemon's answer to ps_add_batch_params(b, first, ...) is document
 * first + index here. */
const char *ps_add_batch_id(const ps_add_batch *b, size_t i);
const char *ps_add_batch_source(const ps_add_batch *b, size_t i);

/* Documents cleared from this batch before (so document i is the
 * (offset + i)th added since ps_add_batch_new, counting from 0). */
uint64_t ps_add_batch_offset(const ps_add_batch *b);

/* Packs the params map {"docs": [documents first..first+n)]} into a new
 * malloc'd buffer *out of *len bytes (caller frees), for psc_add_packed().
 * Returns 0, or -1 (n == 0, out of range, or allocation failure; *out is
 * then NULL). */
int ps_add_batch_params(const ps_add_batch *b, size_t first, size_t n,
                        char **out, size_t *len);

/* Drops every document (after sending, or on failure) and adds their
 * number to the offset.  Keeps the allocated memory for the next batch. */
void ps_add_batch_clear(ps_add_batch *b);

#ifdef __cplusplus
}
#endif
#endif
