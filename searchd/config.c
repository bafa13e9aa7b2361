/* config.c: polysearchd command line: defaults, parsing, --help. */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config_file.h"
#include "polysearch.h"
#include "rpc.h"
#include "util.h"

#define DEF_DEADLINE_MS 10000u
#define DEF_IDLE_MS 60000u
#define DEF_MAX_CLIENTS 1024u
#define DEF_MAX_OUTPUT (4u * 1024u * 1024u)
#define DEF_QUEUE 256u
#define DEF_MAX_LIMIT 1000u
#define DEF_MAX_WINDOW 10000u
#define MAX_WORKERS 256u
#define DEF_MAX_ADD_DOCS 1000u
#define DEF_MAX_BODY (10u * 1024u * 1024u)
#define DEF_WRITE_QUEUE 64u
#define DEF_COMMIT_DELAY_MS 20u
#define DEF_WRITER_IDLE_MS 2000u
#define DEF_CHECKPOINT_DOCS 20000u
#define DEF_CHECKPOINT_BYTES (64u * 1024u * 1024u)
#define DEF_CHECKPOINT_INTERVAL_MS 10000u
#define DEF_VISIBLE_WAIT_MS 50u
#define DEF_MAX_DELTA_BYTES (512u * 1024u * 1024u)
#define DEF_MAX_SUBS 100000u
#define DEF_RESUME_MAX 10000u
#define DEF_MAX_SUBS_PER_CONN 1000u
#define DEF_MAX_NOTIFY_QUEUE (1024u * 1024u)
#define DEF_MAX_REQUEST (1024u * 1024u)
#define DEF_MAX_HEADERS (8u * 1024u)

void searchd_config_defaults(searchd_config *c)
{
    memset(c, 0, sizeof *c);
    const char *env = getenv("POLYSEARCH_DB");
    c->db_path = (env && *env) ? env : "./polysearch.db";
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->workers = n < 1 ? 1u : (n > (long)MAX_WORKERS ? MAX_WORKERS : (unsigned)n);
    c->log_level = PS_LOG_INFO;
    c->max_frame = PS_RPC_DEFAULT_MAX_FRAME;
    c->max_depth = PS_RPC_DEFAULT_MAX_DEPTH;
    c->deadline_ms = DEF_DEADLINE_MS;
    c->idle_ms = DEF_IDLE_MS;
    c->max_clients = DEF_MAX_CLIENTS;
    c->max_output = DEF_MAX_OUTPUT;
    c->queue = DEF_QUEUE;
    c->max_limit = DEF_MAX_LIMIT;
    c->max_window = DEF_MAX_WINDOW;
    c->max_query = PS_DEFAULT_MAX_QUERY_BYTES;
    c->max_wildcard = PS_DEFAULT_MAX_WILDCARD;
    c->max_add_docs = DEF_MAX_ADD_DOCS;
    c->max_body = DEF_MAX_BODY;
    c->write_queue = DEF_WRITE_QUEUE;
    c->commit_delay_ms = DEF_COMMIT_DELAY_MS;
    c->writer_idle_ms = DEF_WRITER_IDLE_MS;
    c->checkpoint_docs = DEF_CHECKPOINT_DOCS;
    c->checkpoint_bytes = DEF_CHECKPOINT_BYTES;
    c->checkpoint_interval_ms = DEF_CHECKPOINT_INTERVAL_MS;
    c->visible_wait_ms = DEF_VISIBLE_WAIT_MS;
    c->max_delta_bytes = DEF_MAX_DELTA_BYTES;
    c->max_subs = DEF_MAX_SUBS;
    c->max_subs_per_conn = DEF_MAX_SUBS_PER_CONN;
    c->max_notify_queue = DEF_MAX_NOTIFY_QUEUE;
    c->max_request = DEF_MAX_REQUEST;
    c->max_headers = DEF_MAX_HEADERS;
    c->resume_max = DEF_RESUME_MAX;
}

void searchd_config_usage(FILE *f)
{
    fprintf(f,
"Usage: polysearchd [OPTION]...\n"
"Serve searches over a polysearch database with MessagePack-RPC (and\n"
"HTTP/JSON with --http).\n"
"\n"
"  --db DIR            database directory (default: $POLYSEARCH_DB, else\n"
"                      ./polysearch.db); it must exist (exit 66 otherwise)\n"
"                      unless --create is given\n"
"  --create            when DIR holds no database, make an empty one (to be\n"
"                      fed through add): DIR is made when missing (its\n"
"                      parent must exist) or may be an empty directory; a\n"
"                      DIR holding other files is never written into (exit\n"
"                      73); a database or shard set there is opened as it\n"
"                      is; not with --shard\n"
"  --listen HOST:PORT  TCP address, repeatable; [::1]:PORT for IPv6\n"
"                      (default 127.0.0.1:7117; non-loopback logs a warning)\n"
"  --socket PATH       also listen on a Unix socket (mode 0600)\n"
"  --port-file F       write the first TCP port to F (atomically)\n"
"  --http HOST:PORT    also serve the HTTP/JSON API there (docs/HTTP.md),\n"
"                      repeatable; off by default; same database, workers,\n"
"                      writer and limits as MessagePack-RPC\n"
"  --http-port-file F  write the first --http port to F (atomically)\n"
"  --workers N         search threads (default: online cores)\n"
"  --quiet, --verbose  log errors only / log debug lines (stderr)\n"
"  --help, --version\n"
"\n"
"Limits (error code when exceeded):\n"
"  --max-frame SIZE    one message, checked before unpacking (1M; too_large)\n"
"  --max-depth N       nesting depth (%u, at most %u; bad_request)\n"
"  --deadline DUR      first byte of a request to its answer (10s; timeout)\n"
"  --idle-timeout DUR  idle connection closed (60s)\n"
"  --max-clients N     connections (%u; excess get busy and are closed)\n"
"  --max-output SIZE   output buffered per connection before reading\n"
"                      pauses (4M)\n"
"  --queue N           requests waiting for a worker (%u; busy)\n"
"  --max-limit N       search limit (%u; bad_request)\n"
"  --max-window N      search offset+limit (%u; bad_request)\n"
"  --max-query SIZE    query text bytes (%u; too_large)\n"
"  --max-wildcard N    terms a wildcard may expand to (%u; too_many_terms)\n"
"  --max-request SIZE  HTTP request body (1M; 413 from libevent, closed)\n"
"  --max-headers SIZE  HTTP request line and headers (8k; 400 from\n"
"                      libevent, closed)\n"
"\n"
"Writing (add/delete over the socket, one writer thread):\n"
"  --read-only         refuse add/delete (unavailable); never take the lock\n"
"                      (except once at start to make a --create database)\n"
"  --max-add-docs N    documents per add, ids per delete (%u; too_large)\n"
"  --max-body SIZE     body bytes per added document (10M; that document\n"
"                      is rejected); big adds also need --max-frame raised\n"
"  --write-queue N     write requests waiting for the writer (%u; busy)\n"
"  --commit-delay DUR  while other writers are active, wait this long for\n"
"                      their requests before committing (%ums; 0 = never)\n"
"  --writer-idle DUR   release the database write lock after this long\n"
"                      without writes and with every change checkpointed,\n"
"                      so polysearch-index can run (2s)\n"
"Write-ahead log (docs/WAL.md; at DIR/wal for --db DIR, a shard set's too;\n"
"on unless --no-wal, or --shard without --wal-dir):\n"
"  --no-wal            no log: every write group is a Xapian commit (slower);\n"
"                      refused (74) while the log holds changes not yet in\n"
"                      the database\n"
"  --wal-dir DIR       the log of a --shard list (one log for all shards,\n"
"                      checkpointed into every shard; docs/SCALING.md);\n"
"                      without it a --shard list commits every write group\n"
"  --checkpoint-docs N commit the logged changes to the database once this\n"
"                      many are pending (%u)\n"
"  --checkpoint-bytes SIZE ... or once they hold this much memory (64M)\n"
"  --checkpoint-interval DUR ... or once the oldest is this old (10s)\n"
"  --max-delta SIZE    while pending changes hold more than this, writers\n"
"                      wait for a checkpoint, then get busy (512M)\n"
"  --visible-wait DUR  answer an add/delete once every worker shows it,\n"
"                      waiting at most this long after the log's fdatasync\n"
"                      (50ms; 0 = answer at once: the next search of each\n"
"                      worker applies the changes first)\n"
"Alerts (subscribe: each new matching document pushed as a notification):\n"
"  --max-subscriptions N  subscriptions in total, and durable ones\n"
"                      stored (%u; busy)\n"
"  --max-subscriptions-per-conn N\n"
"                      subscriptions of one connection (%u; busy)\n"
"  --max-notify-queue SIZE\n"
"                      unsent output of a connection past which its\n"
"                      notifications are dropped, then reported in a\n"
"                      lagged notification once it drained (1M)\n"
"  --resume-max N      documents a catch-up sends to one subscription\n"
"                      (a subscribe resuming, another writer's changes);\n"
"                      the rest is reported in a lagged notification (%u)\n"
"Shards (docs/SCALING.md):\n"
"  --shard SPEC        serve the shards SPEC (a database directory or\n"
"                      tcp:HOST:PORT of a xapian-tcpsrv) as one database;\n"
"                      repeatable, in the order used when indexing; a --db\n"
"                      directory with a SHARDS file is opened as shards too\n"
"  --no-partial        while a shard is down, searches fail (unavailable)\n"
"                      instead of answering partial results\n"
"  --shard-timeout DUR remote shard operation timeout (5s)\n"
"  --write-shard SPEC  where add/delete for shard i are written, given once\n"
"                      per --shard in the same order: for a remote shard a\n"
"                      `xapian-tcpsrv --writable` on the same database (its\n"
"                      one connection is the writer's); without it, remote\n"
"                      shards are read-only (add/delete: unavailable)\n"
"Access control (docs/PROTOCOL.md, \"Access control\"):\n"
"  --auth-token-file FILE\n"
"                      tokens, one \"ROLE TOKEN\" per line (ROLE read, write\n"
"                      or admin; TOKEN 16 to 512 visible ASCII characters;\n"
"                      # comments); FILE must be mode 0600 or 0400 (else exit\n"
"                      78).  Then every method but ping and auth needs a\n"
"                      token: MessagePack-RPC `auth {token}` for the\n"
"                      connection, or a token argument on a call; HTTP\n"
"                      `Authorization: Bearer TOKEN` (never in the URL).\n"
"                      read: search, get, stats, subscribe, unsubscribe,\n"
"                      subscriptions (HTTP /healthz needs none); write:\n"
"                      add, delete; admin: reload (re-reads FILE, as SIGHUP\n"
"                      does) and everything else.  No token (unauthorized;\n"
"                      HTTP 401), a role too low (forbidden; HTTP 403), a\n"
"                      wrong token (unauthorized after 1 s, then closed).\n"
"                      Without it, anyone who can connect may do anything:\n"
"                      a non-loopback --listen or --http with writes\n"
"                      enabled is refused (exit 78) unless --read-only\n"
"Settings file:\n"
"  --config FILE       read settings from FILE first: one per line, the long\n"
"                      option without -- and its value (`listen 127.0.0.1:7117`,\n"
"                      `read-only`), # comments; options on the command line\n"
"                      override single settings and add to repeatable ones\n"
"SIZE takes k/m/g suffixes; DUR takes ms/s/m suffixes (bare = seconds).\n"
"\n"
"Exit status: 0 after SIGTERM/SIGINT, 64 usage, 65 unreadable store of\n"
"durable subscriptions (DB/subscriptions.msgpack), 66 no database,\n"
"69 address or socket in use, 71 other start-up failure, 73 cannot create\n"
"the database (--create), the socket or the port file, 75 --create while\n"
"another writer holds the new database's lock, 74 the write-ahead log\n"
"cannot be opened, replayed or synced, 78 bad --config file, a bad\n"
"--auth-token-file, or a non-loopback address with writes and no tokens.\n",
            PS_RPC_DEFAULT_MAX_DEPTH, PS_RPC_MAX_DEPTH_LIMIT, DEF_MAX_CLIENTS,
            DEF_QUEUE, DEF_MAX_LIMIT, DEF_MAX_WINDOW,
            PS_DEFAULT_MAX_QUERY_BYTES, PS_DEFAULT_MAX_WILDCARD,
            DEF_MAX_ADD_DOCS, DEF_WRITE_QUEUE, DEF_COMMIT_DELAY_MS,
            DEF_CHECKPOINT_DOCS, DEF_MAX_SUBS, DEF_MAX_SUBS_PER_CONN, DEF_RESUME_MAX);
}

enum {
    O_DB = 256, O_LISTEN, O_SOCKET, O_PORTFILE, O_WORKERS, O_QUIET, O_VERBOSE,
    O_HELP, O_VERSION, O_MAXFRAME, O_MAXDEPTH, O_DEADLINE, O_IDLE,
    O_MAXCLIENTS, O_MAXOUTPUT, O_QUEUE, O_MAXLIMIT, O_MAXWINDOW, O_MAXQUERY,
    O_MAXWILDCARD, O_READONLY, O_MAXADDDOCS, O_MAXBODY, O_WRITEQUEUE,
    O_COMMITDELAY, O_VISIBLEWAIT, O_WRITERIDLE, O_SHARD, O_NOPARTIAL, O_SHARDTIMEOUT,
    O_WRITESHARD, O_CONFIG, O_CREATE, O_NOWAL, O_CKPTDOCS, O_CKPTBYTES,
    O_CKPTINTERVAL, O_MAXDELTA, O_WALDIR, O_MAXSUBS, O_MAXSUBSCONN, O_MAXNOTIFY,
    O_HTTP, O_HTTPPORTFILE, O_MAXREQUEST, O_MAXHEADERS, O_AUTHTOKENFILE, O_RESUMEMAX
};

/* In the order of the enum above (the error messages index it). */
static const struct option opts[] = {
    {"db", required_argument, 0, O_DB},
    {"listen", required_argument, 0, O_LISTEN},
    {"socket", required_argument, 0, O_SOCKET},
    {"port-file", required_argument, 0, O_PORTFILE},
    {"workers", required_argument, 0, O_WORKERS},
    {"quiet", no_argument, 0, O_QUIET},
    {"verbose", no_argument, 0, O_VERBOSE},
    {"help", no_argument, 0, O_HELP},
    {"version", no_argument, 0, O_VERSION},
    {"max-frame", required_argument, 0, O_MAXFRAME},
    {"max-depth", required_argument, 0, O_MAXDEPTH},
    {"deadline", required_argument, 0, O_DEADLINE},
    {"idle-timeout", required_argument, 0, O_IDLE},
    {"max-clients", required_argument, 0, O_MAXCLIENTS},
    {"max-output", required_argument, 0, O_MAXOUTPUT},
    {"queue", required_argument, 0, O_QUEUE},
    {"max-limit", required_argument, 0, O_MAXLIMIT},
    {"max-window", required_argument, 0, O_MAXWINDOW},
    {"max-query", required_argument, 0, O_MAXQUERY},
    {"max-wildcard", required_argument, 0, O_MAXWILDCARD},
    {"read-only", no_argument, 0, O_READONLY},
    {"max-add-docs", required_argument, 0, O_MAXADDDOCS},
    {"max-body", required_argument, 0, O_MAXBODY},
    {"write-queue", required_argument, 0, O_WRITEQUEUE},
    {"commit-delay", required_argument, 0, O_COMMITDELAY},
    {"visible-wait", required_argument, 0, O_VISIBLEWAIT},
    {"writer-idle", required_argument, 0, O_WRITERIDLE},
    {"shard", required_argument, 0, O_SHARD},
    {"no-partial", no_argument, 0, O_NOPARTIAL},
    {"shard-timeout", required_argument, 0, O_SHARDTIMEOUT},
    {"write-shard", required_argument, 0, O_WRITESHARD},
    {"config", required_argument, 0, O_CONFIG},
    {"create", no_argument, 0, O_CREATE},
    {"no-wal", no_argument, 0, O_NOWAL},
    {"checkpoint-docs", required_argument, 0, O_CKPTDOCS},
    {"checkpoint-bytes", required_argument, 0, O_CKPTBYTES},
    {"checkpoint-interval", required_argument, 0, O_CKPTINTERVAL},
    {"max-delta", required_argument, 0, O_MAXDELTA},
    {"wal-dir", required_argument, 0, O_WALDIR},
    {"max-subscriptions", required_argument, 0, O_MAXSUBS},
    {"max-subscriptions-per-conn", required_argument, 0, O_MAXSUBSCONN},
    {"max-notify-queue", required_argument, 0, O_MAXNOTIFY},
    {"http", required_argument, 0, O_HTTP},
    {"http-port-file", required_argument, 0, O_HTTPPORTFILE},
    {"max-request", required_argument, 0, O_MAXREQUEST},
    {"max-headers", required_argument, 0, O_MAXHEADERS},
    {"auth-token-file", required_argument, 0, O_AUTHTOKENFILE},
    {"resume-max", required_argument, 0, O_RESUMEMAX},
    {0, 0, 0, 0}
};

/* Upper bound of the byte-size options. */
#define GIB (1024ull * 1024 * 1024)

static int bad(const char *opt, const char *val, const char *what)
{
    fprintf(stderr, "polysearchd: invalid value '%s' for --%s: %s\n"
            "Try 'polysearchd --help'.\n", val, opt, what);
    return EX_USAGE;
}

/* Parses the value of --opt with parse (ps_parse_u64, ps_parse_size or
 * ps_parse_duration_ms of util.h), in [min, max], into *out.  Returns -1,
 * or EX_USAGE after "invalid value ...: what" (*out unchanged). */
static int set_u64(uint64_t *out, const char *opt, const char *val,
                   int (*parse)(const char *, uint64_t, uint64_t, uint64_t *),
                   uint64_t min, uint64_t max, const char *what)
{
    uint64_t v;
    if (parse(val, min, max, &v) != 0)
        return bad(opt, val, what);
    *out = v;
    return -1;
}

/* An integer option in [min, max] into an unsigned field; as set_u64. */
static int set_uint(unsigned *out, const char *opt, const char *val,
                    uint64_t min, uint64_t max)
{
    char what[64];
    snprintf(what, sizeof what, "expected an integer in [%llu, %llu]",
             (unsigned long long)min, (unsigned long long)max);
    uint64_t v = *out;
    int rc = set_u64(&v, opt, val, ps_parse_u64, min, max, what);
    *out = (unsigned)v;
    return rc;
}

/* Applies one option (getopt_long's ch and optarg).  Returns -1 to go on,
 * 0 after --help/--version, EX_USAGE after a message. */
static int apply_option(searchd_config *c, int ch)
{
    int rc = -1;
    const char *name = (ch >= O_DB && ch <= O_RESUMEMAX) ? opts[ch - O_DB].name : "";
    {
        switch (ch) {
        case O_DB:
            if (!*optarg) return bad(name, optarg, "empty path");
            c->db_path = optarg; break;
        case O_LISTEN:
            if (c->nlisten >= SEARCHD_MAX_LISTEN)
                return bad(name, optarg, "too many --listen addresses");
            c->listen[c->nlisten++] = optarg; break;
        case O_SOCKET:
            if (!*optarg) return bad(name, optarg, "empty path");
            c->socket_path = optarg; break;
        case O_PORTFILE: c->port_file = optarg; break;
        case O_WORKERS: rc = set_uint(&c->workers, name, optarg, 1, MAX_WORKERS); break;
        case O_QUIET: c->log_level = PS_LOG_ERROR; break;
        case O_VERBOSE: c->log_level = PS_LOG_DEBUG; break;
        case O_HELP: searchd_config_usage(stdout); return 0;
        case O_VERSION: printf("polysearchd %s\n", PS_VERSION); return 0;
        case O_MAXFRAME:
            rc = set_u64(&c->max_frame, name, optarg, ps_parse_size,
                         64, GIB, "expected a size in [64, 1G]");
            break;
        case O_MAXDEPTH:
            rc = set_uint(&c->max_depth, name, optarg, 2, PS_RPC_MAX_DEPTH_LIMIT);
            break;
        case O_DEADLINE:
            rc = set_u64(&c->deadline_ms, name, optarg, ps_parse_duration_ms,
                         10, 3600000, "expected a duration in [10ms, 1h]");
            break;
        case O_IDLE:
            rc = set_u64(&c->idle_ms, name, optarg, ps_parse_duration_ms,
                         10, 86400000, "expected a duration in [10ms, 24h]");
            break;
        case O_MAXCLIENTS: rc = set_uint(&c->max_clients, name, optarg, 1, 1000000); break;
        case O_MAXOUTPUT:
            rc = set_u64(&c->max_output, name, optarg, ps_parse_size,
                         4096, GIB, "expected a size in [4k, 1G]");
            break;
        case O_QUEUE: rc = set_uint(&c->queue, name, optarg, 1, 1000000); break;
        case O_MAXLIMIT: rc = set_uint(&c->max_limit, name, optarg, 1, 1000000); break;
        case O_MAXWINDOW: rc = set_uint(&c->max_window, name, optarg, 1, 100000000); break;
        case O_MAXQUERY: {
            uint64_t v = c->max_query;
            rc = set_u64(&v, name, optarg, ps_parse_size, 1, 1024 * 1024,
                         "expected a size in [1, 1M]");
            c->max_query = (unsigned)v;
            break;
        }
        case O_MAXWILDCARD: rc = set_uint(&c->max_wildcard, name, optarg, 1, 10000000); break;
        case O_READONLY: c->read_only = 1; break;
        case O_MAXADDDOCS: rc = set_uint(&c->max_add_docs, name, optarg, 1, SEARCHD_MAX_ADD_DOCS); break;
        case O_MAXBODY:
            rc = set_u64(&c->max_body, name, optarg, ps_parse_size,
                         1, GIB, "expected a size in [1, 1G]");
            break;
        case O_WRITEQUEUE: rc = set_uint(&c->write_queue, name, optarg, 1, 1000000); break;
        case O_COMMITDELAY:
            if (strcmp(optarg, "0") == 0) { c->commit_delay_ms = 0; break; }
            rc = set_u64(&c->commit_delay_ms, name, optarg, ps_parse_duration_ms,
                         0, 1000, "expected a duration in [0, 1s]");
            break;
        case O_VISIBLEWAIT:
            if (strcmp(optarg, "0") == 0) { c->visible_wait_ms = 0; break; }
            rc = set_u64(&c->visible_wait_ms, name, optarg, ps_parse_duration_ms,
                         0, 10000, "expected a duration in [0, 10s]");
            break;
        case O_WRITERIDLE:
            rc = set_u64(&c->writer_idle_ms, name, optarg, ps_parse_duration_ms,
                         10, 3600000, "expected a duration in [10ms, 1h]");
            break;
        case O_NOWAL: c->no_wal = 1; break;
        case O_WALDIR:
            if (!*optarg) return bad(name, optarg, "empty path");
            c->wal_dir = optarg; break;
        case O_CKPTDOCS:
            rc = set_u64(&c->checkpoint_docs, name, optarg, ps_parse_u64,
                         1, 100000000, "expected a count in [1, 100000000]");
            break;
        case O_CKPTBYTES:
            rc = set_u64(&c->checkpoint_bytes, name, optarg, ps_parse_size,
                         4096, 64 * GIB, "expected a size in [4k, 64G]");
            break;
        case O_CKPTINTERVAL:
            rc = set_u64(&c->checkpoint_interval_ms, name, optarg, ps_parse_duration_ms,
                         10, 3600000, "expected a duration in [10ms, 1h]");
            break;
        case O_MAXSUBS: rc = set_uint(&c->max_subs, name, optarg, 1, 10000000); break;
        case O_MAXSUBSCONN: rc = set_uint(&c->max_subs_per_conn, name, optarg, 1, 10000000); break;
        case O_RESUMEMAX: rc = set_uint(&c->resume_max, name, optarg, 1, 10000000); break;
        case O_MAXNOTIFY:
            rc = set_u64(&c->max_notify_queue, name, optarg, ps_parse_size,
                         1024, GIB, "expected a size in [1k, 1G]");
            break;
        case O_MAXDELTA:
            rc = set_u64(&c->max_delta_bytes, name, optarg, ps_parse_size,
                         1024 * 1024, 64 * GIB, "expected a size in [1M, 64G]");
            break;
        case O_SHARD:
            if (!*optarg) return bad(name, optarg, "expected a directory or tcp:HOST:PORT");
            if (c->nshards >= SEARCHD_MAX_SHARDS)
                return bad(name, optarg, "too many shards");
            c->shards[c->nshards++] = optarg;
            break;
        case O_WRITESHARD:
            if (c->nwrite_shards >= SEARCHD_MAX_SHARDS)
                return bad(name, optarg, "too many shards");
            if (!*optarg)
                return bad(name, optarg, "empty shard spec");
            c->write_shards[c->nwrite_shards++] = optarg;
            break;
        case O_NOPARTIAL: c->no_partial = 1; break;
        case O_SHARDTIMEOUT:
            rc = set_u64(&c->shard_timeout_ms, name, optarg, ps_parse_duration_ms,
                         10, 600000, "expected a duration in [10ms, 10m]");
            break;
        case O_HTTP:
            if (c->nhttp >= SEARCHD_MAX_LISTEN)
                return bad(name, optarg, "too many --http addresses");
            c->http[c->nhttp++] = optarg; break;
        case O_HTTPPORTFILE: c->http_port_file = optarg; break;
        case O_MAXREQUEST:
            rc = set_u64(&c->max_request, name, optarg, ps_parse_size,
                         64, GIB, "expected a size in [64, 1G]");
            break;
        case O_MAXHEADERS:
            rc = set_u64(&c->max_headers, name, optarg, ps_parse_size,
                         1024, 1024 * 1024, "expected a size in [1k, 1M]");
            break;
        case O_AUTHTOKENFILE:
            if (!*optarg) return bad(name, optarg, "empty path");
            c->auth_token_file = optarg; break;
        case O_CONFIG: break;   /* read before the others: config_file.c */
        case O_CREATE: c->create = 1; break;
        default:
            fprintf(stderr, "Try 'polysearchd --help'.\n");
            return EX_USAGE;
        }
    }
    return rc;
}

/* Checks that need all the options.  Returns -1 or EX_USAGE. */
static int check_options(searchd_config *c, int argc, char **argv)
{
    if (optind < argc) {
        fprintf(stderr, "polysearchd: unexpected argument '%s'\n"
                "Try 'polysearchd --help'.\n", argv[optind]);
        return EX_USAGE;
    }
    if (c->max_window < c->max_limit) {
        fprintf(stderr, "polysearchd: --max-window (%u) must be >= --max-limit (%u)\n",
                c->max_window, c->max_limit);
        return EX_USAGE;
    }
    if (c->nwrite_shards && c->nwrite_shards != c->nshards) {
        fprintf(stderr, "polysearchd: %u --write-shard for %u --shard: give one "
                "per --shard, in the same order\n"
                "Try 'polysearchd --help'.\n", c->nwrite_shards, c->nshards);
        return EX_USAGE;
    }
    if (c->nwrite_shards && c->read_only) {
        fprintf(stderr, "polysearchd: --write-shard and --read-only contradict "
                "each other\nTry 'polysearchd --help'.\n");
        return EX_USAGE;
    }
    if (c->wal_dir && !c->nshards) {
        fprintf(stderr, "polysearchd: --wal-dir is the write-ahead log of a "
                "--shard list; the log of --db DIR is always DIR/wal\n"
                "Try 'polysearchd --help'.\n");
        return EX_USAGE;
    }
    if (c->create && c->nshards) {
        fprintf(stderr, "polysearchd: --create makes a single database at --db, "
                "not shards; an empty shard set is made by `polysearch-index "
                "--db DIR --shards N - </dev/null` and served with --db DIR "
                "(docs/SCALING.md)\nTry 'polysearchd --help'.\n");
        return EX_USAGE;
    }
    if (c->http_port_file && !c->nhttp) {
        fprintf(stderr, "polysearchd: --http-port-file needs --http\n"
                "Try 'polysearchd --help'.\n");
        return EX_USAGE;
    }
    if (c->nlisten == 0 && !c->socket_path)
        c->listen[c->nlisten++] = "127.0.0.1:7117";
    return -1;
}

int searchd_config_parse(searchd_config *c, int argc, char **argv)
{
    config_args *ca = calloc(1, sizeof *ca);
    if (!ca) {
        fprintf(stderr, "polysearchd: out of memory\n");
        return EX_OSERR;
    }
    int rc = config_file_expand(argc, argv, opts, ca);
    if (rc != -1) {
        free(ca);
        return rc;
    }
    if (ca->argv) {
        argc = ca->argc;
        argv = ca->argv;
        c->config_path = ca->path;
        c->config_args = ca;
    } else {
        free(ca);
        ca = NULL;
    }
    int ch;
    optind = 1;
    opterr = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        rc = apply_option(c, ch);
        if (rc == -1) continue;
        int at = optind - 1;    /* the option's value, or the option */
        if (rc > 0 && ca && at > 0 && at < ca->argc && ca->line[at]) {
            int line = ca->line[at] < 0 ? -ca->line[at] : ca->line[at];
            fprintf(stderr, "polysearchd: (set at %s:%d)\n", ca->path, line);
            rc = EX_CONFIG;
        }
        return rc;
    }
    return check_options(c, argc, argv);
}

void searchd_config_free(searchd_config *c)
{
    if (!c || !c->config_args) return;
    config_args_free(c->config_args);
    free(c->config_args);
    c->config_args = NULL;
}

ps_status searchd_config_open_db(const searchd_config *c, ps_db_mode mode,
                                 ps_db **out, char **errmsg)
{
    if (c->nshards == 0)
        return ps_db_open_dir(c->db_path, mode, 0, out, errmsg);
    ps_shard_opts o;
    ps_shard_opts_init(&o);
    o.allow_partial = !c->no_partial;
    if (c->shard_timeout_ms)
        o.timeout_ms = (uint32_t)c->shard_timeout_ms;
    if (mode == PS_DB_WRITE && c->nwrite_shards)
        return ps_db_open_shards(c->write_shards, c->nwrite_shards, mode, &o,
                                 out, errmsg);
    if (mode == PS_DB_WRITE && !searchd_config_can_write(c)) {
        if (out) *out = NULL;
        if (errmsg)
            *errmsg = strdup("remote shards are read-only here: start "
                             "polysearchd with one --write-shard per --shard "
                             "(docs/SCALING.md)");
        return PS_ERR_INVALID;
    }
    return ps_db_open_shards(c->shards, c->nshards, mode, &o, out, errmsg);
}

int searchd_config_can_write(const searchd_config *c)
{
    if (c->nwrite_shards)
        return 1;
    for (unsigned i = 0; i < c->nshards; i++)
        if (strncmp(c->shards[i], "tcp:", 4) == 0)
            return 0;
    return 1;
}

int searchd_config_wal_dir(const searchd_config *c, char *buf, size_t len)
{
    int n;
    if (len) buf[0] = '\0';
    if (c->nshards && !c->wal_dir) return 0;
    if (c->nshards) n = snprintf(buf, len, "%s", c->wal_dir);
    else n = snprintf(buf, len, "%s/wal", c->db_path);
    if (n < 0 || (size_t)n >= len) {
        if (len) buf[0] = '\0';
        return -1;
    }
    return 1;
}

const char *searchd_config_db_name(const searchd_config *c)
{
    return c->nshards ? c->shards[0] : c->db_path;
}
