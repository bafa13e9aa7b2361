/* lang.c: ISO 639-1 language codes <-> Xapian/Snowball stemmer names
 * (lang.h).  Plain tables, no Xapian: part of ps_wire because the codes
 * are a document rule (docvalid.c) that the client checks too.
 *
 * Rule for valid codes (ps_lang_valid):
 *   - "und" (undetermined: indexed without stemming);
 *   - every code with a stemmer in Xapian 1.4.22 (the table below; it is
 *     Xapian::Stem::get_available_languages() minus the English variants
 *     earlyenglish/lovins/porter and german2/kraaij_pohlmann);
 *   - the CJK codes zh, ja, ko (indexed with Xapian's CJK n-grams);
 *   - the languages in `unstemmed` below: languages CLD2 identifies well
 *     that have no Snowball stemmer in Xapian 1.4 (Polish among them:
 *     'polish' only arrived in Xapian 1.5).  They are stored and
 *     filterable under their own code but indexed without stemming.
 * Codes are lower-case ISO 639-1 only; Norwegian is "no" (CLD2's "nb" and
 * "nn" are mapped to it by the detector).  Everything else is invalid and
 * the language detector answers "und" instead.
 */
#include "lang.h"

#include <string.h>

typedef struct lang_entry {
    const char *code;
    const char *stemmer;
} lang_entry;

static const lang_entry stemmed[] = {
    {"ar", "arabic"},     {"hy", "armenian"},   {"eu", "basque"},
    {"ca", "catalan"},    {"da", "danish"},     {"nl", "dutch"},
    {"en", "english"},    {"fi", "finnish"},    {"fr", "french"},
    {"de", "german"},     {"hu", "hungarian"},  {"id", "indonesian"},
    {"ga", "irish"},      {"it", "italian"},    {"lt", "lithuanian"},
    {"ne", "nepali"},     {"no", "norwegian"},  {"pt", "portuguese"},
    {"ro", "romanian"},   {"ru", "russian"},    {"es", "spanish"},
    {"sv", "swedish"},    {"ta", "tamil"},      {"tr", "turkish"},
};
#define NSTEMMED (sizeof stemmed / sizeof stemmed[0])

static const char *const stemmed_codes[NSTEMMED] = {
    "ar", "hy", "eu", "ca", "da", "nl", "en", "fi", "fr", "de", "hu", "id",
    "ga", "it", "lt", "ne", "no", "pt", "ro", "ru", "es", "sv", "ta", "tr",
};

static const char *const cjk[] = {"zh", "ja", "ko"};

/* Valid without a stemmer (see the rule above). */
static const char *const unstemmed[] = {
    "af", "az", "be", "bg", "bn", "bs", "cs", "cy", "el", "et", "fa", "gl",
    "he", "hi", "hr", "is", "ka", "kk", "lb", "lv", "mk", "ms", "pl", "sk",
    "sl", "sq", "sr", "sw", "th", "tl", "uk", "ur", "vi",
};

/* list[i] equal to code, or NULL when code is not in list[0..n). */
static const char *in_list(const char *code, const char *const *list,
                           size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, list[i]) == 0)
            return list[i];
    return NULL;
}

const char *ps_lang_stemmer(const char *code)
{
    if (code == NULL)
        return NULL;
    for (size_t i = 0; i < NSTEMMED; i++)
        if (strcmp(code, stemmed[i].code) == 0)
            return stemmed[i].stemmer;
    return NULL;
}

int ps_lang_is_cjk(const char *code)
{
    return code != NULL &&
           in_list(code, cjk, sizeof cjk / sizeof cjk[0]) != NULL;
}

const char *ps_lang_canonical(const char *code)
{
    const char *c;
    if (code == NULL)
        return NULL;
    if (strcmp(code, "und") == 0)
        return "und";
    if ((c = in_list(code, stemmed_codes, NSTEMMED)) != NULL ||
        (c = in_list(code, cjk, sizeof cjk / sizeof cjk[0])) != NULL)
        return c;
    return in_list(code, unstemmed, sizeof unstemmed / sizeof unstemmed[0]);
}

int ps_lang_valid(const char *code)
{
    return ps_lang_canonical(code) != NULL;
}

const char *const *ps_lang_stemmed_codes(size_t *n)
{
    if (n != NULL)
        *n = NSTEMMED;
    return stemmed_codes;
}
