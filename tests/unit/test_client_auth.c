/* test_client_auth.c: psc_auth() of libpolysearch-client against a
 * scripted server on a Unix socket: the request it sends (auth {token},
 * nothing else), each role answered, the daemon's refusals (unauthorized:
 * PSC_ERR_SERVER with the code, the token in no message), an answer that
 * is no role (protocol error), and arguments refused before sending.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>
#include <msgpack.h>

#include "polysearch-client.h"

#define TOKEN "tok-0123456789abcdef-ZZZ"

typedef struct fixture {
    char path[108];
    int lfd, sfd;
    psc_client *c;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->path, sizeof f->path, "/tmp/psc-auth-%d.sock", (int)getpid());
    unlink(f->path);
    f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sun, sizeof sun), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    char addr[120];
    snprintf(addr, sizeof addr, "unix:%s", f->path);
    assert_int_equal(psc_connect(addr, 5000, &f->c, NULL), PSC_OK);
    f->sfd = accept(f->lfd, NULL, NULL);
    assert_true(f->sfd >= 0);
    psc_set_timeout(f->c, 20000);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    psc_close(f->c);
    close(f->sfd);
    close(f->lfd);
    unlink(f->path);
    free(f);
    return 0;
}

/* Queues the reply to msgid: result string res, or the error {code,
 * message} when code is not NULL. */
static void reply(fixture *f, uint32_t msgid, const char *code,
                  const char *res)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint32(&pk, msgid);
    if (code) {
        msgpack_pack_map(&pk, 2);
        msgpack_pack_str_with_body(&pk, "code", 4);
        msgpack_pack_str_with_body(&pk, code, strlen(code));
        msgpack_pack_str_with_body(&pk, "message", 7);
        msgpack_pack_str_with_body(&pk, "wrong token", 11);
        msgpack_pack_nil(&pk);
    } else {
        msgpack_pack_nil(&pk);
        msgpack_pack_str_with_body(&pk, res, strlen(res));
    }
    assert_int_equal(write(f->sfd, sb.data, sb.size), (ssize_t)sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Reads the one request the client sent and checks it is
 * [0, msgid, "auth", [{"token": TOKEN}]] with nothing after it. */
static void expect_request(fixture *f, uint32_t msgid)
{
    char buf[4096];
    ssize_t n = read(f->sfd, buf, sizeof buf);
    assert_true(n > 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, buf, (size_t)n, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, (size_t)n);
    const msgpack_object *o = &u.data;
    assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(o->via.array.size, 4);
    const msgpack_object *a = o->via.array.ptr;
    assert_int_equal(a[0].via.u64, 0);
    assert_int_equal(a[1].via.u64, msgid);
    assert_int_equal(a[2].type, MSGPACK_OBJECT_STR);
    assert_int_equal(a[2].via.str.size, 4);
    assert_memory_equal(a[2].via.str.ptr, "auth", 4);
    assert_int_equal(a[3].type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(a[3].via.array.size, 1);
    const msgpack_object *m = &a[3].via.array.ptr[0];
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(m->via.map.size, 1);
    const msgpack_object_kv *kv = &m->via.map.ptr[0];
    assert_int_equal(kv->key.via.str.size, 5);
    assert_memory_equal(kv->key.via.str.ptr, "token", 5);
    assert_int_equal(kv->val.type, MSGPACK_OBJECT_STR);
    assert_int_equal(kv->val.via.str.size, strlen(TOKEN));
    assert_memory_equal(kv->val.via.str.ptr, TOKEN, strlen(TOKEN));
    msgpack_unpacked_destroy(&u);
}

/* Nothing was sent on the connection. */
static void expect_silence(fixture *f)
{
    struct pollfd p = { .fd = f->sfd, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 0), 0);
}

static void test_roles(void **state)
{
    fixture *f = *state;
    static const char *const names[] = { "read", "write", "admin" };
    static const psc_role roles[] = { PSC_ROLE_READ, PSC_ROLE_WRITE,
                                      PSC_ROLE_ADMIN };
    for (uint32_t i = 0; i < 3; i++) {
        reply(f, i + 1, NULL, names[i]);
        psc_role r = PSC_ROLE_NONE;
        assert_int_equal(psc_auth(f->c, TOKEN, &r), PSC_OK);
        assert_int_equal(r, roles[i]);
        assert_string_equal(psc_last_error_code(f->c), "");
        expect_request(f, i + 1);
    }
    /* role may be NULL. */
    reply(f, 4, NULL, "read");
    assert_int_equal(psc_auth(f->c, TOKEN, NULL), PSC_OK);
    expect_request(f, 4);
}

static void test_refused(void **state)
{
    fixture *f = *state;
    psc_role r = PSC_ROLE_ADMIN;
    reply(f, 1, "unauthorized", NULL);
    assert_int_equal(psc_auth(f->c, TOKEN, &r), PSC_ERR_SERVER);
    assert_int_equal(r, PSC_ROLE_NONE);
    assert_string_equal(psc_last_error_code(f->c), "unauthorized");
    assert_null(strstr(psc_last_error_message(f->c), TOKEN));
    expect_request(f, 1);
    /* A server error leaves the connection usable. */
    reply(f, 2, "bad_request", NULL);
    assert_int_equal(psc_auth(f->c, TOKEN, &r), PSC_ERR_SERVER);
    assert_string_equal(psc_last_error_code(f->c), "bad_request");
    expect_request(f, 2);
    /* An answer that is no role: protocol error, connection unusable. */
    r = PSC_ROLE_ADMIN;
    reply(f, 3, NULL, "superuser");
    assert_int_equal(psc_auth(f->c, TOKEN, &r), PSC_ERR_PROTOCOL);
    assert_int_equal(r, PSC_ROLE_NONE);
    assert_string_equal(psc_last_error_code(f->c), "protocol");
    assert_null(strstr(psc_last_error_message(f->c), TOKEN));
    expect_request(f, 3);
    assert_int_equal(psc_auth(f->c, TOKEN, &r), PSC_ERR_IO);
}

static void test_invalid(void **state)
{
    fixture *f = *state;
    psc_role r = PSC_ROLE_READ;
    assert_int_equal(psc_auth(f->c, NULL, &r), PSC_ERR_INVALID);
    assert_int_equal(r, PSC_ROLE_NONE);
    assert_string_equal(psc_last_error_code(f->c), "invalid");
    assert_int_equal(psc_auth(f->c, "", &r), PSC_ERR_INVALID);
    expect_silence(f);
    /* The connection is still usable. */
    reply(f, 1, NULL, "write");
    assert_int_equal(psc_auth(f->c, TOKEN, &r), PSC_OK);
    assert_int_equal(r, PSC_ROLE_WRITE);
    expect_request(f, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
