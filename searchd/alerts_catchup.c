/* alerts_catchup.c: the alert thread's catch-ups (see alerts.h): the
 * documents with a seq above a point, found in the database (main +
 * delta) rather than in a write group: a subscribe with resume_from, and
 * the changes another writer (a local polysearch-index) committed.  Also
 * the writer's group epoch, which a resume waits on so that a group in
 * flight when the subscription was registered is not missed. */
#include "alerts_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "methods.h"
#include "stats.h"
#include "util.h"

/* ---- the writer's groups, counted ------------------------------------- */

void alerts_group_begin(alerts *a)
{
    if (a) atomic_fetch_add(&a->g_begun, 1);
}

void alerts_group_end(alerts *a)
{
    if (a) atomic_fetch_add(&a->g_ended, 1);
}

uint64_t alerts_epoch(alerts *a)
{
    return a ? atomic_load(&a->g_begun) : 0;
}

/* Waits (bounded) until the writer ended every group begun before
 * epoch. */
static void wait_groups(alerts *a, uint64_t epoch)
{
    for (int i = 0; i < 30000 && atomic_load(&a->g_ended) < epoch; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&a->g_ended) < epoch)
        ps_log(PS_LOG_WARN, "alerts: a write group took over 30 s: a resume's "
               "catch-up runs without it (its matches may be missed)");
}

/* ---- catching up ------------------------------------------------------- */

/* The thread's read handle, reopened to the latest commit (attached to
 * the delta in log mode).  NULL, with the reason in why, when it cannot
 * be opened. */
static ps_db *catchup_db(alerts *a, char *why, size_t whylen)
{
    if (!a->db) {
        char *msg = NULL;
        ps_status st = searchd_config_open_db(a->cfg, PS_DB_READ, &a->db, &msg);
        if (st == PS_OK && a->delta) st = ps_db_attach_delta(a->db, a->delta);
        if (st != PS_OK) {
            snprintf(why, whylen, "cannot open the database for a catch-up: %s",
                     msg ? msg : ps_status_str(st));
            free(msg);
            ps_db_close(a->db);
            a->db = NULL;
            return NULL;
        }
        free(msg);
        return a->db;
    }
    if (ps_db_reopen(a->db, NULL) != PS_OK)
        ps_log(PS_LOG_WARN, "alerts: reopen before a catch-up failed: %s",
               ps_db_errmsg(a->db));
    return a->db;
}

void alerts_catchup_close(alerts *a)
{
    ps_db_close(a->db);
    a->db = NULL;
}

/* The catch-up of as over seqs in (after, upto] (upto 0: all) into b: at
 * most --resume-max notes by seq, then a lagged note for the rest; the
 * floor moves to the highest seq found.  Returns PS_OK or the failure
 * (message in why). */
static ps_status catch_up(alerts *a, ps_db *db, asub *as, uint64_t after, uint64_t upto,
                          alert_batch *b, char *why, size_t whylen)
{
    ps_query q;
    memset(&q, 0, sizeof q);
    q.q = as->q;
    q.lang = as->lang;
    q.date_from = as->date_from;
    q.no_synonyms = as->no_synonyms;
    q.max_query = a->cfg->max_query;
    q.max_wildcard = a->cfg->max_wildcard;
    if (as->floor > after) after = as->floor;
    size_t before = b->n;
    uint64_t total = 0, last = 0;
    ps_status st = ps_db_catchup(db, &q, after, upto, a->cfg->resume_max, as->id, as,
                                 alerts_pack_match, b, &total, &last);
    if (st != PS_OK) {
        snprintf(why, whylen, "%s", st == PS_ERR_INTERNAL ? "out of memory"
                 : ps_db_errmsg(db));
        return st;
    }
    uint64_t sent = b->n - before;
    uint64_t from = sent > 0 ? b->last_seq : after;    /* resuming from it
                                                          gets the rest */
    if (last > as->floor) as->floor = last;
    pthread_mutex_lock(&a->mu);
    a->st.catchup_docs += sent;
    a->st.catchup_dropped += total - sent;
    pthread_mutex_unlock(&a->mu);
    if (total > sent && alerts_batch_lagged(b, as->id, total - sent, from) != 0)
        return PS_ERR_NOMEM;
    return PS_OK;
}

alert_batch *alerts_resume(alerts *a, job *j, asub *as)
{
    wait_groups(a, j->epoch);
    char why[400] = "out of memory";
    ps_db *db = catchup_db(a, why, sizeof why);
    alert_batch *b = alerts_batch_new();
    if (b) b->catchup = 1;
    ps_status st = db && b ? catch_up(a, db, as, j->resume_from, 0, b, why, sizeof why)
                           : PS_ERR_IO;
    if (st != PS_OK) {
        j->err = db && b ? methods_status_err(st) : ERR_UNAVAILABLE;
        snprintf(j->errmsg, sizeof j->errmsg, "resume_from: %s", why);
        alerts_forget(a, j->sub);
        alerts_batch_free(b);
        return NULL;
    }
    pthread_mutex_lock(&a->mu);
    a->st.resumes++;
    pthread_mutex_unlock(&a->mu);
    return b;
}

void alerts_do_catchup(alerts *a, uint64_t after, uint64_t upto)
{
    if (a->nsubs == 0) return;
    char why[400] = "out of memory";
    ps_db *db = catchup_db(a, why, sizeof why);
    alert_batch *b = alerts_batch_new();
    if (!db || !b) {
        ps_log(PS_LOG_ERROR, "alerts: changes %llu..%llu of another writer are not "
               "matched: %s", (unsigned long long)after + 1, (unsigned long long)upto, why);
        alerts_batch_free(b);
        alerts_overflow(a, upto - after, after);
        return;
    }
    b->catchup = 1;
    for (size_t i = 0; i < a->nsubs; i++)
        if (catch_up(a, db, a->subs[i], after, upto, b, why, sizeof why) != PS_OK)
            ps_log(PS_LOG_WARN, "alerts: catch-up of subscription %llu failed: %s",
                   (unsigned long long)a->subs[i]->id, why);
    pthread_mutex_lock(&a->mu);
    a->st.catchups++;
    pthread_mutex_unlock(&a->mu);
    if (b->n > 0) alerts_hand_back(a, b);
    else alerts_batch_free(b);
}

void alerts_submit_catchup(alerts *a, uint64_t after, uint64_t upto)
{
    if (!a || upto <= after) return;
    job *j = job_new(NULL, NULL, 0);
    catchup_range *r = malloc(sizeof *r);
    if (j && r) {
        r->after = after;
        r->upto = upto;
        j->payload = r;
        j->payload_free = free;
        if (queue_push(&a->queue, j) == 0) return;
    } else {
        free(r);
    }
    job_free(j);
    alerts_overflow(a, upto - after, after);
    ps_log(PS_LOG_WARN, "alerts: the match queue is full (%u items): the changes "
           "%llu..%llu of another writer are not matched; every subscription "
           "gets a lagged notification", ALERTS_QUEUE, (unsigned long long)after + 1,
           (unsigned long long)upto);
}
