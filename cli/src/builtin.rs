//! The backends `wildhost` ships, built into the binary as built-in
//! modules (see `wildhost::loading::builtin`): the Rust plugins `std` and
//! `radix` linked as rlibs, the C plugin `wildsort` as the static library
//! its crate compiles. A copy of the binary alone, anywhere, sorts with
//! them; they come before every plugin file, and a file of one of their
//! module names is listed as shadowed, never opened.

// Linked for their `WildInit_`, `WildAbi_` and `WildLayout_` symbols,
// which `builtin_module!` names; no Rust item of theirs is used.
use wildsort_c as _;
use wildsort_radix as _;
use wildsort_std as _;

use wildhost::loading::builtin::BuiltinModule;

/// The shipped modules, in the order `wildhost list` shows them.
pub fn modules() -> [BuiltinModule; 3] {
    [
        wildhost::builtin_module!(c: wildsort),
        wildhost::builtin_module!(sdk: wildsort_radix),
        wildhost::builtin_module!(sdk: wildsort_std),
    ]
}
