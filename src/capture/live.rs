//! Live capture handles: one libpcap handle per worker and interface, all of an interface's
//! handles joined to one `PACKET_FANOUT` group (see [`super::fanout`]).
//!
//! Handles are non-blocking; a worker with nothing to read waits on the handle's descriptor
//! for at most [`LiveOptions::timeout_ms`], so it can flush alerts, expire idle flows and see
//! a stop request even on a silent link.

use super::fanout;
use crate::time::Timestamp;
use std::os::fd::AsRawFd;

/// How the handles are opened (the `capture` flags).
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Bytes kept of each packet.
    pub snaplen: i32,
    /// Kernel ring size per handle, in bytes.
    pub buffer_bytes: i32,
    pub promisc: bool,
    /// Deliver every packet at once (no block batching in the kernel).
    pub immediate: bool,
    /// Longest wait for the kernel to hand over a block of packets, and for a worker's idle
    /// wake-up.
    pub timeout_ms: i32,
    /// tcpdump filter expression.
    pub filter: Option<String>,
}

impl Default for LiveOptions {
    fn default() -> LiveOptions {
        LiveOptions {
            snaplen: 65_535,
            buffer_bytes: 64 << 20,
            promisc: true,
            immediate: false,
            timeout_ms: 100,
            filter: None,
        }
    }
}

/// libpcap's counters for one handle, as 64-bit totals (libpcap's own wrap at 2^32).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PcapCounts {
    /// Packets the kernel passed the filter (including those then dropped).
    pub received: u64,
    /// Dropped because the ring was full: c2watch did not keep up.
    pub kernel_drops: u64,
    /// Dropped by the interface or its driver.
    pub if_drops: u64,
}

/// One open handle, read by one worker.
pub struct LiveHandle {
    pub iface: String,
    /// Index among this interface's handles.
    pub index: usize,
    /// LINKTYPE_ of the interface.
    pub linktype: u32,
    /// Joined to the interface's fanout group.
    pub fanout: bool,
    cap: pcap::Capture<pcap::Active>,
    last: pcap::Stat,
    totals: PcapCounts,
}

/// One packet read from a handle, borrowed until the next read.
pub struct LivePacket<'a> {
    pub ts: Timestamp,
    pub orig_len: u32,
    pub data: &'a [u8],
}

/// What a read gave.
pub enum Read<'a> {
    Packet(LivePacket<'a>),
    /// Nothing waiting right now.
    Empty,
}

fn open_one(iface: &str, opts: &LiveOptions) -> Result<pcap::Capture<pcap::Active>, String> {
    let inactive = pcap::Capture::from_device(iface)
        .map_err(|e| format!("cannot open interface {iface}: {e}"))?
        .snaplen(opts.snaplen)
        .buffer_size(opts.buffer_bytes)
        .promisc(opts.promisc)
        .immediate_mode(opts.immediate)
        .timeout(opts.timeout_ms)
        .precision(pcap::Precision::Nano);
    let mut cap = inactive.open().map_err(|e| {
        let text = e.to_string();
        let hint = if text.contains("ermission") || text.contains("not permitted") {
            " (capture needs root, or CAP_NET_RAW and CAP_NET_ADMIN: see deploy/c2watch.service)"
        } else {
            ""
        };
        format!("cannot capture on {iface}: {e}{hint}")
    })?;
    if let Some(f) = &opts.filter {
        cap.filter(f, true)
            .map_err(|e| format!("invalid capture filter `{f}`: {e}"))?;
    }
    cap.setnonblock()
        .map_err(|e| format!("cannot make the capture on {iface} non-blocking: {e}"))
}

/// Opens `workers` handles on `iface` joined to one fanout group. Where fanout is not
/// available, warns and returns one handle.
pub fn open(iface: &str, workers: usize, opts: &LiveOptions) -> Result<Vec<LiveHandle>, String> {
    let ifindex = fanout::ifindex(iface);
    let mut group: Option<u16> = None;
    let mut handles = Vec::with_capacity(workers);
    for index in 0..workers.max(1) {
        let cap = open_one(iface, opts)?;
        let linktype = cap.get_datalink().0 as u32;
        let joined = if workers > 1 {
            let fd = cap.as_raw_fd();
            let result = match group {
                Some(id) => fanout::join(fd, id),
                None => fanout::create(fd, ifindex).map(|id| group = Some(id)),
            };
            match result {
                Ok(()) => true,
                Err(e) if index == 0 => {
                    tracing::warn!(
                        "PACKET_FANOUT is not available on {iface} ({e}): capturing with one worker on it"
                    );
                    false
                }
                Err(e) => {
                    return Err(format!(
                        "cannot join handle {index} on {iface} to its fanout group: {e}"
                    ));
                }
            }
        } else {
            false
        };
        handles.push(LiveHandle {
            iface: iface.to_string(),
            index,
            linktype,
            fanout: joined,
            cap,
            last: pcap::Stat {
                received: 0,
                dropped: 0,
                if_dropped: 0,
            },
            totals: PcapCounts::default(),
        });
        if workers > 1 && !joined {
            break;
        }
    }
    Ok(handles)
}

/// Checks that `iface` exists and `filter` compiles, without capturing (`capture --check`).
pub fn check(iface: &str, filter: Option<&str>) -> Result<(), String> {
    let devices = pcap::Device::list().map_err(|e| format!("cannot list interfaces: {e}"))?;
    if !devices.iter().any(|d| d.name == iface) {
        let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
        return Err(format!(
            "no interface named {iface} (interfaces here: {})",
            names.join(", ")
        ));
    }
    if let Some(f) = filter {
        let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET)
            .map_err(|e| format!("cannot check the filter: {e}"))?;
        dead.compile(f, true)
            .map_err(|e| format!("invalid capture filter `{f}`: {e}"))?;
    }
    Ok(())
}

impl LiveHandle {
    /// The next packet, or `Empty` when none is waiting.
    #[inline]
    pub fn read(&mut self) -> Result<Read<'_>, String> {
        match self.cap.next_packet() {
            Ok(p) => {
                let ts = Timestamp::new(p.header.ts.tv_sec, p.header.ts.tv_usec as u32);
                Ok(Read::Packet(LivePacket {
                    ts,
                    orig_len: p.header.len,
                    data: p.data,
                }))
            }
            Err(pcap::Error::TimeoutExpired | pcap::Error::NoMorePackets) => Ok(Read::Empty),
            Err(e) => Err(format!("reading from {}: {e}", self.iface)),
        }
    }

    /// Waits until packets may be waiting, for at most `timeout_ms`.
    pub fn wait(&self, timeout_ms: i32) {
        crate::sys::wait_readable(self.cap.as_raw_fd(), timeout_ms);
    }

    /// libpcap's counters, as totals since the handle opened.
    pub fn counts(&mut self) -> PcapCounts {
        if let Ok(s) = self.cap.stats() {
            self.totals.received += u64::from(s.received.wrapping_sub(self.last.received));
            self.totals.kernel_drops += u64::from(s.dropped.wrapping_sub(self.last.dropped));
            self.totals.if_drops += u64::from(s.if_dropped.wrapping_sub(self.last.if_dropped));
            self.last = s;
        }
        self.totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_interface_is_a_clear_error() {
        let e = check("c2w-none0", None).expect_err("no such interface");
        assert!(e.contains("no interface named c2w-none0"), "{e}");
        let e = open("c2w-none0", 2, &LiveOptions::default())
            .err()
            .expect("no such interface");
        assert!(e.contains("c2w-none0"), "{e}");
    }

    #[test]
    fn a_bad_filter_is_a_clear_error() {
        let e = check("lo", Some("port and and")).expect_err("bad filter");
        assert!(e.contains("invalid capture filter `port and and`"), "{e}");
        assert!(check("lo", Some("tcp port 443 or udp")).is_ok());
    }
}
