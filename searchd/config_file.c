/* config_file.c: reads polysearchd --config FILE into an argument vector
 * (format in config_file.h). */
#include "config_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/* Index of --config in argv and its value; 0 when absent.  Returns -1, or
 * EX_USAGE after a message. */
static int find_config(int argc, char **argv, int *at, int *width,
                       const char **path)
{
    *at = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        int w = 0;
        const char *p = NULL;
        if (strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "polysearchd: option '--config' requires an "
                        "argument\nTry 'polysearchd --help'.\n");
                return EX_USAGE;
            }
            w = 2;
            p = argv[i + 1];
        } else if (strncmp(a, "--config=", 9) == 0) {
            w = 1;
            p = a + 9;
        } else {
            continue;
        }
        if (*at) {
            fprintf(stderr, "polysearchd: --config given twice\n"
                    "Try 'polysearchd --help'.\n");
            return EX_USAGE;
        }
        if (!*p) {
            fprintf(stderr, "polysearchd: --config: empty file name\n"
                    "Try 'polysearchd --help'.\n");
            return EX_USAGE;
        }
        *at = i;
        *width = w;
        *path = p;
        i += w - 1;
    }
    return -1;
}

/* Reads all of path (at most CONFIG_FILE_MAX_BYTES) into a NUL-terminated
 * malloc'd buffer.  NULL with errno set on failure (EFBIG: too big). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 1 >= cap) {
            if (cap > CONFIG_FILE_MAX_BYTES) {
                free(buf);
                buf = NULL;
                errno = EFBIG;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                int e = errno ? errno : EIO;
                free(buf);
                buf = NULL;
                errno = e;
            } else if (len > CONFIG_FILE_MAX_BYTES) {
                free(buf);
                buf = NULL;
                errno = EFBIG;
            } else {
                buf[len] = '\0';
                if (memchr(buf, '\0', len)) {
                    free(buf);
                    buf = NULL;
                    errno = EINVAL;
                }
            }
            break;
        }
    }
    int e = errno;
    fclose(f);
    errno = e;
    return buf;
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

static const struct option *find_opt(const struct option *opts, const char *name)
{
    for (; opts->name; opts++)
        if (strcmp(opts->name, name) == 0) return opts;
    return NULL;
}

static int content_error(const char *path, int line, const char *what,
                         const char *name)
{
    fprintf(stderr, "polysearchd: %s:%d: %s%s%s%s\n", path, line, what,
            name ? " '" : "", name ? name : "", name ? "'" : "");
    return EX_CONFIG;
}

/* Splits text (in place) into "--name" [value] entries appended to av/ln:
 * each "--name" is malloc'd (ln negative), each value points into text
 * (ln positive).  Returns -1 or EX_CONFIG after a message. */
static int parse_text(char *text, const char *path, const struct option *opts,
                      char **av, int *ln, int *n, int max)
{
    int line = 0;
    char *p = text;
    while (*p) {
        line++;
        char *end = strchr(p, '\n');
        char *next = end ? end + 1 : p + strlen(p);
        if (end) *end = '\0';
        while (is_blank(*p)) p++;
        char *e = p + strlen(p);
        while (e > p && is_blank(e[-1])) *--e = '\0';
        if (*p && *p != '#') {
            if (p[0] == '-' && p[1] == '-') p += 2;
            char *name = p;
            while (*p && !is_blank(*p) && *p != '=') p++;
            char *value = NULL;
            if (*p) {
                char sep = *p;
                *p++ = '\0';
                while (is_blank(*p)) p++;
                if (sep != '=' && *p == '=') {
                    p++;
                    while (is_blank(*p)) p++;
                }
                value = p;
                if (!*value && sep != '=') value = NULL;
            }
            const struct option *o = find_opt(opts, name);
            if (!*name)
                return content_error(path, line, "a setting without a name", NULL);
            if (!o)
                return content_error(path, line, "unknown setting", name);
            if (strcmp(name, "config") == 0 || strcmp(name, "help") == 0 ||
                strcmp(name, "version") == 0)
                return content_error(path, line, "not allowed in a config file:", name);
            if (o->has_arg == required_argument && !value)
                return content_error(path, line, "a value is needed for", name);
            if (o->has_arg == no_argument && value)
                return content_error(path, line, "no value is taken by", name);
            if (*n + 2 > max)
                return content_error(path, line, "too many settings", NULL);
            char *opt = malloc(strlen(name) + 3);
            if (!opt)
                return content_error(path, line, "out of memory", NULL);
            opt[0] = '-';
            opt[1] = '-';
            strcpy(opt + 2, name);
            ln[*n] = -line;         /* negative: av[*n] is malloc'd */
            av[(*n)++] = opt;
            if (value) {
                ln[*n] = line;
                av[(*n)++] = value;
            }
        }
        p = next;
    }
    return -1;
}

void config_args_free(config_args *a)
{
    if (!a) return;
    if (a->argv && a->line)
        for (int i = 0; i < a->argc; i++)
            if (a->line[i] < 0) free(a->argv[i]);
    free(a->argv);
    free(a->line);
    free(a->text);
    memset(a, 0, sizeof *a);
}

int config_file_expand(int argc, char **argv, const struct option *opts,
                       config_args *out)
{
    memset(out, 0, sizeof *out);
    int at = 0, width = 0;
    const char *path = NULL;
    int rc = find_config(argc, argv, &at, &width, &path);
    if (rc != -1 || !at) return rc;
    char *text = slurp(path);
    if (!text) {
        fprintf(stderr, "polysearchd: cannot read config file %s: %s\n", path,
                errno == EFBIG ? "larger than 1 MiB"
                : errno == EINVAL ? "it holds NUL bytes (not a text file)"
                : strerror(errno));
        return errno == EFBIG || errno == EINVAL ? EX_CONFIG : EX_NOINPUT;
    }
    int max = CONFIG_FILE_MAX_SETTINGS * 2 + argc + 1;
    out->argv = calloc((size_t)max, sizeof *out->argv);
    out->line = calloc((size_t)max, sizeof *out->line);
    out->text = text;
    out->path = path;
    if (!out->argv || !out->line) {
        config_args_free(out);
        fprintf(stderr, "polysearchd: out of memory\n");
        return EX_OSERR;
    }
    int n = 0;
    out->argv[n++] = argv[0];
    rc = parse_text(text, path, opts, out->argv, out->line, &n,
                    CONFIG_FILE_MAX_SETTINGS * 2 + 1);
    if (rc != -1) {
        out->argc = n;
        config_args_free(out);
        return rc;
    }
    for (int i = 1; i < argc; i++) {
        if (i == at) {
            i += width - 1;
            continue;
        }
        out->argv[n++] = argv[i];
    }
    out->argc = n;
    out->argv[n] = NULL;
    return -1;
}
