// delta.cc: the in-memory delta of the write-ahead log (polysearch.h,
// "The delta of a write-ahead log").  Three sides share one ps_delta:
//   - the writer thread records puts and deletes (ps_delta_put/_delete,
//     with the outcome computed against its own index of the latest
//     operation per id, else its view of the main database), publishes
//     them after the log's fdatasync or discards the unpublished ones;
//   - the checkpoint thread applies the published operations to the
//     writable handle through the put/delete path of write.cc, stores
//     their last seq in the metadata "polysearch.wal_seq" in the same
//     commit, and frees them only after that commit succeeded;
//   - every attached read handle (one per worker thread) keeps a view:
//     a private Xapian in-memory database holding the current version of
//     each id the delta changed after its main revision's seq, and the
//     main docids those changes superseded, hidden from searches by a
//     match decider and from counts, get and id lists by lookups.
// Operations are immutable once recorded and shared through shared_ptr,
// so readers copy pointers under the lock and unserialise outside it; no
// Xapian object crosses threads (documents travel serialised).
//
// Lock order: ps_delta::cp_mu (checkpoints) before ps_delta::mu.  mu
// guards ops, bytes, last_seq (written only by the writer thread, so the
// writer reads it without the lock), published and watermark.  index and
// the view cache are the writer thread's own.

#include "internal.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

using namespace psi;

namespace {

// One recorded operation (immutable once in ps_delta::ops).
struct delta_op {
    uint64_t seq = 0;
    bool del = false;
    std::string id;
    std::string hash;  // put: content hash
    std::string doc;   // put: Xapian::Document::serialise()
    std::vector<std::pair<std::string, Xapian::termcount>> spelling;  // put

    uint64_t bytes() const
    {
        uint64_t n = sizeof *this + id.size() + hash.size() + doc.size();
        for (const auto &s : spelling)
            n += sizeof s + s.first.size();
        return n;
    }
};

using op_ptr = std::shared_ptr<const delta_op>;

// The writer's view of an id's latest operation (published or not).
struct latest {
    uint64_t seq;
    bool del;
    std::string hash;
};

bool seq_less(uint64_t s, const op_ptr &o)
{
    return s < o->seq;
}

}  // namespace

struct ps_delta {
    std::mutex mu;
    std::deque<op_ptr> ops;    // by seq; every op with seq > watermark
    uint64_t bytes = 0;
    uint64_t last_seq = 0;     // highest seq used (writer writes, under mu)
    uint64_t published = 0;    // ops <= published are visible
    uint64_t watermark = 0;    // ops <= watermark are in the database
    std::atomic<uint64_t> attached{0};

    std::mutex cp_mu;          // one checkpoint at a time

    // Writer thread only.
    std::string werr;
    std::unordered_map<std::string, latest> index;  // id -> latest op
    uint64_t pruned_wm = 0;    // index holds no entry <= this
    const ps_db *vc_db = nullptr;  // cached wal seq of the view
    Xapian::rev vc_rev = 0;
    uint64_t vc_seq = 0;
};

namespace {

// The seq stored in d's revision (0 when none).  Throws
// DatabaseCorruptError for a value that is not a decimal number.
uint64_t read_wal_seq(Xapian::Database &d)
{
    std::string s = d.get_metadata(META_WAL_SEQ);
    if (s.empty())
        return 0;
    uint64_t v = 0;
    bool ok = s.size() <= 20;
    for (char c : s) {
        if (!ok || c < '0' || c > '9' || v > (UINT64_MAX - (uint64_t)(c - '0')) / 10) {
            ok = false;
            break;
        }
        v = v * 10 + (uint64_t)(c - '0');
    }
    if (!ok)
        throw Xapian::DatabaseCorruptError(std::string("metadata ") + META_WAL_SEQ +
                                           " is not a sequence number: '" +
                                           s.substr(0, 40) + "'");
    return v;
}

ps_status delta_err(ps_delta *d, ps_status st, const std::string &m)
{
    d->werr = m;
    return st;
}

const char SHARDED_MSG[] = "the write-ahead delta does not support sharded handles";

// ---- Writer side ----------------------------------------------------------

uint64_t current_watermark(ps_delta *d)
{
    std::lock_guard<std::mutex> g(d->mu);
    return d->watermark;
}

// The seq of the view's revision, cached per revision.
uint64_t view_seq(ps_delta *d, ps_db *view)
{
    Xapian::Database &m = view->db();
    Xapian::rev rev = m.get_revision();
    if (d->vc_db != view || d->vc_rev != rev) {
        d->vc_db = nullptr;
        d->vc_seq = read_wal_seq(m);
        d->vc_rev = rev;
        d->vc_db = view;
    }
    return d->vc_seq;
}

// Makes sure view holds every operation the index no longer does (all
// <= the watermark): reopens a read-only view older than the watermark.
void view_current(ps_delta *d, ps_db *view)
{
    uint64_t wm = current_watermark(d);
    if (view_seq(d, view) >= wm)
        return;
    if (!view->writable) {
        view->rdb.reopen();
        view->langs_valid = false;
        if (view_seq(d, view) >= wm)
            return;
    }
    throw Xapian::InvalidOperationError(
        "the view's database (wal seq " + std::to_string(view_seq(d, view)) +
        ") is older than the delta's checkpoint (" + std::to_string(wm) +
        "): not the database the delta checkpoints into?");
}

// The current version of id for the writer: true with its hash when one
// exists (the delta's latest operation, else the main database).
bool writer_current(ps_delta *d, ps_db *view, const std::string &id, std::string *hash)
{
    auto it = d->index.find(id);
    if (it != d->index.end()) {
        if (it->second.del)
            return false;
        *hash = it->second.hash;
        return true;
    }
    for (int attempt = 0;; attempt++) {
        try {
            view_current(d, view);
            Xapian::Database &m = view->db();
            Xapian::docid did = find_id(m, PFX_ID + id);
            if (!did)
                return false;
            *hash = m.get_document(did, Xapian::DOC_ASSUME_VALID).get_value(SLOT_HASH);
            return true;
        } catch (const Xapian::DatabaseModifiedError &) {
            // The checkpoint moved the database twice under the view.
            if (view->writable || attempt > 0)
                throw;
            view->rdb.reopen();
        }
    }
}

// Drops the index entries of operations now in the database (<= wm).
void prune_index(ps_delta *d, uint64_t wm)
{
    if (wm <= d->pruned_wm)
        return;
    for (auto it = d->index.begin(); it != d->index.end();)
        it = it->second.seq <= wm ? d->index.erase(it) : std::next(it);
    d->pruned_wm = wm;
}

// Records op (seq already checked) and points the index at it.
void record(ps_delta *d, op_ptr op)
{
    auto found = d->index.find(op->id);
    bool had = found != d->index.end();
    latest old = had ? found->second : latest{0, false, std::string()};
    latest &slot = had ? found->second : d->index[op->id];
    slot = latest{op->seq, op->del, op->hash};
    uint64_t wm;
    try {
        std::lock_guard<std::mutex> g(d->mu);
        d->ops.push_back(op);
        d->bytes += op->bytes();
        d->last_seq = op->seq;
        wm = d->watermark;
    } catch (...) {
        if (had)
            slot = old;
        else
            d->index.erase(op->id);
        throw;
    }
    prune_index(d, wm);
}

ps_status check_seq(ps_delta *d, uint64_t seq)
{
    // last_seq is written by this thread only: no lock to read it.
    if (seq <= d->last_seq)
        return delta_err(d, PS_ERR_INVALID,
                         "seq " + std::to_string(seq) + " is not greater than " +
                             std::to_string(d->last_seq) +
                             " (the last seq recorded or checkpointed)");
    return PS_OK;
}

// ---- Checkpoint side ------------------------------------------------------

// Cancels what a failed checkpoint left on wdb, keeping its message.
void cancel_keep_message(ps_db *wdb) noexcept
{
    std::string m;
    try {
        m = wdb->err;
    } catch (...) {
    }
    (void)ps_db_cancel(wdb);
    wdb->err.swap(m);
}

// Applies ops (in seq order; per id only its last one) to wdb and sets
// the metadata, in wdb's open transaction.  Throws.
void apply_to_writable(ps_db *wdb, const std::vector<op_ptr> &ops, uint64_t upto)
{
    std::unordered_map<std::string, size_t> last;
    for (size_t i = 0; i < ops.size(); i++)
        last[ops[i]->id] = i;
    for (size_t i = 0; i < ops.size(); i++) {
        const delta_op &op = *ops[i];
        if (last[op.id] != i)
            continue;
        if (op.del) {
            // Absent (a replayed delete, or added and deleted within
            // the delta): nothing to do.
            (void)delete_impl(wdb, PFX_ID + op.id);
            wdb->err.clear();
            continue;
        }
        ps_prepared p;
        p.id = op.id;
        p.idterm = PFX_ID + op.id;
        p.hash = op.hash;
        p.doc = Xapian::Document::unserialise(op.doc);
        p.spelling = op.spelling;
        (void)put_prepared_impl(wdb, &p, nullptr);
    }
    set_metadata_logged(wdb, META_WAL_SEQ, std::to_string(upto));
}

}  // namespace

// ---- The view of an attached read handle ----------------------------------

namespace {

// Hides the main documents in sup.  The Document a MatchDecider gets
// carries the docid of its own sub-database (not the combined one), so a
// docid in sup is the superseded main document unless the document is an
// in-memory copy (value SLOT_DELTA set).
struct superseded_decider : Xapian::MatchDecider {
    const std::unordered_map<Xapian::docid, std::string> *sup = nullptr;
    bool operator()(const Xapian::Document &doc) const override
    {
        if (sup->find(doc.get_docid()) == sup->end())
            return true;
        return !doc.get_value(SLOT_DELTA).empty();
    }
};

}  // namespace

struct psi::delta_view {
    ps_delta *d = nullptr;
    bool built = false;        // false: rebuild before use
    Xapian::rev main_rev = 0;  // main revision the view was built on
    uint64_t main_seq = 0;     // its wal seq
    uint64_t applied = 0;      // ops <= applied are in the view
    Xapian::WritableDatabase mem;
    Xapian::Database combined;  // main + mem
    std::unordered_map<Xapian::docid, std::string> sup;  // main docid -> lang
    std::unordered_set<std::string> sup_ids;             // their ids
    superseded_decider dec;
};

void psi::delta_view_deleter::operator()(delta_view *v) const noexcept
{
    if (!v)
        return;
    v->d->attached--;
    delete v;
}

namespace {

void rebuild_view(ps_db *db, delta_view &v)
{
    v.built = false;
    v.main_rev = db->rdb.get_revision();
    v.main_seq = read_wal_seq(db->rdb);
    v.sup.clear();
    v.sup_ids.clear();
    v.mem = Xapian::WritableDatabase(std::string(), Xapian::DB_BACKEND_INMEMORY);
    Xapian::Database c;
    c.add_database(db->rdb);
    c.add_database(v.mem);
    v.combined = c;
    v.applied = v.main_seq;
    v.dec.sup = &v.sup;
    v.built = true;
    db->langs_valid = false;
}

void apply_to_view(ps_db *db, delta_view &v, const delta_op &op)
{
    std::string t = PFX_ID + op.id;
    Xapian::docid did = find_id(db->rdb, t);
    if (did && v.sup.find(did) == v.sup.end()) {
        std::string lang =
            db->rdb.get_document(did, Xapian::DOC_ASSUME_VALID).get_value(SLOT_LANG);
        v.sup.emplace(did, lang);
        v.sup_ids.insert(op.id);
    }
    if (op.del) {
        v.mem.delete_document(t);
    } else {
        Xapian::Document doc = Xapian::Document::unserialise(op.doc);
        doc.add_value(SLOT_DELTA, "d");
        v.mem.replace_document(t, doc);
    }
}

void sync_once(ps_db *db)
{
    delta_view &v = *db->delta;
    ps_delta *d = v.d;
    for (bool reopened = false;;) {
        if (!v.built || db->rdb.get_revision() != v.main_rev)
            rebuild_view(db, v);
        std::vector<op_ptr> batch;
        uint64_t pub = 0;
        bool behind = false;
        {
            std::lock_guard<std::mutex> g(d->mu);
            if (v.main_seq < d->watermark) {
                // The operations between are freed: only a newer revision
                // of the main database has them.
                behind = true;
            } else if (d->published > v.applied) {
                pub = d->published;
                auto b = std::upper_bound(d->ops.begin(), d->ops.end(), v.applied, seq_less);
                auto e = std::upper_bound(b, d->ops.end(), pub, seq_less);
                batch.assign(b, e);
            }
        }
        if (behind) {
            if (reopened)
                throw Xapian::InvalidOperationError(
                    "the database (wal seq " + std::to_string(v.main_seq) +
                    ") is older than its delta's checkpoint: not the database "
                    "the delta checkpoints into?");
            db->rdb.reopen();
            reopened = true;
            continue;
        }
        if (pub == 0)
            return;
        v.built = false;  // a failure half-way: rebuild next time
        for (const op_ptr &op : batch)
            apply_to_view(db, v, *op);
        v.applied = pub;
        v.built = true;
        db->langs_valid = false;
        return;
    }
}

}  // namespace

void psi::delta_sync(ps_db *db)
{
    if (!db->delta)
        return;
    try {
        sync_once(db);
    } catch (const Xapian::DatabaseModifiedError &) {
        // The main revision went away under the view: start again from
        // the latest one.
        db->delta->built = false;
        db->rdb.reopen();
        sync_once(db);
    }
}

Xapian::Database &psi::read_db(ps_db *db)
{
    return db->delta ? db->delta->combined : db->db();
}

const Xapian::MatchDecider *psi::delta_decider(ps_db *db)
{
    return db->delta && !db->delta->sup.empty() ? &db->delta->dec : nullptr;
}

Xapian::docid psi::delta_find(ps_db *db, const std::string &t, Xapian::Database **where)
{
    if (!db->delta) {
        *where = &db->db();
        return find_id(db->db(), t);
    }
    delta_view &v = *db->delta;
    Xapian::docid did = find_id(v.mem, t);
    if (did) {
        *where = &v.mem;
        return did;
    }
    *where = &db->rdb;
    did = find_id(db->rdb, t);
    return did && v.sup.find(did) == v.sup.end() ? did : 0;
}

Xapian::doccount psi::delta_doccount(ps_db *db)
{
    if (!db->delta)
        return db->db().get_doccount();
    delta_view &v = *db->delta;
    return db->rdb.get_doccount() - (Xapian::doccount)v.sup.size() + v.mem.get_doccount();
}

std::vector<std::pair<std::string, uint64_t>> psi::delta_lang_counts(ps_db *db)
{
    std::map<std::string, int64_t> c;  // in language order, as allterms
    auto add_all = [&c](Xapian::Database &d) {
        for (auto t = d.allterms_begin(PFX_LANG); t != d.allterms_end(PFX_LANG); ++t)
            c[(*t).substr(1)] += t.get_termfreq();
    };
    add_all(db->db());
    if (db->delta) {
        for (const auto &s : db->delta->sup)
            c[s.second]--;
        add_all(db->delta->mem);
    }
    std::vector<std::pair<std::string, uint64_t>> v;
    for (const auto &e : c)
        if (e.second > 0)
            v.emplace_back(e.first, (uint64_t)e.second);
    return v;
}

void psi::delta_foreach_id(ps_db *db, int (*fn)(const char *, void *), void *ctx)
{
    // Both term lists are in id order: merge them, skipping the main ids
    // the delta superseded (an id in both is the in-memory version).
    struct cursor {
        Xapian::TermIterator it, end;
        bool has = false;
        std::string id;
        void next(bool first = false)
        {
            if (!first)
                ++it;
            has = it != end;
            if (has)
                id = (*it).substr(1);
        }
    } m, x;
    Xapian::Database &main = db->db();
    m.it = main.allterms_begin(PFX_ID);
    m.end = main.allterms_end(PFX_ID);
    m.next(true);
    if (db->delta) {
        x.it = db->delta->mem.allterms_begin(PFX_ID);
        x.end = db->delta->mem.allterms_end(PFX_ID);
        x.next(true);
    }
    std::string id;
    while (m.has || x.has) {
        if (x.has && (!m.has || x.id <= m.id)) {
            id = x.id;
            if (m.has && m.id == x.id)
                m.next();
            x.next();
        } else {
            id = m.id;
            m.next();
            if (db->delta && db->delta->sup_ids.count(id))
                continue;
        }
        if (fn(id.c_str(), ctx))
            return;
    }
}

// ---- Entry points ---------------------------------------------------------

extern "C" ps_status ps_delta_new(uint64_t checkpointed, ps_delta **out) noexcept
{
    if (!out)
        return PS_ERR_INVALID;
    *out = nullptr;
    try {
        std::unique_ptr<ps_delta> d(new ps_delta);
        d->last_seq = d->published = d->watermark = d->pruned_wm = checkpointed;
        *out = d.release();
        return PS_OK;
    } catch (...) {
        return PS_ERR_NOMEM;
    }
}

extern "C" void ps_delta_free(ps_delta *d) noexcept
{
    delete d;
}

extern "C" const char *ps_delta_errmsg(const ps_delta *d) noexcept
{
    return d ? d->werr.c_str() : "no delta";
}

extern "C" ps_status ps_delta_put(ps_delta *d, ps_db *view, const ps_prepared *p,
                                  uint64_t seq, ps_put_outcome *out) noexcept
{
    if (out)
        *out = PS_PUT_ADDED;
    if (!d)
        return PS_ERR_INVALID;
    d->werr.clear();
    try {
        if (!p)
            return delta_err(d, PS_ERR_INVALID, "no prepared document");
        if (view && view->sharded)
            return delta_err(d, PS_ERR_INVALID, SHARDED_MSG);
        ps_status st = check_seq(d, seq);
        if (st != PS_OK)
            return st;
        ps_put_outcome outcome = PS_PUT_ADDED;
        if (view) {
            std::string cur;
            if (writer_current(d, view, p->id, &cur))
                outcome = cur == p->hash ? PS_PUT_UNCHANGED : PS_PUT_REPLACED;
        }
        if (outcome == PS_PUT_UNCHANGED) {
            std::lock_guard<std::mutex> g(d->mu);
            d->last_seq = seq;
        } else {
            std::shared_ptr<delta_op> op = std::make_shared<delta_op>();
            op->seq = seq;
            op->id = p->id;
            op->hash = p->hash;
            op->doc = p->doc.serialise();
            op->spelling = p->spelling;
            record(d, std::move(op));
        }
        if (out)
            *out = outcome;
        return PS_OK;
    } catch (...) {
        return map_exception(d->werr);
    }
}

extern "C" ps_status ps_delta_delete(ps_delta *d, ps_db *view, const char *id,
                                     uint64_t seq) noexcept
{
    if (!d)
        return PS_ERR_INVALID;
    d->werr.clear();
    try {
        if (!valid_id(id))
            return delta_err(d, PS_ERR_INVALID, "invalid document id");
        if (view && view->sharded)
            return delta_err(d, PS_ERR_INVALID, SHARDED_MSG);
        ps_status st = check_seq(d, seq);
        if (st != PS_OK)
            return st;
        std::string cur;
        if (view && !writer_current(d, view, id, &cur))
            return delta_err(d, PS_ERR_NOT_FOUND,
                             std::string("no document with id '") + id + "'");
        std::shared_ptr<delta_op> op = std::make_shared<delta_op>();
        op->seq = seq;
        op->del = true;
        op->id = id;
        record(d, std::move(op));
        return PS_OK;
    } catch (...) {
        return map_exception(d->werr);
    }
}

extern "C" ps_status ps_delta_check_unchanged(ps_delta *d, ps_db *view, const char *id,
                                              const char *hash_hex,
                                              int *unchanged) noexcept
{
    if (unchanged)
        *unchanged = 0;
    if (!d)
        return PS_ERR_INVALID;
    d->werr.clear();
    try {
        if (!view || !hash_hex || !unchanged)
            return delta_err(d, PS_ERR_INVALID, "invalid argument to ps_delta_check_unchanged");
        if (!valid_id(id))
            return delta_err(d, PS_ERR_INVALID, "invalid document id");
        if (view->sharded)
            return delta_err(d, PS_ERR_INVALID, SHARDED_MSG);
        std::string cur;
        *unchanged = writer_current(d, view, id, &cur) && cur == hash_hex;
        return PS_OK;
    } catch (...) {
        return map_exception(d->werr);
    }
}

extern "C" void ps_delta_publish(ps_delta *d, uint64_t seq) noexcept
{
    if (!d)
        return;
    std::lock_guard<std::mutex> g(d->mu);
    uint64_t p = std::min(seq, d->last_seq);
    if (p > d->published)
        d->published = p;
}

extern "C" void ps_delta_discard_unpublished(ps_delta *d) noexcept
{
    if (!d)
        return;
    std::lock_guard<std::mutex> g(d->mu);
    try {
        std::unordered_set<std::string> ids;
        while (!d->ops.empty() && d->ops.back()->seq > d->published) {
            ids.insert(d->ops.back()->id);
            d->bytes -= d->ops.back()->bytes();
            d->ops.pop_back();
        }
        d->last_seq = d->published;
        // Point each id's index entry back at its latest remaining
        // operation; none left: the database has its state (the view is
        // brought up to the watermark before it is asked).
        for (auto it = d->ops.rbegin(); it != d->ops.rend() && !ids.empty(); ++it) {
            const delta_op &op = **it;
            if (ids.erase(op.id))
                d->index[op.id] = latest{op.seq, op.del, op.hash};
        }
        for (const std::string &id : ids)
            d->index.erase(id);
    } catch (...) {
        // No memory for the bookkeeping: rebuild the index from the
        // operations still held (every id missing from it then comes
        // from the database, which holds every operation freed).
        d->index.clear();
        try {
            for (const op_ptr &op : d->ops)
                d->index[op->id] = latest{op->seq, op->del, op->hash};
        } catch (...) {
        }
    }
}

extern "C" ps_status ps_delta_checkpoint(ps_delta *d, ps_db *wdb, uint64_t upto,
                                         uint64_t *done) noexcept
{
    if (!d || !wdb)
        return PS_ERR_INVALID;
    wdb->err.clear();
    try {
        if (!wdb->writable)
            return set_err(wdb, PS_ERR_INVALID, "a checkpoint needs the writable handle");
        if (wdb->sharded)
            return set_err(wdb, PS_ERR_INVALID, SHARDED_MSG);
        if (wdb->dirty)
            return set_err(wdb, PS_ERR_INVALID,
                           "the writable handle has uncommitted changes of its own: "
                           "commit or cancel them before a checkpoint");
        std::lock_guard<std::mutex> cp(d->cp_mu);
        std::vector<op_ptr> ops;
        {
            std::lock_guard<std::mutex> g(d->mu);
            upto = std::min(upto, d->published);
            if (done)
                *done = d->watermark;
            if (upto <= d->watermark)
                return PS_OK;
            auto e = std::upper_bound(d->ops.begin(), d->ops.end(), upto, seq_less);
            ops.assign(d->ops.begin(), e);
        }
        try {
            apply_to_writable(wdb, ops, upto);
        } catch (...) {
            ps_status st = fail(wdb);
            cancel_keep_message(wdb);
            return st;
        }
        ps_status st = ps_db_commit(wdb);
        if (st != PS_OK) {
            cancel_keep_message(wdb);
            return st;
        }
        {
            std::lock_guard<std::mutex> g(d->mu);
            while (!d->ops.empty() && d->ops.front()->seq <= upto) {
                d->bytes -= d->ops.front()->bytes();
                d->ops.pop_front();
            }
            d->watermark = upto;
        }
        if (done)
            *done = upto;
        return PS_OK;
    } catch (...) {
        return fail(wdb);
    }
}

extern "C" void ps_delta_stats(ps_delta *d, ps_delta_info *out) noexcept
{
    if (!d || !out)
        return;
    std::lock_guard<std::mutex> g(d->mu);
    out->bytes = d->bytes;
    auto first_unpub = std::upper_bound(d->ops.begin(), d->ops.end(), d->published, seq_less);
    out->ops = (uint64_t)(first_unpub - d->ops.begin());
    out->unpublished = (uint64_t)(d->ops.end() - first_unpub);
    out->last_seq = d->last_seq;
    out->published = d->published;
    out->watermark = d->watermark;
    out->attached = d->attached.load();
}

extern "C" ps_status ps_db_attach_delta(ps_db *rd, ps_delta *d) noexcept
{
    if (!rd)
        return PS_ERR_INVALID;
    rd->err.clear();
    try {
        if (rd->writable)
            return set_err(rd, PS_ERR_INVALID,
                           "a delta attaches to read-only handles (the writer uses "
                           "ps_delta_put/ps_delta_delete)");
        if (rd->sharded)
            return set_err(rd, PS_ERR_INVALID, SHARDED_MSG);
        rd->langs_valid = false;
        if (!d) {
            rd->delta.reset();
            return PS_OK;
        }
        std::unique_ptr<delta_view> v(new delta_view);
        v->d = d;
        d->attached++;
        rd->delta.reset(v.release());
        return PS_OK;
    } catch (...) {
        return fail(rd);
    }
}

extern "C" ps_status ps_db_get_wal_seq(ps_db *db, uint64_t *seq) noexcept
{
    if (seq)
        *seq = 0;
    if (!db || !seq)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        if (db->sharded)
            return set_err(db, PS_ERR_INVALID, SHARDED_MSG);
        *seq = read_wal_seq(db->db());
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}
