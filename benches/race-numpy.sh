#!/usr/bin/env bash
# Races the radix plugin against numpy's sort on the same arrays, in one
# Python process, and prints the result as Markdown tables:
#
#   benches/race-numpy.sh                          # 1e6 and 1e7 keys
#   N_LIST=100000 REPEAT=3 benches/race-numpy.sh   # a quick one
#
# Settings, from the environment:
#   N_LIST  numbers of keys, comma- or space-separated; 1e6 works
#           (default 1000000,10000000)
#   REPEAT  timed rounds per cell (default 7); the tables give the median
#           and the best
#   SEED    seed of numpy's default_rng (default 1)
#   CARGO_TARGET_DIR  where everything goes (default target/ of the
#           repository): the release build of the plugin and race-venv/
#           (the Python virtual environment benches/race-records.sh also
#           uses, with numpy installed into it)
#
# What runs:
# - The build: `cargo build --release -p wildsort-radix`, whose cdylib is
#   $CARGO_TARGET_DIR/release/libwildsort_radix.so.
# - numpy is installed into race-venv with pip when `import numpy` fails
#   there. When that fails too (no network, no venv module), the script
#   says so and exits 1: it has nothing to race without numpy.
# - benches/race_numpy.py loads the plugin with ctypes as the host does,
#   through the C ABI of abi/include/wildsort.h: it calls
#   WildInit_wildsort_radix, reads the method table, runs the module's
#   `init` and calls the `sort` of the backend named `radix` on a numpy
#   array's buffer, in place.
# - The inputs, one column each, at every size of N_LIST, drawn by
#   numpy.random.default_rng(SEED) afresh for each cell: u32, u64 and i64
#   uniform over the type, i64 in [0, 1e6), f64 standard normal, f64 in
#   [0, 1) (`random`), f64 lognormal (mean 0, sigma 1), f32 standard
#   normal. None holds a NaN, so numpy's order (NaN last) and the plugin's
#   (IEEE totalOrder) agree.
#
# How it measures:
# - numpy's `ndarray.sort(kind="quicksort")`, the in-place form of
#   `np.sort`, which allocates nothing (on x86 it runs x86-simd-sort's
#   vectorised quicksort where the CPU has AVX2 or AVX-512), against the
#   plugin's `sort`, which allocates its scratch buffer in every call as
#   it does under the host: that cost is part of its time.
# - A round copies the input (untimed) just before each sort, so both
#   find their keys in the same state, and times each sort alone with
#   time.perf_counter_ns; the rounds alternate which one goes first. An
#   untimed round comes before the REPEAT timed ones. Both sort on one
#   thread; the machine line gives the number of cores.
# - Every round compares the two results bit for bit (as unsigned integers
#   of the key's width). The ratio is numpy's median over the plugin's:
#   above 1 the plugin is faster.
# - The machine line: the CPU model and core count from /proc/cpuinfo,
#   numpy's version, the SIMD extensions numpy finds (as np.show_runtime()
#   prints them), its AVX2/AVX-512 flags, and the x86-simd-sort target its
#   sort runs, read from the symbols of numpy's core library since numpy
#   does not report it.
#
# The exit status is 1 when the plugin failed, sorted differently from
# numpy, or numpy could not be installed, else 0. The tables go to
# standard output, progress to standard error.
set -euo pipefail

N_LIST=${N_LIST:-1000000,10000000}
REPEAT=${REPEAT:-7}
SEED=${SEED:-1}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
[[ $target = /* ]] || target=$repo/$target
venv=$target/race-venv
cd "$repo"

say() { printf '%s\n' "$*" >&2; }

# --- numpy, in the race's virtual environment ----------------------------

if ! { [[ -x $venv/bin/python ]] && "$venv/bin/python" -c 'import numpy' 2>/dev/null; }; then
    say "installing numpy into $venv"
    if ! { { [[ -x $venv/bin/python ]] || python3 -m venv "$venv"; } &&
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check numpy >&2; }; then
        say "error: cannot install numpy into $venv"
        say "  cause: \`python3 -m venv\` or \`pip install numpy\` failed (see above)"
        say "  help: install numpy into $venv by hand (it needs the network once), then run this again"
        exit 1
    fi
fi

# --- the plugin -----------------------------------------------------------

say "building the radix plugin (release)"
cargo build --quiet --release -p wildsort-radix
plugin=$target/release/libwildsort_radix.so
if [[ ! -f $plugin ]]; then
    say "error: the build left no $plugin"
    say "  help: check the [lib] name and crate-type in plugins/radix/Cargo.toml"
    exit 1
fi

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD || commit+=" (with uncommitted changes)"

# --- the race -------------------------------------------------------------

exec "$venv/bin/python" benches/race_numpy.py --plugin "$plugin" \
    --sizes "$N_LIST" --repeat "$REPEAT" --seed "$SEED" --commit "$commit"
