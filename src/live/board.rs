//! What a live capture counts, shared between the capture workers (who publish), the stats
//! ticker, the metrics endpoint and the end-of-run summary (who read).
//!
//! Each worker owns one slot and overwrites it with its totals a few times a second; readers
//! copy slots under their lock. Nothing on the per-packet path touches shared state.

use crate::alert::output::OutputGauges;
use crate::capture::live::PcapCounts;
use crate::decode::DecodeIssue;
use crate::detect::WorkerStats;
use crate::intel::Snapshot;
use crate::intel::manager::FeedBoard;
use crate::summary::{ReadStats, stats_event};
use crate::time::Timestamp;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One worker's totals since start.
#[derive(Clone, Debug, Default)]
pub struct WorkerReport {
    pub iface: String,
    /// Index among the interface's workers.
    pub index: usize,
    /// Joined to the interface's fanout group.
    pub fanout: bool,
    pub packets: u64,
    pub bytes: u64,
    pub decode: [u64; DecodeIssue::ALL.len()],
    pub work: WorkerStats,
    pub pcap: PcapCounts,
    /// Flows in the worker's table now.
    pub active_flows: u64,
    /// Times the queue to the output thread was full (records waited in the worker).
    pub queue_full: u64,
    /// Records dropped because the output thread stayed behind for too long.
    pub records_dropped: u64,
    pub last_ts: Option<Timestamp>,
}

impl WorkerReport {
    pub fn decode_errors(&self) -> u64 {
        crate::summary::decode_errors(&self.decode)
    }

    fn json(&self) -> Value {
        json!({
            "interface": self.iface, "worker": self.index, "fanout": self.fanout,
            "packets": self.packets, "bytes": self.bytes,
            "kernel_drops": self.pcap.kernel_drops, "interface_drops": self.pcap.if_drops,
            "pcap_received": self.pcap.received,
            "decode_errors": self.decode_errors(),
            "flows": {"created": self.work.flows_created, "timed_out": self.work.flows_timed_out,
                      "evicted": self.work.flows_evicted, "active": self.active_flows},
            "alerts": self.work.alert_candidates,
            "output_queue_full": self.queue_full, "records_dropped": self.records_dropped,
        })
    }
}

/// The shared view of a running capture.
pub struct Board {
    workers: Vec<Mutex<WorkerReport>>,
    pub output: Arc<OutputGauges>,
    pub snapshot: Snapshot,
    pub feeds: FeedBoard,
    pub started: Instant,
    /// Drops / (received + interface drops) over the last interval, as f64 bits.
    drop_ratio: AtomicU64,
    /// Totals at the start of the current interval: (drops, received).
    interval: Mutex<(u64, u64)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Board {
    /// A board with one slot per worker, given as (interface, index, fanout).
    pub fn new(workers: &[(String, usize, bool)], snapshot: Snapshot, feeds: FeedBoard) -> Board {
        Board {
            workers: workers
                .iter()
                .map(|(iface, index, fanout)| {
                    Mutex::new(WorkerReport {
                        iface: iface.clone(),
                        index: *index,
                        fanout: *fanout,
                        ..WorkerReport::default()
                    })
                })
                .collect(),
            output: Arc::new(OutputGauges::default()),
            snapshot,
            feeds,
            started: Instant::now(),
            drop_ratio: AtomicU64::new(0f64.to_bits()),
            interval: Mutex::new((0, 0)),
        }
    }

    /// Worker `slot` replaces its report (keeping its labels).
    pub fn publish(&self, slot: usize, report: &WorkerReport) {
        if let Some(m) = self.workers.get(slot) {
            let mut r = lock(m);
            let (iface, index, fanout) = (std::mem::take(&mut r.iface), r.index, r.fanout);
            *r = WorkerReport {
                iface,
                index,
                fanout,
                ..report.clone()
            };
        }
    }

    pub fn reports(&self) -> Vec<WorkerReport> {
        self.workers.iter().map(|m| lock(m).clone()).collect()
    }

    /// Ends a measuring interval: the share of packets dropped since the last call.
    pub fn close_interval(&self) -> f64 {
        let (drops, received) = self.reports().iter().fold((0, 0), |(d, r), w| {
            (
                d + w.pcap.kernel_drops + w.pcap.if_drops,
                r + w.pcap.received + w.pcap.if_drops,
            )
        });
        let mut last = lock(&self.interval);
        let (dd, dr) = (
            drops.saturating_sub(last.0),
            received.saturating_sub(last.1),
        );
        *last = (drops, received);
        let ratio = if dr == 0 { 0.0 } else { dd as f64 / dr as f64 };
        self.drop_ratio.store(ratio.to_bits(), Relaxed);
        ratio
    }

    /// "Keeping up": drops / received over the last interval (0 is keeping up).
    pub fn drop_ratio(&self) -> f64 {
        f64::from_bits(self.drop_ratio.load(Relaxed))
    }

    /// A `stats` event for the alert stream: the replay's totals plus a `capture` entry per
    /// worker. The output thread adds its alert counters when it writes the event.
    pub fn stats_event(&self, ts: Timestamp, elapsed: Duration) -> Value {
        let reports = self.reports();
        let mut read = ReadStats::default();
        let mut work = WorkerStats::default();
        for r in &reports {
            read.packets += r.packets;
            read.bytes += r.bytes;
            for (t, v) in read.decode.iter_mut().zip(r.decode) {
                *t += v;
            }
            work.merge(&r.work);
        }
        read.last_ts = Some(ts);
        let set = self.snapshot.load();
        let mut v = stats_event(&read, &work, elapsed, set.len(), reports.len());
        if let Some(s) = v.get_mut("stats").and_then(Value::as_object_mut) {
            s.remove("files");
            let drops: u64 = reports.iter().map(|r| r.pcap.kernel_drops).sum();
            let if_drops: u64 = reports.iter().map(|r| r.pcap.if_drops).sum();
            s.insert(
                "capture".into(),
                json!({
                    "kernel_drops": drops, "interface_drops": if_drops,
                    "drop_ratio_last_interval": self.drop_ratio(),
                    "output_queue_full": reports.iter().map(|r| r.queue_full).sum::<u64>(),
                    "records_dropped": reports.iter().map(|r| r.records_dropped).sum::<u64>(),
                    "workers": reports.iter().map(WorkerReport::json).collect::<Vec<_>>(),
                }),
            );
            s.insert("generation".into(), json!(set.generation()));
        }
        v
    }

    /// The end-of-run lines for stderr, one per worker.
    pub fn render_workers(&self) -> String {
        let mut t = String::new();
        for r in self.reports() {
            let _ = writeln!(
                t,
                "  {} worker {}: {} packets, {} bytes, {} kernel drops, {} interface drops, {} decode errors, {} flows ({} evicted), {} alerts{}",
                r.iface,
                r.index,
                r.packets,
                r.bytes,
                r.pcap.kernel_drops,
                r.pcap.if_drops,
                r.decode_errors(),
                r.work.flows_created,
                r.work.flows_evicted,
                r.work.alert_candidates,
                if r.records_dropped > 0 {
                    format!(", {} records dropped (output too slow)", r.records_dropped)
                } else {
                    String::new()
                }
            );
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::IndicatorSet;
    use arc_swap::ArcSwap;

    fn board() -> Board {
        let snapshot = Arc::new(ArcSwap::from_pointee(IndicatorSet::default()));
        Board::new(
            &[("eth1".into(), 0, true), ("eth1".into(), 1, true)],
            snapshot,
            FeedBoard::default(),
        )
    }

    #[test]
    fn drop_ratio_is_per_interval() {
        let b = board();
        let mut r = WorkerReport {
            pcap: PcapCounts {
                received: 1000,
                kernel_drops: 10,
                if_drops: 0,
            },
            ..WorkerReport::default()
        };
        b.publish(0, &r);
        assert!((b.close_interval() - 0.01).abs() < 1e-9);
        r.pcap.received = 2000;
        b.publish(0, &r);
        assert_eq!(
            b.close_interval(),
            0.0,
            "no new drops in the second interval"
        );
        assert_eq!(
            b.close_interval(),
            0.0,
            "nothing received: not a division by zero"
        );
    }

    #[test]
    fn stats_event_lists_every_worker_with_its_labels() {
        let b = board();
        let r = WorkerReport {
            iface: "ignored".into(),
            packets: 5,
            bytes: 300,
            ..WorkerReport::default()
        };
        b.publish(1, &r);
        let v = b.stats_event(Timestamp::new(1_700_000_000, 0), Duration::from_secs(2));
        assert_eq!(v["event_type"], "stats");
        assert_eq!(v["stats"]["packets"], 5);
        assert!(v["stats"].get("files").is_none());
        let w = &v["stats"]["capture"]["workers"];
        assert_eq!(w[1]["interface"], "eth1");
        assert_eq!(w[1]["worker"], 1);
        assert_eq!(w[1]["packets"], 5);
        assert_eq!(w[0]["packets"], 0);
    }
}
