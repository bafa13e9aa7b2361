// langid_cld2.cc: language identification with CLD2 (Compact Language
// Detector 2, the "full" tables).  The only file that includes CLD2
// headers.  CLD2 keeps no mutable global state after its static tables are
// built, so ps_detect_lang() may be called from any number of threads.
//
// Decision rule:
//   - the text is scanned as plain text (no HTML), at most kMaxBytes;
//     invalid UTF-8 and NUL bytes are replaced by spaces first (CLD2
//     refuses invalid input as a whole);
//   - CLD2's summary gives up to three languages with their percentages of
//     the text; the answer is the top one (language3[0]), so a French or
//     English article with a short menu in another language keeps its main
//     language;
//   - except: when the top language is English and another valid language
//     covers at least kMinSecondPercent of the text, the document is in that
//     other language.  Localised documents very often keep untranslated
//     English passages (UI strings, partially translated manuals, quoted
//     code), while English documents seldom carry 10 % of another language.
//     On ../shared/corpus/sample.jsonl (translated man pages) this raises
//     accuracy from 92.1 % to 98.6 % without any English document lost
//     (15 %: 97.9 %; 20 %: 97.5 %).  Adding the title did not help: CLD2
//     reads the command names in man-page titles as English;
//   - "und" when fewer than kMinLetters letter bytes were scored, when CLD2
//     finds no language, when CLD2 flags the result unreliable and the top
//     language covers less than kMinUnreliablePercent of the text (CLD2
//     flags mixed text with code or tables unreliable even when one language
//     clearly dominates), or when the code (after mapping CLD2's
//     "zh-Hant"->"zh", "nb"/"nn"->"no", "iw"->"he") is not ps_lang_valid().
#include "analyze.h"
#include "utf8.h"

#include <cstdio>  // compact_lang_det.h uses FILE without including it

#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>

#include <cstring>
#include <string>

namespace {

// Beyond this many bytes the answer does not change in practice; keeps the
// cost per document bounded.
const size_t kMaxBytes = 64 * 1024;
// Fewer scored letter bytes than this is too short to say anything.
const int kMinLetters = 24;
// An "unreliable" top language still counts when it covers this much.
const int kMinUnreliablePercent = 50;
// Share of a non-English language that makes an English-majority text count
// as that language.
const int kMinSecondPercent = 10;

// Maps a CLD2 language code to a ps_lang_valid() code, or "und".
const char *map_code(const char *cld)
{
    static const char *const und = "und";
    char base[8];
    size_t n = 0;
    if (cld == nullptr)
        return und;
    while (cld[n] != '\0' && cld[n] != '-' && n < sizeof base - 1) {
        base[n] = cld[n];
        n++;
    }
    if (cld[n] != '\0' && cld[n] != '-')
        return und;  // longer than any code we know
    base[n] = '\0';
    if (std::strcmp(base, "nb") == 0 || std::strcmp(base, "nn") == 0)
        return "no";
    if (std::strcmp(base, "iw") == 0)
        return "he";
    const char *canon = ps_lang_canonical(base);
    return canon != nullptr ? canon : und;
}

// CLD2's summary of one text.
struct Summary {
    CLD2::Language lang3[3];
    int percent3[3];
    int text_bytes;
    bool reliable;
};

// Runs CLD2 on text[0..len) (any bytes); false when it could not run.
bool summarize(const char *text, size_t len, int flags, Summary *out)
{
    // Do not cut a UTF-8 sequence in the middle.
    len = ps_utf8_cut(text, len, kMaxBytes);
    // Replace invalid UTF-8 and NUL bytes by spaces (copy only if needed).
    std::string fixed;
    for (size_t i = 0; i < len;) {
        size_t n = text[i] == '\0' ? 0
                                    : ps_utf8_decode(text + i, len - i, nullptr);
        if (n == 0) {
            if (fixed.empty())
                fixed.assign(text, len);
            fixed[i] = ' ';
            i++;
        } else {
            i += n;
        }
    }
    const char *buf = fixed.empty() ? text : fixed.data();
    CLD2::CLDHints hints = {nullptr, nullptr, CLD2::UNKNOWN_ENCODING,
                            CLD2::UNKNOWN_LANGUAGE};
    double score3[3];
    out->text_bytes = 0;
    out->reliable = false;
    CLD2::ExtDetectLanguageSummary(buf, static_cast<int>(len), true, &hints,
                                   flags, out->lang3, out->percent3, score3,
                                   nullptr, &out->text_bytes, &out->reliable);
    return true;
}

// Decision on a body summary (see the rule at the top of the file).
const char *decide(const Summary &sm)
{
    if (sm.text_bytes < kMinLetters || sm.lang3[0] == CLD2::UNKNOWN_LANGUAGE)
        return "und";
    if (!sm.reliable && sm.percent3[0] < kMinUnreliablePercent)
        return "und";
    const char *top = map_code(CLD2::LanguageCode(sm.lang3[0]));
    if (std::strcmp(top, "en") == 0) {
        // English mixed with a substantial share of another language.
        for (int i = 1; i < 3; i++) {
            if (sm.lang3[i] == CLD2::UNKNOWN_LANGUAGE ||
                sm.percent3[i] < kMinSecondPercent)
                continue;
            const char *code = map_code(CLD2::LanguageCode(sm.lang3[i]));
            if (std::strcmp(code, "und") != 0 && std::strcmp(code, "en") != 0)
                return code;
        }
    }
    return top;
}

}  // namespace

extern "C" const char *ps_detect_lang(const char *text, size_t len)
{
    if (text == nullptr || len == 0)
        return "und";
    try {
        Summary sm;
        if (!summarize(text, len, 0, &sm))
            return "und";
        return decide(sm);
    } catch (...) {
        return "und";
    }
}
