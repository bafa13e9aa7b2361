// read.cc: reading by id and over the whole database: ps_db_get (on a
// sharded handle, from the one shard that can hold the id), ps_db_count,
// ps_db_lang_counts and ps_db_foreach_id (over main + delta on a handle
// attached to a ps_delta, through the helpers of delta_view.cc); also find_id()
// and the result block helpers that search.cc shares.

#include "docfields.h"
#include "internal.h"
#include "util.h"

#include <algorithm>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

using namespace psi;

// Returns the docid holding id term t, or 0.
Xapian::docid psi::find_id(Xapian::Database &d, const std::string &t)
{
    Xapian::PostingIterator p = d.postlist_begin(t);
    return p == d.postlist_end(t) ? 0 : *p;
}

builder_ptr psi::new_builder()
{
    builder_ptr b(ps_results_builder_new());
    if (!b)
        throw std::bad_alloc();
    return b;
}

void psi::check(ps_status st)
{
    if (st == PS_ERR_NOMEM)
        throw std::bad_alloc();
}

ps_results *psi::finish(builder_ptr &b, uint64_t total, const char *sugg, uint64_t took)
{
    ps_results *r = ps_results_builder_finish(b.release(), total, sugg, took);
    if (!r)
        throw std::bad_alloc();
    return r;
}

// ---- Entry points -------------------------------------------------------

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
        // Only the document's own shard can hold it (or the delta).
        delta_sync(db);
        Xapian::Database *dp = nullptr;
        std::string down;
        Xapian::docid did = delta_find(db, id, &dp, &down);
        if (!dp)
            return set_err(db, PS_ERR_IO, down);
        Xapian::Database &d = *dp;
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
        delta_sync(db);
        *n = delta_doccount(db);
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

extern "C" ps_status ps_db_lang_counts(ps_db *db, ps_results **out) noexcept
{
    if (out)
        *out = nullptr;
    if (!db || !out)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        uint64_t t0 = ps_now_us();
        delta_sync(db);
        Xapian::Database &d = db->db();
        std::vector<std::pair<std::string, uint64_t>> v;
        if (db->delta) {
            v = delta_lang_counts(db);
        } else {
            for (auto t = d.allterms_begin(PFX_LANG); t != d.allterms_end(PFX_LANG); ++t)
                v.emplace_back((*t).substr(1), t.get_termfreq());
        }
        std::stable_sort(v.begin(), v.end(), [](const auto &a, const auto &b) {
            return a.second > b.second;
        });
        builder_ptr b = new_builder();
        for (const auto &p : v)
            check(ps_results_builder_add_facet(b.get(), p.first.c_str(), p.second));
        *out = finish(b, delta_doccount(db), nullptr, ps_now_us() - t0);
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
        if (db->delta) {
            delta_sync(db);
            delta_foreach_id(db, fn, ctx);
            return PS_OK;
        }
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
