/* Unit tests for indexer/walk.c: id derivation from paths and the
 * directory walk (order, filters, symlink loops), indexer/idset.c and
 * indexer/idlist.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "idlist.h"
#include "idset.h"
#include "walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void check_rel(const char *rel, const char *want)
{
    char *id = walk_id_from_relpath(rel);
    assert_non_null(id);
    assert_string_equal(id, want);
    free(id);
}

static void check_file(const char *path, const char *want)
{
    char *id = walk_id_from_file(path);
    assert_non_null(id);
    assert_string_equal(id, want);
    free(id);
}

static void test_id_from_relpath(void **state)
{
    (void)state;
    check_rel("000_3d3df94667dbc618.txt", "000_3d3df94667dbc618");
    check_rel("a/b/c.md", "a/b/c");
    check_rel("a//b/./c.txt", "a/b/c");
    check_rel("./x.txt", "x");
    check_rel("/lead/slash.txt", "lead/slash");
    check_rel("x.tar.gz", "x.tar");
    check_rel("dir.v2/noext", "dir.v2/noext");    /* dot in a dir only */
    check_rel("d/.hidden", "d/.hidden");
    check_rel("Santé/Été.txt", "Santé/Été");
    check_rel("", "");
}

static void test_id_from_file(void **state)
{
    (void)state;
    check_file("/tmp/notes/readme.md", "readme");
    check_file("corpus/001_10c8717af35b6bd6.txt", "001_10c8717af35b6bd6");
    check_file("plain", "plain");
    check_file("dir/", "dir");
    check_file(".profile", ".profile");
    check_file("a.b.c", "a.b");
}

static void test_indexable(void **state)
{
    (void)state;
    assert_true(walk_is_indexable("a.txt"));
    assert_true(walk_is_indexable("a.md"));
    assert_true(walk_is_indexable("A.TXT"));
    assert_false(walk_is_indexable(".txt"));
    assert_false(walk_is_indexable("a.jsonl"));
    assert_false(walk_is_indexable("a.txt~"));
    assert_false(walk_is_indexable("txt"));
}

/* ---- walk over a temporary tree --------------------------------------- */

typedef struct seen_list {
    char items[32][256];
    int n;
} seen_list;

static int collect(const walk_entry *e, void *ctx)
{
    seen_list *l = ctx;
    if (l->n < 32)
        snprintf(l->items[l->n++], 256, "%s", e->relpath);
    return 0;
}

static void touch(const char *dir, const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void sub(char *out, size_t n, const char *dir, const char *rel)
{
    snprintf(out, n, "%s/%s", dir, rel);
}

static void test_walk_tree(void **state)
{
    (void)state;
    char dir[] = "/tmp/ps_walk_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[512], q[512];
    sub(p, sizeof p, dir, "b");
    assert_int_equal(mkdir(p, 0700), 0);
    sub(p, sizeof p, dir, "b/c");
    assert_int_equal(mkdir(p, 0700), 0);
    sub(p, sizeof p, dir, ".git");
    assert_int_equal(mkdir(p, 0700), 0);
    touch(dir, "z.txt", "z");
    touch(dir, "a.md", "a");
    touch(dir, "skip.jsonl", "{}");
    touch(dir, ".hidden.txt", "h");
    touch(dir, ".git/x.txt", "x");
    touch(dir, "b/c/deep.txt", "d");
    touch(dir, "b/m.txt", "m");
    /* A symlink loop to the root and a link to a file. */
    sub(p, sizeof p, dir, "b/loop");
    assert_int_equal(symlink(dir, p), 0);
    sub(p, sizeof p, dir, "b/c/self");
    assert_int_equal(symlink("..", p), 0);
    sub(q, sizeof q, dir, "link.txt");
    sub(p, sizeof p, dir, "z.txt");
    assert_int_equal(symlink(p, q), 0);
    sub(q, sizeof q, dir, "dangling.txt");
    assert_int_equal(symlink("/nonexistent/x", q), 0);

    seen_list l;
    memset(&l, 0, sizeof l);
    walk_result res;
    assert_int_equal(walk_tree(dir, NULL, collect, &l, NULL, 0, &res), 0);
    assert_int_equal(res.stopped, 0);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.items[0], "a.md");
    assert_string_equal(l.items[1], "b/c/deep.txt");
    assert_string_equal(l.items[2], "b/m.txt");
    assert_string_equal(l.items[3], "link.txt");
    assert_string_equal(l.items[4], "z.txt");

    /* Trailing slashes on the root do not change relative paths. */
    char root2[600];
    snprintf(root2, sizeof root2, "%s//", dir);
    memset(&l, 0, sizeof l);
    assert_int_equal(walk_tree(root2, NULL, collect, &l, NULL, 0, &res), 0);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.items[1], "b/c/deep.txt");

    /* Exclusion patterns apply to file and directory names. */
    static const char *const excl[] = { "b", "*.md", NULL };
    memset(&l, 0, sizeof l);
    assert_int_equal(walk_tree(dir, excl, collect, &l, NULL, 0, &res), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0], "link.txt");
    assert_string_equal(l.items[1], "z.txt");

    /* The stop flag ends the walk early. */
    volatile sig_atomic_t stop = 1;
    memset(&l, 0, sizeof l);
    assert_int_equal(walk_tree(dir, NULL, collect, &l, &stop, 0, &res), 0);
    assert_int_equal(res.stopped, 1);
    assert_int_equal(l.n, 0);

    /* Not a directory. */
    assert_int_equal(walk_tree(p, NULL, collect, &l, NULL, 0, &res), -1);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_idset(void **state)
{
    (void)state;
    idset *s = idset_new();
    assert_non_null(s);
    char id[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "doc-%d", i);
        assert_int_equal(idset_add(s, id), 1);
    }
    assert_int_equal(idset_add(s, "doc-42"), 0);
    assert_int_equal(idset_count(s), 5000);
    assert_true(idset_has(s, "doc-4999"));
    assert_false(idset_has(s, "doc-5000"));
    assert_false(idset_has(s, ""));
    idset_free(s);
    idset_free(NULL);
}

static void test_idlist(void **state)
{
    (void)state;
    idlist l = { NULL, 0, 0, 0 };
    char id[32];
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof id, "doc-%d", i);
        assert_int_equal(idlist_push(&l, id), 0);
    }
    assert_int_equal(l.n, 200);
    assert_false(l.nomem);
    assert_string_equal(l.ids[0], "doc-0");
    assert_string_equal(l.ids[199], "doc-199");
    idlist_clear(&l);
    assert_null(l.ids);
    assert_int_equal(l.n, 0);
    idlist_clear(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_from_relpath),
        cmocka_unit_test(test_id_from_file),
        cmocka_unit_test(test_indexable),
        cmocka_unit_test(test_walk_tree),
        cmocka_unit_test(test_idset),
        cmocka_unit_test(test_idlist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
