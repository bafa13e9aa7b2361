/* polysearch.h: the public C API of the polysearch core over Xapian.
 *
 * Threading rule: a ps_db handle is used by one thread at a time.  Each
 * daemon worker owns its own read-only handle.  There is exactly one
 * writable handle per database at a time (Xapian's writer lock); opening a
 * second one fails with PS_ERR_LOCKED.  The one object meant to be shared
 * between threads is a ps_delta (see its section for who calls what).
 *
 * Errors: every function returns a ps_status.  Output pointers are set to
 * NULL on failure.  The Xapian message of the last failure on a handle is
 * available from ps_db_errmsg().  No C++ exception ever crosses this API.
 */
#ifndef POLYSEARCH_H
#define POLYSEARCH_H

#include "ps_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PS_VERSION "0.1.0"

/* The implementation (the .cc files of lib/core/) never lets an exception
 * out: every entry point is noexcept when seen from C++. */
#ifdef __cplusplus
#define PS_NOEXCEPT noexcept
#else
#define PS_NOEXCEPT
#endif

/* Hard limits of the data model. */
#define PS_MAX_ID_BYTES 240
#define PS_DEFAULT_MAX_WILDCARD 1000
#define PS_DEFAULT_MAX_QUERY_BYTES 4096

typedef struct ps_db ps_db;

typedef enum ps_db_mode {
    PS_DB_READ = 0,         /* read-only; database must exist */
    PS_DB_WRITE = 1         /* writable; created when missing; takes lock */
} ps_db_mode;

/* Opens the glass database in directory `path`.  On success *out is a new
 * handle (caller owns; ps_db_close).  On failure *out is NULL and, when
 * errmsg is not NULL, *errmsg receives a malloc'd message (caller frees)
 * naming the cause (for PS_ERR_LOCKED: that another writer holds the lock,
 * with the pid when it can be found).  Any thread. */
ps_status ps_db_open(const char *path, ps_db_mode mode, ps_db **out,
                     char **errmsg) PS_NOEXCEPT;

/* What a path holds, as ps_db_place_of() sees it (for ps_db_create()). */
typedef enum ps_db_place {
    PS_PLACE_MISSING = 0,   /* nothing at the path */
    PS_PLACE_EMPTY = 1,     /* an empty directory, or one holding only the
                               leftovers of a killed creation (flintlock,
                               v.tmp, empty *.glass; see ps_db_open) */
    PS_PLACE_DATABASE = 2,  /* a directory holding a glass database
                               (iamglass), a xapian-replicate replica
                               (XAPIANDB) or a shard set (SHARDS) */
    PS_PLACE_OTHER = 3      /* anything else: not a directory, a directory
                               holding other files, unreadable, unreachable */
} ps_db_place;

/* Says what is at `path`, changing nothing and opening no database (so a
 * PS_PLACE_DATABASE may still fail to open).  When why is not NULL,
 * *why is, for PS_PLACE_OTHER, a malloc'd sentence naming the path and
 * the reason (caller frees), else NULL.  NULL or "" path: PS_PLACE_OTHER.
 * Any thread. */
ps_db_place ps_db_place_of(const char *path, char **why) PS_NOEXCEPT;

/* Makes an empty database at `path` when none is there, for a service
 * that starts from nothing and is fed through ps_db_put (polysearchd
 * --create).  By what ps_db_place_of(path) says:
 * - PS_PLACE_MISSING: the directory is made (mode 0777 less the umask;
 *   only the last component: PS_ERR_NO_DB naming the parent when that is
 *   missing), then the database in it;
 * - PS_PLACE_EMPTY: the database is made in the directory;
 * - PS_PLACE_DATABASE: nothing is written (*created = 0);
 * - PS_PLACE_OTHER: nothing is written, PS_ERR_INVALID with the reason
 *   (a file or a directory holding other files is never written into).
 * A made database (*created = 1; created may be NULL) holds 0 documents,
 * is committed and its directory entries are synced (it survives a
 * crash), and ps_db_open() opens it in both modes.  The write lock is
 * taken for the creation only.  Other errors: PS_ERR_IO (mkdir or fsync
 * failed: EACCES, EROFS, ENOSPC, ...), PS_ERR_LOCKED (another writer is
 * creating it at the same moment), or what ps_db_open(PS_DB_WRITE)
 * returns; on failure a directory this call made is removed when still
 * empty.  *errmsg as for ps_db_open().  Any thread. */
ps_status ps_db_create(const char *path, int *created, char **errmsg) PS_NOEXCEPT;

/* Closes the handle.  A writable handle commits pending changes first;
 * returns the status of that commit (the handle is freed regardless).
 * NULL is fine.  Thread that owns the handle. */
ps_status ps_db_close(ps_db *db) PS_NOEXCEPT;

/* Message of the last failure on this handle ("" if none).  Valid until the
 * next call on the handle.  Thread that owns the handle. */
const char *ps_db_errmsg(const ps_db *db) PS_NOEXCEPT;

/* Read-only handles: reopens at the latest committed revision.  *changed
 * (may be NULL) is set to 1 when the revision moved.  Owner thread. */
ps_status ps_db_reopen(ps_db *db, int *changed) PS_NOEXCEPT;

/* Revision of the handle's current snapshot.  Owner thread. */
uint64_t ps_db_revision(ps_db *db) PS_NOEXCEPT;

/* Latest committed revision on disk, read without reopening this handle
 * (cheap: reads the version file).  Returns 0 on failure.  Any thread. */
uint64_t ps_db_disk_revision(const char *path) PS_NOEXCEPT;

/* ---- Writing ---------------------------------------------------------- */

/* ps_doc_in, the document to add, is defined in ps_types.h (the client
 * library sends the same struct as psc_doc). */

typedef enum ps_put_outcome {
    PS_PUT_ADDED = 0,
    PS_PUT_REPLACED = 1,
    PS_PUT_UNCHANGED = 2    /* same content hash as stored: nothing written */
} ps_put_outcome;

/* Adds or replaces the document with doc->id (writable handle).  When the
 * stored content hash equals the new one, nothing is written and *outcome
 * is PS_PUT_UNCHANGED.  PS_ERR_INVALID for a missing/too long id, a bad
 * date or a bad lang code (message in ps_db_errmsg).  Changes are durable
 * only after ps_db_commit().  outcome may be NULL.  Owner thread. */
ps_status ps_db_put(ps_db *db, const ps_doc_in *doc, ps_put_outcome *outcome) PS_NOEXCEPT;

/* Deletes the document with this id.  PS_ERR_NOT_FOUND when absent.
 * Owner thread, writable handle. */
ps_status ps_db_delete(ps_db *db, const char *id) PS_NOEXCEPT;

/* Commits pending changes; when it returns PS_OK they survive kill -9.
 * PS_ERR_IO (ENOSPC included) leaves the last commit intact.  Owner
 * thread, writable handle. */
ps_status ps_db_commit(ps_db *db) PS_NOEXCEPT;

/* Discards uncommitted changes (writable handle).  Owner thread. */
ps_status ps_db_cancel(ps_db *db) PS_NOEXCEPT;

/* Replaces the boilerplate line list used when indexing by the built-in
 * list plus the lines of `path` (one line pattern per line, '#' comments;
 * NULL -> built-in list only).  Returns PS_ERR_IO if unreadable.  Owner
 * thread. */
ps_status ps_db_set_boilerplate_file(ps_db *db, const char *path) PS_NOEXCEPT;

/* ---- Writing in two steps: analysis on any thread, write on the owner ---
 *
 * ps_db_put() is ps_doc_prepare() followed by ps_db_put_prepared().  A
 * bulk writer can run the analysis (validation, language ID, title,
 * boilerplate cleaning, folding, stemming: everything but the write) on
 * worker threads and keep only the writes on the thread that owns the
 * writable handle.  To skip unchanged documents before analysing them,
 * compute ps_doc_content_hash() and ask ps_db_check_unchanged(). */

/* The matcher type of analyze.h (an identical typedef is allowed). */
typedef struct ps_boilerplate ps_boilerplate;

/* A document analysed and ready to write: the Xapian document (terms,
 * positions, values, stored fields) plus the title words for the spelling
 * table.  Opaque; holds no database handle. */
typedef struct ps_prepared ps_prepared;

/* Content hash of a document as ps_db_put() stores it (value 2, and the
 * "hash" field of ps_db_get): 16 lower-case hex digits and a NUL written
 * to out[0..17).  Covers title, body, lang, date and url exactly as given
 * (an unset lang hashes like "": the same input always gives the same
 * hash).  Pure; any thread. */
void ps_doc_content_hash(const ps_doc_in *doc, char out[17]) PS_NOEXCEPT;

/* Sets *unchanged to 1 when a document with this id is stored (committed
 * or not yet committed on this handle; on a handle attached to a ps_delta,
 * main + published delta) with content hash hash_hex, else
 * to 0.  PS_ERR_INVALID for an invalid id or a NULL argument.  Any handle
 * (reads only).  Owner thread. */
ps_status ps_db_check_unchanged(ps_db *db, const char *id,
                                const char *hash_hex, int *unchanged) PS_NOEXCEPT;

/* The boilerplate matcher this handle uses for ps_db_put() (the built-in
 * list, or the one loaded by ps_db_set_boilerplate_file()).  NULL only on
 * allocation failure.  The matcher is immutable, so any number of threads
 * may pass it to ps_doc_prepare() at once; it stays valid until the next
 * ps_db_set_boilerplate_file() or ps_db_close() on the handle, which the
 * owner must not call while other threads use it.  Owner thread. */
const ps_boilerplate *ps_db_boilerplate(ps_db *db) PS_NOEXCEPT;

/* Analyses doc into a new prepared document (*out; caller frees with
 * ps_prepared_free()).  The strings of doc are borrowed for the call only.
 * bp: boilerplate matcher for title derivation and cleaning (usually
 * ps_db_boilerplate()); NULL -> the built-in list.  Errors (*out NULL):
 * PS_ERR_INVALID for a missing/too long id, a missing body, a bad lang
 * code or a bad date, PS_ERR_NOMEM, PS_ERR_INTERNAL; then, when errmsg is
 * not NULL, *errmsg is a malloc'd message (caller frees; the same text
 * ps_db_put() would leave in ps_db_errmsg()); on success *errmsg is NULL.
 * Touches no database: any thread, any number of threads at once.  Each
 * calling thread keeps a memo of recent stems (256 KiB per language used,
 * allocated once, freed when the thread exits). */
ps_status ps_doc_prepare(const ps_doc_in *doc, const ps_boilerplate *bp,
                         ps_prepared **out, char **errmsg) PS_NOEXCEPT;

/* Writes a prepared document like ps_db_put(): compares the content hash
 * with the stored one at this moment (so writes in input order keep "the
 * later duplicate wins"), and when it differs adds the title words to the
 * spelling table and adds or replaces the document.  *outcome (may be
 * NULL) as for ps_db_put().  Does NOT take ownership: p is unchanged and
 * the caller still frees it (writing it twice gives PS_PUT_UNCHANGED).
 * Durable only after ps_db_commit().  Owner thread of a writable handle;
 * p may have been prepared on any thread (hand it over with the usual
 * synchronisation, e.g. a mutex-protected queue). */
ps_status ps_db_put_prepared(ps_db *db, const ps_prepared *p,
                             ps_put_outcome *outcome) PS_NOEXCEPT;

/* Id of a prepared document (valid while p lives).  Any thread holding p. */
const char *ps_prepared_id(const ps_prepared *p) PS_NOEXCEPT;

/* Frees a prepared document (NULL is fine).  Any thread holding p. */
void ps_prepared_free(ps_prepared *p) PS_NOEXCEPT;

/* ---- Bulk builds: a new database written by several threads -----------
 *
 * Xapian has one writer per database, so a new database is built as N
 * parts, each a database of its own written by one thread, then merged
 * with Xapian's compactor (which also makes the result compact) and
 * switched in at its path in one rename:
 *
 *   ps_bulk_begin(path, N)    claims path, creates the N parts
 *   ps_bulk_part(b, i)        part i's writable handle, for one thread:
 *                             ps_db_put_prepared(), ps_db_commit()
 *   ps_bulk_finish(b)         merges the parts and switches the result in
 *   ps_bulk_abort(b)          discards everything
 *
 * Until ps_bulk_finish() has returned PS_OK, path holds no database: at
 * most an empty directory whose write lock the build holds (other
 * writers get PS_ERR_LOCKED naming the process, readers find no
 * database).  A crash at any moment leaves that or the whole new
 * database, never part of one.  The parts live in a scratch directory
 * beside path (".NAME.bulk-XXXXXX" in path's parent, which must be
 * writable and on the same filesystem); finish and abort remove it, and
 * after a crash the next ps_bulk_begin() for the same path does.  Parts
 * are written without fsync (a crash discards the build anyway); finish
 * syncs the merged database before the switch.
 *
 * The result equals a database that ps_db_put_prepared() of the same
 * documents into one handle would make (documents, terms, values,
 * spelling words and frequencies, statistics), as long as every copy of
 * an id goes to the same part (deal them with ps_shard_of(id, N)), except
 * for the document numbers: the parts' documents follow each other, so
 * results of equal weight may come in another order; and for change seqs
 * (ps_db_stamp_seqs): a bulk build stamps none. */

/* A bulk build in progress.  Opaque. */
typedef struct ps_bulk ps_bulk;

/* Starts a bulk build of a new database at `path` with nparts (1..64)
 * parts.  path must be missing (its parent existing) or an empty
 * directory (ps_db_place_of: PS_PLACE_MISSING or PS_PLACE_EMPTY); it is
 * made when missing and its write lock is taken.  Scratch directories
 * of crashed builds of the same path are removed (logged).  Errors (*out
 * NULL, *errmsg a malloc'd message when errmsg is not NULL, caller
 * frees): PS_ERR_INVALID when path holds a database or anything else,
 * or is a mount point (the result could not be renamed into it);
 * PS_ERR_LOCKED when another writer holds path's lock (the message
 * names it); PS_ERR_NO_DB when the parent is missing; PS_ERR_IO when a
 * directory or file cannot be made (permissions, disk full).  On
 * failure nothing is left behind.  Any thread; the build then belongs
 * to that thread (ps_bulk_finish, ps_bulk_abort). */
ps_status ps_bulk_begin(const char *path, uint32_t nparts, ps_bulk **out,
                        char **errmsg) PS_NOEXCEPT;

/* Removes the scratch directories that crashed bulk builds of `path` left
 * beside it (".NAME.bulk-*" whose build no longer runs: its lock file is
 * not locked), each logged as an info line; a build still running is left
 * alone.  ps_bulk_begin() does it; a writer that opens path otherwise
 * (an incremental run) should too, or a crash between the switch and the
 * removal leaves one behind for good.  Returns how many were removed.
 * Any thread. */
unsigned ps_bulk_cleanup(const char *path) PS_NOEXCEPT;

/* Number of parts of b (0 for NULL).  Any thread. */
uint32_t ps_bulk_nparts(const ps_bulk *b) PS_NOEXCEPT;

/* The writable handle of part i (NULL when i is out of range), owned by
 * b: do not close it.  Each part may be used by one thread (its own
 * one), all parts at once: ps_db_put_prepared(), ps_db_put(),
 * ps_db_check_unchanged(), ps_db_commit(), ps_db_count().  The title
 * words of what is written are kept in memory for finish (not in the
 * part's spelling table). */
ps_db *ps_bulk_part(ps_bulk *b, uint32_t i) PS_NOEXCEPT;

/* The scratch directory of b (valid while b lives), for messages and
 * tests.  Any thread. */
const char *ps_bulk_scratch(const ps_bulk *b) PS_NOEXCEPT;

/* Ends the build: commits and closes the parts, writes the spelling
 * words they collected, merges everything with Xapian's compactor into
 * one compact database, syncs it and puts it at the path given to
 * ps_bulk_begin() in one atomic rename (renameat2 RENAME_EXCHANGE with
 * the locked empty directory; where the filesystem lacks it, the empty
 * directory is emptied and replaced).  On PS_OK *ndocs (may be NULL) is
 * the number of documents of the new database, which readers and
 * writers can open at once.  On failure (PS_ERR_IO: disk full, I/O
 * error; PS_ERR_NOMEM; PS_ERR_INTERNAL) nothing is switched in, the path
 * is left as ps_bulk_begin() found it, and *errmsg is set as for
 * ps_bulk_begin().  b is freed in every case, and the scratch directory
 * removed.  Call only when no thread uses a part any more; the thread
 * that began the build.  Takes time: about what xapian-compact of the
 * parts takes. */
ps_status ps_bulk_finish(ps_bulk *b, uint64_t *ndocs, char **errmsg) PS_NOEXCEPT;

/* Discards the build: the parts' changes, the scratch directory, and the
 * directory and lock file ps_bulk_begin() made; frees b (NULL is fine).
 * Call only when no thread uses a part any more. */
void ps_bulk_abort(ps_bulk *b) PS_NOEXCEPT;

/* ---- Reading ---------------------------------------------------------- */

/* Fetches the stored document.  *out is a new block (caller frees with
 * ps_document_free) or NULL with PS_ERR_NOT_FOUND.  Owner thread. */
ps_status ps_db_get(ps_db *db, const char *id, ps_document **out) PS_NOEXCEPT;

/* Number of documents.  Owner thread. */
ps_status ps_db_count(ps_db *db, uint64_t *n) PS_NOEXCEPT;

/* Per-language document counts, as a ps_results block with no hits whose
 * facets are the counts (caller frees with ps_results_free).  Owner
 * thread. */
ps_status ps_db_lang_counts(ps_db *db, ps_results **out) PS_NOEXCEPT;

/* Calls fn(id, ctx) for every document id, in id order; stops early when fn
 * returns non-zero.  Owner thread. */
ps_status ps_db_foreach_id(ps_db *db, int (*fn)(const char *id, void *ctx),
                           void *ctx) PS_NOEXCEPT;

/* A search request.  Zero-initialise and set what you need. */
typedef struct ps_query {
    const char *q;          /* query string, Xapian syntax, any language */
    uint32_t offset;
    uint32_t limit;         /* 0 -> 10 */
    const char *lang;       /* filter to one language code, or NULL */
    ps_sort sort;
    const char *date_from;  /* ISO 8601 inclusive bound, or NULL */
    const char *date_to;    /* ISO 8601 inclusive bound, or NULL */
    int snippets;           /* non-zero: compute snippets with highlights */
    int facets;             /* non-zero: language facet counts */
    int spelling;           /* non-zero: suggestion when one exists */
    uint32_t max_wildcard;  /* 0 -> PS_DEFAULT_MAX_WILDCARD */
    uint32_t snippet_bytes; /* 0 -> 200 */
    uint32_t max_query;     /* bytes of q; 0 -> PS_DEFAULT_MAX_QUERY_BYTES */
    int no_synonyms;        /* non-zero: no synonym expansion (see
                               "Synonyms" below; default: expanded) */
} ps_query;

/* Runs a search.  Query syntax: words (AND by default), "phrases", OR,
 * NOT, AND, parentheses, prefix wildcard word*, title:word, lang:xx.
 * Words are folded (case, diacritics) and matched with each document's own
 * language stemmer as well as exactly.  Unless q->no_synonyms, the bare
 * words of the query that are a synonym key are searched as any member of
 * their group (see "Synonyms"): the results list the expansions
 * (ps_results expanded) and each hit the members it matched through
 * (ps_hit synonyms).  On success *out is a new block
 * (caller frees with ps_results_free).  Errors: PS_ERR_QUERY (message in
 * ps_db_errmsg), PS_ERR_TOO_MANY_TERMS, PS_ERR_INVALID (bad dates),
 * PS_ERR_TOO_LARGE (q longer than max_query bytes: the one place this
 * limit is checked, for the daemon and the indexer's --query alike).  A
 * read-only handle retries once after reopening on DatabaseModifiedError.
 * Owner thread. */
ps_status ps_search(ps_db *db, const ps_query *q, ps_results **out) PS_NOEXCEPT;

/* ---- Synonyms ----------------------------------------------------------
 *
 * Groups of words or phrases that mean the same ("PME = KMU = SME"),
 * stored in the database's Xapian synonym table: for each member m of a
 * group, m -> every other member, each normalised by
 * ps_synonym_normalize().  A search expands each run of bare query words
 * (not in quotes, not after a prefix such as title:, not +/- words, not
 * the operators AND OR NOT XOR NEAR ADJ, not wildcards, not joined to
 * other words by punctuation such as a hyphen) that is a member into
 * "(words OR member2 OR \"member three\")", longest run first, before
 * the per-language parses: each member is then folded and stemmed by
 * every language branch like the rest of the query (a phrase member is
 * matched as a phrase, unstemmed).  A handle caches the table per
 * revision of its main database.  Remote shards (tcp:) are not read:
 * a shard set's table is read from its local shards. */

#define PS_SYN_MAX_MEMBER_BYTES 200   /* normalised member, at most */
#define PS_SYN_MAX_MEMBER_WORDS 8     /* words of a member, at most */
#define PS_SYN_MAX_GROUP 32           /* members of a group, at most */
#define PS_SYN_MAX_GROUPS 10000       /* groups of a table, at most */

/* One group of synonyms: members[0..n), UTF-8. */
typedef struct ps_synonym_group {
    uint32_t n;
    const char *const *members;
} ps_synonym_group;

/* The form a synonym member (or a run of query words) is stored and
 * looked up in: diacritics stripped, split into words at apostrophes,
 * white space and every ASCII character other than letters, digits and
 * '_' (so "Île-de-France" is three words), each word folded
 * (ps_fold), joined by single spaces: "Pôle de compétitivité" ->
 * "pole de competitivite".  Returns a malloc'd string (caller frees; ""
 * when text holds no word), NULL on allocation failure.  Any thread. */
char *ps_synonym_normalize(const char *text) PS_NOEXCEPT;

/* Replaces the whole synonym table of a writable handle by groups[0..n)
 * and commits (on a shard set: every shard, one after the other, as
 * ps_db_commit; a failure leaves the shards before it with the new
 * table).  Each member is normalised; errors (nothing written, message
 * in ps_db_errmsg): PS_ERR_INVALID for a group with fewer than 2 members,
 * a member without words, over PS_SYN_MAX_MEMBER_BYTES bytes or
 * PS_SYN_MAX_MEMBER_WORDS words once normalised, a group over
 * PS_SYN_MAX_GROUP members, more than PS_SYN_MAX_GROUPS groups, two
 * members of one group or of two groups that normalise alike, or a
 * handle with uncommitted changes (commit them first); PS_ERR_IO,
 * PS_ERR_LOCKED... from the commit.  n == 0 empties the table.  Owner
 * thread of a writable handle. */
ps_status ps_db_set_synonyms(ps_db *db, const ps_synonym_group *groups,
                             size_t n) PS_NOEXCEPT;

/* Synonym groups, as ps_db_synonym_groups() returns them: ONE malloc'd
 * block (free with ps_synonym_list_free).  Groups are sorted by their
 * first member, members within a group sorted; all normalised. */
typedef struct ps_synonym_list {
    uint32_t total;         /* groups matching, before offset/limit */
    uint32_t ngroups;       /* groups in this block */
    const ps_synonym_group *groups;
} ps_synonym_list;

/* Frees a synonym list (NULL is fine).  Any thread. */
void ps_synonym_list_free(ps_synonym_list *l) PS_NOEXCEPT;

/* Lists the synonym groups of the handle's database: all of them, or,
 * when word is neither NULL nor "", the group holding
 * ps_synonym_normalize(word) (none when no group does).  Groups
 * offset..offset+limit-1 (limit 0: all).  *out is a new block (caller
 * frees).  Errors: PS_ERR_NOMEM, the database's errors.  Owner thread. */
ps_status ps_db_synonym_groups(ps_db *db, const char *word, uint32_t offset,
                               uint32_t limit, ps_synonym_list **out) PS_NOEXCEPT;

/* ---- The delta of a write-ahead log: live adds before a checkpoint -----
 *
 * A daemon that acknowledges add/delete after one fdatasync of its own
 * write-ahead log (not a Xapian commit) keeps the acknowledged changes in
 * a ps_delta until a checkpoint commits them to the database in bulk.  A
 * ps_delta is an ordered list of operations, each with a sequence number
 * ("seq", given by the caller, strictly increasing: the log's record
 * number): put of a prepared document (its id, content hash, Xapian
 * document serialised to bytes and title words for the spelling table)
 * or delete of an id.
 *
 *   writer thread:      ps_delta_put / ps_delta_delete (one per change of
 *                       a group), log write + fdatasync, then
 *                       ps_delta_publish(last seq of the group) and only
 *                       then the acknowledgements; on a failed fdatasync
 *                       ps_delta_discard_unpublished() instead (no ack).
 *   checkpoint thread:  ps_delta_checkpoint(upto) on the writable handle
 *                       commits the published operations <= upto and the
 *                       seq (metadata "polysearch.wal_seq") in one commit,
 *                       then frees them; the log may then drop them.
 *   each worker:        its own read handle with ps_db_attach_delta():
 *                       ps_search, ps_db_get, ps_db_count,
 *                       ps_db_lang_counts, ps_db_foreach_id and
 *                       ps_db_check_unchanged see main + delta (every
 *                       operation published before the call; never an
 *                       unpublished one), each id at most once.
 *   start-up:           ps_db_get_wal_seq() on the database, ps_delta_new()
 *                       with it, then the log records after it replayed
 *                       with a NULL view (no outcome computed), published.
 *
 * The database must have no other writer while a delta holds operations
 * (keep the writable handle, and with it the lock, until a checkpoint
 * emptied it).  The database may be a shard set (ps_db_open_shards,
 * ps_db_open_dir; local or remote shards): one delta for all of them,
 * each operation checkpointed into its shard (ps_shard_of), every shard
 * storing the checkpoint's seq, and the seq to start from the lowest of
 * the shards' (ps_db_get_wal_seq).  Spelling suggestions do not see
 * the delta (the in-memory part has no spelling data) until its
 * checkpoint. */

typedef struct ps_delta ps_delta;

/* Creates an empty delta (caller owns; ps_delta_free).  checkpointed: the
 * seq stored in the database (ps_db_get_wal_seq), the initial checkpoint
 * watermark: every seq recorded later must be greater.  Returns PS_OK,
 * PS_ERR_INVALID (out NULL) or PS_ERR_NOMEM.  Any thread. */
ps_status ps_delta_new(uint64_t checkpointed, ps_delta **out) PS_NOEXCEPT;

/* Frees the delta and the operations it holds (NULL is fine).  Every
 * handle attached to it must have been closed or detached before.  Any
 * thread, once no other thread uses d. */
void ps_delta_free(ps_delta *d) PS_NOEXCEPT;

/* Message of the last failure of ps_delta_put/ps_delta_delete ("" if
 * none), valid until the next of those calls.  Writer thread.  (Failures
 * of ps_delta_checkpoint leave their message in the writable handle:
 * ps_db_errmsg.) */
const char *ps_delta_errmsg(const ps_delta *d) PS_NOEXCEPT;

/* Records the put of prepared document p with sequence number seq
 * (unpublished: invisible to readers until ps_delta_publish).  p is not
 * taken (the caller frees it; its document is serialised here, on the
 * calling thread).
 * view: a handle on the main database (read-only, or the writable one
 * when the writer also checkpoints) used to compute *out like ps_db_put:
 * against the id's latest operation in the delta (published or not),
 * else the main database (on a shard set, id's shard): PS_PUT_ADDED,
 * PS_PUT_REPLACED, or PS_PUT_UNCHANGED when the content hash is that of
 * the current version (then nothing is recorded; seq is used up all the
 * same).  A read-only view that is older than the delta's checkpoint is
 * reopened here.  When id's shard of a sharded read view is down (a
 * remote one that fails is reconnected once first), the current version
 * is unknown: the put is recorded and *out is PS_PUT_ADDED.
 * view NULL (replaying the log at start-up): recorded unconditionally,
 * *out set to PS_PUT_ADDED (not computed).  out may be NULL.
 * Returns PS_OK; PS_ERR_INVALID (NULL d or p, seq not greater than every
 * seq recorded before and than the watermark); the view's errors
 * (PS_ERR_IO...); PS_ERR_NOMEM.  Message: ps_delta_errmsg.
 * Writer thread (one thread for put, delete, publish and discard; the
 * view is that thread's own handle).  Cost: one serialisation of the
 * document, the id's lookup in a hash table, on a miss a lookup of the
 * id term (and one value) in view. */
ps_status ps_delta_put(ps_delta *d, ps_db *view, const ps_prepared *p, uint64_t seq,
                       ps_put_outcome *out) PS_NOEXCEPT;

/* Records the delete of id with sequence number seq (unpublished until
 * ps_delta_publish).  PS_ERR_NOT_FOUND when the id exists neither in the
 * delta's latest state (published or not) nor in view (nothing recorded,
 * seq not used up); recorded when id's shard of the view is down (the
 * current version unknown: deleting an absent id changes nothing).  view
 * NULL (replay): recorded unconditionally.
 * Other errors and thread as ps_delta_put. */
ps_status ps_delta_delete(ps_delta *d, ps_db *view, const char *id,
                          uint64_t seq) PS_NOEXCEPT;

/* Sets *unchanged to 1 when id's current version, as ps_delta_put would
 * see it (the delta's latest operation, published or not, else view), has
 * content hash hash_hex, else to 0: the writer's ps_db_check_unchanged,
 * to skip analysing unchanged documents (ps_doc_content_hash).  view as
 * for ps_delta_put (not NULL).  PS_ERR_INVALID for a NULL argument or an
 * invalid id; the view's errors.  Writer thread. */
ps_status ps_delta_check_unchanged(ps_delta *d, ps_db *view, const char *id,
                                   const char *hash_hex, int *unchanged) PS_NOEXCEPT;

/* Makes the operations with seq <= seq visible to the attached read
 * handles (their next call sees them).  Call it after the log's
 * fdatasync returned, before acknowledging.  Clamped to the last seq
 * recorded; never moves back.  Writer thread. */
void ps_delta_publish(ps_delta *d, uint64_t seq) PS_NOEXCEPT;

/* Drops every operation recorded after the last ps_delta_publish (a
 * failed fdatasync: the group is not acknowledged); the latest state used
 * for outcomes goes back to what was published, and the next seq may be
 * any number greater than the last published one.  Writer thread. */
void ps_delta_discard_unpublished(ps_delta *d) PS_NOEXCEPT;

/* Checkpoint: applies every published operation with seq <= upto (upto
 * is clamped to the last published seq; UINT64_MAX: all published) to
 * the writable handle wdb through the ps_db_put_prepared/ps_db_delete path
 * (per id only its last operation; a delete of an absent id is nothing),
 * stores the seq in the metadata key "polysearch.wal_seq" and commits in
 * one commit (ps_db_commit: commit fence, free-space guard, Xapian 1.4
 * workarounds).  A sharded wdb: each operation goes to its shard, every
 * shard stores the seq (also those without operations) and is committed,
 * one after the other; a shard that fails (its spec in the message) ends
 * the checkpoint, the shards before it keep their commit (giving them the
 * same operations again at the retry, or from the log after a crash,
 * changes nothing: puts replace by id, deletes of absent ids are
 * nothing).  Only after the commit succeeded are the operations
 * freed and the watermark moved to the seq; *done (may be NULL) receives
 * the watermark after the call (unchanged when there was nothing to do:
 * PS_OK without a commit).
 * Failure (PS_ERR_IO for a full disk or an I/O error, ...; message in
 * ps_db_errmsg(wdb)): nothing of it is committed, the changes are
 * cancelled on wdb, and the delta is unchanged (its operations stay
 * visible; call again to retry).  wdb must not have uncommitted changes
 * of its own (PS_ERR_INVALID).
 * Thread: one checkpointing thread (wdb's owner), concurrently with the
 * writer thread's put/delete/publish/discard and with the readers.
 * Cost: per operation an unserialisation and a Xapian write, then one
 * commit; the delta's lock is held only to copy (pointers) and free. */
ps_status ps_delta_checkpoint(ps_delta *d, ps_db *wdb, uint64_t upto,
                              uint64_t *done) PS_NOEXCEPT;

/* What a delta holds (ps_delta_stats). */
typedef struct ps_delta_info {
    uint64_t ops;           /* published operations not yet checkpointed */
    uint64_t unpublished;   /* operations recorded, not yet published */
    uint64_t bytes;         /* bytes held by all of them (serialised
                               documents, ids, hashes, spelling words) */
    uint64_t last_seq;      /* highest seq recorded (or the watermark) */
    uint64_t published;     /* last published seq */
    uint64_t watermark;     /* last checkpointed seq (in the database) */
    uint64_t attached;      /* read handles attached */
} ps_delta_info;

/* Fills *out (NULL d or out: nothing).  Any thread. */
void ps_delta_stats(ps_delta *d, ps_delta_info *out) PS_NOEXCEPT;

/* Attaches read handle rd to d (NULL: detaches): from its next call on,
 * ps_search, ps_db_get, ps_db_count, ps_db_lang_counts, ps_db_foreach_id
 * and ps_db_check_unchanged on rd see the main database + the published
 * operations of d.  Before each of them rd copies the operations
 * published since its last call (under d's lock: pointers only) and
 * applies them to its own in-memory Xapian database; when d's checkpoint
 * watermark passed the seq of rd's revision, rd reopens first, and when
 * its revision moved (a checkpoint, ps_db_reopen) it rebuilds the
 * in-memory part from the operations after the new revision's seq.
 * Facets, language and date filters, date sort, offsets and snippets
 * work across both; replaced or deleted main documents are hidden (by id:
 * a match decider, or with a remote shard, where Xapian runs none, the
 * query itself), so the total estimate is an estimate, as without a
 * delta; exact with facets.  A sharded rd: the main database is the
 * shards that are up; a shard that is down hides its documents but not
 * the delta's.  Spelling suggestions ignore the delta.
 * d must outlive the attachment.  Returns PS_OK; PS_ERR_INVALID for a
 * writable handle.  Owner thread of rd; d may be shared by any number of
 * attached handles, each on its own thread. */
ps_status ps_db_attach_delta(ps_db *rd, ps_delta *d) PS_NOEXCEPT;

/* Brings rd's view of its attached delta up to date now, as its next
 * search would (the operations published since, or a rebuild after its
 * revision moved), so that the next request does not pay for them: for
 * a worker between requests.  Cheap when nothing changed (one lock of the
 * delta).  *applied (may be NULL) gets the highest seq rd's view shows
 * (every published operation <= it is visible on rd), also on failure (0
 * when none yet).  Returns PS_OK (also when rd has no delta: *applied
 * UINT64_MAX), else the error of the sync (message in ps_db_errmsg(rd);
 * the next call retries).  Owner thread of rd. */
ps_status ps_db_sync_delta(ps_db *rd, uint64_t *applied) PS_NOEXCEPT;

/* The write-ahead log seq stored by the last checkpoint in the handle's
 * revision ("polysearch.wal_seq"; a writable handle sees its uncommitted
 * value), 0 when none; on a shard set the lowest of its shards' (where
 * a replay must start).  PS_ERR_CORRUPT when a value is not a decimal
 * number; PS_ERR_IO when a shard of a sharded read handle is down (its
 * seq unknown; the message names it).  Owner thread. */
ps_status ps_db_get_wal_seq(ps_db *db, uint64_t *seq) PS_NOEXCEPT;

/* ---- Saved queries: the alert matcher --------------------------------
 *
 * A ps_matcher holds saved queries (subscriptions), each parsed once when
 * added, and tells which of them match a group of newly written
 * documents (ps_prepared, as the write path made them), with the query
 * semantics of ps_search: folding, the stemmer of each document's own
 * language, phrases, NOT, title:, lang:, the lang and date filters.
 * ps_matcher_match() puts the group's documents into a small in-memory
 * Xapian database and runs only the candidate queries there: those with
 * a term the group's documents hold (an inverted index of the queries'
 * terms, their stems in every stemming language included), and those
 * without a term to index (an empty query, a wildcard), which are always
 * candidates.  A matcher is used by one thread at a time (it needs no
 * database handle); add, remove and match may come from different
 * threads only with the usual synchronisation. */

typedef struct ps_matcher ps_matcher;

/* Creates an empty matcher (caller owns; ps_matcher_free).  Returns PS_OK
 * or PS_ERR_NOMEM (*out NULL).  Any thread. */
ps_status ps_matcher_new(ps_matcher **out) PS_NOEXCEPT;

/* Frees the matcher and its queries (NULL is fine); the user pointers
 * given to ps_matcher_add are not freed (take them back with
 * ps_matcher_remove first when they own memory).  Owner thread. */
void ps_matcher_free(ps_matcher *m) PS_NOEXCEPT;

/* Adds the saved query q under id (unique in m): q->q (at most
 * q->max_query bytes, 0 -> PS_DEFAULT_MAX_QUERY_BYTES; "" or blanks match
 * every document), q->lang, q->date_from, q->date_to, q->max_wildcard and
 * q->snippet_bytes are used, the rest ignored; the strings are copied.
 * user is handed back with each match and by ps_matcher_remove (not
 * owned).  Errors (nothing added; *errmsg, when errmsg is not NULL, a
 * malloc'd message the caller frees, else NULL): PS_ERR_QUERY (syntax),
 * PS_ERR_TOO_LARGE (q too long), PS_ERR_INVALID (NULL argument, unknown
 * language code, bad date, id already present), PS_ERR_NOMEM.  Cost: one
 * parse, and one stem per query word and stemming language.  Owner
 * thread. */
ps_status ps_matcher_add(ps_matcher *m, uint64_t id, const ps_query *q, void *user,
                         char **errmsg) PS_NOEXCEPT;

/* Removes the query id.  Returns 1 (and its user pointer in *user, which
 * may be NULL) or 0 when there is no such query.  Owner thread. */
int ps_matcher_remove(ps_matcher *m, uint64_t id, void **user) PS_NOEXCEPT;

/* The synonym table that queries added from now on are expanded with, as
 * ps_search expands them (unless their q->no_synonyms): db's, as db's
 * current revision holds it (the table is shared, not copied, and stays
 * valid when db moves or is closed); NULL db: none (the default).
 * Queries added before keep their expansion.  Returns PS_OK, or an
 * error reading db (message in ps_db_errmsg(db); the matcher's table is
 * then unchanged).  Owner thread of m and of db. */
ps_status ps_matcher_set_synonyms(ps_matcher *m, ps_db *db) PS_NOEXCEPT;

/* Number of queries held.  Owner thread. */
uint64_t ps_matcher_count(const ps_matcher *m) PS_NOEXCEPT;

/* One change of a group given to ps_matcher_match, in commit order: the
 * put of doc (its id is ps_prepared_id(doc)), or, doc NULL, the delete of
 * id.  seq and replaced are handed back with the matches. */
typedef struct ps_match_doc {
    const ps_prepared *doc;
    const char *id;         /* deletes (doc NULL); ignored for puts */
    uint64_t seq;
    int replaced;           /* the id existed before this change */
} ps_match_doc;

/* One match: query `sub` matches the document of docs[doc].  Strings
 * are valid during the callback only. */
typedef struct ps_match {
    uint64_t sub;
    void *user;             /* as given to ps_matcher_add */
    uint32_t doc;           /* index in the docs array */
    uint64_t seq;
    int replaced;
    const char *id, *title, *lang;
    const char *date, *url;  /* NULL when the document has none */
    const char *snippet;    /* plain text around the matched words */
} ps_match;

/* Called once per match; returns 0 to go on, anything else to stop
 * (ps_matcher_match then returns PS_ERR_INTERNAL). */
typedef int (*ps_match_fn)(void *ctx, const ps_match *m);

/* Figures of one ps_matcher_match call (out parameter, may be NULL). */
typedef struct ps_match_stats {
    uint32_t docs;          /* documents matched against (after dedup) */
    uint64_t candidates;    /* queries run */
    uint64_t matches;       /* callbacks made */
    uint64_t failed;        /* queries that failed on this group (a
                               wildcard over max_wildcard: no match) */
} ps_match_stats;

/* Matches the group docs[0..n) against the queries.  Only the last
 * change of each id counts (an earlier put of the same id is superseded,
 * a delete is never matched); the replaced flag reported is 1 when the
 * id's first change in the group had it set or was a delete (the id
 * existed before the group).  fn is called for every (document, query)
 * match, documents in the order of docs, queries by increasing id within
 * a document.  all_queries non-zero runs every query instead of the
 * candidates only (for tests: the result must be the same).  Returns
 * PS_OK, PS_ERR_NOMEM, PS_ERR_INVALID (NULL m or fn, n > 0 with docs
 * NULL), PS_ERR_INTERNAL (fn stopped it).  Owner thread of m; the
 * prepared documents are only read (not freed). */
ps_status ps_matcher_match(ps_matcher *m, const ps_match_doc *docs, size_t n,
                           int all_queries, ps_match_fn fn, void *ctx,
                           ps_match_stats *stats) PS_NOEXCEPT;

/* ---- Change sequence numbers: catch-up of saved queries ---------------
 *
 * Every write of a document can carry its change sequence number ("seq",
 * u64, increasing with each write), stored in the document (a value slot)
 * so that what changed after a given seq can be found again: a client
 * resuming a subscription, or a daemon catching up on what a local
 * polysearch-index wrote.  Writers: the write-ahead log's delta stamps the
 * seq given to ps_delta_put (record << PS_SEQ_OP_BITS | index, docs/WAL.md);
 * a handle with ps_db_stamp_seqs() stamps its own.  One counter is shared
 * by every writer of a database: the metadata "polysearch.wal_seq", the
 * last seq committed (ps_db_get_wal_seq).  Documents written without a
 * seq (older databases, bulk builds, shard sets) are never found by
 * ps_db_catchup. */

#define PS_SEQ_OP_BITS 24

/* Makes the writable handle db stamp each document it writes with
 * ps_db_put or ps_db_put_prepared: the first after an open, a commit or
 * a cancel gets ((counter >> PS_SEQ_OP_BITS) + 1) << PS_SEQ_OP_BITS, each
 * next one +1 (a document found unchanged takes none), and each commit
 * stores the last one written in the counter.  The stamp is put on the
 * prepared document given to ps_db_put_prepared (it is a handle on the
 * same Xapian document).  Returns PS_OK, or PS_ERR_INVALID for NULL, a
 * read-only or a sharded handle.  Owner thread. */
ps_status ps_db_stamp_seqs(ps_db *db) PS_NOEXCEPT;

/* The seq of the last document written by ps_db_put/ps_db_put_prepared on
 * a stamping handle (0: none since it was opened).  Owner thread. */
uint64_t ps_db_last_seq(const ps_db *db) PS_NOEXCEPT;

/* The seq stamped on a prepared document (by ps_delta_put or a stamping
 * handle's put), 0 when none.  PS_ERR_INVALID for NULL.  Any thread
 * holding p. */
ps_status ps_prepared_seq(const ps_prepared *p, uint64_t *seq) PS_NOEXCEPT;

/* Catch-up of a saved query: calls fn for each document of db (main +
 * delta for a handle attached to a ps_delta) that matches q (q->q, lang,
 * date_from, date_to, max_wildcard, max_query, snippet_bytes and
 * no_synonyms are used, as by ps_matcher_add; unless no_synonyms the
 * query is expanded with the handle's synonym table as it is now, as
 * ps_search does) and whose seq is in (after, upto] (upto 0: no
 * upper bound), by increasing seq, at most max of them (0: none, just
 * count).  Each ps_match has sub and user as given, doc 0, replaced 0,
 * and the document's seq; its strings live during the callback only.
 * *total (may be NULL) gets the number of matching documents in the range
 * (those past max included), *last (may be NULL) the highest seq among
 * them (0 when none).  Deleted documents are absent; a replaced one is
 * found once, as its latest version, with that version's seq.  The
 * caller reopens the handle first when it must see the latest commit.
 * Errors as ps_search (PS_ERR_QUERY, PS_ERR_TOO_MANY_TERMS, PS_ERR_INVALID,
 * PS_ERR_TOO_LARGE; message in ps_db_errmsg), PS_ERR_INTERNAL when fn
 * returned non-zero.  Cost: one match over the range, sorted by seq.
 * Owner thread. */
ps_status ps_db_catchup(ps_db *db, const ps_query *q, uint64_t after, uint64_t upto,
                        uint32_t max, uint64_t sub, void *user, ps_match_fn fn,
                        void *ctx, uint64_t *total, uint64_t *last) PS_NOEXCEPT;

/* ---- Analysis helpers (also used by the indexer and tests) ------------ */

/* Folds UTF-8 text: NFKD, drop combining marks, NFKC case fold ("Santé" ->
 * "sante", "ß" -> "ss", "æ" -> "ae").  Invalid UTF-8 bytes are replaced by
 * U+FFFD.  Returns a malloc'd string (caller frees) or NULL on allocation
 * failure.  Any thread. */
char *ps_fold(const char *text, size_t len) PS_NOEXCEPT;

/* Stems one already folded word with the stemmer of `lang` (ISO 639-1).
 * Returns a malloc'd string (caller frees); the word unchanged when the
 * language has no stemmer; NULL on allocation failure.  Any thread. */
char *ps_stem(const char *lang, const char *word) PS_NOEXCEPT;

/* ---- Shards (docs/SCALING.md) ------------------------------------------
 *
 * A sharded handle combines several databases ("shards") into one: a
 * search runs over all of them with merged statistics (scores, facets and
 * totals as if one database held every document).  Each document lives in
 * exactly one shard, chosen by ps_shard_of(): FNV-1a 64 of the id bytes
 * modulo the number of shards, so the shard list (its order included) must
 * stay the same for the life of the data.  A shard spec is either a local
 * database directory or "tcp:HOST:PORT" (a database served by Xapian's
 * xapian-tcpsrv; --writable for writing). */

typedef struct ps_shard_opts {
    int allow_partial;          /* read: non-zero -> searches answer with the
                                   shards that are up (ps_results nfailed);
                                   0 -> PS_ERR_IO while any shard is down */
    uint32_t timeout_ms;        /* remote: per-operation timeout (0 -> 5000) */
    uint32_t connect_timeout_ms;/* remote: connect timeout (0 -> 2000) */
    uint32_t retry_ms;          /* min interval between two attempts to
                                   reopen a failed shard (0 -> 1000) */
} ps_shard_opts;

/* Fills *o with the defaults: allow_partial 1, timeouts 5000/2000 ms,
 * retry 1000 ms.  Any thread. */
void ps_shard_opts_init(ps_shard_opts *o) PS_NOEXCEPT;

/* Shard index of id among n shards: the FNV-1a 64 hash of the id's bytes
 * (offset basis 14695981039346656037, prime 1099511628211) modulo n (0 when
 * n is 0 or id is NULL).  Pure; any thread. */
uint32_t ps_shard_of(const char *id, uint32_t n) PS_NOEXCEPT;

/* Opens n (1..1024) shards as one handle (caller owns; ps_db_close).
 * opts NULL -> ps_shard_opts_init() defaults.
 * PS_DB_READ: every shard is opened read-only; a shard that cannot be
 * opened is recorded as down (retried by ps_db_reopen() at most every
 * retry_ms) when allow_partial is set, otherwise the open fails; it fails
 * too when no shard at all can be opened.  PS_DB_WRITE: every shard is
 * opened writable (local shards are created when missing; remote ones
 * need xapian-tcpsrv --writable); any failure fails the open.
 * Errors as for ps_db_open() (PS_ERR_IO for an unreachable remote), with
 * the shard spec in *errmsg (malloc'd, caller frees).  On a sharded
 * handle ps_db_put/put_prepared/delete/get go to the document's shard,
 * ps_db_commit/cancel/close act on every shard, ps_db_reopen reopens
 * every shard and retries the failed ones.  Any thread. */
ps_status ps_db_open_shards(const char *const *specs, size_t n, ps_db_mode mode,
                            const ps_shard_opts *opts, ps_db **out,
                            char **errmsg) PS_NOEXCEPT;

/* Opens directory `dir` as ps_db_open() does, or, when it holds a shard
 * set, as ps_db_open_shards() of dir/shard-0 .. dir/shard-N-1 (default
 * ps_shard_opts).  A shard set is a directory with a file SHARDS holding
 * N in decimal.  nshards 0: use what dir is (a SHARDS file -> shards, else
 * one database).  nshards N > 0: dir must be (or, for PS_DB_WRITE, become:
 * dir and SHARDS are created when missing) a set of N shards;
 * PS_ERR_INVALID when SHARDS records another number or dir is a plain
 * database.  Errors and *errmsg as for ps_db_open().  Any thread. */
ps_status ps_db_open_dir(const char *dir, ps_db_mode mode, uint32_t nshards,
                         ps_db **out, char **errmsg) PS_NOEXCEPT;

/* Number of shards of a handle (0 for a handle from ps_db_open()).
 * Owner thread. */
uint32_t ps_db_nshards(const ps_db *db) PS_NOEXCEPT;

/* Shard i of a sharded handle: *spec (valid until the handle is closed)
 * and *up (1 when it answered at the last use, 0 when down).  Returns
 * PS_ERR_INVALID when i is out of range.  Owner thread. */
ps_status ps_db_shard_state(const ps_db *db, uint32_t i, const char **spec,
                            int *up) PS_NOEXCEPT;

#ifdef __cplusplus
}
#endif
#endif
