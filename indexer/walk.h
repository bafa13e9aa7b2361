/* walk.h: directory walk and document id derivation for polysearch-index.
 *
 * The walk is recursive, visits entries in byte order of their names,
 * skips hidden entries (names starting with '.'), never follows symbolic
 * links to directories (so link loops cannot hang it) and also refuses to
 * re-enter a directory already on the current path (same dev/ino, e.g. a
 * bind-mount loop).  Symbolic links to regular files are followed.
 * Functions here are reentrant (any thread) unless stated otherwise.
 */
#ifndef PS_INDEXER_WALK_H
#define PS_INDEXER_WALK_H

#include <signal.h>
#include <stdint.h>

/* 1 when the file name ends with ".txt" or ".md" (ASCII case-insensitive)
 * and has something before the extension, 0 otherwise. */
int walk_is_indexable(const char *name);

/* Document id for a file found under a root, from its path relative to
 * that root: '/' separators, repeated '/' and "./" components collapsed,
 * leading and trailing '/' dropped, the extension of the last component
 * removed ("a/b/c.txt" -> "a/b/c", "x.tar.gz" -> "x.tar", ".hidden" stays).
 * Returns a malloc'd string (caller frees; may be "" when nothing is left)
 * or NULL on allocation failure. */
char *walk_id_from_relpath(const char *rel);

/* Document id for a file named on the command line: its base name without
 * extension ("/tmp/notes/readme.md" -> "readme").  Same ownership as
 * walk_id_from_relpath(). */
char *walk_id_from_file(const char *path);

/* One regular file found by walk_tree(). */
typedef struct walk_entry {
    const char *path;       /* root-joined path, usable with open() */
    const char *relpath;    /* path relative to the root */
    uint64_t size;          /* st_size at walk time */
} walk_entry;

/* Called for each indexable regular file; a non-zero return stops the
 * walk.  The entry's strings are valid during the call only. */
typedef int (*walk_fn)(const walk_entry *e, void *ctx);

typedef struct walk_result {
    uint64_t errors;        /* unreadable directories or entries (warned) */
    int stopped;            /* 1 when fn or *stop ended the walk early */
} walk_result;

/* Walks the directory tree at root and calls fn for each indexable file.
 * Entries (files or directories) whose name matches one of the fnmatch(3)
 * patterns of the NULL-terminated `excludes` array (may be NULL) are
 * skipped.
 * Unreadable directories and entries are reported with ps_log(WARN) when
 * `warn` is non-zero and counted in res->errors; the walk goes on.  When
 * stop is not NULL and *stop becomes non-zero, the walk ends early.
 * Returns 0, or -1 on allocation failure or when root is not a readable
 * directory (warned). */
int walk_tree(const char *root, const char *const *excludes, walk_fn fn,
              void *ctx, const volatile sig_atomic_t *stop, int warn,
              walk_result *res);

#endif
