/* watch.h: polysearch-index --watch DIR: keeps a database (or, with
 * --server, a running daemon) in step with a directory tree.
 *
 * Watches are set on every directory of the tree first (inotify), then the
 * tree is indexed once (incremental: unchanged files are skipped, as in a
 * normal run); after that, each new, changed, moved or deleted .txt/.md
 * file is indexed or deleted once no event has touched it for `settle_ms`
 * (files still being written).  New subdirectories are watched and the
 * files already in them indexed; a directory moved out of the tree or
 * removed has its documents deleted (local database; see remote mode
 * below); an inotify queue overflow or a full pending set triggers a full
 * rescan.  Hidden names (".*", so ".#x" and ".x.swp" too), names ending in
 * "~" or ".swp", files that are not .txt/.md and --exclude matches are
 * ignored.  Logs "indexed REL" and "deleted ID" once committed.
 *
 * Local mode holds the database's write lock for the whole run; readers
 * (polysearch-index --query, polysearchd) can still open it read-only.
 * Remote mode (rm != NULL): the daemon cannot list ids, so the documents
 * of a directory moved out of the tree are not deleted (files deleted one
 * by one, as rm -r does, are).
 *
 * Main thread only: installs SIGINT/SIGTERM handlers while running.
 */
#ifndef PS_INDEXER_WATCH_H
#define PS_INDEXER_WATCH_H

#include "remote.h"
#include "run.h"

/* Default settle delay, milliseconds. */
#define WATCH_DEFAULT_SETTLE_MS 500u

/* Runs the watcher on directory root until SIGINT or SIGTERM, then
 * finishes what is pending, commits and returns 0.  o gives the database
 * path (local mode), language, excludes, batch size and limits; when rm is
 * not NULL documents go to that daemon instead.  o->prune (local mode
 * only) prunes in the initial pass and in rescans.  Returns 0, or an exit
 * code after logging (EX_NOINPUT: root is not a directory; EX_TEMPFAIL:
 * database locked; EX_OSERR: inotify unavailable or out of watches; codes
 * of run_index() for fatal indexing errors). */
int watch_run(const run_opts *o, const char *root, unsigned settle_ms,
              remote *rm);

#endif
