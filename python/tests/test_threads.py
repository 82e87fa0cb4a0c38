"""Sorting from several Python threads at once, with the GIL released."""

import random
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import compile_plugin
from wildsort import argsort, sort


def test_threads_sort_at_once_and_each_gets_its_own_result():
    errors = []
    barrier = threading.Barrier(8)

    def work(seed):
        try:
            rng = np.random.default_rng(seed)
            pyrng = random.Random(seed)
            barrier.wait()
            for round in range(10):
                a = rng.standard_normal(200_000)
                np.testing.assert_array_equal(sort(a), np.sort(a))
                b = rng.integers(-(2**40), 2**40, 100_000)
                sort(b, inplace=True, backend=["radix", "std", "wildsort"][round % 3])
                assert (np.diff(b) >= 0).all()
                xs = [pyrng.randint(-1000, 1000) for _ in range(20_000)]
                assert sort(xs) == sorted(xs)
                assert argsort(xs) == sorted(range(len(xs)), key=xs.__getitem__)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_python_code_runs_while_a_sort_is_in_a_plugin(sandbox):
    """The gate plugin's sort waits until Python code opens its gate, which
    the main thread does only once the sort has entered the plugin: with
    the GIL held during the sort, it never could."""
    compile_plugin(
        sandbox.plugins, "wildsort_gate", source=Path(__file__).parent / "fixtures" / "gate.c"
    )
    entered = sandbox.root / "entered"
    gate = sandbox.root / "gate"
    out = sandbox.run(
        f"""
        import array, json, os, threading, time, wildsort
        keys = array.array("Q", [3, 1, 2])
        result = []
        def run():
            try:
                result.append(wildsort.sort(keys, backend="gate").tolist())
            except Exception as e:
                result.append(str(e))
        t = threading.Thread(target=run)
        t.start()
        while t.is_alive() and not os.path.exists({str(entered)!r}):
            time.sleep(0.01)
        open({str(gate)!r}, "w").close()
        t.join()
        print(json.dumps(result))
        """,
        WILDSORT_TEST_ENTERED=str(entered),
        WILDSORT_TEST_GATE=str(gate),
    )
    assert out == [[1, 2, 3]]


@pytest.mark.parametrize("dtype", ["uint64", "float32"])
def test_an_array_written_by_another_thread_while_it_is_sorted_never_crashes(dtype):
    # sort(a) reads `a` without the GIL (the backend sorts from it, with no
    # copy first), so another thread may write into it meanwhile: a race
    # in the program, whose result may be out of order, but the sort must
    # stay inside its buffers and return an array of the right shape.
    rng = np.random.default_rng(3)
    a = (rng.standard_normal(300_000) * 1e6).astype(dtype)
    stop = threading.Event()

    def scribble():
        i = 0
        while not stop.is_set():
            a[(i * 7919) % len(a) : (i * 7919) % len(a) + 64] = i % 1000
            i += 1

    writer = threading.Thread(target=scribble)
    writer.start()
    try:
        for _ in range(10):
            got = sort(a)
            assert got.shape == a.shape and got.dtype == a.dtype
    finally:
        stop.set()
        writer.join()
    # Once nothing writes, the result is sorted again.
    np.testing.assert_array_equal(sort(a), np.sort(a))
