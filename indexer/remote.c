/* remote.c: batches of documents sent to polysearchd (remote.h). */
#include "remote.h"

#include "batch.h"
#include "docvalid.h"
#include "polysearch-client.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#define CONNECT_TIMEOUT_MS 5000
/* An add is answered after the daemon's commit: allow for a slow disk. */
#define CALL_TIMEOUT_MS 60000
/* A single document over this that breaks the connection is taken to be
 * over the daemon's --max-frame (which closes the connection). */
#define BIG_DOC_BYTES (1024u * 1024u)
/* How long `busy` answers are retried. */
#define BUSY_RETRY_US (10u * 1000u * 1000u)

struct remote {
    char *addr;
    const char *token;      /* NULL: none (owned by the caller) */
    const char *token_from; /* where it came from, for messages */
    psc_client *c;          /* NULL after a broken connection */
    ps_add_batch *b;        /* documents not sent yet, with their `where` */
};

const char *remote_addr(const remote *rm)
{
    return rm->addr;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Logs a refusal for want of a token or of a role (s, code, msg: the
 * failed call's) when it is one, and returns EX_NOPERM; otherwise 0.
 * `what` says what was refused ("a batch of 3 documents"). */
static int refused(const remote *rm, psc_status s, const char *code,
                   const char *msg, const char *what)
{
    if (s != PSC_ERR_SERVER)
        return 0;
    if (strcmp(code, "unauthorized") == 0 && rm->token == NULL)
        ps_log(PS_LOG_ERROR, "the daemon at %s requires an access token "
               "and refused %s: give --token-file FILE or set "
               "POLYSEARCH_TOKEN (unauthorized: %s)", rm->addr, what, msg);
    else if (strcmp(code, "unauthorized") == 0)
        ps_log(PS_LOG_ERROR, "the daemon at %s refused the token of %s: "
               "wrong or revoked (unauthorized: %s)", rm->addr,
               rm->token_from, msg);
    else if (strcmp(code, "forbidden") == 0)
        ps_log(PS_LOG_ERROR, "the daemon at %s refused %s: the token of %s "
               "does not allow it: %s (forbidden; adding and deleting need "
               "the write role)", rm->addr, what, rm->token_from, msg);
    else
        return 0;
    return EX_NOPERM;
}

/* (Re)connects rm->c and sends the token.  Returns 0, or an exit code
 * after logging. */
static int reconnect(remote *rm)
{
    char *err = NULL;
    psc_status s = psc_connect(rm->addr, CONNECT_TIMEOUT_MS, &rm->c, &err);
    if (s != PSC_OK) {
        ps_log(PS_LOG_ERROR, "%s; is polysearchd running there? (--server "
               "ADDR: host:port, [v6]:port or unix:/path)",
               err ? err : psc_status_str(s));
        free(err);
        return s == PSC_ERR_INVALID ? EX_USAGE
             : s == PSC_ERR_NOMEM ? EX_SOFTWARE : EX_UNAVAILABLE;
    }
    psc_set_timeout(rm->c, CALL_TIMEOUT_MS);
    if (rm->token == NULL)
        return 0;
    psc_role role = PSC_ROLE_NONE;
    s = psc_auth(rm->c, rm->token, &role);
    if (s == PSC_OK && role >= PSC_ROLE_WRITE)
        return 0;
    if (s == PSC_OK) {
        /* Refused now rather than at the first batch, after reading. */
        ps_log(PS_LOG_ERROR, "the daemon at %s gives the token of %s the "
               "read role: adding and deleting documents need the write "
               "role (forbidden)", rm->addr, rm->token_from);
        psc_close(rm->c);
        rm->c = NULL;
        return EX_NOPERM;
    }
    const char *code = psc_last_error_code(rm->c);
    const char *msg = psc_last_error_message(rm->c);
    if (s == PSC_ERR_SERVER && strcmp(code, "unknown_method") == 0)
        return 0;   /* a daemon without access control needs no token */
    int rc = refused(rm, s, code, msg, "the connection");
    if (rc == 0) {
        ps_log(PS_LOG_ERROR, "the daemon at %s did not take the token: "
               "%s: %s", rm->addr, code, msg);
        rc = s == PSC_ERR_NOMEM ? EX_SOFTWARE : EX_UNAVAILABLE;
    }
    psc_close(rm->c);
    rm->c = NULL;
    return rc;
}

int remote_open(const char *addr, uint64_t batch, const char *token,
                const char *token_from, remote **out)
{
    *out = NULL;
    remote *rm = calloc(1, sizeof *rm);
    if (rm == NULL || (rm->addr = strdup(addr)) == NULL) {
        free(rm);
        ps_log(PS_LOG_ERROR, "out of memory");
        return EX_SOFTWARE;
    }
    rm->token = token;
    rm->token_from = token_from ? token_from : "the token";
    size_t cap = batch == 0 || batch > REMOTE_MAX_BATCH ? REMOTE_MAX_BATCH
                                                         : (size_t)batch;
    rm->b = ps_add_batch_new(cap, PS_ADD_BATCH_MAX_BYTES);
    int rc = rm->b ? reconnect(rm) : EX_SOFTWARE;
    if (rc == 0 && psc_ping(rm->c) != PSC_OK) {
        ps_log(PS_LOG_ERROR, "%s does not answer ping: %s: %s", addr,
               psc_last_error_code(rm->c), psc_last_error_message(rm->c));
        rc = EX_UNAVAILABLE;
    }
    if (rc != 0) {
        if (rm->b == NULL)
            ps_log(PS_LOG_ERROR, "out of memory");
        remote_close(rm);
        return rc;
    }
    *out = rm;
    return 0;
}

void remote_close(remote *rm)
{
    if (rm == NULL)
        return;
    ps_add_batch_free(rm->b);
    psc_close(rm->c);
    free(rm->addr);
    free(rm);
}

run_sink remote_sink(remote *rm)
{
    run_sink s = { rm, remote_put, remote_flush };
    return s;
}

/* Warns about document i of the batch, which the daemon did not take, and
 * counts it. */
static void doc_failed(remote *rm, size_t i, const char *code,
                       const char *msg, run_stats *st)
{
    ps_log(PS_LOG_WARN, "%s: document \"%s\" rejected by the daemon at %s: "
           "%s%s%s: failed", ps_add_batch_source(rm->b, i),
           ps_add_batch_id(rm->b, i), rm->addr, code,
           msg && msg[0] ? ": " : "", msg ? msg : "");
    st->failed++;
}

static int send_docs(remote *rm, size_t first, size_t n, run_stats *st);

/* Sends documents first..first+n) one per call, after a whole-batch
 * refusal. */
static int send_singly(remote *rm, size_t first, size_t n, run_stats *st)
{
    for (size_t i = first; i < first + n; i++) {
        int rc = send_docs(rm, i, 1, st);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Counts an add answer for documents first..first+n) and logs the
 * commit (a debug line: --verbose). */
static void account(remote *rm, size_t first, size_t n,
                    const psc_add_result *res, run_stats *st)
{
    st->added += res->added;
    st->updated += res->replaced;
    st->unchanged += res->unchanged;
    for (uint32_t i = 0; i < res->nrejected; i++) {
        const psc_rejected *rj = &res->rejected[i];
        if (rj->index < n) {
            doc_failed(rm, first + rj->index, rj->reason, NULL, st);
        } else {
            ps_log(PS_LOG_WARN, "the daemon at %s rejected document index "
                   "%u of a batch of %zu: %s: failed", rm->addr, rj->index,
                   n, rj->reason);
            st->failed++;
        }
    }
    ps_log(PS_LOG_DEBUG, "committed %zu documents (daemon %s: added %llu, "
           "replaced %llu, unchanged %llu, rejected %u)", n, rm->addr,
           (unsigned long long)res->added, (unsigned long long)res->replaced,
           (unsigned long long)res->unchanged, res->nrejected);
}

/* Sends documents first..first+n) of the batch in one add call and waits
 * for the answer, retrying as remote.h says.  Returns 0 or an exit code
 * (logged). */
static int send_docs(remote *rm, size_t first, size_t n, run_stats *st)
{
    char *params = NULL;
    size_t len = 0;
    if (ps_add_batch_params(rm->b, first, n, &params, &len) != 0) {
        ps_log(PS_LOG_ERROR, "out of memory");
        return EX_SOFTWARE;
    }
    int reconnects = 0, rc = 0;
    unsigned pause = 50;
    uint64_t give_up = ps_now_us() + BUSY_RETRY_US;
    for (;;) {
        if (rm->c == NULL && (rc = reconnect(rm)) != 0)
            break;
        psc_add_result *res = NULL;
        psc_status s = psc_add_packed(rm->c, params, len, &res);
        if (s == PSC_OK) {
            account(rm, first, n, res, st);
            psc_add_result_free(res);
            break;
        }
        /* Copies: closing the client frees its error texts. */
        char code[64], msg[512];
        snprintf(code, sizeof code, "%s", psc_last_error_code(rm->c));
        snprintf(msg, sizeof msg, "%s", psc_last_error_message(rm->c));
        if (s == PSC_ERR_NOMEM) {
            ps_log(PS_LOG_ERROR, "out of memory");
            rc = EX_SOFTWARE;
            break;
        }
        if (s == PSC_ERR_SERVER && (strcmp(code, "busy") == 0 ||
                                    strcmp(code, "timeout") == 0) &&
            ps_now_us() < give_up) {
            ps_log(PS_LOG_DEBUG, "daemon %s: %s, retrying in %u ms",
                   rm->addr, code, pause);
            sleep_ms(pause);
            pause = pause < 1000 ? pause * 2 : 1000;
            continue;
        }
        char what[64];
        snprintf(what, sizeof what, "a batch of %zu documents", n);
        if ((rc = refused(rm, s, code, msg, what)) != 0)
            break;
        if (s == PSC_ERR_SERVER && strcmp(code, "unknown_method") == 0) {
            ps_log(PS_LOG_ERROR, "the daemon at %s does not support adding "
                   "documents (%s: %s); index locally with --db instead",
                   rm->addr, code, msg);
            rc = EX_UNAVAILABLE;
            break;
        }
        if (s == PSC_ERR_SERVER || s == PSC_ERR_INVALID) {
            if (strcmp(code, "too_large") == 0) {
                psc_close(rm->c);   /* the daemon closes after too_large */
                rm->c = NULL;
            }
            if (strcmp(code, "busy") == 0 || strcmp(code, "timeout") == 0 ||
                strcmp(code, "unavailable") == 0 ||
                strcmp(code, "internal") == 0) {
                ps_log(PS_LOG_ERROR, "the daemon at %s refused a batch of "
                       "%zu documents: %s: %s; batches reported committed "
                       "are safe", rm->addr, n, code, msg);
                rc = s == PSC_ERR_SERVER && strcmp(code, "busy") == 0
                         ? EX_TEMPFAIL : EX_UNAVAILABLE;
            } else if (n > 1) {
                rc = send_singly(rm, first, n, st);
            } else {
                doc_failed(rm, first, code, msg, st);
            }
            break;
        }
        /* Timeout, broken connection or garbled answer. */
        ps_log(PS_LOG_WARN, "daemon %s: %s: %s", rm->addr, psc_status_str(s),
               msg);
        psc_close(rm->c);
        rm->c = NULL;
        if (n == 1 && ps_add_batch_doc_bytes(rm->b, first) > BIG_DOC_BYTES &&
            reconnects > 0) {
            doc_failed(rm, first, "too_large", "connection closed while "
                       "sending it (larger than the daemon's --max-frame?)",
                       st);
            break;
        }
        if (reconnects++ == 0)
            continue;
        ps_log(PS_LOG_ERROR, "lost the connection to the daemon at %s: the "
               "last %zu documents were not confirmed (batches reported "
               "committed are safe)", rm->addr, n);
        rc = EX_UNAVAILABLE;
        break;
    }
    free(params);
    return rc;
}

int remote_flush(void *ctx, run_stats *st)
{
    remote *rm = ctx;
    size_t n = ps_add_batch_count(rm->b);
    if (n == 0)
        return 0;
    int rc = send_docs(rm, 0, n, st);
    ps_add_batch_clear(rm->b);
    return rc;
}

int remote_put(void *ctx, const ps_doc_in *d, const char *where,
               run_stats *st)
{
    remote *rm = ctx;
    const char *f[PS_DOC_NKEYS] = { d->id, d->title, d->body, d->lang,
                                    d->date, d->url };
    where = where ? where : "?";
    /* What goes over the network follows the strict rules (docvalid.h);
     * the lenient reading of files happened before. */
    char why[PS_DOC_REASON_MAX];
    if (ps_doc_check(f, 0, why, sizeof why) != 0) {
        ps_log(PS_LOG_WARN, "%s: %s: failed", where, why);
        st->failed++;
        return 0;
    }
    ps_add_batch_status bs = ps_add_batch_add(rm->b, f, where);
    if (bs == PS_ADD_BATCH_FULL) {
        int rc = remote_flush(rm, st);
        if (rc != 0)
            return rc;
        bs = ps_add_batch_add(rm->b, f, where);
    }
    if (bs != PS_ADD_BATCH_OK) {
        ps_log(PS_LOG_ERROR, "out of memory");
        return EX_SOFTWARE;
    }
    return ps_add_batch_full(rm->b) ? remote_flush(rm, st) : 0;
}

int remote_delete(remote *rm, const char *const *ids, size_t n,
                  uint64_t *deleted, uint64_t *not_found)
{
    int reconnects = 0;
    unsigned pause = 50;
    uint64_t give_up = ps_now_us() + BUSY_RETRY_US;
    for (;;) {
        int rc;
        if (rm->c == NULL && (rc = reconnect(rm)) != 0)
            return rc;
        psc_status s = psc_delete(rm->c, ids, n, deleted, not_found);
        if (s == PSC_OK)
            return 0;
        /* Copies: closing the client frees its error texts. */
        char code[64], msg[512];
        snprintf(code, sizeof code, "%s", psc_last_error_code(rm->c));
        snprintf(msg, sizeof msg, "%s", psc_last_error_message(rm->c));
        if (s == PSC_ERR_SERVER && (strcmp(code, "busy") == 0 ||
                                    strcmp(code, "timeout") == 0) &&
            ps_now_us() < give_up) {
            sleep_ms(pause);
            pause = pause < 1000 ? pause * 2 : 1000;
            continue;
        }
        char what[64];
        snprintf(what, sizeof what, "deleting %zu documents", n);
        if ((rc = refused(rm, s, code, msg, what)) != 0)
            return rc;
        if (s == PSC_ERR_SERVER || s == PSC_ERR_INVALID ||
            s == PSC_ERR_NOMEM) {
            ps_log(PS_LOG_ERROR, "the daemon at %s refused to delete %zu "
                   "documents: %s: %s", rm->addr, n, code, msg);
            return s == PSC_ERR_NOMEM ? EX_SOFTWARE
                 : strcmp(code, "busy") == 0 ? EX_TEMPFAIL : EX_UNAVAILABLE;
        }
        psc_close(rm->c);
        rm->c = NULL;
        if (reconnects++ == 0)
            continue;
        ps_log(PS_LOG_ERROR, "lost the connection to the daemon at %s while "
               "deleting %zu documents: %s: %s", rm->addr, n,
               psc_status_str(s), msg);
        return EX_UNAVAILABLE;
    }
}
