/* test_core_faults.c: Xapian exceptions and resource failures forced
 * through the C API, each of which must come back as a status with a
 * message, never as an abort.  Complements test_core_db.c (which covers
 * the in-process lock conflict, missing database, stub files, corrupt
 * tables, the DatabaseModifiedError retry in ps_search, EFBIG on commit
 * and bad_alloc in ps_db_put).  Here:
 *   - DatabaseLockError held by another process, and no stale lock after
 *     that process is killed with SIGKILL;
 *   - DatabaseModifiedError on a stale reader's get/count/ids/lang counts;
 *   - DatabaseVersionError (a glass version file of an unknown format),
 *     DatabaseCreateError (parent is a file, parent missing);
 *   - a database whose creation was killed before iamglass existed (see
 *     discard_unfinished_create in lib/core/xapian14_workarounds.cc), and one
 *     with data but no iamglass (must be left alone);
 *   - QueryParserError (bare NOT, trailing AND), WildcardError;
 *   - out-of-range offsets and limits (Xapian InvalidArgumentError
 *     territory);
 *   - DatabaseError from resource limits: EMFILE (RLIMIT_NOFILE) on open
 *     and during a search, EFBIG (RLIMIT_FSIZE) while a batch is flushed
 *     by ps_db_put, EACCES from a chmod 000 table (as nobody when root);
 *   - std::bad_alloc at every point of open/search/get/put/commit: a
 *     sweep of RLIMIT_AS headroom in child processes (skipped under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "polysearch.h"
#define TCU_TEMPDIR_FIXTURE
#include "test_core_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define PS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PS_ASAN 1
#endif
#endif


/* Creates database `name` with n documents d0..d<n-1> (all containing
 * "zebra") and returns its malloc'd path. */
static char *make_db(const char *name, int n)
{
    char *p = tcu_path(g_dir, name);
    ps_db *w = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_WRITE, &w, NULL), PS_OK);
    for (int i = 0; i < n; i++) {
        char id[32], body[128];
        snprintf(id, sizeof id, "d%d", i);
        snprintf(body, sizeof body, "zebra number %d grazes the savanna w%d", i, i);
        ps_doc_in d = {.id = id, .body = body, .lang = i % 2 ? "en" : "fr",
                       .date = "2024-01-01"};
        assert_int_equal(ps_db_put(w, &d, NULL), PS_OK);
    }
    assert_int_equal(ps_db_close(w), PS_OK);
    return p;
}

/* Waits for a child and asserts it exited normally with status 0. */
static void wait_ok(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- DatabaseLockError across processes ------------------------------ */

static void test_lock_other_process(void **state)
{
    (void)state;
    char *p = make_db("db", 3);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ps_db *w = NULL;
        if (ps_db_open(p, PS_DB_WRITE, &w, NULL) != PS_OK)
            _exit(10);
        ps_doc_in d = {.id = "pending", .body = "never committed", .lang = "en"};
        if (ps_db_put(w, &d, NULL) != PS_OK)
            _exit(11);
        if (write(ready[1], "x", 1) != 1)
            _exit(12);
        pause(); /* killed with SIGKILL while holding the lock */
        _exit(13);
    }
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    ps_db *w = (ps_db *)1;
    char *err = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_WRITE, &w, &err), PS_ERR_LOCKED);
    assert_null(w);
    assert_non_null(err);
    char pidtxt[32];
    snprintf(pidtxt, sizeof pidtxt, "pid %ld", (long)pid);
    if (strstr(err, pidtxt) == NULL)
        fprintf(stderr, "lock message: %s\n", err);
    assert_non_null(strstr(err, pidtxt));
    free(err);
    /* Readers are not blocked by the writer. */
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    ps_db_close(r);
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* No stale lock: a writer starts at once; the uncommitted document
     * of the killed writer is not there. */
    assert_int_equal(ps_db_open(p, PS_DB_WRITE, &w, NULL), PS_OK);
    ps_document *doc = NULL;
    assert_int_equal(ps_db_get(w, "pending", &doc), PS_ERR_NOT_FOUND);
    assert_null(doc);
    uint64_t n = 0;
    assert_int_equal(ps_db_count(w, &n), PS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ps_db_close(w), PS_OK);
    free(p);
}

/* ---- DatabaseModifiedError outside ps_search ------------------------- */

static int count_ids(const char *id, void *ctx)
{
    (void)id;
    (*(int *)ctx)++;
    return 0;
}

static void test_modified_stale_reader(void **state)
{
    (void)state;
    char *p = make_db("db", 300);
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    ps_db *w = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_WRITE, &w, NULL), PS_OK);
    /* Rewrite every document several times: the reader's revision's
     * blocks get reused. */
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 300; i++) {
            char id[32], body[128];
            snprintf(id, sizeof id, "d%d", i);
            snprintf(body, sizeof body, "zebra round %d number %d w%d", round, i, i);
            ps_doc_in d = {.id = id, .body = body, .lang = "en"};
            assert_int_equal(ps_db_put(w, &d, NULL), PS_OK);
        }
        assert_int_equal(ps_db_commit(w), PS_OK);
    }
    int modified = 0;
    ps_document *doc = NULL;
    ps_status st = ps_db_get(r, "d150", &doc);
    assert_true(st == PS_OK || st == PS_ERR_MODIFIED);
    modified += st == PS_ERR_MODIFIED;
    ps_document_free(doc);
    int nid = 0;
    st = ps_db_foreach_id(r, count_ids, &nid);
    assert_true(st == PS_OK || st == PS_ERR_MODIFIED);
    modified += st == PS_ERR_MODIFIED;
    ps_results *lc = NULL;
    st = ps_db_lang_counts(r, &lc);
    assert_true(st == PS_OK || st == PS_ERR_MODIFIED);
    if (st == PS_ERR_MODIFIED) {
        assert_null(lc);
        assert_non_null(strstr(ps_db_errmsg(r), "modified"));
    }
    modified += st == PS_ERR_MODIFIED;
    ps_results_free(lc);
    /* At least one stale read hit the error (ps_search alone retries). */
    assert_true(modified > 0);
    /* After a reopen everything works at the new revision. */
    int changed = 0;
    assert_int_equal(ps_db_reopen(r, &changed), PS_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(ps_db_get(r, "d150", &doc), PS_OK);
    assert_non_null(strstr(doc->body, "round 3"));
    ps_document_free(doc);
    nid = 0;
    assert_int_equal(ps_db_foreach_id(r, count_ids, &nid), PS_OK);
    assert_int_equal(nid, 300);
    ps_db_close(r);
    ps_db_close(w);
    free(p);
}

/* ---- DatabaseVersionError / DatabaseCreateError ---------------------- */

static void test_version_and_create_errors(void **state)
{
    (void)state;
    char *p = make_db("db", 2);
    /* A version file with the glass magic but another format version. */
    char *vf = tcu_path(p, "iamglass");
    int fd = open(vf, O_RDWR);
    assert_true(fd >= 0);
    unsigned char hdr[16];
    assert_int_equal(pread(fd, hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
    assert_memory_equal(hdr, "\x0f\x0dXapian Glass", 14);
    hdr[15] ^= 0x55;
    assert_int_equal(pwrite(fd, hdr + 15, 1, 15), 1);
    close(fd);
    for (int mode = 0; mode < 2; mode++) {
        ps_db *db = (ps_db *)1;
        char *err = NULL;
        ps_status st = ps_db_open(p, mode ? PS_DB_WRITE : PS_DB_READ, &db, &err);
        if (st != PS_ERR_NO_DB && st != PS_ERR_CORRUPT)
            fprintf(stderr, "version mismatch: %d %s\n", st, err ? err : "");
        assert_true(st == PS_ERR_NO_DB || st == PS_ERR_CORRUPT);
        assert_null(db);
        assert_non_null(err);
        assert_true(strlen(err) > 10);
        free(err);
    }
    /* Creating below a regular file (ENOTDIR) and below a missing parent. */
    char *file = tcu_path(g_dir, "plainfile");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    char *under = tcu_path(file, "db");
    char *deep = tcu_path(g_dir, "no/such/parent/db");
    const char *bad[] = {under, deep};
    for (size_t i = 0; i < 2; i++) {
        ps_db *db = (ps_db *)1;
        char *err = NULL;
        ps_status st = ps_db_open(bad[i], PS_DB_WRITE, &db, &err);
        assert_true(st == PS_ERR_NO_DB || st == PS_ERR_IO);
        assert_null(db);
        assert_non_null(err);
        assert_non_null(strstr(err, "create"));
        free(err);
    }
    free(under);
    free(deep);
    free(file);
    free(vf);
    free(p);
}

/* ---- Interrupted creation -------------------------------------------- */

static void touch(const char *dir, const char *name, const char *content)
{
    char *p = tcu_path(dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    free(p);
}

static void test_interrupted_create(void **state)
{
    (void)state;
    /* What kill -9 leaves between creating the tables and renaming the
     * first version file: a writer creates the database afresh. */
    char *p = tcu_path(g_dir, "half");
    assert_int_equal(mkdir(p, 0755), 0);
    touch(p, "flintlock", "");
    touch(p, "postlist.glass", "");
    touch(p, "termlist.glass", "");
    touch(p, "v.tmp", "\x0f\x0dXapian Glass partial");
    ps_db *w = NULL;
    char *err = NULL;
    ps_status st = ps_db_open(p, PS_DB_WRITE, &w, &err);
    if (st != PS_OK)
        fprintf(stderr, "half-created: %s\n", err ? err : "");
    assert_int_equal(st, PS_OK);
    ps_doc_in d = {.id = "one", .body = "a fresh start", .lang = "en"};
    assert_int_equal(ps_db_put(w, &d, NULL), PS_OK);
    assert_int_equal(ps_db_close(w), PS_OK);
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    uint64_t n = 0;
    assert_int_equal(ps_db_count(r, &n), PS_OK);
    assert_int_equal(n, 1);
    ps_db_close(r);
    free(p);

    /* Tables with data but no version file: not ours to delete. */
    p = tcu_path(g_dir, "damaged");
    assert_int_equal(mkdir(p, 0755), 0);
    touch(p, "flintlock", "");
    touch(p, "postlist.glass", "some data that must survive");
    w = (ps_db *)1;
    st = ps_db_open(p, PS_DB_WRITE, &w, &err);
    assert_int_not_equal(st, PS_OK);
    assert_null(w);
    assert_non_null(err);
    free(err);
    char *pl = tcu_path(p, "postlist.glass");
    char *content = tcu_read_file(pl);
    assert_non_null(content);
    assert_string_equal(content, "some data that must survive");
    free(content);
    free(pl);
    free(p);
}

/* ---- QueryParserError, WildcardError, odd ranges --------------------- */

static void test_query_errors_and_ranges(void **state)
{
    (void)state;
    char *p = make_db("db", 40);
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    const char *syntax[] = {"NOT", "zebra AND", "AND OR", "NOT NOT zebra"};
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++) {
        ps_query q = {.q = syntax[i], .snippets = 1};
        ps_results *res = (ps_results *)1;
        assert_int_equal(ps_search(r, &q, &res), PS_ERR_QUERY);
        assert_null(res);
        assert_non_null(strstr(ps_db_errmsg(r), "query syntax error"));
    }
    ps_query wq = {.q = "w*", .max_wildcard = 5};
    ps_results *res = (ps_results *)1;
    assert_int_equal(ps_search(r, &wq, &res), PS_ERR_TOO_MANY_TERMS);
    assert_null(res);
    assert_true(strlen(ps_db_errmsg(r)) > 0);
    /* Extreme offsets and limits: results (possibly none) or INVALID,
     * quickly, without a huge allocation. */
    const uint32_t offs[] = {0, 39, 40, 1000000, UINT32_MAX - 1, UINT32_MAX};
    const uint32_t lims[] = {1, 1000, 100000, UINT32_MAX};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        for (size_t j = 0; j < sizeof lims / sizeof lims[0]; j++) {
            ps_query q = {.q = "zebra", .offset = offs[i], .limit = lims[j],
                          .snippets = 1, .facets = 1};
            res = NULL;
            ps_status st = ps_search(r, &q, &res);
            if (st != PS_OK && st != PS_ERR_INVALID)
                fprintf(stderr, "offset %u limit %u: %d %s\n", offs[i], lims[j],
                        st, ps_db_errmsg(r));
            assert_true(st == PS_OK || st == PS_ERR_INVALID);
            if (st == PS_OK) {
                uint32_t want = offs[i] >= 40 ? 0 : 40 - offs[i];
                if (want > lims[j])
                    want = lims[j];
                assert_int_equal(res->nhits, want);
            }
            ps_results_free(res);
        }
    }
    ps_db_close(r);
    free(p);
}

/* ---- DatabaseError from resource limits ------------------------------ */

/* Opens and searches with no file descriptors left: EMFILE surfaces as
 * an error status with a message (in a child: the limit stays there). */
static void test_emfile(void **state)
{
    (void)state;
    char *p = make_db("db", 20);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ps_db *r = NULL;
        if (ps_db_open(p, PS_DB_READ, &r, NULL) != PS_OK)
            _exit(10);
        struct rlimit rl = {64, 64};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(11);
        while (dup(0) >= 0) /* use up every descriptor */
            ;
        if (errno != EMFILE)
            _exit(12);
        /* A new handle cannot open its tables. */
        ps_db *r2 = (ps_db *)1;
        char *err = NULL;
        ps_status st = ps_db_open(p, PS_DB_READ, &r2, &err);
        if (st == PS_OK || r2 != NULL || err == NULL || strlen(err) == 0) {
            fprintf(stderr, "open with EMFILE: %d %s\n", st, err ? err : "");
            _exit(13);
        }
        free(err);
        /* The open handle: phrase search with snippets needs the
         * position table, which glass opens lazily: results or a clean
         * error. */
        ps_query q = {.q = "\"zebra number\"", .snippets = 1};
        ps_results *res = NULL;
        st = ps_search(r, &q, &res);
        if (st != PS_OK && strlen(ps_db_errmsg(r)) == 0)
            _exit(14);
        ps_results_free(res);
        ps_db_close(r);
        _exit(0);
    }
    wait_ok(pid);
    free(p);
}

/* ps_db_put flushes a batch on its own when the buffer is full; under
 * RLIMIT_FSIZE the failing flush comes back from put (or the commit) as
 * PS_ERR_IO and the last commit stays readable. */
static void test_efbig_during_put(void **state)
{
    (void)state;
    char *p = make_db("db", 5);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        ps_db *w = NULL;
        if (ps_db_open(p, PS_DB_WRITE, &w, NULL) != PS_OK)
            _exit(10);
        struct rlimit rl = {96 * 1024, 96 * 1024};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(11);
        static char body[16384];
        ps_status st = PS_OK;
        int i;
        for (i = 0; i < 20000 && st == PS_OK; i++) {
            for (size_t k = 0; k + 1 < sizeof body; k++)
                body[k] = (k % 9 == 8) ? ' '
                                       : (char)('a' + (k * 7 + (size_t)i * 13 + k / 9) % 26);
            char id[32];
            snprintf(id, sizeof id, "big%d", i);
            ps_doc_in d = {.id = id, .body = body, .lang = "en"};
            st = ps_db_put(w, &d, NULL);
        }
        if (st == PS_OK)
            st = ps_db_commit(w);
        if (st != PS_ERR_IO || strlen(ps_db_errmsg(w)) == 0) {
            fprintf(stderr, "EFBIG: %d after %d docs: %s\n", st, i, ps_db_errmsg(w));
            _exit(12);
        }
        ps_db_close(w);
        _exit(0);
    }
    wait_ok(pid);
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    uint64_t n = 0;
    assert_int_equal(ps_db_count(r, &n), PS_OK);
    assert_int_equal(n, 5);
    ps_db_close(r);
    free(p);
}

/* A table that cannot be read (chmod 000): EACCES as a status, in both
 * modes.  Root ignores file modes, so as root the opens run in a child
 * that has switched to uid/gid 65534 (nobody). */
static int unreadable_opens(const char *p)
{
    for (int mode = 0; mode < 2; mode++) {
        ps_db *db = (ps_db *)1;
        char *err = NULL;
        ps_status st = ps_db_open(p, mode ? PS_DB_WRITE : PS_DB_READ, &db, &err);
        if (st == PS_OK || db != NULL || err == NULL || strlen(err) == 0) {
            fprintf(stderr, "unreadable table, mode %d: %d %s\n", mode, st,
                    err ? err : "");
            return 1;
        }
        free(err);
    }
    return 0;
}

static void test_unreadable_table(void **state)
{
    (void)state;
    char *p = make_db("db", 5);
    char *t = tcu_path(p, "postlist.glass");
    assert_int_equal(chmod(t, 0), 0);
    if (geteuid() != 0) {
        assert_int_equal(unreadable_opens(p), 0);
    } else {
        assert_int_equal(chmod(g_dir, 0755), 0);
        assert_int_equal(chmod(p, 0755), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(0); /* cannot drop privileges: nothing to test */
            int fd = open(t, O_RDONLY);
            if (fd >= 0)
                _exit(0); /* modes not enforced (e.g. CAP_DAC_OVERRIDE) */
            _exit(unreadable_opens(p));
        }
        wait_ok(pid);
    }
    chmod(t, 0644);
    free(t);
    free(p);
}

/* ---- std::bad_alloc everywhere: RLIMIT_AS headroom sweep ------------- */

#ifndef PS_ASAN
/* In a child: limit the address space to the current size plus
 * headroom_kb, then open, search (snippets, facets, spelling, wildcard),
 * get, put and commit.  Every call must return; exit 0 when all
 * failures were proper statuses, 2 when PS_ERR_NOMEM was seen. */
static int oom_child(const char *p, long headroom_kb)
{
    /* The document body (8 MiB of varied words) is built before the
     * limit, so the limit bites inside the library. */
    size_t blen = 8u << 20;
    char *body = malloc(blen + 1);
    if (!body)
        return 9;
    for (size_t k = 0; k < blen; k++)
        body[k] = (k % 7 == 6) ? ' ' : (char)('a' + (k * 11 + k / 7 * 5) % 26);
    body[blen] = '\0';
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%lu", &pages) != 1)
        return 10;
    fclose(f);
    rlim_t cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
    struct rlimit rl = {cur + (rlim_t)headroom_kb * 1024, cur + (rlim_t)headroom_kb * 1024};
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        return 11;
    int nomem = 0;
    ps_status st;
#define STEP(call)                                        \
    do {                                                  \
        st = (call);                                      \
        if (st == PS_ERR_NOMEM)                           \
            nomem = 1;                                    \
        else if (st != PS_OK && st != PS_ERR_IO &&        \
                 st != PS_ERR_INTERNAL)                   \
            return 20 + (int)st;                          \
    } while (0)
    ps_db *r = NULL;
    char *err = NULL;
    STEP(ps_db_open(p, PS_DB_READ, &r, &err));
    free(err);
    if (r != NULL) {
        ps_query q = {.q = "zebra OR sav* OR \"number 3\"", .limit = 50,
                      .snippets = 1, .facets = 1, .spelling = 1};
        ps_results *res = NULL;
        STEP(ps_search(r, &q, &res));
        ps_results_free(res);
        ps_document *doc = NULL;
        STEP(ps_db_get(r, "d3", &doc));
        ps_document_free(doc);
        ps_db_close(r);
    }
    ps_db *w = NULL;
    err = NULL;
    STEP(ps_db_open(p, PS_DB_WRITE, &w, &err));
    free(err);
    if (w != NULL) {
        ps_doc_in d = {.id = "new", .body = body};
        STEP(ps_db_put(w, &d, NULL));
        STEP(ps_db_commit(w));
        ps_db_close(w);
    }
#undef STEP
    free(body);
    return nomem ? 2 : 0;
}
#endif

static void test_oom_sweep(void **state)
{
    (void)state;
#ifdef PS_ASAN
    skip();
#else
    char *p = make_db("db", 60);
    int nomem_seen = 0, clean = 0, runs = 0;
    for (long kb = 0; kb <= 160 * 1024; kb += (kb < 4096 ? 512 : 8192)) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(oom_child(p, kb));
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 2))
            fprintf(stderr, "headroom %ld KiB: %s %d\n", kb,
                    WIFSIGNALED(status) ? "signal" : "exit",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        assert_true(WIFEXITED(status));
        assert_true(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 2);
        nomem_seen += WEXITSTATUS(status) == 2;
        clean += WEXITSTATUS(status) == 0;
        runs++;
    }
    printf("RLIMIT_AS sweep: %d runs, %d with PS_ERR_NOMEM, %d clean, no abort\n",
           runs, nomem_seen, clean);
    assert_true(nomem_seen > 0);
    assert_true(clean > 0); /* the largest headroom is enough */
    /* The database is intact afterwards. */
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    ps_document *doc = NULL;
    assert_int_equal(ps_db_get(r, "d59", &doc), PS_OK);
    ps_document_free(doc);
    ps_db_close(r);
    free(p);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lock_other_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modified_stale_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_and_create_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_errors_and_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emfile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_efbig_during_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_sweep, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
