/* test_utf8.c: lib/wire/utf8.c, the one UTF-8 validator, decoder,
 * repairer and cutter: tables of valid and invalid sequences (overlongs,
 * surrogates, > U+10FFFF, truncated, NUL), decode results, repair output
 * and counts, and an exhaustive check of every 1- to 3-byte input (and a
 * sample of 4-byte ones) against an independent definition: a sequence is
 * well-formed when it is the shortest encoding of a scalar value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "utf8.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- ps_utf8_valid ---------------------------------------------------- */

static void test_valid(void **state)
{
    static const struct { const char *s; size_t n; int ok; } t[] = {
        { "", 0, 1 },
        { "plain", 5, 1 },
        { "Sant\xc3\xa9", 6, 1 },
        { "\xe6\x97\xa5\xe6\x9c\xac", 6, 1 },       /* CJK */
        { "\xc2\x80", 2, 1 },                       /* U+0080 */
        { "\xdf\xbf", 2, 1 },                       /* U+07FF */
        { "\xe0\xa0\x80", 3, 1 },                   /* U+0800 */
        { "\xed\x9f\xbf", 3, 1 },                   /* U+D7FF */
        { "\xee\x80\x80", 3, 1 },                   /* U+E000 */
        { "\xef\xbf\xbf", 3, 1 },                   /* U+FFFF */
        { "\xf0\x90\x80\x80", 4, 1 },               /* U+10000 */
        { "\xf0\x9f\x98\x80", 4, 1 },               /* U+1F600 */
        { "\xf4\x8f\xbf\xbf", 4, 1 },               /* U+10FFFF */
        { "\xe2\x82\xac", 3, 1 },                   /* euro */
        { "a\0b", 3, 0 },                           /* NUL */
        { "\0", 1, 0 },
        { "\xc0\x80", 2, 0 },                       /* overlong NUL */
        { "\xc0\xaf", 2, 0 },                       /* overlong '/' */
        { "\xc1\xbf", 2, 0 },                       /* overlong */
        { "\xe0\x80\xaf", 3, 0 },                   /* overlong */
        { "\xe0\x9f\xbf", 3, 0 },                   /* overlong U+07FF */
        { "\xf0\x80\x80\xaf", 4, 0 },               /* overlong */
        { "\xf0\x8f\xbf\xbf", 4, 0 },               /* overlong U+FFFF */
        { "\xed\xa0\x80", 3, 0 },                   /* surrogate D800 */
        { "\xed\xbf\xbf", 3, 0 },                   /* surrogate DFFF */
        { "\xed\xa0\xbd\xed\xb8\x80", 6, 0 },       /* CESU-8 pair */
        { "\xf4\x90\x80\x80", 4, 0 },               /* U+110000 */
        { "\xf5\x80\x80\x80", 4, 0 },
        { "\xf7\xbf\xbf\xbf", 4, 0 },
        { "\xf8\x88\x80\x80\x80", 5, 0 },           /* 5-byte form */
        { "\xfc\x84\x80\x80\x80\x80", 6, 0 },       /* 6-byte form */
        { "\xfe", 1, 0 },
        { "\xff", 1, 0 },
        { "\x80", 1, 0 },                           /* lone continuation */
        { "\xbf", 1, 0 },
        { "a\x80" "b", 3, 0 },
        { "\xe2\x82", 2, 0 },                       /* truncated */
        { "\xf0\x9f\x98", 3, 0 },                   /* truncated */
        { "\xc3", 1, 0 },                           /* truncated */
        { "\xe2\x28\xac", 3, 0 },                   /* bad continuation */
        { "\xe2\x82\x28", 3, 0 },
        { "\xf0\x9f\x98\x28", 4, 0 },
        { "\xc3\xa9\xc3", 3, 0 },                   /* valid, then cut */
    };
    (void)state;
    for (size_t i = 0; i < N(t); i++)
        if (ps_utf8_valid(t[i].s, t[i].n) != t[i].ok)
            fail_msg("case %zu: expected %d", i, t[i].ok);
    /* len counts, not the terminator: a valid prefix of an invalid text. */
    assert_true(ps_utf8_valid("\xe2\x82\xac\xff", 3));
    assert_true(ps_utf8_valid(NULL, 0));
    assert_false(ps_utf8_valid(NULL, 1));
}

/* ---- ps_utf8_decode --------------------------------------------------- */

static void test_decode(void **state)
{
    static const struct {
        const char *s;
        size_t n;
        size_t want;            /* bytes consumed, 0: invalid */
        uint32_t cp;
    } t[] = {
        { "A", 1, 1, 0x41 },
        { "\0", 1, 1, 0 },                          /* NUL decodes */
        { "\x7f", 1, 1, 0x7f },
        { "\xc2\x80", 2, 2, 0x80 },
        { "\xc3\xa9xyz", 5, 2, 0xe9 },              /* stops after one */
        { "\xdf\xbf", 2, 2, 0x7ff },
        { "\xe0\xa0\x80", 3, 3, 0x800 },
        { "\xe2\x82\xac", 3, 3, 0x20ac },
        { "\xed\x9f\xbf", 3, 3, 0xd7ff },
        { "\xef\xbf\xbd", 3, 3, 0xfffd },
        { "\xef\xbf\xbf", 3, 3, 0xffff },
        { "\xf0\x90\x80\x80", 4, 4, 0x10000 },
        { "\xf0\x9f\x98\x80", 4, 4, 0x1f600 },
        { "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff },
        { "", 0, 0, 0 },
        { "\xe2\x82\xac", 2, 0, 0 },                /* len cuts it */
        { "\xf0\x9f\x98\x80", 3, 0, 0 },
        { "\xc3\xa9", 1, 0, 0 },
        { "\x80", 1, 0, 0 },
        { "\xc0\xaf", 2, 0, 0 },
        { "\xc1\x81", 2, 0, 0 },
        { "\xe0\x80\x80", 3, 0, 0 },
        { "\xf0\x8f\xbf\xbf", 4, 0, 0 },
        { "\xed\xa0\x80", 3, 0, 0 },
        { "\xed\xbf\xbf", 3, 0, 0 },
        { "\xf4\x90\x80\x80", 4, 0, 0 },
        { "\xf5\x80\x80\x80", 4, 0, 0 },
        { "\xff", 1, 0, 0 },
        { "\xe2\x28\xac", 3, 0, 0 },
    };
    (void)state;
    for (size_t i = 0; i < N(t); i++) {
        uint32_t cp = 0xdeadbeef;
        size_t got = ps_utf8_decode(t[i].s, t[i].n, &cp);
        if (got != t[i].want)
            fail_msg("case %zu: consumed %zu, want %zu", i, got, t[i].want);
        if (got != 0 && cp != t[i].cp)
            fail_msg("case %zu: U+%04X, want U+%04X", i, (unsigned)cp,
                     (unsigned)t[i].cp);
        if (got == 0 && cp != 0xdeadbeef)
            fail_msg("case %zu: *cp written on failure", i);
        if (ps_utf8_decode(t[i].s, t[i].n, NULL) != t[i].want)
            fail_msg("case %zu: differs with cp NULL", i);
    }
    assert_int_equal(ps_utf8_decode(NULL, 4, NULL), 0);
}

/* ---- exhaustive, against an independent definition ------------------- */

/* Encodes the scalar value cp; returns its length. */
static size_t encode(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Checks ps_utf8_decode on b[0..n) (n <= 4): it must accept exactly the
 * shortest encodings of scalar values (no surrogates, <= U+10FFFF) and
 * then re-encoding its answer must give back the bytes it consumed. */
static void check_decode(const unsigned char *b, size_t n)
{
    uint32_t cp;
    unsigned char re[4];
    size_t got = ps_utf8_decode((const char *)b, n, &cp);
    /* Independent answer: the longest-matching canonical encoding of any
     * scalar value at b (at most one can match). */
    size_t want = 0;
    for (size_t k = 1; k <= n && want == 0; k++) {
        /* Value the k bytes would carry if they had the shape. */
        static const unsigned char lead_mask[5] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
        uint32_t v = b[0] & lead_mask[k];
        unsigned lead = b[0], pattern = (0xffu >> (7 - k)) & ~1u;
        int shaped = k == 1 ? lead < 0x80 : (lead >> (7 - k)) == pattern;
        for (size_t j = 1; j < k; j++) {
            shaped &= (b[j] & 0xc0) == 0x80;
            v = (v << 6) | (b[j] & 0x3f);
        }
        if (!shaped || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
            continue;
        if (encode(v, re) == k && memcmp(re, b, k) == 0)
            want = k;
    }
    if (got != want)
        fail_msg("%02x %02x %02x %02x (n %zu): consumed %zu, want %zu",
                 b[0], n > 1 ? b[1] : 0, n > 2 ? b[2] : 0, n > 3 ? b[3] : 0,
                 n, got, want);
    if (got != 0 && (encode(cp, re) != got || memcmp(re, b, got) != 0))
        fail_msg("U+%04X does not re-encode to its bytes", (unsigned)cp);
}

static void test_exhaustive(void **state)
{
    unsigned char b[4];
    static const unsigned char tail[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f,
                                          0x90, 0x9f, 0xa0, 0xbf, 0xc0,
                                          0xc2, 0xe0, 0xf4, 0xff };
    (void)state;
    for (unsigned x = 0; x < 256; x++) {
        b[0] = (unsigned char)x;
        check_decode(b, 1);
        for (unsigned y = 0; y < 256; y++) {
            b[1] = (unsigned char)y;
            check_decode(b, 2);
            if (x < 0xc2 || x > 0xef)
                continue;           /* 3 bytes: only leads that matter */
            for (unsigned z = 0; z < 256; z++) {
                b[2] = (unsigned char)z;
                check_decode(b, 3);
            }
        }
    }
    for (unsigned x = 0xe0; x < 0x100; x++)
        for (unsigned y = 0; y < 256; y++)
            for (size_t i = 0; i < N(tail); i++)
                for (size_t j = 0; j < N(tail); j++) {
                    b[0] = (unsigned char)x;
                    b[1] = (unsigned char)y;
                    b[2] = tail[i];
                    b[3] = tail[j];
                    check_decode(b, 4);
                    check_decode(b, 3);
                }
    /* Every scalar value round-trips; validity agrees with decoding. */
    for (uint32_t cp = 1; cp <= 0x10ffff; cp++) {
        size_t n = encode(cp, b);
        uint32_t back = 0;
        int scalar = cp < 0xd800 || cp > 0xdfff;
        if (ps_utf8_decode((const char *)b, n, &back) != (scalar ? n : 0) ||
            (scalar && back != cp))
            fail_msg("U+%04X does not round-trip", (unsigned)cp);
        if (ps_utf8_valid((const char *)b, n) != scalar)
            fail_msg("U+%04X: ps_utf8_valid disagrees", (unsigned)cp);
    }
}

/* ---- ps_utf8_invalid_bytes ------------------------------------------- */

static void test_invalid_bytes(void **state)
{
    (void)state;
    assert_int_equal(ps_utf8_invalid_bytes("", 0), 0);
    assert_int_equal(ps_utf8_invalid_bytes("sant\xc3\xa9", 6), 0);
    assert_int_equal(ps_utf8_invalid_bytes("a\0b", 3), 0);  /* NUL valid */
    assert_int_equal(ps_utf8_invalid_bytes("sant\xe9", 5), 1);
    assert_int_equal(ps_utf8_invalid_bytes("\xc0\xaf", 2), 2);     /* overlong */
    assert_int_equal(ps_utf8_invalid_bytes("\xed\xa0\x80", 3), 3); /* surrogate */
    assert_int_equal(ps_utf8_invalid_bytes("\xf4\x90\x80\x80", 4), 4);
    assert_int_equal(ps_utf8_invalid_bytes("\xe2\x82", 2), 2);     /* cut */
    assert_int_equal(ps_utf8_invalid_bytes("\xf0\x9f\x98\x80", 4), 0);
    /* A bad lead does not swallow the valid sequence after it. */
    assert_int_equal(ps_utf8_invalid_bytes("\xe2\xc3\xa9", 3), 1);
}

/* ---- ps_utf8_repair / ps_utf8_repair_into ---------------------------- */

static void test_repair(void **state)
{
    static const struct {
        const char *s;
        size_t n;
        unsigned flags;
        const char *want;
        size_t bad;
    } t[] = {
        { "", 0, 0, "", 0 },
        { "plain", 5, 0, "plain", 0 },
        { "x\xffy", 3, 0, "x\xef\xbf\xbdy", 1 },
        { "\xe2\x82", 2, 0, "\xef\xbf\xbd\xef\xbf\xbd", 2 },
        { "\xc0\xaf!", 3, 0, "\xef\xbf\xbd\xef\xbf\xbd!", 2 },
        { "\xed\xa0\x80", 3, 0,
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 3 },
        { "\xe2\xc3\xa9", 3, 0, "\xef\xbf\xbd\xc3\xa9", 1 },
        { "\xf0\x9f\x98\x80", 4, 0, "\xf0\x9f\x98\x80", 0 },
        { "a\0b", 3, PS_UTF8_NUL_TO_SPACE, "a b", 0 },
        { "\0\xff", 2, PS_UTF8_NUL_TO_SPACE, " \xef\xbf\xbd", 1 },
    };
    (void)state;
    for (size_t i = 0; i < N(t); i++) {
        size_t len = 12345, bad = 12345;
        char *r = ps_utf8_repair(t[i].s, t[i].n, t[i].flags, &len, &bad);
        assert_non_null(r);
        if (len != strlen(t[i].want) || strcmp(r, t[i].want) != 0 ||
            bad != t[i].bad)
            fail_msg("case %zu: got %zu bytes, %zu bad", i, len, bad);
        assert_true(ps_utf8_valid(r, len) || (t[i].flags == 0 &&
                                              memchr(t[i].s, 0, t[i].n)));
        free(r);

        /* Into a buffer of exactly the documented size. */
        size_t need = t[i].n + 2 * ps_utf8_invalid_bytes(t[i].s, t[i].n) + 1;
        char *buf = malloc(need + 1);
        assert_non_null(buf);
        buf[need] = 'Z';
        len = ps_utf8_repair_into(t[i].s, t[i].n, t[i].flags, buf, &bad);
        assert_int_equal(len, strlen(t[i].want));
        assert_memory_equal(buf, t[i].want, len + 1);
        assert_int_equal(bad, t[i].bad);
        assert_true(len + 1 <= need);
        assert_int_equal(buf[need], 'Z');
        free(buf);
    }
    /* Without flags a NUL byte is kept (the output holds it). */
    size_t len;
    char *r = ps_utf8_repair("a\0b", 3, 0, &len, NULL);
    assert_non_null(r);
    assert_int_equal(len, 3);
    assert_memory_equal(r, "a\0b", 4);
    free(r);
    /* Both out-parameters may be NULL. */
    r = ps_utf8_repair("\xff", 1, 0, NULL, NULL);
    assert_non_null(r);
    assert_string_equal(r, PS_UTF8_REPLACEMENT);
    free(r);
}

/* ---- ps_utf8_cut ------------------------------------------------------ */

static void test_cut(void **state)
{
    static const char s[] = "ab\xe2\x82\xac" "d\xf0\x9f\x98\x80";
    const size_t n = sizeof s - 1;      /* 10 */
    (void)state;
    assert_int_equal(ps_utf8_cut(s, n, 100), n);
    assert_int_equal(ps_utf8_cut(s, n, n), n);
    assert_int_equal(ps_utf8_cut(s, n, 0), 0);
    assert_int_equal(ps_utf8_cut(s, n, 2), 2);
    assert_int_equal(ps_utf8_cut(s, n, 3), 2);      /* inside the euro */
    assert_int_equal(ps_utf8_cut(s, n, 4), 2);
    assert_int_equal(ps_utf8_cut(s, n, 5), 5);
    assert_int_equal(ps_utf8_cut(s, n, 6), 6);
    assert_int_equal(ps_utf8_cut(s, n, 7), 6);      /* inside U+1F600 */
    assert_int_equal(ps_utf8_cut(s, n, 9), 6);
    /* Stray continuation bytes: never more than 3 back. */
    static const char junk[] = "a\x80\x80\x80\x80\x80\x80";
    assert_int_equal(ps_utf8_cut(junk, 7, 6), 3);
    assert_int_equal(ps_utf8_cut(junk, 7, 3), 0);
    /* The prefix of valid text is valid. */
    for (size_t m = 0; m <= n; m++)
        assert_true(ps_utf8_valid(s, ps_utf8_cut(s, n, m)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_exhaustive),
        cmocka_unit_test(test_invalid_bytes),
        cmocka_unit_test(test_repair),
        cmocka_unit_test(test_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
