//! Helpers for running the c2watch binary against the fixtures.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> String {
    root().join("fixtures").join(name).display().to_string()
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub events: Vec<Value>,
}

impl Run {
    pub fn of_type(&self, t: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["event_type"] == t)
            .collect()
    }

    pub fn alerts(&self) -> Vec<&Value> {
        self.of_type("alert")
    }

    /// The first alert whose victim is `ip`; the test fails when there is none.
    pub fn alert_for(&self, ip: &str) -> &Value {
        self.alerts()
            .into_iter()
            .find(|a| a["victim"]["ip"] == ip)
            .unwrap_or_else(|| panic!("no alert for victim {ip}"))
    }

    pub fn stats(&self) -> &Value {
        self.events
            .iter()
            .rev()
            .find(|e| e["event_type"] == "stats")
            .map(|e| &e["stats"])
            .expect("a stats event")
    }

    /// (victim ip, indicator as listed, matched_on) of every alert, sorted.
    pub fn triples(&self) -> Vec<(String, String, String)> {
        let mut v: Vec<_> = self
            .alerts()
            .iter()
            .map(|a| {
                (
                    s(&a["victim"]["ip"]),
                    s(&a["threat"]["indicator"]["value"]),
                    s(&a["threat"]["indicator"]["matched_on"]),
                )
            })
            .collect();
        v.sort();
        v
    }
}

pub fn s(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// The run's output. A panic anywhere in c2watch fails the test, even one the sensor
/// contained and survived (`expect_panic` for the test that injects one on purpose).
fn finish_with(out: Output, expect_panic: bool) -> Run {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        expect_panic || !stderr.contains("panicked at"),
        "c2watch panicked:\n{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    // Replay writes NDJSON; `intel` commands print text or pretty JSON (read from `stdout`).
    let events = stdout
        .lines()
        .filter(|l| l.starts_with('{') && l.ends_with('}'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout,
        stderr,
        events,
    }
}

fn finish(out: Output) -> Run {
    finish_with(out, false)
}

pub fn c2watch(args: &[&str]) -> Run {
    c2watch_env(args, &[])
}

/// Runs c2watch with extra environment variables (credentials, for instance).
pub fn c2watch_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_c2watch"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run c2watch");
    let injected = env.iter().any(|(k, _)| *k == "C2WATCH_FAULT_PACKET");
    finish_with(out, injected)
}

pub fn c2watch_stdin(args: &[&str], input: Vec<u8>) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_c2watch"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("join").expect("write stdin");
    finish(out)
}

/// Replays fixtures with the fixture feeds and allowlist.
pub fn replay(files: &[&str], extra: &[&str]) -> Run {
    let feeds = fixture("feeds");
    let allow = fixture("allow");
    let paths: Vec<String> = files.iter().map(|f| fixture(f)).collect();
    let mut args = vec![
        "replay",
        "--no-progress",
        "--intel",
        &feeds,
        "--allow",
        &allow,
    ];
    args.extend_from_slice(extra);
    args.extend(paths.iter().map(String::as_str));
    c2watch(&args)
}

pub fn t(v: &str, i: &str, m: &str) -> (String, String, String) {
    (v.into(), i.into(), m.into())
}

/// A real server process on loopback (Python's http.server, medallion), on a free port;
/// stopped when dropped, also when the test fails.
pub struct Server {
    child: std::process::Child,
    pub port: u16,
    log: PathBuf,
}

/// A free TCP port on 127.0.0.1, never one handed out before in this test process. The
/// kernel may give the same port to two tests running side by side (each only probes it); the
/// second server then fails to bind while the first one answers its readiness check, and the
/// test talks to a server that goes away with the other test.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = l.local_addr().expect("a local address").port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

impl Server {
    /// Starts `program args...` in `dir`, its stderr (the request log) into `log`, and waits
    /// until `port` accepts connections.
    pub fn start(
        program: &str,
        args: &[&str],
        dir: &std::path::Path,
        port: u16,
        log: PathBuf,
    ) -> Server {
        let child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create the server log"))
            .spawn()
            .unwrap_or_else(|e| panic!("{program}: {e} (scripts/install-deps installs it)"));
        let mut server = Server { child, port, log };
        for _ in 0..400 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{program} exited with {status}: {}", server.requests());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!(
            "{program} did not listen on port {port}: {}",
            server.requests()
        )
    }

    /// Python's http.server serving `dir` (it answers If-Modified-Since with 304).
    pub fn http(dir: &std::path::Path, log: PathBuf) -> Server {
        let port = free_port();
        Server::start(
            "python3",
            &[
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ],
            dir,
            port,
            log,
        )
    }

    /// The server's log so far.
    pub fn requests(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The largest resident set of any child process this test binary has waited for, in MiB
/// (tests that bound memory run c2watch as a child and read the kernel's count).
pub fn children_peak_rss_mib() -> i64 {
    // SAFETY: getrusage only writes the struct it is given; a zeroed rusage is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_CHILDREN with a valid pointer to an rusage owned by this frame.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    assert_eq!(rc, 0, "getrusage");
    ru.ru_maxrss / 1024
}
