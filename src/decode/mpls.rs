//! MPLS label stack entries (RFC 3032): 20-bit label, 3-bit TC, bottom-of-stack bit, TTL.

use super::wire::{Truncated, be32};

mod field {
    pub const ENTRY_LEN: usize = 4;
}

/// One label stack entry.
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Truncated> {
        if buffer.as_ref().len() < field::ENTRY_LEN {
            return Err(Truncated);
        }
        Ok(Packet { buffer })
    }

    #[inline]
    fn word(&self) -> u32 {
        be32(self.buffer.as_ref(), 0)
    }

    #[inline]
    pub fn label(&self) -> u32 {
        self.word() >> 12
    }

    #[inline]
    pub fn bottom_of_stack(&self) -> bool {
        self.word() & 0x100 != 0
    }

    pub const LEN: usize = field::ENTRY_LEN;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_label_and_bottom_bit() {
        let p = Packet::new_checked([0x00, 0x01, 0x41, 0xff]).unwrap();
        assert_eq!(p.label(), 20);
        assert!(p.bottom_of_stack());
        let p = Packet::new_checked([0xff, 0xff, 0xf0, 0x40]).unwrap();
        assert_eq!(p.label(), 0xfffff);
        assert!(!p.bottom_of_stack());
        assert!(Packet::new_checked([0u8; 3]).is_err());
    }
}
