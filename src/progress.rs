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

impl ProgressLine {
    /// Starts the display; `total` is the input size in bytes (0 when unknown, e.g. stdin).
    pub fn start(bytes: Progress, packets: Arc<AtomicU64>, total: u64) -> ProgressLine {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                let start = Instant::now();
                let mut first = true;
                while !flag.load(Ordering::Relaxed) {
                    // Draw at once, then four times a second.
                    if !first {
                        std::thread::sleep(Duration::from_millis(250));
                    }
                    first = false;
                    let done = bytes.bytes();
                    let pkts = packets.load(Ordering::Relaxed);
                    let rate = pkts as f64 / start.elapsed().as_secs_f64().max(1e-3);
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
                let _ = std::io::stderr().write_all(b"\r\x1b[2K");
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
    }
}
