/* main.c: polysearch-index command line: options, defaults, exit codes. */
#include "addr.h"
#include "analyze.h"
#include "bulk.h"
#include "polysearch.h"
#include "remote.h"
#include "run.h"
#include "tokenfile.h"
#include "synonyms.h"
#include "util.h"
#include "watch.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#define DEFAULT_BATCH 1000
#define DEFAULT_MAX_DOC (10u * 1024 * 1024)
#define DEFAULT_LIMIT 10

/* Online cores (at least 1): the default --jobs. */
static long default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : n;
}

static void usage(FILE *f)
{
    fprintf(f,
"Usage: polysearch-index [OPTION]... PATH...\n"
"       polysearch-index [--db DIR] [--lang CODE] --query Q [--limit N]\n"
"       polysearch-index [--db DIR | --server ADDR] --watch DIR [--settle MS]\n"
"Index text files, directory trees and JSON Lines into a polysearch\n"
"database, or (--query) run one search on it.\n"
"\n"
"Inputs:\n"
"  DIR        walked recursively: files ending in .txt or .md; id = path\n"
"             relative to DIR without extension; hidden entries skipped;\n"
"             symbolic links to directories are not followed\n"
"  FILE       one document; id = file name without extension\n"
"  FILE.jsonl JSON Lines: {\"id\",\"title\"?,\"body\",\"lang\"?,\"date\"?,\"url\"?}\n"
"  -          JSON Lines from standard input\n"
"\n"
"Options:\n"
"  --db DIR             database directory (default: $POLYSEARCH_DB, else\n"
"                       ./polysearch.db); created when missing\n"
"  --shards N           DIR is a set of N shards DIR/shard-0..N-1 (DIR/SHARDS\n"
"                       records N; another N is refused); each document\n"
"                       goes to shard FNV-1a-64(id) %% N (docs/SCALING.md).\n"
"                       A DIR with a SHARDS file is used as shards anyway\n"
"  --lang CODE          language of documents without a \"lang\" field\n"
"                       (default: detected per document); with --query,\n"
"                       show only documents in that language\n"
"  --prune              after indexing, delete every document whose id was\n"
"                       not seen in this run.  Works with stdin too (the\n"
"                       stream is then the complete set), but is not done\n"
"                       when any input failed, when the run was interrupted\n"
"                       or when no document at all was seen\n"
"  --jsonl              read every FILE argument as JSON Lines\n"
"  --batch N            commit every N written documents (default %u); in\n"
"                       a parallel build, each writer its part\n"
"  --jobs N             threads: N-1 analyse documents, one writes them\n"
"                       (default: online cores, here %ld); 1: everything on\n"
"                       one thread\n"
"  --parallel-build auto|off|N\n"
"                       a new database (DIR missing or an empty directory)\n"
"                       is written as N parts by N writer threads, merged\n"
"                       with Xapian's compactor and put in place at once\n"
"                       when complete: faster on several cores, a compact\n"
"                       database, and a kill leaves no database instead of\n"
"                       part of one (nothing is committed at DIR before the\n"
"                       end).  auto (default): %u writers when the inputs'\n"
"                       size is known before reading and at least %llu MiB;\n"
"                       N: N writers whatever the input size (1..%u);\n"
"                       off: write and commit every --batch as for an\n"
"                       existing database.  An existing\n"
"                       database is always updated in place, incrementally.\n"
"                       Needs DIR's parent to be writable; not with --jobs\n"
"                       1, --shards, --server or --watch\n"
"  --max-doc-bytes SIZE skip files and JSON lines larger than SIZE\n"
"                       (k/m/g suffixes; default 10m)\n"
"  --boilerplate FILE   extra boilerplate line patterns, one per line\n"
"  --synonyms FILE      replace the database's synonym table by the groups\n"
"                       of FILE (one per line, members separated by '=':\n"
"                       PME = KMU = SME; '#' comment lines), in one commit\n"
"                       (every shard of a shard set).  Alone (no PATH) or\n"
"                       after an indexing run; the file is checked first\n"
"                       (errors name FILE:LINE; exit 65).  Not with\n"
"                       --server, --watch or --query\n"
"  --exclude PATTERN    in directories, skip files and subdirectories whose\n"
"                       name matches the shell PATTERN (repeatable; e.g.\n"
"                       --exclude README.md)\n"
"  -q, --quiet          no progress line and no info messages\n"
"  -v, --verbose        also log each commit (\"committed N documents\")\n"
"                       and other debug lines\n"
"  --server ADDR        send the documents to a running polysearchd (add and\n"
"                       delete calls; host:port, [v6]:port or unix:/path)\n"
"                       instead of opening the database: inputs are read\n"
"                       the same way, in batches of --batch (at most 1000),\n"
"                       each committed once the daemon answered (logged\n"
"                       with --verbose);\n"
"                       rejected documents fail with a warning.  Not with\n"
"                       --prune (the protocol cannot list ids), --db or\n"
"                       --boilerplate (the daemon's list applies)\n"
"  --token-file FILE    with --server: authenticate with the access token on\n"
"                       the first line of FILE (a polysearchd with\n"
"                       --auth-token-file needs one; adding and deleting\n"
"                       need the write role).  FILE must be private (chmod\n"
"                       600).  Default: $POLYSEARCH_TOKEN when set.  There\n"
"                       is no --token: a token on the command line shows\n"
"                       in ps\n"
"  --watch DIR          index DIR (incrementally), then keep watching it\n"
"                       (inotify): new and changed .txt/.md files are\n"
"                       indexed, deleted ones removed, new subdirectories\n"
"                       followed; hidden and editor temporary files (.#*,\n"
"                       *~, *.swp) ignored.  Runs until SIGTERM or SIGINT,\n"
"                       then commits and exits 0.  Without --server it\n"
"                       holds the database's write lock all along (searches\n"
"                       still work); with a polysearchd running on the\n"
"                       database, use --server ADDR\n"
"  --settle MS          with --watch: wait until a file had no event for MS\n"
"                       milliseconds before indexing it (default %u)\n"
"  --query Q            search instead of indexing (read-only)\n"
"  --limit N            hits shown by --query (default %u, at most 1000)\n"
"  -h, --help           show this help and exit\n"
"  -V, --version        show the version and exit\n"
"\n"
"When stderr is a terminal, one progress line stays at its bottom (phase,\n"
"documents, docs/s and, when the input size is known, percent and ETA);\n"
"log lines and warnings are printed above it.  The summary line (added,\n"
"updated, unchanged, deleted, skipped, failed, time) is printed on\n"
"stdout.  Unchanged documents are not rewritten.\n"
"Empty, binary and too large inputs are skipped with a warning; NUL bytes\n"
"and invalid UTF-8 are repaired with a warning; malformed JSON lines,\n"
"missing ids and ids over %d bytes fail with a warning naming FILE:LINE;\n"
"a duplicate id in one run: the later document wins.\n"
"SIGINT/SIGTERM: stop reading, commit what was analysed, print the\n"
"summary, exit 128+signal (130, 143); a second signal kills at once\n"
"(committed documents are safe).\n"
"\n"
"Exit status:\n"
"  0   success\n"
"  64  usage error\n"
"  65  some inputs failed (the others were indexed and committed);\n"
"      with --query: invalid query; the --synonyms file is invalid\n"
"  66  an input path, the boilerplate or synonym file or (--query) the\n"
"      database is missing\n"
"  69  --server: the daemon is unreachable or cannot add documents\n"
"  70  internal error (out of memory, ...)\n"
"  73  the database cannot be created\n"
"  74  I/O error, e.g. a commit failed (disk full); earlier commits intact\n"
"  75  the database is locked by another writer (e.g. polysearchd; the\n"
"      message names it: stop it, or use --server ADDR), or DIR/wal holds\n"
"      changes polysearchd acknowledged before it died (start it once on\n"
"      DIR: it applies them); --server: the daemon stayed busy\n"
"  77  --server: the daemon refused for want of a token (none given, or a\n"
"      wrong one) or of a role (a read token cannot add or delete)\n"
"  78  --server: the token file is readable by group or others (chmod\n"
"      600), or it or $POLYSEARCH_TOKEN holds no valid token\n"
"  130, 143  interrupted by SIGINT, SIGTERM\n",
            DEFAULT_BATCH, default_jobs(), BULK_AUTO_WRITERS,
            (unsigned long long)(BULK_AUTO_MIN_BYTES >> 20), BULK_MAX_WRITERS,
            WATCH_DEFAULT_SETTLE_MS,
            DEFAULT_LIMIT, PS_MAX_ID_BYTES);
}

enum { OPT_DB = 256, OPT_LANG, OPT_PRUNE, OPT_JSONL, OPT_BATCH, OPT_MAXDOC,
       OPT_BOILER, OPT_EXCLUDE, OPT_QUERY, OPT_LIMIT, OPT_JOBS,
       OPT_SERVER, OPT_WATCH, OPT_SETTLE, OPT_SHARDS, OPT_PARALLEL,
       OPT_TOKEN_FILE, OPT_TOKEN, OPT_SYNONYMS };

static int bad_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("polysearch-index: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'polysearch-index --help'.\n", stderr);
    return EX_USAGE;
}

/* Parses the argument of option `name` (e.g. "--batch") as a number in
 * lo..hi into *v.  Returns 0, or EX_USAGE after a usage message naming
 * the option and the range; `unit` ("", or e.g. " of milliseconds") is
 * said after "number". */
static int parse_count(const char *name, const char *arg, const char *unit,
                       uint64_t lo, uint64_t hi, uint64_t *v)
{
    if (ps_parse_u64(arg, lo, hi, v) == 0)
        return 0;
    return bad_usage("%s: '%s' is not a number%s in %" PRIu64 "..%" PRIu64,
                     name, arg, unit, lo, hi);
}

/* Checks a --server address with the rules psc_connect() applies (so a
 * typo is a usage error before any input is read).  Returns 0, or -1
 * after the usage message. */
static int server_addr_check(const char *spec)
{
    static const ps_addr_opts connect_opts = PS_ADDR_CONNECT;
    ps_addr a;
    char why[320];
    if (ps_addr_parse(spec, &connect_opts, &a, why, sizeof why) == 0)
        return 0;
    bad_usage("--server: %s (want HOST:PORT, HOST (port %u), [V6]:PORT or "
              "unix:PATH)", why, PS_ADDR_DEFAULT_PORT);
    return -1;
}

/* --server and --watch (remote.h, watch.h): checks the option mix, then
 * runs.  settle < 0: not given.  Returns the exit code. */
static int run_live(run_opts *o, int argc, char **argv, const char *query,
                    int limit_set, int db_set, const char *server,
                    const char *watch, int settle, const char *token_file)
{
    if (settle >= 0 && watch == NULL)
        return bad_usage("--settle only applies to --watch");
    if (query != NULL || limit_set)
        return bad_usage("--query and --limit read the local database: not "
                         "with --server or --watch (use 'polysearch search')");
    if (server != NULL) {
        if (o->prune)
            return bad_usage("--prune cannot be used with --server: the "
                             "daemon protocol has no way to list document "
                             "ids; delete with 'polysearch delete ID...', or "
                             "run --prune locally while the daemon is "
                             "stopped");
        if (db_set)
            return bad_usage("--db and --server exclude each other (the "
                             "daemon writes its own database)");
        if (o->boilerplate)
            return bad_usage("--boilerplate does not apply to --server (the "
                             "daemon cleans with its own list)");
    }
    if (watch != NULL && optind < argc)
        return bad_usage("--watch takes one DIR and no PATH arguments (got "
                         "'%s')", argv[optind]);
    if (watch != NULL && o->force_jsonl)
        return bad_usage("--jsonl does not apply to --watch");
    if (watch == NULL && optind >= argc)
        return bad_usage("no input: give directories, files or - (stdin)");
    char *token = NULL;
    char from[4200] = "";
    if (server != NULL) {
        char err[4608];
        int trc = ps_token_get(token_file, &token, err, sizeof err);
        if (trc != 0) {
            ps_log(PS_LOG_ERROR, "%s", err);
            return trc;
        }
        if (token_file)
            snprintf(from, sizeof from, "token file %s", token_file);
        else
            snprintf(from, sizeof from, "$%s", PS_TOKEN_ENV);
    }
    remote *rm = NULL;
    int rc = server ? remote_open(server, o->batch, token, from, &rm) : 0;
    if (rc != 0) {
        ps_token_free(token);
        return rc;
    }
    if (watch != NULL) {
        rc = watch_run(o, watch,
                       settle >= 0 ? (unsigned)settle : WATCH_DEFAULT_SETTLE_MS,
                       rm);
    } else {
        run_sink sink = remote_sink(rm);
        o->sink = &sink;
        rc = run_index(o, argv + optind, (size_t)(argc - optind), NULL);
        o->sink = NULL;
    }
    remote_close(rm);
    ps_token_free(token);
    return rc;
}

/* --synonyms FILE: checks the file, runs the indexing of the PATH
 * arguments when there are some, then replaces the synonym table.
 * Returns the exit code. */
static int run_synonyms(run_opts *o, const char *file, int argc, char **argv)
{
    syn_limits lim;
    syn_file sf;
    char err[512];
    syn_limits_init(&lim);
    int rc = syn_load(file, &lim, &sf, err, sizeof err);
    if (rc != 0) {
        ps_log(PS_LOG_ERROR, "%s", err);
        return rc;
    }
    if (optind < argc) {
        rc = run_index(o, argv + optind, (size_t)(argc - optind), NULL);
        if (rc != 0 && rc != EX_DATAERR) {
            ps_log(PS_LOG_ERROR, "synonym table of %s left as it was",
                   o->db_path);
            syn_file_free(&sf);
            return rc;
        }
    }
    ps_db *db = NULL;
    int orc = run_open_db(o, &db);
    if (orc != 0) {
        syn_file_free(&sf);
        return orc;
    }
    ps_status st = ps_db_set_synonyms(db, sf.groups, sf.n);
    if (st != PS_OK) {
        ps_log(PS_LOG_ERROR, "cannot replace the synonym table of %s: %s",
               o->db_path, ps_db_errmsg(db));
        orc = st == PS_ERR_INVALID ? EX_DATAERR : run_status_exit(st);
    } else {
        ps_log(PS_LOG_INFO, "synonyms: %zu groups (%zu members) from %s "
               "replaced the synonym table of %s", sf.n, sf.nmembers, file,
               o->db_path);
    }
    ps_status cst = ps_db_close(db);
    if (orc == 0 && cst != PS_OK)
        orc = run_status_exit(cst);
    syn_file_free(&sf);
    return orc != 0 ? orc : rc;
}

/* Parses the command line and runs; `excludes` has room for argc + 1
 * pointers.  Returns the exit code. */
static int run_cli(int argc, char **argv, char **excludes)
{
    static const struct option opts[] = {
        { "db", required_argument, NULL, OPT_DB },
        { "lang", required_argument, NULL, OPT_LANG },
        { "prune", no_argument, NULL, OPT_PRUNE },
        { "jsonl", no_argument, NULL, OPT_JSONL },
        { "batch", required_argument, NULL, OPT_BATCH },
        { "jobs", required_argument, NULL, OPT_JOBS },
        { "parallel-build", required_argument, NULL, OPT_PARALLEL },
        { "max-doc-bytes", required_argument, NULL, OPT_MAXDOC },
        { "boilerplate", required_argument, NULL, OPT_BOILER },
        { "synonyms", required_argument, NULL, OPT_SYNONYMS },
        { "exclude", required_argument, NULL, OPT_EXCLUDE },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "query", required_argument, NULL, OPT_QUERY },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "server", required_argument, NULL, OPT_SERVER },
        { "watch", required_argument, NULL, OPT_WATCH },
        { "settle", required_argument, NULL, OPT_SETTLE },
        { "shards", required_argument, NULL, OPT_SHARDS },
        { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
        /* Refused: see the case below. */
        { "token", optional_argument, NULL, OPT_TOKEN },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    run_opts o;
    memset(&o, 0, sizeof o);
    o.batch = DEFAULT_BATCH;
    o.max_doc_bytes = DEFAULT_MAX_DOC;
    o.jobs = (unsigned)default_jobs();
    const char *query = NULL;
    uint64_t limit = DEFAULT_LIMIT;
    int limit_set = 0;
    const char *server = NULL, *watch = NULL, *token_file = NULL;
    uint64_t settle = WATCH_DEFAULT_SETTLE_MS;
    int settle_set = 0, db_set = 0, verbose = 0, parallel_set = 0;
    const char *synonyms = NULL;

    size_t nexcl = 0;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:qvhV", opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            if (optarg[0] == '\0')
                return bad_usage("--db needs a directory");
            o.db_path = optarg;
            db_set = 1;
            break;
        case OPT_LANG:
            if (!ps_lang_valid(optarg))
                return bad_usage("--lang: unknown language code '%s' (an "
                                 "ISO 639-1 code with a stemmer, or und)",
                                 optarg);
            o.lang = optarg;
            break;
        case OPT_PRUNE:
            o.prune = 1;
            break;
        case OPT_JSONL:
            o.force_jsonl = 1;
            break;
        case OPT_BATCH:
            if (parse_count("--batch", optarg, "", 1, 10000000, &o.batch))
                return EX_USAGE;
            break;
        case OPT_JOBS: {
            uint64_t j;
            if (parse_count("--jobs", optarg, "", 1, 256, &j))
                return EX_USAGE;
            o.jobs = (unsigned)j;
            break;
        }
        case OPT_PARALLEL:
            if (strcmp(optarg, "auto") == 0) {
                o.parallel = 0;
            } else if (strcmp(optarg, "off") == 0) {
                o.parallel = -1;
            } else {
                uint64_t np;
                if (ps_parse_u64(optarg, 1, BULK_MAX_WRITERS, &np) != 0)
                    return bad_usage("--parallel-build: '%s' is not auto, off "
                                     "or a number in 1..%u", optarg,
                                     BULK_MAX_WRITERS);
                o.parallel = (int)np;
            }
            parallel_set = 1;
            break;
        case OPT_MAXDOC:
            if (ps_parse_size(optarg, 1, (uint64_t)1 << 30,
                              &o.max_doc_bytes) != 0)
                return bad_usage("--max-doc-bytes: '%s' is not a size in "
                                 "1..1g", optarg);
            break;
        case OPT_SYNONYMS:
            synonyms = optarg;
            break;
        case OPT_BOILER:
            o.boilerplate = optarg;
            break;
        case OPT_EXCLUDE:
            /* argc bounds the count: the array is never full. */
            excludes[nexcl++] = optarg;
            o.excludes = (const char *const *)excludes;
            break;
        case 'q':
            o.quiet = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case OPT_QUERY:
            query = optarg;
            break;
        case OPT_LIMIT:
            if (parse_count("--limit", optarg, "", 1, 1000, &limit))
                return EX_USAGE;
            limit_set = 1;
            break;
        case OPT_SERVER:
            if (optarg[0] == '\0')
                return bad_usage("--server needs an address");
            if (server_addr_check(optarg) != 0)
                return EX_USAGE;
            server = optarg;
            break;
        case OPT_WATCH:
            watch = optarg;
            break;
        case OPT_TOKEN_FILE:
            if (optarg[0] == '\0')
                return bad_usage("--token-file needs a file name");
            token_file = optarg;
            break;
        case OPT_TOKEN:
            /* Never echo the value: it is a secret already exposed. */
            return bad_usage("--token is not supported: a token on the "
                             "command line is visible to every user (ps, "
                             "/proc); put it alone in a file only you can "
                             "read (chmod 600) and give --token-file FILE, "
                             "or set POLYSEARCH_TOKEN");
        case OPT_SHARDS: {
            uint64_t ns;
            if (parse_count("--shards", optarg, "", 1, 1024, &ns))
                return EX_USAGE;
            o.shards = (unsigned)ns;
            break;
        }
        case OPT_SETTLE:
            if (parse_count("--settle", optarg, " of milliseconds", 0, 600000,
                            &settle))
                return EX_USAGE;
            settle_set = 1;
            break;
        case 'h':
            usage(stdout);
            return fflush(stdout) == 0 ? 0 : EX_IOERR;
        case 'V':
            printf("polysearch-index %s\n", PS_VERSION);
            return fflush(stdout) == 0 ? 0 : EX_IOERR;
        case ':':
            return bad_usage("option '%s' needs an argument", argv[optind - 1]);
        default:
            return bad_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (o.db_path == NULL) {
        const char *env = getenv("POLYSEARCH_DB");
        o.db_path = env && env[0] ? env : "./polysearch.db";
    }
    if (o.quiet && verbose)
        return bad_usage("--quiet and --verbose exclude each other");
    ps_log_init("polysearch-index", o.quiet ? PS_LOG_WARN
                                  : verbose ? PS_LOG_DEBUG : PS_LOG_INFO);

    if (parallel_set && o.parallel > 0) {
        if (server != NULL || watch != NULL || query != NULL)
            return bad_usage("--parallel-build builds a new local database: "
                             "not with --server, --watch or --query");
        if (o.shards != 0)
            return bad_usage("--parallel-build does not build shard sets "
                             "(--shards)");
        if (o.jobs < 2)
            return bad_usage("--parallel-build %d needs --jobs 2 or more (the "
                             "analysis runs on its own threads)", o.parallel);
    }
    if (token_file != NULL && server == NULL)
        return bad_usage("--token-file only applies to --server (a local "
                         "database needs no token)");
    if (synonyms != NULL && (server != NULL || watch != NULL || query != NULL))
        return bad_usage("--synonyms writes the local database: not with "
                         "--server, --watch or --query (stop polysearchd, or "
                         "wait until it released the write lock)");
    if (synonyms != NULL)
        return run_synonyms(&o, synonyms, argc, argv);
    if (server != NULL || watch != NULL || settle_set)
        return run_live(&o, argc, argv, query, limit_set, db_set, server,
                        watch, settle_set ? (int)settle : -1, token_file);
    if (query != NULL) {
        if (optind < argc)
            return bad_usage("--query takes no PATH arguments (got '%s')",
                             argv[optind]);
        if (o.prune || o.force_jsonl || o.boilerplate)
            return bad_usage("--prune, --jsonl and --boilerplate do not "
                             "apply to --query");
        return run_query(&o, query, (uint32_t)limit);
    }
    if (limit_set)
        return bad_usage("--limit only applies to --query");
    if (optind >= argc)
        return bad_usage("no input: give directories, files or - (stdin)");
    return run_index(&o, argv + optind, (size_t)(argc - optind), NULL);
}

int main(int argc, char **argv)
{
    char **excludes = calloc((size_t)argc + 1, sizeof *excludes);
    if (excludes == NULL) {
        fputs("polysearch-index: out of memory\n", stderr);
        return EX_OSERR;
    }
    int rc = run_cli(argc, argv, excludes);
    free(excludes);
    return rc;
}
