//! Addresses that DNS answers resolved from listed names, per client: a later connection from
//! that client to such an address is a C2 contact even when the address is on no list.
//! Bounded (oldest entries go first when full) and expiring with the answer's TTL.

use crate::intel::set::IndicatorId;
use crate::time::Timestamp;
use foldhash::HashMap;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Shortest time an answer is remembered, whatever its TTL: the connection that follows a
/// lookup can come a little after a very short TTL.
pub const MIN_TTL: u32 = 60;
/// Longest time an answer is remembered.
pub const MAX_TTL: u32 = 86_400;

/// (client address, client zone, resolved address)
pub type CacheKey = (IpAddr, u32, IpAddr);

#[derive(Clone, Debug)]
pub struct Resolved {
    pub indicator: IndicatorId,
    /// Snapshot generation the indicator id belongs to.
    pub generation: u64,
    /// The name the client asked for.
    pub name: Box<str>,
    pub expires: Timestamp,
}

pub struct DnsCache {
    map: HashMap<CacheKey, Resolved>,
    order: VecDeque<(CacheKey, Timestamp)>,
    capacity: usize,
    pub evictions: u64,
}

impl DnsCache {
    pub fn new(capacity: usize) -> DnsCache {
        DnsCache {
            map: HashMap::default(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Remembers an answer seen at `now` with the record's TTL.
    pub fn insert(
        &mut self,
        key: CacheKey,
        indicator: IndicatorId,
        generation: u64,
        name: &str,
        now: Timestamp,
        ttl: u32,
    ) {
        let expires = now.plus_secs(u64::from(ttl.clamp(MIN_TTL, MAX_TTL)));
        // Drop what has expired, then the oldest entries while full.
        while let Some((k, exp)) = self.order.front().copied() {
            let stale = exp < now;
            if !stale && self.map.len() < self.capacity {
                break;
            }
            self.order.pop_front();
            if self.map.get(&k).is_some_and(|r| r.expires == exp) {
                self.map.remove(&k);
                if !stale {
                    self.evictions += 1;
                }
            }
        }
        self.order.push_back((key, expires));
        self.map.insert(
            key,
            Resolved {
                indicator,
                generation,
                name: name.into(),
                expires,
            },
        );
    }

    /// The answer for a connection from `key.0` to `key.2` at `now`, if still valid.
    pub fn get(&self, key: &CacheKey, now: Timestamp) -> Option<&Resolved> {
        self.map.get(key).filter(|r| r.expires >= now)
    }
}

/// A [`DnsCache`] that several workers can share. Live capture needs it: the kernel's flow
/// hash may hand a client's DNS answer and its next connection to different workers. Replay
/// gives each worker its own (it dispatches by client, so both reach one worker in order).
/// Lookups skip the lock while the cache is empty, which is nearly always: only answers for
/// listed names are kept.
pub struct SharedDnsCache {
    cache: Mutex<DnsCache>,
    entries: AtomicUsize,
}

impl SharedDnsCache {
    pub fn new(capacity: usize) -> SharedDnsCache {
        SharedDnsCache {
            cache: Mutex::new(DnsCache::new(capacity)),
            entries: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, DnsCache> {
        match self.cache.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// See [`DnsCache::insert`].
    pub fn insert(
        &self,
        key: CacheKey,
        indicator: IndicatorId,
        generation: u64,
        name: &str,
        now: Timestamp,
        ttl: u32,
    ) {
        let mut c = self.lock();
        c.insert(key, indicator, generation, name, now, ttl);
        self.entries.store(c.len(), Ordering::Relaxed);
    }

    /// See [`DnsCache::get`].
    pub fn get(&self, key: &CacheKey, now: Timestamp) -> Option<Resolved> {
        if self.entries.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.lock().get(key, now).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u8) -> CacheKey {
        (IpAddr::from([10, 0, 0, 1]), 0, IpAddr::from([192, 0, 2, n]))
    }

    #[test]
    fn expires_with_ttl_and_stays_bounded() {
        let mut c = DnsCache::new(2);
        let t = |s| Timestamp::new(s, 0);
        c.insert(k(1), 5, 1, "a.example", t(100), 300);
        assert!(c.get(&k(1), t(399)).is_some());
        assert!(c.get(&k(1), t(401)).is_none());
        c.insert(k(2), 5, 1, "a.example", t(101), 10);
        assert!(
            c.get(&k(2), t(150)).is_some(),
            "short TTLs last at least MIN_TTL"
        );
        c.insert(k(3), 5, 1, "a.example", t(102), 300);
        assert_eq!(c.len(), 2);
        assert_eq!(c.evictions, 1);
        assert!(c.get(&k(1), t(103)).is_none(), "oldest went first");
        // A refreshed key is not removed by its older queue entry.
        c.insert(k(2), 6, 1, "b.example", t(103), 300);
        c.insert(k(4), 5, 1, "a.example", t(104), 300);
        assert!(c.get(&k(2), t(105)).is_some_and(|r| r.indicator == 6));
    }

    #[test]
    fn shared_cache_is_seen_by_every_holder() {
        let t = |s| Timestamp::new(s, 0);
        let shared = std::sync::Arc::new(SharedDnsCache::new(4));
        let other = shared.clone();
        assert!(other.get(&k(1), t(100)).is_none());
        std::thread::spawn(move || shared.insert(k(1), 9, 1, "c2.example", t(100), 300))
            .join()
            .expect("thread");
        assert_eq!(other.get(&k(1), t(101)).map(|r| r.indicator), Some(9));
        assert!(other.get(&k(1), t(500)).is_none(), "expired");
    }
}
