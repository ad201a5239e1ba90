//! Writers for classic pcap and pcapng, with the options the readers must handle.

use crate::time::Timestamp;
use std::io::{self, Write};

/// Classic pcap: either byte order, micro- or nanosecond timestamps.
pub struct PcapWriter<W: Write> {
    out: W,
    big_endian: bool,
    nanos: bool,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(out: W, linktype: u32) -> io::Result<PcapWriter<W>> {
        PcapWriter::with_options(out, linktype, false, false, 65535)
    }

    pub fn with_options(
        mut out: W,
        linktype: u32,
        big_endian: bool,
        nanos: bool,
        snaplen: u32,
    ) -> io::Result<PcapWriter<W>> {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        out.write_all(&w32(magic))?;
        out.write_all(&w16(2))?;
        out.write_all(&w16(4))?;
        out.write_all(&w32(0))?;
        out.write_all(&w32(0))?;
        out.write_all(&w32(snaplen))?;
        out.write_all(&w32(linktype))?;
        Ok(PcapWriter {
            out,
            big_endian,
            nanos,
            snaplen,
        })
    }

    fn w32(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// Writes a frame, cut to the snaplen.
    pub fn packet(&mut self, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        let cap = frame.len().min(self.snaplen as usize);
        let frac = if self.nanos {
            ts.subsec_nanos()
        } else {
            ts.subsec_nanos() / 1000
        };
        let hdr = [
            self.w32(ts.secs() as u32),
            self.w32(frac),
            self.w32(cap as u32),
            self.w32(frame.len() as u32),
        ];
        for h in hdr {
            self.out.write_all(&h)?;
        }
        self.out.write_all(&frame[..cap])
    }

    /// Raw bytes (to build broken files).
    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// pcapng, little-endian, one section.
pub struct PcapngWriter<W: Write> {
    out: W,
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

impl<W: Write> PcapngWriter<W> {
    pub fn new(mut out: W) -> io::Result<PcapngWriter<W>> {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        write_block(&mut out, 0x0A0D_0D0A, &body)?;
        Ok(PcapngWriter { out })
    }

    /// Adds an interface; `tsresol` is the if_tsresol byte (6 = microseconds, 9 = nanoseconds).
    pub fn interface(&mut self, linktype: u16, name: Option<&str>, tsresol: u8) -> io::Result<()> {
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        if let Some(n) = name {
            option(&mut body, 2, n.as_bytes());
        }
        option(&mut body, 9, &[tsresol]);
        option(&mut body, 0, &[]);
        write_block(&mut self.out, 1, &body)
    }

    fn units(ts: Timestamp, tsresol: u8) -> u64 {
        let n = ts.as_nanos().max(0) as u128;
        (if tsresol <= 9 {
            n / 10u128.pow(9 - u32::from(tsresol))
        } else {
            n * 10u128.pow(u32::from(tsresol) - 9)
        }) as u64
    }

    /// Enhanced packet block.
    pub fn epb(&mut self, iface: u32, tsresol: u8, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        let u = Self::units(ts, tsresol);
        let mut body = Vec::new();
        body.extend_from_slice(&iface.to_le_bytes());
        timed_frame(&mut body, u, frame);
        write_block(&mut self.out, 6, &body)
    }

    /// Simple packet block (interface 0, no timestamp).
    pub fn spb(&mut self, frame: &[u8]) -> io::Result<()> {
        let mut body = Vec::new();
        body.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        body.extend_from_slice(frame);
        body.resize(pad4(body.len()), 0);
        write_block(&mut self.out, 3, &body)
    }

    /// Obsolete packet block.
    pub fn opb(&mut self, iface: u16, tsresol: u8, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        let u = Self::units(ts, tsresol);
        let mut body = Vec::new();
        body.extend_from_slice(&iface.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        timed_frame(&mut body, u, frame);
        write_block(&mut self.out, 2, &body)
    }

    /// Any other block type (readers must skip it).
    pub fn other(&mut self, block_type: u32, body: &[u8]) -> io::Result<()> {
        let mut b = body.to_vec();
        b.resize(pad4(b.len()), 0);
        write_block(&mut self.out, block_type, &b)
    }

    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Timestamp (high, low), captured and original length, the frame, padding: the common tail
/// of enhanced and obsolete packet blocks.
fn timed_frame(body: &mut Vec<u8>, units: u64, frame: &[u8]) {
    body.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(units as u32).to_le_bytes());
    body.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    body.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    body.extend_from_slice(frame);
    body.resize(pad4(body.len()), 0);
}

fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(value.len() as u16).to_le_bytes());
    body.extend_from_slice(value);
    body.resize(pad4(body.len()), 0);
}

fn write_block<W: Write>(out: &mut W, block_type: u32, body: &[u8]) -> io::Result<()> {
    let total = (12 + body.len()) as u32;
    out.write_all(&block_type.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}
