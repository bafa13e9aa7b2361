/* proto_sphinxql.c: Sphinx's SphinxQL listener (MySQL client/server
 * protocol 4.1, text protocol, EOF packets) for ps-loadgen.  Sends
 *   SELECT id FROM <index> WHERE MATCH('<query>') LIMIT <limit>
 * and counts the rows of the result set.  The query is translated from
 * polysearch syntax: a bare OR between words becomes Sphinx's '|', double
 * quotes stay phrase quotes (escaped when unbalanced) and Sphinx's other
 * operator characters are escaped.  Responses come in order, so the reply
 * msgid is the oldest request's (tracked here).  Contract in lg_proto.h.
 */
#include "lg_proto.h"

#include <stdio.h>
#include <string.h>

const char *lg_sphinxql_index = "ps";

enum { SQ_GREETING, SQ_AUTH, SQ_IDLE, SQ_COLUMNS, SQ_ROWS };

#define SQ_MAX_INFLIGHT 1

typedef struct sq_state {
    int phase;
    uint64_t columns_left;
    uint32_t rows;
    uint32_t pending_id;    /* msgid of the request being answered */
} sq_state;

static int sq_on_connect(void *st, lg_buf *out)
{
    (void)out;
    sq_state *s = st;
    s->phase = SQ_GREETING;
    return 0;
}

/* Appends the MATCH() text for q: SQL-escaped Sphinx extended syntax. */
static int append_match(lg_buf *out, const char *q)
{
    size_t quotes = 0;
    for (const char *p = q; *p; p++)
        quotes += *p == '"';
    const char *special = "\\()|-!@~&/^$=<";
    for (const char *p = q; *p; p++) {
        /* " OR " between words -> " | " */
        if (p != q && p[-1] == ' ' && p[0] == 'O' && p[1] == 'R'
            && p[2] == ' ') {
            if (lg_buf_append(out, "|", 1) != 0)
                return -1;
            p++;
            continue;
        }
        char c = *p;
        if (c == '\'') {
            /* SQL-escaped quote (a word separator for Sphinx) */
            if (lg_buf_append(out, "\\'", 2) != 0)
                return -1;
        } else if ((c == '"' && quotes % 2 == 1)
                   || (c != '\0' && strchr(special, c))) {
            if (lg_buf_append(out, "\\\\", 2) != 0 || lg_buf_append(out, &c, 1) != 0)
                return -1;
        } else if (lg_buf_append(out, &c, 1) != 0) {
            return -1;
        }
    }
    return 0;
}

static int sq_encode(void *st, uint32_t msgid, const char *q, uint32_t limit,
                     int snippet, lg_buf *out)
{
    (void)snippet;  /* SphinxQL SELECT returns no snippets */
    sq_state *s = st;
    size_t start = out->len;
    char tail[64];
    if (lg_buf_append(out, "\0\0\0\0\x03", 5) != 0)
        return -1;
    const char *head = "SELECT id FROM ";
    if (lg_buf_append(out, head, strlen(head)) != 0
        || lg_buf_append(out, lg_sphinxql_index, strlen(lg_sphinxql_index)) != 0
        || lg_buf_append(out, " WHERE MATCH('", 14) != 0
        || append_match(out, q) != 0)
        return -1;
    int n = snprintf(tail, sizeof tail, "') LIMIT %u", limit);
    if (n < 0 || lg_buf_append(out, tail, (size_t)n) != 0)
        return -1;
    size_t plen = out->len - start - 4;
    if (plen >= 0xffffff)
        return -1;
    out->data[start] = (uint8_t)(plen & 0xff);
    out->data[start + 1] = (uint8_t)((plen >> 8) & 0xff);
    out->data[start + 2] = (uint8_t)((plen >> 16) & 0xff);
    out->data[start + 3] = 0;   /* sequence id */
    s->pending_id = msgid;
    return 0;
}

/* Appends the HandshakeResponse41 packet (sequence 1, user "bench", no
 * password: SphinxQL does not authenticate). */
static int send_auth(lg_buf *out)
{
    uint8_t p[4 + 39];
    memset(p, 0, sizeof p);
    p[0] = 39; p[3] = 1;
    uint32_t caps = 0x00000001u | 0x00000200u | 0x00008000u;
    p[4] = (uint8_t)caps; p[5] = (uint8_t)(caps >> 8);
    p[6] = (uint8_t)(caps >> 16); p[7] = (uint8_t)(caps >> 24);
    p[10] = 0x00; p[11] = 0x01;        /* max packet 16 MiB */
    p[12] = 33;                        /* utf8_general_ci */
    memcpy(p + 36, "bench", 6);        /* user + NUL; auth length 0 */
    return lg_buf_append(out, p, sizeof p);
}

/* Reads a length-encoded integer; returns bytes used or 0 when invalid. */
static size_t lenenc(const uint8_t *p, size_t len, uint64_t *v)
{
    if (len < 1)
        return 0;
    if (p[0] < 0xfb) { *v = p[0]; return 1; }
    unsigned n = p[0] == 0xfc ? 2 : p[0] == 0xfd ? 3 : p[0] == 0xfe ? 8 : 0;
    if (n == 0 || len < 1 + n)
        return 0;
    *v = 0;
    for (unsigned i = 0; i < n; i++)
        *v |= (uint64_t)p[1 + i] << (8 * i);
    return 1 + n;
}

static void copy_error(lg_reply *reply, const uint8_t *pl, size_t plen)
{
    /* 0xff, code(2), '#', sqlstate(5), message */
    size_t skip = plen > 9 && pl[3] == '#' ? 9 : 3;
    size_t n = plen > skip ? plen - skip : 0;
    if (n > sizeof reply->error - 1)
        n = sizeof reply->error - 1;
    memcpy(reply->error, pl + skip, n);
    reply->error[n] = '\0';
}

static int sq_parse(void *st, const uint8_t *in, size_t len, size_t *consumed,
                    lg_reply *reply, lg_buf *out)
{
    sq_state *s = st;
    *consumed = 0;
    if (len < 4)
        return LG_P_NEED_MORE;
    size_t plen = (size_t)in[0] | (size_t)in[1] << 8 | (size_t)in[2] << 16;
    if (len < 4 + plen)
        return LG_P_NEED_MORE;
    const uint8_t *pl = in + 4;
    *consumed = 4 + plen;
    int is_eof = plen >= 1 && plen < 9 && pl[0] == 0xfe;
    int is_err = plen >= 3 && pl[0] == 0xff;

    switch (s->phase) {
    case SQ_GREETING:
        if (is_err || plen < 1 || send_auth(out) != 0)
            return LG_P_ERROR;
        s->phase = SQ_AUTH;
        return LG_P_AGAIN;
    case SQ_AUTH:
        if (plen < 1 || pl[0] != 0x00)
            return LG_P_ERROR;
        s->phase = SQ_IDLE;
        return LG_P_READY;
    case SQ_IDLE:
        memset(reply, 0, sizeof *reply);
        reply->msgid = s->pending_id;
        if (is_err) {
            reply->is_error = 1;
            copy_error(reply, pl, plen);
            return LG_P_REPLY;
        }
        if (plen >= 1 && pl[0] == 0x00)
            return LG_P_REPLY;          /* OK packet: no result set */
        if (lenenc(pl, plen, &s->columns_left) == 0 || s->columns_left == 0)
            return LG_P_ERROR;
        s->rows = 0;
        s->phase = SQ_COLUMNS;
        return LG_P_AGAIN;
    case SQ_COLUMNS:
        if (s->columns_left > 0) {
            if (is_err)
                return LG_P_ERROR;
            s->columns_left--;
            return LG_P_AGAIN;
        }
        if (!is_eof)
            return LG_P_ERROR;
        s->phase = SQ_ROWS;
        return LG_P_AGAIN;
    case SQ_ROWS:
        if (is_eof || is_err) {
            memset(reply, 0, sizeof *reply);
            reply->msgid = s->pending_id;
            reply->hits = s->rows;
            if (is_err) {
                reply->is_error = 1;
                copy_error(reply, pl, plen);
            }
            s->phase = SQ_IDLE;
            return LG_P_REPLY;
        }
        s->rows++;
        return LG_P_AGAIN;
    }
    return LG_P_ERROR;
}

static void sq_destroy(void *st)
{
    (void)st;
}

const lg_proto lg_proto_sphinxql = {
    .name = "sphinxql",
    .state_size = sizeof(sq_state),
    .max_depth = SQ_MAX_INFLIGHT,
    .on_connect = sq_on_connect,
    .encode = sq_encode,
    .parse = sq_parse,
    .destroy = sq_destroy,
};
