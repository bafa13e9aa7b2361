/* tokenfile.h: the access token a client program sends to polysearchd
 * (polysearch, polysearch-index --server; docs/PROTOCOL.md, "Access
 * control"): read from a file given with --token-file FILE, else from the
 * environment variable POLYSEARCH_TOKEN.  Never from the command line,
 * where every user would see it in ps.
 *
 * FILE must be a regular file owned by the effective user or root, with
 * no group or other permission bits (chmod 600 or 400): the rule
 * polysearchd applies to --auth-token-file.  Its first line, without
 * leading and trailing blanks (spaces, tabs, CR), is the token: 16 to 512
 * visible ASCII characters (0x21 to 0x7e), the tokens polysearchd
 * accepts.  Later lines are ignored.
 *
 * No message here ever quotes a token or a line of the file.  Tokens are
 * returned in malloc'd memory the caller wipes and frees with
 * ps_token_free().  Pure C, no shared state: any thread.
 */
#ifndef PS_TOKENFILE_H
#define PS_TOKENFILE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PS_TOKEN_ENV "POLYSEARCH_TOKEN"
#define PS_TOKEN_MIN 16
#define PS_TOKEN_MAX 512
/* Most bytes read from a token file. */
#define PS_TOKEN_FILE_MAX (64 * 1024)

/* Checks a token text t[0..len) (already trimmed) by the rules above.
 * Returns 0, or -1 with a one-line reason in why[0..whylen) that does not
 * quote t (e.g. "holds a blank or a control character"). */
int ps_token_check(const char *t, size_t len, char *why, size_t whylen);

/* Reads the token of the file at path.  Returns 0 with *out a new
 * NUL-terminated token (caller frees with ps_token_free), or a
 * <sysexits.h> code with *out NULL and a one-line message naming path in
 * err[0..errlen): EX_NOINPUT when the file cannot be opened or read,
 * EX_CONFIG for a bad type, owner, mode (the message gives the chmod to
 * run), size or token, EX_OSERR when out of memory.  The bytes read are
 * wiped before returning. */
int ps_token_read_file(const char *path, char **out, char *err,
                       size_t errlen);

/* The token of a client program: the file's when file is not NULL (as
 * ps_token_read_file), else $POLYSEARCH_TOKEN when set and not empty
 * (trimmed and checked; a bad one is EX_CONFIG), else none: 0 with *out
 * NULL.  Same returns and messages as ps_token_read_file. */
int ps_token_get(const char *file, char **out, char *err, size_t errlen);

/* Wipes and frees a token (NULL is fine). */
void ps_token_free(char *token);

#ifdef __cplusplus
}
#endif
#endif
