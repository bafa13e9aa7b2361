/* test_walops.c: the operations of a write-ahead-log record
 * (searchd/walops.c): round trip, and refusal of every malformed
 * record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "walops.h"

typedef struct seen {
    int n;
    char text[1024];
} seen;

static int collect(void *arg, const ps_doc_in *put, const char *del)
{
    seen *s = arg;
    size_t used = strlen(s->text);
    if (put)
        snprintf(s->text + used, sizeof s->text - used, "put(%s|%s|%s|%s|%s|%s)",
                 put->id, put->title ? put->title : "-", put->body,
                 put->lang ? put->lang : "-", put->date ? put->date : "-",
                 put->url ? put->url : "-");
    else
        snprintf(s->text + used, sizeof s->text - used, "del(%s)", del);
    s->n++;
    return 0;
}

static void test_round_trip(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    ps_doc_in a = {"a/1", "Titre é", "corps", "fr", "2026-12-02", NULL};
    ps_doc_in b = {"b", NULL, "body", NULL, NULL, "https://x.test/"};
    assert_int_equal(walops_begin(&pk, 3), 0);
    assert_int_equal(walops_put(&pk, &a), 0);
    assert_int_equal(walops_del(&pk, "gone"), 0);
    assert_int_equal(walops_put(&pk, &b), 0);
    seen s = {0};
    char err[200] = "";
    assert_int_equal(walops_unpack(sb.data, sb.size, collect, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.text, "put(a/1|Titre é|corps|fr|2026-12-02|-)del(gone)"
                                "put(b|-|body|-|-|https://x.test/)");
    msgpack_sbuffer_destroy(&sb);
}

static int stop_at_first(void *arg, const ps_doc_in *put, const char *del)
{
    (void)put; (void)del;
    (*(int *)arg)++;
    return 7;
}

static void test_callback_stops(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    walops_begin(&pk, 2);
    walops_del(&pk, "x");
    walops_del(&pk, "y");
    int calls = 0;
    char err[200];
    assert_int_equal(walops_unpack(sb.data, sb.size, stop_at_first, &calls, err, sizeof err), 7);
    assert_int_equal(calls, 1);
    msgpack_sbuffer_destroy(&sb);
}

/* Each payload is refused with -1 and a message, and the operations
 * before the bad one are still delivered (count checked). */
static void test_malformed(void **state)
{
    (void)state;
    static const struct { const char *hex; int before; } cases[] = {
        {"", 0},                            /* empty */
        {"c0", 0},                          /* nil, not an array */
        {"91c0", 0},                        /* [nil] */
        {"9192a3646576a178", 0},            /* [["dev","x"]] unknown op */
        {"9192a364656c", 0},                /* truncated */
        {"9192a364656cc0", 0},              /* ["del", nil] */
        {"9192a364656ca0", 0},              /* ["del", ""] empty id */
        {"9292a364656ca17892a3707574c0", 1},/* del ok, then put nil */
        {"9192a370757480", 0},              /* put {} (no id, no body) */
        {"9192a3707574" "81a26964a178", 0}, /* put {id} without body */
        {"9192a3707574" "82a26964a178a3626f64c4017a", 0}, /* bin body */
        {"9192a3707574" "82a26964a178a3626f64a178" "c0", 0}, /* trailing */
        {"9192a3707574" "82a26964a178a3626f64a2ff78", 0},   /* bad UTF-8 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char buf[64];
        size_t n = strlen(cases[i].hex) / 2;
        for (size_t k = 0; k < n; k++) sscanf(cases[i].hex + 2 * k, "%2hhx", &buf[k]);
        seen s = {0};
        char err[200] = "";
        int rc = walops_unpack(buf, n, collect, &s, err, sizeof err);
        if (rc != -1 || s.n != cases[i].before || !err[0])
            fail_msg("case %zu (%s): rc %d, %d calls, err '%s'", i, cases[i].hex,
                     rc, s.n, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
