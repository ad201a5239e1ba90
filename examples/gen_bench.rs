//! Writes the benchmark input: a traffic mix, a feed of random IPv4 indicators and a feed of
//! domain indicators.
//!
//!     cargo run --release --example gen_bench -- OUT_DIR [PACKETS] [INDICATORS] [DOMAINS] [SEED]
//!
//! Defaults: 1,000,000 packets, 1,000,000 IPv4 indicators, 100,000 domains, seed 1. Replaying
//! with `--intel feed.txt` alone leaves application-layer inspection off; adding
//! `--intel domains.txt` turns it on. See BENCHMARKS.md.

use c2watch::synth::bench::{MixConfig, domains, indicators, write_feed, write_mix};
use std::fs::File;
use std::io::Write;
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
        domains: num(4, 100_000),
        c2_percent: 1,
        c2_name_permille: 5,
        seed: num(5, 1),
    };
    std::fs::create_dir_all(&dir)?;
    let list = indicators(&cfg);
    write_feed(File::create(dir.join("feed.txt"))?, &list)?;
    let names = domains(&cfg);
    let mut f = std::io::BufWriter::new(File::create(dir.join("domains.txt"))?);
    writeln!(
        f,
        "# c2watch benchmark feed: {} domain indicators",
        names.len()
    )?;
    for n in &names {
        writeln!(f, "{n}")?;
    }
    f.flush()?;
    let sum = write_mix(File::create(dir.join("mix.pcap"))?, &cfg, &list, &names)?;
    let size = std::fs::metadata(dir.join("mix.pcap"))?.len();
    println!(
        "{}: {} packets ({:.0} bytes each on average), {} flows, {} to listed addresses, {} using listed names; feed.txt: {} IPv4, domains.txt: {} domains",
        dir.join("mix.pcap").display(),
        sum.packets,
        size as f64 / sum.packets as f64,
        sum.flows,
        sum.c2_flows,
        sum.c2_name_flows,
        list.len(),
        names.len()
    );
    Ok(())
}
