// catchup.cc: ps_db_catchup(): what a saved query missed, found again by
// the change seqs stamped into documents (SLOT_SEQ, seq.cc): the query
// of ps_search (parsed per language, with its filters) restricted to a
// range of seqs, over main + delta for an attached handle, sorted by seq.

#include "internal.h"

#include <cstring>
#include <string>
#include <vector>

using namespace psi;

namespace {

struct catchup_args : query_input {
    ps_db *db;
    const ps_query *q;
    uint64_t after, upto;
    uint32_t max;
    uint64_t sub;
    void *user;
    ps_match_fn fn;
    void *ctx;
};

// One attempt; throws Xapian exceptions.  Returns PS_OK or
// PS_ERR_INTERNAL (fn stopped it).
ps_status catchup_once(catchup_args &a, uint64_t *total, uint64_t *last)
{
    Xapian::Database &d = read_db(a.db);
    bool match_all = query_is_empty(a.qs);
    Xapian::Query query{std::string()};
    Xapian::Query exact_q;
    if (!match_all) {
        // Synonyms as ps_search expands them (the table as it is now).
        std::string xqs = a.qs;
        if (!a.q->no_synonyms) {
            std::vector<syn_expansion> ex;
            xqs = expand_synonyms(*synonym_table(a.db), a.qs, ex);
        }
        exact_q = parse_exact(d, xqs, a.maxw);
        query = parse_languages(d, xqs, exact_q, get_langs(a.db), a.maxw);
    }
    query = add_filters(query, a.lang, a.from, a.to);
    Xapian::Query range =
        a.upto ? Xapian::Query(Xapian::Query::OP_VALUE_RANGE, SLOT_SEQ, seq_key(a.after + 1),
                               seq_key(a.upto))
               : Xapian::Query(Xapian::Query::OP_VALUE_GE, SLOT_SEQ, seq_key(a.after + 1));
    query = Xapian::Query(Xapian::Query::OP_FILTER, query, range);

    Xapian::Enquire enq(d);
    enq.set_query(delta_filter(a.db, query));
    enq.set_weighting_scheme(Xapian::BoolWeight());
    enq.set_docid_order(Xapian::Enquire::ASCENDING);
    enq.set_sort_by_value(SLOT_SEQ, false);
    // checkatleast = every document: the count is exact.
    Xapian::doccount all = d.get_doccount();
    Xapian::MSet ms = enq.get_mset(0, a.max, all, nullptr, delta_decider(a.db));
    uint64_t n = ms.get_matches_estimated();
    uint64_t hi = 0;
    if (n > ms.size()) {
        enq.set_sort_by_value(SLOT_SEQ, true);
        Xapian::MSet top = enq.get_mset(0, 1, 0, nullptr, delta_decider(a.db));
        if (!top.empty())
            hi = seq_of_key(top.begin().get_document().get_value(SLOT_SEQ));
    }

    snippet_words sw;
    if (!match_all)
        sw.set(exact_q, a.qs);
    ps_snippet_terms st = sw.terms();
    const ps_boilerplate *bp = builtin_bp();   // as the matcher's
    uint32_t sbytes = a.q->snippet_bytes ? a.q->snippet_bytes : 200;
    for (auto it = ms.begin(); it != ms.end(); ++it) {
        Xapian::Document doc = it.get_document();
        uint64_t seq = seq_of_key(doc.get_value(SLOT_SEQ));
        if (seq > hi)
            hi = seq;
        fields fl;
        if (!fl.decode(doc.get_data()))
            continue;
        char *const *f = fl.f;
        cstr snip;
        if (f[PS_F_BODY]) {
            char *out = nullptr;
            ps_span *spans = nullptr;
            uint32_t nspans = 0;
            if (ps_snippet_make_ex(f[PS_F_BODY], strlen(f[PS_F_BODY]), f[PS_F_LANG], &st, bp,
                                   sbytes, &out, &spans, &nspans, nullptr) != 0)
                throw std::bad_alloc();
            free(spans);
            snip.reset(out);
        }
        ps_match mt;
        mt.sub = a.sub;
        mt.user = a.user;
        mt.doc = 0;
        mt.seq = seq;
        mt.replaced = 0;
        mt.id = f[PS_F_ID] ? f[PS_F_ID] : "";
        mt.title = f[PS_F_TITLE] ? f[PS_F_TITLE] : "";
        mt.lang = f[PS_F_LANG] ? f[PS_F_LANG] : "und";
        mt.date = f[PS_F_DATE];
        mt.url = f[PS_F_URL];
        mt.snippet = snip ? snip.get() : "";
        if (a.fn(a.ctx, &mt) != 0)
            return PS_ERR_INTERNAL;
    }
    if (total)
        *total = n;
    if (last)
        *last = n ? hi : 0;
    return PS_OK;
}

}  // namespace

extern "C" ps_status ps_db_catchup(ps_db *db, const ps_query *q, uint64_t after,
                                   uint64_t upto, uint32_t max, uint64_t sub, void *user,
                                   ps_match_fn fn, void *ctx, uint64_t *total,
                                   uint64_t *last) noexcept
{
    if (total)
        *total = 0;
    if (last)
        *last = 0;
    if (!db || !q || !fn)
        return PS_ERR_INVALID;
    db->err.clear();
    if (after == UINT64_MAX || (upto && upto <= after))
        return PS_OK;
    try {
        catchup_args a;
        a.db = db;
        a.q = q;
        std::string ferr;
        ps_status rs = read_query(q, a, ferr);
        if (rs != PS_OK)
            return set_err(db, rs, ferr);
        a.after = after;
        a.upto = upto;
        a.max = max;
        a.sub = sub;
        a.user = user;
        a.fn = fn;
        a.ctx = ctx;
        for (int attempt = 0;; attempt++) {
            try {
                delta_sync(db);
                return catchup_once(a, total, last);
            } catch (const Xapian::DatabaseModifiedError &) {
                if (db->writable || attempt > 0)
                    throw;
                reopen_main(db);
            }
        }
    } catch (...) {
        return fail(db);
    }
}
