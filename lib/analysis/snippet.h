/* snippet.h: query-term highlighter for search results, in plain C.
 * Xapian's MSet::snippet() does not know polysearch's folding, so this
 * splits the stored text into words (utf8proc), folds each word with
 * ps_fold(), and marks it when it equals a folded query term, starts with
 * a wildcard prefix, or has the same stem as a query term in the
 * document's language (ps_stem()).  Reentrant (any thread).
 *
 * Cost (it runs for every hit of every search): words are folded without
 * malloc (ps_fold_into), each distinct word is folded and stemmed once per
 * call, only the first PS_SNIPPET_SCAN_MAX bytes are looked at, and the
 * scan stops early once a window holding every query term has been found
 * (plus enough text after it to fill the window).  ps_snippet_make_ex()
 * works on the raw stored body: instead of cleaning the whole body, it
 * checks for boilerplate / repeated paragraphs only the lines that hold a
 * match or end up in (or next to) the chosen window.
 */
#ifndef PS_SNIPPET_H
#define PS_SNIPPET_H

#include <stddef.h>
#include <stdint.h>

#include "ps_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Only the first PS_SNIPPET_SCAN_MAX bytes of a text are scanned. */
#define PS_SNIPPET_SCAN_MAX (64 * 1024)

struct ps_boilerplate;

/* Work counters of one call (for tests and profiling). */
typedef struct ps_snippet_stats {
    size_t bytes_scanned; /* bytes of text split into words */
    size_t words;         /* words found in those bytes */
    size_t words_folded;  /* words folded and compared (distinct-word cache misses) */
    size_t stems;         /* ps_stem() calls on text words */
    size_t lines_checked; /* lines checked for boilerplate / repetition */
} ps_snippet_stats;

typedef struct ps_snippet_terms {
    const char *const *terms;    /* folded query words */
    size_t nterms;
    const char *const *prefixes; /* folded wildcard prefixes ("bio" for bio*) */
    size_t nprefixes;
} ps_snippet_terms;

/* Picks the window of at most max_bytes bytes (plus the "… " / " …"
 * markers) of text[0..len) holding the most distinct matched query terms
 * (then the most matches), cut at word boundaries, with whitespace runs
 * collapsed to one space.  Past the first 8 KiB, scanning stops once a
 * window holds every term, so in longer texts a denser window further on
 * may be missed.  max_bytes 0 means 200.
 * On success returns 0, *out is a malloc'd NUL-terminated snippet and
 * *spans a malloc'd array of *nspans byte spans of the matched words inside
 * it (NULL when none); the caller frees both.  Returns -1 on allocation
 * failure (outputs NULL/0).  lang selects the stemmer (NULL or "und": no
 * stemming). */
int ps_snippet_make(const char *text, size_t len, const char *lang,
                    const ps_snippet_terms *q, size_t max_bytes, char **out,
                    ps_span **spans, uint32_t *nspans);

/* Same as ps_snippet_make() on the text ps_clean_body(bp, text, len)
 * would return, computed on the raw text: lines that are boilerplate for
 * bp (bp may be NULL: none) or repeat an earlier line verbatim never
 * appear in the snippet nor count as matches, NUL bytes count as spaces
 * and invalid UTF-8 is replaced by U+FFFD in the output.  The window is
 * chosen with the same rule, except that the scan stops once a window
 * holding every query term is found.  stats, when not NULL, receives the
 * work counters.  Same return value and ownership as ps_snippet_make(). */
int ps_snippet_make_ex(const char *text, size_t len, const char *lang,
                       const ps_snippet_terms *q,
                       const struct ps_boilerplate *bp, size_t max_bytes,
                       char **out, ps_span **spans, uint32_t *nspans,
                       ps_snippet_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
