/* snippet.h: query-term highlighter for search results, in plain C.
 * Xapian's MSet::snippet() does not know polysearch's folding, so this
 * splits the stored text into words (utf8proc), folds each word with
 * ps_fold(), and marks it when it equals a folded query term, starts with
 * a wildcard prefix, or has the same stem as a query term in the
 * document's language (ps_stem()).  Reentrant (any thread).
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
#define PS_SNIPPET_SCAN_MAX (256 * 1024)

typedef struct ps_snippet_terms {
    const char *const *terms;    /* folded query words */
    size_t nterms;
    const char *const *prefixes; /* folded wildcard prefixes ("bio" for bio*) */
    size_t nprefixes;
} ps_snippet_terms;

/* Picks the window of at most max_bytes bytes (plus the "… " / " …"
 * markers) of text[0..len) holding the most distinct matched query terms,
 * cut at word boundaries, with whitespace runs collapsed to one space.
 * On success returns 0, *out is a malloc'd NUL-terminated snippet and
 * *spans a malloc'd array of *nspans byte spans of the matched words inside
 * it (NULL when none); the caller frees both.  Returns -1 on allocation
 * failure (outputs NULL/0).  lang selects the stemmer (NULL or "und": no
 * stemming). */
int ps_snippet_make(const char *text, size_t len, const char *lang,
                    const ps_snippet_terms *q, size_t max_bytes, char **out,
                    ps_span **spans, uint32_t *nspans);

#ifdef __cplusplus
}
#endif
#endif
