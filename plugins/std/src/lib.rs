//! The `std` backend: Rust's `sort_unstable` (pattern-defeating quicksort,
//! in place) for every key type, floats by `total_cmp`. It is the reference
//! the other backends are measured and checked against.

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
    module: wildsort_std,
    version: env!("CARGO_PKG_VERSION"),
    doc: "Rust's standard library sorts",
    features: [],
    backends: [{
        name: "std",
        doc: "core::slice::sort_unstable (pattern-defeating quicksort), in place",
        flags: 0,
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
