// xapian14_workarounds.cc: workarounds for bugs of Xapian 1.4 (1.4.22
// here) on the write path, each with the evidence for it in its comment;
// the experiments, their numbers and the commits that fixed them are in
// tests/RELIABILITY.md:
//   - spelling fragment lists that Xapian writes but cannot read back
//     (CompressionStream::decompress_chunk): the spelling words of the open
//     transaction are logged (add_spelling_logged), and check_spelling()
//     reads the new ones back before a commit and, when one cannot be read,
//     writes the transaction again without it (rewrite_txn, which also
//     sets again the metadata logged by set_metadata_logged);
//   - discard_unfinished_create(): a glass database whose creation was
//     killed can be neither opened nor created again;
//   - reopen_writable(): after a failed commit the handle's free lists must
//     not be used again (with lib/core/commit_fence.c).
// The free-space guard (check_free_space, against a std::terminate inside
// Xapian's commit on a full disk) and discard_pending() are in write.cc,
// next to commit_impl(), which calls check_spelling() and
// reopen_writable(); ps_db_open() (db.cc) calls discard_unfinished_create().

#include "internal.h"
#include "util.h"

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace psi;

// ---- Workaround: a database whose creation was interrupted ----
//
// A glass database whose creation was interrupted (kill -9 after the
// table files were created, before the first version file was renamed to
// iamglass) cannot be opened nor created again by Xapian.  Nothing was
// ever committed to it, so when no writer holds the lock, iamglass is
// missing, and the directory holds only flintlock, v.tmp and EMPTY table
// files, those leftovers are removed and the database is created afresh.
// On any doubt the directory is left alone and Xapian reports.
// Found by fault_indexer_kill_sweep at K = 1 (such a directory was refused
// forever); test_core_faults test_interrupted_create; see
// tests/RELIABILITY.md.
bool psi::only_create_leftovers(const std::string &dir, std::vector<std::string> *junk,
                                std::string *other)
{
    DIR *d = opendir(dir.c_str());
    if (!d)
        return false;
    bool only = true;
    while (struct dirent *e = readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == ".." || n == "flintlock")
            continue;
        bool table = n.size() > 6 && n.compare(n.size() - 6, 6, ".glass") == 0;
        struct stat sb;
        if ((n != "v.tmp" && !table) || lstat((dir + "/" + n).c_str(), &sb) != 0 ||
            !S_ISREG(sb.st_mode) || (table && sb.st_size != 0)) {
            only = false;
            if (other)
                *other = n;
            break;
        }
        if (junk)
            junk->push_back(n);
    }
    closedir(d);
    return only;
}

void psi::discard_unfinished_create(const std::string &dir)
{
    const std::string version = dir + "/iamglass";
    if (access(version.c_str(), F_OK) == 0 || errno != ENOENT)
        return;
    std::vector<std::string> junk;
    if (!only_create_leftovers(dir, &junk, nullptr) || junk.empty())
        return;
    int fd = open((dir + "/flintlock").c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    // Xapian's writer lock is a whole-file lock on flintlock: taking it
    // proves no creation is in progress.  Closing fd releases it.
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0 && access(version.c_str(), F_OK) != 0 &&
        errno == ENOENT) {
        for (const auto &n : junk)
            unlink((dir + "/" + n).c_str());
    }
    close(fd);
}

// ---- Workaround: spelling fragments Xapian 1.4 cannot read back ----
//
// Xapian 1.4 (1.4.22 here) can write a compressed tag that it cannot read
// back.  CompressionStream::decompress_chunk() inflates into an 8 KiB
// buffer and takes "all input consumed" for "this chunk is complete"; when
// inflate() fills the buffer exactly as it reads the last input byte of a
// tag, output is still pending (zlib only promises it is all out when
// avail_out comes back non-zero), so every later read of that tag throws
// DatabaseCorruptError("Too few chunks of compressed data") although its
// bytes are intact.  The spelling table's fragment lists (every word
// sharing a head, tail or trigram) grow past 8 KiB and, with a commit per
// new word (polysearchd), are rewritten in small steps: one of them soon
// hits the window, and from then on every commit that adds a word
// sharing that fragment fails, as does xapian-check.  Documents and
// termlists are written once and were never seen to hit it (0 in 20,000
// documents of 8-38 KiB); see tests/RELIABILITY.md.
//
// So before a commit the fragments of every word new to the spelling
// table are read back (get_spelling_suggestion() merges the pending
// spelling changes, then reads every fragment of the word).  When one
// cannot be read, the transaction is written again: the documents as
// they stand, then the spelling words one at a time, each new one read
// back at once so that an unreadable fragment names its word, which is
// then left out (its documents are unaffected; the word gets another
// chance whenever it comes again).

// Brings spell_reader to the last commit (this handle is the only
// writer).  When it cannot be opened every spelling word counts as new.
void psi::sync_spell_reader(ps_db *db)
{
    try {
        if (db->spell_reader_open)
            db->spell_reader.reopen();
        else
            db->spell_reader = Xapian::Database(db->path, Xapian::DB_BACKEND_GLASS);
        db->spell_reader_open = true;
    } catch (const Xapian::Error &) {
        db->spell_reader_open = false;
    }
}

namespace {

// True when the last commit's spelling table holds word (false when
// unknown: the word is then checked as a new one).
bool committed_spelling_has(ps_db *db, const std::string &word)
{
    if (!db->spell_reader_open)
        return false;
    try {
        Xapian::TermIterator it = db->spell_reader.spellings_begin();
        it.skip_to(word);
        return it != db->spell_reader.spellings_end() && *it == word;
    } catch (const Xapian::Error &) {
        return false;
    }
}

}  // namespace

// Adds spelling data for word (in a transaction) and logs it for
// check_spelling(): a word that neither the last commit nor this
// transaction had is recorded in spell_new (its fragment lists change).
// Words of one byte are ignored by Xapian.  Returns true when word is
// new.
bool psi::add_spelling_logged(ps_db *db, const std::string &word, Xapian::termcount n)
{
    db->wdb.add_spelling(word, n);
    if (!db->spell_check)
        return false;
    db->spell_log.emplace_back(word, n);
    if (word.size() <= 1 || !db->spell_seen.insert(word).second ||
        committed_spelling_has(db, word))
        return false;
    db->spell_new.push_back(word);
    return true;
}

namespace {

// Attempts before giving up the spelling of the whole transaction.
const unsigned SPELL_REDO_MAX = 8;

// A free-standing copy of a document of the open transaction (data,
// values, terms with their wdf and positions).
Xapian::Document detached_copy(const Xapian::Document &src)
{
    Xapian::Document d;
    d.set_data(src.get_data());
    for (auto v = src.values_begin(); v != src.values_end(); ++v)
        d.add_value(v.get_valueno(), *v);
    for (auto t = src.termlist_begin(); t != src.termlist_end(); ++t) {
        const std::string term = *t;
        d.add_term(term, t.get_wdf());
        for (auto p = t.positionlist_begin(); p != t.positionlist_end(); ++p)
            d.add_posting(term, *p, 0);
    }
    return d;
}

// Reads back every spelling fragment of word (merging the pending
// spelling changes first).  Returns false when one cannot be read; other
// errors propagate.
bool fragments_readable(ps_db *db, const std::string &word)
{
    try {
        (void)db->wdb.get_spelling_suggestion(word, 1);
        return true;
    } catch (const Xapian::DatabaseCorruptError &) {
        return false;
    }
}

// The transaction as it stands, to write it again.
struct txn_copy {
    std::vector<std::pair<Xapian::docid, Xapian::Document>> docs;  // present
    std::vector<Xapian::docid> gone;                                 // deleted
    std::vector<std::pair<std::string, Xapian::termcount>> spelling;
    std::vector<std::pair<std::string, std::string>> metadata;  // in order
};

// Cancels the open transaction and writes c in a new one, leaving out the
// spelling of the words in skip (all of it when all_spelling_out).  Each
// new word is read back as soon as it is added.  Returns true, or false
// after adding to skip the word whose fragments could not be read (the
// transaction must then be written again).
bool rewrite_txn(ps_db *db, const txn_copy &c, std::vector<std::string> &skip,
                 bool all_spelling_out)
{
    db->wdb.cancel_transaction();
    db->in_txn = false;
    db->touched.clear();
    db->spell_log.clear();
    db->spell_new.clear();
    db->spell_seen.clear();
    db->meta_log.clear();
    ensure_txn(db);
    for (const auto &m : c.metadata)
        set_metadata_logged(db, m.first, m.second);
    for (Xapian::docid did : c.gone) {
        try {
            db->wdb.delete_document(did);
        } catch (const Xapian::DocNotFoundError &) {
            // added and deleted within the transaction
        }
        db->touched.push_back(did);
    }
    for (const auto &d : c.docs) {
        db->wdb.replace_document(d.first, d.second);
        db->touched.push_back(d.first);
    }
    if (all_spelling_out)
        return true;
    for (const auto &s : c.spelling) {
        if (std::find(skip.begin(), skip.end(), s.first) != skip.end())
            continue;
        if (add_spelling_logged(db, s.first, s.second) && !fragments_readable(db, s.first)) {
            skip.push_back(s.first);
            return false;
        }
    }
    return true;
}

// Reading a word back costs a spelling suggestion (every fragment list
// of the word inflated and its words compared), and on a new database
// nearly every title word is new: without a filter this check was a
// quarter of the indexing writer's time on 2,000 documents.  The bug
// needs a list whose inflated size reaches a multiple of 8 KiB.  Xapian
// 1.4 (GlassSpellingTable::toggle_word) files a word under its head
// ("H" + first 2 bytes), tail ("T" + last 2), bookends ("B" + first +
// last, words of at most 4 bytes) and every 3-byte window ("M" + 3
// bytes); a list stores each of its words prefix-compressed in at most
// 2 + length bytes.  So a word whose fragments all have bounds below
// FRAG_CHECK_BYTES (half the 8 KiB, for margin) cannot hit the bug and
// is not read back.
const uint64_t FRAG_CHECK_BYTES = 4096;

// Calls fn(key) for every fragment of word w (a key may come twice, and
// two fragments may share a key: both only make bounds larger).
template <class F>
void for_each_fragment(const std::string &w, F fn)
{
    size_t n = w.size();
    if (n < 2)
        return;
    auto b = [&w](size_t i) { return (uint32_t)(unsigned char)w[i]; };
    fn((uint32_t)'H' << 24 | b(0) << 16 | b(1) << 8);
    fn((uint32_t)'T' << 24 | b(n - 2) << 16 | b(n - 1) << 8);
    if (n <= 4)
        fn((uint32_t)'B' << 24 | b(0) << 16 | b(n - 1) << 8);
    for (size_t i = 0; i + 3 <= n; i++)
        fn((uint32_t)'M' << 24 | b(i) << 16 | b(i + 1) << 8 | b(i + 2));
}

void frag_bound_add(ps_db *db, const std::string &w)
{
    uint64_t bytes = 2 + w.size();
    for_each_fragment(w, [db, bytes](uint32_t k) { db->frag_bound[k] += bytes; });
}

// True when a fragment list of w may be large enough for the bug.
bool frag_may_be_large(const ps_db *db, const std::string &w)
{
    bool large = false;
    for_each_fragment(w, [db, &large](uint32_t k) {
        auto it = db->frag_bound.find(k);
        if (it != db->frag_bound.end() && it->second >= FRAG_CHECK_BYTES)
            large = true;
    });
    return large;
}

// Makes frag_bound cover every spelling word of the last commit (the
// commit spell_reader is at), rebuilding it from spell_reader when it is
// not known to.  Returns false when that cannot be done (then every new
// word is read back).
bool frag_bound_ready(ps_db *db)
{
    try {
        if (!db->spell_reader_open) {
            db->frag_bound_valid = false;
            return false;
        }
        Xapian::rev r = db->spell_reader.get_revision();
        if (db->frag_bound_valid && db->frag_bound_rev == r)
            return true;
        db->frag_bound_valid = false;
        db->frag_bound.clear();
        for (auto t = db->spell_reader.spellings_begin(); t != db->spell_reader.spellings_end(); ++t)
            frag_bound_add(db, *t);
        db->frag_bound_rev = r;
        db->frag_bound_valid = true;
        return true;
    } catch (const Xapian::Error &) {
        db->frag_bound_valid = false;
        db->frag_bound.clear();
        return false;
    }
}

}  // namespace

// Before a commit: makes sure every spelling fragment the transaction
// rewrote can be read back (see above; only the words whose lists may be
// large enough are read).  Throws on errors other than an unreadable
// fragment (the caller discards the transaction).
void psi::check_spelling(ps_db *db)
{
    if (!db->spell_check || !db->in_txn || db->spell_new.empty())
        return;
    bool bounded = frag_bound_ready(db);
    if (bounded)
        for (const std::string &w : db->spell_new)
            frag_bound_add(db, w);
    auto bad = std::find_if(db->spell_new.begin(), db->spell_new.end(),
                            [db, bounded](const std::string &w) {
                                return (!bounded || frag_may_be_large(db, w)) &&
                                       !fragments_readable(db, w);
                            });
    if (bad == db->spell_new.end())
        return;
    std::vector<std::string> skip{*bad};
    txn_copy c;
    std::vector<Xapian::docid> ids = db->touched;
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (Xapian::docid did : ids) {
        try {
            c.docs.emplace_back(did, detached_copy(db->wdb.get_document(did)));
        } catch (const Xapian::DocNotFoundError &) {
            c.gone.push_back(did);
        }
    }
    c.spelling = db->spell_log;
    c.metadata = db->meta_log;
    unsigned attempt = 1;
    while (!rewrite_txn(db, c, skip, attempt >= SPELL_REDO_MAX))
        attempt++;
    if (attempt >= SPELL_REDO_MAX)
        ps_log(PS_LOG_WARN, "%s: spelling data of this commit left out (%zu words): "
               "Xapian could not read back a spelling fragment list after %u attempts",
               db->path.c_str(), c.spelling.size(), attempt);
    else
        ps_log(PS_LOG_WARN, "%s: spelling data of %zu word(s) left out of this commit "
               "(first '%s'): Xapian could not read back a spelling fragment list "
               "they changed (Xapian 1.4 compressed-tag bug, worked around)",
               db->path.c_str(), skip.size(), skip[0].c_str());
}

// ---- Workaround: a writable handle after a failed commit ----
//
// After discard_pending on a handle that had changes: closes the
// WritableDatabase and opens it again from disk (the last commit).  Xapian
// 1.4's free lists keep the block buffers of dropped changes, which the
// next commit of the same handle could write over live free-list blocks
// (lib/core/commit_fence.c); after a fenced failure Xapian has closed it
// anyway.  If the open fails (another writer took the lock meanwhile),
// commits are refused (stuck_txn).  Never throws.
// Evidence (the free-list block buffers that survive cancel()): see
// tests/RELIABILITY.md, "Findings of round 4".
void psi::reopen_writable(ps_db *db) noexcept
{
    db->frag_bound_valid = false;  // another writer may commit meanwhile
    try {
        db->wdb.close();  // nothing pending, or a transaction open: no commit
    } catch (...) {
    }
    try {
        db->wdb = Xapian::WritableDatabase(db->path, Xapian::DB_OPEN | Xapian::DB_BACKEND_GLASS);
        db->stuck_txn = false;
    } catch (...) {
        db->stuck_txn = true;
    }
}
