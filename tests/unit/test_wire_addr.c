/* test_wire_addr.c: ps_addr_parse() (lib/wire/addr.c) on valid and
 * malformed addresses, under the client's rules (PS_ADDR_CONNECT:
 * psc_connect, the CLI's and the indexer's --server) and the daemon's
 * (PS_ADDR_LISTEN: --listen). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "polysearch-client.h"

static const ps_addr_opts connect_opts = PS_ADDR_CONNECT;
static const ps_addr_opts listen_opts = PS_ADDR_LISTEN;

static void ok_with(const ps_addr_opts *o, const char *s, ps_addr_kind kind,
                    const char *host, const char *port, const char *path)
{
    ps_addr a;
    char err[256];
    int r = ps_addr_parse(s, o, &a, err, sizeof err);
    if (r != 0)
        fail_msg("'%s' rejected: %s", s, err);
    assert_int_equal(a.kind, kind);
    if (kind == PS_ADDR_TCP) {
        assert_string_equal(a.host, host);
        assert_string_equal(a.port_str, port);
        assert_int_equal(a.port, (unsigned)atoi(port));
        assert_int_equal(a.bracketed, s[0] == '[');
    } else {
        assert_string_equal(a.path, path);
    }
}

static void bad_with(const ps_addr_opts *o, const char *s, const char *needle)
{
    ps_addr a;
    char err[256];
    if (ps_addr_parse(s, o, &a, err, sizeof err) == 0)
        fail_msg("'%s' accepted as host '%s' port '%s'", s ? s : "(null)",
                 a.host, a.port_str);
    assert_true(strlen(err) > 0);
    if (needle && strstr(err, needle) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", s, err, needle);
}

static void ok(const char *s, ps_addr_kind kind, const char *host,
               const char *port, const char *path)
{
    ok_with(&connect_opts, s, kind, host, port, path);
}

static void bad(const char *s, const char *needle)
{
    bad_with(&connect_opts, s, needle);
}

static void test_tcp(void **state)
{
    (void)state;
    ok("127.0.0.1:7117", PS_ADDR_TCP, "127.0.0.1", "7117", NULL);
    ok("localhost:1", PS_ADDR_TCP, "localhost", "1", NULL);
    ok("search.example.org:65535", PS_ADDR_TCP, "search.example.org",
       "65535", NULL);
    ok("localhost", PS_ADDR_TCP, "localhost", "7117", NULL);
    ok("127.0.0.1:007", PS_ADDR_TCP, "127.0.0.1", "7", NULL);
    ok("127.0.0.1:000080", PS_ADDR_TCP, "127.0.0.1", "80", NULL);
    ok("my_host-1.local:80", PS_ADDR_TCP, "my_host-1.local", "80", NULL);
}

static void test_ipv6(void **state)
{
    (void)state;
    ok("[::1]:7117", PS_ADDR_TCP, "::1", "7117", NULL);
    ok("[::1]", PS_ADDR_TCP, "::1", "7117", NULL);
    ok("[fe80::1%lo]:80", PS_ADDR_TCP, "fe80::1%lo", "80", NULL);
    ok("[::ffff:127.0.0.1]:9", PS_ADDR_TCP, "::ffff:127.0.0.1", "9", NULL);
    bad("::1", "brackets");
    bad("::1:7117", "brackets");
    bad("[::1", "]");
    bad("[::1]7117", "PORT");
    bad("[::1]:", "port");
    bad("[]:7117", "host");
    bad("[::1 ]:7117", "host");
}

static void test_unix(void **state)
{
    (void)state;
    ok("unix:/run/polysearch.sock", PS_ADDR_UNIX, NULL, NULL,
       "/run/polysearch.sock");
    ok("unix:rel/s.sock", PS_ADDR_UNIX, NULL, NULL, "rel/s.sock");
    bad("unix:", "empty");
    char longp[200] = "unix:/";
    memset(longp + 6, 'a', 150);
    longp[156] = '\0';
    bad(longp, "too long");
    /* 107 bytes fit sun_path with its NUL; 108 do not. */
    char edge[120] = "unix:";
    memset(edge + 5, 'b', 107);
    edge[112] = '\0';
    ok(edge, PS_ADDR_UNIX, NULL, NULL, edge + 5);
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
    /* 255 bytes fit host[256]. */
    longh[255] = '\0';
    ok(longh, PS_ADDR_TCP, longh, "7117", NULL);
    /* The message names the spec and the accepted range. */
    bad("host:0", "'host:0' (1-65535)");
}

/* polysearchd --listen: port required, 0 allowed, no unix:. */
static void test_listen_rules(void **state)
{
    (void)state;
    ok_with(&listen_opts, "127.0.0.1:0", PS_ADDR_TCP, "127.0.0.1", "0", NULL);
    ok_with(&listen_opts, "127.0.0.1:7117", PS_ADDR_TCP, "127.0.0.1", "7117",
            NULL);
    ok_with(&listen_opts, "[::1]:0", PS_ADDR_TCP, "::1", "0", NULL);
    ok_with(&listen_opts, "0.0.0.0:65535", PS_ADDR_TCP, "0.0.0.0", "65535",
            NULL);
    bad_with(&listen_opts, "localhost", "missing ':PORT'");
    bad_with(&listen_opts, "[::1]", "missing ':PORT'");
    bad_with(&listen_opts, "127.0.0.1:70000", "(0-65535)");
    bad_with(&listen_opts, "127.0.0.1:", "port");
    bad_with(&listen_opts, "unix:/run/x.sock", "Unix");
    bad_with(&listen_opts, "::1:7117", "brackets");
}

/* Errors without an error buffer, and a truncated one. */
static void test_err_buffer(void **state)
{
    ps_addr a;
    char small[8];
    (void)state;
    assert_int_equal(ps_addr_parse("host:x", &connect_opts, &a, NULL, 0), -1);
    memset(small, 'X', sizeof small);
    assert_int_equal(ps_addr_parse("host:x", &connect_opts, &a, small,
                                   sizeof small), -1);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(ps_addr_parse("host:1", &connect_opts, &a, small,
                                   sizeof small), 0);
    assert_string_equal(small, "");
}

/* The client library's public default is the same port. */
static void test_default_port(void **state)
{
    (void)state;
    assert_int_equal(atoi(PSC_DEFAULT_PORT), PS_ADDR_DEFAULT_PORT);
    ok(PSC_DEFAULT_ADDR, PS_ADDR_TCP, "127.0.0.1", PSC_DEFAULT_PORT, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_unix),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_listen_rules),
        cmocka_unit_test(test_err_buffer),
        cmocka_unit_test(test_default_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
