//! A bitmap over IPv4 address blocks that says "no indicator here" in one memory read.
//!
//! Most addresses a sensor looks up are not listed. Without a filter, a miss probes every
//! prefix-length table of every feed (a feed of /24–/30 blocks has seven), each probe one or two
//! cache misses. The filter keeps one bit per block of `2^(32-k)` addresses, set when any
//! listed network overlaps the block; a clear bit ends the lookup.
//!
//! Invariant: `may_contain(a)` is true for every address inside a network that was inserted
//! (no false negatives). It may be true for addresses that are not listed.

/// Blocks of at most this many prefix bits: a full-size filter is 2^24 bits (2 MiB).
const MAX_BITS: u32 = 24;
/// Blocks of at least this many prefix bits (a 32-byte filter).
const MIN_BITS: u32 = 8;

#[derive(Clone, Debug)]
pub struct V4Filter {
    /// Prefix bits per block (`k`).
    bits: u32,
    words: Vec<u64>,
}

impl V4Filter {
    /// Backs the bitmap with huge pages (see [`crate::sys::collapse_huge_pages`]).
    pub fn huge_pages(&self) {
        crate::sys::collapse_huge_pages(&self.words);
    }

    /// A filter sized for about `networks` listed networks: about 16 blocks per network, so a
    /// random address passes with a probability of about 1/16 when all are long prefixes.
    pub fn for_networks(networks: usize) -> V4Filter {
        let want = (networks.max(1) as u64 * 16).next_power_of_two();
        let bits = want.trailing_zeros().clamp(MIN_BITS, MAX_BITS);
        V4Filter {
            bits,
            words: vec![0; (1usize << bits) / 64],
        }
    }

    /// Marks every block that `addr/len` overlaps (`addr` has its host bits clear).
    pub fn insert(&mut self, addr: u32, len: u8) {
        let len = u32::from(len.min(32));
        let first = (addr >> (32 - self.bits)) as usize;
        if len >= self.bits {
            self.set(first);
            return;
        }
        // A network larger than a block covers 2^(bits - len) whole blocks.
        let count = 1usize << (self.bits - len);
        for b in first..first + count {
            self.set(b);
        }
    }

    #[inline]
    fn set(&mut self, block: usize) {
        if let Some(w) = self.words.get_mut(block / 64) {
            *w |= 1 << (block % 64);
        }
    }

    /// False when no inserted network contains `addr`.
    #[inline]
    pub fn may_contain(&self, addr: u32) -> bool {
        let block = (addr >> (32 - self.bits)) as usize;
        self.words
            .get(block / 64)
            .is_none_or(|w| w & (1 << (block % 64)) != 0)
    }

    /// Heap bytes held.
    pub fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn a(s: &str) -> u32 {
        u32::from(s.parse::<Ipv4Addr>().unwrap())
    }

    #[test]
    fn no_false_negatives_for_hosts_and_networks() {
        let mut f = V4Filter::for_networks(1000);
        assert_eq!(f.bits, 14);
        f.insert(a("203.0.113.7"), 32);
        f.insert(a("198.51.100.0"), 30);
        f.insert(a("10.0.0.0"), 8);
        assert!(f.may_contain(a("203.0.113.7")));
        assert!(f.may_contain(a("198.51.100.3")));
        for s in ["10.0.0.0", "10.128.4.2", "10.255.255.255"] {
            assert!(f.may_contain(a(s)), "{s}");
        }
        assert!(!f.may_contain(a("11.0.0.0")));
        assert!(!f.may_contain(a("9.255.255.255")));
        assert!(!f.may_contain(a("192.0.2.1")));
    }

    #[test]
    fn sizes_are_bounded() {
        assert_eq!(V4Filter::for_networks(0).bytes(), 32);
        assert_eq!(V4Filter::for_networks(100_000_000).bytes(), 1 << 21);
        let mut f = V4Filter::for_networks(1);
        f.insert(0, 0);
        assert!(f.may_contain(u32::MAX) && f.may_contain(0));
    }

    #[test]
    fn random_misses_mostly_rejected() {
        let mut f = V4Filter::for_networks(10_000);
        let mut x: u32 = 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for _ in 0..10_000 {
            f.insert(next(), 32);
        }
        let passed = (0..100_000).filter(|_| f.may_contain(next())).count();
        assert!(
            passed < 100_000 / 8,
            "{passed} of 100000 random addresses passed"
        );
    }
}
