//! Python lists: each element becomes a key (ints as i64, or u64 when a
//! value needs it; floats as f64), and the result is what `sorted` returns,
//! whenever no NaN is in the list. A list of exact ints, or of exact
//! floats, is sorted as keys alone and its result made anew from the
//! sorted keys (equal ints are the same value; the zeros, the only equal
//! floats that differ, take their signs in input order). Any other list
//! (bools, int subclasses, ints and floats together) is sorted as keys
//! with each element's index as the payload, stably, and the result holds
//! the input's own objects in that order, so equal numbers (`0.0` and
//! `-0.0`, `1` and `True`) keep their input order as in `sorted`. NaNs go
//! where IEEE-754 totalOrder puts them: a NaN with its sign bit set before
//! every other number, any other NaN after every other number (`sorted`
//! leaves them wherever its comparisons happen to), NaNs among themselves
//! in the order of their bits.

use crate::registry;
use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyList;
use wildhost::{Backend, KeyType, Payload, SortKey};

/// The keys of a list, in one of the three types a list sorts as.
enum Keys {
    I64(Vec<i64>),
    U64(Vec<u64>),
    F64(Vec<f64>),
}

/// What one element was.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An int in i64's range.
    Int,
    /// An int above `i64::MAX`, at most `u64::MAX`.
    Big,
    Float,
}

/// 2^63 and 2^64 as floats: the first floats beyond i64 and u64.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_64: f64 = 18_446_744_073_709_551_616.0;

fn type_name(item: &Bound<'_, PyAny>) -> String {
    item.get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string())
}

/// The keys of a list, and whether every element is exactly an `int` (or
/// every one exactly a `float`): then new objects made from the sorted keys
/// are what `sorted` returns, and the sort needs no payload.
struct Read {
    keys: Keys,
    exact: bool,
}

/// The keys of the elements of `list`, or the error that names the first
/// element that cannot be one.
fn read(list: &Bound<'_, PyList>) -> PyResult<Read> {
    let py = list.py();
    let n = list.len();
    let mut bits: Vec<u64> = Vec::with_capacity(n);
    let mut kinds: Vec<Kind> = Vec::with_capacity(n);
    let (mut negative, mut big, mut floats) = (None, None, false);
    let mut exact = true;
    for i in 0..n {
        // SAFETY: the GIL is held and `i` is below the length of `list`, a
        // copy only this module reaches; the borrowed reference stays alive
        // while the list holds it, and nothing below runs Python code.
        let ptr = unsafe { ffi::PyList_GetItem(list.as_ptr(), i as isize) };
        if ptr.is_null() {
            return Err(PyErr::fetch(py));
        }
        // SAFETY: `ptr` is a live object (above).
        let (exact_int, exact_float) = unsafe {
            (
                ffi::PyLong_CheckExact(ptr) != 0,
                ffi::PyFloat_CheckExact(ptr) != 0,
            )
        };
        exact &= exact_int || exact_float;
        // SAFETY: as above.
        if exact_int || unsafe { ffi::PyLong_Check(ptr) } != 0 {
            let mut overflow = 0;
            // SAFETY: as above; `ptr` is an int, so this runs no Python code.
            let value = unsafe { ffi::PyLong_AsLongLongAndOverflow(ptr, &mut overflow) };
            if overflow == 0 {
                if value == -1
                    && let Some(err) = PyErr::take(py)
                {
                    return Err(err);
                }
                if value < 0 && negative.is_none() {
                    negative = Some(i);
                }
                bits.push(value as u64);
                kinds.push(Kind::Int);
            } else {
                let value = if overflow > 0 {
                    // SAFETY: as above.
                    let value = unsafe { ffi::PyLong_AsUnsignedLongLong(ptr) };
                    (value != u64::MAX || PyErr::take(py).is_none()).then_some(value)
                } else {
                    None
                };
                let Some(value) = value else {
                    return Err(PyOverflowError::new_err(crate::errors::message(
                        &format!("the int at index {i} does not fit in 64 bits"),
                        "wildsort sorts ints from -2**63 to 2**64 - 1",
                        "sort such values with sorted()",
                    )));
                };
                big.get_or_insert(i);
                bits.push(value);
                kinds.push(Kind::Big);
            }
        // SAFETY: as above.
        } else if exact_float || unsafe { ffi::PyFloat_Check(ptr) } != 0 {
            // SAFETY: as above; `ptr` is a float, so this cannot fail.
            let value = unsafe { ffi::PyFloat_AsDouble(ptr) };
            floats = true;
            bits.push(value.to_bits());
            kinds.push(Kind::Float);
        } else {
            // SAFETY: `ptr` is a live object (above).
            let item = unsafe { Bound::from_borrowed_ptr(py, ptr) };
            return Err(PyTypeError::new_err(crate::errors::message(
                &format!(
                    "the element at index {i} is a {}, not an int or a float",
                    type_name(&item)
                ),
                "wildsort sorts lists of ints and floats",
                "convert the elements to numbers, or sort them with sorted()",
            )));
        }
    }
    let ints = kinds.iter().any(|&k| k != Kind::Float);
    if floats {
        if ints {
            let keys = mixed(list, &bits, &kinds).map(Keys::F64)?;
            return Ok(Read { keys, exact: false });
        }
        let keys = bits.into_iter().map(f64::from_bits).collect();
        return Ok(Read {
            keys: Keys::F64(keys),
            exact,
        });
    }
    let keys = match (negative, big) {
        (Some(neg), Some(big)) => Err(PyOverflowError::new_err(crate::errors::message(
            "the ints need more than 64 bits together",
            &format!(
                "the int at index {neg} is negative and the one at index {big} is above \
                 2**63 - 1: neither i64 nor u64 holds both"
            ),
            "sort such values with sorted()",
        ))),
        (_, Some(_)) => Ok(Keys::U64(bits)),
        _ => Ok(Keys::I64(bits.into_iter().map(|b| b as i64).collect())),
    }?;
    Ok(Read { keys, exact })
}

/// The key of a float: `-0.0` is `0.0`, which it equals, so that the two
/// keep their input order as in `sorted`.
fn float_key(value: f64) -> f64 {
    if value == 0.0 { 0.0 } else { value }
}

/// The keys of a list of ints and floats, as floats: each int must be one
/// exactly, or the order of the floats would not be the order of the values.
fn mixed(list: &Bound<'_, PyList>, bits: &[u64], kinds: &[Kind]) -> PyResult<Vec<f64>> {
    let mut keys = Vec::with_capacity(bits.len());
    for (i, (&b, &kind)) in bits.iter().zip(kinds).enumerate() {
        let key = match kind {
            Kind::Float => Some(f64::from_bits(b)),
            Kind::Int => {
                let value = b as i64;
                let f = value as f64;
                (f != TWO_63 && f as i64 == value).then_some(f)
            }
            Kind::Big => {
                let f = b as f64;
                (f != TWO_64 && f as u64 == b).then_some(f)
            }
        };
        let Some(key) = key else {
            let item = list.get_item(i)?;
            return Err(PyTypeError::new_err(crate::errors::message(
                &format!("the int at index {i} ({item}) is not exact as a float"),
                "a list that mixes ints and floats is sorted as floats, and this int \
                 would compare equal to a float it differs from",
                "sort ints and floats apart, or convert the list with float() or int() first",
            )));
        };
        keys.push(float_key(key));
    }
    Ok(keys)
}

/// A key whose ascending order is the descending order of the original:
/// `!x` for ints, `-x` for floats (which reverses totalOrder exactly).
trait Reversed {
    fn reversed(self) -> Self;
}
impl Reversed for i64 {
    fn reversed(self) -> i64 {
        !self
    }
}
impl Reversed for u64 {
    fn reversed(self) -> u64 {
        !self
    }
}
impl Reversed for f64 {
    fn reversed(self) -> f64 {
        -self
    }
}

/// The order of the elements: the index of each, sorted by its key,
/// equal keys in input order.
enum Order {
    U32(Vec<u32>),
    U64(Vec<u64>),
}

impl Order {
    fn indices(&self) -> Box<dyn Iterator<Item = usize> + '_> {
        match self {
            Order::U32(v) => Box::new(v.iter().map(|&i| i as usize)),
            Order::U64(v) => Box::new(v.iter().map(|&i| i as usize)),
        }
    }
}

fn order_of<K: SortKey + Reversed + Send>(
    py: Python<'_>,
    backend: &Backend,
    mut keys: Vec<K>,
    reverse: bool,
) -> PyResult<Order> {
    if reverse {
        keys.iter_mut().for_each(|k| *k = k.reversed());
    }
    fn sorted<K: SortKey + Send, P: Payload + Send>(
        py: Python<'_>,
        backend: &Backend,
        keys: &mut [K],
        mut payload: Vec<P>,
    ) -> PyResult<Vec<P>> {
        let threads = registry::threads();
        py.detach(|| backend.sort_pairs_with_threads(keys, &mut payload, threads))
            .map_err(|e| registry::sort_failed(py, backend, e))?;
        Ok(payload)
    }
    let n = keys.len();
    if u32::try_from(n).is_ok() {
        let payload = (0..n as u32).collect();
        sorted(py, backend, &mut keys, payload).map(Order::U32)
    } else {
        let payload = (0..n as u64).collect();
        sorted(py, backend, &mut keys, payload).map(Order::U64)
    }
}

/// The order of `values`' elements, and the copy of the list it indexes:
/// another thread may change `values` while the sort runs without the GIL.
fn order<'py>(
    values: &Bound<'py, PyList>,
    backend: Option<&str>,
    reverse: bool,
) -> PyResult<(Bound<'py, PyList>, Order)> {
    let py = values.py();
    let copy = values.get_slice(0, values.len());
    let registry = registry::get(py);
    let order = match read(&copy)?.keys {
        Keys::I64(keys) => {
            let backend = registry::resolve(py, registry, backend, KeyType::I64)?;
            order_of(py, backend, keys, reverse)?
        }
        Keys::U64(keys) => {
            let backend = registry::resolve(py, registry, backend, KeyType::U64)?;
            order_of(py, backend, keys, reverse)?
        }
        Keys::F64(mut keys) => {
            keys.iter_mut().for_each(|k| *k = float_key(*k));
            let backend = registry::resolve(py, registry, backend, KeyType::F64)?;
            order_of(py, backend, keys, reverse)?
        }
    };
    Ok((copy, order))
}

fn wrong_order(py: Python<'_>, index: usize, len: usize) -> PyErr {
    crate::errors::error::<crate::errors::SortError>(
        py,
        "the backend returned a wrong order",
        &format!("it moved an index {index} into the payload of {len} keys"),
        "report it to the plugin's author, and use another backend",
    )
}

/// `sort(list)`: a new list of the same objects, sorted.
#[pyfunction]
#[pyo3(name = "_sort_list", signature = (values, backend=None, reverse=false))]
pub(crate) fn sort_list<'py>(
    values: &Bound<'py, PyList>,
    backend: Option<&str>,
    reverse: bool,
) -> PyResult<Bound<'py, PyList>> {
    let py = values.py();
    let copy = values.get_slice(0, values.len());
    let read = read(&copy)?;
    if read.exact {
        return sorted_anew(py, read.keys, backend, reverse);
    }
    drop(read);
    let (copy, order) = order(&copy, backend, reverse)?;
    let n = copy.len();
    let len = isize::try_from(n).map_err(|_| PyOverflowError::new_err("the list is too long"))?;
    // SAFETY: the GIL is held; a new list of `len` empty slots, each set
    // below before it is used.
    let out = unsafe { ffi::PyList_New(len) };
    if out.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `out` is a new, owned reference to a list.
    let out = unsafe { Bound::from_owned_ptr(py, out).cast_into_unchecked::<PyList>() };
    for (slot, index) in order.indices().enumerate() {
        if index >= n {
            return Err(wrong_order(py, index, n));
        }
        // SAFETY: `index` and `slot` are below the length of `copy` and
        // `out`, both lists only this function can reach; GetItem returns
        // a borrowed reference, which is increfed because SetItem steals
        // one, into a slot that is still empty.
        unsafe {
            let item = ffi::PyList_GetItem(copy.as_ptr(), index as isize);
            ffi::Py_IncRef(item);
            ffi::PyList_SetItem(out.as_ptr(), slot as isize, item);
        }
    }
    Ok(out)
}

/// Sorts the keys alone, on every CPU.
fn sort_keys<K: SortKey + Send>(
    py: Python<'_>,
    registry: &wildhost::Registry,
    backend: Option<&str>,
    key_type: KeyType,
    keys: &mut [K],
) -> PyResult<()> {
    let backend = registry::resolve(py, registry, backend, key_type)?;
    let threads = registry::threads();
    py.detach(|| backend.sort_with_threads(keys, threads))
        .map_err(|e| registry::sort_failed(py, backend, e))
}

/// A new list of `n` objects, the `i`-th made by `make(bits)` (a new
/// reference or null with an exception set) from `bits(i)`, the bits of
/// its value; where `bits(i)` equals `bits(i - 1)`, the object made for
/// `i - 1` again, as equal values are interchangeable: a sorted list
/// with many repeats allocates once per distinct value.
fn new_list<'py>(
    py: Python<'py>,
    n: usize,
    mut bits: impl FnMut(usize) -> u64,
    make: impl Fn(u64) -> *mut ffi::PyObject,
) -> PyResult<Bound<'py, PyList>> {
    let len = isize::try_from(n).map_err(|_| PyOverflowError::new_err("the list is too long"))?;
    // SAFETY: the GIL is held; a new list of `len` empty slots.
    let out = unsafe { ffi::PyList_New(len) };
    if out.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `out` is a new, owned reference to a list.
    let out = unsafe { Bound::from_owned_ptr(py, out).cast_into_unchecked::<PyList>() };
    let mut last: Option<(u64, *mut ffi::PyObject)> = None;
    for i in 0..n {
        let b = bits(i);
        let item = match last {
            Some((prev, item)) if prev == b => {
                // SAFETY: `item` is in slot `i - 1` of `out`, which holds
                // it alive; the new reference goes to slot `i` below.
                unsafe { ffi::Py_IncRef(item) };
                item
            }
            _ => make(b),
        };
        if item.is_null() {
            return Err(PyErr::fetch(py));
        }
        last = Some((b, item));
        // SAFETY: `i` is below the length of `out`, a list only this
        // function can reach, whose slot `i` is still empty; SetItem
        // steals the new reference `item`.
        unsafe { ffi::PyList_SetItem(out.as_ptr(), i as isize, item) };
    }
    Ok(out)
}

/// A list of exact ints or exact floats, sorted as keys alone, its result
/// made anew from the sorted keys: objects laid out in order, where the
/// input's own objects, in sorted order, would be visited at random.
/// Equal ints are the same int; among floats only `0.0` and `-0.0` are
/// equal and differ, so the zeros take their signs in input order, as
/// `sorted`'s stable sort leaves them, in both directions.
fn sorted_anew<'py>(
    py: Python<'py>,
    keys: Keys,
    backend: Option<&str>,
    reverse: bool,
) -> PyResult<Bound<'py, PyList>> {
    let registry = registry::get(py);
    let at = |i: usize, n: usize| if reverse { n - 1 - i } else { i };
    match keys {
        Keys::I64(mut keys) => {
            sort_keys(py, registry, backend, KeyType::I64, &mut keys)?;
            let n = keys.len();
            let bits = |i| keys[at(i, n)] as u64;
            // SAFETY: the GIL is held.
            new_list(py, n, bits, |b| unsafe {
                ffi::PyLong_FromLongLong(b as i64)
            })
        }
        Keys::U64(mut keys) => {
            sort_keys(py, registry, backend, KeyType::U64, &mut keys)?;
            let n = keys.len();
            let bits = |i| keys[at(i, n)];
            // SAFETY: the GIL is held.
            new_list(py, n, bits, |b| unsafe {
                ffi::PyLong_FromUnsignedLongLong(b)
            })
        }
        Keys::F64(mut keys) => {
            let signs: Vec<bool> = keys
                .iter()
                .filter(|k| **k == 0.0)
                .map(|k| k.is_sign_negative())
                .collect();
            keys.iter_mut().for_each(|k| *k = float_key(*k));
            sort_keys(py, registry, backend, KeyType::F64, &mut keys)?;
            let n = keys.len();
            let mut signs = signs.into_iter();
            let bits = |i| {
                let key = keys[at(i, n)];
                if key == 0.0 && signs.next() == Some(true) {
                    (-0.0f64).to_bits()
                } else {
                    key.to_bits()
                }
            };
            // SAFETY: the GIL is held.
            new_list(py, n, bits, |b| unsafe {
                ffi::PyFloat_FromDouble(f64::from_bits(b))
            })
        }
    }
}

/// `argsort(list)`: the indices that sort the list, stably.
#[pyfunction]
#[pyo3(name = "_argsort_list", signature = (values, backend=None, reverse=false))]
pub(crate) fn argsort_list<'py>(
    values: &Bound<'py, PyList>,
    backend: Option<&str>,
    reverse: bool,
) -> PyResult<Bound<'py, PyList>> {
    let (_, order) = order(values, backend, reverse)?;
    PyList::new(values.py(), order.indices().collect::<Vec<usize>>())
}
