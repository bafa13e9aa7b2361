/* tokenfile.c: a client program's access token (tokenfile.h). */
#include "tokenfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

static int blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

int ps_token_check(const char *t, size_t len, char *why, size_t whylen)
{
    if (len == 0) {
        snprintf(why, whylen, "is empty");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (ch < 0x21 || ch > 0x7e) {
            snprintf(why, whylen, "is not a token: byte %zu is a blank, a "
                     "control character or not ASCII (a token is %d to %d "
                     "visible ASCII characters, alone on the first line)",
                     i + 1, PS_TOKEN_MIN, PS_TOKEN_MAX);
            return -1;
        }
    }
    if (len < PS_TOKEN_MIN || len > PS_TOKEN_MAX) {
        snprintf(why, whylen, "is not a token: %zu characters, not %d to %d "
                 "(polysearchd accepts no other)", len, PS_TOKEN_MIN,
                 PS_TOKEN_MAX);
        return -1;
    }
    return 0;
}

/* Copies the trimmed first line of text[0..len) into a new string, after
 * checking it.  Returns 0 with *out, or an exit code with a message about
 * `what` ("the first line of token file F", "$POLYSEARCH_TOKEN") in err. */
static int take_token(const char *text, size_t len, const char *what,
                      char **out, char *err, size_t errlen)
{
    const char *nl = memchr(text, '\n', len);
    size_t end = nl ? (size_t)(nl - text) : len, start = 0;
    while (start < end && blank(text[start]))
        start++;
    while (end > start && blank(text[end - 1]))
        end--;
    char why[200];
    if (ps_token_check(text + start, end - start, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s %s", what, why);
        return EX_CONFIG;
    }
    char *t = malloc(end - start + 1);
    if (t == NULL) {
        snprintf(err, errlen, "%s: out of memory", what);
        return EX_OSERR;
    }
    memcpy(t, text + start, end - start);
    t[end - start] = '\0';
    *out = t;
    return 0;
}

int ps_token_read_file(const char *path, char **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open token file %s: %s", path,
                 strerror(errno));
        return EX_NOINPUT;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat token file %s: %s", path,
                 strerror(errno));
        rc = EX_NOINPUT;
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "token file %s is not a regular file", path);
        rc = EX_CONFIG;
    } else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "token file %s is accessible by group or "
                 "others (mode %04o): its token may be known to other "
                 "users; make it private with: chmod 600 %s", path,
                 (unsigned)(st.st_mode & 07777), path);
        rc = EX_CONFIG;
    } else if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errlen, "token file %s is owned by uid %u, not by "
                 "this user (uid %u) or root", path, (unsigned)st.st_uid,
                 (unsigned)geteuid());
        rc = EX_CONFIG;
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    char buf[PS_TOKEN_FILE_MAX];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof buf - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read token file %s: %s", path,
                     strerror(errno));
            rc = EX_NOINPUT;
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == sizeof buf) {
            snprintf(err, errlen, "token file %s is larger than %d bytes",
                     path, PS_TOKEN_FILE_MAX);
            rc = EX_CONFIG;
            break;
        }
    }
    close(fd);
    if (rc == 0) {
        char what[64 + 4096];
        snprintf(what, sizeof what, "the first line of token file %s", path);
        rc = take_token(buf, len, what, out, err, errlen);
    }
    explicit_bzero(buf, len);
    return rc;
}

int ps_token_get(const char *file, char **out, char *err, size_t errlen)
{
    *out = NULL;
    if (file != NULL)
        return ps_token_read_file(file, out, err, errlen);
    const char *env = getenv(PS_TOKEN_ENV);
    if (env == NULL || env[0] == '\0')
        return 0;
    return take_token(env, strlen(env), "$" PS_TOKEN_ENV, out, err, errlen);
}

void ps_token_free(char *token)
{
    if (token == NULL)
        return;
    explicit_bzero(token, strlen(token));
    free(token);
}
