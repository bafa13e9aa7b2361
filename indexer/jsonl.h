/* jsonl.h: JSON Lines input for polysearch-index: a bounded line reader
 * over a file descriptor and the parser of one line into a document.
 * One thread at a time per reader; jsonl_parse_line() is reentrant.
 */
#ifndef PS_INDEXER_JSONL_H
#define PS_INDEXER_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include "docvalid.h"

/* ---- Line reader ------------------------------------------------------ */

typedef struct jsonl_reader jsonl_reader;

typedef enum jsonl_next_status {
    JSONL_LINE = 0,     /* *line and *len hold one line (without "\n"/"\r\n") */
    JSONL_EOF,          /* no more lines */
    JSONL_TOO_LONG,     /* a line longer than max_line was discarded (never
                           held in memory as a whole); *lineno is its number */
    JSONL_INTR,         /* read(2) was interrupted by a signal: call again
                           to resume, or stop */
    JSONL_IOERR         /* read(2) failed; errno is set */
} jsonl_next_status;

/* Returns a reader over fd (not owned, not closed) that yields lines of at
 * most max_line bytes, or NULL on allocation failure.  Caller frees with
 * jsonl_reader_free(). */
jsonl_reader *jsonl_reader_new(int fd, size_t max_line);

/* Frees the reader (NULL is fine). */
void jsonl_reader_free(jsonl_reader *r);

/* Reads the next line.  On JSONL_LINE, *line points to len bytes inside
 * the reader followed by a NUL byte (the line itself may contain NUL
 * bytes), valid until the next call; *lineno is its 1-based number. */
jsonl_next_status jsonl_next(jsonl_reader *r, const char **line,
                             size_t *len, uint64_t *lineno);

/* Bytes consumed from the descriptor so far (for progress). */
uint64_t jsonl_bytes_read(const jsonl_reader *r);

/* ---- One line -> one document ---------------------------------------- */

/* A parsed document; every field is a malloc'd NUL-terminated UTF-8 string
 * owned by the struct (NULL when absent).  Free with jsonl_doc_clear(). */
typedef struct jsonl_doc {
    char *id;
    char *title;
    char *body;
    char *lang;
    char *date;
    char *url;
    size_t nul_repaired;    /* NUL bytes (raw or \u0000) turned into spaces */
    size_t utf8_repaired;   /* invalid UTF-8 bytes replaced by U+FFFD */
    size_t unknown_ignored; /* keys other than the six, skipped */
    char first_unknown[72]; /* the first of them, quoted ('tags') */
} jsonl_doc;

typedef enum jsonl_parse_status {
    JSONL_DOC = 0,      /* *doc filled */
    JSONL_BLANK,        /* empty or whitespace-only line: ignore it */
    JSONL_BAD           /* malformed line or invalid document; reason in err */
} jsonl_parse_status;

/* The rules polysearch-index reads files with: the document rules of
 * lib/wire/docvalid.h in their lenient mode (docs/PROTOCOL.md, "Document
 * rules"). */
#define JSONL_FILE_RULES (PS_DOC_LENIENT_UTF8 | PS_DOC_IGNORE_UNKNOWN)

/* Parses one line `{"id","title"?,"body","lang"?,"date"?,"url"?}` and
 * checks it with the document rules (docvalid.h) under `flags`: with
 * JSONL_FILE_RULES, other keys are skipped (counted in the doc), raw NUL
 * bytes and \u0000 escapes become spaces and invalid UTF-8 becomes U+FFFD
 * (counted); with PS_DOC_STRICT they are refused.  A null value counts as
 * absent.  On JSONL_BAD, err receives a one-line reason (errsz bytes at
 * most; the document rules' own text for a document they refuse) and
 * *doc is left empty.  On JSONL_DOC the caller must call
 * jsonl_doc_clear(doc).  Allocation failure is reported as JSONL_BAD with
 * reason "out of memory". */
jsonl_parse_status jsonl_parse_line(const char *line, size_t len,
                                    unsigned flags, jsonl_doc *doc,
                                    char *err, size_t errsz);

/* Frees the fields of doc and zeroes it (NULL fields are fine). */
void jsonl_doc_clear(jsonl_doc *doc);

#endif
