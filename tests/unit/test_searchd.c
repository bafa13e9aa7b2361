/* Unit tests of the daemon's own modules: option parsing (config.c), the
 * latency histogram and error codes (stats.c), the method table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "methods.h"
#include "stats.h"

static int parse(searchd_config *c, const char *const *args, int n)
{
    char *argv[32];
    argv[0] = (char *)"polysearchd";
    for (int i = 0; i < n; i++) argv[i + 1] = (char *)args[i];
    searchd_config_defaults(c);
    return searchd_config_parse(c, n + 1, argv);
}

static void test_defaults(void **state)
{
    (void)state;
    searchd_config c;
    assert_int_equal(parse(&c, NULL, 0), -1);
    assert_int_equal(c.nlisten, 1);
    assert_string_equal(c.listen[0], "127.0.0.1:7117");
    assert_int_equal(c.max_frame, 1024 * 1024);
    assert_int_equal(c.max_depth, 16);
    assert_int_equal(c.deadline_ms, 10000);
    assert_int_equal(c.idle_ms, 60000);
    assert_int_equal(c.max_clients, 1024);
    assert_int_equal(c.max_output, 4 * 1024 * 1024);
    assert_int_equal(c.queue, 256);
    assert_int_equal(c.max_limit, 1000);
    assert_int_equal(c.max_window, 10000);
    assert_int_equal(c.max_query, 4096);
    assert_int_equal(c.max_wildcard, 1000);
    assert_false(c.create);
    assert_true(c.workers >= 1);
}

static void test_flags(void **state)
{
    (void)state;
    searchd_config c;
    const char *a[] = {"--db", "/x", "--listen", "[::1]:0", "--listen", "127.0.0.1:9",
                       "--socket", "/tmp/s", "--workers", "3", "--max-frame", "64k",
                       "--deadline", "500ms", "--idle-timeout", "2m", "--queue", "7",
                       "--max-limit", "5", "--max-window", "50", "--quiet"};
    assert_int_equal(parse(&c, a, (int)(sizeof a / sizeof a[0])), -1);
    assert_string_equal(c.db_path, "/x");
    assert_int_equal(c.nlisten, 2);
    assert_string_equal(c.listen[1], "127.0.0.1:9");
    assert_string_equal(c.socket_path, "/tmp/s");
    assert_int_equal(c.workers, 3);
    assert_int_equal(c.max_frame, 65536);
    assert_int_equal(c.deadline_ms, 500);
    assert_int_equal(c.idle_ms, 120000);
    assert_int_equal(c.queue, 7);
    assert_int_equal(c.max_limit, 5);
    assert_int_equal(c.max_window, 50);
    /* --socket alone: no default TCP listener. */
    const char *b[] = {"--socket", "/tmp/s"};
    assert_int_equal(parse(&c, b, 2), -1);
    assert_int_equal(c.nlisten, 0);
}

static void test_bad_flags(void **state)
{
    (void)state;
    searchd_config c;
    const char *cases[][2] = {
        {"--workers", "0"}, {"--workers", "-1"}, {"--max-frame", "1x"},
        {"--deadline", "forever"}, {"--max-depth", "65"}, {"--queue", ""},
        {"--max-limit", "18446744073709551616"}, {"--db", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(parse(&c, cases[i], 2), EX_USAGE);
    const char *w[] = {"--max-limit", "100", "--max-window", "10"};
    assert_int_equal(parse(&c, w, 4), EX_USAGE);
    const char *extra[] = {"positional"};
    assert_int_equal(parse(&c, extra, 1), EX_USAGE);
}

static void test_shard_flags(void **state)
{
    (void)state;
    searchd_config c;
    const char *local[] = {"--shard", "/a", "--shard", "/b"};
    assert_int_equal(parse(&c, local, 4), -1);
    assert_int_equal(c.nshards, 2);
    assert_int_equal(c.nwrite_shards, 0);
    assert_true(searchd_config_can_write(&c));      /* local: written directly */
    const char *remote[] = {"--shard", "/a", "--shard", "tcp:127.0.0.1:1"};
    assert_int_equal(parse(&c, remote, 4), -1);
    assert_false(searchd_config_can_write(&c));     /* needs --write-shard */
    ps_db *db = (ps_db *)&c;                        /* must be reset to NULL */
    char *msg = NULL;
    assert_int_equal(searchd_config_open_db(&c, PS_DB_WRITE, &db, &msg), PS_ERR_INVALID);
    assert_null(db);
    assert_non_null(strstr(msg, "--write-shard"));
    free(msg);
    const char *rw[] = {"--shard", "/a", "--write-shard", "/a", "--shard", "tcp:h:1",
                        "--write-shard", "tcp:h:2", "--shard-timeout", "1s"};
    assert_int_equal(parse(&c, rw, 10), -1);
    assert_int_equal(c.nwrite_shards, 2);
    assert_string_equal(c.write_shards[1], "tcp:h:2");
    assert_true(searchd_config_can_write(&c));
    assert_int_equal(c.shard_timeout_ms, 1000);
    /* One --write-shard per --shard, not with --read-only, not empty. */
    const char *few[] = {"--shard", "/a", "--shard", "/b", "--write-shard", "/a"};
    assert_int_equal(parse(&c, few, 6), EX_USAGE);
    const char *alone[] = {"--write-shard", "/a"};
    assert_int_equal(parse(&c, alone, 2), EX_USAGE);
    const char *ro[] = {"--shard", "/a", "--write-shard", "/a", "--read-only"};
    assert_int_equal(parse(&c, ro, 5), EX_USAGE);
    const char *empty[] = {"--shard", "/a", "--write-shard", ""};
    assert_int_equal(parse(&c, empty, 4), EX_USAGE);
    /* --create makes a single database at --db, never shards. */
    const char *create[] = {"--db", "/a", "--create"};
    assert_int_equal(parse(&c, create, 3), -1);
    assert_true(c.create);
    const char *cshard[] = {"--create", "--shard", "/a"};
    assert_int_equal(parse(&c, cshard, 3), EX_USAGE);
}

static void test_wal_dir(void **state)
{
    (void)state;
    searchd_config c;
    char dir[64];
    /* --db DIR (one database or a shard set): DIR/wal. */
    const char *db[] = {"--db", "/srv/ps"};
    assert_int_equal(parse(&c, db, 2), -1);
    assert_int_equal(searchd_config_wal_dir(&c, dir, sizeof dir), 1);
    assert_string_equal(dir, "/srv/ps/wal");
    /* A --shard list: --wal-dir, else no log. */
    const char *list[] = {"--shard", "/a", "--shard", "tcp:h:1", "--write-shard", "/a",
                          "--write-shard", "tcp:h:2"};
    assert_int_equal(parse(&c, list, 8), -1);
    assert_int_equal(searchd_config_wal_dir(&c, dir, sizeof dir), 0);
    assert_string_equal(dir, "");
    const char *logged[] = {"--shard", "/a", "--wal-dir", "/var/wal"};
    assert_int_equal(parse(&c, logged, 4), -1);
    assert_int_equal(searchd_config_wal_dir(&c, dir, sizeof dir), 1);
    assert_string_equal(dir, "/var/wal");
    assert_int_equal(searchd_config_wal_dir(&c, dir, 4), -1);     /* too long */
    /* Not for --db alone, not empty. */
    const char *alone[] = {"--db", "/srv/ps", "--wal-dir", "/var/wal"};
    assert_int_equal(parse(&c, alone, 4), EX_USAGE);
    const char *empty[] = {"--shard", "/a", "--wal-dir", ""};
    assert_int_equal(parse(&c, empty, 4), EX_USAGE);
}

/* Writes text to a fresh temporary file; returns its malloc'd path. */
static char *temp_file(const char *text, size_t len)
{
    char *path = strdup("/tmp/ps_test_conf_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static int parse_with_file(searchd_config *c, const char *text, size_t len,
                           const char *const *more, int nmore, char **path)
{
    *path = temp_file(text, len);
    const char *a[16] = {"--config", *path};
    for (int i = 0; i < nmore; i++) a[2 + i] = more[i];
    return parse(c, a, 2 + nmore);
}

static void test_config_file(void **state)
{
    (void)state;
    searchd_config c;
    char *path;
    const char good[] =
        "# polysearchd.conf\n"
        "\n"
        "db /srv/db  \n"
        "  listen 127.0.0.1:9\n"
        "--listen=[::1]:9\n"
        "workers = 3\n"
        "read-only\r\n"
        "shard /a\n"
        "deadline 2s";                         /* no final newline */
    const char *more[] = {"--workers", "5", "--listen", "127.0.0.1:10"};
    assert_int_equal(parse_with_file(&c, good, sizeof good - 1, more, 4, &path), -1);
    assert_string_equal(c.db_path, "/srv/db");
    assert_int_equal(c.nlisten, 3);            /* repeatable: file + command line */
    assert_string_equal(c.listen[0], "127.0.0.1:9");
    assert_string_equal(c.listen[1], "[::1]:9");
    assert_string_equal(c.listen[2], "127.0.0.1:10");
    assert_int_equal(c.workers, 5);            /* command line wins */
    assert_true(c.read_only);
    assert_int_equal(c.nshards, 1);
    assert_int_equal(c.deadline_ms, 2000);
    assert_string_equal(c.config_path, path);
    searchd_config_free(&c);
    searchd_config_free(&c);                   /* twice is fine */
    unlink(path);
    free(path);
    /* The create flag, in a file as on the command line. */
    const char withcreate[] = "db /srv/new\ncreate\n";
    assert_int_equal(parse_with_file(&c, withcreate, sizeof withcreate - 1, NULL, 0,
                                     &path), -1);
    assert_true(c.create);
    assert_string_equal(c.db_path, "/srv/new");
    searchd_config_free(&c);
    unlink(path);
    free(path);

    /* Bad content: EX_CONFIG, nothing leaked (ASan). */
    const char *bad_files[] = {
        "listen 127.0.0.1:9\nfrobnicate 1\n",   /* unknown */
        "db\n",                                 /* value missing */
        "read-only yes\n",                      /* unexpected value */
        "create yes\n",
        "config /etc/other.conf\n",             /* no nesting */
        "help\n",
        "= 3\n",                                /* no name */
        "workers 0\n",                          /* bad value: names the line */
        "max-frame 1x\n",
        "a\0b\n",                               /* not text */
    };
    size_t lens[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        size_t len = lens[i] ? lens[i] : strlen(bad_files[i]);
        assert_int_equal(parse_with_file(&c, bad_files[i], len, NULL, 0, &path), EX_CONFIG);
        searchd_config_free(&c);
        unlink(path);
        free(path);
    }
    /* Missing file, --config twice, without a value. */
    const char *missing[] = {"--config", "/nonexistent/polysearchd.conf"};
    assert_int_equal(parse(&c, missing, 2), EX_NOINPUT);
    const char *twice[] = {"--config=/a", "--config", "/b"};
    assert_int_equal(parse(&c, twice, 3), EX_USAGE);
    const char *novalue[] = {"--config"};
    assert_int_equal(parse(&c, novalue, 1), EX_USAGE);
    const char *empty[] = {"--config="};
    assert_int_equal(parse(&c, empty, 1), EX_USAGE);
    /* Too big: > 1 MiB. */
    size_t big = 1024 * 1024 + 10;
    char *text = malloc(big);
    memset(text, '#', big);
    assert_int_equal(parse_with_file(&c, text, big, NULL, 0, &path), EX_CONFIG);
    unlink(path);
    free(path);
    free(text);
}

static void test_percentiles(void **state)
{
    (void)state;
    searchd_stats s;
    stats_init(&s);
    assert_int_equal(stats_percentile(&s, 50), 0);
    for (uint64_t v = 1; v <= 1000; v++) stats_record(&s, -1, v);
    uint64_t p50 = stats_percentile(&s, 50), p99 = stats_percentile(&s, 99);
    /* Within one bucket (12.5 %) above the true value. */
    assert_true(p50 >= 500 && p50 <= 563);
    assert_true(p99 >= 990 && p99 <= 1114);
    assert_int_equal(s.requests, 1000);
    stats_record(&s, ERR_BUSY, 5);
    stats_error(&s, ERR_TOO_LARGE);
    assert_int_equal(s.errors[ERR_BUSY], 1);
    assert_int_equal(s.errors[ERR_TOO_LARGE], 1);
    assert_int_equal(s.requests, 1001);
    /* Huge values land in the last bucket instead of overflowing. */
    stats_record(&s, -1, UINT64_MAX);
    assert_true(stats_percentile(&s, 100) > 0);
}

static void test_codes_and_methods(void **state)
{
    (void)state;
    assert_string_equal(searchd_err_code(ERR_BAD_REQUEST), "bad_request");
    assert_string_equal(searchd_err_code(ERR_UNAVAILABLE), "unavailable");
    assert_string_equal(searchd_err_code(ERR_COUNT), "internal");
    assert_int_equal(methods_status_err(PS_ERR_NOT_FOUND), ERR_NOT_FOUND);
    assert_int_equal(methods_status_err(PS_ERR_QUERY), ERR_QUERY_SYNTAX);
    assert_int_equal(methods_status_err(PS_ERR_TOO_MANY_TERMS), ERR_TOO_MANY_TERMS);
    assert_int_equal(methods_status_err(PS_ERR_IO), ERR_UNAVAILABLE);
    assert_int_equal(methods_status_err(PS_ERR_NOMEM), ERR_INTERNAL);
    assert_int_equal(methods_status_err(PS_OK), -1);
    assert_non_null(methods_find("search", 6));
    assert_non_null(methods_find("ping", 4));
    assert_null(methods_find("pingx", 5));
    assert_null(methods_find("pin", 3));
    assert_non_null(methods_find("add", 3));
    assert_non_null(methods_find("delete", 6));
    assert_null(methods_find("adds", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_bad_flags),
        cmocka_unit_test(test_shard_flags),
        cmocka_unit_test(test_wal_dir),
        cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test(test_codes_and_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
