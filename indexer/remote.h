/* remote.h: polysearch-index --server ADDR: documents go to a running
 * polysearchd through the client library's add and delete calls instead of
 * into a local database.
 *
 * Documents given to remote_put() are checked with the network's strict
 * document rules (lib/wire/docvalid.h) and packed into an add batch
 * (lib/wire/batch.h); the batch is sent with one `add` call when it holds
 * `batch` documents (at most 1000, the protocol's cap) or 512 KiB packed,
 * and at remote_flush().  A batch counts as committed only once the
 * daemon has answered (it answers after its commit).  Rejected documents
 * are warned about with the file or FILE:LINE they came from and counted
 * failed.  A lost connection is re-established once and the batch re-sent
 * (add is insert-or-replace by id, so a repeat is harmless); `busy`
 * answers are retried with a growing pause for about 10 s.
 *
 * With a token (--token-file FILE or $POLYSEARCH_TOKEN), every connection
 * is authenticated (auth {token}) right after it is made, also after a
 * reconnect.  A refusal for want of a token or of a role (unauthorized,
 * forbidden) is fatal: EX_NOPERM, with a message that never quotes the
 * token.
 *
 * One thread at a time per remote (the thread running run_index()).
 */
#ifndef PS_INDEXER_REMOTE_H
#define PS_INDEXER_REMOTE_H

#include "run.h"

#include <stddef.h>
#include <stdint.h>

typedef struct remote remote;

/* Largest number of documents in one add call (the protocol's limit). */
#define REMOTE_MAX_BATCH 1000u

/* Connects to the daemon at addr ("host:port", "host", "[v6]:port",
 * "unix:/path"), authenticates with token when not NULL, and checks it
 * answers ping.  batch is the number of documents per add call (capped at
 * REMOTE_MAX_BATCH).  token and token_from (where the token came from, for
 * messages: "token file F", "$POLYSEARCH_TOKEN") are not copied: they must
 * outlive the handle.  On success returns 0 and *out is a new handle
 * (caller owns; remote_close).  Otherwise logs an error naming the address
 * and returns EX_UNAVAILABLE (unreachable), EX_USAGE (malformed address),
 * EX_NOPERM (the token was refused, or its role is read: adding needs
 * write) or EX_SOFTWARE (out of memory). */
int remote_open(const char *addr, uint64_t batch, const char *token,
                const char *token_from, remote **out);

/* Frees the handle and closes the connection; documents not yet flushed
 * are dropped (call remote_flush() first).  NULL is fine. */
void remote_close(remote *rm);

/* A run_sink over rm for run_index() (run_opts.sink); rm must outlive the
 * run. */
run_sink remote_sink(remote *rm);

/* run_sink.put: checks d (a refused document is warned about with `where`
 * and counted failed), copies it (and `where`) into the batch, sends the
 * batch when full.  Returns 0 or a <sysexits.h> code (EX_UNAVAILABLE:
 * connection lost twice or daemon without `add`; EX_TEMPFAIL: busy for
 * too long; EX_NOPERM: unauthorized or forbidden; EX_PROTOCOL: unexpected
 * answer; EX_SOFTWARE: out of memory). */
int remote_put(void *rm, const ps_doc_in *d, const char *where,
               run_stats *st);

/* run_sink.flush: sends the batch (if any) and waits for its answer; the
 * counts go to *st.  Same returns as remote_put(). */
int remote_flush(void *rm, run_stats *st);

/* Deletes ids[0..n) (n <= REMOTE_MAX_BATCH) on the daemon; on success
 * *deleted and *not_found (either may be NULL) receive its counts.
 * Returns 0 or a code as remote_put(). */
int remote_delete(remote *rm, const char *const *ids, size_t n,
                  uint64_t *deleted, uint64_t *not_found);

/* The address given to remote_open(); owned by rm. */
const char *remote_addr(const remote *rm);

#endif
