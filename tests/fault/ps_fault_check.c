/* ps_fault_check.c: checks a database after an injected fault.
 *
 * Usage: ps_fault_check DB PREFIX N [MAX]
 * Opens DB read-only, fetches the documents PREFIX0001 .. PREFIX<N> (ids
 * printed with %04d) with ps_db_get, counts all documents and runs one
 * search for "wombats".  Prints one line
 *   present=P missing=M count=C search=STATUS
 * and lists up to 10 missing ids on stderr.
 * Exit: 0 when every asked document is present, the search succeeds and
 * (when MAX is given) C <= MAX; 1 when not; EX_NOINPUT (66) when the
 * database does not open (status word and message on stderr); EX_USAGE
 * (64) on bad arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "polysearch.h"

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s DB PREFIX N [MAX]\n", argv[0]);
        return EX_USAGE;
    }
    char *end;
    long n = strtol(argv[3], &end, 10);
    if (*end != '\0' || n < 0 || n > 999999) {
        fprintf(stderr, "ps_fault_check: bad N '%s'\n", argv[3]);
        return EX_USAGE;
    }
    long max = -1;
    if (argc == 5) {
        max = strtol(argv[4], &end, 10);
        if (*end != '\0' || max < 0) {
            fprintf(stderr, "ps_fault_check: bad MAX '%s'\n", argv[4]);
            return EX_USAGE;
        }
    }
    ps_db *db = NULL;
    char *err = NULL;
    ps_status st = ps_db_open(argv[1], PS_DB_READ, &db, &err);
    if (st != PS_OK) {
        fprintf(stderr, "ps_fault_check: open %s: %s: %s\n", argv[1],
                ps_status_code(st), err ? err : "");
        free(err);
        return EX_NOINPUT;
    }
    long present = 0, missing = 0;
    for (long i = 1; i <= n; i++) {
        char id[PS_MAX_ID_BYTES + 1];
        snprintf(id, sizeof id, "%.200s%04ld", argv[2], i);
        ps_document *d = NULL;
        st = ps_db_get(db, id, &d);
        if (st == PS_OK) {
            present++;
        } else {
            if (missing < 10)
                fprintf(stderr, "ps_fault_check: %s: %s %s\n", id,
                        ps_status_code(st), ps_db_errmsg(db));
            missing++;
        }
        ps_document_free(d);
    }
    uint64_t count = 0;
    ps_status cst = ps_db_count(db, &count);
    ps_query q = {.q = "wombats", .limit = 5, .snippets = 1};
    ps_results *r = NULL;
    ps_status sst = ps_search(db, &q, &r);
    ps_results_free(r);
    printf("present=%ld missing=%ld count=%llu search=%s\n", present,
           missing, (unsigned long long)count, ps_status_code(sst));
    int ok = missing == 0 && cst == PS_OK && sst == PS_OK &&
             (max < 0 || count <= (uint64_t)max);
    ps_db_close(db);
    return ok ? 0 : 1;
}
