/* utf8.h: the one UTF-8 validator, decoder and repairer of polysearch.
 *
 * Well-formed UTF-8 is what Unicode (Table 3-7) and RFC 3629 define: no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF,
 * no truncated sequences.  Everything that checks, walks, repairs or cuts
 * UTF-8 byte by byte calls these functions (utf8proc is still used where
 * Unicode properties are needed).
 *
 * Repair works byte by byte: a byte that does not start a well-formed
 * sequence is replaced by U+FFFD and the scan resumes at the next byte, so
 * "\xe2\x82" (a cut sequence) becomes two U+FFFD.
 *
 * Pure C, no global state: every function is reentrant and may be called
 * from any thread.  Nothing here depends on Xapian or msgpack.
 */
#ifndef PS_UTF8_H
#define PS_UTF8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* U+FFFD REPLACEMENT CHARACTER, encoded (3 bytes). */
#define PS_UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Returns 1 when s[0..len) is well-formed UTF-8 without NUL bytes, else 0.
 * An empty string is valid; s may be NULL only when len is 0. */
int ps_utf8_valid(const char *s, size_t len);

/* Decodes the code point at the start of s[0..len).  Returns the length of
 * its sequence (1..4) and sets *cp (cp may be NULL), or returns 0 when len
 * is 0 or s does not start with a well-formed sequence (*cp is then left
 * unchanged).  A NUL byte decodes as U+0000 of length 1: callers that
 * refuse NUL check for it. */
size_t ps_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Number of bytes of s[0..len) that ps_utf8_repair() would replace: bytes
 * not part of a well-formed sequence.  0 means well-formed (NUL bytes are
 * not counted). */
size_t ps_utf8_invalid_bytes(const char *s, size_t len);

/* Flags of ps_utf8_repair() and ps_utf8_repair_into(). */
enum {
    PS_UTF8_NUL_TO_SPACE = 1    /* also replace each NUL byte by ' ' */
};

/* Writes a well-formed copy of s[0..len) into out, each invalid byte
 * replaced by U+FFFD (and, with PS_UTF8_NUL_TO_SPACE, each NUL byte by a
 * space), followed by a terminating NUL.  out must hold
 * len + 2 * ps_utf8_invalid_bytes(s, len) + 1 bytes (3 * len + 1 always
 * suffices) and must not overlap s.  Returns the length written, not
 * counting the terminating NUL; *nbad (may be NULL) receives the number of
 * invalid bytes replaced (NUL bytes not counted). */
size_t ps_utf8_repair_into(const char *s, size_t len, unsigned flags,
                           char *out, size_t *nbad);

/* Like ps_utf8_repair_into() into a new buffer of the exact size.  Returns
 * the malloc'd NUL-terminated copy (caller frees), its length in *outlen
 * and the number of invalid bytes replaced in *nbad (both may be NULL), or
 * NULL when memory runs out (*nbad is still set). */
char *ps_utf8_repair(const char *s, size_t len, unsigned flags,
                     size_t *outlen, size_t *nbad);

/* Length of the longest prefix of s[0..len) of at most max bytes that does
 * not end inside a multi-byte sequence: len when len <= max, else max
 * moved back over at most 3 continuation bytes (so a run of stray
 * continuation bytes in invalid text is cut as is). */
size_t ps_utf8_cut(const char *s, size_t len, size_t max);

#ifdef __cplusplus
}
#endif
#endif
