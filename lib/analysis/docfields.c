/* docfields.c: content hash and stored-field encoding (see docfields.h;
 * the date normalisation is lib/wire/isodate.c). */
#include "docfields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    /* A separator after each field, different for an absent field, so
     * that moving bytes between fields changes the hash. */
    h ^= s ? 0x1f : 0x1e;
    h *= 0x100000001b3ULL;
    return h;
}

void ps_content_hash(const char *title, const char *body, const char *lang,
                     const char *date, const char *url, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv1a(h, title && *title ? title : NULL);
    h = fnv1a(h, body);
    h = fnv1a(h, lang && *lang ? lang : NULL);
    h = fnv1a(h, date && *date ? date : NULL);
    h = fnv1a(h, url && *url ? url : NULL);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

char *ps_fields_encode(const char *const f[PS_F_COUNT], size_t *len)
{
    size_t total = 1;
    for (int i = 0; i < PS_F_COUNT; i++)
        total += 10 + (f[i] ? strlen(f[i]) : 0);
    char *buf = malloc(total);
    if (!buf)
        return NULL;
    size_t o = 0;
    buf[o++] = 1;
    for (int i = 0; i < PS_F_COUNT; i++) {
        size_t n = f[i] ? strlen(f[i]) : 0;
        uint64_t v = f[i] ? (uint64_t)n + 1 : 0;
        do {
            unsigned char b = v & 0x7f;
            v >>= 7;
            buf[o++] = (char)(v ? b | 0x80 : b);
        } while (v);
        if (n)
            memcpy(buf + o, f[i], n);
        o += n;
    }
    *len = o;
    return buf;
}

int ps_fields_decode(const char *data, size_t len, char *out[PS_F_COUNT])
{
    for (int i = 0; i < PS_F_COUNT; i++)
        out[i] = NULL;
    const unsigned char *p = (const unsigned char *)data;
    const unsigned char *end = p + len;
    if (len < 1 || *p++ != 1)
        return -1;
    for (int i = 0; i < PS_F_COUNT; i++) {
        uint64_t v = 0;
        int shift = 0;
        for (;;) {
            if (p == end || shift > 56)
                goto fail;
            unsigned char b = *p++;
            v |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
            if (!(b & 0x80))
                break;
        }
        if (v == 0)
            continue;
        uint64_t n = v - 1;
        if (n > (uint64_t)(end - p))
            goto fail;
        out[i] = malloc((size_t)n + 1);
        if (!out[i])
            goto fail;
        memcpy(out[i], p, (size_t)n);
        out[i][n] = '\0';
        p += n;
    }
    return 0;
fail:
    for (int i = 0; i < PS_F_COUNT; i++) {
        free(out[i]);
        out[i] = NULL;
    }
    return -1;
}
