#!/usr/bin/env bash
# Races `wildhost sort` against GNU sort and polars on generated inputs, in
# one run, and prints the result as Markdown tables:
#
#   benches/race-records.sh                        # 5e6 rows (~240 MB), 1e7 lines
#   ROWS=200000 REPEAT=5 benches/race-records.sh   # a quick one
#
# Settings, from the environment:
#   ROWS    rows of the CSV (default 5000000, ~48 bytes each)
#   LINES   lines of the whole-line file (default 2 x ROWS)
#   BIG     lines of the file sorted past memory (default 21000000, ~420
#           MB; 0 skips that race)
#   REPEAT  rounds (default 3); the tables give the best and the median
#   SEED    seed of the generated inputs (default 1)
#   CARGO_TARGET_DIR  where everything goes (default target/ of the
#           repository): the release build, race-venv/ (a Python virtual
#           environment with polars) and race/ (the inputs, kept for the
#           next run, and the outputs)
#
# What runs:
# - The build: `cargo build --release --workspace`; the inputs come from
#   benches/examples/race_inputs.rs (its top comment describes them) and
#   are made again only when the row count, the seed or that file changes.
# - polars is installed into race-venv with pip, once. When that fails
#   (no network, no venv module), the script says so and races without it.
# - Records: a CSV `id,amount,name,score` sorted by its second field as an
#   integer, stable, each line written as it was:
#     wildhost sort --key 2 --delimiter , --input BODY --output OUT
#     LC_ALL=C sort -s -t, -k2,2n BODY > OUT
#     polars: read_csv(BODY, has_header=False), sort by the second column
#       with maintain_order=True, write_csv(OUT, include_header=False)
#   GNU sort cannot skip a header line, so all three read the same
#   header-less file BODY: the generated CSV without its first line.
#   GNU sort's output is the reference (wildhost must match it byte for
#   byte). polars writes floats in their shortest form (1.5 for 1.50), so
#   its output differs; the table says so rather than failing.
# - Whole lines: one integer per line, `wildhost sort --input L --output
#   OUT` against `LC_ALL=C sort -s -n L > OUT`. The integers are canonical
#   (no `+`, no leading zero), the form wildhost writes, so the outputs
#   can be compared byte for byte.
# - Past memory: BIG whole-line integers sorted within 64 MiB, in parts
#   through temporary files in race/tmp: `wildhost sort --memory 64M`
#   against `LC_ALL=C sort -s -n -S 64M --parallel=2`.
#
# How it measures:
# - Each round runs every command once, in turn, so a slow moment of a
#   shared machine falls on all of them; each output file is deleted
#   and the page cache's dirty pages written out (`sync`, untimed) before
#   a command runs, so that none pays for the writeback of another's
#   output. The inputs are read once before the first
#   round so that every command reads them from the page cache.
# - Time is the wall clock of the whole process, start-up included: for
#   polars that is the interpreter and `import polars`, which the table
#   also times alone. × wildhost is a command's best time over wildhost's.
# - GNU sort sorts with min(cores, 8) threads and polars with all cores;
#   the machine line gives the number of cores.
# - Peak RSS is the largest over the rounds, from `/usr/bin/time -f %M`
#   (or, when /usr/bin/time is missing, Python's getrusage of its child,
#   whose start-up then adds some 20 ms to every time): the resident set
#   of the command's process, for polars the interpreter and the library
#   included. RSS / input is that over the size of the input file.
#
# The exit status is 1 when a wildhost command failed or wrote other bytes
# than GNU sort, else 0. The tables go to standard output, progress to
# standard error.

# The contenders are functions called by name ("run_$id"), and the labels
# hold Markdown backquotes, not command substitutions.
# shellcheck disable=SC2317,SC2016
set -euo pipefail

ROWS=${ROWS:-5000000}
LINES=${LINES:-$((2 * ROWS))}
BIG=${BIG:-21000000}
REPEAT=${REPEAT:-3}
SEED=${SEED:-1}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
[[ $target = /* ]] || target=$repo/$target
work=$target/race
venv=$target/race-venv
mkdir -p "$work/out" "$work/tmp"
cd "$repo"

say() { printf '%s\n' "$*" >&2; }

# --- polars, in a virtual environment of its own -------------------------

polars=""
if [[ -x $venv/bin/python ]] && "$venv/bin/python" -c 'import polars' 2>/dev/null; then
    polars=$venv/bin/python
elif { [[ -x $venv/bin/python ]] || python3 -m venv "$venv"; } &&
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check polars >&2; then
    polars=$venv/bin/python
else
    say "note: could not install polars into $venv; racing without it"
fi

# --- the build and the inputs --------------------------------------------

say "building wildhost (release)"
cargo build --quiet --release --workspace
wildhost=$target/release/wildhost

# The generator's source is part of the inputs' name: changing it makes
# them again.
generator=$(sha1sum benches/examples/race_inputs.rs | cut -c1-8)
csv=$work/records-$ROWS-seed$SEED-$generator.csv
body=$work/records-$ROWS-seed$SEED-$generator.body.csv
lines=$work/lines-$LINES-seed$SEED-$generator.txt

generate() { # KIND COUNT FILE
    [[ -s $3 ]] && return
    say "generating $3"
    cargo run --quiet --release -p wildhost-benches --example race_inputs -- \
        "$1" "$2" "$SEED" "$3.tmp"
    mv "$3.tmp" "$3"
}
generate records "$ROWS" "$csv"
generate lines "$LINES" "$lines"
big=$work/lines-$BIG-seed$SEED-$generator.txt
((BIG == 0)) || generate lines "$BIG" "$big"
if [[ ! -s $body ]]; then
    tail -n +2 "$csv" >"$body.tmp"
    mv "$body.tmp" "$body"
fi
cat "$body" "$lines" >/dev/null
((BIG == 0)) || cat "$big" >/dev/null

# --- the contenders -------------------------------------------------------

# Peak RSS in KiB goes to $rss_file; the command's exit status is kept.
rss_file=$work/out/rss
if [[ -x /usr/bin/time ]]; then
    timer=(/usr/bin/time -f %M -o "$rss_file")
else
    timer=(python3 -c '
import resource, subprocess, sys
status = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=f)
sys.exit(status)' "$rss_file")
fi

# Each contender is a function run_ID that writes its result to "$1".
run_wildhost_records() {
    "${timer[@]}" "$wildhost" sort --key 2 --delimiter , --input "$body" --output "$1"
}
run_gnu_records() {
    LC_ALL=C "${timer[@]}" sort -s -t, -k2,2n "$body" >"$1"
}
# polars 1 names header-less columns column_1.., polars 2 column_0..: the
# sort names its column by position.
polars_sort='
import sys, polars as pl
df = pl.read_csv(sys.argv[1], has_header=False)
df.sort(df.columns[1], maintain_order=True).write_csv(sys.argv[2], include_header=False)'
run_polars_records() {
    "${timer[@]}" "$polars" -c "$polars_sort" "$body" "$1"
}
# What polars costs before it reads a byte: its share of the time and the
# RSS of the row above it.
run_polars_startup() {
    "${timer[@]}" "$polars" -c 'import polars'
}
run_wildhost_lines() {
    "${timer[@]}" "$wildhost" sort --input "$lines" --output "$1"
}
run_gnu_lines() {
    LC_ALL=C "${timer[@]}" sort -s -n "$lines" >"$1"
}
run_wildhost_parts() {
    "${timer[@]}" "$wildhost" sort --memory 64M --temp-dir "$work/tmp" --input "$big" --output "$1"
}
run_gnu_parts() {
    LC_ALL=C "${timer[@]}" sort -s -n -S 64M --parallel=2 -T "$work/tmp" "$big" >"$1"
}

declare -A label=(
    [wildhost_records]='`wildhost sort --key 2 --delimiter ,`'
    [gnu_records]='`LC_ALL=C sort -s -t, -k2,2n`'
    [polars_records]='polars `read_csv`, `sort(maintain_order=True)`, `write_csv`'
    [polars_startup]='polars start-up alone: `python -c "import polars"`'
    [wildhost_lines]='`wildhost sort`'
    [gnu_lines]='`LC_ALL=C sort -s -n`'
    [wildhost_parts]='`wildhost sort --memory 64M`'
    [gnu_parts]='`LC_ALL=C sort -s -n -S 64M --parallel=2`'
)
records=(wildhost_records gnu_records)
[[ -z $polars ]] || records+=(polars_records polars_startup)
# Contenders that write nothing to compare.
declare -A no_output=([polars_startup]=1)
whole=(wildhost_lines gnu_lines)
parts=()
((BIG == 0)) || parts=(wildhost_parts gnu_parts)

# --- the race -------------------------------------------------------------

declare -A times=() rss=() failed=()

# measure ID: runs contender ID once, adds its time (microseconds) to
# times[ID] and keeps its largest RSS (KiB) in rss[ID].
measure() {
    local id=$1 out=$work/out/$1.out status=0
    rm -f "$out" "$rss_file"
    # The previous command's output goes to disk first, so that no command
    # shares the disk with the writeback of another's.
    sync
    local start=$EPOCHREALTIME
    "run_$id" "$out" 2>"$work/out/$id.err" || status=$?
    local end=$EPOCHREALTIME
    if ((status != 0)); then
        failed[$id]=$status
        say "  $id failed (exit $status): $(head -n 1 "$work/out/$id.err")"
        return
    fi
    local us=$((10#${end//[.,]/} - 10#${start//[.,]/}))
    times[$id]+="$us "
    local kib
    kib=$(tail -n 1 "$rss_file" 2>/dev/null || true)
    if [[ $kib =~ ^[0-9]+$ ]] && ((kib > ${rss[$id]:-0})); then
        rss[$id]=$kib
    fi
    say "  $id: $(seconds "$us") s"
}

seconds() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1e6 }'; }

for ((round = 1; round <= REPEAT; round++)); do
    say "round $round of $REPEAT"
    for id in "${records[@]}" "${whole[@]}" "${parts[@]}"; do
        [[ -n ${failed[$id]:-} ]] || measure "$id"
    done
done

# --- the tables -----------------------------------------------------------

# The times of contender ID, one a line, fastest first.
samples() { tr ' ' '\n' <<<"${times[$1]}" | sed '/^$/d' | sort -n; }
best() { samples "$1" | head -n 1; }
median() {
    samples "$1" |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
megabytes() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

verdict=0

# table INPUT BASELINE REFERENCE IDS...: one row per contender; times as a
# ratio to BASELINE's best, bytes compared with REFERENCE's output.
table() {
    local input=$1 baseline=$2 reference=$3 id
    shift 3
    local size
    size=$(stat -c %s "$input")
    echo "| command | best s | median s | × wildhost | peak RSS MB | RSS / input | same bytes as GNU sort |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for id in "$@"; do
        if [[ -n ${failed[$id]:-} ]]; then
            echo "| ${label[$id]} | failed (exit ${failed[$id]}) | | | | | |"
            [[ $id == wildhost_* ]] && verdict=1
            continue
        fi
        local ratio=- same=reference mb='?' per_input='?'
        if [[ -z ${failed[$baseline]:-} ]]; then
            ratio=$(awk -v a="$(best "$id")" -v b="$(best "$baseline")" 'BEGIN { printf "%.2f", a / b }')
        fi
        if [[ -n ${rss[$id]:-} ]]; then
            mb=$(megabytes $((rss[$id] * 1024)))
            per_input=$(awk -v r="${rss[$id]}" -v s="$size" 'BEGIN { printf "%.2f", r * 1024 / s }')
        fi
        if [[ -n ${no_output[$id]:-} ]]; then
            same=-
        elif [[ $id != "$reference" ]]; then
            if [[ -n ${failed[$reference]:-} ]]; then
                same=-
            elif cmp -s "$work/out/$id.out" "$work/out/$reference.out"; then
                same=yes
            else
                same=no
                [[ $id == wildhost_* ]] && verdict=1
            fi
        fi
        echo "| ${label[$id]} | $(seconds "$(best "$id")") | $(seconds "$(median "$id")") |" \
            "$ratio | $mb | $per_input | $same |"
    done
}

# Why a command failed, or the first line where its output differs from
# GNU sort's.
note() {
    local id=$1 reference=$2
    if [[ -n ${failed[$id]:-} ]]; then
        echo
        echo "${label[$id]} failed: $(head -n 1 "$work/out/$id.err")"
        return
    fi
    [[ $id != "$reference" && -z ${no_output[$id]:-} ]] || return 0
    [[ -z ${failed[$id]:-} && -z ${failed[$reference]:-} ]] || return 0
    cmp -s "$work/out/$id.out" "$work/out/$reference.out" && return 0
    local line
    line=$(cmp "$work/out/$id.out" "$work/out/$reference.out" 2>&1 |
        sed -n 's/.*line \([0-9]*\).*/\1/p' || true)
    [[ -n $line ]] || return 0
    echo
    echo "${label[$id]} differs from GNU sort first at line $line:"
    echo '```'
    echo "GNU sort: $(sed -n "${line}p;${line}q" "$work/out/$reference.out")"
    echo "this:     $(sed -n "${line}p;${line}q" "$work/out/$id.out")"
    echo '```'
}

echo "### Records: $ROWS rows, $(megabytes "$(stat -c %s "$body")") MB without the header"
echo
table "$body" wildhost_records gnu_records "${records[@]}"
for id in "${records[@]}"; do
    note "$id" gnu_records
done
echo
echo "### Whole lines: $LINES integers, $(megabytes "$(stat -c %s "$lines")") MB"
echo
table "$lines" wildhost_lines gnu_lines "${whole[@]}"
for id in "${whole[@]}"; do
    note "$id" gnu_lines
done
if ((BIG > 0)); then
    echo
    echo "### Past memory: $BIG integers, $(megabytes "$(stat -c %s "$big")") MB, within 64 MiB"
    echo
    table "$big" wildhost_parts gnu_parts "${parts[@]}"
    for id in "${parts[@]}"; do
        note "$id" gnu_parts
    done
fi

echo
polars_version="not installed"
[[ -z $polars ]] || polars_version=$("$polars" -c 'import polars; print(polars.__version__)')
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD || commit+=" (with uncommitted changes)"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "Machine: ${cpu:-unknown CPU}, $(nproc) cores; wildhost $commit;" \
    "polars $polars_version; $(sort --version | head -n 1); $REPEAT rounds."

exit "$verdict"
