/* test_rpc_util.h: small helpers shared by the rpc unit tests. */
#ifndef TEST_RPC_UTIL_H
#define TEST_RPC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>

#include "rpc.h"

/* Scans buf[0..len) with a fresh scanner in one feed. */
static inline ps_scan_result scan_once(const void *buf, size_t len,
                                       size_t max_frame, unsigned max_depth,
                                       size_t *flen, ps_scan_error *err)
{
    ps_scanner s;
    ps_scan_result r;
    ps_scanner_init(&s, max_frame, max_depth);
    *flen = 0;
    r = ps_scanner_feed(&s, buf, len, flen);
    if (err != NULL)
        *err = s.error;
    return r;
}

/* Scans buf[0..len) one byte at a time; stops at the first non-NEED_MORE
 * result. */
static inline ps_scan_result scan_bytewise(const void *buf, size_t len,
                                           size_t max_frame,
                                           unsigned max_depth, size_t *flen,
                                           ps_scan_error *err)
{
    ps_scanner s;
    ps_scan_result r = PS_SCAN_NEED_MORE;
    ps_scanner_init(&s, max_frame, max_depth);
    *flen = 0;
    for (size_t i = 1; i <= len; i++) {
        r = ps_scanner_feed(&s, buf, i, flen);
        if (r != PS_SCAN_NEED_MORE)
            break;
    }
    if (err != NULL)
        *err = s.error;
    return r;
}

/* Runs a packed frame through the scanner (must be complete with its
 * exact length) and the decoder.  Returns ps_rpc_decode's value. */
static inline int scan_and_decode(const msgpack_sbuffer *sb, ps_rpc_msg *msg,
                                  const char **why, int *known)
{
    size_t flen = 0;
    ps_scan_error err;
    assert_int_equal(scan_once(sb->data, sb->size, 0, 0, &flen, &err),
                     PS_SCAN_COMPLETE);
    assert_int_equal(flen, sb->size);
    return ps_rpc_decode(sb->data, sb->size, msg, why, known);
}

#endif
