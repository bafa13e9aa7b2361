/* docvalid.h: the one set of rules for a document coming in, whatever the
 * path: the daemon's `add`, `polysearch add`, `polysearch-index` (JSON
 * Lines and text files, local or --server).  docs/PROTOCOL.md ("Document
 * rules") states them; every path reports a broken document with the
 * same reason text, produced here.
 *
 * A document is a set of keys with string values: id (required, 1 to
 * PS_DOC_MAX_ID bytes), body (required, at most max_body bytes), title,
 * lang (ps_lang_valid() code or "und"), date (ISO 8601, ps_date_normalize()),
 * url.  Every string is valid UTF-8 without NUL bytes.  A null value is
 * the same as leaving the key out; an empty lang or date too.  Unknown and
 * repeated keys are refused.
 *
 * Strict by default.  Two flags make the same checker lenient, for files
 * read by polysearch-index only (the why is in docs/PROTOCOL.md):
 * PS_DOC_LENIENT_UTF8 repairs strings instead of refusing them (NUL ->
 * space, each invalid UTF-8 byte -> U+FFFD, counted) and
 * PS_DOC_IGNORE_UNKNOWN skips unknown keys (counted, the first one named).
 *
 * No Xapian, no JSON or MessagePack library: callers walk their own
 * object and hand each key/value to ps_docv_set().  Every function is
 * reentrant; a ps_docv is used by one thread at a time.
 */
#ifndef PS_DOCVALID_H
#define PS_DOCVALID_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The keys of a document, in the order of ps_doc_in / psc_doc. */
typedef enum ps_doc_key {
    PS_DOC_ID = 0,
    PS_DOC_TITLE,
    PS_DOC_BODY,
    PS_DOC_LANG,
    PS_DOC_DATE,
    PS_DOC_URL,
    PS_DOC_NKEYS
} ps_doc_key;

/* Flags of ps_docv_init(); 0 (PS_DOC_STRICT) is the network rule. */
#define PS_DOC_STRICT 0u
#define PS_DOC_LENIENT_UTF8 0x1u    /* repair NUL / invalid UTF-8 */
#define PS_DOC_IGNORE_UNKNOWN 0x2u  /* skip unknown keys */

/* Longest id in bytes (the same as polysearch.h's PS_MAX_ID_BYTES). */
#define PS_DOC_MAX_ID 240u
/* The daemon's default max_body, and polysearch add's own limit. */
#define PS_DOC_DEFAULT_MAX_BODY (10u * 1024u * 1024u)
/* Room for any reason text, with its terminating NUL. */
#define PS_DOC_REASON_MAX 192u

/* Kind of a value handed to ps_docv_set(). */
typedef enum ps_doc_vtype {
    PS_DOC_V_STR = 0,       /* a string: bytes s[0..len) */
    PS_DOC_V_NULL,          /* null / nil: the key counts as absent */
    PS_DOC_V_OTHER          /* a number, array, map, ...: refused */
} ps_doc_vtype;

/* Name of a key ("id", "title", ...); static.  NULL for an out-of-range k. */
const char *ps_doc_key_name(ps_doc_key k);

/* The key named name[0..len) exactly (case matters), or PS_DOC_NKEYS when
 * it is not one of the six. */
ps_doc_key ps_doc_key_find(const char *name, size_t len);

/* Checks one string value s[0..len) of key k with the strict rules (for
 * PS_DOC_BODY, max_body bytes at most; 0 = no limit).  Returns 0 when it
 * is acceptable, else -1 with the reason written to why (whysz bytes at
 * most, always NUL-terminated when whysz > 0).  s need not be
 * NUL-terminated.  Allocates only to check a date of 64 bytes or more
 * (failure: reason "out of memory"). */
int ps_doc_check_value(ps_doc_key k, const char *s, size_t len,
                       uint64_t max_body, char *why, size_t whysz);

/* Whole-document strict check of NUL-terminated fields f[PS_DOC_ID..]
 * (NULL = absent): each value as ps_doc_check_value(), then the required
 * keys.  Returns 0, or -1 with the first reason in why. */
int ps_doc_check(const char *const f[PS_DOC_NKEYS], uint64_t max_body,
                 char *why, size_t whysz);

/* Returns a malloc'd copy of s[0..len) (caller frees), NUL-terminated,
 * where each NUL byte became a space and each byte that is not part of a
 * well-formed UTF-8 sequence became U+FFFD (3 bytes).  *nul and *bad (may
 * be NULL) receive the counts; *outlen (may be NULL) the length of the
 * copy (len + 2 * bad).  NULL on allocation failure or size overflow. */
char *ps_doc_text_repair(const char *s, size_t len, size_t *nul,
                         size_t *bad, size_t *outlen);

/* ---- One document, key by key ------------------------------------------ */

/* A document being checked.  Set up with ps_docv_init(), fed with
 * ps_docv_set(), closed with ps_docv_finish(), read with ps_docv_get()
 * and released with ps_docv_clear().  The fields marked public may be
 * read; the rest is private. */
typedef struct ps_docv {
    /* public, after ps_docv_finish() */
    size_t nul_repaired;        /* LENIENT_UTF8: NUL bytes made spaces */
    size_t utf8_repaired;       /* LENIENT_UTF8: bytes made U+FFFD */
    size_t unknown_ignored;     /* IGNORE_UNKNOWN: keys skipped */
    char first_unknown[72];     /* the first of them, quoted ('tags') */
    /* private */
    unsigned flags;
    unsigned seen;              /* bit per key given (also null) */
    uint64_t max_body;
    const char *val[PS_DOC_NKEYS];
    size_t len[PS_DOC_NKEYS];
    char *owned[PS_DOC_NKEYS];  /* repaired copies */
    int bad;
    char reason[PS_DOC_REASON_MAX];
} ps_docv;

/* Starts checking a document with the given flags and body limit (0 = no
 * limit).  Never fails; allocates nothing. */
void ps_docv_init(ps_docv *v, unsigned flags, uint64_t max_body);

/* Hands over one key/value pair.  key[0..klen) is the key (NULL when the
 * encoding's key is not a string); s[0..len) the value when t is
 * PS_DOC_V_STR (ignored otherwise).  The value is NOT copied: it must stay
 * valid until ps_docv_clear() unless it was repaired (then v owns a
 * copy).  After a first problem the document is refused for that reason,
 * but later pairs are still looked at so that a usable id is known.
 * Returns 0 when this pair is acceptable (or skipped), -1 when it is not;
 * the document then stays refused with the first reason ("out of memory"
 * when a repair copy could not be made). */
int ps_docv_set(ps_docv *v, const char *key, size_t klen, ps_doc_vtype t,
                const char *s, size_t len);

/* Ends the document: checks that id and body were given.  Returns 0 when
 * the document is acceptable, -1 when refused (ps_docv_reason()). */
int ps_docv_finish(ps_docv *v);

/* The reason the document is refused ("" while it is acceptable); owned
 * by v, valid until ps_docv_clear(). */
const char *ps_docv_reason(const ps_docv *v);

/* The accepted value of key k and, when len is not NULL, its length; NULL
 * when absent or refused.  Points to the caller's bytes (NUL-terminated
 * only if they were) or to v's repaired copy (always NUL-terminated);
 * valid until ps_docv_clear().  A refused document still reports a usable
 * id here. */
const char *ps_docv_get(const ps_docv *v, ps_doc_key k, size_t *len);

/* Frees the repaired copies and resets v to an empty strict document.
 * Always call it once done (it is cheap when nothing was repaired). */
void ps_docv_clear(ps_docv *v);

#ifdef __cplusplus
}
#endif
#endif
