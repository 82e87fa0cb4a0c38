/*
 * wildsort.h — the wildhost plugin ABI, version 1.0.
 *
 * A wildhost plugin is a shared library holding one *module*. A module holds
 * one or more *backends*: functions that sort an array of numbers in place.
 * The `wildhost` host finds plugin files in its plugin directories, checks
 * them before running any of their code, loads them, and calls the backend
 * the user picks (`wildhost sort --backend NAME`).
 *
 * This header is the documentation of the ABI. Its Rust twin is the crate
 * `wildhost-abi`; a test compiles this header and checks that both agree on
 * every size, offset and constant.
 *
 * ------------------------------------------------------------------------
 * Naming: one module per file
 * ------------------------------------------------------------------------
 * The module name comes from the file name, as CPython derives
 * `PyInit_<name>`: strip a leading "lib" and the extension.
 *
 *     libwildsort_radix.so  ->  module "wildsort_radix"
 *
 * The name is a C identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes).
 * The file exports exactly these two symbols for the host:
 *
 *     const WildAbiTag WildAbi_<module>;            a constant, read from
 *                                                   the file before loading
 *     const WildModuleDef *WildInit_<module>(void); the entry point
 *
 * WILD_EXPORT_MODULE(module, def) below defines both. The module definition
 * must report the same name as the file.
 *
 * ------------------------------------------------------------------------
 * Versioning
 * ------------------------------------------------------------------------
 * WILD_ABI_MAJOR changes only when an existing field changes meaning or
 * place. A host refuses every plugin of another major, with a message that
 * names both versions.
 *
 * WILD_ABI_MINOR grows when fields are appended at the end of WildModuleDef
 * or WildMethodDef. Each struct carries its own size (`size`, and
 * `method_size` for the method table), so a host reads the fields a plugin
 * has and treats the rest as absent: plugins built for an older minor keep
 * loading in newer hosts. A host refuses a plugin whose minor is newer than
 * its own, because it cannot know what the new fields require.
 *
 * Reserved fields must be zero; a later minor may give them a meaning.
 * The structs have no padding, so every compiler places every field alike.
 *
 * ------------------------------------------------------------------------
 * Loading, in order
 * ------------------------------------------------------------------------
 * 1. Preflight, without running plugin code: the host parses the file and
 *    refuses it if it is not a shared library for this machine, is
 *    truncated, lacks WildInit_<module> or WildAbi_<module>, or its tag has
 *    another magic, another major or a newer minor.
 * 2. The host opens the file (RTLD_NOW | RTLD_LOCAL on ELF systems) and
 *    never closes it while the process lives.
 * 3. The host calls WildInit_<module>() once and validates everything the
 *    returned definition holds before trusting it.
 * 4. If `init` is not NULL, the host calls it once, before any sort. It may
 *    answer WILD_UNAVAILABLE with a reason ("no AVX2 on this CPU"): the
 *    backends are then listed as unavailable and never called.
 *
 * ------------------------------------------------------------------------
 * Ownership and lifetime
 * ------------------------------------------------------------------------
 * Everything the definition points to (strings, the feature list, the
 * method table) belongs to the plugin, is never written by anyone, and must
 * stay valid and unchanged for the life of the process: use static data.
 * Strings are NUL-terminated UTF-8.
 *
 * The buffers passed to `sort` and the message buffers passed to `sort` and
 * `init` belong to the host and are valid only during the call. The plugin
 * must not keep a pointer to them.
 *
 * ------------------------------------------------------------------------
 * Threads
 * ------------------------------------------------------------------------
 * WildInit_<module> and `init` are called once, from one thread.
 * `sort` may be called from several threads at once, each call on its own
 * buffer; a backend keeps no unsynchronised global state. A backend flagged
 * WILD_FLAG_PARALLEL may start threads of its own and must join them before
 * it returns.
 *
 * ------------------------------------------------------------------------
 * The order of keys
 * ------------------------------------------------------------------------
 * Integers sort ascending. Floats sort ascending by IEEE-754 totalOrder:
 *     -NaN < -inf < ... < -0.0 < +0.0 < ... < +inf < +NaN
 * (NaNs ordered among themselves by payload). Every bit pattern is a valid
 * key and must come out unchanged: a sort only moves keys.
 */
#ifndef WILDSORT_H
#define WILDSORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "WILDSORT" read as a little-endian 64-bit integer. */
#define WILD_MAGIC UINT64_C(0x54524F53444C4957)
#define WILD_ABI_MAJOR 1
#define WILD_ABI_MINOR 0

/* Key types. Each is one bit: a backend declares a set of them in
 * `key_types`, and `sort` receives exactly one in `key_type`. */
#define WILD_KEY_U32 UINT32_C(0x01)
#define WILD_KEY_U64 UINT32_C(0x02)
#define WILD_KEY_I32 UINT32_C(0x04)
#define WILD_KEY_I64 UINT32_C(0x08)
#define WILD_KEY_F32 UINT32_C(0x10) /* IEEE-754 binary32 */
#define WILD_KEY_F64 UINT32_C(0x20) /* IEEE-754 binary64 */
#define WILD_KEY_ALL UINT32_C(0x3F)

/* Backend flags. Other bits must be zero. */
#define WILD_FLAG_STABLE UINT32_C(0x01)   /* equal keys keep their order */
#define WILD_FLAG_PARALLEL UINT32_C(0x02) /* may use more than one thread */

/* Status codes returned by `sort` and `init`. */
#define WILD_OK 0
#define WILD_ERR_UNSUPPORTED_KEY_TYPE 1 /* a key type the backend did not declare */
#define WILD_ERR_INVALID_ARGUMENT 2     /* NULL buffer with len > 0, misaligned buffer */
#define WILD_ERR_OUT_OF_MEMORY 3        /* scratch memory could not be allocated */
#define WILD_ERR_PANICKED 4             /* a Rust backend panicked (caught by the SDK) */
#define WILD_ERR_FAILED 5               /* anything else; the message says what */
#define WILD_UNAVAILABLE 6              /* from `init` only: cannot run here */

/* Limits the host enforces when it validates a definition. */
#define WILD_MAX_NAME 63      /* module, backend and feature names, in bytes */
#define WILD_MAX_DOC 1023     /* doc strings, in bytes */
#define WILD_MAX_METHODS 256  /* backends per module */
#define WILD_MAX_FEATURES 64  /* feature names per module */
#define WILD_MAX_METHOD_SIZE 1024 /* bytes a method entry may grow to within ABI 1 */

/*
 * Sorts `len` keys of type `key_type` (one WILD_KEY_* bit) at `keys`, in
 * place. `keys` is aligned for the key type; it may be NULL when `len` is 0.
 *
 * Returns WILD_OK, or an error code after writing a NUL-terminated UTF-8
 * message of at most `err_cap` bytes (terminator included) to `err`.
 * `err` may be NULL or `err_cap` 0: then write nothing. The host reads the
 * message only when the call failed.
 *
 * Must not write outside `keys[0 .. len)`, must not keep any pointer after
 * returning, and must not unwind (no C++ exception, no Rust panic) across
 * this boundary.
 */
typedef int32_t (*WildSortFn)(void *keys, size_t len, uint32_t key_type,
                              char *err, size_t err_cap);

/*
 * Plugin-wide initialisation, called once before any sort. Returns WILD_OK,
 * or WILD_UNAVAILABLE with the reason in `reason`, written like the message
 * of WildSortFn.
 */
typedef int32_t (*WildInitFn)(char *reason, size_t reason_cap);

/* The constant exported as WildAbi_<module>. Must hold only constants: the
 * host reads it from the file without relocating or running anything. */
typedef struct WildAbiTag {
    uint64_t magic;       /* WILD_MAGIC */
    uint16_t abi_major;   /* WILD_ABI_MAJOR */
    uint16_t abi_minor;   /* WILD_ABI_MINOR */
    uint32_t module_size; /* sizeof(WildModuleDef) */
} WildAbiTag;

/* One backend: the PyMethodDef of this ABI. */
typedef struct WildMethodDef {
    const char *name;         /* 1..63 bytes of [A-Za-z0-9_-], starting with a letter */
    const char *doc;          /* one line, at most 1023 bytes; may be NULL */
    WildSortFn sort;          /* must not be NULL */
    uint32_t key_types;       /* non-empty set of WILD_KEY_* bits */
    uint32_t flags;           /* WILD_FLAG_* bits */
    uint32_t scratch_percent; /* heap memory one call may allocate, in percent
                                 of the buffer's bytes (100: one more buffer of
                                 the input's size), freed before returning;
                                 0: in place */
    uint32_t reserved;        /* must be 0 */
    /* ABI 1.1+ fields will be appended here. */
} WildMethodDef;

/* The module definition: the PyModuleDef of this ABI. The first four fields
 * keep their place in every version. */
typedef struct WildModuleDef {
    uint64_t magic;        /* WILD_MAGIC */
    uint16_t abi_major;    /* WILD_ABI_MAJOR */
    uint16_t abi_minor;    /* WILD_ABI_MINOR */
    uint32_t size;         /* sizeof(WildModuleDef) */
    const char *name;      /* the module name, equal to the one from the file name */
    const char *version;   /* the module's own version, e.g. "1.2.0"; at most 63 bytes */
    const char *doc;       /* one line; may be NULL */
    const char *const *features; /* NULL-terminated list of compiled-in
                                    feature names; may be NULL */
    WildInitFn init;       /* may be NULL */
    const WildMethodDef *methods; /* `method_count` entries, `method_size` bytes apart */
    uint32_t method_count; /* 1..WILD_MAX_METHODS */
    uint32_t method_size;  /* sizeof(WildMethodDef), at most WILD_MAX_METHOD_SIZE */
    /* ABI 1.1+ fields will be appended here. */
} WildModuleDef;

#if defined(_WIN32)
#define WILD_EXPORT __declspec(dllexport)
#else
#define WILD_EXPORT __attribute__((visibility("default")))
#endif

/* Initialisers for the version fields, so a plugin cannot get them wrong. */
#define WILD_MODULE_HEAD WILD_MAGIC, WILD_ABI_MAJOR, WILD_ABI_MINOR, (uint32_t)sizeof(WildModuleDef)
#define WILD_METHOD_TABLE(methods) \
    (methods), (uint32_t)(sizeof(methods) / sizeof((methods)[0])), (uint32_t)sizeof(WildMethodDef)

/* Exports the ABI tag and the entry point of module NAME, whose definition
 * is the static WildModuleDef DEF. Use once per plugin file:
 *
 *     WILD_EXPORT_MODULE(wildsort, module_def)
 */
#define WILD_EXPORT_MODULE(NAME, DEF) WILD_EXPORT_MODULE_(NAME, DEF)
/* NAME may itself be a macro (-DMODULE=...): expanded before pasting. */
#define WILD_EXPORT_MODULE_(NAME, DEF)                                              \
    WILD_EXPORT const WildAbiTag WildAbi_##NAME = {                                 \
        WILD_MAGIC, WILD_ABI_MAJOR, WILD_ABI_MINOR, (uint32_t)sizeof(WildModuleDef)}; \
    WILD_EXPORT const WildModuleDef *WildInit_##NAME(void) { return &(DEF); }

#ifdef __cplusplus
}
#endif

#endif /* WILDSORT_H */
