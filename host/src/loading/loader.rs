//! Opening plugin files: the only module that calls `dlopen` (through
//! libloading).
//!
//! Libraries are opened with `RTLD_NOW | RTLD_LOCAL` and never closed:
//! unloading Rust libraries that used thread-locals crashes, and every
//! pointer a plugin hands out must stay valid for the life of the process.

use crate::error::{Refusal, Stage};
use std::ffi::CString;
use std::path::Path;
use wildhost_abi::ModuleDef;

/// The entry point of a plugin: `WildInit_<module>`.
pub(crate) type EntryFn = unsafe extern "C" fn() -> *const ModuleDef;

/// The symbols the host reads from an opened plugin.
pub(crate) struct Opened {
    /// `WildInit_<module>`.
    pub entry: EntryFn,
    /// The address of `WildLayout_<module>`, if the file exports it.
    pub layout: Option<*const ()>,
}

/// Opens the shared library at `path` and looks up its symbols. The library
/// is never closed.
///
/// # Safety
/// Opening a library runs its constructors, which can do anything. The
/// caller must have passed the file through preflight, and must call the
/// returned entry point only as the ABI allows (once, from one thread).
pub(crate) unsafe fn open(
    path: &Path,
    entry_symbol: &str,
    layout_symbol: &str,
) -> Result<Opened, Refusal> {
    // SAFETY: the caller accepts that the library's constructors run.
    let library = unsafe { open_library(path) }.map_err(|e| {
        Refusal::new(
            Stage::Load,
            format!("the dynamic loader refused it: {}", loader_message(&e)),
            "the plugin may need a library this machine lacks (see `ldd` on the file); \
             install it or rebuild the plugin",
        )
    })?;
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
    let layout = CString::new(layout_symbol).ok().and_then(|name| {
        // SAFETY: reading a symbol's address runs no code; the type `*const ()`
        // is only an address, dereferenced later by the layout check.
        unsafe { library.get::<*const ()>(name.as_bytes_with_nul()) }
            .ok()
            .map(|symbol| *symbol)
    });
    // Never unload: pointers into the library live as long as the process.
    std::mem::forget(library);
    Ok(Opened { entry, layout })
}

#[cfg(unix)]
unsafe fn open_library(path: &Path) -> Result<libloading::Library, libloading::Error> {
    use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
    // SAFETY: forwarded to the caller of `open`.
    unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map(Into::into)
}

#[cfg(not(unix))]
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
