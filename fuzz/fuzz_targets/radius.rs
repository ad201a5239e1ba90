#![no_main]
//! Fuzz target: see c2watch::fuzzing::radius_accounting.
libfuzzer_sys::fuzz_target!(|data: &[u8]| c2watch::fuzzing::radius_accounting(data));
