/* Unit tests of access control: the token file parser and loader
 * (searchd/auth.c: format, refusals, mode and owner checks, no token
 * quoted in a message), token matching, the role table and the exposure
 * check of searchd/access.c, and the --auth-token-file option. */
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

#include "access.h"
#include "auth.h"
#include "config.h"
#include "stats.h"

#define R16 "read-0123456789abcdef"
#define W16 "write-0123456789abcdef"
#define A16 "admin-0123456789abcdef"

static auth_tokens *parse_ok(const char *text)
{
    auth_tokens *t = NULL;
    char err[512];
    int rc = auth_tokens_parse(text, strlen(text), "F", &t, err, sizeof err);
    if (rc != 0) fprintf(stderr, "unexpected refusal: %s\n", err);
    assert_int_equal(rc, 0);
    assert_non_null(t);
    return t;
}

/* Refused; the message names the file and line, and quotes no word of
 * the text longer than 5 bytes (so no token, whatever its place). */
static void parse_bad(const char *text, const char *want, const char *secret)
{
    auth_tokens *t = (auth_tokens *)1;
    char err[512];
    assert_int_equal(auth_tokens_parse(text, strlen(text), "F", &t, err,
                                       sizeof err), -1);
    assert_null(t);
    if (!strstr(err, want)) fail_msg("message %s lacks %s", err, want);
    if (secret) assert_null(strstr(err, secret));
}

static void test_parse_format(void **state)
{
    (void)state;
    auth_tokens *t = parse_ok("# comment\n\n  # indented comment\n"
                              "read " R16 "\n"
                              "write\t" W16 "  \r\n"
                              "  admin   " A16);      /* no final newline */
    assert_int_equal(auth_tokens_count(t), 3);
    assert_int_equal(auth_tokens_match(t, R16, strlen(R16), NULL), AUTH_READ);
    assert_int_equal(auth_tokens_match(t, W16, strlen(W16), NULL), AUTH_WRITE);
    assert_int_equal(auth_tokens_match(t, A16, strlen(A16), NULL), AUTH_ADMIN);
    /* prefixes, extensions, case, empty, NUL inside: none match */
    assert_int_equal(auth_tokens_match(t, R16, strlen(R16) - 1, NULL), AUTH_NONE);
    assert_int_equal(auth_tokens_match(t, R16 "x", strlen(R16) + 1, NULL), AUTH_NONE);
    assert_int_equal(auth_tokens_match(t, "READ-0123456789abcdef", strlen(R16), NULL),
                     AUTH_NONE);
    assert_int_equal(auth_tokens_match(t, "", 0, NULL), AUTH_NONE);
    assert_int_equal(auth_tokens_match(t, R16 "\0x", strlen(R16) + 2, NULL), AUTH_NONE);
    char big[5000];
    memset(big, 'r', sizeof big);
    assert_int_equal(auth_tokens_match(t, big, sizeof big, NULL), AUTH_NONE);
    assert_int_equal(auth_tokens_match(NULL, R16, strlen(R16), NULL), AUTH_NONE);
    auth_tokens_free(t);
    auth_tokens_free(NULL);
    /* A 16-character token is the shortest, 512 the longest. */
    t = parse_ok("read 0123456789abcdef\n");
    auth_tokens_free(t);
    char line[600] = "admin ";
    memset(line + 6, 'Z', 512);
    line[6 + 512] = '\0';
    t = parse_ok(line);
    assert_int_equal(auth_tokens_match(t, line + 6, 512, NULL), AUTH_ADMIN);
    auth_tokens_free(t);
    /* Many tokens (the table grows). */
    char many[64 * 40] = "";
    for (int i = 0; i < 40; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many),
                 "read token-number-%04d\n", i);
    t = parse_ok(many);
    assert_int_equal(auth_tokens_count(t), 40);
    assert_int_equal(auth_tokens_match(t, "token-number-0039", 17, NULL), AUTH_READ);
    auth_tokens_free(t);
}

static void test_owner(void **state)
{
    (void)state;
    auth_tokens *t = parse_ok("read " R16 "\nread " W16 "\nadmin " A16 "\n");
    char a[AUTH_OWNER_LEN + 1], b[AUTH_OWNER_LEN + 1], c[AUTH_OWNER_LEN + 1];
    assert_int_equal(auth_tokens_match(t, R16, strlen(R16), a), AUTH_READ);
    assert_int_equal(strlen(a), AUTH_OWNER_LEN);
    assert_int_equal(strspn(a, "0123456789abcdef"), AUTH_OWNER_LEN);
    /* The same token, the same owner (also from another table: a reload);
     * another token, another owner; no token, none. */
    auth_tokens *t2 = parse_ok("admin " A16 "\nread " R16 "\n");
    assert_int_equal(auth_tokens_match(t2, R16, strlen(R16), b), AUTH_READ);
    assert_string_equal(a, b);
    assert_int_equal(auth_tokens_match(t, W16, strlen(W16), c), AUTH_READ);
    assert_string_not_equal(a, c);
    assert_int_equal(auth_tokens_match(t, "no-such-token-0123", 18, c), AUTH_NONE);
    assert_string_equal(c, "");
    assert_int_equal(auth_tokens_match(NULL, R16, strlen(R16), c), AUTH_NONE);
    assert_string_equal(c, "");
    /* Neither the token nor its hex in the id. */
    assert_null(strstr(a, R16));
    auth_tokens_free(t);
    auth_tokens_free(t2);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    parse_bad("", "no token", NULL);
    parse_bad("# only comments\n\n", "no token", NULL);
    parse_bad("read abc12\n", "F:1: the token is too short", "abc12");
    char line[700] = "read ";
    memset(line + 5, 'x', 513);
    line[5 + 513] = '\0';
    parse_bad(line, "too long", NULL);
    /* A line written the wrong way round: the token is never quoted. */
    parse_bad("\n" R16 " read\n", "F:2: a line must be \"ROLE TOKEN\"", R16);
    parse_bad("reader " R16 "\n", "F:1:", R16);
    parse_bad("READ " R16 "\n", "F:1:", R16);
    parse_bad("write\n", "F:1: write role without a token", NULL);
    parse_bad("read " R16 " extra\n", "more than two words", R16);
    parse_bad("read " R16 "\nwrite " R16 "\n", "F:2: the same token as line 1", R16);
    parse_bad("read tok\x01" "0123456789abcdef\n", "not visible ASCII", "0123456789");
    parse_bad("read t\xc3\xa9" "0123456789abcdef\n", "not visible ASCII", "0123456789");
    static const char nul[] = "read 0123456789abcdef\n\0read x";
    auth_tokens *t = (auth_tokens *)1;
    char err[256];
    assert_int_equal(auth_tokens_parse(nul, sizeof nul - 1, "F", &t, err,
                                       sizeof err), -1);
    assert_non_null(strstr(err, "F:2: a NUL byte"));
}

static char tmpdir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pstauthXXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char p[128];
    const char *names[] = {"ok", "open", "dir"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        unlink(p);
        rmdir(p);
    }
    return rmdir(tmpdir);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_load_modes(void **state)
{
    (void)state;
    char p[128], err[512];
    auth_tokens *t = NULL;
    snprintf(p, sizeof p, "%s/ok", tmpdir);
    write_file(p, "write " W16 "\n", 0600);
    assert_int_equal(auth_tokens_load(p, &t, err, sizeof err), 0);
    assert_int_equal(auth_tokens_match(t, W16, strlen(W16), NULL), AUTH_WRITE);
    auth_tokens_free(t);
    assert_int_equal(chmod(p, 0400), 0);
    assert_int_equal(auth_tokens_load(p, &t, err, sizeof err), 0);
    auth_tokens_free(t);
    /* Any group or other bit: refused (78), with the chmod to run. */
    static const mode_t bad[] = {0640, 0604, 0620, 0602, 0644, 0666, 0610};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(p, bad[i]), 0);
        t = (auth_tokens *)1;
        assert_int_equal(auth_tokens_load(p, &t, err, sizeof err), EX_CONFIG);
        assert_null(t);
        assert_non_null(strstr(err, "chmod 600"));
        assert_null(strstr(err, W16));
    }
    /* Garbage content: 78, the token not quoted. */
    snprintf(p, sizeof p, "%s/open", tmpdir);
    write_file(p, W16 " write\n", 0600);
    assert_int_equal(auth_tokens_load(p, &t, err, sizeof err), EX_CONFIG);
    assert_null(strstr(err, W16));
    /* Missing: 66.  A directory: 78. */
    snprintf(p, sizeof p, "%s/missing", tmpdir);
    assert_int_equal(auth_tokens_load(p, &t, err, sizeof err), EX_NOINPUT);
    snprintf(p, sizeof p, "%s/dir", tmpdir);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(auth_tokens_load(p, &t, err, sizeof err), EX_CONFIG);
    assert_non_null(strstr(err, "not a regular file"));
}

static void test_roles(void **state)
{
    (void)state;
    assert_int_equal(access_method_role("ping"), AUTH_NONE);
    assert_int_equal(access_method_role("auth"), AUTH_NONE);
    assert_int_equal(access_method_role(NULL), AUTH_NONE);
    const char *reads[] = {"search", "get", "stats", "subscribe",
                           "unsubscribe", "subscriptions"};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(access_method_role(reads[i]), AUTH_READ);
    assert_int_equal(access_method_role("add"), AUTH_WRITE);
    assert_int_equal(access_method_role("delete"), AUTH_WRITE);
    assert_int_equal(access_method_role("reload"), AUTH_ADMIN);
    assert_int_equal(access_method_role("not-yet-classified"), AUTH_ADMIN);
    assert_string_equal(auth_role_name(AUTH_NONE), "none");
    assert_string_equal(auth_role_name(AUTH_WRITE), "write");
    assert_string_equal(searchd_err_code(ERR_UNAUTHORIZED), "unauthorized");
    assert_string_equal(searchd_err_code(ERR_FORBIDDEN), "forbidden");
}

static int parse_args(searchd_config *c, const char *const *args, int n)
{
    char *argv[16];
    argv[0] = (char *)"polysearchd";
    for (int i = 0; i < n; i++) argv[i + 1] = (char *)args[i];
    searchd_config_defaults(c);
    return searchd_config_parse(c, n + 1, argv);
}

static void test_exposure(void **state)
{
    (void)state;
    searchd_config c;
    const char *lo[] = {"--listen", "127.0.0.1:0", "--http", "[::1]:0",
                        "--listen", "127.1.2.3:7"};
    assert_int_equal(parse_args(&c, lo, 6), -1);
    assert_int_equal(access_check_exposure(&c), -1);
    const char *any4[] = {"--listen", "0.0.0.0:0"};
    assert_int_equal(parse_args(&c, any4, 2), -1);
    assert_int_equal(access_check_exposure(&c), EX_CONFIG);
    const char *any6[] = {"--listen", "127.0.0.1:0", "--http", "[::]:0"};
    assert_int_equal(parse_args(&c, any6, 4), -1);
    assert_int_equal(access_check_exposure(&c), EX_CONFIG);
    const char *ro[] = {"--listen", "0.0.0.0:0", "--read-only"};
    assert_int_equal(parse_args(&c, ro, 3), -1);
    assert_int_equal(access_check_exposure(&c), -1);
    const char *tok[] = {"--listen", "0.0.0.0:0", "--auth-token-file", "/x"};
    assert_int_equal(parse_args(&c, tok, 4), -1);
    assert_string_equal(c.auth_token_file, "/x");
    assert_int_equal(access_check_exposure(&c), -1);
    const char *empty[] = {"--auth-token-file", ""};
    assert_int_equal(parse_args(&c, empty, 2), EX_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_owner),
        cmocka_unit_test_setup_teardown(test_load_modes, setup_dir, teardown_dir),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_exposure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
