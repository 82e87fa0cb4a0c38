//! The exception classes of `wildsort` and the messages they carry: what
//! failed on the first line, then `cause:` and `help:` lines as the
//! command prints them. The cause and the help are also attributes of the
//! exception (`err.cause`, `err.help`).

use pyo3::prelude::*;
use pyo3::{PyTypeInfo, create_exception};

create_exception!(
    wildsort,
    Error,
    pyo3::exceptions::PyException,
    "The base of every wildsort error."
);
create_exception!(
    wildsort,
    PluginError,
    Error,
    "A backend cannot be used: not found, or unavailable here."
);
create_exception!(
    wildsort,
    BackendNotFound,
    PluginError,
    "No backend has the name asked for; the message lists those there are."
);
create_exception!(
    wildsort,
    BackendUnavailable,
    PluginError,
    "The backend's plugin said, when it was loaded, that it cannot run here, and why."
);
create_exception!(
    wildsort,
    SortError,
    Error,
    "A sort was not done: the backend does not sort the values' type, or it failed."
);
create_exception!(
    wildsort,
    UnsupportedKeyType,
    SortError,
    "The backend does not sort the values' type."
);

/// Adds the classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("PluginError", py.get_type::<PluginError>())?;
    m.add("BackendNotFound", py.get_type::<BackendNotFound>())?;
    m.add("BackendUnavailable", py.get_type::<BackendUnavailable>())?;
    m.add("SortError", py.get_type::<SortError>())?;
    m.add("UnsupportedKeyType", py.get_type::<UnsupportedKeyType>())?;
    Ok(())
}

/// The text of an error: what failed, then its cause and what to do.
pub(crate) fn message(what: &str, cause: &str, help: &str) -> String {
    format!("{what}\n  cause: {cause}\n  help: {help}")
}

/// An exception of class `E` with [`message`]'s text, and `cause` and
/// `help` as attributes.
pub(crate) fn error<E: PyTypeInfo>(py: Python<'_>, what: &str, cause: &str, help: &str) -> PyErr {
    let err = PyErr::new::<E, _>(message(what, cause, help));
    let value = err.value(py);
    // Attributes of a fresh exception object of our own class: setting
    // them cannot fail but for lack of memory, and then the message still
    // says it all.
    let _ = value.setattr("cause", cause);
    let _ = value.setattr("help", help);
    err
}
