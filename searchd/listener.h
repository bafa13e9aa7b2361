/* listener.h: TCP and Unix-socket listeners of polysearchd. */
#ifndef SEARCHD_LISTENER_H
#define SEARCHD_LISTENER_H

#include <event2/listener.h>

#include "server.h"

/* Opens every --listen address and the --socket path, and writes the
 * --port-file.  Returns 0, or an exit status (EX_UNAVAILABLE when an
 * address or a live socket is in use, EX_USAGE for a bad address,
 * EX_CANTCREAT/EX_OSERR otherwise) after logging why.  I/O thread, before
 * the loop runs. */
int listeners_open(server *s);

/* Binds a TCP listener on addr (HOST:PORT or [V6]:PORT, numeric, port 0
 * allowed: ps_addr_parse's --listen rules) accepting into conn_accept,
 * with the EMFILE back-off of the others; flag names the option in
 * messages ("--listen", "--http").  Logs a warning for a non-loopback
 * address.  Returns 0 with the listener in *out (caller owns it; http.c
 * hands it to evhttp, which sets its own accept callback), or an exit
 * status as listeners_open after logging why.  I/O thread. */
int listener_bind_tcp(server *s, const char *addr, const char *flag,
                      struct evconnlistener **out);

/* Whether the --listen/--http address addr is a loopback one
 * (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104): 1 yes, 0 no, -1 when it does
 * not parse (the listener reports that when it binds).  Any thread. */
int listener_addr_is_loopback(const char *addr);

/* Writes the port of the first TCP listener of ls[0..nls) to the file pf
 * (atomically; NULL pf: nothing).  Returns 0, EX_CANTCREAT when the file
 * cannot be written, EX_USAGE when no listener is TCP, after logging
 * (flag names the option).  I/O thread. */
int listener_write_port_file(const char *pf, const char *flag,
                             struct evconnlistener *const *ls, unsigned nls);

/* Stops accepting: frees the listeners and removes the Unix socket file
 * we created (only if it is still ours).  Idempotent.  I/O thread. */
void listeners_close(server *s);

#endif
