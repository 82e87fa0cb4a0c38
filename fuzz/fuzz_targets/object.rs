//! libFuzzer entry for `wildhost::fuzzing::object`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wildhost::fuzzing::object(data));
