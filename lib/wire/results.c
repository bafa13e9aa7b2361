/* results.c: status strings, the ps_results builder and ps_document.
 *
 * A finished ps_results is ONE malloc'd block laid out as
 *   [ps_results][ps_hit x nhits][ps_facet x nfacets]
 *   [ps_expansion x nexpanded][const char * x (failed + hit synonyms +
 *   expansion members)][ps_span x total][strings...]
 * with every pointer pointing inside the block, so ps_results_free() is a
 * single free().  Sizes are computed first with overflow checks, then the
 * data is copied.  A ps_document block is [ps_document][strings...].
 */
#include "ps_types.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

const char *ps_status_str(ps_status st)
{
    switch (st) {
    case PS_OK: return "success";
    case PS_ERR_NOT_FOUND: return "document not found";
    case PS_ERR_QUERY: return "query syntax error";
    case PS_ERR_LOCKED: return "database locked by another writer";
    case PS_ERR_MODIFIED: return "database modified during the read";
    case PS_ERR_TOO_MANY_TERMS: return "wildcard expands to too many terms";
    case PS_ERR_NOMEM: return "out of memory";
    case PS_ERR_IO: return "I/O error";
    case PS_ERR_CORRUPT: return "database corrupt";
    case PS_ERR_INVALID: return "invalid argument";
    case PS_ERR_NO_DB: return "database does not exist or cannot be opened";
    case PS_ERR_INTERNAL: return "internal error";
    case PS_ERR_TOO_LARGE: return "input over its size limit";
    case PS_STATUS_COUNT: break;
    }
    return "unknown status";
}

const char *ps_status_code(ps_status st)
{
    switch (st) {
    case PS_OK: return "ok";
    case PS_ERR_NOT_FOUND: return "not_found";
    case PS_ERR_QUERY: return "query_syntax";
    case PS_ERR_LOCKED: return "locked";
    case PS_ERR_MODIFIED: return "modified";
    case PS_ERR_TOO_MANY_TERMS: return "too_many_terms";
    case PS_ERR_NOMEM: return "no_memory";
    case PS_ERR_IO: return "io";
    case PS_ERR_CORRUPT: return "corrupt";
    case PS_ERR_INVALID: return "invalid";
    case PS_ERR_NO_DB: return "no_db";
    case PS_ERR_INTERNAL: return "internal";
    case PS_ERR_TOO_LARGE: return "too_large";
    case PS_STATUS_COUNT: break;
    }
    return "internal";
}

/* ---- Overflow-checked size arithmetic --------------------------------- */

/* *acc += n; returns 0, or -1 on overflow (and then *acc is unchanged). */
static int size_add(size_t *acc, size_t n)
{
    if (n > SIZE_MAX - *acc)
        return -1;
    *acc += n;
    return 0;
}

/* *acc += count * each, checked. */
static int size_add_mul(size_t *acc, size_t count, size_t each)
{
    if (each != 0 && count > SIZE_MAX / each)
        return -1;
    return size_add(acc, count * each);
}

/* Bytes for an optional string including its NUL (0 when absent). */
static size_t opt_len(const char *s)
{
    return s == NULL ? 0 : strlen(s) + 1;
}

/* Copies s (may be NULL -> returns NULL) to *cursor and advances it. */
static const char *put_str(char **cursor, const char *s)
{
    size_t n;
    char *dst;
    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    dst = *cursor;
    memcpy(dst, s, n);
    *cursor += n;
    return dst;
}

/* ---- Builder ---------------------------------------------------------- */

typedef struct bhit {
    char *id, *title, *lang, *date, *url, *snippet;
    double score;
    uint32_t rank;
    uint32_t nhl;
    ps_span *hl;
    char **syn;
    size_t nsyn, capsyn;
} bhit;

typedef struct bexp {
    char *from;
    char **to;
    uint32_t nto;
} bexp;

typedef struct bfacet {
    char *value;
    uint64_t count;
} bfacet;

struct ps_results_builder {
    bhit *hits;
    size_t nhits, caphits;
    bfacet *facets;
    size_t nfacets, capfacets;
    char **failed;
    size_t nfailed, capfailed;
    bexp *exps;
    size_t nexps, capexps;
};

ps_results_builder *ps_results_builder_new(void)
{
    return calloc(1, sizeof(ps_results_builder));
}

static void bhit_clear(bhit *h)
{
    free(h->id);
    free(h->title);
    free(h->lang);
    free(h->date);
    free(h->url);
    free(h->snippet);
    free(h->hl);
    for (size_t i = 0; i < h->nsyn; i++)
        free(h->syn[i]);
    free(h->syn);
}

static void bexp_clear(bexp *e)
{
    free(e->from);
    for (uint32_t i = 0; i < e->nto; i++)
        free(e->to[i]);
    free(e->to);
}

void ps_results_builder_free(ps_results_builder *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->nhits; i++)
        bhit_clear(&b->hits[i]);
    for (size_t i = 0; i < b->nfacets; i++)
        free(b->facets[i].value);
    for (size_t i = 0; i < b->nfailed; i++)
        free(b->failed[i]);
    for (size_t i = 0; i < b->nexps; i++)
        bexp_clear(&b->exps[i]);
    free(b->hits);
    free(b->facets);
    free(b->failed);
    free(b->exps);
    free(b);
}

/* Grows *arr (elements of size `each`) so that one more fits. */
static int grow(void **arr, size_t *cap, size_t n, size_t each)
{
    size_t ncap;
    void *p;
    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    if (ncap < *cap || ncap > SIZE_MAX / each)
        return -1;
    p = realloc(*arr, ncap * each);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* strdup that maps NULL to NULL; sets *fail on allocation failure. */
static char *dup_opt(const char *s, int *fail)
{
    char *d;
    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *fail = 1;
    return d;
}

ps_status ps_results_builder_add_hit(ps_results_builder *b, const char *id,
                                     const char *title, const char *lang,
                                     const char *date, const char *url,
                                     const char *snippet, double score,
                                     uint32_t rank, const ps_span *hl,
                                     uint32_t nhl)
{
    bhit h;
    int fail = 0;
    if (b == NULL || (hl == NULL && nhl > 0))
        return PS_ERR_INVALID;
    if (grow((void **)&b->hits, &b->caphits, b->nhits, sizeof(bhit)) != 0)
        return PS_ERR_NOMEM;
    memset(&h, 0, sizeof h);
    h.id = dup_opt(id != NULL ? id : "", &fail);
    h.title = dup_opt(title != NULL ? title : "", &fail);
    h.lang = dup_opt(lang != NULL ? lang : "und", &fail);
    h.date = dup_opt(date, &fail);
    h.url = dup_opt(url, &fail);
    h.snippet = dup_opt(snippet != NULL ? snippet : "", &fail);
    h.score = score;
    h.rank = rank;
    if (nhl > 0 && !fail) {
        h.hl = malloc((size_t)nhl * sizeof(ps_span));
        if (h.hl == NULL)
            fail = 1;
        else {
            memcpy(h.hl, hl, (size_t)nhl * sizeof(ps_span));
            h.nhl = nhl;
        }
    }
    if (fail) {
        bhit_clear(&h);
        return PS_ERR_NOMEM;
    }
    b->hits[b->nhits++] = h;
    return PS_OK;
}

ps_status ps_results_builder_add_facet(ps_results_builder *b,
                                       const char *value, uint64_t count)
{
    char *v;
    if (b == NULL || value == NULL)
        return PS_ERR_INVALID;
    if (grow((void **)&b->facets, &b->capfacets, b->nfacets,
             sizeof(bfacet)) != 0)
        return PS_ERR_NOMEM;
    v = strdup(value);
    if (v == NULL)
        return PS_ERR_NOMEM;
    b->facets[b->nfacets].value = v;
    b->facets[b->nfacets].count = count;
    b->nfacets++;
    return PS_OK;
}

ps_status ps_results_builder_add_failed(ps_results_builder *b,
                                        const char *spec)
{
    char *v;
    if (b == NULL || spec == NULL)
        return PS_ERR_INVALID;
    if (grow((void **)&b->failed, &b->capfailed, b->nfailed,
             sizeof(char *)) != 0)
        return PS_ERR_NOMEM;
    v = strdup(spec);
    if (v == NULL)
        return PS_ERR_NOMEM;
    b->failed[b->nfailed++] = v;
    return PS_OK;
}

ps_status ps_results_builder_add_hit_synonym(ps_results_builder *b,
                                             const char *member)
{
    bhit *h;
    char *v;
    if (b == NULL || member == NULL || b->nhits == 0)
        return PS_ERR_INVALID;
    h = &b->hits[b->nhits - 1];
    if (grow((void **)&h->syn, &h->capsyn, h->nsyn, sizeof(char *)) != 0)
        return PS_ERR_NOMEM;
    v = strdup(member);
    if (v == NULL)
        return PS_ERR_NOMEM;
    h->syn[h->nsyn++] = v;
    return PS_OK;
}

ps_status ps_results_builder_add_expansion(ps_results_builder *b,
                                           const char *from,
                                           const char *const *to,
                                           uint32_t nto)
{
    bexp e;
    int fail = 0;
    if (b == NULL || from == NULL || (to == NULL && nto > 0))
        return PS_ERR_INVALID;
    for (uint32_t i = 0; i < nto; i++)
        if (to[i] == NULL)
            return PS_ERR_INVALID;
    if (grow((void **)&b->exps, &b->capexps, b->nexps, sizeof(bexp)) != 0)
        return PS_ERR_NOMEM;
    memset(&e, 0, sizeof e);
    e.from = dup_opt(from, &fail);
    if (nto > 0 && !fail) {
        e.to = calloc(nto, sizeof(char *));
        if (e.to == NULL)
            fail = 1;
        for (uint32_t i = 0; i < nto && !fail; i++) {
            e.to[i] = dup_opt(to[i], &fail);
            if (!fail)
                e.nto = i + 1;
        }
    }
    if (fail) {
        bexp_clear(&e);
        return PS_ERR_NOMEM;
    }
    b->exps[b->nexps++] = e;
    return PS_OK;
}

/* Rounds *acc up to a multiple of align (a power of two), checked. */
static int size_align(size_t *acc, size_t align)
{
    size_t r = *acc & (align - 1);
    return r == 0 ? 0 : size_add(acc, align - r);
}

ps_results *ps_results_builder_finish(ps_results_builder *b, uint64_t total,
                                      const char *suggestion,
                                      uint64_t took_us)
{
    size_t size = sizeof(ps_results), off_hits, off_facets, off_exps,
           off_failed, off_spans, off_strs, nspans = 0, nptrs;
    ps_results *r = NULL;
    char *block, *cur;
    ps_span *spans;
    const char **ptrs;

    if (b == NULL)
        return NULL;
    if (b->nhits > UINT32_MAX || b->nfacets > UINT32_MAX ||
        b->nfailed > UINT32_MAX || b->nexps > UINT32_MAX)
        goto out;
    nptrs = b->nfailed;
    for (size_t i = 0; i < b->nhits; i++)
        if (b->hits[i].nsyn > UINT32_MAX ||
            size_add(&nptrs, b->hits[i].nsyn) != 0)
            goto out;
    for (size_t i = 0; i < b->nexps; i++)
        if (size_add(&nptrs, b->exps[i].nto) != 0)
            goto out;
    /* Pass 1: sizes. */
    if (size_align(&size, alignof(ps_hit)) != 0)
        goto out;
    off_hits = size;
    if (size_add_mul(&size, b->nhits, sizeof(ps_hit)) != 0 ||
        size_align(&size, alignof(ps_facet)) != 0)
        goto out;
    off_facets = size;
    if (size_add_mul(&size, b->nfacets, sizeof(ps_facet)) != 0 ||
        size_align(&size, alignof(ps_expansion)) != 0)
        goto out;
    off_exps = size;
    if (size_add_mul(&size, b->nexps, sizeof(ps_expansion)) != 0 ||
        size_align(&size, alignof(const char *)) != 0)
        goto out;
    off_failed = size;
    if (size_add_mul(&size, nptrs, sizeof(const char *)) != 0 ||
        size_align(&size, alignof(ps_span)) != 0)
        goto out;
    off_spans = size;
    for (size_t i = 0; i < b->nhits; i++)
        if (size_add(&nspans, b->hits[i].nhl) != 0)
            goto out;
    if (size_add_mul(&size, nspans, sizeof(ps_span)) != 0)
        goto out;
    off_strs = size;
    for (size_t i = 0; i < b->nhits; i++) {
        const bhit *h = &b->hits[i];
        if (size_add(&size, opt_len(h->id)) != 0 ||
            size_add(&size, opt_len(h->title)) != 0 ||
            size_add(&size, opt_len(h->lang)) != 0 ||
            size_add(&size, opt_len(h->date)) != 0 ||
            size_add(&size, opt_len(h->url)) != 0 ||
            size_add(&size, opt_len(h->snippet)) != 0)
            goto out;
        for (size_t k = 0; k < h->nsyn; k++)
            if (size_add(&size, opt_len(h->syn[k])) != 0)
                goto out;
    }
    for (size_t i = 0; i < b->nexps; i++) {
        if (size_add(&size, opt_len(b->exps[i].from)) != 0)
            goto out;
        for (uint32_t k = 0; k < b->exps[i].nto; k++)
            if (size_add(&size, opt_len(b->exps[i].to[k])) != 0)
                goto out;
    }
    for (size_t i = 0; i < b->nfacets; i++)
        if (size_add(&size, opt_len(b->facets[i].value)) != 0)
            goto out;
    for (size_t i = 0; i < b->nfailed; i++)
        if (size_add(&size, opt_len(b->failed[i])) != 0)
            goto out;
    if (size_add(&size, opt_len(suggestion)) != 0)
        goto out;

    /* Pass 2: copy. */
    block = malloc(size);
    if (block == NULL)
        goto out;
    r = (ps_results *)(void *)block;
    memset(r, 0, sizeof *r);
    r->total = total;
    r->took_us = took_us;
    r->nhits = (uint32_t)b->nhits;
    r->hits = b->nhits ? (ps_hit *)(void *)(block + off_hits) : NULL;
    r->nfacets = (uint32_t)b->nfacets;
    r->facets = b->nfacets ? (ps_facet *)(void *)(block + off_facets) : NULL;
    spans = (ps_span *)(void *)(block + off_spans);
    ptrs = (const char **)(void *)(block + off_failed);
    cur = block + off_strs;
    for (size_t i = 0; i < b->nhits; i++) {
        const bhit *h = &b->hits[i];
        ps_hit *o = &r->hits[i];
        o->id = put_str(&cur, h->id);
        o->title = put_str(&cur, h->title);
        o->lang = put_str(&cur, h->lang);
        o->date = put_str(&cur, h->date);
        o->url = put_str(&cur, h->url);
        o->snippet = put_str(&cur, h->snippet);
        o->score = h->score;
        o->rank = h->rank;
        o->nhighlights = h->nhl;
        if (h->nhl > 0) {
            memcpy(spans, h->hl, (size_t)h->nhl * sizeof(ps_span));
            o->highlights = spans;
            spans += h->nhl;
        } else {
            o->highlights = NULL;
        }
        o->nsynonyms = (uint32_t)h->nsyn;
        o->synonyms = NULL;
        if (h->nsyn > 0) {
            o->synonyms = ptrs;
            for (size_t k = 0; k < h->nsyn; k++)
                *ptrs++ = put_str(&cur, h->syn[k]);
        }
    }
    r->nexpanded = (uint32_t)b->nexps;
    if (b->nexps > 0) {
        ps_expansion *ex = (ps_expansion *)(void *)(block + off_exps);
        for (size_t i = 0; i < b->nexps; i++) {
            ex[i].from = put_str(&cur, b->exps[i].from);
            ex[i].nto = b->exps[i].nto;
            ex[i].to = b->exps[i].nto ? ptrs : NULL;
            for (uint32_t k = 0; k < b->exps[i].nto; k++)
                *ptrs++ = put_str(&cur, b->exps[i].to[k]);
        }
        r->expanded = ex;
    }
    for (size_t i = 0; i < b->nfacets; i++) {
        r->facets[i].value = put_str(&cur, b->facets[i].value);
        r->facets[i].count = b->facets[i].count;
    }
    r->nfailed = (uint32_t)b->nfailed;
    if (b->nfailed > 0) {
        const char **fl = ptrs;
        for (size_t i = 0; i < b->nfailed; i++)
            *ptrs++ = put_str(&cur, b->failed[i]);
        r->failed = fl;
    }
    r->suggestion = put_str(&cur, suggestion);
out:
    ps_results_builder_free(b);
    return r;
}

void ps_results_free(ps_results *r)
{
    free(r);
}

ps_document *ps_document_new(const char *id, const char *title,
                             const char *body, const char *lang,
                             const char *date, const char *url,
                             const char *hash)
{
    size_t size = sizeof(ps_document);
    ps_document *d;
    char *cur;
    if (size_add(&size, opt_len(id)) != 0 ||
        size_add(&size, opt_len(title)) != 0 ||
        size_add(&size, opt_len(body)) != 0 ||
        size_add(&size, opt_len(lang)) != 0 ||
        size_add(&size, opt_len(date)) != 0 ||
        size_add(&size, opt_len(url)) != 0 ||
        size_add(&size, opt_len(hash)) != 0)
        return NULL;
    d = malloc(size);
    if (d == NULL)
        return NULL;
    cur = (char *)(d + 1);
    d->id = put_str(&cur, id);
    d->title = put_str(&cur, title);
    d->body = put_str(&cur, body);
    d->lang = put_str(&cur, lang);
    d->date = put_str(&cur, date);
    d->url = put_str(&cur, url);
    d->hash = put_str(&cur, hash);
    return d;
}

void ps_document_free(ps_document *d)
{
    free(d);
}
