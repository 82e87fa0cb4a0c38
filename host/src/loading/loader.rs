//! Opening plugin files: the only module that calls `dlopen` (through
//! libloading).
//!
//! Libraries are opened with `RTLD_NOW | RTLD_LOCAL` and never closed:
//! unloading Rust libraries that used thread-locals crashes, and every
//! pointer a plugin hands out must stay valid for the life of the process.
//!
//! A library is opened through its open descriptor (`/proc/self/fd/N` on
//! Linux, `/dev/fd/N` elsewhere), never by its path: what is loaded is the
//! file that was checked, even if its path names another file since. The
//! dynamic loader takes a file with the device and inode of one already
//! loaded for that one, so a file is still loaded once.

use super::plugin_file::PluginFile;
use crate::error::{Refusal, Stage};
use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use wildhost_abi::ModuleDef;

/// The entry point of a plugin: `WildInit_<module>`.
pub(crate) type EntryFn = unsafe extern "C" fn() -> *const ModuleDef;

/// The symbols the host reads from an opened plugin.
pub(crate) struct Opened {
    /// `WildInit_<module>`.
    pub entry: EntryFn,
    /// The pointer `WildLayout_<module>` holds, if the file exports it:
    /// an address inside the library's own image.
    pub layout: Option<*const ()>,
}

/// Opens the shared library `file` through its descriptor and looks up its
/// symbols. The library is never closed.
///
/// # Safety
/// Opening a library runs its constructors, which can do anything. The
/// caller must have passed `file` through preflight (which checked that
/// `layout_symbol`, if exported, is a pointer-sized variable), and must
/// call the returned entry point only as the ABI allows (once, from one
/// thread).
pub(crate) unsafe fn open(
    file: &PluginFile,
    entry_symbol: &str,
    layout_symbol: &str,
) -> Result<Opened, Refusal> {
    // The name the loader knows the library by is the descriptor's: a
    // descriptor of its own, kept open for as long as the library stays
    // loaded (forever), so that the name never comes to mean another file.
    let descriptor = file.file().try_clone().map_err(|e| {
        Refusal::new(
            Stage::Load,
            format!("cannot open the file a second time: {e}"),
            "close some files or raise the limit of open files (ulimit -n)",
        )
    })?;
    let name = descriptor_path(&descriptor);
    // SAFETY: the caller accepts that the library's constructors run; the
    // descriptor `name` names is open until `open_library` returns.
    let library = unsafe { open_library(&name) }.map_err(|e| {
        let message = loader_message(&e).replace(
            name.to_string_lossy().as_ref(),
            file.path().to_string_lossy().as_ref(),
        );
        Refusal::new(
            Stage::Load,
            format!("the dynamic loader refused it: {message}"),
            "the plugin may need a library this machine lacks (see `ldd` on the file); \
             install it or rebuild the plugin",
        )
    })?;
    std::mem::forget(descriptor);
    let entry_name = CString::new(entry_symbol).map_err(|_| {
        Refusal::new(
            Stage::Load,
            "the entry symbol name contains a NUL byte",
            "rename the file",
        )
    })?;
    // SAFETY: the symbol was checked by preflight to be a function, and the
    // ABI gives it the type `EntryFn`.
    let entry: EntryFn = match unsafe { library.get::<EntryFn>(entry_name.as_bytes_with_nul()) } {
        Ok(symbol) => *symbol,
        Err(e) => {
            return Err(Refusal::new(
                Stage::Load,
                format!(
                    "the loaded library has no `{entry_symbol}`: {}",
                    loader_message(&e)
                ),
                "rebuild the plugin",
            ));
        }
    };
    let slot = CString::new(layout_symbol).ok().and_then(|name| {
        // SAFETY: reading a symbol's address runs no code; the type `*const ()`
        // is only an address, read below once it is known to be the library's.
        unsafe { library.get::<*const ()>(name.as_bytes_with_nul()) }
            .ok()
            .map(|symbol| *symbol)
    });
    // Never unload: pointers into the library live as long as the process.
    std::mem::forget(library);
    let image = image_of(entry as *const ());
    let layout = match slot {
        None => None,
        Some(slot) => Some(layout_pointer(slot, image, layout_symbol)?),
    };
    Ok(Opened { entry, layout })
}

/// The pointer the layout symbol at `slot` holds, if both the symbol and
/// what it points at lie in the plugin's own image (`image`): anything else
/// is not the SDK's `&'static TypeLayout`, and following it would crash or
/// read another library.
fn layout_pointer(
    slot: *const (),
    image: Option<usize>,
    layout_symbol: &str,
) -> Result<*const (), Refusal> {
    let refuse = |cause: String| {
        Refusal::new(
            Stage::Layout,
            cause,
            "`WildLayout_<module>` is the SDK's own symbol: build the plugin with \
             wildhost_abi::export_plugin!, or export nothing under that name",
        )
    };
    let slot = slot.cast::<*const ()>();
    if image.is_none() || image_of(slot.cast()) != image {
        return Err(refuse(format!(
            "`{layout_symbol}` does not lie in the plugin's own image"
        )));
    }
    if !slot.is_aligned() {
        return Err(refuse(format!("`{layout_symbol}` is misaligned")));
    }
    // SAFETY: the slot lies in a mapped segment of the never-unloaded
    // library (its image, checked above), is aligned, and preflight checked
    // that the symbol is a variable of a pointer's size.
    let held = unsafe { slot.read() };
    if image_of(held) != image {
        return Err(refuse(format!(
            "`{layout_symbol}` holds {:#x}, which points outside the plugin's image: \
             it is not a type layout",
            held as usize
        )));
    }
    Ok(held)
}

/// The base address of the loaded library whose mapped segments hold
/// `address`, if any does.
fn image_of(address: *const ()) -> Option<usize> {
    // SAFETY: `Dl_info` is plain data, for which all zeroes is a valid value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only looks the address up in the loader's list of
    // mapped libraries, whatever the address; it never reads through it.
    let found = unsafe { libc::dladdr(address.cast(), &mut info) };
    (found != 0 && !info.dli_fbase.is_null()).then_some(info.dli_fbase as usize)
}

/// The path naming the open `descriptor` itself, for `dlopen`, which takes
/// a path.
fn descriptor_path(descriptor: &std::fs::File) -> PathBuf {
    let fd = descriptor.as_raw_fd();
    if cfg!(target_os = "linux") {
        PathBuf::from(format!("/proc/self/fd/{fd}"))
    } else {
        PathBuf::from(format!("/dev/fd/{fd}"))
    }
}

#[cfg(unix)]
/// `dlopen` of `path`, never closed by the caller's choice.
///
/// # Safety
///
/// As [`open`]: loading runs the library's constructors, conceptually a
/// call of unknown foreign code; `path` passed preflight.
unsafe fn open_library(path: &Path) -> Result<libloading::Library, libloading::Error> {
    use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
    // SAFETY: forwarded to the caller of `open`.
    unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map(Into::into)
}

#[cfg(not(unix))]
/// `dlopen` of `path`, never closed by the caller's choice.
///
/// # Safety
///
/// As [`open`]: loading runs the library's constructors, conceptually a
/// call of unknown foreign code; `path` passed preflight.
unsafe fn open_library(path: &Path) -> Result<libloading::Library, libloading::Error> {
    // SAFETY: forwarded to the caller of `open`.
    unsafe { libloading::Library::new(path) }
}

/// libloading's message without its generic prefix.
fn loader_message(error: &libloading::Error) -> String {
    let message = error.to_string();
    message
        .strip_prefix("dlopen failed: ")
        .or_else(|| message.strip_prefix("dlsym failed: "))
        .unwrap_or(&message)
        .to_string()
}
