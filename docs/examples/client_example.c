/* client_example.c: a small program using libpolysearch-client.
 *
 * Usage: client_example ADDR QUERY...
 * Sends every query at once (pipelined), then collects the replies in
 * reverse order (the library keeps replies that arrive for other msgids),
 * prints the best hit of each and fetches that document's title by id.
 *
 * Build against the installed library:  make   (see Makefile)
 */
#include <stdio.h>
#include <stdlib.h>

#include <polysearch-client.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s ADDR QUERY...\n", argv[0]);
        return 64;
    }
    psc_client *c = NULL;
    char *err = NULL;
    if (psc_connect(argv[1], 2000, &c, &err) != PSC_OK) {
        fprintf(stderr, "client_example: %s\n", err ? err : "cannot connect");
        free(err);
        return 69;
    }
    psc_set_timeout(c, 5000);

    int n = argc - 2, rc = 0;
    uint32_t *ids = calloc((size_t)n, sizeof *ids);
    if (ids == NULL)
        return 71;
    for (int i = 0; i < n; i++) {
        psc_search_args a;
        psc_search_args_init(&a);
        a.q = argv[i + 2];
        a.limit = 1;
        if (psc_send_search(c, &a, &ids[i]) != PSC_OK) {
            fprintf(stderr, "send: %s\n", psc_last_error_message(c));
            rc = 1;
            n = i;
            break;
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        ps_results *r = NULL;
        psc_status st = psc_recv_search(c, ids[i], &r);
        if (st != PSC_OK) {
            printf("%s: error %s: %s\n", argv[i + 2], psc_last_error_code(c),
                   psc_last_error_message(c));
            rc = 1;
            continue;
        }
        printf("%s: %llu hits", argv[i + 2], (unsigned long long)r->total);
        if (r->nhits > 0) {
            ps_document *d = NULL;
            if (psc_get(c, r->hits[0].id, &d) == PSC_OK) {
                printf(", best %s (%s) \"%s\"", d->id, d->lang, d->title);
                ps_document_free(d);
            }
        }
        printf("\n");
        ps_results_free(r);
    }
    if (psc_ping(c) != PSC_OK)
        rc = 1;
    free(ids);
    psc_close(c);
    return rc;
}
