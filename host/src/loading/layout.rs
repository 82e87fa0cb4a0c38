//! The layout check of Rust plugins: the only module that knows abi_stable.
//!
//! A plugin built with the SDK exports `WildLayout_<module>`, abi_stable's
//! description of the contract's types as the plugin was compiled. Comparing
//! it with the host's own description catches a plugin built against a
//! changed or patched `wildhost-abi` crate. abi_stable reports a changed
//! size at the struct, so the message is completed by walking both layouts
//! to the first field that differs. C plugins have no layout; magic, version
//! and size checks cover them.

use abi_stable::StableAbi;
use abi_stable::abi_stability::abi_checking::{AbiInstabilityErrors, check_layout_compatibility};
use abi_stable::type_layout::{TLData, TypeLayout};
use wildhost_abi::ModuleDef;

/// Compares the layout `pointer` points at (what `WildLayout_<module>`
/// holds) with the host's; on a mismatch, says what differs.
///
/// # Safety
/// `pointer` was read from the `WildLayout_<module>` static of a library
/// that is never unloaded, lies in that library's image, and is the
/// `&'static TypeLayout` the SDK writes there.
pub(crate) unsafe fn check(pointer: *const ()) -> Result<(), String> {
    let pointer = pointer.cast::<TypeLayout>();
    if pointer.is_null() || !pointer.is_aligned() {
        return Err("its `WildLayout_` symbol holds a null or misaligned pointer".into());
    }
    // SAFETY: non-null and aligned (checked); the caller guarantees it is
    // a `&'static TypeLayout` in a library that is never unloaded.
    let plugin: &'static TypeLayout = unsafe { &*pointer };
    let host = <ModuleDef as StableAbi>::LAYOUT;
    check_layout_compatibility(host, plugin).map_err(|errors| {
        first_difference("ModuleDef", host, plugin, 0).unwrap_or_else(|| first_error(&errors))
    })
}

/// The first field, in declaration order and following pointers, whose name
/// or type differs between the host's layout and the plugin's.
fn first_difference(
    path: &str,
    host: &'static TypeLayout,
    plugin: &'static TypeLayout,
    depth: usize,
) -> Option<String> {
    // The contract nests two levels (module → method table); stop well after.
    if depth > 4 {
        return None;
    }
    match (host.data(), plugin.data()) {
        (TLData::Struct { fields: ours }, TLData::Struct { fields: theirs }) => {
            let ours: Vec<_> = ours.iter().collect();
            let theirs: Vec<_> = theirs.iter().collect();
            for i in 0..ours.len().max(theirs.len()) {
                match (ours.get(i), theirs.get(i)) {
                    (Some(a), Some(b)) => {
                        let field = format!("{path}.{}", a.name());
                        if a.name() != b.name() {
                            return Some(format!(
                                "field #{i} of {path} is `{}` in this host, `{}` in the plugin",
                                a.name(),
                                b.name()
                            ));
                        }
                        let (ta, tb) = (
                            a.layout().full_type().to_string(),
                            b.layout().full_type().to_string(),
                        );
                        if ta != tb || a.layout().size() != b.layout().size() {
                            return Some(format!(
                                "field `{field}` is {ta} ({} bytes) in this host, {tb} ({} bytes) in the plugin",
                                a.layout().size(),
                                b.layout().size()
                            ));
                        }
                        if let Some(found) =
                            first_difference(&field, a.layout(), b.layout(), depth + 1)
                        {
                            return Some(found);
                        }
                    }
                    (Some(a), None) => {
                        return Some(format!(
                            "field `{path}.{}` is missing in the plugin",
                            a.name()
                        ));
                    }
                    (None, Some(b)) => {
                        return Some(format!(
                            "the plugin has an extra field `{path}.{}`",
                            b.name()
                        ));
                    }
                    (None, None) => {}
                }
            }
            None
        }
        // A pointer: compare what it points to, which abi_stable keeps as the
        // pointer type's single shared type layout.
        _ if host.full_type().to_string().starts_with('*') => {
            let (ours, theirs) = (
                host.shared_vars().type_layouts(),
                plugin.shared_vars().type_layouts(),
            );
            match (ours, theirs) {
                ([a], [b]) => first_difference(&format!("{path}[]"), a(), b(), depth + 1),
                _ => None,
            }
        }
        _ => None,
    }
}

/// abi_stable's own words for its first error, when no field differs (a
/// changed package name or version, say).
fn first_error(errors: &AbiInstabilityErrors) -> String {
    let text = errors.to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut found = None;
    while let Some(line) = lines.next() {
        if let Some(what) = line.strip_prefix("Error:") {
            let mut message = what.trim().to_string();
            if lines.next() == Some("Expected:") {
                if let Some(expected) = lines.next() {
                    message.push_str(&format!(": expected {expected}"));
                }
                if let (Some("Found:"), Some(got)) = (lines.next(), lines.next()) {
                    message.push_str(&format!(", found {got}"));
                }
            }
            found = Some(message);
            break;
        }
    }
    found.unwrap_or_else(|| "abi_stable reports an incompatible layout".to_string())
}
