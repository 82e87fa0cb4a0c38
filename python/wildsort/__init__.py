"""Sort numbers through wildhost's native backends.

>>> from wildsort import sort
>>> sort([21, 3, 48, 12, 18, 45])
[3, 12, 18, 21, 45, 48]

The backends that ship with wildhost are built in: ``radix`` (the default
for every type), ``std`` and ``wildsort``. Plugins are found where the
``wildhost`` command finds them: in the directories of
``WILDHOST_PLUGIN_PATH``, then the user plugin directory
(``$XDG_DATA_HOME/wildhost/plugins``, by default
``~/.local/share/wildhost/plugins``). Each file is checked as the command
checks it (a file others can write is refused; the object file is read
before any of its code runs; its first load runs in a child process), once
per process, at the first call that needs a backend. A file named like a
built-in module (``libwildsort_radix.so``) is shadowed by the built-in.

What is sorted, and how:

- A list of ints and floats returns a new list. Ints are sorted as
  64-bit integers (i64, or u64 when a value is above
  2**63 - 1), floats as f64; a list mixing both is sorted as floats when
  every int is exactly a float, else ``TypeError``. The result is what
  ``sorted()`` returns for every list without a NaN, value for value and
  type for type: the sort is stable, and numbers that compare equal
  (``0.0`` and ``-0.0``, ``1`` and ``True``) keep their input order.
- A numpy array of uint32, uint64, int32, int64, float32 or float64, an
  ``array.array`` or any buffer of those types returns a new object of the
  same type (numpy: along the last axis, as ``np.sort``).
  ``inplace=True`` sorts a writable, C-contiguous buffer (or a list) where
  it is and returns None.
- Floats in arrays are sorted by IEEE-754 totalOrder, every bit kept:
  ``-NaN < -inf < ... < -0.0 < +0.0 < ... < +inf < +NaN``. That is
  ``np.sort``'s result bit for bit, with three differences: numpy puts
  every NaN last, where wildsort puts a NaN whose sign bit is set first
  (and NaNs among themselves in the order of their bits); numpy's
  vectorised sort writes every NaN back as the default quiet NaN, where
  wildsort keeps each NaN's bits; and numpy leaves ``-0.0`` and ``0.0`` in
  no particular order, where wildsort puts ``-0.0`` first. In lists, NaNs go where totalOrder puts them too (a
  negative NaN first, others last), and ``-0.0`` equals ``0.0``.
- ``reverse=True``: arrays come out as ``np.sort(a)[::-1]``; lists and
  ``argsort`` as ``sorted(..., reverse=True)``, largest first with equal
  values in input order.

The sort runs with the GIL released, on every CPU the process may use
(the ``radix`` backend sorts large inputs on several threads); sorting
from several Python threads at once is safe, each on its own values.

Errors are ``wildsort.Error`` (``PluginError``: ``BackendNotFound``,
``BackendUnavailable``; ``SortError``: ``UnsupportedKeyType``), and
``TypeError``, ``OverflowError`` and ``ValueError`` for values wildsort
cannot sort. Messages say what failed, its cause and what to do, as the
command does; wildsort's own exceptions also carry ``.cause`` and ``.help``.
"""

import array as _array
import copy as _copy
import ctypes as _ctypes
import json as _json
import os as _os
import sys as _sys

from . import _native
from ._native import (
    BackendNotFound,
    BackendUnavailable,
    Error,
    PluginError,
    SortError,
    UnsupportedKeyType,
)

__all__ = [
    "sort",
    "argsort",
    "backends",
    "features",
    "refused",
    "shadowed",
    "search_path",
    "Error",
    "PluginError",
    "BackendNotFound",
    "BackendUnavailable",
    "SortError",
    "UnsupportedKeyType",
]

__version__ = "0.1.0"

#: The plugin ABI this package speaks, ``"MAJOR.MINOR"``.
ABI_VERSION = _native.ABI_VERSION


def _scanner_command():
    """The interpreter running the scanner script, or None without one."""
    if not _sys.executable:
        return None
    script = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "_scan.py")
    return [_sys.executable, "-E", "-s", script]


_native._set_scanner(_scanner_command())


def _message(what, cause, help):
    return f"{what}\n  cause: {cause}\n  help: {help}"


_SIGNED = {"b": False, "h": False, "i": True, "l": True, "q": True, "n": True}
_UNSIGNED = {"B": False, "H": False, "I": True, "L": True, "Q": True, "N": True}
_NATIVE_ORDER = "<" if _sys.byteorder == "little" else ">"


def _key_type(view, values):
    """The key type of a buffer's format: ``"f64"``, ``"i32"``, ..."""
    fmt = view.format
    if fmt[:1] in ("@", "=", _NATIVE_ORDER) or (fmt[:1] == "!" and _NATIVE_ORDER == ">"):
        fmt = fmt[1:]
    size = view.itemsize
    key = None
    if fmt == "f" and size == 4:
        key = "f32"
    elif fmt == "d" and size == 8:
        key = "f64"
    elif _SIGNED.get(fmt) and size in (4, 8):
        key = f"i{size * 8}"
    elif _UNSIGNED.get(fmt) and size in (4, 8):
        key = f"u{size * 8}"
    if key is None:
        raise TypeError(
            _message(
                f"cannot sort a {type(values).__name__} of format {view.format!r}",
                "wildsort sorts 32- and 64-bit integers and floats in the machine's byte order "
                "(numpy: uint32, uint64, int32, int64, float32, float64)",
                "convert the values first, e.g. with numpy's astype",
            )
        )
    return key


def _is_numpy(values):
    numpy = _sys.modules.get("numpy")
    return numpy is not None and isinstance(values, numpy.ndarray)


def _view(values):
    """A memoryview of ``values``, or None if it is not a buffer."""
    try:
        return memoryview(values)
    except TypeError:
        return None


def _as_list(values, inplace):
    if inplace:
        raise TypeError(
            _message(
                f"cannot sort a {type(values).__name__} in place",
                "it is neither a list nor a writable buffer",
                "pass a list, a numpy array or an array.array, or sort a copy",
            )
        )
    try:
        return list(values)
    except TypeError:
        raise TypeError(
            _message(
                f"cannot sort a {type(values).__name__}",
                "it is neither a list, an iterable of numbers nor a buffer",
                "pass a list of ints or floats, a numpy array or an array.array",
            )
        ) from None


def _new_copy(values, view):
    """A new object of the type of ``values`` with its keys, to sort."""
    if _is_numpy(values):
        return values.copy(order="C")
    if isinstance(values, _array.array):
        return _copy.copy(values)
    if isinstance(values, memoryview):
        fmt = view.format.lstrip("@=" + _NATIVE_ORDER)
        return memoryview(bytearray(view.tobytes())).cast(fmt, view.shape)
    try:
        out = _copy.copy(values)
    except Exception:
        out = values
    new = _view(out)
    if out is values or new is None or new.readonly:
        raise TypeError(
            _message(
                f"cannot make a new {type(values).__name__} to sort",
                "copying it does not give a separate, writable buffer",
                "sort it in place with inplace=True, or pass a numpy array or an array.array",
            )
        )
    new.release()
    return out


def _sort_buffer(values, key, backend, reverse):
    view = memoryview(values)
    try:
        if view.readonly:
            raise ValueError(
                _message(
                    f"cannot sort a read-only {type(values).__name__} in place",
                    "its buffer is read-only",
                    "sort a copy: wildsort.sort(values) without inplace returns one",
                )
            )
        if not view.c_contiguous:
            raise ValueError(
                _message(
                    f"cannot sort a {type(values).__name__} in place",
                    "its buffer is not contiguous (a strided view or slice)",
                    "sort a copy: wildsort.sort(values) without inplace returns one",
                )
            )
        if view.ndim == 0:
            raise ValueError(
                _message(
                    "cannot sort a 0-dimensional buffer",
                    "it holds one number and has no axis to sort along",
                    "pass a sequence of numbers",
                )
            )
        n = view.nbytes // view.itemsize
        row = view.shape[-1]
        if n == 0:
            _native._sort_buffer(0, 0, key, backend, reverse, 1)
            return
        # The ctypes array holds the buffer exported until it is deleted:
        # the memory stays put (an array.array cannot be resized) while the
        # sort runs without the GIL.
        holder = (_ctypes.c_char * view.nbytes).from_buffer(view)
        try:
            _native._sort_buffer(_ctypes.addressof(holder), n, key, backend, reverse, max(row, 1))
        finally:
            del holder
    finally:
        view.release()


def sort(values, *, backend=None, reverse=False, inplace=False):
    """Sorts numbers through a wildhost backend.

    ``values``: a list of ints and floats (or any other iterable of them,
    which gives a list, as ``sorted()`` does); or a numpy array, an
    ``array.array`` or a buffer of 32- or 64-bit integers or floats.

    Returns a new list, or a new object of the buffer's type, sorted; with
    ``inplace=True`` sorts ``values`` itself (a list, or a writable
    C-contiguous buffer; a read-only one raises ``ValueError``) and
    returns None.

    ``backend``: a backend's name (``"radix"``, ``"std"``, ``"wildsort"``,
    or a plugin's), or ``"module.name"``; by default ``radix``.
    ``reverse``: largest first.

    Raises ``TypeError`` for an element that is not an int or a float (the
    message names its index and type), a list mixing ints and floats with
    an int that is not exactly a float, or an unsupported buffer format;
    ``OverflowError`` for an int beyond 64 bits; ``BackendNotFound``,
    ``BackendUnavailable``, ``UnsupportedKeyType``, ``SortError``.

    Order: see the package's documentation (``help(wildsort)``): a list
    comes out as ``sorted()`` gives it (NaNs aside), arrays as
    ``np.sort`` gives them but in IEEE-754 totalOrder (negative NaNs first,
    ``-0.0`` before ``0.0``).
    """
    reverse = bool(reverse)
    if isinstance(values, list):
        result = _native._sort_list(values, backend, reverse)
        if inplace:
            values[:] = result
            return None
        return result
    view = _view(values)
    if view is None:
        return _native._sort_list(_as_list(values, inplace), backend, reverse)
    with view:
        key = _key_type(view, values)
        if not inplace and _copies_while_sorting(values, view):
            return _sorted_copy(values, view, key, backend, reverse)
        target = values if inplace else _new_copy(values, view)
    _sort_buffer(target, key, backend, reverse)
    return None if inplace else target


def _copies_while_sorting(values, view):
    """Whether ``values`` can be sorted into a new array without copying it
    first: a plain numpy array (a subclass may carry more than its data,
    as a masked array its mask), C-contiguous, aligned, not empty."""
    numpy = _sys.modules.get("numpy")
    if numpy is None or type(values) is not numpy.ndarray:
        return False
    if view.ndim == 0 or view.nbytes == 0:
        return False
    flags = values.flags
    return flags.c_contiguous and flags.aligned


def _sorted_copy(values, view, key, backend, reverse):
    """A new array of the type and shape of ``values``, sorted along its
    last axis: the backend reads ``values`` and writes the new array (a
    backend that cannot is handed a copy). ``view`` stays exported while
    the sort runs without the GIL, so ``values`` cannot be resized."""
    numpy = _sys.modules["numpy"]
    out = numpy.empty_like(values, order="C")
    source = values.__array_interface__["data"][0]
    target = out.__array_interface__["data"][0]
    n = view.nbytes // view.itemsize
    _native._sort_copy(source, target, n, key, backend, reverse, max(view.shape[-1], 1))
    return out


def argsort(values, *, backend=None, reverse=False):
    """The indices that would sort ``values``, stably.

    Sorts each value with its index (the key+payload call of the plugin
    ABI), so equal values keep their input order, whatever the backend.
    Takes what :func:`sort` takes, one-dimensional; returns a list for a
    list (or another iterable), a numpy int64 array for a numpy array, and
    an ``array.array("q")`` for another buffer. ``values[i]`` for each
    index in the result, in turn, is ``sort(values, reverse=reverse)``.
    """
    reverse = bool(reverse)
    if isinstance(values, list):
        return _native._argsort_list(values, backend, reverse)
    view = _view(values)
    if view is None:
        return _native._argsort_list(_as_list(values, False), backend, reverse)
    with view:
        key = _key_type(view, values)
        if view.ndim != 1:
            raise ValueError(
                _message(
                    f"cannot argsort a {view.ndim}-dimensional buffer",
                    "argsort gives the order of a one-dimensional sequence",
                    "flatten it first, or argsort each row",
                )
            )
        n = len(view)
        if _is_numpy(values):
            numpy = _sys.modules["numpy"]
            out = numpy.empty(n, dtype=numpy.int64)
        else:
            out = _array.array("q", bytes(8 * n))
        if n == 0:
            _native._argsort_buffer(0, 0, key, backend, reverse, 0)
            return out
        # The keys are copied inside; a read-only or strided buffer is
        # first copied into one whose address ctypes can take.
        source = view
        if view.readonly or not view.c_contiguous:
            source = memoryview(bytearray(view.tobytes()))
        keys = (_ctypes.c_char * view.nbytes).from_buffer(source)
        out_view = memoryview(out)
        indices = (_ctypes.c_char * out_view.nbytes).from_buffer(out_view)
        try:
            _native._argsort_buffer(
                _ctypes.addressof(keys),
                n,
                key,
                backend,
                reverse,
                _ctypes.addressof(indices),
            )
        finally:
            del keys, indices
            out_view.release()
            if source is not view:
                source.release()
    return out


def _listing():
    return _json.loads(_native._listing())


def backends():
    """Every backend, as ``wildhost list --json`` lists it.

    A list of dicts with ``name``, ``module``, ``version``, ``abi``,
    ``file`` (None for a built-in), ``origin`` (``"built-in"`` or
    ``"file"``), ``key_types``, ``stable``, ``parallel``, ``pairs``,
    ``pair_payloads``, ``threads``, ``scratch_percent``, ``features``,
    ``available``, ``unavailable_reason`` (what the plugin's ``init`` said
    when it cannot run here), ``default_for`` and ``doc``.
    """
    return _listing()["backends"]


def features():
    """What each module was built with: ``{module name: [feature, ...]}``.

    A plugin lists the optional features compiled into it, so that one
    built without something says so, rather than failing later.
    """
    return {m["name"]: m["features"] for m in _listing()["modules"]}


def refused():
    """Plugin files found on the search path that could not be used.

    A list of dicts with ``path``, ``module`` and ``refusal`` (``stage``,
    ``cause``, ``help``), as ``wildhost list --json`` gives them.
    """
    return _listing()["refused"]


def shadowed():
    """Plugin files hidden by a built-in or an earlier file of their module."""
    return _listing()["shadowed"]


def search_path():
    """The plugin directories, first searched first, with where each came from."""
    return _listing()["search_path"]
