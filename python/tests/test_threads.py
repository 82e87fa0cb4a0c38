"""Sorting from several Python threads at once, with the GIL released."""

import random
import threading
from pathlib import Path

import numpy as np

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
