"""Sorting lists, numpy arrays and buffers, against sorted() and np.sort."""

import array
import math
import random
import struct

import numpy as np
import pytest

import wildsort
from wildsort import argsort, sort

BACKENDS = ["radix", "std", "wildsort"]
DTYPES = ["uint32", "uint64", "int32", "int64", "float32", "float64"]
I64 = (-(2**63), 2**63 - 1)
U64_MAX = 2**64 - 1


def test_the_seeds_toy():
    assert sort([21, 3, 48, 12, 18, 45]) == [3, 12, 18, 21, 45, 48]


def same_objects(got, expected):
    """What sorted() gives: the same values of the same types in the same
    order, floats bit for bit (so 0.0 and -0.0 in sorted()'s order)."""
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        same = type(g) is type(e) and (
            struct.pack("<d", g) == struct.pack("<d", e) if isinstance(g, float) else g == e
        )
        assert same, f"at index {i}: {g!r} where sorted() gives {e!r}"


def identical(got, expected):
    """The very objects sorted() gives, in its order."""
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g is e, f"at index {i}: {g!r} is not the {e!r} sorted() gives"


@pytest.mark.parametrize("backend", BACKENDS)
def test_lists_of_ints_are_sorted_as_sorted_sorts_them(backend):
    rng = random.Random(1)
    xs = [rng.randint(*I64) for _ in range(5000)] + [I64[0], I64[1], 0, -1, 1, True, False]
    xs += [rng.randint(-3, 3) for _ in range(5000)]
    rng.shuffle(xs)
    same_objects(sort(xs, backend=backend), sorted(xs))
    same_objects(sort(xs, backend=backend, reverse=True), sorted(xs, reverse=True))


def test_ints_above_i64_are_sorted_as_u64():
    rng = random.Random(2)
    xs = [rng.randint(0, U64_MAX) for _ in range(3000)] + [U64_MAX, 2**63, 2**63 - 1, 0]
    same_objects(sort(xs), sorted(xs))
    same_objects(sort(xs, reverse=True), sorted(xs, reverse=True))


def test_floats_with_zeros_and_infinities_are_sorted_as_sorted_sorts_them():
    rng = random.Random(3)
    xs = [rng.gauss(0, 1e6) for _ in range(3000)]
    xs += [0.0, -0.0, 0.0, -0.0, math.inf, -math.inf, 5e-324, -5e-324, 1.7976931348623157e308]
    xs += [float(rng.randint(-5, 5)) for _ in range(2000)]
    rng.shuffle(xs)
    same_objects(sort(xs), sorted(xs))
    same_objects(sort(xs, reverse=True), sorted(xs, reverse=True))


def bits(x):
    return struct.pack("<d", x)


def test_nans_in_a_list_go_where_total_order_puts_them():
    nan = float("nan")
    negative_nan = -nan
    xs = [1.0, nan, -math.inf, negative_nan, math.inf, -2.0]
    for values in (xs, xs + [1]):  # floats alone, and mixed with an int
        got = sort(values)
        assert bits(got[0]) == bits(negative_nan) and math.copysign(1, got[0]) == -1
        assert bits(got[-1]) == bits(nan) and math.copysign(1, got[-1]) == 1
        rev = sort(values, reverse=True)
        assert bits(rev[0]) == bits(nan) and bits(rev[-1]) == bits(negative_nan)
    assert sort(xs)[1:5] == [-math.inf, -2.0, 1.0, math.inf]
    assert sort(xs, reverse=True)[1:5] == [math.inf, 1.0, -2.0, -math.inf]


def test_a_list_mixing_ints_and_floats_is_sorted_as_floats():
    xs = [3, 2.5, -1, 0.0, -0.0, 0, 2**53, -(2**60), 1e300, -math.inf, 3.0, -0.0, 0]
    identical(sort(xs), sorted(xs))
    identical(sort(xs, reverse=True), sorted(xs, reverse=True))


def test_bools_and_int_subclasses_keep_their_objects_and_order():
    class Rank(int):
        pass

    xs = [True, 1, Rank(1), 0, False, Rank(0), 2**40, Rank(-5)]
    identical(sort(xs), sorted(xs))
    identical(sort(xs, reverse=True), sorted(xs, reverse=True))


def test_an_int_that_is_not_exact_as_a_float_beside_floats_is_refused():
    with pytest.raises(TypeError, match=r"index 1 \(9007199254740993\) is not exact as a float"):
        sort([0.5, 2**53 + 1])
    with pytest.raises(TypeError, match="not exact as a float"):
        sort([0.5, 2**63 - 1])
    with pytest.raises(TypeError, match="not exact as a float"):
        sort([0.5, U64_MAX])


def test_an_element_that_is_not_a_number_is_named_by_index_and_type():
    with pytest.raises(TypeError, match="the element at index 2 is a str, not an int or a float"):
        sort([1, 2, "3"])
    with pytest.raises(TypeError, match="index 0 is a NoneType"):
        sort([None])
    with pytest.raises(TypeError, match="index 1 is a complex"):
        argsort([1.0, 1j])


def test_ints_beyond_64_bits_overflow():
    with pytest.raises(OverflowError, match="index 1 does not fit in 64 bits"):
        sort([0, 2**64])
    with pytest.raises(OverflowError, match="index 0 does not fit in 64 bits"):
        sort([-(2**63) - 1])
    with pytest.raises(OverflowError, match="neither i64 nor u64 holds both"):
        sort([-1, 2**63])


def test_other_iterables_give_a_list_and_lists_sort_in_place():
    assert sort((3, 1, 2)) == [1, 2, 3]
    assert sort(x for x in [2.0, 1.0]) == [1.0, 2.0]
    xs = [3, 1, 2]
    assert sort(xs, inplace=True) is None
    assert xs == [1, 2, 3]
    assert sort([]) == []
    with pytest.raises(TypeError, match="cannot sort a tuple in place"):
        sort((1, 2), inplace=True)
    with pytest.raises(TypeError, match="cannot sort a int"):
        sort(5)


def as_bits(a):
    """The array's bits, as unsigned integers of its width."""
    return a.view(f"uint{a.dtype.itemsize * 8}")


def random_array(rng, dtype, n):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        a = rng.standard_normal(n).astype(dtype) * 1e3
        a[rng.integers(0, n, n // 50 + 1)] = np.inf
        a[rng.integers(0, n, n // 50 + 1)] = -np.inf
        a[rng.integers(0, n, n // 50 + 1)] = 0.0
        return a
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    a[: n // 10] = rng.integers(-3 if info.min else 0, 3, n // 10)
    a[n // 10 : n // 10 + 2] = [info.min, info.max]
    rng.shuffle(a)
    return a


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 2, 1000, 100_000])
def test_every_dtype_equals_np_sort_bit_for_bit(dtype, n, backend):
    rng = np.random.default_rng(n + 7)
    a = random_array(rng, dtype, n) if n >= 20 else np.arange(n, 0, -1).astype(dtype)
    if np.dtype(dtype).kind == "f" and n >= 20:
        a[rng.integers(0, n, 5)] = np.nan  # positive NaN: last in both
        a[a == 0] = 0.0  # np.sort leaves -0.0 and 0.0 in no defined order
    before = a.copy()
    got = sort(a, backend=backend)
    assert type(got) is np.ndarray and got.dtype == a.dtype and got.shape == a.shape
    assert not np.shares_memory(got, a)
    np.testing.assert_array_equal(as_bits(got), as_bits(np.sort(a)))
    np.testing.assert_array_equal(as_bits(a), as_bits(before))  # the input is left alone
    rev = sort(a, backend=backend, reverse=True)
    np.testing.assert_array_equal(as_bits(rev), as_bits(np.sort(a)[::-1]))


def total_order_reference(a):
    """``a`` sorted by IEEE-754 totalOrder, through numpy on integers: each
    float's bits mapped to an unsigned key in that order, sorted, mapped back."""
    width = a.dtype.itemsize * 8
    bits = as_bits(a).copy()
    sign = np.array(1 << (width - 1), dtype=bits.dtype)
    negative = (bits & sign) != 0
    keys = np.where(negative, ~bits, bits | sign)
    keys.sort()
    negative = (keys & sign) == 0
    return np.where(negative, ~keys, keys & ~sign).view(a.dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_negative_nans_come_first_and_negative_zero_before_zero(dtype):
    rng = np.random.default_rng(5)
    a = random_array(rng, dtype, 10_000)
    uint = f"uint{np.dtype(dtype).itemsize * 8}"
    quiet = {"float32": 0x7FC00000, "float64": 0x7FF8000000000000}[dtype]
    sign = {"float32": 0x80000000, "float64": 0x8000000000000000}[dtype]
    nans = np.array([quiet, quiet | 1, quiet | sign, quiet | sign | 5], dtype=uint).view(dtype)
    a[rng.integers(0, a.size, 4)] = nans
    a[rng.integers(0, a.size, 50)] = -0.0
    got = sort(a)
    expected = total_order_reference(a)
    np.testing.assert_array_equal(as_bits(got), as_bits(expected))
    assert np.isnan(got[:2]).all() and np.signbit(got[:2]).all()
    assert np.isnan(got[-2:]).all() and not np.signbit(got[-2:]).any()
    zeros = got[got == 0]
    assert np.signbit(zeros[: (np.signbit(a) & (a == 0)).sum()]).all()
    # Without negative NaNs, NaN payloads (numpy's vectorised sort writes
    # every NaN back as the default quiet NaN) and negative zeros, numpy
    # agrees.
    a = a[~np.isnan(a)]
    a = np.concatenate([a, np.full(3, np.nan, dtype=dtype)])
    a[a == 0] = 0.0
    np.testing.assert_array_equal(as_bits(sort(a)), as_bits(np.sort(a)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_two_dimensional_arrays_are_sorted_along_the_last_axis(dtype):
    rng = np.random.default_rng(9)
    a = random_array(rng, dtype, 3000).reshape(30, 100)
    np.testing.assert_array_equal(as_bits(sort(a)), as_bits(np.sort(a)))
    f = np.asfortranarray(a)
    np.testing.assert_array_equal(as_bits(sort(f)), as_bits(np.sort(a)))
    np.testing.assert_array_equal(as_bits(sort(a[:, ::3])), as_bits(np.sort(a[:, ::3])))


@pytest.mark.parametrize("typecode", ["i", "I", "l", "L", "q", "Q", "f", "d"])
def test_array_array_gives_an_array_array(typecode):
    rng = random.Random(4)
    size = array.array(typecode).itemsize * 8
    if typecode in "fd":
        values = [rng.uniform(-1e6, 1e6) for _ in range(2000)]
        values = list(array.array(typecode, values))  # as the array stores them
    elif typecode.isupper():
        values = [rng.randint(0, 2**size - 1) for _ in range(2000)]
    else:
        values = [rng.randint(-(2 ** (size - 1)), 2 ** (size - 1) - 1) for _ in range(2000)]
    a = array.array(typecode, values)
    got = sort(a)
    assert type(got) is array.array and got.typecode == typecode and got is not a
    assert got.tolist() == sorted(values)
    assert a.tolist() == values
    assert sort(a, reverse=True).tolist() == sorted(values, reverse=True)
    assert sort(a, inplace=True) is None
    assert a.tolist() == sorted(values)


def test_a_memoryview_gives_a_memoryview():
    data = array.array("d", [3.0, -1.0, 2.0])
    got = sort(memoryview(data))
    assert isinstance(got, memoryview) and got.format == "d"
    assert got.tolist() == [-1.0, 2.0, 3.0]
    assert data.tolist() == [3.0, -1.0, 2.0]


def test_in_place_sorts_the_buffer_itself_without_a_copy():
    rng = np.random.default_rng(11)
    a = rng.integers(-1000, 1000, 50_000)
    expected = np.sort(a)
    address = a.__array_interface__["data"][0]
    assert sort(a, inplace=True) is None
    assert a.__array_interface__["data"][0] == address
    np.testing.assert_array_equal(a, expected)
    b = np.arange(12, dtype=np.float32)[::-1].copy().reshape(3, 4)
    sort(b, inplace=True, reverse=True)
    np.testing.assert_array_equal(b, np.sort(b)[:, ::-1])


def test_in_place_sorting_of_a_read_only_buffer_is_refused():
    a = np.array([3, 1, 2], dtype=np.int64)
    a.flags.writeable = False
    with pytest.raises(ValueError, match="cannot sort a read-only ndarray in place"):
        sort(a, inplace=True)
    assert a.tolist() == [3, 1, 2]
    assert sort(a).tolist() == [1, 2, 3]  # a copy is fine
    raw = struct.pack("<3d", 3.0, 1.0, 2.0)
    view = memoryview(raw).cast("d")
    with pytest.raises(ValueError, match="read-only"):
        sort(view, inplace=True)
    assert struct.unpack("<3d", raw) == (3.0, 1.0, 2.0)
    assert sort(view).tolist() == [1.0, 2.0, 3.0]


def test_in_place_sorting_of_a_strided_view_is_refused():
    a = np.arange(10, 0, -1)
    with pytest.raises(ValueError, match="not contiguous"):
        sort(a[::2], inplace=True)
    np.testing.assert_array_equal(sort(a[::2]), np.sort(a[::2]))


def test_unsupported_formats_are_refused_with_the_reason():
    for a in (np.arange(3, dtype=np.int16), np.arange(3, dtype=np.float16), b"abc"):
        with pytest.raises(TypeError, match="cannot sort a .* of format"):
            sort(a)
    with pytest.raises(TypeError, match="format '>d'"):
        sort(np.arange(3, dtype=">f8"))
    with pytest.raises(ValueError, match="0-dimensional"):
        sort(np.array(5.0), inplace=True)


def test_argsort_of_a_list_is_stable():
    rng = random.Random(6)
    xs = [rng.randint(0, 20) for _ in range(5000)] + [0.5, -0.0, 0.0]
    xs = [float(x) for x in xs]
    order = argsort(xs)
    assert order == sorted(range(len(xs)), key=xs.__getitem__)
    assert argsort(xs, reverse=True) == sorted(
        range(len(xs)), key=xs.__getitem__, reverse=True
    )
    assert argsort([]) == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_argsort_of_an_array_is_numpys_stable_argsort(dtype, backend):
    rng = np.random.default_rng(8)
    a = rng.integers(0, 50, 20_000).astype(dtype)
    got = argsort(a, backend=backend)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.argsort(a, kind="stable"))
    a.flags.writeable = False  # read-only input is fine: only read
    np.testing.assert_array_equal(argsort(a[::-1]), np.argsort(a[::-1], kind="stable"))
    desc = argsort(a, reverse=True, backend=backend)
    np.testing.assert_array_equal(a[desc], np.sort(a)[::-1])
    assert sorted(range(a.size), key=lambda i: -int(a[i])) == desc.tolist()


def test_argsort_of_an_array_array_gives_int64s():
    a = array.array("f", [2.0, -1.0, 2.0, 0.5])
    got = argsort(a)
    assert isinstance(got, array.array) and got.typecode == "q"
    assert got.tolist() == [1, 3, 0, 2]
    with pytest.raises(ValueError, match="2-dimensional"):
        argsort(np.zeros((2, 2)))


def test_the_abi_version_is_the_hosts():
    assert wildsort.ABI_VERSION == "1.3"


def test_equal_values_share_one_object_in_a_new_list():
    # Equal ints and floats are interchangeable, so a sorted list with
    # repeats is made with one object per distinct value (a memory and
    # time saving), and still equals sorted() value for value.
    xs = [10**9 + i % 7 for i in range(1000)] + [2.5e300 * (i % 3) for i in range(300)]
    ints, floats = xs[:1000], xs[1000:]
    for values in (ints, floats):
        got = sort(values)
        assert got == sorted(values)
        distinct = {id(x) for x in got}
        assert len(distinct) == len(set(values))
    zeros = [0.0, -0.0, 1.0, -0.0, 0.0, 1.0]
    got = sort(zeros)
    assert [math.copysign(1, x) for x in got[:4]] == [1, -1, -1, 1]


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_sorted_copy_is_read_from_the_array_itself(dtype):
    # Large enough for the radix backend to read the source in its first
    # pass, on one thread and on several (ABI 1.3, sorting from a source),
    # instead of sorting a copy: the result and the untouched input are
    # what a copy would give, for every array the package sorts that way
    # and for those it copies (read-only, strided, a subclass, unaligned).
    rng = np.random.default_rng(11)
    a = random_array(rng, dtype, 600_000)
    if np.dtype(dtype).kind == "f":
        a[a == 0] = 0.0
    expected = as_bits(np.sort(a))
    before = a.copy()
    got = sort(a)
    np.testing.assert_array_equal(as_bits(got), expected)
    np.testing.assert_array_equal(as_bits(a), as_bits(before))
    np.testing.assert_array_equal(as_bits(sort(a, reverse=True)), expected[::-1])
    grid = a.reshape(3, -1)
    np.testing.assert_array_equal(as_bits(sort(grid)), as_bits(np.sort(grid)))

    a.flags.writeable = False
    np.testing.assert_array_equal(as_bits(sort(a)), expected)
    strided = before[::2]
    np.testing.assert_array_equal(as_bits(sort(strided)), as_bits(np.sort(strided)))
    masked = np.ma.masked_array(before, mask=np.zeros(len(before), dtype=bool))
    got = sort(masked)
    assert type(got) is np.ma.MaskedArray
    np.testing.assert_array_equal(as_bits(np.asarray(got)), expected)
    raw = np.zeros(before.nbytes + 1, dtype=np.uint8)
    unaligned = raw[1:].view(before.dtype)
    unaligned[:] = before
    assert not unaligned.flags.aligned
    np.testing.assert_array_equal(as_bits(sort(unaligned)), expected)
