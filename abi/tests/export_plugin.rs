//! `export_plugin!` as a plugin uses it, called through the entry point it
//! exports the way a host calls it: the ABI 1.2 `sort_with` entry is there
//! exactly when a backend names `parallel` functions, and dispatches keys,
//! pairs and the thread count to the right ones.

use core::ffi::c_char;
use wildhost_abi::sdk::PayloadSlice;
use wildhost_abi::{KeyType, METHOD_SIZE_1_1, MethodDef, ModuleDef, PayloadType, SortOptions};
use wildhost_abi::{flags, status};

fn sort_u64(keys: &mut [u64]) {
    keys.sort_unstable();
}

fn pairs_u64(keys: &mut [u64], payload: PayloadSlice<'_>) {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| keys[i]);
    let sorted: Vec<u64> = order.iter().map(|&i| keys[i]).collect();
    keys.copy_from_slice(&sorted);
    match payload {
        PayloadSlice::U32(p) => {
            let v: Vec<u32> = order.iter().map(|&i| p[i]).collect();
            p.copy_from_slice(&v);
        }
        PayloadSlice::U64(p) => {
            let v: Vec<u64> = order.iter().map(|&i| p[i]).collect();
            p.copy_from_slice(&v);
        }
    }
}

/// Sorts, then writes the thread count over the smallest key, so that a
/// test sees which function ran and with what.
fn par_u64(keys: &mut [u64], threads: usize) {
    keys.sort_unstable();
    keys[0] = 1000 + threads as u64;
}

/// Sorts `source` into `out`, then writes the thread count over the
/// smallest key, as `par_u64` does.
fn from_u64(source: &[u64], out: &mut [u64], threads: usize) {
    out.copy_from_slice(source);
    out.sort_unstable();
    out[0] = 3000 + threads as u64;
}

fn par_pairs_u64(keys: &mut [u64], payload: PayloadSlice<'_>, threads: usize) {
    pairs_u64(keys, payload);
    keys[0] = 2000 + threads as u64;
}

wildhost_abi::export_plugin! {
    module: sdk_export_test,
    version: "0.0.1",
    doc: "export_plugin! under test",
    features: [],
    backends: [{
        name: "serial",
        doc: "no parallel clause",
        flags: 0,
        scratch_percent: 0,
        sorts: { u64: sort_u64 },
        pairs: { u64: pairs_u64 },
    }, {
        name: "keys-only",
        doc: "parallel keys, serial pairs",
        flags: wildhost_abi::flags::PARALLEL,
        scratch_percent: 0,
        sorts: { u64: sort_u64 },
        pairs: { u64: pairs_u64 },
        parallel: { u64: par_u64 },
    }, {
        name: "both",
        doc: "parallel keys and pairs",
        flags: wildhost_abi::flags::PARALLEL,
        scratch_percent: 0,
        sorts: { u64: sort_u64 },
        pairs: { u64: pairs_u64 },
        parallel: { u64: par_u64 },
        parallel_pairs: { u64: par_pairs_u64 },
    }, {
        name: "no-pairs",
        doc: "parallel keys, no pairs",
        flags: wildhost_abi::flags::PARALLEL,
        scratch_percent: 0,
        sorts: { u64: sort_u64 },
        parallel: { u64: par_u64 },
    }, {
        name: "from-source",
        doc: "parallel keys, also from a source",
        flags: wildhost_abi::flags::PARALLEL,
        scratch_percent: 0,
        sorts: { u64: sort_u64 },
        pairs: { u64: pairs_u64 },
        parallel: { u64: par_u64 },
        from_source: { u64: from_u64 },
    }, {
        name: "claims-source",
        doc: "flagged from-source without the functions: the flag is cleared",
        flags: wildhost_abi::flags::PARALLEL | wildhost_abi::flags::FROM_SOURCE,
        scratch_percent: 0,
        sorts: { u64: sort_u64 },
        parallel: { u64: par_u64 },
    }],
}

unsafe extern "C" {
    safe fn WildInit_sdk_export_test() -> *const ModuleDef;
}

fn methods() -> &'static [MethodDef] {
    let def = WildInit_sdk_export_test();
    // SAFETY: the entry point returns the macro's static definition, whose
    // table holds `method_count` entries of this crate's `MethodDef`.
    unsafe {
        assert_eq!((*def).method_size as usize, size_of::<MethodDef>());
        core::slice::from_raw_parts((*def).methods, (*def).method_count as usize)
    }
}

fn method(name: &str) -> &'static MethodDef {
    methods()
        .iter()
        .find(|m| {
            // SAFETY: the macro's names are NUL-terminated literals.
            unsafe { core::ffi::CStr::from_ptr(m.name) }.to_bytes() == name.as_bytes()
        })
        .expect("a backend of that name")
}

/// Calls `sort_with`; returns the status and the message.
fn sort_with(
    m: &MethodDef,
    keys: &mut [u64],
    payload: Option<&mut [u32]>,
    options: *const SortOptions,
) -> (i32, String) {
    let sort_with = m.sort_with.expect("a sort_with entry");
    let mut err = [0u8; 256];
    let (payload, payload_type) = match payload {
        Some(p) => (p.as_mut_ptr().cast(), PayloadType::U32.bit()),
        None => (core::ptr::null_mut(), 0),
    };
    // SAFETY: live buffers of `keys.len()` keys (and payload values, the
    // tests pass equal lengths); `options` is null or live; `err` has 256
    // bytes.
    let code = unsafe {
        sort_with(
            keys.as_mut_ptr().cast(),
            payload,
            keys.len(),
            KeyType::U64.bit(),
            payload_type,
            options,
            err.as_mut_ptr().cast::<c_char>(),
            err.len(),
        )
    };
    let end = err.iter().position(|&b| b == 0).unwrap_or(err.len());
    (code, String::from_utf8_lossy(&err[..end]).into_owned())
}

#[test]
fn a_backend_without_a_parallel_clause_has_no_sort_with() {
    assert!(method("serial").sort_with.is_none());
    assert!(method("serial").sort_pairs.is_some());
    assert!(size_of::<MethodDef>() > METHOD_SIZE_1_1);
}

#[test]
fn sort_with_sorts_keys_through_the_parallel_functions_with_the_count() {
    let m = method("keys-only");
    assert_eq!(m.flags, flags::PARALLEL);
    let mut keys = [5u64, 3, 9, 1];
    let options = SortOptions::with_threads(3);
    assert_eq!(sort_with(m, &mut keys, None, &options), (0, String::new()));
    assert_eq!(keys, [1003, 3, 5, 9]);
    let mut keys = [5u64, 3];
    let zero = SortOptions::with_threads(0);
    assert_eq!(sort_with(m, &mut keys, None, &zero).0, status::OK);
    assert_eq!(keys, [1001, 5], "0 threads is read as 1");
}

#[test]
fn sort_with_sorts_pairs_through_parallel_pairs_or_else_the_pairs_functions() {
    let options = SortOptions::with_threads(4);
    let mut keys = [5u64, 3, 9, 3];
    let mut payload = [0u32, 1, 2, 3];
    let (code, _) = sort_with(method("both"), &mut keys, Some(&mut payload), &options);
    assert_eq!(code, status::OK);
    assert_eq!((keys, payload), ([2004, 3, 5, 9], [1, 3, 0, 2]));

    let mut keys = [5u64, 3, 9, 3];
    let mut payload = [0u32, 1, 2, 3];
    let (code, _) = sort_with(method("keys-only"), &mut keys, Some(&mut payload), &options);
    assert_eq!(code, status::OK);
    assert_eq!((keys, payload), ([3, 3, 5, 9], [1, 3, 0, 2]));
}

#[test]
fn sort_with_refuses_what_the_contract_rules_out() {
    let options = SortOptions::with_threads(2);
    let mut keys = [2u64, 1];
    let mut payload = [0u32, 1];
    let (code, message) = sort_with(method("no-pairs"), &mut keys, Some(&mut payload), &options);
    assert_eq!(code, status::UNSUPPORTED_KEY_TYPE);
    assert_eq!(message, "payload type u32 is not supported by this backend");
    for name in ["keys-only", "both"] {
        let (code, message) = sort_with(method(name), &mut keys, None, core::ptr::null());
        assert_eq!(code, status::INVALID_ARGUMENT, "{name}");
        assert_eq!(message, "options are null or misaligned");
        let (code, _) = sort_with(
            method(name),
            &mut keys,
            Some(&mut payload),
            core::ptr::null(),
        );
        assert_eq!(code, status::INVALID_ARGUMENT, "{name}");
    }
    assert_eq!((keys, payload), ([2, 1], [0, 1]));

    // A key type the backend does not declare.
    let sort_with = method("both").sort_with.expect("sort_with");
    let mut err = [0u8; 128];
    // SAFETY: no keys; live options; `err` has 128 bytes.
    let code = unsafe {
        sort_with(
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            0,
            KeyType::F32.bit(),
            0,
            &options,
            err.as_mut_ptr().cast(),
            err.len(),
        )
    };
    assert_eq!(code, status::UNSUPPORTED_KEY_TYPE);
}

#[test]
fn the_from_source_flag_is_set_exactly_with_from_source_functions() {
    assert_eq!(
        method("from-source").flags,
        flags::PARALLEL | flags::FROM_SOURCE
    );
    assert_eq!(method("claims-source").flags, flags::PARALLEL);
    assert_eq!(method("both").flags, flags::PARALLEL);
}

#[test]
fn sort_with_sorts_from_a_source_into_the_buffer() {
    let source = [5u64, 3, 9, 1];
    let mut out = [77u64; 4];
    let options = SortOptions::from_source(2, source.as_ptr().cast());
    let (code, message) = sort_with(method("from-source"), &mut out, None, &options);
    assert_eq!((code, message.as_str()), (status::OK, ""));
    assert_eq!(out, [3002, 3, 5, 9]);
    assert_eq!(source, [5, 3, 9, 1], "the source is only read");

    // Without a source, or with options as a 1.2 host fills them (their
    // `size` ends before `source`), it is the in-place sort.
    let mut keys = [5u64, 3];
    let in_place = SortOptions::with_threads(2);
    assert_eq!(
        sort_with(method("from-source"), &mut keys, None, &in_place).0,
        0
    );
    assert_eq!(keys, [1002, 5]);
    let mut short = SortOptions::from_source(2, source.as_ptr().cast());
    short.size = SortOptions::SIZE_1_2 as u32;
    let mut keys = [5u64, 3];
    assert_eq!(
        sort_with(method("from-source"), &mut keys, None, &short).0,
        0
    );
    assert_eq!(keys, [1002, 5]);
}

#[test]
fn a_source_is_refused_where_the_contract_rules_it_out() {
    let source = [5u64, 3, 9, 1];
    let options = SortOptions::from_source(2, source.as_ptr().cast());
    for name in ["keys-only", "claims-source"] {
        let mut out = [7u64; 4];
        let (code, message) = sort_with(method(name), &mut out, None, &options);
        assert_eq!(code, status::INVALID_ARGUMENT, "{name}");
        assert_eq!(
            message,
            "options carry a source, but this backend does not sort from one"
        );
        assert_eq!(out, [7; 4], "{name}");
    }
    // A source that overlaps the buffer: here, the buffer itself.
    let mut keys = [5u64, 3, 9, 1];
    let overlapping = SortOptions::from_source(2, keys.as_ptr().cast());
    let (code, message) = sort_with(method("from-source"), &mut keys, None, &overlapping);
    assert_eq!(code, status::INVALID_ARGUMENT);
    assert_eq!(message, "source and buffer overlap");
    assert_eq!(keys, [5, 3, 9, 1]);
    // Half overlapping.
    let mut both = [4u64, 3, 2, 1, 0, 9];
    let half = SortOptions::from_source(2, both[2..].as_ptr().cast());
    let (code, _) = sort_with(method("from-source"), &mut both[..4], None, &half);
    assert_eq!(code, status::INVALID_ARGUMENT);
    // A misaligned source.
    let bytes = [0u8; 40];
    let odd = SortOptions::from_source(2, bytes[1..].as_ptr().cast());
    let mut out = [0u64; 4];
    let (code, message) = sort_with(method("from-source"), &mut out, None, &odd);
    assert_eq!(code, status::INVALID_ARGUMENT);
    assert_eq!(message, "source or buffer is null or misaligned");
}
