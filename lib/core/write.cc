// write.cc: writing through a writable handle: put (with the fast path
// for unchanged content), put_prepared, delete, commit and cancel, the
// free-space guard before a commit, and discard_pending(), which drops the
// changes of a failed commit.  Writable handles run every change inside a
// Xapian transaction so that ps_db_cancel() can discard uncommitted
// changes (a WritableDatabase otherwise commits them when closed).  The
// Xapian 1.4 workarounds that commit_impl() relies on are in
// xapian14_workarounds.cc; sharded write handles route each call to a
// sub-handle (shards.cc).

#include "commit_fence.h"
#include "internal.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <sys/statvfs.h>

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

// True when the document stored under idterm has content hash `hash`.
bool stored_hash_equals(Xapian::Database &d, const std::string &idterm,
                        const char *hash, Xapian::docid *docid)
{
    Xapian::docid old = find_id(d, idterm);
    if (docid)
        *docid = old;
    return old && d.get_document(old, Xapian::DOC_ASSUME_VALID).get_value(SLOT_HASH) == hash;
}

}  // namespace

// Writes a prepared document (writable handle, owner thread).
ps_status psi::put_prepared_impl(ps_db *db, const ps_prepared *p, ps_put_outcome *outcome)
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
    if (db->spell_sink) {
        for (const auto &s : p->spelling)
            (*db->spell_sink)[s.first] += s.second;
    } else {
        for (const auto &s : p->spelling)
            add_spelling_logged(db, s.first, s.second);
    }
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

ps_status psi::delete_impl(ps_db *db, const std::string &t)
{
    Xapian::docid did = find_id(db->wdb, t);
    if (!did)
        return set_err(db, PS_ERR_NOT_FOUND,
                       "no document with id '" + t.substr(1) + "'");
    ensure_txn(db);
    db->dirty = true;
    db->wdb.delete_document(t);
    if (db->spell_check)
        db->touched.push_back(did);
    db->langs_valid = false;
    return PS_OK;
}

void psi::set_metadata_logged(ps_db *db, const std::string &key, const std::string &value)
{
    ensure_txn(db);
    db->dirty = true;
    db->wdb.set_metadata(key, value);
    db->meta_log.emplace_back(key, value);
}

namespace {

// put_prepared_impl with the change seq of a stamping handle (seq.cc).
ps_status put_stamped(ps_db *db, const ps_prepared *p, ps_put_outcome *outcome)
{
    uint64_t seq = stamp_next(db, p);
    ps_put_outcome o = PS_PUT_UNCHANGED;
    ps_status st = put_prepared_impl(db, p, &o);
    if (st == PS_OK && o != PS_PUT_UNCHANGED)
        stamp_used(db, seq);
    if (outcome)
        *outcome = o;
    return st;
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
    return put_stamped(db, p.get(), outcome);
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
    db->meta_log.clear();
    stamp_reset(db);
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

}  // namespace

ps_status psi::commit_impl(ps_db *db)
{
    if (db->stuck_txn)
        return set_err(db, PS_ERR_IO, "the writable handle failed to drop the changes of a "
                       "failed commit: close and reopen it (the last commit is intact)");
    if (db->dirty) {
        ps_status st = check_free_space(db);
        if (st != PS_OK)
            return st;
    }
    stamp_before_commit(db);
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
    db->meta_log.clear();
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
        stamp_reset(db);
        // check_spelling() added this commit's new words to the bounds.
        if (db->frag_bound_valid)
            db->frag_bound_rev = db->wdb.get_revision();
    }
    db->pending = 0;
    return PS_OK;
}

// ---- Entry points -------------------------------------------------------

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
        std::string t = std::string(PFX_ID) + id;
        if (db->delta) {
            delta_sync(db);
            Xapian::Database *where = nullptr;
            std::string down;
            Xapian::docid did = delta_find(db, id, &where, &down);
            if (!where)
                return set_err(db, PS_ERR_IO, down);
            *unchanged = did && where->get_document(did, Xapian::DOC_ASSUME_VALID)
                                        .get_value(SLOT_HASH) == hash_hex;
            return PS_OK;
        }
        *unchanged = stored_hash_equals(db->db(), t, hash_hex, nullptr);
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
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
        return st != PS_OK ? st : put_stamped(db, p, outcome);
    } catch (...) {
        return fail(db);
    }
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
        return delete_impl(db, std::string(PFX_ID) + id);
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
