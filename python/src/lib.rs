//! `wildsort._native`: the extension module under the `wildsort` Python
//! package. It holds the wildhost library with the shipped backends built
//! in (`radix`, `std` and the C `wildsort`, registered through the ABI as
//! built-in modules) and finds user plugins on the command's search path.
//!
//! The Python layer (`wildsort/__init__.py`) checks and converts what the
//! user passes and calls the functions here; those whose names start with
//! an underscore take a buffer's address and are for that layer only.
//!
//! - `registry`: the built-ins, the search path, the scanner, the
//!   listing, and picking a backend by name and key type;
//! - `list`: Python lists, through the keys they hold and each key's index;
//! - `buffer`: typed buffers (numpy arrays, `array.array`), in place;
//! - `errors`: the exception classes and the messages they carry.

mod buffer;
mod errors;
mod list;
mod registry;

use pyo3::prelude::*;
use std::ffi::OsString;
use std::path::PathBuf;

// The shipped Rust backends, linked in: their symbols are named by
// `registry::builtins`, so the crates must be linked though no Rust item of
// theirs is used.
use wildsort_radix as _;
use wildsort_std as _;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(list::sort_list, m)?)?;
    m.add_function(wrap_pyfunction!(list::argsort_list, m)?)?;
    m.add_function(wrap_pyfunction!(buffer::sort_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(buffer::sort_copy, m)?)?;
    m.add_function(wrap_pyfunction!(buffer::argsort_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(registry::listing, m)?)?;
    m.add_function(wrap_pyfunction!(set_scanner, m)?)?;
    m.add_function(wrap_pyfunction!(scan_serve, m)?)?;
    m.add("HOST_VERSION", wildhost_version())?;
    m.add(
        "ABI_VERSION",
        format!("{}.{}", wildhost_abi::ABI_MAJOR, wildhost_abi::ABI_MINOR),
    )?;
    Ok(())
}

fn wildhost_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Sets the command that runs the plugin scanner (the interpreter and the
/// scanner script); `None` loads plugin files without scanning them first.
/// Called once at import, before the registry is built.
#[pyfunction]
#[pyo3(name = "_set_scanner")]
fn set_scanner(command: Option<Vec<OsString>>) {
    registry::set_scanner(command);
}

/// The scanner child's work: loads each of `paths` and reports on standard
/// output, as `wildhost __scan` does (see `wildhost::loading::scanner`).
#[pyfunction]
#[pyo3(name = "_scan_serve")]
fn scan_serve(py: Python<'_>, nonce: String, paths: Vec<PathBuf>) -> PyResult<()> {
    py.detach(|| wildhost::loading::scanner::serve(&nonce, &paths, &mut std::io::stdout().lock()))
        .map_err(|e| {
            pyo3::exceptions::PyOSError::new_err(format!("the scanner cannot report: {e}"))
        })
}
