//! Flat open-addressing tables for the indicator set: one array of slots per table, linear
//! probing, no allocation per entry. [`Table`] holds fixed-size keys (addresses, address and
//! port); [`StrTable`] holds names, URLs and hashes in one byte arena.
//!
//! Invariants: a slot never moves once the set is built (an indicator's id is its slot);
//! tables stay at most three-quarters full, so a probe sequence always ends at an empty
//! slot; a value of [`EMPTY`] marks an empty slot and is never stored.

use std::hash::BuildHasher;

/// The value of an empty slot.
pub const EMPTY: u32 = u32::MAX;

const SEED: foldhash::fast::FixedState =
    foldhash::fast::FixedState::with_seed(0x6332_7761_7463_6821);

/// A key a [`Table`] can hold.
pub trait FlatKey: Copy + Ord + Default {
    fn hash(&self) -> u64;
    /// The key's top `bits` bits (as the key orders: a bucket of the sorted layout).
    fn top(&self, bits: u32) -> usize;
    /// The `n`th of a series of distinct keys (candidates for the empty-slot marker).
    fn nth(n: u32) -> Self;
}

impl FlatKey for u32 {
    #[inline]
    fn hash(&self) -> u64 {
        // Multiply-shift (Fibonacci hashing): the top bits are used.
        (u64::from(*self) ^ 0x5bd1_e995).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    fn nth(n: u32) -> u32 {
        n
    }
    #[inline]
    fn top(&self, bits: u32) -> usize {
        (u64::from(*self) >> (32 - bits)) as usize
    }
}

impl FlatKey for u64 {
    #[inline]
    fn hash(&self) -> u64 {
        SEED.hash_one(*self)
    }
    fn nth(n: u32) -> u64 {
        u64::from(n)
    }
    /// (Keys are IPv4 address << 16 | port: 48 bits.)
    #[inline]
    fn top(&self, bits: u32) -> usize {
        ((*self).min((1 << 48) - 1) >> (48 - bits)) as usize
    }
}

impl FlatKey for u128 {
    #[inline]
    fn hash(&self) -> u64 {
        SEED.hash_one(*self)
    }
    fn nth(n: u32) -> u128 {
        u128::from(n)
    }
    #[inline]
    fn top(&self, bits: u32) -> usize {
        (*self >> (128 - bits)) as usize
    }
}

impl FlatKey for (u128, u16) {
    #[inline]
    fn hash(&self) -> u64 {
        SEED.hash_one(*self)
    }
    fn nth(n: u32) -> (u128, u16) {
        (u128::from(n), 0)
    }
    #[inline]
    fn top(&self, bits: u32) -> usize {
        (self.0 >> (128 - bits)) as usize
    }
}

/// Slots a table of `len` entries needs: a power of two, at most three-quarters full.
fn capacity_for(len: usize) -> usize {
    (len.saturating_mul(4) / 3 + 1).next_power_of_two().max(8)
}

/// A table of fixed-size keys, each with a `u32` value. While every entry has the same value
/// (a feed's plain list: one metadata record) the table keeps its keys alone, with a key it
/// does not hold marking empty slots: half the memory, and no conversion at the end. The
/// first entry with another value turns it into (key, value) slots, in place.
#[derive(Clone, Debug, Default)]
pub struct Table<K> {
    /// (key, value) slots, once values differ.
    slots: Vec<(K, u32)>,
    /// Keys alone, while every value is `uniform`.
    keys: Vec<K>,
    uniform: u32,
    /// The key of an empty slot in `keys` (one the table does not hold).
    vacant: K,
    len: usize,
    /// Slots to start with (the size of the same table in the last build).
    hint: usize,
    /// Once built: the keys sorted, with their values (none when all are `uniform`), and
    /// where each bucket of keys (by their top `bits` bits) starts. A lookup reads one index
    /// word and about one cache line of keys.
    frozen: Option<Sorted<K>>,
}

#[derive(Clone, Debug, Default)]
struct Sorted<K> {
    keys: Vec<K>,
    values: Vec<u32>,
    index: Vec<u32>,
    bits: u32,
}

impl<K: FlatKey> Table<K> {
    /// An empty table that will start at `other`'s capacity (nothing is allocated yet).
    pub fn sized_like(other: &Table<K>) -> Table<K> {
        Table {
            hint: capacity_for(other.len),
            ..Table::default()
        }
    }

    #[inline]
    fn home(hash: u64, cap: usize) -> usize {
        // Capacity is a power of two: the top bits of the hash pick the slot.
        let bits = cap.trailing_zeros();
        (hash >> (64 - bits)) as usize
    }

    fn keyed(&self) -> bool {
        self.slots.is_empty()
    }

    /// The slot and value of `key`.
    #[inline]
    pub fn get(&self, key: K) -> Option<(usize, u32)> {
        if self.len == 0 {
            return None;
        }
        if let Some(f) = &self.frozen {
            let b = key.top(f.bits);
            let lo = *f.index.get(b)? as usize;
            let hi = *f.index.get(b + 1)? as usize;
            let bucket = f.keys.get(lo..hi)?;
            let at = lo + bucket.binary_search(&key).ok()?;
            return Some((at, f.values.get(at).copied().unwrap_or(self.uniform)));
        }
        if self.keyed() {
            if key == self.vacant {
                return None;
            }
            let mask = self.keys.len() - 1;
            let mut i = Self::home(key.hash(), self.keys.len());
            loop {
                let k = *self.keys.get(i)?;
                if k == key {
                    return Some((i, self.uniform));
                }
                if k == self.vacant {
                    return None;
                }
                i = (i + 1) & mask;
            }
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::home(key.hash(), self.slots.len());
        loop {
            let (k, v) = *self.slots.get(i)?;
            if v == EMPTY {
                return None;
            }
            if k == key {
                return Some((i, v));
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot of `key`, inserted with value `value` when absent; true when inserted.
    pub fn entry(&mut self, key: K, value: u32) -> (usize, bool) {
        if let Some((i, _)) = self.get(key) {
            return (i, false);
        }
        if self.frozen.is_some() {
            // Built: nothing is added any more.
            return (usize::MAX, false);
        }
        if self.len == 0 && self.keyed() {
            self.uniform = value;
            self.vacant = K::nth(u32::MAX);
        }
        if self.keyed() && value != self.uniform {
            self.split_values();
        }
        let cap = self.keys.len().max(self.slots.len());
        if (self.len + 1) * 4 > cap * 3 {
            self.grow();
        }
        if self.keyed() {
            if key == self.vacant {
                self.move_vacant();
            }
            let mask = self.keys.len() - 1;
            let mut i = Self::home(key.hash(), self.keys.len());
            while self.keys[i] != self.vacant {
                i = (i + 1) & mask;
            }
            self.keys[i] = key;
            self.len += 1;
            return (i, true);
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::home(key.hash(), self.slots.len());
        while self.slots[i].1 != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = (key, value);
        self.len += 1;
        (i, true)
    }

    /// Keys become (key, value) slots, each where it was.
    fn split_values(&mut self) {
        let (vacant, uniform) = (self.vacant, self.uniform);
        self.slots = self
            .keys
            .iter()
            .map(|&k| {
                if k == vacant {
                    (K::default(), EMPTY)
                } else {
                    (k, uniform)
                }
            })
            .collect();
        self.keys = Vec::new();
    }

    /// A key about to be inserted is the empty-slot marker: pick another marker.
    fn move_vacant(&mut self) {
        let old = self.vacant;
        let Some(new) = (0..=self.len as u32)
            .map(K::nth)
            .find(|k| *k != old && self.get(*k).is_none())
        else {
            return;
        };
        for k in &mut self.keys {
            if *k == old {
                *k = new;
            }
        }
        self.vacant = new;
    }

    fn grow(&mut self) {
        let cap = capacity_for((self.len + 1).max(self.keys.len().max(self.slots.len())))
            .max(self.hint.next_power_of_two());
        self.len = 0;
        if self.keyed() {
            let vacant = self.vacant;
            let old = std::mem::replace(&mut self.keys, vec![vacant; cap]);
            let mask = cap - 1;
            for k in old.into_iter().filter(|k| *k != vacant) {
                let mut i = Self::home(k.hash(), cap);
                while self.keys[i] != vacant {
                    i = (i + 1) & mask;
                }
                self.keys[i] = k;
                self.len += 1;
            }
        } else {
            let old = std::mem::replace(&mut self.slots, vec![(K::default(), EMPTY); cap]);
            let mask = cap - 1;
            for (k, v) in old.into_iter().filter(|s| s.1 != EMPTY) {
                let mut i = Self::home(k.hash(), cap);
                while self.slots[i].1 != EMPTY {
                    i = (i + 1) & mask;
                }
                self.slots[i] = (k, v);
                self.len += 1;
            }
        }
    }

    /// Ends building: the entries move to the sorted layout (no inserts after this; slots
    /// are then positions in key order).
    pub fn freeze(&mut self) {
        if self.frozen.is_some() || self.len == 0 {
            return;
        }
        let (keys, values) = if self.keyed() {
            let vacant = self.vacant;
            let mut keys = std::mem::take(&mut self.keys);
            keys.retain(|k| *k != vacant);
            keys.sort_unstable();
            keys.shrink_to_fit();
            (keys, Vec::new())
        } else {
            let mut slots = std::mem::take(&mut self.slots);
            slots.retain(|s| s.1 != EMPTY);
            slots.sort_unstable_by_key(|s| s.0);
            let first = slots.first().map_or(0, |s| s.1);
            let keys: Vec<K> = slots.iter().map(|s| s.0).collect();
            let values = if slots.iter().all(|s| s.1 == first) {
                self.uniform = first;
                Vec::new()
            } else {
                slots.iter().map(|s| s.1).collect()
            };
            (keys, values)
        };
        // About four keys a bucket.
        let bits = (usize::BITS - (keys.len() / 4).leading_zeros()).clamp(1, 24);
        let mut index = vec![0u32; (1 << bits) + 1];
        for k in &keys {
            index[k.top(bits) + 1] += 1;
        }
        for i in 1..index.len() {
            index[i] += index[i - 1];
        }
        self.frozen = Some(Sorted {
            keys,
            values,
            index,
            bits,
        });
    }

    /// Backs the built (frozen) table with huge pages (see
    /// [`crate::sys::collapse_huge_pages`]).
    pub fn huge_pages(&self) {
        if let Some(f) = &self.frozen {
            crate::sys::collapse_huge_pages(&f.keys);
            crate::sys::collapse_huge_pages(&f.values);
            crate::sys::collapse_huge_pages(&f.index);
        }
    }

    /// The value at `slot`, for updating what an entry points at.
    pub fn value_mut(&mut self, slot: usize) -> Option<&mut u32> {
        if self.frozen.is_some() {
            return None;
        }
        self.at(slot)?;
        if self.keyed() {
            self.split_values();
        }
        self.slots.get_mut(slot).map(|s| &mut s.1)
    }

    /// The entry at `slot`, if occupied.
    #[inline]
    pub fn at(&self, slot: usize) -> Option<(K, u32)> {
        if let Some(f) = &self.frozen {
            let k = *f.keys.get(slot)?;
            return Some((k, f.values.get(slot).copied().unwrap_or(self.uniform)));
        }
        if self.keyed() {
            return self
                .keys
                .get(slot)
                .filter(|k| **k != self.vacant)
                .map(|k| (*k, self.uniform));
        }
        self.slots.get(slot).copied().filter(|s| s.1 != EMPTY)
    }

    /// Occupied slots: (slot, key, value).
    pub fn iter(&self) -> impl Iterator<Item = (usize, K, u32)> + '_ {
        let cap = match &self.frozen {
            Some(f) => f.keys.len(),
            None => self.keys.len().max(self.slots.len()),
        };
        (0..cap).filter_map(|i| self.at(i).map(|(k, v)| (i, k, v)))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the table holds.
    pub fn bytes(&self) -> usize {
        let frozen = self.frozen.as_ref().map_or(0, |f| {
            f.keys.capacity() * std::mem::size_of::<K>()
                + (f.values.capacity() + f.index.capacity()) * 4
        });
        self.slots.capacity() * std::mem::size_of::<(K, u32)>()
            + self.keys.capacity() * std::mem::size_of::<K>()
            + frozen
    }
}

/// The word of a [`StrTable`]'s filter (of `words`, a power of two) and the two bits a key
/// with this hash sets in it. Its own bits of the hash: the slot index takes the top ones and
/// the slot tag the low 32.
#[inline]
fn filter_bits(hash: u64, words: usize) -> (usize, u64) {
    (
        (hash >> 12) as usize & (words - 1),
        1 << (hash & 63) | 1 << ((hash >> 6) & 63),
    )
}

/// Sets the filter bits of a key with this hash (a no-op on an empty filter, one not built).
#[inline]
fn filter_mark(filter: &mut [u64], hash: u64) {
    if !filter.is_empty() {
        let (w, bits) = filter_bits(hash, filter.len());
        filter[w] |= bits;
    }
}

/// A table of strings (at most 65,535 bytes each), each with a `u32` value, kept in one arena
/// as `[length: u16][bytes][value: u32]`.
#[derive(Clone, Debug, Default)]
pub struct StrTable {
    /// Per slot: 0 = empty, else the key's hash tag (high half) and its arena offset + 1
    /// (low half). The tag spares reading the arena for most keys that differ.
    slots: Vec<u64>,
    arena: Vec<u8>,
    len: usize,
    /// (slots, arena bytes) to start with: the same table's size in the last build.
    hint: (usize, usize),
    /// Once built (see [`Self::build_filter`]): two bits per key in one word picked by the
    /// key's hash, about one byte per key. A key with either bit clear is absent, found in
    /// one read of a small bitmap instead of a probe of the large slot array. Keys inserted
    /// later set their bits too, so the filter never says absent for a present key.
    filter: Vec<u64>,
}

impl StrTable {
    /// An empty table that will start at `other`'s size (nothing is allocated yet).
    pub fn sized_like(other: &StrTable) -> StrTable {
        StrTable {
            hint: (other.slots.len(), other.arena.len()),
            ..StrTable::default()
        }
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (hash >> (64 - bits)) as usize
    }

    /// The key and value of the entry at arena offset `off`.
    #[inline]
    fn entry_at(&self, off: usize) -> Option<(&[u8], u32)> {
        let len = u16::from_le_bytes(self.arena.get(off..off + 2)?.try_into().ok()?) as usize;
        let key = self.arena.get(off + 2..off + 2 + len)?;
        let v = self.arena.get(off + 2 + len..off + 6 + len)?;
        Some((key, u32::from_le_bytes(v.try_into().ok()?)))
    }

    /// Sizes and fills the filter that answers most lookups of absent keys (call once the
    /// table is built; about one byte per key).
    pub fn build_filter(&mut self) {
        let mut filter = vec![0u64; (self.len.max(1) * 8 / 64).next_power_of_two()];
        for (_, k, _) in self.iter() {
            filter_mark(&mut filter, SEED.hash_one(k));
        }
        self.filter = filter;
    }

    /// The slot and value of `key`.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<(usize, u32)> {
        if self.len == 0 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let hash = SEED.hash_one(key);
        if !self.filter.is_empty() {
            let (w, bits) = filter_bits(hash, self.filter.len());
            if self.filter[w] & bits != bits {
                return None;
            }
        }
        let tag = hash << 32;
        let mut i = self.home(hash);
        loop {
            let slot = *self.slots.get(i)?;
            if slot == 0 {
                return None;
            }
            if slot & !0xFFFF_FFFF == tag
                && let Some((k, v)) = self.entry_at((slot & 0xFFFF_FFFF) as usize - 1)
                && k == key
            {
                return Some((i, v));
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot of `key`, inserted with `value` when absent; true when inserted. `None` for
    /// a key longer than 65,535 bytes, or an arena past 4 GiB.
    pub fn entry(&mut self, key: &[u8], value: u32) -> Option<(usize, bool)> {
        let klen = u16::try_from(key.len()).ok()?;
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let hash = SEED.hash_one(key);
        let tag = hash << 32;
        let mut i = self.home(hash);
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                let at = u32::try_from(self.arena.len() + 1).ok()?;
                filter_mark(&mut self.filter, hash);
                if self.arena.capacity() == 0 && self.hint.1 > 0 {
                    // About the last build's size, plus room to grow a little.
                    self.arena.reserve(self.hint.1 + self.hint.1 / 16);
                }
                self.arena.extend_from_slice(&klen.to_le_bytes());
                self.arena.extend_from_slice(key);
                self.arena.extend_from_slice(&value.to_le_bytes());
                self.slots[i] = tag | u64::from(at);
                self.len += 1;
                return Some((i, true));
            }
            if slot & !0xFFFF_FFFF == tag
                && self
                    .entry_at((slot & 0xFFFF_FFFF) as usize - 1)
                    .is_some_and(|(k, _)| k == key)
            {
                return Some((i, false));
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let cap = capacity_for((self.len + 1).max(self.slots.len())).max(self.hint.0);
        let old = std::mem::replace(&mut self.slots, vec![0; cap]);
        let mask = cap - 1;
        for slot in old.into_iter().filter(|&o| o != 0) {
            let Some((k, _)) = self.entry_at((slot & 0xFFFF_FFFF) as usize - 1) else {
                continue;
            };
            let mut i = self.home(SEED.hash_one(k));
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }

    /// The value at `slot`, for updating.
    pub fn set_value(&mut self, slot: usize, value: u32) {
        if let Some(&s) = self.slots.get(slot)
            && s != 0
            && let Some((k, _)) = self.entry_at((s & 0xFFFF_FFFF) as usize - 1)
        {
            let at = (s & 0xFFFF_FFFF) as usize - 1 + 2 + k.len();
            if let Some(dst) = self.arena.get_mut(at..at + 4) {
                dst.copy_from_slice(&value.to_le_bytes());
            }
        }
    }

    /// The entry at `slot`, if occupied.
    pub fn at(&self, slot: usize) -> Option<(&[u8], u32)> {
        let s = *self.slots.get(slot)?;
        if s == 0 {
            return None;
        }
        self.entry_at((s & 0xFFFF_FFFF) as usize - 1)
    }

    /// Occupied slots: (slot, key, value).
    pub fn iter(&self) -> impl Iterator<Item = (usize, &[u8], u32)> + '_ {
        (0..self.slots.len()).filter_map(|i| self.at(i).map(|(k, v)| (i, k, v)))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Frees the arena's spare capacity (after the last insert).
    pub fn shrink(&mut self) {
        self.arena.shrink_to_fit();
    }

    /// Backs the built table with huge pages (see [`crate::sys::collapse_huge_pages`]).
    pub fn huge_pages(&self) {
        crate::sys::collapse_huge_pages(&self.slots);
        crate::sys::collapse_huge_pages(&self.arena);
        crate::sys::collapse_huge_pages(&self.filter);
    }

    /// Bytes the table holds.
    pub fn bytes(&self) -> usize {
        self.slots.capacity() * 8 + self.arena.capacity() + self.filter.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_keys_insert_find_and_grow() {
        let mut t: Table<u32> = Table::default();
        assert_eq!(t.get(7), None);
        for k in 0..10_000u32 {
            let (_, new) = t.entry(k.wrapping_mul(2_654_435_761), k);
            assert!(new);
        }
        assert_eq!(
            t.entry(0, 99),
            (t.get(0).unwrap().0, false),
            "present: not replaced"
        );
        for k in 0..10_000u32 {
            let (slot, v) = t.get(k.wrapping_mul(2_654_435_761)).unwrap();
            assert_eq!(v, k);
            assert_eq!(t.at(slot), Some((k.wrapping_mul(2_654_435_761), k)));
        }
        assert_eq!(t.get(1), None);
        assert_eq!(t.len(), 10_000);
        assert_eq!(t.iter().count(), 10_000);
        assert!(t.bytes() <= 16_384 * 8, "at most 3/4 full, power of two");
        t.freeze();
        for k in 0..10_000u32 {
            let (slot, v) = t.get(k.wrapping_mul(2_654_435_761)).unwrap();
            assert_eq!((v, t.at(slot).map(|e| e.1)), (k, Some(k)));
        }
        assert_eq!(t.get(1), None);
        assert!(
            t.bytes() < 10_000 * 13,
            "sorted: keys, values and a small index"
        );
    }

    /// The filter never hides a key, also one inserted after it was built, and it answers
    /// most lookups of absent keys by itself.
    #[test]
    fn string_filter_has_no_false_negatives() {
        let mut t = StrTable::default();
        for i in 0..50_000u32 {
            t.entry(format!("host{i}.example").as_bytes(), i);
        }
        let before = t.bytes();
        t.build_filter();
        assert_eq!(
            t.bytes(),
            before + t.filter.len() * 8,
            "the filter is counted"
        );
        assert!(
            t.filter.len() * 8 <= 2 * 50_000,
            "at most two bytes per key"
        );
        t.entry(b"late.example", 7);
        for i in 0..50_000u32 {
            assert_eq!(
                t.get(format!("host{i}.example").as_bytes()).map(|e| e.1),
                Some(i)
            );
        }
        assert_eq!(t.get(b"late.example").map(|e| e.1), Some(7));
        let passed = (0..50_000u32)
            .filter(|i| {
                let key = format!("other{i}.example");
                let (w, bits) = filter_bits(SEED.hash_one(key.as_bytes()), t.filter.len());
                t.filter[w] & bits == bits
            })
            .count();
        assert!(
            passed < 50_000 / 10,
            "{passed} of 50,000 absent keys passed the filter"
        );
        assert_eq!(t.get(b"other1.example"), None);
    }

    #[test]
    fn keys_alone_until_a_value_differs() {
        let mut t: Table<u32> = Table::default();
        for k in 0..100u32 {
            t.entry(k, 3);
        }
        assert_eq!(t.bytes(), 256 * 4, "keys only");
        // The empty-slot marker itself can be a key.
        let (slot, new) = t.entry(u32::MAX, 3);
        assert!(new);
        assert_eq!(t.at(slot), Some((u32::MAX, 3)));
        assert_eq!(t.get(u32::MAX), Some((slot, 3)));
        assert_eq!(t.get(100), None);
        // Another value: (key, value) slots, same positions.
        let (s7, _) = t.get(7).unwrap();
        *t.value_mut(s7).unwrap() = 9;
        assert_eq!(t.get(7), Some((s7, 9)));
        assert_eq!(t.get(8).map(|e| e.1), Some(3));
        assert_eq!(t.get(u32::MAX), Some((slot, 3)));
        t.entry(500, 4);
        assert_eq!(t.len(), 102);
        assert_eq!(t.iter().count(), 102);
    }

    #[test]
    fn uniform_values_keep_only_keys() {
        let mut t: Table<u32> = Table::default();
        for k in 0..1_000u32 {
            t.entry(k, 5);
        }
        assert_eq!(t.bytes(), 2_048 * 4, "keys alone while building");
        t.freeze();
        assert!(
            t.bytes() < 1_000 * 6,
            "keys and a small index: {}",
            t.bytes()
        );
        let all: Vec<u32> = t.iter().map(|(_, k, _)| k).collect();
        assert_eq!(all, (0..1_000).collect::<Vec<u32>>(), "in key order");
        for k in 0..1_000u32 {
            assert_eq!(t.get(k).map(|e| e.1), Some(5));
        }
        assert_eq!(t.get(1_000), None, "the empty-slot marker is not a key");
        assert_eq!(t.get(77_777), None);
        assert_eq!(t.len(), 1_000);
    }

    #[test]
    fn strings_insert_find_update_and_grow() {
        let mut t = StrTable::default();
        let names: Vec<String> = (0..5_000).map(|i| format!("host{i}.example")).collect();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.entry(n.as_bytes(), i as u32).map(|e| e.1), Some(true));
        }
        assert_eq!(t.entry(b"host1.example", 0).map(|e| e.1), Some(false));
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.get(n.as_bytes()).map(|e| e.1), Some(i as u32));
        }
        let (slot, _) = t.get(b"host42.example").unwrap();
        t.set_value(slot, 7);
        assert_eq!(t.get(b"host42.example"), Some((slot, 7)));
        assert_eq!(t.at(slot), Some((&b"host42.example"[..], 7)));
        assert_eq!(t.get(b"host42.exampl"), None);
        assert_eq!(t.get(b""), None);
        assert!(t.entry(&vec![b'a'; 70_000], 1).is_none(), "too long");
        assert_eq!(t.iter().count(), 5_000);
    }
}
