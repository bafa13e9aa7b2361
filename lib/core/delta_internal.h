// delta_internal.h: what the two files of the write-ahead delta share:
// delta.cc (struct ps_delta, the writer's side and the checkpoint) and
// delta_view.cc (the main + delta view of the attached read handles).
// C++ only, included by those two files; <xapian.h> comes through
// internal.h.
//
// Lock order: ps_delta::cp_mu (checkpoints) before ps_delta::mu.  mu
// guards ops, bytes, last_seq (written only by the writer thread, so the
// writer reads it without the lock), published and watermark.  index and
// the view cache are the writer thread's own.

#ifndef PS_CORE_DELTA_INTERNAL_H
#define PS_CORE_DELTA_INTERNAL_H

#include "internal.h"

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace psi {

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
struct delta_latest {
    uint64_t seq;
    bool del;
    std::string hash;
};

// For std::upper_bound over ps_delta::ops by seq.
inline bool seq_less(uint64_t s, const op_ptr &o)
{
    return s < o->seq;
}

// The seq stored in d's revision (0 when none).  Throws
// DatabaseCorruptError for a value that is not a decimal number.
uint64_t read_wal_seq(Xapian::Database &d);

// The lowest seq stored in the databases behind db that are up (its own,
// or its shards': a shard set is replayed from its least advanced shard).
// False, *seq untouched, when none is up.  Throws.
bool main_wal_seq(ps_db *db, uint64_t *seq);

}  // namespace psi

struct ps_delta {
    std::mutex mu;
    std::deque<psi::op_ptr> ops;  // by seq; every op with seq > watermark
    uint64_t bytes = 0;
    uint64_t last_seq = 0;     // highest seq used (writer writes, under mu)
    uint64_t published = 0;    // ops <= published are visible
    uint64_t watermark = 0;    // ops <= watermark are in the database
    std::atomic<uint64_t> attached{0};

    std::mutex cp_mu;          // one checkpoint at a time

    // Writer thread only.
    std::string werr;
    std::unordered_map<std::string, psi::delta_latest> index;  // id -> latest op
    uint64_t pruned_wm = 0;    // index holds no entry <= this
    const ps_db *vc_db = nullptr;  // cached wal seq of the view
    std::vector<uint64_t> vc_revs; // ... at these revisions
    uint64_t vc_seq = 0;
};

#endif
