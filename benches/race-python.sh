#!/usr/bin/env bash
# Races the `wildsort` Python package against numpy's `np.sort` and
# Python's `sorted()` in one Python process, and prints a Markdown table:
#
#   benches/race-python.sh                 # 10M-key arrays, 1M-element lists
#   REPEAT=3 N_ARRAY=1000000 benches/race-python.sh   # a quick one
#
# Settings, from the environment:
#   N_ARRAY  keys per numpy array (default 10000000)
#   N_LIST   elements per list (default 1000000)
#   REPEAT   timed rounds per row (default 7); the table gives the median
#            and the best of each side
#   SEED     seed of numpy's default_rng and Python's random (default 1)
#   CARGO_TARGET_DIR  where everything goes (default target/): the release
#            build of the extension in python-build/, and py-race-venv/,
#            the virtual environment the package and numpy are installed
#            into
#
# What runs: `pip install ./python` into the environment (maturin builds
# the extension in release mode, as a user's `pip install` does), numpy
# when it is missing, then benches/race_python.py. Each row sorts one input
# with both sides: `wildsort.sort(x)` against `np.sort(x)` (both return a
# new array) or `sorted(x)` (both return a new list), alternating which
# goes first; an untimed round comes before the timed ones, and every
# round compares the results (bit for bit for arrays, the same values of
# the same types, floats bit for bit, for lists). The ratio is the baseline's median over wildsort's: above 1,
# wildsort is faster. wildsort sorts on every CPU the process may use, as
# it does by default; np.sort and sorted() on one.
#
# Exit status 1 when a result differs or the install fails.
set -euo pipefail

N_ARRAY=${N_ARRAY:-10000000}
N_LIST=${N_LIST:-1000000}
REPEAT=${REPEAT:-7}
SEED=${SEED:-1}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
[[ $target = /* ]] || target=$repo/$target
venv=$target/py-race-venv
cd "$repo"

say() { printf '%s\n' "$*" >&2; }

if ! [[ -x $venv/bin/python ]]; then
    python3 -m venv "$venv" || {
        say "error: cannot make the virtual environment $venv"
        say "  help: install Python 3.9+ with its venv module (Debian: python3-venv)"
        exit 1
    }
fi
if ! "$venv/bin/python" -c 'import numpy' 2>/dev/null; then
    say "installing numpy into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check numpy >&2
fi
say "building and installing the wildsort package (release)"
# Not into $target itself: a cdylib there lies beside target/release/wildhost,
# which would list it as a refused plugin.
CARGO_TARGET_DIR=$target/python-build "$venv/bin/python" -m pip install --quiet \
    --disable-pip-version-check --force-reinstall --no-deps ./python >&2 || {
    say "error: pip install ./python failed (see above)"
    say "  help: it needs a Rust toolchain, a C compiler and PyPI (for maturin)"
    exit 1
}

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD || commit+=" (with uncommitted changes)"

cd "$target"  # not the repository: import the installed package
exec "$venv/bin/python" "$repo/benches/race_python.py" --array "$N_ARRAY" \
    --list "$N_LIST" --repeat "$REPEAT" --seed "$SEED" --commit "$commit"
