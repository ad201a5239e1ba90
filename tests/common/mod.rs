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

fn finish(out: Output) -> Run {
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
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        events,
    }
}

pub fn c2watch(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_c2watch"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run c2watch");
    finish(out)
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
