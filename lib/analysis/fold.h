/* fold.h: allocation-free variant of ps_fold() for hot loops (the snippet
 * highlighter folds every word of every hit).  ps_fold() itself is
 * declared in polysearch.h, ps_strip_diacritics() in analyze.h.
 */
#ifndef PS_FOLD_H
#define PS_FOLD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Inputs up to this many bytes are folded on the stack (no malloc);
 * longer non-ASCII inputs that the table does not cover go through the
 * allocating utf8proc path and are copied. */
#define PS_FOLD_STACK_BYTES 64

/* Writes ps_fold(text, len) into buf (NUL-terminated, byte-for-byte the
 * same result) when it fits in cap bytes including the NUL.  Returns the
 * length of the folded text without the NUL; a return value >= cap means
 * buf was too small (its content is then unspecified; call again with
 * a buffer of at least return + 1 bytes).  Returns (size_t)-1 on
 * allocation failure (only possible for non-ASCII inputs longer than
 * PS_FOLD_STACK_BYTES).  Pure ASCII is lower-cased in one pass.
 * Reentrant (any thread); buf is owned by the caller. */
size_t ps_fold_into(const char *text, size_t len, char *buf, size_t cap);

/* ps_fold() without its fast paths: the whole text through utf8proc
 * (pure ASCII excepted), the reference the fast paths must equal
 * byte-for-byte (for tests).  Returns malloc'd NUL-terminated UTF-8 that
 * the caller frees, NULL on allocation failure.  Reentrant. */
char *ps_fold_reference(const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif
