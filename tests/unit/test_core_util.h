/* test_core_util.h: helpers shared by the core API tests (temporary
 * directories, reading files).  Header-only; included by one .c each. */
#ifndef TEST_CORE_UTIL_H
#define TEST_CORE_UTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tcu_rm_cb(const char *p, const struct stat *sb, int flag,
                     struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

/* Removes a directory tree (best effort). */
static void tcu_rmtree(const char *dir)
{
    nftw(dir, tcu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Returns a new temporary directory (static buffer per call site slot). */
static char *tcu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/ps_core_XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(buf);
    return d ? strdup(d) : NULL;
}

/* Joins dir and name into a malloc'd path. */
static __attribute__((unused)) char *tcu_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Reads a whole file into a malloc'd NUL-terminated buffer, or NULL. */
static __attribute__((unused)) char *tcu_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t k;
    while (b && (k = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (cap - n < 2) {
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    fclose(f);
    if (b)
        b[n] = '\0';
    return b;
}


#ifdef TCU_TEMPDIR_FIXTURE
/* A fresh temporary directory per test: g_dir, with cmocka setup/teardown
 * functions that create and remove it, and helpers creating databases in
 * it.  Define TCU_TEMPDIR_FIXTURE before including this header (after
 * <cmocka.h>) to get them. */
#include "polysearch.h"

static char *g_dir;

static int setup(void **state)
{
    (void)state;
    g_dir = tcu_mkdtemp();
    return g_dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tcu_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
    return 0;
}

/* Opens g_dir/name for writing (created when missing); the test fails
 * unless that succeeds without a message.  The caller closes the handle. */
static __attribute__((unused)) ps_db *tcu_open_w(const char *name)
{
    char *p = tcu_path(g_dir, name);
    ps_db *db = NULL;
    char *err = NULL;
    ps_status st = ps_db_open(p, PS_DB_WRITE, &db, &err);
    if (st != PS_OK)
        fprintf(stderr, "open %s: %s\n", p, err ? err : "?");
    assert_int_equal(st, PS_OK);
    assert_non_null(db);
    assert_null(err);
    free(p);
    return db;
}

/* Creates the database g_dir/db holding the single document "base";
 * returns its malloc'd path (the caller frees it). */
static __attribute__((unused)) char *tcu_make_base(void)
{
    char *p = tcu_path(g_dir, "db");
    ps_db *w = tcu_open_w("db");
    ps_doc_in d0 = {.id = "base", .body = "base document", .lang = "en"};
    assert_int_equal(ps_db_put(w, &d0, NULL), PS_OK);
    assert_int_equal(ps_db_close(w), PS_OK);
    return p;
}

/* Puts 400 documents "big0".."big399" of 8 KiB of letters into w, then
 * commits: about 3 MiB, enough to exceed a 64 KiB file size limit.
 * Returns the first failing put's status, else the commit's.  Does not
 * assert (runs in forked children that report by exit status). */
static __attribute__((unused)) ps_status tcu_put_big_and_commit(ps_db *w)
{
    static char body[8192];
    ps_status st = PS_OK;
    for (int i = 0; i < 400 && st == PS_OK; i++) {
        for (size_t k = 0; k + 1 < sizeof body; k++)
            body[k] = (k % 7 == 6) ? ' ' : (char)('a' + (k * 31 + (size_t)i * 17) % 26);
        char id[16];
        snprintf(id, sizeof id, "big%d", i);
        ps_doc_in d = {.id = id, .body = body, .lang = "en"};
        st = ps_db_put(w, &d, NULL);
    }
    if (st == PS_OK)
        st = ps_db_commit(w);
    return st;
}

/* ps_db_count of db (asserted to succeed). */
static __attribute__((unused)) uint64_t tcu_count(ps_db *db)
{
    uint64_t n = 0;
    assert_int_equal(ps_db_count(db, &n), PS_OK);
    return n;
}

/* Body of id, or NULL when ps_db_get says PS_ERR_NOT_FOUND (caller frees). */
static __attribute__((unused)) char *tcu_body(ps_db *db, const char *id)
{
    ps_document *doc = NULL;
    ps_status st = ps_db_get(db, id, &doc);
    if (st == PS_ERR_NOT_FOUND) {
        assert_null(doc);
        return NULL;
    }
    assert_int_equal(st, PS_OK);
    char *b = strdup(doc->body);
    ps_document_free(doc);
    return b;
}

/* The body of id is want (NULL: id not found). */
static __attribute__((unused)) void tcu_assert_body(ps_db *db, const char *id,
                                                    const char *want)
{
    char *b = tcu_body(db, id);
    if (!want) {
        assert_null(b);
        return;
    }
    assert_non_null(b);
    assert_string_equal(b, want);
    free(b);
}

/* ps_delta_put of a freshly prepared document (title = id); asserts it
 * succeeds and returns the outcome. */
static __attribute__((unused)) ps_put_outcome tcu_delta_put(
    ps_delta *d, ps_db *view, uint64_t seq, const char *id, const char *body,
    const char *lang, const char *date)
{
    ps_doc_in in = {.id = id, .title = id, .body = body, .lang = lang, .date = date};
    ps_prepared *p = NULL;
    assert_int_equal(ps_doc_prepare(&in, NULL, &p, NULL), PS_OK);
    ps_put_outcome o = (ps_put_outcome)-1;
    ps_status st = ps_delta_put(d, view, p, seq, &o);
    if (st != PS_OK)
        fprintf(stderr, "put %s seq %llu: %s\n", id, (unsigned long long)seq,
                ps_delta_errmsg(d));
    assert_int_equal(st, PS_OK);
    ps_prepared_free(p);
    return o;
}
#endif

#endif
