//! pcapng: sections (SHB) of interfaces (IDB) and packets (EPB, SPB, obsolete OPB); every other
//! block type is skipped. Each interface has its own link type and timestamp resolution.

use super::buffer::ChunkBuffer;
use super::pcap::{MAX_RECORD, read_u32};
use crate::time::Timestamp;

pub const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const OPT_END: u16 = 0;
const OPT_IF_NAME: u16 = 2;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

#[derive(Clone, Debug)]
pub struct Interface {
    pub linktype: u32,
    pub snaplen: u32,
    pub name: Option<String>,
    /// Timestamp unit: `(true, k)` = 2^-k s, `(false, k)` = 10^-k s.
    pub tsresol: (bool, u8),
    pub tsoffset: i64,
}

/// Powers of ten up to 10^9, for timestamps in decimal units.
const POW10: [u64; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

impl Interface {
    fn timestamp(&self, units: u64) -> Timestamp {
        // Decimal units from 10^-1 to 10^-9 s (microseconds by default), the usual case, in
        // 64-bit arithmetic: the same result as the general way, without its 128-bit
        // division per packet. (Whole seconds as units can exceed `i64` and are clamped there.)
        if let (false, k @ 1..=9) = self.tsresol {
            let scale = POW10[usize::from(k)];
            let secs = (units / scale) as i64;
            let nanos = (units % scale) * POW10[9 - usize::from(k)];
            return Timestamp::new(secs.saturating_add(self.tsoffset), nanos as u32);
        }
        self.timestamp_any(units)
    }

    /// [`Self::timestamp`] for every resolution.
    fn timestamp_any(&self, units: u64) -> Timestamp {
        let units = u128::from(units);
        let nanos: u128 = match self.tsresol {
            (false, k) if k <= 9 => units * 10u128.pow(9 - u32::from(k)),
            (false, k) => units / 10u128.pow(u32::from(k.min(38)) - 9),
            (true, k) => (units * 1_000_000_000) >> k.min(127),
        };
        let t = Timestamp::from_nanos(nanos.min(i128::MAX as u128) as i128);
        Timestamp::new(t.secs().saturating_add(self.tsoffset), t.subsec_nanos())
    }
}

#[derive(Default)]
pub struct Section {
    pub big_endian: bool,
    pub interfaces: Vec<Interface>,
    /// Interfaces of all sections so far, so packet interface ids stay unique across sections.
    pub base: u32,
}

pub enum Block {
    /// A packet whose bytes sit at `data_start..data_start+data_len` of the buffered block.
    Packet {
        iface: u32,
        linktype: u32,
        ts: Timestamp,
        orig_len: u32,
        data_start: usize,
        data_len: usize,
    },
    /// Anything else (header, interface, statistics, unknown): nothing to hand out.
    Other,
    End,
}

type Fail = (bool, String);

fn u16_at(b: &[u8], at: usize, be: bool) -> u16 {
    let a = [b[at], b[at + 1]];
    if be {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

/// Reads the next block into the buffer. Returns the block and its total length (to consume).
pub fn next_block(
    buf: &mut ChunkBuffer,
    sec: &mut Section,
    all_ifaces: &mut Vec<Interface>,
) -> Result<(Block, usize), Fail> {
    let io_err = |e: std::io::Error| (false, format!("read error: {e}"));
    if buf.at_end().map_err(io_err)? {
        return Ok((Block::End, 0));
    }
    if !buf.fill(12).map_err(io_err)? {
        return Err((true, "block header cut short".into()));
    }
    let head = buf.available();
    let raw_type = read_u32(&head[0..4], false);
    if raw_type == SHB {
        let magic = read_u32(&head[8..12], false);
        sec.big_endian = match magic {
            BYTE_ORDER_MAGIC => false,
            m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
            m => {
                return Err((
                    false,
                    format!("section header has bad byte-order magic {m:#010x}"),
                ));
            }
        };
        sec.base = all_ifaces.len() as u32;
        sec.interfaces.clear();
    }
    let be = sec.big_endian;
    let block_type = read_u32(&head[0..4], be);
    let total = read_u32(&head[4..8], be);
    if total < 12 || !total.is_multiple_of(4) || total > MAX_RECORD {
        return Err((
            false,
            format!("block type {block_type:#x} has invalid length {total}"),
        ));
    }
    let total = total as usize;
    if !buf.fill(total).map_err(io_err)? {
        let have = buf.available().len();
        return Err((
            true,
            format!("block type {block_type:#x} cut short ({have} of {total} bytes)"),
        ));
    }
    let b = &buf.available()[..total];
    if read_u32(&b[total - 4..], be) as usize != total {
        return Err((
            false,
            format!("block type {block_type:#x}: trailing length does not match {total}"),
        ));
    }
    let body = &b[8..total - 4];
    let block = match block_type {
        SHB => Block::Other,
        IDB => {
            if body.len() < 8 {
                return Err((false, "interface description block too short".into()));
            }
            let mut iface = Interface {
                linktype: u32::from(u16_at(body, 0, be)),
                snaplen: read_u32(&body[4..8], be),
                name: None,
                tsresol: (false, 6),
                tsoffset: 0,
            };
            for (code, value) in options(&body[8..], be) {
                match code {
                    OPT_IF_NAME => {
                        iface.name = Some(
                            String::from_utf8_lossy(value)
                                .trim_end_matches('\0')
                                .to_string(),
                        )
                    }
                    OPT_IF_TSRESOL if !value.is_empty() => {
                        iface.tsresol = (value[0] & 0x80 != 0, value[0] & 0x7f)
                    }
                    OPT_IF_TSOFFSET if value.len() >= 8 => {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(&value[..8]);
                        iface.tsoffset = if be {
                            i64::from_be_bytes(a)
                        } else {
                            i64::from_le_bytes(a)
                        };
                    }
                    _ => {}
                }
            }
            sec.interfaces.push(iface.clone());
            all_ifaces.push(iface);
            Block::Other
        }
        EPB | OPB => {
            let (id, ts_at, hdr_len) = if block_type == EPB {
                if body.len() < 20 {
                    return Err((false, "enhanced packet block too short".into()));
                }
                (read_u32(&body[0..4], be), 4, 20)
            } else {
                if body.len() < 20 {
                    return Err((false, "packet block too short".into()));
                }
                (u32::from(u16_at(body, 0, be)), 4, 20)
            };
            let iface = sec.interfaces.get(id as usize).ok_or_else(|| {
                (
                    false,
                    format!(
                        "packet names interface {id}, but the section defines {}",
                        sec.interfaces.len()
                    ),
                )
            })?;
            let units = (u64::from(read_u32(&body[ts_at..ts_at + 4], be)) << 32)
                | u64::from(read_u32(&body[ts_at + 4..ts_at + 8], be));
            let caplen = read_u32(&body[12..16], be) as usize;
            let orig = read_u32(&body[16..20], be);
            if caplen > body.len() - hdr_len {
                return Err((false, format!("packet length {caplen} exceeds its block")));
            }
            Block::Packet {
                iface: sec.base + id,
                linktype: iface.linktype,
                ts: iface.timestamp(units),
                orig_len: orig.max(caplen as u32),
                data_start: 8 + hdr_len,
                data_len: caplen,
            }
        }
        SPB => {
            if body.len() < 4 {
                return Err((false, "simple packet block too short".into()));
            }
            let iface = sec.interfaces.first().ok_or_else(|| {
                (
                    false,
                    "simple packet block without an interface".to_string(),
                )
            })?;
            let orig = read_u32(&body[0..4], be);
            let mut caplen = (orig as usize).min(body.len() - 4);
            if iface.snaplen > 0 {
                caplen = caplen.min(iface.snaplen as usize);
            }
            // SPBs carry no timestamp.
            Block::Packet {
                iface: sec.base,
                linktype: iface.linktype,
                ts: Timestamp::default(),
                orig_len: orig,
                data_start: 12,
                data_len: caplen,
            }
        }
        _ => Block::Other,
    };
    Ok((block, total))
}

/// Iterates over (code, value) options until the end option or the end of the area.
fn options(mut area: &[u8], be: bool) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if area.len() < 4 {
            return None;
        }
        let code = u16_at(area, 0, be);
        let len = usize::from(u16_at(area, 2, be));
        if code == OPT_END || 4 + len > area.len() {
            return None;
        }
        let value = &area[4..4 + len];
        let padded = (4 + len + 3) & !3;
        area = &area[padded.min(area.len())..];
        Some((code, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions() {
        let mut i = Interface {
            linktype: 1,
            snaplen: 0,
            name: None,
            tsresol: (false, 6),
            tsoffset: 0,
        };
        assert_eq!(i.timestamp(1_500_000), Timestamp::new(1, 500_000_000));
        i.tsresol = (false, 9);
        assert_eq!(i.timestamp(2_000_000_001), Timestamp::new(2, 1));
        i.tsresol = (true, 10);
        assert_eq!(i.timestamp(1024 + 512), Timestamp::new(1, 500_000_000));
        i.tsoffset = 10;
        assert_eq!(i.timestamp(1024), Timestamp::new(11, 0));
    }

    /// The 64-bit way for decimal units gives exactly what the general way gives.
    #[test]
    fn decimal_units_the_short_way() {
        for k in 0..=12u8 {
            for tsoffset in [0, -5, 1_000, i64::MAX, i64::MIN] {
                let i = Interface {
                    linktype: 1,
                    snaplen: 0,
                    name: None,
                    tsresol: (false, k),
                    tsoffset,
                };
                let scale = 10u64.saturating_pow(u32::from(k));
                for units in [
                    0,
                    1,
                    scale - 1,
                    scale,
                    scale + 1,
                    1_700_000_000 * scale.min(1 << 30) + 123,
                    u64::MAX / 3,
                    u64::MAX - 1,
                    u64::MAX,
                ] {
                    assert_eq!(
                        i.timestamp(units),
                        i.timestamp_any(units),
                        "10^-{k} s, {units} units, offset {tsoffset}"
                    );
                }
            }
        }
    }
}
