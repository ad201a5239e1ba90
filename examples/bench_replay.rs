//! Whole replays of the generated mix in one process, with the feeds loaded once: the rate
//! with 1 and 2 workers, measured in interleaved rounds so both see the same machine.
//!
//!     cargo run --release --example bench_replay -- [DIR] [ROUNDS] [WORKERS...]
//!
//! DIR (default `target/bench`) holds the files `gen_bench` writes. Each round runs the real
//! replay (`c2watch::replay::run`: reader, workers, output thread writing EVE to /dev/null)
//! once per worker count (default `1 2`). Printed per worker count: the median and range of
//! the rate (packets/s over the replay's own elapsed time, read to last record written), and
//! the process CPU time per packet, so waiting shows as CPU below workers × wall time, and
//! the speed-up over the first worker count: the ratio of the medians, and the median of the
//! ratios within each round (runs back to back saw the same machine). See BENCHMARKS.md.

#[path = "common/bench_feeds.rs"]
mod bench_feeds;
use bench_feeds::median;
use c2watch::alert::sink::{SinkSpec, Sinks};
use c2watch::detect::DetectConfig;
use c2watch::replay::{ReplayConfig, run};
use std::path::PathBuf;

/// CPU time of the whole process (all threads, also those that ended), in seconds.
fn process_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).map(String::as_str).unwrap_or("target/bench"));
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(9);
    let mut counts: Vec<usize> = args.iter().skip(3).filter_map(|s| s.parse().ok()).collect();
    if counts.is_empty() {
        counts = vec![1, 2];
    }
    let snapshot = bench_feeds::load(&dir);
    let mix = dir.join("mix.pcap").display().to_string();

    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    for round in 0..rounds {
        for (i, &workers) in counts.iter().enumerate() {
            let out = Sinks::open(
                &[SinkSpec::File {
                    path: "/dev/null".into(),
                    append: true,
                    rotation: None,
                }],
                None,
            )
            .expect("open /dev/null");
            let cfg = ReplayConfig {
                inputs: vec![mix.clone()],
                workers,
                detect: DetectConfig::default(),
                dedup_capacity: 1 << 20,
                progress: false,
                events: None,
                subscribers: None,
                format: Default::default(),
                victims: None,
            };
            let before = process_cpu();
            let summary = run(cfg, snapshot.clone(), out).expect("replay");
            let spent = process_cpu() - before;
            let packets = summary.read.packets as f64;
            let rate = packets / summary.elapsed.as_secs_f64();
            println!(
                "round {round} workers {workers}: {:.2} M packets/s, {:.0} ns CPU per packet",
                rate / 1e6,
                spent * 1e9 / packets
            );
            rates[i].push(rate);
            cpu[i].push(spent * 1e9 / packets);
        }
    }
    // Each round runs every worker count back to back: the ratio within a round compares runs
    // that saw the same machine, steadier than the ratio of medians on a shared host.
    let per_round =
        |i: usize| -> Vec<f64> { rates[i].iter().zip(&rates[0]).map(|(r, b)| r / b).collect() };
    let base = median(&rates[0]);
    for (i, &workers) in counts.iter().enumerate() {
        let lo = rates[i].iter().copied().fold(f64::INFINITY, f64::min);
        let hi = rates[i].iter().copied().fold(0.0, f64::max);
        println!(
            "workers {workers}: median {:.2} M packets/s (range {:.2}-{:.2}), CPU {:.0} ns/packet, {:.2}x workers {} (median of per-round ratios {:.2}x)",
            median(&rates[i]) / 1e6,
            lo / 1e6,
            hi / 1e6,
            median(&cpu[i]),
            median(&rates[i]) / base,
            counts[0],
            median(&per_round(i)),
        );
    }
}
