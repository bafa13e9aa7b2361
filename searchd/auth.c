/* auth.c: the token file and constant-time token matching (auth.h). */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/sha.h>

#define DIGEST_LEN SHA256_DIGEST_LENGTH

typedef struct auth_entry {
    unsigned char digest[DIGEST_LEN];
    auth_role role;
    unsigned line;              /* for the duplicate message */
} auth_entry;

struct auth_tokens {
    size_t n, cap;
    auth_entry *e;
};

const char *auth_role_name(auth_role r)
{
    switch (r) {
    case AUTH_READ: return "read";
    case AUTH_WRITE: return "write";
    case AUTH_ADMIN: return "admin";
    case AUTH_NONE: break;
    }
    return "none";
}

void auth_tokens_free(auth_tokens *t)
{
    if (!t) return;
    if (t->e) explicit_bzero(t->e, t->cap * sizeof *t->e);
    free(t->e);
    free(t);
}

size_t auth_tokens_count(const auth_tokens *t)
{
    return t ? t->n : 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The role word w[0..n), or AUTH_NONE. */
static auth_role role_of(const char *w, size_t n)
{
    static const struct { const char *w; auth_role r; } roles[] = {
        {"read", AUTH_READ}, {"write", AUTH_WRITE}, {"admin", AUTH_ADMIN},
    };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strlen(roles[i].w) == n && memcmp(roles[i].w, w, n) == 0)
            return roles[i].r;
    return AUTH_NONE;
}

/* 1 when a and b (DIGEST_LEN bytes) are equal, without a data-dependent
 * branch or early exit. */
static unsigned digest_eq(const unsigned char *a, const unsigned char *b)
{
    unsigned diff = 0;
    for (size_t i = 0; i < DIGEST_LEN; i++)
        diff |= (unsigned)(a[i] ^ b[i]);
    /* diff in [0, 255]: (diff - 1) >> 8 has bit 0 set only for 0. */
    return ((diff - 1u) >> 8) & 1u;
}

/* Parses one line (without its newline) into t.  Returns 0 (entry added
 * or a comment), or -1 with err set. */
static int parse_line(auth_tokens *t, const char *p, size_t n, unsigned lineno,
                      const char *name, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < n && is_blank(p[i])) i++;
    if (i == n || p[i] == '#') return 0;
    size_t w0 = i;
    while (i < n && !is_blank(p[i])) i++;
    auth_role r = role_of(p + w0, i - w0);
    if (r == AUTH_NONE) {
        snprintf(err, errlen, "%s:%u: a line must be \"ROLE TOKEN\" with "
                 "ROLE read, write or admin (the first word is not one)",
                 name, lineno);
        return -1;
    }
    while (i < n && is_blank(p[i])) i++;
    size_t t0 = i;
    while (i < n && !is_blank(p[i])) i++;
    size_t tlen = i - t0;
    while (i < n && is_blank(p[i])) i++;
    if (tlen == 0) {
        snprintf(err, errlen, "%s:%u: %s role without a token", name, lineno,
                 auth_role_name(r));
        return -1;
    }
    if (i < n) {
        snprintf(err, errlen, "%s:%u: more than two words (want \"ROLE "
                 "TOKEN\"; a token holds no blank)", name, lineno);
        return -1;
    }
    for (size_t k = t0; k < t0 + tlen; k++) {
        unsigned char c = (unsigned char)p[k];
        if (c < 0x21 || c > 0x7e) {
            snprintf(err, errlen, "%s:%u: the token holds a byte that is not "
                     "visible ASCII (0x21 to 0x7e)", name, lineno);
            return -1;
        }
    }
    if (tlen < AUTH_TOKEN_MIN || tlen > AUTH_TOKEN_MAX) {
        snprintf(err, errlen, "%s:%u: the token is %s (%d to %d characters; "
                 "make one with: head -c 32 /dev/urandom | base64)", name,
                 lineno, tlen < AUTH_TOKEN_MIN ? "too short" : "too long",
                 AUTH_TOKEN_MIN, AUTH_TOKEN_MAX);
        return -1;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        auth_entry *e = calloc(cap, sizeof *e);
        if (!e) {
            snprintf(err, errlen, "%s: out of memory", name);
            return -1;
        }
        if (t->e) {
            memcpy(e, t->e, t->n * sizeof *e);
            explicit_bzero(t->e, t->cap * sizeof *t->e);
            free(t->e);
        }
        t->e = e;
        t->cap = cap;
    }
    auth_entry *e = &t->e[t->n];
    SHA256((const unsigned char *)p + t0, tlen, e->digest);
    e->role = r;
    e->line = lineno;
    for (size_t k = 0; k < t->n; k++)
        if (digest_eq(t->e[k].digest, e->digest)) {
            snprintf(err, errlen, "%s:%u: the same token as line %u (each "
                     "token has one role)", name, lineno, t->e[k].line);
            explicit_bzero(e, sizeof *e);
            return -1;
        }
    t->n++;
    return 0;
}

int auth_tokens_parse(const char *text, size_t len, const char *name,
                      auth_tokens **out, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen) err[0] = '\0';
    auth_tokens *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    unsigned lineno = 0;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        lineno++;
        if (memchr(text + i, '\0', n)) {
            snprintf(err, errlen, "%s:%u: a NUL byte (not a text file)",
                     name, lineno);
            auth_tokens_free(t);
            return -1;
        }
        if (parse_line(t, text + i, n, lineno, name, err, errlen) != 0) {
            auth_tokens_free(t);
            return -1;
        }
        i += n + (nl != NULL);
    }
    if (t->n == 0) {
        snprintf(err, errlen, "%s: no token (want lines \"ROLE TOKEN\", ROLE "
                 "read, write or admin)", name);
        auth_tokens_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

int auth_tokens_load(const char *path, auth_tokens **out, char *err,
                     size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return EX_NOINPUT;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        close(fd);
        return EX_NOINPUT;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        close(fd);
        return EX_CONFIG;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "%s is accessible by group or others (mode "
                 "%04o): its tokens may be known to other users; make it "
                 "private with: chmod 600 %s", path,
                 (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return EX_CONFIG;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errlen, "%s is owned by uid %u, not by this user (uid "
                 "%u) or root", path, (unsigned)st.st_uid,
                 (unsigned)geteuid());
        close(fd);
        return EX_CONFIG;
    }
    if (st.st_size > AUTH_FILE_MAX_BYTES) {
        snprintf(err, errlen, "%s is larger than %d bytes", path,
                 AUTH_FILE_MAX_BYTES);
        close(fd);
        return EX_CONFIG;
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return EX_OSERR;
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            explicit_bzero(buf, cap);
            free(buf);
            close(fd);
            return EX_NOINPUT;
        }
        if (r == 0) break;
        len += (size_t)r;
        if (len == cap) {       /* grew while we read it */
            snprintf(err, errlen, "%s changed while it was read", path);
            explicit_bzero(buf, cap);
            free(buf);
            close(fd);
            return EX_CONFIG;
        }
    }
    close(fd);
    int rc = auth_tokens_parse(buf, len, path, out, err, errlen);
    explicit_bzero(buf, cap);
    free(buf);
    return rc == 0 ? 0 : EX_CONFIG;
}

/* The owner id of the token whose digest is d into owner. */
static void owner_of(const unsigned char *d, char *owner)
{
    static const char prefix[] = "polysearch subscription owner";
    unsigned char in[sizeof prefix + DIGEST_LEN], o[DIGEST_LEN];
    memcpy(in, prefix, sizeof prefix);
    memcpy(in + sizeof prefix, d, DIGEST_LEN);
    SHA256(in, sizeof in, o);
    for (size_t i = 0; i < AUTH_OWNER_LEN / 2; i++)
        snprintf(owner + 2 * i, 3, "%02x", o[i]);
    explicit_bzero(in, sizeof in);
}

auth_role auth_tokens_match(const auth_tokens *t, const char *tok, size_t len,
                            char *owner)
{
    if (owner) owner[0] = '\0';
    if (!t) return AUTH_NONE;
    unsigned char d[DIGEST_LEN];
    SHA256((const unsigned char *)tok, len, d);
    unsigned role = 0;
    for (size_t i = 0; i < t->n; i++) {
        unsigned eq = digest_eq(d, t->e[i].digest);
        role |= (0u - eq) & (unsigned)t->e[i].role;   /* at most one eq */
    }
    if (owner && role != AUTH_NONE) owner_of(d, owner);
    explicit_bzero(d, sizeof d);
    return (auth_role)role;
}
