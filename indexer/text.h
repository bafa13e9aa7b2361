/* text.h: byte-level checks on input text before it reaches the library:
 * UTF-8 validity, binary detection, NUL repair.  Pure C, no allocation
 * except where stated.  Every function is reentrant (any thread).
 */
#ifndef PS_INDEXER_TEXT_H
#define PS_INDEXER_TEXT_H

#include <stddef.h>

/* Number of bytes of buf[0..len) that are not part of a well-formed UTF-8
 * sequence (overlongs, surrogates, > U+10FFFF and truncated sequences
 * count byte by byte).  0 means valid UTF-8. */
size_t text_utf8_invalid_bytes(const char *buf, size_t len);

/* 1 when buf looks like a binary file rather than text: a NUL byte in its
 * first 8 KiB, or at least 30% of the bytes of its first 8 KiB outside
 * valid UTF-8.  0 otherwise (an empty buffer is not binary). */
int text_looks_binary(const char *buf, size_t len);

/* Replaces every NUL byte of buf[0..len) with a space, in place.  Returns
 * the number of bytes replaced. */
size_t text_replace_nul(char *buf, size_t len);

/* Returns a malloc'd NUL-terminated copy of buf[0..len) in which every
 * invalid UTF-8 byte is replaced by U+FFFD (caller frees), or NULL on
 * allocation failure.  *nbad (may be NULL) receives the number of bytes
 * replaced. */
char *text_utf8_repair(const char *buf, size_t len, size_t *nbad);

#endif
