/* lg_buf.c: growable byte buffer.  Contract in lg_buf.h. */
#include "lg_buf.h"

#include <stdlib.h>
#include <string.h>

int lg_buf_reserve(lg_buf *b, size_t more)
{
    if (b->off > 0 && b->cap - b->len < more) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->cap - b->len >= more)
        return 0;
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap - b->len < more) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    uint8_t *nd = realloc(b->data, ncap);
    if (!nd)
        return -1;
    b->data = nd;
    b->cap = ncap;
    return 0;
}

int lg_buf_append(lg_buf *b, const void *p, size_t n)
{
    if (lg_buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void lg_buf_consume(lg_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len)
        b->off = b->len = 0;
}

void lg_buf_free(lg_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
