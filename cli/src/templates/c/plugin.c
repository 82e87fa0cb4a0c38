/* {{name}}: a wildhost plugin in C11, built into {{file}}. Its backend `{{backend}}` sorts
 * all six key types with a heapsort, in place: it allocates nothing, so it declares no
 * scratch memory (`wildhost verify` measures that; libc's qsort may allocate a copy of the
 * input). Floats in IEEE-754 totalOrder (-NaN < -inf < ... < -0.0 < +0.0 < ... < +inf <
 * NaN), the order of their bits read as a signed integer with the magnitude bits of a
 * negative value flipped. Keys are only moved, never changed. */
#include "wildsort.h"
#include <stdio.h>
#include <string.h>

#define SAME(v) (v)
#define TOTAL32(v) ((v) < 0 ? (v) ^ INT32_MAX : (v))
#define TOTAL64(v) ((v) < 0 ? (v) ^ INT64_MAX : (v))
/* HEAPSORT(NAME, T, KEY) defines NAME(keys, len): sorts len keys read as T by KEY(key).
 * Keys are read and written with memcpy, so a float's bits are read as an integer. */
#define HEAPSORT(NAME, T, KEY)                                                          \
    static void NAME##_sift(unsigned char *k, size_t root, size_t end) {                \
        T top, child_key, right_key;                                                    \
        memcpy(&top, k + root * sizeof(T), sizeof(T));                                  \
        for (size_t child; (child = 2 * root + 1) < end; root = child) {                \
            memcpy(&child_key, k + child * sizeof(T), sizeof(T));                       \
            if (child + 1 < end) {                                                      \
                memcpy(&right_key, k + (child + 1) * sizeof(T), sizeof(T));             \
                if (KEY(right_key) > KEY(child_key)) child++, child_key = right_key;    \
            }                                                                           \
            if (!(KEY(child_key) > KEY(top))) break;                                    \
            memcpy(k + root * sizeof(T), &child_key, sizeof(T));                        \
        }                                                                               \
        memcpy(k + root * sizeof(T), &top, sizeof(T));                                  \
    }                                                                                   \
    static void NAME(void *keys, size_t len) {                                          \
        unsigned char *k = keys;                                                        \
        T first, last;                                                                  \
        for (size_t i = len / 2; i-- > 0;) NAME##_sift(k, i, len);                      \
        for (size_t end = len; end-- > 1;) { /* the largest left goes to the end */     \
            memcpy(&first, k, sizeof(T)), memcpy(&last, k + end * sizeof(T), sizeof(T)); \
            memcpy(k, &last, sizeof(T)), memcpy(k + end * sizeof(T), &first, sizeof(T)); \
            NAME##_sift(k, 0, end);                                                     \
        }                                                                               \
    }
HEAPSORT(sort_u32, uint32_t, SAME) HEAPSORT(sort_u64, uint64_t, SAME)
HEAPSORT(sort_i32, int32_t, SAME) HEAPSORT(sort_i64, int64_t, SAME)
HEAPSORT(sort_f32, int32_t, TOTAL32) HEAPSORT(sort_f64, int64_t, TOTAL64) /* a float's bits */

static int32_t sort(void *keys, size_t len, uint32_t key_type, char *err, size_t err_cap) {
    switch (key_type) {
    case WILD_KEY_U32: sort_u32(keys, len); return WILD_OK;
    case WILD_KEY_U64: sort_u64(keys, len); return WILD_OK;
    case WILD_KEY_I32: sort_i32(keys, len); return WILD_OK;
    case WILD_KEY_I64: sort_i64(keys, len); return WILD_OK;
    case WILD_KEY_F32: sort_f32(keys, len); return WILD_OK;
    case WILD_KEY_F64: sort_f64(keys, len); return WILD_OK;
    }
    if (err != NULL && err_cap > 0) snprintf(err, err_cap, "key type 0x%x is not supported", (unsigned)key_type);
    return WILD_ERR_UNSUPPORTED_KEY_TYPE; /* the host passes only declared types: not reached */
}

#ifndef PLUGIN_FEATURES
#define PLUGIN_FEATURES /* none; `make FEATURES=a,b` defines it as "a","b", */
#endif
/* The features compiled in, NULL-terminated: `wildhost inspect` and `list` show them. */
static const char *const features[] = {PLUGIN_FEATURES NULL};

/* name, doc, sort, key types, flags, scratch % (0: it allocates nothing), 0,
 * then (ABI 1.1) sort_pairs, payload types, 0: NULL and 0 for bare keys only,
 * then (ABI 1.2) sort_with: NULL for a backend that runs on the calling thread */
static const WildMethodDef methods[] = {
    {"{{backend}}", "heapsort in place, floats in totalOrder", sort, WILD_KEY_ALL, 0, 0, 0, NULL,
     0, 0, NULL},
};
static const WildModuleDef module = {
    WILD_MODULE_HEAD, "{{name}}" /* = the file name */, "0.1.0",
    "{{name}}: a wildhost plugin written in C", features, NULL /* init */,
    WILD_METHOD_TABLE(methods),
};
WILD_EXPORT_MODULE({{name}}, module)
