/* test_fold_into.c: ps_fold_into() (lib/analysis/fold.h) gives byte-for-byte the
 * result of ps_fold() on every path: ASCII, the Latin and punctuation
 * table, the stack utf8proc path, the allocating fallback for long
 * inputs, and reports the needed length when the buffer is too small.
 * ps_fold() itself (folded run by run) gives byte-for-byte the result of
 * ps_fold_reference() (the whole text through utf8proc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <utf8proc.h>

#include "fold.h"
#include "polysearch.h"

/* Compares ps_fold(text) with ps_fold_reference(text). */
static void same_ref(const char *text, size_t len)
{
    char *got = ps_fold(text, len);
    char *want = ps_fold_reference(text, len);
    assert_non_null(got);
    assert_non_null(want);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "ps_fold mismatch on \"%.*s\": \"%s\" vs \"%s\"\n",
                (int)(len > 200 ? 200 : len), text, got, want);
        fail();
    }
    free(got);
    free(want);
}

/* Compares ps_fold_into(text) with ps_fold(text) with a roomy buffer and
 * with buffers one byte too small and exactly big enough, and ps_fold()
 * with the reference. */
static void same(const char *text, size_t len)
{
    same_ref(text, len);
    char *want = ps_fold(text, len);
    assert_non_null(want);
    size_t wl = strlen(want);
    char buf[1024];
    size_t got = ps_fold_into(text, len, buf, sizeof buf);
    if (wl < sizeof buf) {
        if (got != wl || strcmp(buf, want) != 0) {
            fprintf(stderr, "ps_fold_into mismatch on \"%.*s\": \"%s\" vs \"%s\"\n",
                    (int)len, text, got < sizeof buf ? buf : "(too long)", want);
            fail();
        }
    } else {
        assert_int_equal(got, wl);
    }
    /* Too small: the needed length, no overflow past cap. */
    if (wl > 0 && wl < sizeof buf - 1) {
        memset(buf, 'Z', sizeof buf);
        got = ps_fold_into(text, len, buf, wl);
        assert_int_equal(got, wl);
        for (size_t i = wl; i < sizeof buf; i++)
            assert_int_equal(buf[i], 'Z');
        got = ps_fold_into(text, len, buf, wl + 1);
        assert_int_equal(got, wl);
        assert_string_equal(buf, want);
    }
    free(want);
}

#define SAME(s) same(s, strlen(s))

static void test_table(void **state)
{
    (void)state;
    static const char *const t[] = {
        "", "a", "Santé", "SANTÉ", "Lyonbiopôle", "Straße", "ẞ", "Æsir",
        "cæcum", "Œuvre cœur", "Øre søster", "Đakovo đak", "Łódź",
        "compétitivité", "Ångström", "ﬁnance", "①②", "ΆΘΗΝΑ", "Москва́",
        "l’échelle", "innovation 2014", "हिंदी", "مَكْتَبَة", "e\xcc\x81t\xc3\xa9",
        "ǅemal ǆ Ǳ", "ŉ", "İstanbul", "ſ", "½", "ª º ¹", "ÿ Ÿ", "ǰ", "ȷ",
        "Ǿ", "\xc2\xa0nbsp", "\xc2\xad", "Ɓɓ Ƈ", "ǈ", "ȸ ȹ", "ɏ Ɏ",
        "日本語", "한국어", "ﬀ ﬃ", "Ⅻ", "㎏",
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        SAME(t[i]);
}

static void test_bad_bytes(void **state)
{
    (void)state;
    same("a\0b", 3);
    same("\xff", 1);
    same("ab\xc3", 3);           /* truncated sequence */
    same("\xc3\xa9\xff\xc3\xa9", 5);
    same("\xc9\xbf", 2);         /* U+027F: just past the Latin table */
    same("\xc9\x8f", 2);         /* U+024F: last table entry */
    same("\xc2\x80", 2);         /* U+0080: first table entry */
    same("\xc0\xaf", 2);         /* overlong */
    same("\xed\xa0\x80", 3);     /* surrogate */
}

/* Encodes code point a into s (>= 16 bytes) and checks it alone and
 * between ASCII letters.  Returns its length in bytes. */
static utf8proc_ssize_t encode_alone_and_in_ascii(utf8proc_int32_t a, char *s)
{
    utf8proc_ssize_t n = utf8proc_encode_char(a, (utf8proc_uint8_t *)s);
    same(s, (size_t)n);
    char ctx[32];
    int m = snprintf(ctx, sizeof ctx, "Ab%.*sZ", (int)n, s);
    same(ctx, (size_t)m);
    return n;
}

/* Every Latin table code point alone, in ASCII context, and next to every
 * other one (the concatenation argument of fold.c). */
static void test_latin_exhaustive(void **state)
{
    (void)state;
    for (utf8proc_int32_t a = 0x80; a < 0x250; a++) {
        char s[16];
        utf8proc_ssize_t n = encode_alone_and_in_ascii(a, s);
        for (utf8proc_int32_t b = 0x80; b < 0x250; b += 7) {
            char p[16];
            utf8proc_ssize_t k = utf8proc_encode_char(b, (utf8proc_uint8_t *)p);
            memcpy(p + k, s, (size_t)n);
            same(p, (size_t)(k + n));
        }
        /* Followed by a combining mark: not a table-only text. */
        char cm[16];
        memcpy(cm, s, (size_t)n);
        memcpy(cm + n, "\xcc\x81", 2);
        same(cm, (size_t)n + 2);
    }
}

/* Every punctuation table code point (U+2000..U+20CF) alone, in ASCII
 * context, next to Latin and punctuation code points, and followed by a
 * combining mark. */
static void test_punct_exhaustive(void **state)
{
    (void)state;
    for (utf8proc_int32_t a = 0x2000; a < 0x20D0; a++) {
        char s[16];
        utf8proc_ssize_t n = encode_alone_and_in_ascii(a, s);
        for (utf8proc_int32_t b = 0x80; b < 0x250; b += 5) {
            char p[16];
            utf8proc_ssize_t k = utf8proc_encode_char(b, (utf8proc_uint8_t *)p);
            memcpy(p + k, s, (size_t)n);
            same(p, (size_t)(k + n));
            memcpy(p, s, (size_t)n);
            k = utf8proc_encode_char(b, (utf8proc_uint8_t *)p + n);
            same(p, (size_t)(k + n));
        }
        for (utf8proc_int32_t b = 0x2000; b < 0x20D0; b += 3) {
            char p[16];
            utf8proc_ssize_t k = utf8proc_encode_char(b, (utf8proc_uint8_t *)p);
            memcpy(p + k, s, (size_t)n);
            same(p, (size_t)(k + n));
        }
        char cm[16];
        memcpy(cm, s, (size_t)n);
        memcpy(cm + n, "\xcc\x81", 2);
        same(cm, (size_t)n + 2);
        /* U+20D0.. (combining marks for symbols) are not in the table. */
        memcpy(cm + n, "\xe2\x83\x90", 3);
        same(cm, (size_t)n + 3);
    }
    same("\xe2\x83\x8f", 3);       /* U+20CF: last table entry */
    same("\xe2\x83\x90", 3);       /* U+20D0: just past it */
    same("\xe2\x80", 2);            /* truncated */
    same("\xe2\x80\x80\x80", 4);    /* extra continuation byte */
    same("\xe2\xc3\xa9", 3);
}

/* Every code point next to ASCII characters, on both sides, and between
 * marks: where ps_fold() cuts a text into runs, the result must be the
 * whole-text result (the argument at the top of lib/analysis/fold.c).  Code points
 * beyond the Basic Multilingual Plane are sampled. */
static void test_runs_exhaustive(void **state)
{
    (void)state;
    static const char *const asc[] = { "a", "Z", " ", "'", "=", "<", "1" };
    for (utf8proc_int32_t cp = 0x80; cp < 0x110000; cp += cp < 0x10000 ? 1 : 13) {
        if (cp >= 0xD800 && cp < 0xE000)
            continue;
        char u[8], buf[64];
        utf8proc_ssize_t k = utf8proc_encode_char(cp, (utf8proc_uint8_t *)u);
        const char *x = asc[(size_t)cp % (sizeof asc / sizeof asc[0])];
        int m = snprintf(buf, sizeof buf, "%s%.*s%s", x, (int)k, u, x);
        same_ref(buf, (size_t)m);
        m = snprintf(buf, sizeof buf, "e\xcc\x81%.*s\xcc\x81x%.*sQ", (int)k, u,
                     (int)k, u);
        same_ref(buf, (size_t)m);
    }
}

/* Whole texts: many runs, runs the table does not cover (Greek,
 * Cyrillic, CJK, Devanagari, Hangul jamo that compose), expansions that
 * make the result longer than the input (the growing buffer). */
static void test_runs_texts(void **state)
{
    (void)state;
    static const char *const t[] = {
        "L’Œuvre « complète » — Straße, €5… ΆΘΗΝΑ Москва́ 日本語",
        "हिंदी text हिंदी, मराठी", "\xe1\x84\x80\xe1\x85\xa1 \xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8",
        "a\xcc\x81" "b\xcc\x88\xcc\x81 c\xd7\x90\xd6\xb8",
        "\xef\xb7\xba\xef\xb7\xba\xef\xb7\xba x \xef\xb7\xba",  /* U+FDFA: 18 code points */
        "bad \xff\xfe bytes \xc3 end\xe2\x80",
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        same_ref(t[i], strlen(t[i]));
    /* A long text whose folding is much longer than the input. */
    size_t n = 30000, o = 0, i = 0;
    char *big = malloc(n + 8);
    assert_non_null(big);
    while (o < n) {
        static const char *const parts[] = { "\xef\xb7\xba", " ", "Ab",
                                             "\xe3\x8e\x8f", "\xc3\xa9", "\xe2\x80\xa6" };
        const char *p = parts[i++ % 6];
        size_t l = strlen(p);
        memcpy(big + o, p, l);
        o += l;
    }
    same_ref(big, o);
    char *f = ps_fold(big, o);
    assert_non_null(f);
    assert_true(strlen(f) > o);     /* the growth path was taken */
    free(f);
    free(big);
}

/* Long inputs take the allocating fallback; the result must not change. */
static void test_long(void **state)
{
    (void)state;
    char big[600];
    size_t o = 0;
    while (o + 10 < sizeof big) {
        memcpy(big + o, "Ωmega é ", 10);  /* Ω is 2 bytes, é 2: 10 bytes */
        o += 10;
    }
    same(big, o);
    same(big, 65);
    same(big, 64);
    /* Longer than the buffer of same(): only the length is compared. */
    char *huge = malloc(5000);
    assert_non_null(huge);
    for (size_t i = 0; i < 5000; i += 2)
        memcpy(huge + i, "\xc3\x89", 2);
    same(huge, 5000);
    free(huge);
}

/* Random mixes of ASCII, Latin, Greek, marks and bad bytes. */
static void test_random(void **state)
{
    (void)state;
    static const char *const parts[] = {
        "a", "Z", " ", "\xc3\xa9", "\xc3\x9f", "\xc5\x93", "\xcc\x81", "\xce\x91",
        "\xd0\x96", "\xe0\xa4\xbf", "\xff", "\xef\xac\x81", "\xc7\x84", "1", "-",
        "\xe2\x80\x99", "\xe2\x80\x94", "\xe2\x82\xac", "\xe2\x83\x90",
        "\xe1\x84\x80", "\xe1\x85\xa1", "\xe0\xa4\x95", "\xe0\xa5\x8d",
    };
    unsigned seed = 12345;
    for (int it = 0; it < 20000; it++) {
        char s[128];
        size_t o = 0;
        int n = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 12;
        for (int k = 0; k < n; k++) {
            const char *p = parts[((seed = seed * 1103515245u + 12345u) >> 16) %
                                  (sizeof parts / sizeof parts[0])];
            size_t l = strlen(p);
            memcpy(s + o, p, l);
            o += l;
        }
        same(s, o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_bad_bytes),
        cmocka_unit_test(test_latin_exhaustive),
        cmocka_unit_test(test_punct_exhaustive),
        cmocka_unit_test(test_runs_exhaustive),
        cmocka_unit_test(test_runs_texts),
        cmocka_unit_test(test_long),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
