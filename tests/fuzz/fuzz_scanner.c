/* fuzz_scanner.c: libFuzzer harness over the MessagePack-RPC frame
 * scanner, the envelope decoder, named-argument parsing and the result /
 * document decoders (lib/wire/scan.c, decode.c, unpack.c; pack.c for
 * the re-encoding).
 *
 * The input is treated as a byte stream from a client.  It is split into
 * frames by the scanner twice, once fed whole and once in pseudo-random
 * chunks, under two limit settings, and the two feeds must agree.  Every
 * complete frame must be exactly what msgpack-c parses (same length, no
 * parse error); it is then decoded and handled as the daemon would
 * (arguments per method, documents of `add`), and any result or document
 * map found is decoded, re-encoded and decoded again, which must give the
 * same values.  Invariant failures abort(), which libFuzzer and the
 * replay driver report as a crash.
 *
 * Built with clang -fsanitize=fuzzer (option POLYSEARCH_FUZZ) and, with
 * any compiler, linked into fuzz_replay for ctest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "rpc.h"

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, \
                    __FILE__, __LINE__);                                  \
            abort();                                                      \
        }                                                                 \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct scan_out {
    ps_scan_result r;
    size_t flen;
    ps_scan_error err;
} scan_out;

/* xorshift32; never 0. */
static uint32_t rng_next(uint32_t *st)
{
    uint32_t x = *st;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *st = x;
    return x;
}

static scan_out scan_whole(const uint8_t *d, size_t n, size_t max_frame,
                           unsigned max_depth)
{
    ps_scanner s;
    scan_out o = { PS_SCAN_NEED_MORE, 0, PS_SCAN_OK };
    ps_scanner_init(&s, max_frame, max_depth);
    o.r = ps_scanner_feed(&s, d, n, &o.flen);
    o.err = s.error;
    CHECK(s.pos <= s.max_frame);
    CHECK(s.depth <= s.max_depth);
    return o;
}

/* Feeds d[0..n) in chunks of 1..16 bytes (sometimes larger) and stops at
 * the first result other than NEED_MORE. */
static scan_out scan_chunked(const uint8_t *d, size_t n, size_t max_frame,
                             unsigned max_depth, uint32_t *rng)
{
    ps_scanner s;
    scan_out o = { PS_SCAN_NEED_MORE, 0, PS_SCAN_OK };
    size_t have = 0;
    ps_scanner_init(&s, max_frame, max_depth);
    if (n == 0) {
        o.r = ps_scanner_feed(&s, d, 0, &o.flen);
        return o;
    }
    while (have < n) {
        uint32_t x = rng_next(rng);
        size_t step = (x & 0x100) ? 1 + (x & 0x0f) : 1 + (x & 0xff);
        have = step > n - have ? n : have + step;
        o.r = ps_scanner_feed(&s, d, have, &o.flen);
        if (o.r != PS_SCAN_NEED_MORE)
            break;
        CHECK(s.pos <= have);
    }
    o.err = s.error;
    return o;
}

static int same_opt(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Re-encodes r, decodes it again and checks nothing changed. */
static void results_round_trip(const ps_results *r)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked up;
    size_t off = 0, flen = 0;
    const char *why = NULL;
    ps_results *c;
    int with_facets = r->nfacets > 0;
    ps_scanner s;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    CHECK(ps_rpc_pack_results(&pk, r, with_facets) == 0);
    ps_scanner_init(&s, sb.size, 0);
    CHECK(ps_scanner_feed(&s, (const uint8_t *)sb.data, sb.size, &flen) ==
          PS_SCAN_COMPLETE);
    CHECK(flen == sb.size);
    msgpack_unpacked_init(&up);
    CHECK(msgpack_unpack_next(&up, sb.data, sb.size, &off) ==
          MSGPACK_UNPACK_SUCCESS);
    c = ps_rpc_unpack_results(&up.data, &why);
    CHECK(c != NULL);
    CHECK(c->total == r->total && c->took_us == r->took_us);
    CHECK(c->nhits == r->nhits && c->nfacets == r->nfacets);
    CHECK(same_opt(c->suggestion, r->suggestion));
    for (uint32_t i = 0; i < r->nhits; i++) {
        const ps_hit *x = &r->hits[i], *y = &c->hits[i];
        CHECK(strcmp(x->id, y->id) == 0 && strcmp(x->title, y->title) == 0);
        CHECK(strcmp(x->lang, y->lang) == 0);
        CHECK(strcmp(x->snippet, y->snippet) == 0);
        CHECK(same_opt(x->date, y->date) && same_opt(x->url, y->url));
        CHECK(x->rank == y->rank && x->nhighlights == y->nhighlights);
        CHECK(memcmp(&x->score, &y->score, sizeof x->score) == 0);
        for (uint32_t k = 0; k < x->nhighlights; k++) {
            CHECK(x->highlights[k].off == y->highlights[k].off);
            CHECK(x->highlights[k].len == y->highlights[k].len);
            CHECK((size_t)x->highlights[k].off + x->highlights[k].len <=
                  strlen(x->snippet));
        }
    }
    for (uint32_t i = 0; i < r->nfacets; i++) {
        CHECK(strcmp(r->facets[i].value, c->facets[i].value) == 0);
        CHECK(r->facets[i].count == c->facets[i].count);
    }
    ps_results_free(c);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void document_round_trip(const ps_document *d)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked up;
    size_t off = 0;
    const char *why = NULL;
    ps_document *c;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    CHECK(ps_rpc_pack_document(&pk, d) == 0);
    msgpack_unpacked_init(&up);
    CHECK(msgpack_unpack_next(&up, sb.data, sb.size, &off) ==
          MSGPACK_UNPACK_SUCCESS);
    c = ps_rpc_unpack_document(&up.data, &why);
    CHECK(c != NULL);
    CHECK(strcmp(c->id, d->id) == 0 && strcmp(c->title, d->title) == 0);
    CHECK(strcmp(c->body, d->body) == 0 && strcmp(c->lang, d->lang) == 0);
    CHECK(strcmp(c->hash, d->hash) == 0);
    CHECK(same_opt(c->date, d->date) && same_opt(c->url, d->url));
    ps_document_free(c);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

/* Tries o as a result map and as a document map. */
static void try_codecs(const msgpack_object *o)
{
    const char *why = NULL;
    ps_results *r = ps_rpc_unpack_results(o, &why);
    ps_document *d;
    if (r != NULL) {
        results_round_trip(r);
        ps_results_free(r);
    } else {
        CHECK(why != NULL);
    }
    why = NULL;
    d = ps_rpc_unpack_document(o, &why);
    if (d != NULL) {
        document_round_trip(d);
        ps_document_free(d);
    } else {
        CHECK(why != NULL);
    }
}

static int method_is(const ps_rpc_msg *m, const char *name)
{
    size_t n = strlen(name);
    return m->method_len == n && memcmp(m->method, name, n) == 0;
}

/* Parses params as the daemon does for each method. */
static void handle_params(const ps_rpc_msg *m)
{
    const char *q = NULL, *lang = NULL, *sort = NULL, *id = NULL;
    uint64_t offset = 0, limit = 10;
    int snippet = 0, facets = 0, has_q = 0;
    msgpack_object docs, ids;
    char err[256];
    int rc;
    const ps_arg_spec search[] = {
        { "q", PS_ARG_STR, 1, &q, &has_q, 4096 },
        { "offset", PS_ARG_UINT, 0, &offset, NULL, 10000 },
        { "limit", PS_ARG_UINT, 0, &limit, NULL, 1000 },
        { "lang", PS_ARG_STR, 0, &lang, NULL, 16 },
        { "sort", PS_ARG_STR, 0, &sort, NULL, 16 },
        { "snippet", PS_ARG_BOOL, 0, &snippet, NULL, 0 },
        { "facets", PS_ARG_BOOL, 0, &facets, NULL, 0 },
    };
    const ps_arg_spec get[] = { { "id", PS_ARG_STR, 1, &id, NULL, 256 } };
    const ps_arg_spec add[] = { { "docs", PS_ARG_ARRAY, 1, &docs, NULL,
                                  0 } };
    const ps_arg_spec del[] = { { "ids", PS_ARG_ARRAY, 1, &ids, NULL, 0 } };
    const ps_arg_spec *spec = search;
    size_t nspec = sizeof search / sizeof search[0];
    msgpack_zone *zone = msgpack_zone_new(256);

    if (zone == NULL)
        return;
    memset(&docs, 0, sizeof docs);
    if (method_is(m, "get")) {
        spec = get;
        nspec = 1;
    } else if (method_is(m, "add")) {
        spec = add;
        nspec = 1;
    } else if (method_is(m, "delete")) {
        spec = del;
        nspec = 1;
    } else if (method_is(m, "stats") || method_is(m, "ping")) {
        spec = NULL;
        nspec = 0;
    }
    err[0] = 'x';
    rc = ps_rpc_args_parse(&m->params, spec, nspec, zone, err, sizeof err);
    if (rc != 0) {
        CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);
    } else if (spec == search) {
        CHECK(has_q && q != NULL && strlen(q) <= 4096);
        CHECK(ps_utf8_valid(q, strlen(q)));
        CHECK(limit <= 1000 && offset <= 10000);
        CHECK(lang == NULL || strlen(lang) <= 16);
    } else if (spec == get) {
        CHECK(id != NULL && strlen(id) <= 256);
    } else if (spec == add) {
        CHECK(docs.type == MSGPACK_OBJECT_ARRAY);
        for (uint32_t i = 0; i < docs.via.array.size; i++)
            try_codecs(&docs.via.array.ptr[i]);
    }
    msgpack_zone_free(zone);
    if (m->params.via.array.size >= 1)
        try_codecs(&m->params.via.array.ptr[0]);
}

/* Decodes one frame the scanner accepted. */
static void handle_frame(const uint8_t *f, size_t len)
{
    ps_rpc_msg msg;
    const char *why = NULL;
    int known = -1;
    int rc = ps_rpc_decode((const char *)f, len, &msg, &why, &known);
    if (rc != 0) {
        CHECK(why != NULL);
        CHECK(known == 0 || known == 1);
        /* The scanner and msgpack-c must agree on the frame. */
        CHECK(strcmp(why, "malformed MessagePack data") != 0);
        CHECK(strcmp(why, "trailing bytes after the message") != 0);
        ps_rpc_msg_destroy(&msg);
        return;
    }
    CHECK(msg.type >= PS_RPC_REQUEST && msg.type <= PS_RPC_NOTIFY);
    if (msg.type == PS_RPC_RESPONSE) {
        CHECK(known == 1);
        try_codecs(&msg.result);
    } else {
        CHECK(msg.params.type == MSGPACK_OBJECT_ARRAY);
        CHECK(ps_utf8_valid(msg.method, msg.method_len));
        handle_params(&msg);
    }
    ps_rpc_msg_destroy(&msg);
}

/* Splits the stream into frames under one limit setting. */
static void run_stream(const uint8_t *data, size_t size, size_t max_frame,
                       unsigned max_depth, uint32_t seed)
{
    size_t start = 0;
    uint32_t rng = seed ? seed : 0x9e3779b9u;
    for (int frames = 0; frames < 256; frames++) {
        const uint8_t *d = data + start;
        size_t n = size - start;
        scan_out w = scan_whole(d, n, max_frame, max_depth);
        scan_out c = scan_chunked(d, n, max_frame, max_depth, &rng);
        CHECK(w.r == c.r);
        CHECK(w.err == c.err);
        CHECK((w.r == PS_SCAN_INVALID) == (w.err != PS_SCAN_OK));
        if (w.r != PS_SCAN_COMPLETE)
            break;
        CHECK(w.flen == c.flen);
        CHECK(w.flen >= 1 && w.flen <= n);
        CHECK(max_frame == 0 || w.flen <= max_frame);
        handle_frame(d, w.flen);
        start += w.flen;
        if (start == size)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;               /* FNV-1a seeds the chunking */
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    run_stream(data, size, 0, 0, h);
    run_stream(data, size, 200, 4, h ^ 0x5bd1e995u);
    return 0;
}
