// delta.cc: the in-memory delta of the write-ahead log (polysearch.h,
// "The delta of a write-ahead log").  Three sides share one ps_delta:
//   - the writer thread records puts and deletes (ps_delta_put/_delete,
//     with the outcome computed against its own index of the latest
//     operation per id, else its view of the main database), publishes
//     them after the log's fdatasync or discards the unpublished ones;
//   - the checkpoint thread applies the published operations to the
//     writable handle through the put/delete path of write.cc, stores
//     their last seq in the metadata "polysearch.wal_seq" in the same
//     commit, and frees them only after that commit succeeded.  On a
//     shard set each operation goes to its shard (fnv1a64(id) % N, as
//     every sharded write), every shard gets the seq and is committed,
//     one after the other; the operations are freed only once all are;
//   - every attached read handle (one per worker thread) keeps a view of
//     main + delta (delta_view.cc).
// Operations are immutable once recorded and shared through shared_ptr,
// so readers copy pointers under the lock and unserialise outside it; no
// Xapian object crosses threads (documents travel serialised).  The
// struct and the lock order: delta_internal.h.

#include "delta_internal.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

using namespace psi;

uint64_t psi::read_wal_seq(Xapian::Database &d)
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

bool psi::main_wal_seq(ps_db *db, uint64_t *seq)
{
    bool any = false;
    uint64_t low = UINT64_MAX;
    for (Xapian::Database *m : main_dbs(db)) {
        low = std::min(low, read_wal_seq(*m));
        any = true;
    }
    if (any)
        *seq = low;
    return any;
}

namespace {

ps_status delta_err(ps_delta *d, ps_status st, const std::string &m)
{
    d->werr = m;
    return st;
}

// ---- Writer side ----------------------------------------------------------

uint64_t current_watermark(ps_delta *d)
{
    std::lock_guard<std::mutex> g(d->mu);
    return d->watermark;
}

// The (lowest) seq of the view's databases, cached per revisions.
uint64_t view_seq(ps_delta *d, ps_db *view)
{
    std::vector<uint64_t> revs = main_revisions(view);
    if (d->vc_db != view || d->vc_revs != revs) {
        d->vc_db = nullptr;
        uint64_t s = 0;
        if (!main_wal_seq(view, &s))
            throw Xapian::NetworkError("no shard of the writer's view is up: " +
                                       down_message(view));
        d->vc_seq = s;
        d->vc_revs.swap(revs);
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
        reopen_main(view);
        if (view_seq(d, view) >= wm)
            return;
    }
    throw Xapian::InvalidOperationError(
        "the view's database (wal seq " + std::to_string(view_seq(d, view)) +
        ") is older than the delta's checkpoint (" + std::to_string(wm) +
        "): not the database the delta checkpoints into?");
}

// What the writer knows of an id's current version.
enum class current { absent, present, unknown };

// The current version of id for the writer: present with its hash (the
// delta's latest operation, else the main database: on a shard set, id's
// shard), absent, or unknown when id's shard is down (a remote shard that
// fails is probed once: reconnected, or marked down).
current writer_current(ps_delta *d, ps_db *view, const std::string &id, std::string *hash)
{
    auto it = d->index.find(id);
    if (it != d->index.end()) {
        if (it->second.del)
            return current::absent;
        *hash = it->second.hash;
        return current::present;
    }
    bool probed = false;
    for (int attempt = 0;; attempt++) {
        try {
            view_current(d, view);
            Xapian::Database *m = owner_db(view, id.c_str(), nullptr);
            if (!m)
                return current::unknown;
            Xapian::docid did = find_id(*m, PFX_ID + id);
            if (!did)
                return current::absent;
            *hash = m->get_document(did, Xapian::DOC_ASSUME_VALID).get_value(SLOT_HASH);
            return current::present;
        } catch (const Xapian::DatabaseModifiedError &) {
            // The checkpoint moved the database twice under the view.
            if (view->writable || attempt > 0)
                throw;
            reopen_main(view);
        } catch (const Xapian::NetworkError &) {
            if (!view->sharded || view->writable || probed)
                throw;
            probe_shards(view);
            probed = true;
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
    delta_latest old = had ? found->second : delta_latest{0, false, std::string()};
    delta_latest &slot = had ? found->second : d->index[op->id];
    slot = delta_latest{op->seq, op->del, op->hash};
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

// The single-database handles a checkpoint writes: wdb, or its shards'.
std::vector<ps_db *> targets(ps_db *wdb)
{
    return wdb->sharded ? wdb->subs : std::vector<ps_db *>{wdb};
}

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

// The message of a failure on one of the targets: on a shard set it
// names the shard.
ps_status target_failed(ps_db *wdb, ps_db *t, ps_status st, const std::string &m)
{
    if (wdb->sharded)
        return set_err(wdb, st, "shard '" + t->path + "': " + m);
    return set_err(wdb, st, m);
}

// Applies ops (in seq order; per id only its last one) to wdb (on a shard
// set, each to its shard) and sets the metadata on every target, in their
// open transactions.  PS_OK, or a failure with its message in wdb
// (nothing committed).
ps_status apply_to_writable(ps_db *wdb, const std::vector<op_ptr> &ops, uint64_t upto)
{
    std::unordered_map<std::string, size_t> last;
    for (size_t i = 0; i < ops.size(); i++)
        last[ops[i]->id] = i;
    ps_db *t = wdb;
    try {
        for (size_t i = 0; i < ops.size(); i++) {
            const delta_op &op = *ops[i];
            if (last[op.id] != i)
                continue;
            t = wdb->sharded ? route_sub(wdb, op.id.c_str()) : wdb;
            if (op.del) {
                // Absent (a replayed delete, or added and deleted within
                // the delta): nothing to do.
                (void)delete_impl(t, PFX_ID + op.id);
                t->err.clear();
                continue;
            }
            ps_prepared p;
            p.id = op.id;
            p.idterm = PFX_ID + op.id;
            p.hash = op.hash;
            p.doc = Xapian::Document::unserialise(op.doc);
            p.spelling = op.spelling;
            (void)put_prepared_impl(t, &p, nullptr);
        }
        std::string v = std::to_string(upto);
        for (ps_db *x : targets(wdb)) {
            t = x;
            set_metadata_logged(x, META_WAL_SEQ, v);
        }
        return PS_OK;
    } catch (...) {
        std::string m;
        ps_status st = map_exception(m);
        return target_failed(wdb, t, st, m);
    }
}

// Commits every target, one after the other (no two-phase commit: a
// failure leaves the shards before it committed, which is harmless since
// the operations stay in the delta and the log and a shard given them
// again ends in the same state).  PS_OK, or the failure (message in wdb).
ps_status commit_all(ps_db *wdb)
{
    for (ps_db *t : targets(wdb)) {
        ps_status st = ps_db_commit(t);
        if (st != PS_OK)
            return target_failed(wdb, t, st, t->err);
    }
    return PS_OK;
}

bool any_dirty(ps_db *wdb)
{
    for (ps_db *t : targets(wdb))
        if (t->dirty)
            return true;
    return false;
}

}  // namespace

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
        ps_status st = check_seq(d, seq);
        if (st != PS_OK)
            return st;
        ps_put_outcome outcome = PS_PUT_ADDED;
        if (view) {
            std::string cur;
            // Unknown (id's shard is down): recorded, counted as added.
            if (writer_current(d, view, p->id, &cur) == current::present)
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
            // The document carries its seq (SLOT_SEQ): into the in-memory
            // copies of the readers and, at the checkpoint, the database
            // (a handle on p's document: p carries it too).
            Xapian::Document doc = p->doc;
            doc.add_value(SLOT_SEQ, seq_key(seq));
            op->doc = doc.serialise();
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
        ps_status st = check_seq(d, seq);
        if (st != PS_OK)
            return st;
        std::string cur;
        // Unknown (id's shard is down): recorded (deleting an absent id
        // changes nothing).
        if (view && writer_current(d, view, id, &cur) == current::absent)
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
        std::string cur;
        *unchanged = writer_current(d, view, id, &cur) == current::present &&
                     cur == hash_hex;
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
                d->index[op.id] = delta_latest{op.seq, op.del, op.hash};
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
                d->index[op->id] = delta_latest{op->seq, op->del, op->hash};
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
        if (any_dirty(wdb))
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
        ps_status st = apply_to_writable(wdb, ops, upto);
        if (st == PS_OK)
            st = commit_all(wdb);
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

extern "C" ps_status ps_db_get_wal_seq(ps_db *db, uint64_t *seq) noexcept
{
    if (seq)
        *seq = 0;
    if (!db || !seq)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        if (db->sharded && !db->writable && any_down(db))
            return set_err(db, PS_ERR_IO, "the write-ahead log's checkpoint of a "
                           "shard set needs every shard: " + down_message(db));
        (void)main_wal_seq(db, seq);
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}
