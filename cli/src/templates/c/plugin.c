/* {{name}}: a wildhost plugin in C11, built into {{file}}. Its backend `{{backend}}` sorts
 * all six key types with qsort; floats in IEEE-754 totalOrder (-NaN < -inf < ... < -0.0 <
 * +0.0 < ... < +inf < NaN), the order of their bits read as a signed integer with the
 * magnitude bits of a negative value flipped. Keys are only moved, never changed. */
#include "wildsort.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAME(v) (v)
#define TOTAL32(v) ((v) < 0 ? (v) ^ INT32_MAX : (v))
#define TOTAL64(v) ((v) < 0 ? (v) ^ INT64_MAX : (v))
#define COMPARE(NAME, T, KEY)                              \
    static int NAME(const void *a, const void *b) {        \
        T x, y;                                            \
        memcpy(&x, a, sizeof x), memcpy(&y, b, sizeof y);  \
        return (KEY(x) > KEY(y)) - (KEY(x) < KEY(y));      \
    }
COMPARE(cmp_u32, uint32_t, SAME) COMPARE(cmp_u64, uint64_t, SAME)
COMPARE(cmp_i32, int32_t, SAME) COMPARE(cmp_i64, int64_t, SAME)
COMPARE(cmp_f32, int32_t, TOTAL32) COMPARE(cmp_f64, int64_t, TOTAL64) /* a float's bits */

static const struct { uint32_t type; size_t size; int (*cmp)(const void *, const void *); } types[] = {
    {WILD_KEY_U32, 4, cmp_u32}, {WILD_KEY_U64, 8, cmp_u64}, {WILD_KEY_I32, 4, cmp_i32},
    {WILD_KEY_I64, 8, cmp_i64}, {WILD_KEY_F32, 4, cmp_f32}, {WILD_KEY_F64, 8, cmp_f64},
};

static int32_t sort(void *keys, size_t len, uint32_t key_type, char *err, size_t err_cap) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].type == key_type) {
            if (len > 1) qsort(keys, len, types[i].size, types[i].cmp);
            return WILD_OK;
        }
    if (err != NULL && err_cap > 0) snprintf(err, err_cap, "key type 0x%x is not supported", (unsigned)key_type);
    return WILD_ERR_UNSUPPORTED_KEY_TYPE; /* the host passes only declared types: not reached */
}

/* name, doc, sort, key types, flags, scratch %, 0,
 * then (ABI 1.1) sort_pairs, payload types, 0: NULL and 0 for bare keys only,
 * then (ABI 1.2) sort_with: NULL for a backend that runs on the calling thread */
static const WildMethodDef methods[] = {
    {"{{backend}}", "libc qsort, floats in totalOrder", sort, WILD_KEY_ALL, 0, 0, 0, NULL, 0, 0,
     NULL},
};
static const WildModuleDef module = {
    WILD_MODULE_HEAD, "{{name}}" /* = the file name */, "0.1.0",
    "{{name}}: a wildhost plugin written in C", NULL /* features */, NULL /* init */,
    WILD_METHOD_TABLE(methods),
};
WILD_EXPORT_MODULE({{name}}, module)
