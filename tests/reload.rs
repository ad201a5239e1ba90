//! SIGHUP reloads the feeds while a replay runs: packets after the reload are matched
//! against the new set, none is lost, and alerts name the new generation.

use c2watch::synth::{frame, writer::PcapWriter};
use c2watch::time::Timestamp;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn syn(src: [u8; 4], dst: [u8; 4], sport: u16) -> Vec<u8> {
    let tcp = frame::tcp(sport, 443, 1, 0x02, &[]);
    let ip = frame::ipv4(src, dst, 6, &tcp);
    frame::ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], &[], 0x0800, &ip)
}

#[test]
fn sighup_reloads_feeds_during_a_replay() {
    for workers in ["1", "2"] {
        replay_with_reload(workers, true);
    }
}

/// The same without a signal: the changed feed file is noticed (once it stays unchanged for
/// one poll) and reloaded.
#[test]
fn a_changed_feed_file_is_reloaded_during_a_replay() {
    replay_with_reload("1", false);
}

fn replay_with_reload(workers: &str, by_signal: bool) {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("c2.txt");
    std::fs::write(&feed, "203.0.113.10\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_c2watch"))
        .args([
            "replay",
            "--no-progress",
            "--dedup-window",
            "0s",
            "--workers",
            workers,
        ])
        .arg("--intel")
        .arg(&feed)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the child if the test fails half way.
    struct Reap(u32);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .arg(self.0.to_string())
                .stderr(Stdio::null())
                .status();
        }
    }
    let _reap = Reap(child.id());
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Wait until the feeds are loaded before changing them.
    let mut log = String::new();
    while !log.contains("loaded 1 indicators") {
        let l = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("no load logged");
        log.push_str(&l);
        log.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let mut w = PcapWriter::new(Vec::new(), 1).unwrap();
    let t = |s: i64| Timestamp::new(1_790_000_000 + s, 0);
    w.packet(t(0), &syn([10, 0, 0, 5], [203, 0, 113, 10], 40001))
        .unwrap();
    w.packet(t(1), &syn([10, 0, 0, 5], [203, 0, 113, 20], 40002))
        .unwrap();
    stdin.write_all(&w.into_inner()).unwrap();
    stdin.flush().unwrap();

    // The feed changes: .10 is gone, .20 is listed. SIGHUP, then wait for the reload.
    std::fs::write(&feed, "203.0.113.20\n").unwrap();
    if by_signal {
        let ok = Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let reloaded = loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) => {
                log.push_str(&l);
                log.push('\n');
                if l.contains("reloaded:") {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    assert!(reloaded, "no reload logged:\n{log}");
    assert!(log.contains("generation 2"), "{log}");
    let why = if by_signal {
        "SIGHUP: reloading"
    } else {
        "feed files changed: reloading"
    };
    assert!(log.contains(why), "{log}");

    // Packets after the reload, without a pcap header (the stream continues). Workers take
    // the new set at their next batch boundary (every 256 packets): unlisted traffic first.
    let mut w = PcapWriter::new(Vec::new(), 1).unwrap();
    for i in 0..600u16 {
        w.packet(t(2), &syn([10, 0, 0, 7], [198, 51, 100, 1], 1000 + i))
            .unwrap();
    }
    w.packet(t(3), &syn([10, 0, 0, 6], [203, 0, 113, 20], 40003))
        .unwrap();
    w.packet(t(4), &syn([10, 0, 0, 6], [203, 0, 113, 10], 40004))
        .unwrap();
    let bytes = w.into_inner();
    stdin.write_all(&bytes[24..]).unwrap();
    drop(stdin);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success());
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let alerts: Vec<(String, String, u64)> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .map(|a| {
            (
                a["victim"]["ip"].as_str().unwrap().to_string(),
                a["threat"]["indicator"]["value"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                a["threat"]["generation"].as_u64().unwrap(),
            )
        })
        .collect();
    // After the reload: the new indicator alerts, the removed one does not.
    assert!(
        alerts.contains(&("10.0.0.6".into(), "203.0.113.20".into(), 2)),
        "{alerts:?}"
    );
    assert!(
        !alerts
            .iter()
            .any(|(v, i, _)| v == "10.0.0.6" && i == "203.0.113.10"),
        "{alerts:?}"
    );
    let stats = events.iter().find(|e| e["event_type"] == "stats").unwrap();
    assert_eq!(stats["stats"]["packets"], 604, "no packet lost: {stats}");
}
