// match.cc: the alert matcher (ps_matcher, polysearch.h): saved queries
// parsed once, an inverted index from the terms a match needs to the
// queries, and the match of a group of new documents: the documents go
// into an in-memory Xapian database, and only the candidate queries (a
// key of theirs among the group's terms, or no key at all) run there,
// parsed as ps_search parses (search.cc: parse_exact, parse_languages,
// add_filters), with snippets from the same highlighter.

#include "internal.h"
#include "snippet.h"

#include <algorithm>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

using namespace psi;

namespace {

// One saved query.
struct saved : query_input {   // qs: with its synonyms expanded
    uint64_t id = 0;
    void *user = nullptr;
    bool match_all = false;     // qs is blank
    uint32_t snippet_bytes = 200;
    std::vector<std::string> keys;  // index keys; none: always a candidate
    // Parses kept between groups (the alert thread's): without a wildcard
    // a parse depends on the text and the language only, not on the
    // group's documents, and parsing is most of what a candidate costs.
    bool cacheable = false;         // qs has no wildcard
    // What the matching depends on (qs, filters, wildcard limit):
    // subscriptions with the same key match the same documents of a group,
    // matched once per group for all of them.
    std::string key;
    bool have_exact = false;
    Xapian::Query exact;
    // language -> its stemmed parse (nullptr: no stemmer)
    std::unordered_map<std::string, std::unique_ptr<lang_parse>> stemmed;

    // The query a group whose documents have languages langs is matched
    // with, as ps_search would build it over them; *exact_out the exact
    // parse (snippets).  Parses against mem when not cacheable (wildcards
    // expand over the group's documents).  Throws as parse_exact.
    Xapian::Query query(Xapian::Database &mem, const std::vector<std::string> &langs,
                        Xapian::Query *exact_out)
    {
        if (!cacheable) {
            *exact_out = parse_exact(mem, qs, maxw);
            return parse_languages(mem, qs, *exact_out, langs, maxw);
        }
        if (!have_exact) {
            exact = parse_exact(mem, qs, maxw);
            have_exact = true;
        }
        std::vector<const lang_parse *> ps;
        for (const std::string &l : langs) {
            auto it = stemmed.find(l);
            if (it == stemmed.end()) {
                std::unique_ptr<lang_parse> p(new lang_parse);
                if (!parse_stemmed(mem, qs, l, maxw, *p))
                    p.reset();
                it = stemmed.emplace(l, std::move(p)).first;
            }
            if (it->second)
                ps.push_back(it->second.get());
        }
        *exact_out = exact;
        return join_languages(exact, ps);
    }
};

// Collects into out the terms of which every document matching q holds
// at least one.  Returns false when there is no such set (a positive part
// of q matches without a term: match-all, a wildcard, a value range).
bool needed_terms(const Xapian::Query &q, std::vector<std::string> &out)
{
    using Q = Xapian::Query;
    size_t n = q.get_num_subqueries();
    switch (q.get_type()) {
    case Q::LEAF_TERM: {
        auto t = q.get_terms_begin();
        if (t == q.get_terms_end() || (*t).empty())
            return false;   // the empty term matches every document
        out.push_back(*t);
        return true;
    }
    case Q::LEAF_MATCH_NOTHING:
        return true;
    case Q::OP_OR:
    case Q::OP_XOR:
    case Q::OP_ELITE_SET:
    case Q::OP_SYNONYM:
    case Q::OP_MAX:
        for (size_t i = 0; i < n; i++)
            if (!needed_terms(q.get_subquery(i), out))
                return false;
        return true;
    case Q::OP_AND:
    case Q::OP_FILTER:
    case Q::OP_NEAR:
    case Q::OP_PHRASE: {
        // Every part must match: the smallest set of any part will do.
        bool found = false;
        std::vector<std::string> best;
        for (size_t i = 0; i < n; i++) {
            std::vector<std::string> v;
            if (needed_terms(q.get_subquery(i), v) && (!found || v.size() < best.size())) {
                best.swap(v);
                found = true;
            }
        }
        if (found)
            out.insert(out.end(), best.begin(), best.end());
        return found;
    }
    case Q::OP_AND_NOT:
    case Q::OP_AND_MAYBE:
    case Q::OP_SCALE_WEIGHT:
        return n > 0 && needed_terms(q.get_subquery(0), out);
    default:
        return false;
    }
}

}  // namespace

struct ps_matcher {
    std::unordered_map<uint64_t, saved> subs;
    // key -> ids of the queries holding it
    std::unordered_map<std::string, std::vector<uint64_t>> index;
    std::set<uint64_t> always;  // queries without keys
    std::vector<std::pair<std::string, Xapian::Stem>> stemmers;  // code, stemmer
    Xapian::Database nodb;      // for the syntax check at add
    // The synonym table queries are expanded with when added
    // (ps_matcher_set_synonyms); null: none.
    std::shared_ptr<const syn_table> syn;

    ps_matcher()
    {
        size_t n = 0;
        const char *const *codes = ps_lang_stemmed_codes(&n);
        for (size_t i = 0; i < n; i++)
            stemmers.emplace_back(codes[i], Xapian::Stem(ps_lang_stemmer(codes[i])));
    }

    // The index keys of a term the exact parse needs: the term, and for a
    // word (unprefixed or a title word) its stem in every stemming
    // language, as the per-language parses of parse_languages() write it
    // ("Z" + prefix + stem).
    void keys_of(const std::string &t, std::set<std::string> &keys)
    {
        keys.insert(t);
        size_t p = 0;
        while (p < t.size() && t[p] >= 'A' && t[p] <= 'Z')
            p++;
        std::string prefix = t.substr(0, p), word = t.substr(p);
        if (word.empty() || !(prefix.empty() || prefix == PFX_TITLE))
            return;
        for (auto &s : stemmers)
            keys.insert("Z" + prefix + s.second(word));
    }
};

extern "C" ps_status ps_matcher_new(ps_matcher **out) noexcept
{
    if (!out)
        return PS_ERR_INVALID;
    try {
        *out = new ps_matcher;
        return PS_OK;
    } catch (...) {
        *out = nullptr;
        return PS_ERR_NOMEM;
    }
}

extern "C" void ps_matcher_free(ps_matcher *m) noexcept
{
    delete m;
}

extern "C" ps_status ps_matcher_set_synonyms(ps_matcher *m, ps_db *db) noexcept
{
    if (!m)
        return PS_ERR_INVALID;
    if (!db) {
        m->syn.reset();
        return PS_OK;
    }
    db->err.clear();
    try {
        delta_sync(db);
        m->syn = synonym_table(db);
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

extern "C" uint64_t ps_matcher_count(const ps_matcher *m) noexcept
{
    return m ? m->subs.size() : 0;
}

extern "C" ps_status ps_matcher_add(ps_matcher *m, uint64_t id, const ps_query *q, void *user,
                                    char **errmsg) noexcept
{
    if (errmsg)
        *errmsg = nullptr;
    std::string msg;
    ps_status st = PS_ERR_INVALID;
    try {
        if (!m || !q) {
            msg = "invalid argument to ps_matcher_add";
        } else if (m->subs.count(id)) {
            msg = "subscription " + std::to_string(id) + " exists already";
        } else {
            saved s;
            st = read_query(q, s, msg);
            if (st == PS_OK) {
                s.id = id;
                s.user = user;
                s.match_all = query_is_empty(s.qs);
                if (!s.match_all && !q->no_synonyms && m->syn) {
                    std::vector<syn_expansion> ex;
                    s.qs = expand_synonyms(*m->syn, s.qs, ex);
                }
                s.cacheable = s.qs.find('*') == std::string::npos;
                s.key = s.qs + '\0' + s.lang + '\0' + s.from + '\0' + s.to + '\0' +
                        std::to_string(s.maxw);
                s.snippet_bytes = q->snippet_bytes ? q->snippet_bytes : 200;
                std::vector<std::string> terms;
                bool keyed = false;
                if (!s.match_all) {
                    Xapian::Query exact = parse_exact(m->nodb, s.qs, s.maxw);
                    keyed = needed_terms(exact, terms);
                }
                std::set<std::string> keys;
                if (keyed)
                    for (const std::string &t : terms)
                        m->keys_of(t, keys);
                s.keys.assign(keys.begin(), keys.end());
                // A keyed query with no key at all matches nothing: it
                // never becomes a candidate.
                if (!keyed)
                    m->always.insert(id);
                for (const std::string &k : s.keys)
                    m->index[k].push_back(id);
                m->subs.emplace(id, std::move(s));
                return PS_OK;
            }
        }
    } catch (...) {
        st = map_exception(msg);
    }
    if (errmsg)
        *errmsg = strdup(msg.c_str());
    return st;
}

extern "C" int ps_matcher_remove(ps_matcher *m, uint64_t id, void **user) noexcept
{
    if (user)
        *user = nullptr;
    if (!m)
        return 0;
    auto it = m->subs.find(id);
    if (it == m->subs.end())
        return 0;
    for (const std::string &k : it->second.keys) {
        auto e = m->index.find(k);
        if (e == m->index.end())
            continue;
        auto &v = e->second;
        auto p = std::find(v.begin(), v.end(), id);
        if (p != v.end()) {
            *p = v.back();
            v.pop_back();
        }
        if (v.empty())
            m->index.erase(e);
    }
    m->always.erase(id);
    if (user)
        *user = it->second.user;
    m->subs.erase(it);
    return 1;
}

namespace {

// A document of the group that counts (the last change of its id).
struct gdoc {
    uint32_t index;     // in the caller's docs array
    int replaced;
    fields f;
};

// Matches every (document, query) pair of the group; see polysearch.h.
ps_status match_impl(ps_matcher *m, const ps_match_doc *docs, size_t n, bool all,
                     ps_match_fn fn, void *ctx, ps_match_stats &st)
{
    // The last change of each id counts; replaced comes from its first.
    std::unordered_map<std::string, std::pair<size_t, int>> last;  // id -> (index, replaced)
    for (size_t i = 0; i < n; i++) {
        const char *id = docs[i].doc ? ps_prepared_id(docs[i].doc) : docs[i].id;
        if (!id)
            continue;
        int rep = docs[i].doc ? (docs[i].replaced != 0) : 1;
        auto r = last.emplace(id, std::make_pair(i, rep));
        if (!r.second)
            r.first->second.first = i;
    }
    std::vector<std::unique_ptr<gdoc>> g;
    Xapian::WritableDatabase mem(std::string(), Xapian::DB_BACKEND_INMEMORY);
    std::set<uint64_t> cand;    // candidate queries, by increasing id
    std::vector<std::string> langs;
    for (size_t i = 0; i < n; i++) {
        const ps_prepared *p = docs[i].doc;
        if (!p)
            continue;
        auto l = last.find(p->id);
        if (l == last.end() || l->second.first != i)
            continue;   // superseded later in the group
        std::unique_ptr<gdoc> d(new gdoc);
        d->index = (uint32_t)i;
        d->replaced = l->second.second;
        if (!d->f.decode(p->doc.get_data()))
            continue;
        mem.add_document(p->doc);   // docid g.size() + 1
        if (!all && !m->index.empty())
            for (auto t = p->doc.termlist_begin(); t != p->doc.termlist_end(); ++t) {
                auto e = m->index.find(*t);
                if (e != m->index.end())
                    cand.insert(e->second.begin(), e->second.end());
            }
        std::string lang = p->doc.get_value(SLOT_LANG);
        if (std::find(langs.begin(), langs.end(), lang) == langs.end())
            langs.push_back(lang);
        g.push_back(std::move(d));
    }
    st.docs = (uint32_t)g.size();
    if (g.empty() || m->subs.empty())
        return PS_OK;

    if (all)
        for (auto &s : m->subs)
            cand.insert(s.first);
    else
        cand.insert(m->always.begin(), m->always.end());

    // (document position in g, query id) pairs.  Subscriptions with the
    // same key (the same query and filters) are matched once: many people
    // follow the same organisations.
    struct matched {
        bool failed = false;
        bool have_exact = false;
        Xapian::Query exact;            // for snippets
        std::vector<uint32_t> docs;     // positions in g
    };
    std::unordered_map<std::string, matched> by_key;
    std::vector<std::pair<uint32_t, uint64_t>> hits;
    Xapian::Enquire enq(mem);
    for (uint64_t id : cand) {
        saved &s = m->subs.at(id);
        st.candidates++;
        auto r = by_key.emplace(s.key, matched());
        matched &mk = r.first->second;
        if (r.second) {
            try {
                Xapian::Query q{std::string()};
                if (!s.match_all) {
                    q = s.query(mem, langs, &mk.exact);
                    mk.have_exact = true;
                }
                enq.set_query(add_filters(q, s.lang, s.from, s.to));
                Xapian::MSet ms = enq.get_mset(0, (Xapian::doccount)g.size());
                for (auto it = ms.begin(); it != ms.end(); ++it)
                    mk.docs.push_back((uint32_t)(*it - 1));
            } catch (const Xapian::WildcardError &) {
                mk.failed = true;
            }
        }
        if (mk.failed)
            st.failed++;
        for (uint32_t d : mk.docs)
            hits.emplace_back(d, id);
    }
    std::sort(hits.begin(), hits.end());

    const ps_boilerplate *bp = builtin_bp();   // as ps_search's default
    // The snippets of the current document by key and length: the same
    // query gives the same snippet.
    std::unordered_map<std::string, std::string> snips;
    uint32_t snips_doc = UINT32_MAX;
    for (auto &h : hits) {
        const gdoc &d = *g[h.first];
        const saved &s = m->subs.at(h.second);
        char *const *f = d.f.f;
        if (h.first != snips_doc) {
            snips.clear();
            snips_doc = h.first;
        }
        std::string skey = s.key + '\0' + std::to_string(s.snippet_bytes);
        auto sc = snips.find(skey);
        cstr snip;
        if (sc == snips.end() && f[PS_F_BODY]) {
            snippet_words sw;
            const matched &mk = by_key.at(s.key);
            if (mk.have_exact)
                sw.set(mk.exact, s.qs);
            ps_snippet_terms terms_ = sw.terms();
            char *out = nullptr;
            ps_span *spans = nullptr;
            uint32_t nspans = 0;
            if (ps_snippet_make_ex(f[PS_F_BODY], strlen(f[PS_F_BODY]), f[PS_F_LANG], &terms_, bp,
                                   s.snippet_bytes, &out, &spans, &nspans, nullptr) != 0)
                throw std::bad_alloc();
            free(spans);
            snip.reset(out);
            sc = snips.emplace(std::move(skey), std::string(out)).first;
        }
        const ps_match_doc &src = docs[d.index];
        ps_match mt;
        mt.sub = s.id;
        mt.user = s.user;
        mt.doc = d.index;
        mt.seq = src.seq;
        mt.replaced = d.replaced;
        mt.id = f[PS_F_ID] ? f[PS_F_ID] : "";
        mt.title = f[PS_F_TITLE] ? f[PS_F_TITLE] : "";
        mt.lang = f[PS_F_LANG] ? f[PS_F_LANG] : "und";
        mt.date = f[PS_F_DATE];
        mt.url = f[PS_F_URL];
        mt.snippet = sc != snips.end() ? sc->second.c_str() : "";
        st.matches++;
        if (fn(ctx, &mt) != 0)
            return PS_ERR_INTERNAL;
    }
    return PS_OK;
}

}  // namespace

extern "C" ps_status ps_matcher_match(ps_matcher *m, const ps_match_doc *docs, size_t n,
                                      int all_queries, ps_match_fn fn, void *ctx,
                                      ps_match_stats *stats) noexcept
{
    ps_match_stats st{};
    if (stats)
        *stats = st;
    if (!m || !fn || (n > 0 && !docs))
        return PS_ERR_INVALID;
    ps_status rc;
    try {
        rc = match_impl(m, docs, n, all_queries != 0, fn, ctx, st);
    } catch (...) {
        std::string msg;
        rc = map_exception(msg);
    }
    if (stats)
        *stats = st;
    return rc;
}
