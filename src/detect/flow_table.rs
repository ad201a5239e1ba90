//! The bounded per-worker flow table, with timeouts on packet time.
//!
//! Every packet looks its flow up here, so the layout is chosen for the cache:
//!
//! - Flows live in a slab (`entries`) in the order they were created; a freed entry is reused
//!   first. The flows that are active together were created close together, so the part of
//!   the slab a busy worker touches stays small even when the table holds millions.
//! - The index is open addressing with linear probing over 8-byte slots: 32 bits of the key's
//!   hash and the entry's position. A lookup reads one slot (rarely two) and then the one entry
//!   whose hash bits agree; deletion shifts later slots back, so no tombstones accumulate.
//! - The hash is seeded per table at random: hostile traffic cannot aim at long probe chains.
//! - The slab and the index are backed by huge pages where the system offers them
//!   (`sys::advise_huge_pages`): with 4 KiB pages, a lookup in a table of tens of megabytes also
//!   misses the TLB, a page-table walk on top of the cache miss (nested, in a VM).
//!
//! Invariants: each live flow has exactly one slot, and exactly one entry in the timeout wheel
//! (its `serial` tells a wheel entry for a reused slab position apart); `len` counts live
//! flows and never exceeds `capacity`.

use super::flow::{EndReason, Flow, FlowKey, Timeouts, flow_id};
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::hash::BuildHasher;

/// The hash a flow table files keys under: seeded at random per table ([`FlowTable::hasher`]
/// gives a copy), so that another thread can hash a packet's key the way the table that will
/// look it up does, and ask for its slot and entry ahead of time
/// ([`FlowTable::prefetch_slot`], [`FlowTable::prefetch_entry`]).
#[derive(Clone, Default)]
pub struct FlowHasher(foldhash::fast::RandomState);

impl FlowHasher {
    /// Inlined by force: every packet hashes its key, and the generic `hash_one` was seen
    /// left out of line (49 instructions a call).
    #[inline(always)]
    #[allow(clippy::manual_hash_one)] // written out so that it is inlined (see above)
    pub fn hash(&self, key: &FlowKey) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = self.0.build_hasher();
        key.hash(&mut h);
        h.finish()
    }
}

/// What [`FlowTable::get_or_create`] did.
pub enum Lookup {
    Existing,
    /// A new flow (a timed-out predecessor, if any, was ended first).
    Created,
}

struct Entry<M> {
    key: FlowKey,
    hash: u64,
    /// Changes each time this slab position gets a new flow.
    serial: u32,
    flow: Option<Flow<M>>,
}

/// Slot value of an empty slot.
const EMPTY: u64 = 0;
/// Index slots start at this many and keep at least twice as many as flows.
const MIN_SLOTS: usize = 1024;

pub struct FlowTable<M> {
    slots: Vec<u64>,
    entries: Vec<Entry<M>>,
    /// Slab positions without a flow, reused last-freed first.
    free: Vec<u32>,
    len: usize,
    hasher: FlowHasher,
    /// Expiry: packet second → (slab position, serial) of flows that may be due then.
    wheel: BTreeMap<i64, Vec<(u32, u32)>>,
    capacity: usize,
    timeouts: Timeouts,
    /// Earliest wheel bucket (packet seconds): `advance` returns at once before it.
    next_due: i64,
    pub created: u64,
    pub timed_out: u64,
    pub evicted: u64,
}

/// The high 32 bits of a hash, as a slot stores them (the low bits pick the slot).
#[inline]
fn tag(x: u64) -> u64 {
    x & 0xFFFF_FFFF_0000_0000
}

#[inline]
fn slot_of(hash: u64, pos: u32) -> u64 {
    tag(hash) | (u64::from(pos) + 1)
}

#[inline]
fn pos_of(slot: u64) -> usize {
    (slot & 0xFFFF_FFFF) as usize - 1
}

impl<M> FlowTable<M> {
    pub fn new(capacity: usize, timeouts: Timeouts) -> FlowTable<M> {
        FlowTable {
            slots: vec![EMPTY; MIN_SLOTS],
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
            hasher: FlowHasher::default(),
            wheel: BTreeMap::new(),
            // Positions are u32 and the table keeps twice as many slots as flows.
            capacity: capacity.clamp(1, 1 << 30),
            timeouts,
            next_due: i64::MAX,
            created: 0,
            timed_out: 0,
            evicted: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The key's hash under this table's seed.
    #[inline(always)]
    fn hash(&self, key: &FlowKey) -> u64 {
        self.hasher.hash(key)
    }

    /// A copy of this table's key hash.
    pub fn hasher(&self) -> FlowHasher {
        self.hasher.clone()
    }

    /// Asks the CPU for the index slot a lookup of a key with this hash reads first. Only a
    /// hint: nothing changes, and a hash of a key that is not here costs one wasted fetch.
    #[inline]
    pub fn prefetch_slot(&self, hash: u64) {
        if let Some(slot) = self.slots.get(self.home(hash)) {
            crate::sys::prefetch_value(slot);
        }
    }

    /// Asks the CPU for the entry a lookup of a key with this hash would compare first (the
    /// lookup's second read), when the slot the hash starts at carries its tag. Reads that
    /// slot: best called a while after [`Self::prefetch_slot`] for the same hash.
    #[inline]
    pub fn prefetch_entry(&self, hash: u64) {
        let Some(&slot) = self.slots.get(self.home(hash)) else {
            return;
        };
        if slot != EMPTY
            && tag(slot) == tag(hash)
            && let Some(e) = self.entries.get(pos_of(slot))
        {
            crate::sys::prefetch_value(e);
        }
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        // The low bits pick the slot; the high 32 are stored in it.
        (hash as usize) & (self.slots.len() - 1)
    }

    /// The slot index holding `key`, if present.
    #[inline]
    fn find(&self, key: &FlowKey, hash: u64) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let want = tag(hash);
        let mut i = self.home(hash);
        loop {
            let slot = self.slots[i];
            if slot == EMPTY {
                return None;
            }
            if tag(slot) == want {
                let e = &self.entries[pos_of(slot)];
                if e.hash == hash && e.key == *key {
                    return Some(i);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Empties slot `i` and moves later slots of the same probe run back (no tombstones).
    fn remove_slot(&mut self, mut i: usize) {
        let mask = self.slots.len() - 1;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let slot = self.slots[j];
            if slot == EMPTY {
                break;
            }
            let home = self.home(self.entries[pos_of(slot)].hash);
            // Move the slot at j back to i unless its home lies cyclically in (i, j].
            let stays = if i <= j {
                i < home && home <= j
            } else {
                i < home || home <= j
            };
            if !stays {
                self.slots[i] = slot;
                i = j;
            }
        }
        self.slots[i] = EMPTY;
    }

    fn place(&mut self, hash: u64, pos: u32) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        while self.slots[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot_of(hash, pos);
    }

    /// Doubles the slab into a fresh buffer backed by huge pages where the system has them:
    /// every packet reads an entry at random, and with 4 KiB pages most of those reads also
    /// miss the TLB once the table outgrows it.
    #[cold]
    fn grow_entries(&mut self) {
        let mut fresh = Vec::with_capacity((self.entries.len() * 2).max(MIN_SLOTS / 2));
        crate::sys::advise_huge_pages(&fresh);
        fresh.append(&mut self.entries);
        self.entries = fresh;
    }

    fn grow(&mut self) {
        let n = self.slots.len() * 2;
        self.slots = vec![EMPTY; n];
        crate::sys::advise_huge_pages(&self.slots);
        for p in 0..self.entries.len() {
            if self.entries[p].flow.is_some() {
                self.place(self.entries[p].hash, p as u32);
            }
        }
    }

    /// Removes the flow in slot `i` and frees its slab position.
    fn take(&mut self, i: usize) -> (FlowKey, Flow<M>) {
        let pos = pos_of(self.slots[i]);
        self.remove_slot(i);
        self.len -= 1;
        self.free.push(pos as u32);
        let e = &mut self.entries[pos];
        let flow = e.flow.take();
        // A slot always points at a live entry: `flow` is present.
        (
            e.key,
            flow.unwrap_or_else(|| unreachable!("slot without a flow")),
        )
    }

    /// Ends every flow idle past its timeout at packet time `now`. Time is the packet's own,
    /// not a running maximum: when inputs go back in time (several files, reordered captures),
    /// flows are never ended early.
    #[inline]
    pub fn advance(&mut self, now: Timestamp, ended: impl FnMut(FlowKey, Flow<M>, EndReason)) {
        // Every packet calls this; nearly always nothing is due yet.
        if now.secs() >= self.next_due {
            self.end_due(now, ended);
        }
    }

    /// [`Self::advance`] when a wheel bucket is due.
    #[inline(never)]
    fn end_due(&mut self, now: Timestamp, mut ended: impl FnMut(FlowKey, Flow<M>, EndReason)) {
        let now_s = now.secs();
        while let Some(entry) = self.wheel.first_entry() {
            if *entry.key() > now_s {
                break;
            }
            for (pos, serial) in entry.remove() {
                let Some(e) = self.entries.get(pos as usize) else {
                    continue;
                };
                let Some(flow) = e.flow.as_ref().filter(|_| e.serial == serial) else {
                    continue;
                };
                let due = flow
                    .last
                    .secs()
                    .saturating_add(self.timeouts.of(e.key.proto(), flow) as i64);
                let (key, hash) = (e.key, e.hash);
                if due > now_s {
                    self.wheel.entry(due).or_default().push((pos, serial));
                } else if let Some(i) = self.find(&key, hash) {
                    let (key, flow) = self.take(i);
                    self.timed_out += 1;
                    ended(key, flow, EndReason::Timeout);
                }
            }
        }
        self.next_due = self.wheel.first_key_value().map_or(i64::MAX, |(k, _)| *k);
    }

    /// The flow for `key`, created if absent. When the table is full, the flow due soonest is
    /// evicted first (reported through `ended`).
    #[inline]
    pub fn get_or_create(
        &mut self,
        key: FlowKey,
        ts: Timestamp,
        src_is_lo: bool,
        mut ended: impl FnMut(FlowKey, Flow<M>, EndReason),
    ) -> (&mut Flow<M>, Lookup) {
        let hash = self.hash(&key);
        let timeouts = self.timeouts;
        if let Some(i) = self.find(&key, hash) {
            let pos = pos_of(self.slots[i]);
            let e = &mut self.entries[pos];
            let Some(flow) = e.flow.as_mut() else {
                unreachable!("slot without a flow")
            };
            let due = flow
                .last
                .secs()
                .saturating_add(timeouts.of(key.proto(), flow) as i64);
            if due > ts.secs() {
                return (flow, Lookup::Existing);
            }
            // Idle past its timeout and not swept yet: it ends here, a new flow starts in the
            // same entry. Its wheel entry stays and will find the new flow (same serial).
            self.created += 1;
            self.timed_out += 1;
            let old = std::mem::replace(flow, Flow::fresh(flow_id(&key, ts), ts, src_is_lo));
            ended(key, old, EndReason::Timeout);
            return (flow, Lookup::Created);
        }
        while self.len >= self.capacity {
            if !self.evict_one(&mut ended) {
                break;
            }
        }
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.created += 1;
        self.len += 1;
        let flow = Flow::fresh(flow_id(&key, ts), ts, src_is_lo);
        let due = ts
            .secs()
            .saturating_add(timeouts.of(key.proto(), &flow) as i64);
        let pos = match self.free.pop() {
            Some(p) => {
                let e = &mut self.entries[p as usize];
                e.key = key;
                e.hash = hash;
                e.serial = e.serial.wrapping_add(1);
                e.flow = Some(flow);
                p
            }
            None => {
                if self.entries.len() == self.entries.capacity() {
                    self.grow_entries();
                }
                self.entries.push(Entry {
                    key,
                    hash,
                    serial: 0,
                    flow: Some(flow),
                });
                (self.entries.len() - 1) as u32
            }
        };
        self.place(hash, pos);
        let serial = self.entries[pos as usize].serial;
        self.wheel.entry(due).or_default().push((pos, serial));
        if due < self.next_due {
            self.next_due = due;
        }
        let Some(flow) = self.entries[pos as usize].flow.as_mut() else {
            unreachable!("flow just stored")
        };
        (flow, Lookup::Created)
    }

    fn evict_one(&mut self, ended: &mut impl FnMut(FlowKey, Flow<M>, EndReason)) -> bool {
        while let Some(mut bucket) = self.wheel.first_entry() {
            let Some((pos, serial)) = bucket.get_mut().pop() else {
                bucket.remove();
                continue;
            };
            let Some(e) = self.entries.get(pos as usize) else {
                continue;
            };
            if e.serial != serial || e.flow.is_none() {
                continue;
            }
            let (key, hash) = (e.key, e.hash);
            if let Some(i) = self.find(&key, hash) {
                let (key, flow) = self.take(i);
                self.evicted += 1;
                ended(key, flow, EndReason::Evicted);
                return true;
            }
        }
        false
    }

    /// Ends every flow (end of input). `clock` is the latest packet time of the whole input:
    /// flows idle past their timeout by then are reported as timed out, the rest as ended by
    /// shutdown — the same labels whichever worker held them.
    pub fn drain(&mut self, clock: Timestamp, mut ended: impl FnMut(FlowKey, Flow<M>, EndReason)) {
        self.wheel.clear();
        self.next_due = i64::MAX;
        self.slots.iter_mut().for_each(|s| *s = EMPTY);
        self.free.clear();
        self.len = 0;
        let mut all: Vec<(FlowKey, Flow<M>)> = std::mem::take(&mut self.entries)
            .into_iter()
            .filter_map(|e| e.flow.map(|f| (e.key, f)))
            .collect();
        // No two flows share a key, so the order is total and the same in every run.
        all.sort_unstable_by_key(|(k, f)| (f.start, f.id, *k));
        for (k, f) in all {
            let due = f
                .last
                .secs()
                .saturating_add(self.timeouts.of(k.proto(), &f) as i64);
            if due <= clock.secs() {
                self.timed_out += 1;
                ended(k, f, EndReason::Timeout);
            } else {
                ended(k, f, EndReason::Shutdown);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn key(n: u8) -> FlowKey {
        FlowKey::between(
            (IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), 1000),
            (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 80),
            17,
            0,
        )
        .0
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::new(s, 0)
    }

    #[test]
    fn a_given_out_hasher_hashes_as_its_table_and_prefetches_are_harmless() {
        let mut table: FlowTable<()> = FlowTable::new(1000, Timeouts::default());
        // An empty table, and any hash at all.
        for h in [0, 1, u64::MAX, 0xdead_beef_0000_0001] {
            table.prefetch_slot(h);
            table.prefetch_entry(h);
        }
        let other: FlowTable<()> = FlowTable::new(1000, Timeouts::default());
        for n in 0..=255 {
            table.get_or_create(key(n), t(1), true, |_, _, _| {});
        }
        let hasher = table.hasher();
        for n in 0..=255 {
            let k = key(n);
            assert_eq!(hasher.hash(&k), table.hash(&k));
            table.prefetch_slot(hasher.hash(&k));
            table.prefetch_entry(hasher.hash(&k));
            // Another table's seed files keys elsewhere (one of 256 may agree by chance).
            table.prefetch_entry(other.hasher().hash(&k));
        }
        assert!(
            (0..=255)
                .filter(|n| other.hasher().hash(&key(*n)) == hasher.hash(&key(*n)))
                .count()
                < 2
        );
        assert_eq!(table.len(), 256);
    }

    #[test]
    fn timeouts_follow_packet_time() {
        let mut table: FlowTable<()> = FlowTable::new(
            10,
            Timeouts {
                udp: 10,
                ..Timeouts::default()
            },
        );
        let mut ended = Vec::new();
        table.get_or_create(key(1), t(100), true, |k, _, r| ended.push((k, r)));
        table.advance(t(105), |k, _, r| ended.push((k, r)));
        assert!(ended.is_empty());
        // Activity at 108 pushes expiry to 118.
        table
            .get_or_create(key(1), t(108), true, |k, _, r| ended.push((k, r)))
            .0
            .last = t(108);
        table.advance(t(111), |k, _, r| ended.push((k, r)));
        assert!(ended.is_empty());
        table.advance(t(119), |k, _, r| ended.push((k, r)));
        assert_eq!(ended, vec![(key(1), EndReason::Timeout)]);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn bounded_with_eviction() {
        let mut table: FlowTable<()> = FlowTable::new(3, Timeouts::default());
        let mut evicted = 0;
        for n in 0..10 {
            table.get_or_create(key(n), t(100 + i64::from(n)), true, |_, _, r| {
                assert_eq!(r, EndReason::Evicted);
                evicted += 1;
            });
        }
        assert_eq!(table.len(), 3);
        assert_eq!(evicted, 7);
        assert_eq!(table.evicted, 7);
    }

    #[test]
    fn stale_flow_is_replaced_on_lookup() {
        let mut table: FlowTable<()> = FlowTable::new(
            10,
            Timeouts {
                udp: 10,
                ..Timeouts::default()
            },
        );
        table.get_or_create(key(1), t(100), true, |_, _, _| {});
        let mut ended = 0;
        let (flow, how) = table.get_or_create(key(1), t(200), false, |_, _, _| ended += 1);
        assert!(matches!(how, Lookup::Created));
        assert_eq!(flow.start, t(200));
        assert_eq!(ended, 1);
    }

    /// The slab moves to a bigger buffer as it grows: every flow keeps its state.
    #[test]
    fn flows_keep_their_state_as_the_slab_grows() {
        let mut table: FlowTable<()> = FlowTable::new(1 << 20, Timeouts::default());
        let key_of = |n: u32| {
            FlowKey::between(
                (IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | n)), 1000),
                (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 443),
                6,
                0,
            )
            .0
        };
        for n in 0..20_000u32 {
            let (flow, how) = table.get_or_create(key_of(n), t(0), true, |_, _, _| {});
            assert!(matches!(how, Lookup::Created));
            flow.pkts[0] = u64::from(n) + 1;
        }
        for n in 0..20_000u32 {
            let (flow, how) = table.get_or_create(key_of(n), t(1), true, |_, _, _| {});
            assert!(matches!(how, Lookup::Existing), "{n} lost");
            assert_eq!(flow.pkts[0], u64::from(n) + 1);
        }
        assert_eq!(table.len(), 20_000);
    }

    /// Random creates, lookups, timeouts and evictions against a plain map: every flow is
    /// found while live, ended exactly once, and the index never loses one (deletions shift
    /// probe runs back across the wrap of the slot array too).
    #[test]
    fn agrees_with_a_reference_map() {
        let mut table: FlowTable<()> = FlowTable::new(
            3000,
            Timeouts {
                udp: 5,
                ..Timeouts::default()
            },
        );
        let mut live: std::collections::HashMap<u32, i64> = Default::default();
        let mut ended = std::collections::HashMap::<u32, u32>::new();
        let mut x: u64 = 7;
        let key_of = |n: u32| {
            FlowKey::between(
                (IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | n)), 1000),
                (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 53),
                17,
                0,
            )
            .0
        };
        let id_of = |k: &FlowKey| match k.lo().0 {
            IpAddr::V4(a) => u32::from(a) & 0x00ff_ffff,
            IpAddr::V6(_) => u32::MAX,
        };
        for step in 0..200_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 5000) as u32;
            let now = step / 1000;
            let mut gone = Vec::new();
            table.advance(t(now), |k, _, r| gone.push((id_of(&k), r)));
            let (flow, how) =
                table.get_or_create(key_of(n), t(now), true, |k, _, r| gone.push((id_of(&k), r)));
            flow.last = t(now);
            for (id, r) in gone {
                *ended.entry(id).or_default() += 1;
                if r != EndReason::Timeout || id != n {
                    assert!(live.remove(&id).is_some(), "{id} ended but was not live");
                }
            }
            match how {
                Lookup::Existing => assert!(live.contains_key(&n)),
                Lookup::Created => {
                    live.remove(&n);
                    live.insert(n, now);
                }
            }
            assert_eq!(table.len(), live.len());
            assert!(table.len() <= 3000);
        }
        for &n in live.keys() {
            let (_, how) = table.get_or_create(key_of(n), t(199), true, |_, _, _| {});
            assert!(matches!(how, Lookup::Existing), "{n} lost from the index");
        }
        assert!(table.evicted > 0 && table.timed_out > 0);
        let mut drained = 0;
        table.drain(t(200), |_, _, _| drained += 1);
        assert_eq!(drained, live.len());
        assert!(table.is_empty());
    }
}
