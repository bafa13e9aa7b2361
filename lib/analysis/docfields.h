/* docfields.h: the stored document model of polysearch, in plain C: ISO 8601
 * date normalisation to a sortable value (lib/wire/isodate.h), the content
 * hash, and the length-prefixed encoding of the stored fields kept in
 * Xapian's document data.  Private to lib/ (used by the .cc files of
 * lib/core/ and the core tests).  Every function is reentrant (any thread).
 */
#ifndef PS_DOCFIELDS_H
#define PS_DOCFIELDS_H

#include <stddef.h>
#include <stdint.h>

/* PS_DATE_KEY_LEN and ps_date_normalize() live in ps_wire (the document
 * validator checks dates too). */
#include "isodate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 64-bit FNV-1a over the content fields (NULL counts as ""), written as 16
 * lower-case hex digits in out[0..17).  Any change to one field changes
 * the hash; fields are separated so "ab"+"c" differs from "a"+"bc". */
void ps_content_hash(const char *title, const char *body, const char *lang,
                     const char *date, const char *url, char out[17]);

/* Stored fields, in encoding order. */
enum { PS_F_ID, PS_F_TITLE, PS_F_BODY, PS_F_LANG, PS_F_DATE, PS_F_URL,
       PS_F_HASH, PS_F_COUNT };

/* Encodes the fields (NULL = absent) as: version byte 1, then per field a
 * LEB128 varint (0 = absent, else length + 1) and the bytes.  Returns a
 * malloc'd buffer (caller frees) with its length in *len, or NULL on
 * allocation failure. */
char *ps_fields_encode(const char *const f[PS_F_COUNT], size_t *len);

/* Decodes data[0..len) into malloc'd NUL-terminated strings out[i] (NULL
 * for absent fields; caller frees each with free()).  Returns 0, or -1 on
 * malformed data or allocation failure (then every out[i] is NULL). */
int ps_fields_decode(const char *data, size_t len, char *out[PS_F_COUNT]);

#ifdef __cplusplus
}
#endif
#endif
