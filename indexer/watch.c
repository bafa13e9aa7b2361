/* watch.c: polysearch-index --watch (watch.h): inotify over a tree,
 * settle delay, batches through run_index(). */
#include "watch.h"

#include "idlist.h"
#include "polysearch.h"
#include "util.h"
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

/* Most files waiting for their settle delay; more means a full rescan. */
#define PEND_MAX 4096u
/* Deepest directory nesting watched (a guard against mount loops). */
#define MAX_DEPTH 64
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | \
                    IN_DELETE | IN_DELETE_SELF | IN_MODIFY | IN_ONLYDIR |    \
                    IN_DONT_FOLLOW)

typedef struct wdir {
    int wd;
    char *rel;              /* path relative to the root, "" for the root */
} wdir;

typedef struct pend {
    char *rel;              /* file path relative to the root */
    uint64_t due;           /* ps_now_us() after which it is handled */
    int del;                /* 1: delete its document, 0: index it */
} pend;

typedef struct watcher {
    const run_opts *o;
    char *root;             /* without trailing '/' (except "/") */
    uint64_t settle_us;
    remote *rm;             /* NULL: local database */
    run_sink sink;
    ps_db *db;              /* local mode: held for the whole run */
    int ifd;
    wdir *dirs;             /* sorted by wd (the kernel hands them out in
                               increasing order) */
    size_t ndirs, capdirs;
    pend *pend;
    size_t npend, cappend;
    int rescan;             /* full rescan requested */
    int stop;               /* a signal asked us to stop */
    int code;               /* fatal exit code, 0 = none */
} watcher;

static volatile sig_atomic_t w_signal;
static int w_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
    int saved = errno;
    w_signal = sig;
    if (w_pipe[1] >= 0) {
        ssize_t n = write(w_pipe[1], "x", 1);
        (void)n;
    }
    errno = saved;
}

static void nomem(watcher *w)
{
    ps_log(PS_LOG_ERROR, "out of memory");
    w->code = EX_SOFTWARE;
}

/* 1 when a directory entry name is to be ignored. */
static int ignored(const watcher *w, const char *name, int isdir)
{
    size_t n = strlen(name);
    if (name[0] == '.' || (n > 0 && name[n - 1] == '~'))
        return 1;           /* hidden, editor temp (.#x, .x.swp), backups */
    if (n > 4 && (strcmp(name + n - 4, ".swp") == 0 ||
                  strcmp(name + n - 4, ".swx") == 0))
        return 1;
    if (w->o->excludes != NULL)
        for (const char *const *p = w->o->excludes; *p; p++)
            if (fnmatch(*p, name, 0) == 0)
                return 1;
    return !isdir && !walk_is_indexable(name);
}

/* Returns a malloc'd "a/b" from rel "a" and name "b" ("" + "b" = "b"). */
static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 2);
    if (s == NULL)
        return NULL;
    if (na == 0) {
        memcpy(s, b, nb + 1);
    } else {
        memcpy(s, a, na);
        s[na] = '/';
        memcpy(s + na + 1, b, nb + 1);
    }
    return s;
}

static char *full_path(const watcher *w, const char *rel)
{
    return rel[0] ? join(strcmp(w->root, "/") == 0 ? "" : w->root, rel)
                  : strdup(w->root);
}

/* 1 when rel is prefix itself or lies under it. */
static int under(const char *rel, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(rel, prefix, n) == 0 && (rel[n] == '\0' || rel[n] == '/');
}

/* ---- The directory table ---------------------------------------------- */

static wdir *dir_find(watcher *w, int wd)
{
    size_t lo = 0, hi = w->ndirs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->dirs[mid].wd == wd)
            return &w->dirs[mid];
        if (w->dirs[mid].wd < wd)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void dir_remove_at(watcher *w, size_t i)
{
    free(w->dirs[i].rel);
    memmove(&w->dirs[i], &w->dirs[i + 1],
            (w->ndirs - i - 1) * sizeof *w->dirs);
    w->ndirs--;
}

/* Records (or renames) the directory of watch wd.  Returns 0 or -1. */
static int dir_set(watcher *w, int wd, const char *rel)
{
    char *r = strdup(rel);
    if (r == NULL)
        return -1;
    wdir *d = dir_find(w, wd);
    if (d != NULL) {
        free(d->rel);
        d->rel = r;
        return 0;
    }
    if (w->ndirs == w->capdirs) {
        size_t ncap = w->capdirs ? w->capdirs * 2 : 64;
        wdir *nd = realloc(w->dirs, ncap * sizeof *nd);
        if (nd == NULL) {
            free(r);
            return -1;
        }
        w->dirs = nd;
        w->capdirs = ncap;
    }
    size_t i = w->ndirs;    /* keep sorted; usually appends */
    while (i > 0 && w->dirs[i - 1].wd > wd)
        i--;
    memmove(&w->dirs[i + 1], &w->dirs[i], (w->ndirs - i) * sizeof *w->dirs);
    w->dirs[i].wd = wd;
    w->dirs[i].rel = r;
    w->ndirs++;
    return 0;
}

/* Stops watching prefix and everything under it (moved out of the tree). */
static void dir_forget(watcher *w, const char *prefix)
{
    for (size_t i = w->ndirs; i-- > 0;) {
        if (under(w->dirs[i].rel, prefix)) {
            inotify_rm_watch(w->ifd, w->dirs[i].wd);
            dir_remove_at(w, i);
        }
    }
}

/* ---- Pending files ---------------------------------------------------- */

/* Notes an event on file rel: handled settle_us after now unless another
 * event comes.  `del` says what the latest event asks for.  A full pending
 * set asks for a rescan instead. */
static void pend_note(watcher *w, const char *rel, int del)
{
    uint64_t due = ps_now_us() + w->settle_us;
    for (size_t i = 0; i < w->npend; i++) {
        if (strcmp(w->pend[i].rel, rel) == 0) {
            w->pend[i].due = due;
            w->pend[i].del = del;
            return;
        }
    }
    if (w->npend >= PEND_MAX) {
        if (!w->rescan)
            ps_log(PS_LOG_WARN, "more than %u files changed at once: full "
                   "rescan", PEND_MAX);
        w->rescan = 1;
        return;
    }
    if (w->npend == w->cappend) {
        size_t ncap = w->cappend ? w->cappend * 2 : 32;
        pend *np = realloc(w->pend, ncap * sizeof *np);
        if (np == NULL) {
            nomem(w);
            return;
        }
        w->pend = np;
        w->cappend = ncap;
    }
    char *r = strdup(rel);
    if (r == NULL) {
        nomem(w);
        return;
    }
    w->pend[w->npend].rel = r;
    w->pend[w->npend].due = due;
    w->pend[w->npend].del = del;
    w->npend++;
}

/* An IN_MODIFY: pushes back a pending file's deadline, nothing else. */
static void pend_touch(watcher *w, const char *rel)
{
    for (size_t i = 0; i < w->npend; i++)
        if (strcmp(w->pend[i].rel, rel) == 0)
            w->pend[i].due = ps_now_us() + w->settle_us;
}

/* ---- Watching directories --------------------------------------------- */

/* Watches directory rel and, recursively, its subdirectories.  With
 * `files`, the indexable files found are noted as pending (a directory
 * that appeared while we run).  Errors are warned; running out of inotify
 * watches is fatal. */
static void add_dir(watcher *w, const char *rel, int files, int depth)
{
    if (w->code != 0 || depth > MAX_DEPTH)
        return;
    char *path = full_path(w, rel);
    if (path == NULL) {
        nomem(w);
        return;
    }
    int wd = inotify_add_watch(w->ifd, path, WATCH_MASK);
    if (wd < 0) {
        if (errno == ENOSPC) {
            ps_log(PS_LOG_ERROR, "%s: out of inotify watches (raise "
                   "/proc/sys/fs/inotify/max_user_watches)", path);
            w->code = EX_OSERR;
        } else if (errno != ENOENT && errno != ENOTDIR) {
            ps_log(PS_LOG_WARN, "%s: cannot watch: %s", path,
                   strerror(errno));
        }
        free(path);
        return;
    }
    if (dir_set(w, wd, rel) != 0) {
        free(path);
        nomem(w);
        return;
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        if (errno != ENOENT)
            ps_log(PS_LOG_WARN, "%s: cannot list: %s", path, strerror(errno));
        free(path);
        return;
    }
    struct dirent *de;
    while (w->code == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *crel = join(rel, de->d_name);
        char *cpath = crel ? full_path(w, crel) : NULL;
        struct stat sb;
        if (cpath == NULL) {
            nomem(w);
        } else if (lstat(cpath, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            if (!ignored(w, de->d_name, 1))
                add_dir(w, crel, files, depth + 1);
        } else if (files && !ignored(w, de->d_name, 0) &&
                   stat(cpath, &sb) == 0 && S_ISREG(sb.st_mode)) {
            pend_note(w, crel, 0);
        }
        free(cpath);
        free(crel);
    }
    closedir(d);
    free(path);
}

/* ---- Applying changes ------------------------------------------------- */

/* A copy of the run options for one batch through run_index(). */
static run_opts batch_opts(const watcher *w, int prune)
{
    run_opts ro = *w->o;
    ro.db = w->db;
    ro.sink = w->rm ? &w->sink : NULL;
    ro.id_root = w->root;
    ro.no_summary = 1;
    ro.force_jsonl = 0;
    ro.prune = prune && w->rm == NULL;
    ro.boilerplate = NULL;          /* loaded once into w->db */
    return ro;
}

/* Records what a run_index() exit code means for the watcher. */
static void note_run_code(watcher *w, int rc)
{
    if (rc >= 128)
        w->stop = 1;                /* its signal handler got SIGINT/TERM */
    else if (rc != 0 && rc != EX_DATAERR)
        w->code = rc;
}

/* Indexes the whole tree (initial pass, rescans). */
static void full_pass(watcher *w)
{
    run_opts ro = batch_opts(w, w->o->prune);
    char *in[1] = { w->root };
    run_stats st;
    uint64_t t0 = ps_now_us();
    int rc = run_index(&ro, in, 1, &st);
    note_run_code(w, rc);
    if (rc == 0 || rc == EX_DATAERR)
        ps_log(PS_LOG_INFO, "scanned %s: added %llu, updated %llu, unchanged "
               "%llu, deleted %llu, skipped %llu, failed %llu in %.2f s",
               w->root, (unsigned long long)st.added,
               (unsigned long long)st.updated,
               (unsigned long long)st.unchanged,
               (unsigned long long)st.deleted,
               (unsigned long long)st.skipped, (unsigned long long)st.failed,
               (double)(ps_now_us() - t0) / 1e6);
}

/* Deletes the documents of ids[0..n) and commits; logs each one. */
static void delete_ids(watcher *w, char **ids, size_t n)
{
    if (n == 0 || w->code != 0)
        return;
    if (w->rm != NULL) {
        for (size_t i = 0; i < n && w->code == 0; i += REMOTE_MAX_BATCH) {
            size_t k = n - i < REMOTE_MAX_BATCH ? n - i : REMOTE_MAX_BATCH;
            uint64_t del = 0, nf = 0;
            int rc = remote_delete(w->rm, (const char *const *)ids + i, k,
                                   &del, &nf);
            if (rc != 0) {
                w->code = rc;
                break;
            }
            for (size_t j = 0; j < k; j++)
                ps_log(PS_LOG_INFO, "deleted %s", ids[i + j]);
            if (nf > 0)
                ps_log(PS_LOG_INFO, "(%llu of them were not indexed)",
                       (unsigned long long)nf);
        }
        return;
    }
    char *done = calloc(n, 1);
    if (done == NULL) {
        nomem(w);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ps_status st = ps_db_delete(w->db, ids[i]);
        if (st == PS_OK) {
            done[i] = 1;
        } else if (st != PS_ERR_NOT_FOUND) {
            ps_log(PS_LOG_ERROR, "cannot delete \"%s\": %s: %s", ids[i],
                   ps_status_str(st), ps_db_errmsg(w->db));
            w->code = st == PS_ERR_IO ? EX_IOERR : EX_SOFTWARE;
            break;
        }
    }
    ps_status st = w->code == 0 ? ps_db_commit(w->db) : PS_OK;
    if (st != PS_OK) {
        ps_log(PS_LOG_ERROR, "commit to %s failed: %s: %s", w->o->db_path,
               ps_status_str(st), ps_db_errmsg(w->db));
        w->code = st == PS_ERR_IO ? EX_IOERR : EX_SOFTWARE;
    }
    if (w->code == 0)
        for (size_t i = 0; i < n; i++)
            if (done[i])
                ps_log(PS_LOG_INFO, "deleted %s", ids[i]);
    free(done);
}

typedef struct prefix_ids {
    const char *prefix;
    idlist l;
} prefix_ids;

static int collect_prefix(const char *id, void *ctx)
{
    prefix_ids *p = ctx;
    if (!under(id, p->prefix) || strcmp(id, p->prefix) == 0)
        return 0;
    return idlist_push(&p->l, id) != 0;
}

/* Directory rel left the tree: deletes the documents under it (local
 * mode; the daemon cannot list ids). */
static void dir_gone(watcher *w, const char *rel)
{
    if (w->rm != NULL) {
        ps_log(PS_LOG_WARN, "%s/%s left the tree: with --server its "
               "documents are not deleted (the daemon cannot list ids)",
               w->root, rel);
        return;
    }
    prefix_ids p = { rel, { NULL, 0, 0, 0 } };
    ps_status st = ps_db_foreach_id(w->db, collect_prefix, &p);
    if (p.l.nomem)
        nomem(w);
    else if (st != PS_OK)
        ps_log(PS_LOG_WARN, "cannot list documents under %s: %s", rel,
               ps_db_errmsg(w->db));
    else
        delete_ids(w, p.l.ids, p.l.n);
    idlist_clear(&p.l);
}

/* Handles the pending files that are due (all of them with `all`): one
 * run_index() batch for the files to index, one commit for deletions. */
static void process_due(watcher *w, int all)
{
    uint64_t now = ps_now_us();
    size_t n = 0;
    for (size_t i = 0; i < w->npend; i++)
        if (all || w->pend[i].due <= now)
            n++;
    if (n == 0)
        return;
    char **paths = calloc(n, sizeof *paths);
    char **rels = calloc(n, sizeof *rels);
    char **ids = calloc(n, sizeof *ids);
    size_t np = 0, nd = 0, keep = 0;
    if (paths == NULL || rels == NULL || ids == NULL) {
        free(paths);
        free(rels);
        free(ids);
        nomem(w);
        return;
    }
    for (size_t i = 0; i < w->npend; i++) {
        pend *p = &w->pend[i];
        if (!all && p->due > now) {
            w->pend[keep++] = *p;
            continue;
        }
        char *path = full_path(w, p->rel);
        struct stat sb;
        if (path == NULL) {
            nomem(w);
        } else if (!p->del && stat(path, &sb) == 0) {
            if (S_ISREG(sb.st_mode)) {
                paths[np] = path;
                rels[np++] = p->rel;
                continue;       /* both freed after the batch */
            }
        } else if (p->del || errno == ENOENT) {
            if ((ids[nd] = walk_id_from_relpath(p->rel)) == NULL)
                nomem(w);
            else
                nd++;
        }
        free(path);
        free(p->rel);
    }
    w->npend = keep;
    if (np > 0 && w->code == 0) {
        run_opts ro = batch_opts(w, 0);
        run_stats st;
        int rc = run_index(&ro, paths, np, &st);
        if (rc == EX_NOINPUT) {
            /* A file vanished between stat() and run_index(): retry with
             * the ones still there; its deletion event is on its way. */
            size_t m = 0;
            for (size_t i = 0; i < np; i++) {
                struct stat sb;
                if (stat(paths[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
                    paths[m] = paths[i];
                    rels[m++] = rels[i];
                } else {
                    free(paths[i]);
                    free(rels[i]);
                }
            }
            np = m;
            rc = np > 0 ? run_index(&ro, paths, np, &st) : 0;
        }
        note_run_code(w, rc);
        if (rc == 0 || rc == EX_DATAERR) {
            for (size_t i = 0; i < np; i++)
                ps_log(PS_LOG_INFO, "indexed %s", rels[i]);
            ps_log(PS_LOG_DEBUG, "batch: added %llu, updated %llu, "
                   "unchanged %llu, skipped %llu, failed %llu",
                   (unsigned long long)st.added,
                   (unsigned long long)st.updated,
                   (unsigned long long)st.unchanged,
                   (unsigned long long)st.skipped,
                   (unsigned long long)st.failed);
        }
    }
    delete_ids(w, ids, nd);
    for (size_t i = 0; i < np; i++) {
        free(paths[i]);
        free(rels[i]);
    }
    for (size_t i = 0; i < nd; i++)
        free(ids[i]);
    free(paths);
    free(rels);
    free(ids);
}

/* ---- Events ----------------------------------------------------------- */

static void handle_event(watcher *w, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        ps_log(PS_LOG_WARN, "inotify queue overflow: full rescan");
        w->rescan = 1;
        return;
    }
    wdir *d = dir_find(w, ev->wd);
    if (d == NULL)
        return;                     /* a watch we already dropped */
    if (ev->mask & IN_IGNORED) {
        dir_remove_at(w, (size_t)(d - w->dirs));
        return;
    }
    if (ev->mask & IN_DELETE_SELF) {
        if (d->rel[0] == '\0') {
            ps_log(PS_LOG_ERROR, "%s: the watched directory was removed",
                   w->root);
            w->code = EX_NOINPUT;
        }
        return;
    }
    if (ev->len == 0 || ev->name[0] == '\0')
        return;
    int isdir = (ev->mask & IN_ISDIR) != 0;
    if (ignored(w, ev->name, isdir))
        return;
    char *rel = join(d->rel, ev->name);
    if (rel == NULL) {
        nomem(w);
        return;
    }
    if (isdir) {
        if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
            ps_log(PS_LOG_DEBUG, "new directory %s", rel);
            add_dir(w, rel, 1, 1);
        } else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
            if (ev->mask & IN_MOVED_FROM)
                dir_forget(w, rel);
            dir_gone(w, rel);
        }
    } else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
        /* Not IN_CREATE: a file still open for writing is not complete;
         * its IN_CLOSE_WRITE comes when the writer is done. */
        pend_note(w, rel, 0);
    } else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
        pend_note(w, rel, 1);
    } else if (ev->mask & IN_MODIFY) {
        pend_touch(w, rel);
    }
    free(rel);
}

/* Reads and handles every queued inotify event. */
static void read_events(watcher *w)
{
    char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (w->code == 0) {
        ssize_t n = read(w->ifd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                ps_log(PS_LOG_WARN, "inotify read: %s", strerror(errno));
            return;
        }
        for (char *p = buf; p < buf + n && w->code == 0;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            handle_event(w, ev);
            p += sizeof *ev + ev->len;
        }
    }
}

/* Milliseconds until the earliest pending deadline, -1 when none. */
static int poll_timeout(const watcher *w)
{
    if (w->rescan)
        return 0;
    if (w->npend == 0)
        return -1;
    uint64_t now = ps_now_us(), first = UINT64_MAX;
    for (size_t i = 0; i < w->npend; i++)
        if (w->pend[i].due < first)
            first = w->pend[i].due;
    if (first <= now)
        return 0;
    uint64_t ms = (first - now + 999) / 1000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- The run ---------------------------------------------------------- */

static void watch_loop(watcher *w)
{
    struct pollfd fds[2] = { { w->ifd, POLLIN, 0 }, { w_pipe[0], POLLIN, 0 } };
    while (w->code == 0 && !w->stop && !w_signal) {
        int rc = poll(fds, 2, poll_timeout(w));
        if (rc < 0 && errno != EINTR) {
            ps_log(PS_LOG_ERROR, "poll: %s", strerror(errno));
            w->code = EX_OSERR;
            break;
        }
        if (w_signal)
            break;
        if (rc > 0 && (fds[0].revents & POLLIN))
            read_events(w);
        if (w->rescan && w->code == 0) {
            w->rescan = 0;
            add_dir(w, "", 0, 0);
            full_pass(w);
        }
        process_due(w, 0);
    }
}

int watch_run(const run_opts *o, const char *root, unsigned settle_ms,
              remote *rm)
{
    struct stat sb;
    if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        ps_log(PS_LOG_ERROR, "--watch %s: %s", root,
               errno ? strerror(errno) : "not a directory");
        return EX_NOINPUT;
    }
    watcher w;
    memset(&w, 0, sizeof w);
    w.o = o;
    w.settle_us = (uint64_t)settle_ms * 1000;
    w.rm = rm;
    w.ifd = -1;
    if (rm != NULL)
        w.sink = remote_sink(rm);
    size_t rl = strlen(root);
    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    if ((w.root = strndup(root, rl)) == NULL) {
        ps_log(PS_LOG_ERROR, "out of memory");
        return EX_SOFTWARE;
    }
    if (o->boilerplate != NULL && access(o->boilerplate, R_OK) != 0) {
        ps_log(PS_LOG_ERROR, "%s: %s", o->boilerplate, strerror(errno));
        free(w.root);
        return EX_NOINPUT;
    }
    if (rm == NULL) {
        int rc = run_open_db(o, &w.db);
        if (rc != 0) {
            free(w.root);
            return rc;
        }
        if (o->boilerplate != NULL) {
            ps_status st = ps_db_set_boilerplate_file(w.db, o->boilerplate);
            if (st != PS_OK) {
                ps_log(PS_LOG_ERROR, "%s: cannot load boilerplate list: %s",
                       o->boilerplate, ps_db_errmsg(w.db));
                ps_db_close(w.db);
                free(w.root);
                return EX_NOINPUT;
            }
        }
    }

    w_signal = 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;     /* a second signal kills at once */
    if (pipe2(w_pipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
        (w.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
        ps_log(PS_LOG_ERROR, "inotify: %s", strerror(errno));
        w.code = EX_OSERR;
    } else {
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        /* Watches first, so nothing changed during the first pass is
         * missed. */
        add_dir(&w, "", 0, 0);
        if (w.code == 0)
            full_pass(&w);
        if (w.code == 0 && !w.stop && !w_signal)
            ps_log(PS_LOG_INFO, "watching %s (%zu directories, settle %u ms)"
                   "%s%s", w.root, w.ndirs, settle_ms,
                   rm ? ", sending to " : "", rm ? remote_addr(rm) : "");
        watch_loop(&w);
        if (w.code == 0) {
            /* Stopping: pending files are handled now, not dropped. */
            read_events(&w);
            process_due(&w, 1);
        }
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        if (w.code == 0)
            ps_log(PS_LOG_INFO, "stopped%s; everything indexed is committed",
                   w_signal || w.stop ? " by a signal" : "");
    }
    int code = w.code;
    if (w.db != NULL) {
        if (code != 0)
            ps_db_cancel(w.db);     /* a failed commit leaves nothing */
        ps_status st = ps_db_close(w.db);
        if (st != PS_OK && code == 0) {
            ps_log(PS_LOG_ERROR, "closing %s failed: %s", o->db_path,
                   ps_status_str(st));
            code = EX_IOERR;
        }
    }
    if (w.ifd >= 0)
        close(w.ifd);
    for (int i = 0; i < 2; i++) {
        if (w_pipe[i] >= 0)
            close(w_pipe[i]);
        w_pipe[i] = -1;
    }
    for (size_t i = 0; i < w.ndirs; i++)
        free(w.dirs[i].rel);
    free(w.dirs);
    for (size_t i = 0; i < w.npend; i++)
        free(w.pend[i].rel);
    free(w.pend);
    free(w.root);
    return code;
}
