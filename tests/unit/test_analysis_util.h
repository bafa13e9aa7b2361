/* test_analysis_util.h: helpers shared by the analysis unit tests. */
#ifndef TEST_ANALYSIS_UTIL_H
#define TEST_ANALYSIS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Reads $PS_SOURCE_DIR/corpus/<name>.txt into a malloc'd NUL-terminated
 * buffer; fails the test when it cannot. */
static inline char *read_seed(const char *prefix, size_t *len)
{
    const char *src = getenv("PS_SOURCE_DIR");
    static const char *const seeds[] = {
        "000_3d3df94667dbc618", "001_10c8717af35b6bd6",
        "002_3a6c8b53a02b138e", "003_653f2c5ef5783ed2",
        "004_b8e695500c194ab7",
    };
    char path[4096];
    const char *name = NULL;
    FILE *f;
    char *buf;
    long n;

    assert_non_null(src);
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        if (strncmp(seeds[i], prefix, strlen(prefix)) == 0)
            name = seeds[i];
    assert_non_null(name);
    snprintf(path, sizeof path, "%s/corpus/%s.txt", src, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

#endif
