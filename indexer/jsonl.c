/* jsonl.c: JSON Lines reader and line parser (jsonl.h), over jansson; the
 * document rules are lib/wire/docvalid.c. */
#include "jsonl.h"

#include "docjson.h"

#include "rpc.h"            /* ps_utf8_valid() */

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

struct jsonl_reader {
    int fd;
    size_t max_line;
    char *buf;
    size_t cap;
    size_t start;           /* first byte of the current line */
    size_t scan;            /* bytes before this are known to hold no '\n' */
    size_t end;             /* bytes buffered */
    uint64_t lineno;        /* number of the last line returned */
    uint64_t bytes;
    int skipping;           /* discarding the rest of a too long line */
    int eof;
};

jsonl_reader *jsonl_reader_new(int fd, size_t max_line)
{
    jsonl_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->fd = fd;
    r->max_line = max_line;
    r->cap = CHUNK + 1;
    r->buf = malloc(r->cap);
    if (r->buf == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

void jsonl_reader_free(jsonl_reader *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    free(r);
}

uint64_t jsonl_bytes_read(const jsonl_reader *r)
{
    return r->bytes;
}

/* Hands out buf[start..stop) as a line (the buffer always has room for
 * the NUL at stop: cap > end) and moves on to `next`. */
static jsonl_next_status emit(jsonl_reader *r, size_t stop, size_t next,
                              const char **line, size_t *len,
                              uint64_t *lineno)
{
    size_t n = stop - r->start;
    char *p = r->buf + r->start;
    if (n > 0 && p[n - 1] == '\r')
        n--;
    p[n] = '\0';
    r->start = next;
    r->scan = next;
    *lineno = ++r->lineno;
    if (r->skipping || n > r->max_line) {
        r->skipping = 0;
        return JSONL_TOO_LONG;
    }
    *line = p;
    *len = n;
    return JSONL_LINE;
}

jsonl_next_status jsonl_next(jsonl_reader *r, const char **line,
                             size_t *len, uint64_t *lineno)
{
    *line = NULL;
    *len = 0;
    for (;;) {
        char *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
        if (nl != NULL) {
            size_t pos = (size_t)(nl - r->buf);
            return emit(r, pos, pos + 1, line, len, lineno);
        }
        r->scan = r->end;
        if (r->eof) {
            if (r->start < r->end || r->skipping) {
                return emit(r, r->end, r->end, line, len, lineno);
            }
            *lineno = r->lineno;
            return JSONL_EOF;
        }
        if (r->end - r->start > r->max_line) {
            r->skipping = 1;                /* drop what we have of it */
            r->start = r->scan = r->end = 0;
        }
        if (r->start > 0) {                 /* compact */
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->scan -= r->start;
            r->start = 0;
        }
        if (r->cap - r->end < CHUNK + 1) {
            size_t ncap = r->cap * 2;
            if (ncap < r->end + CHUNK + 1)
                ncap = r->end + CHUNK + 1;
            char *nb = realloc(r->buf, ncap);
            if (nb == NULL) {
                errno = ENOMEM;
                return JSONL_IOERR;
            }
            r->buf = nb;
            r->cap = ncap;
        }
        ssize_t got = read(r->fd, r->buf + r->end, CHUNK);
        if (got < 0) {
            if (errno == EINTR)
                return JSONL_INTR;
            return JSONL_IOERR;
        }
        if (got == 0)
            r->eof = 1;
        r->end += (size_t)got;
        r->bytes += (uint64_t)got;
    }
}

/* ---- Parsing ---------------------------------------------------------- */

void jsonl_doc_clear(jsonl_doc *doc)
{
    free(doc->id);
    free(doc->title);
    free(doc->body);
    free(doc->lang);
    free(doc->date);
    free(doc->url);
    memset(doc, 0, sizeof *doc);
}

/* A copy of s[0..n) as a C string, or NULL (then *nomem is set). */
static char *dup_value(const char *s, size_t n, int *nomem)
{
    if (s == NULL)
        return NULL;
    char *d = malloc(n + 1);
    if (d == NULL) {
        *nomem = 1;
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

jsonl_parse_status jsonl_parse_line(const char *line, size_t len,
                                    unsigned flags, jsonl_doc *doc,
                                    char *err, size_t errsz)
{
    memset(doc, 0, sizeof *doc);
    err[0] = '\0';
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return JSONL_BLANK;

    /* Lenient: repair the line before parsing (jansson takes valid UTF-8
     * only): invalid UTF-8 -> U+FFFD, raw NUL -> space (a space is valid
     * both inside a string and between tokens). */
    const char *text = line;
    size_t tlen = len, nuls = 0, nbad = 0;
    char *fixed = NULL;
    if ((flags & PS_DOC_LENIENT_UTF8) && !ps_utf8_valid(line, len)) {
        fixed = ps_doc_text_repair(line, len, &nuls, &nbad, &tlen);
        if (fixed == NULL) {
            snprintf(err, errsz, "out of memory");
            return JSONL_BAD;
        }
        text = fixed;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, tlen,
                              JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    free(fixed);
    if (root == NULL) {
        snprintf(err, errsz, "invalid JSON at column %d: %s", jerr.column,
                 jerr.text);
        return JSONL_BAD;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(err, errsz, "not a JSON object");
        return JSONL_BAD;
    }

    ps_docv v;
    ps_docv_init(&v, flags, 0);        /* the line cap bounds the body */
    ps_docv_set_json(&v, root);
    jsonl_parse_status rc = JSONL_DOC;
    if (ps_docv_finish(&v) != 0) {
        snprintf(err, errsz, "%s", ps_docv_reason(&v));
        rc = JSONL_BAD;
    } else {
        char **fields[PS_DOC_NKEYS] = { &doc->id, &doc->title, &doc->body,
                                        &doc->lang, &doc->date, &doc->url };
        int nomem = 0;
        for (unsigned k = 0; k < PS_DOC_NKEYS; k++) {
            size_t n;
            const char *s = ps_docv_get(&v, (ps_doc_key)k, &n);
            *fields[k] = dup_value(s, n, &nomem);
        }
        doc->nul_repaired = nuls + v.nul_repaired;
        doc->utf8_repaired = nbad + v.utf8_repaired;
        doc->unknown_ignored = v.unknown_ignored;
        snprintf(doc->first_unknown, sizeof doc->first_unknown, "%s",
                 v.first_unknown);
        if (nomem) {
            jsonl_doc_clear(doc);
            snprintf(err, errsz, "out of memory");
            rc = JSONL_BAD;
        }
    }
    ps_docv_clear(&v);
    json_decref(root);
    return rc;
}
