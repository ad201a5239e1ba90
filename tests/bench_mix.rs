//! The benchmark generator at a reduced size (CI proves it works; timings live in
//! BENCHMARKS.md): every victim the mix contains is found, and with any worker count the
//! alerts are the same.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::process::Command;

/// Runs an example of this crate: whether it succeeded, its standard output and error.
fn example(name: &str, args: &[&str]) -> (bool, String, String) {
    let run = Command::new(env!("CARGO"))
        .args(["run", "-q", "--example", name, "--"])
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (run.status.success(), text(&run.stdout), text(&run.stderr))
}

#[test]
fn generated_mix_finds_every_victim_with_any_worker_count() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let (made, _, err) = example(
        "gen_bench",
        &[&d, "30000", "20000", "2000", "7", "500", "50"],
    );
    assert!(made, "{err}");
    let p = |f: &str| dir.path().join(f).display().to_string();
    let ja3 = format!("ja3:{}", p("ja3.txt"));
    let run = |w: &str| {
        c2watch(&[
            "replay",
            "--no-progress",
            "--workers",
            w,
            "--intel",
            &p("feed.txt"),
            "--intel",
            &p("domains.txt"),
            "--intel",
            &p("cidrs.txt"),
            "--intel",
            &ja3,
            &p("mix.pcap"),
        ])
    };
    let one = run("1");
    assert_eq!(one.code, 0, "{}", one.stderr);
    let found: BTreeSet<(String, String)> = one
        .alerts()
        .iter()
        .flat_map(|a| {
            let v = s(&a["victim"]["ip"]);
            [(v.clone(), s(&a["c2"]["ip"])), (v, s(&a["c2"]["domain"]))]
        })
        .collect();
    let expected: Vec<(String, String)> = std::fs::read_to_string(p("victims.csv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            l.split_once(',')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect();
    assert!(expected.len() > 40, "{} victims", expected.len());
    let missing: Vec<&(String, String)> = expected.iter().filter(|e| !found.contains(*e)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} victims not found, e.g. {:?}",
        missing.len(),
        expected.len(),
        &missing[..missing.len().min(5)]
    );
    // Names were matched on the wire: TLS, HTTP and DNS.
    let kinds: BTreeSet<String> = one
        .alerts()
        .iter()
        .map(|a| s(&a["threat"]["indicator"]["matched_on"]))
        .collect();
    for k in ["dest_ip", "tls.sni", "http.host", "dns.query"] {
        assert!(kinds.contains(k), "no {k} alert: {kinds:?}");
    }
    let lines = |r: &Run| {
        let mut v: Vec<String> = r.alerts().iter().map(|a| a.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(lines(&one), lines(&run("2")));
    // The per-packet benchmark, the in-process replay benchmark and the replay benchmark
    // script run over the same files (one round each: proof that they work, not a timing).
    let benches: [(&str, &[&str], &[&str]); 5] = [
        (
            "bench_path",
            &[],
            &[
                "floor: read every record",
                "read + decode + flow + match + app layer",
            ],
        ),
        (
            "bench_path",
            &["inspect"],
            &["without any inspection", "without TLS", "without QUIC"],
        ),
        (
            "bench_replay",
            &[],
            &["workers 1: median", "workers 2: median"],
        ),
        (
            "bench_replay",
            &["prefetch"],
            &["workers 2, no flow prefetch: median", "workers 2: median"],
        ),
        (
            "bench_replay",
            &["share", "0.2", "0.4"],
            &["reader share 0.2: median", "reader share 0.4: median"],
        ),
    ];
    for (name, extra, rows) in benches {
        let (ok, out, err) = example(name, &[&[d.as_str(), "1"], extra].concat());
        assert!(ok, "{name} {extra:?}: {err}");
        for row in rows {
            assert!(out.contains(row), "no {row:?} in {name} {extra:?}: {out}");
        }
    }
    // The machine's memory latency by working-set size, one round.
    let (ok, out, err) = example("mem_latency", &["1"]);
    assert!(ok && out.contains("262144 KiB"), "{out}{err}");
    // A mix without listed destinations, for measuring the output thread's share.
    let quiet = tempfile::tempdir().unwrap();
    let q = quiet.path().display().to_string();
    let (ok, out, err) = example(
        "gen_bench",
        &[&q, "5000", "1000", "100", "7", "50", "10", "0"],
    );
    assert!(
        ok && out.contains("0 to listed addresses, 0 using listed names"),
        "{out}{err}"
    );
    let script = Command::new(root().join("scripts/bench-replay"))
        .args([&d, "1"])
        .env("C2WATCH", env!("CARGO_BIN_EXE_c2watch"))
        .current_dir(root())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&script.stdout);
    assert!(
        script.status.success(),
        "{}",
        String::from_utf8_lossy(&script.stderr)
    );
    assert!(
        out.contains("workers 1: median") && out.contains("workers 2: median"),
        "{out}"
    );
}

/// The generator's `open_flows`: how many flows are open at any time. Counted in the written
/// capture (a flow is open from its first packet to its last): never more than asked for, and
/// in the second half of the mix on average nearly that many.
#[test]
fn generated_mix_keeps_the_asked_number_of_flows_open() {
    use c2watch::capture::{CaptureFile, Progress};
    use c2watch::decode::{Decoded, decode};
    use c2watch::detect::flow::FlowKey;
    use c2watch::synth::bench::{MixConfig, write_mix};
    use std::collections::HashMap;

    let dir = tempfile::tempdir().unwrap();
    for open in [40u64, 400] {
        let cfg = MixConfig {
            packets: 20_000,
            indicators: 0,
            domains: 0,
            c2_percent: 0,
            c2_name_permille: 0,
            seed: 3,
            open_flows: open,
        };
        let path = dir.path().join(format!("mix{open}.pcap"));
        write_mix(std::fs::File::create(&path).unwrap(), &cfg, &[], &[]).unwrap();
        let mut file =
            CaptureFile::open(&path.display().to_string(), &Progress::default()).unwrap();
        let mut d = Decoded::default();
        // Each flow's first and last packet.
        let mut span: HashMap<FlowKey, (usize, usize)> = HashMap::new();
        let mut n = 0usize;
        while let Some(p) = file.next_packet().unwrap() {
            decode(p.linktype, p.data, &mut d).unwrap();
            span.entry(FlowKey::of(&d).0).or_insert((n, n)).1 = n;
            n += 1;
        }
        assert_eq!(n, 20_000);
        // Open flows after each packet: +1 at a flow's first packet, -1 after its last.
        let mut delta = vec![0i64; n + 1];
        for (first, last) in span.values() {
            delta[*first] += 1;
            delta[*last + 1] -= 1;
        }
        let (mut open_now, mut at_most, mut sum_late) = (0i64, 0i64, 0i64);
        for (i, d) in delta.iter().take(n).enumerate() {
            open_now += d;
            at_most = at_most.max(open_now);
            if i >= n / 2 {
                sum_late += open_now;
            }
        }
        // A flow the generator has opened shows only with its first packet, picked at random
        // among the open ones: on average the file shows a little fewer than are open.
        let late = sum_late as f64 / (n - n / 2) as f64;
        assert!(at_most <= open as i64, "{open}: up to {at_most} open");
        assert!(
            late > 0.8 * open as f64,
            "{open}: {late:.1} open on average"
        );
    }
}
