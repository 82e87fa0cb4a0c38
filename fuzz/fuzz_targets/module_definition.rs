//! libFuzzer entry for `wildhost::fuzzing::module_definition`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wildhost::fuzzing::module_definition(data));
