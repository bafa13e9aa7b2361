/* text.c: UTF-8 validation and binary detection (text.h). */
#include "text.h"

#include <string.h>

/* Length of the well-formed UTF-8 sequence at p (at most `avail` bytes),
 * or 0 when the byte at p does not start one. */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        if (avail >= 2 && (p[1] & 0xC0) == 0x80)
            return 2;
        return 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0)
            return 0;               /* overlong */
        if (c == 0xED && p[1] >= 0xA0)
            return 0;               /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90)
            return 0;               /* overlong */
        if (c == 0xF4 && p[1] >= 0x90)
            return 0;               /* > U+10FFFF */
        return 4;
    }
    return 0;
}

size_t text_utf8_invalid_bytes(const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t i = 0, bad = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0) {
            bad++;
            i++;
        } else {
            i += n;
        }
    }
    return bad;
}

int text_looks_binary(const char *buf, size_t len)
{
    size_t head = len < 8192 ? len : 8192;
    if (head == 0)
        return 0;
    if (memchr(buf, '\0', head) != NULL)
        return 1;
    /* Do not count a sequence cut by the 8 KiB window as invalid. */
    for (int back = 0; back < 3 && head < len &&
                       ((unsigned char)buf[head] & 0xC0) == 0x80; back++)
        head--;
    size_t bad = text_utf8_invalid_bytes(buf, head);
    return bad * 10 >= head * 3 && bad > 0;
}
