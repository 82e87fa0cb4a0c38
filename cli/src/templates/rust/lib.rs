//! The `{{name}}` wildhost plugin: one backend, `{{backend}}`, that sorts all
//! six key types in place.
//!
//! Each function gets the host's keys as an ordinary slice: the SDK checks
//! the buffer, catches panics (nothing unwinds into the host) and reports
//! errors. Integers sort ascending; floats in IEEE-754 totalOrder, the order
//! of `total_cmp` (-NaN < -inf < ... < -0.0 < +0.0 < ... < +inf < NaN).
{{allow}}
#[cfg(not(feature = "stable"))]
fn sort_ord<T: Ord>(keys: &mut [T]) {
    keys.sort_unstable();
}

#[cfg(not(feature = "stable"))]
fn sort_f32(keys: &mut [f32]) {
    keys.sort_unstable_by(f32::total_cmp);
}

#[cfg(not(feature = "stable"))]
fn sort_f64(keys: &mut [f64]) {
    keys.sort_unstable_by(f64::total_cmp);
}

// The Cargo feature `stable` (see Cargo.toml): a stable merge sort, which
// takes a scratch buffer up to the size of the input.
#[cfg(feature = "stable")]
fn sort_ord<T: Ord>(keys: &mut [T]) {
    keys.sort();
}

#[cfg(feature = "stable")]
fn sort_f32(keys: &mut [f32]) {
    keys.sort_by(f32::total_cmp);
}

#[cfg(feature = "stable")]
fn sort_f64(keys: &mut [f64]) {
    keys.sort_by(f64::total_cmp);
}

/// The module's definition, written once for both builds: the features it
/// reports and what its backend declares differ with the Cargo features.
macro_rules! plugin {
    (features: [$($feature:literal),*], doc: $bdoc:literal, flags: $flags:expr, scratch_percent: $scratch:expr) => {
        wildhost_abi::export_plugin! {
            module: {{name}}, // must match the file name: {{file}}
            version: env!("CARGO_PKG_VERSION"),
            doc: "{{name}}: a wildhost plugin written in Rust",
            features: [$($feature),*],
            backends: [{
                name: "{{backend}}",
                doc: $bdoc,
                flags: $flags, // wildhost_abi::flags::STABLE, wildhost_abi::flags::PARALLEL
                scratch_percent: $scratch,
                sorts: {
                    u32: sort_ord::<u32>,
                    u64: sort_ord::<u64>,
                    i32: sort_ord::<i32>,
                    i64: sort_ord::<i64>,
                    f32: sort_f32,
                    f64: sort_f64,
                },
            }],
        }
    };
}

#[cfg(not(feature = "stable"))]
plugin!(
    features: [],
    doc: "core::slice::sort_unstable, in place",
    flags: 0,
    scratch_percent: 0
);

#[cfg(feature = "stable")]
plugin!(
    features: ["stable"],
    doc: "core::slice::sort, stable, with a scratch buffer",
    flags: wildhost_abi::flags::STABLE,
    scratch_percent: 100
);
