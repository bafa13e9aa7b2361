/* fuzz_query.c: libFuzzer harness over query parsing and searching
 * through the C API (ps_search in lib/core/search.cc, snippets, facets,
 * spelling) on a small database.
 *
 * The database is built once (LLVMFuzzerInitialize, or lazily on the
 * first input for the replay driver) from the five seed articles in
 * <source>/corpus/ plus a few short multilingual documents, with
 * ps_db_put into a temporary directory that is removed at exit.  The
 * source directory comes from the environment variable PS_SOURCE_DIR or,
 * failing that, the compiled-in PS_FUZZ_SOURCE_DIR.  With PS_FUZZ_VERBOSE
 * set, each input's status and hit count go to stderr.
 *
 * Input layout: the first OPT_BYTES bytes are options (missing bytes
 * count as 0), the rest is the query string (cut at the first NUL byte,
 * as a C caller would pass it):
 *   [0] flags: bit0 snippets, bit1 facets, bit2 spelling, bit3 sort by
 *       date, bit4 language filter, bit5 date_from, bit6 date_to,
 *       bit7 small snippet_bytes
 *   [1] language filter index into LANGS (also picks dates)
 *   [2] offset (0..255)
 *   [3] limit (value % 64; 0 means the default 10)
 *   [4] max_wildcard (0: default 1000; else value % 32)
 *   [5] snippet_bytes when bit7 is set (value, 0 means default)
 * tests/fuzz/make_query_seeds.py writes the seed corpus in this layout.
 *
 * Invariants (abort on failure): the status is PS_OK or one of the
 * errors a bad query may give (PS_ERR_QUERY, PS_ERR_TOO_MANY_TERMS,
 * PS_ERR_INVALID, PS_ERR_TOO_LARGE over the 4 KiB default); on an error the result is NULL and the handle has a
 * message; on success nhits <= limit and nhits <= total, ranks follow
 * the offset, every string is valid UTF-8, snippets are "" unless asked,
 * every highlight span lies inside its snippet on character boundaries,
 * hits honour the language filter, facets appear only when asked and
 * their counts are positive, a suggestion appears only when asked or
 * when nothing matched; an error message is valid UTF-8 whenever
 * the query and the language filter are.
 */
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "polysearch.h"

#ifndef PS_FUZZ_SOURCE_DIR
#define PS_FUZZ_SOURCE_DIR "."
#endif

#define OPT_BYTES 6

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, \
                    __FILE__, __LINE__);                                  \
            abort();                                                      \
        }                                                                 \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Language filters tried: valid codes, "und", an unknown code and
 * malformed ones (these must give PS_ERR_INVALID or no hits, never a
 * crash). */
static const char *const LANGS[8] = {"en", "fr", "de", "es", "und", "zz",
                                     "", "e\xff"};
static const char *const DATES[4] = {"2020-01-01", "2024-06-30T12:00:00Z",
                                     "not-a-date", "1999"};

static ps_db *g_db;
static char g_dir[4096];

/* Reads a whole file into a NUL-terminated malloc'd buffer, or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            char *p = realloc(buf, cap + 65536);
            if (p == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
            cap += 65536;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int rm_cb(const char *p, const struct stat *sb, int flag,
                 struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void cleanup(void)
{
    ps_db_close(g_db);
    g_db = NULL;
    if (g_dir[0] != '\0')
        nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void put_or_die(ps_db *w, const ps_doc_in *d)
{
    ps_status st = ps_db_put(w, d, NULL);
    if (st != PS_OK) {
        fprintf(stderr, "fuzz_query: put %s: %s\n", d->id, ps_db_errmsg(w));
        exit(1);
    }
}

/* Builds the database and opens the read handle; exits on failure (a
 * broken setup is not a finding). */
static void setup_db(void)
{
    const char *src = getenv("PS_SOURCE_DIR");
    const char *tmp = getenv("TMPDIR");
    char cdir[4096], path[8192];
    ps_db *w = NULL;
    char *err = NULL;
    int nseed = 0;
    if (src == NULL || *src == '\0')
        src = PS_FUZZ_SOURCE_DIR;
    snprintf(g_dir, sizeof g_dir, "%s/ps_fuzz_query_XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL) {
        perror("fuzz_query: mkdtemp");
        exit(1);
    }
    atexit(cleanup);
    snprintf(path, sizeof path, "%s/db", g_dir);
    if (ps_db_open(path, PS_DB_WRITE, &w, &err) != PS_OK) {
        fprintf(stderr, "fuzz_query: open %s: %s\n", path, err ? err : "?");
        exit(1);
    }
    snprintf(cdir, sizeof cdir, "%s/corpus", src);
    DIR *dir = opendir(cdir);
    if (dir == NULL) {
        fprintf(stderr, "fuzz_query: cannot read %s (set PS_SOURCE_DIR)\n",
                cdir);
        exit(1);
    }
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".txt") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", cdir, e->d_name);
        char *body = slurp(path);
        if (body == NULL)
            continue;
        char date[16];
        snprintf(date, sizeof date, "2023-0%d-15", 1 + nseed % 9);
        ps_doc_in d = {.id = e->d_name, .body = body, .date = date,
                       .url = "https://example.org/seed"};
        put_or_die(w, &d);
        free(body);
        nseed++;
    }
    closedir(dir);
    if (nseed == 0) {
        fprintf(stderr, "fuzz_query: no *.txt seed files in %s\n", cdir);
        exit(1);
    }
    /* Short documents: every stemmer language, accents, CJK, a title,
     * dates for sorting and date ranges. */
    static const ps_doc_in extra[] = {
        {"en1", "Innovation hubs", "Innovation hubs and biotech clusters grow "
         "in Lyon; researchers innovate.", "en", "2024-01-02", NULL},
        {"fr1", "Santé publique", "La santé publique et l'économie de la "
         "région: compétitivité, innovations, hôpitaux.", "fr", "2022-05-06",
         "https://example.org/fr"},
        {"de1", NULL, "Die Straße führt zur Universität; Größe und Maße der "
         "Innovationen.", "de", NULL, NULL},
        {"es1", NULL, "La investigación española: niño, año, corazón.", "es",
         "2021-12-31T23:59:59Z", NULL},
        {"it1", NULL, "Perché la città è più bella: università, qualità.",
         "it", NULL, NULL},
        {"zh1", "中文", "中文检索 测试 文档", "und", NULL, NULL},
        {"mix", "naïve café", "naïve café œuvre straße ǅemal ﬁle", NULL, NULL,
         NULL},
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        put_or_die(w, &extra[i]);
    if (ps_db_close(w) != PS_OK) {
        fprintf(stderr, "fuzz_query: commit failed\n");
        exit(1);
    }
    snprintf(path, sizeof path, "%s/db", g_dir);
    if (ps_db_open(path, PS_DB_READ, &g_db, &err) != PS_OK) {
        fprintf(stderr, "fuzz_query: reopen %s: %s\n", path, err ? err : "?");
        exit(1);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (g_db == NULL)
        setup_db();
    return 0;
}

/* Strict UTF-8 check (no overlongs, surrogates or code points past
 * U+10FFFF) over s[0..n). */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1; cp = c & 0x1f; min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2; cp = c & 0x0f; min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3; cp = c & 0x07; min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static void check_str(const char *s, int may_be_null)
{
    if (s == NULL) {
        CHECK(may_be_null);
        return;
    }
    CHECK(utf8_ok((const unsigned char *)s, strlen(s)));
}

static void check_results(const ps_query *q, const ps_results *r)
{
    uint32_t limit = q->limit ? q->limit : 10;
    CHECK(r->nhits <= limit);
    CHECK(r->nhits == 0 || r->hits != NULL);
    CHECK(r->total >= r->nhits);
    for (uint32_t i = 0; i < r->nhits; i++) {
        const ps_hit *h = &r->hits[i];
        CHECK(h->id != NULL && h->id[0] != '\0');
        CHECK(strlen(h->id) <= PS_MAX_ID_BYTES);
        check_str(h->id, 0);
        check_str(h->title, 0);
        check_str(h->lang, 0);
        check_str(h->date, 1);
        check_str(h->url, 1);
        check_str(h->snippet, 0);
        CHECK(h->rank == q->offset + i + 1);
        CHECK(h->score >= 0.0);
        if (q->lang != NULL && q->lang[0] != '\0')
            CHECK(strcmp(h->lang, q->lang) == 0);
        size_t slen = strlen(h->snippet);
        if (!q->snippets) {
            CHECK(slen == 0);
            CHECK(h->nhighlights == 0);
        }
        CHECK(h->nhighlights == 0 || h->highlights != NULL);
        uint32_t prev_end = 0;
        for (uint32_t k = 0; k < h->nhighlights; k++) {
            const ps_span *sp = &h->highlights[k];
            CHECK(sp->len > 0);
            CHECK(sp->off <= slen && sp->len <= slen - sp->off);
            CHECK(sp->off >= prev_end); /* ordered, not overlapping */
            prev_end = sp->off + sp->len;
            /* On character boundaries: the span is valid UTF-8 alone. */
            CHECK(utf8_ok((const unsigned char *)h->snippet + sp->off,
                          sp->len));
        }
        for (uint32_t j = 0; j < i; j++)
            CHECK(strcmp(r->hits[j].id, h->id) != 0);
    }
    if (!q->facets)
        CHECK(r->nfacets == 0);
    CHECK(r->nfacets == 0 || r->facets != NULL);
    for (uint32_t i = 0; i < r->nfacets; i++) {
        check_str(r->facets[i].value, 0);
        CHECK(r->facets[i].count > 0);
    }
    check_str(r->suggestion, 1);
    /* Without spelling, a suggestion comes only when nothing matched
     * (lib/core/search.cc suggests on empty results). */
    if (!q->spelling && r->total > 0)
        CHECK(r->suggestion == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t opt[OPT_BYTES] = {0};
    size_t nopt = size < OPT_BYTES ? size : OPT_BYTES;
    if (g_db == NULL)
        setup_db();
    memcpy(opt, data, nopt);
    size_t qlen = size - nopt;
    const uint8_t *nul = memchr(data + nopt, 0, qlen);
    if (nul != NULL)
        qlen = (size_t)(nul - (data + nopt));
    char *qs = malloc(qlen + 1);
    if (qs == NULL)
        return 0;
    memcpy(qs, data + nopt, qlen);
    qs[qlen] = '\0';

    ps_query q;
    memset(&q, 0, sizeof q);
    q.q = qs;
    q.snippets = opt[0] & 1;
    q.facets = (opt[0] >> 1) & 1;
    q.spelling = (opt[0] >> 2) & 1;
    q.sort = (opt[0] & 8) ? PS_SORT_DATE : PS_SORT_RELEVANCE;
    if (opt[0] & 16)
        q.lang = LANGS[opt[1] % 8];
    if (opt[0] & 32)
        q.date_from = DATES[(opt[1] >> 3) % 4];
    if (opt[0] & 64)
        q.date_to = DATES[(opt[1] >> 5) % 4];
    q.offset = opt[2];
    q.limit = opt[3] % 64;
    q.max_wildcard = opt[4] ? opt[4] % 32 : 0;
    if (opt[0] & 128)
        q.snippet_bytes = opt[5];

    ps_results *r = (ps_results *)1;
    ps_status st = ps_search(g_db, &q, &r);
    if (getenv("PS_FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "fuzz_query: %zu query bytes: status %d, %u hits, "
                "%u facets%s\n", qlen, (int)st,
                st == PS_OK ? r->nhits : 0, st == PS_OK ? r->nfacets : 0,
                st == PS_OK && r->suggestion ? ", suggestion" : "");
    if (st == PS_OK) {
        CHECK(r != NULL);
        check_results(&q, r);
        ps_results_free(r);
    } else {
        int expected = st == PS_ERR_QUERY || st == PS_ERR_TOO_MANY_TERMS ||
                       st == PS_ERR_INVALID ||
                       (st == PS_ERR_TOO_LARGE && qlen > PS_DEFAULT_MAX_QUERY_BYTES);
        if (!expected)
            fprintf(stderr, "unexpected status %d: %s\n", (int)st,
                    ps_db_errmsg(g_db));
        CHECK(expected);
        CHECK(r == NULL);
        CHECK(ps_db_errmsg(g_db)[0] != '\0');
        /* Valid UTF-8 in, valid UTF-8 message out (the daemon sends it
         * to clients as a MessagePack string). */
        if (utf8_ok((const unsigned char *)qs, qlen) &&
            (q.lang == NULL ||
             utf8_ok((const unsigned char *)q.lang, strlen(q.lang))))
            check_str(ps_db_errmsg(g_db), 0);
    }
    free(qs);
    return 0;
}
