//! Reloading the indicators while c2watch runs: on SIGHUP every feed is loaded again into a
//! new set off the packet path, which then replaces the snapshot in one atomic swap. Workers
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
    thread: Option<JoinHandle<()>>,
}

/// SIGHUP caught (not acted on) from before the first load, so a signal sent while the
/// feeds load is not fatal: it reloads as soon as the [`Reloader`] runs.
pub struct Hangup(Signals);

impl Hangup {
    pub fn catch() -> std::io::Result<Hangup> {
        Signals::new([SIGHUP]).map(Hangup)
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
        let mut signals = hangup.0;
        let handle = signals.handle();
        let thread = std::thread::Builder::new()
            .name("c2watch-reload".into())
            .spawn(move || {
                for _ in signals.forever() {
                    reload(&intel, &allow, &snapshot);
                }
            })?;
        Ok(Reloader {
            handle,
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
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
