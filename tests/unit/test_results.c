/* test_results.c: status strings, the ps_results builder and ps_document
 * (lib/wire/results.c). */
#include "test_analysis_util.h"

#include "ps_types.h"

/* 1 when p lies inside [base, base + size). */
static int inside(const void *base, size_t size, const void *p)
{
    const char *b = base, *q = p;
    return q >= b && q < b + size;
}

static void test_status_strings(void **state)
{
    (void)state;
    for (int i = 0; i < PS_STATUS_COUNT; i++) {
        assert_non_null(ps_status_str((ps_status)i));
        assert_non_null(ps_status_code((ps_status)i));
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(ps_status_str((ps_status)i),
                                    ps_status_str((ps_status)j));
            assert_string_not_equal(ps_status_code((ps_status)i),
                                    ps_status_code((ps_status)j));
        }
    }
    assert_string_equal(ps_status_code(PS_ERR_NOT_FOUND), "not_found");
    assert_string_equal(ps_status_code(PS_ERR_QUERY), "query_syntax");
    assert_string_equal(ps_status_code(PS_ERR_TOO_MANY_TERMS),
                        "too_many_terms");
    assert_string_equal(ps_status_code(PS_ERR_INTERNAL), "internal");
    assert_string_equal(ps_status_code((ps_status)999), "internal");
    assert_non_null(ps_status_str((ps_status)-1));
}

static void test_round_trip(void **state)
{
    ps_span hl[3] = {{0, 4}, {10, 3}, {20, 5}};
    ps_results_builder *b = ps_results_builder_new();
    ps_results *r;
    size_t block_guess;
    (void)state;
    assert_non_null(b);
    assert_int_equal(ps_results_builder_add_hit(b, "doc-1", "Santé",
                                                "fr", "2024-01-02", "http://x/1",
                                                "Lyonbiopôle santé", 1.5, 1,
                                                hl, 2), PS_OK);
    assert_int_equal(ps_results_builder_add_hit(b, "doc-2", NULL, NULL, NULL,
                                                NULL, NULL, 0.25, 2, NULL, 0),
                     PS_OK);
    assert_int_equal(ps_results_builder_add_hit(b, "doc-3", "T", "de", NULL,
                                                NULL, "snip", 0.0, 3, hl + 2, 1),
                     PS_OK);
    assert_int_equal(ps_results_builder_add_facet(b, "fr", 10), PS_OK);
    assert_int_equal(ps_results_builder_add_facet(b, "de", 3), PS_OK);
    /* Mutating the caller's spans after add_hit does not matter. */
    hl[0].off = 999;
    r = ps_results_builder_finish(b, 42, "sante", 1234);
    assert_non_null(r);
    assert_int_equal(r->total, 42);
    assert_int_equal(r->took_us, 1234);
    assert_string_equal(r->suggestion, "sante");
    assert_int_equal(r->nhits, 3);
    assert_string_equal(r->hits[0].id, "doc-1");
    assert_string_equal(r->hits[0].title, "Santé");
    assert_string_equal(r->hits[0].lang, "fr");
    assert_string_equal(r->hits[0].date, "2024-01-02");
    assert_string_equal(r->hits[0].url, "http://x/1");
    assert_string_equal(r->hits[0].snippet, "Lyonbiopôle santé");
    assert_true(r->hits[0].score == 1.5);
    assert_int_equal(r->hits[0].rank, 1);
    assert_int_equal(r->hits[0].nhighlights, 2);
    assert_int_equal(r->hits[0].highlights[0].off, 0);
    assert_int_equal(r->hits[0].highlights[0].len, 4);
    assert_int_equal(r->hits[0].highlights[1].off, 10);
    /* Optional fields NULL, title/snippet "" and lang "und" when absent. */
    assert_string_equal(r->hits[1].title, "");
    assert_string_equal(r->hits[1].snippet, "");
    assert_string_equal(r->hits[1].lang, "und");
    assert_null(r->hits[1].date);
    assert_null(r->hits[1].url);
    assert_int_equal(r->hits[1].nhighlights, 0);
    assert_null(r->hits[1].highlights);
    assert_int_equal(r->hits[2].highlights[0].off, 20);
    assert_int_equal(r->nfacets, 2);
    assert_string_equal(r->facets[0].value, "fr");
    assert_int_equal(r->facets[0].count, 10);
    assert_string_equal(r->facets[1].value, "de");
    /* Everything lives inside one block (strings are after the arrays). */
    block_guess = 4096;
    assert_true(inside(r, block_guess, r->hits));
    assert_true(inside(r, block_guess, r->facets));
    assert_true(inside(r, block_guess, r->hits[0].highlights));
    assert_true(inside(r, block_guess, r->hits[2].snippet));
    assert_true(inside(r, block_guess, r->facets[1].value));
    assert_true(inside(r, block_guess, r->suggestion));
    ps_results_free(r);
}

static void test_zero_hits(void **state)
{
    ps_results *r = ps_results_builder_finish(ps_results_builder_new(), 0,
                                              NULL, 7);
    (void)state;
    assert_non_null(r);
    assert_int_equal(r->nhits, 0);
    assert_int_equal(r->nfacets, 0);
    assert_null(r->facets);
    assert_null(r->suggestion);
    assert_int_equal(r->total, 0);
    assert_int_equal(r->took_us, 7);
    ps_results_free(r);
    ps_results_free(NULL);
    assert_null(ps_results_builder_finish(NULL, 0, NULL, 0));
}

static void test_bad_arguments_and_free(void **state)
{
    ps_results_builder *b = ps_results_builder_new();
    (void)state;
    assert_int_equal(ps_results_builder_add_hit(b, "x", NULL, NULL, NULL,
                                                NULL, NULL, 0, 1, NULL, 3),
                     PS_ERR_INVALID);
    assert_int_equal(ps_results_builder_add_facet(b, NULL, 1),
                     PS_ERR_INVALID);
    /* Many hits grow the arrays; freeing an unfinished builder frees all. */
    for (int i = 0; i < 1000; i++) {
        char id[32];
        snprintf(id, sizeof id, "doc-%d", i);
        assert_int_equal(ps_results_builder_add_hit(b, id, id, "en", NULL,
                                                    NULL, id, i, (uint32_t)i + 1,
                                                    NULL, 0), PS_OK);
    }
    ps_results_builder_free(b);
    ps_results_builder_free(NULL);
}

static void test_many_hits_block(void **state)
{
    ps_results_builder *b = ps_results_builder_new();
    ps_span sp = {1, 2};
    ps_results *r;
    (void)state;
    for (int i = 0; i < 500; i++) {
        char id[32];
        snprintf(id, sizeof id, "id-%d", i);
        assert_int_equal(ps_results_builder_add_hit(b, id, "t", "en", "d", "u",
                                                    "s", i, (uint32_t)i + 1,
                                                    &sp, 1), PS_OK);
    }
    r = ps_results_builder_finish(b, 500, NULL, 0);
    assert_non_null(r);
    for (uint32_t i = 0; i < r->nhits; i++) {
        char id[32];
        snprintf(id, sizeof id, "id-%u", i);
        assert_string_equal(r->hits[i].id, id);
        assert_int_equal(r->hits[i].rank, i + 1);
        assert_int_equal(r->hits[i].highlights[0].len, 2);
    }
    ps_results_free(r);
}

static void test_document(void **state)
{
    ps_document *d = ps_document_new("id1", "Titre", "Corps du texte", "fr",
                                     NULL, NULL, "abc123");
    (void)state;
    assert_non_null(d);
    assert_string_equal(d->id, "id1");
    assert_string_equal(d->title, "Titre");
    assert_string_equal(d->body, "Corps du texte");
    assert_string_equal(d->lang, "fr");
    assert_null(d->date);
    assert_null(d->url);
    assert_string_equal(d->hash, "abc123");
    assert_true(inside(d, 1024, d->body));
    ps_document_free(d);
    d = ps_document_new(NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    assert_non_null(d);
    assert_null(d->id);
    assert_null(d->body);
    ps_document_free(d);
    ps_document_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_zero_hits),
        cmocka_unit_test(test_bad_arguments_and_free),
        cmocka_unit_test(test_many_hits_block),
        cmocka_unit_test(test_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
