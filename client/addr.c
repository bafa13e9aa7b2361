/* addr.c: parsing of polysearchd addresses (see addr.h). */
#include "addr.h"

#include <stdio.h>
#include <string.h>

#include "polysearch-client.h"

/* Checks a decimal port 1..65535 of len bytes and copies it. */
static int set_port(psc_addr *out, const char *p, size_t len)
{
    unsigned long v = 0;
    if (len == 0 || len > 5)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    snprintf(out->port, sizeof out->port, "%lu", v);
    return 0;
}

/* Host names: letters, digits, '-', '.', '_' (and ':' '%' inside brackets
 * for IPv6 with a zone). */
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

int psc_addr_parse(const char *s, psc_addr *out, char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    memset(out, 0, sizeof *out);
    if (s == NULL || *s == '\0') {
        snprintf(err, errlen, "empty address");
        return -1;
    }
    if (strncmp(s, "unix:", 5) == 0) {
        const char *path = s + 5;
        size_t len = strlen(path);
        if (len == 0) {
            snprintf(err, errlen, "empty Unix socket path in '%s'", s);
            return -1;
        }
        if (len >= sizeof out->path) {
            snprintf(err, errlen, "Unix socket path too long (%zu bytes, "
                     "at most %zu)", len, sizeof out->path - 1);
            return -1;
        }
        out->kind = PSC_ADDR_UNIX;
        memcpy(out->path, path, len + 1);
        return 0;
    }
    out->kind = PSC_ADDR_TCP;
    const char *host = s;
    size_t hlen;
    const char *port = NULL;
    int v6 = 0;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL) {
            snprintf(err, errlen, "missing ']' in address '%s'", s);
            return -1;
        }
        host = s + 1;
        hlen = (size_t)(close - host);
        v6 = 1;
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0') {
            snprintf(err, errlen, "expected ':PORT' after ']' in '%s'", s);
            return -1;
        }
    } else {
        const char *colon = strchr(s, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL) {
            snprintf(err, errlen, "IPv6 address needs brackets: "
                     "[ADDR]:PORT, e.g. [::1]:%s", PSC_DEFAULT_PORT);
            return -1;
        }
        hlen = colon ? (size_t)(colon - s) : strlen(s);
        if (colon)
            port = colon + 1;
    }
    if (!host_ok(host, hlen, v6) || hlen >= sizeof out->host) {
        snprintf(err, errlen, "invalid host in address '%s'", s);
        return -1;
    }
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    if (port == NULL) {
        snprintf(out->port, sizeof out->port, "%s", PSC_DEFAULT_PORT);
    } else if (set_port(out, port, strlen(port)) != 0) {
        snprintf(err, errlen, "invalid port in address '%s' (1-65535)", s);
        return -1;
    }
    return 0;
}
