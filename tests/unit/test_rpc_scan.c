/* test_rpc_scan.c: the frame scanner against the hostile-input table of
 * RELIABILITY.md ("Bad input (daemon)") and its resumability. */
#include "test_rpc_util.h"

#include <stdlib.h>
#include <time.h>

/* A real request: [0, 7, "search", [{"q": "santé", "limit": 10}]]. */
static void pack_search(msgpack_sbuffer *sb, uint32_t msgid)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    assert_int_equal(ps_rpc_pack_request(&pk, msgid, "search", 1), 0);
    msgpack_pack_map(&pk, 2);
    ps_rpc_pack_str(&pk, "q");
    ps_rpc_pack_str(&pk, "sant\xc3\xa9");
    ps_rpc_pack_str(&pk, "limit");
    msgpack_pack_uint32(&pk, 10);
}

static void expect_invalid(const void *buf, size_t len, ps_scan_error want)
{
    size_t flen;
    ps_scan_error err;
    assert_int_equal(scan_once(buf, len, 0, 0, &flen, &err),
                     PS_SCAN_INVALID);
    assert_int_equal(err, want);
    assert_int_equal(scan_bytewise(buf, len, 0, 0, &flen, &err),
                     PS_SCAN_INVALID);
    assert_int_equal(err, want);
}

static void test_huge_declared_sizes(void **state)
{
    static const uint8_t cases[][5] = {
        { 0xdd, 0xff, 0xff, 0xff, 0xff },   /* array32 */
        { 0xdf, 0x10, 0x00, 0x00, 0x00 },   /* map32 */
        { 0xdb, 0xff, 0xff, 0xff, 0xff },   /* str32 */
        { 0xc6, 0xff, 0xff, 0xff, 0xff },   /* bin32 */
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t req[16] = { 0x94, 0x00, 0x01, 0xa4, 'p', 'i', 'n', 'g',
                            0x91 };
        expect_invalid(cases[i], 5, PS_SCAN_E_TOO_LARGE);
        /* The same inside a request's params. */
        memcpy(req + 9, cases[i], 5);
        expect_invalid(req, 14, PS_SCAN_E_TOO_LARGE);
    }
}

static void test_declared_count_vs_room(void **state)
{
    /* array16 of 10 items in a 10-byte frame: 3 header bytes leave 7. */
    static const uint8_t arr[] = { 0xdc, 0x00, 0x0a };
    static const uint8_t arr_ok[] = { 0xdc, 0x00, 0x07 };
    /* map16 of 4 pairs needs >= 8 bytes, 7 left. */
    static const uint8_t map[] = { 0xde, 0x00, 0x04 };
    static const uint8_t map_ok[] = { 0xde, 0x00, 0x03 };
    size_t flen;
    ps_scan_error err;
    (void)state;
    assert_int_equal(scan_once(arr, 3, 10, 0, &flen, &err), PS_SCAN_INVALID);
    assert_int_equal(err, PS_SCAN_E_TOO_LARGE);
    assert_int_equal(scan_once(arr_ok, 3, 10, 0, &flen, &err),
                     PS_SCAN_NEED_MORE);
    assert_int_equal(scan_once(map, 3, 10, 0, &flen, &err), PS_SCAN_INVALID);
    assert_int_equal(err, PS_SCAN_E_TOO_LARGE);
    assert_int_equal(scan_once(map_ok, 3, 10, 0, &flen, &err),
                     PS_SCAN_NEED_MORE);
}

/* n nested one-element arrays around the integer 1. */
static size_t nested(uint8_t *buf, unsigned n, int empty_inner)
{
    memset(buf, 0x91, n);
    if (empty_inner) {
        buf[n - 1] = 0x90;
        return n;
    }
    buf[n] = 0x01;
    return n + 1;
}

static void test_nesting(void **state)
{
    uint8_t buf[80];
    size_t len, flen;
    ps_scan_error err;
    (void)state;
    len = nested(buf, 16, 0);
    assert_int_equal(scan_once(buf, len, 0, 0, &flen, &err),
                     PS_SCAN_COMPLETE);
    assert_int_equal(flen, 17);
    len = nested(buf, 16, 1);
    assert_int_equal(scan_once(buf, len, 0, 0, &flen, &err),
                     PS_SCAN_COMPLETE);
    assert_int_equal(flen, 16);
    len = nested(buf, 17, 0);
    expect_invalid(buf, len, PS_SCAN_E_DEPTH);
    len = nested(buf, 17, 1);                   /* empty counts too */
    expect_invalid(buf, len, PS_SCAN_E_DEPTH);
    len = nested(buf, 33, 0);
    expect_invalid(buf, len, PS_SCAN_E_DEPTH);
    /* Custom limits, and the cap at PS_RPC_MAX_DEPTH_LIMIT. */
    len = nested(buf, 4, 0);
    assert_int_equal(scan_once(buf, len, 0, 3, &flen, &err),
                     PS_SCAN_INVALID);
    assert_int_equal(scan_once(buf, len, 0, 4, &flen, &err),
                     PS_SCAN_COMPLETE);
    len = nested(buf, 65, 0);
    assert_int_equal(scan_once(buf, len, 0, 1000, &flen, &err),
                     PS_SCAN_INVALID);
    assert_int_equal(err, PS_SCAN_E_DEPTH);
    len = nested(buf, 64, 0);
    assert_int_equal(scan_once(buf, len, 0, 1000, &flen, &err),
                     PS_SCAN_COMPLETE);
    /* Depth is per path: siblings do not add up. */
    {
        static const uint8_t sib[] = { 0x93, 0x91, 0x91, 0x01, 0x91, 0x91,
                                       0x01, 0x91, 0x91, 0x01 };
        assert_int_equal(scan_once(sib, sizeof sib, 0, 3, &flen, &err),
                         PS_SCAN_COMPLETE);
        assert_int_equal(flen, sizeof sib);
    }
}

static void test_bad_bytes_and_ext(void **state)
{
    static const uint8_t ext[] = { 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7,
                                   0xd8 };
    uint8_t buf[8];
    (void)state;
    buf[0] = 0xc1;
    expect_invalid(buf, 1, PS_SCAN_E_BADBYTE);
    memcpy(buf, "\x94\x00\x01\xc1", 4);
    expect_invalid(buf, 4, PS_SCAN_E_BADBYTE);
    for (size_t i = 0; i < sizeof ext; i++) {
        buf[0] = ext[i];
        buf[1] = 0x01;
        buf[2] = 0x01;
        expect_invalid(buf, 3, PS_SCAN_E_EXT);
        buf[0] = 0x92;
        buf[1] = 0x01;
        buf[2] = ext[i];
        expect_invalid(buf, 3, PS_SCAN_E_EXT);
    }
    /* Each error has a message. */
    assert_non_null(strstr(ps_scan_error_str(PS_SCAN_E_EXT), "extension"));
    assert_non_null(strstr(ps_scan_error_str(PS_SCAN_E_BADBYTE), "0xc1"));
}

static void test_every_type_byte(void **state)
{
    /* Every first byte either completes with the right length once its
     * payload is there, or is refused: nothing else. */
    uint8_t buf[64];
    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        size_t flen;
        ps_scan_error err;
        ps_scan_result r;
        memset(buf, 0, sizeof buf);
        buf[0] = (uint8_t)b;
        r = scan_once(buf, sizeof buf, 0, 0, &flen, &err);
        if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8)) {
            assert_int_equal(r, PS_SCAN_INVALID);
            assert_int_equal(err, PS_SCAN_E_EXT);
        } else if (b == 0xc1) {
            assert_int_equal(r, PS_SCAN_INVALID);
            assert_int_equal(err, PS_SCAN_E_BADBYTE);
        } else {
            /* Zero lengths/counts and zero payloads: always complete. */
            assert_int_equal(r, PS_SCAN_COMPLETE);
            assert_true(flen >= 1 && flen <= 32);
        }
    }
}

static void test_truncated_and_lone_scalar(void **state)
{
    msgpack_sbuffer sb;
    size_t flen;
    ps_scan_error err;
    (void)state;
    msgpack_sbuffer_init(&sb);
    pack_search(&sb, 7);
    assert_int_equal(scan_once(sb.data, 0, 0, 0, &flen, &err),
                     PS_SCAN_NEED_MORE);
    for (size_t i = 1; i < sb.size; i++)
        assert_int_equal(scan_once(sb.data, i, 0, 0, &flen, &err),
                         PS_SCAN_NEED_MORE);
    assert_int_equal(scan_once(sb.data, sb.size, 0, 0, &flen, &err),
                     PS_SCAN_COMPLETE);
    assert_int_equal(flen, sb.size);
    msgpack_sbuffer_destroy(&sb);
    /* A lone scalar is a complete frame (the decoder rejects it). */
    assert_int_equal(scan_once("\x2a", 1, 0, 0, &flen, &err),
                     PS_SCAN_COMPLETE);
    assert_int_equal(flen, 1);
    assert_int_equal(scan_once("\xa3" "abcXYZ", 7, 0, 0, &flen, &err),
                     PS_SCAN_COMPLETE);
    assert_int_equal(flen, 4);
}

static void test_back_to_back(void **state)
{
    msgpack_sbuffer sb;
    size_t first, flen;
    ps_scanner s;
    (void)state;
    msgpack_sbuffer_init(&sb);
    pack_search(&sb, 1);
    first = sb.size;
    pack_search(&sb, 2);
    msgpack_sbuffer_write(&sb, "\x94", 1);      /* start of a third */
    ps_scanner_init(&s, 0, 0);
    assert_int_equal(ps_scanner_feed(&s, (const uint8_t *)sb.data, sb.size,
                                     &flen), PS_SCAN_COMPLETE);
    assert_int_equal(flen, first);
    /* Calling again without init keeps reporting the same frame. */
    assert_int_equal(ps_scanner_feed(&s, (const uint8_t *)sb.data, sb.size,
                                     &flen), PS_SCAN_COMPLETE);
    assert_int_equal(flen, first);
    ps_scanner_init(&s, 0, 0);
    assert_int_equal(ps_scanner_feed(&s, (const uint8_t *)sb.data + first,
                                     sb.size - first, &flen),
                     PS_SCAN_COMPLETE);
    assert_int_equal(flen, first);              /* same size, other msgid */
    ps_scanner_init(&s, 0, 0);
    assert_int_equal(ps_scanner_feed(&s, (const uint8_t *)sb.data + 2 * first,
                                     1, &flen), PS_SCAN_NEED_MORE);
    msgpack_sbuffer_destroy(&sb);
}

static void test_bytewise_equals_whole(void **state)
{
    msgpack_sbuffer sb;
    size_t f1, f2;
    ps_scan_error e1, e2;
    (void)state;
    msgpack_sbuffer_init(&sb);
    pack_search(&sb, 99);
    assert_int_equal(scan_once(sb.data, sb.size, 0, 0, &f1, &e1),
                     PS_SCAN_COMPLETE);
    assert_int_equal(scan_bytewise(sb.data, sb.size, 0, 0, &f2, &e2),
                     PS_SCAN_COMPLETE);
    assert_int_equal(f1, f2);
    assert_int_equal(f1, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Feeding a 1 MiB frame one byte at a time must be linear: with a
 * quadratic rescan this would take minutes. */
static void test_bytewise_is_linear(void **state)
{
    const size_t max = PS_RPC_DEFAULT_MAX_FRAME;
    uint8_t *buf = malloc(max);
    size_t len = 0, flen = 0;
    ps_scanner s;
    ps_scan_result r = PS_SCAN_NEED_MORE;
    clock_t t0;
    (void)state;
    assert_non_null(buf);
    /* [ bin32 of half the frame, then fixints up to the end ] */
    const uint32_t nitems = 1 + (uint32_t)(max - 5 - 5 - max / 2);
    buf[len++] = 0xdd;
    buf[len++] = (uint8_t)(nitems >> 24);
    buf[len++] = (uint8_t)(nitems >> 16);
    buf[len++] = (uint8_t)(nitems >> 8);
    buf[len++] = (uint8_t)nitems;
    buf[len++] = 0xc6;
    buf[len++] = (uint8_t)((max / 2) >> 24);
    buf[len++] = (uint8_t)((max / 2) >> 16);
    buf[len++] = (uint8_t)((max / 2) >> 8);
    buf[len++] = (uint8_t)(max / 2);
    memset(buf + len, 0x01, max - len);
    len = max;
    t0 = clock();
    ps_scanner_init(&s, 0, 0);
    for (size_t i = 1; i <= len && r == PS_SCAN_NEED_MORE; i++)
        r = ps_scanner_feed(&s, buf, i, &flen);
    assert_int_equal(r, PS_SCAN_COMPLETE);
    assert_int_equal(flen, max);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
    free(buf);
}

static void test_exact_max_frame(void **state)
{
    const size_t max = PS_RPC_DEFAULT_MAX_FRAME;
    uint8_t *buf = calloc(1, max + 1);
    size_t flen;
    ps_scan_error err;
    uint32_t n;
    (void)state;
    assert_non_null(buf);
    /* bin32 with payload filling the frame exactly. */
    n = (uint32_t)(max - 5);
    buf[0] = 0xc6;
    buf[1] = (uint8_t)(n >> 24);
    buf[2] = (uint8_t)(n >> 16);
    buf[3] = (uint8_t)(n >> 8);
    buf[4] = (uint8_t)n;
    assert_int_equal(scan_once(buf, 5, 0, 0, &flen, &err), PS_SCAN_NEED_MORE);
    assert_int_equal(scan_once(buf, max, 0, 0, &flen, &err),
                     PS_SCAN_COMPLETE);
    assert_int_equal(flen, max);
    /* One byte more: refused from the header alone. */
    n++;
    buf[4] = (uint8_t)n;
    buf[3] = (uint8_t)(n >> 8);
    assert_int_equal(scan_once(buf, 5, 0, 0, &flen, &err), PS_SCAN_INVALID);
    assert_int_equal(err, PS_SCAN_E_TOO_LARGE);
    free(buf);

    /* Small limit, made of many items: an array of fixints. */
    {
        uint8_t small[40];
        small[0] = 0xdc;
        small[1] = 0;
        small[2] = 29;                  /* 3 + 29 = 32 bytes */
        memset(small + 3, 0x05, sizeof small - 3);
        assert_int_equal(scan_once(small, sizeof small, 32, 0, &flen, &err),
                         PS_SCAN_COMPLETE);
        assert_int_equal(flen, 32);
        assert_int_equal(scan_once(small, sizeof small, 31, 0, &flen, &err),
                         PS_SCAN_INVALID);
        assert_int_equal(err, PS_SCAN_E_TOO_LARGE);
        /* A float64 header that cannot fit in the remaining frame. */
        small[0] = 0x92;
        small[1] = 0x01;
        small[2] = 0xcb;
        assert_int_equal(scan_once(small, 3, 10, 0, &flen, &err),
                         PS_SCAN_INVALID);
        assert_int_equal(scan_once(small, 3, 11, 0, &flen, &err),
                         PS_SCAN_NEED_MORE);
    }
}

static void test_invalid_is_sticky(void **state)
{
    ps_scanner s;
    size_t flen = 0;
    static const uint8_t buf[] = { 0x92, 0xc1, 0x01 };
    (void)state;
    ps_scanner_init(&s, 0, 0);
    assert_int_equal(ps_scanner_feed(&s, buf, 1, &flen), PS_SCAN_NEED_MORE);
    assert_int_equal(ps_scanner_feed(&s, buf, 2, &flen), PS_SCAN_INVALID);
    assert_int_equal(ps_scanner_feed(&s, buf, 3, &flen), PS_SCAN_INVALID);
    assert_int_equal(s.error, PS_SCAN_E_BADBYTE);
    ps_scanner_init(&s, 0, 0);                  /* reset clears it */
    assert_int_equal(s.error, PS_SCAN_OK);
    assert_int_equal(s.max_frame, PS_RPC_DEFAULT_MAX_FRAME);
    assert_int_equal(s.max_depth, PS_RPC_DEFAULT_MAX_DEPTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_declared_sizes),
        cmocka_unit_test(test_declared_count_vs_room),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_bad_bytes_and_ext),
        cmocka_unit_test(test_every_type_byte),
        cmocka_unit_test(test_truncated_and_lone_scalar),
        cmocka_unit_test(test_back_to_back),
        cmocka_unit_test(test_bytewise_equals_whole),
        cmocka_unit_test(test_bytewise_is_linear),
        cmocka_unit_test(test_exact_max_frame),
        cmocka_unit_test(test_invalid_is_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
