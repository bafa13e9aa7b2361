/* auth.h: the tokens of --auth-token-file: reading and checking the file,
 * and finding the role of a presented token in constant time.  No
 * libevent, no server state: the daemon's policy (which method needs
 * which role, delays, counters) is access.h.
 *
 * File format (docs/PROTOCOL.md, "Access control"):
 *
 *     # polysearchd tokens: one "ROLE TOKEN" per line
 *     read   8c1f0e0b6b0f4a5e9d6b2f6d3c7a9e10
 *     write  0f5e3a...
 *     admin  a17c9b...
 *
 * ROLE is read, write or admin; TOKEN is 16 to 512 visible ASCII
 * characters (0x21 to 0x7e: hex, base64 and base64url all fit), separated
 * from ROLE by blanks (spaces or tabs); trailing blanks are ignored.
 * Blank lines and lines whose first non-blank character is '#' are
 * comments.  At least one token; the same token twice is refused.  The
 * file must be a regular file owned by the daemon's user or root and
 * neither readable nor writable by group or others (mode 0600 or 0400),
 * as ssh demands of its keys.
 *
 * Only SHA-256 digests of the tokens are kept in memory; the file's text
 * is wiped once read.  No message here ever quotes a token or a field of
 * the file (a line written "TOKEN ROLE" would put the token where a role
 * is expected).
 */
#ifndef SEARCHD_AUTH_H
#define SEARCHD_AUTH_H

#include <stddef.h>

/* Roles, ordered: each includes the ones below it. */
typedef enum auth_role {
    AUTH_NONE = 0,      /* no token (or a wrong one) */
    AUTH_READ = 1,
    AUTH_WRITE = 2,
    AUTH_ADMIN = 3
} auth_role;

#define AUTH_TOKEN_MIN 16
#define AUTH_TOKEN_MAX 512
#define AUTH_FILE_MAX_BYTES (1024 * 1024)

typedef struct auth_tokens auth_tokens;

/* The word of a role ("none", "read", "write", "admin").  Static; any
 * thread. */
const char *auth_role_name(auth_role r);

/* Parses the text of a token file (text[0..len), need not be
 * NUL-terminated) by the format above.  name is the file's name for
 * messages.  Returns 0 with the tokens in *out (free with
 * auth_tokens_free), or -1 with *out NULL and a one-line message in
 * err[0..errlen) naming name and the line, never quoting the line.  The
 * caller wipes text.  Any thread. */
int auth_tokens_parse(const char *text, size_t len, const char *name,
                      auth_tokens **out, char *err, size_t errlen);

/* Reads the token file at path: refuses anything but a regular file
 * owned by the effective user or root with no group or other permission
 * bits (mode & 077 == 0), then parses it (auth_tokens_parse) and wipes
 * the text read.  Returns 0 with *out set, or an exit status with *out
 * NULL and a message in err: EX_NOINPUT when the file cannot be opened or
 * read, EX_CONFIG for a bad mode, owner, type or content.  Main thread,
 * at start. */
int auth_tokens_load(const char *path, auth_tokens **out, char *err,
                     size_t errlen);

/* Number of tokens (0 for NULL).  Any thread. */
size_t auth_tokens_count(const auth_tokens *t);

/* Length of an owner id (hex characters). */
#define AUTH_OWNER_LEN 32

/* The role of the token tok[0..len) (any bytes, any length), or
 * AUTH_NONE when it is none of t's (or t is NULL).  Constant time with
 * respect to the tokens: the SHA-256 digest of tok is compared with the
 * digest of every token, each over its 32 bytes, with no early exit and
 * no branch on the data.  When owner is not NULL it receives the
 * token's owner id (AUTH_OWNER_LEN hex characters and a NUL; "" when the
 * role is AUTH_NONE): what durable subscriptions are stored under, the
 * same for the same token across reloads and restarts, derived from the
 * token's digest with a domain prefix (neither the token nor the digest
 * it is checked with).  Any thread (t is read-only after loading). */
auth_role auth_tokens_match(const auth_tokens *t, const char *tok, size_t len,
                            char *owner);

/* Wipes and frees t (NULL is fine).  Any thread. */
void auth_tokens_free(auth_tokens *t);

#endif
