/* access.c: access control of polysearchd (access.h). */
#include "access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "conn.h"
#include "listener.h"
#include "methods.h"
#include "rpc.h"
#include "stats.h"
#include "util.h"

#define REALM "Bearer realm=\"polysearch\""

/* A refused job waiting for its delayed answer. */
typedef struct access_held {
    struct access_held *prev, *next;
    server *s;
    job *j;
    struct event *ev;
} access_held;

auth_role access_method_role(const char *name)
{
    static const struct { const char *m; auth_role r; } table[] = {
        {"ping", AUTH_NONE}, {"auth", AUTH_NONE},
        {"search", AUTH_READ}, {"get", AUTH_READ}, {"stats", AUTH_READ},
        {"subscribe", AUTH_READ}, {"unsubscribe", AUTH_READ},
        {"subscriptions", AUTH_READ}, {"synonyms", AUTH_READ},
        {"add", AUTH_WRITE}, {"delete", AUTH_WRITE},
        {"reload", AUTH_ADMIN},
    };
    if (!name) return AUTH_NONE;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].m, name) == 0) return table[i].r;
    return AUTH_ADMIN;
}

int access_check_exposure(const searchd_config *c)
{
    if (c->auth_token_file || c->read_only) return -1;
    const char *const *lists[2] = {c->listen, c->http};
    const unsigned counts[2] = {c->nlisten, c->nhttp};
    const char *flags[2] = {"--listen", "--http"};
    for (int k = 0; k < 2; k++)
        for (unsigned i = 0; i < counts[k]; i++) {
            if (listener_addr_is_loopback(lists[k][i]) != 0) continue;
            ps_log(PS_LOG_ERROR, "%s %s is not a loopback address, and "
                   "without --auth-token-file anyone who can reach it could "
                   "add and delete documents: give --auth-token-file FILE "
                   "(tokens with roles), or --read-only, or listen on "
                   "127.0.0.1 or [::1] only", flags[k], lists[k][i]);
            return EX_CONFIG;
        }
    return -1;
}

int access_open(server *s)
{
    const char *path = s->cfg->auth_token_file;
    if (!path) return -1;
    char err[512];
    int rc = auth_tokens_load(path, &s->tokens, err, sizeof err);
    if (rc != 0) {
        ps_log(PS_LOG_ERROR, "--auth-token-file: %s", err);
        return rc;
    }
    size_t n = auth_tokens_count(s->tokens);
    ps_log(PS_LOG_INFO, "access control: %zu token%s from %s", n,
           n == 1 ? "" : "s", path);
    return -1;
}

auth_role access_conn_role(const server *s)
{
    return s->tokens ? AUTH_NONE : AUTH_ADMIN;
}

/* Finds the "token" key in params ([{...}]): returns its index in the
 * map, or -1 (none, or params not of that shape: the method's parse
 * says what is wrong). */
static int token_index(const msgpack_object *params)
{
    if (params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size != 1)
        return -1;
    const msgpack_object *m = &params->via.array.ptr[0];
    if (m->type != MSGPACK_OBJECT_MAP) return -1;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        const char *p = NULL;
        uint32_t n = 0;
        if (k->type == MSGPACK_OBJECT_STR) { p = k->via.str.ptr; n = k->via.str.size; }
        else if (k->type == MSGPACK_OBJECT_BIN) { p = k->via.bin.ptr; n = k->via.bin.size; }
        if (p && n == 5 && memcmp(p, "token", 5) == 0) return (int)i;
    }
    return -1;
}

/* *out = params without the map entry at index ti, in j's zone.
 * Returns 0 or -1 (out of memory). */
static int without_token(job *j, const msgpack_object *params, int ti,
                         msgpack_object *out)
{
    const msgpack_object *m = &params->via.array.ptr[0];
    uint32_t n = m->via.map.size - 1;
    msgpack_object *map = msgpack_zone_malloc(j->zone, sizeof *map);
    msgpack_object_kv *kv = msgpack_zone_malloc(j->zone, (n ? n : 1) * sizeof *kv);
    if (!map || !kv) return -1;
    for (uint32_t i = 0, o = 0; i < m->via.map.size; i++)
        if ((int)i != ti) kv[o++] = m->via.map.ptr[i];
    *map = *m;
    map->via.map.size = n;
    map->via.map.ptr = kv;
    *out = *params;
    out->via.array.ptr = map;
    return 0;
}

/* The unauthorized or forbidden refusal of a request that has role have
 * for an operation (what) needing need.  Returns the searchd_err. */
static int refuse(job *j, const char *what, auth_role need, auth_role have,
                  const char *how)
{
    if (have == AUTH_NONE) {
        snprintf(j->errmsg, sizeof j->errmsg, "%s needs a token with the %s "
                 "role: %s", what, auth_role_name(need), how);
        return ERR_UNAUTHORIZED;
    }
    snprintf(j->errmsg, sizeof j->errmsg, "%s needs the %s role; this token "
             "has the %s role", what, auth_role_name(need), auth_role_name(have));
    return ERR_FORBIDDEN;
}

/* A wrong token: counted, logged (never quoted), unauthorized. */
static int wrong_token(server *s, job *j, const char *front, int *failed)
{
    s->auth_failures++;
    *failed = 1;
    ps_log(PS_LOG_WARN, "%s: wrong token (%llu failed attempts since start): "
           "answered after %u ms, then closed", front,
           (unsigned long long)s->auth_failures, ACCESS_FAIL_DELAY_MS);
    snprintf(j->errmsg, sizeof j->errmsg, "wrong token (answered after a "
             "delay; the connection closes)");
    return ERR_UNAUTHORIZED;
}

int access_rpc(server *s, auth_role *conn_role, char *conn_principal,
               const method *me, const msgpack_object *params, job *j,
               msgpack_object *out, int *failed)
{
    *failed = 0;
    *out = *params;
    int is_auth = strcmp(me->name, "auth") == 0;
    int ti = token_index(params);
    const msgpack_object *tok = NULL;
    if (ti >= 0) {
        tok = &params->via.array.ptr[0].via.map.ptr[ti].val;
        if (tok->type != MSGPACK_OBJECT_STR) {
            snprintf(j->errmsg, sizeof j->errmsg, "token must be a string");
            return ERR_BAD_REQUEST;
        }
        if (without_token(j, params, ti, out) != 0) {
            snprintf(j->errmsg, sizeof j->errmsg, "out of memory");
            return ERR_INTERNAL;
        }
    }
    if (is_auth && !tok) {
        snprintf(j->errmsg, sizeof j->errmsg, "auth needs {token}");
        return ERR_BAD_REQUEST;
    }
    if (!s->tokens) {           /* access control off: everything allowed */
        j->role = AUTH_ADMIN;
        return -1;
    }
    auth_role have = *conn_role;
    memcpy(j->principal, conn_principal, sizeof j->principal);
    if (tok) {
        have = auth_tokens_match(s->tokens, tok->via.str.ptr, tok->via.str.size,
                                 j->principal);
        if (have == AUTH_NONE)
            return wrong_token(s, j, "MessagePack-RPC", failed);
        if (is_auth) {
            *conn_role = have;
            memcpy(conn_principal, j->principal, sizeof j->principal);
        }
    }
    j->role = (int)have;
    auth_role need = access_method_role(me->name);
    if (have >= need) return -1;
    return refuse(j, me->name, need, have, "call auth {token} first, or pass "
                  "token with the call");
}

/* 1 when the query string q names a token parameter (its key, percent-
 * decoded, is token, access_token or api_key in any case). */
static int query_has_token(const char *q)
{
    static const char *const keys[] = {"token", "access_token", "api_key",
                                       "apikey", "auth", "bearer"};
    while (q && *q) {
        size_t n = strcspn(q, "&;");
        size_t kn = strcspn(q, "=&;");
        if (kn > n) kn = n;
        char key[32];
        if (kn < sizeof key) {
            memcpy(key, q, kn);
            key[kn] = '\0';
            char *dec = evhttp_uridecode(key, 1, NULL);
            for (size_t i = 0; dec && i < sizeof keys / sizeof keys[0]; i++)
                if (strcasecmp(dec, keys[i]) == 0) { free(dec); return 1; }
            free(dec);
        }
        q += n;
        if (*q) q++;
    }
    return 0;
}

int access_http(server *s, struct evhttp_request *req, const char *rpc,
                job *j, int *failed)
{
    *failed = 0;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    if (query_has_token(u ? evhttp_uri_get_query(u) : NULL)) {
        snprintf(j->errmsg, sizeof j->errmsg, "a token in the URL is refused "
                 "and was not used (URLs end up in logs and histories): send "
                 "it as Authorization: Bearer TOKEN, and replace it if it was "
                 "real");
        return ERR_BAD_REQUEST;
    }
    if (!s->tokens) return -1;
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
                                       "Authorization");
    auth_role have = AUTH_NONE, need = access_method_role(rpc);
    if (h) {
        while (*h == ' ' || *h == '\t') h++;
        if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t')) {
            evhttp_add_header(oh, "WWW-Authenticate", REALM ", error=\"invalid_request\"");
            snprintf(j->errmsg, sizeof j->errmsg, "only Bearer tokens are "
                     "accepted: Authorization: Bearer TOKEN");
            return ERR_UNAUTHORIZED;
        }
        const char *t = h + 7;
        while (*t == ' ' || *t == '\t') t++;
        size_t n = strlen(t);
        while (n && (t[n - 1] == ' ' || t[n - 1] == '\t')) n--;
        have = auth_tokens_match(s->tokens, t, n, j->principal);
        if (have == AUTH_NONE) {
            evhttp_add_header(oh, "WWW-Authenticate", REALM ", error=\"invalid_token\"");
            evhttp_add_header(oh, "Connection", "close");
            return wrong_token(s, j, "HTTP", failed);
        }
    }
    j->role = (int)have;
    if (have >= need) return -1;
    int e = refuse(j, rpc ? rpc : "this route", need, have,
                   "send Authorization: Bearer TOKEN");
    evhttp_add_header(oh, "WWW-Authenticate", e == ERR_FORBIDDEN
                      ? REALM ", error=\"insufficient_scope\"" : REALM);
    return e;
}

static void held_unlink(server *s, access_held *h)
{
    if (h->prev) h->prev->next = h->next; else s->auth_held = h->next;
    if (h->next) h->next->prev = h->prev;
}

static void held_cb(evutil_socket_t fd, short what, void *arg)
{
    access_held *h = arg;
    server *s = h->s;
    job *j = h->j;
    (void)fd;
    (void)what;
    held_unlink(s, h);
    event_free(h->ev);
    free(h);
    conn_job_back(s, j);
}

int access_delay(server *s, job *j)
{
    access_held *h = calloc(1, sizeof *h);
    if (!h) return -1;
    h->s = s;
    h->j = j;
    h->ev = evtimer_new(s->base, held_cb, h);
    struct timeval tv = { ACCESS_FAIL_DELAY_MS / 1000,
                          (ACCESS_FAIL_DELAY_MS % 1000) * 1000 };
    if (!h->ev || evtimer_add(h->ev, &tv) != 0) {
        if (h->ev) event_free(h->ev);
        free(h);
        return -1;
    }
    h->next = s->auth_held;
    if (h->next) h->next->prev = h;
    s->auth_held = h;
    return 0;
}

void access_free(server *s)
{
    while (s->auth_held) {
        access_held *h = s->auth_held;
        held_unlink(s, h);
        event_free(h->ev);
        job_free(h->j);
        free(h);
    }
    auth_tokens_free(s->tokens);
    s->tokens = NULL;
}

int access_auth_finish(job *j, msgpack_packer *pk, server *s)
{
    (void)s;
    return ps_rpc_pack_str(pk, auth_role_name((auth_role)j->role));
}

int access_reload(server *s, char *err, size_t errlen)
{
    const char *path = s->cfg->auth_token_file;
    if (!path) return 0;
    auth_tokens *t = NULL;
    if (auth_tokens_load(path, &t, err, errlen) != 0) return -1;
    auth_tokens_free(s->tokens);
    s->tokens = t;
    size_t n = auth_tokens_count(t);
    ps_log(PS_LOG_INFO, "access control: %zu token%s reloaded from %s", n,
           n == 1 ? "" : "s", path);
    return 0;
}

int access_reload_io(job *j, server *s)
{
    char err[512];
    if (access_reload(s, err, sizeof err) != 0) {
        ps_log(PS_LOG_ERROR, "reload: --auth-token-file: %s (the old tokens "
               "stay)", err);
        snprintf(j->errmsg, sizeof j->errmsg, "the token file was not "
                 "reloaded (the old tokens stay): %s", err);
        return ERR_UNAVAILABLE;
    }
    workers_hup(s->pool);
    j->ndocs = auth_tokens_count(s->tokens);
    return -1;
}

int access_reload_finish(job *j, msgpack_packer *pk, server *s)
{
    (void)s;
    msgpack_pack_map(pk, 1);
    msgpack_pack_str_with_body(pk, "tokens", 6);
    return msgpack_pack_uint64(pk, j->ndocs);
}
