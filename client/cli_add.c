/* cli_add.c: `polysearch add FILE...|-`: reads JSON Lines or text files,
 * checks each document with the network rules (lib/wire/docvalid.h,
 * strict), sends them in batches (lib/wire/batch.h: at most 1000
 * documents and 512 KiB packed per call, under the daemon's 1 MiB request
 * frame), and sums the daemon's answers.  Bad lines and files are reported
 * with FILE:LINE and skipped; the exit code says whether any input failed.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "batch.h"
#include "docjson.h"
#include "rpc.h"

/* Largest body sent (the daemon's default max_body), and text file read. */
#define ADD_MAX_DOC_BYTES PS_DOC_DEFAULT_MAX_BODY

typedef struct add_state {
    psc_client *c;
    const cli_opts *o;
    ps_add_batch *b;
    uint64_t added, replaced, unchanged;
    json_t *rejected;                  /* [{index,id,source,reason}] */
    json_t *invalid;                   /* [{source,reason}] */
    int failed_input;
    int rc;                            /* first fatal error exit code */
} add_state;

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
    ps_add_batch *b = s->b;
    size_t n = ps_add_batch_count(b);
    if (n == 0)
        return 0;
    char *params = NULL;
    size_t len = 0;
    if (ps_add_batch_params(b, 0, n, &params, &len) != 0) {
        ps_add_batch_clear(b);
        return -1;                     /* out of memory */
    }
    psc_add_result *r = NULL;
    psc_status st = psc_add_packed(s->c, params, len, &r);
    free(params);
    if (st != PSC_OK) {
        s->rc = cli_report_error(s->c, s->o, st, "add");
        ps_add_batch_clear(b);
        return -1;
    }
    s->added += r->added;
    s->replaced += r->replaced;
    s->unchanged += r->unchanged;
    for (uint32_t i = 0; i < r->nrejected; i++) {
        uint32_t k = r->rejected[i].index;
        const char *src = ps_add_batch_source(b, k);
        const char *id = ps_add_batch_id(b, k);
        src = src ? src : "?";
        id = id ? id : "?";
        fprintf(stderr, "polysearch: %s: document '%s' rejected: %s\n", src,
                id, r->rejected[i].reason);
        json_array_append_new(s->rejected,
                              json_pack("{sIssssss}", "index",
                                        (json_int_t)(ps_add_batch_offset(b) + k),
                                        "id", id, "source", src, "reason",
                                        r->rejected[i].reason));
        s->failed_input = 1;
    }
    psc_add_result_free(r);
    ps_add_batch_clear(b);
    return 0;
}

/* Puts a checked document into the batch (copied), sending the batch
 * first when it is full.  Returns 0, or -1 after a fatal error. */
static int push(add_state *s, const char *const f[PS_DOC_NKEYS],
                const char *src)
{
    ps_add_batch_status bs = ps_add_batch_add(s->b, f, src);
    if (bs == PS_ADD_BATCH_FULL) {
        if (flush(s) != 0)
            return -1;
        bs = ps_add_batch_add(s->b, f, src);
    }
    return bs == PS_ADD_BATCH_OK ? 0 : -1;
}

static char *source(const char *file, size_t line)
{
    size_t n = strlen(file) + 24;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s:%zu", file, line);
    return s;
}

/* Checks a JSON object with the strict document rules; on success f
 * receives its fields (pointing into o) and 0 is returned, otherwise -1
 * with the reason copied to why. */
static int check_object(json_t *o, const char *f[PS_DOC_NKEYS], char *why,
                        size_t whysz)
{
    ps_docv v;
    ps_docv_init(&v, PS_DOC_STRICT, ADD_MAX_DOC_BYTES);
    ps_docv_set_json(&v, o);
    int rc = ps_docv_finish(&v);
    if (rc != 0)
        snprintf(why, whysz, "%s", ps_docv_reason(&v));
    for (unsigned i = 0; i < PS_DOC_NKEYS; i++)
        f[i] = ps_docv_get(&v, (ps_doc_key)i, NULL);
    ps_docv_clear(&v);                 /* strict: nothing owned by v */
    return rc;
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
    char why[PS_DOC_REASON_MAX + 64];
    const char *f[PS_DOC_NKEYS];
    int r = 0;
    if (!json_is_object(o)) {
        snprintf(why, sizeof why, "not a JSON object%s%s", o ? "" : ": ",
                 o ? "" : je.text);
        invalid(s, src, why);
    } else if (check_object(o, f, why, sizeof why) != 0) {
        invalid(s, src, why);
    } else {
        r = push(s, f, src);
    }
    json_decref(o);
    free(src);
    return r;
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
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t idlen = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        idlen = (size_t)(dot - base);
    char *id = strndup(base, idlen);
    if (id == NULL) {
        free(buf);
        return -1;
    }
    int r = 0;
    /* Checked with lengths: the file may hold NUL bytes. */
    ps_docv v;
    ps_docv_init(&v, PS_DOC_STRICT, ADD_MAX_DOC_BYTES);
    ps_docv_set(&v, "id", 2, PS_DOC_V_STR, id, idlen);
    ps_docv_set(&v, "body", 4, PS_DOC_V_STR, buf, len);
    const char *doc[PS_DOC_NKEYS] = { id, NULL, buf, NULL, NULL, NULL };
    if (idlen == 0 || !ps_utf8_valid(id, idlen))
        invalid(s, path, "cannot derive a document id from the file name");
    else if (ps_docv_finish(&v) != 0)
        invalid(s, path, ps_docv_reason(&v));
    else
        r = push(s, doc, path);
    ps_docv_clear(&v);
    free(id);
    free(buf);
    return r;
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
    s->b = ps_add_batch_new(PS_ADD_BATCH_MAX_DOCS, PS_ADD_BATCH_MAX_BYTES);
    int r = s->b ? 0 : -1;
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
    ps_add_batch_free(s->b);
    json_decref(s->rejected);
    json_decref(s->invalid);
    free(s);
    return rc;
}
