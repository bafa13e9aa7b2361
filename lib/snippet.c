/* snippet.c: query-term highlighter (see snippet.h). */
#include "snippet.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "analyze.h"
#include "polysearch.h"

typedef struct word {
    size_t off, len;
    long tid; /* matched term (index into terms, then prefixes) or -1 */
} word;

static int is_word_cp(utf8proc_int32_t cp)
{
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

/* Splits text into words; returns the array (caller frees) or NULL on
 * allocation failure; *n receives the count (0 with a non-NULL array is
 * fine). */
static word *split_words(const char *text, size_t len, size_t *n)
{
    size_t cap = 64, cnt = 0;
    word *w = malloc(cap * sizeof *w);
    if (!w)
        return NULL;
    size_t i = 0, start = 0;
    int in_word = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + i,
                                              (utf8proc_ssize_t)(len - i), &cp);
        int wc = k > 0 && is_word_cp(cp);
        if (k <= 0)
            k = 1;
        if (wc && !in_word) {
            start = i;
            in_word = 1;
        } else if (!wc && in_word) {
            if (cnt == cap) {
                word *nw = realloc(w, (cap *= 2) * sizeof *w);
                if (!nw) {
                    free(w);
                    return NULL;
                }
                w = nw;
            }
            w[cnt++] = (word){start, i - start, -1};
            in_word = 0;
        }
        i += (size_t)k;
    }
    if (in_word) {
        if (cnt == cap) {
            word *nw = realloc(w, (cap + 1) * sizeof *w);
            if (!nw) {
                free(w);
                return NULL;
            }
            w = nw;
        }
        w[cnt++] = (word){start, i - start, -1};
    }
    *n = cnt;
    return w;
}

/* ps_fold() of one word; plain ASCII words (most of them) are folded by
 * lower-casing, which is what ps_fold() does to ASCII. */
static char *fold_word(const char *w, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)w[i] >= 0x80)
            return ps_fold(w, len);
    char *f = malloc(len + 1);
    if (!f)
        return NULL;
    for (size_t i = 0; i < len; i++)
        f[i] = (w[i] >= 'A' && w[i] <= 'Z') ? (char)(w[i] + 32) : w[i];
    f[len] = '\0';
    return f;
}

/* Marks the words that match the query.  Returns 0 or -1 (allocation). */
static int match_words(const char *text, word *w, size_t n, const char *lang,
                       const ps_snippet_terms *q)
{
    int stemming = lang && ps_lang_stemmer(lang) != NULL;
    char **qstem = NULL;
    int rc = -1;
    if (q->nterms == 0 && q->nprefixes == 0)
        return 0;
    if (stemming && q->nterms) {
        qstem = calloc(q->nterms, sizeof *qstem);
        if (!qstem)
            return -1;
        for (size_t t = 0; t < q->nterms; t++)
            if (!(qstem[t] = ps_stem(lang, q->terms[t])))
                goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char *f = fold_word(text + w[i].off, w[i].len);
        if (!f)
            goto out;
        char *st = NULL;
        for (size_t t = 0; t < q->nterms && w[i].tid < 0; t++) {
            if (strcmp(f, q->terms[t]) == 0) {
                w[i].tid = (long)t;
            } else if (qstem && qstem[t][0] == f[0]) {
                /* Snowball stemmers rewrite suffixes, never the first
                 * letter: only words starting like the query stem are
                 * stemmed. */
                if (!st && !(st = ps_stem(lang, f))) {
                    free(f);
                    goto out;
                }
                if (strcmp(st, qstem[t]) == 0)
                    w[i].tid = (long)t;
            }
        }
        for (size_t p = 0; p < q->nprefixes && w[i].tid < 0; p++) {
            size_t pl = strlen(q->prefixes[p]);
            if (pl && strncmp(f, q->prefixes[p], pl) == 0)
                w[i].tid = (long)(q->nterms + p);
        }
        free(st);
        free(f);
    }
    rc = 0;
out:
    if (qstem)
        for (size_t t = 0; t < q->nterms; t++)
            free(qstem[t]);
    free(qstem);
    return rc;
}

static size_t span_bytes(const word *w, size_t a, size_t b)
{
    return w[b].off + w[b].len - w[a].off;
}

/* Chooses the window [*pa, *pb] of words with the most distinct matches
 * (then most matches) within max bytes, then widens it around its matches
 * to use the byte budget.  Returns -1 on allocation failure. */
static int choose_window(const word *w, size_t n, size_t nkeys, size_t max,
                         size_t *pa, size_t *pb)
{
    size_t *cnt = calloc(nkeys + 1, sizeof *cnt);
    if (!cnt)
        return -1;
    size_t best_a = 0, best_b = 0, best_score = 0, distinct = 0, total = 0;
    size_t j = 0; /* window is [i, j) */
    for (size_t i = 0; i < n; i++) {
        if (j < i + 1) {
            j = i;
        }
        while (j < n && (j == i || span_bytes(w, i, j) <= max)) {
            if (w[j].tid >= 0) {
                if (cnt[w[j].tid]++ == 0)
                    distinct++;
                total++;
            }
            j++;
        }
        size_t score = distinct * 100000 + total;
        if (score > best_score) {
            best_score = score;
            best_a = i;
            best_b = j - 1;
        }
        if (w[i].tid >= 0) {
            if (--cnt[w[i].tid] == 0)
                distinct--;
            total--;
        }
    }
    free(cnt);
    size_t a, b;
    if (best_score == 0) {
        a = b = 0;
    } else {
        /* Shrink to the first and last match, then widen with context. */
        a = best_a;
        b = best_b;
        while (a < b && w[a].tid < 0)
            a++;
        while (b > a && w[b].tid < 0)
            b--;
        size_t used = span_bytes(w, a, b);
        size_t left_goal = used < max ? (max - used) / 3 : 0;
        size_t first = w[a].off;
        while (a > 0 && first - w[a - 1].off <= left_goal &&
               span_bytes(w, a - 1, b) <= max)
            a--;
    }
    while (b + 1 < n && span_bytes(w, a, b + 1) <= max)
        b++;
    while (a > 0 && span_bytes(w, a - 1, b) <= max)
        a--;
    *pa = a;
    *pb = b;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

int ps_snippet_make(const char *text, size_t len, const char *lang,
                    const ps_snippet_terms *q, size_t max_bytes, char **out,
                    ps_span **spans, uint32_t *nspans)
{
    static const char ell_l[] = "\xe2\x80\xa6 ", ell_r[] = " \xe2\x80\xa6";
    *out = NULL;
    *spans = NULL;
    *nspans = 0;
    int truncated = len > PS_SNIPPET_SCAN_MAX;
    if (truncated)
        len = PS_SNIPPET_SCAN_MAX;
    if (max_bytes == 0)
        max_bytes = 200;
    size_t n = 0;
    word *w = split_words(text, len, &n);
    if (!w)
        return -1;
    if (n == 0) {
        free(w);
        *out = strdup("");
        return *out ? 0 : -1;
    }
    size_t a, b;
    if (match_words(text, w, n, lang, q) != 0 ||
        choose_window(w, n, q->nterms + q->nprefixes, max_bytes, &a, &b) != 0) {
        free(w);
        return -1;
    }
    size_t s = w[a].off, e = w[b].off + w[b].len;
    if (e - s > max_bytes) { /* one huge word: cut at a character start */
        e = s + max_bytes;
        while (e > s && ((unsigned char)text[e] & 0xc0) == 0x80)
            e--;
        truncated = 1;
    }
    char *buf = malloc(sizeof ell_l + (e - s) + sizeof ell_r);
    ps_span *sp = malloc((b - a + 1) * sizeof *sp);
    if (!buf || !sp) {
        free(buf);
        free(sp);
        free(w);
        return -1;
    }
    size_t o = 0;
    uint32_t ns = 0;
    if (a > 0) {
        memcpy(buf, ell_l, sizeof ell_l - 1);
        o = sizeof ell_l - 1;
    }
    size_t pos = s;
    for (size_t k = a; k <= b && pos < e; k++) {
        int sp_run = 0;
        for (; pos < w[k].off && pos < e; pos++) { /* gap, spaces collapsed */
            if (is_space(text[pos])) {
                if (!sp_run)
                    buf[o++] = ' ';
                sp_run = 1;
            } else {
                buf[o++] = text[pos];
                sp_run = 0;
            }
        }
        size_t wl = w[k].len;
        if (pos + wl > e)
            wl = e - pos;
        if (w[k].tid >= 0 && wl > 0)
            sp[ns++] = (ps_span){(uint32_t)o, (uint32_t)wl};
        memcpy(buf + o, text + pos, wl);
        o += wl;
        pos += wl;
    }
    if (b + 1 < n || truncated) {
        memcpy(buf + o, ell_r, sizeof ell_r - 1);
        o += sizeof ell_r - 1;
    }
    buf[o] = '\0';
    free(w);
    if (ns == 0) {
        free(sp);
        sp = NULL;
    }
    *out = buf;
    *spans = sp;
    *nspans = ns;
    return 0;
}
