/* addr.c: parsing of polysearchd addresses (grammar and contract in
 * addr.h). */
#include "addr.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* Host characters: letters, digits, '-', '.', '_' (and ':' '%' inside
 * brackets, for IPv6 with a zone).  1 when h[0..len) is a host. */
static int host_ok(const char *h, size_t len, int v6)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = h[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
                 ch == '_' || (v6 && (ch == ':' || ch == '%'));
        if (!ok)
            return 0;
    }
    return 1;
}

/* Sets out's port from the decimal text p (the rest of spec) or, when p
 * is NULL, from the default.  Returns 0, or -1 after writing err. */
static int set_port(ps_addr *out, const char *p, const ps_addr_opts *o,
                    const char *spec, char *err, size_t errlen)
{
    uint64_t v;
    if (p == NULL) {
        if (o->default_port == 0) {
            snprintf(err, errlen, "missing ':PORT' in address '%s'", spec);
            return -1;
        }
        v = o->default_port;
    } else if (ps_parse_u64(p, o->min_port, 65535, &v) != 0) {
        snprintf(err, errlen, "invalid port in address '%s' (%u-65535)", spec,
                 o->min_port);
        return -1;
    }
    out->port = (unsigned)v;
    snprintf(out->port_str, sizeof out->port_str, "%u", out->port);
    return 0;
}

int ps_addr_parse(const char *spec, const ps_addr_opts *opts, ps_addr *out,
                  char *err, size_t errlen)
{
    const char *host = spec, *port = NULL;
    size_t hlen;
    int v6 = 0;

    if (errlen > 0)
        err[0] = '\0';
    memset(out, 0, sizeof *out);
    if (spec == NULL || *spec == '\0') {
        snprintf(err, errlen, "empty address");
        return -1;
    }
    if (strncmp(spec, "unix:", 5) == 0) {
        const char *path = spec + 5;
        size_t len = strlen(path);
        if (!opts->allow_unix) {
            snprintf(err, errlen, "a Unix socket address is not accepted "
                     "here: '%s'", spec);
            return -1;
        }
        if (len == 0) {
            snprintf(err, errlen, "empty Unix socket path in '%s'", spec);
            return -1;
        }
        if (len >= sizeof out->path) {
            snprintf(err, errlen, "Unix socket path too long (%zu bytes, "
                     "at most %zu)", len, sizeof out->path - 1);
            return -1;
        }
        out->kind = PS_ADDR_UNIX;
        memcpy(out->path, path, len + 1);
        return 0;
    }
    out->kind = PS_ADDR_TCP;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL) {
            snprintf(err, errlen, "missing ']' in address '%s'", spec);
            return -1;
        }
        host = spec + 1;
        hlen = (size_t)(close - host);
        v6 = 1;
        if (close[1] == ':') {
            port = close + 2;
        } else if (close[1] != '\0') {
            snprintf(err, errlen, "expected ':PORT' after ']' in '%s'", spec);
            return -1;
        }
    } else {
        const char *colon = strchr(spec, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL) {
            snprintf(err, errlen, "IPv6 address needs brackets: "
                     "[ADDR]:PORT, e.g. [::1]:%u", PS_ADDR_DEFAULT_PORT);
            return -1;
        }
        hlen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
        if (colon != NULL)
            port = colon + 1;
    }
    if (!host_ok(host, hlen, v6) || hlen >= sizeof out->host) {
        snprintf(err, errlen, "invalid host in address '%s'", spec);
        return -1;
    }
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    out->bracketed = v6;
    return set_port(out, port, opts, spec, err, errlen);
}
