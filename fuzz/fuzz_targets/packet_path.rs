#![no_main]
//! Fuzz target: see c2watch::fuzzing::packet_path.
libfuzzer_sys::fuzz_target!(|data: &[u8]| c2watch::fuzzing::packet_path(data));
