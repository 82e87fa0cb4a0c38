//! The `#[repr(C)]` types and constants of the plugin ABI.
//!
//! Every type here has a twin in `include/wildsort.h`, and a test compiles
//! that header and compares sizes, offsets and constants with these
//! definitions. The header is the reference documentation of the ABI; the
//! comments here say only what matters to Rust code.

use abi_stable::StableAbi;
use core::ffi::{c_char, c_void};

/// `"WILDSORT"` read as a little-endian `u64`: first field of [`AbiTag`] and
/// [`ModuleDef`].
pub const MAGIC: u64 = u64::from_le_bytes(*b"WILDSORT");
/// Major ABI version. A host refuses every plugin of another major.
pub const ABI_MAJOR: u16 = 1;
/// Minor ABI version. Minors only append fields; a host reads every minor up
/// to its own and refuses newer ones.
pub const ABI_MINOR: u16 = 3;

/// Prefix of the entry symbol, which every plugin exports: module
/// `wildsort_radix` exports the function `WildInit_wildsort_radix`. Found in
/// the file before any plugin code runs; called after the file is opened and
/// its layout checked, once in each process that loads the plugin.
pub const ENTRY_PREFIX: &str = "WildInit_";
/// Prefix of the ABI tag symbol, which every plugin exports: a static
/// [`AbiTag`] the host reads from the file before running any of its code.
pub const TAG_PREFIX: &str = "WildAbi_";
/// Prefix of the abi_stable layout symbol that Rust plugins built with the
/// SDK export (C plugins do not): a `&'static TypeLayout` of [`ModuleDef`],
/// read after the file is opened and compared with the host's before the
/// entry point runs.
pub const LAYOUT_PREFIX: &str = "WildLayout_";

/// Status codes returned by [`SortFn`], [`SortPairsFn`], [`SortWithFn`]
/// and [`InitFn`].
pub mod status {
    /// Success.
    pub const OK: i32 = 0;
    /// The key type is not one the backend declared.
    pub const UNSUPPORTED_KEY_TYPE: i32 = 1;
    /// The arguments break the contract (null buffer with a non-zero length,
    /// misaligned buffer, null or short [`SortOptions`](super::SortOptions)).
    pub const INVALID_ARGUMENT: i32 = 2;
    /// The backend could not allocate its scratch memory.
    pub const OUT_OF_MEMORY: i32 = 3;
    /// A Rust backend panicked; the SDK caught the panic at the boundary.
    pub const PANICKED: i32 = 4;
    /// Any other failure; the message says what.
    pub const FAILED: i32 = 5;
    /// Returned by `init` only: the plugin cannot run on this machine.
    pub const UNAVAILABLE: i32 = 6;

    /// The symbolic name of a status code, for messages.
    pub fn name(code: i32) -> &'static str {
        match code {
            OK => "ok",
            UNSUPPORTED_KEY_TYPE => "unsupported key type",
            INVALID_ARGUMENT => "invalid argument",
            OUT_OF_MEMORY => "out of memory",
            PANICKED => "panicked",
            FAILED => "failed",
            UNAVAILABLE => "unavailable",
            _ => "unknown status",
        }
    }
}

/// Backend flags ([`MethodDef::flags`]).
pub mod flags {
    /// Equal keys keep their relative order. Only a pairs call
    /// ([`MethodDef::sort_pairs`](super::MethodDef::sort_pairs)) can show it: equal keys are identical
    /// bits, but their payloads are not.
    pub const STABLE: u32 = 1 << 0;
    /// The backend may use more than the calling thread. Since ABI 1.2 such
    /// a backend should provide
    /// [`MethodDef::sort_with`](super::MethodDef::sort_with), through which
    /// the host bounds its threads.
    pub const PARALLEL: u32 = 1 << 1;
    /// ABI 1.3: the backend's
    /// [`MethodDef::sort_with`](super::MethodDef::sort_with) sorts from
    /// [`SortOptions::source`](super::SortOptions::source) into its `keys`
    /// buffer, without the host copying first. Needs `sort_with`, and a
    /// module built for ABI 1.3 or later.
    pub const FROM_SOURCE: u32 = 1 << 2;
    /// Every flag ABI 1.0 to 1.2 defines: a module built for one of them
    /// must leave the other bits zero.
    pub const KNOWN_1_2: u32 = STABLE | PARALLEL;
    /// Every flag this ABI defines; other bits must be zero.
    pub const KNOWN: u32 = STABLE | PARALLEL | FROM_SOURCE;
}

/// The key types of the ABI. The discriminant is the bit used both in
/// [`MethodDef::key_types`] (a set) and as the `key_type` argument of
/// [`SortFn`] (exactly one bit).
///
/// Floats sort by IEEE-754 totalOrder, the order of `f64::total_cmp`:
/// -NaN < -inf < … < -0.0 < +0.0 < … < +inf < +NaN.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyType {
    U32 = 1 << 0,
    U64 = 1 << 1,
    I32 = 1 << 2,
    I64 = 1 << 3,
    F32 = 1 << 4,
    F64 = 1 << 5,
}

impl KeyType {
    /// Every key type, in the order the CLI and `list` show them.
    pub const ALL: [KeyType; 6] = [
        KeyType::U32,
        KeyType::U64,
        KeyType::I32,
        KeyType::I64,
        KeyType::F32,
        KeyType::F64,
    ];
    /// The union of every key type bit ABI 1.0 defines.
    pub const KNOWN_BITS: u32 = 0b11_1111;

    /// This type's bit.
    pub const fn bit(self) -> u32 {
        self as u32
    }

    /// The type whose bit is exactly `bit`, if any.
    pub const fn from_bit(bit: u32) -> Option<KeyType> {
        match bit {
            0b1 => Some(KeyType::U32),
            0b10 => Some(KeyType::U64),
            0b100 => Some(KeyType::I32),
            0b1000 => Some(KeyType::I64),
            0b1_0000 => Some(KeyType::F32),
            0b10_0000 => Some(KeyType::F64),
            _ => None,
        }
    }

    /// The types in a set of bits, ignoring unknown bits.
    pub fn in_set(bits: u32) -> impl Iterator<Item = KeyType> {
        KeyType::ALL
            .into_iter()
            .filter(move |k| bits & k.bit() != 0)
    }

    /// The Rust name of the type: `u32`, `f64`, …
    pub const fn name(self) -> &'static str {
        match self {
            KeyType::U32 => "u32",
            KeyType::U64 => "u64",
            KeyType::I32 => "i32",
            KeyType::I64 => "i64",
            KeyType::F32 => "f32",
            KeyType::F64 => "f64",
        }
    }

    /// Size of one key in bytes.
    pub const fn size(self) -> usize {
        match self {
            KeyType::U32 | KeyType::I32 | KeyType::F32 => 4,
            KeyType::U64 | KeyType::I64 | KeyType::F64 => 8,
        }
    }

    /// Whether the type is a float (sorted by totalOrder).
    pub const fn is_float(self) -> bool {
        matches!(self, KeyType::F32 | KeyType::F64)
    }
}

impl core::fmt::Display for KeyType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for KeyType {
    type Err = UnknownKeyType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyType::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or(UnknownKeyType)
    }
}

/// The error of parsing a [`KeyType`] from a name that is none of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownKeyType;

impl core::fmt::Display for UnknownKeyType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("expected one of u32, u64, i32, i64, f32, f64")
    }
}

impl std::error::Error for UnknownKeyType {}

/// The payload types of ABI 1.1: what a pairs call ([`MethodDef::sort_pairs`])
/// moves along with each key. The discriminant is the bit used both in
/// [`MethodDef::payload_types`] (a set) and as the `payload_type` argument
/// of [`SortPairsFn`] (exactly one bit).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PayloadType {
    U32 = 1 << 0,
    U64 = 1 << 1,
}

impl PayloadType {
    /// Every payload type.
    pub const ALL: [PayloadType; 2] = [PayloadType::U32, PayloadType::U64];
    /// The union of every payload type bit ABI 1.1 defines.
    pub const KNOWN_BITS: u32 = 0b11;

    /// This type's bit.
    pub const fn bit(self) -> u32 {
        self as u32
    }

    /// The type whose bit is exactly `bit`, if any.
    pub const fn from_bit(bit: u32) -> Option<PayloadType> {
        match bit {
            0b1 => Some(PayloadType::U32),
            0b10 => Some(PayloadType::U64),
            _ => None,
        }
    }

    /// The types in a set of bits, ignoring unknown bits.
    pub fn in_set(bits: u32) -> impl Iterator<Item = PayloadType> {
        PayloadType::ALL
            .into_iter()
            .filter(move |p| bits & p.bit() != 0)
    }

    /// The Rust name of the type: `u32` or `u64`.
    pub const fn name(self) -> &'static str {
        match self {
            PayloadType::U32 => "u32",
            PayloadType::U64 => "u64",
        }
    }

    /// Size of one payload value in bytes.
    pub const fn size(self) -> usize {
        match self {
            PayloadType::U32 => 4,
            PayloadType::U64 => 8,
        }
    }
}

impl core::fmt::Display for PayloadType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Sorts `len` keys of type `key_type` at `keys` in place.
///
/// On failure it returns a non-zero [`status`] and writes a NUL-terminated
/// UTF-8 message of at most `err_cap` bytes (terminator included) to `err`.
/// `keys` may be null when `len` is 0. May be called from several threads at
/// once on different buffers.
pub type SortFn = unsafe extern "C" fn(
    keys: *mut c_void,
    len: usize,
    key_type: u32,
    err: *mut c_char,
    err_cap: usize,
) -> i32;

/// ABI 1.1: sorts `len` keys of type `key_type` at `keys` and moves the
/// `len` payload values of type `payload_type` at `payload` with them:
/// `keys[i]` and `payload[i]` stay together. The same contract as
/// [`SortFn`] otherwise; with [`flags::STABLE`] equal keys keep their
/// payloads in input order.
pub type SortPairsFn = unsafe extern "C" fn(
    keys: *mut c_void,
    payload: *mut c_void,
    len: usize,
    key_type: u32,
    payload_type: u32,
    err: *mut c_char,
    err_cap: usize,
) -> i32;

/// ABI 1.2: what one call may use beyond its buffers, passed to
/// [`SortWithFn`]. The host zero-fills it and sets `size` to the bytes it
/// filled; a backend reads only the fields `size` covers, so later minors
/// can append fields.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortOptions {
    /// Bytes of this struct the host filled.
    pub size: u32,
    /// The most threads the call may run on, the calling one included; at
    /// least 1 (a backend reads 0 as 1).
    pub threads: u32,
    /// ABI 1.3: null, or the keys to sort into the call's `keys` buffer,
    /// which then holds no keys on entry; only for a backend flagged
    /// [`flags::FROM_SOURCE`], only without a payload. The two buffers do
    /// not overlap, and the backend never writes `source`.
    pub source: *const c_void,
}

impl SortOptions {
    /// The bytes a backend needs `size` to cover to read
    /// [`SortOptions::threads`].
    pub const THREADS_END: usize =
        core::mem::offset_of!(SortOptions, threads) + core::mem::size_of::<u32>();

    /// The bytes a backend needs `size` to cover to read
    /// [`SortOptions::source`].
    pub const SOURCE_END: usize =
        core::mem::offset_of!(SortOptions, source) + core::mem::size_of::<*const c_void>();

    /// `size` as a 1.2 host fills it: the fields before `source`.
    pub const SIZE_1_2: usize = core::mem::offset_of!(SortOptions, source);

    /// The options of a call that may run on `threads` threads, as this
    /// host fills them: every field this crate knows, `size` saying so.
    pub const fn with_threads(threads: u32) -> SortOptions {
        SortOptions {
            size: core::mem::size_of::<SortOptions>() as u32,
            threads,
            source: core::ptr::null(),
        }
    }

    /// [`SortOptions::with_threads`] with the keys to sort from: `source`
    /// (see [`flags::FROM_SOURCE`]).
    pub const fn from_source(threads: u32, source: *const c_void) -> SortOptions {
        SortOptions {
            source,
            ..SortOptions::with_threads(threads)
        }
    }
}

/// ABI 1.2: [`SortFn`] (with `payload` null and `payload_type` 0) or
/// [`SortPairsFn`] (otherwise), under `options`: the call runs on at most
/// `options.threads` threads, the calling one included, and joins them
/// before it returns. Same status codes and message contract as
/// [`SortFn`]; a null `options`, or one whose `size` ends before
/// `threads`, is [`status::INVALID_ARGUMENT`].
pub type SortWithFn = unsafe extern "C" fn(
    keys: *mut c_void,
    payload: *mut c_void,
    len: usize,
    key_type: u32,
    payload_type: u32,
    options: *const SortOptions,
    err: *mut c_char,
    err_cap: usize,
) -> i32;

/// Called before any sort, from one thread, once in each process that loads
/// the plugin: the plugin scanner's child process runs it too, so it may run
/// twice on one machine for one start of the host, and must have no effect
/// that has to happen once per machine. Returns [`status::OK`], or
/// [`status::UNAVAILABLE`] with the reason written to `reason` like the
/// message of [`SortFn`].
pub type InitFn = unsafe extern "C" fn(reason: *mut c_char, reason_cap: usize) -> i32;

/// The ABI tag, exported as the static `WildAbi_<module>`. The host reads it
/// from the file without running any plugin code, to refuse another ABI
/// major or a newer minor before `dlopen` runs the file's constructors.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbiTag {
    /// [`MAGIC`].
    pub magic: u64,
    /// [`ABI_MAJOR`] the plugin was built for.
    pub abi_major: u16,
    /// [`ABI_MINOR`] the plugin was built for.
    pub abi_minor: u16,
    /// `size_of::<ModuleDef>()` as the plugin was built.
    pub module_size: u32,
}

impl AbiTag {
    /// The tag of a plugin built against this crate.
    pub const CURRENT: AbiTag = AbiTag {
        magic: MAGIC,
        abi_major: ABI_MAJOR,
        abi_minor: ABI_MINOR,
        module_size: core::mem::size_of::<ModuleDef>() as u32,
    };
}

/// One backend of a module: the `PyMethodDef` of this ABI.
///
/// The fields leave no padding, so that a later minor appends new fields
/// after the last one at an offset every compiler agrees on.
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct MethodDef {
    /// Backend name: 1 to 63 bytes of `[A-Za-z0-9_-]`, starting with a letter.
    pub name: *const c_char,
    /// One line of documentation, UTF-8, at most 1023 bytes; may be null.
    pub doc: *const c_char,
    /// The sort function, a [`SortFn`]; must not be null. (Spelled out because
    /// abi_stable's derive reads function types only where they are written.)
    pub sort: Option<
        unsafe extern "C" fn(
            keys: *mut c_void,
            len: usize,
            key_type: u32,
            err: *mut c_char,
            err_cap: usize,
        ) -> i32,
    >,
    /// The key types the backend sorts: a non-empty set of [`KeyType`] bits.
    pub key_types: u32,
    /// [`flags`] bits.
    pub flags: u32,
    /// Heap memory one call may allocate, in percent of the buffer's size in
    /// bytes (100: one more buffer the size of the input), freed before the
    /// call returns. 0 means in place.
    pub scratch_percent: u32,
    /// Must be zero.
    pub reserved: u32,
    /// ABI 1.1: the pairs function, a [`SortPairsFn`], or null: the backend
    /// sorts bare keys only. It sorts every key type of `key_types` and every
    /// payload type of `payload_types`. Absent (read as null) in a 1.0
    /// plugin, whose `method_size` ends before it.
    pub sort_pairs: Option<
        unsafe extern "C" fn(
            keys: *mut c_void,
            payload: *mut c_void,
            len: usize,
            key_type: u32,
            payload_type: u32,
            err: *mut c_char,
            err_cap: usize,
        ) -> i32,
    >,
    /// ABI 1.1: the [`PayloadType`] bits `sort_pairs` accepts; zero exactly
    /// when `sort_pairs` is null.
    pub payload_types: u32,
    /// ABI 1.1: must be zero.
    pub reserved2: u32,
    /// ABI 1.2: the call with options, a [`SortWithFn`], or null: the host
    /// calls `sort`/`sort_pairs` instead. It sorts the key types of
    /// `key_types` and, with a payload, the payload types of
    /// `payload_types`. Absent (read as null) in a 1.0 or 1.1 plugin,
    /// whose `method_size` ends before it. It starts on a pointer boundary
    /// and ends the entry there, so the entry has no padding.
    pub sort_with: Option<
        unsafe extern "C" fn(
            keys: *mut c_void,
            payload: *mut c_void,
            len: usize,
            key_type: u32,
            payload_type: u32,
            options: *const SortOptions,
            err: *mut c_char,
            err_cap: usize,
        ) -> i32,
    >,
}

/// `size_of::<MethodDef>()` in ABI 1.0: the entry ended after
/// [`MethodDef::reserved`].
pub const METHOD_SIZE_1_0: usize = core::mem::offset_of!(MethodDef, sort_pairs);

/// `size_of::<MethodDef>()` in ABI 1.1: the entry ended after
/// [`MethodDef::reserved2`].
pub const METHOD_SIZE_1_1: usize = core::mem::offset_of!(MethodDef, sort_with);

/// The module definition returned by the entry point: the `PyModuleDef` of
/// this ABI. The four first fields never change place in any version.
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct ModuleDef {
    /// [`MAGIC`].
    pub magic: u64,
    /// [`ABI_MAJOR`] the plugin was built for.
    pub abi_major: u16,
    /// [`ABI_MINOR`] the plugin was built for.
    pub abi_minor: u16,
    /// `size_of::<ModuleDef>()` as the plugin was built: fields past this
    /// size are absent.
    pub size: u32,
    /// Module name; must equal the name derived from the file name.
    pub name: *const c_char,
    /// Module version, UTF-8, at most 63 bytes (`"1.2.0"`).
    pub version: *const c_char,
    /// One line of documentation; may be null.
    pub doc: *const c_char,
    /// Null-terminated array of compiled-in feature names; may be null.
    pub features: *const *const c_char,
    /// Optional plugin-wide initialisation, an [`InitFn`].
    pub init: Option<unsafe extern "C" fn(reason: *mut c_char, reason_cap: usize) -> i32>,
    /// The method table: `method_count` entries, `method_size` bytes apart.
    pub methods: *const MethodDef,
    /// Number of backends, 1 to [`MAX_METHODS`].
    pub method_count: u32,
    /// `size_of::<MethodDef>()` as the plugin was built.
    pub method_size: u32,
}

/// Most backends one module may declare.
pub const MAX_METHODS: u32 = 256;
/// Most feature names one module may declare.
pub const MAX_FEATURES: usize = 64;
/// Largest `method_size` a host accepts: room for ABI 1.x to grow a method
/// entry, and a bound on how far apart a host reads the entries.
pub const MAX_METHOD_SIZE: u32 = 1024;
/// Longest module, backend or feature name, and longest version, in bytes.
pub const MAX_NAME: usize = 63;
/// Longest doc string, in bytes.
pub const MAX_DOC: usize = 1023;

// SAFETY: the contract makes every pointer in a module definition point to
// immutable data that lives as long as the process (plugins are never
// unloaded), so sharing the definition between threads is sound.
unsafe impl Sync for ModuleDef {}
// SAFETY: as for `ModuleDef`: method entries are immutable static data.
unsafe impl Sync for MethodDef {}
