//! Panic containment: a bug that panics while one packet is processed must not take the
//! sensor down. The packet's processing is abandoned, the packet is counted (with its index)
//! and the next one goes on. Records the packet produced before the panic are kept.
//!
//! A replay that contained a fault still writes everything else, then exits with status 1
//! (`stats.internal_errors` names the packets), so a bug never passes unnoticed.
//!
//! Test hook: `C2WATCH_FAULT_PACKET=N` makes the processing of packet N (1-based, across all
//! inputs) panic, to show the containment works end to end.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

/// Packet indices remembered per run.
pub const KEEP: usize = 16;

/// Faults contained by one thread.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    pub count: u64,
    /// The first [`KEEP`] packets (1-based indices across all inputs).
    pub packets: Vec<u64>,
}

impl Faults {
    /// Runs `f` for packet `seq` (0-based); `None` when it panicked (counted and logged).
    #[inline]
    pub fn contain<R>(&mut self, seq: u64, f: impl FnOnce() -> R) -> Option<R> {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(r) => Some(r),
            Err(_) => {
                self.record(seq);
                None
            }
        }
    }

    /// Counts a fault while processing packet `seq` (0-based).
    #[cold]
    pub fn record(&mut self, seq: u64) {
        self.count += 1;
        if self.packets.len() < KEEP {
            self.packets.push(seq + 1);
        }
        if self.count <= KEEP as u64 || self.count.is_multiple_of(1000) {
            tracing::error!(
                "packet {}: internal error while processing it (a bug: please report it with \
                 the capture); the packet is skipped and counted, processing goes on ({} so far)",
                seq + 1,
                self.count
            );
        }
    }

    pub fn merge(&mut self, o: &Faults) {
        self.count += o.count;
        self.packets.extend(o.packets.iter().copied());
        self.packets.sort_unstable();
        self.packets.truncate(KEEP);
    }
}

/// The packet `C2WATCH_FAULT_PACKET` names, as a 0-based index.
pub fn injected_from_env() -> Option<u64> {
    std::env::var("C2WATCH_FAULT_PACKET")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .and_then(|n| n.checked_sub(1))
}

static PANICS: AtomicU64 = AtomicU64::new(0);

/// Installs a panic hook that prints the first panics in full and then only every 1000th,
/// so a stream of packets that hits the same bug cannot flood the log.
pub fn quiet_repeated_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let n = PANICS.fetch_add(1, Ordering::Relaxed) + 1;
        if n <= KEEP as u64 || n.is_multiple_of(1000) {
            default(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_counted_and_the_next_packet_goes_on() {
        let mut f = Faults::default();
        assert_eq!(f.contain(0, || 1), Some(1));
        let hit: Option<()> = f.contain(41, || panic!("a bug"));
        assert_eq!(hit, None);
        assert_eq!(f.contain(42, || 2), Some(2));
        assert_eq!((f.count, f.packets.clone()), (1, vec![42]));
        let mut g = Faults::default();
        g.contain(7, || panic!("another"));
        f.merge(&g);
        assert_eq!((f.count, f.packets), (2, vec![8, 42]));
    }
}
