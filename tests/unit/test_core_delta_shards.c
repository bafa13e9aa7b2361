/* test_core_delta_shards.c: the write-ahead delta over a shard set
 * (lib/core/delta.cc, delta_view.cc; docs/SCALING.md "The write-ahead log
 * and shards") on 3 local shards whose docids collide (every shard has a
 * docid 1, 2, 3...): a replaced or deleted document of one shard hides
 * only itself, never the documents with the same docid in the other
 * shards, in search (facets and totals), get, count, ids and language
 * counts; the writer's outcomes against the shard set; a checkpoint
 * through the sharded writable handle puts each document into its shard
 * and the seq into every shard; a start-up from shards at different
 * checkpoints replays from the lowest, and giving a shard operations it
 * already holds changes nothing; the seq of a set with a shard down is
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "polysearch.h"
#define TCU_TEMPDIR_FIXTURE
#include "test_core_util.h"

enum { NSH = 3, NMAIN = 12 };

/* ---- helpers ---------------------------------------------------------- */

static const char *const LANGS[] = {"en", "fr", "de"};

/* g_dir/set: 3 shards holding m0..m11 ("main word m<i>", languages en,
 * fr, de in turn), committed.  Returns its malloc'd path. */
static char *make_set(void)
{
    char *p = tcu_path(g_dir, "set");
    ps_db *w = NULL;
    assert_int_equal(ps_db_open_dir(p, PS_DB_WRITE, NSH, &w, NULL), PS_OK);
    for (int i = 0; i < NMAIN; i++) {
        char id[8], body[64];
        snprintf(id, sizeof id, "m%d", i);
        snprintf(body, sizeof body, "mainword word%d", i);
        ps_doc_in d = {.id = id, .title = id, .body = body, .lang = LANGS[i % 3]};
        assert_int_equal(ps_db_put(w, &d, NULL), PS_OK);
    }
    assert_int_equal(ps_db_close(w), PS_OK);
    return p;
}

static ps_db *open_set(const char *p, ps_db_mode mode)
{
    ps_db *db = NULL;
    char *e = NULL;
    ps_status st = ps_db_open_dir(p, mode, 0, &db, &e);
    if (st != PS_OK)
        fprintf(stderr, "open %s: %s\n", p, e ? e : "");
    free(e);
    assert_int_equal(st, PS_OK);
    assert_int_equal(ps_db_nshards(db), NSH);
    return db;
}

/* The first main id (m0..m11) of shard k: docid 1 there. */
static const char *first_of(int k)
{
    static char ids[NSH][8];
    for (int i = 0; i < NMAIN; i++) {
        char id[8];
        snprintf(id, sizeof id, "m%d", i);
        if ((int)ps_shard_of(id, NSH) == k) {
            snprintf(ids[k], sizeof ids[k], "%s", id);
            return ids[k];
        }
    }
    fail_msg("no main id in shard %d", k);
    return NULL;
}

/* Hits of q (ids once each, checked), comma separated and sorted by id
 * into buf; returns the number; *total the estimate (exact: facets on). */
static uint32_t hits(ps_db *db, const char *q, char *buf, size_t n, uint64_t *total)
{
    ps_query query = {.q = q, .limit = 100, .facets = 1};
    ps_results *r = NULL;
    ps_status st = ps_search(db, &query, &r);
    if (st != PS_OK)
        fprintf(stderr, "search %s: %s\n", q, ps_db_errmsg(db));
    assert_int_equal(st, PS_OK);
    const char *v[128];
    assert_true(r->nhits < 128);
    for (uint32_t i = 0; i < r->nhits; i++) {
        v[i] = r->hits[i].id;
        for (uint32_t j = 0; j < i; j++)
            assert_string_not_equal(v[i], v[j]);
    }
    for (uint32_t i = 1; i < r->nhits; i++)  /* insertion sort by id */
        for (uint32_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            const char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    size_t o = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < r->nhits; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? "," : "", v[i]);
    if (total)
        *total = r->total;
    uint64_t facet_sum = 0;
    for (uint32_t i = 0; i < r->nfacets; i++)
        facet_sum += r->facets[i].count;
    assert_int_equal(facet_sum, r->nhits);
    uint32_t k = r->nhits;
    ps_results_free(r);
    return k;
}

/* 1 when the comma-separated list holds id. */
static int has_id(const char *list, const char *id)
{
    size_t n = strlen(id);
    for (const char *s = list; *s;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == n && strncmp(s, id, n) == 0)
            return 1;
        if (!e)
            break;
        s = e + 1;
    }
    return 0;
}

static int count_id(const char *id, void *ctx)
{
    (void)id;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* count, the id list, the language counts and a match-all search agree. */
static void assert_consistent(ps_db *db, uint64_t want)
{
    char buf[1024];
    uint64_t total = 0, ids = 0;
    assert_int_equal(tcu_count(db), want);
    assert_int_equal(hits(db, "", buf, sizeof buf, &total), want);
    assert_int_equal(total, want);
    assert_int_equal(ps_db_foreach_id(db, count_id, &ids), PS_OK);
    assert_int_equal(ids, want);
    ps_results *r = NULL;
    assert_int_equal(ps_db_lang_counts(db, &r), PS_OK);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < r->nfacets; i++)
        sum += r->facets[i].count;
    if (sum != want)
        for (uint32_t i = 0; i < r->nfacets; i++)
            fprintf(stderr, "lang %s: %llu\n", r->facets[i].value,
                    (unsigned long long)r->facets[i].count);
    assert_int_equal(sum, want);
    assert_int_equal(r->total, want);
    ps_results_free(r);
}

/* The seq stored in shard k of the set at p. */
static uint64_t shard_seq(const char *p, int k)
{
    char name[32];
    snprintf(name, sizeof name, "shard-%d", k);
    char *sp = tcu_path(p, name);
    ps_db *db = NULL;
    assert_int_equal(ps_db_open(sp, PS_DB_READ, &db, NULL), PS_OK);
    uint64_t s = 0;
    assert_int_equal(ps_db_get_wal_seq(db, &s), PS_OK);
    ps_db_close(db);
    free(sp);
    return s;
}

/* 1 when shard k alone holds id (a database of its own, no delta). */
static int in_shard(const char *p, int k, const char *id)
{
    char name[32];
    snprintf(name, sizeof name, "shard-%d", k);
    char *sp = tcu_path(p, name);
    ps_db *db = NULL;
    assert_int_equal(ps_db_open(sp, PS_DB_READ, &db, NULL), PS_OK);
    ps_document *doc = NULL;
    ps_status st = ps_db_get(db, id, &doc);
    ps_document_free(doc);
    ps_db_close(db);
    free(sp);
    return st == PS_OK;
}

/* id is in its own shard only (present) or in none (absent). */
static void assert_placed(const char *p, const char *id, int present)
{
    int want = (int)ps_shard_of(id, NSH);
    for (int k = 0; k < NSH; k++)
        assert_int_equal(in_shard(p, k, id), present && k == want);
}

/* ---- tests ------------------------------------------------------------ */

static void test_view_and_checkpoint(void **state)
{
    (void)state;
    char *p = make_set();
    ps_db *view = open_set(p, PS_DB_READ), *r = open_set(p, PS_DB_READ);
    uint64_t s = 99;
    assert_int_equal(ps_db_get_wal_seq(view, &s), PS_OK);
    assert_int_equal(s, 0);
    ps_delta *d = NULL;
    assert_int_equal(ps_delta_new(s, &d), PS_OK);
    assert_int_equal(ps_db_attach_delta(r, d), PS_OK);
    char buf[1024];
    const char *a = first_of(0), *b = first_of(1), *c = first_of(2);
    assert_consistent(r, NMAIN);

    /* Replace a (docid 1 of shard 0): b and c (docid 1 of theirs) stay. */
    assert_int_equal(tcu_delta_put(d, view, 1, a, "zebra replaced", "en", NULL), PS_PUT_REPLACED);
    ps_delta_publish(d, 1);
    assert_int_equal(hits(r, "zebra", buf, sizeof buf, NULL), 1);
    assert_string_equal(buf, a);
    assert_int_equal(hits(r, "mainword", buf, sizeof buf, NULL), NMAIN - 1);
    assert_false(has_id(buf, a));
    assert_true(has_id(buf, b));
    assert_true(has_id(buf, c));
    tcu_assert_body(r, a, "zebra replaced");
    char want[64];
    snprintf(want, sizeof want, "mainword word%s", b + 1);
    tcu_assert_body(r, b, want);
    assert_consistent(r, NMAIN);

    /* Delete b (docid 1 of shard 1); add a new id. */
    assert_int_equal(ps_delta_delete(d, view, b, 2), PS_OK);
    assert_int_equal(ps_delta_delete(d, view, "never", 3), PS_ERR_NOT_FOUND);
    assert_int_equal(tcu_delta_put(d, view, 3, "n1", "zebra new", "en", NULL), PS_PUT_ADDED);
    assert_int_equal(tcu_delta_put(d, view, 4, "n1", "zebra new", "en", NULL), PS_PUT_UNCHANGED);
    ps_delta_publish(d, 4);
    tcu_assert_body(r, b, NULL);
    snprintf(want, sizeof want, "mainword word%s", c + 1);
    tcu_assert_body(r, c, want);
    assert_int_equal(hits(r, "mainword", buf, sizeof buf, NULL), NMAIN - 2);
    assert_true(has_id(buf, c));
    assert_false(has_id(buf, b));
    assert_int_equal(hits(r, "zebra", buf, sizeof buf, NULL), 2);
    assert_consistent(r, NMAIN);  /* -b +n1 */
    /* The writer's outcomes see the delta and every shard. */
    assert_int_equal(tcu_delta_put(d, view, 5, c, "okapi", "en", NULL), PS_PUT_REPLACED);
    assert_int_equal(ps_delta_delete(d, view, b, 6), PS_ERR_NOT_FOUND);
    ps_delta_publish(d, 5);
    assert_int_equal(hits(r, "okapi", buf, sizeof buf, NULL), 1);
    assert_string_equal(buf, c);
    assert_consistent(r, NMAIN);

    /* Checkpoint through the sharded writable handle. */
    ps_db *w = open_set(p, PS_DB_WRITE);
    uint64_t done = 0;
    ps_status st = ps_delta_checkpoint(d, w, UINT64_MAX, &done);
    if (st != PS_OK)
        fprintf(stderr, "checkpoint: %s\n", ps_db_errmsg(w));
    assert_int_equal(st, PS_OK);
    assert_int_equal(done, 5);
    assert_int_equal(ps_db_get_wal_seq(w, &s), PS_OK);
    assert_int_equal(s, 5);
    for (int k = 0; k < NSH; k++)
        assert_int_equal(shard_seq(p, k), 5);
    assert_placed(p, a, 1);
    assert_placed(p, b, 0);
    assert_placed(p, c, 1);
    assert_placed(p, "n1", 1);
    ps_delta_info in;
    ps_delta_stats(d, &in);
    assert_int_equal(in.ops, 0);
    assert_int_equal(in.watermark, 5);
    /* The reader, on the old revisions, reopens by itself. */
    assert_consistent(r, NMAIN);
    tcu_assert_body(r, a, "zebra replaced");
    tcu_assert_body(r, b, NULL);
    assert_int_equal(ps_db_reopen(r, NULL), PS_OK);
    assert_consistent(r, NMAIN);
    assert_int_equal(hits(r, "okapi", buf, sizeof buf, NULL), 1);
    assert_int_equal(hits(r, "zebra", buf, sizeof buf, NULL), 2);

    assert_int_equal(ps_db_close(w), PS_OK);
    ps_db_close(r);
    ps_db_close(view);
    ps_delta_free(d);
    free(p);
}

/* The shards at different checkpoints (a checkpoint that committed some
 * shards and failed on the next, then a crash): the log is replayed from
 * the lowest, and the operations a shard already holds change nothing. */
static void test_replay_from_lowest(void **state)
{
    (void)state;
    char *p = make_set();
    const char *a = first_of(0), *b = first_of(1);
    /* Seqs 1-2 on every shard. */
    ps_db *view = open_set(p, PS_DB_READ);
    ps_delta *d = NULL;
    assert_int_equal(ps_delta_new(0, &d), PS_OK);
    assert_int_equal(tcu_delta_put(d, view, 1, "x1", "heron one", "en", NULL), PS_PUT_ADDED);
    assert_int_equal(tcu_delta_put(d, view, 2, b, "heron bee", "en", NULL), PS_PUT_REPLACED);
    ps_delta_publish(d, 2);
    ps_db *w = open_set(p, PS_DB_WRITE);
    assert_int_equal(ps_delta_checkpoint(d, w, UINT64_MAX, NULL), PS_OK);
    assert_int_equal(ps_db_close(w), PS_OK);
    ps_delta_free(d);
    /* Seqs 3-5 committed on shard 0 only (a's shard). */
    char *s0 = tcu_path(p, "shard-0");
    ps_db *w0 = NULL;
    assert_int_equal(ps_db_open(s0, PS_DB_WRITE, &w0, NULL), PS_OK);
    assert_int_equal(ps_delta_new(2, &d), PS_OK);
    assert_int_equal(tcu_delta_put(d, NULL, 3, a, "heron alpha", "en", NULL), PS_PUT_ADDED);
    assert_int_equal(ps_delta_delete(d, NULL, a, 4), PS_OK);
    assert_int_equal(tcu_delta_put(d, NULL, 5, a, "heron again", "en", NULL), PS_PUT_ADDED);
    ps_delta_publish(d, 5);
    assert_int_equal(ps_delta_checkpoint(d, w0, UINT64_MAX, NULL), PS_OK);
    assert_int_equal(ps_db_close(w0), PS_OK);
    ps_delta_free(d);
    assert_int_equal(shard_seq(p, 0), 5);
    assert_int_equal(shard_seq(p, 1), 2);

    /* Start-up: the lowest seq, and the log after it replayed (with a
     * delete of b in seq 6, not yet anywhere). */
    ps_db_close(view);
    view = open_set(p, PS_DB_READ);
    uint64_t s = 0;
    assert_int_equal(ps_db_get_wal_seq(view, &s), PS_OK);
    assert_int_equal(s, 2);
    assert_int_equal(ps_delta_new(s, &d), PS_OK);
    assert_int_equal(tcu_delta_put(d, NULL, 3, a, "heron alpha", "en", NULL), PS_PUT_ADDED);
    assert_int_equal(ps_delta_delete(d, NULL, a, 4), PS_OK);
    assert_int_equal(tcu_delta_put(d, NULL, 5, a, "heron again", "en", NULL), PS_PUT_ADDED);
    assert_int_equal(ps_delta_delete(d, NULL, b, 6), PS_OK);
    ps_delta_publish(d, 6);
    ps_db *r = open_set(p, PS_DB_READ);
    assert_int_equal(ps_db_attach_delta(r, d), PS_OK);
    char buf[1024];
    assert_int_equal(hits(r, "heron", buf, sizeof buf, NULL), 2);  /* x1, a */
    tcu_assert_body(r, a, "heron again");
    tcu_assert_body(r, b, NULL);
    assert_consistent(r, NMAIN + 1 - 1);
    w = open_set(p, PS_DB_WRITE);
    uint64_t done = 0;
    assert_int_equal(ps_delta_checkpoint(d, w, UINT64_MAX, &done), PS_OK);
    assert_int_equal(done, 6);
    for (int k = 0; k < NSH; k++)
        assert_int_equal(shard_seq(p, k), 6);
    assert_placed(p, a, 1);
    assert_placed(p, b, 0);
    assert_placed(p, "x1", 1);
    assert_int_equal(ps_db_reopen(r, NULL), PS_OK);
    assert_consistent(r, NMAIN);
    tcu_assert_body(r, a, "heron again");
    assert_int_equal(ps_db_close(w), PS_OK);
    ps_db_close(r);
    ps_db_close(view);
    ps_delta_free(d);
    free(s0);
    free(p);
}

static void test_shard_down(void **state)
{
    (void)state;
    char *p = make_set();
    char *s0 = tcu_path(p, "shard-0"), *s1 = tcu_path(p, "shard-1");
    char *gone = tcu_path(g_dir, "missing");
    const char *specs[3] = {s0, s1, gone};
    ps_db *r = NULL;
    assert_int_equal(ps_db_open_shards(specs, 3, PS_DB_READ, NULL, &r, NULL), PS_OK);
    uint64_t s = 7;
    assert_int_equal(ps_db_get_wal_seq(r, &s), PS_ERR_IO);
    assert_int_equal(s, 0);
    assert_non_null(strstr(ps_db_errmsg(r), "missing"));
    /* Attached, it still serves the shards that are up; a document of
     * the shard that is down is in the delta or unavailable. */
    ps_delta *d = NULL;
    assert_int_equal(ps_delta_new(0, &d), PS_OK);
    assert_int_equal(ps_db_attach_delta(r, d), PS_OK);
    assert_int_equal(tcu_delta_put(d, NULL, 1, "y1", "yak", "en", NULL), PS_PUT_ADDED);
    ps_delta_publish(d, 1);
    char buf[256];
    assert_int_equal(hits(r, "yak", buf, sizeof buf, NULL), 1);
    const char *lost = first_of(2);
    ps_document *doc = NULL;
    assert_int_equal(ps_db_get(r, lost, &doc), PS_ERR_IO);
    /* The writer does not know the current version of an id whose shard
     * is down: a delete is recorded (an absent id's changes nothing), a
     * put counts as added. */
    assert_int_equal(ps_delta_delete(d, r, lost, 2), PS_OK);
    assert_int_equal(tcu_delta_put(d, r, 3, lost, "yak back", "en", NULL), PS_PUT_ADDED);
    assert_int_equal(tcu_delta_put(d, r, 4, lost, "yak back", "en", NULL), PS_PUT_UNCHANGED);
    ps_delta_publish(d, 4);
    tcu_assert_body(r, lost, "yak back");
    ps_db_close(r);
    ps_delta_free(d);
    free(s0);
    free(s1);
    free(gone);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_view_and_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_from_lowest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shard_down, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
