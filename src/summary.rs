//! Run accounting: what the reader and workers counted, printed on stderr at the end of a run
//! and written as the final `stats` event.

use crate::alert::output::OutputStats;
use crate::capture::CaptureError;
use crate::decode::DecodeIssue;
use crate::detect::WorkerStats;
use crate::time::Timestamp;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::Duration;

/// What the reader saw.
#[derive(Clone, Debug, Default)]
pub struct ReadStats {
    pub files: u64,
    /// Files that could not be opened or are not captures.
    pub files_unreadable: u64,
    /// Files that ended early (truncated or corrupt); their packets so far were processed.
    pub files_cut_short: u64,
    pub packets: u64,
    pub bytes: u64,
    pub decode: [u64; DecodeIssue::ALL.len()],
    pub errors: Vec<CaptureError>,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Packets whose decoding panicked (contained).
    pub faults: crate::detect::fault::Faults,
}

/// Frames that could not be decoded, from counts by [`DecodeIssue`]: every kind but
/// `not_ip` (ARP and the like are not errors).
pub fn decode_errors(decode: &[u64; DecodeIssue::ALL.len()]) -> u64 {
    DecodeIssue::ALL
        .iter()
        .filter(|i| **i != DecodeIssue::NotIp)
        .map(|i| decode[i.index()])
        .sum()
}

impl ReadStats {
    pub fn decode_errors(&self) -> u64 {
        decode_errors(&self.decode)
    }
}

pub struct RunSummary {
    pub read: ReadStats,
    pub work: WorkerStats,
    pub output: OutputStats,
    pub elapsed: Duration,
    pub indicators: usize,
    pub workers: usize,
}

impl RunSummary {
    pub fn packets_per_sec(&self) -> f64 {
        self.read.packets as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The final `stats` event, without the output thread's own counters (it adds them).
pub fn stats_event(
    read: &ReadStats,
    work: &WorkerStats,
    elapsed: Duration,
    indicators: usize,
    workers: usize,
) -> Value {
    let decode: serde_json::Map<String, Value> = DecodeIssue::ALL
        .iter()
        .map(|i| (i.as_str().to_string(), json!(read.decode[i.index()])))
        .collect();
    let errors: Vec<Value> = read.errors.iter().map(|e| json!({"file": e.file, "offset": e.offset, "kind": e.kind.as_str(), "reason": e.reason})).collect();
    let ts = read.last_ts.unwrap_or_default();
    json!({
        "timestamp": ts.eve().to_string(),
        "event_type": "stats",
        "stats": {
            "files": {"read": read.files, "unreadable": read.files_unreadable, "cut_short": read.files_cut_short, "errors": errors},
            "packets": read.packets,
            "bytes": read.bytes,
            "decode": decode,
            "decode_errors": read.decode_errors(),
            "ip_packets": work.packets,
            "later_fragments": work.later_fragments,
            "transport_truncated": work.transport_truncated,
            "tunnel_inner_invalid": work.inner_invalid,
            "dns": {"messages": work.dns_messages, "malformed": work.dns_errors},
            "radius": {"messages": work.radius_messages, "malformed": work.radius_malformed},
            "internal_errors": internal_errors(read, work),
            "handshakes_inspected": work.handshakes_inspected,
            "flows": {"created": work.flows_created, "timed_out": work.flows_timed_out, "evicted": work.flows_evicted, "matched": work.flows_matched},
            "indicators": indicators,
            "workers": workers,
            "elapsed_s": (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "packets_per_s": (read.packets as f64 / elapsed.as_secs_f64().max(1e-9)).round(),
        }
    })
}

/// Packets whose processing panicked and was contained: how many, and the first indices.
fn internal_errors(read: &ReadStats, work: &WorkerStats) -> Value {
    let mut all = read.faults.clone();
    all.merge(&work.faults);
    json!({"packets": all.count, "first": all.packets})
}

impl RunSummary {
    /// Packets whose processing panicked (contained), reader and workers together.
    pub fn internal_errors(&self) -> u64 {
        self.read.faults.count + self.work.faults.count
    }
}

/// Human-readable summary for stderr.
pub fn render(s: &RunSummary) -> String {
    let r = &s.read;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "c2watch: {} file(s), {} packets, {} bytes in {:.2} s ({:.0} packets/s, {} worker(s))",
        r.files,
        r.packets,
        r.bytes,
        s.elapsed.as_secs_f64(),
        s.packets_per_sec(),
        s.workers
    );
    if r.files_unreadable + r.files_cut_short > 0 {
        let _ = writeln!(
            t,
            "  input problems: {} unreadable, {} cut short (truncated or corrupt)",
            r.files_unreadable, r.files_cut_short
        );
        for e in &r.errors {
            let _ = writeln!(t, "    {e}");
        }
    }
    let issues: Vec<String> = DecodeIssue::ALL
        .iter()
        .filter(|i| r.decode[i.index()] > 0)
        .map(|i| format!("{} {}", i.as_str(), r.decode[i.index()]))
        .collect();
    if !issues.is_empty() {
        let _ = writeln!(t, "  not decoded: {}", issues.join(", "));
    }
    let w = &s.work;
    let _ = writeln!(
        t,
        "  flows: {} created, {} matched an indicator, {} timed out, {} evicted (table full)",
        w.flows_created, w.flows_matched, w.flows_timed_out, w.flows_evicted
    );
    let o = &s.output;
    let _ = writeln!(
        t,
        "  alerts: {} written ({} duplicates suppressed), {} distinct victim(s), {} flow records; {} indicators loaded",
        o.alerts, o.suppressed, o.victims, o.flow_records, s.indicators
    );
    if o.expired > 0 {
        let _ = writeln!(
            t,
            "  {} match(es) not alerted: the indicator was outside its validity window (valid_from/valid_until) at packet time",
            o.expired
        );
    }
    t
}
