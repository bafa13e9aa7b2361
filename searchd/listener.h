/* listener.h: TCP and Unix-socket listeners of polysearchd. */
#ifndef SEARCHD_LISTENER_H
#define SEARCHD_LISTENER_H

#include "server.h"

/* Opens every --listen address and the --socket path, and writes the
 * --port-file.  Returns 0, or an exit status (EX_UNAVAILABLE when an
 * address or a live socket is in use, EX_USAGE for a bad address,
 * EX_CANTCREAT/EX_OSERR otherwise) after logging why.  I/O thread, before
 * the loop runs. */
int listeners_open(server *s);

/* Stops accepting: frees the listeners and removes the Unix socket file
 * we created (only if it is still ours).  Idempotent.  I/O thread. */
void listeners_close(server *s);

#endif
