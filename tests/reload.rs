//! SIGHUP reloads the feeds while a replay runs: packets after the reload are matched
//! against the new set, none is lost, and alerts name the new generation.

mod common;
use c2watch::synth::{frame, writer::PcapWriter};
use c2watch::time::Timestamp;
use common::Server;
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
        "SIGHUP: refreshing every feed"
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
    let alerts = alerts(&events);
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

/// Unlisted packets sent before and after each contact.
const LEAD: u16 = 300;
const FILLER: u16 = 4200;

/// A replay reading packets from a pipe, so feeds can change while it runs.
struct LiveReplay {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: mpsc::Receiver<String>,
    log: String,
    header_sent: bool,
}

impl LiveReplay {
    fn start(args: &[&str]) -> LiveReplay {
        let mut child = Command::new(env!("CARGO_BIN_EXE_c2watch"))
            .args(["replay", "--no-progress", "--dedup-window", "0s"])
            .args(args)
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stdin = child.stdin.take();
        let mut r = LiveReplay {
            child,
            stdin,
            lines,
            log: String::new(),
            header_sent: false,
        };
        r.wait_for("loaded ");
        r
    }

    /// Waits (up to 20 s) for a log line containing `what`.
    fn wait_for(&mut self, what: &str) {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(l) => {
                    self.log.push_str(&l);
                    self.log.push('\n');
                    if l.contains(what) {
                        return;
                    }
                }
                Err(_) => panic!("no `{what}` logged:\n{}", self.log),
            }
        }
    }

    fn hangup(&self) {
        let ok = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Sends SYNs from `victim` to each address at packet time `at`, between enough unlisted
    /// traffic (from many clients) that every worker's batch holding them is handed over
    /// (every 4096 packets all are), and gives the workers a moment to match them against
    /// the set they hold now.
    fn contact(&mut self, at: i64, victim: [u8; 4], c2s: &[[u8; 4]]) {
        let mut w = PcapWriter::new(Vec::new(), 1).unwrap();
        let t = Timestamp::new(1_790_000_000 + at, 0);
        // A single worker takes a new set every 256 packets: pass a boundary first.
        for i in 0..LEAD {
            w.packet(t, &syn([10, 2, 0, 1], [198, 51, 100, 1], 1000 + i))
                .unwrap();
        }
        for (i, c2) in c2s.iter().enumerate() {
            w.packet(t, &syn(victim, *c2, 40000 + i as u16)).unwrap();
        }
        for i in 0..FILLER {
            let client = [10, 1, (i >> 8) as u8, i as u8];
            w.packet(t, &syn(client, [198, 51, 100, 1], 1000)).unwrap();
        }
        let bytes = w.into_inner();
        let skip = if self.header_sent { 24 } else { 0 };
        self.header_sent = true;
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(&bytes[skip..]).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(400));
    }

    /// Ends the input; returns every event written.
    fn finish(mut self) -> (Vec<serde_json::Value>, String) {
        drop(self.stdin.take());
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(self.child.wait().unwrap().success(), "{}", self.log);
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.log.push_str(&l);
            self.log.push('\n');
        }
        let events = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (events, std::mem::take(&mut self.log))
    }
}

impl Drop for LiveReplay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// (victim, indicator, generation) of every alert.
fn alerts(events: &[serde_json::Value]) -> Vec<(String, String, u64)> {
    events
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
        .collect()
}

fn warnings<'a>(events: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    events
        .iter()
        .filter(|e| e["event_type"] == "warning" && e["warning"]["kind"] == kind)
        .collect()
}

#[test]
fn a_broken_feed_keeps_its_last_good_copy_while_the_others_update() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    std::fs::write(
        &a,
        "203.0.113.10\n203.0.113.11\n203.0.113.12\n203.0.113.13\n",
    )
    .unwrap();
    std::fs::write(&b, "203.0.113.30\n").unwrap();
    let (a_s, b_s) = (a.display().to_string(), b.display().to_string());
    let mut r = LiveReplay::start(&["--workers", "2", "--intel", &a_s, "--intel", &b_s]);
    r.contact(0, [10, 0, 0, 5], &[[203, 0, 113, 10]]);

    // Feed a breaks (a proxy's error page), feed b gains an indicator; SIGHUP.
    std::fs::write(&a, "<html><body>502 Bad Gateway</body></html>\n").unwrap();
    std::fs::write(&b, "203.0.113.30\n203.0.113.31\n").unwrap();
    r.hangup();
    r.wait_for("reloaded:");
    r.contact(1, [10, 0, 0, 6], &[[203, 0, 113, 11], [203, 0, 113, 31]]);

    // Feed a shrinks from 4 entries to 1 at once: refused too.
    std::fs::write(&a, "203.0.113.10\n").unwrap();
    r.hangup();
    r.wait_for("reloaded:");
    r.contact(2, [10, 0, 0, 7], &[[203, 0, 113, 12]]);

    // Feed a is repaired (3 of 4 kept: accepted); .11 and .12 are gone from it.
    std::fs::write(&a, "203.0.113.10\n203.0.113.13\n203.0.113.14\n").unwrap();
    r.hangup();
    r.wait_for("reloaded:");
    r.contact(3, [10, 0, 0, 8], &[[203, 0, 113, 12], [203, 0, 113, 14]]);

    let (events, log) = r.finish();
    let got = alerts(&events);
    let has = |v: &str, i: &str, g: u64| got.contains(&(v.into(), i.into(), g));
    assert!(has("10.0.0.5", "203.0.113.10", 1), "{got:?}");
    // The broken feed's last good copy still matches; the other feed's update is in use.
    assert!(has("10.0.0.6", "203.0.113.11", 2), "{got:?}");
    assert!(has("10.0.0.6", "203.0.113.31", 2), "{got:?}");
    assert!(
        has("10.0.0.7", "203.0.113.12", 3),
        "shrink refused: {got:?}"
    );
    assert!(has("10.0.0.8", "203.0.113.14", 4), "{got:?}");
    assert!(
        !got.iter()
            .any(|(v, i, _)| v == "10.0.0.8" && i == "203.0.113.12"),
        "the repaired feed is in use: {got:?}"
    );
    let stale = warnings(&events, "feed_stale");
    assert_eq!(
        stale.len(),
        1,
        "one warning when the feed goes stale: {events:?}"
    );
    assert_eq!(stale[0]["warning"]["feed"], "a");
    assert!(
        stale[0]["warning"]["reason"]
            .as_str()
            .unwrap()
            .contains("no valid indicator"),
        "{}",
        stale[0]
    );
    assert!(log.contains("a shrink below 50% is refused"), "{log}");
    assert!(log.contains("feed a refreshed again"), "{log}");
    // Errors and logs name the operator's file, not c2watch's copy of it.
    assert!(
        log.contains(&format!("{a_s}: the update was refused")),
        "{log}"
    );
    assert!(!log.contains("c2watch-keep-"), "{log}");
    let stats = events.iter().find(|e| e["event_type"] == "stats").unwrap();
    assert_eq!(
        stats["stats"]["packets"],
        4 * u64::from(LEAD + FILLER) + 6,
        "no packet lost: {stats}"
    );
}

#[test]
fn a_remote_feed_refreshes_on_its_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let feed = www.join("c2.txt");
    std::fs::write(&feed, "203.0.113.10\n").unwrap();
    let server = Server::http(&www, dir.path().join("http.log"));
    let cfg = dir.path().join("c2watch.toml");
    std::fs::write(
        &cfg,
        format!(
            "cache_dir = \"{}\"\n[[feed]]\nname = \"remote\"\nsource = \"http://127.0.0.1:{}/c2.txt\"\nrefresh = \"1s\"\n",
            dir.path().join("cache").display(),
            server.port
        ),
    )
    .unwrap();
    let mut r = LiveReplay::start(&["--config", cfg.to_str().unwrap()]);
    r.contact(0, [10, 0, 0, 5], &[[203, 0, 113, 10]]);
    // The publisher updates the list (Last-Modified has one-second resolution: move on).
    std::fs::write(&feed, "203.0.113.10\n203.0.113.20\n").unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&feed)
        .unwrap()
        .set_modified(later)
        .unwrap();
    // No signal, no local file: only the schedule can bring it in.
    r.wait_for("reloaded: 2 indicators");
    r.contact(1, [10, 0, 0, 6], &[[203, 0, 113, 20]]);
    let (events, log) = r.finish();
    let got = alerts(&events);
    assert!(
        got.iter()
            .any(|(v, i, g)| v == "10.0.0.6" && i == "203.0.113.20" && *g >= 2),
        "{got:?}\n{log}"
    );
    let log = server.requests();
    assert!(log.matches("GET /c2.txt").count() >= 2, "{log}");
}

#[test]
fn max_age_expires_old_entries_and_warns_about_an_old_feed() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feodo.csv");
    // Packet time is 2026-09-21; .20 was last seen in August, .21 in January.
    std::fs::write(
        &feed,
        "\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
         \"2026-01-01 00:00:00\",\"203.0.113.20\",\"443\",\"online\",\"2026-09-01\",\"QakBot\"\n\
         \"2026-01-01 00:00:00\",\"203.0.113.21\",\"443\",\"offline\",\"2026-01-10\",\"Emotet\"\n",
    )
    .unwrap();
    // The file itself was last written ten days ago.
    let old = std::time::SystemTime::now() - Duration::from_secs(10 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&feed)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let cfg = dir.path().join("c2watch.toml");
    std::fs::write(
        &cfg,
        "[[feed]]\nname = \"feodo\"\nsource = \"feodo.csv\"\nmax_age = \"30d\"\n",
    )
    .unwrap();
    let mut r = LiveReplay::start(&["--config", cfg.to_str().unwrap()]);
    let c2 = |d: u8| [203, 0, 113, d];
    r.contact(0, [10, 0, 0, 5], &[c2(20), c2(21)]);
    let (events, _) = r.finish();
    let got = alerts(&events);
    assert!(got.iter().any(|(_, i, _)| i == "203.0.113.20"), "{got:?}");
    assert!(
        !got.iter().any(|(_, i, _)| i == "203.0.113.21"),
        "last seen more than 30 days before the packet: {got:?}"
    );
    let stats = events.iter().find(|e| e["event_type"] == "stats").unwrap();
    assert_eq!(stats["stats"]["alerts"]["expired_indicator"], 1, "{stats}");
    // Ten days is within 30: no feed warning. With max_age 7d the feed itself is too old.
    assert!(warnings(&events, "feed_max_age").is_empty(), "{events:?}");
    std::fs::write(
        &cfg,
        "[[feed]]\nname = \"feodo\"\nsource = \"feodo.csv\"\nmax_age = \"7d\"\n",
    )
    .unwrap();
    let mut r = LiveReplay::start(&["--config", cfg.to_str().unwrap()]);
    r.contact(0, [10, 0, 0, 5], &[c2(20)]);
    let (events, _) = r.finish();
    let w = warnings(&events, "feed_max_age");
    assert_eq!(w.len(), 1, "{events:?}");
    assert_eq!(w[0]["warning"]["feed"], "feodo");
    assert_eq!(w[0]["warning"]["max_age_s"], 7 * 86_400);
    assert!(w[0]["warning"]["age_s"].as_u64().unwrap() >= 10 * 86_400 - 60);
    assert_eq!(
        events[0]["event_type"], "warning",
        "raised before the first alert"
    );
    let r = c2watch_check(&cfg);
    assert!(r.contains("warning: feodo was last updated"), "{r}");
}

fn c2watch_check(cfg: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_c2watch"))
        .args(["intel", "check", "--config"])
        .arg(cfg)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}
