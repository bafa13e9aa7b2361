/* run.c: the indexing run: inputs -> ps_db_put in batches -> commit,
 * --prune, summary line (run.h). */
#include "run.h"

#include "analyze.h"
#include "bulk.h"
#include "docvalid.h"
#include "idlist.h"
#include "idset.h"
#include "jsonl.h"
#include "pipeline.h"
#include "polysearch.h"
#include "progress.h"
#include "text.h"
#include "utf8.h"
#include "util.h"
#include "wal.h"
#include "walk.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

/* Documents and bytes of input text in flight in the pipeline (analysed
 * documents take a few times their input size). */
#define PIPE_MAX_DOCS 128
#define PIPE_MAX_BYTES (16u << 20)

/* Signal number that asked us to stop, 0 while running. */
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    g_stop = sig;
}

typedef enum input_kind { IN_DIR, IN_FILE, IN_JSONL, IN_STDIN } input_kind;

typedef struct runner {
    const run_opts *o;
    ps_db *db;
    idset *seen;
    run_stats st;
    uint64_t pending;       /* writes since the last commit */
    uint64_t docs;          /* inputs handled, for progress */
    uint64_t bytes_base;    /* bytes of inputs finished, for progress */
    progress prog;
    int fatal;              /* exit code of a fatal error, 0 = none */
    int prune_unsafe;       /* some input could not be fully read */
    char *buf;              /* file read buffer, reused */
    size_t bufcap;
    int dup;                /* the last mark_seen() id was a duplicate */
    /* --jobs > 1: analysis threads and a writer thread (pipeline.h).
     * While pl is running, only the writer thread touches db, pending and
     * wst; the reading thread keeps st, fatal and the rest. */
    pipeline *pl;
    run_stats wst;          /* outcomes counted by the writer thread */
    /* A parallel build of a new database (bulk.h): then db is NULL, the
     * pipeline's writer thread deals the documents to bulk's writers, and
     * bp is the boilerplate matcher of the analysis threads. */
    bulk *bk;
    ps_boilerplate *bp;
    int bulk_done;          /* a parallel build ended (r.bk is gone) */
} runner;

/* Logs a warning of the run.  The progress line, when shown, is erased
 * before it and redrawn below it by progress.c's log writer, as for every
 * ps_log() line (progress.h), so r is no longer used. */
static void rwarn(runner *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void rwarn(runner *r, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    (void)r;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ps_log(PS_LOG_WARN, "%s", msg);
}

int run_status_exit(ps_status st)
{
    switch (st) {
    case PS_ERR_IO:
    case PS_ERR_CORRUPT:
        return EX_IOERR;
    case PS_ERR_LOCKED:
        return EX_TEMPFAIL;
    default:
        return EX_SOFTWARE;
    }
}

/* Commits pending writes to the local database.  Logs "committed N
 * documents (total M)" (a debug line: --verbose) only after
 * ps_db_commit() returned PS_OK.  Returns 0 or the exit code of the
 * failure.  The thread that owns r->db. */
static int commit_db(runner *r)
{
    if (r->pending == 0)
        return 0;
    ps_status st = ps_db_commit(r->db);
    if (st != PS_OK) {
        ps_log(PS_LOG_ERROR, "commit to %s failed: %s: %s; the %llu "
               "documents since the last commit are lost, everything "
               "committed before is intact",
               r->o->db_path, ps_status_str(st), ps_db_errmsg(r->db),
               (unsigned long long)r->pending);
        return run_status_exit(st);
    }
    uint64_t total = 0;
    if (ps_db_count(r->db, &total) == PS_OK)
        ps_log(PS_LOG_DEBUG, "committed %llu documents (total %llu)",
               (unsigned long long)r->pending, (unsigned long long)total);
    else
        ps_log(PS_LOG_DEBUG, "committed %llu documents",
               (unsigned long long)r->pending);
    r->pending = 0;
    return 0;
}

/* Commits pending writes (or flushes the --server sink).  Returns 0 or -1
 * (r->fatal set).  Reading thread, pipeline not running. */
static int commit(runner *r)
{
    if (r->o->sink != NULL) {           /* --server: the daemon commits */
        int rc = r->o->sink->flush(r->o->sink->ctx, &r->st);
        if (rc != 0)
            r->fatal = rc;
        return rc != 0 ? -1 : 0;
    }
    int rc = commit_db(r);
    if (rc != 0)
        r->fatal = rc;
    return rc != 0 ? -1 : 0;
}

/* Records id as seen in this run; warns on a duplicate.  Returns 0 or -1
 * on allocation failure (r->fatal set). */
static int mark_seen(runner *r, const char *id, const char *where)
{
    int rc = idset_add(r->seen, id);
    if (rc < 0) {
        ps_log(PS_LOG_ERROR, "out of memory");
        r->fatal = EX_SOFTWARE;
        return -1;
    }
    r->dup = rc == 0;
    if (rc == 0)
        rwarn(r, "%s: duplicate id \"%s\" in this run: this one replaces "
              "the earlier one", where, id);
    return 0;
}

/* Counts the outcome of writing one document: st/out from the write,
 * errmsg the library's message.  Returns 0, or the exit code of a fatal
 * error.  The thread that owns r->db; counters go to *stats. */
static int count_put(runner *r, run_stats *stats, ps_status st,
                     ps_put_outcome out, const char *errmsg,
                     const char *where, const char *id)
{
    if (st == PS_ERR_INVALID) {
        rwarn(r, "%s: document \"%s\" rejected: %s: failed", where, id,
              errmsg);
        stats->failed++;
        return 0;
    }
    if (st != PS_OK) {
        ps_log(PS_LOG_ERROR, "%s: cannot index \"%s\": %s: %s", where,
               id, ps_status_str(st), errmsg);
        return run_status_exit(st);
    }
    switch (out) {
    case PS_PUT_ADDED:
        stats->added++;
        r->pending++;
        break;
    case PS_PUT_REPLACED:
        stats->updated++;
        r->pending++;
        break;
    case PS_PUT_UNCHANGED:
        stats->unchanged++;
        break;
    }
    return r->pending >= r->o->batch ? commit_db(r) : 0;
}

/* Pipeline, writer thread: is the document stored unchanged?  A lookup
 * error answers "no": the write then reports it. */
static int pipe_check(void *ctx, const pipe_doc *doc)
{
    runner *r = ctx;
    char hash[17];
    int unchanged = 0;
    if (r->db == NULL)
        return 0;                       /* a new database (bulk.h) */
    ps_doc_content_hash(&doc->d, hash);
    if (ps_db_check_unchanged(r->db, doc->d.id, hash, &unchanged) != PS_OK)
        return 0;
    return unchanged;
}

/* Pipeline, writer thread, input order: writes one analysed document. */
static int pipe_write(void *ctx, pipe_doc *doc)
{
    runner *r = ctx;
    if (doc->unchanged)
        return count_put(r, &r->wst, PS_OK, PS_PUT_UNCHANGED, "", doc->where,
                         doc->d.id);
    if (doc->st != PS_OK)
        return count_put(r, &r->wst, doc->st, PS_PUT_ADDED,
                         doc->err ? doc->err : ps_status_str(doc->st),
                         doc->where, doc->d.id ? doc->d.id : "");
    if (r->bk != NULL)
        return bulk_put(r->bk, doc);
    ps_put_outcome out = PS_PUT_ADDED;
    ps_status st = ps_db_put_prepared(r->db, doc->p, &out);
    return count_put(r, &r->wst, st, out, ps_db_errmsg(r->db), doc->where,
                     doc->d.id);
}

/* Adds or replaces one document (its id already passed mark_seen()) and
 * counts the outcome; commits when a batch is full.  `where` names the
 * input for warnings.  With the pipeline running, the document is queued
 * for analysis and written later, in input order, by the writer thread. */
static void store_doc(runner *r, const ps_doc_in *d, const char *where)
{
    if (r->o->sink != NULL) {           /* --server: no local database */
        int rc = r->o->sink->put(r->o->sink->ctx, d, where, &r->st);
        if (rc != 0)
            r->fatal = rc;
        return;
    }
    if (r->pl != NULL) {
        int rc = pipeline_submit(r->pl, d, where, r->dup);
        if (rc < 0) {
            ps_log(PS_LOG_ERROR, "out of memory");
            r->fatal = EX_SOFTWARE;
        } else if (rc > 0) {
            r->fatal = rc;              /* the writer logged why */
        }
        return;
    }
    ps_put_outcome out = PS_PUT_ADDED;
    ps_status st = ps_db_put(r->db, d, &out);
    int rc = count_put(r, &r->st, st, out, ps_db_errmsg(r->db), where, d->id);
    if (rc != 0)
        r->fatal = rc;
}

/* Checks an id derived from a path with the document rules (docvalid.h:
 * not empty, at most 240 bytes, valid UTF-8; an id is never repaired, it
 * must keep naming its file).  Returns 0 when usable; otherwise warns,
 * counts a failure and returns -1. */
static int check_id(runner *r, const char *id, const char *where)
{
    char why[PS_DOC_REASON_MAX];
    if (ps_doc_check_value(PS_DOC_ID, id, strlen(id), 0, why, sizeof why) == 0)
        return 0;
    rwarn(r, "%s: %s: failed", where, why);
    r->st.failed++;
    return -1;
}

/* Reads at most max+1 bytes of fd into r->buf (which always keeps room
 * for a final NUL).  Returns the byte count or -1 with errno set. */
static ssize_t read_capped(runner *r, int fd, uint64_t max)
{
    size_t want = (size_t)max + 1;     /* one more byte means "too large" */
    size_t got = 0;
    while (got < want) {
        if (r->bufcap - got < 2) {
            size_t ncap = r->bufcap ? r->bufcap * 2 : 65536;
            if (ncap > want + 1)
                ncap = want + 1;
            char *nb = realloc(r->buf, ncap);
            if (nb == NULL) {
                errno = ENOMEM;
                return -1;
            }
            r->buf = nb;
            r->bufcap = ncap;
        }
        size_t room = r->bufcap - 1 - got;
        if (room > want - got)
            room = want - got;
        ssize_t n = read(fd, r->buf + got, room);
        if (n < 0) {
            if (errno == EINTR && !g_stop)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Indexes one text file as one document with the given id. */
static void index_file(runner *r, const char *path, const char *id)
{
    if (check_id(r, id, path) != 0)
        return;
    uint64_t max = r->o->max_doc_bytes;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rwarn(r, "%s: cannot open: %s: failed", path, strerror(errno));
        r->st.failed++;
        return;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
        (uint64_t)sb.st_size > max) {
        close(fd);
        mark_seen(r, id, path);
        rwarn(r, "%s: %llu bytes, larger than --max-doc-bytes %llu: skipped",
              path, (unsigned long long)sb.st_size, (unsigned long long)max);
        r->st.skipped++;
        return;
    }
    ssize_t n = read_capped(r, fd, max);
    int err = errno;
    close(fd);
    if (n < 0) {
        if (g_stop)
            return;
        rwarn(r, "%s: read error: %s: failed", path, strerror(err));
        r->st.failed++;
        return;
    }
    size_t len = (size_t)n;
    if (mark_seen(r, id, path) != 0)
        return;
    /* From here on the id is known: a skipped file keeps its document. */
    if ((uint64_t)len > max) {
        rwarn(r, "%s: larger than --max-doc-bytes %llu: skipped", path,
              (unsigned long long)max);
        r->st.skipped++;
        return;
    }
    if (len == 0) {
        rwarn(r, "%s: empty file: skipped", path);
        r->st.skipped++;
        return;
    }
    if (text_looks_binary(r->buf, len)) {
        rwarn(r, "%s: binary file (NUL bytes or mostly invalid UTF-8 in its "
              "first 8 KiB): skipped", path);
        r->st.skipped++;
        return;
    }
    r->buf[len] = '\0';
    char *fixed = NULL;
    if (!ps_utf8_valid(r->buf, len)) {
        /* Files are read leniently (docs/PROTOCOL.md "Document rules"). */
        size_t nuls = 0, nbad = 0;
        fixed = ps_doc_text_repair(r->buf, len, &nuls, &nbad, NULL);
        if (fixed == NULL) {
            ps_log(PS_LOG_ERROR, "out of memory");
            r->fatal = EX_SOFTWARE;
            return;
        }
        if (nuls > 0)
            rwarn(r, "%s: %zu NUL bytes replaced by spaces", path, nuls);
        if (nbad > 0)
            rwarn(r, "%s: %zu invalid UTF-8 bytes replaced by U+FFFD", path,
                  nbad);
    }
    ps_doc_in d = { id, NULL, fixed ? fixed : r->buf, r->o->lang, NULL,
                    NULL };
    store_doc(r, &d, path);
    free(fixed);
}

/* ---- Directories ------------------------------------------------------ */

static int walk_index_cb(const walk_entry *e, void *ctx)
{
    runner *r = ctx;
    char *id = walk_id_from_relpath(e->relpath);
    if (id == NULL) {
        ps_log(PS_LOG_ERROR, "out of memory");
        r->fatal = EX_SOFTWARE;
        return 1;
    }
    index_file(r, e->path, id);
    free(id);
    r->docs++;
    r->bytes_base += e->size;
    progress_update(&r->prog, r->docs, r->bytes_base, 0);
    return r->fatal != 0 || g_stop;
}

static void index_dir(runner *r, const char *root)
{
    walk_result wr;
    if (walk_tree(root, r->o->excludes, walk_index_cb, r, &g_stop, 1, &wr) != 0 &&
        r->fatal == 0 && wr.errors == 0) {
        ps_log(PS_LOG_ERROR, "%s: out of memory while walking", root);
        r->fatal = EX_SOFTWARE;
    }
    if (wr.errors > 0) {
        r->st.failed += wr.errors;
        r->prune_unsafe = 1;
    }
}

/* ---- JSON Lines ------------------------------------------------------- */

static void index_jsonl(runner *r, int fd, const char *name)
{
    jsonl_reader *rd = jsonl_reader_new(fd, (size_t)r->o->max_doc_bytes);
    if (rd == NULL) {
        ps_log(PS_LOG_ERROR, "out of memory");
        r->fatal = EX_SOFTWARE;
        return;
    }
    char where[512];
    int unknown_warned = 0;     /* one warning per file, not per line */
    while (!g_stop && r->fatal == 0) {
        const char *line;
        size_t len;
        uint64_t lineno;
        jsonl_next_status ns = jsonl_next(rd, &line, &len, &lineno);
        if (ns == JSONL_EOF)
            break;
        if (ns == JSONL_INTR)
            continue;               /* the loop condition checks g_stop */
        if (ns == JSONL_IOERR) {
            rwarn(r, "%s: read error after line %llu: %s: failed", name,
                  (unsigned long long)lineno, strerror(errno));
            r->st.failed++;
            r->prune_unsafe = 1;
            break;
        }
        snprintf(where, sizeof where, "%s:%llu", name,
                 (unsigned long long)lineno);
        if (ns == JSONL_TOO_LONG) {
            rwarn(r, "%s: line longer than --max-doc-bytes %llu: skipped",
                  where, (unsigned long long)r->o->max_doc_bytes);
            r->st.skipped++;
            r->prune_unsafe = 1;     /* its id is unknown */
            r->docs++;
            continue;
        }
        jsonl_doc doc;
        char err[256];
        jsonl_parse_status ps = jsonl_parse_line(line, len, JSONL_FILE_RULES,
                                                 &doc, err, sizeof err);
        if (ps == JSONL_BLANK)
            continue;
        r->docs++;
        if (ps == JSONL_BAD) {
            rwarn(r, "%s: %s: failed", where, err);
            r->st.failed++;
            r->prune_unsafe = 1;
        } else {
            if (doc.nul_repaired > 0)
                rwarn(r, "%s: %zu NUL bytes replaced by spaces", where,
                      doc.nul_repaired);
            if (doc.utf8_repaired > 0)
                rwarn(r, "%s: %zu invalid UTF-8 bytes replaced by U+FFFD",
                      where, doc.utf8_repaired);
            if (doc.unknown_ignored > 0 && !unknown_warned) {
                rwarn(r, "%s: unknown key %s ignored%s; later lines of %s "
                      "with unknown keys are not reported", where,
                      doc.first_unknown, doc.unknown_ignored > 1
                      ? " (and others)" : "", name);
                unknown_warned = 1;
            }
            if (doc.body[0] == '\0' && (doc.title == NULL ||
                                        doc.title[0] == '\0')) {
                if (mark_seen(r, doc.id, where) == 0) {
                    rwarn(r, "%s: empty document \"%s\": skipped", where,
                          doc.id);
                    r->st.skipped++;
                }
            } else {
                ps_doc_in d = { doc.id, doc.title, doc.body,
                                doc.lang ? doc.lang : r->o->lang, doc.date,
                                doc.url };
                if (mark_seen(r, doc.id, where) == 0)
                    store_doc(r, &d, where);
            }
            jsonl_doc_clear(&doc);
        }
        progress_update(&r->prog, r->docs,
                        r->bytes_base + jsonl_bytes_read(rd), 0);
    }
    r->bytes_base += jsonl_bytes_read(rd);
    jsonl_reader_free(rd);
}

/* ---- Prune ------------------------------------------------------------ */

static int collect_unseen(const char *id, void *ctx)
{
    void **c = ctx;
    const idset *seen = c[0];
    idlist *l = c[1];
    if (!idset_has(seen, id) && idlist_push(l, id) != 0)
        return 1;
    return g_stop != 0;
}

static void prune(runner *r)
{
    if (r->db == NULL) {
        rwarn(r, "--prune not done: the daemon protocol cannot list ids");
        return;
    }
    if (r->st.failed > 0 || r->prune_unsafe) {
        rwarn(r, "--prune not done: some inputs failed, so the list of "
              "current documents is incomplete");
        return;
    }
    if (idset_count(r->seen) == 0) {
        rwarn(r, "--prune not done: no document seen in this run (refusing "
              "to empty the database)");
        return;
    }
    idlist l = { NULL, 0, 0, 0 };
    void *ctx[2] = { r->seen, &l };
    ps_status st = ps_db_foreach_id(r->db, collect_unseen, ctx);
    if (l.nomem) {
        ps_log(PS_LOG_ERROR, "out of memory while pruning");
        r->fatal = EX_SOFTWARE;
    } else if (st != PS_OK) {
        ps_log(PS_LOG_ERROR, "cannot list documents for --prune: %s: %s",
               ps_status_str(st), ps_db_errmsg(r->db));
        r->fatal = run_status_exit(st);
    }
    for (size_t i = 0; i < l.n && r->fatal == 0 && !g_stop; i++) {
        st = ps_db_delete(r->db, l.ids[i]);
        if (st == PS_OK) {
            ps_log(PS_LOG_DEBUG, "pruned \"%s\"", l.ids[i]);
            r->st.deleted++;
            r->pending++;
            if (r->pending >= r->o->batch)
                commit(r);
        } else if (st != PS_ERR_NOT_FOUND) {
            ps_log(PS_LOG_ERROR, "cannot delete \"%s\": %s: %s", l.ids[i],
                   ps_status_str(st), ps_db_errmsg(r->db));
            r->fatal = run_status_exit(st);
        }
    }
    idlist_clear(&l);
}

/* ---- The run ---------------------------------------------------------- */

/* Id of path, a file under root (run_opts.id_root), as a walk of root
 * would derive it.  Returns a malloc'd string or NULL (out of memory). */
static char *id_under_root(const char *root, const char *path)
{
    size_t n = strlen(root);
    if (n > 0 && strncmp(path, root, n) == 0 &&
        (path[n] == '/' || root[n - 1] == '/'))
        return walk_id_from_relpath(path + n);
    return walk_id_from_file(path);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int count_cb(const walk_entry *e, void *ctx)
{
    uint64_t *c = ctx;
    c[0]++;
    c[1] += e->size;
    return g_stop != 0;
}

/* Starts a parallel build when bulk_writers_for() asks for one (input
 * of `bytes`, known or not): r->bk, and r->bp for the analysis threads.
 * Returns 0 (r->bk still NULL: index serially) or an exit code. */
static int start_bulk(runner *r, uint64_t bytes, int bytes_known)
{
    unsigned n = bulk_writers_for(r->o, bytes, bytes_known);
    if (n == 0)
        return 0;
    char *err = NULL;
    r->bp = ps_boilerplate_new(r->o->boilerplate, &err);
    if (r->bp == NULL) {
        ps_log(PS_LOG_ERROR, "%s: cannot load boilerplate list: %s",
               r->o->boilerplate ? r->o->boilerplate : "built-in",
               err ? err : "out of memory");
        free(err);
        return r->o->boilerplate ? EX_NOINPUT : EX_SOFTWARE;
    }
    int rc = bulk_start(r->o, n, &r->bk);
    return rc < 0 ? 0 : rc;
}

/* Opens the database for writing; maps failures to exit codes. */
static int open_db(runner *r)
{
    return run_open_db(r->o, &r->db);
}

/* A database whose write-ahead log (DIR/wal, polysearchd's) holds
 * acknowledged changes above the last checkpoint must not be written
 * here: they would be applied after this run's documents when polysearchd
 * next starts, out of order.  The log only holds such changes while
 * polysearchd runs (and then it holds the write lock, so the open above
 * failed) or after it died before its checkpoint.  Closes *db and returns
 * EX_TEMPFAIL in that case, else 0. */
static int refuse_pending_log(const run_opts *o, ps_db **db)
{
    uint64_t ck = 0;
    /* A shard set's log is DIR/wal too; its checkpoint is the lowest
     * shard's. */
    if (ps_db_get_wal_seq(*db, &ck) != PS_OK || !wal_db_pending(o->db_path, ck))
        return 0;
    ps_db_close(*db);
    *db = NULL;
    ps_log(PS_LOG_ERROR, "cannot index into %s: its write-ahead log (%s/wal) "
           "holds changes polysearchd acknowledged that are not yet in the "
           "database (it stopped before its checkpoint): start polysearchd "
           "--db %s once, which applies them, then stop it and rerun; or "
           "rerun with --server ADDR to send the documents to it",
           o->db_path, o->db_path, o->db_path);
    return EX_TEMPFAIL;
}

int run_open_db(const run_opts *o, ps_db **out)
{
    /* What a parallel build killed after its switch left beside it. */
    ps_bulk_cleanup(o->db_path);
    char *msg = NULL;
    ps_status st = ps_db_open_dir(o->db_path, PS_DB_WRITE, o->shards, out, &msg);
    if (st == PS_OK) {
        free(msg);
        /* One database: each document written gets its change seq, from
         * the counter shared with polysearchd, so that a daemon serving it
         * pushes it to its subscribers when it notices this run's commits
         * (docs/WAL.md, "Change sequence numbers").  A shard set is not
         * stamped (polysearchd has no alerts there). */
        if (ps_db_nshards(*out) == 0) (void)ps_db_stamp_seqs(*out);
        return refuse_pending_log(o, out);
    }
    const char *m = msg ? msg : ps_status_str(st);
    int code;
    if (st == PS_ERR_INVALID) {
        /* --shards N against a directory holding another layout. */
        ps_log(PS_LOG_ERROR, "cannot index into %s: %s", o->db_path, m);
        code = EX_USAGE;
    } else if (st == PS_ERR_LOCKED) {
        /* The library names the holder (pid when known) and what to do;
         * add the advice only when its message lacks it. */
        if (strstr(m, "stop") != NULL)
            ps_log(PS_LOG_ERROR, "cannot index into %s: %s; or rerun with "
                   "--server ADDR to send the documents to the running "
                   "polysearchd", o->db_path, m);
        else
            ps_log(PS_LOG_ERROR, "cannot index into %s: %s: another process "
                   "holds the write lock (a running polysearchd or another "
                   "polysearch-index): stop it, or wait until it has "
                   "finished and retry, or rerun with --server ADDR to send "
                   "the documents to the running polysearchd", o->db_path, m);
        code = EX_TEMPFAIL;
    } else if (st == PS_ERR_NOMEM || st == PS_ERR_INTERNAL) {
        ps_log(PS_LOG_ERROR, "cannot open database %s: %s", o->db_path, m);
        code = EX_SOFTWARE;
    } else if (st == PS_ERR_CORRUPT) {
        ps_log(PS_LOG_ERROR, "database %s is corrupt: %s", o->db_path, m);
        code = EX_IOERR;
    } else {
        ps_log(PS_LOG_ERROR, "cannot create or open database %s: %s",
               o->db_path, m);
        code = EX_CANTCREAT;
    }
    free(msg);
    return code;
}

int run_index(const run_opts *o, char *const *inputs, size_t n,
              run_stats *stats_out)
{
    uint64_t t0 = ps_now_us();
    input_kind *kinds = calloc(n ? n : 1, sizeof *kinds);
    if (kinds == NULL) {
        ps_log(PS_LOG_ERROR, "out of memory");
        return EX_SOFTWARE;
    }
    /* Check every input before touching the database. */
    int nstdin = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        if (strcmp(inputs[i], "-") == 0) {
            kinds[i] = IN_STDIN;
            if (++nstdin > 1) {
                ps_log(PS_LOG_ERROR, "'-' (stdin) given more than once");
                free(kinds);
                return EX_USAGE;
            }
        } else if (stat(inputs[i], &sb) != 0) {
            ps_log(PS_LOG_ERROR, "%s: %s", inputs[i], strerror(errno));
            free(kinds);
            return EX_NOINPUT;
        } else if (S_ISDIR(sb.st_mode)) {
            kinds[i] = IN_DIR;
        } else if (o->force_jsonl || ends_with(inputs[i], ".jsonl")) {
            kinds[i] = IN_JSONL;
        } else {
            kinds[i] = IN_FILE;
        }
    }
    if (o->boilerplate != NULL && access(o->boilerplate, R_OK) != 0) {
        ps_log(PS_LOG_ERROR, "%s: %s", o->boilerplate, strerror(errno));
        free(kinds);
        return EX_NOINPUT;
    }

    runner r;
    memset(&r, 0, sizeof r);
    r.o = o;
    g_stop = 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;     /* no SA_RESTART: reads return EINTR;
                                       a second signal kills at once */
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    /* Totals for the progress line (terminal only). */
    int show = !o->quiet && isatty(STDERR_FILENO);
    uint64_t tot_docs = 0, tot_bytes = 0;
    int docs_known = 1, bytes_known = 1;
    /* The input size also decides --parallel-build auto. */
    if (show || bulk_writers_for(o, UINT64_MAX, 1) > 0) {
        for (size_t i = 0; i < n && !g_stop; i++) {
            struct stat sb;
            if (kinds[i] == IN_DIR) {
                uint64_t c[2] = { 0, 0 };
                walk_result wr;
                walk_tree(inputs[i], o->excludes, count_cb, c, &g_stop, 0, &wr);
                tot_docs += c[0];
                tot_bytes += c[1];
            } else if (kinds[i] == IN_FILE) {
                tot_docs++;
                if (stat(inputs[i], &sb) == 0)
                    tot_bytes += (uint64_t)sb.st_size;
            } else {
                docs_known = 0;
                int ok = kinds[i] == IN_STDIN ? fstat(STDIN_FILENO, &sb) == 0
                                              : stat(inputs[i], &sb) == 0;
                if (ok && S_ISREG(sb.st_mode))
                    tot_bytes += (uint64_t)sb.st_size;
                else
                    bytes_known = 0;
            }
        }
    }
    progress_init(&r.prog, show, docs_known ? tot_docs : 0,
                  bytes_known ? tot_bytes : 0);

    int code = 0;
    r.seen = idset_new();
    if (r.seen == NULL) {
        ps_log(PS_LOG_ERROR, "out of memory");
        code = EX_SOFTWARE;
        goto out;
    }
    if (o->db != NULL)
        r.db = o->db;                   /* held by the caller (--watch) */
    else if (o->sink == NULL)
        code = start_bulk(&r, tot_bytes, bytes_known && !g_stop);
    if (code == 0 && o->db == NULL && o->sink == NULL && r.bk == NULL)
        code = open_db(&r);
    if (code != 0)
        goto out;
    if (o->boilerplate != NULL && r.db != NULL) {
        ps_status st = ps_db_set_boilerplate_file(r.db, o->boilerplate);
        if (st != PS_OK) {
            ps_log(PS_LOG_ERROR, "%s: cannot load boilerplate list: %s: %s",
                   o->boilerplate, ps_status_str(st), ps_db_errmsg(r.db));
            code = st == PS_ERR_IO ? EX_NOINPUT : run_status_exit(st);
            goto out;
        }
    }
    if (o->jobs > 1 && (r.db != NULL || r.bk != NULL) && o->sink == NULL) {
        static const pipeline_cbs cbs_tmpl = { NULL, pipe_check, pipe_write };
        pipeline_cbs cbs = cbs_tmpl;
        cbs.ctx = &r;
        const ps_boilerplate *bp = r.bk ? r.bp : ps_db_boilerplate(r.db);
        /* The writer thread is busy most of the time (Xapian's writes are
         * about two thirds of the work), so it counts as one of the jobs:
         * jobs - 1 analysis threads keep every core busy without taking
         * CPU time from the writer. */
        r.pl = bp ? pipeline_start(o->jobs - 1, bp, PIPE_MAX_DOCS,
                                   PIPE_MAX_BYTES, &cbs) : NULL;
        if (r.pl == NULL)
            ps_log(PS_LOG_WARN, "cannot start %u threads: indexing on one "
                   "thread", o->jobs);
        if (r.pl == NULL && r.bk != NULL) {
            bulk_finish(r.bk, 1, &r.prog, &r.st);
            r.bk = NULL;
            code = open_db(&r);
            if (code != 0)
                goto out;
        }
    }

    for (size_t i = 0; i < n && !g_stop && r.fatal == 0; i++) {
        if (kinds[i] == IN_DIR) {
            index_dir(&r, inputs[i]);
        } else if (kinds[i] == IN_STDIN) {
            index_jsonl(&r, STDIN_FILENO, "<stdin>");
        } else if (kinds[i] == IN_JSONL) {
            int fd = open(inputs[i], O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                rwarn(&r, "%s: cannot open: %s: failed", inputs[i],
                      strerror(errno));
                r.st.failed++;
                r.prune_unsafe = 1;
                continue;
            }
            index_jsonl(&r, fd, inputs[i]);
            close(fd);
        } else {
            char *id = o->id_root ? id_under_root(o->id_root, inputs[i])
                                  : walk_id_from_file(inputs[i]);
            if (id == NULL) {
                ps_log(PS_LOG_ERROR, "out of memory");
                r.fatal = EX_SOFTWARE;
                break;
            }
            struct stat sb;
            index_file(&r, inputs[i], id);
            free(id);
            r.docs++;
            if (stat(inputs[i], &sb) == 0)
                r.bytes_base += (uint64_t)sb.st_size;
            progress_update(&r.prog, r.docs, r.bytes_base, 0);
        }
    }
    if (r.pl != NULL) {
        /* Write what was read (also after a signal: it was read, so it is
         * analysed and committed), or drop it after a fatal error. */
        int rc = pipeline_finish(r.pl, r.fatal != 0);
        r.pl = NULL;
        if (rc != 0 && r.fatal == 0)
            r.fatal = rc;
        r.st.added += r.wst.added;
        r.st.updated += r.wst.updated;
        r.st.unchanged += r.wst.unchanged;
        r.st.failed += r.wst.failed;
    }
    if (r.bk != NULL) {
        /* Merge what was written and switch it in (also after a signal:
         * what was read is written), or discard it after a fatal error. */
        int rc = bulk_finish(r.bk, r.fatal != 0, &r.prog, &r.st);
        r.bk = NULL;
        if (rc != 0 && r.fatal == 0)
            r.fatal = rc;
        r.bulk_done = 1;
    }
    if (r.fatal == 0)
        commit(&r);
    if (o->prune && r.fatal == 0 && r.bulk_done) {
        ps_log(PS_LOG_DEBUG, "--prune: a new database holds only the "
               "documents of this run");
    } else if (o->prune && r.fatal == 0) {
        if (g_stop)
            rwarn(&r, "interrupted: --prune not done");
        else
            prune(&r);
        if (r.fatal == 0)
            commit(&r);
    }
    progress_end(&r.prog);              /* before the summary */
    if (r.db == NULL || r.db == o->db) {
        /* --server, or a database the caller keeps open (--watch). */
        if (r.fatal != 0 && r.db != NULL)
            ps_db_cancel(r.db);
        r.db = NULL;
        code = r.fatal != 0 ? r.fatal : g_stop ? 128 + (int)g_stop
             : r.st.failed > 0 ? EX_DATAERR : 0;
    } else if (r.fatal != 0) {
        /* Drop what a failed commit left pending so close() does not try
         * to commit it again. */
        ps_db_cancel(r.db);
        ps_db_close(r.db);
        r.db = NULL;
        code = r.fatal;
    } else {
        ps_status st = ps_db_close(r.db);
        r.db = NULL;
        if (st != PS_OK) {
            ps_log(PS_LOG_ERROR, "closing %s failed: %s", o->db_path,
                   ps_status_str(st));
            code = run_status_exit(st);
        } else if (g_stop) {
            code = 128 + (int)g_stop;
        } else if (r.st.failed > 0) {
            code = EX_DATAERR;
        }
    }
    if (g_stop) {
        ps_log(PS_LOG_WARN, "interrupted by signal %d: documents analysed so "
               "far were committed, the rest of the input was not read",
               (int)g_stop);
    }
    if (!o->no_summary) {
        double secs = (double)(ps_now_us() - t0) / 1e6;
        uint64_t done = r.st.added + r.st.updated + r.st.unchanged;
        printf("added %llu, updated %llu, unchanged %llu, deleted %llu, "
               "skipped %llu, failed %llu in %.2f s (%.1f docs/s)\n",
               (unsigned long long)r.st.added,
               (unsigned long long)r.st.updated,
               (unsigned long long)r.st.unchanged,
               (unsigned long long)r.st.deleted,
               (unsigned long long)r.st.skipped,
               (unsigned long long)r.st.failed, secs,
               secs > 0 ? (double)done / secs : 0.0);
        if (fflush(stdout) != 0 && code == 0)
            code = EX_IOERR;
    }
out:
    progress_end(&r.prog);              /* when not ended above */
    if (r.db != NULL)
        ps_db_close(r.db);
    if (stats_out != NULL)
        *stats_out = r.st;
    if (r.bk != NULL)
        bulk_finish(r.bk, 1, &r.prog, &r.st);
    ps_boilerplate_free(r.bp);
    idset_free(r.seen);
    free(r.buf);
    free(kinds);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return code;
}
