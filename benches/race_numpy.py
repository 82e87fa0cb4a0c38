"""The Python half of benches/race-numpy.sh: the radix plugin against
numpy's sort, on the same arrays, in one process.

The plugin is loaded as the host loads it, through the C ABI of
abi/include/wildsort.h: WildInit_<module>() gives the module definition,
its method table gives the backend named `radix`, whose `init` (if any)
runs once and whose `sort` sorts a numpy array's buffer in place. The
script's top comment says what is measured and how; this file prints the
Markdown tables to standard output and its progress to standard error,
and exits with status 1 when the plugin fails or its result differs from
numpy's by a single bit.

    python race_numpy.py --plugin target/release/libwildsort_radix.so \
        [--sizes 1e6,1e7] [--repeat 7] [--seed 1] [--commit abc1234]
"""

import argparse
import ctypes
import os
import re
import statistics
import sys
import time

import numpy as np

# --- the ABI, mirrored from abi/include/wildsort.h --------------------------

WILD_MAGIC = 0x54524F53444C4957
WILD_ABI_MAJOR = 1
WILD_OK = 0
WILD_UNAVAILABLE = 6

# WILD_KEY_* by numpy dtype.
KEY_TYPE = {
    np.dtype(np.uint32): 0x01,
    np.dtype(np.uint64): 0x02,
    np.dtype(np.int32): 0x04,
    np.dtype(np.int64): 0x08,
    np.dtype(np.float32): 0x10,
    np.dtype(np.float64): 0x20,
}

# typedef int32_t (*WildSortFn)(void *keys, size_t len, uint32_t key_type,
#                               char *err, size_t err_cap);
WildSortFn = ctypes.CFUNCTYPE(
    ctypes.c_int32,
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_uint32,
    ctypes.POINTER(ctypes.c_char),
    ctypes.c_size_t,
)
# typedef int32_t (*WildInitFn)(char *reason, size_t reason_cap);
WildInitFn = ctypes.CFUNCTYPE(
    ctypes.c_int32, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t
)


class WildMethodDef(ctypes.Structure):
    """One backend. The fields after `reserved` are ABI 1.1's: read only
    when `method_size` covers them (this script never needs them)."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("doc", ctypes.c_char_p),
        ("sort", WildSortFn),
        ("key_types", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("scratch_percent", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        # WildSortPairsFn; not called here.
        ("sort_pairs", ctypes.c_void_p),
        ("payload_types", ctypes.c_uint32),
        ("reserved2", ctypes.c_uint32),
    ]


class WildModuleDef(ctypes.Structure):
    _fields_ = [
        ("magic", ctypes.c_uint64),
        ("abi_major", ctypes.c_uint16),
        ("abi_minor", ctypes.c_uint16),
        ("size", ctypes.c_uint32),
        ("name", ctypes.c_char_p),
        ("version", ctypes.c_char_p),
        ("doc", ctypes.c_char_p),
        ("features", ctypes.c_void_p),
        ("init", WildInitFn),
        ("methods", ctypes.c_void_p),
        ("method_count", ctypes.c_uint32),
        ("method_size", ctypes.c_uint32),
    ]


# The 1.0 part of a method entry: what a plugin of any ABI 1 minor has.
METHOD_1_0_SIZE = WildMethodDef.sort_pairs.offset


class PluginError(Exception):
    pass


class Backend:
    """A backend of a loaded plugin: `sort(array)` sorts in place."""

    def __init__(self, module, version, name, sort, key_types):
        self.module = module
        self.version = version
        self.name = name
        self._sort = sort
        self.key_types = key_types
        self._err = ctypes.create_string_buffer(1024)

    def sort(self, array):
        status = self._sort(
            array.ctypes.data,
            array.size,
            KEY_TYPE[array.dtype],
            self._err,
            len(self._err),
        )
        if status != WILD_OK:
            message = self._err.value.decode("utf-8", "replace")
            raise PluginError(f"`{self.name}` failed (status {status}): {message}")


def load_backend(path, wanted):
    """Loads the plugin file at `path` as the host does (RTLD_NOW |
    RTLD_LOCAL, never closed), checks its definition and runs its `init`,
    and returns its backend named `wanted`."""
    # The module name is the file name without "lib" and the extension.
    module = os.path.basename(path).split(".", 1)[0]
    if module.startswith("lib"):
        module = module[3:]
    library = ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
    try:
        entry = getattr(library, "WildInit_" + module)
    except AttributeError:
        raise PluginError(f"{path} exports no WildInit_{module}") from None
    entry.restype = ctypes.POINTER(WildModuleDef)
    entry.argtypes = []
    definition = entry()
    if not definition:
        raise PluginError(f"WildInit_{module} returned NULL")
    d = definition.contents
    if d.magic != WILD_MAGIC or d.abi_major != WILD_ABI_MAJOR:
        raise PluginError(
            f"{path}: magic {d.magic:#x}, ABI {d.abi_major}.{d.abi_minor}:"
            f" not a wildsort ABI {WILD_ABI_MAJOR} module"
        )
    if (d.name or b"").decode() != module:
        raise PluginError(f"{path}: the definition names module {d.name!r}")
    if not d.methods or d.method_size < METHOD_1_0_SIZE:
        raise PluginError(f"{path}: no method table, or entries too small")
    if d.init:
        reason = ctypes.create_string_buffer(1024)
        status = d.init(reason, len(reason))
        if status != WILD_OK:
            raise PluginError(
                f"init answered {status}: {reason.value.decode('utf-8', 'replace')}"
            )
    names = []
    for i in range(d.method_count):
        m = WildMethodDef.from_address(d.methods + i * d.method_size)
        name = (m.name or b"").decode()
        names.append(name)
        if name == wanted:
            if not m.sort:
                raise PluginError(f"backend `{name}` has a NULL sort")
            version = (d.version or b"?").decode()
            backend = Backend(module, version, name, m.sort, m.key_types)
            # The library must outlive every call: the host never unloads.
            backend.library = library
            return backend
    raise PluginError(f"{path} has no backend `{wanted}` (it has: {', '.join(names)})")


# --- the inputs ---------------------------------------------------------------

# (column, generator): each draws n keys from numpy's default_rng.
DISTRIBUTIONS = [
    ("u32 uniform", lambda rng, n: rng.integers(0, 2**32, n, dtype=np.uint32)),
    ("u64 uniform", lambda rng, n: rng.integers(0, 2**64, n, dtype=np.uint64)),
    ("i64 uniform", lambda rng, n: rng.integers(-(2**63), 2**63, n, dtype=np.int64)),
    ("i64 [0, 1e6)", lambda rng, n: rng.integers(0, 10**6, n, dtype=np.int64)),
    ("f64 normal", lambda rng, n: rng.standard_normal(n)),
    ("f64 [0, 1)", lambda rng, n: rng.random(n)),
    ("f64 lognormal", lambda rng, n: rng.lognormal(0.0, 1.0, n)),
    ("f32 normal", lambda rng, n: rng.standard_normal(n, dtype=np.float32)),
]

# The unsigned integer of each key's width: results are compared as bits.
BITS = {4: np.uint32, 8: np.uint64}


# --- the machine line ---------------------------------------------------------


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def simd_summary():
    """numpy's view of the CPU's vector units, as np.show_runtime() prints
    it (simd_extensions: the baseline it was built for and the dispatch
    targets the CPU has), the AVX flags, and the target its vectorised sort
    runs."""
    from numpy._core import _multiarray_umath as core

    features = core.__cpu_features__
    flags = ["AVX2", "AVX512F", "AVX512_SKX", "AVX512_ICL", "AVX512_SPR"]
    have = ", ".join(f"{f} {'yes' if features.get(f) else 'no'}" for f in flags)
    baseline = ", ".join(core.__cpu_baseline__) or "none"
    dispatch = list(core.__cpu_dispatch__)
    found = ", ".join(t for t in dispatch if features.get(t)) or "none"
    return (
        f"baseline {baseline}, found {found}; {have}",
        sort_dispatch(core, features, dispatch),
    )


def sort_dispatch(core, features, dispatch):
    """The x86-simd-sort target numpy's `ndarray.sort` runs here. numpy
    does not report it; its core library holds one `np::qsort_simd::
    QSort_<target>` per target it was built with, and it calls the best of
    those the CPU has (its dispatch list is in ascending order)."""
    try:
        with open(core.__file__, "rb") as f:
            data = f.read()
    except (OSError, AttributeError):
        return "unknown"
    # Mangled as ...qsort_simd12QSort_X86_V3IdEEvPT_l: the element type after
    # the target, d f i j l m for double, float, int, unsigned, long, ulong.
    built = set()
    for target, element in re.findall(rb"qsort_simd\d+QSort_(\w+?)I([dfijlm])E", data):
        built.add(target.decode())
    if not built:
        return "none found (numpy's own quicksort)"
    usable = [t for t in dispatch if t in built and features.get(t)]
    chosen = usable[-1] if usable else "none usable (numpy's own quicksort)"
    return f"{chosen} (built for {', '.join(t for t in dispatch if t in built)})"


# --- the race -----------------------------------------------------------------


def size_label(n):
    exponent = len(str(n)) - 1
    return f"1e{exponent}" if n == 10**exponent else str(n)


def parse_sizes(text):
    sizes = []
    for word in re.split(r"[,\s]+", text.strip()):
        if not word:
            continue
        value = float(word.replace("_", ""))
        if value < 1 or value != int(value):
            raise argparse.ArgumentTypeError(f"`{word}` is not a number of keys")
        sizes.append(int(value))
    if not sizes:
        raise argparse.ArgumentTypeError("no sizes given")
    return sizes


def say(*args):
    print(*args, file=sys.stderr, flush=True)


def race_cell(backend, base, repeat):
    """Times numpy and the plugin on copies of `base`, alternating which
    goes first; returns (numpy times, radix times) in ns, or raises on a
    wrong result."""
    bits = BITS[base.dtype.itemsize]
    times = {"numpy": [], "radix": []}

    def numpy_sort(a):
        a.sort(kind="quicksort")

    contenders = [("numpy", numpy_sort), ("radix", backend.sort)]
    # Round 0 is a warm-up: untimed, but checked like every other.
    for round_ in range(repeat + 1):
        order = contenders if round_ % 2 == 0 else contenders[::-1]
        results = {}
        for name, sort in order:
            # A fresh copy just before each sort: both find their keys in
            # the same state (just written, as far in the cache as they fit).
            keys = base.copy()
            start = time.perf_counter_ns()
            sort(keys)
            end = time.perf_counter_ns()
            if round_ > 0:
                times[name].append(end - start)
            results[name] = keys
        got = results["radix"].view(bits)
        want = results["numpy"].view(bits)
        if not np.array_equal(got, want):
            index = int(np.flatnonzero(got != want)[0])
            raise PluginError(
                f"radix differs from numpy at key {index} of {base.size}:"
                f" {results['radix'][index]!r} against {results['numpy'][index]!r}"
            )
    return times["numpy"], times["radix"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plugin", required=True, help="the radix plugin file")
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1e6,1e7"))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--commit", default="unknown")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    try:
        backend = load_backend(args.plugin, "radix")
    except (OSError, PluginError) as e:
        say(f"error: cannot load the radix backend from {args.plugin}")
        say(f"  cause: {e}")
        say("  help: build it with `cargo build --release -p wildsort-radix`")
        return 1

    started = time.monotonic()
    results = {}  # (n, column) -> (numpy ns list, radix ns list)
    wrong = []
    for n in args.sizes:
        for column, draw in DISTRIBUTIONS:
            # Each cell from a generator seeded afresh: a cell's keys do not
            # depend on which other cells run.
            base = draw(np.random.default_rng(args.seed), n)
            try:
                results[(n, column)] = race_cell(backend, base, args.repeat)
            except PluginError as e:
                say(f"error: {size_label(n)} {column}: {e}")
                wrong.append((n, column))
                continue
            numpy_ns, radix_ns = results[(n, column)]
            say(
                f"{size_label(n)} {column}: numpy {statistics.median(numpy_ns) / 1e6:.1f} ms,"
                f" radix {statistics.median(radix_ns) / 1e6:.1f} ms"
            )
            del base

    simd, dispatch = simd_summary()
    print(
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; numpy {np.__version__}"
        f" (SIMD {simd}; x86-simd-sort target: {dispatch});"
        f" wildhost {args.commit}, plugin {backend.module} {backend.version};"
        f" {args.repeat} rounds, seed {args.seed}; both single-threaded."
    )
    print()

    columns = [c for c, _ in DISTRIBUTIONS]
    head = "| n | " + " | ".join(columns) + " |"
    rule = "|---|" + "---:|" * len(columns)

    def cell(n, column, value):
        if (n, column) in wrong:
            return "wrong"
        return value(*results[(n, column)])

    print("numpy median ÷ radix median (above 1: radix is faster)")
    print()
    print(head)
    print(rule)
    for n in args.sizes:
        row = [
            cell(n, c, lambda a, b: f"{statistics.median(a) / statistics.median(b):.2f}")
            for c in columns
        ]
        print(f"| {size_label(n)} | " + " | ".join(row) + " |")
    print()
    print("ns per key")
    print()
    print(head.replace("| n |", "| n, sort |"))
    print(rule)
    for n in args.sizes:
        for who, index in (("numpy", 0), ("radix", 1)):
            for stat, f in (("median", statistics.median), ("best", min)):
                row = [
                    cell(n, c, lambda *t: f"{f(t[index]) / n:.2f}") for c in columns
                ]
                print(f"| {size_label(n)} {who} {stat} | " + " | ".join(row) + " |")

    say(f"raced in {time.monotonic() - started:.0f} s")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
