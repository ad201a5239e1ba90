//! VXLAN (RFC 7348): 8-byte header with a 24-bit network identifier, then Ethernet.

use super::wire::{Truncated, be24};

mod field {
    pub const FLAGS: usize = 0;
    pub const VNI: usize = 4;
    pub const HEADER_LEN: usize = 8;
}

const FLAG_VNI_VALID: u8 = 0x08;

pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Truncated> {
        if buffer.as_ref().len() < field::HEADER_LEN {
            return Err(Truncated);
        }
        Ok(Packet { buffer })
    }

    /// True when the I flag says the VNI is valid, as every real VXLAN packet does.
    #[inline]
    pub fn vni_valid(&self) -> bool {
        self.buffer.as_ref()[field::FLAGS] & FLAG_VNI_VALID != 0
    }

    #[inline]
    pub fn vni(&self) -> u32 {
        be24(self.buffer.as_ref(), field::VNI)
    }

    pub const HEADER_LEN: usize = field::HEADER_LEN;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header() {
        let p = Packet::new_checked([0x08, 0, 0, 0, 0x00, 0x10, 0x01, 0]).unwrap();
        assert!(p.vni_valid());
        assert_eq!(p.vni(), 4097);
        assert!(Packet::new_checked([0x08, 0, 0]).is_err());
    }
}
