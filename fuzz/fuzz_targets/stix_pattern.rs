#![no_main]
//! Fuzz target: see c2watch::fuzzing::stix_pattern.
libfuzzer_sys::fuzz_target!(|data: &[u8]| c2watch::fuzzing::stix_pattern(data));
