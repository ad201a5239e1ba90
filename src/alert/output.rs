//! The output thread: puts records from every worker back into input order, applies the
//! (victim, indicator) dedup window, serializes and writes NDJSON.
//!
//! Invariant: records are released in order of the packet that produced them (`seq`), and only
//! once every worker has reported progress past that point, so dedup decisions — and therefore
//! the set of alerts — do not depend on the number of workers or on thread scheduling.

use super::episode::{ContactHead, EpisodeEvent, Episodes, VictimKey};
use super::eve;
use super::record::{Record, Sequenced};
use super::sink::Sinks;
use crate::subscriber::radius::RadiusMap;
use crate::time::Timestamp;
use crossbeam_channel::Receiver;
use foldhash::HashSet;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A message to the output thread.
pub enum OutputMsg {
    /// Records from one worker, and the promise that it will send nothing with `seq < upto`.
    Batch {
        worker: usize,
        upto: u64,
        records: Vec<Sequenced>,
    },
    /// End of run: the final `stats` event (written last).
    Finish(Box<Value>),
}

#[derive(Clone, Debug)]
pub struct OutputConfig {
    pub workers: usize,
    /// Seconds of packet time.
    pub dedup_window: u64,
    /// Most (victim, indicator) pairs remembered; older ones are dropped first when full.
    pub dedup_capacity: usize,
    /// Restore input order across workers (replay). Live capture writes records as they
    /// arrive: its workers read independent links, there is no input order to restore.
    pub ordered: bool,
    /// Flush after every message when no other is waiting (live: alerts reach the SIEM at
    /// once rather than when a buffer fills).
    pub flush_when_idle: bool,
    /// Counters published as they change (for metrics and periodic stats).
    pub gauges: Option<Arc<OutputGauges>>,
    /// Subscriber maps: fill `victim.subscriber` of each record written.
    pub subscribers: Option<Arc<crate::subscriber::Subscribers>>,
    /// Keep the live subscriber map from RADIUS accounting records.
    pub radius: bool,
    pub format: AlertFormat,
    /// Write the notification list of the alerts written here at the end (`--victims`).
    pub victims: Option<std::path::PathBuf>,
}

/// The schema events are written in (`--alert-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertFormat {
    /// Suricata EVE JSON (the contract of the design; the default).
    #[default]
    Eve,
    /// Elastic Common Schema.
    Ecs,
}

/// The output thread's counters, readable while it runs.
#[derive(Debug, Default)]
pub struct OutputGauges {
    pub alerts: AtomicU64,
    pub suppressed: AtomicU64,
    pub expired: AtomicU64,
    pub events: AtomicU64,
}

impl OutputGauges {
    fn publish(&self, s: &OutputStats) {
        self.alerts.store(s.alerts, Relaxed);
        self.suppressed.store(s.suppressed, Relaxed);
        self.expired.store(s.expired, Relaxed);
        self.events.store(s.events, Relaxed);
    }
}

#[derive(Clone, Debug, Default)]
pub struct OutputStats {
    pub alerts: u64,
    pub suppressed: u64,
    /// Matches of indicators outside their validity window at packet time (not alerted).
    pub expired: u64,
    pub flow_records: u64,
    pub victims: u64,
    pub dedup_evictions: u64,
    /// Episode events written.
    pub episodes: u64,
    /// Warning events written (feed manager).
    pub events: u64,
}

/// How often the output thread wakes up to retry a receiver that is down.
const RETRY_TICK: std::time::Duration = std::time::Duration::from_millis(250);

struct Pending(Sequenced, u64);

impl Pending {
    fn key(&self) -> (u64, u8, u64, u64) {
        let (rank, flow) = match &self.0.record {
            Record::Flow(f) => (0, f.contact.flow_id),
            Record::Alert(a) => (1, a.contact.flow_id),
            Record::Radius(_) => (0, 0),
        };
        (self.0.seq, rank, flow, self.1)
    }
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        self.key() == o.key()
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap, we want the smallest key first.
        o.key().cmp(&self.key())
    }
}

/// Runs until every worker has finished and `Finish` arrived. Write errors end the run.
///
/// `events` (warnings from the feed manager) are written as they come, between records;
/// those already waiting when a message arrives go first.
pub fn run(
    rx: Receiver<OutputMsg>,
    mut events: Option<Receiver<Value>>,
    out: Sinks,
    cfg: OutputConfig,
) -> io::Result<OutputStats> {
    let mut heap: BinaryHeap<Pending> = BinaryHeap::new();
    let mut upto = vec![0u64; cfg.workers.max(1)];
    let mut arrival = 0u64;
    let mut w = Writer {
        out,
        line: Vec::with_capacity(4096),
        stats: OutputStats::default(),
        victims: HashSet::default(),
        episodes: Episodes::new(cfg.dedup_window, cfg.dedup_capacity),
        subscribers: cfg.subscribers.as_deref(),
        radius: cfg.radius.then(|| RadiusMap::new(cfg.dedup_capacity)),
        ecs: cfg.format == AlertFormat::Ecs,
        report: cfg
            .victims
            .as_ref()
            .map(|_| crate::report::victims::Collector::default()),
    };
    let mut finish: Option<Box<Value>> = None;
    loop {
        // A receiver that is down is retried even when no event comes.
        if w.out.backlog() {
            w.out.retry();
        }
        // Live packet time is the wall clock: on a quiet link, episodes still end.
        if !cfg.ordered {
            w.episodes.tick(crate::time::Timestamp::now());
            for e in w.episodes.expire() {
                w.episode(&e)?;
            }
        }
        let msg = match &events {
            Some(ev) => crossbeam_channel::select_biased! {
                recv(ev) -> e => {
                    let idle = ev.is_empty() && rx.is_empty();
                    match e {
                        Ok(v) => w.event(v)?,
                        Err(_) => events = None,
                    }
                    if cfg.flush_when_idle && idle {
                        w.out.flush()?;
                    }
                    continue;
                }
                recv(rx) -> m => m,
                default(RETRY_TICK) => continue,
            },
            None if w.out.backlog() => match rx.recv_timeout(RETRY_TICK) {
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                m => m.map_err(|_| crossbeam_channel::RecvError),
            },
            None => rx.recv(),
        };
        let Ok(msg) = msg else { break };
        match msg {
            OutputMsg::Batch {
                worker,
                upto: u,
                records,
            } => {
                for r in records {
                    if cfg.ordered {
                        arrival += 1;
                        heap.push(Pending(r, arrival));
                    } else {
                        w.record(r)?;
                    }
                }
                if let Some(slot) = upto.get_mut(worker) {
                    *slot = (*slot).max(u);
                }
            }
            OutputMsg::Finish(v) => finish = Some(v),
        }
        let low = upto.iter().copied().min().unwrap_or(0);
        while heap.peek().is_some_and(|p| p.0.seq < low) {
            if let Some(Pending(r, _)) = heap.pop() {
                w.record(r)?;
            }
        }
        if let Some(g) = &cfg.gauges {
            g.publish(&w.stats);
        }
        if cfg.flush_when_idle && rx.is_empty() {
            w.out.flush()?;
        }
        if finish.is_some() && low == u64::MAX {
            break;
        }
    }
    // Warnings raised at the very end still go out, before the final stats.
    if let Some(ev) = &events {
        while let Ok(v) = ev.try_recv() {
            w.event(v)?;
        }
    }
    // Workers that died early leave records behind: write them rather than lose them.
    while let Some(Pending(r, _)) = heap.pop() {
        w.record(r)?;
    }
    // The end: every open episode is written, before the final stats.
    for e in w.episodes.close_all() {
        w.episode(&e)?;
    }
    w.stats.victims = w.victims.len() as u64;
    w.stats.dedup_evictions = w.episodes.evictions;
    w.stats.episodes = w.episodes.written;
    if let Some(mut v) = finish {
        // One last try for spooled events first, so the counters tell how the run ended.
        w.out.retry_now();
        fill_stats(&mut v, &w.stats, &w.out);
        w.emit(&v)?;
    }
    w.out.finish()?;
    if let (Some(path), Some(r)) = (&cfg.victims, &w.report) {
        r.write_to(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("the victim report {}: {e}", path.display()),
            )
        })?;
    }
    if let Some(g) = &cfg.gauges {
        g.publish(&w.stats);
    }
    Ok(w.stats)
}

/// Adds the output thread's own counters to a `stats` event.
fn fill_stats(v: &mut Value, stats: &OutputStats, sinks: &Sinks) {
    if let Some(s) = v.get_mut("stats") {
        let outputs = sinks.stats();
        if !outputs.is_empty() {
            s["outputs"] = Value::Array(outputs);
        }
        s["alerts"] = serde_json::json!({
            "written": stats.alerts, "suppressed_duplicates": stats.suppressed,
            "expired_indicator": stats.expired,
            "distinct_victims": stats.victims, "dedup_evictions": stats.dedup_evictions,
        });
        s["episodes"] = serde_json::json!(stats.episodes);
        s["flow_records"] = serde_json::json!(stats.flow_records);
    }
}

/// The output thread's sink: the stream, and what writing a record needs and counts.
struct Writer<'a> {
    out: Sinks,
    /// The event being written, serialized.
    line: Vec<u8>,
    stats: OutputStats,
    /// Distinct victims alerted (address and VLAN/tunnel zone).
    victims: HashSet<(IpAddr, u32)>,
    /// Open contact episodes (dedup): one alert per episode.
    episodes: Episodes<ContactHead>,
    subscribers: Option<&'a crate::subscriber::Subscribers>,
    /// The live map RADIUS accounting on the wire builds (unless turned off).
    radius: Option<RadiusMap>,
    /// Write the ECS form instead of EVE.
    ecs: bool,
    /// The notification list being gathered (`--victims`).
    report: Option<crate::report::victims::Collector>,
}

impl Writer<'_> {
    /// Sends one event to every sink: EVE as built, or its ECS form.
    fn emit(&mut self, v: &Value) -> io::Result<()> {
        self.line.clear();
        if self.ecs {
            serde_json::to_writer(&mut self.line, &super::ecs::from_eve(v))?;
        } else {
            serde_json::to_writer(&mut self.line, v)?;
        }
        let kind = v.get("event_type").and_then(Value::as_str).unwrap_or("");
        self.out.send(kind, &self.line)
    }

    /// Sends an event about a contact: in EVE, serialized straight from the records; in ECS
    /// (a transform of the EVE form), through its `Value`.
    fn emit_event(&mut self, kind: &str, event: &impl serde::Serialize) -> io::Result<()> {
        if self.ecs {
            return self.emit(&serde_json::to_value(event)?);
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, event)?;
        self.out.send(kind, &self.line)
    }

    /// Writes an event from outside the packet path: a feed warning, or a periodic `stats`
    /// event (which gets the counters so far).
    fn event(&mut self, mut v: Value) -> io::Result<()> {
        if v.get("event_type").and_then(Value::as_str) == Some("stats") {
            let now = OutputStats {
                victims: self.victims.len() as u64,
                dedup_evictions: self.episodes.evictions,
                episodes: self.episodes.written,
                ..self.stats.clone()
            };
            fill_stats(&mut v, &now, &self.out);
        } else {
            self.stats.events += 1;
        }
        self.emit(&v)
    }

    /// Writes a record from a worker. An alert opens a contact episode (and is written) or
    /// folds into the open one (counted as a duplicate); alerts of indicators outside their
    /// validity are counted and dropped; a flow's end adds its traffic to its episodes.
    /// Episodes that went idle are written as packet time moves on.
    fn record(&mut self, r: Sequenced) -> io::Result<()> {
        // Who held the victim's address when the alert fired, or when the flow started.
        let (c, at) = match &r.record {
            Record::Alert(a) => (&a.contact, a.ts),
            Record::Flow(f) => (&f.contact, f.start),
            Record::Radius(m) => {
                if let Some(map) = &mut self.radius {
                    map.apply(&m.acct, m.ts);
                }
                return Ok(());
            }
        };
        let subscriber = self.subscriber(c.victim.ip, c.victim.port, at);
        let victim = match subscriber.as_ref().and_then(|s| s["id"].as_str()) {
            Some(id) => VictimKey::Subscriber(id.to_string()),
            None => VictimKey::Address(c.victim.ip, c.zone),
        };
        match &r.record {
            Record::Alert(a) => {
                let ind = &c.indicator;
                if ind.has_validity() && !ind.valid_at(&a.ts.rfc3339_secs()) {
                    self.stats.expired += 1;
                    return Ok(());
                }
                let got = self.episodes.contact(
                    (victim, &ind.value),
                    a.ts,
                    (c.flow_id, || eve::community_id_of(c)),
                    c.c2.and_then(|e| e.port),
                    || ContactHead {
                        contact: a.contact.clone(),
                        subscriber: subscriber.clone(),
                    },
                );
                for e in &got.closed {
                    self.episode(e)?;
                }
                if got.opened {
                    self.stats.alerts += 1;
                    self.victims.insert((c.victim.ip, c.zone));
                    let event = eve::AlertEvent {
                        alert: a,
                        subscriber: subscriber.as_ref(),
                    };
                    if let Some(report) = &mut self.report {
                        report.add_event(&serde_json::to_value(&event)?);
                    }
                    self.emit_event("alert", &event)?;
                } else {
                    self.stats.suppressed += 1;
                }
            }
            Record::Radius(_) => {}
            Record::Flow(f) => {
                self.stats.flow_records += 1;
                let done = self.episodes.flow_end(
                    c.flow_id,
                    f.end,
                    f.pkts[0] + f.pkts[1],
                    f.bytes[0] + f.bytes[1],
                );
                let event = eve::FlowEvent {
                    flow: f,
                    subscriber: subscriber.as_ref(),
                };
                self.emit_event("flow", &event)?;
                for e in done {
                    self.episode(&e)?;
                }
            }
        }
        for e in self.episodes.expire() {
            self.episode(&e)?;
        }
        Ok(())
    }

    /// Who held `ip` (and `port`, behind CGNAT) at `at`: `None` when no map is configured
    /// or seen, else the subscriber or `null`. The most precise source wins: a CGNAT port
    /// block, then a RADIUS session seen on the wire, then a lease file, then a static block.
    fn subscriber(&self, ip: IpAddr, port: Option<u16>, at: Timestamp) -> Option<Value> {
        let radius = self.radius.as_ref().filter(|m| !m.is_empty());
        if self.subscribers.is_none() && radius.is_none() {
            return None;
        }
        let from_maps = self.subscribers.and_then(|s| s.lookup(ip, port, at));
        if from_maps.as_ref().is_some_and(|v| v["source"] == "cgnat") {
            return from_maps;
        }
        Some(
            radius
                .and_then(|m| m.lookup(ip, at))
                .or(from_maps)
                .unwrap_or(Value::Null),
        )
    }

    /// Writes an ended episode (and adds it to the victim report).
    fn episode(&mut self, e: &EpisodeEvent<ContactHead>) -> io::Result<()> {
        if let Some(report) = &mut self.report {
            report.add_event(&e.value());
        }
        self.emit_event("episode", e)
    }
}
