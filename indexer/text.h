/* text.h: byte-level checks on input text before it reaches the library:
 * binary detection, NUL repair.  UTF-8 checks and repair are in
 * lib/wire/utf8.h (ps_utf8_invalid_bytes, ps_utf8_repair).  Pure C, no
 * allocation except where stated.  Every function is reentrant (any
 * thread).
 */
#ifndef PS_INDEXER_TEXT_H
#define PS_INDEXER_TEXT_H

#include <stddef.h>

/* 1 when buf looks like a binary file rather than text: a NUL byte in its
 * first 8 KiB, or at least 30% of the bytes of its first 8 KiB outside
 * valid UTF-8.  0 otherwise (an empty buffer is not binary). */
int text_looks_binary(const char *buf, size_t len);

/* Replaces every NUL byte of buf[0..len) with a space, in place.  Returns
 * the number of bytes replaced. */
size_t text_replace_nul(char *buf, size_t len);

/* ps_utf8_repair(buf, len, 0, NULL, nbad): a malloc'd NUL-terminated copy
 * of buf[0..len) in which every invalid UTF-8 byte is replaced by U+FFFD
 * (caller frees), or NULL on allocation failure; *nbad (may be NULL)
 * receives the number of bytes replaced.  Kept for indexer/jsonl.c; new
 * code calls ps_utf8_repair() directly. */
char *text_utf8_repair(const char *buf, size_t len, size_t *nbad);

#endif
