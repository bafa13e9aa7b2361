/* test_indexer_synonyms.c: the synonym file of polysearch-index
 * --synonyms (indexer/synonyms.c): good files, and a table of bad lines
 * with their FILE:LINE messages and exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "synonyms.h"

static int parse(const char *text, const syn_limits *lim, syn_file *f,
                 char *err, size_t errlen)
{
    syn_limits d;
    syn_limits_init(&d);
    return syn_parse("syn.txt", text, strlen(text), lim ? lim : &d, f, err,
                     errlen);
}

static void test_good(void **state)
{
    (void)state;
    syn_file f;
    char err[256] = "";
    const char *text =
        "\xef\xbb\xbf# comment\n"
        "\n"
        "PME = KMU = SME\r\n"
        "   # indented comment\n"
        "pôle de compétitivité=Kompetenzzentrum =  competitiveness cluster  \n"
        "santé = health";   /* no final newline */
    assert_int_equal(parse(text, NULL, &f, err, sizeof err), 0);
    assert_int_equal(f.n, 3);
    assert_int_equal(f.nmembers, 8);
    assert_int_equal(f.groups[0].n, 3);
    assert_string_equal(f.groups[0].members[2], "SME");
    assert_string_equal(f.groups[1].members[0], "pôle de compétitivité");
    assert_string_equal(f.groups[1].members[2], "competitiveness cluster");
    assert_string_equal(f.groups[2].members[1], "health");
    syn_file_free(&f);
    assert_int_equal(parse("", NULL, &f, err, sizeof err), 0);
    assert_int_equal(f.n, 0);
    syn_file_free(&f);
}

static void test_bad(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"a = b\nsolo\n", "syn.txt:2: fewer than 2 members"},
        {"a = \n", "syn.txt:1: member 2 is empty"},
        {"= a\n", "syn.txt:1: member 1 is empty"},
        {"a == b\n", "syn.txt:1: member 2 is empty"},
        {"a = ---\n", "syn.txt:1: member '---' has no word"},
        {"a = b\n\xff = c\n", "syn.txt:2: invalid UTF-8"},
        {"a = A\n", "syn.txt:1: 'a' is already a member of the group of "
                    "line 1"},
        {"pme = kmu\n# x\nPMÉ = sme\n", "syn.txt:3: 'pme' is already a "
                                       "member of the group of line 1"},
        {"a = one two three four five six seven eight nine\n",
         "syn.txt:1: member 2 is over"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        syn_file f;
        char err[256] = "";
        assert_int_equal(parse(cases[i].text, NULL, &f, err, sizeof err),
                         EX_DATAERR);
        if (strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu: got '%s', want '%s...'", i, err,
                     cases[i].msg);
        assert_int_equal(f.n, 0);
    }
}

static void test_limits(void **state)
{
    (void)state;
    syn_limits lim;
    syn_limits_init(&lim);
    lim.max_groups = 2;
    lim.max_members = 3;
    lim.max_member = 5;
    lim.max_file = 64;
    syn_file f;
    char err[256];
    assert_int_equal(parse("a = b\nc = d\ne = f\n", &lim, &f, err, sizeof err),
                     EX_DATAERR);
    assert_string_equal(err, "syn.txt:3: more than 2 groups");
    assert_int_equal(parse("a = b = c = d\n", &lim, &f, err, sizeof err),
                     EX_DATAERR);
    assert_string_equal(err, "syn.txt:1: 4 members, more than 3");
    assert_int_equal(parse("a = bcdefg\n", &lim, &f, err, sizeof err),
                     EX_DATAERR);
    assert_string_equal(err, "syn.txt:1: member 2 is 6 bytes, more than 5");
    char big[100];
    memset(big, '#', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(parse(big, &lim, &f, err, sizeof err), EX_DATAERR);
    assert_string_equal(err, "syn.txt: 99 bytes, more than 64");
    assert_int_equal(syn_load("/nonexistent/syn.txt", &lim, &f, err,
                              sizeof err), EX_NOINPUT);
    assert_non_null(strstr(err, "/nonexistent/syn.txt"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
