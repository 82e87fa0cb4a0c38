//! libFuzzer entry for `wildhost::fuzzing::archive`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wildhost::fuzzing::archive(data));
