// langid_cld2.cc: language identification with CLD2 (Compact Language
// Detector 2, the "full" tables).  The only file that includes CLD2
// headers.  CLD2 keeps no mutable global state after its static tables are
// built, so ps_detect_lang() may be called from any number of threads.
//
// Decision rule:
//   - the text is scanned as plain text (no HTML), at most kMaxBytes;
//     invalid UTF-8 bytes are replaced by spaces first (CLD2 refuses
//     invalid input as a whole);
//   - CLD2's summary gives up to three languages with percentages of the
//     text; we take the language with the highest percentage (language3[0]),
//     so an English article with an Italian menu stays English;
//   - "und" when CLD2 says the result is unreliable, when fewer than
//     kMinLetters bytes of letters were scored, or when the code (after
//     mapping CLD2's "zh-Hant"->"zh", "nb"/"nn"->"no", "iw"->"he") is not a
//     ps_lang_valid() code.
#include "analyze.h"

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

// Length of the valid UTF-8 sequence at s[0..n), or 0 when invalid.
size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

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

}  // namespace

extern "C" const char *ps_detect_lang(const char *text, size_t len)
{
    if (text == nullptr || len == 0)
        return "und";
    if (len > kMaxBytes) {
        len = kMaxBytes;
        // Do not cut a UTF-8 sequence in the middle.
        while (len > 0 && (static_cast<unsigned char>(text[len]) & 0xC0) ==
                              0x80)
            len--;
    }
    try {
        // Replace invalid UTF-8 and NUL bytes by spaces (copy only if
        // needed).
        std::string fixed;
        const unsigned char *s = reinterpret_cast<const unsigned char *>(text);
        for (size_t i = 0; i < len;) {
            size_t n = s[i] == 0 ? 0 : utf8_seq(s + i, len - i);
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
        CLD2::Language lang3[3];
        int percent3[3];
        double score3[3];
        int text_bytes = 0;
        bool reliable = false;
        CLD2::ExtDetectLanguageSummary(buf, static_cast<int>(len), true,
                                       &hints, 0, lang3, percent3, score3,
                                       nullptr, &text_bytes, &reliable);
        if (!reliable || text_bytes < kMinLetters)
            return "und";
        if (lang3[0] == CLD2::UNKNOWN_LANGUAGE)
            return "und";
        return map_code(CLD2::LanguageCode(lang3[0]));
    } catch (...) {
        return "und";
    }
}
