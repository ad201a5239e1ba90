//! ERSPAN type II and type III headers (Cisco; draft-foschiano-erspan), carried in GRE.

use super::wire::{Truncated, be16};

mod field {
    pub const VER_VLAN: usize = 0;
    pub const SESSION: usize = 2;
    pub const TYPE2_LEN: usize = 8;
    pub const TYPE3_LEN: usize = 12;
    pub const TYPE3_FLAGS: usize = 11;
    pub const PLATFORM_LEN: usize = 8;
}

pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    header_len: usize,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// `version` is 1 (type II) or 2 (type III), as the GRE protocol type implies.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Truncated> {
        let b = buffer.as_ref();
        if b.len() < field::TYPE2_LEN {
            return Err(Truncated);
        }
        let len = match b[0] >> 4 {
            2 => {
                if b.len() < field::TYPE3_LEN {
                    return Err(Truncated);
                }
                // The O flag announces an 8-byte platform-specific subheader.
                if b[field::TYPE3_FLAGS] & 0x01 != 0 {
                    field::TYPE3_LEN + field::PLATFORM_LEN
                } else {
                    field::TYPE3_LEN
                }
            }
            _ => field::TYPE2_LEN,
        };
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
        self.buffer.as_ref()[field::VER_VLAN] >> 4
    }

    #[inline]
    pub fn vlan(&self) -> u16 {
        be16(self.buffer.as_ref(), field::VER_VLAN) & 0x0fff
    }

    #[inline]
    pub fn session_id(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SESSION) & 0x03ff
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
    fn type_two() {
        let p = Packet::new_checked([0x10, 0x64, 0x00, 0x2a, 0, 0, 0, 1]).unwrap();
        assert_eq!(
            (p.version(), p.vlan(), p.session_id(), p.header_len()),
            (1, 100, 42, 8)
        );
    }

    #[test]
    fn type_three_with_and_without_platform_header() {
        let mut h = [0u8; 20];
        h[0] = 0x20;
        h[3] = 7;
        assert_eq!(Packet::new_checked(&h[..12]).unwrap().header_len(), 12);
        h[11] = 1;
        assert!(Packet::new_checked(&h[..12]).is_err());
        let p = Packet::new_checked(&h[..]).unwrap();
        assert_eq!((p.version(), p.session_id(), p.header_len()), (2, 7, 20));
    }
}
