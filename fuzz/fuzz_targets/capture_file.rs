#![no_main]
//! Fuzz target: see c2watch::fuzzing::capture_file.
libfuzzer_sys::fuzz_target!(|data: &[u8]| c2watch::fuzzing::capture_file(data));
