/* test_core_db.c: the core C API on a temporary database: document model
 * (put/get/replace/unchanged/delete), counts, invalid input, locking,
 * opening errors, ps_db_create, reopen/revisions, cancel, exception mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "docfields.h"
#include "polysearch.h"
#define TCU_TEMPDIR_FIXTURE
#include "test_core_util.h"


static ps_db *open_r(const char *name)
{
    char *p = tcu_path(g_dir, name);
    ps_db *db = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &db, NULL), PS_OK);
    free(p);
    return db;
}

/* ---- docfields ---------------------------------------------------- */

static void test_date_normalize(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int upper;
        const char *out; /* NULL: invalid */
    } cases[] = {
        {"2022-05-19", 0, "20220519000000"},
        {"2022-05-19", 1, "20220519235959"},
        {"2022", 0, "20220101000000"},
        {"2022", 1, "20221231235959"},
        {"2024-02", 1, "20240229235959"},
        {"2023-02", 1, "20230228235959"},
        {"2022-05-19T10:30", 0, "20220519103000"},
        {"2022-05-19T10:30:15Z", 0, "20220519103015"},
        {"2022-05-19 10:30:15.250", 0, "20220519103015"},
        {"2022-05-19T01:30:00+02:00", 0, "20220518233000"},
        {"2022-12-31T23:30:00-0100", 0, "20230101003000"},
        {"2024-02-29", 0, "20240229000000"},
        {"2023-02-29", 0, NULL},
        {"2022-13-01", 0, NULL},
        {"2022-00-10", 0, NULL},
        {"2022-05-32", 0, NULL},
        {"2022-05-19T24:00", 0, NULL},
        {"2022-05-19T10", 0, NULL},
        {"22-05-19", 0, NULL},
        {"yesterday", 0, NULL},
        {"", 0, NULL},
        {"2022-05-19junk", 0, NULL},
        {"2022-05-19T10:30:00+25:00", 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[PS_DATE_KEY_LEN + 1];
        int rc = ps_date_normalize(cases[i].in, cases[i].upper, out);
        if (cases[i].out) {
            assert_int_equal(rc, 0);
            assert_string_equal(out, cases[i].out);
        } else {
            assert_int_equal(rc, -1);
        }
    }
}

static void test_fields_roundtrip(void **state)
{
    (void)state;
    const char *f[PS_F_COUNT] = {"id1", "", "body\0", "fr", NULL, "http://x",
                                 "0123"};
    size_t len;
    char *enc = ps_fields_encode(f, &len);
    assert_non_null(enc);
    char *out[PS_F_COUNT];
    assert_int_equal(ps_fields_decode(enc, len, out), 0);
    assert_string_equal(out[PS_F_ID], "id1");
    assert_string_equal(out[PS_F_TITLE], "");
    assert_string_equal(out[PS_F_BODY], "body");
    assert_null(out[PS_F_DATE]);
    assert_string_equal(out[PS_F_URL], "http://x");
    for (int i = 0; i < PS_F_COUNT; i++)
        free(out[i]);
    /* Every truncation is rejected, never read past the end. */
    for (size_t k = 0; k < len; k++) {
        assert_int_equal(ps_fields_decode(enc, k, out), -1);
        for (int i = 0; i < PS_F_COUNT; i++)
            assert_null(out[i]);
    }
    free(enc);
    char h1[17], h2[17], h3[17];
    ps_content_hash("ab", "c", NULL, NULL, NULL, h1);
    ps_content_hash("a", "bc", NULL, NULL, NULL, h2);
    ps_content_hash("ab", "c", "", NULL, NULL, h3);
    assert_string_not_equal(h1, h2);
    assert_string_equal(h1, h3);
    assert_int_equal(strlen(h1), 16);
}

/* ---- documents ---------------------------------------------------- */

static void test_put_get_replace_delete(void **state)
{
    (void)state;
    ps_db *db = tcu_open_w("db");
    ps_doc_in d = {.id = "a/1", .title = "Bonjour", .body = "Le pôle santé de Lyon.",
                   .lang = "fr", .date = "2022-05-19", .url = "http://e/1"};
    ps_put_outcome oc = 99;
    assert_int_equal(ps_db_put(db, &d, &oc), PS_OK);
    assert_int_equal(oc, PS_PUT_ADDED);
    assert_int_equal(ps_db_put(db, &d, &oc), PS_OK);
    assert_int_equal(oc, PS_PUT_UNCHANGED);
    ps_document *got = NULL;
    assert_int_equal(ps_db_get(db, "a/1", &got), PS_OK);
    assert_string_equal(got->id, "a/1");
    assert_string_equal(got->title, "Bonjour");
    assert_string_equal(got->body, "Le pôle santé de Lyon.");
    assert_string_equal(got->lang, "fr");
    assert_string_equal(got->date, "2022-05-19");
    assert_string_equal(got->url, "http://e/1");
    assert_int_equal(strlen(got->hash), 16);
    char hash1[17];
    strcpy(hash1, got->hash);
    ps_document_free(got);

    d.body = "Le pôle santé de Lyon, nouvelle version.";
    assert_int_equal(ps_db_put(db, &d, &oc), PS_OK);
    assert_int_equal(oc, PS_PUT_REPLACED);
    assert_int_equal(ps_db_get(db, "a/1", &got), PS_OK);
    assert_string_not_equal(got->hash, hash1);
    assert_string_equal(got->body, d.body);
    ps_document_free(got);
    uint64_t n = 0;
    assert_int_equal(ps_db_count(db, &n), PS_OK);
    assert_int_equal(n, 1);

    /* No title, no lang, no date: derived, detected, absent. */
    ps_doc_in d2 = {.id = "b", .body = "Ein neues Bündnis der Gesundheitscluster\n\nDie Gesundheitscluster haben am "
                    "Donnerstag die Gründung eines neuen Bündnisses bekanntgegeben, "
                    "um die Entwicklung von Innovationen zu beschleunigen."};
    assert_int_equal(ps_db_put(db, &d2, &oc), PS_OK);
    assert_int_equal(oc, PS_PUT_ADDED);
    assert_int_equal(ps_db_get(db, "b", &got), PS_OK);
    assert_string_equal(got->lang, "de");
    assert_string_equal(got->title, "Ein neues Bündnis der Gesundheitscluster");
    assert_null(got->date);
    assert_null(got->url);
    ps_document_free(got);

    assert_int_equal(ps_db_delete(db, "a/1"), PS_OK);
    assert_int_equal(ps_db_get(db, "a/1", &got), PS_ERR_NOT_FOUND);
    assert_null(got);
    assert_int_equal(ps_db_delete(db, "a/1"), PS_ERR_NOT_FOUND);
    assert_true(strstr(ps_db_errmsg(db), "a/1") != NULL);
    assert_int_equal(ps_db_get(db, "zzz", &got), PS_ERR_NOT_FOUND);
    assert_int_equal(ps_db_commit(db), PS_OK);
    assert_int_equal(ps_db_count(db, &n), PS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ps_db_close(db), PS_OK);

    /* Persisted: a reader sees the committed state. */
    ps_db *r = open_r("db");
    assert_int_equal(ps_db_get(r, "b", &got), PS_OK);
    ps_document_free(got);
    assert_int_equal(ps_db_put(r, &d, &oc), PS_ERR_INVALID); /* read-only */
    ps_db_close(r);
}

static int collect_id(const char *id, void *ctx)
{
    char *buf = ctx;
    strcat(buf, id);
    strcat(buf, ",");
    return strcmp(id, "c") == 0; /* stop after "c" */
}

static void test_counts_and_ids(void **state)
{
    (void)state;
    ps_db *db = tcu_open_w("db");
    const char *ids[] = {"d", "a", "c", "b", "e"};
    const char *langs[] = {"fr", "de", "fr", "en", "fr"};
    for (int i = 0; i < 5; i++) {
        ps_doc_in d = {.id = ids[i], .body = "some text", .lang = langs[i]};
        assert_int_equal(ps_db_put(db, &d, NULL), PS_OK);
    }
    ps_results *r = NULL;
    assert_int_equal(ps_db_lang_counts(db, &r), PS_OK);
    assert_int_equal(r->total, 5);
    assert_int_equal(r->nhits, 0);
    assert_int_equal(r->nfacets, 3);
    assert_string_equal(r->facets[0].value, "fr");
    assert_int_equal(r->facets[0].count, 3);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < r->nfacets; i++)
        sum += r->facets[i].count;
    assert_int_equal(sum, 5);
    ps_results_free(r);
    char buf[64] = "";
    assert_int_equal(ps_db_foreach_id(db, collect_id, buf), PS_OK);
    assert_string_equal(buf, "a,b,c,");
    ps_db_close(db);
}

static void test_invalid_input(void **state)
{
    (void)state;
    ps_db *db = tcu_open_w("db");
    char longid[PS_MAX_ID_BYTES + 2];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0'; /* 241 bytes */
    ps_doc_in d = {.id = longid, .body = "x"};
    ps_put_outcome oc;
    assert_int_equal(ps_db_put(db, &d, &oc), PS_ERR_INVALID);
    assert_true(strstr(ps_db_errmsg(db), "240") != NULL);
    longid[PS_MAX_ID_BYTES] = '\0'; /* exactly 240: fine */
    assert_int_equal(ps_db_put(db, &d, &oc), PS_OK);
    d.id = "";
    assert_int_equal(ps_db_put(db, &d, &oc), PS_ERR_INVALID);
    d.id = NULL;
    assert_int_equal(ps_db_put(db, &d, &oc), PS_ERR_INVALID);
    d.id = "ok";
    d.body = NULL;
    assert_int_equal(ps_db_put(db, &d, &oc), PS_ERR_INVALID);
    d.body = "x";
    d.date = "2022-02-30";
    assert_int_equal(ps_db_put(db, &d, &oc), PS_ERR_INVALID);
    assert_true(strstr(ps_db_errmsg(db), "2022-02-30") != NULL);
    d.date = NULL;
    d.lang = "xx";
    assert_int_equal(ps_db_put(db, &d, &oc), PS_ERR_INVALID);
    d.lang = "und";
    assert_int_equal(ps_db_put(db, &d, &oc), PS_OK);
    assert_int_equal(ps_db_put(db, NULL, &oc), PS_ERR_INVALID);
    ps_document *got = (ps_document *)1;
    assert_int_equal(ps_db_get(db, longid, &got), PS_OK);
    ps_document_free(got);
    ps_query q = {.q = "x", .date_from = "never"};
    ps_results *r = (ps_results *)1;
    assert_int_equal(ps_search(db, &q, &r), PS_ERR_INVALID);
    assert_null(r);
    q.date_from = NULL;
    q.lang = "klingon";
    assert_int_equal(ps_search(db, &q, &r), PS_ERR_INVALID);
    ps_db_close(db);
    assert_int_equal(ps_db_close(NULL), PS_OK);
}

static void test_cancel(void **state)
{
    (void)state;
    ps_db *db = tcu_open_w("db");
    ps_doc_in d = {.id = "kept", .body = "kept", .lang = "en"};
    assert_int_equal(ps_db_put(db, &d, NULL), PS_OK);
    assert_int_equal(ps_db_commit(db), PS_OK);
    ps_doc_in d2 = {.id = "dropped", .body = "dropped", .lang = "en"};
    assert_int_equal(ps_db_put(db, &d2, NULL), PS_OK);
    assert_int_equal(ps_db_delete(db, "kept"), PS_OK);
    assert_int_equal(ps_db_cancel(db), PS_OK);
    ps_document *got = NULL;
    assert_int_equal(ps_db_get(db, "dropped", &got), PS_ERR_NOT_FOUND);
    assert_int_equal(ps_db_get(db, "kept", &got), PS_OK);
    ps_document_free(got);
    /* Writing goes on normally after a cancel. */
    assert_int_equal(ps_db_put(db, &d2, NULL), PS_OK);
    assert_int_equal(ps_db_close(db), PS_OK); /* commits */
    ps_db *r = open_r("db");
    uint64_t n;
    assert_int_equal(ps_db_count(r, &n), PS_OK);
    assert_int_equal(n, 2);
    ps_db_close(r);
}

/* ---- opening, locking, revisions ---------------------------------- */

static void test_lock_conflict(void **state)
{
    (void)state;
    ps_db *w1 = tcu_open_w("db");
    char *p = tcu_path(g_dir, "db");
    ps_db *w2 = (ps_db *)1;
    char *err = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_WRITE, &w2, &err), PS_ERR_LOCKED);
    assert_null(w2);
    assert_non_null(err);
    assert_true(strstr(err, "another writer") != NULL);
    assert_true(strstr(err, p) != NULL);
    /* The holder is this very process: its pid is named. */
    char pidtxt[32];
    snprintf(pidtxt, sizeof pidtxt, "pid %ld", (long)getpid());
    assert_true(strstr(err, pidtxt) != NULL);
    free(err);
    /* A reader is fine while the writer holds the lock. */
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    ps_db_close(r);
    ps_db_close(w1);
    /* Released on close. */
    assert_int_equal(ps_db_open(p, PS_DB_WRITE, &w2, NULL), PS_OK);
    ps_db_close(w2);
    free(p);
}

static void test_open_errors(void **state)
{
    (void)state;
    char *missing = tcu_path(g_dir, "missing");
    ps_db *db = (ps_db *)1;
    char *err = NULL;
    assert_int_equal(ps_db_open(missing, PS_DB_READ, &db, &err), PS_ERR_NO_DB);
    assert_null(db);
    assert_non_null(err);
    assert_true(strstr(err, missing) != NULL);
    free(err);
    err = NULL;
    /* An empty directory is not a database either. */
    assert_int_equal(mkdir(missing, 0700), 0);
    assert_int_equal(ps_db_open(missing, PS_DB_READ, &db, &err), PS_ERR_NO_DB);
    free(err);
    /* A stub file pointing at a real database is refused in both modes. */
    ps_db *w = tcu_open_w("real");
    ps_db_close(w);
    char *stub = tcu_path(g_dir, "stub");
    char *real = tcu_path(g_dir, "real");
    FILE *f = fopen(stub, "w");
    assert_non_null(f);
    fprintf(f, "auto %s\n", real);
    fclose(f);
    err = NULL;
    assert_int_equal(ps_db_open(stub, PS_DB_READ, &db, &err), PS_ERR_NO_DB);
    assert_null(db);
    free(err);
    err = NULL;
    assert_int_equal(ps_db_open(stub, PS_DB_WRITE, &db, &err), PS_ERR_NO_DB);
    assert_null(db);
    free(err);
    assert_int_equal(ps_db_open(NULL, PS_DB_READ, &db, NULL), PS_ERR_INVALID);
    free(stub);
    free(real);
    free(missing);
}

static void put_file(const char *dir, const char *name, const char *content)
{
    char *p = tcu_path(dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    free(p);
}

/* Entries of dir but "." and "..". */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* A database ps_db_create() made: 0 documents, readable, writable. */
static void check_created_and_write(const char *p)
{
    ps_db *r = NULL;
    uint64_t n = 99;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    assert_int_equal(ps_db_count(r, &n), PS_OK);
    assert_int_equal(n, 0);
    ps_db *w = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_WRITE, &w, NULL), PS_OK);
    ps_doc_in d = {.id = "first", .body = "the first document", .lang = "en"};
    assert_int_equal(ps_db_put(w, &d, NULL), PS_OK);
    assert_int_equal(ps_db_close(w), PS_OK);
    int changed = 0;
    assert_int_equal(ps_db_reopen(r, &changed), PS_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(ps_db_count(r, &n), PS_OK);
    assert_int_equal(n, 1);
    ps_db_close(r);
}

static void test_create(void **state)
{
    (void)state;
    char *err = NULL;
    int created = -1;

    /* Missing: the directory and the database are made. */
    char *p = tcu_path(g_dir, "new");
    assert_int_equal(ps_db_place_of(p, &err), PS_PLACE_MISSING);
    assert_null(err);
    assert_int_equal(ps_db_create(p, &created, &err), PS_OK);
    assert_null(err);
    assert_int_equal(created, 1);
    assert_int_equal(ps_db_place_of(p, NULL), PS_PLACE_DATABASE);
    check_created_and_write(p);
    /* Again: a database is there, nothing is written. */
    uint64_t rev = ps_db_disk_revision(p);
    assert_int_equal(ps_db_create(p, &created, &err), PS_OK);
    assert_int_equal(created, 0);
    assert_int_equal(ps_db_disk_revision(p), rev);
    free(p);

    /* An empty directory, and one a killed creation left. */
    p = tcu_path(g_dir, "empty");
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(ps_db_place_of(p, NULL), PS_PLACE_EMPTY);
    assert_int_equal(ps_db_create(p, &created, &err), PS_OK);
    assert_int_equal(created, 1);
    check_created_and_write(p);
    free(p);
    p = tcu_path(g_dir, "half");
    assert_int_equal(mkdir(p, 0700), 0);
    put_file(p, "flintlock", "");
    put_file(p, "postlist.glass", "");
    put_file(p, "v.tmp", "partial");
    assert_int_equal(ps_db_place_of(p, NULL), PS_PLACE_EMPTY);
    assert_int_equal(ps_db_create(p, &created, &err), PS_OK);
    assert_int_equal(created, 1);
    check_created_and_write(p);
    free(p);

    /* A shard set counts as a database: left alone. */
    p = tcu_path(g_dir, "set");
    assert_int_equal(mkdir(p, 0700), 0);
    put_file(p, "SHARDS", "2\n");
    assert_int_equal(ps_db_place_of(p, NULL), PS_PLACE_DATABASE);
    assert_int_equal(ps_db_create(p, &created, &err), PS_OK);
    assert_int_equal(created, 0);
    assert_int_equal(count_entries(p), 1);
    free(p);

    /* A missing parent is not made. */
    p = tcu_path(g_dir, "no/such");
    char *parent = tcu_path(g_dir, "no");
    assert_int_equal(ps_db_create(p, &created, &err), PS_ERR_NO_DB);
    assert_int_equal(created, 0);
    assert_non_null(err);
    assert_non_null(strstr(err, parent));
    assert_non_null(strstr(err, "does not exist"));
    free(err);
    err = NULL;
    struct stat sb;
    assert_int_equal(stat(parent, &sb), -1);
    free(parent);
    free(p);

    /* A directory with other files, a file, a dangling link: untouched. */
    p = tcu_path(g_dir, "precious");
    assert_int_equal(mkdir(p, 0700), 0);
    put_file(p, "notes.txt", "keep me\n");
    assert_int_equal(ps_db_place_of(p, &err), PS_PLACE_OTHER);
    assert_non_null(strstr(err, "notes.txt"));
    free(err);
    err = NULL;
    assert_int_equal(ps_db_create(p, &created, &err), PS_ERR_INVALID);
    assert_int_equal(created, 0);
    assert_non_null(strstr(err, p));
    assert_non_null(strstr(err, "notes.txt"));
    free(err);
    err = NULL;
    assert_int_equal(count_entries(p), 1);
    char *f = tcu_path(p, "notes.txt");
    char *txt = tcu_read_file(f);
    assert_string_equal(txt, "keep me\n");
    free(txt);
    assert_int_equal(ps_db_place_of(f, NULL), PS_PLACE_OTHER);
    assert_int_equal(ps_db_create(f, &created, &err), PS_ERR_INVALID);
    assert_non_null(strstr(err, "not a directory"));
    free(err);
    err = NULL;
    txt = tcu_read_file(f);
    assert_string_equal(txt, "keep me\n");
    free(txt);
    free(f);
    free(p);
    p = tcu_path(g_dir, "dangling");
    char *target = tcu_path(g_dir, "nowhere");
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(ps_db_create(p, &created, &err), PS_ERR_INVALID);
    assert_non_null(strstr(err, "symbolic link"));
    free(err);
    err = NULL;
    assert_int_equal(stat(target, &sb), -1);
    free(target);
    free(p);

    assert_int_equal(ps_db_create(NULL, &created, &err), PS_ERR_INVALID);
    free(err);
    assert_int_equal(ps_db_place_of("", NULL), PS_PLACE_OTHER);
}

static void test_reopen_revision(void **state)
{
    (void)state;
    ps_db *w = tcu_open_w("db");
    ps_doc_in d = {.id = "one", .body = "first document", .lang = "en"};
    assert_int_equal(ps_db_put(w, &d, NULL), PS_OK);
    assert_int_equal(ps_db_commit(w), PS_OK);
    char *p = tcu_path(g_dir, "db");
    ps_db *r = open_r("db");
    uint64_t rev1 = ps_db_revision(r);
    assert_true(rev1 > 0);
    assert_int_equal(ps_db_disk_revision(p), rev1);
    int changed = -1;
    assert_int_equal(ps_db_reopen(r, &changed), PS_OK);
    assert_int_equal(changed, 0);

    ps_doc_in d2 = {.id = "two", .body = "second document", .lang = "en"};
    assert_int_equal(ps_db_put(w, &d2, NULL), PS_OK);
    assert_int_equal(ps_db_disk_revision(p), rev1); /* not committed yet */
    assert_int_equal(ps_db_commit(w), PS_OK);
    uint64_t disk = ps_db_disk_revision(p);
    assert_true(disk > rev1);
    assert_int_equal(ps_db_revision(w), disk);
    ps_document *got = NULL;
    assert_int_equal(ps_db_reopen(r, &changed), PS_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(ps_db_revision(r), disk);
    assert_int_equal(ps_db_get(r, "two", &got), PS_OK);
    ps_document_free(got);
    ps_query q = {.q = "second"};
    ps_results *res = NULL;
    assert_int_equal(ps_search(r, &q, &res), PS_OK);
    assert_int_equal(res->nhits, 1);
    assert_string_equal(res->hits[0].id, "two");
    ps_results_free(res);
    assert_int_equal(ps_db_disk_revision("/nonexistent/x"), 0);
    ps_db_close(r);
    ps_db_close(w);
    free(p);
}

/* A reader left two commits behind while the writer rewrites most blocks
 * gets DatabaseModifiedError from Xapian; ps_search reopens and retries
 * once, so the caller sees results at the new revision. */
static void test_modified_retry(void **state)
{
    (void)state;
    ps_db *w = tcu_open_w("db");
    static char body[4096];
    char id[32];
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "d%d", i);
        snprintf(body, sizeof body, "zebra w%d", i);
        ps_doc_in d = {.id = id, .body = body, .lang = "en"};
        assert_int_equal(ps_db_put(w, &d, NULL), PS_OK);
    }
    assert_int_equal(ps_db_commit(w), PS_OK);
    ps_db *r = open_r("db");
    uint64_t rev0 = ps_db_revision(r);
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 300; i++) {
            snprintf(id, sizeof id, "d%d", i);
            snprintf(body, sizeof body, "zebra round%d w%d", round, i);
            ps_doc_in d = {.id = id, .body = body, .lang = "en"};
            assert_int_equal(ps_db_put(w, &d, NULL), PS_OK);
        }
        assert_int_equal(ps_db_commit(w), PS_OK);
    }
    ps_query q = {.q = "zebra", .limit = 1000};
    ps_results *res = NULL;
    assert_int_equal(ps_search(r, &q, &res), PS_OK);
    assert_int_equal(res->nhits, 300);
    ps_results_free(res);
    /* Only the retry path reopens inside ps_search. */
    assert_true(ps_db_revision(r) > rev0);
    assert_int_equal(ps_db_revision(r), ps_db_revision(w));
    ps_db_close(r);
    ps_db_close(w);
}

/* ---- exception mapping -------------------------------------------- */

static void test_corrupt_db(void **state)
{
    (void)state;
    ps_db *w = tcu_open_w("db");
    for (int i = 0; i < 50; i++) {
        char id[16];
        snprintf(id, sizeof id, "doc%d", i);
        ps_doc_in d = {.id = id, .body = "alpha beta gamma delta", .lang = "en"};
        assert_int_equal(ps_db_put(w, &d, NULL), PS_OK);
    }
    assert_int_equal(ps_db_close(w), PS_OK);
    char *pl = tcu_path(g_dir, "db/postlist.glass");
    assert_int_equal(truncate(pl, 100), 0);
    free(pl);
    char *p = tcu_path(g_dir, "db");
    ps_db *r = NULL;
    char *err = NULL;
    ps_status st = ps_db_open(p, PS_DB_READ, &r, &err);
    free(err);
    err = NULL;
    if (st == PS_OK) {
        ps_query q = {.q = "alpha"};
        ps_results *res = NULL;
        st = ps_search(r, &q, &res);
        assert_null(res);
        assert_true(strlen(ps_db_errmsg(r)) > 0);
        ps_db_close(r);
    }
    assert_int_equal(st, PS_ERR_CORRUPT);
    /* Overwritten table blocks. */
    char *tl = tcu_path(g_dir, "db/termlist.glass");
    FILE *tf = fopen(tl, "r+");
    assert_non_null(tf);
    for (int i = 0; i < 8192; i++)
        fputc(0x5a, tf);
    fclose(tf);
    free(tl);
    int corrupt_seen = 0;
    st = ps_db_open(p, PS_DB_READ, &r, NULL);
    corrupt_seen |= st == PS_ERR_CORRUPT;
    if (st == PS_OK) {
        ps_results *lc = NULL;
        ps_query q2 = {.q = "alpha", .limit = 50, .snippets = 1};
        st = ps_search(r, &q2, &lc);
        corrupt_seen |= st == PS_ERR_CORRUPT;
        ps_results_free(lc);
        ps_document *doc = NULL;
        st = ps_db_get(r, "doc1", &doc);
        corrupt_seen |= st == PS_ERR_CORRUPT;
        ps_document_free(doc);
        ps_db_close(r);
    }
    assert_true(corrupt_seen);
    /* A damaged version file: refused at open. */
    char *vf = tcu_path(g_dir, "db/iamglass");
    FILE *f = fopen(vf, "w");
    assert_non_null(f);
    fputs("garbage", f);
    fclose(f);
    free(vf);
    st = ps_db_open(p, PS_DB_READ, &r, &err);
    assert_true(st == PS_ERR_CORRUPT || st == PS_ERR_NO_DB);
    assert_non_null(err);
    free(err);
    assert_int_equal(ps_db_disk_revision(p), 0);
    free(p);
}

/* A commit that runs out of file size (RLIMIT_FSIZE: EFBIG, the same path
 * as ENOSPC) comes back as PS_ERR_IO and the last commit stays readable.
 * Runs in a child so the limit does not leak into the other tests. */
static void test_commit_io_error(void **state)
{
    (void)state;
    char *p = tcu_make_base();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {64 * 1024, 64 * 1024};
        setrlimit(RLIMIT_FSIZE, &rl);
        ps_db *cw = NULL;
        if (ps_db_open(p, PS_DB_WRITE, &cw, NULL) != PS_OK)
            _exit(10);
        ps_status st = tcu_put_big_and_commit(cw);
        int ok = st == PS_ERR_IO && strstr(ps_db_errmsg(cw), "last commit") != NULL;
        if (!ok)
            fprintf(stderr, "commit: %d %s\n", st, ps_db_errmsg(cw));
        ps_db_close(cw);
        _exit(ok ? 0 : 11);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    uint64_t n = 0;
    assert_int_equal(ps_db_count(r, &n), PS_OK);
    assert_int_equal(n, 1);
    ps_document *got = NULL;
    assert_int_equal(ps_db_get(r, "base", &got), PS_OK);
    ps_document_free(got);
    ps_db_close(r);
    /* And a writer can start again at once. */
    ps_db *w = tcu_open_w("db");
    ps_db_close(w);
    free(p);
}

/* Allocation failure inside the library (C helpers returning NULL, or
 * std::bad_alloc from Xapian) comes back as PS_ERR_NOMEM.  Forced with
 * RLIMIT_AS in a child; skipped under AddressSanitizer, which reserves
 * terabytes of address space. */
static void test_out_of_memory(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip();
#else
    char *p = tcu_path(g_dir, "db");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ps_db *cw = NULL;
        if (ps_db_open(p, PS_DB_WRITE, &cw, NULL) != PS_OK)
            _exit(10);
        size_t n = 48u << 20;
        char *body = malloc(n + 1);
        if (!body)
            _exit(11);
        for (size_t i = 0; i < n; i++)
            body[i] = (i % 8 == 7) ? ' ' : 'a' + (char)(i % 7);
        body[n] = '\0';
        unsigned long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f || fscanf(f, "%lu", &pages) != 1)
            _exit(12);
        fclose(f);
        rlim_t cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
        struct rlimit rl = {cur + (16u << 20), cur + (16u << 20)};
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(13);
        ps_doc_in d = {.id = "huge", .body = body, .lang = "en"};
        ps_status st = ps_db_put(cw, &d, NULL);
        int ok = st == PS_ERR_NOMEM && strstr(ps_db_errmsg(cw), "memory");
        if (!ok)
            fprintf(stderr, "put under RLIMIT_AS: %d %s\n", st, ps_db_errmsg(cw));
        _exit(ok ? 0 : 14);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    free(p);
#endif
}

static void test_stem(void **state)
{
    (void)state;
    char *s = ps_stem("fr", "competitivite");
    assert_non_null(s);
    assert_string_equal(s, "competitivit");
    free(s);
    s = ps_stem("und", "innovations");
    assert_string_equal(s, "innovations");
    free(s);
    s = ps_stem("de", "innovationen");
    char *t = ps_stem("de", "innovation");
    assert_string_equal(s, t);
    free(s);
    free(t);
    assert_null(ps_stem("fr", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_normalize),
        cmocka_unit_test(test_fields_roundtrip),
        cmocka_unit_test(test_stem),
        cmocka_unit_test_setup_teardown(test_put_get_replace_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_and_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_revision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modified_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_db, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_io_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
