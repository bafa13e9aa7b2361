/* walk.c: directory walk and id derivation (walk.h). */
#include "walk.h"

#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int walk_is_indexable(const char *name)
{
    size_t n = strlen(name);
    if (n > 4 && strcasecmp(name + n - 4, ".txt") == 0)
        return 1;
    if (n > 3 && strcasecmp(name + n - 3, ".md") == 0)
        return 1;
    return 0;
}

/* Removes the extension of the last '/'-separated component of s, in place,
 * unless the only dot starts the component. */
static void strip_extension(char *s)
{
    char *base = strrchr(s, '/');
    base = base ? base + 1 : s;
    char *dot = strrchr(base, '.');
    if (dot != NULL && dot != base)
        *dot = '\0';
}

char *walk_id_from_relpath(const char *rel)
{
    size_t n = strlen(rel);
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    const char *p = rel;
    while (*p) {
        /* One component: p .. q. */
        const char *q = p;
        while (*q && *q != '/')
            q++;
        size_t len = (size_t)(q - p);
        int skip = len == 0 || (len == 1 && p[0] == '.');
        if (!skip) {
            if (o > 0)
                out[o++] = '/';
            memcpy(out + o, p, len);
            o += len;
        }
        p = *q ? q + 1 : q;
    }
    out[o] = '\0';
    strip_extension(out);
    return out;
}

char *walk_id_from_file(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/')
        b--;
    char *out = strndup(path + b, n - b);
    if (out == NULL)
        return NULL;
    strip_extension(out);
    return out;
}

/* ---- The walk --------------------------------------------------------- */

typedef struct ancestor {
    dev_t dev;
    ino_t ino;
    const struct ancestor *up;
} ancestor;

typedef struct walker {
    const char *const *excludes;
    walk_fn fn;
    void *ctx;
    const volatile sig_atomic_t *stop;
    int warn;
    walk_result *res;
    char *path;             /* growing path buffer */
    size_t cap;
    size_t root_len;        /* bytes of root + '/' in path */
} walker;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Reads the sorted visible entry names of directory `path`.  Returns 0 and
 * sets *out and *n, or -1 with errno set. */
static int read_names(const char *path, char ***out, size_t *n)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;                   /* ., .. and hidden entries */
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (nn == NULL)
                goto nomem;
            names = nn;
            cap = ncap;
        }
        names[count] = strdup(de->d_name);
        if (names[count] == NULL)
            goto nomem;
        count++;
        errno = 0;
    }
    if (errno != 0) {
        int e = errno;
        closedir(d);
        free_names(names, count);
        errno = e;
        return -1;
    }
    closedir(d);
    if (count > 1)
        qsort(names, count, sizeof *names, cmp_names);
    *out = names;
    *n = count;
    return 0;
nomem:
    closedir(d);
    free_names(names, count);
    errno = ENOMEM;
    return -1;
}

/* Makes w->path hold `len` bytes of prefix plus "/" plus name. */
static int path_set(walker *w, size_t len, const char *name)
{
    size_t need = len + 1 + strlen(name) + 1;
    if (need > w->cap) {
        size_t ncap = need * 2;
        char *np = realloc(w->path, ncap);
        if (np == NULL)
            return -1;
        w->path = np;
        w->cap = ncap;
    }
    w->path[len] = '/';
    strcpy(w->path + len + 1, name);
    return 0;
}

static void warn_entry(walker *w, const char *what, int err)
{
    w->res->errors++;
    if (w->warn)
        ps_log(PS_LOG_WARN, "%s: %s: %s", w->path, what, strerror(err));
}

/* Walks the directory whose path is w->path[0..len).  Returns 0, 1 when
 * stopped, -1 on allocation failure. */
static int walk_dir(walker *w, size_t len, const ancestor *up)
{
    char **names;
    size_t n;
    w->path[len] = '\0';
    if (read_names(w->path, &names, &n) != 0) {
        if (errno == ENOMEM)
            return -1;
        warn_entry(w, "cannot read directory", errno);
        return 0;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (w->stop != NULL && *w->stop) {
            rc = 1;
            break;
        }
        int excluded = 0;
        for (const char *const *x = w->excludes; x && *x && !excluded; x++)
            excluded = fnmatch(*x, names[i], 0) == 0;
        if (excluded)
            continue;
        if (path_set(w, len, names[i]) != 0) {
            rc = -1;
            break;
        }
        struct stat st;
        if (lstat(w->path, &st) != 0) {
            warn_entry(w, "cannot stat", errno);
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            if (stat(w->path, &st) != 0) {
                if (w->warn)
                    ps_log(PS_LOG_WARN, "%s: dangling symbolic link skipped",
                           w->path);
                continue;
            }
            if (S_ISDIR(st.st_mode)) {
                ps_log(PS_LOG_DEBUG, "%s: symbolic link to a directory not "
                       "followed", w->path);
                continue;
            }
        }
        if (S_ISDIR(st.st_mode)) {
            int loop = 0;
            for (const ancestor *a = up; a != NULL; a = a->up)
                loop |= a->dev == st.st_dev && a->ino == st.st_ino;
            if (loop) {
                if (w->warn)
                    ps_log(PS_LOG_WARN, "%s: directory loop skipped", w->path);
                continue;
            }
            ancestor me = { st.st_dev, st.st_ino, up };
            rc = walk_dir(w, len + 1 + strlen(names[i]), &me);
        } else if (S_ISREG(st.st_mode) && walk_is_indexable(names[i])) {
            walk_entry e = { w->path, w->path + w->root_len,
                             (uint64_t)st.st_size };
            if (w->fn(&e, w->ctx) != 0)
                rc = 1;
        }
    }
    free_names(names, n);
    return rc;
}

int walk_tree(const char *root, const char *const *excludes, walk_fn fn,
              void *ctx, const volatile sig_atomic_t *stop, int warn,
              walk_result *res)
{
    res->errors = 0;
    res->stopped = 0;
    struct stat st;
    int e = 0;
    if (stat(root, &st) != 0)
        e = errno;
    else if (!S_ISDIR(st.st_mode))
        e = ENOTDIR;
    if (e != 0) {
        if (warn)
            ps_log(PS_LOG_WARN, "%s: %s", root, strerror(e));
        res->errors++;
        return -1;
    }
    walker w = { excludes, fn, ctx, stop, warn, res, NULL, 0, 0 };
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/')
        len--;
    w.cap = len + 256;
    w.path = malloc(w.cap);
    if (w.path == NULL)
        return -1;
    memcpy(w.path, root, len);
    w.root_len = len + 1;
    ancestor me = { st.st_dev, st.st_ino, NULL };
    int rc = walk_dir(&w, len, &me);
    free(w.path);
    if (rc < 0)
        return -1;
    res->stopped = rc == 1;
    return 0;
}
