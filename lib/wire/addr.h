/* addr.h: the one parser of polysearchd addresses, used by the client
 * library (psc_connect: the CLI's --server and the indexer's --server go
 * through it) and by the daemon's --listen.  Pure string work: no I/O, no
 * name resolution.
 *
 * Grammar (spec is a NUL-terminated string):
 *
 *   spec  = "unix:" PATH              Unix socket, when opts->allow_unix
 *         | "[" HOST6 "]" [":" PORT]  IPv6 literal (may carry a %zone)
 *         | HOST [":" PORT]           name or IPv4 address
 *   PATH  = 1..107 bytes, anything (absolute or relative)
 *   HOST  = 1..255 of  A-Z a-z 0-9 - . _
 *   HOST6 = 1..255 of  A-Z a-z 0-9 - . _ : %
 *   PORT  = decimal digits (leading zeros allowed), opts->min_port..65535
 *
 * A missing ":PORT" takes opts->default_port, or is an error when that is
 * 0.  A bare IPv6 address (more than one ':' outside brackets) is refused
 * as ambiguous.  Whether HOST must be numeric is the caller's business
 * (polysearchd binds only to numeric addresses; the client resolves).
 */
#ifndef PS_ADDR_H
#define PS_ADDR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* polysearchd's default TCP port, which callers pass as default_port
 * (PSC_DEFAULT_PORT in polysearch-client.h is the same number). */
#define PS_ADDR_DEFAULT_PORT 7117u

typedef enum ps_addr_kind { PS_ADDR_TCP = 0, PS_ADDR_UNIX = 1 } ps_addr_kind;

/* A parsed address.  Plain data: copy it freely, nothing to release. */
typedef struct ps_addr {
    ps_addr_kind kind;
    /* PS_ADDR_TCP: */
    char host[256];         /* without brackets */
    int bracketed;          /* 1 when host was written [..] (IPv6) */
    unsigned port;          /* min_port..65535 */
    char port_str[6];       /* port in decimal, no leading zeros */
    /* PS_ADDR_UNIX: */
    char path[108];         /* sizeof(sun_path) on Linux, NUL included */
} ps_addr;

/* What a caller accepts; every field is explicit (no hidden defaults). */
typedef struct ps_addr_opts {
    unsigned default_port;  /* port when the spec has none; 0: required */
    unsigned min_port;      /* lowest port accepted: 1, or 0 ("any free
                               port", for a listener) */
    int allow_unix;         /* 1: "unix:PATH" accepted */
} ps_addr_opts;

/* The rules of every address a client connects to (psc_connect, and so
 * the CLI's and the indexer's --server): port 7117 when left out, 1..65535,
 * unix:PATH accepted.  Use: static const ps_addr_opts o = PS_ADDR_CONNECT; */
#define PS_ADDR_CONNECT { PS_ADDR_DEFAULT_PORT, 1, 1 }

/* The rules of polysearchd's --listen: the port required, 0 allowed (any
 * free port, see --port-file), no unix: (that is --socket PATH). */
#define PS_ADDR_LISTEN { 0, 0, 0 }

/* Parses spec (NULL and "" are errors) by the grammar above into *out.
 * Returns 0, or -1 with a one-line reason in err[0..errlen) that quotes
 * spec (always NUL-terminated when errlen > 0; err may be NULL when errlen
 * is 0).  *out is zeroed first and meaningful only on success.  Any
 * thread; no allocation. */
int ps_addr_parse(const char *spec, const ps_addr_opts *opts, ps_addr *out,
                  char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
