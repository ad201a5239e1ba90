#![no_main]
//! Fuzz target: see c2watch::fuzzing::quic_frames.
libfuzzer_sys::fuzz_target!(|data: &[u8]| c2watch::fuzzing::quic_frames(data));
