"""The race of benches/race-python.sh: wildsort.sort against np.sort and
sorted() on the same inputs, in one process; a Markdown table on stdout."""

import argparse
import os
import platform
import random
import statistics
import struct
import sys
import time

import numpy as np

import wildsort


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def timed(fn, x):
    start = time.perf_counter_ns()
    out = fn(x)
    return time.perf_counter_ns() - start, out


def same(a, b):
    if isinstance(a, np.ndarray):
        width = a.dtype.itemsize * 8
        return a.dtype == b.dtype and np.array_equal(a.view(f"uint{width}"), b.view(f"uint{width}"))
    # The same values of the same types, floats bit for bit (0.0 and -0.0).
    return len(a) == len(b) and all(
        type(x) is type(y) and (struct.pack("<d", x) == struct.pack("<d", y) if isinstance(x, float) else x == y)
        for x, y in zip(a, b)
    )


def race(name, make, baseline, repeat):
    """Times wildsort.sort and `baseline` on fresh inputs, alternating."""
    ours, theirs = [], []
    for round in range(repeat + 1):
        x = make()
        pair = [("ours", wildsort.sort), ("theirs", baseline)]
        if round % 2:
            pair.reverse()
        results = {}
        for side, fn in pair:
            results[side] = timed(fn, x)
        if not same(results["ours"][1], results["theirs"][1]):
            print(f"error: {name}: wildsort's result differs from the baseline's", file=sys.stderr)
            sys.exit(1)
        if round:  # the first round is a warm-up
            ours.append(results["ours"][0])
            theirs.append(results["theirs"][0])
        print(f"  {name}: round {round}", file=sys.stderr)
    return ours, theirs


def ms(ns):
    return f"{ns / 1e6:.1f}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--array", type=int, default=10_000_000)
    p.add_argument("--list", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--commit", default="?")
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    pyrng = random.Random(args.seed)
    n, m = args.array, args.list
    f64 = rng.standard_normal(n)
    i64 = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, n, dtype=np.int64)
    f32 = rng.standard_normal(n).astype(np.float32)
    u32 = rng.integers(0, 2**32, n, dtype=np.uint32)
    ints = [pyrng.randint(-(2**62), 2**62) for _ in range(m)]
    small = [pyrng.randint(0, 1_000_000) for _ in range(m)]
    floats = [pyrng.gauss(0, 1) for _ in range(m)]
    rows = [
        (f"numpy float64, {n:,} standard normal", lambda: f64, np.sort, "np.sort"),
        (f"numpy int64, {n:,} uniform", lambda: i64, np.sort, "np.sort"),
        (f"numpy float32, {n:,} standard normal", lambda: f32, np.sort, "np.sort"),
        (f"numpy uint32, {n:,} uniform", lambda: u32, np.sort, "np.sort"),
        (f"list of {m:,} ints in ±2**62", lambda: ints, sorted, "sorted()"),
        (f"list of {m:,} ints in [0, 1e6]", lambda: small, sorted, "sorted()"),
        (f"list of {m:,} floats, standard normal", lambda: floats, sorted, "sorted()"),
    ]
    print(
        f"wildsort {wildsort.__version__} at {args.commit}, numpy {np.__version__}, "
        f"Python {platform.python_version()}; {cpu_model()}, {os.cpu_count()} CPUs; "
        f"{args.repeat} rounds, seed {args.seed}\n"
    )
    print("| input | baseline | baseline ms (median / best) | wildsort ms (median / best) | ratio (medians) |")
    print("|---|---|---|---|---|")
    for name, make, baseline, label in rows:
        ours, theirs = race(name, make, baseline, args.repeat)
        ratio = statistics.median(theirs) / statistics.median(ours)
        print(
            f"| {name} | {label} | {ms(statistics.median(theirs))} / {ms(min(theirs))} | "
            f"{ms(statistics.median(ours))} / {ms(min(ours))} | {ratio:.2f}× |",
            flush=True,
        )


if __name__ == "__main__":
    main()
