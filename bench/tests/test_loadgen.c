/* test_loadgen.c: unit tests of ps-loadgen's parts: percentiles, the query
 * file reader, the SphinxQL (MySQL protocol) client state machine and the
 * MessagePack-RPC reply parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lg_latency.h"
#include "lg_proto.h"
#include "lg_queries.h"
#include "rpc.h"

static void test_latency(void **state)
{
    (void)state;
    lg_latency l = {0};
    assert_int_equal(lg_latency_pct(&l, 50), 0);
    for (uint64_t i = 100; i >= 1; i--)
        assert_int_equal(lg_latency_add(&l, i), 0);
    assert_int_equal(lg_latency_pct(&l, 50), 50);
    assert_int_equal(lg_latency_pct(&l, 95), 95);
    assert_int_equal(lg_latency_pct(&l, 99), 99);
    assert_int_equal(lg_latency_pct(&l, 100), 100);
    assert_int_equal(lg_latency_pct(&l, 0.1), 1);
    lg_latency_add(&l, 1000);   /* unsorted again */
    assert_int_equal(lg_latency_pct(&l, 100), 1000);
    lg_latency_free(&l);
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/test_loadgen_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_queries(void **state)
{
    (void)state;
    lg_queries qs;
    char *p = write_tmp("# header\r\nsanté\r\n\n\"a b\"\nlast");
    assert_int_equal(lg_queries_load(p, &qs), 0);
    assert_int_equal(qs.n, 3);
    assert_string_equal(qs.q[0], "santé");
    assert_string_equal(qs.q[1], "\"a b\"");
    assert_string_equal(qs.q[2], "last");
    lg_queries_free(&qs);
    unlink(p);
    free(p);
    p = write_tmp("# only a comment\n\n");
    assert_int_equal(lg_queries_load(p, &qs), -1);
    unlink(p);
    free(p);
    assert_int_equal(lg_queries_load("/nonexistent/q.txt", &qs), -1);
}

/* Appends a MySQL packet (header + payload) to b. */
static void packet(lg_buf *b, uint8_t seq, const void *payload, size_t n)
{
    uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), seq};
    assert_int_equal(lg_buf_append(b, h, 4), 0);
    assert_int_equal(lg_buf_append(b, payload, n), 0);
}

static int parse_one(const lg_proto *p, void *st, lg_buf *in, lg_reply *r, lg_buf *out)
{
    size_t used = 0;
    int rc = p->parse(st, in->data + in->off, in->len - in->off, &used, r, out);
    lg_buf_consume(in, used);
    return rc;
}

static void test_sphinxql(void **state)
{
    (void)state;
    const lg_proto *p = &lg_proto_sphinxql;
    void *st = calloc(1, p->state_size);
    lg_buf in = {0}, out = {0};
    lg_reply r;
    assert_int_equal(p->on_connect(st, &out), 0);

    /* greeting, split across two reads */
    uint8_t greet[] = {10, '2', '.', '2', 0, 1, 0, 0, 0};
    packet(&in, 0, greet, sizeof greet);
    size_t used = 99;
    assert_int_equal(p->parse(st, in.data, 6, &used, &r, &out), LG_P_NEED_MORE);
    assert_int_equal(used, 0);
    assert_int_equal(parse_one(p, st, &in, &r, &out), LG_P_AGAIN);
    assert_int_equal(out.len, 43);          /* HandshakeResponse41 */
    assert_int_equal(out.data[0], 39);
    assert_int_equal(out.data[3], 1);       /* sequence 1 */
    uint8_t ok[] = {0, 0, 0, 2, 0, 0, 0};
    packet(&in, 2, ok, sizeof ok);
    assert_int_equal(parse_one(p, st, &in, &r, &out), LG_P_READY);

    /* query text */
    lg_buf_free(&out);
    assert_int_equal(p->encode(st, 7, "pôle OR it's \"a b\" (x)-y", 10, 1, &out), 0);
    const char *want = "SELECT id FROM ps WHERE MATCH('pôle | it\\'s \"a b\" \\\\(x\\\\)\\\\-y') LIMIT 10";
    assert_int_equal(out.data[4], 0x03);
    assert_int_equal(out.len - 5, strlen(want));
    assert_memory_equal(out.data + 5, want, strlen(want));
    assert_int_equal(out.data[0] | out.data[1] << 8, strlen(want) + 1);

    /* result set: 1 column, 2 rows */
    uint8_t ncol[] = {1}, coldef[] = {3, 'd', 'e', 'f'}, eof[] = {0xfe, 0, 0, 2, 0};
    uint8_t row[] = {1, '5'};
    packet(&in, 1, ncol, 1);
    packet(&in, 2, coldef, sizeof coldef);
    packet(&in, 3, eof, sizeof eof);
    packet(&in, 4, row, sizeof row);
    packet(&in, 5, row, sizeof row);
    packet(&in, 6, eof, sizeof eof);
    int rc;
    while ((rc = parse_one(p, st, &in, &r, &out)) == LG_P_AGAIN)
        ;
    assert_int_equal(rc, LG_P_REPLY);
    assert_int_equal(r.msgid, 7);
    assert_int_equal(r.hits, 2);
    assert_false(r.is_error);

    /* error packet */
    assert_int_equal(p->encode(st, 8, "x", 10, -1, &out), 0);
    const char err[] = "\xff\x28\x04#42000index ps: syntax error";
    packet(&in, 1, err, sizeof err - 1);
    assert_int_equal(parse_one(p, st, &in, &r, &out), LG_P_REPLY);
    assert_true(r.is_error);
    assert_int_equal(r.msgid, 8);
    assert_string_equal(r.error, "index ps: syntax error");

    /* a result set announcing 0 columns is a protocol error */
    uint8_t zero[] = {0xfb};
    packet(&in, 1, zero, 1);
    assert_int_equal(parse_one(p, st, &in, &r, &out), LG_P_ERROR);

    p->destroy(st);
    free(st);
    lg_buf_free(&in);
    lg_buf_free(&out);
}

static int buf_write(void *data, const char *b, size_t n)
{
    return lg_buf_append(data, b, n);
}

static void test_msgpack(void **state)
{
    (void)state;
    const lg_proto *p = &lg_proto_msgpack;
    void *st = calloc(1, p->state_size);
    lg_buf in = {0}, out = {0};
    lg_reply r;
    assert_int_equal(p->on_connect(st, &out), 1);

    /* the request is a valid MessagePack-RPC search request */
    assert_int_equal(p->encode(st, 42, "santé", 10, 0, &out), 0);
    ps_rpc_msg m;
    const char *why = NULL;
    int known = 0;
    memset(&m, 0, sizeof m);
    assert_int_equal(ps_rpc_decode((const char *)out.data, out.len, &m, &why, &known), 0);
    assert_int_equal(m.type, PS_RPC_REQUEST);
    assert_int_equal(m.msgid, 42);
    assert_int_equal(m.method_len, 6);
    assert_memory_equal(m.method, "search", 6);
    assert_int_equal(m.params.via.array.size, 1);
    assert_int_equal(m.params.via.array.ptr[0].via.map.size, 3);
    ps_rpc_msg_destroy(&m);

    /* a response with 2 hits, fed one byte at a time */
    msgpack_packer pk;
    msgpack_packer_init(&pk, &in, buf_write);
    ps_rpc_pack_response_ok(&pk, 42);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "total", 5);
    msgpack_pack_uint32(&pk, 2);
    msgpack_pack_str_with_body(&pk, "hits", 4);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_map(&pk, 0);
    size_t used = 0;
    for (size_t n = 1; n < in.len; n++)
        assert_int_equal(p->parse(st, in.data, n, &used, &r, &out), LG_P_NEED_MORE);
    assert_int_equal(p->parse(st, in.data, in.len, &used, &r, &out), LG_P_REPLY);
    assert_int_equal(used, in.len);
    assert_int_equal(r.msgid, 42);
    assert_int_equal(r.hits, 2);
    assert_false(r.is_error);
    lg_buf_consume(&in, used);

    /* an error response */
    ps_rpc_pack_response_error(&pk, 43, "busy", "queue full");
    assert_int_equal(parse_one(p, st, &in, &r, &out), LG_P_REPLY);
    assert_true(r.is_error);
    assert_string_equal(r.error, "busy");

    /* ext types are refused by the scanner */
    uint8_t ext[] = {0xd4, 0x01, 0x00};
    lg_buf_append(&in, ext, sizeof ext);
    assert_int_equal(parse_one(p, st, &in, &r, &out), LG_P_ERROR);

    p->destroy(st);
    free(st);
    lg_buf_free(&in);
    lg_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_queries),
        cmocka_unit_test(test_sphinxql),
        cmocka_unit_test(test_msgpack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
