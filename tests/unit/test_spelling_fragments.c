/* test_spelling_fragments: the "Too few chunks of compressed data"
 * corruption of the 240 s daemon soak (tests/RELIABILITY.md).
 *
 * Xapian 1.4.22 writes a compressed spelling fragment list that it cannot
 * read back when the list's inflated size passes a multiple of 8 KiB just
 * as inflate() reads the last input byte: the next commit that adds a
 * word sharing that fragment fails, and so does every later one (and
 * xapian-check).  The soak adds documents titled "Soak test soakwordNzq
 * soakcycM.": every word soakwordNzq shares the fragments "so" (head),
 * "zq" (tail) and the trigrams of "soakword", whose lists grow by a few
 * bytes per commit and cross 8 KiB near N = 1,640.  Before the fix the
 * commit after the one adding soakword1642zq failed here, always.
 *
 * The tag depends only on the set of words, so the first 1,600 go in one
 * commit (no fsync per word) and the next 120 one commit each, as the
 * daemon does; each of those commits also replaces one document and
 * deletes another, so that writing a transaction again (the workaround)
 * is checked on all three kinds of change.  Then: every commit succeeded,
 * every document is where it should be, and the spelling table reads
 * back (suggestions for typos of the new words, at most a few words left
 * out). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polysearch.h"
#define TCU_TEMPDIR_FIXTURE
#include "test_core_util.h"

enum { PREFILL = 1600, SINGLE = 120, TOTAL = PREFILL + SINGLE };

static ps_status put_word_doc(ps_db *w, int n)
{
    char id[32], body[128];
    snprintf(id, sizeof id, "soak/%d", n);
    snprintf(body, sizeof body, "Soak test soakword%dzq soakcyc%d.", n, n % 50);
    ps_doc_in d = {.id = id, .body = body, .lang = "en"};
    ps_put_outcome o = PS_PUT_UNCHANGED;
    ps_status st = ps_db_put(w, &d, &o);
    if (st == PS_OK && o != PS_PUT_ADDED)
        return PS_ERR_INTERNAL;
    return st;
}

/* Hits for q, or -1 on a search error (message printed). */
static long hits(ps_db *db, const char *q, char **suggestion)
{
    ps_query qq = {.q = q, .limit = 10, .spelling = suggestion != NULL};
    ps_results *r = NULL;
    ps_status st = ps_search(db, &qq, &r);
    if (st != PS_OK) {
        print_message("search '%s': %s\n", q, ps_db_errmsg(db));
        return -1;
    }
    long n = (long)r->total;
    if (suggestion)
        *suggestion = r->suggestion ? strdup(r->suggestion) : NULL;
    ps_results_free(r);
    return n;
}

static void test_commit_per_new_word(void **state)
{
    (void)state;
    char *p = tcu_path(g_dir, "db");
    ps_db *w = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_WRITE, &w, NULL), PS_OK);
    for (int n = 0; n < PREFILL; n++)
        assert_int_equal(put_word_doc(w, n), PS_OK);
    assert_int_equal(ps_db_commit(w), PS_OK);

    /* Commit k of the single ones also rewrites soak/k (new body word
     * "rewrittenK") and deletes soak/(1000 + k). */
    for (int k = 0; k < SINGLE; k++) {
        int n = PREFILL + k;
        assert_int_equal(put_word_doc(w, n), PS_OK);
        char id[32], body[128];
        snprintf(id, sizeof id, "soak/%d", k);
        snprintf(body, sizeof body, "Soak test soakword%dzq rewritten%d.", k, k);
        ps_doc_in d = {.id = id, .body = body, .lang = "en"};
        ps_put_outcome o = PS_PUT_UNCHANGED;
        assert_int_equal(ps_db_put(w, &d, &o), PS_OK);
        assert_int_equal(o, PS_PUT_REPLACED);
        snprintf(id, sizeof id, "soak/%d", 1000 + k);
        assert_int_equal(ps_db_delete(w, id), PS_OK);
        ps_status st = ps_db_commit(w);
        if (st != PS_OK)
            fail_msg("commit %d (adding soakword%dzq) failed: %s", k, n, ps_db_errmsg(w));
    }
    assert_int_equal(ps_db_close(w), PS_OK);

    ps_db *r = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    uint64_t count = 0;
    assert_int_equal(ps_db_count(r, &count), PS_OK);
    assert_int_equal(count, TOTAL - SINGLE);
    char q[64];
    for (int k = 0; k < SINGLE; k++) {
        snprintf(q, sizeof q, "rewritten%d", k);
        assert_int_equal(hits(r, q, NULL), 1);
        snprintf(q, sizeof q, "soakword%dzq", 1000 + k);
        assert_int_equal(hits(r, q, NULL), 0);
    }
    /* Every added document is there, and the spelling fragments of every
     * new word read back: a typo ("zx" for "zq") of each word searches
     * without error and, but for the few words left out, is corrected. */
    int corrected = 0;
    for (int n = PREFILL; n < TOTAL; n++) {
        snprintf(q, sizeof q, "soakword%dzq", n);
        assert_int_equal(hits(r, q, NULL), 1);
        snprintf(q, sizeof q, "soakword%dzx", n);
        char *s = NULL;
        long h = hits(r, q, &s);
        if (h != 0)
            fail_msg("typo search '%s': %ld (spelling table unreadable?)", q, h);
        snprintf(q, sizeof q, "soakword%dzq", n);
        if (s && strcmp(s, q) == 0)
            corrected++;
        free(s);
    }
    print_message("%d of %d new words corrected\n", corrected, SINGLE);
    assert_true(corrected >= SINGLE - 5);
    assert_int_equal(ps_db_close(r), PS_OK);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_per_new_word, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
