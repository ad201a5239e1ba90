//! GTP-U version 1 (3GPP TS 29.281): the user-plane tunnel of mobile networks; the TEID
//! identifies one subscriber bearer.

use super::wire::{Truncated, be16, be32};

mod field {
    pub const FLAGS: usize = 0;
    pub const MSG_TYPE: usize = 1;
    pub const LENGTH: usize = 2;
    pub const TEID: usize = 4;
    pub const BASE_LEN: usize = 8;
    pub const OPTIONAL_LEN: usize = 4;
    pub const NEXT_EXT: usize = 11;
}

const FLAGS_EXT: u8 = 0x04;
const FLAGS_SEQ: u8 = 0x02;
const FLAGS_NPDU: u8 = 0x01;
/// The message type that carries a user packet.
pub const G_PDU: u8 = 0xff;

pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    header_len: usize,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the header, the optional fields and the whole extension header chain.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Truncated> {
        let b = buffer.as_ref();
        if b.len() < field::BASE_LEN {
            return Err(Truncated);
        }
        let flags = b[field::FLAGS];
        let mut len = field::BASE_LEN;
        if flags & (FLAGS_EXT | FLAGS_SEQ | FLAGS_NPDU) != 0 {
            len += field::OPTIONAL_LEN;
            if b.len() < len {
                return Err(Truncated);
            }
            if flags & FLAGS_EXT != 0 {
                let mut next = b[field::NEXT_EXT];
                while next != 0 {
                    // Each extension: length in 4-byte units (its own length byte and
                    // next-type byte included), content, next extension type last.
                    let units = usize::from(*b.get(len).ok_or(Truncated)?);
                    if units == 0 {
                        return Err(Truncated);
                    }
                    len += units * 4;
                    next = *b.get(len - 1).ok_or(Truncated)?;
                }
            }
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
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS] >> 5
    }

    #[inline]
    pub fn message_type(&self) -> u8 {
        self.buffer.as_ref()[field::MSG_TYPE]
    }

    #[inline]
    pub fn length(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH)
    }

    #[inline]
    pub fn teid(&self) -> u32 {
        be32(self.buffer.as_ref(), field::TEID)
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
    fn plain_gpdu() {
        let p = Packet::new_checked([0x30, 0xff, 0x00, 0x54, 0x00, 0x00, 0x12, 0x34]).unwrap();
        assert_eq!(
            (
                p.version(),
                p.message_type(),
                p.length(),
                p.teid(),
                p.header_len()
            ),
            (1, G_PDU, 84, 0x1234, 8)
        );
    }

    #[test]
    fn extension_chain() {
        // E flag, next extension 0x85 (PDU session container), one 4-byte extension, then end.
        let h = [
            0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85, 0x01, 0x10, 0x01, 0x00, 0x45,
        ];
        let p = Packet::new_checked(&h[..]).unwrap();
        assert_eq!(p.header_len(), 16);
        assert!(Packet::new_checked(&h[..14]).is_err());
        // A zero length unit would loop forever: rejected.
        let bad = [0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85, 0x00, 0, 0, 0];
        assert!(Packet::new_checked(&bad[..]).is_err());
    }
}
