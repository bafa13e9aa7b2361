/* lang.h: the language codes polysearch accepts (ISO 639-1 or "und") and
 * their Xapian/Snowball stemmer names.  Plain tables, no Xapian, so the
 * document validator (docvalid.h) and the client use the same list as the
 * indexer and the daemon.  Every function is reentrant (any thread) and
 * returns static data; nothing is allocated.
 */
#ifndef PS_LANG_H
#define PS_LANG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Snowball stemmer name for an ISO 639-1 code ("fr" -> "french"), or NULL
 * when Xapian has no stemmer for it (or code is NULL).  Static string. */
const char *ps_lang_stemmer(const char *code);

/* 1 when `code` is "und" or an ISO 639-1 code polysearch indexes (every
 * code with a stemmer, CJK codes zh/ja/ko indexed with n-grams, and the
 * unstemmed list of lang.c); 0 otherwise, also for NULL and "". */
int ps_lang_valid(const char *code);

/* The static copy of `code` when ps_lang_valid(code), else NULL (lets
 * callers keep a code computed in a local buffer). */
const char *ps_lang_canonical(const char *code);

/* 1 for zh, ja, ko (indexed with Xapian's CJK n-gram flag), else 0. */
int ps_lang_is_cjk(const char *code);

/* Codes with a stemmer, in a stable order; *n (may be NULL) receives the
 * count.  Static array. */
const char *const *ps_lang_stemmed_codes(size_t *n);

#ifdef __cplusplus
}
#endif
#endif
