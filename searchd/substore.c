/* substore.c: the store of durable subscriptions (see substore.h). */
#include "substore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <msgpack.h>

#include "util.h"

static void entry_free(substore_entry *e)
{
    free(e->name);
    free(e->q);
    free(e->lang);
    free(e->date_from);
    free(e->owner);
}

void substore_free(substore *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->n; i++) entry_free(&st->v[i]);
    free(st->v);
    free(st->path);
    memset(st, 0, sizeof *st);
}

ssize_t substore_find(const substore *st, const char *name)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->v[i].name, name) == 0) return (ssize_t)i;
    return -1;
}

static int push(substore *st, substore_entry e)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        substore_entry *v = realloc(st->v, cap * sizeof *v);
        if (!v) return -1;
        st->v = v;
        st->cap = cap;
    }
    st->v[st->n++] = e;
    return 0;
}

/* ---- encoding ---------------------------------------------------------- */

static void kv(msgpack_packer *pk, const char *k, const char *v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    msgpack_pack_str_with_body(pk, v, strlen(v));
}

static void encode(const substore *st, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "version", 7);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, "subs", 4);
    msgpack_pack_array(&pk, st->n);
    for (size_t i = 0; i < st->n; i++) {
        const substore_entry *e = &st->v[i];
        msgpack_pack_map(&pk, 2 + (e->lang != NULL) + (e->date_from != NULL) +
                              (e->no_synonyms != 0) + (e->owner != NULL));
        kv(&pk, "name", e->name);
        kv(&pk, "q", e->q);
        if (e->lang) kv(&pk, "lang", e->lang);
        if (e->date_from) kv(&pk, "date_from", e->date_from);
        if (e->no_synonyms) {
            msgpack_pack_str_with_body(&pk, "synonyms", 8);
            msgpack_pack_false(&pk);
        }
        if (e->owner) kv(&pk, "owner", e->owner);
    }
}

/* Saves st.  Returns 0, or -1 with err set. */
static int save(const substore *st, char *err, size_t errlen)
{
    if (!st->path) return 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    encode(st, &sb);
    int rc = 0;
    if (sb.size > SUBSTORE_MAX_BYTES) {
        snprintf(err, errlen, "the subscription store would be %zu bytes, more "
                 "than its bound (%u)", sb.size, SUBSTORE_MAX_BYTES);
        rc = -1;
    } else if (ps_write_file_atomic(st->path, sb.data, sb.size) != 0) {
        snprintf(err, errlen, "cannot write the subscription store %s: %s",
                 st->path, strerror(errno));
        rc = -1;
    }
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* ---- decoding ---------------------------------------------------------- */

static int str_eq(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

/* A malloc'd copy of a str object without NUL bytes, or NULL (*bad set
 * when it is not such a string). */
static char *str_dup(const msgpack_object *o, int *bad)
{
    if (o->type != MSGPACK_OBJECT_STR || memchr(o->via.str.ptr, 0, o->via.str.size)) {
        *bad = 1;
        return NULL;
    }
    char *s = malloc(o->via.str.size + 1);
    if (!s) { *bad = 1; return NULL; }
    memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = 0;
    return s;
}

static int decode_entry(const msgpack_object *o, substore_entry *e)
{
    memset(e, 0, sizeof *e);
    if (o->type != MSGPACK_OBJECT_MAP) return -1;
    int bad = 0, syn_seen = 0;
    for (uint32_t i = 0; i < o->via.map.size && !bad; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        if (str_eq(k, "synonyms")) {
            if (syn_seen++ || v->type != MSGPACK_OBJECT_BOOLEAN) { bad = 1; break; }
            e->no_synonyms = !v->via.boolean;
            continue;
        }
        char **slot = str_eq(k, "name") ? &e->name : str_eq(k, "q") ? &e->q
                    : str_eq(k, "lang") ? &e->lang
                    : str_eq(k, "date_from") ? &e->date_from
                    : str_eq(k, "owner") ? &e->owner : NULL;
        if (!slot || *slot) { bad = 1; break; }   /* unknown or repeated key */
        *slot = str_dup(v, &bad);
    }
    if (bad || !e->name || !e->q || !*e->name || strlen(e->name) > SUBSTORE_MAX_NAME) {
        entry_free(e);
        return -1;
    }
    return 0;
}

static int decode(substore *st, const char *data, size_t len, char *err, size_t errlen)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = -1;
    if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len) {
        snprintf(err, errlen, "not a MessagePack value (or bytes after it)");
        goto out;
    }
    const msgpack_object *root = &u.data, *subs = NULL;
    int version = -1;
    if (root->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "not a map");
        goto out;
    }
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object *k = &root->via.map.ptr[i].key, *v = &root->via.map.ptr[i].val;
        if (str_eq(k, "version") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            version = v->via.u64 > 1000 ? 1000 : (int)v->via.u64;
        else if (str_eq(k, "subs") && v->type == MSGPACK_OBJECT_ARRAY)
            subs = v;
    }
    if (version != 1 || !subs) {
        snprintf(err, errlen, version > 1 ? "format version %d (this daemon reads 1)"
                 : "no \"version\": 1 and \"subs\" array", version);
        goto out;
    }
    if (subs->via.array.size > st->max_entries) {
        snprintf(err, errlen, "%u subscriptions, more than max_subscriptions (%zu)",
                 subs->via.array.size, st->max_entries);
        goto out;
    }
    for (uint32_t i = 0; i < subs->via.array.size; i++) {
        substore_entry e;
        if (decode_entry(&subs->via.array.ptr[i], &e) != 0) {
            snprintf(err, errlen, "entry %u is malformed", i);
            goto out;
        }
        if (substore_find(st, e.name) >= 0) {
            snprintf(err, errlen, "entry %u: name '%s' given twice", i, e.name);
            entry_free(&e);
            goto out;
        }
        if (push(st, e) != 0) {
            entry_free(&e);
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    msgpack_unpacked_destroy(&u);
    return rc;
}

int substore_load(substore *st, const char *path, size_t max_entries, char *err,
                  size_t errlen)
{
    memset(st, 0, sizeof *st);
    st->max_entries = max_entries;
    if (!path) return 0;
    if (!(st->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        substore_free(st);
        return -1;
    }
    struct stat sb;
    char *buf = NULL;
    size_t len = 0;
    int rc = -1;
    char why[300];
    if (fstat(fd, &sb) != 0) {
        snprintf(why, sizeof why, "%s", strerror(errno));
    } else if ((uint64_t)sb.st_size > SUBSTORE_MAX_BYTES) {
        snprintf(why, sizeof why, "%lld bytes, more than the bound (%u)",
                 (long long)sb.st_size, SUBSTORE_MAX_BYTES);
    } else if (!(buf = malloc((size_t)sb.st_size + 1))) {
        snprintf(why, sizeof why, "out of memory");
    } else {
        len = (size_t)sb.st_size;
        size_t got = 0;
        while (got < len) {
            ssize_t r = read(fd, buf + got, len - got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (size_t)r;
        }
        if (got != len) snprintf(why, sizeof why, "short read");
        else rc = decode(st, buf, len, why, sizeof why);
    }
    close(fd);
    free(buf);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        substore_free(st);
    }
    return rc;
}

static char *dup_opt(const char *s, int *bad)
{
    if (!s) return NULL;
    char *c = strdup(s);
    if (!c) *bad = 1;
    return c;
}

int substore_add(substore *st, const char *name, const char *q, const char *lang,
                 const char *date_from, int no_synonyms, const char *owner,
                 char *err, size_t errlen)
{
    if (!name || !*name || strlen(name) > SUBSTORE_MAX_NAME) {
        snprintf(err, errlen, "a durable subscription needs a name of 1 to %u bytes",
                 SUBSTORE_MAX_NAME);
        return -1;
    }
    if (substore_find(st, name) >= 0) {
        snprintf(err, errlen, "a durable subscription named '%s' exists", name);
        return -1;
    }
    if (st->n >= st->max_entries) {
        snprintf(err, errlen, "%zu durable subscriptions already (max_subscriptions "
                 "%zu)", st->n, st->max_entries);
        return -1;
    }
    int bad = 0;
    substore_entry e = {dup_opt(name, &bad), dup_opt(q, &bad), dup_opt(lang, &bad),
                        dup_opt(date_from, &bad), no_synonyms != 0,
                        dup_opt(owner && *owner ? owner : NULL, &bad)};
    if (bad || !e.q || push(st, e) != 0) {
        entry_free(&e);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (save(st, err, errlen) != 0) {
        entry_free(&st->v[--st->n]);
        return -1;
    }
    return 0;
}

int substore_remove(substore *st, size_t i, char *err, size_t errlen)
{
    if (i >= st->n) return 0;
    substore_entry e = st->v[i];
    memmove(st->v + i, st->v + i + 1, (st->n - i - 1) * sizeof *st->v);
    st->n--;
    if (save(st, err, errlen) != 0) {
        memmove(st->v + i + 1, st->v + i, (st->n - i) * sizeof *st->v);
        st->v[i] = e;
        st->n++;
        return -1;
    }
    entry_free(&e);
    return 0;
}
