/* test_core_bulk.c: bulk builds (ps_bulk_*, lib/core/bulk.cc) on temporary
 * directories: the result equals a serial build of the same documents
 * (documents, search hits and weights, language facets, spelling
 * suggestions), two threads writing at once, duplicates, an empty build;
 * where a build may start (missing path, empty directory, not over a
 * database or other files) and the lock it holds; abort and a failed
 * merge leave the path as found; a crashed build's scratch directory is
 * removed by the next one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "polysearch.h"
#define TCU_TEMPDIR_FIXTURE
#include "test_core_util.h"

#define NDOCS 120

static const char *const LANGS[] = { "en", "fr", "de" };
static const char *const WORDS[] = {
    "innovation", "santé", "hôpital", "recherche", "Forschung", "Gesundheit",
    "research", "health", "biotech", "lyonbiopôle", "Krankenhaus", "vaccine",
    "vaccin", "Impfstoff", "laboratoire", "laboratory", "Labor", "clinique",
};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

/* Document i of the test set: id "doc<i>", a title and a body drawn
 * from WORDS, language LANGS[i % 3]; ids 0..9 come twice (the second copy,
 * written later, has another body and wins). */
static void make_doc(int i, int copy, char *id, size_t idlen, char *title,
                     size_t tlen, char *body, size_t blen, ps_doc_in *d)
{
    snprintf(id, idlen, "doc%d", i);
    snprintf(title, tlen, "%s %s number %d", WORDS[i % NWORDS],
             WORDS[(i * 7 + 3) % NWORDS], i);
    size_t n = 0;
    for (int k = 0; k < 40 && n + 32 < blen; k++)
        n += (size_t)snprintf(body + n, blen - n, "%s ",
                              WORDS[(size_t)(i * 13 + k * (k + copy + 1)) % NWORDS]);
    snprintf(body + n, blen - n, "token%d copy%d", i, copy);
    memset(d, 0, sizeof *d);
    d->id = id;
    d->title = title;
    d->body = body;
    d->lang = LANGS[i % 3];
}

/* Calls fn(i, copy) for the documents in input order. */
static void for_each_doc(void (*fn)(void *ctx, const ps_doc_in *d), void *ctx)
{
    char id[32], title[128], body[1024];
    ps_doc_in d;
    for (int i = 0; i < NDOCS; i++) {
        make_doc(i, 0, id, sizeof id, title, sizeof title, body, sizeof body, &d);
        fn(ctx, &d);
        if (i >= 50 && i < 60) {      /* duplicates of doc0..doc9 */
            make_doc(i - 50, 1, id, sizeof id, title, sizeof title, body,
                     sizeof body, &d);
            fn(ctx, &d);
        }
    }
}

static void put_serial(void *ctx, const ps_doc_in *d)
{
    assert_int_equal(ps_db_put(ctx, d, NULL), PS_OK);
}

static void put_bulk(void *ctx, const ps_doc_in *d)
{
    ps_bulk *b = ctx;
    ps_prepared *p = NULL;
    assert_int_equal(ps_doc_prepare(d, NULL, &p, NULL), PS_OK);
    ps_db *part = ps_bulk_part(b, ps_shard_of(d->id, ps_bulk_nparts(b)));
    assert_non_null(part);
    assert_int_equal(ps_db_put_prepared(part, p, NULL), PS_OK);
    ps_prepared_free(p);
}

/* Number of entries of dir whose name starts with prefix. */
static int count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

static char *build_serial(void)
{
    ps_db *w = tcu_open_w("serial");
    for_each_doc(put_serial, w);
    assert_int_equal(ps_db_close(w), PS_OK);
    return tcu_path(g_dir, "serial");
}

static char *build_bulk(const char *name, uint32_t nparts)
{
    char *p = tcu_path(g_dir, name);
    ps_bulk *b = NULL;
    char *err = NULL;
    assert_int_equal(ps_bulk_begin(p, nparts, &b, &err), PS_OK);
    assert_null(err);
    assert_int_equal(ps_bulk_nparts(b), nparts);
    assert_null(ps_bulk_part(b, nparts));
    for_each_doc(put_bulk, b);
    uint64_t n = 0;
    assert_int_equal(ps_bulk_finish(b, &n, &err), PS_OK);
    assert_null(err);
    assert_int_equal(n, NDOCS);
    return p;
}

/* The same search on both databases gives the same total, facets,
 * suggestion and hits: equal weights in the same order, and the same ids
 * at each weight (documents of equal weight may come in another order). */
static void same_search(ps_db *a, ps_db *b, const char *q, const char *lang)
{
    ps_query qq;
    memset(&qq, 0, sizeof qq);
    qq.q = q;
    qq.lang = lang;
    qq.limit = 1000;
    qq.facets = 1;
    qq.spelling = 1;
    ps_results *ra = NULL, *rb = NULL;
    assert_int_equal(ps_search(a, &qq, &ra), PS_OK);
    assert_int_equal(ps_search(b, &qq, &rb), PS_OK);
    assert_int_equal(ra->total, rb->total);
    assert_int_equal(ra->nhits, rb->nhits);
    assert_string_equal(ra->suggestion ? ra->suggestion : "",
                        rb->suggestion ? rb->suggestion : "");
    assert_int_equal(ra->nfacets, rb->nfacets);
    for (uint32_t i = 0; i < ra->nfacets; i++) {
        assert_string_equal(ra->facets[i].value, rb->facets[i].value);
        assert_int_equal(ra->facets[i].count, rb->facets[i].count);
    }
    for (uint32_t i = 0; i < ra->nhits; i++) {
        assert_true(ra->hits[i].score - rb->hits[i].score < 1e-9 &&
                    rb->hits[i].score - ra->hits[i].score < 1e-9);
        /* Find ra's id among rb's hits of the same weight. */
        int found = 0;
        for (uint32_t j = 0; j < rb->nhits && !found; j++)
            found = strcmp(ra->hits[i].id, rb->hits[j].id) == 0 &&
                    ra->hits[i].score - rb->hits[j].score < 1e-9 &&
                    rb->hits[j].score - ra->hits[i].score < 1e-9;
        if (!found)
            fail_msg("query [%s]: %s not among the other build's hits", q,
                     ra->hits[i].id);
    }
    ps_results_free(ra);
    ps_results_free(rb);
}

static void same_doc(ps_db *a, ps_db *b, const char *id)
{
    ps_document *da = NULL, *db = NULL;
    assert_int_equal(ps_db_get(a, id, &da), PS_OK);
    assert_int_equal(ps_db_get(b, id, &db), PS_OK);
    assert_string_equal(da->title, db->title);
    assert_string_equal(da->body, db->body);
    assert_string_equal(da->lang, db->lang);
    assert_string_equal(da->hash, db->hash);
    ps_document_free(da);
    ps_document_free(db);
}

static void test_same_as_serial(void **state)
{
    (void)state;
    char *sp = build_serial();
    char *bp = build_bulk("bulk", 3);
    ps_db *s = NULL, *b = NULL;
    assert_int_equal(ps_db_open(sp, PS_DB_READ, &s, NULL), PS_OK);
    assert_int_equal(ps_db_open(bp, PS_DB_READ, &b, NULL), PS_OK);
    uint64_t ns = 0, nb = 0;
    assert_int_equal(ps_db_count(s, &ns), PS_OK);
    assert_int_equal(ps_db_count(b, &nb), PS_OK);
    assert_int_equal(ns, NDOCS);
    assert_int_equal(nb, NDOCS);
    for (int i = 0; i < NDOCS; i++) {
        char id[32];
        snprintf(id, sizeof id, "doc%d", i);
        same_doc(s, b, id);
    }
    /* The later copy of a duplicate won, in both. */
    ps_document *d = NULL;
    assert_int_equal(ps_db_get(b, "doc3", &d), PS_OK);
    assert_non_null(strstr(d->body, "copy1"));
    ps_document_free(d);
    static const char *const queries[] = {
        "sante", "innovation", "hopital OR clinique", "\"health research\"",
        "vaccin*", "title:vaccine", "lang:de", "Krankenhaus NOT Labor",
        "token17", "copy1", "reserch", "lyonbiopole", "vacine",
        "laboratoyre", "gesundheit forschung",
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        same_search(s, b, queries[i], NULL);
        same_search(s, b, queries[i], "fr");
    }
    /* A misspelt title word is corrected the same way. */
    ps_query q;
    memset(&q, 0, sizeof q);
    q.q = "labratory";
    q.spelling = 1;
    ps_results *r = NULL;
    assert_int_equal(ps_search(b, &q, &r), PS_OK);
    assert_non_null(r->suggestion);
    assert_string_equal(r->suggestion, "laboratory");
    ps_results_free(r);
    ps_results *la = NULL, *lb = NULL;
    assert_int_equal(ps_db_lang_counts(s, &la), PS_OK);
    assert_int_equal(ps_db_lang_counts(b, &lb), PS_OK);
    assert_int_equal(la->nfacets, lb->nfacets);
    for (uint32_t i = 0; i < la->nfacets; i++)
        assert_int_equal(la->facets[i].count, lb->facets[i].count);
    ps_results_free(la);
    ps_results_free(lb);
    ps_db_close(s);
    ps_db_close(b);
    /* Nothing of the build is left beside the database. */
    assert_int_equal(count_entries(g_dir, ".bulk.bulk-"), 0);
    /* The new database takes writes. */
    ps_db *w = NULL;
    assert_int_equal(ps_db_open(bp, PS_DB_WRITE, &w, NULL), PS_OK);
    ps_doc_in more = {.id = "more", .body = "one more document", .lang = "en"};
    assert_int_equal(ps_db_put(w, &more, NULL), PS_OK);
    assert_int_equal(ps_db_close(w), PS_OK);
    free(sp);
    free(bp);
}

/* Two threads write their parts at once. */
struct half {
    ps_bulk *b;
    uint32_t part;
    int n;
};

static void *write_half(void *arg)
{
    struct half *h = arg;
    ps_db *part = ps_bulk_part(h->b, h->part);
    char id[32], title[128], body[1024];
    ps_doc_in d;
    for (int i = 0; i < NDOCS; i++) {
        make_doc(i, 0, id, sizeof id, title, sizeof title, body, sizeof body, &d);
        if (ps_shard_of(id, 2) != h->part)
            continue;
        ps_prepared *p = NULL;
        if (ps_doc_prepare(&d, NULL, &p, NULL) != PS_OK ||
            ps_db_put_prepared(part, p, NULL) != PS_OK)
            return (void *)1;
        ps_prepared_free(p);
        if (++h->n % 16 == 0 && ps_db_commit(part) != PS_OK)
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    char *p = tcu_path(g_dir, "threads");
    ps_bulk *b = NULL;
    assert_int_equal(ps_bulk_begin(p, 2, &b, NULL), PS_OK);
    struct half h[2] = { { b, 0, 0 }, { b, 1, 0 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, write_half, &h[i]), 0);
    for (int i = 0; i < 2; i++) {
        void *rv = NULL;
        pthread_join(th[i], &rv);
        assert_null(rv);
    }
    assert_true(h[0].n > 0 && h[1].n > 0);
    uint64_t n = 0;
    assert_int_equal(ps_bulk_finish(b, &n, NULL), PS_OK);
    assert_int_equal(n, NDOCS);
    free(p);
}

static void test_empty_build(void **state)
{
    (void)state;
    char *p = tcu_path(g_dir, "empty");
    ps_bulk *b = NULL;
    assert_int_equal(ps_bulk_begin(p, 2, &b, NULL), PS_OK);
    uint64_t n = 99;
    assert_int_equal(ps_bulk_finish(b, &n, NULL), PS_OK);
    assert_int_equal(n, 0);
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    assert_int_equal(ps_db_count(r, &n), PS_OK);
    assert_int_equal(n, 0);
    ps_db_close(r);
    free(p);
}

/* Where a build may start, and what it leaves when it does not. */
static void test_places(void **state)
{
    (void)state;
    ps_bulk *b = NULL;
    char *err = NULL;
    /* Over a database: refused, untouched. */
    char *db = tcu_make_base();
    assert_int_equal(ps_bulk_begin(db, 2, &b, &err), PS_ERR_INVALID);
    assert_null(b);
    assert_non_null(strstr(err, "already holds a database"));
    free(err);
    err = NULL;
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(db, PS_DB_READ, &r, NULL), PS_OK);
    ps_db_close(r);
    /* A directory holding other files: refused, untouched. */
    char *other = tcu_path(g_dir, "other");
    assert_int_equal(mkdir(other, 0777), 0);
    char *f = tcu_path(other, "notes.txt");
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(ps_bulk_begin(other, 2, &b, &err), PS_ERR_INVALID);
    free(err);
    err = NULL;
    assert_int_equal(access(f, F_OK), 0);
    /* A missing parent. */
    char *deep = tcu_path(g_dir, "no/such/db");
    assert_int_equal(ps_bulk_begin(deep, 2, &b, &err), PS_ERR_NO_DB);
    free(err);
    err = NULL;
    /* Bad arguments. */
    char *ok = tcu_path(g_dir, "ok");
    assert_int_equal(ps_bulk_begin(ok, 0, &b, NULL), PS_ERR_INVALID);
    assert_int_equal(ps_bulk_begin(ok, 65, &b, NULL), PS_ERR_INVALID);
    assert_int_equal(ps_bulk_begin(NULL, 2, &b, NULL), PS_ERR_INVALID);
    assert_int_equal(access(ok, F_OK), -1);
    assert_int_equal(ps_bulk_finish(NULL, NULL, NULL), PS_ERR_INVALID);
    ps_bulk_abort(NULL);
    assert_int_equal(count_entries(g_dir, "."), 2);   /* . and .. */
    free(db);
    free(other);
    free(f);
    free(deep);
    free(ok);
}

/* While a build runs, the path has no database and its lock is held;
 * abort restores what was there. */
static void test_lock_and_abort(void **state)
{
    (void)state;
    char *p = tcu_path(g_dir, "locked");
    ps_bulk *b = NULL, *b2 = NULL;
    char *err = NULL;
    assert_int_equal(ps_bulk_begin(p, 2, &b, NULL), PS_OK);
    assert_int_equal(ps_bulk_begin(p, 2, &b2, &err), PS_ERR_LOCKED);
    assert_null(b2);
    assert_non_null(err);
    free(err);
    err = NULL;
    ps_db *h = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_WRITE, &h, &err), PS_ERR_LOCKED);
    free(err);
    err = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &h, &err), PS_ERR_NO_DB);
    free(err);
    err = NULL;
    assert_int_equal(ps_db_place_of(p, NULL), PS_PLACE_EMPTY);
    char id[32], title[128], body[1024];
    ps_doc_in d;
    make_doc(1, 0, id, sizeof id, title, sizeof title, body, sizeof body, &d);
    assert_int_equal(ps_db_put(ps_bulk_part(b, 0), &d, NULL), PS_OK);
    ps_bulk_abort(b);
    assert_int_equal(access(p, F_OK), -1);          /* it was missing */
    assert_int_equal(count_entries(g_dir, ".locked.bulk-"), 0);
    /* An empty directory stays one. */
    assert_int_equal(mkdir(p, 0750), 0);
    assert_int_equal(ps_bulk_begin(p, 1, &b, NULL), PS_OK);
    ps_bulk_abort(b);
    assert_int_equal(ps_db_place_of(p, NULL), PS_PLACE_EMPTY);
    assert_int_equal(count_entries(p, "."), 2);
    /* Built into it, the database keeps the directory's mode. */
    assert_int_equal(ps_bulk_begin(p, 1, &b, NULL), PS_OK);
    assert_int_equal(ps_db_put(ps_bulk_part(b, 0), &d, NULL), PS_OK);
    assert_int_equal(ps_bulk_finish(b, NULL, NULL), PS_OK);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0750);
    assert_int_equal(ps_db_place_of(p, NULL), PS_PLACE_DATABASE);
    free(p);
}

/* A build killed at any point leaves no database and a scratch directory
 * that the next build of the same path removes. */
static void test_crash_leftovers(void **state)
{
    (void)state;
    char *p = tcu_path(g_dir, "crash");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ps_bulk *b = NULL;
        if (ps_bulk_begin(p, 2, &b, NULL) != PS_OK)
            _exit(1);
        char id[32], title[128], body[1024];
        ps_doc_in d;
        make_doc(1, 0, id, sizeof id, title, sizeof title, body, sizeof body, &d);
        if (ps_db_put(ps_bulk_part(b, 1), &d, NULL) != PS_OK ||
            ps_db_commit(ps_bulk_part(b, 1)) != PS_OK)
            _exit(2);
        raise(SIGKILL);
        _exit(3);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_int_equal(count_entries(g_dir, ".crash.bulk-"), 1);
    assert_int_equal(ps_db_place_of(p, NULL), PS_PLACE_EMPTY);
    ps_db *r = NULL;
    char *err = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, &err), PS_ERR_NO_DB);
    free(err);
    char *db = build_bulk("crash", 2);
    assert_int_equal(count_entries(g_dir, ".crash.bulk-"), 0);
    free(db);
    free(p);
}

/* The merge fails (a file size limit stands in for a full disk): the
 * path is left as it was, the scratch directory removed. */
static void test_merge_fails(void **state)
{
    (void)state;
    char *p = tcu_path(g_dir, "full");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        ps_bulk *b = NULL;
        if (ps_bulk_begin(p, 8, &b, NULL) != PS_OK)
            _exit(10);
        for (uint32_t i = 0; i < 8; i++)
            if (tcu_put_big_and_commit(ps_bulk_part(b, i)) != PS_OK)
                _exit(11);
        /* Each part holds the same ~3 MiB; their merge is larger than
         * one of them. */
        char *pos = tcu_path(ps_bulk_scratch(b), "part-0/position.glass");
        struct stat sb;
        if (stat(pos, &sb) != 0)
            _exit(12);
        free(pos);
        struct rlimit rl = { (rlim_t)sb.st_size * 2, (rlim_t)sb.st_size * 2 };
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(13);
        char *err = NULL;
        ps_status st = ps_bulk_finish(b, NULL, &err);
        _exit(st == PS_ERR_IO && err != NULL ? 0 : 20 + (int)st);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(count_entries(g_dir, ".full.bulk-"), 0);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_as_serial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_build, setup, teardown),
        cmocka_unit_test_setup_teardown(test_places, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_and_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_leftovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
