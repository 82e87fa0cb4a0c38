/*
 * wildsort.h — the wildhost plugin ABI, version 1.3.
 *
 * A wildhost plugin is a shared library holding one *module*. A module holds
 * one or more *backends*: functions that sort an array of numbers in place,
 * and, since ABI 1.1, may sort keys together with a payload (see "Pairs");
 * since ABI 1.2, the host may tell a backend how many threads one call may
 * use (see "Threads per call"); since ABI 1.3, a backend may sort a copy
 * without the host copying first (see "Sorting from a source").
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
 * The module definition must report the same name as the file.
 *
 * ------------------------------------------------------------------------
 * Symbols: what the host reads, and when
 * ------------------------------------------------------------------------
 * The host looks up three symbols by their prefix and the module name.
 * It finds them among the file's exported symbols (the dynamic symbol
 * table of an ELF file), and reads nothing else by name.
 *
 *     const WildAbiTag WildAbi_<module>;
 *         The ABI tag. Every plugin exports it. Read from the file itself,
 *         before any plugin code runs: the host parses the object file and
 *         reads the tag's bytes from their section, so the tag must be a
 *         constant stored in the file (initialised, not in .bss, needing no
 *         relocation).
 *
 *     const WildModuleDef *WildInit_<module>(void);
 *         The entry point. Every plugin exports it. That the file exports it
 *         as a function is checked in the file before any code runs; it is
 *         looked up and called only after the file is opened (dlopen), and
 *         after the layout check below.
 *
 *     const TypeLayout *const WildLayout_<module>;
 *         The layout: a pointer to abi_stable's description of the
 *         contract's types as the plugin was compiled (in Rust,
 *         `&'static abi_stable::type_layout::TypeLayout`, a type with no C
 *         definition). Rust plugins built with the SDK export it; C plugins
 *         do not, and are checked by magic, versions and sizes instead.
 *         Whether the file exports it is read from the file before any code
 *         runs; it is looked up after the file is opened and compared with
 *         the host's own layout before the entry point is called. The host
 *         reads any symbol of this name as such a pointer: a C plugin must
 *         not define one.
 *
 * WILD_EXPORT_MODULE(module, def) below exports the first two; the Rust
 * SDK's export_plugin! exports all three. A file may export other symbols
 * of its own; the host does not look at them.
 *
 * ------------------------------------------------------------------------
 * Versioning
 * ------------------------------------------------------------------------
 * WILD_ABI_MAJOR changes only when an existing field changes meaning or
 * place. A host refuses every plugin of another major, with a message that
 * names both versions.
 *
 * WILD_ABI_MINOR grows when fields are appended at the end of WildModuleDef,
 * WildMethodDef or WildSortOptions, or a flag bit gets a meaning. Each struct carries its own size (`size`, and
 * `method_size` for the method table), so a host reads the fields a plugin
 * has and treats the rest as absent: plugins built for an older minor keep
 * loading in newer hosts. A host refuses a plugin whose minor is newer than
 * its own, because it cannot know what the new fields require.
 *
 * Reserved fields must be zero; a later minor may give them a meaning.
 * The structs have no padding, so every compiler places every field alike.
 *
 * The minors so far:
 *   1.0  the key-only `sort`.
 *   1.1  appends `sort_pairs`, `payload_types` and `reserved2` to
 *        WildMethodDef (see "Pairs"). A 1.0 plugin's `method_size` is the
 *        1.0 size, so a 1.1 host reads those fields only when `method_size`
 *        covers them: a 1.0 backend has no pairs entry, and the host may
 *        still sort pairs through its `sort` (see WildMethodDef). A 1.1
 *        plugin in a 1.0 host is refused ("plugin ABI 1.1 is newer than
 *        this host's 1.0"): rebuild it against the 1.0 header, or update
 *        the host.
 *   1.2  appends `sort_with` to WildMethodDef (see "Threads per call").
 *        A 1.2 host reads it only when `method_size` covers it, so a 1.1
 *        or 1.0 backend has none and the host calls its `sort` and
 *        `sort_pairs` as before. A 1.2 plugin in a 1.1 or 1.0 host is
 *        refused like any newer minor, before it is opened ("plugin ABI
 *        1.2 is newer than this host's 1.1"): a plugin that must load in
 *        older hosts is built against their header, without `sort_with`.
 *   1.3  appends `source` to WildSortOptions and defines
 *        WILD_FLAG_FROM_SOURCE (see "Sorting from a source"). A 1.3 host
 *        fills 16 bytes of options on 64-bit machines; a 1.2 backend reads
 *        the first 8, as it knows them, and is never given a `source`: the
 *        host sets it only for a backend of a 1.3 or later module that
 *        declares the flag. A 1.2 module that sets the flag's bit is
 *        refused, as any unknown bit. A 1.3 plugin in an older host is
 *        refused like any newer minor.
 *
 * ------------------------------------------------------------------------
 * Loading, in order (in each process that loads the plugin)
 * ------------------------------------------------------------------------
 * 1. Preflight, without running plugin code: the host parses the file and
 *    refuses it if it is not a shared library for this machine, is
 *    truncated, lacks WildInit_<module> (as a function) or
 *    WildAbi_<module>, or its tag has another magic, another major or a
 *    newer minor. It also notes whether WildLayout_<module> is exported.
 * 2. The host opens the file (RTLD_NOW | RTLD_LOCAL on ELF systems), which
 *    runs its constructors, and never closes it while the process lives.
 * 3. If the file exports WildLayout_<module>, the host compares that layout
 *    with its own; if they differ, it refuses the file, naming the field.
 * 4. The host calls WildInit_<module>() and validates everything the
 *    returned definition holds before trusting it; its versions must
 *    match the tag's.
 * 5. If `init` is not NULL, the host calls it, before any sort. It may
 *    answer WILD_UNAVAILABLE with a reason ("no AVX2 on this CPU"): the
 *    backends are then listed as unavailable and never called.
 *
 * A process does steps 2 to 5 at most once per file. But more than one
 * process loads a plugin, so WildInit_<module> and `init` run once per
 * process, not once per machine:
 *
 *  - The `wildhost` command first runs a plugin file it has no verdict on
 *    in the plugin scanner: a child process (the wildhost executable run
 *    again) that does steps 1 to 5, so that a plugin that crashes or hangs
 *    there takes down the child, not the host. Then the host itself loads the
 *    plugin, in its own process: steps 1 to 5 again. On that start,
 *    WildInit_<module> and `init` run twice, in two processes.
 *  - The scanner's verdict is cached per file (path, size, modification
 *    time, inode, device) and wildhost version, so a later start skips the
 *    scanner and runs them once. A changed file, another wildhost, or a
 *    cache that cannot be written means a scan, and two runs, again.
 *  - Every wildhost command is a process of its own, and several may run
 *    at once: each runs WildInit_<module> and `init`.
 *
 * So neither may have an effect that must happen once per machine or once
 * per installation (registering, licensing, writing a file that must not
 * exist yet, counting uses), nor assume it is the only process that has
 * the plugin loaded. Keep them to answering questions about this process
 * and this machine, such as which CPU features there are.
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
 * In each process, WildInit_<module> and `init` are called once, from one
 * thread, before any sort (see "Loading, in order" for why that is not once
 * per machine). `sort` may be called from several threads at once, each
 * call on its own buffer; a backend keeps no unsynchronised global state.
 * A backend flagged WILD_FLAG_PARALLEL may start threads of its own and
 * must join them before it returns; since ABI 1.2 the host says how many
 * it may use (see "Threads per call").
 *
 * `sort` may also run in a forked copy of a process that already ran
 * `init` (`wildhost sort --isolate`, `wildhost verify`): the copy has only
 * the thread that called `sort`, so a thread `init` started is not there.
 *
 * ------------------------------------------------------------------------
 * The order of keys
 * ------------------------------------------------------------------------
 * Integers sort ascending. Floats sort ascending by IEEE-754 totalOrder:
 *     -NaN < -inf < ... < -0.0 < +0.0 < ... < +inf < +NaN
 * (NaNs ordered among themselves by payload). Every bit pattern is a valid
 * key and must come out unchanged: a sort only moves keys.
 *
 * ------------------------------------------------------------------------
 * Pairs (ABI 1.1): keys with a payload
 * ------------------------------------------------------------------------
 * `sort_pairs` sorts records: `len` keys and, beside them, `len` payload
 * values (WILD_PAYLOAD_U32 or WILD_PAYLOAD_U64, typically the index of a
 * record). The backend treats the payload as opaque bits and moves each
 * value with its key: whatever keys[i] ends up at, payload[i] ends up at the
 * same place. Keys sort in the order above (floats by totalOrder).
 *
 * The pairs are two parallel arrays (a structure of arrays), not one array
 * of interleaved (key, payload) structs, because:
 *  - the key array is exactly what the key-only `sort` takes, so a backend
 *    shares its key code between both calls;
 *  - there is no padding or alignment question between a u32 key and a u64
 *    payload: each array is aligned for its own type;
 *  - a radix or merge pass moves two arrays with the same index, which is as
 *    fast as moving structs and needs no per-pair layout per type pair;
 *  - the host builds the payload as an index array and sorts the caller's
 *    keys where they are, with no copy of the keys.
 *
 * WILD_FLAG_STABLE describes the pairs call: equal keys keep their payloads
 * in input order. (Keys equal in the order above are identical bits, so a
 * key-only sort cannot show stability; a backend whose key-only `sort` is
 * unstable but whose `sort_pairs` is stable declares the flag.) A backend
 * without `sort_pairs` may declare it for what its `sort` does.
 *
 * ------------------------------------------------------------------------
 * Threads per call (ABI 1.2)
 * ------------------------------------------------------------------------
 * `sort_with` is `sort`, or `sort_pairs`, with a WildSortOptions that says
 * what the one call may use beyond its buffers: so far `threads`, the most
 * threads the call may run on, the calling thread included. A host that
 * has a thread count for a call (`wildhost sort --threads N`) calls
 * `sort_with` where the backend has one, else `sort` or `sort_pairs`.
 *
 *  - A backend flagged WILD_FLAG_PARALLEL should provide `sort_with`.
 *    Without it the host calls `sort`/`sort_pairs` and cannot bound the
 *    threads the backend starts. A backend not flagged parallel may
 *    provide it too (it then runs on the calling thread whatever
 *    `threads` says).
 *  - It must not run on more than `options->threads` threads, the calling
 *    one included, and must join every thread it started before it
 *    returns. `threads == 1` means the calling thread only. The host
 *    passes at least 1; a backend reads 0 as 1.
 *  - With `payload` NULL and `payload_type` 0 it is the key-only `sort`;
 *    otherwise it is `sort_pairs`. It sorts exactly the key types of
 *    `key_types` and, with a payload, the payload types of
 *    `payload_types`: a backend whose `sort_with` takes a payload has
 *    `sort_pairs` too, and the host calls `sort_with` with a payload only
 *    then.
 *  - Its result is `sort`'s or `sort_pairs`' (the order above, stability
 *    per WILD_FLAG_STABLE), with the same status codes, message rules,
 *    scratch memory (`scratch_percent` is for the whole call, all its
 *    threads together) and threads rules: it may run on several host
 *    threads at once, each call on its own buffers.
 *  - `options` belongs to the host and is valid during the call only. The
 *    host zero-fills it and sets `size` to the bytes it filled; a backend
 *    reads only the fields `size` covers, so later minors append fields
 *    and a 1.2 backend reads a newer host's options as it knows them. A
 *    backend that gets a NULL `options`, or a `size` that does not cover
 *    `threads`, returns WILD_ERR_INVALID_ARGUMENT.
 *
 * A forked copy of the host (`--isolate`) has only the calling thread, as
 * under "Threads"; `sort_with` starts its own threads there like anywhere.
 *
 * ------------------------------------------------------------------------
 * Sorting from a source (ABI 1.3)
 * ------------------------------------------------------------------------
 * A caller who wants a sorted copy (Python's `wildsort.sort(array)`
 * returns a new array) would copy the keys and sort the copy in place. A
 * sort that reads its input once and writes it elsewhere anyway (a radix
 * sort's first scatter) can read the original instead and save the copy.
 * A backend declares that it can with WILD_FLAG_FROM_SOURCE; then the host
 * may call its `sort_with` with `options->source` set:
 *
 *  - `source` points to the `len` keys to sort, of type `key_type`,
 *    aligned for it. The backend only reads them; the host promises that
 *    no one writes them during the call. A host that cannot quite promise
 *    it (an interpreter whose other threads may write an array being
 *    sorted) needs a backend that never writes outside `keys`, nor reads
 *    outside its buffers, when a key changes between two of its reads:
 *    the radix backend shipped with wildhost is one, and its result is
 *    then merely out of order.
 *  - `keys` is where the sorted keys go: room for `len` keys of that type,
 *    aligned, writable, whose contents on entry mean nothing (the host may
 *    pass a fresh allocation). The two buffers do not overlap.
 *  - The result in `keys` is the one an in-place sort of a copy of
 *    `source` would give. Everything else is `sort_with`'s contract:
 *    `threads`, status codes, messages, scratch (`scratch_percent` of the
 *    keys' bytes, not counting `keys` itself). On an error `keys` holds
 *    anything and `source` is unchanged.
 *  - Only key-only calls carry a source: with a payload, `source` is NULL.
 *    A NULL `source` (or a `size` that does not cover it) is the in-place
 *    call of "Threads per call".
 *  - The flag needs `sort_with`, and the module must be built for ABI 1.3
 *    or later. A backend without the flag never gets a `source`; the host
 *    copies and sorts in place instead. A backend with the flag that gets
 *    a source it cannot use (a key type it cannot sort from one, say) may
 *    copy `source` into `keys` and sort there.
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
#define WILD_ABI_MINOR 3

/* Key types. Each is one bit: a backend declares a set of them in
 * `key_types`, and `sort` receives exactly one in `key_type`. */
#define WILD_KEY_U32 UINT32_C(0x01)
#define WILD_KEY_U64 UINT32_C(0x02)
#define WILD_KEY_I32 UINT32_C(0x04)
#define WILD_KEY_I64 UINT32_C(0x08)
#define WILD_KEY_F32 UINT32_C(0x10) /* IEEE-754 binary32 */
#define WILD_KEY_F64 UINT32_C(0x20) /* IEEE-754 binary64 */
#define WILD_KEY_ALL UINT32_C(0x3F)

/* Payload types (ABI 1.1). Each is one bit: a backend declares a set of
 * them in `payload_types`, and `sort_pairs` receives exactly one in
 * `payload_type`. */
#define WILD_PAYLOAD_U32 (1u << 0)
#define WILD_PAYLOAD_U64 (1u << 1)

/* Backend flags. Other bits must be zero. */
#define WILD_FLAG_STABLE UINT32_C(0x01)   /* equal keys keep their order (and,
                                             in `sort_pairs`, their payloads') */
#define WILD_FLAG_PARALLEL UINT32_C(0x02) /* may use more than one thread */
#define WILD_FLAG_FROM_SOURCE UINT32_C(0x04) /* ABI 1.3: `sort_with` sorts from
                                                `options->source` into `keys`
                                                (see "Sorting from a source") */

/* Status codes returned by `sort`, `sort_pairs`, `sort_with` and `init`. */
#define WILD_OK 0
#define WILD_ERR_UNSUPPORTED_KEY_TYPE 1 /* a key type the backend did not declare */
#define WILD_ERR_INVALID_ARGUMENT 2     /* NULL buffer with len > 0, misaligned buffer,
                                           NULL or short `options`, a `source`
                                           that overlaps `keys` */
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
 * ABI 1.1: sorts `len` keys of type `key_type` (one WILD_KEY_* bit) at
 * `keys` and `len` payload values of type `payload_type` (one
 * WILD_PAYLOAD_* bit) at `payload` together, in place: `keys` is the same
 * typed array the key-only `sort` gets; `payload` is a second array, aligned
 * for its type, whose values the backend does not interpret and moves with
 * their keys, so that keys[i] and payload[i] stay together. Keys sort in the
 * contract's order (floats by totalOrder); with WILD_FLAG_STABLE, equal keys
 * keep their payloads in input order. Both pointers may be NULL when `len`
 * is 0; the arrays do not overlap.
 *
 * The rest is `sort`'s contract: the same status codes and message rules
 * (WILD_ERR_UNSUPPORTED_KEY_TYPE also for a payload type the backend did not
 * declare), the same threads, no writes outside the two arrays, no pointer
 * kept, no unwinding. `scratch_percent` counts the bytes of both arrays:
 * 100 means one more buffer as large as keys and payload together.
 */
typedef int32_t (*WildSortPairsFn)(void *keys, void *payload, size_t len,
                                   uint32_t key_type, uint32_t payload_type,
                                   char *err, size_t err_cap);

/* ABI 1.2: what one call may use beyond its buffers. The host zero-fills it
 * and sets `size` to the size it knows; a backend reads only fields that
 * `size` covers, so later minors can append fields. */
typedef struct WildSortOptions {
    uint32_t size;    /* bytes of this struct the host filled */
    uint32_t threads; /* most threads the call may run on, the calling one
                         included; at least 1 */
    /* ABI 1.3: NULL, or the keys to sort into `keys` (see "Sorting from a
     * source"); set only for a backend flagged WILD_FLAG_FROM_SOURCE. */
    const void *source;
} WildSortOptions;

/*
 * ABI 1.2: `sort` (payload NULL and payload_type 0) or `sort_pairs` (as
 * there), under `options` (see "Threads per call"). Same return codes and
 * error message contract as `sort`; `options` is never kept.
 */
typedef int32_t (*WildSortWithFn)(void *keys, void *payload, size_t len, uint32_t key_type,
                                  uint32_t payload_type, const WildSortOptions *options,
                                  char *err, size_t err_cap);

/*
 * Plugin-wide initialisation, called before any sort, once in each process
 * that loads the plugin (so possibly in more than one process on a machine,
 * see "Loading, in order"). Returns WILD_OK, or WILD_UNAVAILABLE with the
 * reason in `reason`, written like the message of WildSortFn.
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

/* One backend: the PyMethodDef of this ABI.
 *
 * A 1.1 host sorts pairs through a backend without `sort_pairs` (a 1.0
 * plugin's, or a NULL one) only where it can do so exactly: 32-bit keys,
 * at most 2^32 of them, through the backend's u64 `sort`, each key's
 * order-preserving image in the high half of a u64 and its position in the
 * low half; the host then puts keys and payload in that order. That is
 * sorted and stable whatever the backend. Otherwise it reports that the
 * backend does not sort pairs. */
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
    /* ABI 1.1: sorts keys and a payload together (see "Pairs"). It sorts
     * every key type of `key_types` with every payload type of
     * `payload_types`. A host reads these three fields only when
     * `method_size` covers them. */
    WildSortPairsFn sort_pairs;  /* NULL: the backend sorts bare keys only */
    uint32_t payload_types;      /* WILD_PAYLOAD_* bits; 0 exactly when sort_pairs is NULL */
    uint32_t reserved2;          /* must be 0 */
    /* ABI 1.2: `sort` and `sort_pairs` with a thread count (see "Threads
     * per call"). A host reads it only when `method_size` covers it.
     * The fields before it are four pointers and six uint32_t (24 bytes),
     * so it starts on a pointer boundary on 32- and 64-bit machines alike
     * and the struct still has no padding: no reserved field is needed. */
    WildSortWithFn sort_with;    /* NULL: the host calls `sort`/`sort_pairs` */
    /* ABI 1.3+ fields will be appended here. */
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

/* Exports the ABI tag WildAbi_NAME and the entry point WildInit_NAME of
 * module NAME, whose definition is the static WildModuleDef DEF (no layout
 * symbol: that one is Rust's). Use once per plugin file:
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
