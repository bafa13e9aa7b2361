/* watch.c: print each new document matching a query as polysearchd
 * indexes it (docs/ALERTS.md), with libpolysearch-client.
 *
 *   cc watch.c $(pkg-config --cflags --libs polysearch-client) -o watch
 *   ./watch [ADDR] QUERY [COUNT]
 *
 * Stops after COUNT matches (0 or absent: never).  A daemon with
 * --auth-token-file needs a token with the read role: it is taken from
 * $POLYSEARCH_TOKEN (never from the command line, where ps shows it).
 * Built with the project
 * (target example_watch) so that it keeps compiling; e2e_cli_watch_python
 * runs it.
 */
#include <stdio.h>
#include <stdlib.h>

#include <polysearch-client.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s ADDR QUERY [COUNT]\n", argv[0]);
        return 64;
    }
    long count = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    psc_client *c = NULL;
    char *err = NULL;
    if (psc_connect(argv[1], 0, &c, &err) != PSC_OK) {
        fprintf(stderr, "%s\n", err ? err : "cannot connect");
        free(err);
        return 69;
    }
    const char *token = getenv("POLYSEARCH_TOKEN");
    if (token != NULL && token[0] != '\0' &&
        psc_auth(c, token, NULL) != PSC_OK) {
        fprintf(stderr, "auth: %s (%s)\n", psc_last_error_message(c),
                psc_last_error_code(c));
        psc_close(c);
        return 77;
    }
    psc_subscribe_args a;
    psc_subscribe_args_init(&a);
    a.q = argv[2];
    uint64_t sub = 0;
    psc_status st = psc_subscribe(c, &a, &sub);
    if (st != PSC_OK) {
        fprintf(stderr, "subscribe: %s (%s)\n", psc_last_error_message(c),
                psc_last_error_code(c));
        psc_close(c);
        return 65;
    }
    fprintf(stderr, "subscription %llu\n", (unsigned long long)sub);
    long seen = 0;
    while (count == 0 || seen < count) {
        ps_notification *n = NULL;
        /* Wait without limit: returns on a notification or a failure. */
        st = psc_next_notification(c, -1, &n);
        if (st != PSC_OK) {
            fprintf(stderr, "connection lost: %s\n",
                    psc_last_error_message(c));
            break;
        }
        if (n == NULL)
            continue;
        if (n->kind == PS_NOTIFY_MATCH) {
            printf("%llu\t%s\t%s\t%s\n", (unsigned long long)n->seq, n->lang,
                   n->id, n->title);
            fflush(stdout);
            seen++;
        } else {
            fprintf(stderr, "%llu matches dropped\n",
                    (unsigned long long)n->dropped);
        }
        ps_notification_free(n);
    }
    psc_close(c);
    return st == PSC_OK ? 0 : 69;
}
