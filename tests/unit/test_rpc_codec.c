/* test_rpc_codec.c: results and documents packed, scanned, decoded and
 * unpacked again; hostile result/document maps refused. */
#include "test_rpc_util.h"

#include <stdlib.h>

/* Packs r as the result of a response, runs it through the scanner and
 * the decoder and unpacks it again.  Returns the copy (caller frees). */
static ps_results *round_trip_results(const ps_results *r, int with_facets)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    ps_rpc_msg msg;
    const char *why = NULL;
    int known = 0;
    ps_results *out;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(ps_rpc_pack_response_ok(&pk, 77), 0);
    assert_int_equal(ps_rpc_pack_results(&pk, r, with_facets), 0);
    assert_int_equal(scan_and_decode(&sb, &msg, &why, &known), 0);
    assert_int_equal(msg.type, PS_RPC_RESPONSE);
    assert_int_equal(msg.msgid, 77);
    out = ps_rpc_unpack_results(&msg.result, &why);
    if (out == NULL)
        fail_msg("unpack failed: %s", why);
    ps_rpc_msg_destroy(&msg);               /* out must not point into it */
    msgpack_sbuffer_destroy(&sb);
    return out;
}

static void assert_opt_str_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_results_equal(const ps_results *a, const ps_results *b,
                                 int with_facets)
{
    assert_true(a->total == b->total);
    assert_true(a->took_us == b->took_us);
    assert_int_equal(a->nhits, b->nhits);
    for (uint32_t i = 0; i < a->nhits; i++) {
        const ps_hit *x = &a->hits[i], *y = &b->hits[i];
        assert_string_equal(x->id, y->id);
        assert_string_equal(x->title, y->title);
        assert_string_equal(x->lang, y->lang);
        assert_opt_str_equal(x->date, y->date);
        assert_opt_str_equal(x->url, y->url);
        assert_string_equal(x->snippet, y->snippet);
        assert_true(x->score == y->score);
        assert_int_equal(x->rank, y->rank);
        assert_int_equal(x->nhighlights, y->nhighlights);
        for (uint32_t k = 0; k < x->nhighlights; k++) {
            assert_int_equal(x->highlights[k].off, y->highlights[k].off);
            assert_int_equal(x->highlights[k].len, y->highlights[k].len);
        }
    }
    if (with_facets) {
        assert_int_equal(a->nfacets, b->nfacets);
        for (uint32_t i = 0; i < a->nfacets; i++) {
            assert_string_equal(a->facets[i].value, b->facets[i].value);
            assert_true(a->facets[i].count == b->facets[i].count);
        }
    } else {
        assert_int_equal(b->nfacets, 0);
    }
    assert_opt_str_equal(a->suggestion, b->suggestion);
}

static ps_results *sample_results(void)
{
    ps_results_builder *b = ps_results_builder_new();
    static const ps_span hl1[] = { { 0, 5 }, { 10, 7 } };
    static const ps_span hl3[] = { { 4, 6 } };
    assert_non_null(b);
    assert_int_equal(ps_results_builder_add_hit(
        b, "fr/lyonbiopole", "Lyonbiop\xc3\xb4le : p\xc3\xb4le de "
        "comp\xc3\xa9titivit\xc3\xa9", "fr", "2009-03-12", "https://x/y",
        "Sant\xc3\xa9 et innovation \xe2\x80\xa6", 12.5, 1, hl1, 2), PS_OK);
    assert_int_equal(ps_results_builder_add_hit(
        b, "de/innovation", "Innovationen", "de", NULL, NULL, "", 3.25e-3,
        2, NULL, 0), PS_OK);
    assert_int_equal(ps_results_builder_add_hit(
        b, "ja/1", "\xe6\x97\xa5\xe6\x9c\xac", "ja", "2024-01-01T10:00:00Z",
        NULL, "abc \xe6\x97\xa5\xe6\x9c\xac xyz", 0.0, 3, hl3, 1), PS_OK);
    assert_int_equal(ps_results_builder_add_facet(b, "fr", 120), PS_OK);
    assert_int_equal(ps_results_builder_add_facet(b, "und", 3), PS_OK);
    return ps_results_builder_finish(b, 123456789012ull, "sant\xc3\xa9",
                                     4321);
}

static void test_results_round_trip(void **state)
{
    ps_results *r = sample_results(), *c;
    (void)state;
    assert_non_null(r);
    c = round_trip_results(r, 1);
    assert_results_equal(r, c, 1);
    ps_results_free(c);
    c = round_trip_results(r, 0);
    assert_results_equal(r, c, 0);
    ps_results_free(c);
    ps_results_free(r);
}

static void test_results_empty(void **state)
{
    ps_results_builder *b = ps_results_builder_new();
    ps_results *r, *c;
    (void)state;
    r = ps_results_builder_finish(b, 0, NULL, 0);
    assert_non_null(r);
    c = round_trip_results(r, 1);
    assert_results_equal(r, c, 1);
    assert_int_equal(c->nhits, 0);
    assert_null(c->suggestion);
    assert_int_equal(c->nfacets, 0);
    ps_results_free(c);
    ps_results_free(r);
}

/* Synonyms: hit "synonyms" and results "expanded" survive the trip; a
 * hit without synonyms has no such key. */
static void test_results_synonyms(void **state)
{
    ps_results_builder *b = ps_results_builder_new();
    static const char *const to[] = { "kmu", "small businesses" };
    ps_results *r, *c;
    (void)state;
    assert_int_equal(ps_results_builder_add_hit_synonym(b, "x"),
                     PS_ERR_INVALID);  /* no hit yet */
    assert_int_equal(ps_results_builder_add_hit(b, "de", "t", "de", NULL,
                                                NULL, "", 1.0, 1, NULL, 0),
                     PS_OK);
    assert_int_equal(ps_results_builder_add_hit_synonym(b, "kmu"), PS_OK);
    assert_int_equal(ps_results_builder_add_hit_synonym(b, "small businesses"),
                     PS_OK);
    assert_int_equal(ps_results_builder_add_hit(b, "fr", "t", "fr", NULL,
                                                NULL, "", 0.5, 2, NULL, 0),
                     PS_OK);
    assert_int_equal(ps_results_builder_add_expansion(b, "pme", to, 2), PS_OK);
    assert_int_equal(ps_results_builder_add_expansion(b, "p\xc3\xb4le", NULL, 0),
                     PS_OK);
    assert_int_equal(ps_results_builder_add_failed(b, "tcp:h:1"), PS_OK);
    r = ps_results_builder_finish(b, 2, NULL, 7);
    assert_non_null(r);
    assert_int_equal(r->hits[0].nsynonyms, 2);
    assert_int_equal(r->hits[1].nsynonyms, 0);
    assert_null(r->hits[1].synonyms);
    c = round_trip_results(r, 0);
    assert_non_null(c);
    assert_int_equal(c->hits[0].nsynonyms, 2);
    assert_string_equal(c->hits[0].synonyms[0], "kmu");
    assert_string_equal(c->hits[0].synonyms[1], "small businesses");
    assert_int_equal(c->hits[1].nsynonyms, 0);
    assert_int_equal(c->nexpanded, 2);
    assert_string_equal(c->expanded[0].from, "pme");
    assert_int_equal(c->expanded[0].nto, 2);
    assert_string_equal(c->expanded[0].to[1], "small businesses");
    assert_string_equal(c->expanded[1].from, "p\xc3\xb4le");
    assert_int_equal(c->expanded[1].nto, 0);
    assert_int_equal(c->nfailed, 1);
    assert_string_equal(c->failed[0], "tcp:h:1");
    ps_results_free(c);
    ps_results_free(r);
}

/* The map layout on the wire: optional keys omitted, fixed key order. */
static void test_results_wire_shape(void **state)
{
    ps_results *r = sample_results();
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked up;
    size_t off = 0;
    const msgpack_object_kv *kv, *h0, *h1;
    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(ps_rpc_pack_results(&pk, r, 0), 0);
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, sb.data, sb.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(up.data.via.map.size, 4);  /* no facets */
    kv = up.data.via.map.ptr;
    assert_memory_equal(kv[0].key.via.str.ptr, "total", 5);
    assert_memory_equal(kv[1].key.via.str.ptr, "hits", 4);
    assert_memory_equal(kv[2].key.via.str.ptr, "suggestion", 10);
    assert_memory_equal(kv[3].key.via.str.ptr, "took_us", 7);
    h0 = kv[1].val.via.array.ptr[0].via.map.ptr;
    h1 = kv[1].val.via.array.ptr[1].via.map.ptr;
    assert_int_equal(kv[1].val.via.array.ptr[0].via.map.size, 9);
    assert_int_equal(kv[1].val.via.array.ptr[1].via.map.size, 7);
    assert_memory_equal(h0[5].key.via.str.ptr, "score", 5);
    assert_int_equal(h0[5].val.type, MSGPACK_OBJECT_FLOAT64);
    assert_memory_equal(h1[3].key.via.str.ptr, "score", 5);
    assert_memory_equal(h0[8].key.via.str.ptr, "highlights", 10);
    assert_int_equal(h0[8].val.via.array.size, 2);
    assert_int_equal(h0[8].val.via.array.ptr[1].via.array.ptr[0].via.u64,
                     10);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    ps_results_free(r);
}

static ps_document *round_trip_document(const ps_document *d)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    ps_rpc_msg msg;
    const char *why = NULL;
    int known;
    ps_document *out;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(ps_rpc_pack_request(&pk, 5, "add", 1), 0);
    assert_int_equal(ps_rpc_pack_document(&pk, d), 0);
    assert_int_equal(scan_and_decode(&sb, &msg, &why, &known), 0);
    assert_int_equal(msg.params.via.array.size, 1);
    out = ps_rpc_unpack_document(&msg.params.via.array.ptr[0], &why);
    if (out == NULL)
        fail_msg("unpack failed: %s", why);
    ps_rpc_msg_destroy(&msg);
    msgpack_sbuffer_destroy(&sb);
    return out;
}

static void test_document_round_trip(void **state)
{
    ps_document *d[2], *c;
    (void)state;
    d[0] = ps_document_new("fr/sante", "Sant\xc3\xa9", "Corps\n\ttext \xe2"
                           "\x82\xac", "fr", "2009-03-12",
                           "https://example.org/sant\xc3\xa9", "a1b2c3");
    d[1] = ps_document_new("x", "", "", "und", NULL, NULL, "00");
    for (int i = 0; i < 2; i++) {
        assert_non_null(d[i]);
        c = round_trip_document(d[i]);
        assert_string_equal(c->id, d[i]->id);
        assert_string_equal(c->title, d[i]->title);
        assert_string_equal(c->body, d[i]->body);
        assert_string_equal(c->lang, d[i]->lang);
        assert_opt_str_equal(c->date, d[i]->date);
        assert_opt_str_equal(c->url, d[i]->url);
        assert_string_equal(c->hash, d[i]->hash);
        ps_document_free(c);
        ps_document_free(d[i]);
    }
}

/* ---- hostile maps ----------------------------------------------------- */

/* Packs a document map with the given field list: pairs of key and
 * value, where a value starting with '#' is packed as the integer 1, "~"
 * as nil, and "!" as invalid UTF-8. */
static void pack_fields(msgpack_packer *pk, const char *const *kv, size_t n)
{
    msgpack_pack_map(pk, (uint32_t)(n / 2));
    for (size_t i = 0; i + 1 < n; i += 2) {
        ps_rpc_pack_str(pk, kv[i]);
        if (kv[i + 1][0] == '#')
            msgpack_pack_uint8(pk, 1);
        else if (kv[i + 1][0] == '~')
            msgpack_pack_nil(pk);
        else if (kv[i + 1][0] == '!') {
            msgpack_pack_str(pk, 2);
            msgpack_pack_str_body(pk, "\xc3\x28", 2);
        } else if (kv[i + 1][0] == '0') {
            msgpack_pack_str(pk, 3);
            msgpack_pack_str_body(pk, "a\0b", 3);
        } else
            ps_rpc_pack_str(pk, kv[i + 1]);
    }
}

static const char *doc_unpack(const char *const *kv, size_t n)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked up;
    size_t off = 0;
    const char *why = NULL;
    ps_document *d;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_fields(&pk, kv, n);
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, sb.data, sb.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    d = ps_rpc_unpack_document(&up.data, &why);
    if (d != NULL) {
        ps_document_free(d);
        why = NULL;
    } else {
        assert_non_null(why);
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    return why;
}

#define DOC(...) doc_unpack((const char *const[]){ __VA_ARGS__ }, \
    sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static void test_document_hostile(void **state)
{
    const char *why;
    (void)state;
    assert_null(DOC("id", "a", "title", "t", "body", "b", "lang", "en",
                    "hash", "h"));
    assert_null(DOC("id", "a", "title", "t", "body", "b", "lang", "en",
                    "hash", "h", "date", "~", "url", "~"));
    why = DOC("id", "a", "title", "t", "body", "b", "lang", "en");
    assert_string_equal(why, "document hash must be a string");
    why = DOC("id", "#", "title", "t", "body", "b", "lang", "en", "hash",
              "h");
    assert_string_equal(why, "document id must be a string");
    why = DOC("id", "a", "title", "!", "body", "b", "lang", "en", "hash",
              "h");
    assert_string_equal(why, "invalid UTF-8 in a string");
    why = DOC("id", "a", "title", "t", "body", "0", "lang", "en", "hash",
              "h");
    assert_string_equal(why, "invalid UTF-8 in a string");
    why = DOC("id", "a", "title", "t", "body", "b", "lang", "en", "hash",
              "h", "extra", "x");
    assert_string_equal(why, "unexpected key in map");
    why = DOC("id", "a", "id", "b", "title", "t", "body", "b", "lang", "en",
              "hash", "h");
    assert_string_equal(why, "duplicate key in map");
    why = DOC("id", "a", "title", "~", "body", "b", "lang", "en", "hash",
              "h");
    assert_string_equal(why, "document title must be a string");
    {
        msgpack_object o;
        memset(&o, 0, sizeof o);
        o.type = MSGPACK_OBJECT_ARRAY;
        assert_null(ps_rpc_unpack_document(&o, &why));
        assert_string_equal(why, "document must be a map");
        assert_null(ps_rpc_unpack_document(NULL, &why));
        assert_null(ps_rpc_unpack_results(&o, &why));
        assert_string_equal(why, "results must be a map");
    }
}

/* Packs the sample results, replaces the first occurrence of `from` by
 * `to` in the packed bytes, and returns the unpack error (NULL when accepted). */
static const char *results_with(const char *from, size_t fromlen,
                                const char *to, size_t tolen)
{
    ps_results *r = sample_results(), *c;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked up;
    size_t off = 0;
    const char *why = NULL;
    char *buf, *hit;
    size_t len;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(ps_rpc_pack_results(&pk, r, 1), 0);
    ps_results_free(r);
    buf = malloc(sb.size + tolen);
    assert_non_null(buf);
    hit = memmem(sb.data, sb.size, from, fromlen);
    assert_non_null(hit);
    len = (size_t)(hit - sb.data);
    memcpy(buf, sb.data, len);
    memcpy(buf + len, to, tolen);
    memcpy(buf + len + tolen, hit + fromlen,
           sb.size - len - fromlen);
    len = sb.size - fromlen + tolen;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    c = ps_rpc_unpack_results(&up.data, &why);
    if (c != NULL) {
        ps_results_free(c);
        why = NULL;
    } else {
        assert_non_null(why);
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    free(buf);
    return why;
}

#define RW(from, to) results_with(from, sizeof(from) - 1, to, sizeof(to) - 1)

static void test_results_hostile(void **state)
{
    (void)state;
    assert_null(RW("\xa2id", "\xa2id"));                /* control */
    assert_string_equal(RW("\xa5title", "\xa5tItle"),
                        "unexpected key in map");
    assert_string_equal(RW("\xa5title\xacInnovationen", "\xa5title\x0c"),
                        "hit title must be a string");
    /* "rank": 1 -> "rank": -1 */
    assert_string_equal(RW("\xa4rank\x01", "\xa4rank\xff"),
                        "hit rank must be an unsigned 32-bit integer");
    /* rank 2^32 */
    assert_string_equal(RW("\xa4rank\x01", "\xa4rank\xcf\x00\x00\x00\x01"
                                           "\x00\x00\x00\x00"),
                        "hit rank must be an unsigned 32-bit integer");
    /* highlight [10, 7] -> [10, 99]: past the end of the snippet. */
    assert_string_equal(RW("\x92\x0a\x07", "\x92\x0a\x63"),
                        "highlight lies outside the snippet");
    assert_string_equal(RW("\x92\x0a\x07", "\x93\x0a\x07\x01"),
                        "highlight must be [offset, length]");
    assert_string_equal(RW("\x92\x0a\x07", "\x92\x0a\xc0"),
                        "highlight must be [offset, length]");
    /* score as a string */
    assert_string_equal(RW("\xa5score\xcb", "\xa5score\xa8"),
                        "hit score must be a number");
    /* score as an integer is accepted */
    assert_null(RW("\xa5score\xcb\x40\x29\x00\x00\x00\x00\x00\x00",
                   "\xa5score\x0c"));
    /* total negative */
    assert_string_equal(RW("\xa5total\xcf\x00", "\xa5total\xd3\xff"),
                        "results total must be an unsigned integer");
    /* facets.lang -> facets.lanG */
    assert_string_equal(RW("\xa4lang\x82", "\xa4lanG\x82"),
                        "unexpected key in map");
    /* facet count as a string */
    assert_string_equal(RW("\xa2" "fr" "\x78", "\xa2" "fr" "\xa1x"),
                        "facet counts must be unsigned integers");
    /* id with invalid UTF-8: "fr/lyonbiopole" -> "fr/lyon\xffiopole" */
    assert_string_equal(RW("lyonb", "lyon\xff"), "invalid UTF-8 in a string");
    /* hits not an array: replace the array header by a map header */
    assert_string_equal(RW("\xa4hits\x93", "\xa4hits\x81\xc0\x93"),
                        "results hits must be an array");
    /* a hit that is not a map */
    assert_string_equal(RW("\xa4hits\x93\x89", "\xa4hits\x93\x91\x89"),
                        "hit is not a map");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results_round_trip),
        cmocka_unit_test(test_results_empty),
        cmocka_unit_test(test_results_synonyms),
        cmocka_unit_test(test_results_wire_shape),
        cmocka_unit_test(test_document_round_trip),
        cmocka_unit_test(test_document_hostile),
        cmocka_unit_test(test_results_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
