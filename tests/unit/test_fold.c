/* test_fold.c: ps_fold() and ps_strip_diacritics(). */
#include "test_analysis_util.h"

#include "analyze.h"
#include "polysearch.h"

static void check_fold(const char *in, size_t len, const char *want)
{
    char *got = ps_fold(in, len);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void check_strip(const char *in, size_t len, const char *want)
{
    char *got = ps_strip_diacritics(in, len);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

#define FOLD(in, want) check_fold(in, strlen(in), want)
#define STRIP(in, want) check_strip(in, strlen(in), want)

static void test_fold_table(void **state)
{
    (void)state;
    FOLD("Santé", "sante");
    FOLD("SANTÉ", "sante");
    FOLD("sante", "sante");
    FOLD("Lyonbiopôle", "lyonbiopole");
    FOLD("LYONBIOPOLE", "lyonbiopole");
    FOLD("Straße", "strasse");
    FOLD("STRASSE", "strasse");
    FOLD("ẞ", "ss");
    FOLD("Æsir", "aesir");
    FOLD("cæcum", "caecum");
    FOLD("Œuvre cœur", "oeuvre coeur");
    FOLD("Øre søster", "ore soster");
    FOLD("Đakovo đak", "dakovo dak");
    FOLD("Łódź", "lodz");
    FOLD("compétitivité", "competitivite");
    FOLD("Ångström", "angstrom");
    FOLD("ﬁnance", "finance");         /* compatibility ligature */
    FOLD("①②", "12");
    FOLD("ΆΘΗΝΑ", "αθηνα");             /* Greek tonos dropped */
    FOLD("Москва́", "москва");
    FOLD("l’échelle", "l'echelle");      /* typographic apostrophe */
    FOLD("innovation 2014", "innovation 2014");
}

static void test_fold_keeps_brahmic_marks(void **state)
{
    (void)state;
    /* Devanagari vowel signs are spelling, not accents: unchanged. */
    FOLD("हिंदी", "हिंदी");
    /* Arabic short vowels (harakat) are dropped. */
    FOLD("مَكْتَبَة", "مكتبة");
}

static void test_fold_invalid_utf8(void **state)
{
    (void)state;
    check_fold("a\xff" "b", 3, "a\xEF\xBF\xBD" "b");
    check_fold("\xC3", 1, "\xEF\xBF\xBD");                 /* truncated */
    check_fold("\xC0\xAF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD");  /* overlong */
    check_fold("\xED\xA0\x80", 3,                          /* surrogate */
               "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    check_fold("\xF4\x90\x80\x80", 4,                      /* > U+10FFFF */
               "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    check_fold("\xE9t\xE9", 3, "\xEF\xBF\xBDt\xEF\xBF\xBD"); /* Latin-1 */
}

static void test_fold_nul_and_empty(void **state)
{
    (void)state;
    check_fold("a\0B", 3, "a b");
    check_fold("", 0, "");
    check_fold(NULL, 0, "");
    check_fold("abc", 0, "");
    check_fold("\0", 1, " ");
}

static void test_fold_every_byte_never_crashes(void **state)
{
    unsigned char buf[512];
    (void)state;
    /* Deterministic pseudo-random garbage, all byte values. */
    uint32_t x = 12345;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof buf; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (unsigned char)(x >> 16);
        }
        char *f = ps_fold((const char *)buf, sizeof buf);
        char *s = ps_strip_diacritics((const char *)buf, sizeof buf);
        assert_non_null(f);
        assert_non_null(s);
        /* Output is valid UTF-8 with no NUL inside: folding it again is
         * stable. */
        char *g = ps_fold(f, strlen(f));
        assert_string_equal(f, g);
        free(f);
        free(s);
        free(g);
    }
}

static void test_strip_keeps_case(void **state)
{
    (void)state;
    STRIP("Santé AND Lyonbiopôle", "Sante AND Lyonbiopole");
    STRIP("SANTÉ NOT café", "SANTE NOT cafe");
    STRIP("Æsir Straße ẞ", "AEsir Strasse SS");
    STRIP("Øre Łódź Đ", "Ore Lodz D");
    STRIP("l’échelle", "l'echelle");
    STRIP("title:\"Santé publique\" OR lang:fr", "title:\"Sante publique\" OR lang:fr");
    check_strip("a\0b", 3, "a b");
    check_strip("x\xfe", 2, "x\xEF\xBF\xBD");
    check_strip("", 0, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_table),
        cmocka_unit_test(test_fold_keeps_brahmic_marks),
        cmocka_unit_test(test_fold_invalid_utf8),
        cmocka_unit_test(test_fold_nul_and_empty),
        cmocka_unit_test(test_fold_every_byte_never_crashes),
        cmocka_unit_test(test_strip_keeps_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
