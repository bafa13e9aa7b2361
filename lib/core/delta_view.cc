// delta_view.cc: the main + delta view of a read handle attached to a
// ps_delta (ps_db_attach_delta; polysearch.h, "The delta of a write-ahead
// log").  Each attached handle (one per worker thread) keeps a private
// Xapian in-memory database holding the current version of each id the
// delta changed after its main revision's seq, and the main documents
// those changes superseded (replaced or deleted), which searches, counts,
// get and id lists hide.
//
// The main database may be one database or a shard set (local shards,
// remote ones served by xapian-tcpsrv, or both).  Superseded documents are
// known by id, since docids say nothing once several databases are
// combined: Xapian interleaves their docids, and the Document a
// MatchDecider gets carries the docid of its own sub-database.  Searches
// hide them
//   - without a remote shard, with a match decider: a docid that one of
//     the superseded documents has in its own database is a candidate,
//     confirmed by the document's id term when several databases are
//     combined (a main document, not an in-memory copy: value SLOT_DELTA);
//   - with a remote shard (Xapian refuses a MatchDecider there, the match
//     runs on the tcpsrv), with the query itself: query AND_NOT (the
//     superseded ids' terms AND_NOT the in-memory copies), which the
//     remote shards evaluate like the local ones.

#include "delta_internal.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

using namespace psi;

namespace {

// The id of a document from its id term ("" when it has none).
std::string doc_id(const Xapian::Document &doc)
{
    Xapian::TermIterator t = doc.termlist_begin();
    t.skip_to(PFX_ID);
    if (t == doc.termlist_end())
        return std::string();
    std::string term = *t;
    return term.compare(0, 1, PFX_ID) == 0 ? term.substr(1) : std::string();
}

// Hides the main documents whose ids are in sup.
struct superseded_decider : Xapian::MatchDecider {
    const std::unordered_map<std::string, std::string> *sup = nullptr;
    const std::unordered_set<Xapian::docid> *dids = nullptr;
    bool by_id = false;
    bool operator()(const Xapian::Document &doc) const override
    {
        if (dids->find(doc.get_docid()) == dids->end())
            return true;
        if (!doc.get_value(SLOT_DELTA).empty())
            return true;  // an in-memory copy
        // One main database: its docid is the superseded document's.
        return by_id && sup->find(doc_id(doc)) == sup->end();
    }
};

}  // namespace

struct psi::delta_view {
    ps_delta *d = nullptr;
    bool built = false;             // false: rebuild before use
    std::vector<uint64_t> main_revs;  // main revisions the view was built on
    uint64_t main_seq = 0;          // their (lowest) wal seq
    uint64_t applied = 0;           // ops <= applied are in the view
    bool by_id = false;             // several main databases
    bool remote = false;            // a remote one: a query filter
    Xapian::WritableDatabase mem;
    Xapian::Database combined;      // main + mem
    // The superseded main documents: id -> language, and the docids they
    // have in their own databases (the decider's first test).
    std::unordered_map<std::string, std::string> sup;
    std::unordered_set<Xapian::docid> sup_dids;
    superseded_decider dec;
    Xapian::Query hide;             // remote: the filter, built on demand
    bool hide_valid = false;
};

void psi::delta_view_deleter::operator()(delta_view *v) const noexcept
{
    if (!v)
        return;
    v->d->attached--;
    delete v;
}

namespace {

uint64_t watermark_of(ps_delta *d)
{
    std::lock_guard<std::mutex> g(d->mu);
    return d->watermark;
}

void rebuild_view(ps_db *db, delta_view &v)
{
    v.built = false;
    v.main_revs = main_revisions(db);
    // No database up (every shard down): nothing of main is shown, the
    // delta from its checkpoint on is.
    if (!main_wal_seq(db, &v.main_seq))
        v.main_seq = watermark_of(v.d);
    v.sup.clear();
    v.sup_dids.clear();
    v.hide_valid = false;
    v.mem = Xapian::WritableDatabase(std::string(), Xapian::DB_BACKEND_INMEMORY);
    // The in-memory database first, and searches check at least all of
    // its documents (delta_check_at_least): Xapian 1.4.22 matches the
    // sub-databases one after the other, and once its minimum weight has
    // risen (after the first offset + limit matches), the pruning of an
    // in-memory database's postlist tree can crash (SIGSEGV in get_mset;
    // e.g. "strictement OR orden" after 100 French documents were added:
    // an OR of per-language branches some of whose terms the in-memory
    // database lacks).  Matching it first with no minimum weight keeps
    // the matcher out of that path; the main database is pruned as usual.
    Xapian::Database c;
    c.add_database(v.mem);
    c.add_database(db->rdb);
    v.combined = c;
    v.applied = v.main_seq;
    v.by_id = db->sharded;
    v.remote = has_remote(db);
    v.dec.sup = &v.sup;
    v.dec.dids = &v.sup_dids;
    v.dec.by_id = v.by_id;
    v.built = true;
    db->langs_valid = false;
}

void apply_to_view(ps_db *db, delta_view &v, const delta_op &op)
{
    std::string t = PFX_ID + op.id;
    // A shard that is down shows none of its documents: nothing to hide
    // there (the view is rebuilt when it comes back).
    Xapian::Database *owner = owner_db(db, op.id.c_str(), nullptr);
    if (owner && v.sup.find(op.id) == v.sup.end()) {
        Xapian::docid did = find_id(*owner, t);
        if (did) {
            std::string lang =
                owner->get_document(did, Xapian::DOC_ASSUME_VALID).get_value(SLOT_LANG);
            v.sup.emplace(op.id, lang);
            v.sup_dids.insert(did);
            v.hide_valid = false;
        }
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
        if (!v.built || main_revisions(db) != v.main_revs)
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
            reopen_main(db);
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
    for (int attempt = 0;; attempt++) {
        try {
            sync_once(db);
            return;
        } catch (const Xapian::DatabaseModifiedError &) {
            // The main revision went away under the view: start again
            // from the latest one.
            if (attempt > 1)
                throw;
            db->delta->built = false;
            reopen_main(db);
        } catch (const Xapian::NetworkError &) {
            // A remote shard went away: on without it (marked down, its
            // documents hidden; the delta's are not).
            if (!db->sharded || db->writable || attempt > 1)
                throw;
            db->delta->built = false;
            probe_shards(db);
        }
    }
}

Xapian::Database &psi::read_db(ps_db *db)
{
    return db->delta ? db->delta->combined : db->db();
}

Xapian::doccount psi::delta_check_at_least(ps_db *db, Xapian::doccount want)
{
    const delta_view *v = db->delta.get();
    if (!v || !v->built)
        return want;
    Xapian::doccount n = v->mem.get_lastdocid();  // docids never reused
    return n > UINT32_MAX - want ? UINT32_MAX : n + want;
}

const Xapian::MatchDecider *psi::delta_decider(ps_db *db)
{
    const delta_view *v = db->delta.get();
    return v && !v->remote && !v->sup.empty() ? &v->dec : nullptr;
}

Xapian::Query psi::delta_filter(ps_db *db, const Xapian::Query &q)
{
    delta_view *v = db->delta.get();
    if (!v || !v->remote || v->sup.empty())
        return q;
    if (!v->hide_valid) {
        std::vector<std::string> terms;
        terms.reserve(v->sup.size());
        for (const auto &s : v->sup)
            terms.push_back(PFX_ID + s.first);
        std::sort(terms.begin(), terms.end());
        v->hide = Xapian::Query(Xapian::Query::OP_AND_NOT,
                                Xapian::Query(Xapian::Query::OP_OR, terms.begin(),
                                              terms.end()),
                                Xapian::Query(Xapian::Query::OP_VALUE_GE, SLOT_DELTA,
                                              std::string("d")));
        v->hide_valid = true;
    }
    return Xapian::Query(Xapian::Query::OP_AND_NOT, q, v->hide);
}

Xapian::docid psi::delta_find(ps_db *db, const char *id, Xapian::Database **where,
                              std::string *down)
{
    std::string t = std::string(PFX_ID) + id;
    if (db->delta) {
        delta_view &v = *db->delta;
        Xapian::docid did = find_id(v.mem, t);
        if (did) {
            *where = &v.mem;
            return did;
        }
    }
    *where = owner_db(db, id, down);
    if (!*where)
        return 0;
    Xapian::docid did = find_id(**where, t);
    if (did && db->delta && db->delta->sup.count(id))
        return 0;
    return did;
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
    auto add_all = [&c](Xapian::Database &d, bool exact) {
        for (auto t = d.allterms_begin(PFX_LANG); t != d.allterms_end(PFX_LANG); ++t)
            c[(*t).substr(1)] += exact ? d.get_termfreq(*t) : t.get_termfreq();
    };
    add_all(db->db(), false);
    if (db->delta) {
        for (const auto &s : db->delta->sup)
            c[s.second]--;
        // Xapian 1.4's in-memory backend: the allterms iterator counts a
        // document deleted and added again under the same term twice
        // (get_termfreq does not).
        add_all(db->delta->mem, true);
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
            if (db->delta && db->delta->sup.count(id))
                continue;
        }
        if (fn(id.c_str(), ctx))
            return;
    }
}

extern "C" ps_status ps_db_sync_delta(ps_db *rd, uint64_t *applied) noexcept
{
    if (applied)
        *applied = 0;
    if (!rd)
        return PS_ERR_INVALID;
    rd->err.clear();
    if (!rd->delta) {
        if (applied)
            *applied = UINT64_MAX;
        return PS_OK;
    }
    ps_status st = PS_OK;
    try {
        delta_sync(rd);
    } catch (...) {
        st = fail(rd);
    }
    const delta_view &v = *rd->delta;
    if (applied && v.built)
        *applied = v.applied;
    return st;
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
