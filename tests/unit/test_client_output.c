/* test_client_output.c: the CLI's wrapping, bold spans, control-character
 * neutralisation, result rendering, JSON shape and exit-code mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"

#define B_ON "\033[1m"
#define B_OFF "\033[0m"

/* Runs cli_wrap into a string (caller frees); *lines gets its result. */
static char *wrap(const char *text, const ps_span *hl, uint32_t nhl, int width,
                  int indent, int max_lines, int bold, int *lines)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    int n = cli_wrap(f, text, hl, nhl, width, indent, max_lines, bold);
    fclose(f);
    if (lines)
        *lines = n;
    return buf;
}

/* Checks every line of s fits width columns (no ANSI in s). */
static void assert_lines_fit(const char *s, int width)
{
    const char *p = s;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        int w = cli_text_width(p, (size_t)(nl - p));
        if (w > width)
            fail_msg("line '%.*s' is %d columns (> %d)", (int)(nl - p), p, w,
                     width);
        p = nl + 1;
    }
}

static void test_wrap_plain(void **state)
{
    (void)state;
    const char *t = "the quick brown fox jumps over the lazy dog and keeps "
                    "running  through\tthe\nfield";
    int n;
    char *s = wrap(t, NULL, 0, 20, 2, 0, 0, &n);
    assert_lines_fit(s, 20);
    assert_int_equal(n, 5);
    assert_string_equal(s, "  the quick brown\n  fox jumps over the\n"
                           "  lazy dog and keeps\n  running through\n"
                           "  the field\n");
    free(s);
    s = wrap("", NULL, 0, 20, 2, 0, 0, &n);
    assert_int_equal(n, 0);
    assert_string_equal(s, "");
    free(s);
    s = wrap("   \n\t ", NULL, 0, 20, 2, 0, 0, &n);
    assert_int_equal(n, 0);
    free(s);
}

static void test_wrap_max_lines(void **state)
{
    (void)state;
    const char *t = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj";
    int n;
    char *s = wrap(t, NULL, 0, 12, 0, 2, 0, &n);
    assert_int_equal(n, 2);
    /* The second line is shortened to leave room for " \u2026". */
    assert_string_equal(s, "aaaa bbbb\ncccc dddd \xe2\x80\xa6\n");
    assert_lines_fit(s, 12);
    free(s);
    /* " \u2026" does not fit after "cccc dddd" at 10 columns. */
    s = wrap(t, NULL, 0, 10, 0, 2, 0, &n);
    assert_string_equal(s, "aaaa bbbb\ncccc \xe2\x80\xa6\n");
    free(s);
    /* Exactly two lines: no ellipsis. */
    s = wrap("aaaa bbbb cccc", NULL, 0, 10, 0, 2, 0, &n);
    assert_int_equal(n, 2);
    assert_string_equal(s, "aaaa bbbb\ncccc\n");
    free(s);
}

static void test_wrap_long_word(void **state)
{
    (void)state;
    int n;
    char *s = wrap("xxxxxxxxxxxxxxxxxxxxxxxxx end", NULL, 0, 10, 0, 0, 0, &n);
    assert_string_equal(s, "xxxxxxxxxx\nxxxxxxxxxx\nxxxxx end\n");
    free(s);
}

static void test_wrap_unicode_width(void **state)
{
    (void)state;
    /* "santé" is 5 columns though 6 bytes; CJK characters are 2 each. */
    assert_int_equal(cli_text_width("sant\xc3\xa9", 6), 5);
    assert_int_equal(cli_text_width("e\xcc\x81", 3), 1);
    assert_int_equal(cli_text_width("\xe5\x81\xa5\xe5\xba\xb7", 6), 4);
    int n;
    char *s = wrap("sant\xc3\xa9 sant\xc3\xa9", NULL, 0, 11, 0, 0, 0, &n);
    assert_int_equal(n, 1);
    free(s);
    s = wrap("\xe5\x81\xa5\xe5\xba\xb7\xe5\x81\xa5\xe5\xba\xb7\xe5\x81\xa5"
             "\xe5\xba\xb7", NULL, 0, 10, 0, 0, 0, &n);
    assert_lines_fit(s, 10);
    /* Invalid UTF-8 neither crashes nor loops. */
    free(s);
    s = wrap("ab\xff\xfe cd \xc3", NULL, 0, 10, 0, 0, 0, &n);
    assert_int_equal(n, 1);
    free(s);
}

static void test_wrap_bold(void **state)
{
    (void)state;
    const char *t = "health cluster in Lyon";
    ps_span hl[] = { { 0, 6 }, { 18, 4 } };
    int n;
    char *s = wrap(t, hl, 2, 80, 0, 0, 1, &n);
    assert_string_equal(s, B_ON "health" B_OFF " cluster in " B_ON "Lyon"
                           B_OFF "\n");
    free(s);
    /* Same spans, not a tty: plain. */
    s = wrap(t, hl, 2, 80, 0, 0, 0, &n);
    assert_string_equal(s, "health cluster in Lyon\n");
    free(s);
    /* A span over a line break is closed before the newline. */
    ps_span across[] = { { 7, 10 } }; /* "cluster in" */
    s = wrap(t, across, 1, 14, 0, 0, 1, &n);
    assert_string_equal(s, "health " B_ON "cluster" B_OFF "\n" B_ON "in"
                           B_OFF " Lyon\n");
    free(s);
    /* Out-of-range spans are ignored, never read past the text. */
    ps_span wild[] = { { 5, UINT32_MAX }, { 1000, 2 }, { 22, 0 } };
    s = wrap(t, wild, 3, 80, 0, 0, 1, &n);
    assert_string_equal(s, "health cluster in Lyon\n");
    free(s);
    /* A span inside a multibyte character does not split it. */
    ps_span mid[] = { { 5, 1 } };
    s = wrap("sant\xc3\xa9", mid, 1, 80, 0, 0, 1, &n);
    assert_non_null(strstr(s, "\xc3\xa9"));
    free(s);
}

static void test_control_chars(void **state)
{
    (void)state;
    int n;
    char *s = wrap("evil\033[31mred\a bell", NULL, 0, 80, 0, 0, 0, &n);
    assert_null(strchr(s, '\033'));
    assert_null(strchr(s, '\a'));
    free(s);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_put_safe(f, "t\033]0;pwned\a\xc2\x9b" "x");
    cli_put_safe(f, NULL);
    fclose(f);
    assert_string_equal(buf, "t ]0;pwned  x");
    free(buf);
}

static ps_results *sample_results(int nhits, const char *suggestion)
{
    ps_results_builder *b = ps_results_builder_new();
    assert_non_null(b);
    ps_span hl[] = { { 0, 5 } };
    if (nhits > 0) {
        assert_int_equal(ps_results_builder_add_hit(
                             b, "000_a", "Lyonbiop\xc3\xb4le, un hub sant\xc3\xa9",
                             "fr", "2021-05-04", NULL,
                             "sant\xc3\xa9 et innovation", 12.5, 1, hl, 1),
                         PS_OK);
        assert_int_equal(ps_results_builder_add_hit(b, "004_b", "bioXclusters",
                                                    "en", NULL, "http://x/",
                                                    "", 3.25, 2, NULL, 0),
                         PS_OK);
        assert_int_equal(ps_results_builder_add_facet(b, "fr", 3), PS_OK);
    }
    ps_results *r = ps_results_builder_finish(b, nhits ? 7 : 0, suggestion,
                                              1500);
    assert_non_null(r);
    return r;
}

static char *render(const ps_results *r, int bold)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_style st = { 80, bold };
    cli_print_results(f, r, 0, &st);
    fclose(f);
    return buf;
}

static void test_print_results(void **state)
{
    (void)state;
    ps_results *r = sample_results(2, NULL);
    char *s = render(r, 0);
    assert_non_null(strstr(s, "7 hits, showing 1-2 (1.50 ms)\n"));
    assert_non_null(strstr(s, "languages: fr 3\n"));
    assert_non_null(strstr(s, "\n1. Lyonbiop\xc3\xb4le, un hub sant\xc3\xa9\n"
                              "   id: 000_a | lang: fr | date: 2021-05-04 | "
                              "score: 12.500\n   sant\xc3\xa9 et innovation\n"));
    assert_non_null(strstr(s, "\n2. bioXclusters\n   id: 004_b | lang: en | "
                              "score: 3.250\n   url: http://x/\n"));
    assert_null(strchr(s, '\033'));
    free(s);
    s = render(r, 1);
    assert_non_null(strstr(s, B_ON "sant\xc3\xa9" B_OFF " et"));
    assert_non_null(strstr(s, "1. " B_ON "Lyonbiop"));
    free(s);
    ps_results_free(r);

    r = sample_results(0, "lyonbiopole");
    s = render(r, 0);
    assert_string_equal(s, "0 hits (1.50 ms)\ndid you mean: lyonbiopole\n");
    free(s);
    ps_results_free(r);
    r = sample_results(0, NULL);
    s = render(r, 0);
    assert_string_equal(s, "0 hits (1.50 ms)\n");
    free(s);
    ps_results_free(r);
}

static void test_results_json(void **state)
{
    (void)state;
    ps_results *r = sample_results(2, NULL);
    json_t *j = cli_results_json(r);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 7);
    assert_int_equal(json_integer_value(json_object_get(j, "took_us")), 1500);
    json_t *h0 = json_array_get(json_object_get(j, "hits"), 0);
    assert_string_equal(json_string_value(json_object_get(h0, "id")), "000_a");
    assert_string_equal(json_string_value(json_object_get(h0, "date")),
                        "2021-05-04");
    assert_null(json_object_get(h0, "url"));
    assert_int_equal(json_integer_value(json_object_get(h0, "rank")), 1);
    assert_true(json_real_value(json_object_get(h0, "score")) == 12.5);
    json_t *span = json_array_get(json_object_get(h0, "highlights"), 0);
    assert_int_equal(json_integer_value(json_array_get(span, 1)), 5);
    json_t *h1 = json_array_get(json_object_get(j, "hits"), 1);
    assert_null(json_object_get(h1, "date"));
    assert_string_equal(json_string_value(json_object_get(h1, "url")),
                        "http://x/");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(j, "facets"), "lang"),
                         "fr")),
                     3);
    assert_null(json_object_get(j, "suggestion"));
    json_decref(j);
    ps_results_free(r);
}

static void test_term_and_bold(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    setenv("COLUMNS", "100", 1);
    assert_int_equal(cli_term_width(p[1]), 100);
    setenv("COLUMNS", "abc", 1);
    assert_int_equal(cli_term_width(p[1]), 80);
    setenv("COLUMNS", "5", 1);
    assert_int_equal(cli_term_width(p[1]), 80);
    unsetenv("COLUMNS");
    assert_int_equal(cli_term_width(p[1]), 80);
    assert_int_equal(cli_use_bold(p[1]), 0);
    setenv("NO_COLOR", "1", 1);
    assert_int_equal(cli_use_bold(p[1]), 0);
    unsetenv("NO_COLOR");
    close(p[0]);
    close(p[1]);
}

static void test_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(cli_exit_for(PSC_OK, NULL), 0);
    assert_int_equal(cli_exit_for(PSC_ERR_INVALID, NULL), EX_USAGE);
    assert_int_equal(cli_exit_for(PSC_ERR_CONNECT, NULL), EX_UNAVAILABLE);
    assert_int_equal(cli_exit_for(PSC_ERR_TIMEOUT, NULL), EX_TEMPFAIL);
    assert_int_equal(cli_exit_for(PSC_ERR_PROTOCOL, NULL), EX_PROTOCOL);
    assert_int_equal(cli_exit_for(PSC_ERR_SERVER, "query_syntax"), EX_DATAERR);
    assert_int_equal(cli_exit_for(PSC_ERR_SERVER, "too_many_terms"),
                     EX_DATAERR);
    assert_int_equal(cli_exit_for(PSC_ERR_SERVER, "not_found"), EX_NOINPUT);
    assert_int_equal(cli_exit_for(PSC_ERR_SERVER, "timeout"), EX_TEMPFAIL);
    assert_int_equal(cli_exit_for(PSC_ERR_SERVER, "busy"), EX_TEMPFAIL);
    assert_int_equal(cli_exit_for(PSC_ERR_SERVER, "internal"), EX_SOFTWARE);
    assert_int_equal(cli_exit_for(PSC_ERR_SERVER, "whatever"), EX_SOFTWARE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrap_plain),
        cmocka_unit_test(test_wrap_max_lines),
        cmocka_unit_test(test_wrap_long_word),
        cmocka_unit_test(test_wrap_unicode_width),
        cmocka_unit_test(test_wrap_bold),
        cmocka_unit_test(test_control_chars),
        cmocka_unit_test(test_print_results),
        cmocka_unit_test(test_results_json),
        cmocka_unit_test(test_term_and_bold),
        cmocka_unit_test(test_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
