/* jsonmp.c: JSON <-> MessagePack objects (jsonmp.h). */
#include "jsonmp.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define TO_JSON_MAX_DEPTH 64

static int to_mp(json_t *j, msgpack_zone *z, unsigned left, msgpack_object *o)
{
    memset(o, 0, sizeof *o);
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        if (left == 0) return -1;
        size_t n = json_object_size(j), i = 0;
        o->type = MSGPACK_OBJECT_MAP;
        o->via.map.size = (uint32_t)n;
        o->via.map.ptr = NULL;
        if (n == 0) return 0;
        o->via.map.ptr = msgpack_zone_malloc(z, n * sizeof(msgpack_object_kv));
        if (!o->via.map.ptr) return -1;
        const char *key;
        size_t klen;
        json_t *val;
        json_object_keylen_foreach(j, key, klen, val) {
            msgpack_object_kv *kv = &o->via.map.ptr[i++];
            kv->key.type = MSGPACK_OBJECT_STR;
            kv->key.via.str.ptr = key;
            kv->key.via.str.size = (uint32_t)klen;
            if (to_mp(val, z, left - 1, &kv->val) != 0) return -1;
        }
        return 0;
    }
    case JSON_ARRAY: {
        if (left == 0) return -1;
        size_t n = json_array_size(j);
        o->type = MSGPACK_OBJECT_ARRAY;
        o->via.array.size = (uint32_t)n;
        o->via.array.ptr = NULL;
        if (n == 0) return 0;
        o->via.array.ptr = msgpack_zone_malloc(z, n * sizeof(msgpack_object));
        if (!o->via.array.ptr) return -1;
        for (size_t i = 0; i < n; i++)
            if (to_mp(json_array_get(j, i), z, left - 1, &o->via.array.ptr[i]) != 0)
                return -1;
        return 0;
    }
    case JSON_STRING:
        o->type = MSGPACK_OBJECT_STR;
        o->via.str.ptr = json_string_value(j);
        o->via.str.size = (uint32_t)json_string_length(j);
        return 0;
    case JSON_INTEGER: {
        json_int_t v = json_integer_value(j);
        if (v < 0) {
            o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
            o->via.i64 = (int64_t)v;
        } else {
            o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            o->via.u64 = (uint64_t)v;
        }
        return 0;
    }
    case JSON_REAL:
        o->type = MSGPACK_OBJECT_FLOAT64;
        o->via.f64 = json_real_value(j);
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        o->type = MSGPACK_OBJECT_BOOLEAN;
        o->via.boolean = json_is_true(j);
        return 0;
    case JSON_NULL:
        o->type = MSGPACK_OBJECT_NIL;
        return 0;
    }
    return -1;
}

int ps_json_to_msgpack(json_t *j, msgpack_zone *zone, unsigned max_depth,
                       msgpack_object *out)
{
    if (!j || !zone || !out) return -1;
    return to_mp(j, zone, max_depth, out);
}

static json_t *to_json(const msgpack_object *o, unsigned left)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return json_null();
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX) return json_real((double)o->via.u64);
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64)) return NULL;
        return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return json_stringn(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return json_stringn(o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY: {
        if (left == 0) return NULL;
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            json_t *v = to_json(&o->via.array.ptr[i], left - 1);
            if (!v || json_array_append_new(a, v) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        if (left == 0) return NULL;
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            json_t *v = NULL;
            if (kv->key.type != MSGPACK_OBJECT_STR ||
                !(v = to_json(&kv->val, left - 1)) ||
                json_object_setn_new(m, kv->key.via.str.ptr,
                                     kv->key.via.str.size, v) != 0) {
                json_decref(m);
                m = NULL;
            }
        }
        return m;
    }
    default:
        return NULL;
    }
}

json_t *ps_msgpack_to_json(const msgpack_object *o)
{
    return o ? to_json(o, TO_JSON_MAX_DEPTH) : NULL;
}
