// synonyms.cc: the synonym table (polysearch.h, "Synonyms").  Writing
// (ps_db_set_synonyms: the whole table replaced in one commit), reading
// it into a cached in-memory copy per handle (synonym_table), the query
// expansion that ps_search and the alert matcher run before parsing
// (expand_synonyms), the members a hit matched through
// (matched_synonyms), and the group listing (ps_db_synonym_groups).
//
// Xapian 1.4's own FLAG_AUTO_SYNONYMS is not used: its QueryParser takes
// a synonym value as one literal term, so a phrase member ("pole de
// competitivite") would never match and a member would not be stemmed by
// each language branch.  Expanding the query text instead lets every
// branch of parse_languages() fold and stem every member its own way.

#include "internal.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace psi;

namespace {

bool word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '_';
}

bool space_byte(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string fold_word(const std::string &w)
{
    cstr f(need(ps_fold(w.data(), w.size())));
    return f.get();
}

// Words of a member: query_text(), split at every non-word byte, folded.
std::vector<std::string> member_words(const char *text)
{
    std::string s = query_text(text);
    std::vector<std::string> v;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && !word_byte((unsigned char)s[i]))
            i++;
        size_t b = i;
        while (i < s.size() && word_byte((unsigned char)s[i]))
            i++;
        if (i > b) {
            std::string f = fold_word(s.substr(b, i - b));
            if (!f.empty())
                v.push_back(f);
        }
    }
    return v;
}

std::string join_words(const std::vector<std::string> &w, size_t from, size_t n)
{
    std::string k;
    for (size_t i = from; i < from + n; i++) {
        if (i > from)
            k += ' ';
        k += w[i];
    }
    return k;
}

size_t count_words(const std::string &k)
{
    return k.empty() ? 0 : 1 + (size_t)std::count(k.begin(), k.end(), ' ');
}

bool is_operator(const std::string &w)
{
    static const char *const ops[] = {"AND", "OR", "NOT", "XOR", "NEAR", "ADJ"};
    for (const char *o : ops)
        if (w == o)
            return true;
    return false;
}

// One whitespace-separated chunk of a query text.
struct qtoken {
    size_t b, e;         // the word's bytes (trailing punctuation excluded)
    std::string folded;  // when ok
    bool ok;             // a bare word that may be expanded
    bool join;           // only white space between it and the next token
};

std::vector<qtoken> tokenize_query(const std::string &qs)
{
    std::vector<qtoken> v;
    bool quoted = false;
    size_t i = 0, n = qs.size();
    while (i < n) {
        if (space_byte(qs[i])) {
            i++;
            continue;
        }
        if (qs[i] == '(' || qs[i] == ')') {
            if (!v.empty())
                v.back().join = false;
            i++;
            continue;
        }
        size_t b = i;
        while (i < n && !space_byte(qs[i]) && qs[i] != '(' && qs[i] != ')')
            i++;
        size_t e = i;
        size_t quotes = (size_t)std::count(qs.begin() + (long)b, qs.begin() + (long)e, '"');
        bool in_quotes = quoted;
        if (quotes % 2)
            quoted = !quoted;
        bool stripped = false;
        while (e > b && strchr(",.;!?", qs[e - 1])) {
            e--;
            stripped = true;
        }
        qtoken t{b, e, std::string(), false, !stripped};
        if (!in_quotes && quotes == 0 && e > b) {
            bool all = true;
            for (size_t k = b; k < e && all; k++)
                all = word_byte((unsigned char)qs[k]);
            std::string w = qs.substr(b, e - b);
            if (all && !is_operator(w)) {
                t.folded = fold_word(w);
                t.ok = !t.folded.empty() && t.folded.find(' ') == std::string::npos;
            }
        }
        v.push_back(std::move(t));
    }
    if (!v.empty())
        v.back().join = false;
    return v;
}

std::string quoted_member(const std::string &m)
{
    return m.find(' ') == std::string::npos ? m : "\"" + m + "\"";
}

// Checks and normalises groups; throws nothing but std::bad_alloc.
bool normalise_groups(const ps_synonym_group *groups, size_t n,
                      std::vector<std::vector<std::string>> &out, std::string &err)
{
    if (n > PS_SYN_MAX_GROUPS) {
        err = std::to_string(n) + " synonym groups, more than " +
              std::to_string(PS_SYN_MAX_GROUPS);
        return false;
    }
    std::map<std::string, size_t> seen;  // member -> group index
    for (size_t g = 0; g < n; g++) {
        const ps_synonym_group &gr = groups[g];
        std::string where = "synonym group " + std::to_string(g + 1);
        if (gr.n < 2 || !gr.members) {
            err = where + ": fewer than 2 members";
            return false;
        }
        if (gr.n > PS_SYN_MAX_GROUP) {
            err = where + ": " + std::to_string(gr.n) + " members, more than " +
                  std::to_string(PS_SYN_MAX_GROUP);
            return false;
        }
        std::vector<std::string> v;
        for (uint32_t i = 0; i < gr.n; i++) {
            const char *m = gr.members[i] ? gr.members[i] : "";
            std::vector<std::string> w = member_words(m);
            std::string k = join_words(w, 0, w.size());
            if (w.empty()) {
                err = where + ": member " + std::to_string(i + 1) + " has no word";
                return false;
            }
            if (k.size() > PS_SYN_MAX_MEMBER_BYTES || w.size() > PS_SYN_MAX_MEMBER_WORDS) {
                err = where + ": member '" + k.substr(0, 40) + "' over " +
                      std::to_string(PS_SYN_MAX_MEMBER_BYTES) + " bytes or " +
                      std::to_string(PS_SYN_MAX_MEMBER_WORDS) + " words";
                return false;
            }
            auto it = seen.find(k);
            if (it != seen.end()) {
                err = where + ": '" + k + "' is already a member of " +
                      (it->second == g ? std::string("this group")
                                       : "synonym group " + std::to_string(it->second + 1));
                return false;
            }
            seen.emplace(k, g);
            v.push_back(k);
        }
        out.push_back(std::move(v));
    }
    return true;
}

ps_status set_one(ps_db *db, const std::vector<std::vector<std::string>> &groups)
{
    if (!db->writable)
        return set_err(db, PS_ERR_INVALID, "the handle is read-only");
    if (db->dirty)
        return set_err(db, PS_ERR_INVALID,
                       "uncommitted changes on the handle: commit them first");
    // Its own transaction and commit: check_spelling() may write a
    // transaction again, and only knows documents, spelling and metadata.
    ensure_txn(db);
    db->dirty = true;
    std::vector<std::string> old;
    for (auto k = db->wdb.synonym_keys_begin(); k != db->wdb.synonym_keys_end(); ++k)
        old.push_back(*k);
    for (const std::string &k : old)
        db->wdb.clear_synonyms(k);
    for (const auto &g : groups)
        for (const std::string &m : g)
            for (const std::string &o : g)
                if (&o != &m)
                    db->wdb.add_synonym(m, o);
    db->pending += 64 * (old.size() + groups.size() * PS_SYN_MAX_GROUP);
    return ps_db_commit(db);
}

}  // namespace

// ---- Shared with search.cc and match.cc (internal.h) --------------------

std::shared_ptr<const syn_table> psi::synonym_table(ps_db *db)
{
    std::vector<uint64_t> revs = main_revisions(db);
    if (db->syn && revs == db->syn_revs)
        return db->syn;
    auto t = std::make_shared<syn_table>();
    for (Xapian::Database *d : main_dbs(db)) {
        try {
            for (auto k = d->synonym_keys_begin(); k != d->synonym_keys_end(); ++k) {
                std::vector<std::string> &v = t->map[*k];
                for (auto s = d->synonyms_begin(*k); s != d->synonyms_end(*k); ++s)
                    if (std::find(v.begin(), v.end(), *s) == v.end())
                        v.push_back(*s);
                t->maxn = std::max(t->maxn, count_words(*k));
            }
        } catch (const Xapian::UnimplementedError &) {
            // A remote shard: its table is not read.
        } catch (const Xapian::NetworkError &) {
        }
    }
    db->syn = t;
    db->syn_revs = revs;
    return t;
}

std::string psi::expand_synonyms(const syn_table &t, const std::string &qs,
                                 std::vector<syn_expansion> &out)
{
    if (t.map.empty())
        return qs;
    std::vector<qtoken> tk = tokenize_query(qs);
    std::string r;
    size_t copied = 0;
    for (size_t k = 0; k < tk.size();) {
        if (!tk[k].ok) {
            k++;
            continue;
        }
        size_t run = 1;
        while (run < t.maxn && k + run < tk.size() && tk[k + run - 1].join && tk[k + run].ok)
            run++;
        std::vector<std::string> w;
        for (size_t i = k; i < k + run; i++)
            w.push_back(tk[i].folded);
        size_t n = run;
        const std::vector<std::string> *members = nullptr;
        std::string key;
        for (; n >= 1; n--) {
            key = join_words(w, 0, n);
            auto it = t.map.find(key);
            if (it != t.map.end() && !it->second.empty()) {
                members = &it->second;
                break;
            }
        }
        if (!members) {
            k++;
            continue;
        }
        size_t b = tk[k].b, e = tk[k + n - 1].e;
        std::string orig = qs.substr(b, e - b);
        r += qs.substr(copied, b - copied);
        r += "(";
        r += n > 1 ? "(" + orig + ")" : orig;
        for (const std::string &m : *members)
            r += " OR " + quoted_member(m);
        r += ")";
        copied = e;
        bool dup = false;
        for (const syn_expansion &x : out)
            dup = dup || x.from == key;
        if (!dup)
            out.push_back(syn_expansion{key, *members});
        k += n;
    }
    r += qs.substr(copied);
    return r;
}

std::vector<std::string> psi::matched_synonyms(const std::vector<syn_expansion> &ex,
                                               const std::set<std::string> &terms,
                                               const char *lang)
{
    std::vector<std::string> v;
    for (const syn_expansion &x : ex) {
        for (const std::string &m : x.to) {
            if (std::find(v.begin(), v.end(), m) != v.end())
                continue;
            bool all = true;
            size_t p = 0;
            while (all && p <= m.size()) {
                size_t q = m.find(' ', p);
                if (q == std::string::npos)
                    q = m.size();
                std::string w = m.substr(p, q - p);
                bool found = terms.count(w) > 0;
                if (!found && lang) {
                    cstr s(need(ps_stem(lang, w.c_str())));
                    found = terms.count(std::string("Z") + s.get()) > 0;
                }
                all = found;
                p = q + 1;
            }
            if (all)
                v.push_back(m);
        }
    }
    return v;
}

// ---- Public entry points --------------------------------------------------

extern "C" char *ps_synonym_normalize(const char *text) noexcept
{
    try {
        std::vector<std::string> w = member_words(text ? text : "");
        return strdup(join_words(w, 0, w.size()).c_str());
    } catch (...) {
        return nullptr;
    }
}

extern "C" ps_status ps_db_set_synonyms(ps_db *db, const ps_synonym_group *groups,
                                        size_t n) noexcept
{
    if (!db || (n > 0 && !groups))
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        std::vector<std::vector<std::string>> norm;
        std::string err;
        if (!normalise_groups(groups, n, norm, err))
            return set_err(db, PS_ERR_INVALID, err);
        if (db->sharded && db->writable) {
            for (ps_db *sub : db->subs)
                if (sub->dirty)
                    return set_err(db, PS_ERR_INVALID,
                                   "uncommitted changes on the handle: commit them first");
            for (ps_db *sub : db->subs) {
                ps_status st = set_one(sub, norm);
                if (st != PS_OK)
                    return from_sub(db, sub, st);
            }
            db->syn.reset();
            return PS_OK;
        }
        ps_status st = set_one(db, norm);
        db->syn.reset();
        return st;
    } catch (...) {
        return fail(db);
    }
}

extern "C" void ps_synonym_list_free(ps_synonym_list *l) noexcept
{
    free(l);
}

extern "C" ps_status ps_db_synonym_groups(ps_db *db, const char *word, uint32_t offset,
                                          uint32_t limit, ps_synonym_list **out) noexcept
{
    if (out)
        *out = nullptr;
    if (!db || !out)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        delta_sync(db);
        std::shared_ptr<const syn_table> t = synonym_table(db);
        std::set<std::vector<std::string>> groups;
        auto group_of = [&](const std::string &k, const std::vector<std::string> &vals) {
            std::vector<std::string> g(vals);
            g.push_back(k);
            std::sort(g.begin(), g.end());
            g.erase(std::unique(g.begin(), g.end()), g.end());
            groups.insert(std::move(g));
        };
        if (word && *word) {
            std::vector<std::string> w = member_words(word);
            auto it = t->map.find(join_words(w, 0, w.size()));
            if (it != t->map.end())
                group_of(it->first, it->second);
        } else {
            for (const auto &kv : t->map)
                group_of(kv.first, kv.second);
        }
        // One block: [list][groups][member pointers][strings].
        std::vector<const std::vector<std::string> *> sel;
        uint32_t i = 0;
        for (const auto &g : groups) {
            if (i >= offset && (limit == 0 || sel.size() < limit))
                sel.push_back(&g);
            i++;
        }
        size_t nptr = 0, bytes = 0;
        for (auto *g : sel) {
            nptr += g->size();
            for (const std::string &m : *g)
                bytes += m.size() + 1;
        }
        size_t off_groups = sizeof(ps_synonym_list);
        off_groups = (off_groups + alignof(ps_synonym_group) - 1) / alignof(ps_synonym_group) *
                     alignof(ps_synonym_group);
        size_t off_ptrs = off_groups + sel.size() * sizeof(ps_synonym_group);
        off_ptrs = (off_ptrs + alignof(const char *) - 1) / alignof(const char *) *
                   alignof(const char *);
        size_t off_strs = off_ptrs + nptr * sizeof(const char *);
        char *block = static_cast<char *>(malloc(off_strs + bytes));
        if (!block)
            throw std::bad_alloc();
        auto *l = reinterpret_cast<ps_synonym_list *>(block);
        auto *gs = reinterpret_cast<ps_synonym_group *>(block + off_groups);
        auto *ptrs = reinterpret_cast<const char **>(block + off_ptrs);
        char *cur = block + off_strs;
        l->total = (uint32_t)std::min<size_t>(groups.size(), UINT32_MAX);
        l->ngroups = (uint32_t)sel.size();
        l->groups = sel.empty() ? nullptr : gs;
        for (size_t g = 0; g < sel.size(); g++) {
            gs[g].n = (uint32_t)sel[g]->size();
            gs[g].members = ptrs;
            for (const std::string &m : *sel[g]) {
                memcpy(cur, m.c_str(), m.size() + 1);
                *ptrs++ = cur;
                cur += m.size() + 1;
            }
        }
        *out = l;
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}
