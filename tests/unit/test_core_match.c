/* test_core_match.c: the alert matcher (ps_matcher, lib/core/match.cc):
 * saved queries against a group of prepared documents in three languages,
 * with the query semantics of ps_search (folding, per-language stems,
 * phrases, NOT, lang:, title:, wildcards, lang and date filters); the
 * candidate index finds exactly what running every query finds; the last
 * change of an id wins; removed queries never match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polysearch.h"

static const ps_doc_in docs_in[] = {
    {.id = "fr-lyon", .lang = "fr", .date = "2024-03-01",
     .title = "Lyonbiopôle, un hub santé à l'échelle internationale",
     .body = "Le pôle de compétitivité Lyonbiopôle soutient les technologies "
             "de santé et l'innovation en Auvergne-Rhône-Alpes.",
     .url = "https://example.org/lyon"},
    {.id = "de-lyon", .lang = "de", .date = "2023-01-15",
     .title = "Lyonbiopôle und Medizintechnik",
     .body = "Der Cluster Lyonbiopôle fördert Innovationen in der "
             "Gesundheitswirtschaft und die Technologie."},
    {.id = "en-medicen", .lang = "en",
     .title = "Biotech cluster news",
     .body = "The health cluster Medicen Paris Region announced new partners."},
    {.id = "fr-euro", .lang = "fr", .date = "2024-06-01",
     .title = "Eurobiomed",
     .body = "Eurobiomed fédère les acteurs de la santé du sud de la France."},
};
#define NDOCS (sizeof docs_in / sizeof docs_in[0])

typedef struct qcase {
    const char *q, *lang, *date_from;
    unsigned want;      /* bit i: docs_in[i] matches */
} qcase;

static const qcase cases[] = {
    {"SANTE", NULL, NULL, 0x9},                 /* accent-free, upper case */
    {"sante", NULL, NULL, 0x9},
    {"lyonbiopole", NULL, NULL, 0x3},
    {"LYONBIOPÔLE", NULL, NULL, 0x3},
    {"Technologie", NULL, NULL, 0x3},           /* German word, French stem */
    {"\"hub santé\"", NULL, NULL, 0x1},         /* phrase */
    {"\"santé hub\"", NULL, NULL, 0x0},
    {"lyonbiopole NOT medizintechnik", NULL, NULL, 0x1},
    /* the exact parse matches the German "Innovationen" (as ps_search) */
    {"lyonbiopole -innovation", NULL, NULL, 0x2},
    {"lang:de lyonbiopole", NULL, NULL, 0x2},
    {"title:eurobiomed", NULL, NULL, 0x8},
    {"cluster", NULL, NULL, 0x6},
    {"cluster", "en", NULL, 0x4},
    {"santé", NULL, "2024-01-01", 0x9},
    {"santé", NULL, "2024-05-01", 0x8},
    {"lyonbiopole", NULL, "2024-01-01", 0x1},
    {"", "fr", NULL, 0x9},                      /* every French document */
    {"medic*", NULL, NULL, 0x4},                /* wildcard: always a candidate */
    {"zzzqqq", NULL, NULL, 0x0},
    {"eurobiomed OR medicen", NULL, NULL, 0xc},
    {"partners AND (health OR sante)", NULL, NULL, 0x4},
};
#define NCASES (sizeof cases / sizeof cases[0])

typedef struct seen {
    unsigned mask[NCASES + 1];
    uint64_t last_sub;
    uint32_t last_doc;
    int ordered;
    int calls;
    ps_match m[64];
    char ids[64][32];
} seen;

static int collect(void *ctx, const ps_match *m)
{
    seen *s = ctx;
    if (m->sub <= NCASES)
        s->mask[m->sub] |= 1u << m->doc;
    /* documents in order, then queries by increasing id */
    if (s->calls > 0 && (m->doc < s->last_doc ||
                         (m->doc == s->last_doc && m->sub <= s->last_sub)))
        s->ordered = 0;
    s->last_doc = m->doc;
    s->last_sub = m->sub;
    if (s->calls < 64) {
        s->m[s->calls] = *m;
        snprintf(s->ids[s->calls], sizeof s->ids[0], "%s", m->id);
        s->m[s->calls].id = s->ids[s->calls];
        s->m[s->calls].title = s->m[s->calls].lang = s->m[s->calls].snippet = NULL;
        s->m[s->calls].date = s->m[s->calls].url = NULL;
    }
    s->calls++;
    return 0;
}

static ps_prepared *prep(const ps_doc_in *d)
{
    ps_prepared *p = NULL;
    char *msg = NULL;
    ps_status st = ps_doc_prepare(d, NULL, &p, &msg);
    if (st != PS_OK)
        fprintf(stderr, "prepare %s: %s\n", d->id, msg);
    free(msg);
    assert_int_equal(st, PS_OK);
    return p;
}

static ps_matcher *matcher_with_cases(void)
{
    ps_matcher *m = NULL;
    assert_int_equal(ps_matcher_new(&m), PS_OK);
    for (unsigned i = 0; i < NCASES; i++) {
        ps_query q;
        memset(&q, 0, sizeof q);
        q.q = cases[i].q;
        q.lang = cases[i].lang;
        q.date_from = cases[i].date_from;
        char *msg = NULL;
        ps_status st = ps_matcher_add(m, i + 1, &q, NULL, &msg);
        if (st != PS_OK)
            fprintf(stderr, "add '%s': %s\n", cases[i].q, msg);
        free(msg);
        assert_int_equal(st, PS_OK);
    }
    assert_int_equal(ps_matcher_count(m), NCASES);
    return m;
}

static void run_cases(int all)
{
    ps_matcher *m = matcher_with_cases();
    ps_prepared *p[NDOCS];
    ps_match_doc g[NDOCS];
    for (unsigned i = 0; i < NDOCS; i++) {
        p[i] = prep(&docs_in[i]);
        g[i] = (ps_match_doc){.doc = p[i], .seq = 100 + i};
    }
    seen s;
    memset(&s, 0, sizeof s);
    s.ordered = 1;
    ps_match_stats st;
    assert_int_equal(ps_matcher_match(m, g, NDOCS, all, collect, &s, &st), PS_OK);
    for (unsigned i = 0; i < NCASES; i++) {
        if (s.mask[i + 1] != cases[i].want)
            fprintf(stderr, "query '%s' lang %s from %s (all=%d): got 0x%x, want 0x%x\n",
                    cases[i].q, cases[i].lang ? cases[i].lang : "-",
                    cases[i].date_from ? cases[i].date_from : "-", all,
                    s.mask[i + 1], cases[i].want);
        assert_int_equal(s.mask[i + 1], cases[i].want);
    }
    assert_true(s.ordered);
    assert_int_equal(st.docs, NDOCS);
    assert_int_equal(st.matches, (uint64_t)s.calls);
    if (all)
        assert_int_equal(st.candidates, NCASES);
    else
        assert_true(st.candidates < NCASES);   /* the index filtered some */
    for (unsigned i = 0; i < NDOCS; i++)
        ps_prepared_free(p[i]);
    ps_matcher_free(m);
}

static void test_cases_candidates(void **state)
{
    (void)state;
    run_cases(0);
}

static void test_cases_every_query(void **state)
{
    (void)state;
    run_cases(1);
}

/* The (query, document) pairs of one match call. */
typedef struct pairs {
    uint64_t v[8192];
    unsigned n;
} pairs;

static int collect_pairs(void *ctx, const ps_match *mt)
{
    pairs *p = ctx;
    if (p->n < sizeof p->v / sizeof p->v[0])
        p->v[p->n++] = mt->sub << 8 | mt->doc;
    return 0;
}

/* A matcher holding words of the documents in other forms (case, accents,
 * plural, another language's form), alone, OR-ed and as phrases, and a
 * wildcard. */
static ps_matcher *words_matcher(void)
{
    static const char *words[] = {
        "Lyonbiopôle", "SANTÉ", "innovations", "Innovation", "technologies",
        "Technologie", "Gesundheitswirtschaft", "acteurs", "ACTEUR", "partner",
        "partenaires", "region", "Régions", "hub", "internationales",
        "international", "fördert", "fordert", "Kliniken", "news", "sud",
        "France", "cluster", "Clusters", "medicen", "Paris", "pole", "pôles",
        "title:hub", "title:Medizintechnik", "biotech*",
    };
    const unsigned nw = sizeof words / sizeof words[0];
    ps_matcher *m = NULL;
    assert_int_equal(ps_matcher_new(&m), PS_OK);
    uint64_t id = 1;
    char buf[128];
    for (unsigned i = 0; i < nw; i++)
        for (unsigned j = 0; j < nw; j += 4)
            for (unsigned f = 0; f < 3; f++) {
                if (f == 0) snprintf(buf, sizeof buf, "%s", words[i]);
                else if (f == 1) snprintf(buf, sizeof buf, "%s OR %s", words[i], words[j]);
                else snprintf(buf, sizeof buf, "\"%s %s\"", words[i], words[j]);
                ps_query q;
                memset(&q, 0, sizeof q);
                q.q = buf;
                assert_int_equal(ps_matcher_add(m, id++, &q, NULL, NULL), PS_OK);
            }
    return m;
}

/* The candidates find exactly what running every query finds. */
static void test_candidates_lose_nothing(void **state)
{
    (void)state;
    ps_matcher *m = words_matcher();
    ps_prepared *p[NDOCS];
    ps_match_doc g[NDOCS];
    for (unsigned i = 0; i < NDOCS; i++) {
        p[i] = prep(&docs_in[i]);
        g[i] = (ps_match_doc){.doc = p[i], .seq = i + 1};
    }
    pairs *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    ps_match_stats sa, sb;
    assert_int_equal(ps_matcher_match(m, g, NDOCS, 0, collect_pairs, a, &sa), PS_OK);
    assert_int_equal(ps_matcher_match(m, g, NDOCS, 1, collect_pairs, b, &sb), PS_OK);
    assert_true(b->n > 100);    /* the words do match */
    assert_true(b->n < sizeof b->v / sizeof b->v[0]);
    assert_true(sa.candidates < sb.candidates);
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->v, b->v, a->n * sizeof a->v[0]);
    free(a);
    free(b);
    for (unsigned i = 0; i < NDOCS; i++)
        ps_prepared_free(p[i]);
    ps_matcher_free(m);
}

/* The parses a matcher keeps between groups (per query and language) give
 * what parsing afresh gives: each document matched alone, one group after
 * the other (languages arriving one at a time, a wildcard expanded over
 * each group), finds the same (query, document) pairs as one group of
 * them all in a new matcher. */
static void test_groups_one_by_one(void **state)
{
    (void)state;
    ps_matcher *m1 = words_matcher(), *m2 = words_matcher();
    ps_prepared *p[NDOCS];
    ps_match_doc g[NDOCS];
    for (unsigned i = 0; i < NDOCS; i++) {
        p[i] = prep(&docs_in[i]);
        g[i] = (ps_match_doc){.doc = p[i], .seq = i + 1};
    }
    pairs *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    assert_int_equal(ps_matcher_match(m2, g, NDOCS, 0, collect_pairs, b, NULL), PS_OK);
    for (unsigned r = 0; r < 2; r++) {      /* twice: the second from the cache */
        a->n = 0;
        for (unsigned i = 0; i < NDOCS; i++) {
            unsigned from = a->n;
            assert_int_equal(ps_matcher_match(m1, &g[i], 1, 0, collect_pairs, a, NULL), PS_OK);
            for (unsigned k = from; k < a->n; k++)
                a->v[k] = (a->v[k] & ~(uint64_t)0xff) | i;   /* doc 0 of its group -> i */
        }
        /* b is by document, then query: sort a the same way. */
        for (unsigned x = 1; x < a->n; x++)
            for (unsigned y = x; y > 0; y--) {
                uint64_t u = a->v[y - 1], w = a->v[y];
                if (((u & 0xff) << 56 | u >> 8) <= ((w & 0xff) << 56 | w >> 8))
                    break;
                a->v[y - 1] = w;
                a->v[y] = u;
            }
        assert_true(b->n > 100);
        assert_int_equal(a->n, b->n);
        assert_memory_equal(a->v, b->v, a->n * sizeof a->v[0]);
    }
    free(a);
    free(b);
    for (unsigned i = 0; i < NDOCS; i++)
        ps_prepared_free(p[i]);
    ps_matcher_free(m1);
    ps_matcher_free(m2);
}

/* Subscriptions with the same query are matched once per group and share
 * the snippet: they get the same documents and text; another snippet
 * length gets its own. */
typedef struct snipped {
    unsigned n;
    uint64_t sub[64];
    unsigned doc[64];
    char snip[64][256];
} snipped;

static int collect_snips(void *ctx, const ps_match *mt)
{
    snipped *s = ctx;
    if (s->n < 64) {
        s->sub[s->n] = mt->sub;
        s->doc[s->n] = mt->doc;
        snprintf(s->snip[s->n], sizeof s->snip[0], "%s", mt->snippet);
        s->n++;
    }
    return 0;
}

static void test_same_query_shared(void **state)
{
    (void)state;
    ps_matcher *m = NULL;
    assert_int_equal(ps_matcher_new(&m), PS_OK);
    ps_query q;
    memset(&q, 0, sizeof q);
    q.q = "innovation";
    assert_int_equal(ps_matcher_add(m, 1, &q, NULL, NULL), PS_OK);
    assert_int_equal(ps_matcher_add(m, 2, &q, NULL, NULL), PS_OK);
    q.snippet_bytes = 40;
    assert_int_equal(ps_matcher_add(m, 3, &q, NULL, NULL), PS_OK);
    ps_prepared *p[NDOCS];
    ps_match_doc g[NDOCS];
    for (unsigned i = 0; i < NDOCS; i++) {
        p[i] = prep(&docs_in[i]);
        g[i] = (ps_match_doc){.doc = p[i], .seq = i + 1};
    }
    snipped *s = calloc(1, sizeof *s);
    ps_match_stats st;
    assert_int_equal(ps_matcher_match(m, g, NDOCS, 0, collect_snips, s, &st), PS_OK);
    assert_true(s->n >= 3 && s->n % 3 == 0);
    assert_int_equal(st.candidates, 3);
    for (unsigned i = 0; i + 2 < s->n; i += 3) {    /* by document, then sub */
        assert_int_equal(s->sub[i], 1);
        assert_int_equal(s->sub[i + 1], 2);
        assert_int_equal(s->sub[i + 2], 3);
        assert_int_equal(s->doc[i], s->doc[i + 1]);
        assert_int_equal(s->doc[i], s->doc[i + 2]);
        assert_string_equal(s->snip[i], s->snip[i + 1]);
        assert_true(strlen(s->snip[i]) > 0);
        assert_true(strlen(s->snip[i + 2]) < strlen(s->snip[i]));
    }
    free(s);
    for (unsigned i = 0; i < NDOCS; i++)
        ps_prepared_free(p[i]);
    ps_matcher_free(m);
}

/* Within a group the last change of an id counts (replaced from its
 * first change); a delete is never matched; a removed query is gone;
 * errors of add. */
static void test_group_rules_and_remove(void **state)
{
    (void)state;
    ps_matcher *m = NULL;
    assert_int_equal(ps_matcher_new(&m), PS_OK);
    ps_query q;
    memset(&q, 0, sizeof q);
    q.q = "santé";
    int tag = 7;
    assert_int_equal(ps_matcher_add(m, 5, &q, &tag, NULL), PS_OK);
    char *msg = NULL;
    assert_int_equal(ps_matcher_add(m, 5, &q, NULL, &msg), PS_ERR_INVALID);
    assert_non_null(msg);
    free(msg);
    q.q = "NOT santé";
    assert_int_equal(ps_matcher_add(m, 6, &q, NULL, &msg), PS_ERR_QUERY);
    free(msg);
    q.q = "santé";
    q.lang = "xx";
    assert_int_equal(ps_matcher_add(m, 6, &q, NULL, NULL), PS_ERR_INVALID);
    q.lang = NULL;
    q.date_from = "not a date";
    assert_int_equal(ps_matcher_add(m, 6, &q, NULL, NULL), PS_ERR_INVALID);
    q.date_from = NULL;
    q.max_query = 3;
    assert_int_equal(ps_matcher_add(m, 6, &q, NULL, NULL), PS_ERR_TOO_LARGE);
    assert_int_equal(ps_matcher_count(m), 1);

    ps_doc_in a1 = docs_in[0], a2 = docs_in[0], b = docs_in[3];
    a2.body = "Nouvelle version: la santé publique.";
    ps_prepared *pa1 = prep(&a1), *pa2 = prep(&a2), *pb = prep(&b);
    ps_match_doc g[4] = {
        {.doc = pa1, .seq = 1, .replaced = 0},
        {.doc = pb, .seq = 2, .replaced = 1},
        {.doc = pa2, .seq = 3, .replaced = 1},
        {.doc = NULL, .id = "fr-euro", .seq = 4},
    };
    pairs *got = calloc(1, sizeof *got);
    seen s;
    memset(&s, 0, sizeof s);
    s.ordered = 1;
    assert_int_equal(ps_matcher_match(m, g, 4, 0, collect, &s, NULL), PS_OK);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.m[0].sub, 5);
    assert_int_equal(s.m[0].doc, 2);
    assert_int_equal(s.m[0].seq, 3);
    assert_int_equal(s.m[0].replaced, 0);   /* new to the group's start */
    assert_ptr_equal(s.m[0].user, &tag);
    assert_string_equal(s.ids[0], "fr-lyon");

    void *user = NULL;
    assert_int_equal(ps_matcher_remove(m, 5, &user), 1);
    assert_ptr_equal(user, &tag);
    assert_int_equal(ps_matcher_remove(m, 5, &user), 0);
    assert_int_equal(ps_matcher_count(m), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(ps_matcher_match(m, g, 4, 0, collect, &s, NULL), PS_OK);
    assert_int_equal(s.calls, 0);
    free(got);
    ps_prepared_free(pa1);
    ps_prepared_free(pa2);
    ps_prepared_free(pb);
    ps_matcher_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_candidates),
        cmocka_unit_test(test_cases_every_query),
        cmocka_unit_test(test_candidates_lose_nothing),
        cmocka_unit_test(test_groups_one_by_one),
        cmocka_unit_test(test_same_query_shared),
        cmocka_unit_test(test_group_rules_and_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
