/* fold.c: Unicode folding with utf8proc, for index terms and queries.
 *
 * Pipeline (ps_fold):
 *   1. sanitize (ps_utf8_repair): invalid UTF-8 bytes -> U+FFFD,
 *      NUL -> space;
 *   2. NFKD plus full case folding (utf8proc; casefold gives ß -> ss);
 *   3. drop nonspacing marks (category Mn); one-to-one maps for letters
 *      that have no decomposition (ø->o, đ->d, ł->l, upper-case too) and
 *      typographic apostrophes (U+2018, U+2019, U+02BC -> ASCII ');
 *      expand æ -> ae, œ -> oe;
 *   4. canonical composition: the result is NFKC.
 * ps_strip_diacritics() runs the same pipeline without case folding
 * (upper-case letters stay upper-case: Æ -> AE, ẞ -> SS).
 *
 * Fast path of ps_fold() (fold_runs): ASCII bytes are lower-cased
 * directly and each maximal run of non-ASCII bytes is folded by itself,
 * through the table of Latin letters and common punctuation (below)
 * or through utf8proc.  This is byte-for-byte the whole-text pipeline:
 * an ASCII character is a starter (canonical combining class 0) that is
 * not the second element of any canonical composition and has no
 * decomposition, so no reordering or composition crosses it; a UTF-8
 * sequence never contains an ASCII byte, so invalid bytes are replaced
 * the same way; and the mark-keeping state of step 3 is "drop" both
 * after an ASCII character and at the start of a text.
 * tests/unit/test_fold_into.c checks it against ps_fold_reference().
 *
 * Mn marks are kept when their base letter belongs to a Brahmic script
 * (Devanagari .. Sinhala, Thai, Lao, Tibetan, Myanmar, Khmer): there the
 * marks are vowel signs and viramas that are part of the spelling, not
 * accents, and dropping them would merge distinct words and defeat the
 * Nepali and Tamil stemmers.  Both index and query sides use this same
 * code, so they always agree.
 */
#include "analyze.h"
#include "fold.h"
#include "polysearch.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "utf8.h"

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

/* Step 3 of the pipeline over the decomposed dec[0..ndec): drops
 * nonspacing marks (kept after Brahmic letters), applies premap() again
 * and expands ligature letters into buf (2 * ndec entries at most).
 * Returns the number of code points written. */
static size_t strip_marks(const utf8proc_int32_t *dec, utf8proc_ssize_t ndec,
                          utf8proc_int32_t *buf)
{
    size_t m = 0;
    int keep = 0;
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
    return m;
}

/* The whole pipeline through utf8proc, on any text (no fast path).
 * Returns malloc'd NUL-terminated UTF-8, NULL on allocation failure. */
static char *fold_utf8proc(const char *text, size_t len, int casefold)
{
    utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE |
                             UTF8PROC_COMPAT;
    utf8proc_int32_t *dec = NULL, *buf = NULL;
    utf8proc_ssize_t ndec, got;
    size_t slen, m = 0;
    char *san, *res = NULL;

    if (text == NULL)
        len = 0;
    san = ps_utf8_repair(text != NULL ? text : "", len, PS_UTF8_NUL_TO_SPACE,
                         &slen, NULL);
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
    m = strip_marks(dec, ndec, buf);
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

static char *fold_runs(const char *text, size_t len);

static char *fold_common(const char *text, size_t len, int casefold)
{
    if (text == NULL)
        len = 0;
    if (len == 0 || is_ascii(text, len))
        return fold_ascii(text, len, casefold);
    return casefold ? fold_runs(text, len) : fold_utf8proc(text, len, 0);
}

char *ps_fold(const char *text, size_t len)
{
    return fold_common(text, len, 1);
}

char *ps_fold_reference(const char *text, size_t len)
{
    if (text == NULL)
        len = 0;
    if (len == 0 || is_ascii(text, len))
        return fold_ascii(text, len, 1);
    return fold_utf8proc(text, len, 1);
}

char *ps_strip_diacritics(const char *text, size_t len)
{
    return fold_common(text, len, 0);
}

/* Decomposition buffer of ps_fold_into()'s stack path, in code points
 * (compatibility decompositions can expand a lot: U+FDFA gives 18). */
#define FOLD_DEC_MAX 256

/* ps_fold() through the allocating utf8proc path, copied into buf
 * (not through ps_fold(): fold_runs() calls ps_fold_into()). */
static size_t fold_into_slow(const char *text, size_t len, char *buf,
                             size_t cap)
{
    char *f = fold_utf8proc(text, len, 1);
    size_t flen;
    if (f == NULL)
        return (size_t)-1;
    flen = strlen(f);
    if (flen < cap)
        memcpy(buf, f, flen + 1);
    free(f);
    return flen;
}

/* Table of ps_fold_into() and fold_runs(): the folding of each code
 * point in [LATIN_LO, LATIN_HI) (Latin-1 Supplement, Latin Extended-A and
 * -B) and in [PUNCT_LO, PUNCT_HI) (General Punctuation, superscripts and
 * subscripts, currency signs: typographic quotes, dashes, the ellipsis,
 * the euro sign), by itself.  For a text made only of ASCII and these
 * code points ps_fold() is the concatenation of the per-character
 * foldings: none of them is or decomposes into anything but starters
 * plus nonspacing marks (which are dropped after these characters), and
 * no two of those starters compose, so nothing is reordered or composed
 * across characters.  tests/unit/test_fold_into.c checks this against
 * ps_fold_reference() for every entry and for pairs of them. */
#define LATIN_LO 0x80
#define LATIN_HI 0x250
#define PUNCT_LO 0x2000
#define PUNCT_HI 0x20D0     /* U+20D0.. are combining marks */
#define LATIN_MAXF 7

typedef struct latin_fold {
    unsigned char len;          /* LATIN_MAXF + 1: not in the table */
    char s[LATIN_MAXF];
} latin_fold;

static latin_fold latin_tab[LATIN_HI - LATIN_LO];
static latin_fold punct_tab[PUNCT_HI - PUNCT_LO];
static pthread_once_t latin_once = PTHREAD_ONCE_INIT;

/* Fills *e with the folding of cp (through utf8proc: the fast paths use
 * this table). */
static void table_entry(utf8proc_int32_t cp, latin_fold *e)
{
    utf8proc_uint8_t u[4];
    utf8proc_ssize_t n = utf8proc_encode_char(cp, u);
    char *f = fold_utf8proc((const char *)u, (size_t)n, 1);
    size_t fl = f != NULL ? strlen(f) : LATIN_MAXF + 1;
    if (fl > LATIN_MAXF) {
        e->len = LATIN_MAXF + 1;
    } else {
        e->len = (unsigned char)fl;
        memcpy(e->s, f, fl);
    }
    free(f);
}

static void latin_init(void)
{
    for (utf8proc_int32_t cp = LATIN_LO; cp < LATIN_HI; cp++)
        table_entry(cp, &latin_tab[cp - LATIN_LO]);
    for (utf8proc_int32_t cp = PUNCT_LO; cp < PUNCT_HI; cp++)
        table_entry(cp, &punct_tab[cp - PUNCT_LO]);
}

/* Folds text made of ASCII and table code points into buf through the
 * table.  Returns the folded length (>= cap: did not fit), or (size_t)-2
 * when text holds anything else (then nothing is known). */
static size_t fold_latin(const char *text, size_t len, char *buf, size_t cap)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t o = 0;
    pthread_once(&latin_once, latin_init);
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        const latin_fold *e;
        if (c < 0x80) {
            if (o < cap)
                buf[o] = c == 0 ? ' ' : (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
            o++;
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = ps_utf8_decode(text + i, len - i, &cp);
        if (n == 0)
            return (size_t)-2;
        if (cp >= LATIN_LO && cp < LATIN_HI)
            e = &latin_tab[cp - LATIN_LO];
        else if (cp >= PUNCT_LO && cp < PUNCT_HI)
            e = &punct_tab[cp - PUNCT_LO];
        else
            return (size_t)-2;
        i += n;
        if (e->len > LATIN_MAXF)
            return (size_t)-2;
        if (o + e->len <= cap)
            memcpy(buf + o, e->s, e->len);
        o += e->len;
    }
    if (o < cap)
        buf[o] = '\0';
    return o;
}

size_t ps_fold_into(const char *text, size_t len, char *buf, size_t cap)
{
    const utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE |
                                   UTF8PROC_COMPAT | UTF8PROC_CASEFOLD;
    char san[PS_FOLD_STACK_BYTES * 3 + 1];
    utf8proc_int32_t dec[FOLD_DEC_MAX];
    utf8proc_int32_t out[FOLD_DEC_MAX * 2 + 1];
    utf8proc_ssize_t ndec, got;
    size_t slen, m;

    if (text == NULL)
        len = 0;
    if (len == 0 || is_ascii(text, len)) {
        /* Same as fold_ascii(): lower-case, NUL -> space. */
        if (len < cap) {
            for (size_t i = 0; i < len; i++) {
                char c = text[i];
                if (c == '\0')
                    c = ' ';
                else if (c >= 'A' && c <= 'Z')
                    c = (char)(c - 'A' + 'a');
                buf[i] = c;
            }
            buf[len] = '\0';
        }
        return len;
    }
    m = fold_latin(text, len, buf, cap);
    if (m != (size_t)-2)
        return m;
    if (len > PS_FOLD_STACK_BYTES)
        return fold_into_slow(text, len, buf, cap);
    slen = ps_utf8_repair_into(text, len, PS_UTF8_NUL_TO_SPACE, san, NULL);
    ndec = utf8proc_decompose_custom((const utf8proc_uint8_t *)san,
                                     (utf8proc_ssize_t)slen, dec, FOLD_DEC_MAX,
                                     opts, premap, NULL);
    if (ndec < 0 || ndec > FOLD_DEC_MAX)
        return fold_into_slow(text, len, buf, cap);
    m = strip_marks(dec, ndec, out);
    got = utf8proc_reencode(out, (utf8proc_ssize_t)m,
                            UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (got < 0)
        return fold_into_slow(text, len, buf, cap);
    if ((size_t)got < cap)
        memcpy(buf, out, (size_t)got + 1);
    return (size_t)got;
}

/* ps_fold() of a text that is not pure ASCII (see the top of the file):
 * ASCII bytes lower-cased in place, each maximal non-ASCII run through
 * ps_fold_into() (table, stack or utf8proc path).  Returns malloc'd text,
 * NULL on allocation failure. */
static char *fold_runs(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t cap, o = 0, i = 0;
    char *out;

    if (len > SIZE_MAX / 4)
        return NULL;
    /* Invariant: cap >= o + (len - i) + 1, room for the rest of the input
     * unchanged (ASCII stays one byte) and the NUL. */
    cap = len + len / 4 + 64;
    out = malloc(cap);
    if (out == NULL)
        return NULL;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {             /* lower-case, NUL -> space */
            out[o++] = c == 0 ? ' ' : (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < len && s[j] >= 0x80)
            j++;
        for (;;) {
            size_t room = cap - o;
            size_t n = ps_fold_into(text + i, j - i, out + o, room);
            if (n == (size_t)-1 || n > SIZE_MAX / 4) {
                free(out);
                return NULL;
            }
            size_t need = o + n + (len - j) + 1;
            if (need > cap) {
                size_t ncap = need + need / 4 + 64;
                char *nb = realloc(out, ncap);
                if (nb == NULL) {
                    free(out);
                    return NULL;
                }
                out = nb;
                cap = ncap;
            }
            if (n < room) {         /* written (kept by realloc) */
                o += n;
                break;
            }
            /* Did not fit: again, into the bigger buffer. */
        }
        i = j;
    }
    out[o] = '\0';
    return out;
}
