/* test_tokenfile.c: a client program's access token (lib/wire/tokenfile.c:
 * --token-file FILE and $POLYSEARCH_TOKEN of polysearch and
 * polysearch-index --server): the file's first line trimmed, the daemon's
 * rules on the file's type, owner and mode, the token's characters and
 * length, the variable, and no message ever quoting a token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <cmocka.h>

#include "tokenfile.h"

#define TOK "Z2F0ZXdheS1pbmRleGVyLTIwMjYtMTItMDM"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/pstok-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/token", dir);
    unsetenv(PS_TOKEN_ENV);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    unsetenv(PS_TOKEN_ENV);
    return 0;
}

/* Writes len bytes of text to path with mode. */
static void put(const char *text, size_t len, mode_t mode)
{
    unlink(path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void puts0(const char *text, mode_t mode)
{
    put(text, strlen(text), mode);
}

/* Reads path; expects rc, and then the token want (rc 0) or a message
 * holding needle and no secret. */
static void expect(int want_rc, const char *want, const char *needle,
                   const char *secret)
{
    char *t = (char *)"junk";
    char err[512] = "";
    int rc = ps_token_read_file(path, &t, err, sizeof err);
    if (rc != want_rc)
        fail_msg("exit %d, want %d: %s", rc, want_rc, err);
    if (rc == 0) {
        assert_non_null(t);
        assert_string_equal(t, want);
        ps_token_free(t);
        return;
    }
    assert_null(t);
    if (needle && strstr(err, needle) == NULL)
        fail_msg("message lacks '%s': %s", needle, err);
    assert_non_null(strstr(err, path));
    if (secret && strstr(err, secret) != NULL)
        fail_msg("message quotes the token: %s", err);
}

static void test_first_line_trimmed(void **state)
{
    (void)state;
    puts0(TOK "\n", 0600);
    expect(0, TOK, NULL, NULL);
    puts0(TOK, 0400);                         /* no newline; read-only */
    expect(0, TOK, NULL, NULL);
    puts0(" \t" TOK " \t\r\nsecond line is ignored\n", 0600);
    expect(0, TOK, NULL, NULL);
    /* Every visible ASCII character is allowed; 16 and 512 characters. */
    puts0("!\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~\n", 0600);
    expect(0, "!\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~", NULL, NULL);
    puts0("0123456789abcdef\n", 0600);
    expect(0, "0123456789abcdef", NULL, NULL);
    char big[PS_TOKEN_MAX + 2];
    memset(big, 'x', PS_TOKEN_MAX);
    big[PS_TOKEN_MAX] = '\n';
    big[PS_TOKEN_MAX + 1] = '\0';
    puts0(big, 0600);
    big[PS_TOKEN_MAX] = '\0';
    expect(0, big, NULL, NULL);
}

static void test_mode_refused(void **state)
{
    (void)state;
    static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0606, 0610,
                                    0601, 0620, 0602 };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        puts0(TOK "\n", modes[i]);
        expect(EX_CONFIG, NULL, "chmod 600", TOK);
    }
    puts0(TOK "\n", 0644);
    expect(EX_CONFIG, NULL, "group or others (mode 0644)", TOK);
}

static void test_not_a_file(void **state)
{
    (void)state;
    unlink(path);
    expect(EX_NOINPUT, NULL, "cannot open", NULL);
    assert_int_equal(mkdir(path, 0700), 0);
    expect(EX_CONFIG, NULL, "not a regular file", NULL);
    assert_int_equal(rmdir(path), 0);
}

static void test_owner(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();         /* only root can give a file to another user */
    puts0(TOK "\n", 0600);
    assert_int_equal(chown(path, 54321, (gid_t)-1), 0);
    expect(EX_CONFIG, NULL, "owned by uid 54321", TOK);
}

static void test_bad_tokens(void **state)
{
    (void)state;
    puts0("", 0600);
    expect(EX_CONFIG, NULL, "is empty", NULL);
    puts0("\n" TOK "\n", 0600);               /* the token is not first */
    expect(EX_CONFIG, NULL, "is empty", TOK);
    puts0("  \t\r\n", 0600);
    expect(EX_CONFIG, NULL, "is empty", NULL);
    /* polysearchd's own file given by mistake: neither a comment line nor
     * "ROLE TOKEN" is quoted. */
    puts0("# polysearchd tokens: one ROLE TOKEN per line\nread " TOK "\n",
          0600);
    expect(EX_CONFIG, NULL, "blank", "polysearchd tokens");
    puts0("read " TOK "\n", 0600);
    expect(EX_CONFIG, NULL, "byte 5 is a blank", TOK);
    puts0(TOK " read\n", 0600);
    expect(EX_CONFIG, NULL, "not a token", TOK);
    puts0("0123456789abcde\n", 0600);        /* 15 characters */
    expect(EX_CONFIG, NULL, "15 characters", "0123456789abcde");
    char big[PS_TOKEN_MAX + 2];
    memset(big, 'x', PS_TOKEN_MAX + 1);
    big[PS_TOKEN_MAX + 1] = '\0';
    puts0(big, 0600);
    expect(EX_CONFIG, NULL, "513 characters", big);
    puts0("caf\xc3\xa9-0123456789abcdef\n", 0600);
    expect(EX_CONFIG, NULL, "not ASCII", "caf\xc3\xa9");
    put(TOK "\0" "rest\n", sizeof TOK + 5, 0600);
    expect(EX_CONFIG, NULL, "control character", TOK);
}

static void test_too_large(void **state)
{
    (void)state;
    size_t n = PS_TOKEN_FILE_MAX + 10;
    char *text = malloc(n);
    assert_non_null(text);
    memset(text, '#', n);
    memcpy(text, TOK "\n", sizeof TOK);
    put(text, n, 0600);
    free(text);
    expect(EX_CONFIG, NULL, "larger than", TOK);
}

static void test_env(void **state)
{
    (void)state;
    char *t = (char *)"junk";
    char err[512] = "";
    /* Nothing: no token, no error. */
    assert_int_equal(ps_token_get(NULL, &t, err, sizeof err), 0);
    assert_null(t);
    setenv(PS_TOKEN_ENV, "", 1);
    assert_int_equal(ps_token_get(NULL, &t, err, sizeof err), 0);
    assert_null(t);
    /* The variable, trimmed. */
    setenv(PS_TOKEN_ENV, " " TOK "\r\n", 1);
    assert_int_equal(ps_token_get(NULL, &t, err, sizeof err), 0);
    assert_non_null(t);
    assert_string_equal(t, TOK);
    ps_token_free(t);
    /* A bad one: EX_CONFIG naming the variable, not quoting it. */
    setenv(PS_TOKEN_ENV, "read " TOK, 1);
    assert_int_equal(ps_token_get(NULL, &t, err, sizeof err), EX_CONFIG);
    assert_null(t);
    assert_non_null(strstr(err, "$" PS_TOKEN_ENV));
    assert_null(strstr(err, TOK));
    /* --token-file wins over the variable, and its rules apply. */
    puts0("file-0123456789abcdef\n", 0600);
    setenv(PS_TOKEN_ENV, TOK, 1);
    assert_int_equal(ps_token_get(path, &t, err, sizeof err), 0);
    assert_string_equal(t, "file-0123456789abcdef");
    ps_token_free(t);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(ps_token_get(path, &t, err, sizeof err), EX_CONFIG);
    assert_null(t);
    assert_non_null(strstr(err, "chmod 600"));
    ps_token_free(NULL);
}

static void test_check(void **state)
{
    (void)state;
    char why[200];
    assert_int_equal(ps_token_check(TOK, strlen(TOK), why, sizeof why), 0);
    assert_int_equal(ps_token_check("", 0, why, sizeof why), -1);
    assert_int_equal(ps_token_check(TOK " ", strlen(TOK) + 1, why,
                                    sizeof why), -1);
    assert_int_equal(ps_token_check("\x7f" TOK, strlen(TOK) + 1, why,
                                    sizeof why), -1);
    /* A tiny message buffer truncates, never overflows. */
    char tiny[8];
    assert_int_equal(ps_token_check("short", 5, tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_line_trimmed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mode_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
