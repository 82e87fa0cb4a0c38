//! The Rust plugin SDK: turns ordinary `fn(&mut [T])` sort functions (and,
//! since ABI 1.1, `fn(&mut [T], PayloadSlice)` pairs functions; since ABI
//! 1.2, the same with a thread count) into an exported plugin with
//! [`export_plugin!`](crate::export_plugin).
//!
//! The SDK owns everything that touches raw pointers: it checks the buffer,
//! builds the slice, catches panics (nothing unwinds into the host) and
//! writes error messages into the host's buffer.

use crate::contract::{KeyType, PayloadType, SortOptions, status};
use core::ffi::{c_char, c_void};
use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

/// A Rust type the ABI can sort. Sealed: the set is the ABI's key types.
pub trait Key: Copy + Send + sealed::Sealed + 'static {
    /// The ABI key type of `Self`.
    const TYPE: KeyType;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! impl_key {
    ($($t:ty => $k:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Key for $t { const TYPE: KeyType = KeyType::$k; }
    )*};
}
impl_key!(u32 => U32, u64 => U64, i32 => I32, i64 => I64, f32 => F32, f64 => F64);

/// A Rust type the ABI moves as a payload beside a key (ABI 1.1): `u32` or
/// `u64`. Sealed: the set is the ABI's payload types.
pub trait Payload: Copy + Send + sealed::Sealed + 'static {
    /// The ABI payload type of `Self`.
    const TYPE: PayloadType;
}

macro_rules! impl_payload {
    ($($t:ty => $p:ident),*) => {$(
        impl Payload for $t { const TYPE: PayloadType = PayloadType::$p; }
    )*};
}
impl_payload!(u32 => U32, u64 => U64);

/// The payload a pairs function moves with its keys: one value per key,
/// as opaque bits, `payload[i]` belonging to `keys[i]`.
#[derive(Debug)]
pub enum PayloadSlice<'a> {
    /// `WILD_PAYLOAD_U32` values.
    U32(&'a mut [u32]),
    /// `WILD_PAYLOAD_U64` values.
    U64(&'a mut [u64]),
}

impl PayloadSlice<'_> {
    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            PayloadSlice::U32(p) => p.len(),
            PayloadSlice::U64(p) => p.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

thread_local! {
    static PANIC_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Routes panics of this plugin's copy of std into a thread-local instead of
/// stderr, so that the host, not the plugin, decides what the user sees.
/// The entry point calls it: a host cannot reach a sort or `init` function
/// without calling the entry point first, so no sort pays for the check.
#[doc(hidden)]
pub fn capture_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let message = info.to_string();
            PANIC_MESSAGE.with(|m| *m.borrow_mut() = Some(message));
        }))
    });
}

/// Runs `f`, turning a panic into `Err(message)`.
#[inline(always)]
fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(panic_message)
}

/// The message of a panic: what the hook captured, else the payload's text.
#[cold]
#[inline(never)]
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    PANIC_MESSAGE
        .with(|m| m.borrow_mut().take())
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked".to_string())
}

/// Writes a panic's message into the host's buffer; the status to return.
///
/// Out of line, so that the sort call's frame holds nothing for the panic
/// but the buffer's address and size.
///
/// # Safety
/// `err` is null, or valid for writes of `err_cap` bytes.
#[cold]
#[inline(never)]
unsafe fn report_panic(payload: Box<dyn Any + Send>, err: *mut c_char, err_cap: usize) -> i32 {
    let message = panic_message(payload);
    // SAFETY: as the caller guarantees.
    unsafe { write_message(err, err_cap, &message) };
    status::PANICKED
}

/// Writes `message` as a NUL-terminated string of at most `cap` bytes,
/// cutting it at a character boundary.
///
/// # Safety
/// `buf` is null, or valid for writes of `cap` bytes.
pub unsafe fn write_message(buf: *mut c_char, cap: usize, message: &str) {
    if buf.is_null() || cap == 0 {
        return;
    }
    let mut len = message.len().min(cap - 1);
    while !message.is_char_boundary(len) {
        len -= 1;
    }
    // SAFETY: the caller guarantees `cap` writable bytes at `buf`, and
    // `len + 1 <= cap`; the source is a live `&str` that cannot overlap a
    // buffer the host owns.
    unsafe {
        core::ptr::copy_nonoverlapping(message.as_ptr(), buf.cast::<u8>(), len);
        *buf.add(len) = 0;
    }
}

/// Sorts the host's buffer with `sort`, inside the contract of
/// [`SortFn`](crate::SortFn): checks the arguments, catches panics, reports.
///
/// # Safety
/// The caller passes on the [`SortFn`](crate::SortFn) arguments it received:
/// `keys` is null or points to `len` initialised keys of type `T` that no one
/// else accesses during the call, and `err` is null or valid for `err_cap`
/// bytes.
#[inline(always)]
pub unsafe fn run_sort<T: Key>(
    keys: *mut c_void,
    len: usize,
    err: *mut c_char,
    err_cap: usize,
    sort: fn(&mut [T]),
) -> i32 {
    // SAFETY: as the caller guarantees.
    unsafe { keys_call(keys, len, err, err_cap, sort) }
}

/// The body of [`run_sort`] and [`run_sort_with`]: checks the buffer,
/// builds the slice, calls `sort`, catches a panic.
///
/// # Safety
/// As for [`run_sort`].
#[inline(always)]
unsafe fn keys_call<T: Key>(
    keys: *mut c_void,
    len: usize,
    err: *mut c_char,
    err_cap: usize,
    sort: impl FnOnce(&mut [T]),
) -> i32 {
    if len == 0 {
        return status::OK;
    }
    let keys = keys.cast::<T>();
    if keys.is_null() || !keys.is_aligned() {
        // SAFETY: `err`/`err_cap` as the caller guarantees.
        unsafe { write_message(err, err_cap, "buffer is null or misaligned") };
        return status::INVALID_ARGUMENT;
    }
    // SAFETY: non-null and aligned (checked above); the caller guarantees
    // `len` initialised keys of type `T` owned exclusively for this call.
    let slice = unsafe { core::slice::from_raw_parts_mut(keys, len) };
    match panic::catch_unwind(AssertUnwindSafe(|| sort(slice))) {
        Ok(()) => status::OK,
        // SAFETY: `err`/`err_cap` as the caller guarantees.
        Err(payload) => unsafe { report_panic(payload, err, err_cap) },
    }
}

/// Sorts the host's keys and payload with `sort`, inside the contract of
/// [`SortPairsFn`](crate::SortPairsFn): checks both buffers and the payload
/// type, catches panics, reports.
///
/// # Safety
/// The caller passes on the [`SortPairsFn`](crate::SortPairsFn) arguments it
/// received: `keys` is null or points to `len` initialised keys of type `T`,
/// `payload` is null or points to `len` initialised values of the type whose
/// bit is `payload_type`, the two do not overlap and no one else accesses
/// them during the call; `err` is null or valid for `err_cap` bytes.
#[inline(always)]
pub unsafe fn run_sort_pairs<T: Key>(
    keys: *mut c_void,
    payload: *mut c_void,
    len: usize,
    payload_type: u32,
    err: *mut c_char,
    err_cap: usize,
    sort: fn(&mut [T], PayloadSlice<'_>),
) -> i32 {
    // SAFETY: as the caller guarantees.
    unsafe { pairs_call(keys, payload, len, payload_type, err, err_cap, sort) }
}

/// The body of [`run_sort_pairs`] and [`run_sort_pairs_with`]: checks the
/// payload type and both buffers, builds the slices, calls `sort`, catches
/// a panic.
///
/// # Safety
/// As for [`run_sort_pairs`].
#[inline(always)]
unsafe fn pairs_call<T: Key>(
    keys: *mut c_void,
    payload: *mut c_void,
    len: usize,
    payload_type: u32,
    err: *mut c_char,
    err_cap: usize,
    sort: impl FnOnce(&mut [T], PayloadSlice<'_>),
) -> i32 {
    let Some(payload_type) = PayloadType::from_bit(payload_type) else {
        let message = format!("unknown payload type bit {payload_type:#x}");
        // SAFETY: `err`/`err_cap` as the caller guarantees.
        unsafe { write_message(err, err_cap, &message) };
        return status::UNSUPPORTED_KEY_TYPE;
    };
    if len == 0 {
        return status::OK;
    }
    let keys = keys.cast::<T>();
    let aligned = match payload_type {
        PayloadType::U32 => payload.cast::<u32>().is_aligned(),
        PayloadType::U64 => payload.cast::<u64>().is_aligned(),
    };
    if keys.is_null() || !keys.is_aligned() || payload.is_null() || !aligned {
        // SAFETY: `err`/`err_cap` as the caller guarantees.
        unsafe { write_message(err, err_cap, "buffer is null or misaligned") };
        return status::INVALID_ARGUMENT;
    }
    // SAFETY: non-null and aligned (checked above); the caller guarantees
    // `len` initialised keys of type `T` owned exclusively for this call.
    let keys = unsafe { core::slice::from_raw_parts_mut(keys, len) };
    // SAFETY: as for the keys: non-null, aligned for the payload type the
    // host named, `len` initialised values not overlapping the keys.
    let payload = unsafe {
        match payload_type {
            PayloadType::U32 => {
                PayloadSlice::U32(core::slice::from_raw_parts_mut(payload.cast(), len))
            }
            PayloadType::U64 => {
                PayloadSlice::U64(core::slice::from_raw_parts_mut(payload.cast(), len))
            }
        }
    };
    match panic::catch_unwind(AssertUnwindSafe(|| sort(keys, payload))) {
        Ok(()) => status::OK,
        // SAFETY: `err`/`err_cap` as the caller guarantees.
        Err(payload) => unsafe { report_panic(payload, err, err_cap) },
    }
}

/// The thread count of a [`SortWithFn`](crate::SortWithFn) call: `options`'
/// `threads`, 0 read as 1; or, when `options` is null or its `size` ends
/// before `threads`, the status to return, its message written.
///
/// # Safety
/// `options` is null or points to at least `size` readable bytes of a
/// [`SortOptions`] (its `size` field is always readable when it is not
/// null); `err` is null or valid for `err_cap` bytes.
#[inline(always)]
pub unsafe fn threads_of(
    options: *const SortOptions,
    err: *mut c_char,
    err_cap: usize,
) -> Result<usize, i32> {
    if options.is_null() || !options.is_aligned() {
        // SAFETY: `err`/`err_cap` as the caller guarantees.
        unsafe { write_message(err, err_cap, "options are null or misaligned") };
        return Err(status::INVALID_ARGUMENT);
    }
    // SAFETY: non-null and aligned; `size` is the first field, present in
    // every version of the struct.
    let size = unsafe { (&raw const (*options).size).read() } as usize;
    if size < SortOptions::THREADS_END {
        let message = format!(
            "options are {size} bytes, too short for the thread count ({} bytes)",
            SortOptions::THREADS_END
        );
        // SAFETY: `err`/`err_cap` as the caller guarantees.
        unsafe { write_message(err, err_cap, &message) };
        return Err(status::INVALID_ARGUMENT);
    }
    // SAFETY: `size` covers `threads` (checked above), and the caller
    // guarantees `size` readable bytes.
    let threads = unsafe { (&raw const (*options).threads).read() };
    Ok((threads as usize).max(1))
}

/// Sorts the host's keys with `sort` on at most the threads `options`
/// allows, inside the contract of [`SortWithFn`](crate::SortWithFn) called
/// without a payload: checks the options and the buffer, catches panics
/// (also those of threads `sort` joins, which `std::thread::scope`
/// re-raises in the calling thread), reports.
///
/// `sort` gets the thread count: at least 1, the calling thread included.
///
/// # Safety
/// The caller passes on the [`SortWithFn`](crate::SortWithFn) arguments it
/// received: `keys` as for [`run_sort`], `options` as for [`threads_of`],
/// `err` null or valid for `err_cap` bytes.
#[inline(always)]
pub unsafe fn run_sort_with<T: Key>(
    keys: *mut c_void,
    len: usize,
    options: *const SortOptions,
    err: *mut c_char,
    err_cap: usize,
    sort: fn(&mut [T], usize),
) -> i32 {
    // SAFETY: as the caller guarantees.
    let threads = match unsafe { threads_of(options, err, err_cap) } {
        Ok(threads) => threads,
        Err(code) => return code,
    };
    // SAFETY: as the caller guarantees.
    unsafe { keys_call(keys, len, err, err_cap, |k| sort(k, threads)) }
}

/// [`run_sort_with`] with a payload: sorts the host's keys and payload with
/// `sort` on at most the threads `options` allows, inside the contract of
/// [`SortWithFn`](crate::SortWithFn) called with a payload.
///
/// # Safety
/// As for [`run_sort_pairs`], and `options` as for [`threads_of`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn run_sort_pairs_with<T: Key>(
    keys: *mut c_void,
    payload: *mut c_void,
    len: usize,
    payload_type: u32,
    options: *const SortOptions,
    err: *mut c_char,
    err_cap: usize,
    sort: fn(&mut [T], PayloadSlice<'_>, usize),
) -> i32 {
    // SAFETY: as the caller guarantees.
    let threads = match unsafe { threads_of(options, err, err_cap) } {
        Ok(threads) => threads,
        Err(code) => return code,
    };
    // SAFETY: as the caller guarantees.
    unsafe {
        pairs_call(keys, payload, len, payload_type, err, err_cap, |k, p| {
            sort(k, p, threads)
        })
    }
}

/// The keys a [`SortWithFn`](crate::SortWithFn) call sorts from (ABI
/// 1.3): `options`' `source`, or null when there is none, `options` is
/// null or misaligned, or its `size` ends before `source` (a 1.2 host's).
///
/// # Safety
/// `options` is null or points to at least `size` readable bytes of a
/// [`SortOptions`] (its `size` field is always readable when it is not
/// null).
#[inline(always)]
pub unsafe fn source_of(options: *const SortOptions) -> *const c_void {
    if options.is_null() || !options.is_aligned() {
        return core::ptr::null();
    }
    // SAFETY: non-null and aligned; `size` is in every version.
    let size = unsafe { (&raw const (*options).size).read() } as usize;
    if size < SortOptions::SOURCE_END {
        return core::ptr::null();
    }
    // SAFETY: `size` covers `source` (checked above), and the caller
    // guarantees `size` readable bytes.
    unsafe { (&raw const (*options).source).read() }
}

/// Sorts the `len` keys at `source` into `keys` with `sort` on at most the
/// threads `options` allows, inside the contract of
/// [`SortWithFn`](crate::SortWithFn) called with a source (ABI 1.3, see
/// [`flags::FROM_SOURCE`](crate::flags::FROM_SOURCE)): checks the options
/// and both buffers (non-null, aligned, not overlapping), catches panics,
/// reports.
///
/// `sort` gets the source, the output (whose contents mean nothing on
/// entry: it must write every key) and the thread count.
///
/// # Safety
/// The caller passes on the [`SortWithFn`](crate::SortWithFn) arguments it
/// received, with `source` read by [`source_of`]: `source` points to `len`
/// keys of type `T` that no one writes during the call; `keys` to room for
/// `len` keys of type `T`, initialised memory that no one else accesses
/// during the call; `options` as for [`threads_of`]; `err` null or valid
/// for `err_cap` bytes.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn run_sort_from<T: Key>(
    source: *const c_void,
    keys: *mut c_void,
    len: usize,
    options: *const SortOptions,
    err: *mut c_char,
    err_cap: usize,
    sort: fn(&[T], &mut [T], usize),
) -> i32 {
    // SAFETY: as the caller guarantees.
    let threads = match unsafe { threads_of(options, err, err_cap) } {
        Ok(threads) => threads,
        Err(code) => return code,
    };
    if len == 0 {
        return status::OK;
    }
    let (source, keys) = (source.cast::<T>(), keys.cast::<T>());
    let problem =
        if source.is_null() || keys.is_null() || !source.is_aligned() || !keys.is_aligned() {
            Some("source or buffer is null or misaligned")
        } else {
            // Byte ranges, compared as addresses: no pointer is formed past
            // either buffer.
            let bytes = len.saturating_mul(size_of::<T>());
            let (s, k) = (source as usize, keys as usize);
            let apart = s.checked_add(bytes).is_some_and(|end| end <= k)
                || k.checked_add(bytes).is_some_and(|end| end <= s);
            (!apart).then_some("source and buffer overlap")
        };
    if let Some(problem) = problem {
        // SAFETY: `err`/`err_cap` as the caller guarantees.
        unsafe { write_message(err, err_cap, problem) };
        return status::INVALID_ARGUMENT;
    }
    // SAFETY: both non-null, aligned and apart (checked above); the caller
    // guarantees `len` keys at `source`, unwritten during the call, and
    // room for `len` initialised keys at `keys`, exclusively this call's.
    let (from, into) = unsafe {
        (
            core::slice::from_raw_parts(source, len),
            core::slice::from_raw_parts_mut(keys, len),
        )
    };
    match panic::catch_unwind(AssertUnwindSafe(|| sort(from, into, threads))) {
        Ok(()) => status::OK,
        // SAFETY: `err`/`err_cap` as the caller guarantees.
        Err(payload) => unsafe { report_panic(payload, err, err_cap) },
    }
}

/// The answer of a backend that does not sort from a source, given one: it
/// is not flagged [`flags::FROM_SOURCE`](crate::flags::FROM_SOURCE), so
/// the host should not have.
///
/// # Safety
/// `err` is null or valid for `err_cap` bytes.
#[cold]
pub unsafe fn no_source(err: *mut c_char, err_cap: usize) -> i32 {
    // SAFETY: as the caller guarantees.
    unsafe {
        write_message(
            err,
            err_cap,
            "options carry a source, but this backend does not sort from one",
        )
    };
    status::INVALID_ARGUMENT
}

/// The answer of a backend asked for a key type it did not declare.
///
/// # Safety
/// `err` is null or valid for `err_cap` bytes.
pub unsafe fn unsupported(key_type: u32, err: *mut c_char, err_cap: usize) -> i32 {
    let message = match KeyType::from_bit(key_type) {
        Some(k) => format!("key type {k} is not supported by this backend"),
        None => format!("unknown key type bit {key_type:#x}"),
    };
    // SAFETY: as the caller guarantees.
    unsafe { write_message(err, err_cap, &message) };
    status::UNSUPPORTED_KEY_TYPE
}

/// The answer of a backend asked for a payload type it did not declare.
///
/// # Safety
/// `err` is null or valid for `err_cap` bytes.
pub unsafe fn unsupported_payload(payload_type: u32, err: *mut c_char, err_cap: usize) -> i32 {
    let message = match PayloadType::from_bit(payload_type) {
        Some(p) => format!("payload type {p} is not supported by this backend"),
        None => format!("unknown payload type bit {payload_type:#x}"),
    };
    // SAFETY: as the caller guarantees.
    unsafe { write_message(err, err_cap, &message) };
    status::UNSUPPORTED_KEY_TYPE
}

/// Runs a plugin's `init` inside the contract of [`InitFn`](crate::InitFn).
///
/// # Safety
/// `reason` is null or valid for `reason_cap` bytes.
pub unsafe fn run_init(
    reason: *mut c_char,
    reason_cap: usize,
    init: fn() -> Result<(), String>,
) -> i32 {
    let (code, message) = match catch(init) {
        Ok(Ok(())) => return status::OK,
        Ok(Err(why)) => (status::UNAVAILABLE, why),
        Err(panic) => (status::PANICKED, panic),
    };
    // SAFETY: as the caller guarantees.
    unsafe { write_message(reason, reason_cap, &message) };
    code
}

/// A null-terminated array of C string pointers in a static.
#[repr(transparent)]
#[derive(Debug)]
pub struct CStrList<const N: usize>(pub [*const c_char; N]);

// SAFETY: the pointers point to string literals: immutable static data.
unsafe impl<const N: usize> Sync for CStrList<N> {}

/// Exports a plugin: the module definition, its method table, the entry
/// point `WildInit_<module>`, the ABI tag `WildAbi_<module>` and the layout
/// `WildLayout_<module>` that lets the host check the contract's types.
///
/// ```ignore
/// fn sort_u64(keys: &mut [u64]) { keys.sort_unstable() }
///
/// wildhost_abi::export_plugin! {
///     module: wildsort_mine,           // file: libwildsort_mine.so
///     version: env!("CARGO_PKG_VERSION"),
///     doc: "my sorts",
///     features: [],
///     backends: [{
///         name: "mine",
///         doc: "std's unstable sort",
///         flags: 0,
///         scratch_percent: 0,
///         sorts: { u64: sort_u64 },
///     }],
/// }
/// ```
///
/// An optional `init: some_fn,` after `features` names a
/// `fn() -> Result<(), String>`; `Err(reason)` marks the plugin unavailable.
///
/// An optional `pairs: { u64: pairs_u64, ... }` after `sorts` gives the
/// backend a pairs entry (ABI 1.1): for each key type a
/// `fn(&mut [K], PayloadSlice<'_>)` that sorts the keys and moves the
/// payload, `u32` or `u64` values, with them. It must name the same key
/// types as `sorts` (checked at compile time); the backend then declares
/// both payload types. With `flags: wildhost_abi::flags::STABLE`, the pairs
/// functions must keep equal keys' payloads in input order.
///
/// ```ignore
/// use wildhost_abi::sdk::PayloadSlice;
///
/// fn pairs_u64(keys: &mut [u64], payload: PayloadSlice<'_>) {
///     let mut order: Vec<usize> = (0..keys.len()).collect();
///     order.sort_by_key(|&i| keys[i]); // stable
///     let sorted: Vec<u64> = order.iter().map(|&i| keys[i]).collect();
///     keys.copy_from_slice(&sorted);
///     match payload {
///         PayloadSlice::U32(p) => { let v: Vec<u32> = order.iter().map(|&i| p[i]).collect(); p.copy_from_slice(&v) }
///         PayloadSlice::U64(p) => { let v: Vec<u64> = order.iter().map(|&i| p[i]).collect(); p.copy_from_slice(&v) }
///     }
/// }
/// // in a backend: sorts: { u64: sort_u64 }, pairs: { u64: pairs_u64 },
/// ```
///
/// An optional `parallel: { u64: par_u64, ... }` after `pairs` gives the
/// backend a `sort_with` entry (ABI 1.2), through which the host says how
/// many threads one call may use: for each key type a
/// `fn(&mut [K], usize)` that sorts the keys on at most that many threads,
/// the calling one included (at least 1), joining them before it returns.
/// It must name the same key types as `sorts`. An optional
/// `parallel_pairs: { u64: par_pairs_u64, ... }` after it does the same
/// for pairs, `fn(&mut [K], PayloadSlice<'_>, usize)`, for the key types
/// of `pairs`; without it, a backend with `pairs` sorts pairs through
/// `sort_with` with its `pairs` functions, on the calling thread. Flag
/// such a backend `wildhost_abi::flags::PARALLEL`.
///
/// ```ignore
/// fn par_u64(keys: &mut [u64], threads: usize) {
///     // At most `threads` chunks: one on this thread, the rest on new ones.
///     let chunk = keys.len().div_ceil(threads).max(1);
///     std::thread::scope(|s| {
///         let mut parts = keys.chunks_mut(chunk);
///         let first = parts.next();
///         for part in parts {
///             s.spawn(|| part.sort_unstable());
///         }
///         first.map(|part| part.sort_unstable());
///     }); // joined here; a panic in one of them is re-raised here
///     keys.sort_unstable(); // a merge of the sorted chunks would be faster
/// }
/// // in a backend: flags: wildhost_abi::flags::PARALLEL,
/// //     sorts: { u64: sort_u64 }, parallel: { u64: par_u64 },
/// ```
///
/// An optional `from_source: { u64: from_u64, ... }` last (ABI 1.3, with
/// `parallel`, for the same key types) lets the host skip its copy when a
/// caller wants a sorted copy: `fn(&[K], &mut [K], usize)` sorts the
/// first slice into the second (whose contents mean nothing on entry) on
/// at most that many threads. The macro sets
/// [`flags::FROM_SOURCE`](crate::flags::FROM_SOURCE) for such a backend,
/// and clears it for any other.
///
/// ```ignore
/// fn from_u64(source: &[u64], out: &mut [u64], threads: usize) {
///     out.copy_from_slice(source); // a real one reads `source` in its first pass
///     par_u64(out, threads);
/// }
/// // in a backend: ..., parallel: { u64: par_u64 }, from_source: { u64: from_u64 },
/// ```
#[macro_export]
macro_rules! export_plugin {
    (
        module: $module:ident,
        version: $version:expr,
        doc: $doc:expr,
        features: [$($feature:expr),* $(,)?],
        $(init: $init:expr,)?
        backends: [$({
            name: $name:expr,
            doc: $bdoc:expr,
            flags: $flags:expr,
            scratch_percent: $scratch:expr,
            sorts: { $($key:ident : $sort:expr),+ $(,)? }
            $(, pairs: { $($pkey:ident : $pairs:expr),+ $(,)? })?
            $(, parallel: { $($tkey:ident : $parallel:expr),+ $(,)? })?
            $(, parallel_pairs: { $($tpkey:ident : $parallel_pairs:expr),+ $(,)? })?
            $(, from_source: { $($fkey:ident : $from_source:expr),+ $(,)? })? $(,)?
        }),+ $(,)?] $(,)?
    ) => {
        const _: () = {
            use $crate::__private::{c_char as __wildhost_c_char, c_void as __wildhost_c_void};

            const __WILDHOST_METHOD_COUNT: usize = <[&str]>::len(&[$($name),+]);
            const __WILDHOST_FEATURE_COUNT: usize = <[&str]>::len(&[$($feature),*]);

            static __WILDHOST_METHODS: [$crate::MethodDef; __WILDHOST_METHOD_COUNT] = [$(
                $crate::MethodDef {
                    name: concat!($name, "\0").as_ptr().cast(),
                    doc: concat!($bdoc, "\0").as_ptr().cast(),
                    sort: Some({
                        unsafe extern "C" fn __wildhost_sort(
                            keys: *mut __wildhost_c_void,
                            len: usize,
                            key_type: u32,
                            err: *mut __wildhost_c_char,
                            err_cap: usize,
                        ) -> i32 {
                            $(
                                if key_type == <$key as $crate::sdk::Key>::TYPE.bit() {
                                    // SAFETY: the host passes the arguments of
                                    // the `SortFn` contract through unchanged.
                                    return unsafe {
                                        $crate::sdk::run_sort::<$key>(keys, len, err, err_cap, $sort)
                                    };
                                }
                            )+
                            // SAFETY: as above.
                            unsafe { $crate::sdk::unsupported(key_type, err, err_cap) }
                        }
                        __wildhost_sort
                    }),
                    key_types: {
                        const KEYS: u32 = 0 $(| <$key as $crate::sdk::Key>::TYPE.bit())+;
                        const PAIRS: u32 = 0 $($(| <$pkey as $crate::sdk::Key>::TYPE.bit())+)?;
                        const _: () = assert!(
                            PAIRS == 0 || PAIRS == KEYS,
                            "`pairs` must name the same key types as `sorts`"
                        );
                        const PARALLEL: u32 = 0 $($(| <$tkey as $crate::sdk::Key>::TYPE.bit())+)?;
                        const _: () = assert!(
                            PARALLEL == 0 || PARALLEL == KEYS,
                            "`parallel` must name the same key types as `sorts`"
                        );
                        const PARALLEL_PAIRS: u32 =
                            0 $($(| <$tpkey as $crate::sdk::Key>::TYPE.bit())+)?;
                        const _: () = assert!(
                            PARALLEL_PAIRS == 0 || (PARALLEL_PAIRS == PAIRS && PARALLEL != 0),
                            "`parallel_pairs` needs `pairs` and `parallel`, and must name the same key types as `pairs`"
                        );
                        const FROM_SOURCE: u32 = 0 $($(| <$fkey as $crate::sdk::Key>::TYPE.bit())+)?;
                        const _: () = assert!(
                            FROM_SOURCE == 0 || FROM_SOURCE == PARALLEL,
                            "`from_source` needs `parallel`, and must name the same key types"
                        );
                        KEYS
                    },
                    // `from_source` is what the flag declares: set with it,
                    // never without it.
                    flags: ($flags & !$crate::flags::FROM_SOURCE)
                        $($(| { let _ = <$fkey as $crate::sdk::Key>::TYPE; $crate::flags::FROM_SOURCE })+)?,
                    scratch_percent: $scratch,
                    reserved: 0,
                    sort_pairs: $crate::__export_pairs!($($($pkey : $pairs),+)?),
                    payload_types: $crate::__export_payload_types!($($($pkey)+)?),
                    reserved2: 0,
                    sort_with: $crate::__export_sort_with!(
                        parallel: [$($($tkey : $parallel),+)?],
                        parallel_pairs: [$($($tpkey : $parallel_pairs),+)?],
                        pairs: [$($($pkey : $pairs),+)?],
                        from_source: [$($($fkey : $from_source),+)?]
                    ),
                }
            ),+];

            static __WILDHOST_FEATURES: $crate::sdk::CStrList<{ __WILDHOST_FEATURE_COUNT + 1 }> = $crate::sdk::CStrList([
                $(concat!($feature, "\0").as_ptr().cast(),)*
                ::core::ptr::null(),
            ]);

            static __WILDHOST_MODULE: $crate::ModuleDef = $crate::ModuleDef {
                magic: $crate::MAGIC,
                abi_major: $crate::ABI_MAJOR,
                abi_minor: $crate::ABI_MINOR,
                size: ::core::mem::size_of::<$crate::ModuleDef>() as u32,
                name: concat!(stringify!($module), "\0").as_ptr().cast(),
                version: concat!($version, "\0").as_ptr().cast(),
                doc: concat!($doc, "\0").as_ptr().cast(),
                features: __WILDHOST_FEATURES.0.as_ptr(),
                init: $crate::__export_init!($($init)?),
                methods: __WILDHOST_METHODS.as_ptr(),
                method_count: __WILDHOST_METHOD_COUNT as u32,
                method_size: ::core::mem::size_of::<$crate::MethodDef>() as u32,
            };

            #[unsafe(export_name = concat!("WildAbi_", stringify!($module)))]
            pub static __WILDHOST_ABI_TAG: $crate::AbiTag = $crate::AbiTag::CURRENT;

            #[unsafe(export_name = concat!("WildLayout_", stringify!($module)))]
            pub static __WILDHOST_LAYOUT: &$crate::__private::TypeLayout =
                <$crate::ModuleDef as $crate::__private::StableAbi>::LAYOUT;

            #[unsafe(export_name = concat!("WildInit_", stringify!($module)))]
            pub extern "C" fn __wildhost_entry() -> *const $crate::ModuleDef {
                $crate::sdk::capture_panics();
                &__WILDHOST_MODULE
            }
        };
    };
}

/// The `init` field of [`export_plugin!`](crate::export_plugin): `None`, or a
/// boundary wrapper around the given `fn() -> Result<(), String>`.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_init {
    () => {
        None
    };
    ($init:expr) => {
        Some({
            unsafe extern "C" fn __wildhost_init(
                reason: *mut $crate::__private::c_char,
                reason_cap: usize,
            ) -> i32 {
                // SAFETY: the host passes the `InitFn` arguments unchanged.
                unsafe { $crate::sdk::run_init(reason, reason_cap, $init) }
            }
            __wildhost_init
        })
    };
}

/// The `sort_pairs` field of [`export_plugin!`](crate::export_plugin):
/// `None`, or a boundary wrapper dispatching on the key type.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_pairs {
    () => {
        None
    };
    ($($key:ident : $pairs:expr),+) => {
        Some({
            unsafe extern "C" fn __wildhost_sort_pairs(
                keys: *mut $crate::__private::c_void,
                payload: *mut $crate::__private::c_void,
                len: usize,
                key_type: u32,
                payload_type: u32,
                err: *mut $crate::__private::c_char,
                err_cap: usize,
            ) -> i32 {
                $(
                    if key_type == <$key as $crate::sdk::Key>::TYPE.bit() {
                        // SAFETY: the host passes the arguments of the
                        // `SortPairsFn` contract through unchanged.
                        return unsafe {
                            $crate::sdk::run_sort_pairs::<$key>(
                                keys, payload, len, payload_type, err, err_cap, $pairs,
                            )
                        };
                    }
                )+
                // SAFETY: as above.
                unsafe { $crate::sdk::unsupported(key_type, err, err_cap) }
            }
            __wildhost_sort_pairs
        })
    };
}

/// The `sort_with` field of [`export_plugin!`](crate::export_plugin) (ABI
/// 1.2): `None` without `parallel`, else a boundary wrapper that sorts keys
/// with the `parallel` functions and pairs with the `parallel_pairs`
/// functions, or, without those, with the `pairs` functions on the calling
/// thread.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_sort_with {
    (
        parallel: [],
        parallel_pairs: [$($ignored:tt)*],
        pairs: [$($also_ignored:tt)*],
        from_source: [$($ignored_too:tt)*]
    ) => {
        None
    };
    (
        parallel: [$($key:ident : $parallel:expr),+],
        parallel_pairs: [$($pairs_with:tt)*],
        pairs: [$($pairs:tt)*],
        from_source: [$($from_source:tt)*]
    ) => {
        Some({
            #[allow(clippy::too_many_arguments)]
            unsafe extern "C" fn __wildhost_sort_with(
                keys: *mut $crate::__private::c_void,
                payload: *mut $crate::__private::c_void,
                len: usize,
                key_type: u32,
                payload_type: u32,
                options: *const $crate::SortOptions,
                err: *mut $crate::__private::c_char,
                err_cap: usize,
            ) -> i32 {
                if payload_type == 0 {
                    $crate::__export_sort_from!(
                        [$($from_source)*],
                        (keys, len, key_type, options, err, err_cap)
                    );
                    $(
                        if key_type == <$key as $crate::sdk::Key>::TYPE.bit() {
                            // SAFETY: the host passes the arguments of the
                            // `SortWithFn` contract through unchanged.
                            return unsafe {
                                $crate::sdk::run_sort_with::<$key>(
                                    keys, len, options, err, err_cap, $parallel,
                                )
                            };
                        }
                    )+
                } else {
                    $crate::__export_sort_with_pairs!(
                        parallel_pairs: [$($pairs_with)*],
                        pairs: [$($pairs)*],
                        (keys, payload, len, key_type, payload_type, options, err, err_cap)
                    );
                }
                // SAFETY: as above.
                unsafe { $crate::sdk::unsupported(key_type, err, err_cap) }
            }
            __wildhost_sort_with
        })
    };
}

/// The source branch of [`__export_sort_with!`] (ABI 1.3): statements that
/// return when the options carry a source, sorting from it with the
/// `from_source` functions, or refusing it without them; and fall through
/// to the in-place sort otherwise.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_sort_from {
    (
        [$($key:ident : $from_source:expr),+],
        ($keys:ident, $len:ident, $key_type:ident, $options:ident, $err:ident, $err_cap:ident)
    ) => {
        // SAFETY: the host passes the `SortWithFn` arguments unchanged.
        let source = unsafe { $crate::sdk::source_of($options) };
        if !source.is_null() {
            $(
                if $key_type == <$key as $crate::sdk::Key>::TYPE.bit() {
                    // SAFETY: the host passes the arguments of the
                    // `SortWithFn` contract, with a source, unchanged.
                    return unsafe {
                        $crate::sdk::run_sort_from::<$key>(
                            source, $keys, $len, $options, $err, $err_cap, $from_source,
                        )
                    };
                }
            )+
            // SAFETY: as above.
            return unsafe { $crate::sdk::unsupported($key_type, $err, $err_cap) };
        }
    };
    (
        [],
        ($keys:ident, $len:ident, $key_type:ident, $options:ident, $err:ident, $err_cap:ident)
    ) => {
        // SAFETY: the host passes the `SortWithFn` arguments unchanged.
        if !unsafe { $crate::sdk::source_of($options) }.is_null() {
            // SAFETY: as above.
            return unsafe { $crate::sdk::no_source($err, $err_cap) };
        }
    };
}

/// The payload branch of [`__export_sort_with!`]: statements that return
/// for a key type the backend sorts pairs of, and fall through otherwise.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_sort_with_pairs {
    (
        parallel_pairs: [$($key:ident : $parallel_pairs:expr),+],
        pairs: [$($ignored:tt)*],
        ($keys:ident, $payload:ident, $len:ident, $key_type:ident, $payload_type:ident,
         $options:ident, $err:ident, $err_cap:ident)
    ) => {
        $(
            if $key_type == <$key as $crate::sdk::Key>::TYPE.bit() {
                // SAFETY: the host passes the arguments of the `SortWithFn`
                // contract through unchanged.
                return unsafe {
                    $crate::sdk::run_sort_pairs_with::<$key>(
                        $keys, $payload, $len, $payload_type, $options, $err, $err_cap,
                        $parallel_pairs,
                    )
                };
            }
        )+
    };
    (
        parallel_pairs: [],
        pairs: [$($key:ident : $pairs:expr),+],
        ($keys:ident, $payload:ident, $len:ident, $key_type:ident, $payload_type:ident,
         $options:ident, $err:ident, $err_cap:ident)
    ) => {
        // The options are checked as in every `sort_with` call; the pairs
        // functions run on the calling thread, within any thread count.
        // SAFETY: the host passes the `SortWithFn` arguments unchanged.
        if let Err(code) = unsafe { $crate::sdk::threads_of($options, $err, $err_cap) } {
            return code;
        }
        $(
            if $key_type == <$key as $crate::sdk::Key>::TYPE.bit() {
                // SAFETY: the host passes the arguments of the `SortWithFn`
                // contract, those of `SortPairsFn` and the options, unchanged.
                return unsafe {
                    $crate::sdk::run_sort_pairs::<$key>(
                        $keys, $payload, $len, $payload_type, $err, $err_cap, $pairs,
                    )
                };
            }
        )+
    };
    (
        parallel_pairs: [],
        pairs: [],
        ($keys:ident, $payload:ident, $len:ident, $key_type:ident, $payload_type:ident,
         $options:ident, $err:ident, $err_cap:ident)
    ) => {
        // No payload types declared: the host never passes a payload.
        // SAFETY: the host passes the `SortWithFn` arguments unchanged.
        return unsafe { $crate::sdk::unsupported_payload($payload_type, $err, $err_cap) };
    };
}

/// The `payload_types` field of [`export_plugin!`](crate::export_plugin):
/// none without pairs functions, both payload types with them.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_payload_types {
    () => {
        0
    };
    ($($key:ident)+) => {
        $crate::PayloadType::KNOWN_BITS
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(buf: &[u8]) -> &str {
        let end = buf.iter().position(|&b| b == 0).expect("terminated");
        std::str::from_utf8(&buf[..end]).expect("utf-8")
    }

    #[test]
    fn write_message_truncates_at_a_char_boundary() {
        let mut buf = [0xffu8; 6];
        // SAFETY: the buffer has 6 writable bytes.
        unsafe { write_message(buf.as_mut_ptr().cast(), buf.len(), "aé€z") };
        // "a" (1) + "é" (2) + "€" (3) does not fit in 5 bytes: "€" is cut whole.
        assert_eq!(message(&buf), "aé");
    }

    #[test]
    fn run_sort_reports_a_panic_with_its_message() {
        fn bad(_: &mut [u64]) {
            panic!("boom at the boundary");
        }
        capture_panics();
        let mut keys = [3u64, 1, 2];
        let mut err = [0u8; 256];
        // SAFETY: valid buffer of 3 keys; `err` has 256 writable bytes.
        let code = unsafe {
            run_sort(
                keys.as_mut_ptr().cast(),
                3,
                err.as_mut_ptr().cast(),
                256,
                bad,
            )
        };
        assert_eq!(code, status::PANICKED);
        assert!(
            message(&err).contains("boom at the boundary"),
            "{}",
            message(&err)
        );
    }

    #[test]
    fn run_sort_refuses_a_null_buffer_with_keys() {
        let mut err = [0u8; 64];
        // SAFETY: null is the case under test; `err` has 64 writable bytes.
        let code = unsafe {
            run_sort::<u32>(
                core::ptr::null_mut(),
                5,
                err.as_mut_ptr().cast(),
                64,
                |_| {},
            )
        };
        assert_eq!(code, status::INVALID_ARGUMENT);
    }

    fn reverse_pairs(keys: &mut [u32], payload: PayloadSlice<'_>) {
        keys.reverse();
        match payload {
            PayloadSlice::U32(p) => p.reverse(),
            PayloadSlice::U64(p) => p.reverse(),
        }
    }

    #[test]
    fn run_sort_pairs_hands_over_both_arrays() {
        let mut keys = [1u32, 2, 3];
        let mut payload = [10u64, 20, 30];
        let mut err = [0u8; 64];
        // SAFETY: two live arrays of 3; `err` has 64 writable bytes.
        let code = unsafe {
            run_sort_pairs(
                keys.as_mut_ptr().cast(),
                payload.as_mut_ptr().cast(),
                3,
                PayloadType::U64.bit(),
                err.as_mut_ptr().cast(),
                64,
                reverse_pairs,
            )
        };
        assert_eq!(code, status::OK);
        assert_eq!((keys, payload), ([3, 2, 1], [30, 20, 10]));
    }

    #[test]
    fn run_sort_pairs_refuses_a_null_payload_and_an_unknown_payload_type() {
        let mut keys = [1u32, 2, 3];
        let mut err = [0u8; 64];
        // SAFETY: a live key array; the null payload is the case under test.
        let code = unsafe {
            run_sort_pairs(
                keys.as_mut_ptr().cast(),
                core::ptr::null_mut(),
                3,
                PayloadType::U32.bit(),
                err.as_mut_ptr().cast(),
                64,
                reverse_pairs,
            )
        };
        assert_eq!(code, status::INVALID_ARGUMENT);
        assert_eq!(message(&err), "buffer is null or misaligned");
        let mut payload = [0u32; 3];
        // SAFETY: live arrays; the payload type bit 0x4 is the case under test.
        let code = unsafe {
            run_sort_pairs(
                keys.as_mut_ptr().cast(),
                payload.as_mut_ptr().cast(),
                3,
                0x4,
                err.as_mut_ptr().cast(),
                64,
                reverse_pairs,
            )
        };
        assert_eq!(code, status::UNSUPPORTED_KEY_TYPE);
        assert_eq!(message(&err), "unknown payload type bit 0x4");
        assert_eq!(keys, [1, 2, 3]);
    }

    #[test]
    fn run_sort_pairs_reports_a_panic() {
        fn bad(_: &mut [u32], _: PayloadSlice<'_>) {
            panic!("pairs went wrong");
        }
        capture_panics();
        let (mut keys, mut payload) = ([2u32, 1], [0u32, 1]);
        let mut err = [0u8; 256];
        // SAFETY: live arrays of 2; `err` has 256 writable bytes.
        let code = unsafe {
            run_sort_pairs(
                keys.as_mut_ptr().cast(),
                payload.as_mut_ptr().cast(),
                2,
                PayloadType::U32.bit(),
                err.as_mut_ptr().cast(),
                256,
                bad,
            )
        };
        assert_eq!(code, status::PANICKED);
        assert!(
            message(&err).contains("pairs went wrong"),
            "{}",
            message(&err)
        );
    }

    use core::mem::size_of;

    fn options(size: u32, threads: u32) -> SortOptions {
        SortOptions {
            size,
            threads,
            source: core::ptr::null(),
        }
    }

    /// Records the thread count it got as every key's value.
    fn fill_with_threads(keys: &mut [u64], threads: usize) {
        keys.fill(threads as u64);
    }

    #[test]
    fn run_sort_with_hands_over_the_thread_count_and_reads_0_as_1() {
        for (threads, expected) in [(4u32, 4u64), (1, 1), (0, 1)] {
            let mut keys = [9u64, 8, 7];
            let mut err = [0u8; 64];
            let options = SortOptions::with_threads(threads);
            // SAFETY: a live array of 3, live options; `err` has 64 bytes.
            let code = unsafe {
                run_sort_with(
                    keys.as_mut_ptr().cast(),
                    3,
                    &options,
                    err.as_mut_ptr().cast(),
                    64,
                    fill_with_threads,
                )
            };
            assert_eq!(code, status::OK);
            assert_eq!(keys, [expected; 3], "threads {threads}");
        }
    }

    #[test]
    fn run_sort_with_refuses_null_or_short_options_before_the_keys() {
        let mut keys = [9u64, 8, 7];
        let mut err = [0u8; 128];
        // SAFETY: live keys; the null options are the case under test.
        let code = unsafe {
            run_sort_with(
                keys.as_mut_ptr().cast(),
                3,
                core::ptr::null(),
                err.as_mut_ptr().cast(),
                128,
                fill_with_threads,
            )
        };
        assert_eq!(code, status::INVALID_ARGUMENT);
        assert_eq!(message(&err), "options are null or misaligned");
        // A `size` that ends before `threads`: the thread count is not read.
        let short = options(4, 16);
        // SAFETY: live keys and options, `size` bytes of which are readable.
        let code = unsafe {
            run_sort_with(
                keys.as_mut_ptr().cast(),
                0,
                &short,
                err.as_mut_ptr().cast(),
                128,
                fill_with_threads,
            )
        };
        assert_eq!(code, status::INVALID_ARGUMENT);
        assert_eq!(
            message(&err),
            "options are 4 bytes, too short for the thread count (8 bytes)"
        );
        assert_eq!(keys, [9, 8, 7]);
        // A later host's larger options are read as far as this SDK knows.
        #[repr(C)]
        struct Later {
            known: SortOptions,
            appended: [u32; 14],
        }
        let later = Later {
            known: options(size_of::<Later>() as u32, 3),
            appended: [7; 14],
        };
        assert_eq!(later.appended[0], 7);
        // SAFETY: live keys; `size` readable bytes of options.
        let code = unsafe {
            run_sort_with(
                keys.as_mut_ptr().cast(),
                3,
                &later.known,
                err.as_mut_ptr().cast(),
                128,
                fill_with_threads,
            )
        };
        assert_eq!(code, status::OK);
        assert_eq!(keys, [3, 3, 3]);
    }

    #[test]
    fn run_sort_with_refuses_a_null_buffer_and_reports_a_panic_of_a_joined_thread() {
        let mut err = [0u8; 256];
        let options = SortOptions::with_threads(2);
        // SAFETY: null keys are the case under test; live options.
        let code = unsafe {
            run_sort_with::<u64>(
                core::ptr::null_mut(),
                5,
                &options,
                err.as_mut_ptr().cast(),
                256,
                fill_with_threads,
            )
        };
        assert_eq!(code, status::INVALID_ARGUMENT);
        assert_eq!(message(&err), "buffer is null or misaligned");

        fn bad(keys: &mut [u64], threads: usize) {
            std::thread::scope(|s| {
                s.spawn(|| panic!("worker {threads} gave up"));
            });
            keys.reverse();
        }
        capture_panics();
        let mut keys = [1u64, 2];
        // SAFETY: live keys and options; `err` has 256 bytes.
        let code = unsafe {
            run_sort_with(
                keys.as_mut_ptr().cast(),
                2,
                &options,
                err.as_mut_ptr().cast(),
                256,
                bad,
            )
        };
        assert_eq!(code, status::PANICKED);
        assert!(message(&err).contains("panicked"), "{}", message(&err));
    }

    #[test]
    fn run_sort_pairs_with_hands_over_both_arrays_and_the_thread_count() {
        fn reverse_and_count(keys: &mut [u32], payload: PayloadSlice<'_>, threads: usize) {
            reverse_pairs(keys, payload);
            keys[0] = threads as u32;
        }
        let mut keys = [1u32, 2, 3];
        let mut payload = [10u32, 20, 30];
        let mut err = [0u8; 64];
        let options = SortOptions::with_threads(6);
        // SAFETY: two live arrays of 3, live options; `err` has 64 bytes.
        let code = unsafe {
            run_sort_pairs_with(
                keys.as_mut_ptr().cast(),
                payload.as_mut_ptr().cast(),
                3,
                PayloadType::U32.bit(),
                &options,
                err.as_mut_ptr().cast(),
                64,
                reverse_and_count,
            )
        };
        assert_eq!(code, status::OK);
        assert_eq!((keys, payload), ([6, 2, 1], [30, 20, 10]));
        // An unknown payload type, and null options, are refused.
        // SAFETY: live arrays; the payload type bit 0x8 is the case under test.
        let code = unsafe {
            run_sort_pairs_with(
                keys.as_mut_ptr().cast(),
                payload.as_mut_ptr().cast(),
                3,
                0x8,
                &options,
                err.as_mut_ptr().cast(),
                64,
                reverse_and_count,
            )
        };
        assert_eq!(code, status::UNSUPPORTED_KEY_TYPE);
        assert_eq!(message(&err), "unknown payload type bit 0x8");
        // SAFETY: live arrays; the null options are the case under test.
        let code = unsafe {
            run_sort_pairs_with(
                keys.as_mut_ptr().cast(),
                payload.as_mut_ptr().cast(),
                3,
                PayloadType::U32.bit(),
                core::ptr::null(),
                err.as_mut_ptr().cast(),
                64,
                reverse_and_count,
            )
        };
        assert_eq!(code, status::INVALID_ARGUMENT);
        assert_eq!((keys, payload), ([6, 2, 1], [30, 20, 10]));
    }
}
