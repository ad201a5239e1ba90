//! Whole replays of the generated mix in one process, with the feeds loaded once: the rate
//! with 1 and 2 workers, measured in interleaved rounds so both see the same machine.
//!
//!     cargo run --release --example bench_replay -- [DIR] [ROUNDS] [WORKERS...]
//!     cargo run --release --example bench_replay -- [DIR] [ROUNDS] prefetch
//!     cargo run --release --example bench_replay -- [DIR] [ROUNDS] share SHARE...
//!
//! DIR (default `target/bench`) holds the files `gen_bench` writes. Each round runs the real
//! replay (`c2watch::replay::run`: reader, workers, output thread writing EVE to /dev/null)
//! once per worker count (default `1 2`). Printed per worker count: the median and range of
//! the rate (packets/s over the replay's own elapsed time, read to last record written), and
//! the process CPU time per packet, so waiting shows as CPU below workers × wall time, and
//! the speed-up over the first worker count: the ratio of the medians, and the median of the
//! ratios within each round (runs back to back saw the same machine). `prefetch` runs two
//! workers twice per round instead, without and with the worker threads' flow prefetch
//! (`Tuning::flow_prefetch`), and `share` runs two workers once per reader share given
//! (`Tuning::reader_share`); in these two the order rotates from round to round. See BENCHMARKS.md.

#[path = "common/bench_feeds.rs"]
mod bench_feeds;
use bench_feeds::median;
use c2watch::alert::sink::{SinkSpec, Sinks};
use c2watch::detect::DetectConfig;
use c2watch::replay::{ReplayConfig, Tuning, run};
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

/// The argument as a number, or the program ends saying that it is not `what`.
fn number<T: std::str::FromStr>(arg: &str, what: &str) -> T {
    arg.parse().unwrap_or_else(|_| {
        eprintln!("bench_replay: {arg:?} is not {what}");
        std::process::exit(2)
    })
}

fn numbers<T: std::str::FromStr>(args: &[String], what: &str) -> Vec<T> {
    args.iter().map(|a| number(a, what)).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).map(String::as_str).unwrap_or("target/bench"));
    let rounds: usize = args.get(2).map_or(9, |r| number(r, "a number of rounds"));
    // What each round runs: (workers, tuning, label).
    let tuned = Tuning::default();
    let mode = args.get(3).map(String::as_str);
    let mut runs: Vec<(usize, Tuning, String)> = match mode {
        Some("prefetch") => {
            let off = Tuning {
                flow_prefetch: false,
                ..tuned
            };
            vec![
                (2, off, "workers 2, no flow prefetch".into()),
                (2, tuned, "workers 2".into()),
            ]
        }
        Some("share") => numbers(&args[4..], "a reader share (a fraction, such as 0.4)")
            .into_iter()
            .map(|share: f64| {
                let t = Tuning {
                    reader_share: share,
                    ..tuned
                };
                (2, t, format!("workers 2, reader share {share}"))
            })
            .collect(),
        _ => numbers(args.get(3..).unwrap_or_default(), "a worker count")
            .into_iter()
            .map(|w: usize| (w, tuned, format!("workers {w}")))
            .collect(),
    };
    let rotate = matches!(mode, Some("prefetch" | "share"));
    if mode == Some("share") && runs.is_empty() {
        eprintln!("bench_replay: `share` needs at least one reader share, such as `share 0.2 0.4`");
        std::process::exit(2);
    }
    if runs.is_empty() {
        runs = [1, 2].map(|w| (w, tuned, format!("workers {w}"))).into();
    }
    let snapshot = bench_feeds::load(&dir);
    let mix = dir.join("mix.pcap").display().to_string();

    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    for round in 0..rounds {
        // The comparisons rotate which runs first: a round's later runs can find the
        // machine in another state than its first.
        let mut order: Vec<usize> = (0..runs.len()).collect();
        if rotate {
            order.rotate_left(round % runs.len());
        }
        for i in order {
            let (workers, tuning, label) = &runs[i];
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
                workers: *workers,
                detect: DetectConfig::default(),
                dedup_capacity: 1 << 20,
                progress: false,
                events: None,
                subscribers: None,
                format: Default::default(),
                victims: None,
                tuning: *tuning,
            };
            let before = process_cpu();
            let summary = run(cfg, snapshot.clone(), out).expect("replay");
            let spent = process_cpu() - before;
            let packets = summary.read.packets as f64;
            let rate = packets / summary.elapsed.as_secs_f64();
            println!(
                "round {round} {label}: {:.2} M packets/s, {:.0} ns CPU per packet",
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
    for (i, (_, _, label)) in runs.iter().enumerate() {
        let lo = rates[i].iter().copied().fold(f64::INFINITY, f64::min);
        let hi = rates[i].iter().copied().fold(0.0, f64::max);
        println!(
            "{label}: median {:.2} M packets/s (range {:.2}-{:.2}), CPU {:.0} ns/packet, {:.2}x {} (median of per-round ratios {:.2}x)",
            median(&rates[i]) / 1e6,
            lo / 1e6,
            hi / 1e6,
            median(&cpu[i]),
            median(&rates[i]) / base,
            runs[0].2,
            median(&per_round(i)),
        );
    }
}
