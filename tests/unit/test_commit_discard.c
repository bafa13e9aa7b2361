/* test_commit_discard: a commit that failed with an I/O error leaves
 * nothing behind.  After ps_db_commit() returned PS_ERR_IO, neither
 * ps_db_cancel() + ps_db_close() nor a bare ps_db_close() may commit the
 * failed batch later (Xapian's close() and destructor commit whatever is
 * pending; with the disk still full that retry can abort inside Xapian),
 * and the handle stays usable for the next batch.  The I/O error is made
 * with RLIMIT_FSIZE in a child (EFBIG); the soft limit is lifted again
 * before the cancel/close, so a retried commit would succeed and show. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "polysearch.h"
#define TCU_TEMPDIR_FIXTURE
#include "test_core_util.h"


/* Child: puts 400 documents of 8 KiB under a 64 KiB file size limit and
 * commits (must fail with PS_ERR_IO), lifts the limit, then runs `after`.
 * Exit 0 on success, >= 10 naming the failed step. */
enum after { CANCEL_CLOSE, CLOSE_ONLY, CANCEL_REUSE };

static int child(const char *p, enum after how)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old;
    if (getrlimit(RLIMIT_FSIZE, &old) != 0)
        return 10;
    struct rlimit rl = {64 * 1024, old.rlim_max};
    ps_db *w = NULL;
    if (ps_db_open(p, PS_DB_WRITE, &w, NULL) != PS_OK)
        return 11;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 12;
    ps_status st = tcu_put_big_and_commit(w);
    if (st != PS_ERR_IO) {
        fprintf(stderr, "expected PS_ERR_IO, got %d: %s\n", st, ps_db_errmsg(w));
        return 13;
    }
    if (setrlimit(RLIMIT_FSIZE, &old) != 0)
        return 14;
    if (how != CLOSE_ONLY && ps_db_cancel(w) != PS_OK)
        return 15;
    if (how == CANCEL_REUSE) {
        ps_doc_in d = {.id = "next", .body = "the next batch", .lang = "en"};
        if (ps_db_put(w, &d, NULL) != PS_OK || ps_db_commit(w) != PS_OK) {
            fprintf(stderr, "reuse: %s\n", ps_db_errmsg(w));
            return 16;
        }
    }
    return ps_db_close(w) == PS_OK ? 0 : 17;
}

static void run(enum after how, uint64_t want_count)
{
    char *p = tcu_make_base();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child(p, how));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    uint64_t n = 0;
    assert_int_equal(ps_db_count(r, &n), PS_OK);
    assert_int_equal(n, want_count);
    ps_document *got = NULL;
    assert_int_equal(ps_db_get(r, "big0", &got), PS_ERR_NOT_FOUND);
    assert_int_equal(ps_db_get(r, "base", &got), PS_OK);
    ps_document_free(got);
    ps_db_close(r);
    free(p);
}

static void test_cancel_then_close(void **state)
{
    (void)state;
    run(CANCEL_CLOSE, 1);
}

static void test_close_without_cancel(void **state)
{
    (void)state;
    run(CLOSE_ONLY, 1);
}

static void test_handle_reused_after_cancel(void **state)
{
    (void)state;
    run(CANCEL_REUSE, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cancel_then_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_without_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handle_reused_after_cancel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
