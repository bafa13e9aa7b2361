/* test_core_delta.c: the in-memory delta of the write-ahead log
 * (polysearch.h, "The delta of a write-ahead log"; lib/core/delta.cc) on
 * a scratch database: put/publish visibility in search, get, count, ids
 * and language counts; unpublished and discarded operations; replace
 * and delete of main and delta documents; outcomes; facets, date sort,
 * date filters, offsets and snippets across main + delta; checkpoints
 * (documents and "polysearch.wal_seq" in the database, readers seeing
 * each document once before and after they reopen, a second reader, a
 * reader idle across two checkpoints); a failed checkpoint (EFBIG) that
 * keeps the operations; the seq kept through Xapian 1.4's spelling
 * workaround; replay at start-up; the refusals; and a writer,
 * a checkpointer and two readers on four threads (read-your-writes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "polysearch.h"
#define TCU_TEMPDIR_FIXTURE
#include "test_core_util.h"

/* ---- helpers ---------------------------------------------------------- */

/* The main database g_dir/db: m1 (en, 2020), m2 (fr, 2021), m3 (de,
 * 2019), committed.  Returns its malloc'd path. */
static char *make_main(void)
{
    static const ps_doc_in docs[] = {
        {.id = "m1", .title = "Apple", .body = "apple banana orchard", .lang = "en",
         .date = "2020-01-01"},
        {.id = "m2", .title = "Pomme", .body = "pomme cerise verger", .lang = "fr",
         .date = "2021-01-01"},
        {.id = "m3", .title = "Apfel", .body = "apfel kirsche garten", .lang = "de",
         .date = "2019-01-01"},
    };
    ps_db *w = tcu_open_w("db");
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        assert_int_equal(ps_db_put(w, &docs[i], NULL), PS_OK);
    assert_int_equal(ps_db_close(w), PS_OK);
    return tcu_path(g_dir, "db");
}

static ps_db *open_r(const char *p)
{
    ps_db *db = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &db, NULL), PS_OK);
    return db;
}

static ps_prepared *prep(const char *id, const char *body, const char *lang,
                         const char *date)
{
    ps_doc_in d = {.id = id, .title = id, .body = body, .lang = lang, .date = date};
    ps_prepared *p = NULL;
    assert_int_equal(ps_doc_prepare(&d, NULL, &p, NULL), PS_OK);
    return p;
}

/* Ids of the hits of q in rank order, comma separated, into buf; returns
 * the number of hits.  Checks that no id comes twice. */
static uint32_t search_ids(ps_db *db, ps_query *q, char *buf, size_t n, uint64_t *total)
{
    ps_results *r = NULL;
    if (!q->limit)
        q->limit = 100;
    ps_status st = ps_search(db, q, &r);
    if (st != PS_OK)
        fprintf(stderr, "search [%s]: %s\n", q->q ? q->q : "", ps_db_errmsg(db));
    assert_int_equal(st, PS_OK);
    buf[0] = '\0';
    size_t o = 0;
    for (uint32_t i = 0; i < r->nhits; i++) {
        for (uint32_t j = 0; j < i; j++)
            assert_string_not_equal(r->hits[i].id, r->hits[j].id);
        o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? "," : "", r->hits[i].id);
        assert_true(o < n);
    }
    if (total)
        *total = r->total;
    uint32_t k = r->nhits;
    ps_results_free(r);
    return k;
}

/* Hits of a plain query, ids into buf. */
static uint32_t q_ids(ps_db *db, const char *text, char *buf, size_t n)
{
    ps_query q = {.q = text};
    return search_ids(db, &q, buf, n, NULL);
}

static int collect_id(const char *id, void *ctx)
{
    char *buf = ctx;
    size_t o = strlen(buf);
    snprintf(buf + o, 1024 - o, "%s%s", o ? "," : "", id);
    return 0;
}

/* Every id (ps_db_foreach_id), comma separated. */
static void assert_ids(ps_db *db, const char *want)
{
    char buf[1024] = "";
    assert_int_equal(ps_db_foreach_id(db, collect_id, buf), PS_OK);
    assert_string_equal(buf, want);
}

/* "lang:count,..." of ps_db_lang_counts, in its order. */
static void assert_langs(ps_db *db, const char *want, uint64_t want_total)
{
    ps_results *r = NULL;
    assert_int_equal(ps_db_lang_counts(db, &r), PS_OK);
    char buf[256] = "";
    size_t o = 0;
    for (uint32_t i = 0; i < r->nfacets; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s:%llu", i ? "," : "",
                              r->facets[i].value,
                              (unsigned long long)r->facets[i].count);
    assert_string_equal(buf, want);
    assert_int_equal(r->total, want_total);
    ps_results_free(r);
}

static ps_delta *new_delta(const char *p)
{
    ps_db *r = open_r(p);
    uint64_t s = 99;
    assert_int_equal(ps_db_get_wal_seq(r, &s), PS_OK);
    ps_db_close(r);
    ps_delta *d = NULL;
    assert_int_equal(ps_delta_new(s, &d), PS_OK);
    return d;
}

static uint64_t wal_seq_on_disk(const char *p)
{
    ps_db *r = open_r(p);
    uint64_t s = 0;
    assert_int_equal(ps_db_get_wal_seq(r, &s), PS_OK);
    ps_db_close(r);
    return s;
}

/* ---- tests ------------------------------------------------------------ */

static void test_put_publish_visible(void **state)
{
    (void)state;
    char *p = make_main();
    ps_delta *d = new_delta(p);
    ps_db *view = open_r(p), *r = open_r(p);
    assert_int_equal(ps_db_attach_delta(r, d), PS_OK);
    char ids[1024];

    assert_int_equal(tcu_delta_put(d, view, 1, "d1", "zebra savanna", "en", "2022-06-01"),
                     PS_PUT_ADDED);
    /* Unpublished: invisible to search, get, count, ids, lang counts. */
    assert_int_equal(q_ids(r, "zebra", ids, sizeof ids), 0);
    tcu_assert_body(r, "d1", NULL);
    assert_int_equal(tcu_count(r), 3);
    assert_ids(r, "m1,m2,m3");
    assert_langs(r, "de:1,en:1,fr:1", 3);

    ps_delta_publish(d, 1);
    assert_int_equal(q_ids(r, "zebra", ids, sizeof ids), 1);
    assert_string_equal(ids, "d1");
    tcu_assert_body(r, "d1", "zebra savanna");
    assert_int_equal(tcu_count(r), 4);
    assert_ids(r, "d1,m1,m2,m3");
    assert_langs(r, "en:2,de:1,fr:1", 4);
    /* Stemming of delta documents works as for the main ones. */
    assert_int_equal(q_ids(r, "zebras", ids, sizeof ids), 1);
    /* ps_db_check_unchanged sees the delta on an attached handle. */
    char h[17];
    ps_doc_in din = {.id = "d1", .title = "d1", .body = "zebra savanna", .lang = "en",
                     .date = "2022-06-01"};
    ps_doc_content_hash(&din, h);
    int unchanged = 0;
    assert_int_equal(ps_db_check_unchanged(r, "d1", h, &unchanged), PS_OK);
    assert_int_equal(unchanged, 1);
    /* An unattached handle sees only the database. */
    assert_int_equal(q_ids(view, "zebra", ids, sizeof ids), 0);
    assert_int_equal(tcu_count(view), 3);

    ps_delta_info in;
    ps_delta_stats(d, &in);
    assert_int_equal(in.ops, 1);
    assert_int_equal(in.unpublished, 0);
    assert_true(in.bytes > strlen("zebra savanna"));
    assert_int_equal(in.last_seq, 1);
    assert_int_equal(in.published, 1);
    assert_int_equal(in.watermark, 0);
    assert_int_equal(in.attached, 1);

    /* Detach: back to the database alone. */
    assert_int_equal(ps_db_attach_delta(r, NULL), PS_OK);
    assert_int_equal(tcu_count(r), 3);
    ps_delta_stats(d, &in);
    assert_int_equal(in.attached, 0);
    ps_db_close(r);
    ps_db_close(view);
    ps_delta_free(d);
    free(p);
}

static void test_replace(void **state)
{
    (void)state;
    char *p = make_main();
    ps_delta *d = new_delta(p);
    ps_db *view = open_r(p), *r = open_r(p);
    assert_int_equal(ps_db_attach_delta(r, d), PS_OK);
    char ids[1024];

    /* Replace a main document: one hit, new content, old words gone. */
    assert_int_equal(tcu_delta_put(d, view, 1, "m1", "apple zebra", "en", "2020-01-01"),
                     PS_PUT_REPLACED);
    ps_delta_publish(d, 1);
    assert_int_equal(q_ids(r, "apple", ids, sizeof ids), 1);
    assert_string_equal(ids, "m1");
    assert_int_equal(q_ids(r, "banana", ids, sizeof ids), 0);
    tcu_assert_body(r, "m1", "apple zebra");
    assert_int_equal(tcu_count(r), 3);
    assert_ids(r, "m1,m2,m3");
    ps_query all = {.q = "", .facets = 1};
    uint64_t total = 0;
    assert_int_equal(search_ids(r, &all, ids, sizeof ids, &total), 3);
    assert_int_equal(total, 3);

    /* Same content again: unchanged, nothing recorded. */
    assert_int_equal(tcu_delta_put(d, view, 2, "m1", "apple zebra", "en", "2020-01-01"),
                     PS_PUT_UNCHANGED);
    ps_delta_info in;
    ps_delta_stats(d, &in);
    assert_int_equal(in.ops + in.unpublished, 1);
    assert_int_equal(in.last_seq, 2);

    /* Replace twice in the delta (the second before publishing). */
    assert_int_equal(tcu_delta_put(d, view, 3, "m1", "apple yak", "en", "2020-01-01"),
                     PS_PUT_REPLACED);
    assert_int_equal(tcu_delta_put(d, view, 4, "m1", "apple walrus", "en", "2020-01-01"),
                     PS_PUT_REPLACED);
    assert_int_equal(q_ids(r, "zebra", ids, sizeof ids), 1); /* 3, 4 unpublished */
    ps_delta_publish(d, 4);
    assert_int_equal(q_ids(r, "apple", ids, sizeof ids), 1);
    assert_int_equal(q_ids(r, "zebra", ids, sizeof ids), 0);
    assert_int_equal(q_ids(r, "yak", ids, sizeof ids), 0);
    assert_int_equal(q_ids(r, "walrus", ids, sizeof ids), 1);
    tcu_assert_body(r, "m1", "apple walrus");
    assert_int_equal(tcu_count(r), 3);

    /* A delta document replaced in the delta. */
    assert_int_equal(tcu_delta_put(d, view, 5, "d1", "narwhal one", "en", NULL), PS_PUT_ADDED);
    assert_int_equal(tcu_delta_put(d, view, 6, "d1", "narwhal two", "en", NULL), PS_PUT_REPLACED);
    ps_delta_publish(d, 6);
    assert_int_equal(q_ids(r, "narwhal", ids, sizeof ids), 1);
    tcu_assert_body(r, "d1", "narwhal two");
    assert_int_equal(tcu_count(r), 4);
    assert_ids(r, "d1,m1,m2,m3");

    ps_db_close(r);
    ps_db_close(view);
    ps_delta_free(d);
    free(p);
}

static void test_delete(void **state)
{
    (void)state;
    char *p = make_main();
    ps_delta *d = new_delta(p);
    ps_db *view = open_r(p), *r = open_r(p);
    assert_int_equal(ps_db_attach_delta(r, d), PS_OK);
    char ids[1024];

    /* Absent everywhere: PS_ERR_NOT_FOUND, nothing recorded, seq free. */
    assert_int_equal(ps_delta_delete(d, view, "nope", 1), PS_ERR_NOT_FOUND);
    assert_non_null(strstr(ps_delta_errmsg(d), "nope"));
    /* A main document. */
    assert_int_equal(ps_delta_delete(d, view, "m2", 1), PS_OK);
    /* Deleted in the (unpublished) delta: not found any more. */
    assert_int_equal(ps_delta_delete(d, view, "m2", 2), PS_ERR_NOT_FOUND);
    tcu_assert_body(r, "m2", "pomme cerise verger");
    ps_delta_publish(d, 1);
    tcu_assert_body(r, "m2", NULL);
    assert_int_equal(q_ids(r, "pomme", ids, sizeof ids), 0);
    assert_int_equal(tcu_count(r), 2);
    assert_ids(r, "m1,m3");
    assert_langs(r, "de:1,en:1", 2);

    /* A delta document. */
    assert_int_equal(tcu_delta_put(d, view, 2, "d1", "okapi forest", "fr", NULL), PS_PUT_ADDED);
    ps_delta_publish(d, 2);
    assert_int_equal(q_ids(r, "okapi", ids, sizeof ids), 1);
    assert_int_equal(ps_delta_delete(d, view, "d1", 3), PS_OK);
    ps_delta_publish(d, 3);
    assert_int_equal(q_ids(r, "okapi", ids, sizeof ids), 0);
    tcu_assert_body(r, "d1", NULL);
    assert_int_equal(tcu_count(r), 2);
    assert_ids(r, "m1,m3");

    /* Put again after the delete: added. */
    assert_int_equal(tcu_delta_put(d, view, 4, "m2", "pomme retour", "fr", NULL), PS_PUT_ADDED);
    ps_delta_publish(d, 4);
    tcu_assert_body(r, "m2", "pomme retour");
    assert_int_equal(q_ids(r, "pomme", ids, sizeof ids), 1);
    assert_int_equal(tcu_count(r), 3);
    assert_ids(r, "m1,m2,m3");
    /* fr: d1 deleted, m2 back (the in-memory allterms count is 2). */
    assert_langs(r, "de:1,en:1,fr:1", 3);

    ps_db_close(r);
    ps_db_close(view);
    ps_delta_free(d);
    free(p);
}

static void test_outcomes_and_discard(void **state)
{
    (void)state;
    char *p = make_main();
    ps_delta *d = new_delta(p);
    ps_db *view = open_r(p), *r = open_r(p);
    assert_int_equal(ps_db_attach_delta(r, d), PS_OK);
    char ids[1024];

    assert_int_equal(tcu_delta_put(d, view, 1, "d1", "gnu herd", "en", NULL), PS_PUT_ADDED);
    /* Against the unpublished state too. */
    assert_int_equal(tcu_delta_put(d, view, 2, "d1", "gnu herd", "en", NULL), PS_PUT_UNCHANGED);
    assert_int_equal(tcu_delta_put(d, view, 3, "m3", "apfel kirsche garten", "de", "2019-01-01"),
                     PS_PUT_REPLACED); /* title differs: hashed */
    ps_delta_publish(d, 3);

    /* A group that fails its fdatasync. */
    assert_int_equal(tcu_delta_put(d, view, 4, "d2", "ibex cliff", "en", NULL), PS_PUT_ADDED);
    assert_int_equal(ps_delta_delete(d, view, "m1", 5), PS_OK);
    assert_int_equal(tcu_delta_put(d, view, 6, "d1", "gnu migration", "en", NULL), PS_PUT_REPLACED);
    assert_int_equal(q_ids(r, "ibex", ids, sizeof ids), 0);
    tcu_assert_body(r, "m1", "apple banana orchard");
    ps_delta_info in;
    ps_delta_stats(d, &in);
    assert_int_equal(in.ops, 2);
    assert_int_equal(in.unpublished, 3);
    ps_delta_discard_unpublished(d);
    ps_delta_stats(d, &in);
    assert_int_equal(in.ops, 2);
    assert_int_equal(in.unpublished, 0);
    assert_int_equal(in.last_seq, 3);
    /* The latest state is the published one again; seq 4 is free. */
    assert_int_equal(tcu_delta_put(d, view, 4, "d1", "gnu herd", "en", NULL), PS_PUT_UNCHANGED);
    assert_int_equal(tcu_delta_put(d, view, 5, "d2", "ibex cliff", "en", NULL), PS_PUT_ADDED);
    assert_int_equal(ps_delta_delete(d, view, "m1", 6), PS_OK);
    /* Publishing past the last seq recorded is clamped. */
    ps_delta_publish(d, 100);
    ps_delta_stats(d, &in);
    assert_int_equal(in.published, 6);
    assert_int_equal(q_ids(r, "ibex", ids, sizeof ids), 1);
    tcu_assert_body(r, "d1", "gnu herd");
    tcu_assert_body(r, "m1", NULL);
    assert_int_equal(tcu_count(r), 4); /* m2, m3 (replaced), d1, d2 */

    /* The writer's check before analysis. */
    char h[17];
    ps_doc_in din = {.id = "d2", .title = "d2", .body = "ibex cliff", .lang = "en"};
    ps_doc_content_hash(&din, h);
    int unchanged = -1;
    assert_int_equal(ps_delta_check_unchanged(d, view, "d2", h, &unchanged), PS_OK);
    assert_int_equal(unchanged, 1);
    assert_int_equal(ps_delta_check_unchanged(d, view, "m1", h, &unchanged), PS_OK);
    assert_int_equal(unchanged, 0);

    /* seq must increase. */
    ps_prepared *pp = prep("d3", "x y", "en", NULL);
    assert_int_equal(ps_delta_put(d, view, pp, 6, NULL), PS_ERR_INVALID);
    assert_int_equal(ps_delta_put(d, view, pp, 2, NULL), PS_ERR_INVALID);
    assert_int_equal(ps_delta_delete(d, view, "m2", 6), PS_ERR_INVALID);
    assert_int_equal(ps_delta_put(d, view, NULL, 7, NULL), PS_ERR_INVALID);
    assert_int_equal(ps_delta_delete(d, view, "", 7), PS_ERR_INVALID);
    ps_prepared_free(pp);

    ps_db_close(r);
    ps_db_close(view);
    ps_delta_free(d);
    free(p);
}

static void test_facets_dates_snippets(void **state)
{
    (void)state;
    char *p = make_main();
    ps_delta *d = new_delta(p);
    ps_db *view = open_r(p), *r = open_r(p);
    assert_int_equal(ps_db_attach_delta(r, d), PS_OK);
    char ids[1024];
    uint64_t total = 0;

    /* d1 fr 2023, m3 replaced as Italian 2024, m1 deleted. */
    assert_int_equal(tcu_delta_put(d, view, 1, "d1", "garten cerise nouvelle", "fr", "2023-05-01"),
                     PS_PUT_ADDED);
    assert_int_equal(tcu_delta_put(d, view, 2, "m3", "giardino garten ciliegia", "it", "2024-02-01"),
                     PS_PUT_REPLACED);
    assert_int_equal(ps_delta_delete(d, view, "m1", 3), PS_OK);
    ps_delta_publish(d, 3);

    assert_langs(r, "fr:2,it:1", 3);
    ps_query q = {.q = "", .facets = 1, .sort = PS_SORT_DATE};
    assert_int_equal(search_ids(r, &q, ids, sizeof ids, &total), 3);
    assert_string_equal(ids, "m3,d1,m2");
    assert_int_equal(total, 3);
    ps_results *res = NULL;
    assert_int_equal(ps_search(r, &q, &res), PS_OK);
    assert_int_equal(res->nfacets, 2);
    assert_string_equal(res->facets[0].value, "fr");
    assert_int_equal(res->facets[0].count, 2);
    assert_string_equal(res->facets[1].value, "it");
    assert_int_equal(res->facets[1].count, 1);
    ps_results_free(res);

    /* Offsets over the merged order. */
    ps_query qo = {.q = "", .sort = PS_SORT_DATE, .offset = 1, .limit = 1};
    assert_int_equal(search_ids(r, &qo, ids, sizeof ids, NULL), 1);
    assert_string_equal(ids, "d1");
    /* Date filters. */
    ps_query qd = {.q = "", .sort = PS_SORT_DATE, .date_from = "2021-06-01"};
    assert_int_equal(search_ids(r, &qd, ids, sizeof ids, NULL), 2);
    assert_string_equal(ids, "m3,d1");
    ps_query qt = {.q = "", .sort = PS_SORT_DATE, .date_to = "2023-12-31"};
    assert_int_equal(search_ids(r, &qt, ids, sizeof ids, NULL), 2);
    assert_string_equal(ids, "d1,m2");
    /* Language filter, and stems of a language only the delta has. */
    ps_query ql = {.q = "garten", .lang = "it"};
    assert_int_equal(search_ids(r, &ql, ids, sizeof ids, NULL), 1);
    assert_string_equal(ids, "m3");
    assert_int_equal(q_ids(r, "garten", ids, sizeof ids), 2);
    assert_int_equal(q_ids(r, "ciliegie", ids, sizeof ids), 1); /* it stemmer */
    assert_int_equal(q_ids(r, "lang:de", ids, sizeof ids), 0);
    /* Snippets of a delta document. */
    ps_query qs = {.q = "nouvelle", .snippets = 1};
    assert_int_equal(ps_search(r, &qs, &res), PS_OK);
    assert_int_equal(res->nhits, 1);
    assert_non_null(strstr(res->hits[0].snippet, "nouvelle"));
    assert_true(res->hits[0].nhighlights >= 1);
    assert_string_equal(res->hits[0].date, "2023-05-01");
    ps_results_free(res);
    /* Wildcards expand over both parts. */
    assert_int_equal(q_ids(r, "cer*", ids, sizeof ids), 2);
    /* Spelling suggestions come from the database only (the delta has
     * no spelling data until its checkpoint), and do not fail. */
    ps_query qsp = {.q = "pome", .spelling = 1};
    assert_int_equal(ps_search(r, &qsp, &res), PS_OK);
    assert_non_null(res->suggestion);
    assert_string_equal(res->suggestion, "pomme");
    ps_results_free(res);

    ps_db_close(r);
    ps_db_close(view);
    ps_delta_free(d);
    free(p);
}

/* Match-all hits (ids unique) == ps_db_count == want. */
static void assert_once(ps_db *r, uint64_t want)
{
    char ids[1024];
    ps_query q = {.q = "", .facets = 1};
    uint64_t total = 0;
    assert_int_equal(search_ids(r, &q, ids, sizeof ids, &total), want);
    assert_int_equal(total, want);
    assert_int_equal(tcu_count(r), want);
}

static void test_checkpoint(void **state)
{
    (void)state;
    char *p = make_main();
    ps_delta *d = new_delta(p);
    ps_db *w = tcu_open_w("db");
    ps_db *view = open_r(p), *r1 = open_r(p), *r2 = open_r(p);
    assert_int_equal(ps_db_attach_delta(r1, d), PS_OK);
    char ids[1024];

    assert_int_equal(tcu_delta_put(d, view, 1, "d1", "lynx snow", "en", NULL), PS_PUT_ADDED);
    assert_int_equal(tcu_delta_put(d, view, 2, "m1", "apple lynx", "en", NULL), PS_PUT_REPLACED);
    assert_int_equal(ps_delta_delete(d, view, "m2", 3), PS_OK);
    assert_int_equal(tcu_delta_put(d, view, 4, "d2", "puma rock", "en", NULL), PS_PUT_ADDED);
    ps_delta_publish(d, 3);
    assert_once(r1, 3);

    /* Nothing published past the watermark yet beyond 3: upto clamps. */
    uint64_t done = 0;
    assert_int_equal(ps_delta_checkpoint(d, w, UINT64_MAX, &done), PS_OK);
    assert_int_equal(done, 3);
    assert_int_equal(wal_seq_on_disk(p), 3);
    uint64_t s = 0;
    assert_int_equal(ps_db_get_wal_seq(w, &s), PS_OK);
    assert_int_equal(s, 3);
    ps_delta_info in;
    ps_delta_stats(d, &in);
    assert_int_equal(in.ops, 0);
    assert_int_equal(in.unpublished, 1);
    assert_int_equal(in.watermark, 3);

    /* The database alone has the changes. */
    ps_db *fresh = open_r(p);
    assert_int_equal(tcu_count(fresh), 3);
    tcu_assert_body(fresh, "m1", "apple lynx");
    tcu_assert_body(fresh, "m2", NULL);
    tcu_assert_body(fresh, "d1", "lynx snow");
    assert_int_equal(q_ids(fresh, "lynx", ids, sizeof ids), 2);
    ps_db_close(fresh);

    /* r1 is on the old revision: it reopens by itself, each doc once. */
    assert_int_equal(q_ids(r1, "lynx", ids, sizeof ids), 2);
    assert_once(r1, 3);
    assert_int_equal(ps_db_reopen(r1, NULL), PS_OK);
    assert_once(r1, 3);
    tcu_assert_body(r1, "m1", "apple lynx");

    /* A second reader attached now. */
    assert_int_equal(ps_db_attach_delta(r2, d), PS_OK);
    ps_delta_publish(d, 4);
    assert_once(r1, 4);
    assert_once(r2, 4);
    assert_int_equal(q_ids(r2, "puma", ids, sizeof ids), 1);

    /* More changes; a checkpoint of part of them; r2 stays idle across
     * two checkpoints. */
    assert_int_equal(tcu_delta_put(d, view, 5, "d2", "puma river", "en", NULL), PS_PUT_REPLACED);
    assert_int_equal(ps_delta_delete(d, view, "d1", 6), PS_OK);
    assert_int_equal(tcu_delta_put(d, view, 7, "d3", "ocelot tree", "en", NULL), PS_PUT_ADDED);
    ps_delta_publish(d, 7);
    assert_int_equal(ps_delta_checkpoint(d, w, 5, &done), PS_OK);
    assert_int_equal(done, 5);
    assert_int_equal(wal_seq_on_disk(p), 5);
    assert_once(r1, 4);
    tcu_assert_body(r1, "d2", "puma river");
    tcu_assert_body(r1, "d1", NULL);
    assert_int_equal(ps_db_reopen(r1, NULL), PS_OK);
    assert_once(r1, 4);
    assert_int_equal(ps_delta_checkpoint(d, w, UINT64_MAX, &done), PS_OK);
    assert_int_equal(done, 7);
    /* Nothing left: no commit, same answer. */
    uint64_t rev = ps_db_revision(w);
    assert_int_equal(ps_delta_checkpoint(d, w, UINT64_MAX, &done), PS_OK);
    assert_int_equal(done, 7);
    assert_int_equal(ps_db_revision(w), rev);
    assert_once(r2, 4);
    assert_once(r1, 4);
    assert_ids(r2, "d2,d3,m1,m3");
    assert_int_equal(q_ids(r2, "ocelot", ids, sizeof ids), 1);
    assert_int_equal(q_ids(r2, "snow", ids, sizeof ids), 0);
    ps_delta_stats(d, &in);
    assert_int_equal(in.ops, 0);
    assert_int_equal(in.bytes, 0);
    assert_int_equal(in.watermark, 7);

    /* The writer's view, behind the checkpoint, is reopened by put. */
    assert_int_equal(tcu_delta_put(d, view, 8, "d3", "ocelot tree", "en", NULL), PS_PUT_UNCHANGED);
    assert_int_equal(ps_delta_delete(d, view, "d1", 9), PS_ERR_NOT_FOUND);
    assert_int_equal(ps_delta_delete(d, view, "d2", 9), PS_OK);
    ps_delta_publish(d, 9);
    assert_once(r1, 3);
    /* Now pruned from the writer's index: answered by the view, which
     * must have been reopened past the checkpoints. */
    assert_int_equal(tcu_delta_put(d, view, 10, "d3", "ocelot tree", "en", NULL), PS_PUT_UNCHANGED);
    assert_int_equal(ps_delta_delete(d, view, "m2", 11), PS_ERR_NOT_FOUND);
    assert_int_equal(tcu_delta_put(d, view, 11, "m1", "apple lynx", "en", NULL), PS_PUT_UNCHANGED);

    /* Refusals: a handle with changes of its own, a read handle. */
    ps_doc_in x = {.id = "own", .body = "own change", .lang = "en"};
    assert_int_equal(ps_db_put(w, &x, NULL), PS_OK);
    assert_int_equal(ps_delta_checkpoint(d, w, UINT64_MAX, &done), PS_ERR_INVALID);
    assert_int_equal(ps_db_cancel(w), PS_OK);
    assert_int_equal(ps_delta_checkpoint(d, r2, UINT64_MAX, &done), PS_ERR_INVALID);
    assert_int_equal(ps_delta_checkpoint(d, w, UINT64_MAX, &done), PS_OK);
    assert_int_equal(done, 9);
    assert_once(r2, 3);

    ps_db_close(r1);
    ps_db_close(r2);
    ps_db_close(view);
    assert_int_equal(ps_db_close(w), PS_OK);
    ps_delta_free(d);
    assert_int_equal(wal_seq_on_disk(p), 9);
    free(p);
}

/* Child of test_failed_checkpoint: exit 0 when every step held. */
static int failed_checkpoint_child(const char *p)
{
    signal(SIGXFSZ, SIG_IGN);
    ps_delta *d = NULL;
    ps_db *w = NULL, *view = NULL, *r = NULL;
    if (ps_delta_new(0, &d) != PS_OK || ps_db_open(p, PS_DB_WRITE, &w, NULL) != PS_OK ||
        ps_db_open(p, PS_DB_READ, &view, NULL) != PS_OK ||
        ps_db_open(p, PS_DB_READ, &r, NULL) != PS_OK || ps_db_attach_delta(r, d) != PS_OK)
        return 10;
    static char body[8192];
    uint64_t seq = 0;
    for (int i = 0; i < 400; i++) {
        for (size_t k = 0; k + 1 < sizeof body; k++)
            body[k] = (k % 7 == 6) ? ' ' : (char)('a' + (k * 31 + (size_t)i * 17) % 26);
        char id[16];
        snprintf(id, sizeof id, "big%d", i);
        ps_doc_in doc = {.id = id, .body = body, .lang = "en"};
        ps_prepared *pp = NULL;
        if (ps_doc_prepare(&doc, NULL, &pp, NULL) != PS_OK ||
            ps_delta_put(d, view, pp, ++seq, NULL) != PS_OK)
            return 11;
        ps_prepared_free(pp);
    }
    if (ps_delta_delete(d, view, "m1", ++seq) != PS_OK)
        return 12;
    ps_delta_publish(d, seq);
    struct rlimit old;
    if (getrlimit(RLIMIT_FSIZE, &old) != 0)
        return 13;
    struct rlimit rl = {64 * 1024, old.rlim_max};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 14;
    uint64_t done = 77;
    ps_status st = ps_delta_checkpoint(d, w, UINT64_MAX, &done);
    if (st != PS_ERR_IO || strlen(ps_db_errmsg(w)) == 0) {
        fprintf(stderr, "checkpoint under 64 KiB: %d %s\n", st, ps_db_errmsg(w));
        return 15;
    }
    if (setrlimit(RLIMIT_FSIZE, &old) != 0)
        return 16;
    /* The delta is unchanged and still visible. */
    ps_delta_info in;
    ps_delta_stats(d, &in);
    if (in.ops != seq || in.watermark != 0 || done != 0)
        return 17;
    uint64_t n = 0, s = 9;
    if (ps_db_count(r, &n) != PS_OK || n != 400 + 2)
        return 18;
    ps_db *fresh = NULL;
    if (ps_db_open(p, PS_DB_READ, &fresh, NULL) != PS_OK ||
        ps_db_get_wal_seq(fresh, &s) != PS_OK || s != 0 ||
        ps_db_count(fresh, &n) != PS_OK || n != 3)
        return 19;
    /* Retried with room: everything lands, once. */
    st = ps_delta_checkpoint(d, w, UINT64_MAX, &done);
    if (st != PS_OK || done != seq) {
        fprintf(stderr, "retry: %d %s\n", st, ps_db_errmsg(w));
        return 20;
    }
    if (ps_db_reopen(fresh, NULL) != PS_OK || ps_db_get_wal_seq(fresh, &s) != PS_OK ||
        s != seq || ps_db_count(fresh, &n) != PS_OK || n != 402)
        return 21;
    if (ps_db_count(r, &n) != PS_OK || n != 402)
        return 22;
    ps_db_close(fresh);
    ps_db_close(r);
    ps_db_close(view);
    if (ps_db_close(w) != PS_OK)
        return 23;
    ps_delta_free(d);
    return 0;
}

static void test_failed_checkpoint(void **state)
{
    (void)state;
    char *p = make_main();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(failed_checkpoint_child(p));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    free(p);
}

static void test_replay(void **state)
{
    (void)state;
    char *p = make_main();
    ps_db *w = tcu_open_w("db");
    ps_delta *d = NULL;
    assert_int_equal(ps_delta_new(0, &d), PS_OK);
    ps_db *view = open_r(p);
    assert_int_equal(tcu_delta_put(d, view, 10, "d1", "heron lake", "en", NULL), PS_PUT_ADDED);
    ps_delta_publish(d, 10);
    assert_int_equal(ps_delta_checkpoint(d, w, 10, NULL), PS_OK);
    ps_delta_free(d);

    /* Start-up: the watermark from the database; the log after it
     * replayed without outcomes. */
    uint64_t s = 0;
    assert_int_equal(ps_db_get_wal_seq(w, &s), PS_OK);
    assert_int_equal(s, 10);
    assert_int_equal(ps_delta_new(s, &d), PS_OK);
    ps_prepared *pp = prep("d1", "heron lake", "en", NULL);
    assert_int_equal(ps_delta_put(d, NULL, pp, 10, NULL), PS_ERR_INVALID);
    ps_put_outcome o = PS_PUT_UNCHANGED;
    assert_int_equal(ps_delta_put(d, NULL, pp, 11, &o), PS_OK);
    assert_int_equal(o, PS_PUT_ADDED); /* not computed */
    ps_prepared_free(pp);
    assert_int_equal(ps_delta_delete(d, NULL, "never-was", 12), PS_OK);
    assert_int_equal(ps_delta_delete(d, NULL, "m1", 13), PS_OK);
    ps_delta_publish(d, 13);
    /* Live again: outcomes from the replayed state. */
    assert_int_equal(ps_delta_delete(d, view, "m1", 14), PS_ERR_NOT_FOUND);
    assert_int_equal(ps_delta_delete(d, view, "never-was", 14), PS_ERR_NOT_FOUND);
    assert_int_equal(tcu_delta_put(d, view, 14, "d1", "heron lake", "en", NULL), PS_PUT_UNCHANGED);
    ps_db *r = open_r(p);
    assert_int_equal(ps_db_attach_delta(r, d), PS_OK);
    assert_once(r, 3);
    tcu_assert_body(r, "m1", NULL);
    /* Seq 14 changed nothing, but once published it is checkpointed
     * (the log may drop it). */
    ps_delta_publish(d, 14);
    assert_int_equal(ps_delta_checkpoint(d, w, UINT64_MAX, NULL), PS_OK);
    assert_int_equal(wal_seq_on_disk(p), 14);
    assert_once(r, 3);
    ps_db_close(r);
    ps_db_close(view);
    assert_int_equal(ps_db_close(w), PS_OK);
    ps_delta_free(d);
    free(p);
}

static void test_refusals(void **state)
{
    (void)state;
    char *p = make_main();
    ps_delta *d = new_delta(p);
    ps_db *w = tcu_open_w("db");
    assert_int_equal(ps_db_attach_delta(w, d), PS_ERR_INVALID);
    assert_true(strlen(ps_db_errmsg(w)) > 0);
    ps_db_close(w);

    char *s0 = tcu_path(g_dir, "s0"), *s1 = tcu_path(g_dir, "s1");
    const char *specs[2] = {s0, s1};
    ps_db *sw = NULL;
    assert_int_equal(ps_db_open_shards(specs, 2, PS_DB_WRITE, NULL, &sw, NULL), PS_OK);
    assert_int_equal(ps_db_close(sw), PS_OK);
    /* Shard sets are served (test_core_delta_shards.c). */
    ps_db *sr = NULL;
    assert_int_equal(ps_db_open_shards(specs, 2, PS_DB_READ, NULL, &sr, NULL), PS_OK);
    assert_int_equal(ps_db_attach_delta(sr, d), PS_OK);
    uint64_t s = 9;
    assert_int_equal(ps_db_get_wal_seq(sr, &s), PS_OK);
    assert_int_equal(s, 0);
    assert_int_equal(ps_delta_delete(d, sr, "m1", 1), PS_ERR_NOT_FOUND);
    ps_db_close(sr);

    assert_int_equal(ps_delta_new(0, NULL), PS_ERR_INVALID);
    ps_delta_free(NULL);
    ps_delta_publish(NULL, 1);
    ps_delta_discard_unpublished(NULL);
    free(s0);
    free(s1);
    ps_delta_free(d);
    free(p);
}

/* Xapian 1.4's unreadable spelling fragment (test_spelling_fragments.c):
 * the words soakwordNzq cross the size where check_spelling() must write
 * the transaction again near N = 1,640.  Each of these checkpoints adds
 * one such word: the seq stored with it must survive that rewrite. */
static void test_checkpoint_spelling_rewrite(void **state)
{
    (void)state;
    enum { PREFILL = 1600, SINGLE = 120 };
    ps_db *w = tcu_open_w("db");
    char id[32], body[128];
    for (int n = 0; n < PREFILL; n++) {
        snprintf(id, sizeof id, "soak/%d", n);
        snprintf(body, sizeof body, "Soak test soakword%dzq soakcyc%d.", n, n % 50);
        ps_doc_in doc = {.id = id, .body = body, .lang = "en"};
        assert_int_equal(ps_db_put(w, &doc, NULL), PS_OK);
    }
    assert_int_equal(ps_db_commit(w), PS_OK);
    ps_delta *d = NULL;
    assert_int_equal(ps_delta_new(0, &d), PS_OK);
    for (int k = 0; k < SINGLE; k++) {
        int n = PREFILL + k;
        snprintf(id, sizeof id, "soak/%d", n);
        snprintf(body, sizeof body, "Soak test soakword%dzq soakcyc%d.", n, n % 50);
        ps_doc_in doc = {.id = id, .body = body, .lang = "en"};
        ps_prepared *pp = NULL;
        assert_int_equal(ps_doc_prepare(&doc, NULL, &pp, NULL), PS_OK);
        ps_put_outcome o = PS_PUT_UNCHANGED;
        assert_int_equal(ps_delta_put(d, w, pp, (uint64_t)k + 1, &o), PS_OK);
        assert_int_equal(o, PS_PUT_ADDED);
        ps_prepared_free(pp);
        ps_delta_publish(d, (uint64_t)k + 1);
        uint64_t done = 0, s = 0;
        ps_status st = ps_delta_checkpoint(d, w, UINT64_MAX, &done);
        if (st != PS_OK)
            fail_msg("checkpoint %d: %s", k, ps_db_errmsg(w));
        assert_int_equal(done, (uint64_t)k + 1);
        assert_int_equal(ps_db_get_wal_seq(w, &s), PS_OK);
        if (s != (uint64_t)k + 1)
            fail_msg("checkpoint %d stored seq %llu", k, (unsigned long long)s);
    }
    assert_int_equal(ps_db_close(w), PS_OK);
    char *p = tcu_path(g_dir, "db");
    assert_int_equal(wal_seq_on_disk(p), SINGLE);
    ps_db *r = open_r(p);
    assert_int_equal(tcu_count(r), PREFILL + SINGLE);
    ps_db_close(r);
    ps_delta_free(d);
    free(p);
}

/* ---- four threads ------------------------------------------------------ */

enum { NOPS = 300, NIDS = 40 };

struct shared {
    const char *path;
    ps_delta *d;
    atomic_uint_fast64_t acked;     /* last seq acknowledged */
    atomic_int stop;
    atomic_int failures;
};

static void *writer_main(void *arg)
{
    struct shared *sh = arg;
    ps_db *view = NULL;
    if (ps_db_open(sh->path, PS_DB_READ, &view, NULL) != PS_OK) {
        sh->failures++;
        return NULL;
    }
    for (uint64_t seq = 1; seq <= NOPS; seq++) {
        char id[16], body[64];
        snprintf(id, sizeof id, "t%02d", (int)(seq % NIDS));
        snprintf(body, sizeof body, "tapir version%llu", (unsigned long long)seq);
        ps_doc_in doc = {.id = id, .title = id, .body = body, .lang = "en"};
        ps_prepared *pp = NULL;
        if (ps_doc_prepare(&doc, NULL, &pp, NULL) != PS_OK ||
            ps_delta_put(sh->d, view, pp, seq, NULL) != PS_OK) {
            fprintf(stderr, "writer: %s\n", ps_delta_errmsg(sh->d));
            sh->failures++;
        }
        ps_prepared_free(pp);
        ps_delta_publish(sh->d, seq);
        atomic_store(&sh->acked, seq);
    }
    atomic_store(&sh->stop, 1);
    ps_db_close(view);
    return NULL;
}

static void *checkpointer_main(void *arg)
{
    struct shared *sh = arg;
    ps_db *w = NULL;
    if (ps_db_open(sh->path, PS_DB_WRITE, &w, NULL) != PS_OK) {
        sh->failures++;
        return NULL;
    }
    for (;;) {
        int last = atomic_load(&sh->stop);
        if (ps_delta_checkpoint(sh->d, w, UINT64_MAX, NULL) != PS_OK) {
            fprintf(stderr, "checkpoint: %s\n", ps_db_errmsg(w));
            sh->failures++;
        }
        if (last)
            break;
        usleep(20000);
    }
    ps_db_close(w);
    return NULL;
}

static void *reader_main(void *arg)
{
    struct shared *sh = arg;
    ps_db *r = NULL;
    if (ps_db_open(sh->path, PS_DB_READ, &r, NULL) != PS_OK ||
        ps_db_attach_delta(r, sh->d) != PS_OK) {
        sh->failures++;
        return NULL;
    }
    while (!atomic_load(&sh->stop)) {
        uint64_t acked = atomic_load(&sh->acked);
        if (acked == 0) {
            sched_yield();
            continue;
        }
        /* Read-your-writes: the id written last holds the version
         * acknowledged, or a later one (the writer goes on). */
        char id[16];
        snprintf(id, sizeof id, "t%02d", (int)(acked % NIDS));
        ps_document *doc = NULL;
        unsigned long long v = 0;
        if (ps_db_get(r, id, &doc) != PS_OK ||
            sscanf(doc->body, "tapir version%llu", &v) != 1 || v < acked ||
            v % NIDS != acked % NIDS) {
            fprintf(stderr, "reader: %s at %llu: %llu (%s)\n", id,
                    (unsigned long long)acked, v, ps_db_errmsg(r));
            sh->failures++;
        }
        ps_document_free(doc);
        /* Search agrees; each id at most once. */
        char word[32];
        snprintf(word, sizeof word, "version%llu", v);
        ps_query q = {.q = word, .limit = 10};
        ps_results *res = NULL;
        if (ps_search(r, &q, &res) != PS_OK || res->nhits > 1 ||
            (res->nhits == 1 && strcmp(res->hits[0].id, id) != 0))
            sh->failures++;
        ps_results_free(res);
        ps_query all = {.q = "tapir", .limit = 100, .facets = 1};
        res = NULL;
        uint64_t n = 0;
        uint64_t least = acked < NIDS ? acked : NIDS;
        if (ps_search(r, &all, &res) != PS_OK || ps_db_count(r, &n) != PS_OK) {
            sh->failures++;
        } else {
            for (uint32_t i = 0; i < res->nhits; i++)
                for (uint32_t j = 0; j < i; j++)
                    if (strcmp(res->hits[i].id, res->hits[j].id) == 0)
                        sh->failures++;
            if (res->total != res->nhits || res->nhits < least || res->nhits > NIDS ||
                n < 3 + least || n > 3 + NIDS) {
                fprintf(stderr, "reader: %u hits, total %llu, count %llu at %llu\n",
                        res->nhits, (unsigned long long)res->total,
                        (unsigned long long)n, (unsigned long long)acked);
                sh->failures++;
            }
        }
        ps_results_free(res);
    }
    ps_db_close(r);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    char *p = make_main();
    struct shared sh = {.path = p};
    assert_int_equal(ps_delta_new(0, &sh.d), PS_OK);
    pthread_t t[4];
    assert_int_equal(pthread_create(&t[0], NULL, checkpointer_main, &sh), 0);
    assert_int_equal(pthread_create(&t[1], NULL, reader_main, &sh), 0);
    assert_int_equal(pthread_create(&t[2], NULL, reader_main, &sh), 0);
    assert_int_equal(pthread_create(&t[3], NULL, writer_main, &sh), 0);
    for (int i = 3; i >= 0; i--)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(atomic_load(&sh.failures), 0);
    assert_int_equal(wal_seq_on_disk(p), NOPS);
    ps_db *r = open_r(p);
    assert_once(r, 3 + NIDS);
    ps_db_close(r);
    ps_delta_free(sh.d);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_publish_visible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outcomes_and_discard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_facets_dates_snippets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_spelling_rewrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
