//! A one-line progress display on stderr while replaying (only when stderr is a terminal).

use crate::input::Progress;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct ProgressLine {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

fn draw(bytes: &Progress, packets: &AtomicU64, total: u64, started: Instant) {
    let done = bytes.bytes();
    let rate = packets.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64().max(1e-3);
    let line = if total > 0 {
        format!(
            "\r{:>5.1}% {:>8.1} / {:.1} MB  {:>10.0} packets/s ",
            100.0 * done as f64 / total as f64,
            done as f64 / 1e6,
            total as f64 / 1e6,
            rate
        )
    } else {
        format!("\r{:>8.1} MB  {:>10.0} packets/s ", done as f64 / 1e6, rate)
    };
    let _ = std::io::stderr().write_all(line.as_bytes());
}

impl ProgressLine {
    /// Draws the line at once, then four times a second until dropped; `total` is the input
    /// size in bytes (0 when unknown, e.g. stdin).
    pub fn start(bytes: Progress, packets: Arc<AtomicU64>, total: u64) -> ProgressLine {
        let started = Instant::now();
        draw(&bytes, &packets, total, started);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(250));
                    draw(&bytes, &packets, total, started);
                }
            })
            .ok();
        ProgressLine { stop, handle }
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        // Clear the line so the summary starts clean.
        let _ = std::io::stderr().write_all(b"\r\x1b[2K");
    }
}
