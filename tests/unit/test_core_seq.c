/* test_core_seq.c: change seqs (lib/core/seq.cc, catchup.cc): a stamping
 * handle numbers each document written from the database's counter, one
 * record per commit, unchanged documents take none, the counter is
 * committed with the documents and read again after a cancel; the delta
 * stamps the seqs it is given; ps_db_catchup finds, by seq, the latest
 * version of each matching document in a seq range (main + delta),
 * bounded, with the exact count and highest seq; documents without a seq
 * (older databases, non-stamping writers) are never found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "polysearch.h"
#define TCU_TEMPDIR_FIXTURE
#include "test_core_util.h"

#define REC(r, i) (((uint64_t)(r) << PS_SEQ_OP_BITS) | (uint64_t)(i))

typedef struct seen {
    char ids[32][32];
    uint64_t seqs[32];
    size_t n;
} seen;

static int collect(void *ctx, const ps_match *m)
{
    seen *s = ctx;
    assert_true(s->n < 32);
    snprintf(s->ids[s->n], sizeof s->ids[0], "%s", m->id);
    s->seqs[s->n++] = m->seq;
    assert_int_equal(m->sub, 7);
    assert_non_null(m->snippet);
    return 0;
}

static void put(ps_db *w, const char *id, const char *body, ps_put_outcome want)
{
    ps_doc_in d = {.id = id, .body = body, .lang = "fr"};
    ps_put_outcome o;
    assert_int_equal(ps_db_put(w, &d, &o), PS_OK);
    assert_int_equal(o, want);
}

static uint64_t counter(ps_db *db)
{
    uint64_t v = 99;
    assert_int_equal(ps_db_get_wal_seq(db, &v), PS_OK);
    return v;
}

static seen catchup(ps_db *db, const char *q, uint64_t after, uint64_t upto, uint32_t max,
                    uint64_t *total, uint64_t *last)
{
    seen s;
    memset(&s, 0, sizeof s);
    ps_query qq = {.q = q};
    assert_int_equal(ps_db_catchup(db, &qq, after, upto, max, 7, NULL, collect, &s, total,
                                   last), PS_OK);
    return s;
}

static void test_stamping(void **state)
{
    (void)state;
    ps_db *w = tcu_open_w("db");
    /* Written before stamping: never found by a catch-up. */
    put(w, "old", "lyonbiopole ancien", PS_PUT_ADDED);
    assert_int_equal(ps_db_commit(w), PS_OK);
    assert_int_equal(counter(w), 0);
    assert_int_equal(ps_db_stamp_seqs(w), PS_OK);
    assert_int_equal(ps_db_last_seq(w), 0);
    put(w, "a", "lyonbiopole un", PS_PUT_ADDED);
    assert_int_equal(ps_db_last_seq(w), REC(1, 0));
    put(w, "b", "autre chose", PS_PUT_ADDED);
    put(w, "a", "lyonbiopole un", PS_PUT_UNCHANGED);   /* takes no seq */
    put(w, "c", "lyonbiopole trois", PS_PUT_ADDED);
    assert_int_equal(ps_db_last_seq(w), REC(1, 2));
    assert_int_equal(ps_db_commit(w), PS_OK);
    assert_int_equal(counter(w), REC(1, 2));
    /* The next commit starts a new record. */
    put(w, "a", "lyonbiopole un, remplacé", PS_PUT_REPLACED);
    assert_int_equal(ps_db_last_seq(w), REC(2, 0));
    /* A cancel drops the stamps: the seqs are given again. */
    assert_int_equal(ps_db_cancel(w), PS_OK);
    put(w, "a", "lyonbiopole un, remplacé", PS_PUT_REPLACED);
    assert_int_equal(ps_db_last_seq(w), REC(2, 0));
    assert_int_equal(ps_db_delete(w, "c"), PS_OK);
    /* ps_db_put_prepared stamps the prepared document too. */
    ps_doc_in d = {.id = "d", .body = "lyonbiopole quatre", .lang = "fr"};
    ps_prepared *p = NULL;
    assert_int_equal(ps_doc_prepare(&d, NULL, &p, NULL), PS_OK);
    uint64_t ps = 1;
    assert_int_equal(ps_prepared_seq(p, &ps), PS_OK);
    assert_int_equal(ps, 0);
    assert_int_equal(ps_db_put_prepared(w, p, NULL), PS_OK);
    assert_int_equal(ps_prepared_seq(p, &ps), PS_OK);
    assert_int_equal(ps, REC(2, 1));
    ps_prepared_free(p);
    assert_int_equal(ps_db_commit(w), PS_OK);
    assert_int_equal(ps_db_close(w), PS_OK);

    /* Another handle (another writer) goes on above the counter. */
    w = tcu_open_w("db");
    assert_int_equal(counter(w), REC(2, 1));
    assert_int_equal(ps_db_stamp_seqs(w), PS_OK);
    put(w, "e", "lyonbiopole cinq", PS_PUT_ADDED);
    assert_int_equal(ps_db_last_seq(w), REC(3, 0));
    assert_int_equal(ps_db_close(w), PS_OK);   /* commits, counter too */

    char *path = tcu_path(g_dir, "db");
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(path, PS_DB_READ, &r, NULL), PS_OK);
    assert_int_equal(counter(r), REC(3, 0));
    assert_int_equal(ps_db_stamp_seqs(r), PS_ERR_INVALID);
    uint64_t total = 0, last = 0;
    /* Everything: by seq, the latest version of a, c deleted, old absent. */
    seen s = catchup(r, "lyonbiopole", 0, 0, 100, &total, &last);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.ids[0], "a");
    assert_int_equal(s.seqs[0], REC(2, 0));
    assert_string_equal(s.ids[1], "d");
    assert_string_equal(s.ids[2], "e");
    assert_int_equal(total, 3);
    assert_int_equal(last, REC(3, 0));
    /* A bound: two sent, the count and the highest seq of all. */
    s = catchup(r, "lyonbiopole", 0, 0, 2, &total, &last);
    assert_int_equal(s.n, 2);
    assert_int_equal(total, 3);
    assert_int_equal(last, REC(3, 0));
    /* A range (after, upto]. */
    s = catchup(r, "lyonbiopole", REC(2, 0), REC(2, 1), 100, &total, &last);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.ids[0], "d");
    s = catchup(r, "", REC(1, 0), 0, 100, &total, NULL);   /* every document */
    assert_int_equal(total, 4);                           /* b, a, d, e */
    assert_string_equal(s.ids[0], "b");
    s = catchup(r, "lyonbiopole", UINT64_MAX, 0, 100, &total, &last);
    assert_int_equal(s.n, 0);
    assert_int_equal(total, 0);
    assert_int_equal(last, 0);
    ps_query bad = {.q = "x", .lang = "zz"};
    assert_int_equal(ps_db_catchup(r, &bad, 0, 0, 1, 7, NULL, collect, &s, NULL, NULL),
                     PS_ERR_INVALID);
    ps_db_close(r);
    free(path);
}

static void test_delta(void **state)
{
    (void)state;
    ps_db *w = tcu_open_w("db");
    assert_int_equal(ps_db_stamp_seqs(w), PS_OK);
    put(w, "m1", "lyonbiopole principal", PS_PUT_ADDED);
    put(w, "m2", "lyonbiopole remplacé ensuite", PS_PUT_ADDED);
    assert_int_equal(ps_db_close(w), PS_OK);
    char *path = tcu_path(g_dir, "db");
    ps_db *view = NULL, *r = NULL;
    assert_int_equal(ps_db_open(path, PS_DB_READ, &view, NULL), PS_OK);
    assert_int_equal(ps_db_open(path, PS_DB_READ, &r, NULL), PS_OK);
    uint64_t ck = counter(view);
    assert_int_equal(ck, REC(1, 1));
    ps_delta *d = NULL;
    assert_int_equal(ps_delta_new(ck, &d), PS_OK);
    assert_int_equal(ps_db_attach_delta(r, d), PS_OK);
    const ps_doc_in in[] = {
        {.id = "m2", .body = "lyonbiopole, nouvelle version", .lang = "fr"},
        {.id = "x1", .body = "lyonbiopole dans le delta", .lang = "fr"},
    };
    for (int i = 0; i < 2; i++) {
        ps_prepared *p = NULL;
        assert_int_equal(ps_doc_prepare(&in[i], NULL, &p, NULL), PS_OK);
        assert_int_equal(ps_delta_put(d, view, p, REC(2, i), NULL), PS_OK);
        uint64_t ps = 0;
        assert_int_equal(ps_prepared_seq(p, &ps), PS_OK);
        assert_int_equal(ps, REC(2, i));
        ps_prepared_free(p);
    }
    ps_delta_publish(d, UINT64_MAX);
    uint64_t total = 0, last = 0;
    seen s = catchup(r, "lyonbiopole", 0, 0, 10, &total, &last);
    assert_int_equal(s.n, 3);       /* m1 (main), m2 and x1 (delta) */
    assert_string_equal(s.ids[0], "m1");
    assert_string_equal(s.ids[1], "m2");
    assert_int_equal(s.seqs[1], REC(2, 0));
    assert_string_equal(s.ids[2], "x1");
    assert_int_equal(last, REC(2, 1));
    /* A checkpoint keeps the seqs: the same answer from the database. */
    ps_db *cw = tcu_open_w("db");
    uint64_t done = 0;
    assert_int_equal(ps_delta_checkpoint(d, cw, UINT64_MAX, &done), PS_OK);
    assert_int_equal(ps_db_close(cw), PS_OK);
    ps_db *r2 = NULL;
    assert_int_equal(ps_db_open(path, PS_DB_READ, &r2, NULL), PS_OK);
    s = catchup(r2, "lyonbiopole", REC(1, 0), 0, 10, &total, &last);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ids[0], "m2");
    assert_string_equal(s.ids[1], "x1");
    assert_int_equal(counter(r2), REC(2, 1));
    ps_db_close(r2);
    ps_db_close(r);
    ps_db_close(view);
    ps_delta_free(d);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stamping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delta, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
