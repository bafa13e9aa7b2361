/* test_batch.c: the add batcher of lib/wire/batch.c: document maps, the
 * document and byte caps, params of a range, mapping back to sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

/* Value of string key `key` in map m as a new C string, or NULL. */
static char *map_str(const msgpack_object *m, const char *key)
{
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        const msgpack_object *v = &m->via.map.ptr[i].val;
        assert_int_equal(k->type, MSGPACK_OBJECT_STR);
        if (k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0) {
            assert_int_equal(v->type, MSGPACK_OBJECT_STR);
            char *s = malloc(v->via.str.size + 1);
            assert_non_null(s);
            memcpy(s, v->via.str.ptr, v->via.str.size);
            s[v->via.str.size] = '\0';
            return s;
        }
    }
    return NULL;
}

static void assert_key(const msgpack_object *m, const char *key,
                       const char *want)
{
    char *got = map_str(m, key);
    if (want == NULL) {
        assert_null(got);
    } else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
    free(got);
}

/* Unpacks params {"docs": [...]} and returns the docs array (points into
 * *u, which the caller destroys). */
static const msgpack_object *docs_of(const char *p, size_t len,
                                     msgpack_unpacked *u)
{
    size_t off = 0;
    msgpack_unpacked_init(u);
    assert_int_equal(msgpack_unpack_next(u, p, len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, len);
    const msgpack_object *m = &u->data;
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(m->via.map.size, 1);
    const msgpack_object *k = &m->via.map.ptr[0].key;
    assert_int_equal(k->type, MSGPACK_OBJECT_STR);
    assert_memory_equal(k->via.str.ptr, "docs", 4);
    assert_int_equal(m->via.map.ptr[0].val.type, MSGPACK_OBJECT_ARRAY);
    return &m->via.map.ptr[0].val;
}

static void test_doc_pack(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const char *f[PS_DOC_NKEYS] = { "a1", NULL, "Hi", "fr", NULL, "http://e/" };
    assert_int_equal(ps_add_doc_pack(&pk, f), 0);
    msgpack_unpacked u;
    size_t off = 0;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(u.data.via.map.size, 4);
    /* id and body come first. */
    assert_memory_equal(u.data.via.map.ptr[0].key.via.str.ptr, "id", 2);
    assert_memory_equal(u.data.via.map.ptr[1].key.via.str.ptr, "body", 4);
    assert_key(&u.data, "id", "a1");
    assert_key(&u.data, "body", "Hi");
    assert_key(&u.data, "lang", "fr");
    assert_key(&u.data, "url", "http://e/");
    assert_key(&u.data, "title", NULL);
    assert_key(&u.data, "date", NULL);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);

    /* The protocol's example: {"docs": [{"id": "a1", "body": "Hi"}]}. */
    static const unsigned char want[] = {
        0x81, 0xa4, 'd', 'o', 'c', 's', 0x91, 0x82, 0xa2, 'i', 'd', 0xa2,
        'a', '1', 0xa4, 'b', 'o', 'd', 'y', 0xa2, 'H', 'i'
    };
    ps_add_batch *b = ps_add_batch_new(0, 0);
    assert_non_null(b);
    const char *g[PS_DOC_NKEYS] = { "a1", NULL, "Hi", NULL, NULL, NULL };
    assert_int_equal(ps_add_batch_add(b, g, "x"), PS_ADD_BATCH_OK);
    char *p = NULL;
    size_t len = 0;
    assert_int_equal(ps_add_batch_params(b, 0, 1, &p, &len), 0);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(p, want, sizeof want);
    free(p);
    ps_add_batch_free(b);
}

static void add_n(ps_add_batch *b, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        char id[32], src[32];
        snprintf(id, sizeof id, "d%d", i);
        snprintf(src, sizeof src, "f.jsonl:%d", i + 1);
        const char *f[PS_DOC_NKEYS] = { id, NULL, "body", NULL, NULL, NULL };
        assert_int_equal(ps_add_batch_add(b, f, src), PS_ADD_BATCH_OK);
    }
}

static void test_doc_cap(void **state)
{
    (void)state;
    ps_add_batch *b = ps_add_batch_new(3, 0);
    assert_non_null(b);
    add_n(b, 0, 2);
    assert_false(ps_add_batch_full(b));
    add_n(b, 2, 1);
    assert_true(ps_add_batch_full(b));
    const char *f[PS_DOC_NKEYS] = { "d3", NULL, "body", NULL, NULL, NULL };
    assert_int_equal(ps_add_batch_add(b, f, "f.jsonl:4"), PS_ADD_BATCH_FULL);
    assert_int_equal(ps_add_batch_count(b), 3);
    assert_string_equal(ps_add_batch_id(b, 1), "d1");
    assert_string_equal(ps_add_batch_source(b, 2), "f.jsonl:3");
    assert_null(ps_add_batch_id(b, 3));
    assert_null(ps_add_batch_source(b, 3));
    assert_int_equal(ps_add_batch_offset(b), 0);
    size_t sum = 0;
    for (size_t i = 0; i < 3; i++)
        sum += ps_add_batch_doc_bytes(b, i);
    assert_int_equal(sum, ps_add_batch_bytes(b));
    assert_int_equal(ps_add_batch_doc_bytes(b, 3), 0);

    ps_add_batch_clear(b);
    assert_int_equal(ps_add_batch_count(b), 0);
    assert_int_equal(ps_add_batch_bytes(b), 0);
    assert_int_equal(ps_add_batch_offset(b), 3);
    assert_int_equal(ps_add_batch_add(b, f, NULL), PS_ADD_BATCH_OK);
    assert_string_equal(ps_add_batch_source(b, 0), "?");
    assert_string_equal(ps_add_batch_id(b, 0), "d3");

    /* Without id or body nothing is added. */
    const char *noid[PS_DOC_NKEYS] = { NULL, NULL, "b", NULL, NULL, NULL };
    const char *nobody[PS_DOC_NKEYS] = { "x", NULL, NULL, NULL, NULL, NULL };
    assert_int_equal(ps_add_batch_add(b, noid, "s"), PS_ADD_BATCH_INVALID);
    assert_int_equal(ps_add_batch_add(b, nobody, "s"), PS_ADD_BATCH_INVALID);
    assert_int_equal(ps_add_batch_count(b), 1);
    ps_add_batch_free(b);

    /* More than the protocol's 1000 is capped. */
    b = ps_add_batch_new(5000, 0);
    assert_non_null(b);
    add_n(b, 0, 1000);
    assert_true(ps_add_batch_full(b));
    ps_add_batch_free(b);
}

static void test_byte_cap(void **state)
{
    (void)state;
    char *big = malloc(5001);
    assert_non_null(big);
    memset(big, 'y', 5000);
    big[5000] = '\0';
    const char *f[PS_DOC_NKEYS] = { "big", NULL, big, NULL, NULL, NULL };
    ps_add_batch *b = ps_add_batch_new(0, 1000);
    assert_non_null(b);
    /* Larger than the cap alone: goes into the empty batch. */
    assert_int_equal(ps_add_batch_add(b, f, "big.txt"), PS_ADD_BATCH_OK);
    assert_true(ps_add_batch_bytes(b) > 5000);
    const char *g[PS_DOC_NKEYS] = { "small", NULL, "s", NULL, NULL, NULL };
    assert_int_equal(ps_add_batch_add(b, g, "s.txt"), PS_ADD_BATCH_FULL);
    ps_add_batch_clear(b);
    /* Small documents fill the batch up to the cap, not beyond. */
    size_t n = 0;
    while (ps_add_batch_add(b, g, "s.txt") == PS_ADD_BATCH_OK)
        n++;
    assert_true(n > 10);
    assert_true(ps_add_batch_bytes(b) <= 1000);
    assert_true(ps_add_batch_bytes(b) + ps_add_batch_doc_bytes(b, 0) > 1000);
    ps_add_batch_free(b);
    free(big);
}

static void test_params_range(void **state)
{
    (void)state;
    ps_add_batch *b = ps_add_batch_new(10, 0);
    assert_non_null(b);
    add_n(b, 0, 4);
    char *p = NULL;
    size_t len = 0;
    msgpack_unpacked u;

    assert_int_equal(ps_add_batch_params(b, 0, 4, &p, &len), 0);
    const msgpack_object *docs = docs_of(p, len, &u);
    assert_int_equal(docs->via.array.size, 4);
    for (uint32_t i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "d%u", i);
        assert_key(&docs->via.array.ptr[i], "id", id);
    }
    msgpack_unpacked_destroy(&u);
    free(p);

    /* One document of the middle (a resend one by one). */
    assert_int_equal(ps_add_batch_params(b, 2, 1, &p, &len), 0);
    docs = docs_of(p, len, &u);
    assert_int_equal(docs->via.array.size, 1);
    assert_key(&docs->via.array.ptr[0], "id", "d2");
    msgpack_unpacked_destroy(&u);
    free(p);

    assert_int_equal(ps_add_batch_params(b, 0, 0, &p, &len), -1);
    assert_null(p);
    assert_int_equal(ps_add_batch_params(b, 3, 2, &p, &len), -1);
    assert_int_equal(ps_add_batch_params(b, 5, 1, &p, &len), -1);
    assert_int_equal(ps_add_batch_params(b, SIZE_MAX, 2, &p, &len), -1);
    ps_add_batch_free(b);
    ps_add_batch_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_pack),
        cmocka_unit_test(test_doc_cap),
        cmocka_unit_test(test_byte_cap),
        cmocka_unit_test(test_params_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
