//! Capture inputs: pcap in both byte orders and resolutions, pcapng with several interfaces
//! and block types, gzip and zstd, stdin, and damaged files.

mod common;
use common::*;

fn ethernet_triples() -> Vec<(String, String, String)> {
    vec![
        t("10.0.0.5", "203.0.113.10", "dest_ip"),
        t("10.0.0.6", "203.0.113.20", "dest_ip"),
        t("10.0.0.7", "198.51.100.0/24", "dest_ip"),
    ]
}

#[test]
fn the_same_packets_in_every_container() {
    for f in [
        "ethernet.pcap",
        "ethernet-be-nanos.pcap",
        "ethernet.pcap.gz",
        "ethernet.pcap.zst",
        "ethernet.pcapng",
    ] {
        let r = replay(&[f], &[]);
        assert_eq!(r.code, 0, "{f}: {}", r.stderr);
        assert_eq!(r.triples(), ethernet_triples(), "{f}");
        assert_eq!(r.stats()["packets"], 20, "{f}");
        // Sub-second time survives in every container.
        let udp = r
            .alerts()
            .into_iter()
            .find(|a| a["proto"] == "UDP")
            .unwrap();
        assert_eq!(udp["timestamp"], "2023-11-14T22:13:22.000000+0000", "{f}");
    }
    let r = replay(&["ethernet.pcapng"], &[]);
    assert!(
        r.alerts().iter().all(|a| a["in_iface"] == "eth1"),
        "pcapng if_name is the interface"
    );
}

#[test]
fn stdin_with_dash() {
    let feeds = fixture("feeds");
    for f in ["ethernet.pcap", "ethernet.pcap.zst", "ethernet.pcapng"] {
        let bytes = std::fs::read(fixture(f)).unwrap();
        let r = c2watch_stdin(&["replay", "--intel", &feeds, "-"], bytes);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.triples(), ethernet_triples(), "{f}");
        assert!(
            r.alerts()
                .iter()
                .all(|a| a["in_iface"] == "stdin" || a["in_iface"] == "eth1")
        );
    }
}

#[test]
fn pcapng_interfaces_with_different_link_types() {
    let r = replay(&["multi.pcapng"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut got: Vec<(String, String)> = r
        .alerts()
        .iter()
        .map(|a| (s(&a["victim"]["ip"]), s(&a["in_iface"])))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("10.0.16.1".into(), "eth1".into()),
            ("10.0.16.2".into(), "tun0".into()),
            ("10.0.16.3".into(), "multi.pcapng:2".into()),
            ("10.0.16.4".into(), "eth1".into()),
            ("10.0.16.5".into(), "tun0".into()),
        ]
    );
    let a = r.alert_for("10.0.16.2");
    assert_eq!(
        a["timestamp"], "2023-11-14T22:13:21.000000+0000",
        "nanosecond interface"
    );
    let spb = r.alert_for("10.0.16.4");
    assert_eq!(
        spb["timestamp"], "1970-01-01T00:00:00.000000+0000",
        "simple packet blocks carry no time"
    );
}

#[test]
fn truncated_file_keeps_alerts_and_says_where() {
    let r = replay(&["truncated.pcap", "vlan.pcap"], &[]);
    assert_eq!(
        r.code, 0,
        "a damaged file is a warning, not a failure: {}",
        r.stderr
    );
    assert_eq!(
        r.alerts()
            .iter()
            .filter(|a| a["victim"]["ip"] == "10.0.15.1")
            .count(),
        1
    );
    assert_eq!(
        r.alerts()
            .iter()
            .filter(|a| a["victim"]["ip"] == "10.0.15.9")
            .count(),
        0
    );
    assert_eq!(r.alerts().len(), 5, "the next file is still read");
    let st = r.stats();
    assert_eq!(st["files"]["cut_short"], 1);
    let e = &st["files"]["errors"][0];
    assert_eq!(e["kind"], "truncated");
    assert_eq!(e["offset"], 24 + 16 + 54);
    assert!(e["file"].as_str().unwrap().ends_with("truncated.pcap"));
    assert!(
        r.stderr
            .contains("truncated.pcap: offset 94: record data cut short"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("1 cut short"), "{}", r.stderr);
}

#[test]
fn corrupt_block_ends_the_file() {
    let r = replay(&["corrupt.pcapng"], &[]);
    assert_eq!(r.code, 0);
    assert_eq!(r.triples(), vec![t("10.0.15.2", "203.0.113.10", "dest_ip")]);
    let e = &r.stats()["files"]["errors"][0];
    assert_eq!(e["kind"], "corrupt");
    assert!(
        e["reason"].as_str().unwrap().contains("invalid length 7"),
        "{e}"
    );
}

#[test]
fn not_a_capture_is_an_error_but_other_files_are_read() {
    let r = replay(&["feeds/c2-ips.txt", "vlan.pcap"], &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("not a pcap or pcapng file"),
        "{}",
        r.stderr
    );
    assert_eq!(r.alerts().len(), 4);
    assert_eq!(r.stats()["files"]["unreadable"], 1);
    let r = replay(&["does-not-exist.pcap"], &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot open"), "{}", r.stderr);
}

#[test]
fn empty_and_tiny_files() {
    let dir = tempfile::tempdir().unwrap();
    let feeds = fixture("feeds");
    for (name, bytes) in [
        ("empty.pcap", vec![]),
        ("short.pcap", vec![0xd4, 0xc3, 0xb2]),
        ("header-only.pcap", {
            let mut w = c2watch::synth::writer::PcapWriter::new(Vec::new(), 1).unwrap();
            w.raw(&[]).unwrap();
            w.into_inner()
        }),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes).unwrap();
        let r = c2watch(&["replay", "--intel", &feeds, p.to_str().unwrap()]);
        assert_ne!(r.code, 101, "no panic on {name}");
        if name == "header-only.pcap" {
            assert_eq!(r.code, 0, "{}", r.stderr);
            assert_eq!(r.stats()["packets"], 0);
        } else {
            assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        }
    }
}

/// On a terminal, stderr shows a progress line (bytes of total, packets/s); not otherwise.
#[test]
fn progress_line_only_on_a_terminal() {
    let bin = env!("CARGO_BIN_EXE_c2watch");
    let cmd = format!(
        "{bin} replay --intel {} -o /dev/null {}",
        fixture("feeds"),
        fixture("dedup.pcap")
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script(1) from util-linux");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{tty}");
    assert!(
        tty.contains("% ") && tty.contains(" MB ") && tty.contains("packets/s \r")
            || tty.contains("packets/s \u{1b}"),
        "{tty:?}"
    );
    let no = std::process::Command::new("script")
        .args(["-qec", &format!("{cmd} --no-progress"), "/dev/null"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&no.stdout).contains(" MB "));
    let piped = replay(&["dedup.pcap"], &[]);
    assert!(!piped.stderr.contains(" MB "), "{}", piped.stderr);
}
