//! `c2watch capture`: live interfaces in, alerts out. One thread per libpcap handle reads,
//! decodes and detects (no hand-off: the kernel's fanout already spread the flows), one
//! output thread writes, one ticker writes periodic `stats` events and measures drops.
//!
//! Invariants: a flow is seen by one worker only (fanout hash mode is symmetric); no shared
//! state is touched per packet (workers publish their counters a few times a second); a stop
//! request reads what the kernel already holds, ends every flow, writes what is pending and
//! the final stats before returning.

pub mod board;
pub mod metrics;
pub mod privileges;

use crate::alert::output::{self, OutputConfig, OutputMsg, OutputStats};
use crate::alert::record::Sequenced;
use crate::capture::Interfaces;
use crate::capture::live::{LiveHandle, Read};
use crate::decode::{Decoded, decode};
use crate::detect::dns_cache::SharedDnsCache;
use crate::detect::{DetectConfig, PacketInfo, Worker};
use crate::replay::ReplayError;
use crate::time::Timestamp;
use board::{Board, WorkerReport};
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use serde_json::Value;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Packets read before a worker flushes records and looks at the clock.
const BATCH: usize = 256;
/// How often a busy worker publishes its counters and hands records over.
const PUBLISH: Duration = Duration::from_millis(200);
/// Records a worker holds while the output queue is full before it drops (and counts) them.
const MAX_HELD: usize = 1 << 16;
/// On a link still busy at a stop request, how much longer than the drain the reading goes on.
const MAX_DRAIN: Duration = Duration::from_secs(1);
/// Sequence number of records written at the end.
const END_SEQ: u64 = u64::MAX - 1;

pub struct LiveConfig {
    pub detect: DetectConfig,
    pub dedup_capacity: usize,
    /// Seconds between `stats` events in the alert stream (None: only the final one).
    pub stats_interval: Option<Duration>,
    /// The read timeout handles were opened with (a worker's longest idle wait).
    pub timeout_ms: i32,
    /// Set to stop (SIGTERM, SIGINT).
    pub stop: Arc<AtomicBool>,
    /// Warning events from the feed manager.
    pub events: Receiver<Value>,
    /// Where the ticker sends periodic `stats` events (the same stream as `events`).
    pub events_tx: Sender<Value>,
    /// Subscriber maps for `victim.subscriber`.
    pub subscribers: Option<Arc<crate::subscriber::Subscribers>>,
    pub format: crate::alert::output::AlertFormat,
}

pub struct LiveSummary {
    pub output: OutputStats,
    pub elapsed: Duration,
    /// Why capture stopped, when it was not asked to (an interface went down, ...).
    pub errors: Vec<String>,
}

/// Runs until `cfg.stop` is set, then flushes and returns.
pub fn run(
    cfg: LiveConfig,
    handles: Vec<LiveHandle>,
    board: Arc<Board>,
    out: crate::alert::sink::Sinks,
) -> Result<LiveSummary, ReplayError> {
    let n = handles.len().max(1);
    let ifaces = Interfaces::default();
    let mut detect = cfg.detect.clone();
    detect.max_flows = (detect.max_flows / n).max(1024);
    let detect = Arc::new(detect);
    let (out_tx, out_rx) = bounded::<OutputMsg>(1024);
    let out_cfg = OutputConfig {
        workers: n,
        dedup_window: cfg.detect.dedup_window,
        dedup_capacity: cfg.dedup_capacity,
        ordered: false,
        flush_when_idle: true,
        gauges: Some(board.output.clone()),
        subscribers: cfg.subscribers.clone(),
        radius: cfg.detect.radius,
        format: cfg.format,
        victims: None,
    };
    let events = Some(cfg.events.clone());
    let output = std::thread::Builder::new()
        .name("output".into())
        .spawn(move || output::run(out_rx, events, out, out_cfg))
        .map_err(|e| ReplayError::Internal(format!("cannot start output thread: {e}")))?;

    // One DNS answer cache for all workers: the kernel's flow hash may hand a client's DNS
    // answer and its next connection to different workers.
    let dns = Arc::new(SharedDnsCache::new(detect.dns_cache));
    let mut threads = Vec::with_capacity(n);
    for (slot, h) in handles.into_iter().enumerate() {
        let iface = ifaces.register(&h.iface);
        let worker = Worker::with_dns(
            detect.clone(),
            board.snapshot.clone(),
            ifaces.clone(),
            dns.clone(),
        );
        let ctx = Ctx {
            slot,
            iface,
            out: out_tx.clone(),
            board: board.clone(),
            stop: cfg.stop.clone(),
            timeout_ms: cfg.timeout_ms,
        };
        let t = std::thread::Builder::new()
            .name(format!("capture-{}-{}", h.iface, h.index))
            .spawn(move || ctx.capture(h, worker))
            .map_err(|e| ReplayError::Internal(format!("cannot start capture thread: {e}")))?;
        threads.push(t);
    }

    let ticker = spawn_ticker(&cfg, board.clone())?;
    let mut failed = None;
    let mut errors = Vec::new();
    for t in threads {
        match t.join() {
            Ok(Some(e)) => errors.push(e),
            Ok(None) => {}
            Err(_) => failed = Some("a capture thread panicked"),
        }
    }
    // Every worker has stopped: the ticker stops too, then the final stats go out.
    cfg.stop.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    board.close_interval();
    let elapsed = board.started.elapsed();
    let last = board
        .reports()
        .iter()
        .filter_map(|r| r.last_ts)
        .max()
        .unwrap_or_else(Timestamp::now);
    let final_stats = board.stats_event(last, elapsed);
    // Every worker sent its last batch; the final stats are written after them.
    let _ = out_tx.send(OutputMsg::Finish(Box::new(final_stats)));
    drop(out_tx);
    let output_stats = match output.join() {
        Ok(r) => r.map_err(ReplayError::Output)?,
        Err(_) => return Err(ReplayError::Internal("the output thread panicked".into())),
    };
    if let Some(why) = failed {
        return Err(ReplayError::Internal(why.into()));
    }
    Ok(LiveSummary {
        output: output_stats,
        elapsed,
        errors,
    })
}

fn spawn_ticker(
    cfg: &LiveConfig,
    board: Arc<Board>,
) -> Result<std::thread::JoinHandle<()>, ReplayError> {
    let stop = cfg.stop.clone();
    let every = cfg.stats_interval;
    let tx = cfg.events_tx.clone();
    // The drop gauge is measured at least every 10 s, with or without stats events.
    let gauge_every = every.map_or(Duration::from_secs(10), |e| e.min(Duration::from_secs(10)));
    std::thread::Builder::new()
        .name("stats".into())
        .spawn(move || {
            let mut last_gauge = Instant::now();
            let mut last_event = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if last_gauge.elapsed() >= gauge_every {
                    last_gauge = Instant::now();
                    let ratio = board.close_interval();
                    if ratio > 0.0 {
                        tracing::warn!(
                            "not keeping up: {:.2}% of packets dropped in the last {} s",
                            ratio * 100.0,
                            gauge_every.as_secs()
                        );
                    }
                }
                if let Some(e) = every
                    && last_event.elapsed() >= e
                {
                    last_event = Instant::now();
                    let _ = tx.send(board.stats_event(Timestamp::now(), board.started.elapsed()));
                }
            }
        })
        .map_err(|e| ReplayError::Internal(format!("cannot start stats thread: {e}")))
}

/// What one capture thread needs besides its handle and worker.
struct Ctx {
    slot: usize,
    iface: u16,
    out: Sender<OutputMsg>,
    board: Arc<Board>,
    stop: Arc<AtomicBool>,
    timeout_ms: i32,
}

impl Ctx {
    /// Reads `h` until stopped; returns when its records are all handed over, with the read
    /// error that stopped it, if one did (it stops every other worker too).
    fn capture(self, mut h: LiveHandle, mut worker: Worker) -> Option<String> {
        let mut failure: Option<String> = None;
        let mut decoded = Decoded::default();
        let mut records: Vec<Sequenced> = Vec::new();
        let mut report = WorkerReport::default();
        let mut seq: u64 = 0;
        let mut last_publish = Instant::now();
        let linktype = h.linktype;
        let mut drain_until: Option<Instant> = None;
        let drain = Duration::from_millis(2 * self.timeout_ms.max(1) as u64 + 50);
        loop {
            let mut n = 0;
            while n < BATCH {
                let p = match h.read() {
                    Ok(Read::Packet(p)) => p,
                    Ok(Read::Empty) => break,
                    Err(e) => {
                        tracing::error!("{e}: capture stops");
                        self.stop_all();
                        failure = Some(e);
                        break;
                    }
                };
                n += 1;
                let info = PacketInfo {
                    seq,
                    ts: p.ts,
                    iface: self.iface,
                    orig_len: p.orig_len,
                };
                seq += 1;
                report.packets += 1;
                report.bytes += u64::from(p.orig_len);
                if report.last_ts.is_none_or(|l| p.ts > l) {
                    report.last_ts = Some(p.ts);
                }
                let decoded_ok = worker
                    .faults_mut()
                    .contain(info.seq, || decode(linktype, p.data, &mut decoded))
                    .unwrap_or(Err(crate::decode::DecodeIssue::Contained));
                match decoded_ok {
                    Ok(()) => {
                        let (off, len) = (decoded.payload.0 as usize, decoded.payload.1 as usize);
                        let payload = p.data.get(off..off + len).unwrap_or(&[]);
                        worker.process_contained(&info, &decoded, payload, &mut records);
                    }
                    Err(issue) => report.decode[issue.index()] += 1,
                }
            }
            if drain_until.is_none() && self.stop.load(Ordering::Relaxed) {
                // What the kernel already holds is read before stopping: a partly filled
                // block is handed over within one timeout.
                drain_until = Some(Instant::now() + drain);
            }
            let stopping = failure.is_some()
                || drain_until.is_some_and(|t| {
                    let now = Instant::now();
                    now >= t && (n < BATCH || now >= t + MAX_DRAIN)
                });
            if n == 0 {
                // A quiet link: time still passes for the flows.
                worker.idle(seq, Timestamp::now(), &mut records);
            }
            // Records go out whenever the kernel has nothing more for now; counters (a copy
            // under a lock, and a getsockopt for libpcap's) only a few times a second.
            let publish = stopping || last_publish.elapsed() >= PUBLISH;
            if n < BATCH || publish {
                worker.begin_batch();
                self.hand_over(&mut records, &mut report);
            }
            if publish {
                report.work = worker.stats();
                report.active_flows = worker.active_flows() as u64;
                report.pcap = h.counts();
                self.board.publish(self.slot, &report);
                last_publish = Instant::now();
            }
            if stopping {
                break;
            }
            if n < BATCH {
                h.wait(self.timeout_ms);
            }
        }
        // Stop: every open flow ends now, and everything goes to the output (waiting, this
        // time: nothing may be lost at a clean stop). Packets the kernel received after the
        // drain stay counted in `pcap.received`, not in `packets`.
        let clock = report.last_ts.unwrap_or_else(Timestamp::now);
        worker.finish(END_SEQ, clock, &mut records);
        report.work = worker.stats();
        report.active_flows = 0;
        report.pcap = h.counts();
        self.board.publish(self.slot, &report);
        let _ = self.out.send(OutputMsg::Batch {
            worker: self.slot,
            upto: u64::MAX,
            records,
        });
        failure
    }

    /// Hands records to the output thread without blocking capture: when its queue is full
    /// they wait here, up to [`MAX_HELD`]; past that the oldest are dropped and counted.
    fn hand_over(&self, records: &mut Vec<Sequenced>, report: &mut WorkerReport) {
        if records.is_empty() {
            return;
        }
        let batch = std::mem::take(records);
        match self.out.try_send(OutputMsg::Batch {
            worker: self.slot,
            upto: 0,
            records: batch,
        }) {
            Ok(()) => {}
            Err(TrySendError::Full(OutputMsg::Batch { records: back, .. })) => {
                report.queue_full += 1;
                *records = back;
                if records.len() > MAX_HELD {
                    let excess = records.len() - MAX_HELD;
                    if report.records_dropped == 0 {
                        tracing::error!(
                            "the output is not keeping up: alerts and flow records are being dropped (counted in stats as records_dropped)"
                        );
                    }
                    report.records_dropped += excess as u64;
                    records.drain(..excess);
                }
            }
            Err(_) => {
                tracing::error!("the output thread is gone: stopping");
                self.stop_all();
            }
        }
    }

    fn stop_all(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
