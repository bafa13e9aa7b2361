/* docvalid.c: the document rules (docvalid.h, docs/PROTOCOL.md "Document
 * rules"). */
#include "docvalid.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isodate.h"
#include "lang.h"

static const char *const key_names[PS_DOC_NKEYS] = {
    "id", "title", "body", "lang", "date", "url"
};

/* Most bytes of a caller's value quoted in a reason. */
#define QUOTE_MAX 64u

const char *ps_doc_key_name(ps_doc_key k)
{
    return (unsigned)k < PS_DOC_NKEYS ? key_names[k] : NULL;
}

ps_doc_key ps_doc_key_find(const char *name, size_t len)
{
    if (name == NULL)
        return PS_DOC_NKEYS;
    for (unsigned k = 0; k < PS_DOC_NKEYS; k++)
        if (strlen(key_names[k]) == len && memcmp(key_names[k], name, len) == 0)
            return (ps_doc_key)k;
    return PS_DOC_NKEYS;
}

/* Writes s[0..len) (valid UTF-8) in single quotes into out, cut to at
 * most QUOTE_MAX bytes at a character boundary and marked "..." when cut. */
static void quote(char *out, size_t outsz, const char *s, size_t len)
{
    size_t n = ps_utf8_cut(s, len, QUOTE_MAX);
    snprintf(out, outsz, "'%.*s%s'", (int)n, s, n < len ? "..." : "");
}

static int say(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int say(char *why, size_t whysz, const char *fmt, ...)
{
    if (whysz > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whysz, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ps_date_normalize() wants a C string: copies s[0..len) when needed. */
static int date_valid(const char *s, size_t len, int *nomem)
{
    char small[64], key[PS_DATE_KEY_LEN + 1];
    char *buf = small;
    if (len >= sizeof small && (buf = malloc(len + 1)) == NULL) {
        *nomem = 1;
        return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    int ok = ps_date_normalize(buf, 0, key) == 0;
    if (buf != small)
        free(buf);
    return ok;
}

int ps_doc_check_value(ps_doc_key k, const char *s, size_t len,
                       uint64_t max_body, char *why, size_t whysz)
{
    const char *name = ps_doc_key_name(k);
    char q[QUOTE_MAX + 8];
    if (name == NULL)
        return say(why, whysz, "unknown key");
    if (s == NULL && len > 0)
        return say(why, whysz, "\"%s\" must be a string", name);
    if (k == PS_DOC_ID && len == 0)
        return say(why, whysz, "empty \"id\"");
    if (k == PS_DOC_ID && len > PS_DOC_MAX_ID)
        return say(why, whysz, "\"id\" is %zu bytes (at most %u allowed)",
                   len, PS_DOC_MAX_ID);
    if (k == PS_DOC_BODY && max_body > 0 && len > max_body)
        return say(why, whysz, "\"body\" is %zu bytes (at most %llu "
                   "allowed: max_body)", len, (unsigned long long)max_body);
    if (!ps_utf8_valid(s, len))
        return say(why, whysz, "\"%s\" is not valid UTF-8 or contains a "
                   "NUL byte", name);
    if (k == PS_DOC_LANG && len > 0) {
        char code[8];
        int ok = len < sizeof code;
        if (ok) {
            memcpy(code, s, len);
            code[len] = '\0';
            ok = ps_lang_valid(code);
        }
        if (!ok) {
            quote(q, sizeof q, s, len);
            return say(why, whysz, "unsupported language code %s", q);
        }
    }
    if (k == PS_DOC_DATE && len > 0) {
        int nomem = 0;
        if (!date_valid(s, len, &nomem)) {
            if (nomem)
                return say(why, whysz, "out of memory");
            quote(q, sizeof q, s, len);
            return say(why, whysz, "invalid ISO 8601 date %s", q);
        }
    }
    return 0;
}

int ps_doc_check(const char *const f[PS_DOC_NKEYS], uint64_t max_body,
                 char *why, size_t whysz)
{
    ps_docv v;
    ps_docv_init(&v, PS_DOC_STRICT, max_body);
    for (unsigned k = 0; k < PS_DOC_NKEYS; k++)
        if (f[k] != NULL)
            ps_docv_set(&v, key_names[k], strlen(key_names[k]), PS_DOC_V_STR,
                        f[k], strlen(f[k]));
    int rc = ps_docv_finish(&v);
    if (rc != 0 && whysz > 0)
        snprintf(why, whysz, "%s", v.reason);
    ps_docv_clear(&v);
    return rc;
}

/* ---- Repair ------------------------------------------------------------ */

char *ps_doc_text_repair(const char *s, size_t len, size_t *nul,
                         size_t *bad, size_t *outlen)
{
    if (nul != NULL) {
        size_t nnul = 0;
        for (size_t i = 0; i < len; i++)
            nnul += s[i] == '\0';
        *nul = nnul;
    }
    return ps_utf8_repair(s, len, PS_UTF8_NUL_TO_SPACE, outlen, bad);
}

/* ---- One document, key by key ------------------------------------------ */

void ps_docv_init(ps_docv *v, unsigned flags, uint64_t max_body)
{
    memset(v, 0, sizeof *v);
    v->flags = flags;
    v->max_body = max_body;
}

/* Refuses the document for this reason unless it already was. */
static int refuse(ps_docv *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int refuse(ps_docv *v, const char *fmt, ...)
{
    if (!v->bad) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->reason, sizeof v->reason, fmt, ap);
        va_end(ap);
        v->bad = 1;
    }
    return -1;
}

/* An unknown key: skipped (counted) or refused. */
static int unknown_key(ps_docv *v, const char *key, size_t klen)
{
    int printable = key != NULL && ps_utf8_valid(key, klen);
    char q[QUOTE_MAX + 8];
    if (printable)
        quote(q, sizeof q, key, klen);
    if (v->flags & PS_DOC_IGNORE_UNKNOWN) {
        if (v->unknown_ignored++ == 0)
            snprintf(v->first_unknown, sizeof v->first_unknown, "%s",
                     printable ? q : "(a key that is not a string)");
        return 0;
    }
    if (!printable)
        return refuse(v, "a key is not a valid string");
    return refuse(v, "unknown key %s (known: id, title, body, lang, date, "
                  "url)", q);
}

int ps_docv_set(ps_docv *v, const char *key, size_t klen, ps_doc_vtype t,
                const char *s, size_t len)
{
    ps_doc_key k = ps_doc_key_find(key, klen);
    if (k == PS_DOC_NKEYS)
        return unknown_key(v, key, klen);
    const char *name = key_names[k];
    if (v->seen & (1u << k))
        return refuse(v, "\"%s\" given twice", name);
    v->seen |= 1u << k;
    if (t == PS_DOC_V_NULL)
        return 0;
    if (t != PS_DOC_V_STR || (s == NULL && len > 0))
        return refuse(v, "\"%s\" must be a string", name);
    if ((v->flags & PS_DOC_LENIENT_UTF8) && !ps_utf8_valid(s, len)) {
        size_t nul = 0, bad = 0, n = 0;
        char *fixed = ps_doc_text_repair(s, len, &nul, &bad, &n);
        if (fixed == NULL)
            return refuse(v, "out of memory");
        v->owned[k] = fixed;
        v->nul_repaired += nul;
        v->utf8_repaired += bad;
        s = fixed;
        len = n;
    }
    char why[PS_DOC_REASON_MAX];
    if (ps_doc_check_value(k, s, len, v->max_body, why, sizeof why) != 0)
        return refuse(v, "%s", why);
    v->val[k] = s != NULL ? s : "";
    v->len[k] = len;
    return 0;
}

int ps_docv_finish(ps_docv *v)
{
    if (v->val[PS_DOC_ID] == NULL)
        refuse(v, "missing \"id\"");
    else if (v->val[PS_DOC_BODY] == NULL)
        refuse(v, "missing \"body\"");
    return v->bad ? -1 : 0;
}

const char *ps_docv_reason(const ps_docv *v)
{
    return v->reason;
}

const char *ps_docv_get(const ps_docv *v, ps_doc_key k, size_t *len)
{
    if ((unsigned)k >= PS_DOC_NKEYS || v->val[k] == NULL) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = v->len[k];
    return v->val[k];
}

void ps_docv_clear(ps_docv *v)
{
    for (unsigned k = 0; k < PS_DOC_NKEYS; k++)
        free(v->owned[k]);
    ps_docv_init(v, PS_DOC_STRICT, 0);
}
