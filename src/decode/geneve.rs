//! Geneve (RFC 8926): 8-byte base header, variable options, then Ethernet or IP.

use super::wire::{Truncated, be16, be24};

mod field {
    pub const VER_OPTLEN: usize = 0;
    pub const PROTOCOL: usize = 2;
    pub const VNI: usize = 4;
    pub const BASE_LEN: usize = 8;
}

pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    header_len: usize,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Truncated> {
        let b = buffer.as_ref();
        if b.len() < field::BASE_LEN {
            return Err(Truncated);
        }
        let len = field::BASE_LEN + usize::from(b[field::VER_OPTLEN] & 0x3f) * 4;
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
        self.buffer.as_ref()[field::VER_OPTLEN] >> 6
    }

    #[inline]
    pub fn protocol(&self) -> u16 {
        be16(self.buffer.as_ref(), field::PROTOCOL)
    }

    #[inline]
    pub fn vni(&self) -> u32 {
        be24(self.buffer.as_ref(), field::VNI)
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
    fn with_options() {
        let mut h = [0u8; 16];
        h[0] = 0x02; // two 4-byte words of options
        h[2] = 0x65;
        h[3] = 0x58;
        h[5] = 0x01;
        let p = Packet::new_checked(&h[..]).unwrap();
        assert_eq!(
            (p.version(), p.protocol(), p.vni(), p.header_len()),
            (0, 0x6558, 256, 16)
        );
        assert!(Packet::new_checked(&h[..12]).is_err());
    }
}
