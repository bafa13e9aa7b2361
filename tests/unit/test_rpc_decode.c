/* test_rpc_decode.c: envelope decoding and named arguments against the
 * "wrong shapes" cases of RELIABILITY.md (lib/wire/decode.c).  UTF-8
 * validation itself: test_utf8.c. */
#include "test_rpc_util.h"

#include <stdlib.h>

/* ---- helpers ---------------------------------------------------------- */

typedef struct fx {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    msgpack_sbuffer_destroy(&f->sb);
    free(f);
    return 0;
}

static void pack_raw_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Decodes f->sb expecting failure with `want` as reason. */
static void expect_fail(fx *f, const char *want, int want_known,
                        uint32_t want_id)
{
    ps_rpc_msg msg;
    const char *why = NULL;
    int known = -1;
    assert_int_equal(scan_and_decode(&f->sb, &msg, &why, &known), -1);
    assert_non_null(why);
    assert_string_equal(why, want);
    assert_int_equal(known, want_known);
    if (want_known)
        assert_int_equal(msg.msgid, want_id);
    ps_rpc_msg_destroy(&msg);
}

/* ---- envelope --------------------------------------------------------- */

static void test_valid_request(void **state)
{
    fx *f = *state;
    ps_rpc_msg msg;
    const char *why = NULL;
    int known = 0;
    assert_int_equal(ps_rpc_pack_request(&f->pk, 4294967295u, "search", 1),
                     0);
    msgpack_pack_map(&f->pk, 1);
    ps_rpc_pack_str(&f->pk, "q");
    ps_rpc_pack_str(&f->pk, "x");
    assert_int_equal(scan_and_decode(&f->sb, &msg, &why, &known), 0);
    assert_null(why);
    assert_int_equal(known, 1);
    assert_int_equal(msg.type, PS_RPC_REQUEST);
    assert_int_equal(msg.msgid, 4294967295u);
    assert_int_equal(msg.method_len, 6);
    assert_memory_equal(msg.method, "search", 6);
    assert_int_equal(msg.params.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(msg.params.via.array.size, 1);
    ps_rpc_msg_destroy(&msg);
    ps_rpc_msg_destroy(&msg);                   /* idempotent */
}

static void test_notification_and_response(void **state)
{
    fx *f = *state;
    ps_rpc_msg msg;
    const char *why;
    int known;
    msgpack_pack_array(&f->pk, 3);
    msgpack_pack_uint8(&f->pk, 2);
    ps_rpc_pack_str(&f->pk, "ping");
    msgpack_pack_array(&f->pk, 0);
    assert_int_equal(scan_and_decode(&f->sb, &msg, &why, &known), 0);
    assert_int_equal(msg.type, PS_RPC_NOTIFY);
    assert_int_equal(known, 0);
    assert_memory_equal(msg.method, "ping", 4);
    ps_rpc_msg_destroy(&msg);

    msgpack_sbuffer_clear(&f->sb);
    assert_int_equal(ps_rpc_pack_response_ok(&f->pk, 12), 0);
    ps_rpc_pack_str(&f->pk, "pong");
    assert_int_equal(scan_and_decode(&f->sb, &msg, &why, &known), 0);
    assert_int_equal(msg.type, PS_RPC_RESPONSE);
    assert_int_equal(msg.msgid, 12);
    assert_int_equal(msg.error.type, MSGPACK_OBJECT_NIL);
    assert_int_equal(msg.result.type, MSGPACK_OBJECT_STR);
    ps_rpc_msg_destroy(&msg);

    msgpack_sbuffer_clear(&f->sb);
    assert_int_equal(ps_rpc_pack_response_error(&f->pk, 13, "not_found",
                                                "no such document"), 0);
    assert_int_equal(scan_and_decode(&f->sb, &msg, &why, &known), 0);
    assert_int_equal(msg.msgid, 13);
    assert_int_equal(msg.error.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(msg.error.via.map.size, 2);
    assert_memory_equal(msg.error.via.map.ptr[0].key.via.str.ptr, "code", 4);
    assert_memory_equal(msg.error.via.map.ptr[0].val.via.str.ptr,
                        "not_found", 9);
    assert_memory_equal(msg.error.via.map.ptr[1].val.via.str.ptr,
                        "no such document", 16);
    assert_int_equal(msg.result.type, MSGPACK_OBJECT_NIL);
    ps_rpc_msg_destroy(&msg);

    /* A response whose error is a string is refused. */
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 4);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 5);
    ps_rpc_pack_str(&f->pk, "oops");
    msgpack_pack_nil(&f->pk);
    expect_fail(f, "response error must be nil or a map", 1, 5);
}

static void test_not_an_array(void **state)
{
    fx *f = *state;
    msgpack_pack_map(&f->pk, 0);
    expect_fail(f, "message is not an array", 0, 0);
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_uint8(&f->pk, 7);              /* lone scalar */
    expect_fail(f, "message is not an array", 0, 0);
}

static void test_wrong_size_and_tag(void **state)
{
    fx *f = *state;
    msgpack_pack_array(&f->pk, 2);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_uint8(&f->pk, 1);
    expect_fail(f, "message must be an array of 3 or 4 elements", 0, 0);

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 4);
    msgpack_pack_uint8(&f->pk, 3);              /* unknown type tag */
    msgpack_pack_uint8(&f->pk, 1);
    ps_rpc_pack_str(&f->pk, "ping");
    msgpack_pack_array(&f->pk, 0);
    expect_fail(f, "message type must be 0 (request), 1 (response) or "
                   "2 (notification)", 0, 0);

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 4);
    ps_rpc_pack_str(&f->pk, "0");               /* tag as a string */
    msgpack_pack_uint8(&f->pk, 1);
    ps_rpc_pack_str(&f->pk, "ping");
    msgpack_pack_array(&f->pk, 0);
    expect_fail(f, "message type must be 0 (request), 1 (response) or "
                   "2 (notification)", 0, 0);

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 3);              /* request with 3 */
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_uint8(&f->pk, 1);
    ps_rpc_pack_str(&f->pk, "ping");
    expect_fail(f, "request must be an array of 4 elements", 0, 0);

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 4);              /* notification with 4 */
    msgpack_pack_uint8(&f->pk, 2);
    ps_rpc_pack_str(&f->pk, "ping");
    msgpack_pack_array(&f->pk, 0);
    msgpack_pack_nil(&f->pk);
    expect_fail(f, "notification must be an array of 3 elements", 0, 0);
}

static void pack_req_with_id(fx *f, int kind)
{
    msgpack_pack_array(&f->pk, 4);
    msgpack_pack_uint8(&f->pk, 0);
    switch (kind) {
    case 0: msgpack_pack_int64(&f->pk, -1); break;
    case 1: msgpack_pack_uint64(&f->pk, 4294967296ull); break;
    case 2: msgpack_pack_double(&f->pk, 1.0); break;
    default: ps_rpc_pack_str(&f->pk, "1"); break;
    }
    ps_rpc_pack_str(&f->pk, "ping");
    msgpack_pack_array(&f->pk, 0);
}

static void test_bad_msgid(void **state)
{
    fx *f = *state;
    for (int kind = 0; kind < 4; kind++) {
        msgpack_sbuffer_clear(&f->sb);
        pack_req_with_id(f, kind);
        expect_fail(f, "msgid must be an unsigned 32-bit integer", 0, 0);
    }
}

static void test_method_and_params(void **state)
{
    fx *f = *state;
    msgpack_pack_array(&f->pk, 4);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_uint8(&f->pk, 42);
    msgpack_pack_uint8(&f->pk, 1);              /* method int */
    msgpack_pack_array(&f->pk, 0);
    expect_fail(f, "method must be a string", 1, 42);

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 4);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_uint8(&f->pk, 43);
    msgpack_pack_bin(&f->pk, 4);                /* method bin: accepted */
    msgpack_pack_bin_body(&f->pk, "ping", 4);
    msgpack_pack_array(&f->pk, 0);
    {
        ps_rpc_msg msg;
        const char *why = NULL;
        int known = -1;
        assert_int_equal(scan_and_decode(&f->sb, &msg, &why, &known), 0);
        assert_int_equal(msg.type, PS_RPC_REQUEST);
        assert_int_equal(msg.msgid, 43);
        assert_int_equal(msg.method_len, 4);
        assert_memory_equal(msg.method, "ping", 4);
        ps_rpc_msg_destroy(&msg);
    }

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 4);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_uint8(&f->pk, 46);
    msgpack_pack_bin(&f->pk, 3);                /* bin that is not UTF-8 */
    msgpack_pack_bin_body(&f->pk, "p\xc3(", 3);
    msgpack_pack_array(&f->pk, 0);
    expect_fail(f, "invalid UTF-8 in method", 1, 46);

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 3);              /* notification, bin name */
    msgpack_pack_uint8(&f->pk, 2);
    msgpack_pack_bin(&f->pk, 20);
    msgpack_pack_bin_body(&f->pk, "nvim_set_client_info", 20);
    msgpack_pack_array(&f->pk, 0);
    {
        ps_rpc_msg msg;
        assert_int_equal(scan_and_decode(&f->sb, &msg, NULL, NULL), 0);
        assert_int_equal(msg.type, PS_RPC_NOTIFY);
        assert_int_equal(msg.method_len, 20);
        ps_rpc_msg_destroy(&msg);
    }

    /* An empty method name (str or bin) is a name, not a broken envelope
     * (a failure without a reason before: msgpack-c gives it no pointer). */
    for (int bin = 0; bin <= 1; bin++) {
        ps_rpc_msg msg;
        const char *why = "unset";
        msgpack_sbuffer_clear(&f->sb);
        msgpack_pack_array(&f->pk, 4);
        msgpack_pack_uint8(&f->pk, 0);
        msgpack_pack_uint8(&f->pk, 47);
        if (bin)
            msgpack_pack_bin(&f->pk, 0);
        else
            msgpack_pack_str(&f->pk, 0);
        msgpack_pack_array(&f->pk, 0);
        assert_int_equal(scan_and_decode(&f->sb, &msg, &why, NULL), 0);
        assert_null(why);
        assert_int_equal(msg.method_len, 0);
        assert_non_null(msg.method);
        ps_rpc_msg_destroy(&msg);
    }
    msgpack_sbuffer_clear(&f->sb);                /* [2, "", -24] */
    msgpack_pack_array(&f->pk, 3);
    msgpack_pack_uint8(&f->pk, 2);
    msgpack_pack_str(&f->pk, 0);
    msgpack_pack_int8(&f->pk, -24);
    expect_fail(f, "params must be an array", 0, 0);

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 2);              /* broken notification: */
    msgpack_pack_uint8(&f->pk, 2);              /* its type is still known */
    msgpack_pack_uint8(&f->pk, 9);
    {
        ps_rpc_msg msg;
        const char *why = NULL;
        assert_int_equal(scan_and_decode(&f->sb, &msg, &why, NULL), -1);
        assert_int_equal(msg.type, PS_RPC_NOTIFY);
        ps_rpc_msg_destroy(&msg);
    }

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 4);
    msgpack_pack_uint8(&f->pk, 0);
    msgpack_pack_uint8(&f->pk, 44);
    pack_raw_str(&f->pk, "pi\xffng", 5);
    msgpack_pack_array(&f->pk, 0);
    expect_fail(f, "invalid UTF-8 in method", 1, 44);

    msgpack_sbuffer_clear(&f->sb);
    assert_int_equal(ps_rpc_pack_request(&f->pk, 45, "search", 0), 0);
    /* Replace the empty params array (last byte 0x90) by a map. */
    f->sb.data[f->sb.size - 1] = (char)0x80;
    expect_fail(f, "params must be an array", 1, 45);

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 3);
    msgpack_pack_uint8(&f->pk, 2);
    ps_rpc_pack_str(&f->pk, "ping");
    msgpack_pack_nil(&f->pk);
    expect_fail(f, "params must be an array", 0, 0);
}

static void test_decode_rejects_raw_garbage(void **state)
{
    ps_rpc_msg msg;
    const char *why;
    int known;
    uint8_t deep[40];
    (void)state;
    /* Trailing bytes (the scanner would have split them). */
    assert_int_equal(ps_rpc_decode("\x93\x02\xa1x\x90\x01", 6, &msg, &why,
                                   &known), -1);
    assert_string_equal(why, "trailing bytes after the message");
    /* Truncated. */
    assert_int_equal(ps_rpc_decode("\x94\x00", 2, &msg, &why, &known), -1);
    assert_string_equal(why, "malformed MessagePack data");
    assert_int_equal(ps_rpc_decode(NULL, 0, &msg, &why, &known), -1);
    /* Deeper than msgpack-c's own stack (32). */
    memset(deep, 0x91, sizeof deep);
    deep[sizeof deep - 1] = 0x01;
    assert_int_equal(ps_rpc_decode((const char *)deep, sizeof deep, &msg,
                                   &why, &known), -1);
    assert_string_equal(why, "message too deeply nested or out of memory");
    ps_rpc_msg_destroy(&msg);
}

/* ---- named arguments -------------------------------------------------- */

typedef struct search_args {
    const char *q, *lang;
    uint64_t limit, offset;
    int snippet, has_limit, has_q, has_snippet;
    msgpack_object ids, filter;
    ps_arg_spec spec[7];
} search_args;

static void search_spec(search_args *a)
{
    memset(a, 0, sizeof *a);
    a->limit = 10;
    const ps_arg_spec s[7] = {
        { "q", PS_ARG_STR, 1, &a->q, &a->has_q, 4096 },
        { "lang", PS_ARG_STR, 0, &a->lang, NULL, 0 },
        { "limit", PS_ARG_UINT, 0, &a->limit, &a->has_limit, 1000 },
        { "offset", PS_ARG_UINT, 0, &a->offset, NULL, 0 },
        { "snippet", PS_ARG_BOOL, 0, &a->snippet, &a->has_snippet, 0 },
        { "ids", PS_ARG_ARRAY, 0, &a->ids, NULL, 0 },
        { "filter", PS_ARG_MAP, 0, &a->filter, NULL, 0 },
    };
    memcpy(a->spec, s, sizeof s);
}

/* Unpacks f->sb as the params object and runs args_parse.  Returns its
 * result; the error text goes to err. */
static int parse(fx *f, search_args *a, char *err, size_t errlen)
{
    msgpack_unpacked up;
    size_t off = 0;
    int rc;
    msgpack_zone *zone = msgpack_zone_new(1024);
    assert_non_null(zone);
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, f->sb.data, f->sb.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    search_spec(a);
    rc = ps_rpc_args_parse(&up.data, a->spec, 7, zone, err, errlen);
    if (rc == 0 && a->q != NULL) {
        /* The copy outlives the message and is NUL-terminated. */
        size_t n = strlen(a->q);
        msgpack_unpacked_destroy(&up);
        assert_true(n <= 4096);
        assert_true((const char *)a->q < f->sb.data ||
                    (const char *)a->q >= f->sb.data + f->sb.size);
    }
    msgpack_unpacked_destroy(&up);
    msgpack_zone_free(zone);
    return rc;
}

static void begin_map(fx *f, uint32_t n)
{
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 1);
    msgpack_pack_map(&f->pk, n);
}

static void expect_args_fail(fx *f, const char *want)
{
    search_args a;
    char err[256];
    assert_int_equal(parse(f, &a, err, sizeof err), -1);
    assert_string_equal(err, want);
}

/* A value to pack as an argument (test tables). */
typedef struct tval {
    enum { V_INT, V_UINT, V_DOUBLE, V_STR, V_EMPTY_MAP, V_NIL } kind;
    int64_t i;
    uint64_t u;
    double d;
    const char *s;
} tval;

static void pack_tval(msgpack_packer *pk, const tval *v)
{
    switch (v->kind) {
    case V_INT: msgpack_pack_int64(pk, v->i); break;
    case V_UINT: msgpack_pack_uint64(pk, v->u); break;
    case V_DOUBLE: msgpack_pack_double(pk, v->d); break;
    case V_STR: ps_rpc_pack_str(pk, v->s); break;
    case V_EMPTY_MAP: msgpack_pack_map(pk, 0); break;
    case V_NIL: msgpack_pack_nil(pk); break;
    }
}

/* Packs the params [{q: "x", key: v}] into f->sb. */
static void pack_q_and(fx *f, const char *key, const tval *v)
{
    begin_map(f, 2);
    ps_rpc_pack_str(&f->pk, "q");
    ps_rpc_pack_str(&f->pk, "x");
    ps_rpc_pack_str(&f->pk, key);
    pack_tval(&f->pk, v);
}

/* Parses [{q: "x", key: v}] expecting failure with `want`. */
static void expect_q_and_fail(fx *f, const char *key, const tval *v,
                              const char *want)
{
    pack_q_and(f, key, v);
    expect_args_fail(f, want);
}

static void test_args_good(void **state)
{
    fx *f = *state;
    msgpack_unpacked up;
    msgpack_zone *zone;
    search_args a;
    char err[128];
    size_t off = 0;

    begin_map(f, 6);
    ps_rpc_pack_str(&f->pk, "q");
    ps_rpc_pack_str(&f->pk, "Lyonbiop\xc3\xb4le \"x y\"");
    ps_rpc_pack_str(&f->pk, "limit");
    msgpack_pack_uint16(&f->pk, 1000);
    ps_rpc_pack_str(&f->pk, "snippet");
    msgpack_pack_false(&f->pk);
    ps_rpc_pack_str(&f->pk, "ids");
    msgpack_pack_array(&f->pk, 2);
    msgpack_pack_uint8(&f->pk, 1);
    msgpack_pack_uint8(&f->pk, 2);
    ps_rpc_pack_str(&f->pk, "filter");
    msgpack_pack_map(&f->pk, 0);
    ps_rpc_pack_str(&f->pk, "lang");
    ps_rpc_pack_str(&f->pk, "");

    zone = msgpack_zone_new(256);
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, f->sb.data, f->sb.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    search_spec(&a);
    a.has_snippet = 7;                          /* must be set to 1 */
    a.snippet = 1;
    assert_int_equal(ps_rpc_args_parse(&up.data, a.spec, 7, zone, err,
                                       sizeof err), 0);
    msgpack_unpacked_destroy(&up);              /* strings are copies */
    assert_string_equal(a.q, "Lyonbiop\xc3\xb4le \"x y\"");
    assert_string_equal(a.lang, "");
    assert_int_equal(a.limit, 1000);
    assert_int_equal(a.offset, 0);              /* default kept */
    assert_int_equal(a.snippet, 0);
    assert_int_equal(a.has_snippet, 1);
    assert_int_equal(a.has_limit, 1);
    assert_int_equal(a.ids.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(a.filter.type, MSGPACK_OBJECT_MAP);
    msgpack_zone_free(zone);
}

static void test_args_empty_params(void **state)
{
    fx *f = *state;
    msgpack_zone *zone = msgpack_zone_new(64);
    msgpack_object empty;
    char err[128];
    ps_arg_spec opt[1];
    uint64_t n = 5;
    int present = 9;
    (void)f;
    memset(&empty, 0, sizeof empty);
    empty.type = MSGPACK_OBJECT_ARRAY;
    opt[0] = (ps_arg_spec){ "n", PS_ARG_UINT, 0, &n, &present, 0 };
    assert_int_equal(ps_rpc_args_parse(&empty, opt, 1, zone, err, sizeof err),
                     0);
    assert_int_equal(present, 0);
    assert_int_equal(n, 5);
    opt[0].required = 1;
    assert_int_equal(ps_rpc_args_parse(&empty, opt, 1, zone, err, sizeof err),
                     -1);
    assert_string_equal(err, "missing required argument 'n'");
    /* Nothing accepted at all: stats {} / ping {}. */
    assert_int_equal(ps_rpc_args_parse(&empty, NULL, 0, zone, err,
                                       sizeof err), 0);
    msgpack_zone_free(zone);
}

static void test_args_shapes(void **state)
{
    fx *f = *state;
    /* params [ {}, {} ] */
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 2);
    msgpack_pack_map(&f->pk, 0);
    msgpack_pack_map(&f->pk, 0);
    expect_args_fail(f, "params must be [] or [ {map of named arguments} ]");
    /* params [ "q" ] */
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 1);
    ps_rpc_pack_str(&f->pk, "q");
    expect_args_fail(f, "params must be [] or [ {map of named arguments} ]");
    /* params a map */
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 0);
    expect_args_fail(f, "params must be an array");
    /* missing q */
    begin_map(f, 1);
    ps_rpc_pack_str(&f->pk, "limit");
    msgpack_pack_uint8(&f->pk, 1);
    expect_args_fail(f, "missing required argument 'q'");
}

static void test_args_keys(void **state)
{
    fx *f = *state;
    const tval red = { V_STR, .s = "red" }, y = { V_STR, .s = "y" };
    expect_q_and_fail(f, "colour", &red, "unknown argument 'colour'");

    begin_map(f, 1);                            /* a prefix is unknown too */
    ps_rpc_pack_str(&f->pk, "lim");
    msgpack_pack_uint8(&f->pk, 1);
    expect_args_fail(f, "unknown argument 'lim'");

    begin_map(f, 1);                            /* control chars hidden */
    pack_raw_str(&f->pk, "a\nb\x1b", 4);
    msgpack_pack_uint8(&f->pk, 1);
    expect_args_fail(f, "unknown argument 'a?b?'");

    begin_map(f, 1);
    pack_raw_str(&f->pk, "\xc0\xaf", 2);
    msgpack_pack_uint8(&f->pk, 1);
    expect_args_fail(f, "unknown argument '<invalid UTF-8>'");

    begin_map(f, 1);                            /* nil key */
    msgpack_pack_nil(&f->pk);
    ps_rpc_pack_str(&f->pk, "x");
    expect_args_fail(f, "argument names must be strings");

    begin_map(f, 1);                            /* int key */
    msgpack_pack_uint8(&f->pk, 1);
    ps_rpc_pack_str(&f->pk, "x");
    expect_args_fail(f, "argument names must be strings");

    expect_q_and_fail(f, "q", &y, "duplicate argument 'q'");   /* duplicate */

    {   /* A long unknown key is shortened. */
        char key[300];
        search_args a;
        char err[256];
        memset(key, 'k', sizeof key);
        begin_map(f, 1);
        pack_raw_str(&f->pk, key, sizeof key);
        msgpack_pack_uint8(&f->pk, 1);
        assert_int_equal(parse(f, &a, err, sizeof err), -1);
        assert_true(strlen(err) < 100);
        assert_non_null(strstr(err, "kkk..."));
    }
    {   /* Shortened without cutting a UTF-8 sequence in half. */
        char key[81];
        search_args a;
        char err[256];
        key[0] = 'a';
        for (int i = 0; i < 40; i++)
            memcpy(key + 1 + 2 * i, "\xc3\xa9", 2);
        begin_map(f, 1);
        pack_raw_str(&f->pk, key, sizeof key);
        msgpack_pack_uint8(&f->pk, 1);
        assert_int_equal(parse(f, &a, err, sizeof err), -1);
        assert_true(ps_utf8_valid(err, strlen(err)));
        assert_non_null(strstr(err, "\xc3\xa9..."));
        assert_true(strlen(err) <= strlen("unknown argument ''") + 63 + 3);
    }
}

static void test_args_types(void **state)
{
    fx *f = *state;
    static const struct { const char *key; tval v; const char *want; } bad[] = {
        { "limit", { V_INT, .i = -1 }, "argument 'limit' must not be negative" },
        { "limit", { V_UINT, .u = UINT64_MAX },
          "argument 'limit' is too large (at most 1000)" },
        { "limit", { V_UINT, .u = 1001 },
          "argument 'limit' is too large (at most 1000)" },
        { "limit", { V_STR, .s = "10" },
          "argument 'limit' must be an unsigned integer" },
        { "limit", { V_DOUBLE, .d = 10.0 },
          "argument 'limit' must be an unsigned integer" },
        { "snippet", { V_UINT, .u = 1 }, "argument 'snippet' must be a boolean" },
        { "ids", { .kind = V_EMPTY_MAP }, "argument 'ids' must be an array" },
        { "filter", { .kind = V_NIL }, "argument 'filter' must be a map" },
    };
    begin_map(f, 1);
    ps_rpc_pack_str(&f->pk, "q");
    msgpack_pack_uint8(&f->pk, 5);
    expect_args_fail(f, "argument 'q' must be a string");

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_q_and_fail(f, bad[i].key, &bad[i].v, bad[i].want);

    {                                           /* no max: 2^64-1 is fine */
        const tval max = { V_UINT, .u = UINT64_MAX };
        search_args a;
        char err[128];
        pack_q_and(f, "offset", &max);
        assert_int_equal(parse(f, &a, err, sizeof err), 0);
        assert_true(a.offset == UINT64_MAX);
    }

    begin_map(f, 1);                            /* bin is not a string */
    ps_rpc_pack_str(&f->pk, "q");
    msgpack_pack_bin(&f->pk, 1);
    msgpack_pack_bin_body(&f->pk, "x", 1);
    expect_args_fail(f, "argument 'q' must be a string");
}

static void test_args_strings(void **state)
{
    fx *f = *state;
    static const struct { const char *s; size_t n; } bad[] = {
        { "a\0b", 3 }, { "\xc0\xaf", 2 }, { "\xed\xa0\x80", 3 },
        { "\xe2\x82", 2 }, { "\xff\xfe", 2 },
    };
    char big[4097];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        begin_map(f, 1);
        ps_rpc_pack_str(&f->pk, "q");
        pack_raw_str(&f->pk, bad[i].s, bad[i].n);
        expect_args_fail(f, "argument 'q' is not valid UTF-8 (or holds a "
                            "NUL byte)");
    }
    memset(big, 'a', sizeof big);
    begin_map(f, 1);
    ps_rpc_pack_str(&f->pk, "q");
    pack_raw_str(&f->pk, big, 4097);
    expect_args_fail(f, "argument 'q' is too long (4097 bytes, at most "
                        "4096)");
    begin_map(f, 1);
    ps_rpc_pack_str(&f->pk, "q");
    pack_raw_str(&f->pk, big, 4096);
    {
        search_args a;
        char err[128];
        assert_int_equal(parse(f, &a, err, sizeof err), 0);
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_valid_request),
        T(test_notification_and_response),
        T(test_not_an_array),
        T(test_wrong_size_and_tag),
        T(test_bad_msgid),
        T(test_method_and_params),
        T(test_decode_rejects_raw_garbage),
        T(test_args_good),
        T(test_args_empty_params),
        T(test_args_shapes),
        T(test_args_keys),
        T(test_args_types),
        T(test_args_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
