/* cli.h: internals of the polysearch command-line client, shared by
 * cli_main.c (dispatch), cli_output.c (rendering) and cli_add.c.
 * Single-threaded program: every function is for the main thread.
 */
#ifndef PS_CLI_H
#define PS_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "polysearch-client.h"

/* How human output is rendered. */
typedef struct cli_style {
    int width;              /* terminal columns */
    int bold;               /* emit ANSI bold (a tty and no NO_COLOR) */
} cli_style;

/* Exit codes (sysexits.h values) documented in docs/man/polysearch.1. */
int cli_exit_for(psc_status st, const char *server_code);

/* Columns of the terminal on fd: $COLUMNS when a number in 20..1000, else
 * TIOCGWINSZ when fd is a tty, else 80. */
int cli_term_width(int fd);

/* 1 when ANSI bold should be used on fd: a tty and NO_COLOR unset or
 * empty. */
int cli_use_bold(int fd);

/* Display columns of the UTF-8 text s[0..len) (wide CJK = 2, combining
 * marks = 0, invalid bytes and control characters = 1 each). */
int cli_text_width(const char *s, size_t len);

/* Writes s with control characters (C0, DEL, C1) replaced by spaces so
 * indexed text can never drive the terminal.  NULL writes nothing. */
void cli_put_safe(FILE *out, const char *s);

/* Word-wraps text to `width` columns, each line prefixed by `indent`
 * spaces, at most max_lines lines (0 = no limit; when cut, the last line
 * ends with "..." as one character U+2026).  Byte spans hl[0..nhl) (ignored
 * when out of range) are wrapped in ANSI bold when bold is set; bold never
 * spans a line break.  Whitespace runs (including newlines) become one
 * space.  Writes nothing for an empty text.  Returns the lines written. */
int cli_wrap(FILE *out, const char *text, const ps_span *hl, uint32_t nhl,
             int width, int indent, int max_lines, int bold);

/* Human rendering of search results (first line: total hits and time). */
void cli_print_results(FILE *out, const ps_results *r, uint32_t offset,
                       const cli_style *st);

/* Human rendering of a document. */
void cli_print_document(FILE *out, const ps_document *d, const cli_style *st);

/* Human rendering of a stats JSON text: one "key: value" line per leaf,
 * nested keys joined with '.'.  Returns 0, or -1 when the text is not a
 * JSON object. */
int cli_print_stats(FILE *out, const char *json);

/* Human rendering of a match notification received at `when` (text such
 * as "14:03:27"), laid out as a search hit: a blank line, "[when] TITLE",
 * "   id: ID | lang: LANG | date: DATE | watch: NAME (replaced)", the url
 * and at most two lines of snippet. */
void cli_print_match(FILE *out, const ps_notification *n, const char *when,
                     const cli_style *st);

/* JSON trees (new references; NULL on allocation failure). */
json_t *cli_results_json(const ps_results *r);
json_t *cli_document_json(const ps_document *d);
/* {"type":"match", subscription, name, id, title, lang, date?, url?,
 * snippet, seq, replaced?, time} or {"type":"lagged", subscription,
 * dropped, time}; `when` is the ISO 8601 time of arrival. */
json_t *cli_notification_json(const ps_notification *n, const char *when);

/* Writes j compactly on one line followed by '\n', and steals j. */
void cli_emit_json(FILE *out, json_t *j);

/* Options shared by the commands. */
typedef struct cli_opts {
    const char *server;
    int json;
    int timeout_ms;
    cli_style style;
    const char *token;      /* access token, or NULL (never printed) */
    const char *token_from; /* where it came from: "token file F" or
                               "$POLYSEARCH_TOKEN" (for messages) */
} cli_opts;

/* Runs `polysearch add FILE...|-` on a connected client; returns the exit
 * code.  Files ending in .jsonl/.ndjson/.json and "-" (stdin) are JSON
 * Lines; other files are one text document each. */
int cli_cmd_add(psc_client *c, const cli_opts *o, char **files, int nfiles);

/* What `polysearch watch` subscribes to (docs/ALERTS.md). */
typedef struct cli_watch_args {
    const char *q;
    const char *lang;
    const char *date_from;
    const char *name;       /* NULL: none */
    int durable;            /* --durable (needs name) */
    int resume;             /* --resume-from given */
    uint64_t resume_from;
} cli_watch_args;

/* Runs `polysearch watch` until SIGINT/SIGTERM (then returns 0): connects,
 * subscribes, prints each notification, reconnects with backoff when the
 * connection is lost (resuming from the last seq when a name is given).
 * Returns the exit code. */
int cli_cmd_watch(const cli_opts *o, const cli_watch_args *w);

/* Connects to o->server with o's timeouts and, when o->token is set,
 * authenticates the connection (cli_auth).  On failure reports it as every
 * command does (stderr, and {"error"} with --json) and returns NULL with
 * *code the exit code. */
psc_client *cli_connect(const cli_opts *o, int *code);

/* Sends o->token on c (psc_auth) when there is one.  A daemon older than
 * access control (unknown_method) needs none: PSC_OK.  Returns the status
 * of the call; the failure is recorded on c, not reported. */
psc_status cli_auth(psc_client *c, const cli_opts *o);

/* Reports a failed call on stderr (and as {"error":...} on stdout with
 * --json) and returns its exit code. */
int cli_report_error(psc_client *c, const cli_opts *o, psc_status st,
                     const char *what);

#endif
