//! Validation of the module definition a plugin's entry point returned.
//!
//! Nothing the plugin hands over is trusted until checked here: pointers,
//! magic, versions, sizes, every string (bounded length, UTF-8, no control
//! characters that could rewrite the user's terminal), every method entry.
//! What passes comes out as owned Rust values.

use crate::error::{Refusal, Stage};
use core::ffi::c_char;
use std::mem::{MaybeUninit, size_of};
use wildhost_abi::{
    ABI_MAJOR, ABI_MINOR, AbiTag, InitFn, KeyType, MAGIC, MAX_DOC, MAX_FEATURES, MAX_METHOD_SIZE,
    MAX_METHODS, MAX_NAME, METHOD_SIZE_1_0, METHOD_SIZE_1_1, MethodDef, ModuleDef, PayloadType,
    SortFn, SortPairsFn, SortWithFn, flags,
};

/// What a host knows how to read: its ABI version and, for each minor up to
/// its own, the sizes of the module and method definitions of that minor.
#[derive(Clone, Copy, Debug)]
pub struct HostAbi {
    /// The host's major version.
    pub major: u16,
    /// The host's minor version: `module_sizes.len() - 1`.
    pub minor: u16,
    /// `sizeof(WildModuleDef)` in each minor, indexed by minor.
    pub module_sizes: &'static [usize],
    /// `sizeof(WildMethodDef)` in each minor, indexed by minor.
    pub method_sizes: &'static [usize],
}

impl HostAbi {
    /// This host: ABI 1.3. The module definition has not grown since 1.0;
    /// the method entry grew by the pairs fields in 1.1 and by `sort_with`
    /// in 1.2; 1.3 grew the options `sort_with` takes, not the entry.
    pub const CURRENT: HostAbi = HostAbi {
        major: ABI_MAJOR,
        minor: ABI_MINOR,
        module_sizes: &[
            size_of::<ModuleDef>(),
            size_of::<ModuleDef>(),
            size_of::<ModuleDef>(),
            size_of::<ModuleDef>(),
        ],
        method_sizes: &[
            METHOD_SIZE_1_0,
            METHOD_SIZE_1_1,
            size_of::<MethodDef>(),
            size_of::<MethodDef>(),
        ],
    };

    /// A host of ABI 1.2, as the last one was: tests play it to show that
    /// it refuses a 1.3 plugin.
    pub const V1_2: HostAbi = HostAbi {
        major: 1,
        minor: 2,
        module_sizes: &[
            size_of::<ModuleDef>(),
            size_of::<ModuleDef>(),
            size_of::<ModuleDef>(),
        ],
        method_sizes: &[METHOD_SIZE_1_0, METHOD_SIZE_1_1, size_of::<MethodDef>()],
    };

    /// A host of ABI 1.1, as the last one was: tests play it to show that
    /// it refuses a 1.2 plugin.
    pub const V1_1: HostAbi = HostAbi {
        major: 1,
        minor: 1,
        module_sizes: &[size_of::<ModuleDef>(), size_of::<ModuleDef>()],
        method_sizes: &[METHOD_SIZE_1_0, METHOD_SIZE_1_1],
    };

    /// A host of ABI 1.0: tests play it to show that it refuses a 1.1
    /// plugin.
    pub const V1_0: HostAbi = HostAbi {
        major: 1,
        minor: 0,
        module_sizes: &[size_of::<ModuleDef>()],
        method_sizes: &[METHOD_SIZE_1_0],
    };
}

/// A validated module definition, as owned values.
#[derive(Clone, Debug)]
pub struct ModuleDefinition {
    /// Module name (equal to the one from the file name).
    pub name: String,
    /// The module's own version.
    pub version: String,
    /// One line of documentation, possibly empty.
    pub doc: String,
    /// Compiled-in feature names.
    pub features: Vec<String>,
    /// ABI version the plugin was built for.
    pub abi: (u16, u16),
    /// The plugin's `init`, if any.
    pub init: Option<InitFn>,
    /// The backends, in table order.
    pub methods: Vec<MethodDefinition>,
}

/// A validated method table entry.
#[derive(Clone, Debug)]
pub struct MethodDefinition {
    /// Backend name.
    pub name: String,
    /// One line of documentation, possibly empty.
    pub doc: String,
    /// Set of key type bits (all known).
    pub key_types: u32,
    /// Flag bits (all known).
    pub flags: u32,
    /// Declared scratch memory, percent of the buffer.
    pub scratch_percent: u32,
    /// The sort function.
    pub sort: SortFn,
    /// The pairs function (ABI 1.1); `None` for a 1.0 plugin's backend,
    /// whose entry ends before it, and for a backend that sorts bare keys only.
    pub sort_pairs: Option<SortPairsFn>,
    /// Set of payload type bits `sort_pairs` accepts (all known); zero
    /// exactly when there is no `sort_pairs`.
    pub payload_types: u32,
    /// The call with options (ABI 1.2), which takes a thread count; `None`
    /// for a 1.0 or 1.1 plugin's backend, whose entry ends before it, and
    /// for a backend without one.
    pub sort_with: Option<SortWithFn>,
}

fn invalid(cause: impl Into<String>) -> Refusal {
    Refusal::new(
        Stage::Validation,
        cause,
        "the plugin breaks the wildhost ABI; report it to its author, or remove it from the plugin directory",
    )
}

/// Validates the definition at `def`, returned by the entry point of the
/// module `expected_name`, whose file declared `tag`.
///
/// # Safety
/// `def` is what the entry point of a loaded, never-unloaded library
/// returned. The host cannot check that non-null pointers in it are
/// readable; it bounds every read by the ABI's limits.
pub unsafe fn validate(
    def: *const ModuleDef,
    expected_name: &str,
    tag: &AbiTag,
) -> Result<ModuleDefinition, Refusal> {
    // SAFETY: forwarded.
    unsafe { validate_with(&HostAbi::CURRENT, def, expected_name, tag) }
}

/// [`validate`] for a host that knows `host`; tests use it to play a newer host.
///
/// # Safety
/// As for [`validate`].
pub unsafe fn validate_with(
    host: &HostAbi,
    def: *const ModuleDef,
    expected_name: &str,
    tag: &AbiTag,
) -> Result<ModuleDefinition, Refusal> {
    if def.is_null() {
        return Err(invalid("the entry point returned a null module definition"));
    }
    if !def.is_aligned() {
        return Err(invalid("the module definition is misaligned"));
    }
    // SAFETY: non-null and aligned; the four header fields exist in every
    // version of the ABI.
    let (magic, major, minor, size) = unsafe {
        (
            (&raw const (*def).magic).read(),
            (&raw const (*def).abi_major).read(),
            (&raw const (*def).abi_minor).read(),
            (&raw const (*def).size).read(),
        )
    };
    if magic != MAGIC {
        return Err(invalid(format!(
            "the module definition has the wrong magic ({magic:#018x})"
        )));
    }
    if (major, minor) != (tag.abi_major, tag.abi_minor) {
        return Err(invalid(format!(
            "the module definition says ABI {major}.{minor} but the file's ABI tag says {}.{}",
            tag.abi_major, tag.abi_minor
        )));
    }
    if major != host.major {
        return Err(invalid(format!(
            "plugin ABI {major}.{minor}, host speaks {}.0 to {}.{}",
            host.major, host.major, host.minor
        )));
    }
    if minor > host.minor {
        return Err(invalid(format!(
            "plugin ABI {major}.{minor} is newer than this host's {}.{}",
            host.major, host.minor
        )));
    }
    let needed = host.module_sizes[usize::from(minor)];
    if (size as usize) < needed {
        return Err(invalid(format!(
            "the module definition is {size} bytes, ABI {major}.{minor} needs at least {needed}"
        )));
    }
    // SAFETY: `size` bytes are the plugin's definition; `read_prefix` reads
    // no more than that nor than the host's type.
    let def: ModuleDef = unsafe { read_prefix(def.cast(), size as usize) };

    // SAFETY: this and the string reads below take pointers from the
    // definition; `read_c_str` reads at most its limit + 1 bytes.
    let name = unsafe { read_c_str(def.name, MAX_NAME) }
        .map_err(|e| invalid(format!("module name: {e}")))?;
    if name != expected_name {
        return Err(invalid(format!(
            "the module calls itself `{name}` but the file name says `{expected_name}`"
        )));
    }
    // SAFETY: as above.
    let version = unsafe { read_c_str(def.version, MAX_NAME) }
        .map_err(|e| invalid(format!("module version: {e}")))?;
    if version.is_empty() {
        return Err(invalid("module version: empty"));
    }
    // SAFETY: as above.
    let doc = unsafe { read_optional_c_str(def.doc, MAX_DOC) }
        .map_err(|e| invalid(format!("module doc: {e}")))?;
    // SAFETY: as above.
    let features = unsafe { read_features(def.features) }?;

    let count = def.method_count;
    if count == 0 {
        return Err(invalid(
            "the module declares no backends (method_count is 0)",
        ));
    }
    if count > MAX_METHODS {
        return Err(invalid(format!(
            "the module declares {count} backends, more than the limit of {MAX_METHODS}"
        )));
    }
    if def.methods.is_null() || !def.methods.is_aligned() {
        return Err(invalid("the method table pointer is null or misaligned"));
    }
    let stride = def.method_size as usize;
    let needed = host.method_sizes[usize::from(minor)];
    if stride < needed
        || !stride.is_multiple_of(align_of::<MethodDef>())
        || stride > MAX_METHOD_SIZE as usize
    {
        return Err(invalid(format!(
            "method entries are {stride} bytes apart, ABI {major}.{minor} needs a multiple of {} from {needed} to {MAX_METHOD_SIZE}",
            align_of::<MethodDef>()
        )));
    }

    let mut methods: Vec<MethodDefinition> = Vec::with_capacity(count as usize);
    for i in 0..count as usize {
        // SAFETY: the table holds `count` entries `stride` bytes apart
        // (the ABI's contract, bounded above); each is read up to its size,
        // and no further than its minor defines: fields a later minor
        // appended are absent (zero) in an entry of an earlier one.
        let entry: MethodDef =
            unsafe { read_prefix(def.methods.cast::<u8>().add(i * stride), stride.min(needed)) };
        // SAFETY: as for the module's strings.
        let method = unsafe { validate_method(&entry, minor) }
            .map_err(|e| invalid(format!("backend #{i}: {e}")))?;
        if methods.iter().any(|m| m.name == method.name) {
            return Err(invalid(format!(
                "backend #{i}: the name `{}` appears twice",
                method.name
            )));
        }
        methods.push(method);
    }

    Ok(ModuleDefinition {
        name,
        version,
        doc,
        features,
        abi: (major, minor),
        init: def.init,
        methods,
    })
}

/// Validates one entry of a module built for ABI minor `minor`.
///
/// # Safety
/// The string pointers of `m` are null or readable up to their NUL or the
/// limit, whichever comes first.
unsafe fn validate_method(m: &MethodDef, minor: u16) -> Result<MethodDefinition, String> {
    // SAFETY: per this function's contract.
    let name = unsafe { read_c_str(m.name, MAX_NAME) }.map_err(|e| format!("name: {e}"))?;
    if !is_valid_backend_name(&name) {
        return Err(format!(
            "name `{name}` is not a backend name (letters, digits, `_` and `-`, starting with a letter)"
        ));
    }
    let context = |e: String| format!("`{name}`: {e}");
    // SAFETY: per this function's contract.
    let doc =
        unsafe { read_optional_c_str(m.doc, MAX_DOC) }.map_err(|e| context(format!("doc: {e}")))?;
    let Some(sort) = m.sort else {
        return Err(context("sort function is null".into()));
    };
    if m.key_types == 0 {
        return Err(context("declares no key types".into()));
    }
    if m.key_types & !KeyType::KNOWN_BITS != 0 {
        return Err(context(format!(
            "declares unknown key type bits {:#x}",
            m.key_types & !KeyType::KNOWN_BITS
        )));
    }
    // A bit a later minor gave a meaning is unknown to a module built for
    // an earlier one: it cannot have meant it.
    let known = if minor >= 3 {
        flags::KNOWN
    } else {
        flags::KNOWN_1_2
    };
    if m.flags & !known != 0 {
        return Err(context(format!(
            "declares unknown flag bits {:#x} (ABI 1.{minor})",
            m.flags & !known
        )));
    }
    if m.reserved != 0 {
        return Err(context(format!(
            "reserved field is {:#x}, must be 0",
            m.reserved
        )));
    }
    // The ABI 1.1 fields: all zero (absent) when the entry is a 1.0 one,
    // since `read_prefix` zero-fills what the plugin's stride does not cover.
    if m.payload_types & !PayloadType::KNOWN_BITS != 0 {
        return Err(context(format!(
            "payload_types declares unknown payload type bits {:#x}",
            m.payload_types & !PayloadType::KNOWN_BITS
        )));
    }
    match (m.sort_pairs.is_some(), m.payload_types != 0) {
        (true, false) => {
            return Err(context(
                "payload_types is 0 but sort_pairs is set: declare the payload types it sorts"
                    .into(),
            ));
        }
        (false, true) => {
            return Err(context(format!(
                "payload_types is {:#x} but sort_pairs is null: it must be 0 without sort_pairs",
                m.payload_types
            )));
        }
        _ => {}
    }
    if m.reserved2 != 0 {
        return Err(context(format!(
            "reserved2 field is {:#x}, must be 0",
            m.reserved2
        )));
    }
    // The ABI 1.2 field: null (absent) in a 1.0 or 1.1 entry. Any backend
    // may have it, and a parallel one may lack it (every parallel backend
    // built before 1.2 does): the host then calls `sort`/`sort_pairs`.
    // The header makes the payload types of `sort_with` those of
    // `sort_pairs`, so there is nothing more to cross-check.
    if m.flags & flags::FROM_SOURCE != 0 && m.sort_with.is_none() {
        return Err(context(
            "is flagged from-source but sort_with is null: the source reaches a backend \
             only through sort_with"
                .into(),
        ));
    }
    Ok(MethodDefinition {
        name,
        doc,
        key_types: m.key_types,
        flags: m.flags,
        scratch_percent: m.scratch_percent,
        sort,
        sort_pairs: m.sort_pairs,
        payload_types: m.payload_types,
        sort_with: m.sort_with,
    })
}

/// Whether `name` is a valid backend name.
pub fn is_valid_backend_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_valid_feature_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.+=".contains(&b))
}

/// Reads a `T` of which the plugin provides only `declared` bytes: fields
/// past that are zero, which the ABI defines as "absent" for appended fields.
///
/// # Safety
/// `ptr` is readable for `min(declared, size_of::<T>())` bytes, and the
/// all-zero bit pattern is a valid `T`.
unsafe fn read_prefix<T>(ptr: *const u8, declared: usize) -> T {
    let mut value = MaybeUninit::<T>::zeroed();
    let len = declared.min(size_of::<T>());
    // SAFETY: `len` readable bytes at `ptr` (caller), `len <= size_of::<T>()`
    // writable bytes in `value`; plugin memory cannot overlap a local.
    unsafe {
        core::ptr::copy_nonoverlapping(ptr, value.as_mut_ptr().cast::<u8>(), len);
        value.assume_init()
    }
}

/// Reads a NUL-terminated UTF-8 string of at most `max` bytes.
///
/// # Safety
/// `ptr` is null, or readable up to its NUL or `max + 1` bytes, whichever
/// comes first.
unsafe fn read_c_str(ptr: *const c_char, max: usize) -> Result<String, String> {
    if ptr.is_null() {
        return Err("null".into());
    }
    let mut bytes = Vec::new();
    loop {
        // SAFETY: readable up to the NUL or `max + 1` bytes (caller); the
        // loop stops at the NUL or after `max + 1` bytes.
        let byte = unsafe { ptr.cast::<u8>().add(bytes.len()).read() };
        if byte == 0 {
            break;
        }
        if bytes.len() == max {
            return Err(format!("longer than {max} bytes or not NUL-terminated"));
        }
        bytes.push(byte);
    }
    let text = String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())?;
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(format!("contains the control character {:?}", c));
    }
    Ok(text)
}

/// [`read_c_str`], where null means empty.
///
/// # Safety
/// As for [`read_c_str`].
unsafe fn read_optional_c_str(ptr: *const c_char, max: usize) -> Result<String, String> {
    if ptr.is_null() {
        return Ok(String::new());
    }
    // SAFETY: forwarded.
    unsafe { read_c_str(ptr, max) }
}

/// # Safety
/// `list` is null or a readable array of C string pointers, terminated by
/// null within `MAX_FEATURES + 1` entries or readable that far.
unsafe fn read_features(list: *const *const c_char) -> Result<Vec<String>, Refusal> {
    let mut features = Vec::new();
    if list.is_null() {
        return Ok(features);
    }
    if !list.is_aligned() {
        return Err(invalid("the feature list is misaligned"));
    }
    for i in 0..=MAX_FEATURES {
        // SAFETY: readable up to the terminator or `MAX_FEATURES + 1` entries.
        let item = unsafe { list.add(i).read() };
        if item.is_null() {
            return Ok(features);
        }
        if i == MAX_FEATURES {
            break;
        }
        // SAFETY: a feature name, bounded as every string.
        let name = unsafe { read_c_str(item, MAX_NAME) }
            .map_err(|e| invalid(format!("feature #{i}: {e}")))?;
        if !is_valid_feature_name(&name) {
            return Err(invalid(format!(
                "feature #{i}: `{name}` is not a feature name"
            )));
        }
        features.push(name);
    }
    Err(invalid(format!(
        "the feature list is not null-terminated within {MAX_FEATURES} entries"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::c_void;

    unsafe extern "C" fn noop(_: *mut c_void, _: usize, _: u32, _: *mut c_char, _: usize) -> i32 {
        0
    }

    unsafe extern "C" fn noop_pairs(
        _: *mut c_void,
        _: *mut c_void,
        _: usize,
        _: u32,
        _: u32,
        _: *mut c_char,
        _: usize,
    ) -> i32 {
        0
    }

    #[allow(clippy::too_many_arguments)]
    unsafe extern "C" fn noop_with(
        _: *mut c_void,
        _: *mut c_void,
        _: usize,
        _: u32,
        _: u32,
        _: *const wildhost_abi::SortOptions,
        _: *mut c_char,
        _: usize,
    ) -> i32 {
        0
    }

    fn method(name: &'static [u8]) -> MethodDef {
        MethodDef {
            name: name.as_ptr().cast(),
            doc: c"a backend".as_ptr(),
            sort: Some(noop),
            key_types: KeyType::U64.bit(),
            flags: 0,
            scratch_percent: 0,
            reserved: 0,
            sort_pairs: Some(noop_pairs),
            payload_types: PayloadType::KNOWN_BITS,
            reserved2: 0,
            sort_with: Some(noop_with),
        }
    }

    fn module(
        methods: *const MethodDef,
        count: u32,
        stride: usize,
        size: usize,
        minor: u16,
    ) -> ModuleDef {
        ModuleDef {
            magic: MAGIC,
            abi_major: ABI_MAJOR,
            abi_minor: minor,
            size: size as u32,
            name: c"m".as_ptr(),
            version: c"1.0.0".as_ptr(),
            doc: core::ptr::null(),
            features: core::ptr::null(),
            init: None,
            methods,
            method_count: count,
            method_size: stride as u32,
        }
    }

    fn tag(minor: u16) -> AbiTag {
        AbiTag {
            magic: MAGIC,
            abi_major: ABI_MAJOR,
            abi_minor: minor,
            module_size: 0,
        }
    }

    fn check(def: &ModuleDef, host: &HostAbi) -> Result<ModuleDefinition, Refusal> {
        // SAFETY: `def` and everything it points to are live test data.
        unsafe { validate_with(host, def, "m", &tag(def.abi_minor)) }
    }

    /// A module definition of a hypothetical ABI 1.4 that appends one field
    /// to each struct, the way a later minor grows the ABI.
    #[repr(C)]
    struct ModuleDefV14 {
        base: ModuleDef,
        appended: u64,
    }
    #[repr(C)]
    struct MethodDefV14 {
        base: MethodDef,
        appended: u64,
    }
    const HOST_V14: HostAbi = HostAbi {
        major: 1,
        minor: 4,
        module_sizes: &[
            size_of::<ModuleDef>(),
            size_of::<ModuleDef>(),
            size_of::<ModuleDef>(),
            size_of::<ModuleDef>(),
            size_of::<ModuleDefV14>(),
        ],
        method_sizes: &[
            METHOD_SIZE_1_0,
            METHOD_SIZE_1_1,
            size_of::<MethodDef>(),
            size_of::<MethodDef>(),
            size_of::<MethodDefV14>(),
        ],
    };

    /// A method table of ABI 1.0: entries `METHOD_SIZE_1_0` bytes apart,
    /// each followed by bytes that are not zero, which a host must not read
    /// as the 1.1 fields.
    #[repr(C)]
    struct MethodDefV10 {
        head: [u8; METHOD_SIZE_1_0],
    }
    fn v10_entry(name: &'static [u8]) -> MethodDefV10 {
        let entry = MethodDef {
            sort_pairs: None,
            payload_types: 0,
            sort_with: None,
            ..method(name)
        };
        let mut head = [0u8; METHOD_SIZE_1_0];
        // SAFETY: `head` has `METHOD_SIZE_1_0 <= size_of::<MethodDef>()`
        // bytes; the entry is a live local.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (&raw const entry).cast::<u8>(),
                head.as_mut_ptr(),
                METHOD_SIZE_1_0,
            )
        };
        MethodDefV10 { head }
    }

    #[test]
    fn a_plugin_of_the_current_minor_validates() {
        let methods = [method(b"one\0"), method(b"two\0")];
        let def = module(
            methods.as_ptr(),
            2,
            size_of::<MethodDef>(),
            size_of::<ModuleDef>(),
            ABI_MINOR,
        );
        let out = check(&def, &HostAbi::CURRENT).expect("valid");
        assert_eq!(
            out.methods
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>(),
            ["one", "two"]
        );
    }

    #[test]
    fn an_older_minor_plugin_still_loads_in_a_newer_host() {
        let methods = [method(b"one\0"), method(b"two\0")];
        let def = module(
            methods.as_ptr(),
            2,
            size_of::<MethodDef>(),
            size_of::<ModuleDef>(),
            2,
        );
        let out = check(&def, &HOST_V14).expect("a 1.4 host reads 1.2 plugins");
        assert_eq!(out.abi, (1, 2));
        assert_eq!(out.methods[1].name, "two");
        assert!(out.methods[1].sort_pairs.is_some());
        assert!(out.methods[1].sort_with.is_some());
    }

    /// A method table of ABI 1.1: entries `METHOD_SIZE_1_1` bytes apart,
    /// each followed by bytes that are not zero, which a host must not read
    /// as `sort_with`.
    #[repr(C)]
    struct MethodDefV11 {
        head: [u8; METHOD_SIZE_1_1],
    }
    fn v11_entry(name: &'static [u8]) -> MethodDefV11 {
        let entry = method(name);
        let mut head = [0u8; METHOD_SIZE_1_1];
        // SAFETY: `head` has `METHOD_SIZE_1_1 <= size_of::<MethodDef>()`
        // bytes; the entry is a live local.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (&raw const entry).cast::<u8>(),
                head.as_mut_ptr(),
                METHOD_SIZE_1_1,
            )
        };
        MethodDefV11 { head }
    }

    #[test]
    fn a_1_1_method_table_has_no_sort_with_whatever_follows_it() {
        // Two 1.1 entries back to back: the bytes after the first one's
        // 1.1 size are the second entry's name pointer, not `sort_with`.
        let table = [v11_entry(b"one\0"), v11_entry(b"two\0")];
        let def = module(
            table.as_ptr().cast(),
            2,
            METHOD_SIZE_1_1,
            size_of::<ModuleDef>(),
            1,
        );
        let out = check(&def, &HostAbi::CURRENT).expect("a 1.2 host reads 1.1 plugins");
        assert_eq!(out.abi, (1, 1));
        assert_eq!(out.methods[1].name, "two");
        for m in &out.methods {
            assert!(m.sort_pairs.is_some(), "{}", m.name);
            assert!(m.sort_with.is_none(), "{}", m.name);
        }
        // And a 1.2 plugin's entries are no shorter than the 1.2 size.
        let def = module(
            table.as_ptr().cast(),
            1,
            METHOD_SIZE_1_1,
            size_of::<ModuleDef>(),
            2,
        );
        let refusal = check(&def, &HostAbi::CURRENT).expect_err("short 1.2 entries");
        assert!(
            refusal.cause.contains(&format!(
                "method entries are {METHOD_SIZE_1_1} bytes apart, ABI 1.2 needs"
            )),
            "{}",
            refusal.cause
        );
    }

    #[test]
    fn a_1_2_plugin_is_refused_by_a_1_1_host() {
        let methods = [method(b"one\0")];
        let def = module(
            methods.as_ptr(),
            1,
            size_of::<MethodDef>(),
            size_of::<ModuleDef>(),
            2,
        );
        let refusal = check(&def, &HostAbi::V1_1).expect_err("newer minor");
        assert_eq!(
            refusal.cause,
            "plugin ABI 1.2 is newer than this host's 1.1"
        );
    }

    #[test]
    fn any_backend_may_have_sort_with_and_a_parallel_one_may_lack_it() {
        let table = [
            MethodDef {
                flags: flags::PARALLEL,
                sort_with: None,
                ..method(b"old-parallel\0")
            },
            MethodDef {
                sort_pairs: None,
                payload_types: 0,
                ..method(b"keys-only\0")
            },
        ];
        let def = module(
            table.as_ptr(),
            2,
            size_of::<MethodDef>(),
            size_of::<ModuleDef>(),
            ABI_MINOR,
        );
        let out = check(&def, &HostAbi::CURRENT).expect("valid");
        assert!(out.methods[0].sort_with.is_none());
        assert!(out.methods[1].sort_with.is_some());
        assert!(out.methods[1].sort_pairs.is_none());
    }

    #[test]
    fn a_1_0_method_table_has_no_pairs_entry_whatever_follows_it() {
        // Two 1.0 entries back to back: the bytes after the first one's
        // 1.0 size are the second entry's name pointer, not a pairs function.
        let table = [v10_entry(b"one\0"), v10_entry(b"two\0")];
        let def = module(
            table.as_ptr().cast(),
            2,
            METHOD_SIZE_1_0,
            size_of::<ModuleDef>(),
            0,
        );
        let out = check(&def, &HostAbi::CURRENT).expect("a 1.2 host reads 1.0 plugins");
        assert_eq!(out.abi, (1, 0));
        assert_eq!(out.methods[1].name, "two");
        for m in &out.methods {
            assert!(m.sort_pairs.is_none(), "{}", m.name);
            assert_eq!(m.payload_types, 0);
            assert!(m.sort_with.is_none(), "{}", m.name);
        }
    }

    #[test]
    fn a_1_1_plugin_is_refused_by_a_1_0_host() {
        let methods = [method(b"one\0")];
        let def = module(
            methods.as_ptr(),
            1,
            size_of::<MethodDef>(),
            size_of::<ModuleDef>(),
            1,
        );
        let refusal = check(&def, &HostAbi::V1_0).expect_err("newer minor");
        assert_eq!(
            refusal.cause,
            "plugin ABI 1.1 is newer than this host's 1.0"
        );
        // And a 1.1 entry stride is no less than the 1.1 size.
        let def = module(
            methods.as_ptr(),
            1,
            METHOD_SIZE_1_0,
            size_of::<ModuleDef>(),
            1,
        );
        let refusal = check(&def, &HostAbi::V1_1).expect_err("short 1.1 entries");
        assert!(
            refusal.cause.contains(&format!(
                "method entries are {METHOD_SIZE_1_0} bytes apart, ABI 1.1 needs"
            )),
            "{}",
            refusal.cause
        );
    }

    #[test]
    fn a_newer_minor_plugin_with_appended_fields_loads_in_a_host_that_knows_it() {
        let methods = [
            MethodDefV14 {
                base: method(b"one\0"),
                appended: 7,
            },
            MethodDefV14 {
                base: method(b"two\0"),
                appended: 7,
            },
        ];
        let def = ModuleDefV14 {
            base: module(
                methods.as_ptr().cast(),
                2,
                size_of::<MethodDefV14>(),
                size_of::<ModuleDefV14>(),
                4,
            ),
            appended: 9,
        };
        assert_eq!(def.appended, 9);
        assert_eq!(methods[0].appended, 7);
        // The table is walked by the plugin's stride, not the host's size.
        let out = check(&def.base, &HOST_V14).expect("valid 1.4 plugin");
        assert_eq!(out.methods[1].name, "two");
        assert!(out.methods[1].sort_with.is_some());
        // The current host refuses it: it cannot know what 1.4 requires.
        let refusal = check(&def.base, &HostAbi::CURRENT).expect_err("newer minor");
        assert_eq!(
            refusal.cause,
            "plugin ABI 1.4 is newer than this host's 1.3"
        );
    }

    #[test]
    fn the_from_source_flag_needs_abi_1_3_and_sort_with() {
        let flagged = MethodDef {
            flags: flags::FROM_SOURCE,
            ..method(b"a\0")
        };
        let size = size_of::<ModuleDef>();
        let stride = size_of::<MethodDef>();
        let ok = module(&flagged, 1, stride, size, 3);
        let out = check(&ok, &HostAbi::CURRENT).expect("a 1.3 module may set it");
        assert_eq!(out.methods[0].flags, flags::FROM_SOURCE);
        // A 1.2 host refuses the 1.3 module before reading its flags.
        let refusal = check(&ok, &HostAbi::V1_2).expect_err("newer minor");
        assert_eq!(
            refusal.cause,
            "plugin ABI 1.3 is newer than this host's 1.2"
        );
        // Built for 1.2, the bit had no meaning yet.
        let old = module(&flagged, 1, stride, size, 2);
        let refusal = check(&old, &HostAbi::CURRENT).expect_err("unknown in 1.2");
        assert!(
            refusal.cause.contains("unknown flag bits 0x4 (ABI 1.2)"),
            "{}",
            refusal.cause
        );
        let without = MethodDef {
            sort_with: None,
            ..flagged
        };
        let def = module(&without, 1, stride, size, 3);
        let refusal = check(&def, &HostAbi::CURRENT).expect_err("no sort_with");
        assert!(
            refusal
                .cause
                .contains("flagged from-source but sort_with is null"),
            "{}",
            refusal.cause
        );
    }

    #[test]
    fn a_definition_shorter_than_its_minor_is_refused() {
        let methods = [method(b"one\0")];
        let def = module(methods.as_ptr(), 1, size_of::<MethodDef>(), 40, 0);
        let refusal = check(&def, &HostAbi::CURRENT).expect_err("short");
        assert!(refusal.cause.contains("is 40 bytes"), "{}", refusal.cause);
    }

    #[test]
    fn bad_method_entries_are_refused_with_the_field_named() {
        let cases: Vec<(MethodDef, &str)> = vec![
            (
                MethodDef {
                    sort: None,
                    ..method(b"a\0")
                },
                "sort function is null",
            ),
            (
                MethodDef {
                    key_types: 0,
                    ..method(b"a\0")
                },
                "declares no key types",
            ),
            (
                MethodDef {
                    key_types: 0x41,
                    ..method(b"a\0")
                },
                "unknown key type bits 0x40",
            ),
            (
                MethodDef {
                    flags: 0x80,
                    ..method(b"a\0")
                },
                "unknown flag bits 0x80",
            ),
            (
                MethodDef {
                    reserved: 1,
                    ..method(b"a\0")
                },
                "reserved field",
            ),
            (
                MethodDef {
                    payload_types: 0x5,
                    ..method(b"a\0")
                },
                "payload_types declares unknown payload type bits 0x4",
            ),
            (
                MethodDef {
                    payload_types: 0,
                    ..method(b"a\0")
                },
                "payload_types is 0 but sort_pairs is set",
            ),
            (
                MethodDef {
                    sort_pairs: None,
                    ..method(b"a\0")
                },
                "payload_types is 0x3 but sort_pairs is null",
            ),
            (
                MethodDef {
                    reserved2: 2,
                    ..method(b"a\0")
                },
                "reserved2 field is 0x2, must be 0",
            ),
            (method(b"has space\0"), "is not a backend name"),
            (method(b"\0"), "is not a backend name"),
            (
                MethodDef {
                    doc: c"\xff\xfe".as_ptr(),
                    ..method(b"a\0")
                },
                "not valid UTF-8",
            ),
            (
                MethodDef {
                    doc: c"red \x1b[31m".as_ptr(),
                    ..method(b"a\0")
                },
                "control character",
            ),
        ];
        for (entry, expected) in cases {
            let table = [entry];
            let def = module(
                table.as_ptr(),
                1,
                size_of::<MethodDef>(),
                size_of::<ModuleDef>(),
                ABI_MINOR,
            );
            let refusal = check(&def, &HostAbi::CURRENT).expect_err(expected);
            assert!(
                refusal.cause.contains(expected),
                "{} !~ {expected}",
                refusal.cause
            );
        }
    }

    #[test]
    fn an_unterminated_name_is_refused_after_a_bounded_read() {
        static LONG: [u8; 4096] = [b'a'; 4096];
        let table = [MethodDef {
            name: LONG.as_ptr().cast(),
            ..method(b"a\0")
        }];
        let def = module(
            table.as_ptr(),
            1,
            size_of::<MethodDef>(),
            size_of::<ModuleDef>(),
            ABI_MINOR,
        );
        let refusal = check(&def, &HostAbi::CURRENT).expect_err("unterminated");
        assert!(
            refusal.cause.contains("longer than 63 bytes"),
            "{}",
            refusal.cause
        );
    }

    #[test]
    fn duplicate_backend_names_are_refused() {
        let table = [method(b"same\0"), method(b"same\0")];
        let def = module(
            table.as_ptr(),
            2,
            size_of::<MethodDef>(),
            size_of::<ModuleDef>(),
            ABI_MINOR,
        );
        let refusal = check(&def, &HostAbi::CURRENT).expect_err("duplicate");
        assert!(refusal.cause.contains("appears twice"), "{}", refusal.cause);
    }

    #[test]
    fn a_name_other_than_the_files_is_refused() {
        let table = [method(b"a\0")];
        let def = ModuleDef {
            name: c"other".as_ptr(),
            ..module(
                table.as_ptr(),
                1,
                size_of::<MethodDef>(),
                size_of::<ModuleDef>(),
                ABI_MINOR,
            )
        };
        let refusal = check(&def, &HostAbi::CURRENT).expect_err("name");
        assert!(
            refusal
                .cause
                .contains("calls itself `other` but the file name says `m`"),
            "{}",
            refusal.cause
        );
    }
}
