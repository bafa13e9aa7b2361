/* progress.c: terminal progress line (progress.h). */
#include "progress.h"

#include "util.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void progress_init(progress *p, int enabled, uint64_t total_docs,
                   uint64_t total_bytes)
{
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    p->total_docs = total_docs;
    p->total_bytes = total_bytes;
    p->start_us = ps_now_us();
}

static void put(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;             /* a progress line is not worth retrying */
        s += w;
        n -= (size_t)w;
    }
}

void progress_update(progress *p, uint64_t docs, uint64_t bytes, int force)
{
    if (!p->enabled)
        return;
    uint64_t now = ps_now_us();
    if (!force && now - p->last_us < 200000)
        return;
    p->last_us = now;
    double secs = (double)(now - p->start_us) / 1e6;
    double rate = secs > 0 ? (double)docs / secs : 0.0;
    char line[160];
    int n;
    if (p->total_docs > 0)
        n = snprintf(line, sizeof line, "\r\033[K%llu/%llu docs, %.1f docs/s",
                     (unsigned long long)docs,
                     (unsigned long long)p->total_docs, rate);
    else
        n = snprintf(line, sizeof line, "\r\033[K%llu docs, %.1f docs/s",
                     (unsigned long long)docs, rate);
    if (p->total_bytes > 0 && bytes > 0 && bytes <= p->total_bytes &&
        n > 0 && (size_t)n < sizeof line) {
        double eta = secs * (double)(p->total_bytes - bytes) / (double)bytes;
        unsigned long e = (unsigned long)(eta + 0.5);
        n += snprintf(line + n, sizeof line - (size_t)n,
                      ", %.0f%%, ETA %lu:%02lu",
                      100.0 * (double)bytes / (double)p->total_bytes,
                      e / 60, e % 60);
    }
    if (n > 0)
        put(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    p->shown = 1;
}

void progress_clear(progress *p)
{
    if (!p->enabled || !p->shown)
        return;
    put("\r\033[K", 4);
    p->shown = 0;
}
