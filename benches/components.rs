//! Component benchmarks (issue #4): indicator lookups and set build, decode, the per-packet
//! path, and the floor — a bare read loop over the same capture with the same reader.
//!
//!     cargo bench --bench components                 # full size: 1M and 10M indicators
//!     C2WATCH_BENCH_SCALE=small cargo bench --bench components   # what CI runs
//!
//! Prints one line per measure; BENCHMARKS.md records the figures.

use c2watch::capture::{CaptureFile, Interfaces, Progress};
use c2watch::decode::{Decoded, decode};
use c2watch::detect::{DetectConfig, PacketInfo, Worker};
use c2watch::intel::set::{HashKind, IndicatorSetBuilder, Key};
use c2watch::intel::{IndicatorSet, Meta};
use c2watch::synth::bench::{MixConfig, Rng, domains, indicators, public_v4, write_mix};
use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn report(what: &str, n: u64, secs: f64) {
    println!(
        "{what:<58} {:>10.1} ns/op {:>12.0} ops/s",
        secs * 1e9 / n as f64,
        n as f64 / secs
    );
}

fn build_set(n: u64, names: u64, cidrs: u64) -> (IndicatorSet, f64, u64) {
    let cfg = MixConfig {
        packets: 0,
        indicators: n,
        domains: names,
        c2_percent: 1,
        c2_name_permille: 5,
        seed: 1,
        open_flows: 2000,
    };
    let ips = indicators(&cfg);
    let doms = domains(&cfg);
    let before = rss_kb();
    let t = Instant::now();
    let mut b = IndicatorSetBuilder::new();
    let meta = Arc::new(Meta {
        feed: "bench".into(),
        ..Meta::default()
    });
    for ip in &ips {
        b.add(Key::ip(IpAddr::V4(*ip)), &ip.to_string(), meta.clone());
    }
    for d in &doms {
        b.add(Key::Domain(d.clone()), d, meta.clone());
    }
    let mut rng = Rng::new(5);
    for _ in 0..cidrs {
        let a = std::net::Ipv4Addr::from(u32::from(public_v4(&mut rng)) & 0xffff_ff00);
        b.add(
            Key::Net(c2watch::intel::net::Cidr {
                addr: IpAddr::V4(a),
                len: 24,
            }),
            &format!("{a}/24"),
            meta.clone(),
        );
    }
    for i in 0..10_000u64 {
        let h = format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        b.add(Key::Hash(HashKind::Ja3, h.clone()), &h, meta.clone());
    }
    let set = b.build(1);
    let secs = t.elapsed().as_secs_f64();
    drop(ips);
    (set, secs, rss_kb().saturating_sub(before))
}

fn lookups(set: &IndicatorSet, n: u64) {
    let cfg = MixConfig {
        packets: 0,
        indicators: n,
        domains: 0,
        c2_percent: 1,
        c2_name_permille: 0,
        seed: 1,
        open_flows: 2000,
    };
    let listed: Vec<IpAddr> = indicators(&cfg)
        .into_iter()
        .take(100_000)
        .map(IpAddr::V4)
        .collect();
    let mut rng = Rng::new(9);
    let random: Vec<IpAddr> = (0..100_000)
        .map(|_| IpAddr::V4(public_v4(&mut rng)))
        .collect();
    let v6: Vec<IpAddr> = (0..100_000u128)
        .map(|i| IpAddr::V6(((0x2001_0db8u128 << 96) | (i * 7919)).into()))
        .collect();
    let rounds = 20;
    for (what, addrs) in [
        ("IPv4 lookup, listed (exact hit)", &listed),
        ("IPv4 lookup, random (CIDR probes, mostly miss)", &random),
        ("IPv6 lookup (miss)", &v6),
    ] {
        let t = Instant::now();
        let mut hits = 0u64;
        for _ in 0..rounds {
            for a in addrs.iter() {
                hits += u64::from(set.match_id(black_box(*a), Some(443)).is_some());
            }
        }
        black_box(hits);
        report(
            &format!("{what} [{} indicators]", set.len()),
            rounds * addrs.len() as u64,
            t.elapsed().as_secs_f64(),
        );
    }
    let names: Vec<String> = (0..100_000)
        .map(|i| format!("www.host{i}.benign.example"))
        .collect();
    let t = Instant::now();
    for _ in 0..rounds {
        for n in &names {
            black_box(set.match_domain(black_box(n)));
        }
    }
    report(
        &format!(
            "domain suffix lookup, 4 labels, miss [{} indicators]",
            set.len()
        ),
        rounds * names.len() as u64,
        t.elapsed().as_secs_f64(),
    );
    let hashes: Vec<String> = (0..100_000u64)
        .map(|i| format!("{:032x}", i.wrapping_mul(31)))
        .collect();
    let t = Instant::now();
    for _ in 0..rounds {
        for h in &hashes {
            black_box(set.match_hash(HashKind::Ja3, black_box(h)));
        }
    }
    report(
        "JA3 lookup (miss, 10k listed)",
        rounds * hashes.len() as u64,
        t.elapsed().as_secs_f64(),
    );
}

fn packets(path: &std::path::Path, set: IndicatorSet) {
    // Floor: the reader alone.
    let t = Instant::now();
    let mut f =
        CaptureFile::open(&path.display().to_string(), &Progress::default()).expect("open mix");
    let (mut n, mut bytes) = (0u64, 0u64);
    while let Ok(Some(p)) = f.next_packet() {
        n += 1;
        bytes += p.data.len() as u64;
    }
    black_box(bytes);
    let floor = t.elapsed().as_secs_f64();
    report("floor: read every record (same reader)", n, floor);
    // Reader + decode.
    let t = Instant::now();
    let mut f =
        CaptureFile::open(&path.display().to_string(), &Progress::default()).expect("open mix");
    let mut d = Decoded::default();
    while let Ok(Some(p)) = f.next_packet() {
        black_box(decode(p.linktype, p.data, &mut d).is_ok());
    }
    let dec = t.elapsed().as_secs_f64();
    report("read + decode", n, dec);
    // Reader + decode + flow + match (+ app layer: the set holds domains and JA3s).
    let snapshot = Arc::new(arc_swap::ArcSwap::from_pointee(set));
    let mut w = Worker::new(
        Arc::new(DetectConfig::default()),
        snapshot,
        Interfaces::default(),
    );
    let mut out = Vec::new();
    let t = Instant::now();
    let mut f =
        CaptureFile::open(&path.display().to_string(), &Progress::default()).expect("open mix");
    let mut seq = 0;
    while let Ok(Some(p)) = f.next_packet() {
        if decode(p.linktype, p.data, &mut d).is_ok() {
            let payload = p
                .data
                .get(d.payload.0 as usize..(d.payload.0 + d.payload.1) as usize)
                .unwrap_or(&[]);
            w.process(
                &PacketInfo {
                    seq,
                    ts: p.ts,
                    iface: 0,
                    orig_len: p.orig_len,
                },
                &d,
                payload,
                &mut out,
            );
        }
        seq += 1;
        if seq % 256 == 0 {
            out.clear();
        }
    }
    let all = t.elapsed().as_secs_f64();
    report(
        "read + decode + flow + match + app layer (1 worker, no output)",
        n,
        all,
    );
    println!(
        "ratio to the floor: decode {:.2}x, whole path {:.2}x",
        dec / floor,
        all / floor
    );
}

fn main() {
    let small = std::env::var("C2WATCH_BENCH_SCALE").is_ok_and(|s| s == "small");
    // (IPv4, domains, /24 CIDRs): issue #4's shapes, and issue #5's 10M mix.
    let sizes: &[(u64, u64, u64)] = if small {
        &[(10_000, 1_000, 1_000)]
    } else {
        &[
            (1_000_000, 100_000, 100_000),
            (10_000_000, 1_000_000, 1_000_000),
            (6_000_000, 3_000_000, 1_000_000),
        ]
    };
    for &(n, names, cidrs) in sizes {
        let (set, secs, kb) = build_set(n, names, cidrs);
        println!(
            "build: {} indicators ({n} IPv4, {names} domains, {cidrs} CIDR, 10k JA3) in {secs:.2} s, +{} MB RSS ({:.1} bytes per indicator; tables {:.1} MB)",
            set.len(),
            kb / 1024,
            kb as f64 * 1024.0 / set.len() as f64,
            set.bytes() as f64 / 1e6
        );
        lookups(&set, n);
    }
    let packets_n = if small { 20_000 } else { 1_000_000 };
    let dir = std::env::temp_dir().join(format!("c2watch-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mix = dir.join("mix.pcap");
    let cfg = MixConfig {
        packets: packets_n,
        indicators: if small { 10_000 } else { 1_000_000 },
        domains: if small { 1_000 } else { 100_000 },
        c2_percent: 1,
        c2_name_permille: 5,
        seed: 1,
        open_flows: 2000,
    };
    let ips = indicators(&cfg);
    let names = domains(&cfg);
    write_mix(
        std::fs::File::create(&mix).expect("mix"),
        &cfg,
        &ips,
        &names,
    )
    .expect("write mix");
    let (set, _, _) = build_set(cfg.indicators, cfg.domains, cfg.indicators / 10);
    packets(&mix, set);
    let _ = std::fs::remove_dir_all(&dir);
}
