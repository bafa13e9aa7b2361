/* test_client_addr.c: psc_addr_parse() on valid and malformed addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"

static void ok(const char *s, psc_addr_kind kind, const char *host,
               const char *port, const char *path)
{
    psc_addr a;
    char err[256];
    int r = psc_addr_parse(s, &a, err, sizeof err);
    if (r != 0)
        fail_msg("'%s' rejected: %s", s, err);
    assert_int_equal(a.kind, kind);
    if (kind == PSC_ADDR_TCP) {
        assert_string_equal(a.host, host);
        assert_string_equal(a.port, port);
    } else {
        assert_string_equal(a.path, path);
    }
}

static void bad(const char *s, const char *needle)
{
    psc_addr a;
    char err[256];
    if (psc_addr_parse(s, &a, err, sizeof err) == 0)
        fail_msg("'%s' accepted as host '%s' port '%s'", s ? s : "(null)",
                 a.host, a.port);
    assert_true(strlen(err) > 0);
    if (needle && strstr(err, needle) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", s, err, needle);
}

static void test_tcp(void **state)
{
    (void)state;
    ok("127.0.0.1:7117", PSC_ADDR_TCP, "127.0.0.1", "7117", NULL);
    ok("localhost:1", PSC_ADDR_TCP, "localhost", "1", NULL);
    ok("search.example.org:65535", PSC_ADDR_TCP, "search.example.org",
       "65535", NULL);
    ok("localhost", PSC_ADDR_TCP, "localhost", "7117", NULL);
    ok("127.0.0.1:007", PSC_ADDR_TCP, "127.0.0.1", "7", NULL);
}

static void test_ipv6(void **state)
{
    (void)state;
    ok("[::1]:7117", PSC_ADDR_TCP, "::1", "7117", NULL);
    ok("[::1]", PSC_ADDR_TCP, "::1", "7117", NULL);
    ok("[fe80::1%lo]:80", PSC_ADDR_TCP, "fe80::1%lo", "80", NULL);
    bad("::1", "brackets");
    bad("::1:7117", "brackets");
    bad("[::1", "]");
    bad("[::1]7117", "PORT");
    bad("[]:7117", "host");
}

static void test_unix(void **state)
{
    (void)state;
    ok("unix:/run/polysearch.sock", PSC_ADDR_UNIX, NULL, NULL,
       "/run/polysearch.sock");
    ok("unix:rel/s.sock", PSC_ADDR_UNIX, NULL, NULL, "rel/s.sock");
    bad("unix:", "empty");
    char longp[200] = "unix:/";
    memset(longp + 6, 'a', 150);
    longp[156] = '\0';
    bad(longp, "too long");
    /* 107 bytes fit sun_path with its NUL; 108 do not. */
    char edge[120] = "unix:";
    memset(edge + 5, 'b', 107);
    edge[112] = '\0';
    ok(edge, PSC_ADDR_UNIX, NULL, NULL, edge + 5);
    edge[112] = 'b';
    edge[113] = '\0';
    bad(edge, "too long");
}

static void test_bad(void **state)
{
    (void)state;
    bad(NULL, "empty");
    bad("", "empty");
    bad("host:", "port");
    bad("host:0", "port");
    bad("host:65536", "port");
    bad("host:99999999999999999999", "port");
    bad("host:-1", "port");
    bad("host:+80", "port");
    bad("host:80x", "port");
    bad("host: 80", "port");
    bad(":7117", "host");
    bad("ho st:80", "host");
    bad("host/x:80", "host");
    char longh[300];
    memset(longh, 'h', 299);
    longh[299] = '\0';
    bad(longh, "host");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_unix),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
