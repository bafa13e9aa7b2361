/* docmap.c: a MessagePack map to the document validator (docmap.h). */
#include "docmap.h"

void ps_docv_set_msgpack(ps_docv *v, const msgpack_object *m)
{
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        const msgpack_object *val = &m->via.map.ptr[i].val;
        int str = k->type == MSGPACK_OBJECT_STR;
        ps_doc_vtype t = val->type == MSGPACK_OBJECT_STR ? PS_DOC_V_STR
                       : val->type == MSGPACK_OBJECT_NIL ? PS_DOC_V_NULL
                       : PS_DOC_V_OTHER;
        ps_docv_set(v, str ? k->via.str.ptr : NULL, str ? k->via.str.size : 0,
                    t, t == PS_DOC_V_STR ? val->via.str.ptr : NULL,
                    t == PS_DOC_V_STR ? val->via.str.size : 0);
    }
}
