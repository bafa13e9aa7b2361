/* addr.h: parsing of polysearchd addresses ("host:port", "host",
 * "[v6addr]:port", "unix:/path").  Internal to libpolysearch-client and the
 * CLI; pure string work, no I/O.
 */
#ifndef PSC_ADDR_H
#define PSC_ADDR_H

#include <stddef.h>

typedef enum psc_addr_kind { PSC_ADDR_TCP = 0, PSC_ADDR_UNIX = 1 } psc_addr_kind;

/* A parsed address.  host has no brackets; port is decimal text. */
typedef struct psc_addr {
    psc_addr_kind kind;
    char host[256];
    char port[6];
    char path[108];         /* sizeof(sun_path) on Linux */
} psc_addr;

/* Parses s into *out.  Accepted: "unix:/abs/or/rel/path" (1..107 bytes),
 * "[v6]:port", "[v6]", "host:port", "host" (port defaults to 7117).  A port
 * is 1..65535 in decimal.  A bare IPv6 address without brackets is refused
 * (it is ambiguous).  Returns 0, or -1 with a one-line reason in err
 * (always NUL-terminated when errlen > 0).  Any thread. */
int psc_addr_parse(const char *s, psc_addr *out, char *err, size_t errlen);

#endif
