/* test_core_util.h: helpers shared by the core API tests (temporary
 * directories, reading files).  Header-only; included by one .c each. */
#ifndef TEST_CORE_UTIL_H
#define TEST_CORE_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tcu_rm_cb(const char *p, const struct stat *sb, int flag,
                     struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

/* Removes a directory tree (best effort). */
static void tcu_rmtree(const char *dir)
{
    nftw(dir, tcu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Returns a new temporary directory (static buffer per call site slot). */
static char *tcu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/ps_core_XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(buf);
    return d ? strdup(d) : NULL;
}

/* Joins dir and name into a malloc'd path. */
static __attribute__((unused)) char *tcu_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Reads a whole file into a malloc'd NUL-terminated buffer, or NULL. */
static __attribute__((unused)) char *tcu_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t k;
    while (b && (k = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (cap - n < 2) {
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    fclose(f);
    if (b)
        b[n] = '\0';
    return b;
}


#ifdef TCU_TEMPDIR_FIXTURE
/* A fresh temporary directory per test: g_dir, with cmocka setup/teardown
 * functions that create and remove it.  Define TCU_TEMPDIR_FIXTURE before
 * including this header (after <cmocka.h>) to get them. */
static char *g_dir;

static int setup(void **state)
{
    (void)state;
    g_dir = tcu_mkdtemp();
    return g_dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tcu_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
    return 0;
}
#endif

#endif
