/* docjson.h: a JSON object (jansson) fed to the one document validator
 * (docvalid.h), for the readers of JSON Lines: polysearch add
 * (client/cli_add.c) and polysearch-index (indexer/jsonl.c). */
#ifndef PS_DOCJSON_H
#define PS_DOCJSON_H

#include <jansson.h>

#include "docvalid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hands every member of the JSON object o to ps_docv_set(v, ...): a string
 * as PS_DOC_V_STR (its bytes, NUL bytes included), null as PS_DOC_V_NULL,
 * anything else as PS_DOC_V_OTHER.  The values point into o, which must
 * outlive v's use of them.  Call ps_docv_finish(v) afterwards.  Any
 * thread (v and o are the caller's). */
void ps_docv_set_json(ps_docv *v, json_t *o);

#ifdef __cplusplus
}
#endif
#endif
