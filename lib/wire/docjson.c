/* docjson.c: a JSON object fed to the document validator (docjson.h). */
#include "docjson.h"

#include <string.h>

void ps_docv_set_json(ps_docv *v, json_t *o)
{
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        ps_doc_vtype t = json_is_string(val) ? PS_DOC_V_STR
                       : json_is_null(val) ? PS_DOC_V_NULL : PS_DOC_V_OTHER;
        ps_docv_set(v, key, strlen(key), t,
                    t == PS_DOC_V_STR ? json_string_value(val) : NULL,
                    t == PS_DOC_V_STR ? json_string_length(val) : 0);
    }
}
