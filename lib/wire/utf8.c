/* utf8.c: UTF-8 validation.  Contracts are in utf8.h. */
#include "utf8.h"

int ps_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    if (len > 0 && s == NULL)
        return 0;
    while (i < len) {
        unsigned c = s[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xbf;      /* range of the 2nd byte */
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0)
                lo = 0xa0;                  /* no overlongs */
            else if (c == 0xed)
                hi = 0x9f;                  /* no surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0)
                lo = 0x90;                  /* no overlongs */
            else if (c == 0xf4)
                hi = 0x8f;                  /* <= U+10FFFF */
        } else {
            return 0;                       /* 0x80-0xc1, 0xf5-0xff */
        }
        if (need > len - i - 1)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t j = 2; j <= need; j++)
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
        i += need + 1;
    }
    return 1;
}
