//! Packet sources. Files (pcap, pcapng, optionally gzip- or zstd-compressed, or `-` for
//! stdin) are read by a pure-Rust parser over one large buffer: no per-record allocation or copy.
//! A plain file is mapped whole (the buffer starts on the mapping), so its bytes are not even
//! copied out of the page cache.
//! Live interfaces (`live`) are read through libpcap, one handle per worker joined to a
//! `PACKET_FANOUT` group.

mod buffer;
mod fanout;
mod file;
mod iface;
pub mod live;

mod pcap;
mod pcapng;

pub use crate::input::Progress;
pub use buffer::Chunk;
pub use file::{CaptureFile, FileFormat};
pub use iface::Interfaces;

use crate::time::Timestamp;
use std::fmt;

/// Link-layer header types (the LINKTYPE_ values of tcpdump.org) that the decoder understands.
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW_OPENBSD: u32 = 14;
    pub const RAW_DLT: u32 = 12;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

/// One captured frame as the file stores it, borrowed from the reader's buffer.
#[derive(Clone, Copy, Debug)]
pub struct RawPacket<'a> {
    pub ts: Timestamp,
    /// Index of the interface within the file (always 0 for classic pcap).
    pub iface: u32,
    /// LINKTYPE_ of the interface the frame was captured on.
    pub linktype: u32,
    /// Length of the frame on the wire (may exceed `data.len()` with a small snaplen).
    pub orig_len: u32,
    /// The interface's name when the file gives one (pcapng `if_name`).
    pub iface_name: Option<&'a str>,
    pub data: &'a [u8],
}

/// Why reading a capture file stopped early. The file is closed; what was read stays valid.
#[derive(Clone, Debug)]
pub struct CaptureError {
    pub file: String,
    /// Byte offset in the (decompressed) stream where the problem starts.
    pub offset: u64,
    pub kind: CaptureErrorKind,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureErrorKind {
    /// Could not open or read the file at all.
    Io,
    /// Not a pcap or pcapng file.
    NotACapture,
    /// The stream ends inside a record.
    Truncated,
    /// A record or block header is inconsistent.
    Corrupt,
}

impl CaptureErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureErrorKind::Io => "io",
            CaptureErrorKind::NotACapture => "not-a-capture",
            CaptureErrorKind::Truncated => "truncated",
            CaptureErrorKind::Corrupt => "corrupt",
        }
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: offset {}: {} ({})",
            self.file,
            self.offset,
            self.reason,
            self.kind.as_str()
        )
    }
}

impl std::error::Error for CaptureError {}
