//! The layout check of Rust plugins: the only module that knows abi_stable.
//!
//! A plugin built with the SDK exports `WildLayout_<module>`, abi_stable's
//! description of the contract's types as the plugin was compiled. Comparing
//! it with the host's own description catches a plugin built against a
//! changed or patched `wildhost-abi` crate, and names the field that differs.
//! C plugins have no layout; magic, version and size checks cover them.

use abi_stable::StableAbi;
use abi_stable::abi_stability::abi_checking::check_layout_compatibility;
use abi_stable::type_layout::TypeLayout;
use wildhost_abi::ModuleDef;

/// Compares the layout exported at `symbol` with the host's.
///
/// # Safety
/// `symbol` is the address of a `WildLayout_<module>` static of a library
/// that is never unloaded, holding a `&'static TypeLayout` as the SDK writes it.
pub(crate) unsafe fn check(symbol: *const ()) -> Result<(), String> {
    let slot = symbol.cast::<&'static TypeLayout>();
    if slot.is_null() || !slot.is_aligned() {
        return Err("its `WildLayout_` symbol is null or misaligned".into());
    }
    // SAFETY: non-null and aligned (checked); the caller guarantees it holds
    // a `&'static TypeLayout` in a library that is never unloaded.
    let plugin: &'static TypeLayout = unsafe { slot.read() };
    check_layout_compatibility(<ModuleDef as StableAbi>::LAYOUT, plugin).map_err(|errors| {
        let text = errors.to_string();
        summarize(&text)
    })
}

/// abi_stable's report is long; keep the lines that name what differs.
fn summarize(report: &str) -> String {
    let lines: Vec<&str> = report
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let interesting: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            l.contains("field")
                || l.contains("expected")
                || l.contains("found")
                || l.contains("Error")
        })
        .take(6)
        .collect();
    let chosen = if interesting.is_empty() {
        lines.iter().copied().take(6).collect()
    } else {
        interesting
    };
    chosen.join("; ")
}
