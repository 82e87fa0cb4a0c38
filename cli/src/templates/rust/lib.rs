//! The `{{name}}` wildhost plugin: one backend, `{{backend}}`, that sorts all
//! six key types in place.
//!
//! Each function gets the host's keys as an ordinary slice: the SDK checks
//! the buffer, catches panics (nothing unwinds into the host) and reports
//! errors. Integers sort ascending; floats in IEEE-754 totalOrder, the order
//! of `total_cmp` (-NaN < -inf < ... < -0.0 < +0.0 < ... < +inf < NaN).
{{allow}}
fn sort_ord<T: Ord>(keys: &mut [T]) {
    keys.sort_unstable();
}

fn sort_f32(keys: &mut [f32]) {
    keys.sort_unstable_by(f32::total_cmp);
}

fn sort_f64(keys: &mut [f64]) {
    keys.sort_unstable_by(f64::total_cmp);
}

wildhost_abi::export_plugin! {
    module: {{name}}, // must match the file name: {{file}}
    version: env!("CARGO_PKG_VERSION"),
    doc: "{{name}}: a wildhost plugin written in Rust",
    features: [],
    backends: [{
        name: "{{backend}}",
        doc: "core::slice::sort_unstable, in place",
        flags: 0, // or wildhost_abi::flags::STABLE, wildhost_abi::flags::PARALLEL
        scratch_percent: 0,
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
