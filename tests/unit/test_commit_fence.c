/* test_commit_fence: a commit whose fdatasync fails leaves the database
 * sound (tests/RELIABILITY.md, "ENOSPC on fdatasync").
 *
 * Xapian 1.4.22 answers a failed commit by committing an empty revision
 * from free lists that still hold the failed attempt's blocks; when that
 * attempt had moved a free list on to a new block, the old last block is
 * overwritten in place and the database is corrupt ("Ran off end of
 * freelist").  lib/core/commit_fence.c stops every write after the failure.
 *
 * Each cycle replaces a batch of documents twice: first in a child whose
 * fdatasync always fails with ENOSPC (a seccomp filter: the disk stays
 * full), where the commit must fail with PS_ERR_IO naming ENOSPC, then in
 * this process, where it must succeed.  After every step xapian-check
 * must pass.  Both runs of a batch free the same blocks, so the failed
 * run crosses a free-list block exactly when the good one does (seen in
 * the files: a new block with the free-list level byte): the cycles go on
 * until MOVES of them crossed one; the old code failed at the first.
 * Skipped without xapian-check or seccomp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commit_fence.h"
#include "polysearch.h"
#define TCU_TEMPDIR_FIXTURE
#include "test_core_util.h"

extern char **environ;

/* 2000 short documents, 300 replaced per cycle: the position table's free
 * list moves on to a new block every 5-7 cycles (the first at cycle 7,
 * where the old code failed xapian-check: "Same block is in freelist more
 * than once").  MOVES such cycles are required, within MAX_CYCLES. */
enum { NDOCS = 2000, BATCH = 300, WORDS = 20, MOVES = 2, MAX_CYCLES = 30 };

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* Makes every later fdatasync() of the calling thread fail with err.
 * Returns 0, or -1 when seccomp is unavailable. */
static int fail_fdatasync(int err)
{
#ifdef TEST_AUDIT_ARCH
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fdatasync, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = (unsigned short)(sizeof f / sizeof f[0]), .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0 ? 0 : -1;
#else
    (void)err;
    return -1;
#endif
}

/* Document k of version v: WORDS words from a vocabulary of 4096. */
static void make_body(char *buf, size_t cap, int k, int v)
{
    uint32_t x = (uint32_t)(k * 2654435761u) ^ (uint32_t)(v * 40503u + 1u);
    size_t n = 0;
    for (int i = 0; i < WORDS && n + 16 < cap; i++) {
        x = x * 1103515245u + 12345u;
        n += (size_t)snprintf(buf + n, cap - n, "w%03x%s", (x >> 12) & 0xfff,
                              i + 1 < WORDS ? " " : "");
    }
}

/* Puts documents [first, first + n) (ids modulo NDOCS) at version v. */
static ps_status put_batch(ps_db *w, int first, int n, int v)
{
    static char body[WORDS * 8];
    for (int i = 0; i < n; i++) {
        int k = (first + i * 7) % NDOCS;
        char id[16];
        snprintf(id, sizeof id, "d%04d", k);
        make_body(body, sizeof body, k, v);
        ps_doc_in d = {.id = id, .body = body, .lang = "en"};
        ps_status st = ps_db_put(w, &d, NULL);
        if (st != PS_OK)
            return st;
    }
    return PS_OK;
}

/* Runs xapian-check on db, output in out.  Returns its exit status, 127
 * when it cannot run. */
static int xapian_check(const char *db, const char *out)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char *argv[] = {"xapian-check", (char *)db, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "xapian-check", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return 127;
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 126;
    return WEXITSTATUS(status);
}

static void assert_check(const char *db, const char *what, int cycle)
{
    char *out = tcu_path(g_dir, "check.out");
    int rc = xapian_check(db, out);
    if (rc != 0) {
        char *text = tcu_read_file(out);
        fprintf(stderr, "cycle %d, %s: xapian-check exit %d:\n%s\n", cycle, what, rc,
                text ? text : "");
        free(text);
    }
    free(out);
    assert_int_equal(rc, 0);
}

/* Child: the batch of cycle c with every fdatasync failing.  Exit 0 when
 * the commit failed with PS_ERR_IO naming ENOSPC and cancel + close went
 * well; 77 without seccomp; >= 10 names the failed step. */
static int failing_commit(const char *p, int c)
{
    ps_db *w = NULL;
    if (ps_db_open(p, PS_DB_WRITE, &w, NULL) != PS_OK)
        return 10;
    if (put_batch(w, c * 131, BATCH, c + 1) != PS_OK)
        return 11;
    if (fail_fdatasync(ENOSPC) != 0)
        return 77;
    ps_status st = ps_db_commit(w);
    if (st != PS_ERR_IO || !strstr(ps_db_errmsg(w), "No space left on device")) {
        fprintf(stderr, "commit: expected PS_ERR_IO naming ENOSPC, got %d: %s\n", st,
                ps_db_errmsg(w));
        return 12;
    }
    if (ps_db_cancel(w) != PS_OK)
        return 13;
    return ps_db_close(w) == PS_OK ? 0 : 14;
}

/* Free-list blocks of a table file (level byte 254 at offset 4) seen so
 * far, as a growing array of flags by block number. */
typedef struct flblocks {
    unsigned char *seen;
    size_t n;
    unsigned count;     /* free-list blocks at the previous scan */
} flblocks;

/* Scans table; returns how many free-list blocks it has that were not
 * free-list blocks at the previous scan, when it had one then (its free
 * list moved on to a new block; the very first one only starts the free
 * list), and records them. */
static unsigned new_freelist_blocks(const char *table, flblocks *fb)
{
    FILE *f = fopen(table, "rb");
    if (!f)
        return 0;
    unsigned fresh = 0, count = 0;
    unsigned char b[8192];
    for (size_t blk = 0; fread(b, 1, sizeof b, f) == sizeof b; blk++) {
        if (blk >= fb->n) {
            size_t nn = blk * 2 + 64;
            unsigned char *ns = realloc(fb->seen, nn);
            assert_non_null(ns);
            memset(ns + fb->n, 0, nn - fb->n);
            fb->seen = ns;
            fb->n = nn;
        }
        int is_fl = b[4] == 254;
        fresh += is_fl && !fb->seen[blk];
        count += is_fl;
        fb->seen[blk] = (unsigned char)is_fl;
    }
    fclose(f);
    unsigned had = fb->count;
    fb->count = count;
    return had ? fresh : 0;
}

static void test_failed_fdatasync_keeps_db_sound(void **state)
{
    (void)state;
    if (!ps_commit_fence_available())
        skip();
    char *p = tcu_path(g_dir, "db");
    ps_db *w = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_WRITE, &w, NULL), PS_OK);
    assert_int_equal(put_batch(w, 0, NDOCS, 0), PS_OK);  // i * 7 covers all ids
    assert_int_equal(ps_db_close(w), PS_OK);
    if (xapian_check(p, "/dev/null") == 127)
        skip();

    // The 8 KiB blocks of the default glass block size are assumed by the
    // scan; the tables the batches churn:
    static const char *const tables[] = {"postlist", "termlist", "position", "docdata"};
    enum { NT = sizeof tables / sizeof tables[0] };
    flblocks fb[NT] = {{NULL, 0, 0}};
    unsigned moves[NT] = {0};
    char path[4096];
    for (int t = 0; t < NT; t++) {
        snprintf(path, sizeof path, "%s/%s.glass", p, tables[t]);
        (void)new_freelist_blocks(path, &fb[t]);
    }
    unsigned moved_cycles = 0;
    int c = 0;
    for (; c < MAX_CYCLES && moved_cycles < MOVES; c++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(failing_commit(p, c));
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
            skip();
        if (WEXITSTATUS(status) != 0)
            fprintf(stderr, "cycle %d: child exit %d\n", c, WEXITSTATUS(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_check(p, "after the failed commit", c);

        assert_int_equal(ps_db_open(p, PS_DB_WRITE, &w, NULL), PS_OK);
        assert_int_equal(put_batch(w, c * 131, BATCH, c + 1), PS_OK);
        ps_status st = ps_db_commit(w);
        if (st != PS_OK)
            fprintf(stderr, "cycle %d: commit: %s\n", c, ps_db_errmsg(w));
        assert_int_equal(st, PS_OK);
        assert_int_equal(ps_db_close(w), PS_OK);
        assert_check(p, "after the good commit", c);

        // The good commit moved a free list on to a new block iff the
        // failed one (same batch, same state) did.
        int moved = 0;
        for (int t = 0; t < NT; t++) {
            snprintf(path, sizeof path, "%s/%s.glass", p, tables[t]);
            if (new_freelist_blocks(path, &fb[t]) > 0) {
                moves[t]++;
                moved = 1;
            }
        }
        moved_cycles += (unsigned)moved;
    }
    printf("%d cycles (a failed and a good commit of %d documents each); free list "
           "moved on to a new block in", c, BATCH);
    for (int t = 0; t < NT; t++) {
        printf(" %s: %u cycles%s", tables[t], moves[t], t + 1 < NT ? "," : "\n");
        free(fb[t].seen);
    }
    assert_true(moved_cycles >= MOVES);

    // Every document is at its last committed version.
    ps_db *r = NULL;
    assert_int_equal(ps_db_open(p, PS_DB_READ, &r, NULL), PS_OK);
    uint64_t n = 0;
    assert_int_equal(ps_db_count(r, &n), PS_OK);
    assert_int_equal(n, NDOCS);
    ps_db_close(r);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failed_fdatasync_keeps_db_sound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
