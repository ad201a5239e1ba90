#![no_main]
//! Fuzz target: see c2watch::fuzzing::tls_stream.
libfuzzer_sys::fuzz_target!(|data: &[u8]| c2watch::fuzzing::tls_stream(data));
