//! `c2watch replay`: capture files in, alerts out. One reader (read + decode), N detection
//! workers fed by a symmetric flow hash, one output thread.
//!
//! Worker 0 runs on the reader thread itself (with one worker, that is all: no hand-off).
//! With N workers the reader keeps a smaller share of the flows for worker 0 (it also reads
//! every record and routes every packet) and sends the other workers batches over bounded
//! channels: the packets' places in shared read buffers, which each worker decodes itself.
//! The reader routes plain frames (`decode::plain`: Ethernet, IPv4, TCP or UDP) by a hash
//! read at fixed offsets, and decodes only the rest and its own share (`decode` reads a plain
//! frame at those same offsets, on whichever thread processes it). A worker's flows never
//! leave it. Every batch carries a watermark (`upto`) so the output thread can restore
//! input order. N workers are N threads: on a machine with N cores none waits for a core.

use crate::alert::output::{self, OutputConfig, OutputMsg, OutputStats};
use crate::alert::record::Sequenced;
use crate::capture::{CaptureFile, Chunk, Interfaces, Progress};
use crate::decode::plain::{Plain, decode_accepted, plain};
use crate::decode::{Decoded, walk};
use crate::detect::flow::{FlowKey, dispatch_hash, dispatch_hash_plain};
use crate::detect::flow_table::FlowHasher;
use crate::detect::{DetectConfig, HomeNet, PacketInfo, Worker, WorkerStats};
use crate::intel::Snapshot;
use crate::progress::ProgressLine;
use crate::summary::{ReadStats, RunSummary, stats_event};
use crate::time::Timestamp;
use crossbeam_channel::{Receiver, Sender, bounded};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Packets per hand-off to a worker, and between watermark updates.
const BATCH: usize = 256;
/// A worker prefetches the headers of the packet this many places ahead in its batch.
const PREFETCH_AHEAD: usize = 4;
/// How many packets ahead a worker thread asks for a packet's flow slot, and then for its
/// flow entry: the two reads of a flow lookup, each a likely cache miss (BENCHMARKS.md, ninth
/// pass), are then under way while the packets before it are processed.
const SLOT_AHEAD: usize = 8;
const ENTRY_AHEAD: usize = 4;
/// Every this many packets all workers get a watermark, even those that got no packets.
const TICK: u64 = 4096;
/// With one worker: records handed to the output thread at once, at the latest.
const INLINE_RECORDS: usize = 512;
/// With one worker: packets between hand-offs when few records are produced.
const INLINE_TICK: u64 = 1 << 16;
/// With N workers: packets between watermarks a worker without records sends the output.
const WATERMARK: u64 = 1 << 16;
/// Sequence number given to records written when input ends.
const END_SEQ: u64 = u64::MAX - 1;

pub struct ReplayConfig {
    pub inputs: Vec<String>,
    pub workers: usize,
    pub detect: DetectConfig,
    pub dedup_capacity: usize,
    pub progress: bool,
    /// Warning events to write into the alert stream (from the feed manager).
    pub events: Option<crossbeam_channel::Receiver<serde_json::Value>>,
    /// Subscriber maps for `victim.subscriber` (none given: always `null`).
    pub subscribers: Option<Arc<crate::subscriber::Subscribers>>,
    pub format: crate::alert::output::AlertFormat,
    /// Where to write the notification list at the end (`--victims`).
    pub victims: Option<std::path::PathBuf>,
    /// How the work is spread and scheduled (the defaults are the measured best).
    pub tuning: Tuning,
}

/// Settings that change how fast a replay runs, never what it finds: the defaults are what
/// BENCHMARKS.md measured best on the project's machine; `bench_replay` varies them to
/// measure them again.
#[derive(Clone, Copy, Debug)]
pub struct Tuning {
    /// Worker threads ask for each coming packet's flow a few packets ahead of its turn
    /// (`SLOT_AHEAD`, `ENTRY_AHEAD`).
    pub flow_prefetch: bool,
    /// With several workers, the share of flows the reader thread keeps for its own worker,
    /// relative to an even share (it also reads and routes every packet). Clamped to
    /// 0.01..=1; not a number: the default.
    pub reader_share: f64,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            flow_prefetch: true,
            reader_share: READER_SHARE,
        }
    }
}

#[derive(Debug)]
pub enum ReplayError {
    /// Writing alerts failed (disk full, closed pipe, ...).
    Output(std::io::Error),
    /// A thread died unexpectedly.
    Internal(String),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Output(e) => write!(f, "cannot write alerts: {e}"),
            ReplayError::Internal(e) => write!(f, "internal error: {e}"),
        }
    }
}

/// A packet's bytes where the reader read them: a shared buffer (no copy) and where in it.
struct Raw<'a> {
    buf: &'a Arc<Chunk>,
    at: usize,
    len: usize,
}

/// Where decoded packets go.
trait PacketSink {
    /// `payload` is the packet's transport payload (empty when none was captured). Returns
    /// false to stop reading (the consumer is gone).
    fn packet(&mut self, info: PacketInfo, d: &Decoded, payload: &[u8], raw: Raw<'_>) -> bool;
    /// A packet [`Self::plain`] left to the reader thread: one of its own flows, known
    /// without hashing it again.
    #[inline(always)]
    fn own(&mut self, info: PacketInfo, d: &Decoded, payload: &[u8], raw: Raw<'_>) -> bool {
        self.packet(info, d, payload, raw)
    }
    /// `upto`: no later packet has a smaller sequence number.
    fn tick(&mut self, upto: u64, force: bool) -> bool;
    /// A plain frame (`decode::plain`), not decoded yet. `None`: the sink does not take it,
    /// it is one of the reader thread's own (the reader decodes it and calls [`Self::own`]);
    /// `Some(false)`: taken, and reading should stop.
    fn plain(&mut self, _info: PacketInfo, _p: &Plain, _raw: Raw<'_>) -> Option<bool> {
        None
    }
}

/// One worker, running on the reader thread.
struct Inline {
    worker: Worker,
    records: Vec<Sequenced>,
    out: Sender<OutputMsg>,
}

impl PacketSink for Inline {
    #[inline]
    fn packet(&mut self, info: PacketInfo, d: &Decoded, payload: &[u8], _raw: Raw<'_>) -> bool {
        self.worker
            .process_contained(&info, d, payload, &mut self.records);
        true
    }

    fn tick(&mut self, upto: u64, force: bool) -> bool {
        self.worker.begin_batch();
        // One worker's records are already in input order: they go out in batches, so the
        // output thread is woken once per batch of records, not once per batch of packets.
        if !force && self.records.len() < INLINE_RECORDS && !upto.is_multiple_of(INLINE_TICK) {
            return true;
        }
        let records = std::mem::take(&mut self.records);
        self.out
            .send(OutputMsg::Batch {
                worker: 0,
                upto,
                records,
            })
            .is_ok()
    }
}

/// One packet for a worker: where its bytes are. A plain frame travels undecoded (the reader's
/// [`plain`] accepted it; the worker writes it out in parallel with the reader, without
/// checking it again); a frame the reader had to decode to route it (VLAN tags, tunnels,
/// IPv6, ...) travels with its decoded form, not decoded twice. 56 bytes, less than a cache
/// line: the reader writes one per packet and another core reads it.
struct WorkItem {
    info: PacketInfo,
    /// Index into the batch's buffers.
    buf: u32,
    at: u32,
    len: u32,
    /// 1 + index into the batch's decoded frames when the reader decoded this one (a frame
    /// that is not plain: it needed the decode to route it); `None`: a plain frame, which the
    /// reader's [`plain`] accepted and the worker only writes out.
    decoded: Option<std::num::NonZeroU32>,
    /// The packet's flow key hashed as the worker's flow table hashes it: the worker asks
    /// for the flow's slot and entry a few packets ahead with it (a hint only: the lookup
    /// hashes the key itself). 0: none, no prefetch.
    flow_hash: u64,
}

/// Packets for one worker, with the read buffers their bytes are in.
struct WorkBatch {
    items: Vec<WorkItem>,
    bufs: Vec<Arc<Chunk>>,
    /// Frames the reader decoded (see [`WorkItem::decoded`]).
    decoded: Vec<Decoded>,
    upto: u64,
    /// Latest packet time read so far (all workers end the run with the same clock).
    clock: Timestamp,
}

impl WorkBatch {
    fn new() -> WorkBatch {
        WorkBatch {
            items: Vec::with_capacity(BATCH),
            bufs: Vec::new(),
            decoded: Vec::new(),
            upto: 0,
            clock: Timestamp::default(),
        }
    }

    /// Empties the batch (its buffers are released) for reuse.
    fn clear(&mut self) {
        self.items.clear();
        self.bufs.clear();
        self.decoded.clear();
    }

    /// The bytes of the batch's buffers, resolved once for all its packets.
    fn buffers(&self) -> Vec<&[u8]> {
        self.bufs.iter().map(|b| &***b).collect()
    }

    /// Decodes and processes every packet of the batch.
    fn process(
        &self,
        worker: &mut Worker,
        d: &mut Decoded,
        records: &mut Vec<Sequenced>,
        undecoded: &mut Undecoded,
    ) {
        let bufs = self.buffers();
        let bytes = |item: &WorkItem| {
            let start = item.at as usize;
            bufs.get(item.buf as usize)
                .and_then(|b| b.get(start..start + item.len as usize))
                .unwrap_or(&[])
        };
        for (i, item) in self.items.iter().enumerate() {
            // The reader's core wrote these bytes: ask for a later packet's headers now, so
            // they are here when its turn comes. And the two reads of later packets' flow
            // lookups: the slot first, its entry once that slot has had time to arrive.
            if let Some(ahead) = self.items.get(i + PREFETCH_AHEAD) {
                crate::sys::prefetch(bytes(ahead));
            }
            if let Some(ahead) = self.items.get(i + ENTRY_AHEAD).filter(|a| a.flow_hash != 0) {
                worker.prefetch_flow_entry(ahead.flow_hash);
            }
            if let Some(ahead) = self.items.get(i + SLOT_AHEAD).filter(|a| a.flow_hash != 0) {
                worker.prefetch_flow_slot(ahead.flow_hash);
            }
            let data = bytes(item);
            let d: &Decoded = match item.decoded {
                Some(i) => {
                    // The reader pushed it with this index: always there.
                    let Some(pre) = self.decoded.get(i.get() as usize - 1) else {
                        undecoded.issues[crate::decode::DecodeIssue::Contained.index()] += 1;
                        continue;
                    };
                    pre
                }
                None => {
                    // A plain frame, checked by the reader's `plain` on these same (shared,
                    // unchanging) bytes: only written out here, at its fixed offsets. A
                    // decoder panic would be a bug, contained and counted as on the reader.
                    if !undecoded
                        .faults
                        .contain(item.info.seq, || decode_accepted(data, d))
                        .unwrap_or(false)
                    {
                        undecoded.issues[crate::decode::DecodeIssue::Contained.index()] += 1;
                        continue;
                    }
                    d
                }
            };
            let (off, len) = (d.payload.0 as usize, d.payload.1 as usize);
            let payload = data.get(off..off + len).unwrap_or(&[]);
            worker.process_contained(&item.info, d, payload, records);
        }
    }
}

/// Frames a worker thread could not decode: by [`crate::decode::DecodeIssue`], and the
/// decoder panics it contained. They join the reader's counts at the end.
#[derive(Default)]
struct Undecoded {
    issues: [u64; crate::decode::DecodeIssue::ALL.len()],
    faults: crate::detect::fault::Faults,
}

impl Undecoded {
    fn add_to(&self, read: &mut ReadStats) {
        for (total, n) in read.decode.iter_mut().zip(self.issues) {
            *total += n;
        }
        read.faults.merge(&self.faults);
    }
}

/// Which worker owns each of [`ROUTE_BUCKETS`] slices of the dispatch hash, for `n` workers.
/// Worker 0 runs on the reader thread, which also reads and decodes every packet: it gets a
/// smaller share (`share` of an even one), the other workers split the rest evenly.
/// The table only decides load: any assignment gives the same alerts (flows never move).
fn route(n: usize, share: f64) -> Vec<u16> {
    let n = n.clamp(1, usize::from(u16::MAX));
    if n == 1 {
        return vec![0; ROUTE_BUCKETS];
    }
    let share = if share.is_finite() {
        share.clamp(0.01, 1.0)
    } else {
        READER_SHARE
    };
    let own = ((ROUTE_BUCKETS as f64 * share / n as f64).round() as usize).max(1);
    (0..ROUTE_BUCKETS)
        .map(|b| {
            if b < own {
                0
            } else {
                (1 + (b - own) % (n - 1)) as u16
            }
        })
        .collect()
}

/// Slices of the dispatch hash that [`route`] assigns.
const ROUTE_BUCKETS: usize = 1024;
/// Worker 0's share of flows relative to an even share. The reader thread also reads every
/// record and routes every packet (plain frames without a decode), so on the project's 2-core
/// machine 0.4 of an even share (20% of flows with 2 workers) balances it against the other
/// worker: measured against 0.25, 0.5 and 0.6 (BENCHMARKS.md).
const READER_SHARE: f64 = 0.4;

/// Hands packets to N workers by a hash of the flow's client side (see [`dispatch_hash`]):
/// worker 0 on the reader thread itself, the others on threads of their own.
struct Dispatch {
    local: Inline,
    route: Vec<u16>,
    /// Workers 1.. (index `w - 1`).
    senders: Vec<Sender<WorkBatch>>,
    /// Their flow tables' key hashes (same index); none: no flow prefetch, every item's
    /// `flow_hash` is 0.
    hashers: Vec<FlowHasher>,
    pending: Vec<WorkBatch>,
    /// Batches the workers are done with.
    spare: Receiver<WorkBatch>,
    home: HomeNet,
    next_seq: u64,
    clock: Timestamp,
}

impl Dispatch {
    #[inline(never)]
    fn send(&mut self, w: usize, upto: u64) -> bool {
        let fresh = self.spare.try_recv().unwrap_or_else(|_| WorkBatch::new());
        let mut batch = std::mem::replace(&mut self.pending[w], fresh);
        batch.upto = upto;
        batch.clock = self.clock;
        self.senders[w].send(batch).is_ok()
    }
}

impl Dispatch {
    /// The worker owning a flow with this dispatch hash (0: the reader thread's own).
    #[inline]
    fn owner(&mut self, hash: u64, info: &PacketInfo) -> usize {
        self.next_seq = info.seq + 1;
        if info.ts > self.clock {
            self.clock = info.ts;
        }
        let bucket = (hash % ROUTE_BUCKETS as u64) as usize;
        self.route.get(bucket).map_or(0, |w| usize::from(*w))
    }

    /// Queues a packet for worker `w` (1..): where its bytes are, and its decoded form when
    /// the reader has one (else the worker decodes the bytes).
    #[inline(always)]
    fn hand_off(
        &mut self,
        w: usize,
        info: PacketInfo,
        raw: Raw<'_>,
        decoded: Option<&Decoded>,
        plain: Option<&Plain>,
    ) -> bool {
        let w = w - 1;
        // The flow key is built only for a worker that prefetches with its hash.
        let flow_hash = match (plain, self.hashers.get(w)) {
            (Some(p), Some(h)) => h.hash(&FlowKey::of_plain(p)),
            _ => 0,
        };
        let batch = &mut self.pending[w];
        let decoded = decoded.and_then(|d| {
            batch.decoded.push(*d);
            std::num::NonZeroU32::new(batch.decoded.len() as u32)
        });
        if !batch.bufs.last().is_some_and(|b| Arc::ptr_eq(b, raw.buf)) {
            batch.bufs.push(raw.buf.clone());
        }
        batch.items.push(WorkItem {
            info,
            buf: (batch.bufs.len() - 1) as u32,
            at: raw.at as u32,
            len: raw.len as u32,
            decoded,
            flow_hash,
        });
        if batch.items.len() >= BATCH {
            return self.send(w, self.next_seq);
        }
        true
    }
}

impl PacketSink for Dispatch {
    #[inline]
    fn packet(&mut self, info: PacketInfo, d: &Decoded, payload: &[u8], raw: Raw<'_>) -> bool {
        match self.owner(dispatch_hash(d, &self.home), &info) {
            0 => self.local.packet(info, d, payload, raw),
            w => self.hand_off(w, info, raw, Some(d), None),
        }
    }

    #[inline(always)]
    fn own(&mut self, info: PacketInfo, d: &Decoded, payload: &[u8], raw: Raw<'_>) -> bool {
        self.local.packet(info, d, payload, raw)
    }

    /// A plain frame for another worker is handed off undecoded (that worker decodes it);
    /// one of the reader thread's own flows is decoded here as usual.
    #[inline(always)]
    fn plain(&mut self, info: PacketInfo, p: &Plain, raw: Raw<'_>) -> Option<bool> {
        match self.owner(dispatch_hash_plain(p, &self.home), &info) {
            0 => None,
            w => Some(self.hand_off(w, info, raw, None, Some(p))),
        }
    }

    fn tick(&mut self, upto: u64, force: bool) -> bool {
        if !self.local.tick(upto, force) {
            return false;
        }
        if !force && !upto.is_multiple_of(TICK) {
            return true;
        }
        (0..self.senders.len()).all(|w| self.send(w, upto))
    }
}

fn basename(path: &str) -> String {
    if path == "-" {
        return "stdin".into();
    }
    std::path::Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
        .to_string()
}

/// Reads every input in order, decodes, and feeds the sink.
fn read_inputs<S: PacketSink>(
    inputs: &[String],
    progress: &Progress,
    ifaces: &Interfaces,
    counter: &AtomicU64,
    stats: &mut ReadStats,
    sink: &mut S,
) {
    let mut seq: u64 = 0;
    let mut decoded = Decoded::default();
    'files: for path in inputs {
        stats.files += 1;
        let mut file = match CaptureFile::open(path, progress) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!("{e}");
                stats.files_unreadable += 1;
                stats.errors.push(e);
                continue;
            }
        };
        tracing::info!(
            "reading {} ({:?}{})",
            file.name(),
            file.format(),
            if file.compressed() {
                ", compressed"
            } else {
                ""
            }
        );
        let base = basename(path);
        let mut iface_ids: Vec<Option<u16>> = Vec::new();
        let mut in_file = 0u64;
        loop {
            let p = match file.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(
                        "{e}: the rest of this file is skipped; {in_file} packets before it were processed"
                    );
                    stats.files_cut_short += 1;
                    stats.errors.push(e);
                    break;
                }
            };
            // A plain frame another worker owns is handed to it undecoded (it decodes it);
            // the others are decoded here, plain ones at fixed offsets.
            let fast = plain(p.linktype, p.data);
            let slot = p.iface as usize;
            if iface_ids.len() <= slot {
                iface_ids.resize(slot.min(4096) + 1, None);
            }
            let iface = match iface_ids.get(slot).copied().flatten() {
                Some(id) => id,
                None => {
                    let name = match p.iface_name {
                        Some(n) => n.to_string(),
                        None if p.iface == 0 => base.clone(),
                        None => format!("{base}:{}", p.iface),
                    };
                    let id = ifaces.register(&name);
                    if let Some(s) = iface_ids.get_mut(slot) {
                        *s = Some(id);
                    }
                    id
                }
            };
            let (ts, orig_len, linktype, len) = (p.ts, p.orig_len, p.linktype, p.data.len());
            let info = PacketInfo {
                seq,
                ts,
                iface,
                orig_len,
            };
            seq += 1;
            in_file += 1;
            stats.packets += 1;
            stats.bytes += u64::from(orig_len);
            if stats.first_ts.is_none() {
                stats.first_ts = Some(ts);
            }
            if stats.last_ts.is_none_or(|l| ts > l) {
                stats.last_ts = Some(ts);
            }
            // A plain frame the sink did not take is one of the reader thread's own flows.
            let own = fast.is_some();
            let taken = fast.as_ref().and_then(|fast| {
                let (buf, at) = file.last_packet_buffer();
                let raw = Raw { buf, at, len };
                sink.plain(info, fast, raw)
            });
            match taken {
                Some(true) => {}
                Some(false) => break 'files,
                None => {
                    // A decoder bug is contained like one in detection: counted, the packet
                    // skipped.
                    let (buf, at) = file.last_packet_buffer();
                    let data = buf.get(at..at + len).unwrap_or(&[]);
                    let result = match &fast {
                        Some(_) if decode_accepted(data, &mut decoded) => Ok(()),
                        // `plain` read these bytes: a plain frame is never too short.
                        Some(_) => Err(crate::decode::DecodeIssue::Contained),
                        // Known not to be plain: walked without asking `plain` again.
                        None => stats
                            .faults
                            .contain(info.seq, || walk(linktype, data, &mut decoded))
                            .unwrap_or(Err(crate::decode::DecodeIssue::Contained)),
                    };
                    match result {
                        Ok(()) => {
                            let (off, plen) =
                                (decoded.payload.0 as usize, decoded.payload.1 as usize);
                            let payload = data.get(off..off + plen).unwrap_or(&[]);
                            let raw = Raw { buf, at, len };
                            let go_on = if own {
                                sink.own(info, &decoded, payload, raw)
                            } else {
                                sink.packet(info, &decoded, payload, raw)
                            };
                            if !go_on {
                                break 'files;
                            }
                        }
                        Err(issue) => stats.decode[issue.index()] += 1,
                    }
                }
            }
            if seq.is_multiple_of(BATCH as u64) {
                counter.store(seq, Ordering::Relaxed);
                if !sink.tick(seq, false) {
                    break 'files;
                }
            }
        }
    }
    counter.store(seq, Ordering::Relaxed);
    sink.tick(seq, true);
}

/// Runs a replay to the end and returns its summary. Alerts go to `out`.
pub fn run(
    cfg: ReplayConfig,
    snapshot: Snapshot,
    out: crate::alert::sink::Sinks,
) -> Result<RunSummary, ReplayError> {
    let workers = cfg.workers.max(1);
    let indicators = snapshot.load().len();
    let ifaces = Interfaces::default();
    let mut detect = cfg.detect.clone();
    detect.max_flows = (detect.max_flows / workers).max(1024);
    let detect = Arc::new(detect);
    let (out_tx, out_rx) = bounded::<OutputMsg>(1024);
    let events = cfg.events.clone();
    let out_cfg = OutputConfig {
        workers,
        dedup_window: cfg.detect.dedup_window,
        dedup_capacity: cfg.dedup_capacity,
        ordered: true,
        flush_when_idle: false,
        gauges: None,
        subscribers: cfg.subscribers.clone(),
        radius: cfg.detect.radius,
        format: cfg.format,
        victims: cfg.victims.clone(),
    };
    let output = std::thread::Builder::new()
        .name("output".into())
        .spawn(move || output::run(out_rx, events, out, out_cfg))
        .map_err(|e| ReplayError::Internal(format!("cannot start output thread: {e}")))?;

    let progress = Progress::default();
    let counter = Arc::new(AtomicU64::new(0));
    let total: u64 = cfg
        .inputs
        .iter()
        .filter(|p| *p != "-")
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let bar = (cfg.progress && std::io::stderr().is_terminal())
        .then(|| ProgressLine::start(progress.clone(), counter.clone(), total));
    let started = Instant::now();
    let mut read = ReadStats::default();
    let mut work: WorkerStats;

    if workers == 1 {
        let mut sink = Inline {
            worker: Worker::new(detect, snapshot, ifaces.clone()),
            records: Vec::new(),
            out: out_tx.clone(),
        };
        read_inputs(
            &cfg.inputs,
            &progress,
            &ifaces,
            &counter,
            &mut read,
            &mut sink,
        );
        sink.worker
            .finish(END_SEQ, read.last_ts.unwrap_or_default(), &mut sink.records);
        let records = std::mem::take(&mut sink.records);
        let _ = out_tx.send(OutputMsg::Batch {
            worker: 0,
            upto: u64::MAX,
            records,
        });
        work = sink.worker.stats();
    } else {
        let mut senders = Vec::with_capacity(workers);
        let mut hashers = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        // Emptied batches go back to the reader, which refills them: no allocation (and no
        // fresh pages to fault in) per batch.
        let (back, spare) = bounded::<WorkBatch>(16 * workers + workers);
        for id in 1..workers {
            let (tx, rx) = bounded::<WorkBatch>(16);
            senders.push(tx);
            let back = back.clone();
            let mut worker = Worker::new(detect.clone(), snapshot.clone(), ifaces.clone());
            if cfg.tuning.flow_prefetch {
                hashers.push(worker.flow_hasher());
            }
            let out = out_tx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("worker-{id}"))
                .spawn(move || {
                    let mut records = Vec::new();
                    let mut clock = Timestamp::default();
                    let mut told = 0u64;
                    let mut decoded = Decoded::default();
                    let mut undecoded = Undecoded::default();
                    for mut batch in rx.iter() {
                        clock = clock.max(batch.clock);
                        worker.begin_batch();
                        batch.process(&mut worker, &mut decoded, &mut records, &mut undecoded);
                        // The output thread hears from a worker when it has records, and
                        // otherwise once per WATERMARK packets: every message wakes it.
                        let upto = batch.upto;
                        batch.clear();
                        let _ = back.try_send(batch);
                        if records.is_empty() && upto / WATERMARK == told / WATERMARK {
                            continue;
                        }
                        told = upto;
                        if out
                            .send(OutputMsg::Batch {
                                worker: id,
                                upto,
                                records: std::mem::take(&mut records),
                            })
                            .is_err()
                        {
                            break;
                        }
                    }
                    worker.finish(END_SEQ, clock, &mut records);
                    let _ = out.send(OutputMsg::Batch {
                        worker: id,
                        upto: u64::MAX,
                        records,
                    });
                    (worker.stats(), undecoded)
                })
                .map_err(|e| ReplayError::Internal(format!("cannot start worker thread: {e}")))?;
            handles.push(handle);
        }
        let mut sink = Dispatch {
            local: Inline {
                worker: Worker::new(detect.clone(), snapshot.clone(), ifaces.clone()),
                records: Vec::new(),
                out: out_tx.clone(),
            },
            route: route(workers, cfg.tuning.reader_share),
            pending: (1..workers).map(|_| WorkBatch::new()).collect(),
            senders,
            hashers,
            spare,
            home: cfg.detect.home_net.clone(),
            next_seq: 0,
            clock: Timestamp::default(),
        };
        read_inputs(
            &cfg.inputs,
            &progress,
            &ifaces,
            &counter,
            &mut read,
            &mut sink,
        );
        let mut local = sink.local;
        drop(sink.senders);
        local.worker.finish(
            END_SEQ,
            read.last_ts.unwrap_or_default(),
            &mut local.records,
        );
        let _ = out_tx.send(OutputMsg::Batch {
            worker: 0,
            upto: u64::MAX,
            records: std::mem::take(&mut local.records),
        });
        work = local.worker.stats();
        for h in handles {
            match h.join() {
                Ok((s, undecoded)) => {
                    work.merge(&s);
                    undecoded.add_to(&mut read);
                }
                Err(_) => return Err(ReplayError::Internal("a worker thread panicked".into())),
            }
        }
    }
    let elapsed = started.elapsed();
    drop(bar);
    let _ = out_tx.send(OutputMsg::Finish(Box::new(stats_event(
        &read, &work, elapsed, indicators, workers,
    ))));
    drop(out_tx);
    let output: OutputStats = match output.join() {
        Ok(r) => r.map_err(ReplayError::Output)?,
        Err(_) => return Err(ReplayError::Internal("the output thread panicked".into())),
    };
    Ok(RunSummary {
        read,
        work,
        output,
        elapsed,
        indicators,
        workers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_work_item_is_one_cache_line_at_most() {
        // The reader writes one per packet handed off and another core reads it: its size is
        // the hand-off's memory traffic per packet (BENCHMARKS.md, seventh and ninth passes).
        assert!(std::mem::size_of::<WorkItem>() <= 56);
    }

    #[test]
    fn route_gives_the_reader_thread_a_smaller_share() {
        assert!(route(1, READER_SHARE).iter().all(|w| *w == 0));
        // Any share the tuning may give: out-of-range ones are clamped, NaN is the default.
        for share in [0.0, 0.2, 1.0, 5.0, f64::NAN] {
            let r = route(2, share);
            let own = r.iter().filter(|w| **w == 0).count();
            assert!((1..=ROUTE_BUCKETS / 2).contains(&own), "{share}: {own}");
        }
        assert_eq!(route(2, f64::NAN), route(2, READER_SHARE));
        for n in 2..=8usize {
            let r = route(n, READER_SHARE);
            assert_eq!(r.len(), ROUTE_BUCKETS);
            let count = |w: u16| r.iter().filter(|x| **x == w).count();
            let even = ROUTE_BUCKETS / n;
            assert!(count(0) >= 1 && count(0) < even, "n={n}: {}", count(0));
            let others: Vec<usize> = (1..n as u16).map(count).collect();
            let (lo, hi) = (others.iter().min().unwrap(), others.iter().max().unwrap());
            assert!(hi - lo <= 1, "n={n}: {others:?}");
            assert_eq!(count(0) + others.iter().sum::<usize>(), ROUTE_BUCKETS);
        }
    }
}
