//! Writes the benchmark input: a traffic mix and its feeds.
//!
//!     cargo run --release --example gen_bench -- OUT_DIR [PACKETS] [IPV4] [DOMAINS] [SEED] [CIDRS] [JA3S] [C2_PERCENT] [OPEN_FLOWS]
//!
//! Defaults: 1,000,000 packets, 1,000,000 IPv4 indicators, 100,000 domains, seed 1, 100,000
//! CIDRs, 10,000 JA3s, 1% of flows to listed addresses (and half a percent of TLS, HTTP and DNS
//! flows to listed names per percent of them: 0 makes a mix that raises no alert, to measure
//! what the output thread costs), 2,000 flows open at any time (more spread each flow's packets
//! further apart: the cost of concurrent flows). Files: `mix.pcap`, `feed.txt` (IPv4),
//! `domains.txt`, `cidrs.txt`, `ja3.txt` (load it as `ja3:ja3.txt`), and `victims.csv` (every
//! victim the mix contains: client address and the listed address or name it used). Replaying with `--intel feed.txt` alone
//! leaves application-layer inspection off. See BENCHMARKS.md.

use c2watch::synth::bench::{MixConfig, cidrs, domains, indicators, ja3s, write_feed, write_mix};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

fn lines(path: &Path, header: &str, items: &[String]) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(File::create(path)?);
    writeln!(f, "# {header}")?;
    for n in items {
        writeln!(f, "{n}")?;
    }
    f.flush()
}

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
        c2_percent: num(8, 1),
        c2_name_permille: 5 * num(8, 1),
        seed: num(5, 1),
        open_flows: num(9, 2_000),
    };
    std::fs::create_dir_all(&dir)?;
    let list = indicators(&cfg);
    write_feed(File::create(dir.join("feed.txt"))?, &list)?;
    let names = domains(&cfg);
    lines(
        &dir.join("domains.txt"),
        &format!("c2watch benchmark feed: {} domain indicators", names.len()),
        &names,
    )?;
    let blocks = cidrs(num(6, 100_000), cfg.seed);
    lines(
        &dir.join("cidrs.txt"),
        &format!("c2watch benchmark feed: {} CIDR indicators", blocks.len()),
        &blocks,
    )?;
    let fps = ja3s(num(7, 10_000), cfg.seed);
    lines(
        &dir.join("ja3.txt"),
        &format!(
            "c2watch benchmark feed: {} JA3 indicators (load as ja3:PATH)",
            fps.len()
        ),
        &fps,
    )?;
    let sum = write_mix(File::create(dir.join("mix.pcap"))?, &cfg, &list, &names)?;
    let victims: Vec<String> = sum
        .victims
        .iter()
        .map(|(ip, what)| format!("{ip},{what}"))
        .collect();
    lines(&dir.join("victims.csv"), "client,contacted", &victims)?;
    let size = std::fs::metadata(dir.join("mix.pcap"))?.len();
    println!(
        "{}: {} packets ({:.0} bytes each on average), {} flows, {} to listed addresses, {} using listed names; feeds: {} IPv4, {} domains, {} CIDRs, {} JA3",
        dir.join("mix.pcap").display(),
        sum.packets,
        size as f64 / sum.packets as f64,
        sum.flows,
        sum.c2_flows,
        sum.c2_name_flows,
        list.len(),
        names.len(),
        blocks.len(),
        fps.len()
    );
    Ok(())
}
