//! PPPoE session stage (RFC 2516) and the PPP protocol field that follows it.

use super::wire::{Truncated, be16};

mod field {
    pub const VER_TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const SESSION: usize = 2;
    pub const LENGTH: usize = 4;
    pub const PPP_PROTOCOL: usize = 6;
    pub const HEADER_LEN: usize = 8;
}

pub const PPP_IPV4: u16 = 0x0021;
pub const PPP_IPV6: u16 = 0x0057;

pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the PPPoE header and the PPP protocol field are present.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Truncated> {
        if buffer.as_ref().len() < field::HEADER_LEN {
            return Err(Truncated);
        }
        Ok(Packet { buffer })
    }

    #[inline]
    pub fn version_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE]
    }

    #[inline]
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    #[inline]
    pub fn session_id(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SESSION)
    }

    /// Length of the PPP frame (protocol field included).
    #[inline]
    pub fn length(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH)
    }

    #[inline]
    pub fn ppp_protocol(&self) -> u16 {
        be16(self.buffer.as_ref(), field::PPP_PROTOCOL)
    }

    pub const HEADER_LEN: usize = field::HEADER_LEN;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_header() {
        let p = Packet::new_checked([0x11, 0x00, 0x12, 0x34, 0x00, 0x2a, 0x00, 0x21]).unwrap();
        assert_eq!(
            (
                p.version_type(),
                p.code(),
                p.session_id(),
                p.length(),
                p.ppp_protocol()
            ),
            (0x11, 0, 0x1234, 42, PPP_IPV4)
        );
        assert!(Packet::new_checked([0x11, 0, 0, 1, 0, 2, 0]).is_err());
    }
}
