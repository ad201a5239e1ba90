//! Longest-prefix match: one hash map per prefix length present, probed longest first.
//! A feed rarely uses more than a dozen distinct lengths, and a lookup happens once per flow.

use super::net::{mask_v4, mask_v6};
use foldhash::HashMap;
use std::hash::Hash;

/// An address family's key type.
pub trait AddrBits: Copy + Eq + Hash {
    const WIDTH: u8;
    fn masked(self, len: u8) -> Self;
}

impl AddrBits for u32 {
    const WIDTH: u8 = 32;
    #[inline]
    fn masked(self, len: u8) -> u32 {
        mask_v4(self, len)
    }
}

impl AddrBits for u128 {
    const WIDTH: u8 = 128;
    #[inline]
    fn masked(self, len: u8) -> u128 {
        mask_v6(self, len)
    }
}

#[derive(Debug)]
pub struct PrefixMap<K, V> {
    /// (prefix length, network → value), longest prefix first.
    tables: Vec<(u8, HashMap<K, V>)>,
}

impl<K: AddrBits, V> Default for PrefixMap<K, V> {
    fn default() -> Self {
        PrefixMap { tables: Vec::new() }
    }
}

impl<K: AddrBits, V> PrefixMap<K, V> {
    /// The value stored for exactly this network, inserted with `make` when absent.
    pub fn entry(&mut self, addr: K, len: u8, make: impl FnOnce() -> V) -> &mut V {
        let len = len.min(K::WIDTH);
        let pos = match self.tables.iter().position(|(l, _)| *l <= len) {
            Some(p) if self.tables[p].0 == len => p,
            Some(p) => {
                self.tables.insert(p, (len, HashMap::default()));
                p
            }
            None => {
                self.tables.push((len, HashMap::default()));
                self.tables.len() - 1
            }
        };
        self.tables[pos]
            .1
            .entry(addr.masked(len))
            .or_insert_with(make)
    }

    /// The most specific network containing `addr`: (prefix length, value).
    #[inline]
    pub fn longest_match(&self, addr: K) -> Option<(u8, &V)> {
        for (len, table) in &self.tables {
            if let Some(v) = table.get(&addr.masked(*len)) {
                return Some((*len, v));
            }
        }
        None
    }

    pub fn len(&self) -> usize {
        self.tables.iter().map(|(_, t)| t.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mut m: PrefixMap<u32, &str> = PrefixMap::default();
        *m.entry(0xC633_6400, 24, || "") = "net24";
        *m.entry(0xC633_6480, 25, || "") = "net25";
        *m.entry(0xC633_6481, 32, || "") = "host";
        *m.entry(0, 0, || "") = "default";
        assert_eq!(m.longest_match(0xC633_6481), Some((32, &"host")));
        assert_eq!(m.longest_match(0xC633_6482), Some((25, &"net25")));
        assert_eq!(m.longest_match(0xC633_6401), Some((24, &"net24")));
        assert_eq!(m.longest_match(0x0A00_0001), Some((0, &"default")));
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn entry_is_keyed_by_masked_network() {
        let mut m: PrefixMap<u128, u32> = PrefixMap::default();
        *m.entry(1, 64, || 0) += 1;
        *m.entry(2, 64, || 0) += 1;
        assert_eq!(m.len(), 1);
        assert_eq!(m.longest_match(5), Some((64, &2)));
        assert_eq!(m.longest_match(u128::MAX), None);
    }
}
