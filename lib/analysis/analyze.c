/* analyze.c: boilerplate lines, body cleaning and title derivation.
 *
 * Boilerplate pattern syntax (built-in list below, and files given to
 * ps_boilerplate_new(); lib/analysis/boilerplate.txt is an example file):
 *   - one pattern per line, matched against a WHOLE line of text;
 *   - both sides are folded first (ps_fold: case and accents ignored,
 *     typographic apostrophes become '), runs of white space count as one
 *     space, leading/trailing space is ignored;
 *   - '*' matches any text (including none);
 *   - "<n>" matches a number: digits, optionally grouped with '.', ',' or
 *     a space between digit groups ("0", "1 300", "12.5"); it is greedy;
 *   - a line starting with '#' is a comment; blank lines are ignored.
 * Lines longer than PS_BOILERPLATE_MAX_LINE bytes are never boilerplate
 * (menus and buttons are short), which also bounds the matching cost.
 *
 * "Lines" are what the text calls lines ('\n', with an optional '\r');
 * paragraphs of web articles are usually one line each.
 */
#include "analyze.h"
#include "polysearch.h"
#include "utf8.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PS_BOILERPLATE_MAX_LINE 200
#define PS_TITLE_LONG_PARA 200
#define PS_TITLE_FALLBACK_BYTES 80
#define PS_PATTERN_MAX 1024

/* Built-in patterns (several languages).  Kept short and specific: each
 * must only ever match navigation, sharing or comment-widget lines. */
static const char *const builtin_patterns[] = {
    /* share / social */
    "share", "share this", "share on *", "partager", "partagez", "partagez-le*",
    "partagez le*", "si vous avez aime cet article*", "teilen", "condividi",
    "compartir", "compartilhar", "delen", "udostepnij", "tweet", "tweeter",
    "facebook", "twitter", "linkedin", "whatsapp", "pinterest", "xing",
    /* print / mail menus */
    "print", "imprimer", "drucken", "stampa", "imprimir", "afdrukken",
    "drukuj", "e-mail", "email", "pdf", "pdf * e-mail", "pdf * email",
    "print * e-mail", "drucken * e-mail",
    /* subscriptions, accounts */
    "subscribe", "s'abonner", "abonnieren", "suscribirse", "suscribete",
    "iscriviti", "abonneren", "assinar", "connexion", "se connecter",
    "login", "log in", "sign in", "anmelden", "accedi", "registrieren",
    /* comment widgets */
    "<n> comment", "<n> comments", "<n> commentaire", "<n> commentaires",
    "<n> kommentar", "<n> kommentare", "<n> commento", "<n> commenti",
    "<n> comentario", "<n> comentarios", "<n> reactie", "<n> reacties",
    "comments (<n>)", "commentaires (<n>)", "kommentare (<n>)",
    "les plus anciens", "les plus recents", "le plus de votes",
    "oldest", "newest", "most voted", "inline feedbacks",
    "view all comments", "voir tous les commentaires",
    "alle kommentare anzeigen", "reply", "repondre", "antworten",
    "leave a comment", "laisser un commentaire", "schreibe einen kommentar",
    /* navigation */
    "read more", "lire la suite", "lire plus", "weiterlesen", "leggi tutto",
    "leer mas", "back to top", "retour en haut", "nach oben", "menu",
    "skip to content", "aller au contenu",
    /* logos and trackers */
    "logo", "logo *", "* logo", "webleads-tracker",
};

typedef struct pattern {
    char *p;        /* folded, space-normalised */
    size_t len;
    int plain;      /* no '*' and no "<n>": a plain string comparison */
    char first;     /* first byte when literal, else 0 (quick rejection) */
} pattern;

struct ps_boilerplate {
    pattern *pats;
    size_t n, cap;
};

/* Collapses runs of ASCII white space in s to one space and trims, in
 * place; returns the new length. */
static size_t squeeze_spaces(char *s)
{
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
            c == '\v') {
            space = o > 0;
            continue;
        }
        if (space)
            s[o++] = ' ';
        space = 0;
        s[o++] = c;
    }
    s[o] = '\0';
    return o;
}

/* Folds and normalises text[0..len); malloc'd, NULL on failure. */
static char *normalise(const char *text, size_t len)
{
    char *f = ps_fold(text, len);
    if (f != NULL)
        squeeze_spaces(f);
    return f;
}

static int add_pattern(ps_boilerplate *bp, const char *pat, size_t len)
{
    char *p;
    if (bp->n == bp->cap) {
        size_t ncap = bp->cap ? bp->cap * 2 : 64;
        pattern *np = realloc(bp->pats, ncap * sizeof *np);
        if (np == NULL)
            return -1;
        bp->pats = np;
        bp->cap = ncap;
    }
    p = normalise(pat, len);
    if (p == NULL)
        return -1;
    if (p[0] == '\0') {
        free(p);
        return 0;
    }
    bp->pats[bp->n].p = p;
    bp->pats[bp->n].len = strlen(p);
    bp->pats[bp->n].plain = strchr(p, '*') == NULL && strstr(p, "<n>") == NULL;
    bp->pats[bp->n].first =
        (p[0] == '*' || strncmp(p, "<n>", 3) == 0) ? 0 : p[0];
    bp->n++;
    return 0;
}

/* Sets *err (when not NULL) to a malloc'd copy of msg (best effort). */
static void set_err(char **err, const char *msg)
{
    if (err != NULL)
        *err = strdup(msg);
}

/* Loads patterns from a file; 0 or -1 with *err set. */
static int load_file(ps_boilerplate *bp, const char *path, char **err)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int rc = 0;
    char msg[512];

    if (f == NULL) {
        snprintf(msg, sizeof msg, "cannot open boilerplate file %s: %s", path,
                 strerror(errno));
        set_err(err, msg);
        return -1;
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n, start = 0;
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                           line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        while (start < len && (line[start] == ' ' || line[start] == '\t'))
            start++;
        if (start == len || line[start] == '#')
            continue;
        if (len - start > PS_PATTERN_MAX) {
            snprintf(msg, sizeof msg, "%s:%ld: pattern too long", path,
                     lineno);
            set_err(err, msg);
            rc = -1;
            break;
        }
        if (add_pattern(bp, line + start, len - start) != 0) {
            set_err(err, "out of memory");
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(msg, sizeof msg, "cannot read boilerplate file %s: %s", path,
                 strerror(errno));
        set_err(err, msg);
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}

ps_boilerplate *ps_boilerplate_new(const char *path, char **err)
{
    ps_boilerplate *bp = calloc(1, sizeof *bp);
    if (err != NULL)
        *err = NULL;
    if (bp == NULL) {
        set_err(err, "out of memory");
        return NULL;
    }
    for (size_t i = 0;
         i < sizeof builtin_patterns / sizeof builtin_patterns[0]; i++) {
        if (add_pattern(bp, builtin_patterns[i],
                        strlen(builtin_patterns[i])) != 0) {
            set_err(err, "out of memory");
            ps_boilerplate_free(bp);
            return NULL;
        }
    }
    if (path != NULL && load_file(bp, path, err) != 0) {
        ps_boilerplate_free(bp);
        return NULL;
    }
    return bp;
}

void ps_boilerplate_free(ps_boilerplate *bp)
{
    if (bp == NULL)
        return;
    for (size_t i = 0; i < bp->n; i++)
        free(bp->pats[i].p);
    free(bp->pats);
    free(bp);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the number at t (t[0] is a digit): digits, with single '.',
 * ',' or ' ' separators between digit groups. */
static size_t number_len(const char *t, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (is_digit(t[i])) {
            i++;
        } else if ((t[i] == '.' || t[i] == ',' || t[i] == ' ') &&
                   i + 1 < len && is_digit(t[i + 1])) {
            i++;
        } else {
            break;
        }
    }
    return i;
}

/* Matches a whole normalised text against a pattern: '*' and "<n>"
 * tokens, the rest literal.  Classic greedy matching with backtracking to
 * the last '*': O(len(p) * len(t)) at worst. */
static int glob_match(const char *p, const char *t, size_t tlen)
{
    size_t pi = 0, ti = 0, plen = strlen(p);
    size_t star_p = SIZE_MAX, star_t = 0;

    while (ti < tlen) {
        if (pi < plen && p[pi] == '*') {
            star_p = ++pi;
            star_t = ti;
            continue;
        }
        if (pi + 3 <= plen && memcmp(p + pi, "<n>", 3) == 0 &&
            is_digit(t[ti])) {
            ti += number_len(t + ti, tlen - ti);
            pi += 3;
            continue;
        }
        if (pi < plen && p[pi] == t[ti] &&
            !(pi + 3 <= plen && memcmp(p + pi, "<n>", 3) == 0)) {
            pi++;
            ti++;
            continue;
        }
        if (star_p != SIZE_MAX) {
            pi = star_p;
            ti = ++star_t;
            continue;
        }
        return 0;
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}

/* Trims ASCII white space (and '\r') around line[0..*len). */
static const char *trim(const char *line, size_t *len)
{
    size_t n = *len;
    while (n > 0 && (line[0] == ' ' || line[0] == '\t' || line[0] == '\r' ||
                     line[0] == '\f' || line[0] == '\v')) {
        line++;
        n--;
    }
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' ||
                     line[n - 1] == '\r' || line[n - 1] == '\f' ||
                     line[n - 1] == '\v'))
        n--;
    *len = n;
    return line;
}

int ps_boilerplate_line(const ps_boilerplate *bp, const char *line,
                        size_t len)
{
    char *norm;
    size_t nlen;
    int hit = 0;

    if (bp == NULL || line == NULL)
        return 0;
    line = trim(line, &len);
    if (len == 0 || len > PS_BOILERPLATE_MAX_LINE)
        return 0;
    norm = normalise(line, len);
    if (norm == NULL)
        return 0;       /* out of memory: keep the line */
    nlen = strlen(norm);
    for (size_t i = 0; i < bp->n && !hit; i++) {
        const pattern *pt = &bp->pats[i];
        if (pt->first != 0 && pt->first != norm[0])
            continue;
        if (pt->plain)
            hit = pt->len == nlen && memcmp(pt->p, norm, nlen) == 0;
        else
            hit = glob_match(pt->p, norm, nlen);
    }
    free(norm);
    return hit;
}

/* ---- Body cleaning ---------------------------------------------------- */

/* Set of lines already emitted (open addressing on 64-bit FNV-1a). */
typedef struct line_set {
    struct { const char *p; size_t len; uint64_t h; } *slots;
    size_t cap, n;
} line_set;

static uint64_t fnv1a(const char *p, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* Inserts p[0..len); returns 1 if it was new, 0 if already present, -1 on
 * allocation failure. */
static int line_set_add(line_set *s, const char *p, size_t len)
{
    uint64_t h = fnv1a(p, len);
    size_t i;
    if (s->n * 2 >= s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        line_set bigger = {calloc(ncap, sizeof *s->slots), ncap, 0};
        if (bigger.slots == NULL)
            return -1;
        for (size_t k = 0; k < s->cap; k++) {
            if (s->slots[k].p == NULL)
                continue;
            i = s->slots[k].h & (ncap - 1);
            while (bigger.slots[i].p != NULL)
                i = (i + 1) & (ncap - 1);
            bigger.slots[i] = s->slots[k];
            bigger.n++;
        }
        free(s->slots);
        *s = bigger;
    }
    i = h & (s->cap - 1);
    while (s->slots[i].p != NULL) {
        if (s->slots[i].h == h && s->slots[i].len == len &&
            memcmp(s->slots[i].p, p, len) == 0)
            return 0;
        i = (i + 1) & (s->cap - 1);
    }
    s->slots[i].p = p;
    s->slots[i].len = len;
    s->slots[i].h = h;
    s->n++;
    return 1;
}

/* The line of text[0..len) that starts at *pos, trimmed: returns its
 * start and stores its length in *llen; moves *pos past its '\n' (to len
 * for the last line).  Requires *pos < len. */
static const char *next_line(const char *text, size_t len, size_t *pos,
                             size_t *llen)
{
    const char *nl = memchr(text + *pos, '\n', len - *pos);
    size_t end = nl != NULL ? (size_t)(nl - text) : len;
    *llen = end - *pos;
    const char *line = trim(text + *pos, llen);
    *pos = nl != NULL ? end + 1 : len;
    return line;
}

char *ps_clean_body(const ps_boilerplate *bp, const char *body, size_t len)
{
    size_t clen, o = 0, pos = 0;
    char *text, *out;
    line_set seen = {NULL, 0, 0};
    int pending_blank = 0;

    text = ps_utf8_repair(body != NULL ? body : "", body != NULL ? len : 0,
                          PS_UTF8_NUL_TO_SPACE, &clen, NULL);
    if (text == NULL)
        return NULL;
    out = malloc(clen + 1);
    if (out == NULL) {
        free(text);
        return NULL;
    }
    while (pos < clen) {
        size_t llen;
        const char *line = next_line(text, clen, &pos, &llen);
        if (llen == 0) {
            pending_blank = o > 0;
            continue;
        }
        if (ps_boilerplate_line(bp, line, llen))
            continue;
        switch (line_set_add(&seen, line, llen)) {
        case 0:
            continue;       /* repeated paragraph */
        case -1:
            free(seen.slots);
            free(text);
            free(out);
            return NULL;
        default:
            break;
        }
        if (o > 0)
            out[o++] = '\n';
        if (pending_blank)
            out[o++] = '\n';
        pending_blank = 0;
        memcpy(out + o, line, llen);
        o += llen;
    }
    out[o] = '\0';
    free(seen.slots);
    free(text);
    return out;
}

/* ---- Titles ----------------------------------------------------------- */

static size_t count_words(const char *s, size_t len)
{
    size_t n = 0;
    int in = 0;
    for (size_t i = 0; i < len; i++) {
        int sp = s[i] == ' ' || s[i] == '\t';
        if (!sp && !in)
            n++;
        in = !sp;
    }
    return n;
}

/* malloc'd copy of s[0..len) with inner white space runs squeezed. */
static char *dup_line(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    squeeze_spaces(d);
    return d;
}

/* The first PS_TITLE_FALLBACK_BYTES of a paragraph cut at a word boundary
 * (or at a character boundary for a single huge word), plus "…" when cut. */
static char *cut_title(const char *s, size_t len)
{
    size_t cut, k;
    char *d;
    if (len <= PS_TITLE_FALLBACK_BYTES)
        return dup_line(s, len);
    cut = 0;
    for (k = 1; k <= PS_TITLE_FALLBACK_BYTES; k++)
        if (s[k] == ' ' || s[k] == '\t')
            cut = k;
    if (cut == 0) {
        cut = ps_utf8_cut(s, len, PS_TITLE_FALLBACK_BYTES);
    }
    while (cut > 0 && (s[cut - 1] == ' ' || s[cut - 1] == '\t'))
        cut--;
    d = malloc(cut + sizeof "…");
    if (d == NULL)
        return NULL;
    memcpy(d, s, cut);
    memcpy(d + cut, "…", sizeof "…");
    squeeze_spaces(d);
    return d;
}

char *ps_derive_title(const ps_boilerplate *bp, const char *body, size_t len)
{
    size_t clen, pos = 0;
    char *text, *res;
    const char *first = NULL, *worded = NULL, *para = NULL;
    size_t first_len = 0, worded_len = 0, para_len = 0;

    text = ps_utf8_repair(body != NULL ? body : "", body != NULL ? len : 0,
                          PS_UTF8_NUL_TO_SPACE, &clen, NULL);
    if (text == NULL)
        return NULL;
    while (pos < clen) {
        size_t llen;
        const char *line = next_line(text, clen, &pos, &llen);
        if (llen == 0 || ps_boilerplate_line(bp, line, llen))
            continue;
        if (llen > PS_TITLE_LONG_PARA) {
            para = line;
            para_len = llen;
            break;
        }
        if (first == NULL) {
            first = line;
            first_len = llen;
        }
        if (worded == NULL && count_words(line, llen) >= 3) {
            worded = line;
            worded_len = llen;
            break;
        }
    }
    if (worded != NULL)
        res = dup_line(worded, worded_len);
    else if (first != NULL)
        res = dup_line(first, first_len);
    else if (para != NULL)
        res = cut_title(para, para_len);
    else
        res = strdup("");
    free(text);
    return res;
}
