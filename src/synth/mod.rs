//! Building packets and capture files: the fixture generator (`examples/gen_fixtures.rs`), the
//! benchmark generator and tests use this to write traffic with known content.

pub mod bench;
pub mod fixtures;
pub mod flood;
pub mod frame;
pub mod hostile;
pub mod writer;
