/* cli_main.c: the polysearch command-line client: option parsing, command
 * dispatch, error reporting and exit codes (see docs/man/polysearch.1).
 */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "tokenfile.h"
#include "util.h"

static const char usage_text[] =
    "Usage: polysearch [OPTIONS] COMMAND [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  search QUERY...     search (the words are joined with spaces)\n"
    "  get ID              print a stored document\n"
    "  stats               print the daemon's statistics and limits\n"
    "  ping                check that the daemon answers\n"
    "  add FILE...|-       add or replace documents: JSON Lines files\n"
    "                      (.jsonl/.ndjson/.json, or - for stdin) with\n"
    "                      {\"id\",\"body\",\"title\"?,\"lang\"?,\"date\"?,\"url\"?}\n"
    "                      per line; any other file is one document whose id\n"
    "                      is its name without extension\n"
    "  delete ID...        delete documents\n"
    "  synonyms [WORD...]  list the synonym groups, one per line (members\n"
    "                      separated by ' = '), or the group of WORD (exit\n"
    "                      66 when no group holds it)\n"
    "  watch QUERY...      print each new document matching QUERY as it is\n"
    "                      added, until Ctrl-C (exit 0); reconnects by\n"
    "                      itself when the connection is lost\n"
    "\n"
    "Options:\n"
    "  -s, --server ADDR   daemon address: HOST:PORT, [V6ADDR]:PORT or\n"
    "                      unix:PATH (default $POLYSEARCH_SERVER, else\n"
    "                      " PSC_DEFAULT_ADDR ")\n"
    "  -n, --limit N       hits per page (daemon default 10)\n"
    "      --offset N      skip the first N hits\n"
    "  -l, --lang CODE     only documents in this language (fr, de, en...)\n"
    "      --sort ORDER    relevance (default) or date (newest first)\n"
    "      --date-from D   only documents dated D or later (ISO 8601)\n"
    "      --date-to D     only documents dated D or earlier\n"
    "      --facets        show hit counts per language\n"
    "      --no-snippet    do not ask for snippets\n"
    "      --no-synonyms   search: no synonym expansion (the words only)\n"
    "      --name NAME     watch: the subscription's name (echoed in each\n"
    "                      match); after a reconnect, resume from the last\n"
    "                      match received\n"
    "      --durable       watch: a subscription the daemon keeps, across\n"
    "                      restarts, while disconnected (needs --name)\n"
    "      --resume-from SEQ  watch: first send the matches after SEQ (the\n"
    "                      seq of a match printed before; needs --name)\n"
    "  -j, --json          one JSON object on stdout per command\n"
    "  -t, --timeout T     connect and call timeout: 500ms, 10s, 2m (default\n"
    "                      10s)\n"
    "      --token-file FILE  send the access token on the first line of\n"
    "                      FILE (a polysearchd with --auth-token-file needs\n"
    "                      one); FILE must be private (chmod 600).  Default:\n"
    "                      $POLYSEARCH_TOKEN when set.  There is no --token:\n"
    "                      a token on the command line shows in ps\n"
    "  -h, --help          show this help\n"
    "  -V, --version       show the version\n"
    "\n"
    "Exit status: 0 success (also zero hits), 64 usage, 65 bad query or\n"
    "rejected input, 66 document not found, 69 daemon unreachable, 70 other\n"
    "daemon error, 75 timeout or daemon busy, 76 protocol error, 77 no\n"
    "token, a wrong token or a token whose role does not allow the command\n"
    "(unauthorized, forbidden), 78 bad token file (readable by group or\n"
    "others, not a token) or $POLYSEARCH_TOKEN.\n";

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("polysearch: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'polysearch --help'.\n", stderr);
    return EX_USAGE;
}

int cli_report_error(psc_client *c, const cli_opts *o, psc_status st,
                     const char *what)
{
    const char *code = psc_last_error_code(c);
    const char *msg = psc_last_error_message(c);
    if (st == PSC_ERR_SERVER && !strcmp(code, "unauthorized") &&
        o->token == NULL)
        fprintf(stderr, "polysearch: %s: this polysearchd requires an "
                "access token: give --token-file FILE or set "
                "POLYSEARCH_TOKEN (unauthorized: %s)\n", what, msg);
    else if (st == PSC_ERR_SERVER && !strcmp(code, "unauthorized"))
        fprintf(stderr, "polysearch: %s: the daemon refused the token of "
                "%s: wrong or revoked (unauthorized: %s)\n", what,
                o->token_from, msg);
    else if (st == PSC_ERR_SERVER && !strcmp(code, "forbidden"))
        fprintf(stderr, "polysearch: %s: not allowed with the token of %s: "
                "%s (forbidden)\n", what, o->token_from, msg);
    else if (st == PSC_ERR_SERVER && !strcmp(code, "unknown_method"))
        fprintf(stderr, "polysearch: %s: this polysearchd does not support "
                "it (%s)\n", what, msg);
    else if (st == PSC_ERR_SERVER)
        fprintf(stderr, "polysearch: %s: %s (%s)\n", what, msg, code);
    else
        fprintf(stderr, "polysearch: %s: %s\n", what, msg);
    if (o->json)
        cli_emit_json(stdout, json_pack("{s{ssss}}", "error", "code", code,
                                        "message", msg));
    return cli_exit_for(st, code);
}

psc_client *cli_connect(const cli_opts *o, int *code)
{
    psc_client *c = NULL;
    char *err = NULL;
    psc_status st = psc_connect(o->server, o->timeout_ms, &c, &err);
    if (st != PSC_OK) {
        const char *m = err ? err : "cannot connect";
        if (st == PSC_ERR_INVALID) {
            fprintf(stderr, "polysearch: %s\n", m);
        } else {
            fprintf(stderr, "polysearch: %s (is polysearchd running? start "
                    "it with: polysearchd --db DIR)\n", m);
            st = PSC_ERR_CONNECT; /* a connect timeout is unreachable too */
        }
        if (o->json)
            cli_emit_json(stdout, json_pack("{s{ssss}}", "error", "code",
                                            st == PSC_ERR_INVALID ? "invalid"
                                                                  : "connect",
                                            "message", m));
        free(err);
        *code = cli_exit_for(st, NULL);
        return NULL;
    }
    psc_set_timeout(c, o->timeout_ms);
    st = cli_auth(c, o);
    if (st != PSC_OK) {
        *code = cli_report_error(c, o, st, "auth");
        psc_close(c);
        return NULL;
    }
    *code = EX_OK;
    return c;
}

psc_status cli_auth(psc_client *c, const cli_opts *o)
{
    if (o->token == NULL)
        return PSC_OK;
    psc_status st = psc_auth(c, o->token, NULL);
    if (st == PSC_ERR_SERVER &&
        !strcmp(psc_last_error_code(c), "unknown_method"))
        return PSC_OK;  /* no access control there: nothing to send */
    return st;
}

/* Joins argv words with single spaces into a new string. */
static char *join_words(char **w, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(w[i]) + 1;
    char *s = malloc(len), *p = s;
    if (s == NULL)
        return NULL;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(w[i]);
        if (i)
            *p++ = ' ';
        memcpy(p, w[i], k);
        p += k;
    }
    *p = '\0';
    return s;
}

static int cmd_search(psc_client *c, const cli_opts *o,
                      const psc_search_args *base, char **words, int n)
{
    psc_search_args a = *base;
    char *q = join_words(words, n);
    if (q == NULL)
        return EX_OSERR;
    a.q = q;
    ps_results *r = NULL;
    psc_status st = psc_search(c, &a, &r);
    free(q);
    if (st != PSC_OK)
        return cli_report_error(c, o, st, "search");
    if (o->json)
        cli_emit_json(stdout, cli_results_json(r));
    else
        cli_print_results(stdout, r, a.offset, &o->style);
    ps_results_free(r);
    return EX_OK;
}

static int cmd_get(psc_client *c, const cli_opts *o, const char *id)
{
    ps_document *d = NULL;
    psc_status st = psc_get(c, id, &d);
    if (st != PSC_OK)
        return cli_report_error(c, o, st, "get");
    if (o->json)
        cli_emit_json(stdout, cli_document_json(d));
    else
        cli_print_document(stdout, d, &o->style);
    ps_document_free(d);
    return EX_OK;
}

static int cmd_stats(psc_client *c, const cli_opts *o)
{
    char *js = NULL;
    psc_status st = psc_stats(c, &js);
    if (st != PSC_OK)
        return cli_report_error(c, o, st, "stats");
    if (o->json)
        printf("%s\n", js);
    else
        cli_print_stats(stdout, js);
    free(js);
    return EX_OK;
}

/* synonyms [WORD...]: every group, page by page (the daemon's max_limit
 * a call), or the group of the words joined. */
static int cmd_synonyms(psc_client *c, const cli_opts *o, char **words, int n)
{
    char *word = n > 0 ? join_words(words, n) : NULL;
    if (n > 0 && word == NULL)
        return EX_OSERR;
    json_t *all = json_array();
    json_int_t total = 0;
    int rc = all ? EX_OK : EX_OSERR;
    for (uint32_t offset = 0; rc == EX_OK;) {
        char *js = NULL;
        psc_status st = psc_synonyms(c, word, offset, 0, &js);
        if (st != PSC_OK) {
            rc = cli_report_error(c, o, st, "synonyms");
            break;
        }
        json_t *j = json_loads(js, 0, NULL);
        free(js);
        json_t *g = json_object_get(j, "groups");
        total = json_integer_value(json_object_get(j, "total"));
        size_t got = json_array_size(g);
        json_array_extend(all, g);
        json_decref(j);
        offset += (uint32_t)got;
        if (got == 0 || offset >= (uint64_t)total)
            break;
    }
    if (rc == EX_OK && o->json) {
        cli_emit_json(stdout, json_pack("{sIsO}", "total", total, "groups",
                                        all));
    } else if (rc == EX_OK) {
        size_t i;
        json_t *g;
        json_array_foreach(all, i, g) {
            size_t k;
            json_t *m;
            json_array_foreach(g, k, m) {
                if (k)
                    fputs(" = ", stdout);
                cli_put_safe(stdout, json_string_value(m));
            }
            fputc('\n', stdout);
        }
    }
    if (rc == EX_OK && word != NULL && json_array_size(all) == 0) {
        fprintf(stderr, "polysearch: synonyms: no group holds '%s'\n", word);
        rc = EX_NOINPUT;
    }
    json_decref(all);
    free(word);
    return rc;
}

static int cmd_ping(psc_client *c, const cli_opts *o)
{
    uint64_t t0 = ps_now_us();
    psc_status st = psc_ping(c);
    uint64_t rtt = ps_now_us() - t0;
    if (st != PSC_OK)
        return cli_report_error(c, o, st, "ping");
    if (o->json)
        cli_emit_json(stdout, json_pack("{sssI}", "result", "pong", "rtt_us",
                                        (json_int_t)rtt));
    else
        printf("pong from %s in %.2f ms\n", o->server, (double)rtt / 1000.0);
    return EX_OK;
}

static int cmd_delete(psc_client *c, const cli_opts *o, char **ids, int n)
{
    uint64_t deleted = 0, not_found = 0;
    psc_status st = psc_delete(c, (const char *const *)ids, (size_t)n,
                               &deleted, &not_found);
    if (st != PSC_OK)
        return cli_report_error(c, o, st, "delete");
    if (o->json)
        cli_emit_json(stdout, json_pack("{sIsI}", "deleted",
                                        (json_int_t)deleted, "not_found",
                                        (json_int_t)not_found));
    else
        printf("deleted %llu, not found %llu\n", (unsigned long long)deleted,
               (unsigned long long)not_found);
    return EX_OK;
}

enum {
    OPT_OFFSET = 256, OPT_SORT, OPT_NO_SNIPPET, OPT_FACETS, OPT_DATE_FROM,
    OPT_DATE_TO, OPT_NAME, OPT_DURABLE, OPT_RESUME_FROM, OPT_TOKEN_FILE,
    OPT_TOKEN, OPT_NO_SYNONYMS
};

static const struct option long_opts[] = {
    { "server", required_argument, NULL, 's' },
    { "limit", required_argument, NULL, 'n' },
    { "offset", required_argument, NULL, OPT_OFFSET },
    { "lang", required_argument, NULL, 'l' },
    { "sort", required_argument, NULL, OPT_SORT },
    { "date-from", required_argument, NULL, OPT_DATE_FROM },
    { "date-to", required_argument, NULL, OPT_DATE_TO },
    { "facets", no_argument, NULL, OPT_FACETS },
    { "no-snippet", no_argument, NULL, OPT_NO_SNIPPET },
    { "no-synonyms", no_argument, NULL, OPT_NO_SYNONYMS },
    { "name", required_argument, NULL, OPT_NAME },
    { "durable", no_argument, NULL, OPT_DURABLE },
    { "resume-from", required_argument, NULL, OPT_RESUME_FROM },
    { "json", no_argument, NULL, 'j' },
    { "timeout", required_argument, NULL, 't' },
    { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
    /* Refused: see the case below. */
    { "token", optional_argument, NULL, OPT_TOKEN },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 }
};

/* Checks the number of command arguments. */
static int want_args(const char *cmd, int n, int min, int max)
{
    if (n < min || (max >= 0 && n > max)) {
        fprintf(stderr, "polysearch: %s: wrong number of arguments\n"
                "Try 'polysearch --help'.\n", cmd);
        return -1;
    }
    return 0;
}

/* Reads the token (--token-file FILE, else $POLYSEARCH_TOKEN) into
 * o->token.  Returns 0, or the exit code after the message. */
static int load_token(cli_opts *o, const char *file, char **token,
                      char *from, size_t fromlen)
{
    char err[4608];
    int rc = ps_token_get(file, token, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "polysearch: %s\n", err);
        if (o->json)
            cli_emit_json(stdout, json_pack("{s{ssss}}", "error", "code",
                                            "token", "message", err));
        return rc;
    }
    if (*token != NULL) {
        if (file)
            snprintf(from, fromlen, "token file %s", file);
        else
            snprintf(from, fromlen, "$%s", PS_TOKEN_ENV);
        o->token = *token;
        o->token_from = from;
    }
    return 0;
}

static int run(int argc, char **argv, char **token, char *from,
               size_t fromlen);

int main(int argc, char **argv)
{
    char *token = NULL;
    char from[4200];
    int rc = run(argc, argv, &token, from, sizeof from);
    ps_token_free(token);
    return rc;
}

/* The program, with the token it reads kept in *token for main to wipe. */
static int run(int argc, char **argv, char **token, char *from,
               size_t fromlen)
{
    cli_opts o;
    memset(&o, 0, sizeof o);
    o.server = getenv("POLYSEARCH_SERVER");
    if (o.server == NULL || *o.server == '\0')
        o.server = PSC_DEFAULT_ADDR;
    o.timeout_ms = PSC_DEFAULT_TIMEOUT_MS;
    psc_search_args a;
    psc_search_args_init(&a);
    a.spelling = 1; /* "did you mean" when there are no hits */
    cli_watch_args w;
    memset(&w, 0, sizeof w);
    const char *token_file = NULL;
    uint64_t v;
    int ch;
    while ((ch = getopt_long(argc, argv, "s:n:l:jt:hV", long_opts, NULL)) !=
           -1) {
        switch (ch) {
        case 's': o.server = optarg; break;
        case 'n':
            if (ps_parse_u64(optarg, 1, UINT32_MAX, &v) != 0)
                return usage_error("invalid --limit '%s'", optarg);
            a.limit = (uint32_t)v;
            break;
        case OPT_OFFSET:
            if (ps_parse_u64(optarg, 0, UINT32_MAX, &v) != 0)
                return usage_error("invalid --offset '%s'", optarg);
            a.offset = (uint32_t)v;
            break;
        case 'l': a.lang = optarg; break;
        case OPT_SORT:
            if (strcmp(optarg, "date") && strcmp(optarg, "relevance"))
                return usage_error("--sort must be 'date' or 'relevance', "
                                   "not '%s'", optarg);
            a.sort = optarg;
            break;
        case OPT_DATE_FROM: a.date_from = optarg; break;
        case OPT_DATE_TO: a.date_to = optarg; break;
        case OPT_FACETS: a.facets = 1; break;
        case OPT_NO_SNIPPET: a.snippet = 0; break;
        case OPT_NO_SYNONYMS: a.synonyms = 0; break;
        case OPT_NAME:
            if (*optarg == '\0')
                return usage_error("%s", "--name must not be empty");
            w.name = optarg;
            break;
        case OPT_DURABLE: w.durable = 1; break;
        case OPT_RESUME_FROM:
            if (ps_parse_u64(optarg, 0, UINT64_MAX, &v) != 0)
                return usage_error("invalid --resume-from '%s' (a seq "
                                   "number)", optarg);
            w.resume = 1;
            w.resume_from = v;
            break;
        case 'j': o.json = 1; break;
        case 't':
            if (ps_parse_duration_ms(optarg, 1, 3600 * 1000, &v) != 0)
                return usage_error("invalid --timeout '%s' (e.g. 500ms, 10s)",
                                   optarg);
            o.timeout_ms = (int)v;
            break;
        case OPT_TOKEN_FILE:
            if (*optarg == '\0')
                return usage_error("%s", "--token-file needs a file name");
            token_file = optarg;
            break;
        case OPT_TOKEN:
            /* Never echo the value: it is a secret already exposed. */
            return usage_error("%s", "--token is not supported: a token on "
                               "the command line is visible to every user "
                               "(ps, /proc); put it alone in a file only you "
                               "can read (chmod 600) and give --token-file "
                               "FILE, or set POLYSEARCH_TOKEN");
        case 'h': fputs(usage_text, stdout); return EX_OK;
        case 'V': printf("polysearch %s\n", psc_version()); return EX_OK;
        default: fputs("Try 'polysearch --help'.\n", stderr); return EX_USAGE;
        }
    }
    if (optind >= argc)
        return usage_error("%s", "no command given");
    const char *cmd = argv[optind];
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;
    int known = !strcmp(cmd, "search") || !strcmp(cmd, "get") ||
                !strcmp(cmd, "stats") || !strcmp(cmd, "ping") ||
                !strcmp(cmd, "add") || !strcmp(cmd, "delete") ||
                !strcmp(cmd, "watch") || !strcmp(cmd, "synonyms");
    if (!known)
        return usage_error("unknown command '%s'", cmd);
    if (strcmp(cmd, "watch") && (w.name || w.durable || w.resume))
        return usage_error("%s", "--name, --durable and --resume-from are "
                           "options of watch");
    if (w.durable && w.name == NULL)
        return usage_error("%s", "--durable needs --name NAME");
    if (w.resume && w.name == NULL)
        return usage_error("%s", "--resume-from needs --name NAME");
    if ((!strcmp(cmd, "search") && want_args(cmd, nargs, 1, -1)) ||
        (!strcmp(cmd, "get") && want_args(cmd, nargs, 1, 1)) ||
        (!strcmp(cmd, "stats") && want_args(cmd, nargs, 0, 0)) ||
        (!strcmp(cmd, "ping") && want_args(cmd, nargs, 0, 0)) ||
        (!strcmp(cmd, "add") && want_args(cmd, nargs, 1, -1)) ||
        (!strcmp(cmd, "delete") && want_args(cmd, nargs, 1, -1)) ||
        (!strcmp(cmd, "watch") && want_args(cmd, nargs, 1, -1)))
        return EX_USAGE;
    o.style.width = cli_term_width(1);
    o.style.bold = cli_use_bold(1);
    int trc = load_token(&o, token_file, token, from, fromlen);
    if (trc != 0)
        return trc;

    if (!strcmp(cmd, "watch")) {
        char *q = join_words(args, nargs);
        if (q == NULL)
            return EX_OSERR;
        w.q = q;
        w.lang = a.lang;
        w.date_from = a.date_from;
        int rc = cli_cmd_watch(&o, &w);
        free(q);
        if (fflush(stdout) != 0 && rc == EX_OK)
            rc = EX_IOERR;
        return rc;
    }
    int rc;
    psc_client *c = cli_connect(&o, &rc);
    if (c == NULL)
        return rc;
    if (!strcmp(cmd, "search"))
        rc = cmd_search(c, &o, &a, args, nargs);
    else if (!strcmp(cmd, "get"))
        rc = cmd_get(c, &o, args[0]);
    else if (!strcmp(cmd, "stats"))
        rc = cmd_stats(c, &o);
    else if (!strcmp(cmd, "ping"))
        rc = cmd_ping(c, &o);
    else if (!strcmp(cmd, "add"))
        rc = cli_cmd_add(c, &o, args, nargs);
    else if (!strcmp(cmd, "synonyms"))
        rc = cmd_synonyms(c, &o, args, nargs);
    else
        rc = cmd_delete(c, &o, args, nargs);
    psc_close(c);
    if (fflush(stdout) != 0 && rc == EX_OK)
        rc = EX_IOERR;
    return rc;
}
