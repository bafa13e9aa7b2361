/* lg_buf.h: a growable byte buffer with a read offset (one connection's
 * input or output).  One thread at a time.
 */
#ifndef LG_BUF_H
#define LG_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct lg_buf {
    uint8_t *data;
    size_t off;     /* first unconsumed byte */
    size_t len;     /* end of valid bytes */
    size_t cap;
} lg_buf;

/* Makes room for `more` bytes after len; returns 0 or -1 (out of memory).
 * Compacts consumed bytes away first. */
int lg_buf_reserve(lg_buf *b, size_t more);

/* Appends n bytes; returns 0 or -1. */
int lg_buf_append(lg_buf *b, const void *p, size_t n);

/* Marks n bytes from off as consumed; resets when empty. */
void lg_buf_consume(lg_buf *b, size_t n);

/* Frees the storage; the struct may be reused after. */
void lg_buf_free(lg_buf *b);

#endif
