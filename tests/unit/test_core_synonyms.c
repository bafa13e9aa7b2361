/* test_core_synonyms.c: the synonym table (lib/core/synonyms.cc):
 * normalisation, replacing the table (and its errors), listing, the query
 * expansion of ps_search (words, phrases, longest run first, what is not
 * expanded: quotes, prefixes, +/- words, wildcards, operators,
 * punctuation), the members each hit matched through, synonyms off, and
 * a shard set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "polysearch.h"
#include "test_core_util.h"

static char *g_dir;
static ps_db *g_db;     /* writable */

static const ps_doc_in g_docs[] = {
    {.id = "fr", .lang = "fr",
     .body = "Les PME du pôle de compétitivité Lyonbiopôle parlent d'une voix."},
    {.id = "de", .lang = "de",
     .body = "Die KMU im Kompetenzzentrum haben Gesundheitsprojekte gestartet."},
    {.id = "en", .lang = "en",
     .body = "Small businesses joined the competitiveness clusters of Europe."},
    {.id = "it", .lang = "it",
     .body = "Le piccole e medie imprese del polo lavorano insieme."},
};

static const char *const g1[] = {"PME", "KMU", "small businesses",
                                 "piccole e medie imprese"};
static const char *const g2[] = {"pôle de compétitivité", "Kompetenzzentrum",
                                 "competitiveness cluster"};
static const char *const g3[] = {"pôle", "Cluster"};
static const char *const g4[] = {"or", "oder"};
static const ps_synonym_group g_groups[] = {
    {4, g1}, {3, g2}, {2, g3}, {2, g4},
};

static int setup(void **state)
{
    (void)state;
    g_dir = tcu_mkdtemp();
    char *dbp = tcu_path(g_dir, "db");
    char *err = NULL;
    if (!g_dir || ps_db_open(dbp, PS_DB_WRITE, &g_db, &err) != PS_OK)
        return -1;
    free(dbp);
    for (size_t i = 0; i < sizeof g_docs / sizeof g_docs[0]; i++)
        if (ps_db_put(g_db, &g_docs[i], NULL) != PS_OK)
            return -1;
    if (ps_db_commit(g_db) != PS_OK)
        return -1;
    return ps_db_set_synonyms(g_db, g_groups, 4) == PS_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ps_db_close(g_db);
    tcu_rmtree(g_dir);
    free(g_dir);
    return 0;
}

static ps_results *run(const char *q, int off)
{
    ps_query qq = {.q = q, .limit = 20, .no_synonyms = off};
    ps_results *r = NULL;
    assert_int_equal(ps_search(g_db, &qq, &r), PS_OK);
    return r;
}

static const ps_hit *hit(const ps_results *r, const char *id)
{
    for (uint32_t i = 0; i < r->nhits; i++)
        if (strcmp(r->hits[i].id, id) == 0)
            return &r->hits[i];
    return NULL;
}

static int hit_has_synonym(const ps_hit *h, const char *m)
{
    for (uint32_t i = 0; h && i < h->nsynonyms; i++)
        if (strcmp(h->synonyms[i], m) == 0)
            return 1;
    return 0;
}

static void test_normalize(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"Pôle de  Compétitivité", "pole de competitivite"},
        {"Île-de-France", "ile de france"},
        {"l'Agence", "l agence"},
        {"  KMU ", "kmu"},
        {"Straße", "strasse"},
        {"--- ...", ""},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = ps_synonym_normalize(cases[i][0]);
        assert_non_null(n);
        assert_string_equal(n, cases[i][1]);
        free(n);
    }
}

static void test_list(void **state)
{
    (void)state;
    ps_synonym_list *l = NULL;
    assert_int_equal(ps_db_synonym_groups(g_db, NULL, 0, 0, &l), PS_OK);
    assert_int_equal(l->total, 4);
    assert_int_equal(l->ngroups, 4);
    /* Sorted by first member, members sorted. */
    assert_string_equal(l->groups[0].members[0], "cluster");
    assert_string_equal(l->groups[0].members[1], "pole");
    ps_synonym_list_free(l);
    assert_int_equal(ps_db_synonym_groups(g_db, "Small  Businesses", 0, 0, &l), PS_OK);
    assert_int_equal(l->ngroups, 1);
    assert_int_equal(l->groups[0].n, 4);
    assert_string_equal(l->groups[0].members[0], "kmu");
    ps_synonym_list_free(l);
    assert_int_equal(ps_db_synonym_groups(g_db, "nothing", 0, 0, &l), PS_OK);
    assert_int_equal(l->ngroups, 0);
    assert_int_equal(l->total, 0);
    ps_synonym_list_free(l);
    assert_int_equal(ps_db_synonym_groups(g_db, NULL, 1, 2, &l), PS_OK);
    assert_int_equal(l->total, 4);
    assert_int_equal(l->ngroups, 2);
    assert_string_equal(l->groups[0].members[0], "competitiveness cluster");
    ps_synonym_list_free(l);
}

static void test_word_expansion(void **state)
{
    (void)state;
    ps_results *r = run("PME", 0);
    /* fr by the word, de by KMU, en by the phrase, it by the phrase. */
    assert_int_equal(r->nhits, 4);
    assert_int_equal(r->nexpanded, 1);
    assert_string_equal(r->expanded[0].from, "pme");
    assert_int_equal(r->expanded[0].nto, 3);
    assert_int_equal(hit(r, "fr")->nsynonyms, 0);
    assert_true(hit_has_synonym(hit(r, "de"), "kmu"));
    assert_true(hit_has_synonym(hit(r, "en"), "small businesses"));
    assert_true(hit_has_synonym(hit(r, "it"), "piccole e medie imprese"));
    ps_results_free(r);

    r = run("PME", 1);
    assert_int_equal(r->nhits, 1);
    assert_string_equal(r->hits[0].id, "fr");
    assert_int_equal(r->nexpanded, 0);
    ps_results_free(r);

    /* A phrase member typed as words, and a word in another case. */
    r = run("kmu gestartet", 0);
    assert_int_equal(r->nhits, 1);
    assert_string_equal(r->hits[0].id, "de");
    ps_results_free(r);
}

static void test_longest_run(void **state)
{
    (void)state;
    ps_results *r = run("pôle de compétitivité", 0);
    assert_int_equal(r->nexpanded, 1);
    assert_string_equal(r->expanded[0].from, "pole de competitivite");
    assert_non_null(hit(r, "fr"));
    assert_non_null(hit(r, "de"));  /* Kompetenzzentrum */
    assert_true(hit_has_synonym(hit(r, "de"), "kompetenzzentrum"));
    /* A phrase member is matched as a phrase, unstemmed: "competitiveness
     * cluster" does not find "competitiveness clusters" (a synonym file
     * lists the inflections it wants as members). */
    assert_null(hit(r, "en"));
    ps_results_free(r);
    /* A single word is stemmed by each document's language: "clusters"
     * through "cluster" (group 3), "pôle" in the query. */
    r = run("pôle europe", 0);
    assert_int_equal(r->nexpanded, 1);
    assert_true(hit_has_synonym(hit(r, "en"), "cluster"));
    ps_results_free(r);
}

static void test_not_expanded(void **state)
{
    (void)state;
    static const char *const qs[] = {
        "\"PME\"", "title:PME", "+PME", "-lyonbiopole PME*", "PME*",
        "Lyonbiopôle OR lyonbiopole", "pme-kmu",
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        ps_results *r = run(qs[i], 0);
        assert_int_equal(r->nexpanded, 0);
        ps_results_free(r);
    }
    /* A lower-case "or" is a word, and a member. */
    ps_results *r = run("pme or lyonbiopole", 0);
    assert_int_equal(r->nexpanded, 2);
    ps_results_free(r);
    /* Punctuation breaks a run: "pôle" alone is expanded. */
    r = run("pôle, de compétitivité", 0);
    assert_int_equal(r->nexpanded, 1);
    assert_string_equal(r->expanded[0].from, "pole");
    ps_results_free(r);
    /* Parentheses too, and both groups apply. */
    r = run("(pme) (pôle)", 0);
    assert_int_equal(r->nexpanded, 2);
    ps_results_free(r);
}

static void test_errors_and_replace(void **state)
{
    (void)state;
    static const char *const one[] = {"solo"};
    static const char *const dup[] = {"KMU", "kmu"};
    static const char *const dup2[] = {"Cluster", "grappe"};
    static const char *const blank[] = {"a", "--"};
    ps_synonym_group bad1[] = {{1, one}};
    ps_synonym_group bad2[] = {{2, dup}};
    ps_synonym_group bad3[] = {{2, g3}, {2, dup2}};
    ps_synonym_group bad4[] = {{2, blank}};
    assert_int_equal(ps_db_set_synonyms(g_db, bad1, 1), PS_ERR_INVALID);
    assert_int_equal(ps_db_set_synonyms(g_db, bad2, 1), PS_ERR_INVALID);
    assert_int_equal(ps_db_set_synonyms(g_db, bad3, 2), PS_ERR_INVALID);
    assert_non_null(strstr(ps_db_errmsg(g_db), "synonym group 1"));
    assert_int_equal(ps_db_set_synonyms(g_db, bad4, 1), PS_ERR_INVALID);
    /* Nothing was written. */
    ps_synonym_list *l = NULL;
    assert_int_equal(ps_db_synonym_groups(g_db, NULL, 0, 0, &l), PS_OK);
    assert_int_equal(l->total, 4);
    ps_synonym_list_free(l);
    /* Uncommitted changes are refused. */
    ps_doc_in d = {.id = "x", .body = "text"};
    assert_int_equal(ps_db_put(g_db, &d, NULL), PS_OK);
    assert_int_equal(ps_db_set_synonyms(g_db, g_groups, 1), PS_ERR_INVALID);
    assert_int_equal(ps_db_cancel(g_db), PS_OK);
    /* Replacing removes the old groups; a new reader sees it. */
    static const char *const g5[] = {"KMU", "Mittelstand"};
    ps_synonym_group ng[] = {{2, g5}};
    assert_int_equal(ps_db_set_synonyms(g_db, ng, 1), PS_OK);
    ps_results *r = run("PME", 0);
    assert_int_equal(r->nexpanded, 0);
    assert_int_equal(r->nhits, 1);
    ps_results_free(r);
    char *dbp = tcu_path(g_dir, "db");
    ps_db *rd = NULL;
    assert_int_equal(ps_db_open(dbp, PS_DB_READ, &rd, NULL), PS_OK);
    assert_int_equal(ps_db_synonym_groups(rd, NULL, 0, 0, &l), PS_OK);
    assert_int_equal(l->total, 1);
    assert_string_equal(l->groups[0].members[1], "mittelstand");
    ps_synonym_list_free(l);
    ps_db_close(rd);
    free(dbp);
    /* An empty table. */
    assert_int_equal(ps_db_set_synonyms(g_db, NULL, 0), PS_OK);
    r = run("KMU", 0);
    assert_int_equal(r->nexpanded, 0);
    ps_results_free(r);
    assert_int_equal(ps_db_set_synonyms(g_db, g_groups, 4), PS_OK);
}

static void test_reader_sees_new_table(void **state)
{
    (void)state;
    char *dbp = tcu_path(g_dir, "db");
    ps_db *rd = NULL;
    assert_int_equal(ps_db_open(dbp, PS_DB_READ, &rd, NULL), PS_OK);
    ps_query q = {.q = "PME", .limit = 10};
    ps_results *r = NULL;
    assert_int_equal(ps_search(rd, &q, &r), PS_OK);
    assert_int_equal(r->nhits, 4);
    ps_results_free(r);
    static const char *const g5[] = {"PME", "Mittelstand"};
    ps_synonym_group ng[] = {{2, g5}};
    assert_int_equal(ps_db_set_synonyms(g_db, ng, 1), PS_OK);
    int changed = 0;
    assert_int_equal(ps_db_reopen(rd, &changed), PS_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(ps_search(rd, &q, &r), PS_OK);
    assert_int_equal(r->nhits, 1);
    assert_int_equal(r->nexpanded, 1);
    assert_string_equal(r->expanded[0].to[0], "mittelstand");
    ps_results_free(r);
    ps_db_close(rd);
    free(dbp);
    assert_int_equal(ps_db_set_synonyms(g_db, g_groups, 4), PS_OK);
}

static int count_match(void *ctx, const ps_match *m)
{
    (void)m;
    (*(int *)ctx)++;
    return 0;
}

/* The alert matcher expands a saved query with the table it was given,
 * when it is added (not with synonyms off). */
static void test_matcher(void **state)
{
    (void)state;
    ps_matcher *m = NULL;
    assert_int_equal(ps_matcher_new(&m), PS_OK);
    ps_query plain = {.q = "KMU"};
    ps_query off = {.q = "KMU", .no_synonyms = 1};
    assert_int_equal(ps_matcher_add(m, 1, &plain, NULL, NULL), PS_OK);
    assert_int_equal(ps_matcher_set_synonyms(m, g_db), PS_OK);
    assert_int_equal(ps_matcher_add(m, 2, &plain, NULL, NULL), PS_OK);
    assert_int_equal(ps_matcher_add(m, 3, &off, NULL, NULL), PS_OK);
    ps_doc_in d = {.id = "new", .lang = "it",
                   .body = "Nuove piccole e medie imprese a Torino."};
    ps_prepared *p = NULL;
    assert_int_equal(ps_doc_prepare(&d, NULL, &p, NULL), PS_OK);
    ps_match_doc md = {p, NULL, 1, 0};
    int n = 0;
    ps_match_stats st;
    assert_int_equal(ps_matcher_match(m, &md, 1, 0, count_match, &n, &st), PS_OK);
    assert_int_equal(n, 1);     /* query 2 only */
    n = 0;
    assert_int_equal(ps_matcher_match(m, &md, 1, 1, count_match, &n, &st), PS_OK);
    assert_int_equal(n, 1);     /* all queries run: the same */
    assert_int_equal(ps_matcher_set_synonyms(m, NULL), PS_OK);
    ps_prepared_free(p);
    ps_matcher_free(m);
}

static void test_shards(void **state)
{
    (void)state;
    char *sdir = tcu_path(g_dir, "set");
    ps_db *w = NULL;
    assert_int_equal(ps_db_open_dir(sdir, PS_DB_WRITE, 2, &w, NULL), PS_OK);
    for (size_t i = 0; i < sizeof g_docs / sizeof g_docs[0]; i++)
        assert_int_equal(ps_db_put(w, &g_docs[i], NULL), PS_OK);
    assert_int_equal(ps_db_commit(w), PS_OK);
    assert_int_equal(ps_db_set_synonyms(w, g_groups, 2), PS_OK);
    ps_db_close(w);
    ps_db *rd = NULL;
    assert_int_equal(ps_db_open_dir(sdir, PS_DB_READ, 0, &rd, NULL), PS_OK);
    ps_query q = {.q = "KMU", .limit = 10};
    ps_results *r = NULL;
    assert_int_equal(ps_search(rd, &q, &r), PS_OK);
    assert_int_equal(r->nhits, 4);
    ps_results_free(r);
    ps_synonym_list *l = NULL;
    assert_int_equal(ps_db_synonym_groups(rd, NULL, 0, 0, &l), PS_OK);
    assert_int_equal(l->total, 2);
    ps_synonym_list_free(l);
    ps_db_close(rd);
    free(sdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_word_expansion),
        cmocka_unit_test(test_longest_run),
        cmocka_unit_test(test_not_expanded),
        cmocka_unit_test(test_errors_and_replace),
        cmocka_unit_test(test_reader_sees_new_table),
        cmocka_unit_test(test_matcher),
        cmocka_unit_test(test_shards),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
