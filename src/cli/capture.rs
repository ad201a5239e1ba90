//! `c2watch capture`: start-up order matters for a service. Interfaces are opened and the
//! metrics port bound while still privileged; then root is dropped; only then are the output
//! opened and the feeds read (as the service user), and capture starts.

use super::settings::CaptureSettings;
use super::{RunningFeeds, load, start_feeds};
use crate::capture::live::{self, LiveHandle};
use crate::intel::manager::Reloader;
use crate::live::board::Board;
use crate::live::{self as runner, LiveConfig, metrics, privileges};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// `capture --check`: everything that can be checked without capturing.
fn check(s: &CaptureSettings) -> Result<ExitCode, String> {
    for iface in &s.interfaces {
        live::check(iface, s.live.filter.as_deref())?;
        println!("interface {iface}: ok");
    }
    if let Some(f) = &s.live.filter {
        println!("filter `{f}`: ok");
    }
    if let Some(addr) = &s.metrics_listen {
        addr.parse::<std::net::SocketAddr>()
            .map_err(|e| format!("--metrics-listen {addr}: not an ADDR:PORT ({e})"))?;
    }
    if !s.subscribers.is_empty() {
        super::load_subscribers(&s.subscribers)?;
        println!("subscriber maps: {} file(s) ok", s.subscribers.len());
    }
    let loaded = load(&s.intel)?;
    println!(
        "feeds: {} indicators, {} allowlist entries from {} file(s)",
        loaded.set.len(),
        loaded.set.allow_len(),
        loaded.reports.len()
    );
    println!(
        "ok: would capture on {} with {} worker(s) each",
        s.interfaces.join(", "),
        s.workers
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run(s: CaptureSettings, quiet: bool) -> Result<ExitCode, String> {
    if s.check {
        return check(&s);
    }
    // Before anything is opened: a bad map is an error at start, not after privileges drop.
    let subscribers = super::load_subscribers(&s.subscribers)?;
    // Privileged part: handles and the metrics port.
    let mut handles: Vec<LiveHandle> = Vec::new();
    for iface in &s.interfaces {
        let opened = live::open(iface, s.workers, &s.live)?;
        tracing::info!(
            "capturing on {iface}: {} worker(s){}",
            opened.len(),
            if opened.iter().any(|h| h.fanout) {
                " in one PACKET_FANOUT hash group"
            } else {
                ""
            }
        );
        handles.extend(opened);
    }
    let listener = s.metrics_listen.as_deref().map(metrics::bind).transpose()?;
    if let Some(ids) = s.user {
        privileges::drop_to(ids)?;
    }

    // Signals: the first SIGTERM/SIGINT asks for a clean stop, a second one exits at once.
    let stop = Arc::new(AtomicBool::new(false));
    let reopen = Arc::new(AtomicBool::new(false));
    for sig in [SIGTERM, SIGINT] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, stop.clone())
            .and_then(|_| signal_hook::flag::register(sig, stop.clone()))
            .map_err(|e| format!("cannot install the signal handlers: {e}"))?;
    }
    signal_hook::flag::register(SIGHUP, reopen.clone())
        .map_err(|e| format!("cannot install the SIGHUP handler: {e}"))?;

    let out = crate::alert::sink::Sinks::open(&s.outputs, Some(reopen))?;
    let RunningFeeds {
        manager,
        hangup,
        snapshot,
        events_tx,
        events,
    } = start_feeds(&s.intel)?;
    let labels: Vec<(String, usize, bool)> = handles
        .iter()
        .map(|h| (h.iface.clone(), h.index, h.fanout))
        .collect();
    let board = Arc::new(Board::new(&labels, snapshot.clone(), manager.board()));
    if let Some(l) = listener {
        metrics::serve(l, board.clone())?;
    }
    let reloader = Reloader::spawn(hangup, manager, snapshot)
        .map_err(|e| format!("cannot start the feed manager thread: {e}"))?;
    let cfg = LiveConfig {
        detect: s.detect,
        dedup_capacity: s.dedup_capacity,
        stats_interval: s.stats_interval,
        timeout_ms: s.live.timeout_ms,
        stop,
        events,
        events_tx,
        subscribers,
        format: s.format,
    };
    let summary = runner::run(cfg, handles, board.clone(), out).map_err(|e| e.to_string())?;
    drop(reloader);
    if !quiet {
        let o = &summary.output;
        eprintln!(
            "c2watch: captured for {:.1} s on {}",
            summary.elapsed.as_secs_f64(),
            s.interfaces.join(", ")
        );
        eprint!("{}", board.render_workers());
        eprintln!(
            "  alerts: {} written ({} duplicates suppressed), {} distinct victim(s), {} flow records",
            o.alerts, o.suppressed, o.victims, o.flow_records
        );
    }
    if !summary.errors.is_empty() {
        eprintln!(
            "c2watch: error: capture stopped: {}",
            summary.errors.join("; ")
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
