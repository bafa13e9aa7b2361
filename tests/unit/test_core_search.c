/* test_core_search.c: ps_search over the five seed articles of corpus/
 * (fr, fr, de, de, en): folding, per-language stemming, operators,
 * prefixes, wildcards, filters, facets, spelling, snippets, date sort and
 * a table of hostile queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>

#include "polysearch.h"
#include "test_core_util.h"

static char *g_dir;
static ps_db *g_db;

/* Indexes every corpus/NNN_*.txt file with id = file name without .txt,
 * no title and no lang (derived and detected). */
static int setup(void **state)
{
    (void)state;
    const char *src = getenv("PS_SOURCE_DIR");
    if (!src)
        src = ".";
    g_dir = tcu_mkdtemp();
    if (!g_dir)
        return -1;
    char *cdir = tcu_path(src, "corpus");
    char *dbp = tcu_path(g_dir, "db");
    char *err = NULL;
    if (ps_db_open(dbp, PS_DB_WRITE, &g_db, &err) != PS_OK) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    DIR *d = opendir(cdir);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", cdir);
        return -1;
    }
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".txt") != 0)
            continue;
        char *p = tcu_path(cdir, e->d_name);
        char *body = tcu_read_file(p);
        char id[256];
        snprintf(id, sizeof id, "%.*s", (int)(l - 4), e->d_name);
        ps_doc_in doc = {.id = id, .body = body};
        if (!body || ps_db_put(g_db, &doc, NULL) != PS_OK)
            return -1;
        free(body);
        free(p);
        n++;
    }
    closedir(d);
    free(cdir);
    free(dbp);
    if (n != 5 || ps_db_commit(g_db) != PS_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ps_db_close(g_db);
    tcu_rmtree(g_dir);
    free(g_dir);
    return 0;
}

/* Bit i set when seed "00i_..." is among the hits (limit 100). */
static unsigned run(ps_query *q, ps_status want)
{
    ps_results *r = NULL;
    if (!q->limit)
        q->limit = 100;
    ps_status st = ps_search(g_db, q, &r);
    if (st != want)
        fprintf(stderr, "query [%s]: status %d (%s)\n", q->q ? q->q : "",
                st, ps_db_errmsg(g_db));
    assert_int_equal(st, want);
    if (st != PS_OK) {
        assert_null(r);
        return 0;
    }
    unsigned mask = 0;
    for (uint32_t i = 0; i < r->nhits; i++) {
        int k = atoi(r->hits[i].id);
        assert_true(k >= 0 && k < 5);
        mask |= 1u << k;
        assert_int_equal(r->hits[i].rank, q->offset + i + 1);
    }
    ps_results_free(r);
    return mask;
}

static unsigned hits(const char *text)
{
    ps_query q = {.q = text};
    return run(&q, PS_OK);
}

static void test_seed_languages(void **state)
{
    (void)state;
    static const char *want[5] = {"fr", "fr", "de", "de", "en"};
    ps_results *r = NULL;
    ps_query q = {.q = "", .limit = 10};
    assert_int_equal(ps_search(g_db, &q, &r), PS_OK); /* empty: everything */
    assert_int_equal(r->nhits, 5);
    for (uint32_t i = 0; i < r->nhits; i++)
        assert_string_equal(r->hits[i].lang, want[atoi(r->hits[i].id)]);
    ps_results_free(r);
}

static void test_multilingual_stemming(void **state)
{
    (void)state;
    /* French (l'innovation), German (Innovationen), English (innovation). */
    unsigned m = hits("innovation");
    assert_true((m & 0x01) && (m & 0x04) && (m & 0x10));
    assert_int_equal(m, 0x1f);
    assert_int_equal(hits("Innovation"), m);
    assert_int_equal(hits("INNOVATION"), m);
    assert_int_equal(hits("innovations"), m);
    /* German plural in a German document only through its stem. */
    assert_true(hits("Innovationen") & 0x04);
}

static void test_folding(void **state)
{
    (void)state;
    unsigned m = hits("sante");
    assert_true((m & 0x03) == 0x03);
    assert_false(m & 0x10);
    assert_int_equal(hits("santé"), m);
    assert_int_equal(hits("SANTÉ"), m);
    assert_int_equal(hits("Santé"), m);
    assert_int_equal(hits("LYONBIOPOLE"), 0x1f);
    assert_int_equal(hits("lyonbiopole"), 0x1f);
    assert_int_equal(hits("Lyonbiopôle"), 0x1f);
    assert_int_equal(hits("competitivite"), hits("compétitivité"));
    assert_true(hits("competitivite") & 0x01);
}

static void test_operators_and_prefixes(void **state)
{
    (void)state;
    assert_int_equal(hits("\"hub santé\""), 0x01);
    assert_int_equal(hits("\"hub sante\""), 0x01);
    assert_int_equal(hits("\"santé hub\""), 0);
    assert_int_equal(hits("lang:de lyonbiopole"), 0x0c);
    assert_int_equal(hits("lyonbiopole NOT santé"), 0x14);
    assert_int_equal(hits("lyonbiopole AND innovation"), 0x1f);
    assert_int_equal(hits("zzzqqq OR lyonbiopole"), 0x1f);
    assert_int_equal(hits("zzzqqq lyonbiopole"), 0);
    unsigned t = hits("title:lyonbiopole");
    assert_true(t & 0x04);
    assert_false(t & 0x10);
    assert_true(hits("title:Lyonbiopôle") == t);
    ps_query q = {.q = "lyonbiopole", .lang = "fr"};
    assert_int_equal(run(&q, PS_OK), 0x03);
}

static void test_wildcard(void **state)
{
    (void)state;
    /* Every seed but 000 has a word starting with "bio". */
    unsigned m = hits("bio*");
    assert_int_equal(m, 0x1e);
    assert_true(hits("lyonbio*") == 0x1f);
    ps_query q = {.q = "bio*", .max_wildcard = 2};
    run(&q, PS_ERR_TOO_MANY_TERMS);
    assert_true(strlen(ps_db_errmsg(g_db)) > 0);
    /* The handle keeps working after an error. */
    assert_int_equal(hits("lyonbiopole"), 0x1f);
}

static void test_facets_limits_spelling(void **state)
{
    (void)state;
    ps_query q = {.q = "lyonbiopole", .facets = 1, .limit = 2, .offset = 1};
    ps_results *r = NULL;
    assert_int_equal(ps_search(g_db, &q, &r), PS_OK);
    assert_int_equal(r->nhits, 2);
    assert_int_equal(r->hits[0].rank, 2);
    assert_int_equal(r->total, 5);
    assert_int_equal(r->nfacets, 3);
    uint64_t fr = 0, de = 0, en = 0;
    for (uint32_t i = 0; i < r->nfacets; i++) {
        if (!strcmp(r->facets[i].value, "fr")) fr = r->facets[i].count;
        if (!strcmp(r->facets[i].value, "de")) de = r->facets[i].count;
        if (!strcmp(r->facets[i].value, "en")) en = r->facets[i].count;
    }
    assert_int_equal(fr, 2);
    assert_int_equal(de, 2);
    assert_int_equal(en, 1);
    assert_null(r->suggestion);
    ps_results_free(r);

    ps_query d = {.q = "lyonbiopoel"};
    assert_int_equal(ps_search(g_db, &d, &r), PS_OK);
    assert_int_equal(r->nhits, 0);
    assert_non_null(r->suggestion);
    assert_string_equal(r->suggestion, "lyonbiopole");
    ps_results_free(r);
    /* Default limit is 10. */
    ps_query all = {.q = ""};
    assert_int_equal(ps_search(g_db, &all, &r), PS_OK);
    assert_int_equal(r->nhits, 5);
    ps_results_free(r);
}

/* Every highlight span of every hit: text that folds to one of `words`. */
static void check_snippets(const char *text, const char *const *words, size_t nw,
                           unsigned must_hl)
{
    ps_query q = {.q = text, .snippets = 1, .limit = 10};
    ps_results *r = NULL;
    assert_int_equal(ps_search(g_db, &q, &r), PS_OK);
    assert_true(r->nhits > 0);
    for (uint32_t i = 0; i < r->nhits; i++) {
        const ps_hit *h = &r->hits[i];
        assert_true(strlen(h->snippet) <= 200 + 8);
        if (must_hl & (1u << atoi(h->id)))
            assert_true(h->nhighlights > 0);
        for (uint32_t k = 0; k < h->nhighlights; k++) {
            const ps_span *s = &h->highlights[k];
            assert_true(s->off + s->len <= strlen(h->snippet));
            char *f = ps_fold(h->snippet + s->off, s->len);
            int ok = 0;
            for (size_t w = 0; w < nw; w++)
                ok |= strcmp(f, words[w]) == 0;
            if (!ok)
                fprintf(stderr, "unexpected highlight '%s'\n", f);
            assert_true(ok);
            free(f);
        }
    }
    ps_results_free(r);
}

static void test_snippets(void **state)
{
    (void)state;
    static const char *sante[] = {"sante"};
    check_snippets("sante", sante, 1, 0x03);
    /* The accented form is highlighted for the unaccented query. */
    ps_query q = {.q = "sante", .snippets = 1};
    ps_results *r = NULL;
    assert_int_equal(ps_search(g_db, &q, &r), PS_OK);
    int seen = 0;
    for (uint32_t i = 0; i < r->nhits; i++)
        for (uint32_t k = 0; k < r->hits[i].nhighlights; k++)
            seen |= strncmp(r->hits[i].snippet + r->hits[i].highlights[k].off,
                            "santé", strlen("santé")) == 0;
    assert_true(seen);
    ps_results_free(r);
    static const char *innov[] = {"innovation", "innovationen", "innovations",
                                  "innovant"};
    check_snippets("innovation", innov, 4, 0x15);
    static const char *lyon[] = {"lyonbiopole"};
    check_snippets("LYONBIOPOLE", lyon, 1, 0x1f);
}

static void test_dates(void **state)
{
    (void)state;
    const char *dates[] = {"2021-03-01", "2023-01-15T08:00:00Z", "2022-05-19"};
    for (int i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof id, "dated-%d", i);
        ps_doc_in d = {.id = id, .body = "quokka report", .lang = "en",
                       .date = dates[i]};
        assert_int_equal(ps_db_put(g_db, &d, NULL), PS_OK);
    }
    ps_query q = {.q = "quokka", .sort = PS_SORT_DATE};
    ps_results *r = NULL;
    assert_int_equal(ps_search(g_db, &q, &r), PS_OK);
    assert_int_equal(r->nhits, 3);
    assert_string_equal(r->hits[0].id, "dated-1");
    assert_string_equal(r->hits[1].id, "dated-2");
    assert_string_equal(r->hits[2].id, "dated-0");
    assert_string_equal(r->hits[0].date, "2023-01-15T08:00:00Z");
    ps_results_free(r);
    ps_query f = {.q = "quokka", .date_from = "2022", .date_to = "2022-12-31"};
    assert_int_equal(ps_search(g_db, &f, &r), PS_OK);
    assert_int_equal(r->nhits, 1);
    assert_string_equal(r->hits[0].id, "dated-2");
    ps_results_free(r);
    ps_query t = {.q = "quokka", .date_to = "2022-05-19"}; /* inclusive */
    assert_int_equal(ps_search(g_db, &t, &r), PS_OK);
    assert_int_equal(r->nhits, 2);
    ps_results_free(r);
    assert_int_equal(ps_db_cancel(g_db), PS_OK);
}

static void test_hostile_queries(void **state)
{
    (void)state;
    char *parens = malloc(1100);
    memset(parens, '(', 500);
    strcpy(parens + 500, "lyonbiopole");
    memset(parens + 511, ')', 500);
    parens[1011] = '\0';
    char *many = malloc(20001);
    for (int i = 0; i < 10000; i++)
        memcpy(many + 2 * i, "a ", 2);
    many[20000] = '\0';
    char *terms = malloc(4001); /* ~2000 distinct short terms, under the cap */
    for (int i = 0; i < 1000; i++)
        snprintf(terms + 4 * i, 5, "%c%c%c ", 'a' + i % 26, 'a' + (i / 26) % 26, 'x');
    const char *table[] = {
        "\"unbalanced", "lyonbiopole\"", "((((", "))))", "NOT", "NOT NOT",
        "AND", "OR OR OR", "a AND", "title:", "lang:", ":", "*", "**", "\"\"",
        "+", "-", "+-+-", "\xff\xfe invalid", "sant\xc3", "\xc3\xa9\xc3",
        "a NEAR b", "a ADJ/3 b", "NEAR/99999999999999999", "lang:zz x",
        "title:(a OR", "\"a b\"~", "bio* NOT bio*", parens, many, terms,
        "\xe4\xb8\xad\xe6\x96\x87\xe6\xa3\x80\xe7\xb4\xa2", "\t\n\r",
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        ps_query q = {.q = table[i], .snippets = 1, .facets = 1, .spelling = 1};
        ps_results *r = NULL;
        ps_status st = ps_search(g_db, &q, &r);
        int ok = st == PS_OK || st == PS_ERR_QUERY || st == PS_ERR_TOO_MANY_TERMS ||
                 (st == PS_ERR_TOO_LARGE && table[i] == many);
        if (!ok)
            fprintf(stderr, "hostile query %zu: %d %s\n", i, st, ps_db_errmsg(g_db));
        assert_true(ok);
        if (st == PS_OK)
            assert_non_null(r);
        else
            assert_true(strlen(ps_db_errmsg(g_db)) > 0);
        ps_results_free(r);
    }
    /* The 20,000-byte query is over the 4 KiB default: too large. */
    ps_query q = {.q = many};
    run(&q, PS_ERR_TOO_LARGE);
    /* With max_query raised above it, the same query runs. */
    q.max_query = 32768;
    run(&q, PS_OK);
    free(parens);
    free(many);
    free(terms);
    assert_int_equal(hits("lyonbiopole"), 0x1f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_languages),
        cmocka_unit_test(test_multilingual_stemming),
        cmocka_unit_test(test_folding),
        cmocka_unit_test(test_operators_and_prefixes),
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_facets_limits_spelling),
        cmocka_unit_test(test_snippets),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_hostile_queries),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
