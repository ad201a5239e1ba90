//! Reloading the indicators while c2watch runs: on SIGHUP, or when a local feed file changes
//! (and then stays unchanged for one poll), every feed is loaded again into a new set off the
//! packet path, which then replaces the snapshot in one atomic swap. Workers
//! pick it up at their next batch and look their open flows up again; no packet waits for it.
//!
//! Invariant: a reload that fails (any feed unreadable with no last good copy) changes
//! nothing — the running set stays, and the failure is logged.

use super::feed::FeedDef;
use super::{Snapshot, load_all};
use signal_hook::consts::SIGHUP;
use signal_hook::iterator::{Handle, Signals};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The thread that reloads on SIGHUP; stopped when dropped.
pub struct Reloader {
    handle: Handle,
    /// Dropping it wakes the thread at once to stop.
    stop: Option<crossbeam_channel::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// How often SIGHUP and the feed files are checked.
const POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Size and modification time of every local feed file (directories: of each file in them).
#[derive(Clone, Debug, PartialEq)]
pub struct Fingerprint(Vec<(std::path::PathBuf, u64, Option<std::time::SystemTime>)>);

impl Fingerprint {
    fn of(intel: &[FeedDef], allow: &[String]) -> Fingerprint {
        let mut v = Vec::new();
        let sources = intel.iter().map(|d| d.source.as_str()).chain(
            allow
                .iter()
                .map(|a| a.split_once(':').map_or(a.as_str(), |(_, p)| p)),
        );
        for src in sources.filter(|s| !s.starts_with("http://") && !s.starts_with("https://")) {
            let path = std::path::Path::new(src);
            let mut files = match std::fs::read_dir(path) {
                Ok(dir) => dir.flatten().map(|e| e.path()).collect(),
                Err(_) => vec![path.to_path_buf()],
            };
            files.sort();
            for f in files {
                let m = std::fs::metadata(&f).ok();
                let (len, mtime) = (
                    m.as_ref().map_or(0, |m| m.len()),
                    m.and_then(|m| m.modified().ok()),
                );
                v.push((f, len, mtime));
            }
        }
        Fingerprint(v)
    }
}

/// What is watched from before the first load: SIGHUP is caught (a signal sent while the
/// feeds load is not fatal; it reloads as soon as the [`Reloader`] runs), and the feed files
/// are fingerprinted (a change during the first load is noticed).
pub struct Hangup(Signals, Fingerprint);

impl Hangup {
    pub fn catch(intel: &[FeedDef], allow: &[String]) -> std::io::Result<Hangup> {
        let files = Fingerprint::of(intel, allow);
        Signals::new([SIGHUP]).map(|s| Hangup(s, files))
    }
}

impl Reloader {
    /// Starts reloading on every SIGHUP `hangup` catches.
    pub fn spawn(
        hangup: Hangup,
        intel: Vec<FeedDef>,
        allow: Vec<String>,
        snapshot: Snapshot,
    ) -> std::io::Result<Reloader> {
        let Hangup(mut signals, mut files) = hangup;
        let handle = signals.handle();
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let thread = std::thread::Builder::new()
            .name("c2watch-reload".into())
            .spawn(move || {
                let mut changed_at: Option<Fingerprint> = None;
                while !signals.is_closed() {
                    let hup = signals.pending().next().is_some();
                    let now = Fingerprint::of(&intel, &allow);
                    // A change counts once it has settled: a file still being written
                    // could load truncated.
                    let settled = match &changed_at {
                        Some(seen) if *seen == now && now != files => true,
                        _ => {
                            changed_at = (now != files).then(|| now.clone());
                            false
                        }
                    };
                    if hup || settled {
                        if hup {
                            tracing::info!("SIGHUP: reloading the feeds");
                        } else {
                            tracing::info!("feed files changed: reloading");
                        }
                        reload(&intel, &allow, &snapshot);
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

/// Loads every feed again and swaps the new set in; returns the generation now in use.
pub fn reload(intel: &[FeedDef], allow: &[String], snapshot: &Snapshot) -> u64 {
    let current = snapshot.load().generation();
    let started = std::time::Instant::now();
    match load_all(intel, allow, current + 1) {
        Ok(loaded) => {
            let stale = loaded.reports.iter().filter(|r| r.stale.is_some()).count();
            let (n, allow) = (loaded.set.len(), loaded.set.allow_len());
            // Swap first, then say so: whoever reads the log line sees the new set in use.
            snapshot.store(Arc::new(loaded.set));
            tracing::info!(
                "reloaded: {n} indicators, {allow} allowlist entries, generation {} ({stale} stale feed(s)) in {:.1} ms",
                current + 1,
                started.elapsed().as_secs_f64() * 1e3
            );
            current + 1
        }
        Err(e) => {
            tracing::warn!("reload failed, generation {current} stays in use: {e}");
            current
        }
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
