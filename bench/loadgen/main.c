/* ps-loadgen: closed-loop load generator for polysearchd (MessagePack-RPC)
 * and, for comparison, Sphinx's searchd (SphinxQL).  Loopback only.
 *
 * Output: a human summary on stderr and one JSON object on stdout (for
 * bench/search_bench.sh).  Exit codes from <sysexits.h>.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lg_proto.h"
#include "lg_queries.h"
#include "lg_run.h"
#include "util.h"

extern const char *lg_sphinxql_index;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ps-loadgen --queries FILE (--port N | --port-file F) [options]\n"
        "  --host ADDR          127.0.0.1 (default) or ::1; nothing else is accepted\n"
        "  --port N             TCP port\n"
        "  --port-file F        read the port from F (polysearchd --port-file)\n"
        "  --queries FILE       one query per line, replayed round-robin\n"
        "  --connections N      concurrent connections (default 1, max 1024)\n"
        "  --depth N            requests in flight per connection (default 1)\n"
        "  --duration D         measured time, e.g. 10s, 500ms, 1m (default 10s)\n"
        "  --limit N            hits asked per query (default 10)\n"
        "  --snippet on|off     ask for snippets or not (default: the server's default)\n"
        "  --no-warmup          skip the warm-up pass (each query once, untimed)\n"
        "  --pid PID            sample VmRSS of PID every second of the run\n"
        "  --protocol P         msgpack (polysearchd, default) or sphinxql\n"
        "  --sphinx-index NAME  index for sphinxql (default ps)\n"
        "  --hits-out FILE      write 'hits<TAB>query' per query (warm-up pass)\n"
        "  --label TEXT         label copied into the JSON output\n");
}

/* Fills cfg->addr for host:port; only loopback literals are accepted. */
static int set_addr(lg_config *cfg, const char *host, uint64_t port)
{
    memset(&cfg->addr, 0, sizeof cfg->addr);
    if (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0) {
        struct sockaddr_in *a = (struct sockaddr_in *)&cfg->addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cfg->addrlen = sizeof *a;
        return 0;
    }
    if (strcmp(host, "::1") == 0) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&cfg->addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        cfg->addrlen = sizeof *a;
        return 0;
    }
    return -1;
}

static int read_port_file(const char *path, uint64_t *port)
{
    char buf[32] = {0};
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    /* accept "PORT" or "HOST:PORT" */
    char *colon = strrchr(buf, ':');
    return ps_parse_u64(colon ? colon + 1 : buf, 1, 65535, port);
}

/* Prints s as a JSON string made of printable ASCII only. */
static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            putchar(c);
        else
            printf("\\u%04x", c);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    lg_config cfg = {.proto = &lg_proto_msgpack, .connections = 1, .depth = 1,
                     .duration_ms = 10000, .limit = 10, .warmup = 1,
                     .snippet = -1};
    const char *host = "127.0.0.1", *port_file = NULL, *queries = NULL;
    const char *hits_out = NULL, *label = "";
    uint64_t port = 0, v;
    enum { O_HOST = 1000, O_PORT, O_PORTFILE, O_QUERIES, O_CONN, O_DEPTH, O_DUR,
           O_LIMIT, O_NOWARM, O_PID, O_PROTO, O_SPHIDX, O_HITS, O_LABEL, O_SNIP, O_HELP };
    static const struct option opts[] = {
        {"host", required_argument, NULL, O_HOST},
        {"port", required_argument, NULL, O_PORT},
        {"port-file", required_argument, NULL, O_PORTFILE},
        {"queries", required_argument, NULL, O_QUERIES},
        {"connections", required_argument, NULL, O_CONN},
        {"depth", required_argument, NULL, O_DEPTH},
        {"duration", required_argument, NULL, O_DUR},
        {"limit", required_argument, NULL, O_LIMIT},
        {"no-warmup", no_argument, NULL, O_NOWARM},
        {"pid", required_argument, NULL, O_PID},
        {"protocol", required_argument, NULL, O_PROTO},
        {"sphinx-index", required_argument, NULL, O_SPHIDX},
        {"hits-out", required_argument, NULL, O_HITS},
        {"label", required_argument, NULL, O_LABEL},
        {"snippet", required_argument, NULL, O_SNIP},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_HOST: host = optarg; break;
        case O_PORT:
            if (ps_parse_u64(optarg, 1, 65535, &port) != 0)
                goto bad;
            break;
        case O_PORTFILE: port_file = optarg; break;
        case O_QUERIES: queries = optarg; break;
        case O_CONN:
            if (ps_parse_u64(optarg, 1, 1024, &v) != 0)
                goto bad;
            cfg.connections = (unsigned)v;
            break;
        case O_DEPTH:
            if (ps_parse_u64(optarg, 1, 1024, &v) != 0)
                goto bad;
            cfg.depth = (unsigned)v;
            break;
        case O_DUR:
            if (ps_parse_duration_ms(optarg, 100, 3600u * 1000u, &cfg.duration_ms) != 0)
                goto bad;
            break;
        case O_LIMIT:
            if (ps_parse_u64(optarg, 1, 1000, &v) != 0)
                goto bad;
            cfg.limit = (uint32_t)v;
            break;
        case O_NOWARM: cfg.warmup = 0; break;
        case O_PID:
            if (ps_parse_u64(optarg, 1, 1u << 30, &v) != 0)
                goto bad;
            cfg.pid = (pid_t)v;
            break;
        case O_PROTO:
            if (strcmp(optarg, "msgpack") == 0)
                cfg.proto = &lg_proto_msgpack;
            else if (strcmp(optarg, "sphinxql") == 0)
                cfg.proto = &lg_proto_sphinxql;
            else
                goto bad;
            break;
        case O_SPHIDX: lg_sphinxql_index = optarg; break;
        case O_HITS: hits_out = optarg; break;
        case O_LABEL: label = optarg; break;
        case O_SNIP:
            if (strcmp(optarg, "on") == 0)
                cfg.snippet = 1;
            else if (strcmp(optarg, "off") == 0)
                cfg.snippet = 0;
            else
                goto bad;
            break;
        case O_HELP: usage(stdout); return EX_OK;
        default: goto bad;
        }
    }
    if (optind != argc || !queries || (!port && !port_file))
        goto bad;
    if (port_file && read_port_file(port_file, &port) != 0) {
        fprintf(stderr, "ps-loadgen: cannot read a port from %s\n", port_file);
        return EX_NOINPUT;
    }
    if (set_addr(&cfg, host, port) != 0) {
        fprintf(stderr, "ps-loadgen: refusing host '%s': only 127.0.0.1 and ::1 are allowed\n",
                host);
        return EX_USAGE;
    }
    if ((int)cfg.depth > cfg.proto->max_depth) {
        fprintf(stderr, "ps-loadgen: --depth %u: %s allows at most %d\n", cfg.depth,
                cfg.proto->name, cfg.proto->max_depth);
        return EX_USAGE;
    }

    lg_queries qs;
    if (lg_queries_load(queries, &qs) != 0)
        return EX_NOINPUT;
    lg_stats *st = calloc(1, sizeof *st);
    if (!st) {
        lg_queries_free(&qs);
        return EX_OSERR;
    }
    if (lg_run(&cfg, &qs, st) != 0) {
        lg_stats_free(st);
        free(st);
        lg_queries_free(&qs);
        return EX_UNAVAILABLE;
    }

    if (hits_out && cfg.warmup) {
        FILE *f = fopen(hits_out, "w");
        if (!f) {
            perror(hits_out);
        } else {
            for (size_t i = 0; i < qs.n; i++) {
                if (st->hits_per_query[i] == UINT32_MAX)
                    fprintf(f, "error\t%s\n", qs.q[i]);
                else
                    fprintf(f, "%u\t%s\n", st->hits_per_query[i], qs.q[i]);
            }
            fclose(f);
        }
    }

    double secs = (double)st->elapsed_us / 1e6;
    double qps = secs > 0 ? (double)st->replies / secs : 0;
    uint64_t p50 = lg_latency_pct(&st->lat, 50), p95 = lg_latency_pct(&st->lat, 95);
    uint64_t p99 = lg_latency_pct(&st->lat, 99), pmax = lg_latency_pct(&st->lat, 100);
    uint64_t rss_first = st->nrss ? st->rss_kb[0] : 0, rss_last = st->nrss ? st->rss_kb[st->nrss - 1] : 0;
    uint64_t rss_max = 0;
    for (unsigned i = 0; i < st->nrss; i++)
        if (st->rss_kb[i] > rss_max)
            rss_max = st->rss_kb[i];
    uint64_t errors = st->errors + st->warm_errors;

    fprintf(stderr,
            "ps-loadgen: %s %u conn depth %u: %.0f QPS over %.1f s, p50 %.3f ms p95 %.3f ms "
            "p99 %.3f ms max %.3f ms, errors %llu (warm-up %llu), connections lost %llu, "
            "queries with hits %llu/%zu%s%s\n",
            cfg.proto->name, cfg.connections, cfg.depth, qps, secs, p50 / 1e3, p95 / 1e3,
            p99 / 1e3, pmax / 1e3, (unsigned long long)st->errors,
            (unsigned long long)st->warm_errors, (unsigned long long)st->conn_failures,
            (unsigned long long)st->warm_with_hits, qs.n,
            st->first_error[0] ? ", first error: " : "", st->first_error);
    printf("{\"label\":");
    json_str(label);
    printf(",\"snippets\":%d,\"protocol\":\"%s\",\"connections\":%u,\"depth\":%u,\"queries\":%zu,"
           "\"warmup_s\":%.3f,\"warmup_replies\":%llu,\"queries_with_hits\":%llu,"
           "\"duration_s\":%.3f,\"requests\":%llu,\"qps\":%.1f,"
           "\"p50_us\":%llu,\"p95_us\":%llu,\"p99_us\":%llu,\"max_us\":%llu,"
           "\"errors\":%llu,\"connections_lost\":%llu,\"first_error\":",
           cfg.snippet, cfg.proto->name, cfg.connections, cfg.depth, qs.n, st->warm_us / 1e6,
           (unsigned long long)st->warm_replies, (unsigned long long)st->warm_with_hits, secs,
           (unsigned long long)st->replies, qps, (unsigned long long)p50,
           (unsigned long long)p95, (unsigned long long)p99, (unsigned long long)pmax,
           (unsigned long long)errors, (unsigned long long)st->conn_failures);
    json_str(st->first_error);
    printf(",\"rss_kb_first\":%llu,\"rss_kb_max\":%llu,\"rss_kb_last\":%llu,\"rss_kb\":[",
           (unsigned long long)rss_first, (unsigned long long)rss_max,
           (unsigned long long)rss_last);
    for (unsigned i = 0; i < st->nrss; i++)
        printf("%s%llu", i ? "," : "", (unsigned long long)st->rss_kb[i]);
    printf("]}\n");

    int rc = (errors || st->conn_failures) ? EX_SOFTWARE : EX_OK;
    lg_stats_free(st);
    free(st);
    lg_queries_free(&qs);
    return rc;

bad:
    usage(stderr);
    return EX_USAGE;
}
