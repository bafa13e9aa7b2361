// xapian.cc: the C API of polysearch.h over Xapian 1.4 (glass backend).
//
// struct ps_db, the document model and the helpers shared with the other
// files of lib/core/ are in internal.h; exception mapping is in errors.cc,
// the lock-holder lookup in lock.cc.
//
// Writable handles run every change inside a Xapian transaction so that
// ps_db_cancel() can discard uncommitted changes (a WritableDatabase
// otherwise commits them when closed).

#include "analyze.h"
#include "commit_fence.h"
#include "docfields.h"
#include "internal.h"
#include "polysearch.h"
#include "snippet.h"
#include "util.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

using namespace psi;

ps_boilerplate *psi::get_bp(ps_db *db)
{
    if (!db->bp) {
        char *e = nullptr;
        db->bp = ps_boilerplate_new(nullptr, &e);
        free(e);
        if (!db->bp)
            throw std::bad_alloc();
    }
    return db->bp;
}

namespace {

const std::vector<std::string> &get_langs(ps_db *db)
{
    Xapian::Database &d = db->db();
    // A combined database has no single revision: a sharded handle drops
    // the cache on every write and every reopen that moved a shard.
    Xapian::rev rev = db->sharded ? db->langs_rev : d.get_revision();
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

}  // namespace

// Returns the docid holding id term t, or 0.
Xapian::docid psi::find_id(Xapian::Database &d, const std::string &t)
{
    Xapian::PostingIterator p = d.postlist_begin(t);
    return p == d.postlist_end(t) ? 0 : *p;
}

namespace {

// Decoded stored fields, freed on scope exit.
struct fields {
    char *f[PS_F_COUNT] = {};
    ~fields()
    {
        for (auto p : f)
            free(p);
    }
    bool decode(const std::string &data)
    {
        return ps_fields_decode(data.data(), data.size(), f) == 0;
    }
};

}  // namespace

// ---- Opening and closing ------------------------------------------------

extern "C" ps_status ps_db_open(const char *path, ps_db_mode mode, ps_db **out,
                                char **errmsg) noexcept
{
    if (out)
        *out = nullptr;
    if (errmsg)
        *errmsg = nullptr;
    std::string msg;
    ps_status st;
    try {
        if (!path || !*path || !out || (mode != PS_DB_READ && mode != PS_DB_WRITE)) {
            msg = "invalid argument to ps_db_open";
            st = PS_ERR_INVALID;
        } else {
            std::unique_ptr<ps_db> h(new ps_db);
            h->path = path;
            struct stat sb;
            bool exists = stat(path, &sb) == 0;
            if (exists && !S_ISDIR(sb.st_mode)) {
                msg = std::string("'") + path + "' is not a database directory "
                      "(only glass databases opened by directory are accepted)";
                st = PS_ERR_NO_DB;
            } else if (mode == PS_DB_READ && !exists) {
                msg = std::string("no database at '") + path + "': " + strerror(errno);
                st = PS_ERR_NO_DB;
            } else {
                std::string stub = std::string(path) + "/XAPIANDB";
                if (mode == PS_DB_READ && access(stub.c_str(), F_OK) == 0) {
                    // A replica made by xapian-replicate: a stub file naming
                    // the live copy (docs/SCALING.md).
                    h->rdb = Xapian::Database(stub, Xapian::DB_BACKEND_STUB);
                } else if (mode == PS_DB_READ) {
                    h->rdb = Xapian::Database(path, Xapian::DB_BACKEND_GLASS);
                } else {
                    if (exists)
                        discard_unfinished_create(path);
                    h->wdb = Xapian::WritableDatabase(
                        path, Xapian::DB_CREATE_OR_OPEN | Xapian::DB_BACKEND_GLASS);
                    h->writable = true;
                    h->spell_check = true;
                }
                *out = h.release();
                return PS_OK;
            }
        }
    } catch (...) {
        st = map_exception(msg);
        if (st == PS_ERR_LOCKED) {
            try {
                msg = lock_message(path);
            } catch (...) {
            }
        }
    }
    if (errmsg)
        *errmsg = strdup(msg.c_str());
    return st;
}

extern "C" ps_status ps_db_close(ps_db *db) noexcept
{
    if (!db)
        return PS_OK;
    ps_status st = PS_OK;
    if (db->sharded) {
        for (ps_db *&sub : db->subs) {
            ps_status s2 = ps_db_close(sub);
            if (s2 != PS_OK && st == PS_OK) {
                st = s2;
                db->err = "shard '" + sub->path + "'";
            }
            sub = nullptr;
        }
        db->subs.clear();
    } else if (db->writable) {
        try {
            st = db->stuck_txn ? PS_OK : commit_impl(db);
        } catch (...) {
            st = fail(db);
        }
        try {
            db->wdb.close();
        } catch (...) {
            if (st == PS_OK)
                st = fail(db);
        }
    }
    delete db;
    return st;
}

extern "C" const char *ps_db_errmsg(const ps_db *db) noexcept
{
    return db ? db->err.c_str() : "no database handle";
}

extern "C" ps_status ps_db_reopen(ps_db *db, int *changed) noexcept
{
    if (changed)
        *changed = 0;
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        if (db->writable)
            return PS_OK;
        if (db->sharded) {
            bool ch = reopen_shards(db);
            if (changed)
                *changed = ch;
            return PS_OK;
        }
        Xapian::rev before = db->rdb.get_revision();
        db->rdb.reopen();
        if (changed)
            *changed = db->rdb.get_revision() != before;
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

extern "C" uint64_t ps_db_revision(ps_db *db) noexcept
{
    if (!db)
        return 0;
    try {
        if (db->sharded) {
            // Sum of the shards' revisions: moves when any shard moves.
            uint64_t sum = 0;
            for (ps_db *sub : db->subs)
                sum += sub->wdb.get_revision();
            for (ps_shard &sh : db->shards)
                if (sh.up)
                    sum += sh.db.get_revision();
            return sum;
        }
        return db->db().get_revision();
    } catch (...) {
        fail(db);
        return 0;
    }
}

// Reads the revision from the glass version file "iamglass": the magic
// string, a 2-byte format version, a 16-byte UUID, then the revision as a
// packed unsigned integer (7 bits per byte, least significant first).  This
// avoids opening every table just to poll for a new commit; the format is
// Xapian 1.4's (checked against get_revision() in tests/unit/test_core_db.c).
extern "C" uint64_t ps_db_disk_revision(const char *path) noexcept
{
    static const char magic[] = "\x0f\x0dXapian Glass";
    const size_t mlen = sizeof magic - 1;
    if (!path)
        return 0;
    try {
        std::string f = std::string(path) + "/iamglass";
        int fd = open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            // A xapian-replicate replica: the stub "auto replica_N" names
            // the live copy.
            FILE *sf = fopen((std::string(path) + "/XAPIANDB").c_str(), "re");
            char line[256] = {0};
            bool got = false;
            while (sf && !got && fgets(line, sizeof line, sf))
                got = strncmp(line, "auto ", 5) == 0;  // skip the comments
            if (sf)
                fclose(sf);
            if (!got || strncmp(line, "auto ", 5) != 0)
                return 0;
            std::string sub(line + 5);
            while (!sub.empty() && (sub.back() == '\n' || sub.back() == '\r'))
                sub.pop_back();
            if (sub.empty() || sub.find('/') != std::string::npos)
                return 0;
            f = std::string(path) + "/" + sub + "/iamglass";
            fd = open(f.c_str(), O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0)
            return 0;
        unsigned char buf[256];
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        size_t off = mlen + 2 + 16;
        if (n < (ssize_t)off + 1 || memcmp(buf, magic, mlen) != 0)
            return 0;
        uint64_t rev = 0;
        for (int shift = 0; off < (size_t)n && shift < 64; shift += 7) {
            unsigned char b = buf[off++];
            rev |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80))
                return rev;
        }
        return 0;
    } catch (...) {
        return 0;
    }
}

// ---- Boilerplate --------------------------------------------------------

extern "C" const ps_boilerplate *ps_db_boilerplate(ps_db *db) noexcept
{
    if (!db)
        return nullptr;
    try {
        return get_bp(db);
    } catch (...) {
        fail(db);
        return nullptr;
    }
}

extern "C" ps_status ps_db_set_boilerplate_file(ps_db *db, const char *path) noexcept
{
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        char *e = nullptr;
        ps_boilerplate *bp = ps_boilerplate_new(path, &e);
        if (!bp) {
            std::string m = e ? e : "cannot read the boilerplate file";
            free(e);
            return set_err(db, PS_ERR_IO, m);
        }
        free(e);
        for (ps_db *sub : db->subs) {
            ps_status st = ps_db_set_boilerplate_file(sub, path);
            if (st != PS_OK) {
                ps_boilerplate_free(bp);
                return from_sub(db, sub, st);
            }
        }
        ps_boilerplate_free(db->bp);
        db->bp = bp;
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

// ---- Reading ------------------------------------------------------------

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
        Xapian::Database *dp = &db->db();
        if (db->sharded) {
            // Only the document's own shard can hold it.
            size_t n = db->writable ? db->subs.size() : db->shards.size();
            size_t i = fnv1a64(id) % n;
            if (db->writable) {
                dp = &db->subs[i]->wdb;
            } else if (!db->shards[i].up) {
                return set_err(db, PS_ERR_IO, "shard '" + db->shards[i].spec +
                                                  "' holding this id is down: " +
                                                  db->shards[i].err);
            } else {
                dp = &db->shards[i].db;
            }
        }
        Xapian::Database &d = *dp;
        Xapian::docid did = find_id(d, std::string(PFX_ID) + id);
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
        *n = db->db().get_doccount();
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

namespace {

struct builder_deleter {
    void operator()(ps_results_builder *b) const noexcept { ps_results_builder_free(b); }
};
using builder_ptr = std::unique_ptr<ps_results_builder, builder_deleter>;

builder_ptr new_builder()
{
    builder_ptr b(ps_results_builder_new());
    if (!b)
        throw std::bad_alloc();
    return b;
}

void check(ps_status st)
{
    if (st == PS_ERR_NOMEM)
        throw std::bad_alloc();
}

ps_results *finish(builder_ptr &b, uint64_t total, const char *sugg, uint64_t took)
{
    ps_results *r = ps_results_builder_finish(b.release(), total, sugg, took);
    if (!r)
        throw std::bad_alloc();
    return r;
}

}  // namespace

extern "C" ps_status ps_db_lang_counts(ps_db *db, ps_results **out) noexcept
{
    if (out)
        *out = nullptr;
    if (!db || !out)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        uint64_t t0 = ps_now_us();
        Xapian::Database &d = db->db();
        std::vector<std::pair<std::string, uint64_t>> v;
        for (auto t = d.allterms_begin(PFX_LANG); t != d.allterms_end(PFX_LANG); ++t)
            v.emplace_back((*t).substr(1), t.get_termfreq());
        std::stable_sort(v.begin(), v.end(), [](const auto &a, const auto &b) {
            return a.second > b.second;
        });
        builder_ptr b = new_builder();
        for (const auto &p : v)
            check(ps_results_builder_add_facet(b.get(), p.first.c_str(), p.second));
        *out = finish(b, d.get_doccount(), nullptr, ps_now_us() - t0);
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

// ---- Searching ----------------------------------------------------------

namespace {

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

// Folded words of a query: its unprefixed terms and title terms (for the
// highlighter).
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

// Folded prefixes of the wildcard words ("bio*") of a query string.
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

struct search_ctx {
    ps_db *db;
    const ps_query *q;
    std::string qs;         // query text, diacritics stripped
    std::string lang;       // language filter or ""
    std::string from, to;   // normalised date bounds or ""
    unsigned maxw;
    uint32_t limit;
};

// One attempt; throws Xapian exceptions.
ps_status search_once(search_ctx &c, ps_results **out)
{
    uint64_t t0 = ps_now_us();
    Xapian::Database &d = c.db->db();
    const ps_query *q = c.q;
    bool match_all = c.qs.find_first_not_of(" \t\r\n") == std::string::npos;

    Xapian::QueryParser exact;
    setup_parser(exact, d, c.maxw);
    // Not Query::MatchAll: copying that shared static bumps a non-atomic
    // refcount, a data race between daemon workers (found by TSan).
    Xapian::Query query{std::string()};
    Xapian::Query exact_q;
    if (!match_all) {
        exact_q = exact.parse_query(c.qs, QP_FLAGS);
        std::vector<Xapian::Query> parts{exact_q};
        for (const std::string &l : get_langs(c.db)) {
            const char *stemmer = ps_lang_stemmer(l.c_str());
            if (!stemmer)
                continue;
            Xapian::QueryParser qp;
            setup_parser(qp, d, c.maxw);
            qp.set_stemmer(Xapian::Stem(stemmer));
            // STEM_ALL_Z rather than STEM_SOME: the query parser's STEM_SOME
            // does not stem capitalised words, and German nouns (or a
            // query typed in capitals) must still find their stems.
            qp.set_stemming_strategy(Xapian::QueryParser::STEM_ALL_Z);
            parts.emplace_back(Xapian::Query::OP_FILTER,
                               qp.parse_query(c.qs, QP_FLAGS),
                               Xapian::Query(PFX_LANG + l));
        }
        query = Xapian::Query(Xapian::Query::OP_OR, parts.begin(), parts.end());
    }
    if (!c.lang.empty())
        query = Xapian::Query(Xapian::Query::OP_FILTER, query,
                              Xapian::Query(PFX_LANG + c.lang));
    if (!c.from.empty() || !c.to.empty()) {
        Xapian::Query r =
            c.from.empty() ? Xapian::Query(Xapian::Query::OP_VALUE_LE, SLOT_DATE, c.to)
            : c.to.empty() ? Xapian::Query(Xapian::Query::OP_VALUE_GE, SLOT_DATE, c.from)
                           : Xapian::Query(Xapian::Query::OP_VALUE_RANGE, SLOT_DATE,
                                           c.from, c.to);
        query = Xapian::Query(Xapian::Query::OP_FILTER, query, r);
    }

    Xapian::Enquire enq(d);
    enq.set_query(query);
    if (q->sort == PS_SORT_DATE)
        enq.set_sort_by_value_then_relevance(SLOT_DATE, true);
    Xapian::ValueCountMatchSpy spy(SLOT_LANG);
    if (q->facets)
        enq.add_matchspy(&spy);
    Xapian::MSet mset = enq.get_mset(q->offset, c.limit,
                                     q->facets ? d.get_doccount() : 0);

    std::vector<std::string> words, prefixes;
    std::vector<const char *> wp, pp;
    if (q->snippets && !match_all) {
        words = query_words(exact_q);
        prefixes = wildcard_prefixes(c.qs);
        for (auto &s : words)
            wp.push_back(s.c_str());
        for (auto &s : prefixes)
            pp.push_back(s.c_str());
    }
    ps_snippet_terms st = {wp.data(), wp.size(), pp.data(), pp.size()};
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
        const char *text = q->q ? q->q : "";
        size_t len = strlen(text);
        size_t maxq = q->max_query ? q->max_query : PS_DEFAULT_MAX_QUERY_BYTES;
        if (len > maxq)
            return set_err(db, PS_ERR_TOO_LARGE,
                           "q is " + std::to_string(len) +
                               " bytes, more than max_query (" +
                               std::to_string(maxq) + ")");
        cstr s(need(ps_strip_diacritics(text, len)));
        split_apostrophes(s.get());
        c.qs = s.get();
        if (!empty(q->lang)) {
            if (!ps_lang_valid(q->lang))
                return set_err(db, PS_ERR_INVALID,
                               std::string("unknown language code '") + q->lang + "'");
            c.lang = q->lang;
        }
        char key[PS_DATE_KEY_LEN + 1];
        if (!empty(q->date_from)) {
            if (ps_date_normalize(q->date_from, 0, key) != 0)
                return set_err(db, PS_ERR_INVALID,
                               std::string("invalid date_from '") + q->date_from + "'");
            c.from = key;
        }
        if (!empty(q->date_to)) {
            if (ps_date_normalize(q->date_to, 1, key) != 0)
                return set_err(db, PS_ERR_INVALID,
                               std::string("invalid date_to '") + q->date_to + "'");
            c.to = key;
        }
        c.maxw = q->max_wildcard ? q->max_wildcard : PS_DEFAULT_MAX_WILDCARD;
        c.limit = q->limit ? q->limit : 10;
        bool sharded_read = db->sharded && !db->writable;
        for (int attempt = 0;; attempt++) {
            if (sharded_read && !db->sopts.allow_partial && any_down(db))
                return set_err(db, PS_ERR_IO, down_message(db));
            try {
                return search_once(c, out);
            } catch (const Xapian::DatabaseModifiedError &) {
                if (db->writable || attempt > 0)
                    throw;
                db->rdb.reopen();
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
