// internal.h: what the files of lib/core/ share: struct ps_db (the handle
// behind the opaque type of polysearch.h), the shard and prepared-document
// types, the constants of the document model, and the psi:: helpers that
// one file defines and others call (grouped by the file that defines them).
//
// The files of lib/core/, one concern each:
//   exceptions.cc            exceptions to ps_status
//   lock.cc                  who holds a database's writer lock (/proc)
//   db.cc                    open, close, reopen, revision; boilerplate
//   prepare.cc               document analysis, no database (ps_doc_prepare)
//   write.cc                 put, delete, commit, cancel; free-space guard
//   xapian14_workarounds.cc  Xapian 1.4 bugs on the write path
//   shards.cc                sharded handles, routing, the SHARDS file
//   read.cc                  get, count, lang_counts, foreach_id
//   search.cc                ps_search, ps_stem; the query parsing that
//                            match.cc shares
//   match.cc                 the alert matcher: saved queries run over
//                            a group of new documents (ps_matcher)
//   delta.cc                 the in-memory delta of the write-ahead log:
//                            ps_delta (put/delete/publish/checkpoint)
//   delta_view.cc            the main + delta view of attached read handles
//                            (delta_internal.h: what the two share)
//   bulk.cc                  bulk builds: parts written in parallel, merged
//                            with Xapian's compactor, switched in at once
//   synonyms.cc              the synonym table: replace, cache, list, and
//                            the query expansion search and match share
//   commit_fence.c           the commit fence (plain C, no Xapian)
//
// C++ only, included only by lib/core/*.cc.  <xapian.h> is included here
// and nowhere outside lib/core/ (the client and ps_wire never see it).
// Every extern "C" entry point of polysearch.h is noexcept and catches
// every exception; psi::map_exception() (exceptions.cc) turns it into a
// ps_status and keeps the message in the handle.
//
// Document model (docs/ARCHITECTURE.md is the map of lib/core):
//   terms   "Q"+id (unique id, boolean), "L"+lang (boolean),
//           folded words with positions, "Z"+stem (no positions),
//           title words under "S" (wdf x5) and once unprefixed,
//           spelling data for the (folded) title words only;
//   values  0 lang, 1 date "YYYYMMDDHHMMSS" (UTC), 2 content hash (hex);
//           3 "d" on the in-memory copies of delta documents only (a read
//           handle's view, delta_view.cc; never stored in a database);
//           4 the change sequence number of the document's latest write
//           (8 bytes big-endian, seq_key(): string order is numeric
//           order), stamped by ps_delta_put and by the put entry points
//           of a handle with ps_db_stamp_seqs(); absent in documents
//           written before it existed or without stamping (seq.cc);
//   data    the stored fields, encoded by ps_fields_encode() (docfields.h);
//   metadata "polysearch.wal_seq": the last change sequence number
//           committed into the database (decimal): a write-ahead log
//           checkpoint (delta.cc), or the last seq stamped by a commit of
//           a stamping handle (seq.cc): one counter for every writer;
//   synonyms Xapian's synonym table: every member of a group -> each other
//           member, normalised by ps_synonym_normalize() (synonyms.cc).

#ifndef PS_CORE_INTERNAL_H
#define PS_CORE_INTERNAL_H

#ifndef __cplusplus
#error "internal.h is C++ only (lib/core/*.cc)"
#endif

#include "analyze.h"
#include "docfields.h"
#include "polysearch.h"
#include "snippet.h"

#include <xapian.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace psi {

const Xapian::valueno SLOT_LANG = 0;
const Xapian::valueno SLOT_DATE = 1;
const Xapian::valueno SLOT_HASH = 2;
const Xapian::valueno SLOT_DELTA = 3;
const Xapian::valueno SLOT_SEQ = 4;
const char META_WAL_SEQ[] = "polysearch.wal_seq";
const char PFX_ID[] = "Q";
const char PFX_LANG[] = "L";
const char PFX_TITLE[] = "S";
const Xapian::termcount TITLE_WDF = 5;

struct free_deleter {
    void operator()(void *p) const noexcept { free(p); }
};
using cstr = std::unique_ptr<char, free_deleter>;

inline bool contains(const std::string &s, const char *needle)
{
    return s.find(needle) != std::string::npos;
}

// Valid ids: 1..PS_MAX_ID_BYTES bytes.
inline bool valid_id(const char *id)
{
    if (!id || !*id)
        return false;
    return strnlen(id, PS_MAX_ID_BYTES + 1) <= PS_MAX_ID_BYTES;
}

inline bool empty(const char *s)
{
    return !s || !*s;
}

}  // namespace psi

namespace psi {

// A database's synonym table in memory (synonyms.cc): normalised member
// -> the other members of its group, and the most words of a member.
// Immutable once built, so shared between a handle and a matcher.
struct syn_table {
    std::unordered_map<std::string, std::vector<std::string>> map;
    size_t maxn = 0;
};

// One expansion applied to a query: the words `from` (normalised) were
// searched as themselves or any of `to`.
struct syn_expansion {
    std::string from;
    std::vector<std::string> to;
};

// The main + delta view of a read handle attached to a ps_delta (defined
// in delta_view.cc, freed with the handle).
struct delta_view;
struct delta_view_deleter {
    void operator()(delta_view *v) const noexcept;
};

}  // namespace psi

// One shard of a sharded read handle (ps_db_open_shards).
struct ps_shard {
    std::string spec;       // local directory or "tcp:HOST:PORT"
    Xapian::Database db;    // valid while up
    bool up = false;
    uint64_t gen = 0;       // moves whenever its snapshot may have (a
                            // remote database has no revision to read)
    uint64_t last_try_us = 0;
    std::string err;        // why it is down
};

struct ps_db {
    std::string path;
    bool writable = false;
    // Sharded handles: read -> shards (rdb combines those up); write ->
    // subs (one single-database writable handle per shard; rdb combines
    // their wdb for reading).
    bool sharded = false;
    std::vector<ps_shard> shards;
    std::vector<ps_db *> subs;
    ps_shard_opts sopts{};
    bool in_txn = false;
    bool dirty = false;  // changes since the last commit
    // A failed commit whose changes could not be cancelled: a Xapian
    // transaction is left open so that close() and the destructor cancel
    // instead of committing them (discard_pending).
    bool stuck_txn = false;
    uint64_t pending = 0;  // estimated bytes the next commit writes
    // What the open transaction wrote, so that commit_impl() can write it
    // again without the spelling of some words (check_spelling(), a
    // workaround for a Xapian 1.4 bug): the docids added, replaced or
    // deleted, the spelling words added (in order), and those of them
    // that were new to the spelling table (their fragment lists were
    // rewritten).  Local writable handles only (spell_check).
    bool spell_check = false;
    // A part of a bulk build (bulk.cc): the title words of the documents
    // written go here, summed, instead of into the spelling table.
    std::unordered_map<std::string, Xapian::termcount> *spell_sink = nullptr;
    std::vector<Xapian::docid> touched;
    std::vector<std::pair<std::string, Xapian::termcount>> spell_log;
    std::vector<std::string> spell_new;
    std::unordered_set<std::string> spell_seen;  // words of spell_log
    // Metadata set in the open transaction (set_metadata_logged), so that
    // check_spelling() writes it again with the rest.
    std::vector<std::pair<std::string, std::string>> meta_log;
    // The last commit, read-only, to tell new spelling words (Xapian 1.4
    // has no public spelling-frequency lookup on a writable handle that
    // would not merge the pending spelling changes).
    Xapian::Database spell_reader;
    bool spell_reader_open = false;
    // Upper bounds of the inflated size of the spelling fragment lists,
    // so that check_spelling() reads back only the words whose lists can
    // reach the size the Xapian bug needs: fragment key (see
    // for_each_fragment()) -> sum of 2 + length of the words known to
    // share it.  They cover every spelling word of commit frag_bound_rev
    // (when frag_bound_valid) and may count more (never fewer).
    std::unordered_map<uint32_t, uint64_t> frag_bound;
    Xapian::rev frag_bound_rev = 0;
    bool frag_bound_valid = false;
    Xapian::Database rdb;
    Xapian::WritableDatabase wdb;
    std::string err;
    ps_boilerplate *bp = nullptr;
    // Languages present (from the "L" terms), cached per revision.
    std::vector<std::string> langs;
    bool langs_valid = false;
    Xapian::rev langs_rev = 0;
    // The synonym table, cached for the main revisions syn_revs
    // (synonyms.cc: synonym_table).
    std::shared_ptr<const psi::syn_table> syn;
    std::vector<uint64_t> syn_revs;
    // Change seqs (seq.cc, ps_db_stamp_seqs): stamping on; seq_next
    // valid (read from the metadata at the first put after an open, a
    // commit or a cancel); the last seq written since the last commit.
    bool seq_stamp = false;
    bool seq_valid = false;
    bool seq_used = false;
    uint64_t seq_next = 0;
    uint64_t seq_last = 0;
    // Read handles attached to a ps_delta (ps_db_attach_delta): main +
    // delta (delta_view.cc).
    std::unique_ptr<psi::delta_view, psi::delta_view_deleter> delta;

    Xapian::Database &db()
    {
        return writable && !sharded ? static_cast<Xapian::Database &>(wdb) : rdb;
    }
    ~ps_db()
    {
        ps_boilerplate_free(bp);
        for (ps_db *s : subs)
            delete s;
    }
};

// A document analysed by ps_doc_prepare(), ready for ps_db_put_prepared().
struct ps_prepared {
    std::string id;
    std::string idterm;
    std::string hash;
    Xapian::Document doc;
    // Title words for the spelling table, with their occurrence counts
    // (what TermGenerator's FLAG_SPELLING would add: every unprefixed,
    // unstemmed term of the folded title, once per occurrence).
    std::vector<std::pair<std::string, Xapian::termcount>> spelling;
};

namespace psi {

// Decoded stored fields, freed on scope exit.
struct fields {
    char *f[PS_F_COUNT] = {};
    ~fields()
    {
        for (auto p : f)
            free(p);
    }
    bool decode(const std::string &data)
    {
        return ps_fields_decode(data.data(), data.size(), f) == 0;
    }
};

struct builder_deleter {
    void operator()(ps_results_builder *b) const noexcept { ps_results_builder_free(b); }
};
using builder_ptr = std::unique_ptr<ps_results_builder, builder_deleter>;

// ---- exceptions.cc: exceptions to ps_status -----------------------------

// Classifies the exception being handled; stores its message in msg.
// Must be called from inside a catch block.
ps_status map_exception(std::string &msg) noexcept;

// map_exception() into db->err.
ps_status fail(ps_db *db) noexcept;

// Sets db->err to m and returns st.
ps_status set_err(ps_db *db, ps_status st, const std::string &m);

// Throws std::bad_alloc when a C helper reported an allocation failure.
char *need(char *p);

// ---- lock.cc: who holds the writer lock ---------------------------------

// The message of PS_ERR_LOCKED for the database at path, naming the
// process holding its lock when /proc shows it.
std::string lock_message(const std::string &path);

// ---- db.cc: handles -----------------------------------------------------

// The handle's boilerplate matcher (the built-in list unless
// ps_db_set_boilerplate_file() set one), built on first use.
ps_boilerplate *get_bp(ps_db *db);

// ---- prepare.cc: document analysis --------------------------------------

// The built-in boilerplate list (immutable, shared by every thread).
// Throws std::bad_alloc.
const ps_boilerplate *builtin_bp();

// Splits words at apostrophes, in index text and queries alike.
void split_apostrophes(char *s);

// Checks the fields of d.  Returns PS_OK, or PS_ERR_INVALID with the
// message in err.  datekey receives the normalised date ("" when none).
ps_status validate_doc(const ps_doc_in *d, std::string &err,
                       char datekey[PS_DATE_KEY_LEN + 1]);

// The content hash of d (ps_content_hash of its fields), 16 hex digits.
void content_hash(const ps_doc_in *d, char out[17]);

// Analyses d into *out (everything ps_db_put() does except the write);
// memo: stem through the calling thread's memoising stemmers.  Returns
// PS_OK or PS_ERR_INVALID (message in err); throws on allocation failure
// or a Xapian error.  Touches no database: any thread.
ps_status prepare_impl(const ps_doc_in *d, const ps_boilerplate *bp, bool memo,
                       std::string &err, std::unique_ptr<ps_prepared> &out);

// ---- seq.cc: change sequence numbers in SLOT_SEQ

// 8 bytes big-endian: string order is numeric order.
std::string seq_key(uint64_t seq);

// The seq of a SLOT_SEQ value (0: empty or not 8 bytes).
uint64_t seq_of_key(const std::string &k);

// A stamping handle: stamps the next seq on p's document (shared
// Xapian::Document internals: p's document carries it afterwards) and
// returns it; 0 when db does not stamp.  Throws.
uint64_t stamp_next(ps_db *db, const ps_prepared *p);

// The put stamped with seq was written (not unchanged).
void stamp_used(ps_db *db, uint64_t seq);

// Before a commit: the metadata counter set to the last seq written.
void stamp_before_commit(ps_db *db);

// After a commit or a cancel: the next put reads the counter again.
void stamp_reset(ps_db *db);

// ---- write.cc: writing --------------------------------------------------

// Opens the Xapian transaction every change of a writable handle runs in,
// unless one is open.
void ensure_txn(ps_db *db);

// Writes a prepared document (the body of ps_db_put_prepared: compares
// the content hash, adds the spelling, adds or replaces).  Local writable
// handle.  Throws Xapian errors.
ps_status put_prepared_impl(ps_db *db, const ps_prepared *p, ps_put_outcome *outcome);

// Deletes the document with id term t (the body of ps_db_delete):
// PS_ERR_NOT_FOUND (message in db->err) when absent.  Local writable
// handle.  Throws Xapian errors.
ps_status delete_impl(ps_db *db, const std::string &t);

// db->wdb.set_metadata(key, value) in the open transaction, logged so that
// check_spelling() writes it again.  Local writable handle.
void set_metadata_logged(ps_db *db, const std::string &key, const std::string &value);

// Commits the changes of a local writable handle: the free-space guard
// (which refuses, keeping the changes), check_spelling(), then the commit
// inside the commit fence.  When Xapian fails the changes are dropped
// (discard_pending, reopen_writable) and the exception propagates.
ps_status commit_impl(ps_db *db);

// ---- xapian14_workarounds.cc: Xapian 1.4 bugs on the write path ---------

// True when directory dir holds nothing but what a glass creation killed
// before its first version file leaves (flintlock, v.tmp, empty *.glass
// tables), an empty directory included; those names but flintlock are
// appended to *junk (may be null).  False when dir cannot be read, or
// when it holds anything else: then the first such name goes to *other
// (may be null; left alone when dir cannot be read).
bool only_create_leftovers(const std::string &dir, std::vector<std::string> *junk,
                           std::string *other);

// Removes the leftovers of a glass database whose creation was killed
// before its first version file, when that is certainly what dir holds.
void discard_unfinished_create(const std::string &dir);

// Brings db->spell_reader to the last commit (spell_check handles).
void sync_spell_reader(ps_db *db);

// db->wdb.add_spelling(word, n), logged for check_spelling(); returns true
// when word is new to the spelling table.
bool add_spelling_logged(ps_db *db, const std::string &word, Xapian::termcount n);

// Before a commit: reads back the spelling fragments the open transaction
// changed, and writes it again without the words whose fragments Xapian
// cannot read.  Throws on other errors.
void check_spelling(ps_db *db);

// After a failed commit or a cancel: reopens db->wdb from disk.  Never
// throws (sets db->stuck_txn when the open fails).
void reopen_writable(ps_db *db) noexcept;

// ---- shards.cc: sharded handles -----------------------------------------

// 64-bit FNV-1a of id: a document lives on shard fnv1a64(id) % N.
uint64_t fnv1a64(const char *id);

// "shard 'SPEC' down: why; ..." for the shards of a read handle that are
// down.
std::string down_message(const ps_db *db);

// True when a shard of a read handle is down.
bool any_down(const ps_db *db);

// After a NetworkError during a search: reconnects or reopens the shards
// that were up and rebuilds the combined database.
void probe_shards(ps_db *db);

// ps_db_reopen() of a sharded read handle: reopens the shards that are up
// and retries those down.  Returns true when the snapshot may have changed.
bool reopen_shards(ps_db *db);

// The sub-handle of a writable sharded handle that owns id.
ps_db *route_sub(ps_db *db, const char *id);

// The Xapian database that holds id, or would (the handle's own; on a
// sharded handle the one of its shard).  nullptr when that shard of a
// read handle is down, with the reason in *down (may be null).
Xapian::Database *owner_db(ps_db *db, const char *id, std::string *down);

// The databases behind a handle that are up: its own, or its shards'
// (writable: every sub-handle's).
std::vector<Xapian::Database *> main_dbs(ps_db *db);

// Where each database behind a handle is, to tell when its snapshot
// moved: its revision, for a shard of a read handle a count of its opens
// and reopens that moved it (a shard that is down: UINT64_MAX; a remote
// writable shard, which has no revision to read: a new value each call).
// Throws.
std::vector<uint64_t> main_revisions(ps_db *db);

// Brings a read handle to the latest commit (sharded: reopen_shards(),
// which also retries the shards that are down); nothing on a writable
// handle.  Throws.
void reopen_main(ps_db *db);

// True when a shard of the handle is remote (tcp:HOST:PORT).
bool has_remote(const ps_db *db);

// Returns st of a call on sub, copying sub's message into db on failure;
// drops db's language cache.
ps_status from_sub(ps_db *db, ps_db *sub, ps_status st);

// ---- read.cc: reading, result blocks ------------------------------------

// Returns the docid holding id term t, or 0.
Xapian::docid find_id(Xapian::Database &d, const std::string &t);

// A new result builder; throws std::bad_alloc.
builder_ptr new_builder();

// Throws std::bad_alloc when st is PS_ERR_NOMEM (a builder call failed).
void check(ps_status st);

// Finishes b into a result block (b is released); throws std::bad_alloc.
ps_results *finish(builder_ptr &b, uint64_t total, const char *sugg, uint64_t took);

// ---- search.cc: query parsing, shared by ps_search and match.cc ---------

// The flags every query parse uses.
extern const unsigned QP_FLAGS;

// Sets up a parser as every search does: database d (wildcards expand
// over it at match time), AND by default, title: and lang: prefixes, at
// most maxw wildcard expansions (else WildcardError).
void setup_parser(Xapian::QueryParser &qp, Xapian::Database &d, unsigned maxw);

// The text a query string is parsed from: diacritics stripped, words
// split at apostrophes.  Throws std::bad_alloc.
std::string query_text(const char *q);

// True when qs holds only white space (the query matches everything).
bool query_is_empty(const std::string &qs);

// qs parsed without stemming.  Throws Xapian::QueryParserError.
Xapian::Query parse_exact(Xapian::Database &d, const std::string &qs, unsigned maxw);

// One language's stemmed parse of a query (STEM_ALL_Z) and its
// serialisation, the key by which languages that parse alike share a
// branch.
struct lang_parse {
    std::string lang;
    std::string key;
    Xapian::Query q;
};

// qs parsed with lang's stemmer into out; false (out untouched) when lang
// has no stemmer.  Throws as parse_exact.
bool parse_stemmed(Xapian::Database &d, const std::string &qs, const std::string &lang,
                   unsigned maxw, lang_parse &out);

// exact OR-ed with each distinct stemmed parse of parses filtered to the
// languages that gave it (see parse_languages).
Xapian::Query join_languages(const Xapian::Query &exact,
                             const std::vector<const lang_parse *> &parses);

// The query search runs: exact OR-ed with one parse of qs per language of
// langs that has a stemmer (STEM_ALL_Z), each filtered to its language;
// languages whose parses are the same query share one branch filtered to
// all of them.  Throws as parse_exact.
Xapian::Query parse_languages(Xapian::Database &d, const std::string &qs,
                              const Xapian::Query &exact,
                              const std::vector<std::string> &langs, unsigned maxw);

// query filtered to language lang and to dates from..to (normalised date
// keys; each "" for none).
Xapian::Query add_filters(Xapian::Query query, const std::string &lang,
                          const std::string &from, const std::string &to);

// False, with the message in err, when q's text is longer than its
// max_query (0: PS_DEFAULT_MAX_QUERY_BYTES): PS_ERR_TOO_LARGE for the
// caller.  The one check of ps_search, ps_db_catchup and ps_matcher_add.
bool query_size_ok(const ps_query *q, std::string &err);

// The language and date filters of q, checked and normalised into lang,
// from, to ("" when unset).  Returns false with a message in err for an
// unknown language code or a bad date.
bool query_filters(const ps_query *q, std::string &lang, std::string &from,
                   std::string &to, std::string &err);

// What ps_search, ps_db_catchup and ps_matcher_add read of a ps_query
// alike (their contexts derive from it).
struct query_input {
    std::string qs;             // the text, diacritics stripped (query_text)
    std::string lang;           // language filter or ""
    std::string from, to;       // normalised date bounds or ""
    unsigned maxw = PS_DEFAULT_MAX_WILDCARD;  // wildcard expansion limit
};

// Fills in from q: query_size_ok, query_text, query_filters and the
// wildcard limit.  Returns PS_OK, or PS_ERR_TOO_LARGE / PS_ERR_INVALID
// with the message in err.  Throws std::bad_alloc.
ps_status read_query(const ps_query *q, query_input &in, std::string &err);

// Folded words of a query: its unprefixed terms and title terms.
std::vector<std::string> query_words(const Xapian::Query &q);

// The languages present in db (its "L" terms), cached per revision.
const std::vector<std::string> &get_langs(ps_db *db);

// Folded prefixes of the wildcard words ("bio*") of a query string.
std::vector<std::string> wildcard_prefixes(const std::string &q);

// What the snippet highlighter looks for: the words of the exact parse and
// the wildcard prefixes.  terms() points into the object (do not copy it
// after set()).
struct snippet_words {
    std::vector<std::string> words, prefixes;
    std::vector<const char *> wp, pp;
    void set(const Xapian::Query &exact, const std::string &qs);
    ps_snippet_terms terms() const;
};

// ---- synonyms.cc: the synonym table and the query expansion -------------

// The synonym table of the handle's main database (its local shards'),
// read again when main_revisions() moved.  Throws.
std::shared_ptr<const syn_table> synonym_table(ps_db *db);

// qs (query_text()) with each longest run of bare words that is a key of
// t rewritten as "(words OR m2 OR \"m 3\")"; the expansions applied are
// appended to out (each key once).  Bare: not in quotes, not holding a
// prefix colon, +/-, * or other punctuation, not an upper-case operator
// word; a run is words separated by white space only.  Throws
// std::bad_alloc.
std::string expand_synonyms(const syn_table &t, const std::string &qs,
                            std::vector<syn_expansion> &out);

// The members of ex's "to" lists (each once, in order) whose every word
// is in terms (a hit's matching terms) as the folded word or as "Z" +
// its stem in lang (NULL: no stems).  Throws std::bad_alloc.
std::vector<std::string> matched_synonyms(const std::vector<syn_expansion> &ex,
                                          const std::set<std::string> &terms,
                                          const char *lang);

// ---- delta_view.cc: the delta of an attached read handle ----------------
// Every function below is a no-op, or returns what the handle alone
// holds, when no delta is attached (db->delta null).

// Brings an attached handle's view up to the delta's published state:
// reopens the main database first when the delta's checkpoint passed the
// handle's revision, rebuilds the in-memory part when the main revision
// moved, then applies the new published operations.  Call at the start of
// every read entry point.  Throws.
void delta_sync(ps_db *db);

// The database reads run on: main + in-memory delta when attached, else
// db->db().
Xapian::Database &read_db(ps_db *db);

// The match decider that hides the main documents the delta superseded
// (replaced or deleted), or nullptr when there are none or when a shard
// is remote (Xapian runs no MatchDecider there: see delta_filter).
const Xapian::MatchDecider *delta_decider(ps_db *db);

// The check_at_least a search of offset + limit hits must pass to
// get_mset: at least want, and with an in-memory delta at least its
// document count + want, so that the matcher never raises its minimum
// weight while it is still in the in-memory database (see delta_view.cc:
// Xapian 1.4.22 crashes in the pruning of an in-memory database's
// postlists).
Xapian::doccount delta_check_at_least(ps_db *db, Xapian::doccount want);

// q, or, when a shard is remote and the delta superseded main documents,
// q without them (q AND_NOT their id terms outside the delta).
Xapian::Query delta_filter(ps_db *db, const Xapian::Query &q);

// The document with id (also without a delta, and on a sharded handle):
// *where receives the database it is in (the in-memory delta, the main
// database, or id's shard).  Returns 0 when there is none (or the delta
// deleted it); 0 with *where nullptr when id's shard is down (why in
// *down, may be null).
Xapian::docid delta_find(ps_db *db, const char *id, Xapian::Database **where,
                         std::string *down);

// Number of documents: main - superseded + in-memory.
Xapian::doccount delta_doccount(ps_db *db);

// Per-language counts over main + delta ("L" terms minus the superseded
// main documents of that language plus the in-memory ones).
std::vector<std::pair<std::string, uint64_t>> delta_lang_counts(ps_db *db);

// Calls fn(id) for every id of main + delta in id order until it returns
// true.
void delta_foreach_id(ps_db *db, int (*fn)(const char *, void *), void *ctx);

}  // namespace psi

#endif
