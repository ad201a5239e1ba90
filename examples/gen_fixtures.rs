//! Writes the test fixtures (captures and feeds) into `fixtures/`, or into the folder given.
//!
//!     cargo run --example gen_fixtures [DIR]
//!
//! The output is deterministic; `tests/fixtures.rs` checks the committed files match it.

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "fixtures".into());
    c2watch::synth::fixtures::generate(std::path::Path::new(&dir))?;
    println!("fixtures written to {dir}/");
    Ok(())
}
