/* test_core_prepare.c: the two-step write API (ps_doc_prepare on any
 * thread, ps_db_put_prepared on the owner): same index as ps_db_put,
 * content hash and unchanged check, errors reported by prepare, duplicate
 * order, concurrent preparation from 4 threads, boilerplate matchers,
 * the stem memo of ps_doc_prepare() past its size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "polysearch.h"
#define TCU_TEMPDIR_FIXTURE
#include "test_core_util.h"


/* Documents covering detection, given/derived titles, boilerplate lines,
 * dates, urls, CJK, apostrophes and accents. */
static const ps_doc_in g_docs[] = {
    { "fr/sante", NULL,
      "Partager\nLa santé numérique en région\n\nLes pôles de compétitivité "
      "comme Lyonbiopôle soutiennent l'innovation dans la santé. Les "
      "entreprises régionales développent des dispositifs médicaux.\n"
      "Imprimer\n", NULL, "2022-05-19", "https://example.org/fr" },
    { "de/innovation", "Innovationen in der Medizin",
      "Die Gesundheitswirtschaft fördert Innovationen. Unternehmen in der "
      "Region entwickeln neue Medizinprodukte und Dienstleistungen für "
      "Krankenhäuser und Ärzte.", "de", "2021-11-02T10:30:00Z", NULL },
    { "en/health", "Health innovation clusters",
      "Health clusters support innovation. Companies develop medical "
      "devices, and hospitals test them in clinical trials across the "
      "region.\nShare on Facebook\n3 comments\n", NULL, NULL, NULL },
    { "it/menu", "", "Il nostro menu del giorno: pasta, risotto e tiramisù. "
      "La cucina italiana è famosa nel mondo per la sua semplicità.",
      NULL, "2020", "https://example.org/it" },
    { "ja/doc", "日本語の文書", "東京は日本の首都です。人口が多い都市です。",
      "ja", NULL, NULL },
    { "und/short", "x", "zq", "und", NULL, NULL },
};
#define NDOCS (sizeof g_docs / sizeof g_docs[0])

static const char *const g_queries[] = {
    "sante", "SANTÉ", "lyonbiopole", "innovation", "Innovationen",
    "\"medical devices\"", "title:health", "dispositif", "medizinprodukt",
    "tiramisu", "semplicita", "東京", "partager", "facebook", "comments",
    "lang:de innovation", "innovation OR pasta", "zq", "imprimer",
};

/* Asserts that two stored documents are identical. */
static void assert_same_doc(ps_db *a, ps_db *b, const char *id)
{
    ps_document *da = NULL, *db = NULL;
    assert_int_equal(ps_db_get(a, id, &da), PS_OK);
    assert_int_equal(ps_db_get(b, id, &db), PS_OK);
#define SAME(f)                                                            \
    do {                                                                   \
        if (da->f == NULL || db->f == NULL)                                \
            assert_ptr_equal(da->f, db->f);                                \
        else                                                               \
            assert_string_equal(da->f, db->f);                             \
    } while (0)
    SAME(id);
    SAME(title);
    SAME(body);
    SAME(lang);
    SAME(date);
    SAME(url);
    SAME(hash);
#undef SAME
    ps_document_free(da);
    ps_document_free(db);
}

/* Asserts that query q gives the same hits (ids, order, scores), totals,
 * facets and spelling suggestion on both databases. */
static void assert_same_search(ps_db *a, ps_db *b, const char *q)
{
    ps_query qa;
    memset(&qa, 0, sizeof qa);
    qa.q = q;
    qa.limit = 50;
    qa.facets = 1;
    qa.spelling = 1;
    ps_results *ra = NULL, *rb = NULL;
    assert_int_equal(ps_search(a, &qa, &ra), PS_OK);
    assert_int_equal(ps_search(b, &qa, &rb), PS_OK);
    if (ra->nhits != rb->nhits)
        fprintf(stderr, "query '%s': %u vs %u hits\n", q, ra->nhits, rb->nhits);
    assert_int_equal(ra->nhits, rb->nhits);
    assert_int_equal(ra->total, rb->total);
    for (uint32_t i = 0; i < ra->nhits; i++) {
        assert_string_equal(ra->hits[i].id, rb->hits[i].id);
        assert_true(ra->hits[i].score == rb->hits[i].score);
    }
    assert_int_equal(ra->nfacets, rb->nfacets);
    for (uint32_t i = 0; i < ra->nfacets; i++) {
        assert_string_equal(ra->facets[i].value, rb->facets[i].value);
        assert_int_equal(ra->facets[i].count, rb->facets[i].count);
    }
    if (ra->suggestion == NULL || rb->suggestion == NULL)
        assert_ptr_equal(ra->suggestion, rb->suggestion);
    else
        assert_string_equal(ra->suggestion, rb->suggestion);
    ps_results_free(ra);
    ps_results_free(rb);
}

/* Number of hits of q on db. */
static uint32_t hits(ps_db *db, const char *q)
{
    ps_query qq;
    memset(&qq, 0, sizeof qq);
    qq.q = q;
    qq.limit = 100;
    ps_results *r = NULL;
    assert_int_equal(ps_search(db, &qq, &r), PS_OK);
    uint32_t n = r->nhits;
    ps_results_free(r);
    return n;
}

/* Spelling suggestion for q on db (malloc'd, or NULL). */
static char *suggestion(ps_db *db, const char *q)
{
    ps_query qq;
    memset(&qq, 0, sizeof qq);
    qq.q = q;
    qq.spelling = 1;
    ps_results *r = NULL;
    assert_int_equal(ps_search(db, &qq, &r), PS_OK);
    char *s = r->suggestion ? strdup(r->suggestion) : NULL;
    ps_results_free(r);
    return s;
}

/* Writes g_docs to `a` with ps_db_put and to `b` with prepare + put. */
static void fill_both(ps_db *a, ps_db *b)
{
    for (size_t i = 0; i < NDOCS; i++) {
        ps_put_outcome oa = PS_PUT_UNCHANGED, ob = PS_PUT_UNCHANGED;
        assert_int_equal(ps_db_put(a, &g_docs[i], &oa), PS_OK);
        ps_prepared *p = NULL;
        char *err = NULL;
        assert_int_equal(ps_doc_prepare(&g_docs[i], ps_db_boilerplate(b), &p,
                                        &err), PS_OK);
        assert_non_null(p);
        assert_null(err);
        assert_string_equal(ps_prepared_id(p), g_docs[i].id);
        assert_int_equal(ps_db_put_prepared(b, p, &ob), PS_OK);
        assert_int_equal(oa, PS_PUT_ADDED);
        assert_int_equal(ob, PS_PUT_ADDED);
        ps_prepared_free(p);
    }
}

static void test_prepared_equals_put(void **state)
{
    (void)state;
    ps_db *a = tcu_open_w("a");
    ps_db *b = tcu_open_w("b");
    fill_both(a, b);
    /* Uncommitted and committed alike. */
    for (size_t i = 0; i < NDOCS; i++)
        assert_same_doc(a, b, g_docs[i].id);
    assert_int_equal(ps_db_commit(a), PS_OK);
    assert_int_equal(ps_db_commit(b), PS_OK);
    for (size_t i = 0; i < NDOCS; i++)
        assert_same_doc(a, b, g_docs[i].id);
    for (size_t i = 0; i < sizeof g_queries / sizeof g_queries[0]; i++)
        assert_same_search(a, b, g_queries[i]);
    /* The queries do find things (the comparison is not vacuous), and
     * boilerplate lines were not indexed on either side. */
    assert_int_equal(hits(b, "sante"), 1);
    assert_int_equal(hits(b, "innovation"), 3);
    assert_int_equal(hits(b, "東京"), 1);
    assert_int_equal(hits(b, "partager"), 0);
    assert_int_equal(hits(b, "facebook"), 0);
    /* Spelling data from title words came through the prepared path. */
    char *sa = suggestion(a, "clustrs");
    char *sb = suggestion(b, "clustrs");
    assert_non_null(sa);
    assert_non_null(sb);
    assert_string_equal(sa, "clusters");
    assert_string_equal(sb, "clusters");
    free(sa);
    free(sb);
    ps_db_close(a);
    ps_db_close(b);
}

static void test_outcomes_and_hash(void **state)
{
    (void)state;
    ps_db *db = tcu_open_w("h");
    ps_doc_in d = g_docs[2];
    char h[17];
    ps_doc_content_hash(&d, h);
    assert_int_equal(strlen(h), 16);
    int unchanged = -1;
    assert_int_equal(ps_db_check_unchanged(db, d.id, h, &unchanged), PS_OK);
    assert_int_equal(unchanged, 0);

    ps_prepared *p = NULL;
    assert_int_equal(ps_doc_prepare(&d, NULL, &p, NULL), PS_OK);
    ps_put_outcome o;
    assert_int_equal(ps_db_put_prepared(db, p, &o), PS_OK);
    assert_int_equal(o, PS_PUT_ADDED);
    /* Written twice: nothing to do the second time. */
    assert_int_equal(ps_db_put_prepared(db, p, &o), PS_OK);
    assert_int_equal(o, PS_PUT_UNCHANGED);
    ps_prepared_free(p);

    /* Seen before the commit, and the stored hash is the one computed. */
    assert_int_equal(ps_db_check_unchanged(db, d.id, h, &unchanged), PS_OK);
    assert_int_equal(unchanged, 1);
    ps_document *got = NULL;
    assert_int_equal(ps_db_get(db, d.id, &got), PS_OK);
    assert_string_equal(got->hash, h);
    ps_document_free(got);

    /* Any field change changes the hash. */
    ps_doc_in d2 = d;
    d2.url = "https://example.org/x";
    char h2[17];
    ps_doc_content_hash(&d2, h2);
    assert_string_not_equal(h, h2);
    assert_int_equal(ps_db_check_unchanged(db, d.id, h2, &unchanged), PS_OK);
    assert_int_equal(unchanged, 0);
    assert_int_equal(ps_doc_prepare(&d2, NULL, &p, NULL), PS_OK);
    assert_int_equal(ps_db_put_prepared(db, p, &o), PS_OK);
    assert_int_equal(o, PS_PUT_REPLACED);
    ps_prepared_free(p);
    assert_int_equal(ps_db_commit(db), PS_OK);
    assert_int_equal(ps_db_check_unchanged(db, d.id, h2, &unchanged), PS_OK);
    assert_int_equal(unchanged, 1);
    /* ps_db_put agrees with the prepared write. */
    assert_int_equal(ps_db_put(db, &d2, &o), PS_OK);
    assert_int_equal(o, PS_PUT_UNCHANGED);

    /* Unknown id, invalid id, NULL arguments. */
    assert_int_equal(ps_db_check_unchanged(db, "nope", h, &unchanged), PS_OK);
    assert_int_equal(unchanged, 0);
    assert_int_equal(ps_db_check_unchanged(db, "", h, &unchanged), PS_ERR_INVALID);
    assert_int_equal(ps_db_check_unchanged(db, d.id, NULL, &unchanged), PS_ERR_INVALID);
    assert_int_equal(ps_db_check_unchanged(db, d.id, h, NULL), PS_ERR_INVALID);
    assert_int_equal(ps_db_put_prepared(db, NULL, &o), PS_ERR_INVALID);
    ps_db_close(db);

    /* A read-only handle can check but not write. */
    char *path = tcu_path(g_dir, "h");
    ps_db *ro = NULL;
    assert_int_equal(ps_db_open(path, PS_DB_READ, &ro, NULL), PS_OK);
    free(path);
    assert_int_equal(ps_db_check_unchanged(ro, d.id, h2, &unchanged), PS_OK);
    assert_int_equal(unchanged, 1);
    assert_int_equal(ps_doc_prepare(&d, NULL, &p, NULL), PS_OK);
    assert_int_equal(ps_db_put_prepared(ro, p, &o), PS_ERR_INVALID);
    ps_prepared_free(p);
    ps_db_close(ro);
}

/* Later duplicate wins when prepared documents are written in order. */
static void test_duplicate_order(void **state)
{
    (void)state;
    ps_db *db = tcu_open_w("dup");
    ps_doc_in v1 = { "same", "First", "the first version about apples",
                     "en", NULL, NULL };
    ps_doc_in v2 = { "same", "Second", "the second version about pears",
                     "en", NULL, NULL };
    assert_int_equal(ps_db_put(db, &v2, NULL), PS_OK);
    assert_int_equal(ps_db_commit(db), PS_OK);
    /* Input order v1, v2 while v2 is stored: both prepared first (as the
     * pipeline does), then written in input order. */
    ps_prepared *p1 = NULL, *p2 = NULL;
    assert_int_equal(ps_doc_prepare(&v1, NULL, &p1, NULL), PS_OK);
    assert_int_equal(ps_doc_prepare(&v2, NULL, &p2, NULL), PS_OK);
    ps_put_outcome o;
    assert_int_equal(ps_db_put_prepared(db, p1, &o), PS_OK);
    assert_int_equal(o, PS_PUT_REPLACED);
    assert_int_equal(ps_db_put_prepared(db, p2, &o), PS_OK);
    assert_int_equal(o, PS_PUT_REPLACED);
    ps_prepared_free(p1);
    ps_prepared_free(p2);
    assert_int_equal(ps_db_commit(db), PS_OK);
    ps_document *got = NULL;
    assert_int_equal(ps_db_get(db, "same", &got), PS_OK);
    assert_string_equal(got->title, "Second");
    ps_document_free(got);
    assert_int_equal(hits(db, "pears"), 1);
    assert_int_equal(hits(db, "apples"), 0);
    uint64_t n = 0;
    assert_int_equal(ps_db_count(db, &n), PS_OK);
    assert_int_equal(n, 1);
    ps_db_close(db);
}

/* Prepare reports every validation error itself, with the message
 * ps_db_put gives. */
static void test_prepare_errors(void **state)
{
    (void)state;
    char longid[PS_MAX_ID_BYTES + 2];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    char maxid[PS_MAX_ID_BYTES + 1];
    memset(maxid, 'b', sizeof maxid - 1);
    maxid[sizeof maxid - 1] = '\0';
    const struct {
        ps_doc_in d;
        const char *needle;
    } bad[] = {
        { { NULL, "t", "body", NULL, NULL, NULL }, "id" },
        { { "", "t", "body", NULL, NULL, NULL }, "id" },
        { { longid, "t", "body", NULL, NULL, NULL }, "240" },
        { { "x", "t", NULL, NULL, NULL, NULL }, "body" },
        { { "x", "t", "body", "xx", NULL, NULL }, "xx" },
        { { "x", "t", "body", "english", NULL, NULL }, "english" },
        { { "x", "t", "body", "en", "2022-13-45", NULL }, "2022-13-45" },
        { { "x", "t", "body", "en", "yesterday", NULL }, "yesterday" },
    };
    ps_db *db = tcu_open_w("err");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ps_prepared *p = (ps_prepared *)1;
        char *err = NULL;
        assert_int_equal(ps_doc_prepare(&bad[i].d, NULL, &p, &err), PS_ERR_INVALID);
        assert_null(p);
        assert_non_null(err);
        assert_non_null(strstr(err, bad[i].needle));
        /* Same status and text from ps_db_put. */
        assert_int_equal(ps_db_put(db, &bad[i].d, NULL), PS_ERR_INVALID);
        assert_string_equal(ps_db_errmsg(db), err);
        free(err);
        /* errmsg may be NULL. */
        assert_int_equal(ps_doc_prepare(&bad[i].d, NULL, &p, NULL), PS_ERR_INVALID);
        assert_null(p);
    }
    /* NULL document and NULL out. */
    ps_prepared *p = NULL;
    char *err = NULL;
    assert_int_equal(ps_doc_prepare(NULL, NULL, &p, &err), PS_ERR_INVALID);
    assert_null(p);
    free(err);
    ps_doc_in ok = { maxid, NULL, "fine", NULL, NULL, NULL };
    assert_int_equal(ps_doc_prepare(&ok, NULL, NULL, &err), PS_ERR_INVALID);
    free(err);
    /* The longest valid id is accepted; nothing invalid was written. */
    assert_int_equal(ps_doc_prepare(&ok, NULL, &p, &err), PS_OK);
    assert_null(err);
    assert_int_equal(ps_db_put_prepared(db, p, NULL), PS_OK);
    ps_prepared_free(p);
    ps_prepared_free(NULL);
    uint64_t n = 0;
    assert_int_equal(ps_db_count(db, &n), PS_OK);
    assert_int_equal(n, 1);
    ps_db_close(db);
}

/* ---- Concurrency ------------------------------------------------------ */

#define NTHREADS 4
#define PER_THREAD 40

static const char *const g_words[] = {
    "Santé publique et innovation régionale dans les hôpitaux.",
    "Die Forschung an Universitäten und Krankenhäusern wächst schnell.",
    "Clinical research networks share data between hospitals.",
    "La ricerca scientifica italiana collabora con le università.",
    "Share on Facebook",
    "La investigación médica avanza en los hospitales españoles.",
};

typedef struct job {
    const ps_boilerplate *bp;
    int first;              /* first document number */
    ps_prepared *out[PER_THREAD];
    char id[PER_THREAD][32];
    char body[PER_THREAD][512];
    ps_status st;
} job;

/* Builds document number k (deterministic text, mixed languages). */
static void make_doc(int k, char id[32], char body[512], ps_doc_in *d)
{
    snprintf(id, 32, "doc%04d", k);
    snprintf(body, 512, "%s\n%s\nNumber %d word%d.\n%s", g_words[k % 6],
             g_words[(k / 6) % 6], k, k % 7, g_words[(k + 1) % 6]);
    ps_doc_in t = { id, NULL, body, NULL, k % 5 == 0 ? "2023-01-02" : NULL,
                    NULL };
    *d = t;
}

static void *prepare_thread(void *arg)
{
    job *j = arg;
    j->st = PS_OK;
    for (int i = 0; i < PER_THREAD; i++) {
        ps_doc_in d;
        make_doc(j->first + i, j->id[i], j->body[i], &d);
        char *err = NULL;
        ps_status st = ps_doc_prepare(&d, j->bp, &j->out[i], &err);
        free(err);
        if (st != PS_OK)
            j->st = st;
    }
    return NULL;
}

/* Runs the 4 threads with matcher bp (NULL: built-in) into database
 * `name` and compares with a sequential ps_db_put database. */
static void concurrent_case(const char *name, int use_db_bp)
{
    char seqname[64];
    snprintf(seqname, sizeof seqname, "%s-seq", name);
    ps_db *par = tcu_open_w(name);
    ps_db *seq = tcu_open_w(seqname);
    static job jobs[NTHREADS];
    pthread_t th[NTHREADS];
    const ps_boilerplate *bp = use_db_bp ? ps_db_boilerplate(par) : NULL;
    if (use_db_bp)
        assert_non_null(bp);
    for (int t = 0; t < NTHREADS; t++) {
        memset(&jobs[t], 0, sizeof jobs[t]);
        jobs[t].bp = bp;
        jobs[t].first = t * PER_THREAD;
        assert_int_equal(pthread_create(&th[t], NULL, prepare_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < NTHREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < NTHREADS; t++) {
        assert_int_equal(jobs[t].st, PS_OK);
        for (int i = 0; i < PER_THREAD; i++) {
            ps_put_outcome o;
            assert_int_equal(ps_db_put_prepared(par, jobs[t].out[i], &o), PS_OK);
            assert_int_equal(o, PS_PUT_ADDED);
            ps_prepared_free(jobs[t].out[i]);
            char id[32], body[512];
            ps_doc_in d;
            make_doc(t * PER_THREAD + i, id, body, &d);
            assert_int_equal(ps_db_put(seq, &d, &o), PS_OK);
        }
    }
    assert_int_equal(ps_db_commit(par), PS_OK);
    assert_int_equal(ps_db_commit(seq), PS_OK);
    uint64_t n = 0;
    assert_int_equal(ps_db_count(par, &n), PS_OK);
    assert_int_equal(n, NTHREADS * PER_THREAD);
    for (int k = 0; k < NTHREADS * PER_THREAD; k += 7) {
        char id[32];
        snprintf(id, sizeof id, "doc%04d", k);
        assert_same_doc(par, seq, id);
    }
    static const char *const qs[] = {
        "sante", "krankenhaus", "hospitals", "universita", "investigacion",
        "word3", "number", "facebook", "\"clinical research\"",
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        assert_same_search(par, seq, qs[i]);
    assert_true(hits(par, "word3") > 0);
    assert_int_equal(hits(par, "facebook"), 0);
    ps_db_close(par);
    ps_db_close(seq);
}

static void test_concurrent_prepare(void **state)
{
    (void)state;
    concurrent_case("conc-db", 1);
    concurrent_case("conc-builtin", 0);
}

/* The handle's matcher includes a user list, and prepare uses what it is
 * given. */
static void test_boilerplate_file(void **state)
{
    (void)state;
    char *list = tcu_path(g_dir, "bp.txt");
    FILE *f = fopen(list, "w");
    assert_non_null(f);
    fputs("# custom\nadvertisement zorglub*\n", f);
    fclose(f);
    ps_db *db = tcu_open_w("bpf");
    const ps_boilerplate *builtin = ps_db_boilerplate(db);
    assert_non_null(builtin);
    assert_int_equal(ps_db_set_boilerplate_file(db, list), PS_OK);
    const ps_boilerplate *custom = ps_db_boilerplate(db);
    assert_non_null(custom);
    ps_doc_in d1 = { "one", "One", "Real text about gardens.\n"
                     "Advertisement zorglub and friends\n", "en", NULL, NULL };
    ps_doc_in d2 = { "two", "Two", "Real text about rivers.\n"
                     "Advertisement zorglub and friends\n", "en", NULL, NULL };
    ps_prepared *p = NULL;
    assert_int_equal(ps_doc_prepare(&d1, custom, &p, NULL), PS_OK);
    assert_int_equal(ps_db_put_prepared(db, p, NULL), PS_OK);
    ps_prepared_free(p);
    assert_int_equal(ps_doc_prepare(&d2, NULL, &p, NULL), PS_OK);
    assert_int_equal(ps_db_put_prepared(db, p, NULL), PS_OK);
    ps_prepared_free(p);
    assert_int_equal(ps_db_commit(db), PS_OK);
    /* Only the document prepared with the built-in list has the line. */
    ps_query q;
    memset(&q, 0, sizeof q);
    q.q = "zorglub";
    ps_results *r = NULL;
    assert_int_equal(ps_search(db, &q, &r), PS_OK);
    assert_int_equal(r->nhits, 1);
    assert_string_equal(r->hits[0].id, "two");
    ps_results_free(r);
    assert_int_equal(hits(db, "gardens"), 1);
    ps_db_close(db);
    free(list);
    assert_null(ps_db_boilerplate(NULL));
}

/* A made-up English word for k (syllables, so that it has vowels and
 * stems like a word): distinct k give distinct words. */
static void made_up_word(int k, const char *suffix, char *out, size_t n)
{
    static const char *const syl[] = { "ba", "ke", "ti", "mo", "su", "ra", "le" };
    size_t o = 0;
    out[0] = '\0';
    for (int d = 0; d < 6; d++, k /= 7) {
        const char *y = syl[k % 7];
        if (o + 3 < n) {
            memcpy(out + o, y, 2);
            o += 2;
        }
    }
    snprintf(out + o, n - o, "%s", suffix);
}

/* ps_doc_prepare() stems through a per-thread memo of a few thousand
 * words (colliding words evict each other; words longer than a slot are
 * not memoised): with far more distinct words than that, words seen again
 * after being evicted, and long words, the index must be the one
 * ps_db_put() (no memo) builds. */
static void test_stem_memo(void **state)
{
    (void)state;
    enum { NWORDS = 20000, PER_DOC = 400 };
    ps_db *a = tcu_open_w("memo-a");
    ps_db *b = tcu_open_w("memo-b");
    char *body = malloc(PER_DOC * 24 + 64);
    assert_non_null(body);
    int ndocs = NWORDS / PER_DOC + 10;
    for (int d = 0; d < ndocs; d++) {
        size_t o = 0;
        for (int w = 0; w < PER_DOC; w++) {
            /* First every word once ("...ings"), then old words again in
             * another form ("...ed"). */
            int k = d * PER_DOC + w < NWORDS ? d * PER_DOC + w
                                             : (d * PER_DOC + w) * 37 % NWORDS;
            char word[32];
            made_up_word(k, d * PER_DOC + w < NWORDS ? "ings" : "ed", word,
                         sizeof word);
            o += (size_t)sprintf(body + o, "%s ", word);
        }
        /* Longer than a memo slot (24 bytes). */
        o += (size_t)sprintf(body + o, "%s",
                             d % 2 ? "internationalisationsbemuehungen "
                                   : "supercalifragilisticexpialidociousness ");
        char id[16];
        snprintf(id, sizeof id, "m%03d", d);
        ps_doc_in doc = { id, "Made up", body, "en", NULL, NULL };
        assert_int_equal(ps_db_put(a, &doc, NULL), PS_OK);
        ps_prepared *p = NULL;
        assert_int_equal(ps_doc_prepare(&doc, NULL, &p, NULL), PS_OK);
        assert_int_equal(ps_db_put_prepared(b, p, NULL), PS_OK);
        ps_prepared_free(p);
    }
    free(body);
    assert_int_equal(ps_db_commit(a), PS_OK);
    assert_int_equal(ps_db_commit(b), PS_OK);
    uint32_t found = 0;
    for (int j = 0; j < 200; j++) {
        char q[32];
        made_up_word(j * 97 % NWORDS, j % 2 ? "ed" : "ing", q, sizeof q);
        assert_same_search(a, b, q);
        found += hits(b, q) > 0;
    }
    /* Stemming joined the forms: most queries (not in the text as
     * written) found their word. */
    assert_true(found > 150);
    assert_same_search(a, b, "supercalifragilisticexpialidocious");
    assert_same_search(a, b, "internationalisationsbemuehung");
    assert_int_equal(hits(b, "supercalifragilisticexpialidocious"), ndocs / 2);
    ps_db_close(a);
    ps_db_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prepared_equals_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outcomes_and_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_prepare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boilerplate_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stem_memo, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
