/* lg_latency.h: latency samples and their percentiles (ps-loadgen and
 * ps-inproc-bench).  One thread at a time per lg_latency.
 */
#ifndef LG_LATENCY_H
#define LG_LATENCY_H

#include <stddef.h>
#include <stdint.h>

typedef struct lg_latency {
    uint64_t *us;   /* samples in microseconds */
    size_t n, cap;
    int sorted;
} lg_latency;

/* Records one sample.  Returns 0, or -1 when memory runs out (the sample
 * is dropped). */
int lg_latency_add(lg_latency *l, uint64_t us);

/* Returns the p-th percentile (0 < p <= 100, nearest rank) in
 * microseconds, 0 when there is no sample.  Sorts the samples once. */
uint64_t lg_latency_pct(lg_latency *l, double p);

/* Frees the samples; the struct may be reused after. */
void lg_latency_free(lg_latency *l);

#endif
