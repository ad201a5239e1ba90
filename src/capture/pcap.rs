//! Classic libpcap files: a 24-byte global header, then 16-byte record headers, in either byte
//! order, with microsecond or nanosecond timestamps.

use super::buffer::ChunkBuffer;
use crate::time::Timestamp;

pub const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
const GLOBAL_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;
/// Larger records are not frames: the header is corrupt.
pub const MAX_RECORD: u32 = 64 << 20;

mod field {
    use std::ops::Range;
    pub const MAGIC: Range<usize> = 0..4;
    pub const SNAPLEN: Range<usize> = 16..20;
    pub const LINKTYPE: Range<usize> = 20..24;
    pub const TS_SEC: Range<usize> = 0..4;
    pub const TS_FRAC: Range<usize> = 4..8;
    pub const INCL_LEN: Range<usize> = 8..12;
    pub const ORIG_LEN: Range<usize> = 12..16;
}

#[derive(Clone, Copy, Debug)]
pub struct PcapHeader {
    pub big_endian: bool,
    pub nanos: bool,
    pub snaplen: u32,
    pub linktype: u32,
}

#[inline]
pub fn read_u32(bytes: &[u8], big_endian: bool) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&bytes[..4]);
    if big_endian {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// Recognises the global header. `None` when the magic is not a pcap magic.
pub fn parse_header(head: &[u8]) -> Option<PcapHeader> {
    if head.len() < GLOBAL_HEADER_LEN {
        return None;
    }
    let le = read_u32(&head[field::MAGIC], false);
    let be = read_u32(&head[field::MAGIC], true);
    let (big_endian, magic) = if le == MAGIC_MICROS || le == MAGIC_NANOS {
        (false, le)
    } else {
        (true, be)
    };
    if magic != MAGIC_MICROS && magic != MAGIC_NANOS {
        return None;
    }
    Some(PcapHeader {
        big_endian,
        nanos: magic == MAGIC_NANOS,
        snaplen: read_u32(&head[field::SNAPLEN], big_endian),
        // The upper bits carry FCS information; the link type is in the low 16.
        linktype: read_u32(&head[field::LINKTYPE], big_endian) & 0xffff,
    })
}

pub const HEADER_LEN: usize = GLOBAL_HEADER_LEN;

/// One record's header, checked. Errors are (kind is truncated?, reason).
pub enum Next {
    Record {
        ts: Timestamp,
        orig_len: u32,
        data_start: usize,
        data_len: usize,
    },
    End,
}

/// Reads the next record header from `buf`, making sure the whole record is buffered.
pub fn next_record(buf: &mut ChunkBuffer, h: &PcapHeader) -> Result<Next, (bool, String)> {
    let io_err = |e: std::io::Error| (false, format!("read error: {e}"));
    if buf.at_end().map_err(io_err)? {
        return Ok(Next::End);
    }
    if !buf.fill(RECORD_HEADER_LEN).map_err(io_err)? {
        let have = buf.available().len();
        return Err((
            true,
            format!("record header cut short ({have} of {RECORD_HEADER_LEN} bytes)"),
        ));
    }
    let hdr = &buf.available()[..RECORD_HEADER_LEN];
    let secs = read_u32(&hdr[field::TS_SEC], h.big_endian);
    let frac = read_u32(&hdr[field::TS_FRAC], h.big_endian);
    let incl = read_u32(&hdr[field::INCL_LEN], h.big_endian);
    let orig = read_u32(&hdr[field::ORIG_LEN], h.big_endian);
    if incl > MAX_RECORD {
        return Err((
            false,
            format!(
                "record length {incl} is implausible (snaplen {})",
                h.snaplen
            ),
        ));
    }
    let nanos = if h.nanos {
        frac
    } else {
        frac.saturating_mul(1000)
    };
    if nanos >= 1_000_000_000 {
        return Err((false, format!("timestamp fraction {frac} out of range")));
    }
    let total = RECORD_HEADER_LEN + incl as usize;
    if !buf.fill(total).map_err(io_err)? {
        let have = buf.available().len() - RECORD_HEADER_LEN;
        return Err((
            true,
            format!("record data cut short ({have} of {incl} bytes)"),
        ));
    }
    Ok(Next::Record {
        ts: Timestamp::new(i64::from(secs), nanos),
        orig_len: orig.max(incl),
        data_start: RECORD_HEADER_LEN,
        data_len: incl as usize,
    })
}
