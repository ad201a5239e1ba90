//! Writes the benchmark input: a traffic mix and a feed of random IPv4 indicators.
//!
//!     cargo run --release --example gen_bench -- OUT_DIR [PACKETS] [INDICATORS] [SEED]
//!
//! Defaults: 1,000,000 packets, 1,000,000 indicators, seed 1. See BENCHMARKS.md.

use c2watch::synth::bench::{MixConfig, indicators, write_feed, write_mix};
use std::fs::File;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).map(String::as_str).unwrap_or("target/bench"));
    let num = |i: usize, d: u64| {
        args.get(i)
            .and_then(|s| s.replace('_', "").parse().ok())
            .unwrap_or(d)
    };
    let cfg = MixConfig {
        packets: num(2, 1_000_000),
        indicators: num(3, 1_000_000),
        c2_percent: 1,
        seed: num(4, 1),
    };
    std::fs::create_dir_all(&dir)?;
    let list = indicators(&cfg);
    write_feed(File::create(dir.join("feed.txt"))?, &list)?;
    let (packets, flows, c2) = write_mix(File::create(dir.join("mix.pcap"))?, &cfg, &list)?;
    let size = std::fs::metadata(dir.join("mix.pcap"))?.len();
    println!(
        "{}: {packets} packets ({:.0} bytes each on average), {flows} flows, {c2} to listed C2s; feed.txt: {} indicators",
        dir.join("mix.pcap").display(),
        size as f64 / packets as f64,
        list.len()
    );
    Ok(())
}
