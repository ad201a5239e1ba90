//! `IndicatorSet`: the immutable index that workers match against. It is built once by
//! [`IndicatorSetBuilder`], then shared read-only (see [`super::Snapshot`]); nothing in it
//! changes after build, so lookups take no lock.

use super::indicator::{Indicator, IndicatorKind, Meta};
use super::net::{Cidr, canonical};
use super::prefix::PrefixMap;
use foldhash::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Address-level tables shared by indicators and the allowlist.
#[derive(Default, Debug)]
struct AddrIndex {
    v4: PrefixMap<u32, u32>,
    v6: PrefixMap<u128, u32>,
    v4_port: HashMap<(u32, u16), u32>,
    v6_port: HashMap<(u128, u16), u32>,
}

impl AddrIndex {
    #[inline]
    fn lookup(&self, ip: IpAddr, port: Option<u16>) -> Option<u32> {
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                if let (Some(p), false) = (port, self.v4_port.is_empty())
                    && let Some(id) = self.v4_port.get(&(a, p))
                {
                    return Some(*id);
                }
                self.v4.longest_match(a).map(|(_, id)| *id)
            }
            IpAddr::V6(a) => {
                if let Some(v4) = a.to_ipv4_mapped() {
                    return self.lookup(IpAddr::V4(v4), port);
                }
                let a = u128::from(a);
                if let (Some(p), false) = (port, self.v6_port.is_empty())
                    && let Some(id) = self.v6_port.get(&(a, p))
                {
                    return Some(*id);
                }
                self.v6.longest_match(a).map(|(_, id)| *id)
            }
        }
    }

    fn len(&self) -> usize {
        self.v4.len() + self.v6.len() + self.v4_port.len() + self.v6_port.len()
    }
}

/// An immutable, lock-free indicator index with its allowlist.
#[derive(Debug, Default)]
pub struct IndicatorSet {
    generation: u64,
    indicators: Vec<Indicator>,
    index: AddrIndex,
    allow: AddrIndex,
}

/// Position of an indicator in its set.
pub type IndicatorId = u32;

/// An indicator of a snapshot, kept alive with it: what alerts carry (a pointer copy).
#[derive(Clone, Debug)]
pub struct IndicatorRef {
    set: Arc<IndicatorSet>,
    id: IndicatorId,
}

impl IndicatorRef {
    /// `None` when `id` is not an indicator of `set`.
    pub fn new(set: Arc<IndicatorSet>, id: IndicatorId) -> Option<IndicatorRef> {
        (set.indicators.len() > id as usize).then_some(IndicatorRef { set, id })
    }
}

impl std::ops::Deref for IndicatorRef {
    type Target = Indicator;
    fn deref(&self) -> &Indicator {
        // In range: checked by `new`, and a set never changes after build.
        &self.set.indicators[self.id as usize]
    }
}

impl IndicatorSet {
    /// Generation number: a new snapshot has a higher one than the one it replaces.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Number of distinct indicators (allowlist not counted).
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    pub fn allow_len(&self) -> usize {
        self.allow.len()
    }

    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    /// True when the allowlist covers this address (and port).
    #[inline]
    pub fn is_allowed(&self, ip: IpAddr, port: Option<u16>) -> bool {
        self.allow.lookup(ip, port).is_some()
    }

    /// The indicator for a flow endpoint: `ip:port` indicators first (only when the transport
    /// has ports), then the longest covering prefix. The allowlist wins over any match.
    #[inline]
    pub fn match_id(&self, ip: IpAddr, port: Option<u16>) -> Option<IndicatorId> {
        let id = self.index.lookup(ip, port)?;
        if self.is_allowed(ip, port) {
            return None;
        }
        Some(id)
    }

    /// [`Self::match_id`], returning the indicator itself.
    pub fn match_addr(&self, ip: IpAddr, port: Option<u16>) -> Option<&Indicator> {
        self.indicators.get(self.match_id(ip, port)? as usize)
    }
}

/// Which table a value goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddrKey {
    Net(Cidr),
    IpPort(IpAddr, u16),
}

impl AddrKey {
    pub fn ip(ip: IpAddr) -> AddrKey {
        let ip = canonical(ip);
        AddrKey::Net(Cidr {
            addr: ip,
            len: if ip.is_ipv4() { 32 } else { 128 },
        })
    }

    fn kind(&self) -> IndicatorKind {
        match self {
            AddrKey::Net(c) if c.len == if c.addr.is_ipv4() { 32 } else { 128 } => {
                IndicatorKind::Ip
            }
            AddrKey::Net(_) => IndicatorKind::Cidr,
            AddrKey::IpPort(..) => IndicatorKind::IpPort,
        }
    }

    fn is_v6(&self) -> bool {
        match self {
            AddrKey::Net(c) => c.addr.is_ipv6(),
            AddrKey::IpPort(ip, _) => ip.is_ipv6(),
        }
    }
}

/// Collects indicators (merging duplicates and their sources) and the allowlist.
#[derive(Default)]
pub struct IndicatorSetBuilder {
    indicators: Vec<Indicator>,
    index: AddrIndex,
    allow: AddrIndex,
}

impl IndicatorSetBuilder {
    pub fn new() -> IndicatorSetBuilder {
        IndicatorSetBuilder::default()
    }

    /// Adds an indicator; `listed` is the text as the feed wrote it.
    pub fn add(&mut self, key: AddrKey, listed: &str, meta: Arc<Meta>) {
        let next = self.indicators.len() as u32;
        let id = *slot(&mut self.index, key, next);
        if id == next {
            self.indicators.push(Indicator {
                value: listed.into(),
                kind: key.kind(),
                is_v6: key.is_v6(),
                sources: Vec::with_capacity(1),
            });
        }
        if let Some(ind) = self.indicators.get_mut(id as usize) {
            ind.add_source(meta);
        }
    }

    /// Adds an allowlist entry.
    pub fn allow(&mut self, key: AddrKey) {
        slot(&mut self.allow, key, 0);
    }

    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    pub fn build(self, generation: u64) -> IndicatorSet {
        let mut indicators = self.indicators;
        indicators.shrink_to_fit();
        IndicatorSet {
            generation,
            indicators,
            index: self.index,
            allow: self.allow,
        }
    }
}

fn slot(index: &mut AddrIndex, key: AddrKey, next: u32) -> &mut u32 {
    match key {
        AddrKey::Net(Cidr {
            addr: IpAddr::V4(a),
            len,
        }) => index.v4.entry(u32::from(a), len, || next),
        AddrKey::Net(Cidr {
            addr: IpAddr::V6(a),
            len,
        }) => index.v6.entry(u128::from(a), len, || next),
        AddrKey::IpPort(IpAddr::V4(a), p) => index.v4_port.entry((u32::from(a), p)).or_insert(next),
        AddrKey::IpPort(IpAddr::V6(a), p) => {
            index.v6_port.entry((u128::from(a), p)).or_insert(next)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::net::parse_cidr;

    fn meta(feed: &str) -> Arc<Meta> {
        Arc::new(Meta {
            feed: feed.into(),
            ..Meta::default()
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn set() -> IndicatorSet {
        let mut b = IndicatorSetBuilder::new();
        b.add(AddrKey::ip(ip("203.0.113.10")), "203.0.113.10", meta("a"));
        b.add(
            AddrKey::Net(parse_cidr("198.51.100.0/24").unwrap().0),
            "198.51.100.0/24",
            meta("drop"),
        );
        b.add(
            AddrKey::Net(parse_cidr("198.51.100.128/25").unwrap().0),
            "198.51.100.128/25",
            meta("edrop"),
        );
        b.add(
            AddrKey::IpPort(ip("203.0.113.11"), 447),
            "203.0.113.11:447",
            meta("a"),
        );
        b.add(
            AddrKey::Net(parse_cidr("2001:db8:4::/48").unwrap().0),
            "2001:db8:4::/48",
            meta("v6"),
        );
        b.add(AddrKey::ip(ip("203.0.113.10")), "203.0.113.10", meta("b"));
        b.allow(AddrKey::ip(ip("198.51.100.200")));
        b.build(1)
    }

    #[test]
    fn exact_cidr_and_port_matches() {
        let s = set();
        assert_eq!(s.len(), 5);
        let m = s.match_addr(ip("203.0.113.10"), Some(80)).unwrap();
        assert_eq!(m.sources.len(), 2);
        assert_eq!(
            s.match_addr(ip("198.51.100.7"), None)
                .unwrap()
                .value
                .as_ref(),
            "198.51.100.0/24"
        );
        assert_eq!(
            s.match_addr(ip("198.51.100.130"), None)
                .unwrap()
                .value
                .as_ref(),
            "198.51.100.128/25"
        );
        assert_eq!(
            s.match_addr(ip("203.0.113.11"), Some(447)).unwrap().kind,
            IndicatorKind::IpPort
        );
        assert!(s.match_addr(ip("203.0.113.11"), Some(443)).is_none());
        assert!(s.match_addr(ip("203.0.113.11"), None).is_none());
        assert_eq!(
            s.match_addr(ip("2001:db8:4:1::9"), None)
                .unwrap()
                .type_name(),
            "ipv6-net"
        );
        assert_eq!(
            s.match_addr(ip("::ffff:203.0.113.10"), None)
                .unwrap()
                .value
                .as_ref(),
            "203.0.113.10"
        );
        assert!(s.match_addr(ip("192.0.2.1"), None).is_none());
    }

    #[test]
    fn allowlist_wins() {
        let s = set();
        assert!(s.match_addr(ip("198.51.100.200"), Some(443)).is_none());
        assert!(s.match_addr(ip("198.51.100.201"), Some(443)).is_some());
    }
}
