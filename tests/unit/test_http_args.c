/* Unit tests of the HTTP/JSON front end's pure parts: JSON <-> MessagePack
 * objects (lib/wire/jsonmp.c), query strings and POST /docs bodies to
 * method arguments (searchd/http_args.c), and the new options (config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <cmocka.h>

#include "config.h"
#include "http_args.h"
#include "jsonmp.h"
#include "rpc.h"

/* The value of key in params = [ {map} ], or NULL. */
static const msgpack_object *arg(const msgpack_object *params, const char *key)
{
    assert_int_equal(params->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(params->via.array.size, 1);
    const msgpack_object *m = &params->via.array.ptr[0];
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

static void test_json_to_msgpack_types(void **state)
{
    (void)state;
    json_error_t je;
    json_t *j = json_loads("{\"s\":\"caf\\u00e9\",\"n\":-3,\"u\":7,\"r\":1.5,"
                           "\"t\":true,\"f\":false,\"z\":null,\"a\":[1,[2]],"
                           "\"nul\":\"a\\u0000b\"}", JSON_ALLOW_NUL, &je);
    assert_non_null(j);
    msgpack_zone *z = msgpack_zone_new(1024);
    msgpack_object o;
    assert_int_equal(ps_json_to_msgpack(j, z, 3, &o), 0);
    assert_int_equal(o.type, MSGPACK_OBJECT_MAP);
    msgpack_object params = { .type = MSGPACK_OBJECT_ARRAY,
                              .via.array = { 1, &o } };
    const msgpack_object *v = arg(&params, "s");
    assert_int_equal(v->type, MSGPACK_OBJECT_STR);
    assert_int_equal(v->via.str.size, 5);
    assert_memory_equal(v->via.str.ptr, "caf\xc3\xa9", 5);
    assert_int_equal(arg(&params, "n")->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_int_equal(arg(&params, "n")->via.i64, -3);
    assert_int_equal(arg(&params, "u")->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(arg(&params, "u")->via.u64, 7);
    assert_int_equal(arg(&params, "r")->type, MSGPACK_OBJECT_FLOAT64);
    assert_true(arg(&params, "t")->via.boolean);
    assert_false(arg(&params, "f")->via.boolean);
    assert_int_equal(arg(&params, "z")->type, MSGPACK_OBJECT_NIL);
    assert_int_equal(arg(&params, "a")->via.array.size, 2);
    assert_int_equal(arg(&params, "nul")->via.str.size, 3);   /* NUL kept */
    /* Depth: {"a":[1,[2]]} is 3 deep. */
    assert_int_equal(ps_json_to_msgpack(j, z, 2, &o), -1);
    json_decref(j);
    msgpack_zone_free(z);
}

static void test_msgpack_to_json_round_trip(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "total", 5);
    msgpack_pack_uint64(&pk, 6);
    msgpack_pack_str_with_body(&pk, "score", 5);
    msgpack_pack_double(&pk, 0.25);
    msgpack_pack_str_with_body(&pk, "hits", 4);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_str_with_body(&pk, "sant\xc3\xa9", 6);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_pack_nil(&pk);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    json_t *j = ps_msgpack_to_json(&u.data);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "{\"total\":6,\"score\":0.25,\"hits\":[\"sant\xc3\xa9\"],"
                           "\"x\":null}");
    free(s);
    json_decref(j);
    msgpack_unpacked_destroy(&u);
    /* Invalid UTF-8 and non-string keys are refused. */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_str_with_body(&pk, "\xff", 1);
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    assert_null(ps_msgpack_to_json(&u.data));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 2);
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    assert_null(ps_msgpack_to_json(&u.data));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_query_params(void **state)
{
    (void)state;
    msgpack_zone *z = msgpack_zone_new(1024);
    msgpack_object p;
    char err[200];
    assert_int_equal(http_query_params("q=sant%C3%A9+lyon&limit=5&offset=x&"
                                       "facets=true&snippet=0&spelling=maybe&lang=fr",
                                       http_search_types, http_search_ntypes,
                                       z, &p, err, sizeof err), 0);
    const msgpack_object *v = arg(&p, "q");
    assert_int_equal(v->type, MSGPACK_OBJECT_STR);
    assert_int_equal(v->via.str.size, strlen("sant\xc3\xa9 lyon"));
    assert_memory_equal(v->via.str.ptr, "sant\xc3\xa9 lyon", v->via.str.size);
    assert_int_equal(arg(&p, "limit")->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(arg(&p, "limit")->via.u64, 5);
    /* Not a number: left a string for the method's parse to refuse. */
    assert_int_equal(arg(&p, "offset")->type, MSGPACK_OBJECT_STR);
    assert_int_equal(arg(&p, "facets")->type, MSGPACK_OBJECT_BOOLEAN);
    assert_true(arg(&p, "facets")->via.boolean);
    assert_false(arg(&p, "snippet")->via.boolean);
    assert_int_equal(arg(&p, "spelling")->type, MSGPACK_OBJECT_STR);
    assert_int_equal(arg(&p, "lang")->type, MSGPACK_OBJECT_STR);
    /* The method's own parser then names the problem. */
    char e2[200];
    const char *off = NULL;
    uint64_t lim = 0;
    const ps_arg_spec sp[] = {{"offset", PS_ARG_UINT, 0, &off, NULL, 0},
                              {"limit", PS_ARG_UINT, 0, &lim, NULL, 0}};
    msgpack_object one;
    assert_int_equal(http_query_params("offset=-1", http_search_types,
                                       http_search_ntypes, z, &one, err,
                                       sizeof err), 0);
    assert_int_equal(ps_rpc_args_parse(&one, sp, 2, z, e2, sizeof e2), -1);
    assert_string_equal(e2, "argument 'offset' must be an unsigned integer");
    /* Empty, NUL bytes, malformed. */
    assert_int_equal(http_query_params(NULL, NULL, 0, z, &p, err, sizeof err), 0);
    assert_int_equal(p.via.array.ptr[0].via.map.size, 0);
    assert_int_equal(http_query_params("q=a%00b", NULL, 0, z, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "NUL"));
    assert_int_equal(http_query_params("q", NULL, 0, z, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "malformed"));
    assert_int_equal(http_query_params("=x", NULL, 0, z, &p, err, sizeof err), -1);
    msgpack_zone_free(z);
}

static void test_docs_from_body(void **state)
{
    (void)state;
    msgpack_zone *z = msgpack_zone_new(1024);
    json_t *keep = json_array();
    msgpack_object d;
    char err[200];
    const char *one = "{\"id\":\"a\",\"body\":\"x\"}";
    assert_int_equal(http_docs_from_body(one, strlen(one), 0, 16, z, keep, &d,
                                         err, sizeof err), 0);
    assert_int_equal(d.via.array.size, 1);
    assert_int_equal(d.via.array.ptr[0].type, MSGPACK_OBJECT_MAP);
    const char *arr = "[{\"id\":\"a\",\"body\":\"x\"}, 5, {\"id\":\"b\",\"body\":\"y\"}]";
    assert_int_equal(http_docs_from_body(arr, strlen(arr), 0, 16, z, keep, &d,
                                         err, sizeof err), 0);
    assert_int_equal(d.via.array.size, 3);
    assert_int_equal(d.via.array.ptr[1].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    const char *nd = "{\"id\":\"a\",\"body\":\"x\"}\r\n\n  \n{\"id\":\"b\",\"body\":\"y\"}";
    assert_int_equal(http_docs_from_body(nd, strlen(nd), 1, 16, z, keep, &d,
                                         err, sizeof err), 0);
    assert_int_equal(d.via.array.size, 2);
    const char *bad = "{\"id\":\"a\",\"body\":\"x\"}\n{\"id\":";
    assert_int_equal(http_docs_from_body(bad, strlen(bad), 1, 16, z, keep, &d,
                                         err, sizeof err), -1);
    assert_non_null(strstr(err, "line 2"));
    const char *utf = "{\"id\":\"a\",\"body\":\"caf\xe9\"}";
    assert_int_equal(http_docs_from_body(utf, strlen(utf), 0, 16, z, keep, &d,
                                         err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid JSON"));
    const char *deep = "[[[[1]]]]";
    assert_int_equal(http_docs_from_body(deep, strlen(deep), 0, 2, z, keep, &d,
                                         err, sizeof err), -1);
    assert_non_null(strstr(err, "max_depth"));
    assert_int_equal(http_docs_from_body("", 0, 1, 16, z, keep, &d, err,
                                         sizeof err), 0);
    assert_int_equal(d.via.array.size, 0);     /* add says: empty */
    json_decref(keep);
    msgpack_zone_free(z);
}

static int parse(searchd_config *c, const char *const *args, int n)
{
    char *argv[16];
    argv[0] = (char *)"polysearchd";
    for (int i = 0; i < n; i++) argv[i + 1] = (char *)args[i];
    searchd_config_defaults(c);
    return searchd_config_parse(c, n + 1, argv);
}

static void test_http_options(void **state)
{
    (void)state;
    searchd_config c;
    assert_int_equal(parse(&c, NULL, 0), -1);
    assert_int_equal(c.nhttp, 0);
    assert_int_equal(c.max_request, 1024 * 1024);
    assert_int_equal(c.max_headers, 8 * 1024);
    const char *a[] = {"--http", "127.0.0.1:0", "--http", "[::1]:8080",
                       "--http-port-file", "hp", "--max-request", "2m",
                       "--max-headers", "16k"};
    assert_int_equal(parse(&c, a, 10), -1);
    assert_int_equal(c.nhttp, 2);
    assert_string_equal(c.http[1], "[::1]:8080");
    assert_string_equal(c.http_port_file, "hp");
    assert_int_equal(c.max_request, 2 * 1024 * 1024);
    assert_int_equal(c.max_headers, 16 * 1024);
    const char *b[] = {"--http-port-file", "hp"};
    assert_int_equal(parse(&c, b, 2), EX_USAGE);
    const char *d[] = {"--max-headers", "10"};
    assert_int_equal(parse(&c, d, 2), EX_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_to_msgpack_types),
        cmocka_unit_test(test_msgpack_to_json_round_trip),
        cmocka_unit_test(test_query_params),
        cmocka_unit_test(test_docs_from_body),
        cmocka_unit_test(test_http_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
