/* test_docvalid.c: the document rules of lib/wire/docvalid.c: each rule
 * and its reason text, strict and lenient modes, the text repair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docvalid.h"
#include "rpc.h"

/* Feeds one string pair; returns ps_docv_set's answer. */
static int set(ps_docv *v, const char *key, const char *val)
{
    return ps_docv_set(v, key, strlen(key), PS_DOC_V_STR, val, strlen(val));
}

static void expect_value_bad(ps_doc_key k, const char *s, size_t len,
                             uint64_t max_body, const char *reason)
{
    char why[PS_DOC_REASON_MAX];
    assert_int_equal(ps_doc_check_value(k, s, len, max_body, why, sizeof why),
                     -1);
    assert_string_equal(why, reason);
}

static void expect_value_ok(ps_doc_key k, const char *s, size_t len)
{
    char why[PS_DOC_REASON_MAX] = "";
    if (ps_doc_check_value(k, s, len, 0, why, sizeof why) != 0)
        fail_msg("%s '%.*s' refused: %s", ps_doc_key_name(k), (int)len, s,
                 why);
}

static void test_keys(void **state)
{
    (void)state;
    assert_string_equal(ps_doc_key_name(PS_DOC_ID), "id");
    assert_string_equal(ps_doc_key_name(PS_DOC_URL), "url");
    assert_null(ps_doc_key_name(PS_DOC_NKEYS));
    assert_int_equal(ps_doc_key_find("body", 4), PS_DOC_BODY);
    assert_int_equal(ps_doc_key_find("date", 4), PS_DOC_DATE);
    assert_int_equal(ps_doc_key_find("dates", 4), PS_DOC_DATE); /* length */
    assert_int_equal(ps_doc_key_find("Body", 4), PS_DOC_NKEYS);
    assert_int_equal(ps_doc_key_find("bod", 3), PS_DOC_NKEYS);
    assert_int_equal(ps_doc_key_find(NULL, 0), PS_DOC_NKEYS);
}

static void test_values(void **state)
{
    (void)state;
    char id[PS_DOC_MAX_ID + 2];
    memset(id, 'i', sizeof id);
    expect_value_ok(PS_DOC_ID, id, PS_DOC_MAX_ID);
    expect_value_bad(PS_DOC_ID, id, PS_DOC_MAX_ID + 1, 0,
                     "\"id\" is 241 bytes (at most 240 allowed)");
    expect_value_bad(PS_DOC_ID, "", 0, 0, "empty \"id\"");
    expect_value_bad(PS_DOC_BODY, "12345", 5, 4,
                     "\"body\" is 5 bytes (at most 4 allowed: max_body)");
    expect_value_ok(PS_DOC_BODY, "", 0);
    expect_value_bad(PS_DOC_TITLE, "a\0b", 3, 0,
                     "\"title\" is not valid UTF-8 or contains a NUL byte");
    expect_value_bad(PS_DOC_URL, "sant\xe9", 5, 0,
                     "\"url\" is not valid UTF-8 or contains a NUL byte");
    expect_value_ok(PS_DOC_TITLE, "Sant\xc3\xa9", 6);

    expect_value_ok(PS_DOC_LANG, "fr", 2);
    expect_value_ok(PS_DOC_LANG, "und", 3);
    expect_value_ok(PS_DOC_LANG, "pl", 2);          /* unstemmed, valid */
    expect_value_ok(PS_DOC_LANG, "", 0);            /* empty = not given */
    expect_value_ok(PS_DOC_LANG, "frXX", 2);        /* not NUL-terminated */
    expect_value_bad(PS_DOC_LANG, "zz", 2, 0, "unsupported language code 'zz'");
    expect_value_bad(PS_DOC_LANG, "FR", 2, 0, "unsupported language code 'FR'");
    expect_value_bad(PS_DOC_LANG, "english", 7, 0,
                     "unsupported language code 'english'");

    expect_value_ok(PS_DOC_DATE, "2024-01-02", 10);
    expect_value_ok(PS_DOC_DATE, "2022-05-19 10:30:15.25+02:00", 28);
    expect_value_ok(PS_DOC_DATE, "2020-02-29xyz", 10);
    expect_value_ok(PS_DOC_DATE, "", 0);
    expect_value_bad(PS_DOC_DATE, "yesterday", 9, 0,
                     "invalid ISO 8601 date 'yesterday'");
    expect_value_bad(PS_DOC_DATE, "2021-02-29", 10, 0,
                     "invalid ISO 8601 date '2021-02-29'");
    /* A valid date longer than the checker's stack buffer. */
    char longdate[200];
    snprintf(longdate, sizeof longdate, "2022-05-19T10:30:15.%0150d", 1);
    expect_value_ok(PS_DOC_DATE, longdate, strlen(longdate));
}

/* A long value is quoted cut at a character boundary, still UTF-8. */
static void test_quote_cut(void **state)
{
    (void)state;
    char lang[301] = "";
    for (int i = 0; i < 100; i++)
        strcat(lang, "\xc3\xa9z");          /* 3 bytes: cut lands inside */
    char why[PS_DOC_REASON_MAX];
    assert_int_equal(ps_doc_check_value(PS_DOC_LANG, lang, strlen(lang), 0,
                                        why, sizeof why), -1);
    assert_true(ps_utf8_valid(why, strlen(why)));
    assert_non_null(strstr(why, "...'"));
    assert_true(strlen(why) < 100);
    /* A tiny buffer is still terminated. */
    char tiny[8];
    assert_int_equal(ps_doc_check_value(PS_DOC_ID, "", 0, 0, tiny,
                                        sizeof tiny), -1);
    assert_string_equal(tiny, "empty \"");
}

static void test_strict_doc(void **state)
{
    (void)state;
    ps_docv v;
    ps_docv_init(&v, PS_DOC_STRICT, 0);
    assert_int_equal(set(&v, "id", "a/1"), 0);
    assert_int_equal(set(&v, "body", "text"), 0);
    assert_int_equal(set(&v, "lang", "de"), 0);
    assert_int_equal(ps_docv_set(&v, "title", 5, PS_DOC_V_NULL, NULL, 0), 0);
    assert_int_equal(ps_docv_finish(&v), 0);
    assert_string_equal(ps_docv_reason(&v), "");
    size_t n = 0;
    assert_string_equal(ps_docv_get(&v, PS_DOC_ID, &n), "a/1");
    assert_int_equal(n, 3);
    assert_string_equal(ps_docv_get(&v, PS_DOC_LANG, NULL), "de");
    assert_null(ps_docv_get(&v, PS_DOC_TITLE, &n));
    assert_int_equal(n, 0);
    assert_null(ps_docv_get(&v, PS_DOC_DATE, NULL));
    ps_docv_clear(&v);

    /* Unknown key: refused, the id found later is still reported. */
    ps_docv_init(&v, PS_DOC_STRICT, 0);
    assert_int_equal(set(&v, "colour", "red"), -1);
    assert_int_equal(set(&v, "id", "k"), 0);
    assert_int_equal(set(&v, "body", "b"), 0);
    assert_int_equal(ps_docv_finish(&v), -1);
    assert_string_equal(ps_docv_reason(&v), "unknown key 'colour' (known: "
                        "id, title, body, lang, date, url)");
    assert_string_equal(ps_docv_get(&v, PS_DOC_ID, NULL), "k");
    assert_int_equal(v.unknown_ignored, 0);
    ps_docv_clear(&v);

    /* The first problem wins; a refused id is not reported. */
    ps_docv_init(&v, PS_DOC_STRICT, 0);
    assert_int_equal(ps_docv_set(&v, "body", 4, PS_DOC_V_OTHER, NULL, 0), -1);
    assert_int_equal(set(&v, "id", ""), -1);
    assert_int_equal(ps_docv_finish(&v), -1);
    assert_string_equal(ps_docv_reason(&v), "\"body\" must be a string");
    assert_null(ps_docv_get(&v, PS_DOC_ID, NULL));
    ps_docv_clear(&v);

    /* Keys that are not strings, repeated keys, missing keys. */
    ps_docv_init(&v, PS_DOC_STRICT, 0);
    assert_int_equal(ps_docv_set(&v, NULL, 0, PS_DOC_V_STR, "x", 1), -1);
    assert_int_equal(ps_docv_finish(&v), -1);
    assert_string_equal(ps_docv_reason(&v), "a key is not a valid string");
    ps_docv_clear(&v);
    ps_docv_init(&v, PS_DOC_STRICT, 0);
    assert_int_equal(ps_docv_set(&v, "\xff", 1, PS_DOC_V_STR, "x", 1), -1);
    assert_string_equal(ps_docv_reason(&v), "a key is not a valid string");
    ps_docv_clear(&v);
    ps_docv_init(&v, PS_DOC_STRICT, 0);
    assert_int_equal(ps_docv_set(&v, "title", 5, PS_DOC_V_NULL, NULL, 0), 0);
    assert_int_equal(set(&v, "title", "again"), -1);
    assert_string_equal(ps_docv_reason(&v), "\"title\" given twice");
    ps_docv_clear(&v);
    ps_docv_init(&v, PS_DOC_STRICT, 0);
    assert_int_equal(ps_docv_set(&v, "id", 2, PS_DOC_V_NULL, NULL, 0), 0);
    assert_int_equal(set(&v, "body", "b"), 0);
    assert_int_equal(ps_docv_finish(&v), -1);
    assert_string_equal(ps_docv_reason(&v), "missing \"id\"");
    ps_docv_clear(&v);
    ps_docv_init(&v, PS_DOC_STRICT, 0);
    assert_int_equal(set(&v, "id", "x"), 0);
    assert_int_equal(ps_docv_finish(&v), -1);
    assert_string_equal(ps_docv_reason(&v), "missing \"body\"");
    ps_docv_clear(&v);

    /* Strict: bad UTF-8 and NUL bytes are refused, never repaired. */
    ps_docv_init(&v, PS_DOC_STRICT, 100);
    assert_int_equal(set(&v, "id", "x"), 0);
    assert_int_equal(ps_docv_set(&v, "body", 4, PS_DOC_V_STR, "a\0b", 3), -1);
    assert_int_equal(ps_docv_finish(&v), -1);
    assert_string_equal(ps_docv_reason(&v),
                        "\"body\" is not valid UTF-8 or contains a NUL byte");
    assert_int_equal(v.nul_repaired, 0);
    ps_docv_clear(&v);
}

static void test_lenient_doc(void **state)
{
    (void)state;
    ps_docv v;
    ps_docv_init(&v, PS_DOC_LENIENT_UTF8 | PS_DOC_IGNORE_UNKNOWN, 0);
    assert_int_equal(set(&v, "id", "n"), 0);
    assert_int_equal(ps_docv_set(&v, "body", 4, PS_DOC_V_STR, "a\0b\xe9", 4), 0);
    assert_int_equal(ps_docv_set(&v, "tags", 4, PS_DOC_V_OTHER, NULL, 0), 0);
    assert_int_equal(set(&v, "author", "me"), 0);
    assert_int_equal(ps_docv_finish(&v), 0);
    size_t n = 0;
    assert_string_equal(ps_docv_get(&v, PS_DOC_BODY, &n), "a b\xef\xbf\xbd");
    assert_int_equal(n, 6);
    assert_int_equal(v.nul_repaired, 1);
    assert_int_equal(v.utf8_repaired, 1);
    assert_int_equal(v.unknown_ignored, 2);
    assert_string_equal(v.first_unknown, "'tags'");
    ps_docv_clear(&v);
    assert_int_equal(v.unknown_ignored, 0);

    /* Lenient is only about bytes and unknown keys: the rules stay. */
    ps_docv_init(&v, PS_DOC_LENIENT_UTF8 | PS_DOC_IGNORE_UNKNOWN, 0);
    assert_int_equal(set(&v, "id", "x"), 0);
    assert_int_equal(set(&v, "body", "b"), 0);
    assert_int_equal(set(&v, "lang", "zz"), -1);
    assert_int_equal(ps_docv_finish(&v), -1);
    assert_string_equal(ps_docv_reason(&v), "unsupported language code 'zz'");
    ps_docv_clear(&v);

    /* Only one flag: the other rule is strict. */
    ps_docv_init(&v, PS_DOC_IGNORE_UNKNOWN, 0);
    assert_int_equal(set(&v, "id", "x"), 0);
    assert_int_equal(set(&v, "body", "\xff"), -1);
    ps_docv_clear(&v);
    ps_docv_init(&v, PS_DOC_LENIENT_UTF8, 0);
    assert_int_equal(set(&v, "extra", "x"), -1);
    assert_string_equal(ps_docv_reason(&v), "unknown key 'extra' (known: "
                        "id, title, body, lang, date, url)");
    ps_docv_clear(&v);
}

static void test_whole_doc(void **state)
{
    (void)state;
    char why[PS_DOC_REASON_MAX];
    const char *ok[PS_DOC_NKEYS] = { "id", "T", "body", "en", "2024", NULL };
    assert_int_equal(ps_doc_check(ok, 0, why, sizeof why), 0);
    const char *nobody[PS_DOC_NKEYS] = { "id", NULL, NULL, NULL, NULL, NULL };
    assert_int_equal(ps_doc_check(nobody, 0, why, sizeof why), -1);
    assert_string_equal(why, "missing \"body\"");
    const char *big[PS_DOC_NKEYS] = { "id", NULL, "12345", NULL, NULL, NULL };
    assert_int_equal(ps_doc_check(big, 4, why, sizeof why), -1);
    assert_string_equal(why, "\"body\" is 5 bytes (at most 4 allowed: max_body)");
    const char *date[PS_DOC_NKEYS] = { "id", NULL, "b", NULL, "soon", NULL };
    assert_int_equal(ps_doc_check(date, 0, why, sizeof why), -1);
    assert_string_equal(why, "invalid ISO 8601 date 'soon'");
}

static void expect_repair(const char *in, size_t len, const char *out,
                          size_t nul, size_t bad)
{
    size_t gn = 99, gb = 99, glen = 0;
    char *r = ps_doc_text_repair(in, len, &gn, &gb, &glen);
    assert_non_null(r);
    assert_string_equal(r, out);
    assert_int_equal(glen, strlen(out));
    assert_int_equal(gn, nul);
    assert_int_equal(gb, bad);
    assert_true(ps_utf8_valid(r, glen));
    free(r);
}

static void test_repair(void **state)
{
    (void)state;
    expect_repair("sant\xc3\xa9", 6, "sant\xc3\xa9", 0, 0);
    expect_repair("x\xffy", 3, "x\xef\xbf\xbdy", 0, 1);
    expect_repair("a\0b\0", 4, "a b ", 2, 0);
    expect_repair("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 0, 2); /* overlong */
    expect_repair("\xed\xa0\x80", 3,                                 /* surrogate */
                  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0, 3);
    expect_repair("\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd", 0, 2);  /* cut */
    expect_repair("\xf0\x9f\x98\x80!", 5, "\xf0\x9f\x98\x80!", 0, 0);
    expect_repair("", 0, "", 0, 0);
    /* Counts are optional. */
    char *r = ps_doc_text_repair("\xe9", 1, NULL, NULL, NULL);
    assert_non_null(r);
    assert_string_equal(r, "\xef\xbf\xbd");
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_quote_cut),
        cmocka_unit_test(test_strict_doc),
        cmocka_unit_test(test_lenient_doc),
        cmocka_unit_test(test_whole_doc),
        cmocka_unit_test(test_repair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
