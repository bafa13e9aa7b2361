/* text.h: byte-level checks on input text before it reaches the library:
 * binary detection (UTF-8 checks are lib/wire/utf8.h's; the repair of NUL bytes and invalid
 * UTF-8 is ps_doc_text_repair(), lib/wire/docvalid.h).  Pure C, no
 * allocation.  Every function is reentrant (any thread).
 */
#ifndef PS_INDEXER_TEXT_H
#define PS_INDEXER_TEXT_H

#include <stddef.h>

/* 1 when buf looks like a binary file rather than text: a NUL byte in its
 * first 8 KiB, or at least 30% of the bytes of its first 8 KiB outside
 * valid UTF-8.  0 otherwise (an empty buffer is not binary). */
int text_looks_binary(const char *buf, size_t len);

#endif
