/*
 * wildsort: the classic wildsort module, in plain C11 against wildsort.h.
 *
 * Backend `wildsort` is a stable merge sort for all six key types:
 *
 *   1. runs of RUN keys are sorted by binary insertion sort, in place;
 *   2. runs are merged pairwise, bottom-up, ping-ponging between the keys
 *      and one scratch buffer of the same size (scratch_percent 100);
 *      a merge whose halves are already in order is a plain copy, so sorted
 *      input costs one comparison per run boundary per pass;
 *   3. if the result ends in the scratch buffer it is copied back.
 *
 * O(n log n) comparisons in every case, stable, n extra elements of memory
 * freed before returning.
 *
 * Its pairs entry (ABI 1.1) is the same merge sort over two arrays: every
 * move of a key moves its payload value (u32 or u64) in the same pass, into
 * a second scratch buffer the size of the payload, so scratch is still one
 * buffer the size of the input (keys and payload together), and equal keys
 * keep their payloads in input order. Floats are compared in IEEE-754 totalOrder, the
 * order of Rust's `total_cmp`: -NaN < -inf < ... < -0.0 < +0.0 < ... < +inf
 * < +NaN, by mapping each value's bits to a signed integer of the same width.
 * Keys are only moved, never converted, so every bit pattern (NaN payloads,
 * -0.0) comes back unchanged.
 */
#include "wildsort.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef WILDSORT_VERSION
#define WILDSORT_VERSION "1.0.0"
#endif

/* The module name. The workspace builds `wildsort`; the load benchmark
 * builds many copies under other names (-DWILDSORT_MODULE=wildsort_17 for
 * libwildsort_17.so), each a plugin in its own right. The backend has the
 * module's name. */
#ifndef WILDSORT_MODULE
#define WILDSORT_MODULE wildsort
#endif
#define WILDSORT_STR2(x) #x
#define WILDSORT_STR(x) WILDSORT_STR2(x)

/* Length of the runs sorted by insertion before merging starts. */
#define RUN 24

/* Writes a NUL-terminated message into the host's buffer. */
static void set_message(char *err, size_t err_cap, const char *message) {
    if (err != NULL && err_cap > 0) {
        snprintf(err, err_cap, "%s", message);
    }
}

/* totalOrder keys for floats: the bits as a signed integer, with the
 * magnitude bits flipped for negative values, order like total_cmp. */
static inline int32_t f32_key(float x) {
    int32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits ^ (int32_t)((uint32_t)(bits >> 31) >> 1);
}

static inline int64_t f64_key(double x) {
    int64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits ^ (int64_t)((uint64_t)(bits >> 63) >> 1);
}

#define LESS_PLAIN(a, b) ((a) < (b))
#define LESS_F32(a, b) (f32_key(a) < f32_key(b))
#define LESS_F64(a, b) (f64_key(a) < f64_key(b))

/*
 * DEFINE_MERGE_SORT(T, SUFFIX, LESS) defines merge_sort_SUFFIX(T *keys,
 * size_t len, T *scratch), which sorts keys[0..len) stably using scratch
 * (len elements).
 */
#define DEFINE_MERGE_SORT(T, SUFFIX, LESS)                                        \
    static void insertion_sort_##SUFFIX(T *a, size_t len) {                       \
        for (size_t i = 1; i < len; i++) {                                        \
            T x = a[i];                                                           \
            if (!LESS(x, a[i - 1])) {                                             \
                continue;                                                         \
            }                                                                     \
            /* first position whose key is greater than x: keeps stability */    \
            size_t lo = 0, hi = i - 1;                                            \
            while (lo < hi) {                                                     \
                size_t mid = lo + (hi - lo) / 2;                                  \
                if (LESS(x, a[mid])) {                                            \
                    hi = mid;                                                     \
                } else {                                                          \
                    lo = mid + 1;                                                 \
                }                                                                 \
            }                                                                     \
            memmove(&a[lo + 1], &a[lo], (i - lo) * sizeof(T));                    \
            a[lo] = x;                                                            \
        }                                                                         \
    }                                                                             \
                                                                                  \
    /* Merges src[lo..mid) and src[mid..hi) into dst[lo..hi). */                 \
    static void merge_##SUFFIX(const T *src, T *dst, size_t lo, size_t mid,       \
                               size_t hi) {                                       \
        if (mid >= hi || !LESS(src[mid], src[mid - 1])) {                         \
            memcpy(&dst[lo], &src[lo], (hi - lo) * sizeof(T));                    \
            return;                                                               \
        }                                                                         \
        size_t i = lo, j = mid, k = lo;                                           \
        while (i < mid && j < hi) {                                               \
            /* take from the right only if strictly less: stable */               \
            if (LESS(src[j], src[i])) {                                           \
                dst[k++] = src[j++];                                              \
            } else {                                                              \
                dst[k++] = src[i++];                                              \
            }                                                                     \
        }                                                                         \
        if (i < mid) {                                                            \
            memcpy(&dst[k], &src[i], (mid - i) * sizeof(T));                      \
        } else if (j < hi) {                                                      \
            memcpy(&dst[k], &src[j], (hi - j) * sizeof(T));                       \
        }                                                                         \
    }                                                                             \
                                                                                  \
    static void merge_sort_##SUFFIX(T *keys, size_t len, T *scratch) {            \
        for (size_t lo = 0; lo < len; lo += RUN) {                                \
            size_t n = len - lo < RUN ? len - lo : RUN;                           \
            insertion_sort_##SUFFIX(&keys[lo], n);                                \
        }                                                                         \
        T *src = keys, *dst = scratch;                                            \
        for (size_t width = RUN; width < len; width *= 2) {                       \
            for (size_t lo = 0; lo < len; lo += 2 * width) {                      \
                size_t mid = len - lo > width ? lo + width : len;                 \
                size_t hi = len - mid > width ? mid + width : len;                \
                merge_##SUFFIX(src, dst, lo, mid, hi);                            \
            }                                                                     \
            T *t = src;                                                           \
            src = dst;                                                            \
            dst = t;                                                              \
        }                                                                         \
        if (src != keys) {                                                        \
            memcpy(keys, src, len * sizeof(T));                                   \
        }                                                                         \
    }

DEFINE_MERGE_SORT(uint32_t, u32, LESS_PLAIN)
DEFINE_MERGE_SORT(uint64_t, u64, LESS_PLAIN)
DEFINE_MERGE_SORT(int32_t, i32, LESS_PLAIN)
DEFINE_MERGE_SORT(int64_t, i64, LESS_PLAIN)
DEFINE_MERGE_SORT(float, f32, LESS_F32)
DEFINE_MERGE_SORT(double, f64, LESS_F64)

/*
 * DEFINE_MERGE_PAIRS(T, SUFFIX, LESS, P, PSUFFIX) defines
 * merge_pairs_SUFFIX_PSUFFIX(T *keys, P *pay, size_t len, T *ks, P *ps),
 * the merge sort above over keys and their payload: each key's value in
 * `pay` moves with it. `ks`/`ps` are scratch of len elements each.
 */
#define DEFINE_MERGE_PAIRS(T, SUFFIX, LESS, P, PSUFFIX)                           \
    static void insertion_pairs_##SUFFIX##_##PSUFFIX(T *a, P *p, size_t len) {    \
        for (size_t i = 1; i < len; i++) {                                        \
            T x = a[i];                                                           \
            P y = p[i];                                                           \
            if (!LESS(x, a[i - 1])) {                                             \
                continue;                                                         \
            }                                                                     \
            size_t lo = 0, hi = i - 1;                                            \
            while (lo < hi) {                                                     \
                size_t mid = lo + (hi - lo) / 2;                                  \
                if (LESS(x, a[mid])) {                                            \
                    hi = mid;                                                     \
                } else {                                                          \
                    lo = mid + 1;                                                 \
                }                                                                 \
            }                                                                     \
            memmove(&a[lo + 1], &a[lo], (i - lo) * sizeof(T));                    \
            memmove(&p[lo + 1], &p[lo], (i - lo) * sizeof(P));                    \
            a[lo] = x;                                                            \
            p[lo] = y;                                                            \
        }                                                                         \
    }                                                                             \
                                                                                  \
    static void merge_pairs_step_##SUFFIX##_##PSUFFIX(                            \
        const T *src, const P *psrc, T *dst, P *pdst, size_t lo, size_t mid,      \
        size_t hi) {                                                              \
        if (mid >= hi || !LESS(src[mid], src[mid - 1])) {                         \
            memcpy(&dst[lo], &src[lo], (hi - lo) * sizeof(T));                    \
            memcpy(&pdst[lo], &psrc[lo], (hi - lo) * sizeof(P));                  \
            return;                                                               \
        }                                                                         \
        size_t i = lo, j = mid, k = lo;                                           \
        while (i < mid && j < hi) {                                               \
            if (LESS(src[j], src[i])) {                                           \
                pdst[k] = psrc[j];                                                \
                dst[k++] = src[j++];                                              \
            } else {                                                              \
                pdst[k] = psrc[i];                                                \
                dst[k++] = src[i++];                                              \
            }                                                                     \
        }                                                                         \
        if (i < mid) {                                                            \
            memcpy(&dst[k], &src[i], (mid - i) * sizeof(T));                      \
            memcpy(&pdst[k], &psrc[i], (mid - i) * sizeof(P));                    \
        } else if (j < hi) {                                                      \
            memcpy(&dst[k], &src[j], (hi - j) * sizeof(T));                       \
            memcpy(&pdst[k], &psrc[j], (hi - j) * sizeof(P));                     \
        }                                                                         \
    }                                                                             \
                                                                                  \
    static void merge_pairs_##SUFFIX##_##PSUFFIX(T *keys, P *pay, size_t len,     \
                                                 T *ks, P *ps) {                  \
        for (size_t lo = 0; lo < len; lo += RUN) {                                \
            size_t n = len - lo < RUN ? len - lo : RUN;                           \
            insertion_pairs_##SUFFIX##_##PSUFFIX(&keys[lo], &pay[lo], n);         \
        }                                                                         \
        T *src = keys, *dst = ks;                                                 \
        P *psrc = pay, *pdst = ps;                                                \
        for (size_t width = RUN; width < len; width *= 2) {                       \
            for (size_t lo = 0; lo < len; lo += 2 * width) {                      \
                size_t mid = len - lo > width ? lo + width : len;                 \
                size_t hi = len - mid > width ? mid + width : len;                \
                merge_pairs_step_##SUFFIX##_##PSUFFIX(src, psrc, dst, pdst, lo,   \
                                                      mid, hi);                   \
            }                                                                     \
            T *t = src;                                                           \
            src = dst;                                                            \
            dst = t;                                                              \
            P *pt = psrc;                                                         \
            psrc = pdst;                                                          \
            pdst = pt;                                                            \
        }                                                                         \
        if (src != keys) {                                                        \
            memcpy(keys, src, len * sizeof(T));                                   \
            memcpy(pay, psrc, len * sizeof(P));                                   \
        }                                                                         \
    }

#define DEFINE_MERGE_PAIRS_BOTH(T, SUFFIX, LESS)                                  \
    DEFINE_MERGE_PAIRS(T, SUFFIX, LESS, uint32_t, p32)                            \
    DEFINE_MERGE_PAIRS(T, SUFFIX, LESS, uint64_t, p64)

DEFINE_MERGE_PAIRS_BOTH(uint32_t, u32, LESS_PLAIN)
DEFINE_MERGE_PAIRS_BOTH(uint64_t, u64, LESS_PLAIN)
DEFINE_MERGE_PAIRS_BOTH(int32_t, i32, LESS_PLAIN)
DEFINE_MERGE_PAIRS_BOTH(int64_t, i64, LESS_PLAIN)
DEFINE_MERGE_PAIRS_BOTH(float, f32, LESS_F32)
DEFINE_MERGE_PAIRS_BOTH(double, f64, LESS_F64)

static size_t key_size(uint32_t key_type) {
    switch (key_type) {
    case WILD_KEY_U32:
    case WILD_KEY_I32:
    case WILD_KEY_F32:
        return 4;
    case WILD_KEY_U64:
    case WILD_KEY_I64:
    case WILD_KEY_F64:
        return 8;
    default:
        return 0;
    }
}

static int32_t wildsort_sort(void *keys, size_t len, uint32_t key_type, char *err,
                             size_t err_cap) {
    size_t size = key_size(key_type);
    if (size == 0) {
        char message[64];
        snprintf(message, sizeof message, "key type bit 0x%x is not supported",
                 (unsigned)key_type);
        set_message(err, err_cap, message);
        return WILD_ERR_UNSUPPORTED_KEY_TYPE;
    }
    if (len < 2) {
        return WILD_OK;
    }
    if (keys == NULL || (uintptr_t)keys % size != 0) {
        set_message(err, err_cap, "the key buffer is NULL or misaligned");
        return WILD_ERR_INVALID_ARGUMENT;
    }
    if (len <= RUN) {
        /* one run: insertion sort, no scratch memory */
        switch (key_type) {
        case WILD_KEY_U32: insertion_sort_u32(keys, len); break;
        case WILD_KEY_U64: insertion_sort_u64(keys, len); break;
        case WILD_KEY_I32: insertion_sort_i32(keys, len); break;
        case WILD_KEY_I64: insertion_sort_i64(keys, len); break;
        case WILD_KEY_F32: insertion_sort_f32(keys, len); break;
        default: insertion_sort_f64(keys, len); break;
        }
        return WILD_OK;
    }
    if (len > SIZE_MAX / size) {
        set_message(err, err_cap, "the buffer length overflows the address space");
        return WILD_ERR_INVALID_ARGUMENT;
    }
    void *scratch = malloc(len * size);
    if (scratch == NULL) {
        char message[96];
        snprintf(message, sizeof message, "could not allocate %zu bytes of scratch memory",
                 len * size);
        set_message(err, err_cap, message);
        return WILD_ERR_OUT_OF_MEMORY;
    }
    switch (key_type) {
    case WILD_KEY_U32: merge_sort_u32(keys, len, scratch); break;
    case WILD_KEY_U64: merge_sort_u64(keys, len, scratch); break;
    case WILD_KEY_I32: merge_sort_i32(keys, len, scratch); break;
    case WILD_KEY_I64: merge_sort_i64(keys, len, scratch); break;
    case WILD_KEY_F32: merge_sort_f32(keys, len, scratch); break;
    default: merge_sort_f64(keys, len, scratch); break;
    }
    free(scratch);
    return WILD_OK;
}


static size_t payload_size(uint32_t payload_type) {
    switch (payload_type) {
    case WILD_PAYLOAD_U32:
        return 4;
    case WILD_PAYLOAD_U64:
        return 8;
    default:
        return 0;
    }
}

/* One pairs sort for a key type: its u32- and u64-payload variants. */
#define PAIRS_CASE(KEY, SUFFIX, T)                                                \
    case KEY:                                                                     \
        if (psize == 4) {                                                         \
            merge_pairs_##SUFFIX##_p32((T *)keys, (uint32_t *)payload, len,      \
                                       (T *)scratch, (uint32_t *)pscratch);       \
        } else {                                                                  \
            merge_pairs_##SUFFIX##_p64((T *)keys, (uint64_t *)payload, len,      \
                                       (T *)scratch, (uint64_t *)pscratch);       \
        }                                                                         \
        break;

static int32_t wildsort_sort_pairs(void *keys, void *payload, size_t len,
                                   uint32_t key_type, uint32_t payload_type, char *err,
                                   size_t err_cap) {
    size_t size = key_size(key_type);
    size_t psize = payload_size(payload_type);
    if (size == 0 || psize == 0) {
        char message[80];
        snprintf(message, sizeof message, "key type bit 0x%x or payload type bit 0x%x is not supported",
                 (unsigned)key_type, (unsigned)payload_type);
        set_message(err, err_cap, message);
        return WILD_ERR_UNSUPPORTED_KEY_TYPE;
    }
    if (len < 2) {
        return WILD_OK;
    }
    if (keys == NULL || (uintptr_t)keys % size != 0 || payload == NULL ||
        (uintptr_t)payload % psize != 0) {
        set_message(err, err_cap, "the key or payload buffer is NULL or misaligned");
        return WILD_ERR_INVALID_ARGUMENT;
    }
    if (len > SIZE_MAX / (size + psize)) {
        set_message(err, err_cap, "the buffer length overflows the address space");
        return WILD_ERR_INVALID_ARGUMENT;
    }
    /* One allocation: key scratch, then payload scratch (aligned: the key
     * scratch is a multiple of 8 bytes, or of 4 with 4-byte payloads). */
    size_t key_bytes = len * size;
    if (psize == 8 && key_bytes % 8 != 0) {
        key_bytes += 4;
    }
    void *scratch = malloc(key_bytes + len * psize);
    if (scratch == NULL) {
        char message[96];
        snprintf(message, sizeof message, "could not allocate %zu bytes of scratch memory",
                 key_bytes + len * psize);
        set_message(err, err_cap, message);
        return WILD_ERR_OUT_OF_MEMORY;
    }
    void *pscratch = (char *)scratch + key_bytes;
    switch (key_type) {
    PAIRS_CASE(WILD_KEY_U32, u32, uint32_t)
    PAIRS_CASE(WILD_KEY_U64, u64, uint64_t)
    PAIRS_CASE(WILD_KEY_I32, i32, int32_t)
    PAIRS_CASE(WILD_KEY_I64, i64, int64_t)
    PAIRS_CASE(WILD_KEY_F32, f32, float)
    default:
    PAIRS_CASE(WILD_KEY_F64, f64, double)
    }
    free(scratch);
    return WILD_OK;
}

static const WildMethodDef wildsort_methods[] = {
    {
        WILDSORT_STR(WILDSORT_MODULE),
        "stable bottom-up merge sort with insertion-sorted runs, written in C",
        wildsort_sort,
        WILD_KEY_ALL,
        WILD_FLAG_STABLE,
        100,
        0,
        wildsort_sort_pairs,
        WILD_PAYLOAD_U32 | WILD_PAYLOAD_U64,
        0,
        NULL, /* sort_with: serial, so `sort`/`sort_pairs` serve any thread count */
    },
};

static const char *const wildsort_features[] = {"c11", NULL};

static const WildModuleDef wildsort_module = {
    WILD_MODULE_HEAD,
    WILDSORT_STR(WILDSORT_MODULE),
    WILDSORT_VERSION,
    "the classic wildsort module, in C",
    wildsort_features,
    NULL,
    WILD_METHOD_TABLE(wildsort_methods),
};

WILD_EXPORT_MODULE(WILDSORT_MODULE, wildsort_module)
