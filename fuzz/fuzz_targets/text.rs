//! libFuzzer entry for `wildhost::fuzzing::text`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wildhost::fuzzing::text(data));
