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

/// A record whose header and data are both in `avail` already, and whose header is sound:
/// (timestamp, original length, captured length). `None` for anything else, which
/// [`next_record`] then reads (or reports) the long way. The common case, on every packet.
#[inline]
pub fn quick_record(avail: &[u8], h: &PcapHeader) -> Option<(Timestamp, u32, usize)> {
    let hdr: &[u8; RECORD_HEADER_LEN] = avail.get(..RECORD_HEADER_LEN)?.try_into().ok()?;
    let word = |at: usize| {
        let b = [hdr[at], hdr[at + 1], hdr[at + 2], hdr[at + 3]];
        if h.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let (secs, frac, incl, orig) = (
        word(field::TS_SEC.start),
        word(field::TS_FRAC.start),
        word(field::INCL_LEN.start),
        word(field::ORIG_LEN.start),
    );
    let nanos = if h.nanos {
        frac
    } else {
        frac.checked_mul(1000)?
    };
    let total = RECORD_HEADER_LEN.checked_add(incl as usize)?;
    if incl > MAX_RECORD || avail.len() < total {
        return None;
    }
    let ts = Timestamp::exact(i64::from(secs), nanos)?;
    Some((ts, orig.max(incl), incl as usize))
}

pub const RECORD_LEN: usize = RECORD_HEADER_LEN;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(big_endian: bool, words: [u32; 4], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for w in words {
            out.extend_from_slice(&if big_endian {
                w.to_be_bytes()
            } else {
                w.to_le_bytes()
            });
        }
        out.extend_from_slice(data);
        out
    }

    fn header(big_endian: bool, nanos: bool) -> PcapHeader {
        PcapHeader {
            big_endian,
            nanos,
            snaplen: 65535,
            linktype: 1,
        }
    }

    #[test]
    fn quick_record_reads_whole_sound_records_in_either_byte_order() {
        let le = record(false, [1_700_000_000, 250_000, 4, 60], &[1, 2, 3, 4, 9]);
        let (ts, orig, len) = quick_record(&le, &header(false, false)).unwrap();
        assert_eq!(
            (ts, orig, len),
            (Timestamp::new(1_700_000_000, 250_000_000), 60, 4)
        );
        let be = record(true, [7, 999_999_999, 3, 2], &[1, 2, 3]);
        let (ts, orig, len) = quick_record(&be, &header(true, true)).unwrap();
        // The original length is never below the captured one.
        assert_eq!((ts, orig, len), (Timestamp::new(7, 999_999_999), 3, 3));
    }

    #[test]
    fn quick_record_leaves_everything_else_to_the_long_way() {
        let h = header(false, false);
        // Data not all buffered yet, header cut short, a fraction of a second too large,
        // an implausible length: each is `None` here, and `next_record` decides.
        assert!(quick_record(&record(false, [1, 0, 10, 10], &[0; 9]), &h).is_none());
        assert!(quick_record(&record(false, [1, 0, 0, 0], &[])[..15], &h).is_none());
        assert!(quick_record(&record(false, [1, 1_000_000, 0, 0], &[]), &h).is_none());
        assert!(quick_record(&record(false, [1, 5, 0, 0], &[]), &header(false, true)).is_some());
        assert!(
            quick_record(
                &record(false, [1, 1_000_000_000, 0, 0], &[]),
                &header(false, true)
            )
            .is_none()
        );
        assert!(quick_record(&record(false, [1, 0, MAX_RECORD + 1, 0], &[]), &h).is_none());
    }
}
