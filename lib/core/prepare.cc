// prepare.cc: document analysis, from a ps_doc_in to the Xapian::Document
// of the document model (internal.h): validation, the content hash,
// language detection, boilerplate removal, folding, stemming (with a
// per-thread memo of recent stems) and the spelling words of the title.
// It touches no database, so ps_doc_prepare() runs on any thread and the
// writer only adds the result (ps_db_put_prepared, write.cc).

#include "analyze.h"
#include "docfields.h"
#include "docvalid.h"
#include "internal.h"
#include "utf8.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

using namespace psi;

namespace {

// Language detection looks at the first bytes only.
const size_t DETECT_MAX_BYTES = 64 * 1024;

}  // namespace

// Splits words at apostrophes (ps_fold() and ps_strip_diacritics() turn
// typographic ones into ASCII '): Xapian keeps "l'innovation" as one term
// and no Snowball stemmer removes French or Italian elisions, so a query
// for "innovation" would miss it.  Applied to index text and queries alike.
void psi::split_apostrophes(char *s)
{
    for (; *s; s++)
        if (*s == '\'')
            *s = ' ';
}

// Checks the fields of d.  Returns PS_OK, or PS_ERR_INVALID with the
// message in err.  datekey receives the normalised date ("" when none).
ps_status psi::validate_doc(const ps_doc_in *d, std::string &err,
                            char datekey[PS_DATE_KEY_LEN + 1])
{
    datekey[0] = '\0';
    if (!d)
        return PS_ERR_INVALID;
    // The one document validator (lib/wire/docvalid.h): the same rules and
    // reason texts as the daemon's add and the clients.
    const char *f[PS_DOC_NKEYS];
    f[PS_DOC_ID] = d->id;
    f[PS_DOC_TITLE] = d->title;
    f[PS_DOC_BODY] = d->body;
    f[PS_DOC_LANG] = d->lang;
    f[PS_DOC_DATE] = d->date;
    f[PS_DOC_URL] = d->url;
    char why[PS_DOC_REASON_MAX];
    if (ps_doc_check(f, 0, why, sizeof why) != 0) {
        err = why;
        return PS_ERR_INVALID;
    }
    if (!empty(d->date) && ps_date_normalize(d->date, 0, datekey) != 0) {
        err = std::string("invalid ISO 8601 date '") + d->date + "'";
        return PS_ERR_INVALID;
    }
    return PS_OK;
}

void psi::content_hash(const ps_doc_in *d, char out[17])
{
    ps_content_hash(d->title, d->body, d->lang, d->date, d->url, out);
}

// The built-in boilerplate list, for ps_doc_prepare() without a matcher
// (and the matcher's snippets, match.cc).  Built once (thread-safe static
// initialisation) and never freed.
const ps_boilerplate *psi::builtin_bp()
{
    static const ps_boilerplate *const bp = [] {
        char *e = nullptr;
        ps_boilerplate *b = ps_boilerplate_new(nullptr, &e);
        free(e);
        if (!b)
            throw std::bad_alloc();
        return b;
    }();
    return bp;
}

namespace {

// A Snowball stemmer that remembers the stems of recent words: word
// frequencies are very skewed, so most words of a document were stemmed
// before.  A direct-mapped table of SLOTS entries (hash of the word ->
// one slot, the newest word wins), fixed size, no allocation per word;
// words or stems too long for a slot are stemmed every time.  The stems
// are those of the wrapped Xapian::Stem, byte for byte.
class MemoStem : public Xapian::StemImplementation {
    static const size_t SLOTS = 4096;   // power of two: 256 KiB
    static const size_t WMAX = 24;
    static const size_t SMAX = 38;
    struct slot {
        unsigned char wlen = 0;         // 0: empty
        unsigned char slen = 0;
        char w[WMAX];
        char s[SMAX];
    };
    Xapian::Stem real;
    std::unique_ptr<slot[]> tab;

  public:
    explicit MemoStem(const char *lang) : real(lang), tab(new slot[SLOTS]) {}

    std::string operator()(const std::string &word) override
    {
        size_t n = word.size();
        if (n == 0 || n > WMAX)
            return real(word);
        uint32_t h = 2166136261u;
        for (unsigned char c : word)
            h = (h ^ c) * 16777619u;
        slot &e = tab[(h ^ (h >> 15)) & (SLOTS - 1)];
        if (e.wlen == n && memcmp(e.w, word.data(), n) == 0)
            return std::string(e.s, e.slen);
        std::string stem = real(word);
        if (stem.size() <= SMAX) {
            e.wlen = (unsigned char)n;
            memcpy(e.w, word.data(), n);
            e.slen = (unsigned char)stem.size();
            memcpy(e.s, stem.data(), stem.size());
        }
        return stem;
    }

    std::string get_description() const override
    {
        return "memo " + real.get_description();
    }
};

// The calling thread's memoising stemmer for a Snowball stemmer name.
// Xapian::Stem's reference count is not atomic: each thread has its own
// objects, freed when the thread exits.
Xapian::Stem memo_stemmer(const char *name)
{
    thread_local std::unordered_map<std::string, Xapian::Stem> stemmers;
    auto it = stemmers.find(name);
    if (it == stemmers.end())
        it = stemmers.emplace(name, Xapian::Stem(new MemoStem(name))).first;
    return it->second;
}

}  // namespace

// Analyses d into *out (everything ps_db_put() does except the write).
// memo: stem through the calling thread's memoising stemmers (256 KiB per
// language, kept until the thread exits; ps_db_put(), which long-lived
// daemon threads call, does without).
// Returns PS_OK or PS_ERR_INVALID (message in err); throws on allocation
// failure or a Xapian error.  Touches no database: any thread.
ps_status psi::prepare_impl(const ps_doc_in *d, const ps_boilerplate *bp, bool memo,
                            std::string &err, std::unique_ptr<ps_prepared> &out)
{
    char datekey[PS_DATE_KEY_LEN + 1];
    ps_status st = validate_doc(d, err, datekey);
    if (st != PS_OK)
        return st;
    if (!bp)
        bp = builtin_bp();
    std::unique_ptr<ps_prepared> p(new ps_prepared);
    char hash[17];
    content_hash(d, hash);
    p->id = d->id;
    p->idterm = std::string(PFX_ID) + d->id;
    p->hash = hash;

    size_t blen = strlen(d->body);
    std::string lang;
    if (!empty(d->lang)) {
        lang = d->lang;
    } else {
        std::string sample = empty(d->title) ? "" : std::string(d->title) + "\n";
        sample.append(d->body, ps_utf8_cut(d->body, blen, DETECT_MAX_BYTES));
        lang = ps_detect_lang(sample.data(), sample.size());
    }
    cstr title(need(empty(d->title) ? ps_derive_title(bp, d->body, blen)
                                    : strdup(d->title)));
    cstr clean(need(ps_clean_body(bp, d->body, blen)));
    cstr ftitle(need(ps_fold(title.get(), strlen(title.get()))));
    cstr fbody(need(ps_fold(clean.get(), strlen(clean.get()))));
    split_apostrophes(ftitle.get());
    split_apostrophes(fbody.get());

    Xapian::Document &doc = p->doc;
    Xapian::TermGenerator tg;
    const char *stemmer = ps_lang_stemmer(lang.c_str());
    if (stemmer) {
        tg.set_stemmer(memo ? memo_stemmer(stemmer) : Xapian::Stem(stemmer));
        tg.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
    }
    // CJK n-grams for every document: the flag only affects CJK characters,
    // and the query parser always uses it, so both sides agree.
    const int flags = Xapian::TermGenerator::FLAG_CJK_NGRAM;
    tg.set_flags(flags);
    tg.set_document(doc);
    tg.index_text(ftitle.get(), TITLE_WDF, PFX_TITLE);
    tg.increase_termpos();
    tg.index_text(ftitle.get());
    tg.increase_termpos();
    tg.index_text(fbody.get());

    // Spelling data from title words only (the body words would make the
    // spelling table as large as the lexicon).  No database here, so
    // collect the words TermGenerator's FLAG_SPELLING would add (every
    // unprefixed unstemmed term, once per occurrence) from a scratch
    // document; ps_db_put_prepared() adds them.
    Xapian::Document scratch;
    Xapian::TermGenerator stg;
    stg.set_flags(flags);
    stg.set_document(scratch);
    stg.index_text_without_positions(ftitle.get());
    for (auto t = scratch.termlist_begin(); t != scratch.termlist_end(); ++t)
        p->spelling.emplace_back(*t, t.get_wdf());

    doc.add_boolean_term(p->idterm);
    doc.add_boolean_term(PFX_LANG + lang);
    doc.add_value(SLOT_LANG, lang);
    if (datekey[0])
        doc.add_value(SLOT_DATE, datekey);
    doc.add_value(SLOT_HASH, p->hash);

    const char *f[PS_F_COUNT];
    f[PS_F_ID] = d->id;
    f[PS_F_TITLE] = title.get();
    f[PS_F_BODY] = d->body;
    f[PS_F_LANG] = lang.c_str();
    f[PS_F_DATE] = empty(d->date) ? nullptr : d->date;
    f[PS_F_URL] = empty(d->url) ? nullptr : d->url;
    f[PS_F_HASH] = hash;
    size_t dlen = 0;
    cstr data(need(ps_fields_encode(f, &dlen)));
    doc.set_data(std::string(data.get(), dlen));
    out = std::move(p);
    return PS_OK;
}

// ---- Entry points -------------------------------------------------------

extern "C" void ps_doc_content_hash(const ps_doc_in *doc, char out[17]) noexcept
{
    if (!out)
        return;
    if (!doc) {
        ps_content_hash(nullptr, nullptr, nullptr, nullptr, nullptr, out);
        return;
    }
    content_hash(doc, out);
}

extern "C" ps_status ps_doc_prepare(const ps_doc_in *doc, const ps_boilerplate *bp,
                                    ps_prepared **out, char **errmsg) noexcept
{
    if (out)
        *out = nullptr;
    if (errmsg)
        *errmsg = nullptr;
    std::string msg;
    ps_status st;
    try {
        if (!out) {
            msg = "invalid argument to ps_doc_prepare";
            st = PS_ERR_INVALID;
        } else {
            std::unique_ptr<ps_prepared> p;
            st = prepare_impl(doc, bp, true, msg, p);
            if (st == PS_OK) {
                *out = p.release();
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

extern "C" const char *ps_prepared_id(const ps_prepared *p) noexcept
{
    return p ? p->id.c_str() : nullptr;
}

extern "C" void ps_prepared_free(ps_prepared *p) noexcept
{
    delete p;
}
