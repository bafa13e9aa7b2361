/* fold.c: Unicode folding with utf8proc, for index terms and queries.
 *
 * Pipeline (ps_fold):
 *   1. sanitize: invalid UTF-8 bytes -> U+FFFD, NUL -> space;
 *   2. NFKD plus full case folding (utf8proc; casefold gives ß -> ss);
 *   3. drop nonspacing marks (category Mn); one-to-one maps for letters
 *      that have no decomposition (ø->o, đ->d, ł->l, upper-case too) and
 *      typographic apostrophes (U+2018, U+2019, U+02BC -> ASCII ');
 *      expand æ -> ae, œ -> oe;
 *   4. canonical composition: the result is NFKC.
 * ps_strip_diacritics() runs the same pipeline without case folding
 * (upper-case letters stay upper-case: Æ -> AE, ẞ -> SS).
 *
 * Mn marks are kept when their base letter belongs to a Brahmic script
 * (Devanagari .. Sinhala, Thai, Lao, Tibetan, Myanmar, Khmer): there the
 * marks are vowel signs and viramas that are part of the spelling, not
 * accents, and dropping them would merge distinct words and defeat the
 * Nepali and Tamil stemmers.  Both index and query sides use this same
 * code, so they always agree.
 */
#include "analyze.h"
#include "polysearch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Returns a malloc'd valid UTF-8 copy of text[0..len) (invalid sequences ->
 * U+FFFD, NUL -> space) and its length in *outlen; NULL on allocation
 * failure. */
static char *sanitize(const char *text, size_t len, size_t *outlen)
{
    const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)text;
    char *out;
    size_t i = 0, o = 0;

    /* Each invalid byte becomes 3 bytes at most. */
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    out = malloc(len * 3 + 1);
    if (out == NULL)
        return NULL;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n;
        size_t rest = len - i;
        if (s[i] < 0x80) {
            out[o++] = s[i] == 0 ? ' ' : (char)s[i];
            i++;
            continue;
        }
        if (rest > 4)
            rest = 4;
        n = utf8proc_iterate(s + i, (utf8proc_ssize_t)rest, &cp);
        if (n <= 0 || cp < 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, s + i, (size_t)n);
        o += (size_t)n;
        i += (size_t)n;
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

/* One-to-one map for letters without a decomposition (used as utf8proc's
 * custom function before decomposition and again on its output, since
 * decompositions can produce them: Ǿ -> Ø + acute, ŉ -> ʼn). */
static utf8proc_int32_t premap(utf8proc_int32_t cp, void *data)
{
    (void)data;
    switch (cp) {
    case 0x00F8: return 'o';    /* ø */
    case 0x00D8: return 'O';    /* Ø */
    case 0x0111: return 'd';    /* đ */
    case 0x0110: return 'D';    /* Đ */
    case 0x0142: return 'l';    /* ł */
    case 0x0141: return 'L';    /* Ł */
    case 0x2018: case 0x2019: case 0x02BC: return '\'';
    default: return cp;
    }
}

/* 1 when cp belongs to a script whose nonspacing marks are spelling. */
static int keeps_marks(utf8proc_int32_t cp)
{
    return (cp >= 0x0900 && cp <= 0x0DFF) ||  /* Devanagari .. Sinhala */
           (cp >= 0x0E00 && cp <= 0x0FFF) ||  /* Thai, Lao, Tibetan */
           (cp >= 0x1000 && cp <= 0x109F) ||  /* Myanmar */
           (cp >= 0x1780 && cp <= 0x17FF) ||  /* Khmer */
           (cp >= 0xA8E0 && cp <= 0xA8FF);    /* Devanagari extended */
}

/* Two-letter expansion of ligature letters; 0 when cp is not one. */
static const char *expand2(utf8proc_int32_t cp)
{
    switch (cp) {
    case 0x00E6: return "ae";   /* æ */
    case 0x00C6: return "AE";   /* Æ (only seen without case folding) */
    case 0x0153: return "oe";   /* œ */
    case 0x0152: return "OE";   /* Œ */
    case 0x00DF: return "ss";   /* ß (only seen without case folding) */
    case 0x1E9E: return "SS";   /* ẞ */
    default: return NULL;
    }
}

/* 1 when text[0..len) is pure ASCII. */
static int is_ascii(const char *text, size_t len)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= (unsigned char)text[i];
    return acc < 0x80;
}

/* Fast path for ASCII: NFKD and NFKC leave ASCII unchanged and full case
 * folding of ASCII is tolower(), so only case and NUL need handling. */
static char *fold_ascii(const char *text, size_t len, int casefold)
{
    char *out;
    if (len == SIZE_MAX)
        return NULL;
    out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\0')
            c = ' ';
        else if (casefold && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        out[i] = c;
    }
    out[len] = '\0';
    return out;
}

static char *fold_common(const char *text, size_t len, int casefold)
{
    utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE |
                             UTF8PROC_COMPAT;
    utf8proc_int32_t *dec = NULL, *buf = NULL;
    utf8proc_ssize_t ndec, got;
    size_t slen, m = 0;
    char *san, *res = NULL;
    int keep = 0;

    if (text == NULL)
        len = 0;
    if (len == 0 || is_ascii(text, len))
        return fold_ascii(text, len, casefold);
    san = sanitize(text != NULL ? text : "", len, &slen);
    if (san == NULL)
        return NULL;
    if (slen == 0) {
        san[0] = '\0';
        return san;
    }
    if (casefold)
        opts |= UTF8PROC_CASEFOLD;
    ndec = utf8proc_decompose_custom((const utf8proc_uint8_t *)san,
                                     (utf8proc_ssize_t)slen, NULL, 0, opts,
                                     premap, NULL);
    if (ndec < 0)
        goto out;
    dec = malloc(((size_t)ndec + 1) * sizeof *dec);
    if (dec == NULL)
        goto out;
    got = utf8proc_decompose_custom((const utf8proc_uint8_t *)san,
                                    (utf8proc_ssize_t)slen, dec, ndec, opts,
                                    premap, NULL);
    if (got != ndec)
        goto out;
    /* Expansion doubles at most; reencode needs 4 bytes per code point
     * plus a terminating NUL, which an int32 array always provides. */
    if ((size_t)ndec > (SIZE_MAX / sizeof *buf - 1) / 2)
        goto out;
    buf = malloc(((size_t)ndec * 2 + 1) * sizeof *buf);
    if (buf == NULL)
        goto out;
    for (utf8proc_ssize_t i = 0; i < ndec; i++) {
        utf8proc_int32_t cp = dec[i];
        const char *ex;
        if (utf8proc_category(cp) == UTF8PROC_CATEGORY_MN) {
            if (keep)
                buf[m++] = cp;
            continue;
        }
        cp = premap(cp, NULL);  /* also catches ø from Ǿ, ʼ from ŉ */
        keep = keeps_marks(cp);
        ex = expand2(cp);
        if (ex != NULL) {
            buf[m++] = (unsigned char)ex[0];
            buf[m++] = (unsigned char)ex[1];
        } else {
            buf[m++] = cp;
        }
    }
    got = utf8proc_reencode(buf, (utf8proc_ssize_t)m,
                            UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (got < 0)
        goto out;
    res = (char *)buf;      /* reencode wrote NUL-terminated UTF-8 */
    buf = NULL;
    {
        /* Shrink to fit; keep the big block if realloc fails. */
        char *small = realloc(res, (size_t)got + 1);
        if (small != NULL)
            res = small;
    }
out:
    free(san);
    free(dec);
    free(buf);
    return res;
}

char *ps_fold(const char *text, size_t len)
{
    return fold_common(text, len, 1);
}

char *ps_strip_diacritics(const char *text, size_t len)
{
    return fold_common(text, len, 0);
}
