/* progress.c: terminal progress line (progress.h). */
#include "progress.h"

#include "util.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define CLEAR "\r\033[K"        /* to column 0, erase to the end of line */
#define CLEAR_LEN 4

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

/* Formats the line into p->text from p's counters.  p->mu held. */
static void format(progress *p, uint64_t now)
{
    double secs = (double)(now - p->start_us) / 1e6;
    double rate = secs > 0 ? (double)p->docs / secs : 0.0;
    char *t = p->text;
    size_t cap = sizeof p->text;
    int n;
    if (p->total_docs > 0)
        n = snprintf(t, cap, "%s: %llu/%llu docs, %.1f docs/s", p->phase,
                     (unsigned long long)p->docs,
                     (unsigned long long)p->total_docs, rate);
    else
        n = snprintf(t, cap, "%s: %llu docs, %.1f docs/s", p->phase,
                     (unsigned long long)p->docs, rate);
    if (n < 0)
        n = 0;
    if ((size_t)n >= cap)
        n = (int)cap - 1;
    if (p->total_bytes > 0 && p->bytes > 0 && p->bytes <= p->total_bytes) {
        double eta = secs * (double)(p->total_bytes - p->bytes) /
                     (double)p->bytes;
        unsigned long e = (unsigned long)(eta + 0.5);
        int k = snprintf(t + n, cap - (size_t)n, ", %.0f%%, ETA %lu:%02lu",
                         100.0 * (double)p->bytes / (double)p->total_bytes,
                         e / 60, e % 60);
        if (k > 0)
            n += (size_t)k < cap - (size_t)n ? k : (int)(cap - (size_t)n) - 1;
    }
    /* Narrower than the terminal: a wrapped line could not be erased. */
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
        (size_t)n >= ws.ws_col)
        n = ws.ws_col - 1;
    p->len = (size_t)n;
    t[n] = '\0';
}

/* Redraws the line in one write.  p->mu held. */
static void draw(progress *p, uint64_t now)
{
    char buf[CLEAR_LEN + sizeof p->text];
    p->last_us = now;
    format(p, now);
    memcpy(buf, CLEAR, CLEAR_LEN);
    memcpy(buf + CLEAR_LEN, p->text, p->len);
    put(buf, CLEAR_LEN + p->len);
    p->shown = 1;
}

/* ps_log_writer: erase the line, print the log line, redraw the line, in
 * one write so the terminal never shows a half state. */
static void log_through(void *ctx, const char *line, size_t len)
{
    progress *p = ctx;
    char buf[CLEAR_LEN + 2048 + sizeof p->text];
    pthread_mutex_lock(&p->mu);
    if (!p->shown || len > sizeof buf - CLEAR_LEN - sizeof p->text) {
        if (p->shown)
            put(CLEAR, CLEAR_LEN);
        put(line, len);
        if (p->shown)
            put(p->text, p->len);
    } else {
        memcpy(buf, CLEAR, CLEAR_LEN);
        memcpy(buf + CLEAR_LEN, line, len);
        memcpy(buf + CLEAR_LEN + len, p->text, p->len);
        put(buf, CLEAR_LEN + len + p->len);
    }
    pthread_mutex_unlock(&p->mu);
}

void progress_init(progress *p, int enabled, uint64_t total_docs,
                   uint64_t total_bytes)
{
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    p->total_docs = total_docs;
    p->total_bytes = total_bytes;
    p->start_us = ps_now_us();
    snprintf(p->phase, sizeof p->phase, "%s", "indexing");
    if (enabled) {
        pthread_mutex_init(&p->mu, NULL);
        ps_log_set_writer(log_through, p);
    }
}

void progress_set_phase(progress *p, const char *phase)
{
    if (!p->enabled)
        return;
    pthread_mutex_lock(&p->mu);
    snprintf(p->phase, sizeof p->phase, "%s", phase);
    if (p->shown)
        draw(p, ps_now_us());
    pthread_mutex_unlock(&p->mu);
}

void progress_update(progress *p, uint64_t docs, uint64_t bytes, int force)
{
    if (!p->enabled)
        return;
    uint64_t now = ps_now_us();
    pthread_mutex_lock(&p->mu);
    p->docs = docs;
    p->bytes = bytes;
    if (force || now - p->last_us >= 200000)
        draw(p, now);
    pthread_mutex_unlock(&p->mu);
}

void progress_end(progress *p)
{
    if (!p->enabled)
        return;
    ps_log_set_writer(NULL, NULL);
    if (p->shown)
        put(CLEAR, CLEAR_LEN);
    p->shown = 0;
    p->enabled = 0;
    pthread_mutex_destroy(&p->mu);
}
