//! A lab for live tests: two network namespaces joined by a veth pair, processes started in
//! them, and the c2watch sensor capturing on the victim's side. Everything the lab creates is
//! removed when it is dropped, pass or fail.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|v| v.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// True when the test can run; false (after saying why) when it is skipped outside CI.
pub fn can_run(name: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("C2WATCH_REQUIRE_NETNS").is_none(),
        "{name}: needs root to create network namespaces (C2WATCH_REQUIRE_NETNS is set)"
    );
    eprintln!("{name}: SKIPPED: needs root to create network namespaces");
    false
}

pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two namespaces joined by a veth pair: `victim` (10.x.y.1, `va`) and `c2` (10.x.y.2 to
/// 10.x.y.5, `vb`). Removed on drop, with every process the test started in them.
pub struct Lab {
    pub victim: String,
    pub c2: String,
    pub net: String,
    pub children: Vec<Child>,
}

impl Lab {
    pub fn new(tag: &str) -> Lab {
        let pid = std::process::id();
        let net = format!("10.{}.{}", 100 + pid % 100, (pid / 100) % 250);
        let lab = Lab {
            victim: format!("c2w-{tag}-{pid}-v"),
            c2: format!("c2w-{tag}-{pid}-c"),
            net,
            children: Vec::new(),
        };
        ip(&["netns", "add", &lab.victim]);
        ip(&["netns", "add", &lab.c2]);
        ip(&[
            "link",
            "add",
            "va",
            "netns",
            &lab.victim,
            "type",
            "veth",
            "peer",
            "name",
            "vb",
            "netns",
            &lab.c2,
        ]);
        let (v, c) = (lab.victim.clone(), lab.c2.clone());
        ip(&[
            "-n",
            &v,
            "addr",
            "add",
            &format!("{}.1/24", lab.net),
            "dev",
            "va",
        ]);
        for host in 2..=5 {
            let a = format!("{}.{host}/24", lab.net);
            ip(&["-n", &c, "addr", "add", &a, "dev", "vb"]);
        }
        for (ns, dev) in [(&v, "va"), (&c, "vb"), (&v, "lo"), (&c, "lo")] {
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        lab
    }

    pub fn addr(&self, host: u8) -> String {
        format!("{}.{host}", self.net)
    }

    pub fn exec(&self, ns: &str, cmd: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(cmd);
        c
    }

    /// Runs `cmd` in `ns` to the end; panics with its output when it fails.
    pub fn run(&self, ns: &str, cmd: &[&str]) -> String {
        let out = self.exec(ns, cmd).output().expect("run in namespace");
        assert!(
            out.status.success(),
            "{} in {ns}: {}{}",
            cmd.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `cmd` in `ns` and waits for its first stdout line (`ready`, `held`).
    pub fn start_until_line(&mut self, ns: &str, cmd: &[&str]) {
        let mut child = self
            .exec(ns, cmd)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start in namespace");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        self.children.push(child);
        assert!(!line.is_empty(), "{} gave no first line", cmd.join(" "));
    }

    pub fn mac(&self) -> String {
        self.run(&self.victim, &["cat", "/sys/class/net/va/address"])
            .trim()
            .to_string()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.victim, &self.c2] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

pub fn traffic_script() -> String {
    root()
        .join("tests/servers/netns_traffic.py")
        .display()
        .to_string()
}

/// A lab whose C2 namespace runs the echo servers, a folder any user may write (for the tests
/// that drop root) and the traffic script's path.
pub fn lab_with_servers(tag: &str) -> (Lab, tempfile::TempDir, String) {
    use std::os::unix::fs::PermissionsExt;
    let mut lab = Lab::new(tag);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let script = traffic_script();
    let c2_ns = lab.c2.clone();
    lab.start_until_line(&c2_ns, &["python3", &script, "serve", "0.0.0.0"]);
    (lab, dir, script)
}

/// The c2watch process, killed on drop if the test failed before stopping it.
pub struct Sensor {
    pub child: Child,
    pub stderr: PathBuf,
    pub alerts: PathBuf,
}

impl Sensor {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.alerts)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until `pred` holds for the log (stderr) or the events.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str, &[Value]) -> bool) {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if pred(&self.log(), &self.events()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}\nlog:\n{}", self.log());
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_sensor(lab: &Lab, dir: &Path, feed: &Path, extra: &[&str]) -> Sensor {
    start_sensor_with(lab, dir, feed, &[], extra)
}

/// Starts c2watch in the victim namespace, through `wrapper` (e.g. setpriv) when given, with
/// `feed` and alerts to `dir/alerts.json`.
pub fn start_sensor_with(
    lab: &Lab,
    dir: &Path,
    feed: &Path,
    wrapper: &[&str],
    extra: &[&str],
) -> Sensor {
    let feed_arg = feed.display().to_string();
    let alerts_arg = dir.join("alerts.json").display().to_string();
    let mut args = vec!["--intel", &feed_arg, "-o", &alerts_arg];
    args.extend_from_slice(extra);
    start_capture(lab, dir, wrapper, &args)
}

/// Starts `c2watch capture -i va --workers 2 ARGS` in the victim namespace and waits until
/// it captures with its feeds loaded. Its log goes to `dir/stderr.log`; `Sensor::events`
/// reads `dir/alerts.json`.
pub fn start_capture(lab: &Lab, dir: &Path, wrapper: &[&str], extra: &[&str]) -> Sensor {
    let stderr = dir.join("stderr.log");
    let alerts = dir.join("alerts.json");
    let bin = env!("CARGO_BIN_EXE_c2watch");
    let mut args: Vec<&str> = wrapper.to_vec();
    args.extend([bin, "capture", "-i", "va", "--workers", "2"]);
    args.extend_from_slice(extra);
    let child = lab
        .exec(&lab.victim, &args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("start c2watch capture");
    let sensor = Sensor {
        child,
        stderr,
        alerts,
    };
    sensor.wait_for("capture to start", |log, _| log.contains("capturing on va"));
    // The handles are open; the feeds load right after.
    sensor.wait_for("feeds to load", |log, _| {
        log.contains("loaded ") && log.contains(" indicators and ")
    });
    sensor
}

/// Waits (at most 20 s) for c2watch to exit; its exit status.
pub fn wait_exit(sensor: &mut Sensor, what: &str) -> i32 {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = sensor.child.try_wait() {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < until, "{what}\n{}", sensor.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops the sensor (SIGTERM). A panic in its log fails the test, contained or not.
pub fn stop(mut sensor: Sensor) -> (i32, Vec<Value>, String) {
    sensor.signal("TERM");
    let code = wait_exit(&mut sensor, "c2watch did not stop after SIGTERM");
    let log = sensor.log();
    assert!(!log.contains("panicked at"), "c2watch panicked:\n{log}");
    (code, sensor.events(), log)
}

pub fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event_type"] == t).collect()
}
