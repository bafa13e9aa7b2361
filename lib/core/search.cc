// search.cc: queries.  ps_search() parses the query once without stemming
// and once per language present with that language's stemmer (each
// filtered to its language), applies the language and date filters, runs
// the match with optional facets, builds snippets and a spelling
// suggestion, and retries once after DatabaseModifiedError (reopen) or,
// on a sharded handle, a NetworkError (without the shards that went
// away).  A handle attached to a ps_delta searches main + delta
// (delta_view.cc: read_db, delta_decider, delta_filter).  Also ps_stem().

#include "analyze.h"
#include "docfields.h"
#include "internal.h"
#include "snippet.h"
#include "util.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

using namespace psi;

// ---- Query parsing shared with match.cc (internal.h) --------------------

namespace psi {

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

std::string query_text(const char *q)
{
    const char *text = q ? q : "";
    cstr s(need(ps_strip_diacritics(text, strlen(text))));
    split_apostrophes(s.get());
    return s.get();
}

bool query_is_empty(const std::string &qs)
{
    return qs.find_first_not_of(" \t\r\n") == std::string::npos;
}

Xapian::Query parse_exact(Xapian::Database &d, const std::string &qs, unsigned maxw)
{
    Xapian::QueryParser exact;
    setup_parser(exact, d, maxw);
    return exact.parse_query(qs, QP_FLAGS);
}

bool parse_stemmed(Xapian::Database &d, const std::string &qs, const std::string &lang,
                   unsigned maxw, lang_parse &out)
{
    const char *stemmer = ps_lang_stemmer(lang.c_str());
    if (!stemmer)
        return false;
    Xapian::QueryParser qp;
    setup_parser(qp, d, maxw);
    qp.set_stemmer(Xapian::Stem(stemmer));
    // STEM_ALL_Z rather than STEM_SOME: the query parser's STEM_SOME
    // does not stem capitalised words, and German nouns (or a query
    // typed in capitals) must still find their stems.
    qp.set_stemming_strategy(Xapian::QueryParser::STEM_ALL_Z);
    out.lang = lang;
    out.q = qp.parse_query(qs, QP_FLAGS);
    out.key = out.q.serialise();
    return true;
}

Xapian::Query join_languages(const Xapian::Query &exact,
                             const std::vector<const lang_parse *> &parses)
{
    // Languages whose stemmers give the same query share one branch,
    // filtered to all of them: most words stem alike in several languages
    // ("network", "cluster"), and each branch reads its terms' posting
    // lists again (at a million documents, matching is most of a
    // search's time: bench/RESULTS.md, search-profile).  A document has
    // one language, so it meets the same query either way and its weight
    // is unchanged.
    std::vector<const lang_parse *> stemmed;            // one per key
    std::vector<std::vector<Xapian::Query>> filters;    // L terms
    for (const lang_parse *p : parses) {
        size_t i = 0;
        while (i < stemmed.size() && stemmed[i]->key != p->key)
            i++;
        if (i == stemmed.size()) {
            stemmed.push_back(p);
            filters.emplace_back();
        }
        filters[i].emplace_back(PFX_LANG + p->lang);
    }
    std::vector<Xapian::Query> parts{exact};
    for (size_t i = 0; i < stemmed.size(); i++)
        parts.emplace_back(Xapian::Query::OP_FILTER, stemmed[i]->q,
                           Xapian::Query(Xapian::Query::OP_OR, filters[i].begin(),
                                         filters[i].end()));
    return Xapian::Query(Xapian::Query::OP_OR, parts.begin(), parts.end());
}

Xapian::Query parse_languages(Xapian::Database &d, const std::string &qs,
                              const Xapian::Query &exact,
                              const std::vector<std::string> &langs, unsigned maxw)
{
    std::vector<lang_parse> v(langs.size());
    std::vector<const lang_parse *> ps;
    for (size_t i = 0; i < langs.size(); i++)
        if (parse_stemmed(d, qs, langs[i], maxw, v[i]))
            ps.push_back(&v[i]);
    return join_languages(exact, ps);
}

Xapian::Query add_filters(Xapian::Query query, const std::string &lang,
                          const std::string &from, const std::string &to)
{
    if (!lang.empty())
        query = Xapian::Query(Xapian::Query::OP_FILTER, query,
                              Xapian::Query(PFX_LANG + lang));
    if (!from.empty() || !to.empty()) {
        Xapian::Query r =
            from.empty() ? Xapian::Query(Xapian::Query::OP_VALUE_LE, SLOT_DATE, to)
            : to.empty() ? Xapian::Query(Xapian::Query::OP_VALUE_GE, SLOT_DATE, from)
                         : Xapian::Query(Xapian::Query::OP_VALUE_RANGE, SLOT_DATE, from, to);
        query = Xapian::Query(Xapian::Query::OP_FILTER, query, r);
    }
    return query;
}

bool query_size_ok(const ps_query *q, std::string &err)
{
    size_t len = q->q ? strlen(q->q) : 0;
    size_t maxq = q->max_query ? q->max_query : PS_DEFAULT_MAX_QUERY_BYTES;
    if (len <= maxq)
        return true;
    err = "q is " + std::to_string(len) + " bytes, more than max_query (" +
          std::to_string(maxq) + ")";
    return false;
}

bool query_filters(const ps_query *q, std::string &lang, std::string &from,
                   std::string &to, std::string &err)
{
    lang.clear();
    from.clear();
    to.clear();
    if (!empty(q->lang)) {
        if (!ps_lang_valid(q->lang)) {
            err = std::string("unknown language code '") + q->lang + "'";
            return false;
        }
        lang = q->lang;
    }
    char key[PS_DATE_KEY_LEN + 1];
    if (!empty(q->date_from)) {
        if (ps_date_normalize(q->date_from, 0, key) != 0) {
            err = std::string("invalid date_from '") + q->date_from + "'";
            return false;
        }
        from = key;
    }
    if (!empty(q->date_to)) {
        if (ps_date_normalize(q->date_to, 1, key) != 0) {
            err = std::string("invalid date_to '") + q->date_to + "'";
            return false;
        }
        to = key;
    }
    return true;
}

ps_status read_query(const ps_query *q, query_input &in, std::string &err)
{
    if (!query_size_ok(q, err))
        return PS_ERR_TOO_LARGE;
    in.qs = query_text(q->q ? q->q : "");
    if (!query_filters(q, in.lang, in.from, in.to, err))
        return PS_ERR_INVALID;
    in.maxw = q->max_wildcard ? q->max_wildcard : PS_DEFAULT_MAX_WILDCARD;
    return PS_OK;
}

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

void snippet_words::set(const Xapian::Query &exact, const std::string &qs)
{
    words = query_words(exact);
    prefixes = wildcard_prefixes(qs);
    wp.clear();
    pp.clear();
    for (auto &s : words)
        wp.push_back(s.c_str());
    for (auto &s : prefixes)
        pp.push_back(s.c_str());
}

ps_snippet_terms snippet_words::terms() const
{
    return ps_snippet_terms{wp.data(), wp.size(), pp.data(), pp.size()};
}

}  // namespace psi

const std::vector<std::string> &psi::get_langs(ps_db *db)
{
    Xapian::Database &d = read_db(db);
    // A combined database has no single revision: a sharded handle drops
    // the cache on every write and every reopen that moved a shard, one
    // with a delta whenever its view changes (delta_view.cc).
    Xapian::rev rev = db->sharded || db->delta ? db->langs_rev : d.get_revision();
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

namespace {

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

struct search_ctx : query_input {
    ps_db *db;
    const ps_query *q;
    std::string xqs;        // qs with its synonyms expanded (search_once)
    std::vector<syn_expansion> ex;
    uint32_t limit;
};

// One attempt; throws Xapian exceptions.
ps_status search_once(search_ctx &c, ps_results **out)
{
    uint64_t t0 = ps_now_us();
    Xapian::Database &d = read_db(c.db);
    const ps_query *q = c.q;
    bool match_all = query_is_empty(c.qs);

    // Not Query::MatchAll: copying that shared static bumps a non-atomic
    // refcount, a data race between daemon workers (found by TSan).
    Xapian::Query query{std::string()};
    Xapian::Query exact_q;
    c.ex.clear();
    c.xqs = c.qs;
    if (!match_all && !q->no_synonyms)
        c.xqs = expand_synonyms(*synonym_table(c.db), c.qs, c.ex);
    if (!match_all) {
        exact_q = parse_exact(d, c.xqs, c.maxw);
        // With a language filter only that language's parse can match.
        query = c.lang.empty()
                    ? parse_languages(d, c.xqs, exact_q, get_langs(c.db), c.maxw)
                    : parse_languages(d, c.xqs, exact_q, {c.lang}, c.maxw);
    }
    query = add_filters(query, c.lang, c.from, c.to);

    Xapian::Enquire enq(d);
    enq.set_query(delta_filter(c.db, query));
    if (q->sort == PS_SORT_DATE)
        enq.set_sort_by_value_then_relevance(SLOT_DATE, true);
    Xapian::ValueCountMatchSpy spy(SLOT_LANG);
    if (q->facets)
        enq.add_matchspy(&spy);
    // With a delta, a decider (or with remote shards the filter above)
    // hides the main documents it superseded (before the match spy, so
    // facets count what is shown).
    Xapian::MSet mset = enq.get_mset(
        q->offset, c.limit,
        q->facets ? d.get_doccount() : delta_check_at_least(c.db, q->offset + c.limit),
        nullptr, delta_decider(c.db));

    snippet_words sw;
    if (q->snippets && !match_all)
        sw.set(exact_q, c.xqs);
    ps_snippet_terms st = sw.terms();
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
        if (!c.ex.empty()) {
            std::set<std::string> terms(enq.get_matching_terms_begin(it),
                                        enq.get_matching_terms_end(it));
            for (const std::string &m : matched_synonyms(c.ex, terms, f[PS_F_LANG]))
                check(ps_results_builder_add_hit_synonym(b.get(), m.c_str()));
        }
    }
    for (const syn_expansion &x : c.ex) {
        std::vector<const char *> to;
        for (const std::string &m : x.to)
            to.push_back(m.c_str());
        check(ps_results_builder_add_expansion(b.get(), x.from.c_str(), to.data(),
                                               (uint32_t)to.size()));
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
        std::string ferr;
        ps_status rs = read_query(q, c, ferr);
        if (rs != PS_OK)
            return set_err(db, rs, ferr);
        c.limit = q->limit ? q->limit : 10;
        bool sharded_read = db->sharded && !db->writable;
        for (int attempt = 0;; attempt++) {
            if (sharded_read && !db->sopts.allow_partial && any_down(db))
                return set_err(db, PS_ERR_IO, down_message(db));
            try {
                delta_sync(db);
                return search_once(c, out);
            } catch (const Xapian::DatabaseModifiedError &) {
                if (db->writable || attempt > 0)
                    throw;
                reopen_main(db);
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
