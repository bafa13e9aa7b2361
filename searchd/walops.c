/* walops.c: the operations of a write-ahead-log record (walops.h). */
#include "walops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "docmap.h"
#include "docvalid.h"

int walops_begin(msgpack_packer *pk, uint32_t nops)
{
    return msgpack_pack_array(pk, nops);
}

static int pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n) ? -1 : 0;
}

int walops_put(msgpack_packer *pk, const ps_doc_in *d)
{
    const char *f[PS_DOC_NKEYS];
    f[PS_DOC_ID] = d->id;
    f[PS_DOC_TITLE] = d->title;
    f[PS_DOC_BODY] = d->body;
    f[PS_DOC_LANG] = d->lang;
    f[PS_DOC_DATE] = d->date;
    f[PS_DOC_URL] = d->url;
    if (msgpack_pack_array(pk, 2) || pack_str(pk, "put")) return -1;
    return ps_add_doc_pack(pk, f);
}

int walops_del(msgpack_packer *pk, const char *id)
{
    if (msgpack_pack_array(pk, 2) || pack_str(pk, "del")) return -1;
    return pack_str(pk, id);
}

static int is_op(const msgpack_object *o, const char *name)
{
    size_t n = strlen(name);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, name, n) == 0;
}

/* Checks the document map m and calls fn with it.  Returns as
 * walops_unpack. */
static int one_put(const msgpack_object *m, walops_fn fn, void *arg,
                   char *err, size_t errlen)
{
    if (m->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "put: the document is not a map");
        return -1;
    }
    ps_docv v;
    ps_docv_init(&v, PS_DOC_STRICT, 0);
    ps_docv_set_msgpack(&v, m);
    int rc;
    if (ps_docv_finish(&v) != 0) {
        snprintf(err, errlen, "put: %s", ps_docv_reason(&v));
        rc = -1;
    } else {
        /* ps_docv_get gives pointers into m (not NUL-terminated): copy. */
        char *f[PS_DOC_NKEYS] = {0};
        rc = 0;
        for (unsigned k = 0; k < PS_DOC_NKEYS && rc == 0; k++) {
            size_t n;
            const char *s = ps_docv_get(&v, (ps_doc_key)k, &n);
            if (!s) continue;
            if (!(f[k] = malloc(n + 1))) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
            memcpy(f[k], s, n);
            f[k][n] = '\0';
        }
        if (rc == 0) {
            ps_doc_in d = {f[PS_DOC_ID], f[PS_DOC_TITLE], f[PS_DOC_BODY],
                           f[PS_DOC_LANG], f[PS_DOC_DATE], f[PS_DOC_URL]};
            rc = fn(arg, &d, NULL);
        }
        for (unsigned k = 0; k < PS_DOC_NKEYS; k++) free(f[k]);
    }
    ps_docv_clear(&v);
    return rc;
}

int walops_unpack(const void *p, size_t n, walops_fn fn, void *arg,
                  char *err, size_t errlen)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = 0;
    if (msgpack_unpack_next(&u, p, n, &off) != MSGPACK_UNPACK_SUCCESS || off != n ||
        u.data.type != MSGPACK_OBJECT_ARRAY) {
        snprintf(err, errlen, "the record is not one MessagePack array");
        msgpack_unpacked_destroy(&u);
        return -1;
    }
    const msgpack_object_array *ops = &u.data.via.array;
    for (uint32_t i = 0; i < ops->size && rc == 0; i++) {
        const msgpack_object *op = &ops->ptr[i];
        if (op->type != MSGPACK_OBJECT_ARRAY || op->via.array.size != 2) {
            snprintf(err, errlen, "operation %u is not [name, argument]", i);
            rc = -1;
        } else if (is_op(&op->via.array.ptr[0], "put")) {
            rc = one_put(&op->via.array.ptr[1], fn, arg, err, errlen);
        } else if (is_op(&op->via.array.ptr[0], "del")) {
            const msgpack_object *id = &op->via.array.ptr[1];
            char why[160];
            if (id->type != MSGPACK_OBJECT_STR ||
                ps_doc_check_value(PS_DOC_ID, id->via.str.ptr, id->via.str.size, 0,
                                   why, sizeof why) != 0) {
                snprintf(err, errlen, "operation %u: bad id to delete", i);
                rc = -1;
            } else {
                char idbuf[PS_DOC_MAX_ID + 1];
                memcpy(idbuf, id->via.str.ptr, id->via.str.size);
                idbuf[id->via.str.size] = '\0';
                rc = fn(arg, NULL, idbuf);
            }
        } else {
            snprintf(err, errlen, "operation %u: unknown name", i);
            rc = -1;
        }
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}
