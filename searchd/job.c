/* job.c: allocation of request jobs. */
#include "job.h"

#include <stdio.h>
#include <stdlib.h>

#include "methods.h"
#include "stats.h"

job *job_new(struct conn *c, const struct method *m, uint32_t msgid)
{
    job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->zone = msgpack_zone_new(1024);
    if (!j->zone) { free(j); return NULL; }
    j->conn = c;
    j->method = m;
    j->msgid = msgid;
    j->err = -1;
    msgpack_sbuffer_init(&j->out);
    return j;
}

void job_free(job *j)
{
    if (!j) return;
    msgpack_zone_free(j->zone);
    msgpack_sbuffer_destroy(&j->out);
    ps_results_free(j->langs);
    ps_results_free(j->shards);
    if (j->payload && j->payload_free) j->payload_free(j->payload);
    free(j);
}

void job_expire(job *j, uint64_t now_us, uint64_t deadline_ms)
{
    /* A write, or a subscription registered (method->done), happened:
     * its success is never turned into a timeout after the fact. */
    if (j->err < 0 && now_us > j->deadline_us && !j->method->write && !j->method->done) {
        j->err = ERR_TIMEOUT;
        snprintf(j->errmsg, sizeof j->errmsg, "deadline of %llu ms exceeded",
                 (unsigned long long)deadline_ms);
    }
}
