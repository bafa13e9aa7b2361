/* test_lang.c: language code tables (lib/wire/lang.c). */
#include "test_analysis_util.h"

#include "analyze.h"

static void test_stemmer_names(void **state)
{
    (void)state;
    assert_string_equal(ps_lang_stemmer("fr"), "french");
    assert_string_equal(ps_lang_stemmer("de"), "german");
    assert_string_equal(ps_lang_stemmer("en"), "english");
    assert_string_equal(ps_lang_stemmer("no"), "norwegian");
    assert_string_equal(ps_lang_stemmer("hy"), "armenian");
    assert_string_equal(ps_lang_stemmer("ga"), "irish");
    assert_string_equal(ps_lang_stemmer("ne"), "nepali");
    /* Xapian 1.4 has no Polish stemmer; CJK uses n-grams. */
    assert_null(ps_lang_stemmer("pl"));
    assert_null(ps_lang_stemmer("zh"));
    assert_null(ps_lang_stemmer("und"));
    assert_null(ps_lang_stemmer("FR"));
    assert_null(ps_lang_stemmer(""));
    assert_null(ps_lang_stemmer(NULL));
}

static void test_stemmed_codes(void **state)
{
    size_t n = 0;
    const char *const *codes = ps_lang_stemmed_codes(&n);
    (void)state;
    /* Every stemmer of Xapian 1.4.22 except the English/German/Dutch
     * variants: 24 languages. */
    assert_int_equal(n, 24);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(ps_lang_stemmer(codes[i]));
        assert_true(ps_lang_valid(codes[i]));
        assert_false(ps_lang_is_cjk(codes[i]));
        assert_ptr_equal(ps_lang_canonical(codes[i]), codes[i]);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(codes[i], codes[j]);
            assert_string_not_equal(ps_lang_stemmer(codes[i]),
                                    ps_lang_stemmer(codes[j]));
        }
    }
}

static void test_valid(void **state)
{
    char buf[4] = "pl";
    (void)state;
    assert_true(ps_lang_valid("und"));
    assert_true(ps_lang_valid("pl"));
    assert_true(ps_lang_valid("zh"));
    assert_true(ps_lang_valid("ja"));
    assert_true(ps_lang_valid("ko"));
    assert_true(ps_lang_valid("cs"));
    assert_false(ps_lang_valid("xx"));
    assert_false(ps_lang_valid("EN"));
    assert_false(ps_lang_valid("en "));
    assert_false(ps_lang_valid("eng"));
    assert_false(ps_lang_valid("nb"));      /* Norwegian is "no" */
    assert_false(ps_lang_valid("zh-Hant"));
    assert_false(ps_lang_valid(""));
    assert_false(ps_lang_valid(NULL));
    /* The canonical copy is static, not the caller's buffer. */
    assert_string_equal(ps_lang_canonical(buf), "pl");
    assert_ptr_not_equal(ps_lang_canonical(buf), buf);
    assert_null(ps_lang_canonical("xx"));
}

static void test_cjk(void **state)
{
    (void)state;
    assert_true(ps_lang_is_cjk("zh"));
    assert_true(ps_lang_is_cjk("ja"));
    assert_true(ps_lang_is_cjk("ko"));
    assert_false(ps_lang_is_cjk("en"));
    assert_false(ps_lang_is_cjk("und"));
    assert_false(ps_lang_is_cjk(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stemmer_names),
        cmocka_unit_test(test_stemmed_codes),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_cjk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
