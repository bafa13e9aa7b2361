/* test_client_notify.c: notifications in libpolysearch-client.
 *
 * - ps_rpc_unpack_notification (lib/wire/unpack.c): match and lagged
 *   (resume_from optional)
 *   entries, optional fields, unknown keys ignored, wrong shapes refused;
 * - the client's queue, against a scripted server on a Unix socket: a
 *   notification arriving while a call waits for its reply is kept, not
 *   lost nor taken for the reply; replies read while waiting for a
 *   notification are kept for their psc_recv_*; a timeout in
 *   psc_next_notification leaves the connection usable; the queue's bound
 *   (a lagged notification with subscription 0); a malformed notification
 *   and a closed connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>
#include <msgpack.h>

#include "polysearch-client.h"
#include "rpc.h"

/* ---- Packing helpers ---------------------------------------------------- */

static void kstr(msgpack_packer *pk, const char *k, const char *v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    msgpack_pack_str_with_body(pk, v, strlen(v));
}

static void kuint(msgpack_packer *pk, const char *k, uint64_t v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    msgpack_pack_uint64(pk, v);
}

/* Packs a match entry map for sub/seq; extra adds "date", "replaced" and an
 * unknown key. */
static void pack_match_entry(msgpack_packer *pk, uint64_t sub, uint64_t seq,
                             int extra)
{
    msgpack_pack_map(pk, 8 + (extra ? 3 : 0));
    kuint(pk, "subscription", sub);
    kstr(pk, "name", "lyon");
    kstr(pk, "id", "fr/1");
    kstr(pk, "title", "Lyonbiop\xc3\xb4le");
    kstr(pk, "lang", "fr");
    kstr(pk, "snippet", "un hub sant\xc3\xa9");
    kuint(pk, "seq", seq);
    kstr(pk, "url", "https://example.org/");
    if (extra) {
        kstr(pk, "date", "2024-03-01");
        msgpack_pack_str_with_body(pk, "replaced", 8);
        msgpack_pack_true(pk);
        kuint(pk, "some_future_field", 1);
    }
}

/* Unpacks sb's single object and decodes it as a kind entry. */
static ps_notification *decode(ps_notification_kind kind,
                               const msgpack_sbuffer *sb, const char **why)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb->data, sb->size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    ps_notification *n = ps_rpc_unpack_notification(kind, &u.data, why);
    msgpack_unpacked_destroy(&u);
    return n;
}

static void test_unpack_match(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_match_entry(&pk, 7, 4278190081u, 1);
    const char *why = NULL;
    ps_notification *n = decode(PS_NOTIFY_MATCH, &sb, &why);
    assert_non_null(n);
    assert_int_equal(n->kind, PS_NOTIFY_MATCH);
    assert_int_equal(n->subscription, 7);
    assert_string_equal(n->name, "lyon");
    assert_string_equal(n->id, "fr/1");
    assert_string_equal(n->title, "Lyonbiop\xc3\xb4le");
    assert_string_equal(n->lang, "fr");
    assert_string_equal(n->date, "2024-03-01");
    assert_string_equal(n->url, "https://example.org/");
    assert_string_equal(n->snippet, "un hub sant\xc3\xa9");
    assert_true(n->seq == 4278190081u);
    assert_int_equal(n->replaced, 1);
    ps_notification_free(n);

    /* Without the optional fields. */
    msgpack_sbuffer_clear(&sb);
    pack_match_entry(&pk, 8, 9, 0);
    n = decode(PS_NOTIFY_MATCH, &sb, &why);
    assert_non_null(n);
    assert_null(n->date);
    assert_int_equal(n->replaced, 0);
    ps_notification_free(n);
    msgpack_sbuffer_destroy(&sb);
}

static void test_unpack_lagged_and_bad(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    kuint(&pk, "subscription", 3);
    kuint(&pk, "dropped", 12);
    const char *why = NULL;
    ps_notification *n = decode(PS_NOTIFY_LAGGED, &sb, &why);
    assert_non_null(n);
    assert_int_equal(n->kind, PS_NOTIFY_LAGGED);
    assert_int_equal(n->subscription, 3);
    assert_int_equal(n->dropped, 12);
    assert_int_equal(n->has_resume_from, 0);
    assert_null(n->id);
    ps_notification_free(n);

    /* With the seq to resume from (0 is one), and with a bad one. */
    for (int k = 0; k < 3; k++) {
        msgpack_sbuffer_clear(&sb);
        msgpack_pack_map(&pk, 3);
        kuint(&pk, "subscription", 3);
        kuint(&pk, "dropped", 12);
        if (k == 2)
            kstr(&pk, "resume_from", "7");
        else
            kuint(&pk, "resume_from", k == 0 ? 0 : 16777300u);
        why = NULL;
        n = decode(PS_NOTIFY_LAGGED, &sb, &why);
        if (k == 2) {
            assert_null(n);
            assert_string_equal(why, "lagged resume_from must be an unsigned integer");
            continue;
        }
        assert_non_null(n);
        assert_int_equal(n->has_resume_from, 1);
        assert_true(n->resume_from == (k == 0 ? 0 : 16777300u));
        ps_notification_free(n);
    }
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 2);
    kuint(&pk, "subscription", 3);
    kuint(&pk, "dropped", 12);

    /* The same map is no match: no seq, no id. */
    assert_null(decode(PS_NOTIFY_MATCH, &sb, &why));
    assert_non_null(why);

    /* A match whose seq is a string. */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 7);
    kuint(&pk, "subscription", 1);
    kstr(&pk, "name", "n");
    kstr(&pk, "id", "i");
    kstr(&pk, "title", "t");
    kstr(&pk, "lang", "en");
    kstr(&pk, "snippet", "s");
    kstr(&pk, "seq", "12");
    why = NULL;
    assert_null(decode(PS_NOTIFY_MATCH, &sb, &why));
    assert_string_equal(why, "match seq must be an unsigned integer");

    /* Not a map; invalid UTF-8. */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 0);
    assert_null(decode(PS_NOTIFY_LAGGED, &sb, &why));
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 8);
    kuint(&pk, "subscription", 1);
    kstr(&pk, "name", "n");
    kstr(&pk, "id", "\xff");
    kstr(&pk, "title", "t");
    kstr(&pk, "lang", "en");
    kstr(&pk, "snippet", "s");
    kuint(&pk, "seq", 1);
    kstr(&pk, "url", "u");
    assert_null(decode(PS_NOTIFY_MATCH, &sb, &why));
    assert_string_equal(why, "invalid UTF-8 in a string");
    msgpack_sbuffer_destroy(&sb);
}

/* ---- A scripted server on a Unix socket --------------------------------- */

typedef struct fixture {
    char path[108];
    int lfd;                /* listening socket */
    int sfd;                /* the server's end of the connection */
    psc_client *c;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->path, sizeof f->path, "/tmp/psc-notify-%d.sock", (int)getpid());
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
    if (f->sfd >= 0)
        close(f->sfd);
    close(f->lfd);
    unlink(f->path);
    free(f);
    return 0;
}

/* Writes all of sb to fd. */
static void write_all(int fd, const msgpack_sbuffer *sb)
{
    size_t done = 0;
    while (done < sb->size) {
        ssize_t n = write(fd, sb->data + done, sb->size - done);
        assert_true(n > 0);
        done += (size_t)n;
    }
}

static void pack_match(msgpack_packer *pk, uint64_t seq)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint8(pk, 2);
    msgpack_pack_str_with_body(pk, "match", 5);
    msgpack_pack_array(pk, 1);
    pack_match_entry(pk, 1, seq, 0);
}

static void pack_pong(msgpack_packer *pk, uint32_t msgid)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_uint32(pk, msgid);
    msgpack_pack_nil(pk);
    msgpack_pack_str_with_body(pk, "pong", 4);
}

static void test_interleaved(void **state)
{
    fixture *f = *state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

    /* A match comes before the reply to the ping (msgid 1). */
    pack_match(&pk, 10);
    pack_pong(&pk, 1);
    write_all(f->sfd, &sb);
    assert_int_equal(psc_ping(f->c), PSC_OK);
    assert_int_equal(psc_pending_notifications(f->c), 1);
    ps_notification *n = NULL;
    assert_int_equal(psc_next_notification(f->c, 0, &n), PSC_OK);
    assert_non_null(n);
    assert_int_equal(n->seq, 10);
    ps_notification_free(n);

    /* Pipelined: the reply to msgid 2 is read while waiting for a
     * notification and kept for psc_recv_ping; a match and a lagged in one
     * frame each, around it; an unknown notification is skipped. */
    uint32_t id;
    assert_int_equal(psc_send_ping(f->c, &id), PSC_OK);
    assert_int_equal(id, 2);
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, 2);
    msgpack_pack_str_with_body(&pk, "whatever", 8);
    msgpack_pack_array(&pk, 0);
    pack_pong(&pk, 2);
    pack_match(&pk, 11);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, 2);
    msgpack_pack_str_with_body(&pk, "lagged", 6);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    kuint(&pk, "subscription", 1);
    kuint(&pk, "dropped", 5);
    write_all(f->sfd, &sb);
    assert_int_equal(psc_next_notification(f->c, 10000, &n), PSC_OK);
    assert_non_null(n);
    assert_int_equal(n->kind, PS_NOTIFY_MATCH);
    assert_int_equal(n->seq, 11);
    ps_notification_free(n);
    assert_int_equal(psc_recv_ping(f->c, 2), PSC_OK);
    assert_int_equal(psc_next_notification(f->c, 10000, &n), PSC_OK);
    assert_non_null(n);
    assert_int_equal(n->kind, PS_NOTIFY_LAGGED);
    assert_int_equal(n->dropped, 5);
    ps_notification_free(n);

    /* Nothing more: NULL, no failure, and the connection still works. */
    assert_int_equal(psc_next_notification(f->c, 0, &n), PSC_OK);
    assert_null(n);
    assert_int_equal(psc_next_notification(f->c, 30, &n), PSC_OK);
    assert_null(n);
    msgpack_sbuffer_clear(&sb);
    pack_pong(&pk, 3);
    write_all(f->sfd, &sb);
    assert_int_equal(psc_ping(f->c), PSC_OK);

    /* A match split across two writes is still one notification. */
    msgpack_sbuffer_clear(&sb);
    pack_match(&pk, 12);
    assert_int_equal(write(f->sfd, sb.data, 7), 7);
    assert_int_equal(psc_next_notification(f->c, 20, &n), PSC_OK);
    assert_null(n);
    assert_int_equal(write(f->sfd, sb.data + 7, sb.size - 7),
                     (ssize_t)(sb.size - 7));
    assert_int_equal(psc_next_notification(f->c, 10000, &n), PSC_OK);
    assert_non_null(n);
    assert_int_equal(n->seq, 12);
    ps_notification_free(n);

    /* A malformed match breaks the connection (protocol error). */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, 2);
    msgpack_pack_str_with_body(&pk, "match", 5);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 1);
    kuint(&pk, "subscription", 1);
    write_all(f->sfd, &sb);
    assert_int_equal(psc_next_notification(f->c, 10000, &n), PSC_ERR_PROTOCOL);
    assert_null(n);
    assert_int_equal(psc_next_notification(f->c, 0, &n), PSC_ERR_IO);
    msgpack_sbuffer_destroy(&sb);
}

static void test_closed(void **state)
{
    fixture *f = *state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_match(&pk, 1);
    write_all(f->sfd, &sb);
    close(f->sfd);
    f->sfd = -1;
    /* The match received before the close is still handed out. */
    ps_notification *n = NULL;
    assert_int_equal(psc_next_notification(f->c, 10000, &n), PSC_OK);
    assert_non_null(n);
    ps_notification_free(n);
    assert_int_equal(psc_next_notification(f->c, 10000, &n), PSC_ERR_IO);
    assert_null(n);
    assert_string_equal(psc_last_error_code(f->c), "io");
    msgpack_sbuffer_destroy(&sb);
}

/* The writer of test_bound: more matches than the queue keeps, then the
 * reply to the ping. */
static void *flood(void *arg)
{
    int fd = *(int *)arg;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (uint64_t i = 1; i <= PSC_MAX_NOTIFICATIONS + 5; i++) {
        pack_match(&pk, i);
        if (sb.size > 65536 || i == PSC_MAX_NOTIFICATIONS + 5) {
            size_t done = 0;
            while (done < sb.size) {
                ssize_t n = write(fd, sb.data + done, sb.size - done);
                if (n <= 0)
                    break;
                done += (size_t)n;
            }
            msgpack_sbuffer_clear(&sb);
        }
    }
    pack_pong(&pk, 1);
    ssize_t n = write(fd, sb.data, sb.size);
    (void)n;
    msgpack_sbuffer_destroy(&sb);
    return NULL;
}

static void test_bound(void **state)
{
    fixture *f = *state;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, flood, &f->sfd), 0);
    assert_int_equal(psc_ping(f->c), PSC_OK);
    pthread_join(t, NULL);
    assert_int_equal(psc_pending_notifications(f->c),
                     PSC_MAX_NOTIFICATIONS + 1);
    ps_notification *n = NULL;
    for (uint64_t i = 1; i <= PSC_MAX_NOTIFICATIONS; i++) {
        assert_int_equal(psc_next_notification(f->c, 0, &n), PSC_OK);
        assert_non_null(n);
        if (n->seq != i)
            fail_msg("notification %llu has seq %llu", (unsigned long long)i,
                     (unsigned long long)n->seq);
        ps_notification_free(n);
    }
    assert_int_equal(psc_next_notification(f->c, 0, &n), PSC_OK);
    assert_non_null(n);
    assert_int_equal(n->kind, PS_NOTIFY_LAGGED);
    assert_int_equal(n->subscription, 0);
    assert_int_equal(n->dropped, 5);
    ps_notification_free(n);
    assert_int_equal(psc_pending_notifications(f->c), 0);
}

static void test_subscribe_args(void **state)
{
    fixture *f = *state;
    psc_subscribe_args a;
    psc_subscribe_args_init(&a);
    uint64_t sub = 99;
    /* No query and no name: refused before anything is sent. */
    assert_int_equal(psc_subscribe(f->c, &a, &sub), PSC_ERR_INVALID);
    assert_int_equal(sub, 0);
    /* Every field sent as given: read the request on the server side. */
    a.q = "sant\xc3\xa9";
    a.lang = "fr";
    a.name = "n";
    a.durable = 1;
    a.resume = 1;
    a.resume_from = 42;
    uint32_t id;
    assert_int_equal(psc_send_subscribe(f->c, &a, &id), PSC_OK);
    char buf[512];
    ssize_t len = read(f->sfd, buf, sizeof buf);
    assert_true(len > 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, buf, (size_t)len, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    char text[512];
    msgpack_object_print_buffer(text, sizeof text, u.data);
    assert_string_equal(text, "[0, 1, \"subscribe\", [{\"q\"=>\"sant\xc3\xa9\", "
                        "\"lang\"=>\"fr\", \"name\"=>\"n\", \"durable\"=>true, "
                        "\"resume_from\"=>42}]]");
    msgpack_unpacked_destroy(&u);
    /* The answer, with a match already pushed before it. */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_match(&pk, 43);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint32(&pk, id);
    msgpack_pack_nil(&pk);
    msgpack_pack_map(&pk, 2);
    kuint(&pk, "subscription", 5);
    kstr(&pk, "name", "n");
    write_all(f->sfd, &sb);
    assert_int_equal(psc_recv_subscribe(f->c, id, &sub), PSC_OK);
    assert_int_equal(sub, 5);
    assert_int_equal(psc_pending_notifications(f->c), 1);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unpack_match),
        cmocka_unit_test(test_unpack_lagged_and_bad),
        cmocka_unit_test_setup_teardown(test_interleaved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_args, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
