//! Preflight: what the host can learn from a plugin file without running any
//! of its code.
//!
//! `dlopen` runs a library's constructors, so everything that can refuse a
//! file (not a shared library, truncated, another machine, no entry point,
//! another ABI) is checked here by parsing the object file. This is the only
//! module that reads object files.

use super::dynamic::{self, Dependencies};
use super::pages::{Pages, read_budget};
use super::plugin_file::PluginFile;
use crate::error::{Refusal, Stage};
use object::read::ReadCache;
use object::{
    Architecture, BinaryFormat, Endianness, Object, ObjectKind, ObjectSection, ObjectSegment,
    ObjectSymbol, ReadRef,
};
use serde::Serialize;
use std::cell::Cell;
use std::os::unix::fs::FileExt;
use std::path::Path;
use wildhost_abi::{ABI_MAJOR, ABI_MINOR, AbiTag, ENTRY_PREFIX, LAYOUT_PREFIX, MAGIC, TAG_PREFIX};

/// Plugin files larger than this are refused unread: no sort backend is
/// this big, and reading it whole would let a stray file exhaust memory.
pub const MAX_PLUGIN_BYTES: u64 = 1 << 30;

/// What preflight learned about a file that passed.
#[derive(Clone, Debug, Serialize)]
pub struct PreflightReport {
    /// Object format: `ELF`, `Mach-O`, `PE`.
    pub format: &'static str,
    /// Architecture the file was built for, as `std::env::consts::ARCH` names it.
    pub architecture: String,
    /// 32 or 64.
    pub bits: u8,
    /// Size of the file in bytes.
    pub size: u64,
    /// The module name, from the file name.
    pub module: String,
    /// The entry symbol, `WildInit_<module>`.
    pub entry_symbol: String,
    /// The ABI tag read from `WildAbi_<module>`.
    pub abi_major: u16,
    /// See `abi_major`.
    pub abi_minor: u16,
    /// `sizeof(WildModuleDef)` the plugin declares in its tag.
    pub module_size: u32,
    /// Whether the file exports `WildLayout_<module>` (Rust plugins built with the SDK).
    pub has_layout: bool,
    /// The libraries it needs and where the loader will look for them.
    pub dependencies: Dependencies,
}

impl PreflightReport {
    /// The tag as the ABI type, for cross-checking the loaded definition.
    pub fn tag(&self) -> AbiTag {
        AbiTag {
            magic: MAGIC,
            abi_major: self.abi_major,
            abi_minor: self.abi_minor,
            module_size: self.module_size,
        }
    }
}

/// The module name a plugin file must hold, from its file name:
/// `libwildsort_radix.so` → `wildsort_radix`. `None` if the file does not
/// have the platform's shared-library suffix.
pub fn module_name_of(path: &Path) -> Option<&str> {
    let file = path.file_name()?.to_str()?;
    let stem = file.strip_suffix(std::env::consts::DLL_SUFFIX)?;
    Some(
        stem.strip_prefix(std::env::consts::DLL_PREFIX)
            .unwrap_or(stem),
    )
}

/// Whether `name` is a valid module name: a C identifier of at most 63 bytes,
/// since it is pasted into the symbol `WildInit_<name>`.
pub fn is_valid_module_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= 63
}

/// Checks `path` (links resolved) without running any of its code.
pub fn preflight(path: &Path) -> Result<PreflightReport, Refusal> {
    module_of(path)?;
    preflight_opened(&PluginFile::open(path)?)
}

/// The module name of the file at `path`, if the name is a valid one.
fn module_of(path: &Path) -> Result<&str, Refusal> {
    let refuse = |cause: String, help: &str| Refusal::new(Stage::Preflight, cause, help);
    let module = module_name_of(path).ok_or_else(|| {
        refuse(
            // Named, because it may be the name at the end of a link, not
            // the one the user gave.
            format!(
                "the file name `{}` does not end in `{}`",
                path.file_name().map_or_else(
                    || path.display().to_string(),
                    |f| f.to_string_lossy().into()
                ),
                std::env::consts::DLL_SUFFIX
            ),
            "a plugin file is named lib<module><suffix>, e.g. libwildsort_radix.so",
        )
    })?;
    if !is_valid_module_name(module) {
        return Err(refuse(
            format!("`{module}` (from the file name) is not a valid module name"),
            "rename the file: the module name must be a C identifier of at most 63 bytes \
             (letters, digits, `_`), e.g. libwildsort_mine.so",
        ));
    }
    Ok(module)
}

/// Checks the open `plugin` without running any of its code: what is read
/// is the file the descriptor holds, not whatever its path names now.
pub fn preflight_opened(plugin: &PluginFile) -> Result<PreflightReport, Refusal> {
    let refuse = |cause: String, help: &str| Refusal::new(Stage::Preflight, cause, help);
    let module = module_of(plugin.path())?;
    let unreadable = |e: std::io::Error| {
        refuse(
            format!("cannot read the file: {e}"),
            "check that it exists and is readable",
        )
    };
    let file = plugin.file();
    let meta = plugin.metadata();
    let size = meta.len();
    if size > MAX_PLUGIN_BYTES {
        return Err(refuse(
            format!("the file is {size} bytes, more than any plugin should be"),
            "remove it from the plugin directory",
        ));
    }
    // Only the parts the checks need are read (headers, symbol tables, the
    // tag), not the whole file: preflight runs for every plugin in every
    // command. The file is read, never mapped: a mapped file truncated under
    // us would raise SIGBUS, a read of it fails and the file is refused.
    let exhausted = Cell::new(false);
    let reader = ReadCache::new(Pages::new(file, read_budget(size), &exhausted));
    let checked = check(&reader, size, module, || {
        // The reader keeps no error, so ask the file itself why: a directory
        // or an I/O error says so; a file that shrank since its size was
        // taken reads without error.
        match file.read_at(&mut [0u8; 1], 0) {
            Err(e) => unreadable(e),
            Ok(_) => refuse(
                "the file changed while it was being read".into(),
                "check it again once it is fully written",
            ),
        }
    });
    if checked.is_err() && exhausted.get() {
        // What failed was a read the budget refused, not the file.
        return Err(refuse(
            format!(
                "its symbol and section tables are larger than preflight reads \
                 (more than {} MiB of names for a file of {size} bytes)",
                read_budget(size) >> 20
            ),
            "a sort plugin exports a few symbols: strip the file (strip --strip-unneeded) \
             or remove it from the plugin directory",
        ));
    }
    // Where the loader will look for the plugin's libraries is checked on
    // the file system, as plugin directories are.
    let report = checked?;
    dynamic::check_places(&report.dependencies, plugin.path())
        .map_err(|cause| refuse(cause, dynamic::HELP))?;
    Ok(report)
}

/// The checks of [`preflight`] on the bytes of a file named for `module`.
pub fn check_object(data: &[u8], module: &str) -> Result<PreflightReport, Refusal> {
    // All `len` bytes are in the slice, so its first bytes always read.
    check(data, data.len() as u64, module, || {
        Refusal::new(
            Stage::Preflight,
            "cannot read the file",
            "check that it is readable",
        )
    })
}

/// How many bytes the format checks look at: what `object` itself reads to
/// tell formats apart, so a file reader serves both from one read.
const HEAD_BYTES: u64 = 16;

/// The checks of [`preflight`] on a file of `len` bytes (from its metadata)
/// read through `data`. `unreadable` is the refusal when even the first
/// bytes of a non-empty file cannot be read.
fn check<'data, R: ReadRef<'data>>(
    data: R,
    len: u64,
    module: &str,
    unreadable: impl FnOnce() -> Refusal,
) -> Result<PreflightReport, Refusal> {
    let refuse = |cause: String, help: &str| Refusal::new(Stage::Preflight, cause, help);
    let not_a_library = "a plugin must be a shared library (.so) built for this machine; \
                         remove this file from the plugin directory";
    let Ok(head) = data.read_bytes_at(0, len.min(HEAD_BYTES)) else {
        return Err(unreadable());
    };
    if head.is_empty() {
        return Err(refuse("the file is empty".into(), not_a_library));
    }
    let file = match object::File::parse(data) {
        Ok(file) => file,
        Err(e) if has_object_magic(head) => {
            return Err(refuse(
                format!("the file is truncated or corrupt: {e}"),
                "rebuild or reinstall the plugin",
            ));
        }
        Err(_) => {
            return Err(refuse(
                "not a shared library: the file is not an object file".into(),
                not_a_library,
            ));
        }
    };

    let format = format_name(file.format());
    let expected_format = host_format();
    if file.format() != expected_format {
        return Err(refuse(
            format!(
                "built as {format} for another operating system, this host loads {}",
                format_name(expected_format)
            ),
            "rebuild the plugin for this machine",
        ));
    }
    let architecture = arch_name(file.architecture());
    let bits = if file.is_64() { 64 } else { 32 };
    if file.architecture() != host_architecture() || bits != usize::BITS as u8 {
        return Err(refuse(
            format!(
                "built for {architecture} ({bits}-bit), this host is {} ({}-bit)",
                std::env::consts::ARCH,
                usize::BITS
            ),
            "rebuild the plugin for this machine, or remove it from the plugin directory",
        ));
    }
    if file.is_little_endian() != cfg!(target_endian = "little") {
        return Err(refuse(
            "built for the other byte order than this host's".into(),
            "rebuild the plugin for this machine",
        ));
    }

    match file.kind() {
        ObjectKind::Dynamic if file.section_by_name(".interp").is_none() => {}
        ObjectKind::Dynamic | ObjectKind::Executable => {
            return Err(refuse(
                "not a shared library: the file is an executable".into(),
                not_a_library,
            ));
        }
        ObjectKind::Relocatable => {
            return Err(refuse(
                "not a shared library: the file is an unlinked object file".into(),
                "link it as a shared library (cc -shared, or crate-type = [\"cdylib\"])",
            ));
        }
        other => {
            return Err(refuse(
                format!("not a shared library: the file is {other:?}"),
                not_a_library,
            ));
        }
    }

    let needed = file
        .segments()
        .map(|s| s.file_range())
        .chain(file.sections().filter_map(|s| s.file_range()))
        .map(|(offset, size)| offset.saturating_add(size))
        .max()
        .unwrap_or(0);
    if needed > len {
        return Err(refuse(
            format!(
                "the file is truncated: its contents extend to byte {needed}, the file has {len}"
            ),
            "rebuild or reinstall the plugin",
        ));
    }

    let entry_symbol = format!("{ENTRY_PREFIX}{module}");
    let tag_symbol = format!("{TAG_PREFIX}{module}");
    let layout_symbol = format!("{LAYOUT_PREFIX}{module}");
    let entry = find_export(&file, &entry_symbol);
    let tag = find_export(&file, &tag_symbol);
    let layout = find_export(&file, &layout_symbol);
    let has_layout = layout.is_some();

    let missing_help = format!(
        "a plugin for module `{module}` exports `{entry_symbol}` and `{tag_symbol}`; \
         in Rust use wildhost_abi::export_plugin!, in C WILD_EXPORT_MODULE({module}, def). \
         If the file was renamed, give it back the name of the module it holds"
    );
    let Some(entry) = entry else {
        return Err(refuse(
            format!("no entry point: the file does not export `{entry_symbol}`"),
            &missing_help,
        ));
    };
    if entry.kind() != object::SymbolKind::Text {
        return Err(refuse(
            format!("`{entry_symbol}` is not a function"),
            &missing_help,
        ));
    }
    // The host reads a pointer at this symbol and follows it: it must be
    // a pointer-sized variable, as the SDK's `&'static TypeLayout` is.
    if let Some(layout) = &layout {
        let layout_help = "`WildLayout_<module>` is the SDK's own symbol: build the plugin with \
                           wildhost_abi::export_plugin!, or export nothing under that name";
        if layout.kind() != object::SymbolKind::Data {
            let what = match layout.kind() {
                object::SymbolKind::Text => "a function".to_string(),
                object::SymbolKind::Tls => "a thread-local variable".to_string(),
                other => format!("a symbol of kind {other:?}"),
            };
            return Err(refuse(
                format!("`{layout_symbol}` is {what}, not a variable holding a pointer"),
                layout_help,
            ));
        }
        let pointer = core::mem::size_of::<usize>() as u64;
        if layout.size() != pointer {
            return Err(refuse(
                format!(
                    "`{layout_symbol}` is {} bytes, not a pointer ({pointer} bytes)",
                    layout.size()
                ),
                layout_help,
            ));
        }
    }
    let Some(tag_sym) = tag else {
        return Err(refuse(
            format!("no ABI tag: the file does not export `{tag_symbol}`"),
            &missing_help,
        ));
    };
    let tag = read_tag(data, &file, &tag_sym).ok_or_else(|| {
        refuse(
            format!("the ABI tag `{tag_symbol}` has no readable contents in the file"),
            "the tag must be a constant WildAbiTag; rebuild the plugin with the SDK or the header's macro",
        )
    })?;
    if tag.magic != MAGIC {
        return Err(refuse(
            format!(
                "the ABI tag `{tag_symbol}` has the wrong magic ({:#018x})",
                tag.magic
            ),
            "the file is not a wildhost plugin or is corrupt; rebuild it with the SDK or the header's macro",
        ));
    }
    if tag.abi_major != ABI_MAJOR {
        return Err(refuse(
            format!(
                "plugin ABI {}.{}, host speaks {ABI_MAJOR}.x",
                tag.abi_major, tag.abi_minor
            ),
            &format!(
                "rebuild the plugin against wildhost-abi {ABI_MAJOR}.x (wildsort.h ABI {ABI_MAJOR}), \
                 or use a wildhost that speaks ABI {}",
                tag.abi_major
            ),
        ));
    }
    if tag.abi_minor > ABI_MINOR {
        return Err(refuse(
            format!(
                "plugin ABI {}.{} is newer than this host's {ABI_MAJOR}.{ABI_MINOR}",
                tag.abi_major, tag.abi_minor
            ),
            "upgrade wildhost, or rebuild the plugin against this host's ABI version",
        ));
    }

    let dependencies = dynamic::read(&file, data).map_err(|cause| refuse(cause, dynamic::HELP))?;
    dynamic::check_entries(&dependencies).map_err(|cause| refuse(cause, dynamic::HELP))?;

    Ok(PreflightReport {
        format,
        architecture,
        bits,
        size: len,
        module: module.to_string(),
        entry_symbol,
        abi_major: tag.abi_major,
        abi_minor: tag.abi_minor,
        module_size: tag.module_size,
        has_layout,
        dependencies,
    })
}

fn has_object_magic(data: &[u8]) -> bool {
    const MAGICS: [&[u8]; 6] = [
        b"\x7fELF",
        b"\xcf\xfa\xed\xfe",
        b"\xce\xfa\xed\xfe",
        b"\xfe\xed\xfa\xcf",
        b"\xfe\xed\xfa\xce",
        b"MZ",
    ];
    MAGICS.iter().any(|m| data.starts_with(m))
}

/// A defined, global symbol named `name` (Mach-O prefixes C names with `_`).
/// An ELF library's exports are its dynamic symbols, all that the dynamic
/// loader looks up: its full symbol table (thousands of local names in an
/// unstripped file) is not read.
fn find_export<'data, 'file, R: ReadRef<'data>>(
    file: &'file object::File<'data, R>,
    name: &str,
) -> Option<object::Symbol<'data, 'file, R>> {
    let matches = |s: &object::Symbol<'data, 'file, R>| {
        s.is_definition()
            && s.is_global()
            && s.name()
                .is_ok_and(|n| n == name || n.strip_prefix('_') == Some(name))
    };
    let dynamic = file.dynamic_symbols().find(matches);
    if dynamic.is_some() || file.format() == BinaryFormat::Elf {
        return dynamic;
    }
    file.symbols().find(matches)
}

/// The tag `symbol` points at, if all of it lies in the file contents of its
/// section. Only the tag's bytes are read, not the whole section.
fn read_tag<'data, R: ReadRef<'data>>(
    data: R,
    file: &object::File<'data, R>,
    symbol: &object::Symbol<'data, '_, R>,
) -> Option<AbiTag> {
    const TAG_SIZE: u64 = core::mem::size_of::<AbiTag>() as u64;
    let index = symbol.section_index()?;
    let section = file.section_by_index(index).ok()?;
    let (offset, size) = section.file_range()?;
    let at = symbol.address().checked_sub(section.address())?;
    if at.checked_add(TAG_SIZE)? > size {
        return None;
    }
    let bytes = data.read_bytes_at(offset.checked_add(at)?, TAG_SIZE).ok()?;
    let endian = if file.is_little_endian() {
        Endianness::Little
    } else {
        Endianness::Big
    };
    let u64_at = |at: usize| -> Option<u64> {
        let raw: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
        Some(match endian {
            Endianness::Little => u64::from_le_bytes(raw),
            Endianness::Big => u64::from_be_bytes(raw),
        })
    };
    let u16_at = |at: usize| -> Option<u16> {
        let raw: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
        Some(match endian {
            Endianness::Little => u16::from_le_bytes(raw),
            Endianness::Big => u16::from_be_bytes(raw),
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let raw: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(match endian {
            Endianness::Little => u32::from_le_bytes(raw),
            Endianness::Big => u32::from_be_bytes(raw),
        })
    };
    Some(AbiTag {
        magic: u64_at(0)?,
        abi_major: u16_at(8)?,
        abi_minor: u16_at(10)?,
        module_size: u32_at(12)?,
    })
}

fn host_format() -> BinaryFormat {
    if cfg!(target_os = "windows") {
        BinaryFormat::Pe
    } else if cfg!(target_vendor = "apple") {
        BinaryFormat::MachO
    } else {
        BinaryFormat::Elf
    }
}

fn format_name(format: BinaryFormat) -> &'static str {
    match format {
        BinaryFormat::Elf => "ELF",
        BinaryFormat::MachO => "Mach-O",
        BinaryFormat::Pe => "PE",
        BinaryFormat::Coff => "COFF",
        BinaryFormat::Wasm => "WebAssembly",
        BinaryFormat::Xcoff => "XCOFF",
        _ => "an unknown format",
    }
}

fn host_architecture() -> Architecture {
    match std::env::consts::ARCH {
        "x86_64" => Architecture::X86_64,
        "x86" => Architecture::I386,
        "aarch64" => Architecture::Aarch64,
        "arm" => Architecture::Arm,
        "riscv64" => Architecture::Riscv64,
        "powerpc64" => Architecture::PowerPc64,
        "s390x" => Architecture::S390x,
        "loongarch64" => Architecture::LoongArch64,
        _ => Architecture::Unknown,
    }
}

/// The architecture in the words of `std::env::consts::ARCH`.
fn arch_name(arch: Architecture) -> String {
    match arch {
        Architecture::X86_64 => "x86_64".into(),
        Architecture::X86_64_X32 => "x86_64 (x32)".into(),
        Architecture::I386 => "x86".into(),
        Architecture::Aarch64 => "aarch64".into(),
        Architecture::Aarch64_Ilp32 => "aarch64 (ilp32)".into(),
        Architecture::Arm => "arm".into(),
        Architecture::Riscv64 => "riscv64".into(),
        Architecture::Riscv32 => "riscv32".into(),
        Architecture::PowerPc64 => "powerpc64".into(),
        Architecture::PowerPc => "powerpc".into(),
        Architecture::S390x => "s390x".into(),
        Architecture::LoongArch64 => "loongarch64".into(),
        Architecture::Mips => "mips".into(),
        Architecture::Mips64 => "mips64".into(),
        Architecture::Sparc64 => "sparc64".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn module_name_comes_from_the_file_name() {
        assert_eq!(
            module_name_of(Path::new("/x/libwildsort_radix.so")),
            Some("wildsort_radix")
        );
        assert_eq!(module_name_of(Path::new("wildsort.so")), Some("wildsort"));
        assert_eq!(module_name_of(Path::new("libwildsort.so.1")), None);
        assert_eq!(module_name_of(Path::new("README.md")), None);
    }

    #[test]
    fn module_names_are_c_identifiers() {
        assert!(is_valid_module_name("wildsort_radix"));
        assert!(is_valid_module_name("_x9"));
        assert!(!is_valid_module_name(""));
        assert!(!is_valid_module_name("9lives"));
        assert!(!is_valid_module_name("bad-name"));
        assert!(!is_valid_module_name(&"a".repeat(64)));
    }

    #[test]
    fn arbitrary_bytes_are_refused_not_a_panic() {
        for data in [
            &b""[..],
            b"\x7fELF",
            b"\x7fELF\x02\x01\x01",
            b"MZ\0\0",
            b"hello world\n",
        ] {
            let refusal = check_object(data, "m").expect_err("refused");
            assert_eq!(refusal.stage, Stage::Preflight);
        }
    }

    pub(crate) const MODULE: &str = "wildsort_preflight";

    /// The C `wildsort` plugin compiled as [`MODULE`] into `dir`: a real
    /// plugin file that passes preflight.
    pub(crate) fn compiled_plugin(dir: &Path) -> std::path::PathBuf {
        compiled_plugin_with(dir, &[])
    }

    /// The C plugin, compiled with the `extra` sources too.
    fn compiled_plugin_with(dir: &Path, extra: &[&Path]) -> std::path::PathBuf {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = dir.join(format!("lib{MODULE}.so"));
        let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
        let status = std::process::Command::new(cc)
            .args(["-shared", "-fPIC", "-O2", "-fvisibility=hidden", "-I"])
            .arg(root.join("abi/include"))
            .arg(format!("-DWILDSORT_MODULE={MODULE}"))
            .arg(root.join("plugins/wildsort/wildsort.c"))
            .args(extra)
            .arg("-o")
            .arg(&out)
            .status()
            .expect("run the C compiler");
        assert!(status.success(), "compiling the plugin failed");
        out
    }

    /// A plugin that exports thousands of other symbols, in its dynamic
    /// and full symbol tables, is checked like any other: the same report
    /// as from its bytes.
    #[test]
    fn a_plugin_with_many_symbols_passes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let aliases = dir.path().join("aliases.c");
        let mut source = String::from("int aliased = 1;\n");
        for i in 0..20_000 {
            source += &format!(
                "extern int alias_{i} __attribute__((alias(\"aliased\"), visibility(\"default\")));\n"
            );
        }
        std::fs::write(&aliases, source).expect("write the aliases");
        let path = compiled_plugin_with(dir.path(), &[&aliases]);
        let bytes = std::fs::read(&path).expect("read the plugin");
        let from_bytes = check_object(&bytes, MODULE).expect("its bytes pass");
        let from_file = preflight(&path).expect("the file passes");
        assert_eq!(json(&from_file), json(&from_bytes));
    }

    /// Preflight of the file `bytes` written as a plugin file in `dir`.
    fn preflight_of(dir: &Path, bytes: &[u8]) -> Result<PreflightReport, Refusal> {
        let path = dir.join(format!("lib{MODULE}.so"));
        std::fs::write(&path, bytes).expect("write the plugin file");
        preflight(&path)
    }

    fn json(report: &PreflightReport) -> String {
        serde_json::to_string(report).expect("a report serializes")
    }

    #[test]
    fn reading_the_file_in_parts_reports_what_its_whole_bytes_say() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = compiled_plugin(dir.path());
        let bytes = std::fs::read(&path).expect("read the plugin");
        let from_file = preflight(&path).expect("the plugin passes preflight");
        let from_bytes = check_object(&bytes, MODULE).expect("its bytes pass too");
        assert_eq!(json(&from_file), json(&from_bytes));
        assert_eq!(from_file.size, bytes.len() as u64);
        assert_eq!(from_file.entry_symbol, format!("WildInit_{MODULE}"));
        assert_eq!(
            (from_file.abi_major, from_file.abi_minor),
            (ABI_MAJOR, ABI_MINOR)
        );
    }

    #[test]
    fn a_file_cut_anywhere_is_refused_as_its_bytes_are() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bytes = std::fs::read(compiled_plugin(dir.path())).expect("read the plugin");
        let parsed = object::File::parse(&*bytes).expect("the plugin parses");
        let middle_of = |(offset, size): (u64, u64)| (offset + size / 2) as usize;
        use object::read::elf::FileHeader as _;
        let elf_header =
            object::elf::FileHeader64::<Endianness>::parse(&*bytes).expect("an ELF64 header");
        let endian = elf_header.endian().expect("an endianness");
        let section_headers = (
            elf_header.e_shoff(endian),
            u64::from(elf_header.e_shnum(endian)) * u64::from(elf_header.e_shentsize(endian)),
        );
        let symtab = parsed
            .section_by_name(".symtab")
            .and_then(|s| s.file_range())
            .expect("a symbol table");
        let dynsym = parsed
            .section_by_name(".dynsym")
            .and_then(|s| s.file_range())
            .expect("a dynamic symbol table");
        let mut cuts = vec![
            middle_of(section_headers),
            middle_of(symtab),
            middle_of(dynsym),
            bytes.len() - 1,
            1,
        ];
        // And every 97th byte, so that each structure is cut somewhere.
        cuts.extend((0..bytes.len()).step_by(97));
        for cut in cuts {
            let cut_bytes = &bytes[..cut];
            let from_file = preflight_of(dir.path(), cut_bytes);
            let from_bytes = check_object(cut_bytes, MODULE);
            match (&from_file, &from_bytes) {
                (Err(file), Err(bytes)) => assert_eq!(file, bytes, "cut at byte {cut}"),
                _ => panic!("cut at byte {cut}: {from_file:?} / {from_bytes:?}"),
            }
        }
        let cut_in_section_headers =
            preflight_of(dir.path(), &bytes[..middle_of(section_headers)]).expect_err("refused");
        assert_eq!(cut_in_section_headers.stage, Stage::Preflight);
        assert!(
            cut_in_section_headers.cause.contains("truncated"),
            "{cut_in_section_headers:?}"
        );
        let cut_in_symbols =
            preflight_of(dir.path(), &bytes[..middle_of(symtab)]).expect_err("refused");
        assert!(
            cut_in_symbols.cause.contains("truncated"),
            "{cut_in_symbols:?}"
        );
    }

    #[test]
    fn a_file_that_shrinks_while_it_is_read_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = compiled_plugin(dir.path());
        let bytes = std::fs::read(&path).expect("read the plugin");
        let len = bytes.len() as u64;
        for shrunk_to in [0, 10, 100, len / 2, len - 1] {
            std::fs::write(&path, &bytes).expect("restore the plugin");
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .expect("open the plugin");
            let exhausted = Cell::new(false);
            let reader = ReadCache::new(Pages::new(&file, read_budget(len), &exhausted));
            file.set_len(shrunk_to).expect("shrink the file");
            let refusal = check(&reader, len, MODULE, || {
                Refusal::new(Stage::Preflight, "unreadable", "")
            })
            .expect_err("refused");
            assert_eq!(refusal.stage, Stage::Preflight, "shrunk to {shrunk_to}");
        }
    }

    #[test]
    fn bytes_shorter_than_the_size_taken_are_unreadable() {
        let refusal = check(&b"\x7fELF"[..], 64, "m", || {
            Refusal::new(Stage::Preflight, "unreadable", "")
        })
        .expect_err("refused");
        assert_eq!(refusal.cause, "unreadable");
    }
}
