// seq.cc: change sequence numbers stamped into documents (value slot
// SLOT_SEQ) by the writers that commit themselves: polysearch-index and
// polysearchd --no-wal (ps_db_stamp_seqs).  The write-ahead log's delta
// stamps its own seqs (ps_delta_put, delta.cc).  Every writer shares one
// counter, the metadata "polysearch.wal_seq" (the last seq committed):
// a stamping handle starts each commit at the next "record" boundary,
// ((counter >> PS_SEQ_OP_BITS) + 1) << PS_SEQ_OP_BITS, so that a
// write-ahead log (whose seqs are record << 24 | index) goes on above it
// (docs/WAL.md, "Change sequence numbers").

#include "delta_internal.h"

using namespace psi;

std::string psi::seq_key(uint64_t seq)
{
    std::string k(8, '\0');
    for (int i = 7; i >= 0; i--) {
        k[(size_t)i] = (char)(unsigned char)(seq & 0xff);
        seq >>= 8;
    }
    return k;
}

uint64_t psi::seq_of_key(const std::string &k)
{
    if (k.size() != 8)
        return 0;
    uint64_t v = 0;
    for (unsigned char c : k)
        v = (v << 8) | c;
    return v;
}

uint64_t psi::stamp_next(ps_db *db, const ps_prepared *p)
{
    if (!db->seq_stamp)
        return 0;
    if (!db->seq_valid) {
        uint64_t v = read_wal_seq(db->wdb);
        uint64_t rec = (v >> PS_SEQ_OP_BITS) + 1;
        if (rec >= (UINT64_C(1) << (64 - PS_SEQ_OP_BITS)))
            throw Xapian::RangeError("the change sequence numbers are exhausted");
        db->seq_next = rec << PS_SEQ_OP_BITS;
        db->seq_valid = true;
    }
    // The document is a reference-counted handle: the caller's prepared
    // document carries the stamp too (documented by ps_db_stamp_seqs).
    Xapian::Document doc = p->doc;
    doc.add_value(SLOT_SEQ, seq_key(db->seq_next));
    return db->seq_next;
}

void psi::stamp_used(ps_db *db, uint64_t seq)
{
    if (!seq)
        return;
    db->seq_last = seq;
    db->seq_next = seq + 1;
    db->seq_used = true;
}

void psi::stamp_before_commit(ps_db *db)
{
    if (db->seq_used)
        set_metadata_logged(db, META_WAL_SEQ, std::to_string(db->seq_last));
}

void psi::stamp_reset(ps_db *db)
{
    db->seq_used = false;
    db->seq_valid = false;
}

extern "C" ps_status ps_db_stamp_seqs(ps_db *db) noexcept
{
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    if (!db->writable || db->sharded)
        return set_err(db, PS_ERR_INVALID,
                       "change seqs are stamped by a writable handle on one database");
    db->seq_stamp = true;
    return PS_OK;
}

extern "C" uint64_t ps_db_last_seq(const ps_db *db) noexcept
{
    return db ? db->seq_last : 0;
}

extern "C" ps_status ps_prepared_seq(const ps_prepared *p, uint64_t *seq) noexcept
{
    if (seq)
        *seq = 0;
    if (!p || !seq)
        return PS_ERR_INVALID;
    try {
        *seq = seq_of_key(p->doc.get_value(SLOT_SEQ));
        return PS_OK;
    } catch (...) {
        return PS_ERR_INTERNAL;
    }
}
