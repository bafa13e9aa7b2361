/* substore.h: the store of durable subscriptions (subscribe {durable:
 * true, name}): their name, query, language and date filters, kept in
 * memory and in the file DB/subscriptions.msgpack, rewritten whole and
 * atomically at each change (ps_write_file_atomic: a temporary file,
 * fsync, rename, fsync of the directory), so that a crash leaves the old
 * or the new store, never a mix.  Format (MessagePack):
 *   {"version": 1, "subs": [{"name", "q", "lang"?, "date_from"?,
 *                            "synonyms"?: false, "owner"?}, ...]}
 * ("synonyms": false only for a subscription made with synonyms: false;
 * "owner": the owner id of the token that made it, auth.h, when access
 * control was on.)
 * Bounds: at most max_entries entries (--max-subscriptions), a name of at
 * most SUBSTORE_MAX_NAME bytes, a file of at most SUBSTORE_MAX_BYTES.
 * Plain data, no thread of its own: the I/O thread owns it (subs.c).
 */
#ifndef SEARCHD_SUBSTORE_H
#define SEARCHD_SUBSTORE_H

#include <stddef.h>
#include <sys/types.h>

#define SUBSTORE_FILE "subscriptions.msgpack"
#define SUBSTORE_MAX_NAME 256u
#define SUBSTORE_MAX_BYTES (16u << 20)

typedef struct substore_entry {
    char *name, *q, *lang, *date_from;  /* lang, date_from may be NULL */
    int no_synonyms;                    /* subscribed with synonyms: false */
    char *owner;        /* owner id of the token that made it, or NULL
                           (made without access control: anyone's) */
} substore_entry;

typedef struct substore {
    char *path;                 /* NULL: not persistent (never saved) */
    substore_entry *v;
    size_t n, cap;
    size_t max_entries;
} substore;

/* Loads path into *st (zeroed first; st->path becomes a copy of path, or
 * stays NULL when path is NULL: an empty store kept in memory only).  A
 * missing file is an empty store.  Returns 0, or -1 with a message in err
 * when the file cannot be read, is larger than SUBSTORE_MAX_BYTES, is not
 * a store of this format (or a later version), holds a malformed entry,
 * a duplicate name, or more than max_entries entries (nothing is kept:
 * the caller must not overwrite the file).  Any thread; st owned by the
 * caller (substore_free). */
int substore_load(substore *st, const char *path, size_t max_entries, char *err,
                  size_t errlen);

/* Frees what st holds (st itself is the caller's). */
void substore_free(substore *st);

/* Index of the entry named name, or -1. */
ssize_t substore_find(const substore *st, const char *name);

/* Appends an entry (strings copied; lang, date_from and owner may be
 * NULL, an empty owner is NULL; no_synonyms: made with synonyms: false)
 * and saves the store.  Returns 0, or -1 with a message in err (nothing
 * changed, in memory or on disk) when name is empty or longer than
 * SUBSTORE_MAX_NAME, already present, the store is full (max_entries) or
 * would pass SUBSTORE_MAX_BYTES, or on allocation or I/O failure. */
int substore_add(substore *st, const char *name, const char *q, const char *lang,
                 const char *date_from, int no_synonyms, const char *owner,
                 char *err, size_t errlen);

/* Removes entry i and saves the store.  Returns 0, or -1 with a message
 * in err (the entry stays, in memory and on disk) on I/O failure. */
int substore_remove(substore *st, size_t i, char *err, size_t errlen);

#endif
