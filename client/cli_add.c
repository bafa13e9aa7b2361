/* cli_add.c: `polysearch add FILE...|-`: reads JSON Lines or text files,
 * sends them in batches (at most ADD_BATCH_DOCS documents and about
 * ADD_BATCH_BYTES of text per call, under the daemon's 1 MiB request
 * frame), and sums the daemon's answers.  Bad lines and files are reported
 * with FILE:LINE and skipped; the exit code says whether any input failed.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "rpc.h"

#define ADD_BATCH_DOCS 1000
#define ADD_BATCH_BYTES (512u * 1024u)
#define ADD_MAX_DOC_BYTES (10u * 1024u * 1024u)

typedef struct batch {
    psc_doc docs[ADD_BATCH_DOCS];
    json_t *owner[ADD_BATCH_DOCS];     /* JSON line owning the strings */
    char *text[ADD_BATCH_DOCS];        /* or malloc'd id + body of a file */
    char *src[ADD_BATCH_DOCS];         /* "file:line" for messages */
    size_t n, bytes;
} batch;

typedef struct add_state {
    psc_client *c;
    const cli_opts *o;
    batch b;
    uint64_t added, replaced, unchanged, sent;
    json_t *rejected;                  /* [{index,id,source,reason}] */
    json_t *invalid;                   /* [{source,reason}] */
    int failed_input;
    int rc;                            /* first fatal error exit code */
} add_state;

static void batch_clear(batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        json_decref(b->owner[i]);
        free(b->text[i]);
        free(b->src[i]);
    }
    b->n = 0;
    b->bytes = 0;
}

/* Records an input problem. */
static void invalid(add_state *s, const char *src, const char *why)
{
    fprintf(stderr, "polysearch: %s: %s (skipped)\n", src, why);
    json_array_append_new(s->invalid, json_pack("{ssss}", "source", src,
                                                "reason", why));
    s->failed_input = 1;
}

/* Sends the current batch; returns 0, or -1 after a fatal error. */
static int flush(add_state *s)
{
    batch *b = &s->b;
    if (b->n == 0)
        return 0;
    psc_add_result *r = NULL;
    psc_status st = psc_add(s->c, b->docs, b->n, &r);
    if (st != PSC_OK) {
        s->rc = cli_report_error(s->c, s->o, st, "add");
        batch_clear(b);
        return -1;
    }
    s->added += r->added;
    s->replaced += r->replaced;
    s->unchanged += r->unchanged;
    for (uint32_t i = 0; i < r->nrejected; i++) {
        uint32_t k = r->rejected[i].index;
        const char *src = k < b->n ? b->src[k] : "?";
        const char *id = k < b->n ? b->docs[k].id : "?";
        fprintf(stderr, "polysearch: %s: document '%s' rejected: %s\n", src,
                id, r->rejected[i].reason);
        json_array_append_new(s->rejected,
                              json_pack("{sIssssss}", "index",
                                        (json_int_t)(s->sent + k), "id", id,
                                        "source", src, "reason",
                                        r->rejected[i].reason));
        s->failed_input = 1;
    }
    s->sent += b->n;
    psc_add_result_free(r);
    batch_clear(b);
    return 0;
}

/* Appends a document (taking owner/text/src); flushes when full. */
static int push(add_state *s, const psc_doc *d, json_t *owner, char *text,
                char *src, size_t bytes)
{
    batch *b = &s->b;
    if (b->n > 0 && (b->n == ADD_BATCH_DOCS ||
                     b->bytes + bytes > ADD_BATCH_BYTES)) {
        if (flush(s) != 0) {
            json_decref(owner);
            free(text);
            free(src);
            return -1;
        }
    }
    b->docs[b->n] = *d;
    b->owner[b->n] = owner;
    b->text[b->n] = text;
    b->src[b->n] = src;
    b->n++;
    b->bytes += bytes;
    return 0;
}

/* A string member of a JSON Lines object: NULL when absent, *bad set when
 * present but not a valid string. */
static const char *member(json_t *o, const char *key, int *bad)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v) ||
        !ps_utf8_valid(json_string_value(v), json_string_length(v))) {
        *bad = 1;
        return NULL;
    }
    return json_string_value(v);
}

static char *source(const char *file, size_t line)
{
    size_t n = strlen(file) + 24;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s:%zu", file, line);
    return s;
}

/* One JSON Lines line. */
static int add_line(add_state *s, const char *name, size_t lineno,
                    const char *line, size_t len)
{
    char *src = source(name, lineno);
    if (src == NULL)
        return -1;
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        char why[200];
        snprintf(why, sizeof why, "not a JSON object%s%s", o ? "" : ": ",
                 o ? "" : je.text);
        invalid(s, src, why);
        json_decref(o);
        free(src);
        return 0;
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (strcmp(k, "id") && strcmp(k, "title") && strcmp(k, "body") &&
            strcmp(k, "lang") && strcmp(k, "date") && strcmp(k, "url")) {
            char why[200];
            snprintf(why, sizeof why, "unknown field '%.60s' (known: id, "
                     "title, body, lang, date, url)", k);
            invalid(s, src, why);
            json_decref(o);
            free(src);
            return 0;
        }
    }
    int bad = 0;
    psc_doc d = { member(o, "id", &bad), member(o, "title", &bad),
                  member(o, "body", &bad), member(o, "lang", &bad),
                  member(o, "date", &bad), member(o, "url", &bad) };
    const char *why = NULL;
    if (bad)
        why = "a field is not a valid UTF-8 string";
    else if (d.id == NULL || *d.id == '\0')
        why = "missing \"id\"";
    else if (d.body == NULL)
        why = "missing \"body\"";
    else if (strlen(d.body) > ADD_MAX_DOC_BYTES)
        why = "body larger than 10 MiB";
    if (why) {
        invalid(s, src, why);
        json_decref(o);
        free(src);
        return 0;
    }
    return push(s, &d, o, NULL, src, len);
}

static int add_jsonl(add_state *s, FILE *f, const char *name)
{
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int r = 0;
    while (r == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len)
            continue;   /* blank lines are allowed */
        r = add_line(s, name, lineno, line, len);
    }
    if (ferror(f)) {
        char why[200];
        snprintf(why, sizeof why, "read error: %s", strerror(errno));
        invalid(s, name, why);
    }
    free(line);
    return r;
}

/* A text file is one document: id = file name without directories and
 * extension, body = the whole file (the daemon derives the title). */
static int add_text_file(add_state *s, FILE *f, const char *path)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len == cap - 1) {
            if (cap > ADD_MAX_DOC_BYTES + 2) {
                free(buf);
                invalid(s, path, "larger than 10 MiB");
                return 0;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - 1 - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (buf == NULL)
        return -1;
    buf[len] = '\0';
    if (ferror(f)) {
        free(buf);
        invalid(s, path, "read error");
        return 0;
    }
    if (!ps_utf8_valid(buf, len)) {
        free(buf);
        invalid(s, path, "not valid UTF-8 text (or contains NUL bytes)");
        return 0;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t idlen = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        idlen = (size_t)(dot - base);
    /* id and body share one allocation: "id\0body\0". */
    char *text = malloc(idlen + 1 + len + 1);
    if (text == NULL) {
        free(buf);
        return -1;
    }
    memcpy(text, base, idlen);
    text[idlen] = '\0';
    memcpy(text + idlen + 1, buf, len + 1);
    free(buf);
    if (idlen == 0 || !ps_utf8_valid(text, idlen)) {
        free(text);
        invalid(s, path, "cannot derive a document id from the file name");
        return 0;
    }
    psc_doc d = { text, NULL, text + idlen + 1, NULL, NULL, NULL };
    char *src = strdup(path);
    if (src == NULL) {
        free(text);
        return -1;
    }
    return push(s, &d, NULL, text, src, len);
}

static int is_jsonl_name(const char *p)
{
    static const char *const ext[] = { ".jsonl", ".ndjson", ".json" };
    size_t n = strlen(p);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t k = strlen(ext[i]);
        if (n > k && strcmp(p + n - k, ext[i]) == 0)
            return 1;
    }
    return 0;
}

int cli_cmd_add(psc_client *c, const cli_opts *o, char **files, int nfiles)
{
    add_state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return EX_OSERR;
    s->c = c;
    s->o = o;
    s->rejected = json_array();
    s->invalid = json_array();
    int r = 0;
    for (int i = 0; r == 0 && i < nfiles; i++) {
        const char *p = files[i];
        if (strcmp(p, "-") == 0) {
            r = add_jsonl(s, stdin, "<stdin>");
            continue;
        }
        FILE *f = fopen(p, "rb");
        if (f == NULL) {
            char why[200];
            snprintf(why, sizeof why, "cannot open: %s", strerror(errno));
            invalid(s, p, why);
            continue;
        }
        r = is_jsonl_name(p) ? add_jsonl(s, f, p) : add_text_file(s, f, p);
        fclose(f);
    }
    if (r == 0)
        r = flush(s);
    int rc;
    if (r != 0) {
        rc = s->rc ? s->rc : EX_OSERR;
        batch_clear(&s->b);
    } else {
        if (o->json)
            cli_emit_json(stdout, json_pack("{sIsIsIsOsO}", "added",
                                            (json_int_t)s->added, "replaced",
                                            (json_int_t)s->replaced,
                                            "unchanged",
                                            (json_int_t)s->unchanged,
                                            "rejected", s->rejected,
                                            "invalid", s->invalid));
        else
            printf("added %llu, replaced %llu, unchanged %llu, rejected "
                   "%zu, invalid input %zu\n",
                   (unsigned long long)s->added,
                   (unsigned long long)s->replaced,
                   (unsigned long long)s->unchanged,
                   json_array_size(s->rejected), json_array_size(s->invalid));
        rc = s->failed_input ? EX_DATAERR : EX_OK;
    }
    json_decref(s->rejected);
    json_decref(s->invalid);
    free(s);
    return rc;
}
