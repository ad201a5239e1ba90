//! GRE (RFC 2784/2890) and the enhanced GRE of PPTP (RFC 2637, version 1).

use super::wire::{Truncated, be16, be32};

mod field {
    pub const FLAGS: usize = 0;
    pub const PROTOCOL: usize = 2;
    pub const BASE_LEN: usize = 4;
}

const FLAG_CHECKSUM: u16 = 0x8000;
const FLAG_ROUTING: u16 = 0x4000;
const FLAG_KEY: u16 = 0x2000;
const FLAG_SEQ: u16 = 0x1000;
const FLAG_ACK: u16 = 0x0080;

pub const PROTO_TEB: u16 = 0x6558;
pub const PROTO_ERSPAN_I_II: u16 = 0x88be;
pub const PROTO_ERSPAN_III: u16 = 0x22eb;
pub const PROTO_PPP: u16 = 0x880b;

pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    header_len: usize,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the base header and every optional field the flags announce.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Truncated> {
        let b = buffer.as_ref();
        if b.len() < field::BASE_LEN {
            return Err(Truncated);
        }
        let flags = be16(b, field::FLAGS);
        let mut len = field::BASE_LEN;
        if flags & (FLAG_CHECKSUM | FLAG_ROUTING) != 0 {
            len += 4;
        }
        if flags & FLAG_KEY != 0 {
            len += 4;
        }
        if flags & FLAG_SEQ != 0 {
            len += 4;
        }
        if flags & 0x7 == 1 && flags & FLAG_ACK != 0 {
            len += 4;
        }
        if b.len() < len {
            return Err(Truncated);
        }
        Ok(Packet {
            buffer,
            header_len: len,
        })
    }

    #[inline]
    fn flags(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLAGS)
    }

    #[inline]
    pub fn version(&self) -> u8 {
        (self.flags() & 0x7) as u8
    }

    #[inline]
    pub fn protocol(&self) -> u16 {
        be16(self.buffer.as_ref(), field::PROTOCOL)
    }

    #[inline]
    pub fn has_seq(&self) -> bool {
        self.flags() & FLAG_SEQ != 0
    }

    /// The key (version 0) or the payload-length/call-id word (PPTP), if present.
    pub fn key(&self) -> Option<u32> {
        if self.flags() & FLAG_KEY == 0 {
            return None;
        }
        let at = field::BASE_LEN
            + if self.flags() & (FLAG_CHECKSUM | FLAG_ROUTING) != 0 {
                4
            } else {
                0
            };
        Some(be32(self.buffer.as_ref(), at))
    }

    #[inline]
    pub fn header_len(&self) -> usize {
        self.header_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_keyed() {
        let p = Packet::new_checked([0x00, 0x00, 0x08, 0x00]).unwrap();
        assert_eq!((p.protocol(), p.header_len(), p.key()), (0x0800, 4, None));
        let p = Packet::new_checked([0xb0, 0x00, 0x65, 0x58, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1])
            .unwrap();
        assert_eq!(
            (p.protocol(), p.header_len(), p.key(), p.has_seq()),
            (PROTO_TEB, 16, Some(7), true)
        );
        assert!(Packet::new_checked([0x20, 0x00, 0x08, 0x00, 0, 0]).is_err());
    }

    #[test]
    fn pptp_enhanced() {
        // Version 1, key present, seq and ack present.
        let p = Packet::new_checked([0x30, 0x81, 0x88, 0x0b, 0, 4, 0, 9, 0, 0, 0, 1, 0, 0, 0, 2])
            .unwrap();
        assert_eq!(
            (p.version(), p.protocol(), p.header_len()),
            (1, PROTO_PPP, 16)
        );
        assert_eq!(p.key(), Some(0x0004_0009));
    }
}
