/* alerts.c: the alert thread (see alerts.h): subscribe requests and
 * durable write groups in through a job_queue, removals through a mutex
 * list, notifications out through a done_list; the writer's groups; the
 * thread's table of queries.  Its catch-ups (resume_from, other writers)
 * are in alerts_catchup.c, the packing of notifications in
 * alerts_pack.c. */
#include "alerts_internal.h"

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods.h"
#include "stats.h"
#include "util.h"

static void asub_free(asub *s)
{
    if (!s) return;
    free(s->name);
    free(s->q);
    free(s->lang);
    free(s->date_from);
    free(s);
}

/* ---- groups (writer thread) ------------------------------------------- */

alert_group *alerts_group_new(void)
{
    return calloc(1, sizeof(alert_group));
}

static int group_push(alert_group *g, ps_match_doc d)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        ps_match_doc *v = realloc(g->v, cap * sizeof *v);
        if (!v) return -1;
        g->v = v;
        g->cap = cap;
    }
    g->v[g->n++] = d;
    return 0;
}

int alerts_group_put(alert_group *g, ps_prepared *p, uint64_t seq, int replaced)
{
    ps_match_doc d = {p, NULL, seq, replaced};
    if (group_push(g, d) != 0) {
        ps_prepared_free(p);
        return -1;
    }
    return 0;
}

int alerts_group_del(alert_group *g, const char *id, uint64_t seq)
{
    char *copy = strdup(id);
    ps_match_doc d = {NULL, copy, seq, 1};
    if (!copy || group_push(g, d) != 0) {
        free(copy);
        return -1;
    }
    return 0;
}

size_t alerts_group_size(const alert_group *g)
{
    return g ? g->n : 0;
}

void alerts_group_free(alert_group *g)
{
    if (!g) return;
    for (size_t i = 0; i < g->n; i++) {
        ps_prepared_free((ps_prepared *)g->v[i].doc);
        free((char *)g->v[i].id);
    }
    free(g->v);
    free(g);
}

static void group_free_cb(void *p) { alerts_group_free(p); }

/* A result job carrying b to the I/O thread (b freed on failure). */
void alerts_hand_back(alerts *a, alert_batch *b)
{
    job *r = job_new(NULL, NULL, 0);
    if (!r) {
        ps_log(PS_LOG_ERROR, "alerts: out of memory: %zu notifications dropped", b->n);
        alerts_batch_free(b);
        return;
    }
    r->payload = b;
    r->payload_free = alerts_batch_free;
    done_put(&a->done, r);
}

/* ---- the thread: queries ---------------------------------------------- */

/* Index of id in a->subs (by increasing id), or where it would go. */
static size_t sub_pos(const alerts *a, uint64_t id)
{
    size_t lo = 0, hi = a->nsubs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->subs[mid]->id < id) lo = mid + 1; else hi = mid;
    }
    return lo;
}

static int subs_insert(alerts *a, asub *as)
{
    if (a->nsubs == a->capsubs) {
        size_t cap = a->capsubs ? a->capsubs * 2 : 64;
        asub **v = realloc(a->subs, cap * sizeof *v);
        if (!v) return -1;
        a->subs = v;
        a->capsubs = cap;
    }
    size_t i = sub_pos(a, as->id);
    memmove(a->subs + i + 1, a->subs + i, (a->nsubs - i) * sizeof *a->subs);
    a->subs[i] = as;
    a->nsubs++;
    return 0;
}

void alerts_forget(alerts *a, uint64_t id)
{
    void *user = NULL;
    if (ps_matcher_remove(a->m, id, &user)) {
        size_t i = sub_pos(a, id);
        if (i < a->nsubs && a->subs[i] == user) {
            memmove(a->subs + i, a->subs + i + 1, (a->nsubs - i - 1) * sizeof *a->subs);
            a->nsubs--;
        }
        asub_free(user);
    }
}

static void apply_removals(alerts *a)
{
    pthread_mutex_lock(&a->mu);
    uint64_t *ids = a->removed;
    size_t n = a->nremoved;
    a->removed = NULL;
    a->nremoved = a->capremoved = 0;
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < n; i++) alerts_forget(a, ids[i]);
    free(ids);
    pthread_mutex_lock(&a->mu);
    a->st.queries = ps_matcher_count(a->m);
    pthread_mutex_unlock(&a->mu);
}

/* Gives the matcher the database's synonym table as it is now (the
 * handle reopened at its latest commit), so a new subscription is
 * expanded as a search is.  A database that cannot be read costs the
 * expansion (warned once), not the subscription. */
static void sync_synonyms(alerts *a)
{
    ps_status st = PS_OK;
    if (a->syn_db == NULL) {
        char *msg = NULL;
        st = ps_db_open_dir(a->cfg->db_path, PS_DB_READ, 0, &a->syn_db, &msg);
        free(msg);
    } else {
        st = ps_db_reopen(a->syn_db, NULL);
    }
    if (st == PS_OK)
        st = ps_matcher_set_synonyms(a->m, a->syn_db);
    if (st != PS_OK) {
        ps_matcher_set_synonyms(a->m, NULL);
        if (!a->syn_warned)
            ps_log(PS_LOG_WARN, "alerts: subscriptions are not expanded with "
                   "synonyms: %s", a->syn_db ? ps_db_errmsg(a->syn_db)
                                             : ps_status_str(st));
        a->syn_warned = 1;
    }
}

/* ---- the thread: items ------------------------------------------------- */

/* Returns the catch-up notifications to hand back after the job (NULL:
 * none). */
static alert_batch *do_subscribe(alerts *a, job *j)
{
    if (j->gone && atomic_load(j->gone)) {     /* its connection closed */
        j->err = ERR_INTERNAL;
        snprintf(j->errmsg, sizeof j->errmsg, "client gone");
        return NULL;
    }
    asub *as = calloc(1, sizeof *as);
    int bad = !as;
    if (as) {
        as->id = j->sub;
        as->name = strdup(j->name ? j->name : "");
        as->q = strdup(j->q.q ? j->q.q : "");
        as->lang = j->q.lang ? strdup(j->q.lang) : NULL;
        as->date_from = j->q.date_from ? strdup(j->q.date_from) : NULL;
        as->no_synonyms = j->q.no_synonyms;
        bad = !as->name || !as->q || (j->q.lang && !as->lang) ||
              (j->q.date_from && !as->date_from);
    }
    if (!j->q.no_synonyms)
        sync_synonyms(a);
    char *msg = NULL;
    ps_status st = bad ? PS_ERR_NOMEM : ps_matcher_add(a->m, j->sub, &j->q, as, &msg);
    if (st == PS_OK && subs_insert(a, as) != 0) {
        void *u;
        ps_matcher_remove(a->m, j->sub, &u);
        st = PS_ERR_NOMEM;
    }
    if (st != PS_OK) {
        j->err = methods_status_err(st);
        snprintf(j->errmsg, sizeof j->errmsg, "%s", msg ? msg : ps_status_str(st));
        asub_free(as);
        free(msg);
        return NULL;
    }
    free(msg);
    alert_batch *b = j->resume ? alerts_resume(a, j, as) : NULL;
    pthread_mutex_lock(&a->mu);
    a->st.queries = ps_matcher_count(a->m);
    pthread_mutex_unlock(&a->mu);
    return b;
}

static void do_group(alerts *a, alert_group *g)
{
    uint64_t t0 = ps_now_us();
    alert_batch *b = alerts_batch_new();
    ps_match_stats ms;
    memset(&ms, 0, sizeof ms);
    ps_status st = b ? ps_matcher_match(a->m, g->v, g->n, 0, alerts_pack_match, b, &ms)
                     : PS_ERR_NOMEM;
    if (st != PS_OK)
        ps_log(PS_LOG_ERROR, "alerts: matching a group of %zu changes failed: %s",
               g->n, ps_status_str(st));
    uint64_t took = ps_now_us() - t0;
    pthread_mutex_lock(&a->mu);
    a->st.groups++;
    a->st.docs += ms.docs;
    a->st.matches += b ? b->n : 0;
    a->st.candidates += ms.candidates;
    a->st.last_us = took;
    a->st.total_us += took;
    if (took > a->st.max_us) a->st.max_us = took;
    pthread_mutex_unlock(&a->mu);
    if (b && b->n > 0) alerts_hand_back(a, b);
    else alerts_batch_free(b);
}

void alerts_overflow(alerts *a, uint64_t docs, uint64_t from)
{
    pthread_mutex_lock(&a->mu);
    if (a->overflow_docs == 0 || from < a->overflow_from) a->overflow_from = from;
    a->overflow_docs += docs;
    pthread_mutex_unlock(&a->mu);
}

/* Tells the I/O thread about groups dropped since the last call. */
static void report_overflow(alerts *a)
{
    pthread_mutex_lock(&a->mu);
    uint64_t n = a->overflow_docs, from = a->overflow_from;
    a->overflow_docs = 0;
    a->overflow_from = UINT64_MAX;
    pthread_mutex_unlock(&a->mu);
    if (n == 0) return;
    alert_batch *b = alerts_batch_new();
    if (!b) {
        alerts_overflow(a, n, from);    /* the next time */
        return;
    }
    b->overflow_docs = n;
    b->overflow_from = from;
    alerts_hand_back(a, b);
}

static void *alerts_main(void *arg)
{
    alerts *a = arg;
    job *j;
    while ((j = queue_pop(&a->queue)) != NULL) {
        apply_removals(a);
        if (!j->method && j->payload_free == group_free_cb) {
            do_group(a, j->payload);    /* a group from the writer */
            job_free(j);
        } else if (!j->method) {        /* another writer's changes */
            const catchup_range *r = j->payload;
            alerts_do_catchup(a, r->after, r->upto);
            job_free(j);
        } else {                        /* subscribe, then its catch-up */
            alert_batch *b = do_subscribe(a, j);
            done_put(&a->done, j);
            if (b && b->n > 0) alerts_hand_back(a, b);
            else alerts_batch_free(b);
        }
        report_overflow(a);
    }
    return NULL;
}

alerts *alerts_create(const searchd_config *cfg, struct event *done_ev)
{
    alerts *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->cfg = cfg;
    atomic_init(&a->wanted, 0);
    a->overflow_from = UINT64_MAX;
    atomic_init(&a->g_begun, 0);
    atomic_init(&a->g_ended, 0);
    if (ps_matcher_new(&a->m) != PS_OK) { free(a); return NULL; }
    if (queue_init(&a->queue, ALERTS_QUEUE) != 0) goto fail_m;
    if (done_init(&a->done, done_ev) != 0) goto fail_q;
    if (pthread_mutex_init(&a->mu, NULL) != 0) goto fail_d;
    return a;
fail_d:
    done_destroy(&a->done);
fail_q:
    queue_destroy(&a->queue);
fail_m:
    ps_matcher_free(a->m);
    free(a);
    return NULL;
}

int alerts_start(alerts *a)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&a->thread, NULL, alerts_main, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) { errno = e; return -1; }
    a->started = 1;
    return 0;
}

void alerts_stop(alerts *a)
{
    if (!a || a->stopped) return;
    a->stopped = 1;
    queue_shutdown(&a->queue, QUEUE_DISCARD);
    if (a->started) pthread_join(a->thread, NULL);
    alerts_catchup_close(a);
}

void alerts_destroy(alerts *a)
{
    if (!a) return;
    alerts_stop(a);
    queue_destroy(&a->queue);
    done_destroy(&a->done);
    apply_removals(a);
    /* The queries left (connections freed at exit). */
    free(a->removed);
    for (size_t i = 0; i < a->nsubs; i++) {
        void *u;
        ps_matcher_remove(a->m, a->subs[i]->id, &u);
        asub_free(a->subs[i]);
    }
    free(a->subs);
    ps_matcher_free(a->m);
    ps_db_close(a->syn_db);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void alerts_set_delta(alerts *a, ps_delta *d)
{
    if (a) a->delta = d;
}

void alerts_set_wanted(alerts *a, uint64_t nsubs)
{
    if (a) atomic_store(&a->wanted, nsubs);
}

int alerts_wanted(alerts *a)
{
    return a && atomic_load(&a->wanted) > 0;
}

void alerts_submit_group(alerts *a, alert_group *g)
{
    if (!g) return;
    if (!a || g->n == 0) { alerts_group_free(g); return; }
    job *j = job_new(NULL, NULL, 0);
    if (j) {
        j->payload = g;
        j->payload_free = group_free_cb;
        if (queue_push(&a->queue, j) == 0) return;
        j->payload = NULL;
        job_free(j);
    }
    size_t n = g->n;
    uint64_t from = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        if (g->v[i].seq > 0 && g->v[i].seq - 1 < from) from = g->v[i].seq - 1;
    alerts_group_free(g);
    alerts_overflow(a, n, from);
    pthread_mutex_lock(&a->mu);
    a->st.overflow_groups++;
    a->st.overflow_docs += n;
    pthread_mutex_unlock(&a->mu);
    ps_log(PS_LOG_WARN, "alerts: the match queue is full (%u groups): a group "
           "of %zu changes is not matched; every subscription gets a lagged "
           "notification", ALERTS_QUEUE, n);
}

int alerts_submit(alerts *a, job *j)
{
    return queue_push(&a->queue, j);
}

void alerts_remove(alerts *a, uint64_t id)
{
    pthread_mutex_lock(&a->mu);
    if (a->nremoved == a->capremoved) {
        size_t cap = a->capremoved ? a->capremoved * 2 : 64;
        uint64_t *v = realloc(a->removed, cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&a->mu);
            ps_log(PS_LOG_ERROR, "alerts: out of memory: subscription %llu "
                   "stays in the matcher", (unsigned long long)id);
            return;
        }
        a->removed = v;
        a->capremoved = cap;
    }
    a->removed[a->nremoved++] = id;
    pthread_mutex_unlock(&a->mu);
}

job *alerts_take_done(alerts *a)
{
    return a ? done_take(&a->done) : NULL;
}

void alerts_get_stats(alerts *a, alerts_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    *out = a->st;
    pthread_mutex_unlock(&a->mu);
    out->queued = queue_len(&a->queue);
}
