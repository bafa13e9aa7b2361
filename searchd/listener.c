/* listener.c: TCP + Unix listeners, EMFILE back-off, port file. */
#include "listener.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/listener.h>
#include <event2/util.h>

#include "addr.h"
#include "conn.h"
#include "util.h"

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int len, void *arg)
{
    (void)l;
    (void)sa;
    (void)len;
    conn_accept(arg, fd);
}

static void relisten_cb(evutil_socket_t fd, short what, void *arg)
{
    server *s = arg;
    (void)fd;
    (void)what;
    if (s->shutting_down) return;
    for (unsigned i = 0; i < s->nlisteners; i++)
        evconnlistener_enable(s->listeners[i]);
    for (unsigned i = 0; i < s->nhttp_listeners; i++)
        evconnlistener_enable(s->http_listeners[i]);
    s->listeners_paused = 0;
    ps_log(PS_LOG_INFO, "accepting connections again");
}

/* accept() failed.  Out of descriptors or memory: stop accepting for one
 * second instead of spinning on a listener that stays readable. */
static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    server *s = arg;
    int e = EVUTIL_SOCKET_ERROR();
    (void)l;
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        if (!s->listeners_paused) {
            ps_log(PS_LOG_WARN, "accept: %s: not accepting for 1 s", strerror(e));
            for (unsigned i = 0; i < s->nlisteners; i++)
                evconnlistener_disable(s->listeners[i]);
            for (unsigned i = 0; i < s->nhttp_listeners; i++)
                evconnlistener_disable(s->http_listeners[i]);
            s->listeners_paused = 1;
            struct timeval one = { 1, 0 };
            evtimer_add(s->relisten, &one);
        }
        return;
    }
    ps_log(PS_LOG_WARN, "accept: %s", strerror(e));
}

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return 1;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

static int add_listener(server *s, struct evconnlistener *l)
{
    evconnlistener_set_error_cb(l, accept_error_cb);
    s->listeners[s->nlisteners++] = l;
    return 0;
}

/* Parses a --listen address with ps_addr_parse(): "A.B.C.D:PORT" or
 * "[V6]:PORT", the port required and 0 allowed (any free port, which
 * libevent's parser refuses), then requires a numeric host (nothing is
 * resolved).  Returns 0, or -1 with a reason in why. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, int *len,
                      char *why, size_t whylen)
{
    static const ps_addr_opts listen_opts = PS_ADDR_LISTEN;
    ps_addr a;
    if (ps_addr_parse(addr, &listen_opts, &a, why, whylen) != 0)
        return -1;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (!a.bracketed && inet_pton(AF_INET, a.host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)a.port);
        *len = (int)sizeof *in;
        return 0;
    }
    if (a.bracketed && inet_pton(AF_INET6, a.host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)a.port);
        *len = (int)sizeof *in6;
        return 0;
    }
    snprintf(why, whylen, "'%s' is not a numeric %s address", a.host,
             a.bracketed ? "IPv6" : "IPv4");
    return -1;
}

int listener_addr_is_loopback(const char *addr)
{
    struct sockaddr_storage ss;
    int len = 0;
    char why[320];
    if (parse_addr(addr, &ss, &len, why, sizeof why) != 0) return -1;
    return is_loopback((struct sockaddr *)&ss);
}

int listener_bind_tcp(server *s, const char *addr, const char *flag,
                      struct evconnlistener **out)
{
    struct sockaddr_storage ss;
    int len = 0;
    char why[320];
    *out = NULL;
    if (parse_addr(addr, &ss, &len, why, sizeof why) != 0) {
        ps_log(PS_LOG_ERROR, "bad %s address '%s' (want HOST:PORT or "
               "[V6]:PORT with a numeric host): %s", flag, addr, why);
        return EX_USAGE;
    }
    if (!is_loopback((struct sockaddr *)&ss))
        ps_log(PS_LOG_WARN, "listening on %s, which is not a loopback address: "
               "anyone who can reach it can query the index", addr);
    struct evconnlistener *l = evconnlistener_new_bind(
        s->base, accept_cb, s,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 511,
        (struct sockaddr *)&ss, len);
    if (!l) {
        int e = errno;
        ps_log(PS_LOG_ERROR, "cannot listen on %s: %s", addr, strerror(e));
        return (e == EADDRINUSE || e == EADDRNOTAVAIL) ? EX_UNAVAILABLE : EX_OSERR;
    }
    evconnlistener_set_error_cb(l, accept_error_cb);
    *out = l;
    return 0;
}

static int open_tcp(server *s, const char *addr)
{
    struct evconnlistener *l;
    int rc = listener_bind_tcp(s, addr, "--listen", &l);
    if (rc) return rc;
    add_listener(s, l);
    return 0;
}

/* An existing path: a socket nobody listens on (left by kill -9) is
 * removed; a live one or any other file makes us refuse to start. */
static int clear_stale(const char *path, const struct sockaddr_un *sun)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : EX_CANTCREAT;
    if (!S_ISSOCK(st.st_mode)) {
        ps_log(PS_LOG_ERROR, "--socket %s exists and is not a socket: "
               "not touching it", path);
        return EX_CANTCREAT;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return EX_OSERR;
    int rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
    int e = errno;
    close(fd);
    if (rc == 0) {
        ps_log(PS_LOG_ERROR, "another server is listening on %s: refusing "
               "to start", path);
        return EX_UNAVAILABLE;
    }
    if (e != ECONNREFUSED) {
        ps_log(PS_LOG_ERROR, "cannot check %s: %s", path, strerror(e));
        return EX_UNAVAILABLE;
    }
    ps_log(PS_LOG_WARN, "removing stale socket %s", path);
    if (unlink(path) != 0 && errno != ENOENT) {
        ps_log(PS_LOG_ERROR, "cannot remove %s: %s", path, strerror(errno));
        return EX_CANTCREAT;
    }
    return 0;
}

static int open_unix(server *s, const char *path)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sun.sun_path) {
        ps_log(PS_LOG_ERROR, "--socket path too long (max %zu bytes)",
               sizeof sun.sun_path - 1);
        return EX_USAGE;
    }
    memcpy(sun.sun_path, path, strlen(path));
    int rc = clear_stale(path, &sun);
    if (rc) return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return EX_OSERR;
    mode_t old = umask(0177);       /* the socket is born 0600 */
    rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
    int e = errno;
    umask(old);
    if (rc != 0 || listen(fd, 511) != 0) {
        if (rc == 0) e = errno;
        ps_log(PS_LOG_ERROR, "cannot listen on %s: %s", path, strerror(e));
        close(fd);
        return e == EADDRINUSE ? EX_UNAVAILABLE : EX_CANTCREAT;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        s->socket_dev = st.st_dev;
        s->socket_ino = st.st_ino;
    }
    s->socket_path = strdup(path);
    struct evconnlistener *l = evconnlistener_new(
        s->base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        0, fd);
    if (!l || !s->socket_path) {
        close(fd);
        return EX_OSERR;
    }
    add_listener(s, l);
    return 0;
}

int listener_write_port_file(const char *pf, const char *flag,
                             struct evconnlistener *const *ls, unsigned nls)
{
    if (!pf) return 0;
    for (unsigned i = 0; i < nls; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getsockname(evconnlistener_get_fd(ls[i]),
                        (struct sockaddr *)&ss, &len) != 0)
            continue;
        int port;
        if (ss.ss_family == AF_INET)
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        else
            continue;
        char buf[16];
        int n = snprintf(buf, sizeof buf, "%d\n", port);
        if (ps_write_file_atomic(pf, buf, (size_t)n) != 0) {
            ps_log(PS_LOG_ERROR, "cannot write %s %s: %s", flag, pf,
                   strerror(errno));
            return EX_CANTCREAT;
        }
        return 0;
    }
    ps_log(PS_LOG_ERROR, "%s %s: no TCP listener", flag, pf);
    return EX_USAGE;
}

int listeners_open(server *s)
{
    int rc;
    s->relisten = evtimer_new(s->base, relisten_cb, s);
    if (!s->relisten) return EX_OSERR;
    for (unsigned i = 0; i < s->cfg->nlisten; i++)
        if ((rc = open_tcp(s, s->cfg->listen[i])) != 0) return rc;
    if (s->cfg->socket_path && (rc = open_unix(s, s->cfg->socket_path)) != 0)
        return rc;
    for (unsigned i = 0; i < s->cfg->nlisten; i++)
        ps_log(PS_LOG_INFO, "listening on %s", s->cfg->listen[i]);
    if (s->socket_path) ps_log(PS_LOG_INFO, "listening on %s", s->socket_path);
    return listener_write_port_file(s->cfg->port_file, "--port-file",
                                    s->listeners, s->nlisteners);
}

void listeners_close(server *s)
{
    for (unsigned i = 0; i < s->nlisteners; i++)
        evconnlistener_free(s->listeners[i]);
    s->nlisteners = 0;
    if (s->relisten) {
        event_free(s->relisten);
        s->relisten = NULL;
    }
    if (s->socket_path) {
        struct stat st;
        if (lstat(s->socket_path, &st) == 0 && st.st_dev == s->socket_dev &&
            st.st_ino == s->socket_ino)
            unlink(s->socket_path);
        free(s->socket_path);
        s->socket_path = NULL;
    }
}
