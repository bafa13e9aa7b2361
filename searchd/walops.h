/* walops.h: what one write-ahead-log record holds (docs/WAL.md, "Record
 * payload"): the changes of one writer group, in the order they were
 * applied, as a MessagePack array of operations
 *
 *     [["put", {id, body, title?, lang?, date?, url?}], ["del", "ID"], ...]
 *
 * The document map is the one an `add` request carries (batch.h's
 * ps_add_doc_pack), so the log is readable with any MessagePack tool.
 * Packing and unpacking are reentrant (any thread).
 */
#ifndef SEARCHD_WALOPS_H
#define SEARCHD_WALOPS_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#include "ps_types.h"

/* Starts a record of nops operations (packed through pk).
 * Returns 0 or -1 (allocation failure). */
int walops_begin(msgpack_packer *pk, uint32_t nops);

/* Appends a put of document d (id and body required).  Returns 0 or -1. */
int walops_put(msgpack_packer *pk, const ps_doc_in *d);

/* Appends a delete of id.  Returns 0 or -1. */
int walops_del(msgpack_packer *pk, const char *id);

/* Called for each operation of a record, in order: put != NULL for a
 * put (fields NUL-terminated, valid only during the call), else del_id
 * for a delete.  Returns 0 to go on, nonzero to stop (walops_unpack then
 * returns that value). */
typedef int (*walops_fn)(void *arg, const ps_doc_in *put, const char *del_id);

/* Decodes record payload p[0..n) and calls fn for each operation.
 * Documents are checked with the network's document rules (docvalid.h,
 * no body limit: a record that was acknowledged is never refused for a
 * limit lowered since).  Returns 0, fn's nonzero value, or -1 when the
 * payload is not a valid record (nothing after the bad operation is
 * called; the message goes to err). */
int walops_unpack(const void *p, size_t n, walops_fn fn, void *arg,
                  char *err, size_t errlen);

#endif
