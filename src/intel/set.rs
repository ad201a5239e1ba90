//! `IndicatorSet`: the immutable index that workers match against. It is built once by
//! [`IndicatorSetBuilder`], then shared read-only (see [`super::Snapshot`]); nothing in it
//! changes after build, so lookups take no lock.

use super::indicator::{Indicator, IndicatorKind, Meta};
use super::name::UrlParts;
use super::net::{Cidr, canonical};
use super::prefix::PrefixMap;
use foldhash::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Kinds of fingerprint and hash indicators, each with its own table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashKind {
    Ja3 = 0,
    Ja3s = 1,
    Ja4 = 2,
    CertSha1 = 3,
    CertSha256 = 4,
}

impl HashKind {
    fn indicator_kind(self) -> IndicatorKind {
        match self {
            HashKind::Ja3 => IndicatorKind::Ja3,
            HashKind::Ja3s => IndicatorKind::Ja3s,
            HashKind::Ja4 => IndicatorKind::Ja4,
            HashKind::CertSha1 => IndicatorKind::CertSha1,
            HashKind::CertSha256 => IndicatorKind::CertSha256,
        }
    }
}

/// A listed URL's query (when the listing had one) and its indicator.
type UrlEntry = (Option<Box<str>>, u32);

/// Every table an indicator or allowlist entry can live in.
#[derive(Default, Debug)]
struct Index {
    v4: PrefixMap<u32, u32>,
    v6: PrefixMap<u128, u32>,
    v4_port: HashMap<(u32, u16), u32>,
    v6_port: HashMap<(u128, u16), u32>,
    /// A name and everything below it.
    domains: HashMap<Box<str>, u32>,
    /// Only the names below it (`*.example`).
    children: HashMap<Box<str>, u32>,
    /// Only the name itself (Zeek's `Intel::DOMAIN`).
    exact: HashMap<Box<str>, u32>,
    /// `scheme://host[:port]/path` → (query, if the listing had one; id).
    urls: HashMap<Box<str>, Vec<UrlEntry>>,
    hashes: [HashMap<Box<str>, u32>; 5],
}

impl Index {
    #[inline]
    fn lookup_addr(&self, ip: IpAddr, port: Option<u16>) -> Option<u32> {
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
                    return self.lookup_addr(IpAddr::V4(v4), port);
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

    /// The most specific listed domain at or above `name` (lower case, no trailing dot), on
    /// label boundaries only.
    #[inline]
    fn lookup_domain(&self, name: &str) -> Option<u32> {
        if self.domains.is_empty() && self.children.is_empty() && self.exact.is_empty() {
            return None;
        }
        if let Some(id) = self.exact.get(name) {
            return Some(*id);
        }
        let mut rest = name;
        let mut own = true;
        loop {
            if let Some(id) = self.domains.get(rest) {
                return Some(*id);
            }
            if !own && let Some(id) = self.children.get(rest) {
                return Some(*id);
            }
            own = false;
            match rest.find('.') {
                Some(i) => rest = &rest[i + 1..],
                None => return None,
            }
        }
    }

    fn lookup_url(&self, key: &str, query: Option<&str>) -> Option<u32> {
        let entries = self.urls.get(key)?;
        // A listing with a query needs that exact query; one without matches any.
        entries
            .iter()
            .find(|(q, _)| q.as_deref().is_some_and(|q| Some(q) == query))
            .or_else(|| entries.iter().find(|(q, _)| q.is_none()))
            .map(|(_, id)| *id)
    }

    fn len(&self) -> usize {
        self.v4.len()
            + self.v6.len()
            + self.v4_port.len()
            + self.v6_port.len()
            + self.domains.len()
            + self.children.len()
            + self.exact.len()
            + self.urls.values().map(Vec::len).sum::<usize>()
            + self.hashes.iter().map(HashMap::len).sum::<usize>()
    }

    fn has_names(&self) -> bool {
        !self.domains.is_empty() || !self.children.is_empty() || !self.exact.is_empty()
    }
}

/// An immutable, lock-free indicator index with its allowlist.
#[derive(Debug, Default)]
pub struct IndicatorSet {
    generation: u64,
    indicators: Vec<Indicator>,
    index: Index,
    allow: Index,
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

    /// Generation of the snapshot the indicator was matched in.
    pub fn generation(&self) -> u64 {
        self.set.generation
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

    pub fn get(&self, id: IndicatorId) -> Option<&Indicator> {
        self.indicators.get(id as usize)
    }

    /// True when the set holds domain indicators (DNS, SNI and Host inspection matter).
    pub fn has_domains(&self) -> bool {
        self.index.has_names()
    }

    /// True when TCP payloads need inspecting (names, URLs, TLS fingerprints, certificates).
    pub fn inspects_tcp(&self) -> bool {
        self.index.has_names()
            || !self.index.urls.is_empty()
            || self.index.hashes.iter().any(|h| !h.is_empty())
    }

    pub fn has_hashes(&self, kind: HashKind) -> bool {
        !self.index.hashes[kind as usize].is_empty()
    }

    /// True when the allowlist covers this address (and port).
    #[inline]
    pub fn is_allowed(&self, ip: IpAddr, port: Option<u16>) -> bool {
        self.allow.lookup_addr(ip, port).is_some()
    }

    /// True when the allowlist covers this (canonical) name.
    pub fn is_allowed_domain(&self, name: &str) -> bool {
        self.allow.lookup_domain(name).is_some()
    }

    /// The indicator for a flow endpoint: `ip:port` indicators first (only when the transport
    /// has ports), then the longest covering prefix. The allowlist wins over any match.
    #[inline]
    pub fn match_id(&self, ip: IpAddr, port: Option<u16>) -> Option<IndicatorId> {
        let id = self.index.lookup_addr(ip, port)?;
        if self.is_allowed(ip, port) {
            return None;
        }
        Some(id)
    }

    /// [`Self::match_id`], returning the indicator itself.
    pub fn match_addr(&self, ip: IpAddr, port: Option<u16>) -> Option<&Indicator> {
        self.indicators.get(self.match_id(ip, port)? as usize)
    }

    /// The most specific domain indicator for a name (lower case, no trailing dot: see
    /// [`super::name::wire_name`]). An allowlisted name or parent wins.
    #[inline]
    pub fn match_domain(&self, name: &str) -> Option<IndicatorId> {
        let id = self.index.lookup_domain(name)?;
        if self.allow.lookup_domain(name).is_some() {
            return None;
        }
        Some(id)
    }

    /// A URL indicator for a request, given its canonical `scheme://host[:port]/path` and query.
    pub fn match_url(&self, key: &str, query: Option<&str>) -> Option<IndicatorId> {
        let id = self.index.lookup_url(key, query)?;
        if self.allow.lookup_url(key, query).is_some() {
            return None;
        }
        Some(id)
    }

    /// A fingerprint or certificate hash (lower-case hex, or a JA4 string).
    pub fn match_hash(&self, kind: HashKind, value: &str) -> Option<IndicatorId> {
        let table = &self.index.hashes[kind as usize];
        if table.is_empty() {
            return None;
        }
        let id = *table.get(value)?;
        if self.allow.hashes[kind as usize].contains_key(value) {
            return None;
        }
        Some(id)
    }
}

/// Which table a value goes to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Net(Cidr),
    IpPort(IpAddr, u16),
    /// Canonical domain (see [`super::name::canonical_domain`]), itself and below.
    Domain(String),
    /// Only the names below the domain.
    DomainChildren(String),
    /// Only the name itself.
    DomainExact(String),
    Url(UrlParts),
    Hash(HashKind, String),
}

impl Key {
    pub fn ip(ip: IpAddr) -> Key {
        let ip = canonical(ip);
        Key::Net(Cidr {
            addr: ip,
            len: if ip.is_ipv4() { 32 } else { 128 },
        })
    }

    fn kind(&self) -> IndicatorKind {
        match self {
            Key::Net(c) if c.len == if c.addr.is_ipv4() { 32 } else { 128 } => IndicatorKind::Ip,
            Key::Net(_) => IndicatorKind::Cidr,
            Key::IpPort(..) => IndicatorKind::IpPort,
            Key::Domain(_) => IndicatorKind::Domain,
            Key::DomainChildren(_) => IndicatorKind::DomainChildren,
            Key::DomainExact(_) => IndicatorKind::DomainExact,
            Key::Url(_) => IndicatorKind::Url,
            Key::Hash(h, _) => h.indicator_kind(),
        }
    }

    fn is_v6(&self) -> bool {
        match self {
            Key::Net(c) => c.addr.is_ipv6(),
            Key::IpPort(ip, _) => ip.is_ipv6(),
            _ => false,
        }
    }
}

/// Collects indicators (merging duplicates and their sources) and the allowlist.
#[derive(Default)]
pub struct IndicatorSetBuilder {
    indicators: Vec<Indicator>,
    index: Index,
    allow: Index,
}

impl IndicatorSetBuilder {
    pub fn new() -> IndicatorSetBuilder {
        IndicatorSetBuilder::default()
    }

    /// Adds an indicator; `listed` is the text as the feed wrote it.
    pub fn add(&mut self, key: Key, listed: &str, meta: Arc<Meta>) {
        let next = self.indicators.len() as u32;
        let (kind, is_v6) = (key.kind(), key.is_v6());
        let id = *slot(&mut self.index, key, next);
        if id == next {
            self.indicators.push(Indicator {
                value: listed.into(),
                kind,
                is_v6,
                sources: Vec::with_capacity(1),
            });
        }
        if let Some(ind) = self.indicators.get_mut(id as usize) {
            ind.add_source(meta);
        }
    }

    /// Adds an allowlist entry.
    pub fn allow(&mut self, key: Key) {
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

fn slot(index: &mut Index, key: Key, next: u32) -> &mut u32 {
    match key {
        Key::Net(Cidr {
            addr: IpAddr::V4(a),
            len,
        }) => index.v4.entry(u32::from(a), len, || next),
        Key::Net(Cidr {
            addr: IpAddr::V6(a),
            len,
        }) => index.v6.entry(u128::from(a), len, || next),
        Key::IpPort(IpAddr::V4(a), p) => index.v4_port.entry((u32::from(a), p)).or_insert(next),
        Key::IpPort(IpAddr::V6(a), p) => index.v6_port.entry((u128::from(a), p)).or_insert(next),
        Key::Domain(d) => index.domains.entry(d.into()).or_insert(next),
        Key::DomainChildren(d) => index.children.entry(d.into()).or_insert(next),
        Key::DomainExact(d) => index.exact.entry(d.into()).or_insert(next),
        Key::Url(u) => {
            let entries = index.urls.entry(u.key.into()).or_default();
            let query: Option<Box<str>> = u.query.map(Into::into);
            let pos = match entries.iter().position(|(q, _)| *q == query) {
                Some(p) => p,
                None => {
                    entries.push((query, next));
                    entries.len() - 1
                }
            };
            &mut entries[pos].1
        }
        Key::Hash(h, v) => index.hashes[h as usize].entry(v.into()).or_insert(next),
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
        b.add(Key::ip(ip("203.0.113.10")), "203.0.113.10", meta("a"));
        b.add(
            Key::Net(parse_cidr("198.51.100.0/24").unwrap().0),
            "198.51.100.0/24",
            meta("drop"),
        );
        b.add(
            Key::Net(parse_cidr("198.51.100.128/25").unwrap().0),
            "198.51.100.128/25",
            meta("edrop"),
        );
        b.add(
            Key::IpPort(ip("203.0.113.11"), 447),
            "203.0.113.11:447",
            meta("a"),
        );
        b.add(
            Key::Net(parse_cidr("2001:db8:4::/48").unwrap().0),
            "2001:db8:4::/48",
            meta("v6"),
        );
        b.add(Key::ip(ip("203.0.113.10")), "203.0.113.10", meta("b"));
        b.allow(Key::ip(ip("198.51.100.200")));
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
    fn domains_match_on_label_boundaries() {
        let mut b = IndicatorSetBuilder::new();
        b.add(
            Key::Domain("evil.example".into()),
            "Evil.Example",
            meta("d"),
        );
        b.add(
            Key::DomainChildren("dyn.example".into()),
            "*.dyn.example",
            meta("d"),
        );
        b.add(
            Key::Domain("cdn.evil.example".into()),
            "cdn.evil.example",
            meta("d"),
        );
        b.allow(Key::Domain("ok.evil.example".into()));
        let s = b.build(1);
        let m = |n: &str| {
            s.match_domain(n)
                .and_then(|id| s.get(id))
                .map(|i| i.value.to_string())
        };
        assert_eq!(m("evil.example").as_deref(), Some("Evil.Example"));
        assert_eq!(m("a.b.evil.example").as_deref(), Some("Evil.Example"));
        assert_eq!(
            m("x.cdn.evil.example").as_deref(),
            Some("cdn.evil.example"),
            "most specific"
        );
        assert_eq!(m("notevil.example"), None);
        assert_eq!(m("evil.example.com"), None);
        assert_eq!(m("ok.evil.example"), None, "allowlisted");
        assert_eq!(m("www.ok.evil.example"), None, "below an allowlisted name");
        assert_eq!(m("dyn.example"), None, "*. lists only the children");
        assert_eq!(m("h1.dyn.example").as_deref(), Some("*.dyn.example"));
        assert!(s.has_domains());
    }

    #[test]
    fn urls_and_hashes() {
        use crate::intel::name::canonical_url;
        let mut b = IndicatorSetBuilder::new();
        b.add(
            Key::Url(canonical_url("http://evil.example/gate.php").unwrap()),
            "http://evil.example/gate.php",
            meta("u"),
        );
        b.add(
            Key::Url(canonical_url("http://evil.example/x?id=7").unwrap()),
            "http://evil.example/x?id=7",
            meta("u"),
        );
        b.add(
            Key::Hash(HashKind::Ja3, "e7d705a3286e19ea42f587b344ee6865".into()),
            "e7d705a3286e19ea42f587b344ee6865",
            meta("j"),
        );
        let s = b.build(1);
        assert!(
            s.match_url("http://evil.example/gate.php", Some("a=1"))
                .is_some()
        );
        assert!(s.match_url("http://evil.example/gate.php", None).is_some());
        assert!(s.match_url("http://evil.example/x", Some("id=7")).is_some());
        assert!(s.match_url("http://evil.example/x", Some("id=8")).is_none());
        assert!(s.match_url("http://evil.example/other", None).is_none());
        assert!(
            s.match_hash(HashKind::Ja3, "e7d705a3286e19ea42f587b344ee6865")
                .is_some()
        );
        assert!(
            s.match_hash(HashKind::Ja3s, "e7d705a3286e19ea42f587b344ee6865")
                .is_none()
        );
        assert_eq!(s.get(0).map(|i| i.type_name()), Some("url"));
    }

    #[test]
    fn allowlist_wins() {
        let s = set();
        assert!(s.match_addr(ip("198.51.100.200"), Some(443)).is_none());
        assert!(s.match_addr(ip("198.51.100.201"), Some(443)).is_some());
    }
}
