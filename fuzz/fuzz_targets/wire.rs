//! libFuzzer entry for `wildhost::fuzzing::wire`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wildhost::fuzzing::wire(data));
