/* snippet.c: query-term highlighter (see snippet.h).
 *
 * One pass over the text, line by line: words are split (ASCII fast path,
 * utf8proc for the rest), each word is looked up in a per-call cache of
 * distinct words, and only cache misses are folded (ps_fold_into, no
 * malloc) and stemmed (through a per-thread stem cache).  In cleaning
 * mode (ps_snippet_make_ex) lines are checked for boilerplate / repetition
 * lazily: only the lines of the chosen window and the word-bearing lines
 * just around it; whenever one of them is dropped the window is chosen
 * again (after MATCH_ROUNDS rounds every line holding a match is checked,
 * after MAX_ROUNDS every scanned line).  Past EARLY_EXIT_MIN bytes the
 * scan stops once a window with every query term exists and enough text
 * follows it.  Lines between two matches are checked when dropping them
 * could bring the matches into one window (check_gaps), so windows are
 * measured as on the cleaned text.  Known approximation: a match in a
 * dropped line outside the chosen window still counts in the scores
 * until the window lands on it.
 */
#include "snippet.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "analyze.h"
#include "fold.h"
#include "polysearch.h"
#include "utf8.h"

/* Entries of the distinct-word cache (a power of two); it stops growing
 * at 3/4 full, after which misses are simply computed each time. */
#define CACHE_SLOTS 256
/* The scan never stops before this offset: bodies up to this size get
 * exactly the window a full scan would choose (the most matches). */
#define EARLY_EXIT_MIN (8 * 1024)
/* Lines before this index are checked for repetition by direct comparison
 * (same_line() checks lengths first); later ones through a hash set. */
#define LINEAR_DUP_LINES 256
/* Window choices before every line with a match is checked at once, and
 * before every scanned line is. */
#define MATCH_ROUNDS 3
#define MAX_ROUNDS 8

typedef struct word {
    uint32_t off, len; /* raw bytes in text */
    uint32_t line;     /* index into lines */
    uint32_t voff;     /* offset with dropped lines' bytes removed */
    int32_t tid;       /* matched term (index into terms, then prefixes) or -1 */
} word;

enum { L_UNKNOWN = 0, L_KEPT, L_DROPPED };

typedef struct line {
    uint32_t start, next;  /* raw range, next = start of the following line */
    uint32_t ts, te;       /* trimmed content [ts, te) */
    uint32_t w0;           /* index of its first word (words are in order) */
    uint8_t state;
    uint8_t matched;       /* holds a match */
} line;

typedef struct cache_ent {
    const char *p; /* raw word in text; NULL = empty slot */
    uint32_t len;
    int32_t tid;
} cache_ent;

/* Lines seen so far, by content (first occurrence), for repetition. */
typedef struct line_set {
    uint32_t *slot; /* line index + 1, 0 = empty */
    size_t cap, n;
    uint32_t upto;  /* lines [0, upto) are in the set */
} line_set;

typedef struct ctx {
    const char *text;
    size_t len;            /* scanned length */
    const ps_snippet_terms *q;
    const char *lang;
    const char *stemmer;   /* ps_lang_stemmer(lang), or NULL */
    struct stem_ent *stems; /* this thread's stem cache, or NULL */
    int clean;             /* drop boilerplate and repeated lines */
    const struct ps_boilerplate *bp;
    size_t nkeys;
    char **qstem;          /* stems of q->terms, or NULL (no stemming) */
    size_t *tlen, *plen;   /* lengths of terms and prefixes */
    unsigned char first_ok[128]; /* ASCII bytes some term, stem or prefix starts with */
    cache_ent *cache;
    size_t ncache;
    word *w;
    size_t nw, wcap;
    line *ln;
    size_t nl, lcap;
    line_set seen;
    ps_snippet_stats st;
} ctx;

/* ---- Words ------------------------------------------------------------ */

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

/* ASCII letters and digits are the only ASCII word characters (every
 * other ASCII code point is punctuation, a symbol, a space or a control). */
static int is_ascii_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v' || c == '\0';
}

/* Hash of a short byte string, 8 bytes at a time. */
static uint32_t hash_bytes(const char *p, size_t len)
{
    const uint64_t k = UINT64_C(0xff51afd7ed558ccd);
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ len;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * k;
        h ^= h >> 32;
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++)
            v |= (uint64_t)(unsigned char)p[i] << (8 * i);
        h = (h ^ v) * k;
        h ^= h >> 32;
    }
    return (uint32_t)(h ^ (h >> 29));
}

/* ---- Stem cache ------------------------------------------------------- */

/* Each thread keeps the stems it computed (direct-mapped, by stemmer and
 * word) across calls: the same few thousand words come back in every
 * search.  Freed when the thread exits. */
#define STEM_SLOTS 2048
#define STEM_MAXW 27

typedef struct stem_ent {
    const char *stemmer; /* static name from ps_lang_stemmer(); NULL: empty */
    unsigned char wlen, slen;
    char word[STEM_MAXW];
    char stem[STEM_MAXW + 1];
} stem_ent;

static pthread_key_t stem_key;
static pthread_once_t stem_once = PTHREAD_ONCE_INIT;
static int stem_key_ok;

static void stem_key_init(void)
{
    stem_key_ok = pthread_key_create(&stem_key, free) == 0;
}

/* This thread's cache, or NULL (then every stem is computed). */
static stem_ent *stem_cache(void)
{
    static _Thread_local stem_ent *tl;
    static _Thread_local int failed;
    if (tl || failed)
        return tl;
    pthread_once(&stem_once, stem_key_init);
    if (!stem_key_ok) {
        failed = 1;
        return NULL;
    }
    tl = calloc(STEM_SLOTS, sizeof *tl);
    if (tl && pthread_setspecific(stem_key, tl) != 0) {
        free(tl);
        tl = NULL;
        failed = 1;
    }
    return tl;
}

/* Stem of the folded word f[0..flen) (NUL-terminated) in c->lang.
 * Returns a string valid until the next call (in the thread cache), or a
 * malloc'd one stored in *owned too (caller frees); NULL on allocation
 * failure. */
static const char *stem_word(ctx *c, const char *f, size_t flen, char **owned)
{
    stem_ent *tab = c->stems, *e = NULL;
    *owned = NULL;
    if (tab && flen <= STEM_MAXW) {
        uint32_t h = hash_bytes(f, flen) ^ (uint32_t)(uintptr_t)c->stemmer;
        e = &tab[(h ^ (h >> 15)) & (STEM_SLOTS - 1)];
        if (e->stemmer == c->stemmer && e->wlen == flen &&
            memcmp(e->word, f, flen) == 0)
            return e->stem;
    }
    c->st.stems++;
    char *s = ps_stem(c->lang, f);
    if (!s)
        return NULL;
    size_t sl = strlen(s);
    if (e && sl <= STEM_MAXW) {
        e->stemmer = c->stemmer;
        e->wlen = (unsigned char)flen;
        memcpy(e->word, f, flen);
        e->slen = (unsigned char)sl;
        memcpy(e->stem, s, sl + 1);
        free(s);
        return e->stem;
    }
    *owned = s;
    return s;
}

/* ---- Matching --------------------------------------------------------- */

/* Match of a folded word f[0..flen) against the query, or -1; -2 on
 * allocation failure. */
static int32_t match_folded(ctx *c, const char *f, size_t flen)
{
    const ps_snippet_terms *q = c->q;
    const char *stem = NULL;
    char *owned = NULL;
    int32_t tid = -1;
    for (size_t t = 0; t < q->nterms && tid < 0; t++) {
        if (c->tlen[t] == flen && memcmp(f, q->terms[t], flen) == 0) {
            tid = (int32_t)t;
        } else if (c->qstem && c->qstem[t][0] == f[0]) {
            /* Snowball stemmers rewrite suffixes, never the first letter:
             * only words starting like the query stem are stemmed. */
            if (!stem && !(stem = stem_word(c, f, flen, &owned)))
                return -2;
            if (strcmp(stem, c->qstem[t]) == 0)
                tid = (int32_t)t;
        }
    }
    free(owned);
    for (size_t p = 0; p < q->nprefixes && tid < 0; p++)
        if (c->plen[p] && c->plen[p] <= flen &&
            memcmp(f, q->prefixes[p], c->plen[p]) == 0)
            tid = (int32_t)(q->nterms + p);
    return tid;
}

/* Match of the raw word w[0..len), through the distinct-word cache; -2 on
 * allocation failure. */
static int32_t match_word(ctx *c, const char *w, size_t len)
{
    uint32_t h = hash_bytes(w, len);
    size_t i = h & (CACHE_SLOTS - 1);
    while (c->cache[i].p) {
        if (c->cache[i].len == len && memcmp(c->cache[i].p, w, len) == 0)
            return c->cache[i].tid;
        i = (i + 1) & (CACHE_SLOTS - 1);
    }
    c->st.words_folded++;
    char buf[256];
    int32_t tid;
    size_t flen = ps_fold_into(w, len, buf, sizeof buf);
    if (flen == (size_t)-1)
        return -2;
    if (flen < sizeof buf) {
        tid = match_folded(c, buf, flen);
    } else {
        char *f = ps_fold(w, len);
        if (!f)
            return -2;
        tid = match_folded(c, f, strlen(f));
        free(f);
    }
    if (tid != -2 && c->ncache < CACHE_SLOTS / 4 * 3) {
        c->cache[i] = (cache_ent){w, (uint32_t)len, tid};
        c->ncache++;
    }
    return tid;
}

/* Array growth for push_word and push_line: returns arr when it has room
 * for element n (n < *cap), else arr reallocated to twice *cap (first
 * when 0) elements of elsize bytes with *cap updated; NULL on allocation
 * failure (arr and *cap are unchanged then). */
static void *room_for(void *arr, size_t n, size_t *cap, size_t elsize,
                      size_t first)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : first;
    void *na = realloc(arr, ncap * elsize);
    if (na)
        *cap = ncap;
    return na;
}

static int push_word(ctx *c, word wd)
{
    word *nw = room_for(c->w, c->nw, &c->wcap, sizeof *nw, 256);
    if (!nw)
        return -1;
    c->w = nw;
    c->w[c->nw++] = wd;
    return 0;
}

/* Splits text[from, to) of line li into words, matching each one; stops
 * at the first word starting after stop (SIZE_MAX: never).  Returns the
 * position where it stopped (to when done), or SIZE_MAX on allocation
 * failure; *matched is set when a word matched. */
static size_t split_range(ctx *c, size_t from, size_t to, uint32_t li,
                          size_t stop, int *matched)
{
    const unsigned char *s = (const unsigned char *)c->text;
    size_t i = from, start = 0;
    int in_word = 0;
    while (i <= to) {
        int wc = 0;
        size_t k = 1;
        if (i < to) {
            if (s[i] < 0x80) {
                wc = is_ascii_word(s[i]);
            } else {
                utf8proc_int32_t cp;
                utf8proc_ssize_t n = utf8proc_iterate(s + i, (utf8proc_ssize_t)(to - i), &cp);
                if (n > 0) {
                    k = (size_t)n;
                    wc = is_word_cp(cp);
                }
            }
        }
        if (wc && !in_word) {
            if (i > stop)
                return i;
            start = i;
            in_word = 1;
        } else if (!wc && in_word) {
            word wd = {(uint32_t)start, (uint32_t)(i - start), li, 0, -1};
            /* A word starting with an ASCII byte folds to a word starting
             * with that byte lower-cased (marks after it are dropped, NFKC
             * leaves it alone), and every kind of match needs the first
             * folded byte of a term, a term's stem or a prefix: most words
             * are rejected here without being folded. */
            unsigned char fb = s[start];
            if (fb >= 'A' && fb <= 'Z')
                fb = (unsigned char)(fb + 32);
            if (c->nkeys && (fb >= 0x80 || c->first_ok[fb])) {
                int32_t tid = match_word(c, c->text + start, i - start);
                if (tid == -2)
                    return SIZE_MAX;
                wd.tid = tid;
                *matched |= tid >= 0;
            }
            if (push_word(c, wd) != 0)
                return SIZE_MAX;
            c->st.words++;
            in_word = 0;
        }
        i += k;
    }
    return to;
}

/* ---- Lines ------------------------------------------------------------ */

static int is_trim(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

static uint64_t line_hash(const ctx *c, const line *l)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (uint32_t i = l->ts; i < l->te; i++) {
        h ^= (unsigned char)c->text[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static int same_line(const ctx *c, const line *a, const line *b)
{
    return a->te - a->ts == b->te - b->ts &&
           memcmp(c->text + a->ts, c->text + b->ts, a->te - a->ts) == 0;
}

/* Index of the first line with the content of line li among the lines
 * in the set (li itself when none); adds li when add.  SIZE_MAX on
 * allocation failure. */
static size_t line_set_find(ctx *c, uint32_t li, int add)
{
    line_set *s = &c->seen;
    if (add && (s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        uint32_t *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return SIZE_MAX;
        for (size_t k = 0; k < s->cap; k++) {
            if (!s->slot[k])
                continue;
            size_t j = (size_t)line_hash(c, &c->ln[s->slot[k] - 1]) & (ncap - 1);
            while (ns[j])
                j = (j + 1) & (ncap - 1);
            ns[j] = s->slot[k];
        }
        free(s->slot);
        s->slot = ns;
        s->cap = ncap;
    }
    if (!s->cap)
        return li;
    size_t j = (size_t)line_hash(c, &c->ln[li]) & (s->cap - 1);
    while (s->slot[j]) {
        if (same_line(c, &c->ln[s->slot[j] - 1], &c->ln[li]))
            return s->slot[j] - 1;
        j = (j + 1) & (s->cap - 1);
    }
    if (add) {
        s->slot[j] = li + 1;
        s->n++;
    }
    return li;
}

/* Decides whether line li stays (as ps_clean_body would): 0 or -1 on
 * allocation failure. */
static int check_line(ctx *c, uint32_t li)
{
    line *l = &c->ln[li];
    if (l->state != L_UNKNOWN)
        return 0;
    if (!c->clean || l->ts == l->te) {
        l->state = L_KEPT;
        return 0;
    }
    c->st.lines_checked++;
    if (ps_boilerplate_line(c->bp, c->text + l->ts, l->te - l->ts)) {
        l->state = L_DROPPED;
        return 0;
    }
    /* Repeated verbatim: an earlier line has the same trimmed content.
     * Early lines are compared directly (cheaper than hashing every line
     * before them); later ones go through the set of lines seen. */
    if (li < LINEAR_DUP_LINES) {
        l->state = L_KEPT;
        for (uint32_t j = 0; j < li; j++)
            if (same_line(c, &c->ln[j], l)) {
                l->state = L_DROPPED;
                break;
            }
        return 0;
    }
    while (c->seen.upto < li) {
        if (c->ln[c->seen.upto].ts < c->ln[c->seen.upto].te &&
            line_set_find(c, c->seen.upto, 1) == SIZE_MAX)
            return -1;
        c->seen.upto++;
    }
    size_t first = line_set_find(c, li, 0);
    if (first == SIZE_MAX)
        return -1;
    l->state = first < li ? L_DROPPED : L_KEPT;
    return 0;
}

/* Removes the words of dropped lines and sets each word's voff to its
 * offset in the text ps_clean_body() would produce (kept lines trimmed,
 * joined by one line break, two after blank lines; lines not checked yet
 * count as kept), so that windows are measured as on that text. */
static void compact(ctx *c)
{
    size_t o = 0, k = 0;
    uint32_t pos = 0;   /* cleaned length so far */
    int pending_blank = 0;
    for (uint32_t li = 0; li < c->nl; li++) {
        const line *l = &c->ln[li];
        if (l->ts == l->te) {
            pending_blank = pos > 0;
            continue;
        }
        if (l->state == L_DROPPED) {
            while (k < c->nw && c->w[k].line == li)
                k++;
            continue;
        }
        if (pos > 0)
            pos++;
        if (pending_blank)
            pos++;
        pending_blank = 0;
        for (; k < c->nw && c->w[k].line == li; k++) {
            word wd = c->w[k];
            wd.voff = pos + (wd.off - l->ts);
            c->w[o++] = wd;
        }
        pos += l->te - l->ts;
    }
    c->nw = o;
}

/* ---- Scan ------------------------------------------------------------- */

/* Early-exit tracker: last occurrence of each key. */
typedef struct tracker {
    uint32_t *last; /* end offset + 1 of the last match, 0 = none */
    size_t seen;
    int found;
    size_t stop;    /* scan no word starting after this offset */
} tracker;

static void track(ctx *c, tracker *tr, size_t max, size_t w0)
{
    if (c->nkeys == 0) { /* no terms: the window starts at the first word */
        if (!tr->found && c->nw > 0) {
            tr->found = 1;
            tr->stop = (size_t)c->w[0].off + 2 * max + 256;
            if (tr->stop < EARLY_EXIT_MIN)
                tr->stop = EARLY_EXIT_MIN;
        }
        return;
    }
    for (size_t k = w0; k < c->nw && !tr->found; k++) {
        const word *wd = &c->w[k];
        if (wd->tid < 0)
            continue;
        if (tr->last[wd->tid] == 0)
            tr->seen++;
        tr->last[wd->tid] = wd->off + 1;
        if (tr->seen < c->nkeys)
            continue;
        uint32_t lo = UINT32_MAX;
        for (size_t t = 0; t < c->nkeys; t++)
            if (tr->last[t] - 1 < lo)
                lo = tr->last[t] - 1;
        if (wd->off + wd->len - lo <= max) {
            tr->found = 1;
            tr->stop = (size_t)wd->off + wd->len + 2 * max + 256;
            if (tr->stop < EARLY_EXIT_MIN)
                tr->stop = EARLY_EXIT_MIN;
        }
    }
}

static int push_line(ctx *c, line l)
{
    line *nl = room_for(c->ln, c->nl, &c->lcap, sizeof *nl, 64);
    if (!nl)
        return -1;
    c->ln = nl;
    c->ln[c->nl++] = l;
    return 0;
}

/* Splits the text line by line until the end or the early exit; *more is
 * set when text was left unscanned.  0 or -1 (allocation). */
static int scan(ctx *c, size_t max, int *more)
{
    tracker tr = {NULL, 0, 0, SIZE_MAX};
    if (c->nkeys) {
        tr.last = calloc(c->nkeys, sizeof *tr.last);
        if (!tr.last)
            return -1;
    }
    size_t pos = 0;
    int rc = -1;
    while (pos < c->len) {
        const char *nl = memchr(c->text + pos, '\n', c->len - pos);
        size_t end = nl ? (size_t)(nl - c->text) : c->len;
        size_t ts = pos, te = end;
        while (ts < te && is_trim(c->text[ts]))
            ts++;
        while (te > ts && is_trim(c->text[te - 1]))
            te--;
        if (tr.found && ts > tr.stop && te > ts) {
            *more = 1;
            break;
        }
        line l = {(uint32_t)pos, (uint32_t)(nl ? end + 1 : end), (uint32_t)ts,
                  (uint32_t)te, (uint32_t)c->nw, L_UNKNOWN, 0};
        if (push_line(c, l) != 0)
            goto out;
        uint32_t li = (uint32_t)(c->nl - 1);
        int matched = 0;
        size_t got = split_range(c, ts, te, li, tr.found ? tr.stop : SIZE_MAX,
                                 &matched);
        if (got == SIZE_MAX)
            goto out;
        c->st.bytes_scanned += got - pos;
        c->ln[li].matched = (uint8_t)matched;
        if (matched || c->nkeys == 0)
            track(c, &tr, max, c->ln[li].w0);
        if (got < te) {
            c->ln[li].next = (uint32_t)got; /* cut: the rest is unseen */
            *more = 1;
            break;
        }
        pos = nl ? end + 1 : end;
    }
    rc = 0;
out:
    free(tr.last);
    return rc;
}

/* ---- Window ----------------------------------------------------------- */

static size_t span_bytes(const word *w, size_t a, size_t b)
{
    return w[b].voff + w[b].len - w[a].voff;
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
    for (size_t i = 0; i < n && nkeys; i++) {
        if (j < i + 1)
            j = i;
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
        size_t first = w[a].voff;
        while (a > 0 && first - w[a - 1].voff <= left_goal &&
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

/* Checks the unchecked lines between two consecutive matches that are too
 * far apart for one window only as long as those lines count: dropping
 * them might bring the two matches together, as on the cleaned text.
 * Needs voff up to date (compact()).  0 or -1. */
static int check_gaps(ctx *c, size_t max)
{
    size_t prev = SIZE_MAX;
    for (size_t k = 0; k < c->nw; k++) {
        if (c->w[k].tid < 0)
            continue;
        if (prev != SIZE_MAX && span_bytes(c->w, prev, k) > max &&
            c->w[k].line > c->w[prev].line + 1) {
            size_t unknown = 0;
            for (uint32_t li = c->w[prev].line + 1; li < c->w[k].line; li++)
                if (c->ln[li].state == L_UNKNOWN && c->ln[li].ts < c->ln[li].te)
                    unknown += c->ln[li].te - c->ln[li].ts + 1;
            if (unknown && span_bytes(c->w, prev, k) - unknown <= max)
                for (uint32_t li = c->w[prev].line + 1; li < c->w[k].line; li++)
                    if (check_line(c, li) != 0)
                        return -1;
        }
        prev = k;
    }
    return 0;
}

/* Checks the lines of the window [a, b], the word-bearing lines just
 * before and after it (they decide the "…" markers); *dropped is set when
 * one of them was dropped.  0 or -1. */
static int check_window(ctx *c, size_t a, size_t b, int *dropped)
{
    *dropped = 0;
    uint32_t l0 = c->w[a].line, l1 = c->w[b].line;
    if (a > 0)
        l0 = c->w[a - 1].line;
    if (b + 1 < c->nw)
        l1 = c->w[b + 1].line;
    for (uint32_t li = l0; li <= l1; li++) {
        if (c->ln[li].state != L_UNKNOWN)
            continue;
        if (check_line(c, li) != 0)
            return -1;
        *dropped |= c->ln[li].state == L_DROPPED;
    }
    return 0;
}

/* ---- Output ----------------------------------------------------------- */

/* Appends text[from, to) (line li .. whichever line holds to) to buf at
 * *o: dropped lines skipped, white space runs (and line breaks) collapsed
 * to one space, invalid UTF-8 replaced by U+FFFD. */
static void emit_gap(const ctx *c, size_t from, size_t to, uint32_t li,
                     char *buf, size_t *o)
{
    const unsigned char *s = (const unsigned char *)c->text;
    int sp_run = 0;
    size_t p = from;
    while (p < to) {
        while (li + 1 < c->nl && c->ln[li].next <= p)
            li++;
        size_t lend = c->ln[li].next < to ? c->ln[li].next : to;
        if (c->ln[li].state == L_DROPPED) {
            if (!sp_run)
                buf[(*o)++] = ' ';
            sp_run = 1;
            p = lend;
            continue;
        }
        while (p < lend) {
            if (s[p] < 0x80) {
                if (is_space((char)s[p])) {
                    if (!sp_run)
                        buf[(*o)++] = ' ';
                    sp_run = 1;
                } else {
                    buf[(*o)++] = (char)s[p];
                    sp_run = 0;
                }
                p++;
                continue;
            }
            utf8proc_int32_t cp;
            utf8proc_ssize_t n = utf8proc_iterate(s + p, (utf8proc_ssize_t)(lend - p), &cp);
            if (n > 0) {
                memcpy(buf + *o, s + p, (size_t)n);
                *o += (size_t)n;
                p += (size_t)n;
            } else {
                memcpy(buf + *o, "\xEF\xBF\xBD", 3);
                *o += 3;
                p++;
            }
            sp_run = 0;
        }
        if (lend == to)
            break;
    }
}

static int build(const ctx *c, size_t a, size_t b, size_t max, int more,
                 char **out, ps_span **spans, uint32_t *nspans)
{
    static const char ell_l[] = "\xe2\x80\xa6 ", ell_r[] = " \xe2\x80\xa6";
    const word *w = c->w;
    size_t s = w[a].off, e = (size_t)w[b].off + w[b].len;
    if (a == b && e - s > max) { /* one huge word: cut at a character start */
        e = s + ps_utf8_cut(c->text + s, e - s, max);
        more = 1;
    }
    /* Gaps may grow 3x (invalid bytes -> U+FFFD). */
    char *buf = malloc(sizeof ell_l + 3 * (e - s) + sizeof ell_r);
    ps_span *sp = malloc((b - a + 1) * sizeof *sp);
    if (!buf || !sp) {
        free(buf);
        free(sp);
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
        if (k > a)
            emit_gap(c, pos, w[k].off, w[k - 1].line, buf, &o);
        pos = w[k].off;
        size_t wl = w[k].len;
        if (pos + wl > e)
            wl = e - pos;
        if (w[k].tid >= 0 && wl > 0)
            sp[ns++] = (ps_span){(uint32_t)o, (uint32_t)wl};
        memcpy(buf + o, c->text + pos, wl);
        o += wl;
        pos += wl;
    }
    if (b + 1 < c->nw || more) {
        memcpy(buf + o, ell_r, sizeof ell_r - 1);
        o += sizeof ell_r - 1;
    }
    buf[o] = '\0';
    if (ns == 0) {
        free(sp);
        sp = NULL;
    }
    *out = buf;
    *spans = sp;
    *nspans = ns;
    return 0;
}

/* ---- Entry points ----------------------------------------------------- */

/* Lets words whose folded form starts like s be matched. */
static void allow_first(ctx *c, const char *s)
{
    if ((unsigned char)s[0] < 0x80)
        c->first_ok[(unsigned char)s[0]] = 1;
}

static int prepare_terms(ctx *c)
{
    const ps_snippet_terms *q = c->q;
    c->nkeys = q->nterms + q->nprefixes;
    if (!c->nkeys)
        return 0;
    c->tlen = malloc((q->nterms + 1) * sizeof *c->tlen);
    c->plen = malloc((q->nprefixes + 1) * sizeof *c->plen);
    c->cache = calloc(CACHE_SLOTS, sizeof *c->cache);
    if (!c->tlen || !c->plen || !c->cache)
        return -1;
    for (size_t t = 0; t < q->nterms; t++) {
        c->tlen[t] = strlen(q->terms[t]);
        allow_first(c, q->terms[t]);
    }
    for (size_t p = 0; p < q->nprefixes; p++) {
        c->plen[p] = strlen(q->prefixes[p]);
        allow_first(c, q->prefixes[p]);
    }
    c->stemmer = c->lang ? ps_lang_stemmer(c->lang) : NULL;
    if (c->stemmer && q->nterms) {
        c->stems = stem_cache();
        c->qstem = calloc(q->nterms, sizeof *c->qstem);
        if (!c->qstem)
            return -1;
        for (size_t t = 0; t < q->nterms; t++) {
            char *owned;
            const char *st = stem_word(c, q->terms[t], c->tlen[t], &owned);
            if (!st)
                return -1;
            if (!(c->qstem[t] = owned ? owned : strdup(st)))
                return -1;
            allow_first(c, c->qstem[t]);
        }
    }
    return 0;
}

static void ctx_free(ctx *c)
{
    if (c->qstem)
        for (size_t t = 0; t < c->q->nterms; t++)
            free(c->qstem[t]);
    free(c->qstem);
    free(c->tlen);
    free(c->plen);
    free(c->cache);
    free(c->w);
    free(c->ln);
    free(c->seen.slot);
}

static int make(const char *text, size_t len, const char *lang,
                const ps_snippet_terms *q, int clean,
                const struct ps_boilerplate *bp, size_t max_bytes, char **out,
                ps_span **spans, uint32_t *nspans, ps_snippet_stats *stats)
{
    static const ps_snippet_terms none = {NULL, 0, NULL, 0};
    *out = NULL;
    *spans = NULL;
    *nspans = 0;
    if (!text)
        len = 0;
    if (!q)
        q = &none;
    int more = len > PS_SNIPPET_SCAN_MAX;
    if (more)
        len = PS_SNIPPET_SCAN_MAX;
    if (max_bytes == 0)
        max_bytes = 200;
    if (max_bytes > PS_SNIPPET_SCAN_MAX)
        max_bytes = PS_SNIPPET_SCAN_MAX;
    ctx c;
    memset(&c, 0, sizeof c);
    c.text = text ? text : "";
    c.len = len;
    c.q = q;
    c.lang = lang;
    c.clean = clean;
    c.bp = bp;
    int rc = -1;
    if (prepare_terms(&c) != 0 || scan(&c, max_bytes, &more) != 0)
        goto out;
    size_t a = 0, b = 0;
    if (clean && c.nkeys) {
        compact(&c);
        if (check_gaps(&c, max_bytes) != 0)
            goto out;
    }
    for (int round = 1;; round++) {
        compact(&c);
        if (c.nw == 0)
            break;
        if (choose_window(c.w, c.nw, c.nkeys, max_bytes, &a, &b) != 0)
            goto out;
        if (!clean)
            break;
        if (round == MAX_ROUNDS) { /* stop being lazy: check every line */
            for (uint32_t li = 0; li < c.nl; li++)
                if (check_line(&c, li) != 0)
                    goto out;
            compact(&c);
            if (c.nw && choose_window(c.w, c.nw, c.nkeys, max_bytes, &a, &b) != 0)
                goto out;
            break;
        }
        int dropped = 0, d;
        if (round == MATCH_ROUNDS) /* matches keep landing in dropped lines */
            for (uint32_t li = 0; li < c.nl; li++) {
                if (!c.ln[li].matched)
                    continue;
                if (check_line(&c, li) != 0)
                    goto out;
                dropped |= c.ln[li].state == L_DROPPED;
            }
        if (check_window(&c, a, b, &d) != 0)
            goto out;
        if (!(dropped | d))
            break;
    }
    if (c.nw == 0) {
        *out = strdup("");
        rc = *out ? 0 : -1;
        goto out;
    }
    rc = build(&c, a, b, max_bytes, more, out, spans, nspans);
out:
    if (stats)
        *stats = c.st;
    ctx_free(&c);
    return rc;
}

int ps_snippet_make(const char *text, size_t len, const char *lang,
                    const ps_snippet_terms *q, size_t max_bytes, char **out,
                    ps_span **spans, uint32_t *nspans)
{
    return make(text, len, lang, q, 0, NULL, max_bytes, out, spans, nspans,
                NULL);
}

int ps_snippet_make_ex(const char *text, size_t len, const char *lang,
                       const ps_snippet_terms *q,
                       const struct ps_boilerplate *bp, size_t max_bytes,
                       char **out, ps_span **spans, uint32_t *nspans,
                       ps_snippet_stats *stats)
{
    return make(text, len, lang, q, 1, bp, max_bytes, out, spans, nspans,
                stats);
}
