/* analyze.h: text analysis used at index time and in tests: language
 * codes, language identification, boilerplate removal, title derivation
 * and query-side diacritic stripping.  Pure C; no Xapian.
 * Unless stated otherwise every function is reentrant (any thread).
 */
#ifndef PS_ANALYZE_H
#define PS_ANALYZE_H

#include <stddef.h>

/* Language codes (ps_lang_valid, ps_lang_stemmer, ...) live in ps_wire
 * (lib/wire/lang.h) so that the client checks them too. */
#include "lang.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Language identification (langid_cld2.cc) ------------------------- */

/* Main language of text[0..len) as an ISO 639-1 code restricted to
 * ps_lang_valid() codes; "und" when the text is too short or unreliable.
 * A document mostly in one language with a passage in another (an English
 * article with an Italian menu) gets the main language; an English-majority
 * text with at least 10 % of another language (a partly translated page)
 * gets that other language (rule and measurements in langid_cld2.cc).
 * Static string. */
const char *ps_detect_lang(const char *text, size_t len);

/* ---- Boilerplate and titles (analyze.c) ------------------------------- */

typedef struct ps_boilerplate ps_boilerplate;

/* Returns a boilerplate matcher holding the built-in list (share buttons,
 * subscribe/comment counters, print/e-mail menus, in several languages)
 * plus, when path is not NULL, the patterns in that file (one per line,
 * matched case- and accent-insensitively against a whole trimmed line;
 * '*' is a wildcard for any text, "<n>" matches a number such as 0 or
 * 1 300, a '#' line is a comment; lines of text longer than 200 bytes are
 * never boilerplate; syntax details in lib/analysis/analyze.c).  NULL on
 * failure with a malloc'd message in *err (caller frees).  The matcher is
 * immutable: any number of threads may use it at once. */
ps_boilerplate *ps_boilerplate_new(const char *path, char **err);

/* Frees a matcher (NULL is fine). */
void ps_boilerplate_free(ps_boilerplate *bp);

/* 1 when the line (not NUL-terminated, len bytes, trimmed or not) is
 * boilerplate. */
int ps_boilerplate_line(const ps_boilerplate *bp, const char *line,
                        size_t len);

/* Body text for indexing: boilerplate lines dropped, a paragraph repeated
 * verbatim counted once, NUL bytes and invalid UTF-8 replaced.  Returns a
 * malloc'd string (caller frees) or NULL on allocation failure. bp may be
 * NULL (no boilerplate removal). */
char *ps_clean_body(const ps_boilerplate *bp, const char *body, size_t len);

/* Title derived from a body.  Candidates are the non-empty,
 * non-boilerplate lines (trimmed, inner white space squeezed) BEFORE the
 * first long paragraph (a line of more than 200 bytes): the first
 * candidate with at least 3 words wins, else the first candidate; with no
 * candidate, the first 80 bytes of the first paragraph cut at a word
 * boundary plus "…".  Returns a malloc'd string (caller frees; "" for an
 * empty or all-boilerplate body) or NULL on allocation failure. */
char *ps_derive_title(const ps_boilerplate *bp, const char *body, size_t len);

/* ---- Folding (fold.c); ps_fold() itself is declared in polysearch.h --- */

/* Strips diacritics WITHOUT changing case (for query strings, so that
 * Xapian still sees upper-case AND/OR/NOT operators): the ps_fold()
 * pipeline without case folding (NFKD, drop combining marks, the same
 * letter maps with case kept: Æ -> AE, ø -> o, ’ -> ', then canonical
 * composition, i.e. NFKC, so ligatures match the index side); invalid
 * UTF-8 replaced by U+FFFD; NUL bytes become spaces.
 * Returns a malloc'd string (caller frees) or NULL on allocation failure. */
char *ps_strip_diacritics(const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif
