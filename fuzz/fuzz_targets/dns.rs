#![no_main]
//! Fuzz target: see c2watch::fuzzing::dns_message.
libfuzzer_sys::fuzz_target!(|data: &[u8]| c2watch::fuzzing::dns_message(data));
