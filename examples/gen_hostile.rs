//! Writes the hostile captures the robustness tests replay (`c2watch::synth::hostile` and
//! `c2watch::synth::flood`), for measuring by hand:
//!
//!     cargo run --release --example gen_hostile -- OUT.pcap [HANDSHAKES] [PIECES]
//!     cargo run --release --example gen_hostile -- --flood SYNS OUT.pcap    # - for stdout
//!
//! docs/robustness.md measures the flood with
//! `gen_hostile --flood 5000000 - | c2watch replay --intel c2.txt -`.

use std::io::Write;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = |name: &str| -> std::io::Result<Box<dyn Write>> {
        Ok(if name == "-" {
            Box::new(std::io::stdout().lock())
        } else {
            Box::new(std::fs::File::create(name)?)
        })
    };
    if args.get(1).is_some_and(|a| a == "--flood") {
        let syns = args
            .get(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(5_000_000);
        let cfg = c2watch::synth::flood::FloodConfig {
            syns,
            target: [192, 0, 2, 80],
            victim: [10, 9, 8, 7],
            c2: [198, 51, 100, 7],
            seed: 5,
        };
        return c2watch::synth::flood::write_flood(
            out(args.get(3).map_or("-", String::as_str))?,
            &cfg,
        );
    }
    let name = args.get(1).map_or("hostile.pcap", String::as_str);
    let cfg = c2watch::synth::hostile::HostileConfig {
        handshakes: args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000),
        pieces: args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20),
    };
    let n = c2watch::synth::hostile::write_hostile(out(name)?, &cfg)?;
    eprintln!("{n} frames written to {name}");
    Ok(())
}
