/* Unit tests for indexer/jsonl.c (line reader and line parser, with the
 * lenient file rules) and indexer/text.c (UTF-8 checks, binary
 * detection). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "jsonl.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static jsonl_parse_status parse(const char *line, jsonl_doc *d, char *err)
{
    return jsonl_parse_line(line, strlen(line), JSONL_FILE_RULES, d, err,
                            256);
}

static void test_parse_full(void **state)
{
    (void)state;
    jsonl_doc d;
    char err[256];
    assert_int_equal(parse("{\"id\":\"a/1\",\"title\":\"Santé\",\"body\":"
                           "\"x y\",\"lang\":\"fr\",\"date\":\"2020-01-02\","
                           "\"url\":\"http://e/\",\"extra\":[1,2]}", &d, err),
                     JSONL_DOC);
    assert_string_equal(d.id, "a/1");
    assert_string_equal(d.title, "Santé");
    assert_string_equal(d.body, "x y");
    assert_string_equal(d.lang, "fr");
    assert_string_equal(d.date, "2020-01-02");
    assert_string_equal(d.url, "http://e/");
    assert_int_equal(d.nul_repaired, 0);
    assert_int_equal(d.utf8_repaired, 0);
    assert_int_equal(d.unknown_ignored, 1);         /* "extra", skipped */
    assert_string_equal(d.first_unknown, "'extra'");
    jsonl_doc_clear(&d);
    assert_null(d.id);
}

/* The same reader with the network's strict rules refuses what the file
 * rules repair or skip. */
static void test_parse_strict(void **state)
{
    (void)state;
    jsonl_doc d;
    char err[256];
    const char *extra = "{\"id\":\"x\",\"body\":\"b\",\"tags\":[1]}";
    assert_int_equal(jsonl_parse_line(extra, strlen(extra), PS_DOC_STRICT,
                                      &d, err, sizeof err), JSONL_BAD);
    assert_string_equal(err, "unknown key 'tags' (known: id, title, body, "
                        "lang, date, url)");
    const char *nul = "{\"id\":\"x\",\"body\":\"a\\u0000b\"}";
    assert_int_equal(jsonl_parse_line(nul, strlen(nul), PS_DOC_STRICT, &d,
                                      err, sizeof err), JSONL_BAD);
    assert_string_equal(err, "\"body\" is not valid UTF-8 or contains a "
                        "NUL byte");
    const char *lang = "{\"id\":\"x\",\"body\":\"b\",\"lang\":\"zz\"}";
    assert_int_equal(parse(lang, &d, err), JSONL_BAD);    /* file rules too */
    assert_string_equal(err, "unsupported language code 'zz'");
}

static void test_parse_optional(void **state)
{
    (void)state;
    jsonl_doc d;
    char err[256];
    assert_int_equal(parse("  {\"id\":\"x\",\"body\":\"b\",\"title\":null}\r",
                           &d, err), JSONL_DOC);
    assert_string_equal(d.id, "x");
    assert_null(d.title);
    assert_null(d.lang);
    assert_null(d.date);
    assert_null(d.url);
    jsonl_doc_clear(&d);
}

static void expect_bad(const char *line, const char *reason)
{
    jsonl_doc d;
    char err[256];
    assert_int_equal(parse(line, &d, err), JSONL_BAD);
    if (strstr(err, reason) == NULL)
        fail_msg("line %s: reason '%s' lacks '%s'", line, err, reason);
    assert_null(d.id);
    assert_null(d.body);
}

static void test_parse_bad(void **state)
{
    (void)state;
    expect_bad("{\"id\":\"x\",\"body\":", "invalid JSON");
    expect_bad("{\"id\":\"x\" \"body\":\"b\"}", "invalid JSON");
    expect_bad("[1,2]", "not a JSON object");
    expect_bad("\"str\"", "invalid JSON");
    expect_bad("{\"body\":\"b\"}", "missing \"id\"");
    expect_bad("{\"id\":\"\",\"body\":\"b\"}", "empty \"id\"");
    expect_bad("{\"id\":7,\"body\":\"b\"}", "\"id\" must be a string");
    expect_bad("{\"id\":\"x\"}", "missing \"body\"");
    expect_bad("{\"id\":\"x\",\"body\":\"b\",\"lang\":3}",
               "\"lang\" must be a string");
    expect_bad("{\"id\":\"x\",\"id\":\"y\",\"body\":\"b\"}", "invalid JSON");

    char line[600];
    char id[301];
    memset(id, 'i', 300);
    id[300] = '\0';
    snprintf(line, sizeof line, "{\"id\":\"%s\",\"body\":\"b\"}", id);
    expect_bad(line, "300 bytes");
    id[240] = '\0';             /* exactly the limit is fine */
    snprintf(line, sizeof line, "{\"id\":\"%s\",\"body\":\"b\"}", id);
    jsonl_doc d;
    char err[256];
    assert_int_equal(parse(line, &d, err), JSONL_DOC);
    jsonl_doc_clear(&d);
}

static void test_parse_blank(void **state)
{
    (void)state;
    jsonl_doc d;
    char err[256];
    assert_int_equal(parse("", &d, err), JSONL_BLANK);
    assert_int_equal(parse("  \t \r", &d, err), JSONL_BLANK);
}

static void test_parse_repairs(void **state)
{
    (void)state;
    jsonl_doc d;
    char err[256];
    /* An escaped NUL inside a string. */
    assert_int_equal(parse("{\"id\":\"n\",\"body\":\"a\\u0000b\"}", &d, err),
                     JSONL_DOC);
    assert_string_equal(d.body, "a b");
    assert_int_equal(d.nul_repaired, 1);
    jsonl_doc_clear(&d);
    /* Raw NUL bytes, inside a string and between tokens. */
    static const char raw[] = "{\"id\":\"n\",\0\"body\":\"a\0b\"}";
    assert_int_equal(jsonl_parse_line(raw, sizeof raw - 1, JSONL_FILE_RULES,
                                      &d, err, 256), JSONL_DOC);
    assert_string_equal(d.body, "a b");
    assert_int_equal(d.nul_repaired, 2);
    jsonl_doc_clear(&d);
    /* Invalid UTF-8 (Latin-1 'é') becomes U+FFFD. */
    assert_int_equal(parse("{\"id\":\"u\",\"body\":\"sant\xe9\"}", &d, err),
                     JSONL_DOC);
    assert_string_equal(d.body, "sant\xef\xbf\xbd");
    assert_int_equal(d.utf8_repaired, 1);
    jsonl_doc_clear(&d);
}

/* ---- the line reader, fed through a pipe ------------------------------ */

typedef struct got_line {
    int status;
    uint64_t lineno;
    char text[64];
} got_line;

/* Writes data into a pipe (it must fit in the pipe buffer), reads every
 * line back with max_line; returns the count. */
static int read_all(const char *data, size_t len, size_t max_line,
                    got_line *out, int max)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], data, len), (ssize_t)len);
    close(fds[1]);
    jsonl_reader *r = jsonl_reader_new(fds[0], max_line);
    assert_non_null(r);
    int n = 0;
    for (;;) {
        const char *line;
        size_t l;
        uint64_t no;
        jsonl_next_status st = jsonl_next(r, &line, &l, &no);
        if (st == JSONL_EOF)
            break;
        assert_true(n < max);
        out[n].status = (int)st;
        out[n].lineno = no;
        out[n].text[0] = '\0';
        if (st == JSONL_LINE) {
            assert_int_equal(line[l], '\0');
            snprintf(out[n].text, sizeof out[n].text, "%.*s", (int)l, line);
        }
        n++;
    }
    assert_int_equal(jsonl_bytes_read(r), len);
    jsonl_reader_free(r);
    close(fds[0]);
    return n;
}

static void test_reader_lines(void **state)
{
    (void)state;
    got_line g[8];
    const char *data = "one\r\ntwo\n\nlast";
    int n = read_all(data, strlen(data), 100, g, 8);
    assert_int_equal(n, 4);
    assert_string_equal(g[0].text, "one");
    assert_string_equal(g[1].text, "two");
    assert_string_equal(g[2].text, "");
    assert_string_equal(g[3].text, "last");
    assert_int_equal(g[3].lineno, 4);
}

static void test_reader_too_long(void **state)
{
    (void)state;
    /* A line far longer than the cap and than the reader's 64 KiB chunk,
     * between two short lines. */
    size_t big = 200000;
    char *data = malloc(big + 32);
    assert_non_null(data);
    strcpy(data, "a\n");
    memset(data + 2, 'x', big);
    strcpy(data + 2 + big, "\nb\n");
    size_t len = strlen(data);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {             /* writer: the pipe buffer is too small */
        close(fds[0]);
        ssize_t w = write(fds[1], data, len);
        _exit(w == (ssize_t)len ? 0 : 1);
    }
    close(fds[1]);
    jsonl_reader *r = jsonl_reader_new(fds[0], 1000);
    assert_non_null(r);
    const char *line;
    size_t l;
    uint64_t no;
    assert_int_equal(jsonl_next(r, &line, &l, &no), JSONL_LINE);
    assert_string_equal(line, "a");
    assert_int_equal(jsonl_next(r, &line, &l, &no), JSONL_TOO_LONG);
    assert_int_equal(no, 2);
    assert_int_equal(jsonl_next(r, &line, &l, &no), JSONL_LINE);
    assert_string_equal(line, "b");
    assert_int_equal(no, 3);
    assert_int_equal(jsonl_next(r, &line, &l, &no), JSONL_EOF);
    jsonl_reader_free(r);
    close(fds[0]);
    free(data);

    /* A line just over the cap that arrives in one read. */
    got_line g[4];
    const char *d2 = "12345\n123456\n1234\n";
    int n = read_all(d2, strlen(d2), 5, g, 4);
    assert_int_equal(n, 3);
    assert_int_equal(g[0].status, JSONL_LINE);
    assert_int_equal(g[1].status, JSONL_TOO_LONG);
    assert_int_equal(g[2].status, JSONL_LINE);
    assert_string_equal(g[2].text, "1234");
    /* Too long and unterminated at EOF. */
    n = read_all("ok\n1234567", 10, 5, g, 4);
    assert_int_equal(n, 2);
    assert_int_equal(g[1].status, JSONL_TOO_LONG);
}

/* ---- text.c ----------------------------------------------------------- */

static void test_text(void **state)
{
    (void)state;
    /* Byte counts of invalid UTF-8: tests/unit/test_utf8.c. */
    assert_false(text_looks_binary("", 0));
    assert_false(text_looks_binary("hello", 5));
    assert_true(text_looks_binary("he\0llo", 6));
    char latin1[100];
    memset(latin1, 'a', sizeof latin1);
    latin1[10] = (char)0xe9;            /* a few Latin-1 bytes: text */
    latin1[50] = (char)0xe8;
    assert_false(text_looks_binary(latin1, sizeof latin1));
    char noise[100];
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (char)(0x80 + (i * 37) % 0x7f);
    assert_true(text_looks_binary(noise, sizeof noise));
    /* The repair of NUL bytes and invalid UTF-8 is ps_doc_text_repair(),
     * tested in test_docvalid. */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_parse_optional),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_parse_strict),
        cmocka_unit_test(test_parse_blank),
        cmocka_unit_test(test_parse_repairs),
        cmocka_unit_test(test_reader_lines),
        cmocka_unit_test(test_reader_too_long),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
