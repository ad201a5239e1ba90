//! The per-packet path on one core, over the files `gen_bench` writes, with the issue #4 feed
//! shape loaded through the same feed loader as the command line:
//!
//!     cargo run --release --example bench_path -- [DIR] [ROUNDS] [whole | inspect]
//!
//! DIR (default `target/bench`) holds `mix.pcap`, `feed.txt`, `cidrs.txt`, `domains.txt` and
//! `ja3.txt`. Each round times three loops over the mix: the floor (the replay's reader,
//! reading every record), read + decode, and the whole per-packet path (read, decode, flow,
//! match, application layer; records are produced but not written). Printed: the median of
//! the rounds in ns per packet, thread CPU time (less disturbed by other processes than wall
//! time on a shared machine), and the ratio to the floor. See BENCHMARKS.md.
//!
//! `whole`: only the whole path, each round printed. `inspect`: what the application layer
//! costs, by protocol: each round times the whole path as it is, without any payload
//! inspection, and without each one protocol's (the payload of its packets left empty, so
//! its flows are tracked and matched by address only), in turn, so that every variant sees
//! the same phases of a shared machine. The generator puts TLS on TCP 443, HTTP on TCP 80,
//! DNS on UDP 53 and QUIC on UDP 443.

#[path = "common/bench_feeds.rs"]
mod bench_feeds;
use bench_feeds::median;
use c2watch::capture::{CaptureFile, Interfaces, Progress};
use c2watch::decode::{Decoded, decode};
use c2watch::detect::{DetectConfig, PacketInfo, Worker};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// CPU time of the calling thread, in seconds.
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns: f64 = stat
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    ns / 1e9
}

fn open(path: &Path) -> CaptureFile {
    CaptureFile::open(&path.display().to_string(), &Progress::default()).expect("open the mix")
}

fn floor(path: &Path) -> u64 {
    let mut f = open(path);
    let mut bytes = 0u64;
    while let Ok(Some(p)) = f.next_packet() {
        bytes += u64::from(p.data.first().copied().unwrap_or(0)) + p.data.len() as u64;
    }
    black_box(bytes)
}

fn read_decode(path: &Path) -> u64 {
    let mut f = open(path);
    let mut d = Decoded::default();
    let mut ok = 0u64;
    while let Ok(Some(p)) = f.next_packet() {
        ok += u64::from(decode(p.linktype, p.data, &mut d).is_ok());
    }
    black_box(ok)
}

/// Whose payload the whole path leaves uninspected (`inspect` mode).
#[derive(Clone, Copy)]
enum Skip {
    Nothing,
    All,
    /// IP protocol and port (either side).
    Port(u8, u16),
}

impl Skip {
    fn applies(self, d: &Decoded) -> bool {
        match self {
            Skip::Nothing => false,
            Skip::All => true,
            Skip::Port(proto, port) => {
                d.proto == proto && d.ports.is_some_and(|(a, b)| a == port || b == port)
            }
        }
    }
}

/// The `inspect` mode's variants, timed in this order in every round.
const VARIANTS: [(&str, Skip); 6] = [
    ("whole path", Skip::Nothing),
    ("without any inspection", Skip::All),
    ("without TLS (TCP 443)", Skip::Port(6, 443)),
    ("without HTTP (TCP 80)", Skip::Port(6, 80)),
    ("without DNS (UDP 53)", Skip::Port(17, 53)),
    ("without QUIC (UDP 443)", Skip::Port(17, 443)),
];

/// `skip`: whose payload to leave uninspected. (One instance: a second one, for the
/// `inspect` mode only, made LLVM call the worker out of line in both, +2 M instructions on
/// the 200k mix against about +0.5 M for this check.)
fn whole(path: &Path, worker: &mut Worker, skip: Skip) -> u64 {
    let mut f = open(path);
    let mut d = Decoded::default();
    let mut out = Vec::new();
    let (mut seq, mut records) = (0u64, 0u64);
    while let Ok(Some(p)) = f.next_packet() {
        if decode(p.linktype, p.data, &mut d).is_ok() {
            let payload = if skip.applies(&d) {
                &[]
            } else {
                p.data
                    .get(d.payload.0 as usize..(d.payload.0 + d.payload.1) as usize)
                    .unwrap_or(&[])
            };
            let info = PacketInfo {
                seq,
                ts: p.ts,
                iface: 0,
                orig_len: p.orig_len,
            };
            worker.process_contained(&info, &d, payload, &mut out);
        }
        seq += 1;
        if seq.is_multiple_of(256) {
            records += out.len() as u64;
            out.clear();
        }
    }
    worker.finish(seq, c2watch::time::Timestamp::default(), &mut out);
    black_box(records + out.len() as u64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).map(String::as_str).unwrap_or("target/bench"));
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let only_whole = args.get(3).is_some_and(|s| s == "whole");
    let by_protocol = args.get(3).is_some_and(|s| s == "inspect");
    let snapshot = bench_feeds::load(&dir);
    let mix = dir.join("mix.pcap");
    let packets = {
        let mut f = open(&mix);
        let mut n = 0u64;
        while let Ok(Some(_)) = f.next_packet() {
            n += 1;
        }
        n as f64
    };
    let mut times: [Vec<f64>; 3] = Default::default();
    // A fresh worker each round: every round starts with an empty flow table.
    let timed_whole = |skip: Skip| {
        let mut w = Worker::new(
            Arc::new(DetectConfig::default()),
            snapshot.clone(),
            Interfaces::default(),
        );
        let t = thread_cpu();
        whole(&mix, &mut w, skip);
        thread_cpu() - t
    };
    if by_protocol {
        let mut times: [Vec<f64>; VARIANTS.len()] = Default::default();
        for _ in 0..rounds {
            for (t, (_, skip)) in times.iter_mut().zip(VARIANTS) {
                t.push(timed_whole(skip) * 1e9 / packets);
            }
        }
        let all = median(&times[0]);
        for ((name, _), t) in VARIANTS.iter().zip(&times) {
            let lo = t.iter().copied().fold(f64::MAX, f64::min);
            let hi = t.iter().copied().fold(0.0, f64::max);
            print!("{name:<26} {:7.1} ns/packet ({lo:.1}-{hi:.1})", median(t));
            if std::ptr::eq(t, &times[0]) {
                println!();
                continue;
            }
            // Per round, so that a change of the machine's phase between rounds cancels out.
            let saved: Vec<f64> = t.iter().zip(&times[0]).map(|(v, a)| a - v).collect();
            println!(
                "  the inspection left out: {:5.1} ns/packet, {:4.1}% of the whole path",
                median(&saved),
                median(&saved) * 100.0 / all
            );
        }
        return;
    }
    for _ in 0..rounds {
        if only_whole {
            println!(
                "whole path: {:.1} ns/packet",
                timed_whole(Skip::Nothing) * 1e9 / packets
            );
            continue;
        }
        let t = thread_cpu();
        floor(&mix);
        times[0].push(thread_cpu() - t);
        let t = thread_cpu();
        read_decode(&mix);
        times[1].push(thread_cpu() - t);
        times[2].push(timed_whole(Skip::Nothing));
    }
    if only_whole {
        return;
    }
    let names = [
        "floor: read every record",
        "read + decode",
        "read + decode + flow + match + app layer",
    ];
    let floor_ns = median(&times[0]) * 1e9 / packets;
    for (name, t) in names.iter().zip(times) {
        let lo = t.iter().copied().fold(f64::MAX, f64::min) * 1e9 / packets;
        let hi = t.iter().copied().fold(0.0, f64::max) * 1e9 / packets;
        let ns = median(&t) * 1e9 / packets;
        println!(
            "{name:<44} {ns:7.1} ns/packet ({lo:.1}-{hi:.1}) {:6.2} M packets/s  {:5.2}x floor",
            1e3 / ns,
            ns / floor_ns
        );
    }
}
