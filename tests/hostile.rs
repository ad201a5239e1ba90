//! Hostile traffic (issue #8), replayed with default settings:
//! - a random-source SYN flood of 5 million flows: memory stays bounded (peak RSS under
//!   1 GiB, measured by the kernel), the flow table's evictions are counted, and the C2
//!   contact hidden in the middle of the flood still alerts. The capture is generated on the
//!   fly and piped to `replay -` (350 MB that never touch the disk);
//! - a capture of parser-hostile packets (`c2watch::synth::hostile`): every one counted, no
//!   error, and the real contacts after them alerted;
//! - a panic injected into one packet's processing: contained, counted with the packet's
//!   index, and the run goes on.
//!
//! The peak RSS asserted is the largest of every c2watch process this test binary ran.

mod common;
use c2watch::synth::flood::{FloodConfig, write_flood};
use c2watch::synth::hostile::{HostileConfig, write_hostile};
use common::*;
use serde_json::Value;
use std::process::{Command, Stdio};

const SYNS: u64 = 5_000_000;
const LIMIT_MIB: i64 = 1024;

#[test]
fn a_five_million_flow_syn_flood_stays_under_a_gibibyte_and_its_c2_contact_alerts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("c2.txt");
    std::fs::write(&feed, "198.51.100.7\n").expect("feed");
    let feed_arg = feed.display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_c2watch"))
        .args(["replay", "--no-progress", "--intel", &feed_arg, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start c2watch");
    let stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let cfg = FloodConfig {
            syns: SYNS,
            target: [192, 0, 2, 80],
            victim: [10, 9, 8, 7],
            c2: [198, 51, 100, 7],
            seed: 5,
        };
        write_flood(stdin, &cfg)
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer").expect("flood written");
    let peak_mib = children_peak_rss_mib();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked at"), "{stderr}");
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let alerts: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .collect();
    assert_eq!(
        alerts.len(),
        1,
        "the C2 contact, and nothing from the flood"
    );
    assert_eq!(alerts[0]["victim"]["ip"], "10.9.8.7");
    assert_eq!(alerts[0]["dest_ip"], "198.51.100.7");
    let stats = &events.last().expect("stats")["stats"];
    assert_eq!(stats["packets"], SYNS + 2, "{stats}");
    let flows = &stats["flows"];
    let created = flows["created"].as_u64().unwrap_or(0);
    let evicted = flows["evicted"].as_u64().unwrap_or(0);
    assert!(created >= SYNS, "{stats}");
    // The default flow table holds 1,048,576 flows: the rest of the flood was evicted, and
    // counted.
    assert!(evicted >= SYNS - (1 << 20), "{stats}");
    eprintln!("flood: {created} flows, {evicted} evicted, peak RSS {peak_mib} MiB");
    assert!(
        peak_mib < LIMIT_MIB,
        "peak RSS {peak_mib} MiB, limit {LIMIT_MIB} MiB"
    );
}

#[test]
fn parser_hostile_packets_are_counted_and_real_contacts_after_them_still_alert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = dir.path().join("hostile.pcap");
    let cfg = HostileConfig {
        handshakes: 2000,
        pieces: 30,
    };
    let frames = write_hostile(std::fs::File::create(&pcap).expect("pcap"), &cfg).expect("write");
    let feed = dir.path().join("c2.txt");
    std::fs::write(&feed, "203.0.113.10\nevil.example\n").expect("feed");
    let (pcap_arg, feed_arg) = (pcap.display().to_string(), feed.display().to_string());
    let mut first: Option<Vec<Value>> = None;
    for workers in ["1", "2"] {
        let r = c2watch(&[
            "replay",
            "--no-progress",
            "--workers",
            workers,
            "--intel",
            &feed_arg,
            &pcap_arg,
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let st = r.stats();
        // Every frame is accounted for: reached flow tracking, or counted by kind.
        assert_eq!(st["packets"], frames);
        assert_eq!(
            st["ip_packets"].as_u64().unwrap_or(0) + st["decode_errors"].as_u64().unwrap_or(0),
            frames,
            "{st}"
        );
        assert!(
            st["decode"]["link_truncated"].as_u64() >= Some(2),
            "an empty frame, a bare header: {st}"
        );
        assert!(
            st["decode"]["ipv4_truncated"].as_u64() >= Some(1),
            "total length 0: {st}"
        );
        assert_eq!(st["dns"]["malformed"], 4, "the compression loops: {st}");
        assert_eq!(st["internal_errors"]["packets"], 0);
        let alerts = r.alerts();
        let found = |matched: &str, src_port: u64| {
            alerts.iter().any(|a| {
                a["threat"]["indicator"]["matched_on"] == matched
                    && a["src_port"] == src_port
                    && a["victim"]["ip"] == "10.66.99.1"
            })
        };
        assert!(
            found("dns.query", 41_000),
            "the DNS question after the hostile part"
        );
        assert!(found("dest_ip", 41_001), "the SYN after the hostile part");
        // A conflicting retransmission does not rewrite what was received: the first copy of
        // the bytes (a harmless name) is the hello, as in the receiving host's own stack.
        assert!(
            !alerts.iter().any(|a| a["tls"]["sni"] == "evil.example"),
            "{alerts:?}"
        );
        let now: Vec<Value> = alerts.into_iter().cloned().collect();
        if let Some(before) = &first {
            assert_eq!(before, &now, "the same alerts with 2 workers");
        }
        first = Some(now);
    }
}

#[test]
fn a_panic_in_one_packet_is_contained_counted_and_the_run_goes_on() {
    let clean = replay(&["demo.pcap", "dedup.pcap"], &[]);
    assert_eq!(clean.code, 0);
    let feeds = fixture("feeds");
    let (demo, dedup) = (fixture("demo.pcap"), fixture("dedup.pcap"));
    for workers in ["1", "2"] {
        // Packet 5 of demo.pcap is ordinary traffic: losing it changes no alert.
        let r = c2watch_env(
            &[
                "replay",
                "--no-progress",
                "--workers",
                workers,
                "--intel",
                &feeds,
                &demo,
                &dedup,
            ],
            &[("C2WATCH_FAULT_PACKET", "5")],
        );
        assert_eq!(r.code, 1, "a contained bug is reported in the exit status");
        assert!(
            r.stderr.contains("packet 5: internal error"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("1 packet(s) hit an internal error"),
            "{}",
            r.stderr
        );
        let st = r.stats();
        assert_eq!(st["internal_errors"]["packets"], 1);
        assert_eq!(st["internal_errors"]["first"], serde_json::json!([5]));
        assert_eq!(
            st["packets"],
            clean.stats()["packets"],
            "every other packet processed"
        );
        assert_eq!(r.alerts(), clean.alerts(), "workers {workers}");
    }
}
