//! The feed manager: owns the feed definitions and their last good copies, builds each new
//! [`IndicatorSet`](super::IndicatorSet) off the packet path, and swaps it in atomically;
//! workers pick it up at their next batch.
//!
//! It reloads on SIGHUP (every source refreshed), when a local feed file changes and then
//! stays unchanged for one poll, and when a feed's `refresh` interval is due (that feed's
//! server is contacted; the others use their cached copies). It warns — in the log and as a
//! `warning` event in the alert stream — when a feed goes stale (its refresh failed and its
//! last good copy is in use) and when a feed has not been updated for longer than its
//! `max_age`.
//!
//! Invariants: a feed that fails keeps its last good version, so one broken feed never
//! costs the others' coverage; a reload that cannot build a set at all changes nothing (the
//! running set stays, and the failure is logged).

use super::feed::{self, FeedDef, FeedError, FeedReport, LoadOptions, Role};
use super::keep::{Fingerprint, Keep};
use super::set::Part;
use super::{IndicatorSet, IndicatorSetBuilder, Loaded, Snapshot};
use crate::time::Timestamp;
use crossbeam_channel::Sender;
use serde_json::{Value, json};
use signal_hook::consts::SIGHUP;
use signal_hook::iterator::{Handle, Signals};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// How often SIGHUP, the feed files, the refresh schedule and feed ages are checked.
const POLL: Duration = Duration::from_millis(500);

/// Which servers a load contacts.
#[derive(Clone, Debug, PartialEq)]
pub enum Refresh {
    /// Every remote feed (start-up, SIGHUP).
    All,
    /// Only these feeds (indices into the indicator feeds); the rest use cached copies.
    Due(Vec<usize>),
}

/// What the manager remembers of one feed between loads.
#[derive(Default)]
struct Status {
    /// Why the last refresh failed, while it does.
    stale: Option<String>,
    /// When the feed was last updated (see [`FeedReport::modified`]).
    updated: Option<SystemTime>,
    /// A max-age warning was raised for this `updated`.
    warned_age: bool,
    next_refresh: Option<Instant>,
}

pub struct FeedManager {
    intel: Vec<FeedDef>,
    allow: Vec<FeedDef>,
    keep: Option<Keep>,
    status: Vec<Status>,
    events: Option<Sender<Value>>,
    generation: u64,
    /// What each feed (indicator feeds, then allowlists) last built, and its reports.
    parts: Vec<Option<Arc<Part>>>,
    last_reports: Vec<Vec<FeedReport>>,
    /// The reports of the last successful load, for readers on other threads (metrics).
    published: FeedBoard,
}

/// The feed reports of the set in use (updated at every successful load).
pub type FeedBoard = Arc<std::sync::Mutex<Vec<FeedReport>>>;

impl FeedManager {
    /// A manager for these feeds and allowlist specs. With `keep_dir`, local feeds are read
    /// through last good copies kept there (for a process that reloads); without, as they are.
    pub fn new(
        intel: Vec<FeedDef>,
        allow: &[String],
        keep_dir: Option<&std::path::Path>,
    ) -> Result<FeedManager, String> {
        let allow = allow
            .iter()
            .map(|s| FeedDef::from_spec(s).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let keep = keep_dir
            .map(Keep::new)
            .transpose()
            .map_err(|e| format!("cannot create the folder for last good feed copies: {e}"))?;
        let status = intel.iter().map(|_| Status::default()).collect();
        Ok(FeedManager {
            intel,
            allow,
            keep,
            status,
            events: None,
            generation: 0,
            parts: Vec::new(),
            last_reports: Vec::new(),
            published: FeedBoard::default(),
        })
    }

    /// Sends `warning` events to the alert stream from now on.
    pub fn send_events(&mut self, events: Sender<Value>) {
        self.events = Some(events);
    }

    /// Where each successful load publishes its feed reports.
    pub fn board(&self) -> FeedBoard {
        self.published.clone()
    }

    /// The generation the last successful load built.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Local sources and their fingerprints now (for change detection).
    fn fingerprints(&self) -> Vec<Option<Fingerprint>> {
        self.intel
            .iter()
            .chain(&self.allow)
            .filter(|d| !d.source.starts_with("http://") && !d.source.starts_with("https://"))
            .map(|d| Fingerprint::of(std::path::Path::new(&d.source)))
            .collect()
    }

    /// Loads every feed into a new set of the next generation. A feed whose last good copy
    /// is what its part was built from (unchanged, or its refresh failed) is not read again:
    /// the new set shares that part with the running one.
    pub fn load(&mut self, refresh: &Refresh) -> Result<Loaded, FeedError> {
        let n = self.intel.len() + self.allow.len();
        self.parts.resize(n, None);
        self.last_reports.resize(n, Vec::new());
        let mut parts = Vec::with_capacity(n);
        let mut reports = Vec::new();
        let mut per_feed = Vec::with_capacity(self.intel.len());
        let mut reused = 0;
        let defs = self
            .intel
            .iter()
            .map(|d| (d, Role::Indicators))
            .chain(self.allow.iter().map(|d| (d, Role::Allowlist)));
        for (i, (def, role)) in defs.enumerate() {
            let mut builder = match &self.parts[i] {
                Some(p) => IndicatorSetBuilder::sized_like(p),
                None => IndicatorSetBuilder::new(),
            };
            let mut opts = LoadOptions {
                keep: self.keep.as_mut(),
                fetch_remote: match refresh {
                    Refresh::All => true,
                    Refresh::Due(due) => due.contains(&i),
                },
                reuse: self.parts[i].is_some(),
                reused: false,
            };
            let mut r = feed::load_def_with(def, role, &mut builder, &mut opts)?;
            let part = match (&self.parts[i], opts.reused) {
                (Some(previous), true) => {
                    reused += 1;
                    // The counts are the last load's; staleness and age are now.
                    let now = r.first().cloned().unwrap_or_default();
                    r = self.last_reports[i].clone();
                    for x in &mut r {
                        x.stale = now.stale.clone();
                        x.modified = now.modified.or(x.modified);
                    }
                    previous.clone()
                }
                _ => Arc::new(builder.build_part()),
            };
            self.parts[i] = Some(part.clone());
            self.last_reports[i] = r.clone();
            parts.push(part);
            if role == Role::Indicators {
                per_feed.push(r.clone());
            }
            reports.extend(r);
        }
        if reused > 0 {
            tracing::debug!(
                "{reused} feed(s) unchanged: their indicators are shared, not reloaded"
            );
        }
        self.generation += 1;
        let now = Instant::now();
        for (i, r) in per_feed.iter().enumerate() {
            let fetched = match refresh {
                Refresh::All => true,
                Refresh::Due(due) => due.contains(&i),
            };
            self.note(i, r, fetched, now);
        }
        match self.published.lock() {
            Ok(mut b) => *b = reports.clone(),
            Err(poisoned) => *poisoned.into_inner() = reports.clone(),
        }
        Ok(Loaded {
            set: IndicatorSet::assemble(self.generation, parts),
            reports,
        })
    }

    /// Records what feed `i` loaded; warns when it went stale.
    fn note(&mut self, i: usize, reports: &[FeedReport], fetched: bool, now: Instant) {
        let (Some(def), Some(st)) = (self.intel.get(i), self.status.get_mut(i)) else {
            return;
        };
        let stale = reports.iter().find_map(|r| r.stale.clone());
        let updated = reports.iter().filter_map(|r| r.modified).max();
        if updated != st.updated {
            st.warned_age = false;
        }
        st.updated = updated;
        if fetched && let Some(every) = def.refresh {
            st.next_refresh = Some(now + every);
        }
        let name = reports
            .first()
            .map_or_else(|| def.source.clone(), |r| r.name.clone());
        match (&st.stale, stale) {
            (None, Some(why)) => {
                st.stale = Some(why.clone());
                let msg = format!("feed {name} is stale: {why}; its last good copy stays in use");
                let ev = json!({"kind": "feed_stale", "feed": name, "source": def.source, "reason": why});
                self.warn(msg, ev);
            }
            (Some(_), None) => {
                tracing::info!("feed {name} refreshed again");
                if let Some(st) = self.status.get_mut(i) {
                    st.stale = None;
                }
            }
            _ => {}
        }
    }

    /// Warns once about each feed not updated within its `max_age` (until it is updated).
    pub fn check_ages(&mut self, now: SystemTime) {
        let mut warnings = Vec::new();
        for (def, st) in self.intel.iter().zip(&mut self.status) {
            let (Some(max), Some(updated)) = (def.max_age, st.updated) else {
                continue;
            };
            let age = now.duration_since(updated).unwrap_or_default();
            if age <= max || st.warned_age {
                continue;
            }
            st.warned_age = true;
            let name = def.name.clone().unwrap_or_else(|| def.source.clone());
            let last = unix_secs(updated).rfc3339_secs();
            warnings.push((
                format!(
                    "feed {name} was last updated {last}, {} s ago: older than its max_age of {} s",
                    age.as_secs(),
                    max.as_secs()
                ),
                json!({"kind": "feed_max_age", "feed": name, "source": def.source,
                    "last_update": last, "age_s": age.as_secs(), "max_age_s": max.as_secs()}),
            ));
        }
        for (msg, ev) in warnings {
            self.warn(msg, ev);
        }
    }

    fn warn(&self, message: String, mut warning: Value) {
        tracing::warn!("{message}");
        warning["message"] = Value::String(message);
        if let Some(tx) = &self.events {
            let now = unix_secs(SystemTime::now());
            let _ = tx.send(json!({
                "timestamp": now.eve().to_string(),
                "event_type": "warning",
                "warning": warning,
                "generation": self.generation,
            }));
        }
    }

    /// Feeds whose `refresh` is due at `now`.
    fn due(&self, now: Instant) -> Vec<usize> {
        self.status
            .iter()
            .enumerate()
            .filter(|(_, s)| s.next_refresh.is_some_and(|t| t <= now))
            .map(|(i, _)| i)
            .collect()
    }

    /// Loads the feeds again and swaps the new set in; returns the generation in use.
    pub fn reload(&mut self, refresh: &Refresh, snapshot: &Snapshot) -> u64 {
        let current = snapshot.load().generation();
        let started = Instant::now();
        match self.load(refresh) {
            Ok(loaded) => {
                let generation = loaded.set.generation();
                let stale = loaded.reports.iter().filter(|r| r.stale.is_some()).count();
                let (n, allow) = (loaded.set.len(), loaded.set.allow_len());
                // Swap first, then say so: whoever reads the log line sees the new set in use.
                snapshot.store(Arc::new(loaded.set));
                tracing::info!(
                    "reloaded: {n} indicators, {allow} allowlist entries, generation {generation} ({stale} stale feed(s)) in {:.1} ms",
                    started.elapsed().as_secs_f64() * 1e3
                );
                self.check_ages(SystemTime::now());
                generation
            }
            Err(e) => {
                tracing::warn!("reload failed, generation {current} stays in use: {e}");
                current
            }
        }
    }
}

fn unix_secs(t: SystemTime) -> Timestamp {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Timestamp::new(secs as i64, 0)
}

/// What is watched from before the first load: SIGHUP is caught (a signal sent while the
/// feeds load is not fatal; it reloads as soon as the [`Reloader`] runs), and the feed files
/// are fingerprinted (a change during the first load is noticed).
pub struct Hangup(Signals, Vec<Option<Fingerprint>>);

impl Hangup {
    pub fn catch(manager: &FeedManager) -> std::io::Result<Hangup> {
        let files = manager.fingerprints();
        Signals::new([SIGHUP]).map(|s| Hangup(s, files))
    }
}

/// The feed manager's thread; stopped when dropped.
pub struct Reloader {
    handle: Handle,
    /// Dropping it wakes the thread at once to stop.
    stop: Option<crossbeam_channel::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Reloader {
    /// Runs `manager` on its own thread: reloads on SIGHUP (caught by `hangup`), on settled
    /// file changes and on schedule, and checks feed ages.
    pub fn spawn(
        hangup: Hangup,
        mut manager: FeedManager,
        snapshot: Snapshot,
    ) -> std::io::Result<Reloader> {
        let Hangup(mut signals, mut files) = hangup;
        let handle = signals.handle();
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let thread = std::thread::Builder::new()
            .name("c2watch-feeds".into())
            .spawn(move || {
                let mut changed_at: Option<Vec<Option<Fingerprint>>> = None;
                while !signals.is_closed() {
                    let hup = signals.pending().next().is_some();
                    let now = manager.fingerprints();
                    // A change counts once it has settled: a file still being written
                    // could load truncated.
                    let settled = match &changed_at {
                        Some(seen) if *seen == now && now != files => true,
                        _ => {
                            changed_at = (now != files).then(|| now.clone());
                            false
                        }
                    };
                    let due = manager.due(Instant::now());
                    if hup {
                        tracing::info!("SIGHUP: refreshing every feed");
                        manager.reload(&Refresh::All, &snapshot);
                    } else if settled || !due.is_empty() {
                        if settled {
                            tracing::info!("feed files changed: reloading");
                        }
                        manager.reload(&Refresh::Due(due), &snapshot);
                    } else {
                        manager.check_ages(SystemTime::now());
                    }
                    if hup || settled {
                        files = now;
                        changed_at = None;
                    }
                    if !matches!(
                        stopped.recv_timeout(POLL),
                        Err(crossbeam_channel::RecvTimeoutError::Timeout)
                    ) {
                        break;
                    }
                }
            })?;
        Ok(Reloader {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Reloader {
    fn drop(&mut self) {
        self.handle.close();
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
