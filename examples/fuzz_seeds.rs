//! Writes seed inputs for the fuzz targets (fuzz/run.sh) from the fixtures: every frame of
//! every fixture capture, the payloads each app-layer parser reads, and the recorded QUIC
//! Initials; and the same from the peer captures in `../shared/corpus` when it is there.
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
    // The peers' captures (Suricata's, Zeek's, nDPI's, Maltrail's), folder by folder.
    let mut dirs = vec![std::path::PathBuf::from("../shared/corpus")];
    let mut peer = 0usize;
    let mut n = 0usize;
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        dirs.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        let seeds = c2watch::fuzzing::seeds(&d)?;
        for (i, (target, data)) in seeds.iter().enumerate() {
            std::fs::write(out.join(target).join(format!("peer{peer:03}-{i:05}")), data)?;
        }
        peer += 1;
        n += seeds.len();
    }
    println!(
        "{} seeds from the fixtures and {n} from the peer corpus in {}",
        seeds.len(),
        out.display()
    );
    Ok(())
}
