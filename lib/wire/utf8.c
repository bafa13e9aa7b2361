/* utf8.c: UTF-8 validation, decoding, repair and cutting.  Contracts are
 * in utf8.h.
 *
 * decode_seq() is the only place that knows the shape of a well-formed
 * sequence; every other function here is a loop over it with an ASCII
 * fast path.
 */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* Decodes the sequence at p[0..avail) whose lead byte p[0] is >= 0x80.
 * Returns its length (2..4) and sets *cp, or 0 when it is not
 * well-formed: a lead byte outside C2..F4, a missing or wrong continuation
 * byte, an overlong form, a surrogate or a code point above U+10FFFF. */
static size_t decode_seq(const unsigned char *p, size_t avail, uint32_t *cp)
{
    unsigned c = p[0];
    unsigned lo = 0x80, hi = 0xbf;  /* range of the second byte */
    size_t need;                    /* continuation bytes */
    uint32_t v;

    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        v = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        v = c & 0x0fu;
        if (c == 0xe0)
            lo = 0xa0;              /* overlong below U+0800 */
        else if (c == 0xed)
            hi = 0x9f;              /* surrogates U+D800..U+DFFF */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        v = c & 0x07u;
        if (c == 0xf0)
            lo = 0x90;              /* overlong below U+10000 */
        else if (c == 0xf4)
            hi = 0x8f;              /* above U+10FFFF */
    } else {
        return 0;                   /* 0x80..0xc1 (continuation, overlong
                                       2-byte lead), 0xf5..0xff */
    }
    if (need >= avail)
        return 0;                   /* truncated */
    if (p[1] < lo || p[1] > hi)
        return 0;
    v = (v << 6) | (p[1] & 0x3fu);
    for (size_t j = 2; j <= need; j++) {
        if ((p[j] & 0xc0u) != 0x80u)
            return 0;
        v = (v << 6) | (p[j] & 0x3fu);
    }
    *cp = v;
    return need + 1;
}

int ps_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    uint32_t cp;

    if (len > 0 && s == NULL)
        return 0;
    while (i < len) {
        size_t n;
        if (s[i] < 0x80) {
            if (s[i] == 0)
                return 0;
            i++;
            continue;
        }
        n = decode_seq(s + i, len - i, &cp);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

size_t ps_utf8_decode(const char *str, size_t len, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    uint32_t v;
    size_t n;

    if (len == 0 || s == NULL)
        return 0;
    if (s[0] < 0x80) {
        v = s[0];
        n = 1;
    } else {
        n = decode_seq(s, len, &v);
        if (n == 0)
            return 0;
    }
    if (cp != NULL)
        *cp = v;
    return n;
}

size_t ps_utf8_invalid_bytes(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, bad = 0;
    uint32_t cp;

    while (i < len) {
        size_t n;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        n = decode_seq(s + i, len - i, &cp);
        if (n == 0) {
            bad++;
            i++;
        } else {
            i += n;
        }
    }
    return bad;
}

size_t ps_utf8_repair_into(const char *str, size_t len, unsigned flags,
                           char *out, size_t *nbad)
{
    const unsigned char *s = (const unsigned char *)str;
    const int nul_space = (flags & PS_UTF8_NUL_TO_SPACE) != 0;
    size_t i = 0, o = 0, bad = 0;
    uint32_t cp;

    while (i < len) {
        size_t n;
        if (s[i] < 0x80) {
            out[o++] = (s[i] == 0 && nul_space) ? ' ' : (char)s[i];
            i++;
            continue;
        }
        n = decode_seq(s + i, len - i, &cp);
        if (n == 0) {
            memcpy(out + o, PS_UTF8_REPLACEMENT, 3);
            o += 3;
            bad++;
            i++;
        } else {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        }
    }
    out[o] = '\0';
    if (nbad != NULL)
        *nbad = bad;
    return o;
}

char *ps_utf8_repair(const char *s, size_t len, unsigned flags,
                     size_t *outlen, size_t *nbad)
{
    size_t bad = ps_utf8_invalid_bytes(s, len), n;
    char *out;

    if (nbad != NULL)
        *nbad = bad;
    /* len + 2 * bad + 1 without overflow (bad <= len). */
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    out = malloc(len + 2 * bad + 1);
    if (out == NULL)
        return NULL;
    n = ps_utf8_repair_into(s, len, flags, out, NULL);
    if (outlen != NULL)
        *outlen = n;
    return out;
}

size_t ps_utf8_cut(const char *s, size_t len, size_t max)
{
    size_t n = max;
    if (len <= max)
        return len;
    for (int back = 0; back < 3 && n > 0 &&
                       ((unsigned char)s[n] & 0xc0u) == 0x80u; back++)
        n--;
    return n;
}
