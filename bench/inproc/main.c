/* ps-inproc-bench: the benchmark queries through the C API in one process
 * and one thread (ps_db_open read-only + ps_search): the floor under the
 * daemon's latency.  A warm-up pass runs each query once (hits counted),
 * then queries are replayed round-robin for --duration.
 *
 * Output: a summary on stderr and one JSON object on stdout with the same
 * keys as ps-loadgen.  Exit codes from <sysexits.h>.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lg_latency.h"
#include "lg_queries.h"
#include "polysearch.h"
#include "util.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ps-inproc-bench --db DIR --queries FILE [--duration D] [--limit N]\n"
        "                       [--no-warmup] [--hits-out FILE] [--no-snippets]\n"
        "Snippets are computed by default, as polysearchd's search does.\n");
}

int main(int argc, char **argv)
{
    const char *dbpath = NULL, *queries = NULL, *hits_out = NULL;
    uint64_t duration_ms = 10000, limit = 10;
    int warmup = 1, snippets = 1;
    enum { O_DB = 1000, O_QUERIES, O_DUR, O_LIMIT, O_NOWARM, O_HITS, O_NOSNIP, O_HELP };
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"queries", required_argument, NULL, O_QUERIES},
        {"duration", required_argument, NULL, O_DUR},
        {"limit", required_argument, NULL, O_LIMIT},
        {"no-warmup", no_argument, NULL, O_NOWARM},
        {"hits-out", required_argument, NULL, O_HITS},
        {"no-snippets", no_argument, NULL, O_NOSNIP},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_DB: dbpath = optarg; break;
        case O_QUERIES: queries = optarg; break;
        case O_DUR:
            if (ps_parse_duration_ms(optarg, 100, 3600u * 1000u, &duration_ms) != 0)
                goto bad;
            break;
        case O_LIMIT:
            if (ps_parse_u64(optarg, 1, 1000, &limit) != 0)
                goto bad;
            break;
        case O_NOWARM: warmup = 0; break;
        case O_HITS: hits_out = optarg; break;
        case O_NOSNIP: snippets = 0; break;
        case O_HELP: usage(stdout); return EX_OK;
        default: goto bad;
        }
    }
    if (optind != argc || !dbpath || !queries)
        goto bad;

    lg_queries qs;
    if (lg_queries_load(queries, &qs) != 0)
        return EX_NOINPUT;
    ps_db *db = NULL;
    char *err = NULL;
    ps_status s = ps_db_open(dbpath, PS_DB_READ, &db, &err);
    if (s != PS_OK) {
        fprintf(stderr, "ps-inproc-bench: %s: %s\n", dbpath, err ? err : ps_status_str(s));
        free(err);
        lg_queries_free(&qs);
        return EX_NOINPUT;
    }

    uint64_t errors = 0, with_hits = 0, warm_us = 0, warm_errors = 0;
    char first_error[128] = "";
    FILE *hf = NULL;
    if (hits_out && warmup && !(hf = fopen(hits_out, "w")))
        perror(hits_out);
    if (warmup) {
        uint64_t t0 = ps_now_us();
        for (size_t i = 0; i < qs.n; i++) {
            ps_query q = {.q = qs.q[i], .limit = (uint32_t)limit,
                          .snippets = snippets};
            ps_results *r = NULL;
            s = ps_search(db, &q, &r);
            if (s != PS_OK) {
                warm_errors++;
                if (!first_error[0])
                    snprintf(first_error, sizeof first_error, "%s", ps_status_code(s));
                if (hf)
                    fprintf(hf, "error\t%s\n", qs.q[i]);
                continue;
            }
            with_hits += r->nhits > 0;
            if (hf)
                fprintf(hf, "%u\t%s\n", r->nhits, qs.q[i]);
            ps_results_free(r);
        }
        warm_us = ps_now_us() - t0;
    }
    if (hf)
        fclose(hf);

    lg_latency lat = {0};
    uint64_t n = 0, t0 = ps_now_us(), deadline = t0 + duration_ms * 1000u, now = t0;
    while (now < deadline) {
        ps_query q = {.q = qs.q[n % qs.n], .limit = (uint32_t)limit,
                          .snippets = snippets};
        ps_results *r = NULL;
        uint64_t a = ps_now_us();
        s = ps_search(db, &q, &r);
        now = ps_now_us();
        lg_latency_add(&lat, now - a);
        n++;
        if (s != PS_OK) {
            errors++;
            if (!first_error[0])
                snprintf(first_error, sizeof first_error, "%s", ps_status_code(s));
        }
        ps_results_free(r);
    }
    double secs = (double)(now - t0) / 1e6;
    double qps = secs > 0 ? (double)n / secs : 0;
    uint64_t p50 = lg_latency_pct(&lat, 50), p95 = lg_latency_pct(&lat, 95);
    uint64_t p99 = lg_latency_pct(&lat, 99), pmax = lg_latency_pct(&lat, 100);
    fprintf(stderr,
            "ps-inproc-bench: %.0f QPS over %.1f s (1 thread), p50 %.3f ms p95 %.3f ms "
            "p99 %.3f ms max %.3f ms, errors %llu (warm-up %llu), queries with hits %llu/%zu\n",
            qps, secs, p50 / 1e3, p95 / 1e3, p99 / 1e3, pmax / 1e3,
            (unsigned long long)errors, (unsigned long long)warm_errors,
            (unsigned long long)with_hits, qs.n);
    printf("{\"label\":\"inproc\",\"protocol\":\"c-api\",\"snippets\":%d,\"connections\":1,\"depth\":1,"
           "\"queries\":%zu,\"warmup_s\":%.3f,\"queries_with_hits\":%llu,\"duration_s\":%.3f,"
           "\"requests\":%llu,\"qps\":%.1f,\"p50_us\":%llu,\"p95_us\":%llu,\"p99_us\":%llu,"
           "\"max_us\":%llu,\"errors\":%llu,\"first_error\":\"%s\"}\n",
           snippets, qs.n, warm_us / 1e6, (unsigned long long)with_hits, secs, (unsigned long long)n, qps,
           (unsigned long long)p50, (unsigned long long)p95, (unsigned long long)p99,
           (unsigned long long)pmax, (unsigned long long)(errors + warm_errors), first_error);
    lg_latency_free(&lat);
    ps_db_close(db);
    lg_queries_free(&qs);
    return errors + warm_errors ? EX_SOFTWARE : EX_OK;

bad:
    usage(stderr);
    return EX_USAGE;
}
