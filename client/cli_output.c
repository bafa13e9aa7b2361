/* cli_output.c: human and JSON rendering for the polysearch CLI: terminal
 * width, bold (ANSI) on a tty only, word wrapping by display columns,
 * control characters from indexed text neutralised.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sysexits.h>
#include <unistd.h>

#include <utf8proc.h>

#include "utf8.h"

#define BOLD_ON "\033[1m"
#define BOLD_OFF "\033[0m"

int cli_exit_for(psc_status st, const char *code)
{
    switch (st) {
    case PSC_OK: return EX_OK;
    case PSC_ERR_INVALID: return EX_USAGE;
    case PSC_ERR_CONNECT: return EX_UNAVAILABLE;
    case PSC_ERR_TIMEOUT: return EX_TEMPFAIL;
    case PSC_ERR_IO: return EX_UNAVAILABLE;
    case PSC_ERR_PROTOCOL: return EX_PROTOCOL;
    case PSC_ERR_NOMEM: return EX_OSERR;
    case PSC_ERR_SERVER: break;
    }
    if (code == NULL)
        return EX_SOFTWARE;
    if (!strcmp(code, "query_syntax") || !strcmp(code, "too_many_terms") ||
        !strcmp(code, "bad_request") || !strcmp(code, "too_large"))
        return EX_DATAERR;
    if (!strcmp(code, "not_found"))
        return EX_NOINPUT;
    if (!strcmp(code, "unauthorized") || !strcmp(code, "forbidden"))
        return EX_NOPERM;
    if (!strcmp(code, "timeout") || !strcmp(code, "busy") ||
        !strcmp(code, "unavailable"))
        return EX_TEMPFAIL;
    return EX_SOFTWARE;
}

int cli_term_width(int fd)
{
    const char *cols = getenv("COLUMNS");
    if (cols && *cols) {
        char *end;
        long v = strtol(cols, &end, 10);
        if (*end == '\0' && v >= 20 && v <= 1000)
            return (int)v;
    }
    struct winsize ws;
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

int cli_use_bold(int fd)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        return 0;
    return isatty(fd);
}

/* Decodes one code point at s[0..len); returns its byte length (>= 1) and
 * sets *cp (-1 for an invalid byte). */
static size_t next_cp(const char *s, size_t len, int32_t *cp)
{
    utf8proc_int32_t c;
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s,
                                          (utf8proc_ssize_t)len, &c);
    if (n <= 0) {
        *cp = -1;
        return 1;
    }
    *cp = c;
    return (size_t)n;
}

static int is_control(int32_t cp)
{
    return (cp >= 0 && cp < 0x20) || (cp >= 0x7f && cp < 0xa0);
}

static int cp_width(int32_t cp)
{
    if (cp < 0 || is_control(cp))
        return 1;
    return utf8proc_charwidth(cp);
}

int cli_text_width(const char *s, size_t len)
{
    int w = 0;
    size_t i = 0;
    while (i < len) {
        int32_t cp;
        i += next_cp(s + i, len - i, &cp);
        w += cp_width(cp);
    }
    return w;
}

/* Writes s[0..len) with control characters as spaces. */
static void put_safe_n(FILE *out, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        int32_t cp;
        size_t n = next_cp(s + i, len - i, &cp);
        if (cp >= 0 && is_control(cp))
            fputc(' ', out);
        else
            fwrite(s + i, 1, n, out);
        i += n;
    }
}

void cli_put_safe(FILE *out, const char *s)
{
    if (s)
        put_safe_n(out, s, strlen(s));
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' ||
           ch == '\v' || ch == '\f';
}

typedef struct word {
    size_t start, end;      /* bytes in text */
    int width;
} word;

/* Writes text[start..end) switching bold on inside highlighted bytes. */
static void put_word(FILE *out, const char *text, size_t start, size_t end,
                     const unsigned char *inhl, int bold)
{
    int on = 0;
    size_t i = start;
    while (i < end) {
        int32_t cp;
        size_t n = next_cp(text + i, end - i, &cp);
        int want = bold && inhl && inhl[i];
        if (want != on) {
            fputs(want ? BOLD_ON : BOLD_OFF, out);
            on = want;
        }
        put_safe_n(out, text + i, n);
        i += n;
    }
    if (on)
        fputs(BOLD_OFF, out);
}

int cli_wrap(FILE *out, const char *text, const ps_span *hl, uint32_t nhl,
             int width, int indent, int max_lines, int bold)
{
    if (text == NULL)
        return 0;
    size_t len = strlen(text);
    if (indent < 0)
        indent = 0;
    int avail = width - indent;
    if (avail < 10)
        avail = 10;
    unsigned char *inhl = NULL;
    if (bold && nhl > 0 && len > 0) {
        inhl = calloc(len, 1);
        for (uint32_t k = 0; inhl && k < nhl; k++)
            if (hl[k].off <= len && hl[k].len <= len - hl[k].off)
                memset(inhl + hl[k].off, 1, hl[k].len);
    }
    /* Split into words; a word wider than a line is cut by code points. */
    size_t nw = 0, capw = 16;
    word *w = malloc(capw * sizeof *w);
    size_t i = 0;
    while (w && i < len) {
        while (i < len && is_space(text[i]))
            i++;
        if (i >= len)
            break;
        size_t s = i;
        int ww = 0;
        while (i < len && !is_space(text[i])) {
            int32_t cp;
            size_t n = next_cp(text + i, len - i, &cp);
            int cw = cp_width(cp);
            if (ww + cw > avail && ww > 0)
                break;
            ww += cw;
            i += n;
        }
        if (nw == capw) {
            word *nwp = realloc(w, 2 * capw * sizeof *w);
            if (nwp == NULL)
                break;
            w = nwp;
            capw *= 2;
        }
        w[nw++] = (word){ s, i, ww };
    }
    int lines = 0;
    size_t k = 0;
    while (w && k < nw) {
        /* Words of this line. */
        size_t first = k;
        int lw = w[k].width;
        k++;
        while (k < nw && lw + 1 + w[k].width <= avail) {
            lw += 1 + w[k].width;
            k++;
        }
        int last = max_lines > 0 && lines + 1 == max_lines && k < nw;
        if (last) /* Room for " \u2026". */
            while (k - first > 1 && lw + 2 > avail) {
                k--;
                lw -= 1 + w[k].width;
            }
        fprintf(out, "%*s", indent, "");
        for (size_t j = first; j < k; j++) {
            if (j > first)
                fputc(' ', out);
            put_word(out, text, w[j].start, w[j].end, inhl, bold);
        }
        if (last)
            fputs(" \xe2\x80\xa6", out);
        fputc('\n', out);
        lines++;
        if (last)
            break;
    }
    free(w);
    free(inhl);
    return lines;
}

/* Writes s in bold when st->bold. */
static void put_bold(FILE *out, const char *s, const cli_style *st)
{
    if (st->bold)
        fputs(BOLD_ON, out);
    cli_put_safe(out, s);
    if (st->bold)
        fputs(BOLD_OFF, out);
}

/* Prints the heading of a hit or a document: the title in bold
 * ("(untitled)" when empty or NULL), then on a new line after indent
 * "id: ID | lang: LANG" ("und" when NULL) and " | date: DATE" when dated.
 * The second line is left open for more fields. */
static void put_heading(FILE *out, const char *title, const char *indent,
                        const char *id, const char *lang, const char *date,
                        const cli_style *st)
{
    put_bold(out, title && *title ? title : "(untitled)", st);
    fprintf(out, "\n%sid: ", indent);
    cli_put_safe(out, id);
    fputs(" | lang: ", out);
    cli_put_safe(out, lang ? lang : "und");
    if (date) {
        fputs(" | date: ", out);
        cli_put_safe(out, date);
    }
}

void cli_print_results(FILE *out, const ps_results *r, uint32_t offset,
                       const cli_style *st)
{
    double ms = (double)r->took_us / 1000.0;
    const char *noun = r->total == 1 ? "hit" : "hits";
    if (r->nhits > 0)
        fprintf(out, "%llu %s, showing %u-%u (%.2f ms)\n",
                (unsigned long long)r->total, noun, r->hits[0].rank,
                r->hits[r->nhits - 1].rank, ms);
    else if (r->total > 0)
        fprintf(out, "%llu %s, none from offset %u (%.2f ms)\n",
                (unsigned long long)r->total, noun, offset, ms);
    else
        fprintf(out, "0 hits (%.2f ms)\n", ms);
    if (r->nfacets > 0) {
        fputs("languages:", out);
        for (uint32_t i = 0; i < r->nfacets; i++) {
            fputs(i ? ", " : " ", out);
            cli_put_safe(out, r->facets[i].value);
            fprintf(out, " %llu", (unsigned long long)r->facets[i].count);
        }
        fputc('\n', out);
    }
    for (uint32_t i = 0; i < r->nexpanded; i++) {
        const ps_expansion *e = &r->expanded[i];
        fputs(i ? "; " : "synonyms: ", out);
        cli_put_safe(out, e->from);
        fputs(" =", out);
        for (uint32_t k = 0; k < e->nto; k++) {
            fputs(k ? ", " : " ", out);
            cli_put_safe(out, e->to[k]);
        }
        if (i + 1 == r->nexpanded)
            fputc('\n', out);
    }
    if (r->nhits == 0 && r->suggestion && *r->suggestion) {
        fputs("did you mean: ", out);
        put_bold(out, r->suggestion, st);
        fputc('\n', out);
    }
    for (uint32_t i = 0; i < r->nhits; i++) {
        const ps_hit *h = &r->hits[i];
        fprintf(out, "\n%u. ", h->rank);
        put_heading(out, h->title, "   ", h->id, h->lang, h->date, st);
        fprintf(out, " | score: %.3f\n", h->score);
        if (h->url) {
            fputs("   url: ", out);
            cli_put_safe(out, h->url);
            fputc('\n', out);
        }
        if (h->nsynonyms > 0) {
            fputs("   synonyms: ", out);
            for (uint32_t k = 0; k < h->nsynonyms; k++) {
                if (k)
                    fputs(", ", out);
                cli_put_safe(out, h->synonyms[k]);
            }
            fputc('\n', out);
        }
        cli_wrap(out, h->snippet, h->highlights, h->nhighlights, st->width, 3,
                 2, st->bold);
    }
}

void cli_print_document(FILE *out, const ps_document *d, const cli_style *st)
{
    put_heading(out, d->title, "", d->id, d->lang, d->date, st);
    if (d->hash) {
        fputs(" | hash: ", out);
        cli_put_safe(out, d->hash);
    }
    fputc('\n', out);
    if (d->url) {
        fputs("url: ", out);
        cli_put_safe(out, d->url);
        fputc('\n', out);
    }
    fputc('\n', out);
    /* The body keeps its line structure; each line is wrapped. */
    const char *body = d->body ? d->body : "";
    while (*body) {
        const char *nl = strchr(body, '\n');
        size_t n = nl ? (size_t)(nl - body) : strlen(body);
        char *line = strndup(body, n);
        if (line == NULL)
            break;
        if (cli_wrap(out, line, NULL, 0, st->width, 0, 0, 0) == 0)
            fputc('\n', out);
        free(line);
        body += n + (nl != NULL);
    }
}

void cli_print_match(FILE *out, const ps_notification *n, const char *when,
                     const cli_style *st)
{
    fprintf(out, "\n[%s] ", when);
    put_heading(out, n->title, "   ", n->id, n->lang, n->date, st);
    fputs(" | watch: ", out);
    cli_put_safe(out, n->name);
    if (n->replaced)
        fputs(" (replaced)", out);
    fputc('\n', out);
    if (n->url) {
        fputs("   url: ", out);
        cli_put_safe(out, n->url);
        fputc('\n', out);
    }
    cli_wrap(out, n->snippet, NULL, 0, st->width, 3, 2, 0);
}

/* Prints the leaves of j under prefix. */
static void stats_leaves(FILE *out, const char *prefix, json_t *j)
{
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            size_t n = strlen(prefix) + strlen(k) + 2;
            char *p = malloc(n);
            if (p == NULL)
                return;
            snprintf(p, n, "%s%s%s", prefix, *prefix ? "." : "", k);
            stats_leaves(out, p, v);
            free(p);
        }
        return;
    }
    cli_put_safe(out, prefix);
    fputs(": ", out);
    if (json_is_string(j)) {
        cli_put_safe(out, json_string_value(j));
    } else {
        char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
        cli_put_safe(out, s ? s : "?");
        free(s);
    }
    fputc('\n', out);
}

int cli_print_stats(FILE *out, const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return -1;
    }
    stats_leaves(out, "", j);
    json_decref(j);
    return 0;
}

/* A JSON string of s; invalid UTF-8 bytes become U+FFFD so a field is
 * never dropped. */
static json_t *jstr(const char *s)
{
    if (s == NULL)
        s = "";
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    size_t o = 0;
    char *buf = ps_utf8_repair(s, strlen(s), 0, &o, NULL);
    if (buf == NULL)
        return NULL;
    j = json_stringn(buf, o);
    free(buf);
    return j;
}

/* Sets key to a string, or leaves it out when s is NULL. */
static void set_opt_str(json_t *o, const char *key, const char *s)
{
    if (s)
        json_object_set_new(o, key, jstr(s));
}

json_t *cli_results_json(const ps_results *r)
{
    json_t *o = json_object();
    json_t *hits = json_array();
    if (o == NULL || hits == NULL) {
        json_decref(o);
        json_decref(hits);
        return NULL;
    }
    json_object_set_new(o, "total", json_integer((json_int_t)r->total));
    for (uint32_t i = 0; i < r->nhits; i++) {
        const ps_hit *h = &r->hits[i];
        json_t *jh = json_object();
        json_t *hl = json_array();
        json_object_set_new(jh, "id", jstr(h->id));
        json_object_set_new(jh, "title", jstr(h->title));
        json_object_set_new(jh, "lang", jstr(h->lang ? h->lang : "und"));
        set_opt_str(jh, "date", h->date);
        set_opt_str(jh, "url", h->url);
        json_object_set_new(jh, "score", json_real(h->score));
        json_object_set_new(jh, "rank", json_integer(h->rank));
        json_object_set_new(jh, "snippet",
                            jstr(h->snippet ? h->snippet : ""));
        for (uint32_t k = 0; k < h->nhighlights; k++)
            json_array_append_new(hl, json_pack("[II]",
                                                (json_int_t)h->highlights[k].off,
                                                (json_int_t)h->highlights[k].len));
        json_object_set_new(jh, "highlights", hl);
        if (h->nsynonyms > 0) {
            json_t *sy = json_array();
            for (uint32_t k = 0; k < h->nsynonyms; k++)
                json_array_append_new(sy, jstr(h->synonyms[k]));
            json_object_set_new(jh, "synonyms", sy);
        }
        json_array_append_new(hits, jh);
    }
    json_object_set_new(o, "hits", hits);
    if (r->facets != NULL) {
        json_t *lang = json_object();
        for (uint32_t i = 0; i < r->nfacets; i++)
            json_object_set_new(lang, r->facets[i].value,
                                json_integer((json_int_t)r->facets[i].count));
        json_object_set_new(o, "facets", json_pack("{so}", "lang", lang));
    }
    set_opt_str(o, "suggestion", r->suggestion);
    if (r->nexpanded > 0) {
        json_t *ex = json_array();
        for (uint32_t i = 0; i < r->nexpanded; i++) {
            json_t *to = json_array();
            for (uint32_t k = 0; k < r->expanded[i].nto; k++)
                json_array_append_new(to, jstr(r->expanded[i].to[k]));
            json_array_append_new(ex, json_pack("{soso}", "from",
                                                jstr(r->expanded[i].from),
                                                "to", to));
        }
        json_object_set_new(o, "expanded", ex);
    }
    json_object_set_new(o, "took_us", json_integer((json_int_t)r->took_us));
    return o;
}

json_t *cli_document_json(const ps_document *d)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "id", jstr(d->id));
    json_object_set_new(o, "title", jstr(d->title ? d->title : ""));
    json_object_set_new(o, "body", jstr(d->body ? d->body : ""));
    json_object_set_new(o, "lang", jstr(d->lang ? d->lang : "und"));
    set_opt_str(o, "date", d->date);
    set_opt_str(o, "url", d->url);
    set_opt_str(o, "hash", d->hash);
    return o;
}

json_t *cli_notification_json(const ps_notification *n, const char *when)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int match = n->kind == PS_NOTIFY_MATCH;
    json_object_set_new(o, "type", json_string(match ? "match" : "lagged"));
    json_object_set_new(o, "subscription",
                        json_integer((json_int_t)n->subscription));
    if (!match) {
        json_object_set_new(o, "dropped", json_integer((json_int_t)n->dropped));
        if (n->has_resume_from)
            json_object_set_new(o, "resume_from",
                                json_integer((json_int_t)n->resume_from));
        json_object_set_new(o, "time", jstr(when));
        return o;
    }
    json_object_set_new(o, "name", jstr(n->name));
    json_object_set_new(o, "id", jstr(n->id));
    json_object_set_new(o, "title", jstr(n->title));
    json_object_set_new(o, "lang", jstr(n->lang ? n->lang : "und"));
    set_opt_str(o, "date", n->date);
    set_opt_str(o, "url", n->url);
    json_object_set_new(o, "snippet", jstr(n->snippet));
    json_object_set_new(o, "seq", json_integer((json_int_t)n->seq));
    if (n->replaced)
        json_object_set_new(o, "replaced", json_true());
    json_object_set_new(o, "time", jstr(when));
    return o;
}

void cli_emit_json(FILE *out, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
    if (s) {
        fputs(s, out);
        fputc('\n', out);
        free(s);
    } else {
        fputs("{\"error\":{\"code\":\"nomem\",\"message\":\"out of memory\"}}\n",
              out);
    }
    json_decref(j);
}
