//! Linux "cooked" capture headers: SLL (LINKTYPE_LINUX_SLL) and SLL2 (LINKTYPE_LINUX_SLL2).

use super::wire::{Truncated, be16};

mod field {
    pub const SLL_ADDR_LEN: usize = 4;
    pub const SLL_ADDR: usize = 6;
    pub const SLL_PROTOCOL: usize = 14;
    pub const SLL_LEN: usize = 16;
    pub const SLL2_PROTOCOL: usize = 0;
    pub const SLL2_ADDR_LEN: usize = 11;
    pub const SLL2_ADDR: usize = 12;
    pub const SLL2_LEN: usize = 20;
}

/// Either cooked header; `v2` selects the layout.
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    v2: bool,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T, v2: bool) -> Result<Packet<T>, Truncated> {
        let need = if v2 { field::SLL2_LEN } else { field::SLL_LEN };
        if buffer.as_ref().len() < need {
            return Err(Truncated);
        }
        Ok(Packet { buffer, v2 })
    }

    /// The EtherType of the payload.
    #[inline]
    pub fn protocol(&self) -> u16 {
        be16(
            self.buffer.as_ref(),
            if self.v2 {
                field::SLL2_PROTOCOL
            } else {
                field::SLL_PROTOCOL
            },
        )
    }

    /// The sender's link-layer address when it is a 6-byte MAC.
    pub fn source_mac(&self) -> Option<[u8; 6]> {
        let b = self.buffer.as_ref();
        let (len, at) = if self.v2 {
            (usize::from(b[field::SLL2_ADDR_LEN]), field::SLL2_ADDR)
        } else {
            (usize::from(be16(b, field::SLL_ADDR_LEN)), field::SLL_ADDR)
        };
        if len != 6 {
            return None;
        }
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&b[at..at + 6]);
        Some(mac)
    }

    #[inline]
    pub fn header_len(&self) -> usize {
        if self.v2 {
            field::SLL2_LEN
        } else {
            field::SLL_LEN
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sll_v1_and_v2() {
        let mut v1 = [0u8; 16];
        v1[5] = 6;
        v1[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        v1[14] = 0x08;
        let p = Packet::new_checked(&v1[..], false).unwrap();
        assert_eq!(
            (p.protocol(), p.source_mac(), p.header_len()),
            (0x0800, Some([2, 0, 0, 0, 0, 1]), 16)
        );
        let mut v2 = [0u8; 20];
        v2[0] = 0x86;
        v2[1] = 0xdd;
        v2[11] = 6;
        v2[12..18].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        let p = Packet::new_checked(&v2[..], true).unwrap();
        assert_eq!(
            (p.protocol(), p.source_mac(), p.header_len()),
            (0x86dd, Some([2, 0, 0, 0, 0, 2]), 20)
        );
        assert!(Packet::new_checked(&v2[..19], true).is_err());
    }
}
