/* docmap.h: a MessagePack map fed to the one document validator
 * (docvalid.h), for the readers of MessagePack documents: polysearchd's
 * add (searchd/methods.c) and its write-ahead log's replay
 * (searchd/walops.c). */
#ifndef PS_DOCMAP_H
#define PS_DOCMAP_H

#include <msgpack.h>

#include "docvalid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hands every key/value of the MessagePack map m (m->type must be
 * MSGPACK_OBJECT_MAP) to ps_docv_set(v, ...): a str key by its bytes (any
 * other key type as NULL, refused by the validator), a str value as
 * PS_DOC_V_STR, nil as PS_DOC_V_NULL, anything else as PS_DOC_V_OTHER.
 * The values point into m, which must outlive v's use of them.  Call
 * ps_docv_finish(v) afterwards.  Any thread (v and m are the caller's). */
void ps_docv_set_msgpack(ps_docv *v, const msgpack_object *m);

#ifdef __cplusplus
}
#endif
#endif
