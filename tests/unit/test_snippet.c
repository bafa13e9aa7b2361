/* test_snippet.c: the highlighter (lib/analysis/snippet.c): folded and stemmed
 * highlights, word-boundary cuts with "…", boilerplate and repeated lines
 * never shown (ps_snippet_make_ex on raw bodies, compared with
 * ps_clean_body + ps_snippet_make), valid UTF-8 out of invalid input,
 * spans inside the snippet, bounded work on a 1 MiB body (counted, not
 * timed), and the per-thread stem cache under concurrent callers. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <utf8proc.h>

#include "analyze.h"
#include "polysearch.h"
#include "snippet.h"

static ps_boilerplate *g_bp;

static int setup(void **state)
{
    (void)state;
    char *err = NULL;
    g_bp = ps_boilerplate_new(NULL, &err);
    free(err);
    return g_bp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ps_boilerplate_free(g_bp);
    return 0;
}

typedef struct snip {
    char *s;
    ps_span *sp;
    uint32_t n;
    ps_snippet_stats st;
} snip;

static void snip_free(snip *r)
{
    free(r->s);
    free(r->sp);
}

/* Checks what every snippet must satisfy: valid UTF-8 without NUL, spans
 * inside it and in order, at most max + markers bytes. */
static void check_shape(const snip *r, size_t max)
{
    size_t len = strlen(r->s);
    assert_true(len <= max + 8);
    utf8proc_int32_t cp;
    for (size_t i = 0; i < len;) {
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)r->s + i,
                                              (utf8proc_ssize_t)(len - i), &cp);
        assert_true(k > 0);
        i += (size_t)k;
    }
    for (uint32_t k = 0; k < r->n; k++) {
        assert_true(r->sp[k].len > 0);
        assert_true(r->sp[k].off + r->sp[k].len <= len);
        if (k)
            assert_true(r->sp[k - 1].off + r->sp[k - 1].len <= r->sp[k].off);
    }
}

static snip make_ex(const char *text, size_t len, const char *lang,
                    const char *const *terms, size_t nt,
                    const char *const *prefixes, size_t np, size_t max)
{
    ps_snippet_terms q = {terms, nt, prefixes, np};
    snip r;
    memset(&r, 0, sizeof r);
    assert_int_equal(ps_snippet_make_ex(text, len, lang, &q, g_bp, max, &r.s, &r.sp,
                                        &r.n, &r.st), 0);
    assert_non_null(r.s);
    check_shape(&r, max ? max : 200);
    return r;
}

/* The highlighted words, folded, joined by '|'. */
static char *highlights(const snip *r)
{
    size_t cap = strlen(r->s) + r->n + 1;
    char *out = calloc(1, cap), *o = out;
    assert_non_null(out);
    for (uint32_t k = 0; k < r->n; k++) {
        char *f = ps_fold(r->s + r->sp[k].off, r->sp[k].len);
        assert_non_null(f);
        o += sprintf(o, "%s%s", k ? "|" : "", f);
        free(f);
    }
    return out;
}

static void test_folded_and_stemmed(void **state)
{
    (void)state;
    const char *text = "La santé publique. Les innovations de Lyonbiopôle "
                       "innovent; l'innovation en SANTE.";
    const char *t1[] = {"sante"};
    snip r = make_ex(text, strlen(text), "fr", t1, 1, NULL, 0, 200);
    char *h = highlights(&r);
    assert_string_equal(h, "sante|sante");
    assert_non_null(strstr(r.s, "santé"));
    assert_int_equal(strncmp(r.s + r.sp[0].off, "santé", strlen("santé")), 0);
    free(h);
    snip_free(&r);

    const char *t2[] = {"innovation"};
    r = make_ex(text, strlen(text), "fr", t2, 1, NULL, 0, 200);
    h = highlights(&r);
    assert_string_equal(h, "innovations|innovation");
    free(h);
    snip_free(&r);

    /* No stemmer for "und": only the exact folded word. */
    r = make_ex(text, strlen(text), "und", t2, 1, NULL, 0, 200);
    h = highlights(&r);
    assert_string_equal(h, "innovation");
    free(h);
    snip_free(&r);

    /* Upper case, a non-ASCII first letter, an ASCII letter followed by a
     * combining accent: all fold to the term (the first-byte filter must
     * let them through). */
    const char *forms = "École, ECOLE, e\xcc\x81" "cole et écoles; Lécole non.";
    const char *t3[] = {"ecole"};
    r = make_ex(forms, strlen(forms), "fr", t3, 1, NULL, 0, 200);
    h = highlights(&r);
    assert_string_equal(h, "ecole|ecole|ecole|ecoles");
    free(h);
    snip_free(&r);

    const char *p[] = {"lyonbio"};
    r = make_ex(text, strlen(text), "fr", NULL, 0, p, 1, 200);
    h = highlights(&r);
    assert_string_equal(h, "lyonbiopole");
    free(h);
    snip_free(&r);
}

static void test_cuts(void **state)
{
    (void)state;
    char text[4096];
    size_t o = 0;
    for (int i = 0; i < 60; i++)
        o += (size_t)sprintf(text + o, "mot%d ", i);
    o += (size_t)sprintf(text + o, "cible ");
    for (int i = 60; i < 120; i++)
        o += (size_t)sprintf(text + o, "mot%d ", i);
    const char *t[] = {"cible"};
    snip r = make_ex(text, o, "fr", t, 1, NULL, 0, 100);
    assert_int_equal(strncmp(r.s, "\xe2\x80\xa6 mot", 6), 0);
    size_t l = strlen(r.s);
    assert_string_equal(r.s + l - 4, " \xe2\x80\xa6");
    assert_int_equal(r.n, 1);
    assert_int_equal(strncmp(r.s + r.sp[0].off, "cible", 5), 0);
    /* Cut at word boundaries: every piece between the markers is a whole
     * "motN" or "cible". */
    char *inner = strndup(r.s + 4, l - 8);
    for (char *tok = strtok(inner, " "); tok; tok = strtok(NULL, " "))
        assert_true(strcmp(tok, "cible") == 0 || strncmp(tok, "mot", 3) == 0);
    free(inner);
    snip_free(&r);

    /* One huge word is cut at a character boundary, with a marker. */
    char huge[1000];
    o = 0;
    while (o + 2 <= 900) {
        memcpy(huge + o, "\xc3\xa9", 2);
        o += 2;
    }
    r = make_ex(huge, o, "fr", t, 1, NULL, 0, 51);
    l = strlen(r.s);
    assert_true(l <= 51 + 4);
    assert_string_equal(r.s + l - 4, " \xe2\x80\xa6");
    snip_free(&r);

    /* White space runs collapse to one space. */
    const char *ws = "alpha \t\t beta\n\n\n   gamma";
    r = make_ex(ws, strlen(ws), "en", NULL, 0, NULL, 0, 200);
    assert_string_equal(r.s, "alpha beta gamma");
    snip_free(&r);
}

/* Boilerplate lines and repeated paragraphs never appear, even when they
 * hold a query word, and the result equals the reference path on the
 * cleaned body. */
static void test_boilerplate(void **state)
{
    (void)state;
    const char *body =
        "Share\n"
        "Facebook\n"
        "Twitter\n"
        "Le réseau Facebook a annoncé une nouvelle fonction pour les "
        "entreprises de santé.\n"
        "12 commentaires\n"
        "Lire la suite\n"
        "Facebook\n"
        "Selon Facebook, la fonction sera disponible en 2024 pour la santé.\n"
        "Le réseau Facebook a annoncé une nouvelle fonction pour les "
        "entreprises de santé.\n"
        "Imprimer\n";
    const char *t[] = {"facebook", "sante"};
    snip r = make_ex(body, strlen(body), "fr", t, 2, NULL, 0, 300);
    assert_null(strstr(r.s, "Share"));
    assert_null(strstr(r.s, "Twitter"));
    assert_null(strstr(r.s, "commentaires"));
    assert_null(strstr(r.s, "Lire la suite"));
    assert_null(strstr(r.s, "Imprimer"));
    /* The repeated paragraph appears once. */
    const char *first = strstr(r.s, "Le réseau");
    if (first)
        assert_null(strstr(first + 1, "Le réseau"));
    char *h = highlights(&r);
    assert_non_null(strstr(h, "facebook"));
    assert_non_null(strstr(h, "sante"));
    free(h);

    /* Same as the old path: clean the whole body, then highlight. */
    char *clean = ps_clean_body(g_bp, body, strlen(body));
    ps_snippet_terms q = {t, 2, NULL, 0};
    char *s2;
    ps_span *sp2;
    uint32_t n2;
    assert_int_equal(ps_snippet_make(clean, strlen(clean), "fr", &q, 300, &s2, &sp2,
                                     &n2), 0);
    assert_string_equal(r.s, s2);
    assert_int_equal(r.n, n2);
    assert_memory_equal(r.sp, sp2, n2 * sizeof *sp2);
    free(s2);
    free(sp2);
    free(clean);
    snip_free(&r);

    /* A body that is only boilerplate gives an empty snippet. */
    const char *only = "Share\n\nFacebook\n  Twitter  \nImprimer";
    r = make_ex(only, strlen(only), "fr", t, 2, NULL, 0, 200);
    assert_string_equal(r.s, "");
    assert_int_equal(r.n, 0);
    snip_free(&r);
}

/* Two matches separated by more boilerplate than the window holds: on
 * the cleaned text they are neighbours, so one window shows both. */
static void test_gap_of_boilerplate(void **state)
{
    (void)state;
    char body[2048];
    size_t o = (size_t)sprintf(body, "Un long préambule sans rapport avec la question "
                                     "posée, puis enfin la santé\n");
    for (int i = 0; i < 30; i++)
        o += (size_t)sprintf(body + o, "%s\n", i % 2 ? "Share" : "Facebook");
    o += (size_t)sprintf(body + o, "projet de loi et une longue suite de mots qui "
                                   "ne contient rien d'autre à trouver ici.\n");
    /* Elsewhere, more matches of one term only: without the gap check
     * this window would win (one distinct term each way). */
    o += (size_t)sprintf(body + o, "Ensuite vient un paragraphe de remplissage assez "
                                   "long pour séparer nettement les deux passages "
                                   "du texte, sans aucun des mots cherchés.\n"
                                   "Le projet, un projet, le projet.\n");
    const char *t[] = {"sante", "projet"};
    snip r = make_ex(body, o, "fr", t, 2, NULL, 0, 100);
    char *h = highlights(&r);
    assert_string_equal(h, "sante|projet");
    free(h);
    assert_null(strstr(r.s, "Share"));
    assert_null(strstr(r.s, "Facebook"));
    /* The 30 lines of the gap and the few around the window, once each. */
    assert_true(r.st.lines_checked <= 36);
    char *clean = ps_clean_body(g_bp, body, o);
    ps_snippet_terms q = {t, 2, NULL, 0};
    char *s2;
    ps_span *sp2;
    uint32_t n2;
    assert_int_equal(ps_snippet_make(clean, strlen(clean), "fr", &q, 100, &s2, &sp2, &n2),
                     0);
    assert_string_equal(r.s, s2);
    free(s2);
    free(sp2);
    free(clean);
    snip_free(&r);
}

/* The reference comparison over the seed articles of corpus/, for a few
 * queries each (these texts have no dropped line between two matches, so
 * the windows must be identical). */
static void test_same_as_cleaned(void **state)
{
    (void)state;
    const char *src = getenv("PS_SOURCE_DIR");
    assert_non_null(src);
    static const char *const seeds[] = {
        "000_3d3df94667dbc618", "001_10c8717af35b6bd6", "002_3a6c8b53a02b138e",
        "003_653f2c5ef5783ed2", "004_b8e695500c194ab7",
    };
    static const char *const langs[] = {"fr", "fr", "de", "de", "en"};
    static const char *const words[] = {"sante", "innovation", "lyonbiopole",
                                        "the", "und", "de", "projet", "zzzz"};
    for (size_t i = 0; i < 5; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/corpus/%s.txt", src, seeds[i]);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        char *body = malloc(1 << 20);
        size_t len = fread(body, 1, (1 << 20) - 1, f);
        fclose(f);
        body[len] = '\0';
        char *clean = ps_clean_body(g_bp, body, len);
        for (size_t a = 0; a < 8; a++) {
            for (size_t b = 0; b < 8; b++) {
                const char *t[2] = {words[a], words[b]};
                size_t nt = a == b ? 1 : 2;
                snip r = make_ex(body, len, langs[i], t, nt, NULL, 0, 200);
                ps_snippet_terms q = {t, nt, NULL, 0};
                char *s2;
                ps_span *sp2;
                uint32_t n2;
                assert_int_equal(ps_snippet_make(clean, strlen(clean), langs[i], &q,
                                                 200, &s2, &sp2, &n2), 0);
                if (strcmp(r.s, s2) != 0)
                    fprintf(stderr, "%s [%s %s]\nnew: %s\nold: %s\n", seeds[i],
                            t[0], t[1], r.s, s2);
                assert_string_equal(r.s, s2);
                assert_int_equal(r.n, n2);
                if (n2)
                    assert_memory_equal(r.sp, sp2, n2 * sizeof *sp2);
                free(s2);
                free(sp2);
                snip_free(&r);
            }
        }
        free(clean);
        free(body);
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    const char body[] = "caf\xc3\xa9 \xff\xfe sant\xc3\xa9\0cach\xc3\xa9 \xc3";
    const char *t[] = {"sante"};
    snip r = make_ex(body, sizeof body - 1, "fr", t, 1, NULL, 0, 200);
    assert_non_null(strstr(r.s, "\xef\xbf\xbd"));
    assert_non_null(strstr(r.s, "santé caché"));
    assert_int_equal(r.n, 1);
    snip_free(&r);
    r = make_ex("", 0, "fr", t, 1, NULL, 0, 200);
    assert_string_equal(r.s, "");
    snip_free(&r);
    r = make_ex(NULL, 5, NULL, NULL, 0, NULL, 0, 0);
    assert_string_equal(r.s, "");
    snip_free(&r);
}

/* A 1 MiB body costs a bounded amount of work, counted. */
static void test_bounded_work(void **state)
{
    (void)state;
    const size_t len = 1 << 20;
    char *body = malloc(len + 1);
    assert_non_null(body);
    static const char para[] = "Les systèmes de fichiers montés sont décrits "
                               "dans la table, chaque ligne donne un point "
                               "de montage et ses options.\n";
    size_t o = 0;
    unsigned n = 0;
    while (o + sizeof para + 16 < len) {
        /* Numbered so that no paragraph repeats another verbatim. */
        o += (size_t)sprintf(body + o, "%u ", n++);
        memcpy(body + o, para, sizeof para - 1);
        o += sizeof para - 1;
    }
    body[o] = '\0';

    /* A word of every paragraph: found at once; the scan stops early. */
    const char *t1[] = {"montage", "options"};
    snip r = make_ex(body, o, "fr", t1, 2, NULL, 0, 200);
    assert_true(r.n >= 2);
    assert_true(r.st.bytes_scanned <= 16 * 1024);
    assert_true(r.st.words <= 3000);
    snip_free(&r);

    /* An absent word: the whole scan window, never more. */
    const char *t2[] = {"absent", "montage"};
    r = make_ex(body, o, "fr", t2, 2, NULL, 0, 200);
    assert_true(r.st.bytes_scanned <= PS_SNIPPET_SCAN_MAX);
    assert_true(r.st.bytes_scanned >= PS_SNIPPET_SCAN_MAX - 1024);
    assert_true(r.st.words <= PS_SNIPPET_SCAN_MAX / 2);
    /* Distinct words are folded once: the paragraph has ~20 words, the
     * numbers add one distinct word per paragraph. */
    assert_true(r.st.words_folded <= 1000);
    assert_true(r.st.stems <= 1000);
    /* Only the lines of the window and around it are checked. */
    assert_true(r.st.lines_checked <= 10);
    assert_true(strstr(r.s, " \xe2\x80\xa6") != NULL);
    snip_free(&r);

    /* No terms at all: the first words, and a short scan. */
    r = make_ex(body, o, "fr", NULL, 0, NULL, 0, 200);
    assert_int_equal(strncmp(r.s, "0 Les systèmes", strlen("0 Les systèmes")), 0);
    assert_true(r.st.bytes_scanned <= 16 * 1024);
    assert_int_equal(r.st.words_folded, 0);
    snip_free(&r);

    /* One line of 1 MiB without a line break, then 1 MiB of short lines. */
    for (int pass = 0; pass < 2; pass++) {
        memset(body, 'x', len);
        for (size_t i = 7; i < len; i += 8)
            body[i] = pass && (i / 8) % 2 ? '\n' : ' ';
        r = make_ex(body, len, "fr", t2, 2, NULL, 0, 200);
        assert_true(r.st.bytes_scanned <= PS_SNIPPET_SCAN_MAX);
        assert_true(r.st.words_folded <= 2);
        /* The short lines all repeat the first one: the window keeps
         * landing on dropped lines until every scanned line is checked
         * (MAX_ROUNDS), which is still bounded by the scan window. */
        assert_true(r.st.lines_checked <= (pass ? PS_SNIPPET_SCAN_MAX / 16 + 1 : 1));
        assert_int_equal(strncmp(r.s, "xxxxxxx xxxxxxx", 15), 0);
        snip_free(&r);
    }
    free(body);
}

typedef struct worker {
    const char *body;
    size_t len;
    const char *want;
    int ok;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    const char *t[] = {"fonction", "entreprise"};
    ps_snippet_terms q = {t, 2, NULL, 0};
    w->ok = 1;
    for (int i = 0; i < 200; i++) {
        char *s;
        ps_span *sp;
        uint32_t n;
        if (ps_snippet_make_ex(w->body, w->len, i % 2 ? "fr" : "de", &q, g_bp, 200, &s,
                               &sp, &n, NULL) != 0) {
            w->ok = 0;
            break;
        }
        if (i % 2 && strcmp(s, w->want) != 0)
            w->ok = 0;
        free(s);
        free(sp);
    }
    return NULL;
}

/* The per-thread stem cache: concurrent callers get the same answers. */
static void test_threads(void **state)
{
    (void)state;
    const char *body = "Les fonctions des entreprises. Une fonction nouvelle "
                       "pour une entreprise; les fonctionnements changent.";
    const char *t[] = {"fonction", "entreprise"};
    snip ref = make_ex(body, strlen(body), "fr", t, 2, NULL, 0, 200);
    char *h = highlights(&ref);
    assert_string_equal(h, "fonctions|entreprises|fonction|entreprise|fonctionnements");
    free(h);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){body, strlen(body), ref.s, 0};
        assert_int_equal(pthread_create(&th[i], NULL, run_worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_true(w[i].ok);
    }
    snip_free(&ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folded_and_stemmed),
        cmocka_unit_test(test_cuts),
        cmocka_unit_test(test_boilerplate),
        cmocka_unit_test(test_gap_of_boilerplate),
        cmocka_unit_test(test_same_as_cleaned),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_bounded_work),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
