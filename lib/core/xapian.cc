// xapian.cc: the C API of polysearch.h over Xapian 1.4 (glass backend).
//
// struct ps_db, the document model and the helpers shared with the other
// files of lib/core/ are in internal.h; exception mapping is in errors.cc,
// the lock-holder lookup in lock.cc.
//
// Writable handles run every change inside a Xapian transaction so that
// ps_db_cancel() can discard uncommitted changes (a WritableDatabase
// otherwise commits them when closed).

#include "analyze.h"
#include "commit_fence.h"
#include "docfields.h"
#include "internal.h"
#include "polysearch.h"
#include "snippet.h"
#include "util.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

using namespace psi;

void psi::ensure_txn(ps_db *db)
{
    if (!db->in_txn) {
        // Unflushed: begin_transaction(true) would commit first, and an
        // empty glass commit still creates a new revision.
        db->wdb.begin_transaction(false);
        db->in_txn = true;
        if (db->spell_check)
            sync_spell_reader(db);
    }
}

namespace {

ps_status need_writable(ps_db *db)
{
    if (!db->writable)
        return set_err(db, PS_ERR_INVALID, "the handle is read-only");
    return PS_OK;
}

ps_boilerplate *get_bp(ps_db *db)
{
    if (!db->bp) {
        char *e = nullptr;
        db->bp = ps_boilerplate_new(nullptr, &e);
        free(e);
        if (!db->bp)
            throw std::bad_alloc();
    }
    return db->bp;
}

const std::vector<std::string> &get_langs(ps_db *db)
{
    Xapian::Database &d = db->db();
    // A combined database has no single revision: a sharded handle drops
    // the cache on every write and every reopen that moved a shard.
    Xapian::rev rev = db->sharded ? db->langs_rev : d.get_revision();
    if (!db->langs_valid || rev != db->langs_rev) {
        std::vector<std::string> v;
        for (auto t = d.allterms_begin(PFX_LANG); t != d.allterms_end(PFX_LANG); ++t)
            v.push_back((*t).substr(1));
        db->langs.swap(v);
        db->langs_valid = true;
        db->langs_rev = rev;
    }
    return db->langs;
}

// Returns the docid holding id term t, or 0.
Xapian::docid find_id(Xapian::Database &d, const std::string &t)
{
    Xapian::PostingIterator p = d.postlist_begin(t);
    return p == d.postlist_end(t) ? 0 : *p;
}

// Language detection looks at the first bytes only.
const size_t DETECT_MAX_BYTES = 64 * 1024;

// Longest prefix of s[0..len) of at most max bytes ending on a UTF-8
// character boundary.
size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

// Splits words at apostrophes (ps_fold() and ps_strip_diacritics() turn
// typographic ones into ASCII '): Xapian keeps "l'innovation" as one term
// and no Snowball stemmer removes French or Italian elisions, so a query
// for "innovation" would miss it.  Applied to index text and queries alike.
void split_apostrophes(char *s)
{
    for (; *s; s++)
        if (*s == '\'')
            *s = ' ';
}

// Checks the fields of d.  Returns PS_OK, or PS_ERR_INVALID with the
// message in err.  datekey receives the normalised date ("" when none).
ps_status validate_doc(const ps_doc_in *d, std::string &err,
                       char datekey[PS_DATE_KEY_LEN + 1])
{
    datekey[0] = '\0';
    if (!d || !valid_id(d->id)) {
        err = "document id missing, empty or longer than " +
              std::to_string(PS_MAX_ID_BYTES) + " bytes";
        return PS_ERR_INVALID;
    }
    if (!d->body) {
        err = "document body missing";
        return PS_ERR_INVALID;
    }
    if (!empty(d->lang) && !ps_lang_valid(d->lang)) {
        err = std::string("unsupported language code '") + d->lang + "'";
        return PS_ERR_INVALID;
    }
    if (!empty(d->date) && ps_date_normalize(d->date, 0, datekey) != 0) {
        err = std::string("invalid ISO 8601 date '") + d->date + "'";
        return PS_ERR_INVALID;
    }
    return PS_OK;
}

void content_hash(const ps_doc_in *d, char out[17])
{
    ps_content_hash(d->title, d->body, d->lang, d->date, d->url, out);
}

// True when the document stored under idterm has content hash `hash`.
bool stored_hash_equals(Xapian::Database &d, const std::string &idterm,
                        const char *hash, Xapian::docid *docid)
{
    Xapian::docid old = find_id(d, idterm);
    if (docid)
        *docid = old;
    return old && d.get_document(old, Xapian::DOC_ASSUME_VALID).get_value(SLOT_HASH) == hash;
}

// The built-in boilerplate list, for ps_doc_prepare() without a matcher.
// Built once (thread-safe static initialisation) and never freed.
const ps_boilerplate *builtin_bp()
{
    static const ps_boilerplate *const bp = [] {
        char *e = nullptr;
        ps_boilerplate *b = ps_boilerplate_new(nullptr, &e);
        free(e);
        if (!b)
            throw std::bad_alloc();
        return b;
    }();
    return bp;
}

// A Snowball stemmer that remembers the stems of recent words: word
// frequencies are very skewed, so most words of a document were stemmed
// before.  A direct-mapped table of SLOTS entries (hash of the word ->
// one slot, the newest word wins), fixed size, no allocation per word;
// words or stems too long for a slot are stemmed every time.  The stems
// are those of the wrapped Xapian::Stem, byte for byte.
class MemoStem : public Xapian::StemImplementation {
    static const size_t SLOTS = 4096;   // power of two: 256 KiB
    static const size_t WMAX = 24;
    static const size_t SMAX = 38;
    struct slot {
        unsigned char wlen = 0;         // 0: empty
        unsigned char slen = 0;
        char w[WMAX];
        char s[SMAX];
    };
    Xapian::Stem real;
    std::unique_ptr<slot[]> tab;

  public:
    explicit MemoStem(const char *lang) : real(lang), tab(new slot[SLOTS]) {}

    std::string operator()(const std::string &word) override
    {
        size_t n = word.size();
        if (n == 0 || n > WMAX)
            return real(word);
        uint32_t h = 2166136261u;
        for (unsigned char c : word)
            h = (h ^ c) * 16777619u;
        slot &e = tab[(h ^ (h >> 15)) & (SLOTS - 1)];
        if (e.wlen == n && memcmp(e.w, word.data(), n) == 0)
            return std::string(e.s, e.slen);
        std::string stem = real(word);
        if (stem.size() <= SMAX) {
            e.wlen = (unsigned char)n;
            memcpy(e.w, word.data(), n);
            e.slen = (unsigned char)stem.size();
            memcpy(e.s, stem.data(), stem.size());
        }
        return stem;
    }

    std::string get_description() const override
    {
        return "memo " + real.get_description();
    }
};

// The calling thread's memoising stemmer for a Snowball stemmer name.
// Xapian::Stem's reference count is not atomic: each thread has its own
// objects, freed when the thread exits.
Xapian::Stem memo_stemmer(const char *name)
{
    thread_local std::unordered_map<std::string, Xapian::Stem> stemmers;
    auto it = stemmers.find(name);
    if (it == stemmers.end())
        it = stemmers.emplace(name, Xapian::Stem(new MemoStem(name))).first;
    return it->second;
}

// Analyses d into *out (everything ps_db_put() does except the write).
// memo: stem through the calling thread's memoising stemmers (256 KiB per
// language, kept until the thread exits; ps_db_put(), which long-lived
// daemon threads call, does without).
// Returns PS_OK or PS_ERR_INVALID (message in err); throws on allocation
// failure or a Xapian error.  Touches no database: any thread.
ps_status prepare_impl(const ps_doc_in *d, const ps_boilerplate *bp, bool memo,
                       std::string &err, std::unique_ptr<ps_prepared> &out)
{
    char datekey[PS_DATE_KEY_LEN + 1];
    ps_status st = validate_doc(d, err, datekey);
    if (st != PS_OK)
        return st;
    if (!bp)
        bp = builtin_bp();
    std::unique_ptr<ps_prepared> p(new ps_prepared);
    char hash[17];
    content_hash(d, hash);
    p->id = d->id;
    p->idterm = std::string(PFX_ID) + d->id;
    p->hash = hash;

    size_t blen = strlen(d->body);
    std::string lang;
    if (!empty(d->lang)) {
        lang = d->lang;
    } else {
        std::string sample = empty(d->title) ? "" : std::string(d->title) + "\n";
        sample.append(d->body, utf8_cut(d->body, blen, DETECT_MAX_BYTES));
        lang = ps_detect_lang(sample.data(), sample.size());
    }
    cstr title(need(empty(d->title) ? ps_derive_title(bp, d->body, blen)
                                    : strdup(d->title)));
    cstr clean(need(ps_clean_body(bp, d->body, blen)));
    cstr ftitle(need(ps_fold(title.get(), strlen(title.get()))));
    cstr fbody(need(ps_fold(clean.get(), strlen(clean.get()))));
    split_apostrophes(ftitle.get());
    split_apostrophes(fbody.get());

    Xapian::Document &doc = p->doc;
    Xapian::TermGenerator tg;
    const char *stemmer = ps_lang_stemmer(lang.c_str());
    if (stemmer) {
        tg.set_stemmer(memo ? memo_stemmer(stemmer) : Xapian::Stem(stemmer));
        tg.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
    }
    // CJK n-grams for every document: the flag only affects CJK characters,
    // and the query parser always uses it, so both sides agree.
    const int flags = Xapian::TermGenerator::FLAG_CJK_NGRAM;
    tg.set_flags(flags);
    tg.set_document(doc);
    tg.index_text(ftitle.get(), TITLE_WDF, PFX_TITLE);
    tg.increase_termpos();
    tg.index_text(ftitle.get());
    tg.increase_termpos();
    tg.index_text(fbody.get());

    // Spelling data from title words only (the body words would make the
    // spelling table as large as the lexicon).  No database here, so
    // collect the words TermGenerator's FLAG_SPELLING would add (every
    // unprefixed unstemmed term, once per occurrence) from a scratch
    // document; ps_db_put_prepared() adds them.
    Xapian::Document scratch;
    Xapian::TermGenerator stg;
    stg.set_flags(flags);
    stg.set_document(scratch);
    stg.index_text_without_positions(ftitle.get());
    for (auto t = scratch.termlist_begin(); t != scratch.termlist_end(); ++t)
        p->spelling.emplace_back(*t, t.get_wdf());

    doc.add_boolean_term(p->idterm);
    doc.add_boolean_term(PFX_LANG + lang);
    doc.add_value(SLOT_LANG, lang);
    if (datekey[0])
        doc.add_value(SLOT_DATE, datekey);
    doc.add_value(SLOT_HASH, p->hash);

    const char *f[PS_F_COUNT];
    f[PS_F_ID] = d->id;
    f[PS_F_TITLE] = title.get();
    f[PS_F_BODY] = d->body;
    f[PS_F_LANG] = lang.c_str();
    f[PS_F_DATE] = empty(d->date) ? nullptr : d->date;
    f[PS_F_URL] = empty(d->url) ? nullptr : d->url;
    f[PS_F_HASH] = hash;
    size_t dlen = 0;
    cstr data(need(ps_fields_encode(f, &dlen)));
    doc.set_data(std::string(data.get(), dlen));
    out = std::move(p);
    return PS_OK;
}

// Writes a prepared document (writable handle, owner thread).
ps_status put_prepared_impl(ps_db *db, const ps_prepared *p, ps_put_outcome *outcome)
{
    Xapian::WritableDatabase &w = db->wdb;
    Xapian::docid old = 0;
    if (stored_hash_equals(w, p->idterm, p->hash.c_str(), &old)) {
        if (outcome)
            *outcome = PS_PUT_UNCHANGED;
        return PS_OK;
    }
    ensure_txn(db);
    db->dirty = true;
    // Rough size of what the commit writes: stored data, one posting and
    // one termlist entry per term, positions (copy-on-write blocks are
    // covered by the factor 2 of check_free_space).
    db->pending += p->doc.get_data().size() + 48 * (uint64_t)p->doc.termlist_count();
    for (const auto &s : p->spelling)
        add_spelling_logged(db, s.first, s.second);
    // The id term is unique and its docid is known: replacing by docid
    // saves the writer a second lookup of the term.
    Xapian::docid did = old;
    if (old)
        w.replace_document(old, p->doc);
    else
        did = w.add_document(p->doc);
    if (db->spell_check)
        db->touched.push_back(did);
    db->langs_valid = false;
    if (outcome)
        *outcome = old ? PS_PUT_REPLACED : PS_PUT_ADDED;
    return PS_OK;
}

ps_status put_impl(ps_db *db, const ps_doc_in *d, ps_put_outcome *outcome)
{
    // Fast path first: same content hash as stored -> nothing to analyse.
    char datekey[PS_DATE_KEY_LEN + 1];
    ps_status st = validate_doc(d, db->err, datekey);
    if (st != PS_OK)
        return st;
    char hash[17];
    content_hash(d, hash);
    if (stored_hash_equals(db->wdb, std::string(PFX_ID) + d->id, hash, nullptr)) {
        if (outcome)
            *outcome = PS_PUT_UNCHANGED;
        return PS_OK;
    }
    std::unique_ptr<ps_prepared> p;
    st = prepare_impl(d, get_bp(db), false, db->err, p);
    if (st != PS_OK)
        return st;
    return put_prepared_impl(db, p.get(), outcome);
}

// Free-space guard.  Xapian 1.4.22 calls std::terminate when a block
// write fails while glass flushes the buffered postings inside
// WritableDatabase::commit() (the flush runs in a noexcept frame; see
// tests/RELIABILITY.md), so a commit that would fill the disk must not
// start.  The reserve is max(floor, 2 x the estimated size of the pending
// changes + 64 KiB); the floor is POLYSEARCH_MIN_FREE_MB (default 32 MiB,
// 0 disables the guard) but at most 1/8 of the filesystem, so small
// filesystems stay usable.  Injected faults (strace) are not seen here.
const uint64_t MIB = 1024 * 1024;

ps_status check_free_space(ps_db *db)
{
    uint64_t floor = 32 * MIB;
    const char *env = getenv("POLYSEARCH_MIN_FREE_MB");
    if (env && *env) {
        char *end = nullptr;
        unsigned long long v = strtoull(env, &end, 10);
        if (*end == '\0' && v <= (1ULL << 40) / MIB) {
            if (v == 0)
                return PS_OK;
            floor = v * MIB;
        }
    }
    struct statvfs sv;
    if (statvfs(db->path.c_str(), &sv) != 0 || sv.f_frsize == 0)
        return PS_OK;  // unknown: let Xapian report what happens
    uint64_t total = (uint64_t)sv.f_blocks * sv.f_frsize;
    uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    uint64_t need = std::max(std::min(floor, total / 8), 2 * db->pending + 64 * 1024);
    if (avail >= need)
        return PS_OK;
    char m[200];
    snprintf(m, sizeof m, "disk full: No space left on device (ENOSPC guard): "
             "%llu MiB free, a commit needs at least %llu MiB (POLYSEARCH_MIN_FREE_MB)",
             (unsigned long long)(avail / MIB),
             (unsigned long long)((need + MIB - 1) / MIB));
    return set_err(db, PS_ERR_IO, m);
}

// Discards every uncommitted change of a writable handle, including those
// a failed commit left behind: after commit_transaction() the changes are
// no longer in a transaction, and a plain WritableDatabase would retry
// the commit in close() and in its destructor (with the disk still full,
// that retry can end in std::terminate inside Xapian, see
// tests/RELIABILITY.md).  cancel_transaction() drops all pending changes,
// so a transaction is begun first when none is open.  If the cancel
// itself fails, a transaction is left open: close() and the destructor
// then cancel instead of committing.  Never throws.
void discard_pending(ps_db *db) noexcept
{
    db->dirty = false;
    db->pending = 0;
    db->langs_valid = false;
    db->touched.clear();
    db->spell_log.clear();
    db->spell_new.clear();
    db->spell_seen.clear();
    try {
        if (!db->in_txn && !db->stuck_txn)
            db->wdb.begin_transaction(false);
        db->in_txn = false;
        db->stuck_txn = false;
        db->wdb.cancel_transaction();
        return;
    } catch (...) {
    }
    try {
        db->wdb.begin_transaction(false);
    } catch (...) {
    }
    db->stuck_txn = true;  // commit_impl refuses; close() will not commit
}

ps_status commit_impl(ps_db *db)
{
    if (db->stuck_txn)
        return set_err(db, PS_ERR_IO, "the writable handle failed to drop the changes of a "
                       "failed commit: close and reopen it (the last commit is intact)");
    if (db->dirty) {
        ps_status st = check_free_space(db);
        if (st != PS_OK)
            return st;
    }
    if (db->in_txn) {
        try {
            check_spelling(db);
        } catch (...) {
            discard_pending(db);  // nothing of it is committed
            throw;
        }
        db->in_txn = false;
        db->wdb.commit_transaction();
    }
    db->touched.clear();
    db->spell_log.clear();
    db->spell_new.clear();
    db->spell_seen.clear();
    if (db->dirty) {
        try {
            // A failure trips the fence: Xapian's rollback writes nothing.
            struct fence_scope {
                fence_scope() { ps_commit_fence_arm(); }
                ~fence_scope() { ps_commit_fence_disarm(); }
            } fence;
            db->wdb.commit();
        } catch (...) {
            // A half-flushed commit must never be retried by close() or
            // the destructor: drop it (the last commit stays intact).
            discard_pending(db);
            reopen_writable(db);
            throw;
        }
        db->dirty = false;
        // check_spelling() added this commit's new words to the bounds.
        if (db->frag_bound_valid)
            db->frag_bound_rev = db->wdb.get_revision();
    }
    db->pending = 0;
    return PS_OK;
}

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

}  // namespace

// ---- Opening and closing ------------------------------------------------

extern "C" ps_status ps_db_open(const char *path, ps_db_mode mode, ps_db **out,
                                char **errmsg) noexcept
{
    if (out)
        *out = nullptr;
    if (errmsg)
        *errmsg = nullptr;
    std::string msg;
    ps_status st;
    try {
        if (!path || !*path || !out || (mode != PS_DB_READ && mode != PS_DB_WRITE)) {
            msg = "invalid argument to ps_db_open";
            st = PS_ERR_INVALID;
        } else {
            std::unique_ptr<ps_db> h(new ps_db);
            h->path = path;
            struct stat sb;
            bool exists = stat(path, &sb) == 0;
            if (exists && !S_ISDIR(sb.st_mode)) {
                msg = std::string("'") + path + "' is not a database directory "
                      "(only glass databases opened by directory are accepted)";
                st = PS_ERR_NO_DB;
            } else if (mode == PS_DB_READ && !exists) {
                msg = std::string("no database at '") + path + "': " + strerror(errno);
                st = PS_ERR_NO_DB;
            } else {
                std::string stub = std::string(path) + "/XAPIANDB";
                if (mode == PS_DB_READ && access(stub.c_str(), F_OK) == 0) {
                    // A replica made by xapian-replicate: a stub file naming
                    // the live copy (docs/SCALING.md).
                    h->rdb = Xapian::Database(stub, Xapian::DB_BACKEND_STUB);
                } else if (mode == PS_DB_READ) {
                    h->rdb = Xapian::Database(path, Xapian::DB_BACKEND_GLASS);
                } else {
                    if (exists)
                        discard_unfinished_create(path);
                    h->wdb = Xapian::WritableDatabase(
                        path, Xapian::DB_CREATE_OR_OPEN | Xapian::DB_BACKEND_GLASS);
                    h->writable = true;
                    h->spell_check = true;
                }
                *out = h.release();
                return PS_OK;
            }
        }
    } catch (...) {
        st = map_exception(msg);
        if (st == PS_ERR_LOCKED) {
            try {
                msg = lock_message(path);
            } catch (...) {
            }
        }
    }
    if (errmsg)
        *errmsg = strdup(msg.c_str());
    return st;
}

extern "C" ps_status ps_db_close(ps_db *db) noexcept
{
    if (!db)
        return PS_OK;
    ps_status st = PS_OK;
    if (db->sharded) {
        for (ps_db *&sub : db->subs) {
            ps_status s2 = ps_db_close(sub);
            if (s2 != PS_OK && st == PS_OK) {
                st = s2;
                db->err = "shard '" + sub->path + "'";
            }
            sub = nullptr;
        }
        db->subs.clear();
    } else if (db->writable) {
        try {
            st = db->stuck_txn ? PS_OK : commit_impl(db);
        } catch (...) {
            st = fail(db);
        }
        try {
            db->wdb.close();
        } catch (...) {
            if (st == PS_OK)
                st = fail(db);
        }
    }
    delete db;
    return st;
}

extern "C" const char *ps_db_errmsg(const ps_db *db) noexcept
{
    return db ? db->err.c_str() : "no database handle";
}

extern "C" ps_status ps_db_reopen(ps_db *db, int *changed) noexcept
{
    if (changed)
        *changed = 0;
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        if (db->writable)
            return PS_OK;
        if (db->sharded) {
            bool ch = reopen_shards(db);
            if (changed)
                *changed = ch;
            return PS_OK;
        }
        Xapian::rev before = db->rdb.get_revision();
        db->rdb.reopen();
        if (changed)
            *changed = db->rdb.get_revision() != before;
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

extern "C" uint64_t ps_db_revision(ps_db *db) noexcept
{
    if (!db)
        return 0;
    try {
        if (db->sharded) {
            // Sum of the shards' revisions: moves when any shard moves.
            uint64_t sum = 0;
            for (ps_db *sub : db->subs)
                sum += sub->wdb.get_revision();
            for (ps_shard &sh : db->shards)
                if (sh.up)
                    sum += sh.db.get_revision();
            return sum;
        }
        return db->db().get_revision();
    } catch (...) {
        fail(db);
        return 0;
    }
}

// Reads the revision from the glass version file "iamglass": the magic
// string, a 2-byte format version, a 16-byte UUID, then the revision as a
// packed unsigned integer (7 bits per byte, least significant first).  This
// avoids opening every table just to poll for a new commit; the format is
// Xapian 1.4's (checked against get_revision() in tests/unit/test_core_db.c).
extern "C" uint64_t ps_db_disk_revision(const char *path) noexcept
{
    static const char magic[] = "\x0f\x0dXapian Glass";
    const size_t mlen = sizeof magic - 1;
    if (!path)
        return 0;
    try {
        std::string f = std::string(path) + "/iamglass";
        int fd = open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            // A xapian-replicate replica: the stub "auto replica_N" names
            // the live copy.
            FILE *sf = fopen((std::string(path) + "/XAPIANDB").c_str(), "re");
            char line[256] = {0};
            bool got = false;
            while (sf && !got && fgets(line, sizeof line, sf))
                got = strncmp(line, "auto ", 5) == 0;  // skip the comments
            if (sf)
                fclose(sf);
            if (!got || strncmp(line, "auto ", 5) != 0)
                return 0;
            std::string sub(line + 5);
            while (!sub.empty() && (sub.back() == '\n' || sub.back() == '\r'))
                sub.pop_back();
            if (sub.empty() || sub.find('/') != std::string::npos)
                return 0;
            f = std::string(path) + "/" + sub + "/iamglass";
            fd = open(f.c_str(), O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0)
            return 0;
        unsigned char buf[256];
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        size_t off = mlen + 2 + 16;
        if (n < (ssize_t)off + 1 || memcmp(buf, magic, mlen) != 0)
            return 0;
        uint64_t rev = 0;
        for (int shift = 0; off < (size_t)n && shift < 64; shift += 7) {
            unsigned char b = buf[off++];
            rev |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80))
                return rev;
        }
        return 0;
    } catch (...) {
        return 0;
    }
}

// ---- Writing ------------------------------------------------------------

extern "C" ps_status ps_db_put(ps_db *db, const ps_doc_in *doc,
                               ps_put_outcome *outcome) noexcept
{
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    if (db->sharded && db->writable) {
        ps_db *sub = route_sub(db, doc ? doc->id : nullptr);
        return from_sub(db, sub, ps_db_put(sub, doc, outcome));
    }
    try {
        ps_status st = need_writable(db);
        return st != PS_OK ? st : put_impl(db, doc, outcome);
    } catch (...) {
        return fail(db);
    }
}

extern "C" void ps_doc_content_hash(const ps_doc_in *doc, char out[17]) noexcept
{
    if (!out)
        return;
    if (!doc) {
        ps_content_hash(nullptr, nullptr, nullptr, nullptr, nullptr, out);
        return;
    }
    content_hash(doc, out);
}

extern "C" ps_status ps_db_check_unchanged(ps_db *db, const char *id,
                                           const char *hash_hex, int *unchanged) noexcept
{
    if (unchanged)
        *unchanged = 0;
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    if (!unchanged || !hash_hex)
        return set_err(db, PS_ERR_INVALID, "invalid argument to ps_db_check_unchanged");
    try {
        if (!valid_id(id))
            return set_err(db, PS_ERR_INVALID, "invalid document id");
        *unchanged = stored_hash_equals(db->db(), std::string(PFX_ID) + id,
                                        hash_hex, nullptr);
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

extern "C" const ps_boilerplate *ps_db_boilerplate(ps_db *db) noexcept
{
    if (!db)
        return nullptr;
    try {
        return get_bp(db);
    } catch (...) {
        fail(db);
        return nullptr;
    }
}

extern "C" ps_status ps_doc_prepare(const ps_doc_in *doc, const ps_boilerplate *bp,
                                    ps_prepared **out, char **errmsg) noexcept
{
    if (out)
        *out = nullptr;
    if (errmsg)
        *errmsg = nullptr;
    std::string msg;
    ps_status st;
    try {
        if (!out) {
            msg = "invalid argument to ps_doc_prepare";
            st = PS_ERR_INVALID;
        } else {
            std::unique_ptr<ps_prepared> p;
            st = prepare_impl(doc, bp, true, msg, p);
            if (st == PS_OK) {
                *out = p.release();
                return PS_OK;
            }
        }
    } catch (...) {
        st = map_exception(msg);
    }
    if (errmsg)
        *errmsg = strdup(msg.c_str());
    return st;
}

extern "C" ps_status ps_db_put_prepared(ps_db *db, const ps_prepared *p,
                                        ps_put_outcome *outcome) noexcept
{
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    if (!p)
        return set_err(db, PS_ERR_INVALID, "no prepared document");
    if (db->sharded && db->writable) {
        ps_db *sub = route_sub(db, p->id.c_str());
        return from_sub(db, sub, ps_db_put_prepared(sub, p, outcome));
    }
    try {
        ps_status st = need_writable(db);
        return st != PS_OK ? st : put_prepared_impl(db, p, outcome);
    } catch (...) {
        return fail(db);
    }
}

extern "C" const char *ps_prepared_id(const ps_prepared *p) noexcept
{
    return p ? p->id.c_str() : nullptr;
}

extern "C" void ps_prepared_free(ps_prepared *p) noexcept
{
    delete p;
}

extern "C" ps_status ps_db_delete(ps_db *db, const char *id) noexcept
{
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    if (db->sharded && db->writable) {
        ps_db *sub = route_sub(db, id);
        return from_sub(db, sub, ps_db_delete(sub, id));
    }
    try {
        ps_status st = need_writable(db);
        if (st != PS_OK)
            return st;
        if (!valid_id(id))
            return set_err(db, PS_ERR_INVALID, "invalid document id");
        std::string t = std::string(PFX_ID) + id;
        Xapian::docid did = find_id(db->wdb, t);
        if (!did)
            return set_err(db, PS_ERR_NOT_FOUND,
                           std::string("no document with id '") + id + "'");
        ensure_txn(db);
        db->dirty = true;
        db->wdb.delete_document(t);
        if (db->spell_check)
            db->touched.push_back(did);
        db->langs_valid = false;
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

extern "C" ps_status ps_db_commit(ps_db *db) noexcept
{
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    if (db->sharded && db->writable) {
        // Shard by shard: a failure leaves the shards before it committed
        // (there is no two-phase commit across databases).
        for (ps_db *sub : db->subs) {
            ps_status st = ps_db_commit(sub);
            if (st != PS_OK)
                return from_sub(db, sub, st);
        }
        return PS_OK;
    }
    try {
        ps_status st = need_writable(db);
        return st != PS_OK ? st : commit_impl(db);
    } catch (...) {
        return fail(db);
    }
}

extern "C" ps_status ps_db_cancel(ps_db *db) noexcept
{
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    if (db->sharded && db->writable) {
        ps_status first = PS_OK;
        for (ps_db *sub : db->subs) {
            ps_status st = ps_db_cancel(sub);
            if (st != PS_OK && first == PS_OK)
                first = from_sub(db, sub, st);
        }
        db->langs_valid = false;
        return first;
    }
    try {
        ps_status st = need_writable(db);
        if (st != PS_OK)
            return st;
        bool touched = db->dirty || db->in_txn;
        discard_pending(db);
        if (touched)
            reopen_writable(db);
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

extern "C" ps_status ps_db_set_boilerplate_file(ps_db *db, const char *path) noexcept
{
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        char *e = nullptr;
        ps_boilerplate *bp = ps_boilerplate_new(path, &e);
        if (!bp) {
            std::string m = e ? e : "cannot read the boilerplate file";
            free(e);
            return set_err(db, PS_ERR_IO, m);
        }
        free(e);
        for (ps_db *sub : db->subs) {
            ps_status st = ps_db_set_boilerplate_file(sub, path);
            if (st != PS_OK) {
                ps_boilerplate_free(bp);
                return from_sub(db, sub, st);
            }
        }
        ps_boilerplate_free(db->bp);
        db->bp = bp;
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

// ---- Reading ------------------------------------------------------------

extern "C" ps_status ps_db_get(ps_db *db, const char *id, ps_document **out) noexcept
{
    if (out)
        *out = nullptr;
    if (!db || !out)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        if (!valid_id(id))
            return set_err(db, PS_ERR_INVALID, "invalid document id");
        Xapian::Database *dp = &db->db();
        if (db->sharded) {
            // Only the document's own shard can hold it.
            size_t n = db->writable ? db->subs.size() : db->shards.size();
            size_t i = fnv1a64(id) % n;
            if (db->writable) {
                dp = &db->subs[i]->wdb;
            } else if (!db->shards[i].up) {
                return set_err(db, PS_ERR_IO, "shard '" + db->shards[i].spec +
                                                  "' holding this id is down: " +
                                                  db->shards[i].err);
            } else {
                dp = &db->shards[i].db;
            }
        }
        Xapian::Database &d = *dp;
        Xapian::docid did = find_id(d, std::string(PFX_ID) + id);
        if (!did)
            return set_err(db, PS_ERR_NOT_FOUND,
                           std::string("no document with id '") + id + "'");
        fields fl;
        if (!fl.decode(d.get_document(did).get_data()))
            return set_err(db, PS_ERR_CORRUPT,
                           std::string("stored fields of '") + id + "' are malformed");
        char **f = fl.f;
        *out = ps_document_new(f[PS_F_ID], f[PS_F_TITLE], f[PS_F_BODY],
                               f[PS_F_LANG], f[PS_F_DATE], f[PS_F_URL],
                               f[PS_F_HASH]);
        if (!*out)
            throw std::bad_alloc();
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

extern "C" ps_status ps_db_count(ps_db *db, uint64_t *n) noexcept
{
    if (n)
        *n = 0;
    if (!db || !n)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        *n = db->db().get_doccount();
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

namespace {

struct builder_deleter {
    void operator()(ps_results_builder *b) const noexcept { ps_results_builder_free(b); }
};
using builder_ptr = std::unique_ptr<ps_results_builder, builder_deleter>;

builder_ptr new_builder()
{
    builder_ptr b(ps_results_builder_new());
    if (!b)
        throw std::bad_alloc();
    return b;
}

void check(ps_status st)
{
    if (st == PS_ERR_NOMEM)
        throw std::bad_alloc();
}

ps_results *finish(builder_ptr &b, uint64_t total, const char *sugg, uint64_t took)
{
    ps_results *r = ps_results_builder_finish(b.release(), total, sugg, took);
    if (!r)
        throw std::bad_alloc();
    return r;
}

}  // namespace

extern "C" ps_status ps_db_lang_counts(ps_db *db, ps_results **out) noexcept
{
    if (out)
        *out = nullptr;
    if (!db || !out)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        uint64_t t0 = ps_now_us();
        Xapian::Database &d = db->db();
        std::vector<std::pair<std::string, uint64_t>> v;
        for (auto t = d.allterms_begin(PFX_LANG); t != d.allterms_end(PFX_LANG); ++t)
            v.emplace_back((*t).substr(1), t.get_termfreq());
        std::stable_sort(v.begin(), v.end(), [](const auto &a, const auto &b) {
            return a.second > b.second;
        });
        builder_ptr b = new_builder();
        for (const auto &p : v)
            check(ps_results_builder_add_facet(b.get(), p.first.c_str(), p.second));
        *out = finish(b, d.get_doccount(), nullptr, ps_now_us() - t0);
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

extern "C" ps_status ps_db_foreach_id(ps_db *db, int (*fn)(const char *, void *),
                                      void *ctx) noexcept
{
    if (!db || !fn)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        Xapian::Database &d = db->db();
        for (auto t = d.allterms_begin(PFX_ID); t != d.allterms_end(PFX_ID); ++t) {
            std::string id = (*t).substr(1);
            if (fn(id.c_str(), ctx))
                break;
        }
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

// ---- Searching ----------------------------------------------------------

namespace {

const unsigned QP_FLAGS = Xapian::QueryParser::FLAG_PHRASE |
                          Xapian::QueryParser::FLAG_BOOLEAN |
                          Xapian::QueryParser::FLAG_LOVEHATE |
                          Xapian::QueryParser::FLAG_WILDCARD |
                          Xapian::QueryParser::FLAG_CJK_NGRAM;

void setup_parser(Xapian::QueryParser &qp, Xapian::Database &d, unsigned maxw)
{
    qp.set_database(d);
    qp.set_default_op(Xapian::Query::OP_AND);
    qp.add_prefix("title", PFX_TITLE);
    qp.add_boolean_prefix("lang", PFX_LANG);
    qp.set_max_expansion(maxw, Xapian::Query::WILDCARD_LIMIT_ERROR);
}

// Folded words of a query: its unprefixed terms and title terms (for the
// highlighter).
std::vector<std::string> query_words(const Xapian::Query &q)
{
    std::vector<std::string> v;
    for (auto t = q.get_unique_terms_begin(); t != q.get_unique_terms_end(); ++t) {
        std::string s = *t;
        if (s.empty())
            continue;
        if (s[0] >= 'A' && s[0] <= 'Z') {
            if (s[0] != PFX_TITLE[0] || s.size() < 2 || (s[1] >= 'A' && s[1] <= 'Z'))
                continue;
            s.erase(0, 1);
        }
        cstr f(need(ps_fold(s.data(), s.size())));
        if (*f && std::find(v.begin(), v.end(), f.get()) == v.end())
            v.emplace_back(f.get());
    }
    return v;
}

// True when the spelling fragments of every word of q (the query parser
// of Xapian 1.4.22 looks up a correction for every plain term, present
// in the database or not) can be read back.
bool spelling_readable(Xapian::Database &d, const Xapian::Query &q)
{
    for (const std::string &w : query_words(q)) {
        if (w.size() <= 1)
            continue;
        try {
            (void)d.get_spelling_suggestion(w);
        } catch (const Xapian::DatabaseCorruptError &) {
            return false;
        }
    }
    return true;
}

// Folded prefixes of the wildcard words ("bio*") of a query string.
std::vector<std::string> wildcard_prefixes(const std::string &q)
{
    std::vector<std::string> v;
    size_t start = 0;
    for (size_t i = 0; i <= q.size(); i++) {
        char c = i < q.size() ? q[i] : ' ';
        if (c == '*' && i > start) {
            cstr f(need(ps_fold(q.data() + start, i - start)));
            if (*f)
                v.emplace_back(f.get());
        }
        if (strchr(" \t\r\n\"()+-:*", c))
            start = i + 1;
    }
    return v;
}

struct search_ctx {
    ps_db *db;
    const ps_query *q;
    std::string qs;         // query text, diacritics stripped
    std::string lang;       // language filter or ""
    std::string from, to;   // normalised date bounds or ""
    unsigned maxw;
    uint32_t limit;
};

// One attempt; throws Xapian exceptions.
ps_status search_once(search_ctx &c, ps_results **out)
{
    uint64_t t0 = ps_now_us();
    Xapian::Database &d = c.db->db();
    const ps_query *q = c.q;
    bool match_all = c.qs.find_first_not_of(" \t\r\n") == std::string::npos;

    Xapian::QueryParser exact;
    setup_parser(exact, d, c.maxw);
    // Not Query::MatchAll: copying that shared static bumps a non-atomic
    // refcount, a data race between daemon workers (found by TSan).
    Xapian::Query query{std::string()};
    Xapian::Query exact_q;
    if (!match_all) {
        exact_q = exact.parse_query(c.qs, QP_FLAGS);
        std::vector<Xapian::Query> parts{exact_q};
        for (const std::string &l : get_langs(c.db)) {
            const char *stemmer = ps_lang_stemmer(l.c_str());
            if (!stemmer)
                continue;
            Xapian::QueryParser qp;
            setup_parser(qp, d, c.maxw);
            qp.set_stemmer(Xapian::Stem(stemmer));
            // STEM_ALL_Z rather than STEM_SOME: the query parser's STEM_SOME
            // does not stem capitalised words, and German nouns (or a
            // query typed in capitals) must still find their stems.
            qp.set_stemming_strategy(Xapian::QueryParser::STEM_ALL_Z);
            parts.emplace_back(Xapian::Query::OP_FILTER,
                               qp.parse_query(c.qs, QP_FLAGS),
                               Xapian::Query(PFX_LANG + l));
        }
        query = Xapian::Query(Xapian::Query::OP_OR, parts.begin(), parts.end());
    }
    if (!c.lang.empty())
        query = Xapian::Query(Xapian::Query::OP_FILTER, query,
                              Xapian::Query(PFX_LANG + c.lang));
    if (!c.from.empty() || !c.to.empty()) {
        Xapian::Query r =
            c.from.empty() ? Xapian::Query(Xapian::Query::OP_VALUE_LE, SLOT_DATE, c.to)
            : c.to.empty() ? Xapian::Query(Xapian::Query::OP_VALUE_GE, SLOT_DATE, c.from)
                           : Xapian::Query(Xapian::Query::OP_VALUE_RANGE, SLOT_DATE,
                                           c.from, c.to);
        query = Xapian::Query(Xapian::Query::OP_FILTER, query, r);
    }

    Xapian::Enquire enq(d);
    enq.set_query(query);
    if (q->sort == PS_SORT_DATE)
        enq.set_sort_by_value_then_relevance(SLOT_DATE, true);
    Xapian::ValueCountMatchSpy spy(SLOT_LANG);
    if (q->facets)
        enq.add_matchspy(&spy);
    Xapian::MSet mset = enq.get_mset(q->offset, c.limit,
                                     q->facets ? d.get_doccount() : 0);

    std::vector<std::string> words, prefixes;
    std::vector<const char *> wp, pp;
    if (q->snippets && !match_all) {
        words = query_words(exact_q);
        prefixes = wildcard_prefixes(c.qs);
        for (auto &s : words)
            wp.push_back(s.c_str());
        for (auto &s : prefixes)
            pp.push_back(s.c_str());
    }
    ps_snippet_terms st = {wp.data(), wp.size(), pp.data(), pp.size()};
    ps_boilerplate *bp = q->snippets ? get_bp(c.db) : nullptr;

    builder_ptr b = new_builder();
    uint32_t rank = q->offset;
    for (auto it = mset.begin(); it != mset.end(); ++it) {
        fields fl;
        if (!fl.decode(it.get_document().get_data()))
            continue;  // not one of ours; skip rather than fail the search
        char **f = fl.f;
        cstr snip;
        ps_span *spans = nullptr;
        uint32_t nspans = 0;
        if (q->snippets && f[PS_F_BODY]) {
            // Raw stored body: ps_snippet_make_ex() drops boilerplate and
            // repeated lines itself, only around what it shows.
            char *s = nullptr;
            if (ps_snippet_make_ex(f[PS_F_BODY], strlen(f[PS_F_BODY]), f[PS_F_LANG], &st,
                                   bp, q->snippet_bytes ? q->snippet_bytes : 200, &s,
                                   &spans, &nspans, nullptr) != 0)
                throw std::bad_alloc();
            snip.reset(s);
        }
        ps_status rc = ps_results_builder_add_hit(
            b.get(), f[PS_F_ID], f[PS_F_TITLE], f[PS_F_LANG], f[PS_F_DATE],
            f[PS_F_URL], snip ? snip.get() : "", it.get_weight(), ++rank, spans,
            nspans);
        free(spans);
        check(rc);
    }
    if (q->facets)
        for (auto v = spy.top_values_begin(1000); v != spy.top_values_end(1000); ++v)
            check(ps_results_builder_add_facet(b.get(), (*v).c_str(), v.get_termfreq()));

    std::string sugg;
    if (!match_all && (q->spelling || mset.get_matches_estimated() == 0) &&
        spelling_readable(d, exact_q)) {
        // The correction does not change the query, only this string.  A
        // spelling fragment list that Xapian 1.4 wrote but cannot read
        // back (databases written before the workaround in commit_impl,
        // or by a remote writable shard) costs the suggestion, not the
        // search.  The words are probed first because QueryParser leaks
        // when that error crosses parse_query (192 bytes per search,
        // LeakSanitizer); the catch stays for what the probe cannot see.
        try {
            Xapian::QueryParser sp;
            setup_parser(sp, d, c.maxw);
            sp.parse_query(c.qs, QP_FLAGS | Xapian::QueryParser::FLAG_SPELLING_CORRECTION);
            sugg = sp.get_corrected_query_string();
        } catch (const Xapian::DatabaseCorruptError &) {
            sugg.clear();
        }
    }
    for (const ps_shard &sh : c.db->shards)
        if (!sh.up)
            check(ps_results_builder_add_failed(b.get(), sh.spec.c_str()));
    *out = finish(b, mset.get_matches_estimated(), sugg.empty() ? nullptr : sugg.c_str(),
                  ps_now_us() - t0);
    return PS_OK;
}

}  // namespace

extern "C" ps_status ps_search(ps_db *db, const ps_query *q, ps_results **out) noexcept
{
    if (out)
        *out = nullptr;
    if (!db || !q || !out)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        search_ctx c;
        c.db = db;
        c.q = q;
        const char *text = q->q ? q->q : "";
        size_t len = strlen(text);
        size_t maxq = q->max_query ? q->max_query : PS_DEFAULT_MAX_QUERY_BYTES;
        if (len > maxq)
            return set_err(db, PS_ERR_TOO_LARGE,
                           "q is " + std::to_string(len) +
                               " bytes, more than max_query (" +
                               std::to_string(maxq) + ")");
        cstr s(need(ps_strip_diacritics(text, len)));
        split_apostrophes(s.get());
        c.qs = s.get();
        if (!empty(q->lang)) {
            if (!ps_lang_valid(q->lang))
                return set_err(db, PS_ERR_INVALID,
                               std::string("unknown language code '") + q->lang + "'");
            c.lang = q->lang;
        }
        char key[PS_DATE_KEY_LEN + 1];
        if (!empty(q->date_from)) {
            if (ps_date_normalize(q->date_from, 0, key) != 0)
                return set_err(db, PS_ERR_INVALID,
                               std::string("invalid date_from '") + q->date_from + "'");
            c.from = key;
        }
        if (!empty(q->date_to)) {
            if (ps_date_normalize(q->date_to, 1, key) != 0)
                return set_err(db, PS_ERR_INVALID,
                               std::string("invalid date_to '") + q->date_to + "'");
            c.to = key;
        }
        c.maxw = q->max_wildcard ? q->max_wildcard : PS_DEFAULT_MAX_WILDCARD;
        c.limit = q->limit ? q->limit : 10;
        bool sharded_read = db->sharded && !db->writable;
        for (int attempt = 0;; attempt++) {
            if (sharded_read && !db->sopts.allow_partial && any_down(db))
                return set_err(db, PS_ERR_IO, down_message(db));
            try {
                return search_once(c, out);
            } catch (const Xapian::DatabaseModifiedError &) {
                if (db->writable || attempt > 0)
                    throw;
                db->rdb.reopen();
            } catch (const Xapian::NetworkError &) {
                // A remote shard went away: search again without it.
                if (!sharded_read || attempt > 0)
                    throw;
                probe_shards(db);
            }
        }
    } catch (...) {
        return fail(db);
    }
}

// ---- Analysis helpers ---------------------------------------------------

extern "C" char *ps_stem(const char *lang, const char *word) noexcept
{
    if (!word)
        return nullptr;
    try {
        const char *name = lang ? ps_lang_stemmer(lang) : nullptr;
        if (!name)
            return strdup(word);
        // One stemmer per language and thread: building one allocates.
        thread_local std::unordered_map<std::string, Xapian::Stem> cache;
        auto it = cache.find(name);
        if (it == cache.end())
            it = cache.emplace(name, Xapian::Stem(name)).first;
        std::string r = it->second(word);
        return strdup(r.c_str());
    } catch (...) {
        return nullptr;
    }
}
