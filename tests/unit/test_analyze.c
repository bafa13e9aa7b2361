/* test_analyze.c: boilerplate matcher, ps_clean_body(), ps_derive_title()
 * (lib/analysis/analyze.c). */
#include "test_analysis_util.h"

#include <unistd.h>

#include "analyze.h"

static int setup(void **state)
{
    char *err = NULL;
    ps_boilerplate *bp = ps_boilerplate_new(NULL, &err);
    assert_null(err);
    *state = bp;
    return bp == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    ps_boilerplate_free(*state);
    return 0;
}

static int is_bp(const ps_boilerplate *bp, const char *line)
{
    return ps_boilerplate_line(bp, line, strlen(line));
}

static void test_builtin_patterns(void **state)
{
    const ps_boilerplate *bp = *state;
    assert_true(is_bp(bp, "Share"));
    assert_true(is_bp(bp, "  TWEET  "));
    assert_true(is_bp(bp, "Print"));
    assert_true(is_bp(bp, "E-mail"));
    assert_true(is_bp(bp, "PDF Stampa E-mail"));
    assert_true(is_bp(bp, "PDF   stampa e-mail\r"));
    assert_true(is_bp(bp, "S’abonner"));     /* typographic apostrophe */
    assert_true(is_bp(bp, "S'abonner"));
    assert_true(is_bp(bp, "Connexion"));
    assert_true(is_bp(bp, "0 Commentaires"));
    assert_true(is_bp(bp, "12 comments"));
    assert_true(is_bp(bp, "1 300 commentaires"));
    assert_true(is_bp(bp, "Les plus récents"));
    assert_true(is_bp(bp, "LES PLUS RECENTS"));
    assert_true(is_bp(bp, "Le plus de votes"));
    assert_true(is_bp(bp, "Inline Feedbacks"));
    assert_true(is_bp(bp, "View all comments"));
    assert_true(is_bp(bp, "Abonnieren"));
    assert_true(is_bp(bp, "Drucken"));
    assert_true(is_bp(bp, "Teilen"));
    assert_true(is_bp(bp, "logo bioxclusters"));
    assert_true(is_bp(bp, "webleads-tracker"));
    /* Content lines are not boilerplate. */
    assert_false(is_bp(bp, "comments"));
    assert_false(is_bp(bp, "Share prices fell sharply on Monday."));
    assert_false(is_bp(bp, "Lyonbiopôle"));
    assert_false(is_bp(bp, "Print this page and the next one for me"));
    assert_false(is_bp(bp, "twelve comments"));
    assert_false(is_bp(bp, ""));
    assert_false(is_bp(bp, "   "));
    assert_false(ps_boilerplate_line(NULL, "Share", 5));
    /* Lines longer than 200 bytes are never boilerplate. */
    {
        char big[260];
        memset(big, 'x', sizeof big);
        memcpy(big, "logo ", 5);
        assert_false(ps_boilerplate_line(bp, big, sizeof big));
        assert_true(ps_boilerplate_line(bp, big, 150));
    }
}

static void test_pattern_file(void **state)
{
    char path[] = "/tmp/ps_test_bp_XXXXXX";
    const char *content =
        "# comment line\n"
        "\n"
        "  Réagir à cet article  \n"
        "<n> partages\n"
        "voir * photos\r\n"
        "a*b*c*d*e*f*g*h\n";
    char *err = NULL;
    ps_boilerplate *bp;
    int fd = mkstemp(path);
    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)),
                     (ssize_t)strlen(content));
    close(fd);
    bp = ps_boilerplate_new(path, &err);
    unlink(path);
    assert_null(err);
    assert_non_null(bp);
    assert_true(is_bp(bp, "REAGIR A CET ARTICLE"));
    assert_true(is_bp(bp, "3 partages"));
    assert_true(is_bp(bp, "Voir les 12 photos"));
    assert_true(is_bp(bp, "Share"));              /* built-ins still there */
    assert_false(is_bp(bp, "# comment line"));
    assert_false(is_bp(bp, "partages"));
    assert_true(is_bp(bp, "abcdefgh"));
    /* Backtracking stays cheap on a non-matching long line. */
    {
        char line[200];
        memset(line, 'a', sizeof line);
        assert_false(ps_boilerplate_line(bp, line, sizeof line));
    }
    ps_boilerplate_free(bp);
}

static void test_missing_file(void **state)
{
    char *err = NULL;
    ps_boilerplate *bp = ps_boilerplate_new("/nonexistent/bp.txt", &err);
    (void)state;
    assert_null(bp);
    assert_non_null(err);
    assert_non_null(strstr(err, "/nonexistent/bp.txt"));
    free(err);
    ps_boilerplate_free(NULL);
}

static void test_titles_of_seeds(void **state)
{
    static const struct { const char *seed, *title; } cases[] = {
        {"000", "Lyonbiopôle, un hub santé à l’échelle internationale"},
        {"001", "Afin d’accroître la visibilité de leurs 1 300 adhérents, "
                "dont 1 000 PME, et…"},
        {"002", "Lyonbiopole"},
        {"003", "Kompetenzzentren: Eurobiomed, Medicen, Lyonbiopole und "
                "BioValley France schließen sich unter der Allianz Enosis "
                "Santé zusammen."},
        {"004", "bioXclusters Plus"},
    };
    const ps_boilerplate *bp = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *body = read_seed(cases[i].seed, &len);
        char *title = ps_derive_title(bp, body, len);
        assert_non_null(title);
        print_message("seed %s: %s\n", cases[i].seed, title);
        assert_string_equal(title, cases[i].title);
        free(title);
        free(body);
    }
}

static void test_title_fallback_rule(void **state)
{
    const ps_boilerplate *bp = *state;
    size_t len;
    char *body = read_seed("001", &len);
    char *title = ps_derive_title(bp, body, len);
    size_t tlen = strlen(title), ell = strlen("…"), cut;
    /* Independent check of the fallback: a prefix of the first paragraph
     * of at most 80 bytes, ending at a word boundary, plus "…". */
    assert_true(tlen > ell);
    assert_string_equal(title + tlen - ell, "…");
    cut = tlen - ell;
    assert_true(cut <= 80);
    assert_memory_equal(title, body, cut);
    assert_true(body[cut] == ' ');
    free(title);
    free(body);
}

static void test_title_edge_cases(void **state)
{
    const ps_boilerplate *bp = *state;
    char *t;
    t = ps_derive_title(bp, "", 0);
    assert_string_equal(t, "");
    free(t);
    t = ps_derive_title(bp, NULL, 0);
    assert_string_equal(t, "");
    free(t);
    t = ps_derive_title(bp, "Share\nTweet\n\n", 13);
    assert_string_equal(t, "");
    free(t);
    /* A lone short token loses to a following line with >= 3 words. */
    {
        const char in[] = "News\n\n  A real   title here \nbody";
        t = ps_derive_title(bp, in, sizeof in - 1);
    }
    assert_string_equal(t, "A real title here");
    free(t);
    /* NUL and invalid bytes never leak into a title. */
    {
        const char in[] = "Caf\xE9 \0ouvert le dimanche";
        t = ps_derive_title(bp, in, sizeof in - 1);
    }
    assert_string_equal(t, "Caf\xEF\xBF\xBD ouvert le dimanche");
    free(t);
    /* One giant word: cut at a character boundary. */
    {
        char big[300];
        for (size_t i = 0; i + 1 < sizeof big; i += 2)
            memcpy(big + i, "é", 2);
        t = ps_derive_title(bp, big, sizeof big);
        assert_int_equal(strlen(t), 80 + strlen("…"));
        free(t);
    }
}

static void test_clean_seed_001(void **state)
{
    const ps_boilerplate *bp = *state;
    size_t len;
    char *body = read_seed("001", &len);
    char *clean = ps_clean_body(bp, body, len);
    assert_non_null(clean);
    assert_null(strstr(clean, "S’abonner"));
    assert_null(strstr(clean, "Connexion"));
    assert_null(strstr(clean, "0 Commentaires"));
    assert_null(strstr(clean, "Les plus anciens"));
    assert_null(strstr(clean, "Les plus récents"));
    assert_null(strstr(clean, "Le plus de votes"));
    assert_null(strstr(clean, "Inline Feedbacks"));
    assert_null(strstr(clean, "View all comments"));
    assert_non_null(strstr(clean, "Afin d’accroître la visibilité"));
    assert_non_null(strstr(clean, "valeur thérapeutique et économique."));
    /* The article's last paragraph now ends the text. */
    assert_string_equal(clean + strlen(clean) - strlen("économique."),
                        "économique.");
    free(clean);
    free(body);
}

static void test_clean_seed_004(void **state)
{
    const ps_boilerplate *bp = *state;
    size_t len;
    char *body = read_seed("004", &len);
    char *clean = ps_clean_body(bp, body, len);
    assert_non_null(clean);
    assert_null(strstr(clean, "PDF Stampa E-mail"));
    assert_null(strstr(clean, "logo bioxclusters"));
    assert_non_null(strstr(clean, "bioXclusters Plus is a European"));
    assert_int_equal(strncmp(clean, "bioXclusters Plus\n\nbioXclusters Plus is",
                             strlen("bioXclusters Plus\n\nbioXclusters Plus is")), 0);
    free(clean);
    free(body);
}

static void test_clean_repeats_and_bytes(void **state)
{
    const ps_boilerplate *bp = *state;
    const char in[] = "Title\n\n\n\nPara one.\nPara one.\n  Para one.  \n"
                      "x\0y\xFF\n\nShare\nPara two.\n\n";
    char *clean = ps_clean_body(bp, in, sizeof in - 1);
    assert_non_null(clean);
    assert_string_equal(clean, "Title\n\nPara one.\nx y\xEF\xBF\xBD\n\n"
                               "Para two.");
    free(clean);
    /* Without a matcher nothing is boilerplate. */
    clean = ps_clean_body(NULL, "Share\nShare\nText", 16);
    assert_string_equal(clean, "Share\nText");
    free(clean);
    clean = ps_clean_body(bp, "", 0);
    assert_string_equal(clean, "");
    free(clean);
    clean = ps_clean_body(bp, NULL, 0);
    assert_string_equal(clean, "");
    free(clean);
}

static void test_clean_many_lines(void **state)
{
    const ps_boilerplate *bp = *state;
    /* Enough distinct and repeated lines to grow the line set. */
    size_t cap = 5000 * 16, o = 0;
    char *in = malloc(cap), *clean;
    (void)bp;
    assert_non_null(in);
    for (int i = 0; i < 5000; i++)
        o += (size_t)snprintf(in + o, cap - o, "line %d\n", i % 2500);
    clean = ps_clean_body(bp, in, o);
    assert_non_null(clean);
    /* 2500 distinct lines kept, the second half dropped. */
    {
        size_t lines = 1;
        for (const char *p = clean; *p; p++)
            lines += *p == '\n';
        assert_int_equal(lines, 2500);
    }
    free(clean);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_builtin_patterns, setup, teardown),
        cmocka_unit_test(test_pattern_file),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test_setup_teardown(test_titles_of_seeds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_title_fallback_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_title_edge_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_seed_001, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_seed_004, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_repeats_and_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_many_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
