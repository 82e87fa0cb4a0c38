//! Typed buffers: the memory of a numpy array, an `array.array` or any
//! buffer of one of the six key types, sorted where it lies, with the GIL
//! released. Floats sort by IEEE-754 totalOrder, the contract's order:
//! `-NaN < -inf < ... < -0.0 < +0.0 < ... < +inf < +NaN`, every bit kept.
//!
//! The Python layer passes the address of a buffer it holds exported (a
//! ctypes object over a memoryview, which also keeps an `array.array` or a
//! `bytearray` from being resized meanwhile), its length in keys and its
//! type; these functions are private to that layer.

use crate::registry;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::mem::{align_of, size_of};
use wildhost::{Backend, KeyType, SortKey};

fn key_type(name: &str) -> PyResult<KeyType> {
    KeyType::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| PyValueError::new_err(format!("no key type `{name}`")))
}

/// A key whose ascending order is the descending order of the original,
/// bit for bit reversible: `!x` for ints, `-x` for floats (negation
/// reverses totalOrder exactly).
trait Reversed: Copy {
    fn reversed(self) -> Self;
}
macro_rules! reversed_int {
    ($($t:ty),*) => {$(impl Reversed for $t { fn reversed(self) -> $t { !self } })*};
}
reversed_int!(u32, u64, i32, i64);
impl Reversed for f32 {
    fn reversed(self) -> f32 {
        -self
    }
}
impl Reversed for f64 {
    fn reversed(self) -> f64 {
        -self
    }
}

/// The address and length the Python layer passed, as a slice.
///
/// # Safety
/// `address` is the start of `len` keys of type `T` in a buffer that stays
/// exported, writable and unaliased by Rust for `'a`.
unsafe fn keys_at<'a, T>(address: usize, len: usize) -> &'a mut [T] {
    if len == 0 {
        return &mut [];
    }
    // SAFETY: the caller's contract; aligned (checked by the callers).
    unsafe { std::slice::from_raw_parts_mut(address as *mut T, len) }
}

fn sort_at<T: SortKey + Send>(
    py: Python<'_>,
    backend: &Backend,
    address: usize,
    len: usize,
    reverse: bool,
    row: usize,
) -> PyResult<()> {
    let threads = registry::threads();
    let sort = |keys: &mut [T]| -> Result<(), wildhost::SortError> {
        for row in keys.chunks_mut(row.max(1)) {
            backend.sort_with_threads(row, threads)?;
            if reverse {
                row.reverse();
            }
        }
        Ok(())
    };
    let result = if address.is_multiple_of(align_of::<T>()) {
        // SAFETY: the Python layer's contract (see the module doc); the
        // buffer stays exported until this call returns.
        let keys = unsafe { keys_at::<T>(address, len) };
        py.detach(|| sort(keys))
    } else {
        // A buffer that is not aligned for its type (a memoryview's slice
        // at an odd offset): the keys are sorted in a copy and put back.
        let bytes = len * size_of::<T>();
        let mut keys: Vec<T> = Vec::with_capacity(len);
        py.detach(|| {
            // SAFETY: `bytes` bytes at `address` are the caller's buffer
            // and `keys` has room for them; any bit pattern is a key.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    address as *const u8,
                    keys.as_mut_ptr().cast::<u8>(),
                    bytes,
                );
                keys.set_len(len);
            }
            sort(&mut keys)?;
            // SAFETY: as above, back into the caller's writable buffer.
            unsafe {
                std::ptr::copy_nonoverlapping(keys.as_ptr().cast::<u8>(), address as *mut u8, bytes)
            };
            Ok(())
        })
    };
    result.map_err(|e| registry::sort_failed(py, backend, e))
}

/// Sorts `len` keys of type `key_type` at `address` in place, in rows of
/// `row` keys (the last axis of a numpy array), each reversed after it is
/// sorted if `reverse`.
#[pyfunction]
#[pyo3(name = "_sort_buffer", signature = (address, len, key_type, backend, reverse, row))]
pub(crate) fn sort_buffer(
    py: Python<'_>,
    address: usize,
    len: usize,
    key_type: &str,
    backend: Option<&str>,
    reverse: bool,
    row: usize,
) -> PyResult<()> {
    let key = self::key_type(key_type)?;
    let registry = registry::get(py);
    let backend = registry::resolve(py, registry, backend, key)?;
    if len == 0 {
        return Ok(());
    }
    match key {
        KeyType::U32 => sort_at::<u32>(py, backend, address, len, reverse, row),
        KeyType::U64 => sort_at::<u64>(py, backend, address, len, reverse, row),
        KeyType::I32 => sort_at::<i32>(py, backend, address, len, reverse, row),
        KeyType::I64 => sort_at::<i64>(py, backend, address, len, reverse, row),
        KeyType::F32 => sort_at::<f32>(py, backend, address, len, reverse, row),
        KeyType::F64 => sort_at::<f64>(py, backend, address, len, reverse, row),
    }
}

/// Sorts the `len` keys at `source` into the `len` keys' room at `out`, in
/// rows of `row` keys, each reversed after it is sorted if `reverse`: a
/// sorted copy, through a backend that reads the source itself where it
/// can (ABI 1.3), else copied first.
#[allow(clippy::too_many_arguments)]
fn sort_copy_at<T: SortKey + Send + Sync>(
    py: Python<'_>,
    backend: &Backend,
    source: usize,
    out: usize,
    len: usize,
    reverse: bool,
    row: usize,
) -> PyResult<()> {
    if !source.is_multiple_of(align_of::<T>()) || !out.is_multiple_of(align_of::<T>()) {
        return Err(PyValueError::new_err("a sorted copy needs aligned buffers"));
    }
    let threads = registry::threads();
    // SAFETY: the Python layer's contract (see `sort_copy`): `len` keys at
    // `source` that stay exported and unwritten until this call returns,
    // and a new buffer of as many at `out` that nothing else reaches;
    // both aligned (checked above), and apart, being distinct objects.
    let (from, into) = unsafe {
        (
            std::slice::from_raw_parts(source as *const T, len),
            keys_at::<T>(out, len),
        )
    };
    py.detach(|| {
        let rows = from.chunks(row.max(1)).zip(into.chunks_mut(row.max(1)));
        for (from, into) in rows {
            backend.sort_copy_with_threads(from, into, threads)?;
            if reverse {
                into.reverse();
            }
        }
        Ok(())
    })
    .map_err(|e| registry::sort_failed(py, backend, e))
}

/// Sorts the `len` keys of type `key_type` at `source` into the new buffer
/// at `out`, in rows of `row` keys (the last axis of a numpy array), each
/// reversed after it is sorted if `reverse`. The Python layer holds the
/// source exported (it cannot be resized meanwhile) and passes a new,
/// C-contiguous array of the same shape and type as `out`, both aligned
/// for the type, `len > 0`.
#[pyfunction]
#[pyo3(name = "_sort_copy", signature = (source, out, len, key_type, backend, reverse, row))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sort_copy(
    py: Python<'_>,
    source: usize,
    out: usize,
    len: usize,
    key_type: &str,
    backend: Option<&str>,
    reverse: bool,
    row: usize,
) -> PyResult<()> {
    let key = self::key_type(key_type)?;
    let registry = registry::get(py);
    let backend = registry::resolve(py, registry, backend, key)?;
    if len == 0 {
        return Ok(());
    }
    match key {
        KeyType::U32 => sort_copy_at::<u32>(py, backend, source, out, len, reverse, row),
        KeyType::U64 => sort_copy_at::<u64>(py, backend, source, out, len, reverse, row),
        KeyType::I32 => sort_copy_at::<i32>(py, backend, source, out, len, reverse, row),
        KeyType::I64 => sort_copy_at::<i64>(py, backend, source, out, len, reverse, row),
        KeyType::F32 => sort_copy_at::<f32>(py, backend, source, out, len, reverse, row),
        KeyType::F64 => sort_copy_at::<f64>(py, backend, source, out, len, reverse, row),
    }
}

fn argsort_at<T: SortKey + Reversed + Send>(
    py: Python<'_>,
    backend: &Backend,
    address: usize,
    len: usize,
    reverse: bool,
    out: &mut [u64],
) -> PyResult<()> {
    let threads = registry::threads();
    py.detach(|| {
        let mut keys: Vec<T> = Vec::with_capacity(len);
        // SAFETY: `len` keys at `address` are the caller's buffer (any
        // alignment: copied as bytes), and `keys` has room for them; any
        // bit pattern is a key.
        unsafe {
            std::ptr::copy_nonoverlapping(
                address as *const u8,
                keys.as_mut_ptr().cast::<u8>(),
                len * size_of::<T>(),
            );
            keys.set_len(len);
        }
        if reverse {
            keys.iter_mut().for_each(|k| *k = k.reversed());
        }
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = i as u64;
        }
        backend.sort_pairs_with_threads(&mut keys, out, threads)
    })
    .map_err(|e| registry::sort_failed(py, backend, e))
}

/// Writes into the `len` int64 slots at `out` the indices that sort the
/// `len` keys at `address`, stably (equal keys in input order; with
/// `reverse`, the largest first, equal keys still in input order).
#[pyfunction]
#[pyo3(name = "_argsort_buffer", signature = (address, len, key_type, backend, reverse, out))]
pub(crate) fn argsort_buffer(
    py: Python<'_>,
    address: usize,
    len: usize,
    key_type: &str,
    backend: Option<&str>,
    reverse: bool,
    out: usize,
) -> PyResult<()> {
    let key = self::key_type(key_type)?;
    let registry = registry::get(py);
    let backend = registry::resolve(py, registry, backend, key)?;
    if len == 0 {
        return Ok(());
    }
    if !out.is_multiple_of(align_of::<u64>()) {
        return Err(PyValueError::new_err(
            "the output buffer of argsort is not aligned",
        ));
    }
    // SAFETY: the Python layer's contract: `out` is a new int64 buffer of
    // `len` slots it holds exported, separate from the keys.
    let out = unsafe { keys_at::<u64>(out, len) };
    match key {
        KeyType::U32 => argsort_at::<u32>(py, backend, address, len, reverse, out),
        KeyType::U64 => argsort_at::<u64>(py, backend, address, len, reverse, out),
        KeyType::I32 => argsort_at::<i32>(py, backend, address, len, reverse, out),
        KeyType::I64 => argsort_at::<i64>(py, backend, address, len, reverse, out),
        KeyType::F32 => argsort_at::<f32>(py, backend, address, len, reverse, out),
        KeyType::F64 => argsort_at::<f64>(py, backend, address, len, reverse, out),
    }
}
