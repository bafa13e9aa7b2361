/* test_substore.c: the store of durable subscriptions (searchd/substore.c):
 * a missing file is an empty store; add and remove rewrite it and a new
 * load gives the same entries; the bounds (name length, entries); a
 * failed write changes nothing; every kind of damaged or foreign file is
 * refused whole at load (the daemon then does not start rather than
 * overwrite it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "substore.h"
#define TCU_TEMPDIR_FIXTURE
#include "test_core_util.h"

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_roundtrip(void **state)
{
    (void)state;
    char *path = tcu_path(g_dir, SUBSTORE_FILE);
    char err[512];
    substore st;
    assert_int_equal(substore_load(&st, path, 3, err, sizeof err), 0);
    assert_int_equal(st.n, 0);
    assert_int_equal(substore_add(&st, "a", "lyonbiopole", NULL, NULL, 0, NULL, err, sizeof err), 0);
    assert_int_equal(substore_add(&st, "b", "santé", "fr", "2024-01-01", 1,
                                  "0123456789abcdef0123456789abcdef", err, sizeof err), 0);
    /* Bounds: a name given twice, empty, too long; the store full. */
    assert_int_equal(substore_add(&st, "a", "x", NULL, NULL, 0, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "exists"));
    assert_int_equal(substore_add(&st, "", "x", NULL, NULL, 0, NULL, err, sizeof err), -1);
    char longname[SUBSTORE_MAX_NAME + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(substore_add(&st, longname, "x", NULL, NULL, 0, NULL, err, sizeof err), -1);
    longname[SUBSTORE_MAX_NAME] = 0;   /* exactly the bound: fine */
    assert_int_equal(substore_add(&st, longname, "x", NULL, NULL, 0, NULL, err, sizeof err), 0);
    assert_int_equal(substore_add(&st, "d", "x", NULL, NULL, 0, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "max_subscriptions"));
    assert_int_equal(st.n, 3);
    substore_free(&st);

    assert_int_equal(substore_load(&st, path, 3, err, sizeof err), 0);
    assert_int_equal(st.n, 3);
    assert_int_equal(substore_find(&st, "b"), 1);
    assert_string_equal(st.v[1].q, "santé");
    assert_string_equal(st.v[1].lang, "fr");
    assert_string_equal(st.v[1].date_from, "2024-01-01");
    assert_null(st.v[0].lang);
    assert_int_equal(st.v[1].no_synonyms, 1);    /* synonyms: false kept */
    assert_int_equal(st.v[0].no_synonyms, 0);
    assert_string_equal(st.v[1].owner, "0123456789abcdef0123456789abcdef");
    assert_null(st.v[0].owner);                 /* made without a token */
    assert_int_equal(substore_remove(&st, 0, err, sizeof err), 0);
    assert_int_equal(substore_find(&st, "a"), -1);
    substore_free(&st);
    assert_int_equal(substore_load(&st, path, 3, err, sizeof err), 0);
    assert_int_equal(st.n, 2);
    assert_string_equal(st.v[0].name, "b");
    /* More entries than a lowered bound: refused. */
    substore_free(&st);
    assert_int_equal(substore_load(&st, path, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "max_subscriptions"));
    free(path);
}

static void test_write_failure(void **state)
{
    (void)state;
    char *dir = tcu_path(g_dir, "gone");
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, SUBSTORE_FILE);
    char err[512];
    substore st;
    assert_int_equal(substore_load(&st, path, 10, err, sizeof err), 0);  /* missing */
    assert_int_equal(substore_add(&st, "a", "q", NULL, NULL, 0, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot write"));
    assert_int_equal(st.n, 0);                  /* nothing kept in memory */
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(substore_add(&st, "a", "q", NULL, NULL, 0, NULL, err, sizeof err), 0);
    assert_int_equal(chmod(dir, 0555), 0);
    if (access(dir, W_OK) != 0) {               /* not as root */
        assert_int_equal(substore_remove(&st, 0, err, sizeof err), -1);
        assert_int_equal(st.n, 1);              /* the entry stays */
        assert_string_equal(st.v[0].name, "a");
    }
    assert_int_equal(chmod(dir, 0755), 0);
    substore_free(&st);
    free(dir);
}

static void test_corrupt(void **state)
{
    (void)state;
    char *path = tcu_path(g_dir, SUBSTORE_FILE);
    char err[512];
    substore st;
    static const struct { const char *what; const char *bytes; size_t len; } bad[] = {
        {"garbage", "hello", 5},
        {"truncated", "\x82\xa7version\x01\xa4subs\x91\x82\xa4name", 22},
        {"trailing bytes", "\x82\xa7version\x01\xa4subs\x90\x00", 17},
        {"not a map", "\x90", 1},
        {"later version", "\x82\xa7version\x02\xa4subs\x90", 16},
        {"no subs", "\x81\xa7version\x01", 10},
        {"entry not a map", "\x82\xa7version\x01\xa4subs\x91\x01", 17},
        {"entry without q", "\x82\xa7version\x01\xa4subs\x91\x81\xa4name\xa1n", 24},
        {"unknown key", "\x82\xa7version\x01\xa4subs\x91\x83\xa4name\xa1n\xa1q\xa1x"
                        "\xa3zzz\xa1y", 34},
        {"duplicate name", "\x82\xa7version\x01\xa4subs\x92\x82\xa4name\xa1n\xa1q\xa1x"
                           "\x82\xa4name\xa1n\xa1q\xa1y", 40},
        {"NUL in a string", "\x82\xa7version\x01\xa4subs\x91\x82\xa4name\xa2n\x00"
                            "\xa1q\xa1x", 29},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_bytes(path, bad[i].bytes, bad[i].len);
        err[0] = 0;
        if (substore_load(&st, path, 10, err, sizeof err) != -1)
            fail_msg("%s: accepted", bad[i].what);
        assert_non_null(strstr(err, SUBSTORE_FILE));
        assert_int_equal(st.n, 0);
        assert_null(st.v);
    }
    /* A good file for contrast (the same bytes as the ones above). */
    static const char good[] = "\x82\xa7version\x01\xa4subs\x91\x82\xa4name\xa1n\xa1q\xa1x";
    write_bytes(path, good, sizeof good - 1);
    assert_int_equal(substore_load(&st, path, 10, err, sizeof err), 0);
    assert_int_equal(st.n, 1);
    substore_free(&st);
    /* Larger than the bound: refused before reading. */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fseek(f, SUBSTORE_MAX_BYTES, SEEK_SET), 0);
    fputc(0, f);
    fclose(f);
    assert_int_equal(substore_load(&st, path, 10, err, sizeof err), -1);
    assert_non_null(strstr(err, "bound"));
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
