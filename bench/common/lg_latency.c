/* lg_latency.c: latency samples.  Contract in lg_latency.h. */
#include "lg_latency.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int lg_latency_add(lg_latency *l, uint64_t us)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 4096;
        uint64_t *nu = realloc(l->us, ncap * sizeof *nu);
        if (!nu)
            return -1;
        l->us = nu;
        l->cap = ncap;
    }
    l->us[l->n++] = us;
    l->sorted = 0;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t lg_latency_pct(lg_latency *l, double p)
{
    if (l->n == 0)
        return 0;
    if (!l->sorted) {
        qsort(l->us, l->n, sizeof *l->us, cmp_u64);
        l->sorted = 1;
    }
    double rank = ceil(p / 100.0 * (double)l->n);
    size_t i = rank < 1.0 ? 0 : (size_t)rank - 1;
    if (i >= l->n)
        i = l->n - 1;
    return l->us[i];
}

void lg_latency_free(lg_latency *l)
{
    free(l->us);
    memset(l, 0, sizeof *l);
}
