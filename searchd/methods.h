/* methods.h: the table of RPC methods.  Each method validates its named
 * arguments on the I/O thread (parse), runs on a worker with that worker's
 * database handle (exec; NULL = answered on the I/O thread), and may pack
 * its result on the I/O thread (finish; NULL = the worker packed the whole
 * response in job->out).  add/delete run on the writer thread instead
 * (writer.h); subscribe runs on the alert thread (alerts.h) through its
 * io step.  Adding a method is adding a table row.
 */
#ifndef SEARCHD_METHODS_H
#define SEARCHD_METHODS_H

#include <stddef.h>
#include <msgpack.h>

#include "job.h"
#include "server.h"
#include "workers.h"

typedef struct method {
    const char *name;
    /* Validates params into the job.  Returns -1 when valid, else a
     * searchd_err with a message in j->errmsg.  I/O thread. */
    int (*parse)(job *j, const msgpack_object *params, const searchd_config *c);
    /* Runs the request: sets j->err/j->errmsg, or packs the whole success
     * response into j->out, or fills fields for finish.  Worker thread. */
    void (*exec)(job *j, worker_ctx *w);
    /* Packs the success result object (not the envelope).  I/O thread. */
    int (*finish)(job *j, msgpack_packer *pk, server *s);
    /* Non-zero: the job goes to the writer thread instead of a worker
     * (exec unused), and a success is never turned into a timeout after
     * the fact (it is committed: saying otherwise would be a lie). */
    int write;
    /* NULL, or the step after parse on the I/O thread, for methods that
     * act on the I/O thread's state (subscriptions): returns -1 to go on
     * (finish answers), -2 when it handed the job to another thread
     * (answered when it comes back), or a searchd_err with j->errmsg. */
    int (*io)(job *j, server *s);
    /* NULL, or called on the I/O thread when the job comes back from that
     * thread, before it is answered (or dropped: client gone). */
    void (*done)(job *j, server *s);
} method;

/* Returns the method named name[0..len), or NULL.  Any thread. */
const method *methods_find(const char *name, size_t len);

/* Protocol error of a core status (not_found, query_syntax, ...,
 * "unavailable" for database errors).  Any thread. */
int methods_status_err(ps_status st);

#endif
