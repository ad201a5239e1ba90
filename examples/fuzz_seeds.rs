//! Writes seed inputs for the fuzz targets (fuzz/run.sh) from the fixtures: every frame of
//! every fixture capture, the payloads each app-layer parser reads, and the recorded QUIC
//! Initials.
//!
//!     cargo run --example fuzz_seeds fuzz/corpus

use std::path::Path;

fn main() -> std::io::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus".into());
    let out = Path::new(&out);
    for (t, _) in c2watch::fuzzing::TARGETS {
        std::fs::create_dir_all(out.join(t))?;
    }
    let seeds = c2watch::fuzzing::seeds(Path::new("fixtures"))?;
    for (i, (target, data)) in seeds.iter().enumerate() {
        std::fs::write(out.join(target).join(format!("{i:05}")), data)?;
    }
    for f in std::fs::read_dir("fixtures/quic")? {
        let p = f?.path();
        if let Some(name) = p.file_name() {
            std::fs::copy(&p, out.join("quic").join(name))?;
        }
    }
    println!("{} seeds in {}", seeds.len(), out.display());
    Ok(())
}
