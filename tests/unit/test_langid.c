/* test_langid.c: ps_detect_lang() (lib/analysis/langid_cld2.cc). */
#include "test_analysis_util.h"

#include <pthread.h>

#include "analyze.h"

static const char *const seed_names[5] = {"000", "001", "002", "003", "004"};
static const char *const seed_langs[5] = {"fr", "fr", "de", "de", "en"};

static void test_seeds(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++) {
        size_t len;
        char *text = read_seed(seed_names[i], &len);
        const char *lang = ps_detect_lang(text, len);
        print_message("seed %s: %s\n", seed_names[i], lang);
        assert_string_equal(lang, seed_langs[i]);
        free(text);
    }
}

static void test_short_text_is_und(void **state)
{
    (void)state;
    assert_string_equal(ps_detect_lang("", 0), "und");
    assert_string_equal(ps_detect_lang(NULL, 0), "und");
    assert_string_equal(ps_detect_lang("Santé", 6), "und");
    assert_string_equal(ps_detect_lang("ok", 2), "und");
    assert_string_equal(ps_detect_lang("12345 67890 1234", 16), "und");
    assert_string_equal(ps_detect_lang("\x01\x02\x03\x04", 4), "und");
}

static void test_common_languages(void **state)
{
    static const struct { const char *text, *lang; } cases[] = {
        {"Der schnelle braune Fuchs springt über den faulen Hund, während "
         "die Kinder im Garten spielen und die Eltern Kaffee trinken.", "de"},
        {"El rápido zorro marrón salta sobre el perro perezoso mientras los "
         "niños juegan en el jardín y los padres toman café.", "es"},
        {"Szybki brązowy lis przeskakuje nad leniwym psem, podczas gdy "
         "dzieci bawią się w ogrodzie, a rodzice piją kawę.", "pl"},
        {"De snelle bruine vos springt over de luie hond terwijl de kinderen "
         "in de tuin spelen en de ouders koffie drinken.", "nl"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(ps_detect_lang(cases[i].text,
                                           strlen(cases[i].text)),
                            cases[i].lang);
}

static void test_invalid_bytes_still_detected(void **state)
{
    size_t len;
    char *text = read_seed("000", &len);
    (void)state;
    /* Sprinkle NULs and invalid bytes: CLD2 would refuse the whole text. */
    for (size_t i = 100; i < len; i += 97)
        text[i] = (i / 97) % 2 ? '\0' : (char)0xFF;
    assert_string_equal(ps_detect_lang(text, len), "fr");
    free(text);
}

typedef struct worker_arg {
    const char *text;
    size_t len;
    const char *want;
    int bad;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < 50; i++)
        if (strcmp(ps_detect_lang(a->text, a->len), a->want) != 0)
            a->bad++;
    return NULL;
}

static void test_threads(void **state)
{
    pthread_t th[5];
    worker_arg args[5];
    char *texts[5];
    (void)state;
    for (int i = 0; i < 5; i++) {
        texts[i] = read_seed(seed_names[i], &args[i].len);
        args[i].text = texts[i];
        args[i].want = seed_langs[i];
        args[i].bad = 0;
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < 5; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].bad, 0);
        free(texts[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_short_text_is_und),
        cmocka_unit_test(test_common_languages),
        cmocka_unit_test(test_invalid_bytes_still_detected),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
