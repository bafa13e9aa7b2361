/* synonyms.c: the synonym file of polysearch-index --synonyms (see
 * synonyms.h). */
#include "synonyms.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "utf8.h"

void syn_limits_init(syn_limits *l)
{
    l->max_file = (size_t)4 << 20;
    l->max_groups = PS_SYN_MAX_GROUPS;
    l->max_members = PS_SYN_MAX_GROUP;
    l->max_member = PS_SYN_MAX_MEMBER_BYTES;
}

void syn_file_free(syn_file *f)
{
    if (f == NULL)
        return;
    for (size_t g = 0; g < f->n; g++) {
        for (uint32_t i = 0; i < f->groups[g].n; i++)
            free((char *)f->groups[g].members[i]);
        free((void *)f->groups[g].members);
    }
    free(f->groups);
    memset(f, 0, sizeof *f);
}

/* A normalised member seen, with the line of its group. */
typedef struct seen {
    char *norm;
    size_t line;
} seen;

static int cmp_seen(const void *a, const void *b)
{
    return strcmp(((const seen *)a)->norm, ((const seen *)b)->norm);
}

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen > 0)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims [*b, *e) of blanks. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_blank(**b))
        (*b)++;
    while (*e > *b && is_blank((*e)[-1]))
        (*e)--;
}

/* Parses one group line [b, e) into out->groups[out->n]; adds its
 * normalised members to *sv.  Returns 0 or an exit code. */
static int parse_line(const char *name, size_t line, const char *b,
                      const char *e, const syn_limits *lim, syn_file *out,
                      seen **sv, size_t *nsv, size_t *capsv, char *err,
                      size_t errlen)
{
    size_t nm = 1;
    for (const char *p = b; p < e; p++)
        nm += *p == '=';
    if (nm < 2)
        return fail(err, errlen, EX_DATAERR, "%s:%zu: fewer than 2 members "
                    "(want 'A = B [= C...]')", name, line);
    if (nm > lim->max_members)
        return fail(err, errlen, EX_DATAERR, "%s:%zu: %zu members, more than "
                    "%zu", name, line, nm, lim->max_members);
    if (out->n >= lim->max_groups)
        return fail(err, errlen, EX_DATAERR, "%s:%zu: more than %zu groups",
                    name, line, lim->max_groups);
    const char **members = calloc(nm, sizeof *members);
    if (members == NULL)
        return fail(err, errlen, EX_SOFTWARE, "out of memory");
    ps_synonym_group *g = &out->groups[out->n];
    g->members = members;
    g->n = 0;
    out->n++;   /* freed with the file from here on */
    const char *p = b;
    for (size_t i = 0; i < nm; i++) {
        const char *q = memchr(p, '=', (size_t)(e - p));
        if (q == NULL)
            q = e;
        const char *mb = p, *me = q;
        trim(&mb, &me);
        if (mb == me)
            return fail(err, errlen, EX_DATAERR, "%s:%zu: member %zu is empty",
                        name, line, i + 1);
        if ((size_t)(me - mb) > lim->max_member)
            return fail(err, errlen, EX_DATAERR, "%s:%zu: member %zu is %zu "
                        "bytes, more than %zu", name, line, i + 1,
                        (size_t)(me - mb), lim->max_member);
        char *m = strndup(mb, (size_t)(me - mb));
        if (m == NULL)
            return fail(err, errlen, EX_SOFTWARE, "out of memory");
        members[g->n++] = m;
        out->nmembers++;
        char *norm = ps_synonym_normalize(m);
        if (norm == NULL)
            return fail(err, errlen, EX_SOFTWARE, "out of memory");
        size_t words = norm[0] ? 1 : 0;
        for (const char *s = norm; *s; s++)
            words += *s == ' ';
        int bad = 0;
        if (norm[0] == '\0')
            bad = fail(err, errlen, EX_DATAERR, "%s:%zu: member '%s' has no "
                       "word (only punctuation)", name, line, m);
        else if (strlen(norm) > lim->max_member ||
                 words > PS_SYN_MAX_MEMBER_WORDS)
            bad = fail(err, errlen, EX_DATAERR, "%s:%zu: member %zu is over "
                       "%zu bytes or %d words once folded", name, line, i + 1,
                       lim->max_member, PS_SYN_MAX_MEMBER_WORDS);
        if (!bad && *nsv == *capsv) {
            size_t cap = *capsv ? *capsv * 2 : 64;
            seen *v = realloc(*sv, cap * sizeof *v);
            if (v == NULL)
                bad = fail(err, errlen, EX_SOFTWARE, "out of memory");
            else {
                *sv = v;
                *capsv = cap;
            }
        }
        if (bad) {
            free(norm);
            return bad;
        }
        (*sv)[(*nsv)++] = (seen){norm, line};
        p = q + 1;
    }
    return 0;
}

int syn_parse(const char *name, const char *text, size_t len,
              const syn_limits *lim, syn_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len > lim->max_file)
        return fail(err, errlen, EX_DATAERR, "%s: %zu bytes, more than %zu",
                    name, len, lim->max_file);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    size_t cap = lines < lim->max_groups + 1 ? lines : lim->max_groups + 1;
    out->groups = calloc(cap ? cap : 1, sizeof *out->groups);
    if (out->groups == NULL)
        return fail(err, errlen, EX_SOFTWARE, "out of memory");
    seen *sv = NULL;
    size_t nsv = 0, capsv = 0;
    int rc = 0;
    const char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;     /* a UTF-8 byte order mark */
    for (size_t line = 1; p < end && rc == 0; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (memchr(p, '\0', (size_t)(le - p)) != NULL ||
            !ps_utf8_valid(p, (size_t)(le - p))) {
            rc = fail(err, errlen, EX_DATAERR, "%s:%zu: invalid UTF-8 or a "
                      "NUL byte", name, line);
            break;
        }
        const char *b = p, *e = le;
        trim(&b, &e);
        if (b < e && *b != '#')
            rc = parse_line(name, line, b, e, lim, out, &sv, &nsv, &capsv,
                            err, errlen);
        p = nl ? nl + 1 : end;
    }
    if (rc == 0 && nsv > 1) {
        /* Members that normalise alike: the later line is named. */
        qsort(sv, nsv, sizeof *sv, cmp_seen);
        for (size_t i = 1; i < nsv && rc == 0; i++)
            if (strcmp(sv[i - 1].norm, sv[i].norm) == 0) {
                size_t a = sv[i - 1].line, b = sv[i].line;
                rc = fail(err, errlen, EX_DATAERR, "%s:%zu: '%s' is already "
                          "a member of the group of line %zu", name,
                          a > b ? a : b, sv[i].norm, a < b ? a : b);
            }
    }
    for (size_t i = 0; i < nsv; i++)
        free(sv[i].norm);
    free(sv);
    if (rc != 0)
        syn_file_free(out);
    return rc;
}

int syn_load(const char *path, const syn_limits *lim, syn_file *out,
             char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return fail(err, errlen, EX_NOINPUT, "cannot read synonym file %s: "
                    "%s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf != NULL) {
        if (n == cap) {
            if (cap > lim->max_file) {
                rc = fail(err, errlen, EX_DATAERR, "%s: more than %zu bytes",
                          path, lim->max_file);
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (buf == NULL)
        rc = fail(err, errlen, EX_SOFTWARE, "out of memory");
    else if (rc == 0 && ferror(f))
        rc = fail(err, errlen, EX_NOINPUT, "cannot read synonym file %s: %s",
                  path, strerror(errno));
    fclose(f);
    if (rc == 0)
        rc = syn_parse(path, buf, n, lim, out, err, errlen);
    free(buf);
    return rc;
}
