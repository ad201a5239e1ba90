//! `IndicatorSet`: the immutable index that workers match against. It is built once by
//! [`IndicatorSetBuilder`], then shared read-only (see [`super::Snapshot`]); nothing in it
//! changes after build, so lookups take no lock.
//!
//! Layout (for memory: tens of millions of indicators fit in less than their feed files):
//! every kind of value has flat open-addressing tables ([`super::table`]) whose slots hold the
//! key and one `u32` naming the indicator's sources: one shared [`Meta`] (the common case:
//! a feed's rows share their metadata), or a list of them. An indicator's id is its table and
//! slot; the [`Indicator`] an alert carries is put together from them when a match happens.
//! The value as the feed wrote it is kept only where it differs from the canonical form
//! (`Evil.Example`, URLs).

use super::indicator::{Indicator, IndicatorKind, Meta};
use super::name::UrlParts;
use super::net::{Cidr, canonical};
use super::prefilter::V4Filter;
use super::table::{StrTable, Table};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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
    const ALL: [HashKind; 5] = [
        HashKind::Ja3,
        HashKind::Ja3s,
        HashKind::Ja4,
        HashKind::CertSha1,
        HashKind::CertSha256,
    ];

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

/// Which table an indicator lives in (the top byte of its id).
mod tag {
    pub const V4: u8 = 0;
    pub const V6: u8 = 1;
    pub const V4_PORT: u8 = 2;
    pub const V6_PORT: u8 = 3;
    pub const DOMAIN: u8 = 4;
    pub const CHILDREN: u8 = 5;
    pub const EXACT: u8 = 6;
    pub const URL: u8 = 7;
    pub const HASH: u8 = 8;
}

/// An indicator's identity within its set: table, sub-table (prefix length, hash kind), the
/// feed part, and slot. Ids of one set mean nothing in another.
pub type IndicatorId = u64;

const SLOT_BITS: u32 = 36;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
const PART_MASK: u64 = 0xFFF << SLOT_BITS;
/// Most feed parts one set can hold.
pub const MAX_PARTS: usize = 0xFFF;

fn id(tag: u8, sub: u8, slot: usize) -> IndicatorId {
    (u64::from(tag) << 56) | (u64::from(sub) << 48) | (slot as u64 & SLOT_MASK)
}

fn split(id: IndicatorId) -> (u8, u8, usize) {
    (
        (id >> 56) as u8,
        (id >> 48) as u8,
        (id & SLOT_MASK) as usize,
    )
}

/// `id` (of a part's index) as an id of the set, in part `p`.
fn in_part(id: IndicatorId, p: usize) -> IndicatorId {
    (id & !PART_MASK) | ((p as u64) << SLOT_BITS)
}

/// The part of a set's id, and the id within that part.
fn part_of(id: IndicatorId) -> (usize, IndicatorId) {
    (((id & PART_MASK) >> SLOT_BITS) as usize, id & !PART_MASK)
}

/// Separates a URL's key from the query a listing required, in the URL table.
const QUERY_SEP: u8 = 0;

/// Every table an indicator or allowlist entry can live in.
#[derive(Default, Debug)]
struct Index {
    /// (prefix length, network → sources), longest prefix first.
    v4: Vec<(u8, Table<u32>)>,
    v6: Vec<(u8, Table<u128>)>,
    /// Address << 16 | port.
    v4_port: Table<u64>,
    v6_port: Table<(u128, u16)>,
    /// A name and everything below it.
    domains: StrTable,
    /// Only the names below it (`*.example`).
    children: StrTable,
    /// Only the name itself (Zeek's `Intel::DOMAIN`).
    exact: StrTable,
    /// `scheme://host[:port]/path`, or that, a 0 byte and the query a listing required.
    urls: StrTable,
    hashes: [StrTable; 5],
    /// Built with the tables: which IPv4 blocks any entry of `v4` overlaps.
    v4_filter: Option<V4Filter>,
}

/// The table for prefix length `len`, created (in longest-first order) when absent.
fn prefix_table<K: super::table::FlatKey>(
    tables: &mut Vec<(u8, Table<K>)>,
    len: u8,
) -> &mut Table<K> {
    super::net::prefix_table(tables, len)
}

fn longest<K: super::table::FlatKey>(
    tables: &[(u8, Table<K>)],
    tag: u8,
    mask: impl Fn(u8) -> K,
) -> Option<(IndicatorId, u32)> {
    tables
        .iter()
        .find_map(|(len, t)| t.get(mask(*len)).map(|(slot, v)| (id(tag, *len, slot), v)))
}

impl Index {
    /// Empty tables that will start at the sizes of `other`'s (nothing allocated yet).
    fn sized_like(other: &Index) -> Index {
        Index {
            v4: other
                .v4
                .iter()
                .map(|(l, t)| (*l, Table::sized_like(t)))
                .collect(),
            v6: other
                .v6
                .iter()
                .map(|(l, t)| (*l, Table::sized_like(t)))
                .collect(),
            v4_port: Table::sized_like(&other.v4_port),
            v6_port: Table::sized_like(&other.v6_port),
            domains: StrTable::sized_like(&other.domains),
            children: StrTable::sized_like(&other.children),
            exact: StrTable::sized_like(&other.exact),
            urls: StrTable::sized_like(&other.urls),
            hashes: std::array::from_fn(|h| StrTable::sized_like(&other.hashes[h])),
            v4_filter: None,
        }
    }

    /// The slot of `key` (inserted with `value` when absent): its id, and whether it is new.
    fn insert(&mut self, key: &Key, value: u32) -> Option<(IndicatorId, bool)> {
        let (tag, sub, (slot, new)) = match key {
            Key::Net(Cidr {
                addr: IpAddr::V4(a),
                len,
            }) => {
                let len = (*len).min(32);
                let net = super::net::mask_v4(u32::from(*a), len);
                (
                    tag::V4,
                    len,
                    prefix_table(&mut self.v4, len).entry(net, value),
                )
            }
            Key::Net(Cidr {
                addr: IpAddr::V6(a),
                len,
            }) => {
                let len = (*len).min(128);
                let net = super::net::mask_v6(u128::from(*a), len);
                (
                    tag::V6,
                    len,
                    prefix_table(&mut self.v6, len).entry(net, value),
                )
            }
            Key::IpPort(IpAddr::V4(a), p) => (
                tag::V4_PORT,
                0,
                self.v4_port
                    .entry((u64::from(u32::from(*a)) << 16) | u64::from(*p), value),
            ),
            Key::IpPort(IpAddr::V6(a), p) => (
                tag::V6_PORT,
                0,
                self.v6_port.entry((u128::from(*a), *p), value),
            ),
            Key::Domain(d) => (tag::DOMAIN, 0, self.domains.entry(d.as_bytes(), value)?),
            Key::DomainChildren(d) => (tag::CHILDREN, 0, self.children.entry(d.as_bytes(), value)?),
            Key::DomainExact(d) => (tag::EXACT, 0, self.exact.entry(d.as_bytes(), value)?),
            Key::Url(u) => (tag::URL, 0, self.urls.entry(&url_key(u), value)?),
            Key::Hash(h, v) => (
                tag::HASH,
                *h as u8,
                self.hashes[*h as usize].entry(v.as_bytes(), value)?,
            ),
        };
        Some((id(tag, sub, slot), new))
    }

    /// The slot holding exactly the key that slot `id` of `other` holds (the same indicator
    /// in another feed's part), with its sources value.
    fn same_as(&self, other: &Index, id: IndicatorId) -> Option<(IndicatorId, u32)> {
        let (t, sub, slot) = split(id);
        let found = |tag, sub, (s, v): (usize, u32)| (self::id(tag, sub, s), v);
        match t {
            tag::V4 => {
                let (k, _) = other.v4.iter().find(|(l, _)| *l == sub)?.1.at(slot)?;
                let (_, mine) = self.v4.iter().find(|(l, _)| *l == sub)?;
                mine.get(k).map(|e| found(t, sub, e))
            }
            tag::V6 => {
                let (k, _) = other.v6.iter().find(|(l, _)| *l == sub)?.1.at(slot)?;
                let (_, mine) = self.v6.iter().find(|(l, _)| *l == sub)?;
                mine.get(k).map(|e| found(t, sub, e))
            }
            tag::V4_PORT => self
                .v4_port
                .get(other.v4_port.at(slot)?.0)
                .map(|e| found(t, sub, e)),
            tag::V6_PORT => self
                .v6_port
                .get(other.v6_port.at(slot)?.0)
                .map(|e| found(t, sub, e)),
            _ => {
                let (mine, theirs) = self.str_table(t, sub).zip(other.str_table(t, sub))?;
                mine.get(theirs.at(slot)?.0).map(|e| found(t, sub, e))
            }
        }
    }

    fn str_table(&self, t: u8, sub: u8) -> Option<&StrTable> {
        match t {
            tag::DOMAIN => Some(&self.domains),
            tag::CHILDREN => Some(&self.children),
            tag::EXACT => Some(&self.exact),
            tag::URL => Some(&self.urls),
            tag::HASH => self.hashes.get(usize::from(sub)),
            _ => None,
        }
    }

    /// What slot `id` holds: its key as text (canonical), kind, family, and sources value.
    fn describe(&self, id: IndicatorId) -> Option<(String, IndicatorKind, bool, u32)> {
        let (t, sub, slot) = split(id);
        let net_kind = |full: bool| {
            if full {
                IndicatorKind::Ip
            } else {
                IndicatorKind::Cidr
            }
        };
        Some(match t {
            tag::V4 => {
                let (_, table) = self.v4.iter().find(|(l, _)| *l == sub)?;
                let (k, v) = table.at(slot)?;
                let a = Ipv4Addr::from(k);
                let text = if sub == 32 {
                    a.to_string()
                } else {
                    format!("{a}/{sub}")
                };
                (text, net_kind(sub == 32), false, v)
            }
            tag::V6 => {
                let (_, table) = self.v6.iter().find(|(l, _)| *l == sub)?;
                let (k, v) = table.at(slot)?;
                let a = Ipv6Addr::from(k);
                let text = if sub == 128 {
                    a.to_string()
                } else {
                    format!("{a}/{sub}")
                };
                (text, net_kind(sub == 128), true, v)
            }
            tag::V4_PORT => {
                let (k, v) = self.v4_port.at(slot)?;
                let a = Ipv4Addr::from((k >> 16) as u32);
                (
                    format!("{a}:{}", k & 0xFFFF),
                    IndicatorKind::IpPort,
                    false,
                    v,
                )
            }
            tag::V6_PORT => {
                let ((a, p), v) = self.v6_port.at(slot)?;
                (
                    format!("[{}]:{p}", Ipv6Addr::from(a)),
                    IndicatorKind::IpPort,
                    true,
                    v,
                )
            }
            tag::DOMAIN | tag::CHILDREN | tag::EXACT | tag::URL | tag::HASH => {
                let (table, kind) = match t {
                    tag::DOMAIN => (&self.domains, IndicatorKind::Domain),
                    tag::CHILDREN => (&self.children, IndicatorKind::DomainChildren),
                    tag::EXACT => (&self.exact, IndicatorKind::DomainExact),
                    tag::URL => (&self.urls, IndicatorKind::Url),
                    _ => {
                        let h = *HashKind::ALL.get(usize::from(sub))?;
                        (&self.hashes[h as usize], h.indicator_kind())
                    }
                };
                let (k, v) = table.at(slot)?;
                let mut text = String::from_utf8_lossy(k).replace(char::from(QUERY_SEP), "?");
                if t == tag::CHILDREN {
                    text.insert_str(0, "*.");
                }
                (text, kind, false, v)
            }
            _ => return None,
        })
    }

    /// Replaces the sources value of slot `id`.
    fn set_value(&mut self, id: IndicatorId, value: u32) {
        let (t, sub, slot) = split(id);
        match t {
            tag::V4 => {
                if let Some((_, table)) = self.v4.iter_mut().find(|(l, _)| *l == sub)
                    && let Some(v) = table.value_mut(slot)
                {
                    *v = value;
                }
            }
            tag::V6 => {
                if let Some((_, table)) = self.v6.iter_mut().find(|(l, _)| *l == sub)
                    && let Some(v) = table.value_mut(slot)
                {
                    *v = value;
                }
            }
            tag::V4_PORT => {
                if let Some(v) = self.v4_port.value_mut(slot) {
                    *v = value;
                }
            }
            tag::V6_PORT => {
                if let Some(v) = self.v6_port.value_mut(slot) {
                    *v = value;
                }
            }
            tag::DOMAIN => self.domains.set_value(slot, value),
            tag::CHILDREN => self.children.set_value(slot, value),
            tag::EXACT => self.exact.set_value(slot, value),
            tag::URL => self.urls.set_value(slot, value),
            tag::HASH => {
                if let Some(t) = self.hashes.get_mut(usize::from(sub)) {
                    t.set_value(slot, value);
                }
            }
            _ => {}
        }
    }

    /// Every occupied slot's id.
    fn ids(&self) -> impl Iterator<Item = IndicatorId> + '_ {
        let v4 = self
            .v4
            .iter()
            .flat_map(|(l, t)| t.iter().map(move |(s, ..)| id(tag::V4, *l, s)));
        let v6 = self
            .v6
            .iter()
            .flat_map(|(l, t)| t.iter().map(move |(s, ..)| id(tag::V6, *l, s)));
        let ports = self
            .v4_port
            .iter()
            .map(|(s, ..)| id(tag::V4_PORT, 0, s))
            .chain(self.v6_port.iter().map(|(s, ..)| id(tag::V6_PORT, 0, s)));
        let names = [
            (tag::DOMAIN, &self.domains),
            (tag::CHILDREN, &self.children),
            (tag::EXACT, &self.exact),
            (tag::URL, &self.urls),
        ]
        .into_iter()
        .flat_map(|(t, table)| table.iter().map(move |(s, ..)| id(t, 0, s)));
        let hashes = self
            .hashes
            .iter()
            .enumerate()
            .flat_map(|(h, table)| table.iter().map(move |(s, ..)| id(tag::HASH, h as u8, s)));
        v4.chain(v6).chain(ports).chain(names).chain(hashes)
    }

    #[inline]
    fn lookup_addr(&self, ip: IpAddr, port: Option<u16>) -> Option<(IndicatorId, u32)> {
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                if let (Some(p), false) = (port, self.v4_port.is_empty())
                    && let Some((slot, v)) = self.v4_port.get((u64::from(a) << 16) | u64::from(p))
                {
                    return Some((id(tag::V4_PORT, 0, slot), v));
                }
                if self.v4_filter.as_ref().is_some_and(|f| !f.may_contain(a)) {
                    return None;
                }
                longest(&self.v4, tag::V4, |len| super::net::mask_v4(a, len))
            }
            IpAddr::V6(a) => {
                if let Some(v4) = a.to_ipv4_mapped() {
                    return self.lookup_addr(IpAddr::V4(v4), port);
                }
                let a = u128::from(a);
                if let (Some(p), false) = (port, self.v6_port.is_empty())
                    && let Some((slot, v)) = self.v6_port.get((a, p))
                {
                    return Some((id(tag::V6_PORT, 0, slot), v));
                }
                longest(&self.v6, tag::V6, |len| super::net::mask_v6(a, len))
            }
        }
    }

    /// The most specific listed domain at or above `name` (lower case, no trailing dot), on
    /// label boundaries only, with how specific it is (exact listings first, then longer).
    #[inline]
    fn lookup_domain(&self, name: &str) -> Option<(IndicatorId, usize)> {
        if !self.has_names() {
            return None;
        }
        if let Some((slot, _)) = self.exact.get(name.as_bytes()) {
            return Some((id(tag::EXACT, 0, slot), usize::MAX));
        }
        let mut rest = name;
        let mut own = true;
        loop {
            if let Some((slot, _)) = self.domains.get(rest.as_bytes()) {
                return Some((id(tag::DOMAIN, 0, slot), rest.len()));
            }
            if !own && let Some((slot, _)) = self.children.get(rest.as_bytes()) {
                return Some((id(tag::CHILDREN, 0, slot), rest.len()));
            }
            own = false;
            // A plain byte loop: labels are short, and `str::find` spent about 140
            // instructions a call getting to memchr. '.' is ASCII: `i + 1` is a char boundary.
            match rest.bytes().position(|b| b == b'.') {
                Some(i) => rest = rest.get(i + 1..)?,
                None => return None,
            }
        }
    }

    fn lookup_url(&self, key: &str, query: Option<&str>) -> Option<IndicatorId> {
        if self.urls.is_empty() {
            return None;
        }
        // A listing with a query needs that exact query; one without matches any.
        if let Some(q) = query {
            let mut k = Vec::with_capacity(key.len() + 1 + q.len());
            k.extend_from_slice(key.as_bytes());
            k.push(QUERY_SEP);
            k.extend_from_slice(q.as_bytes());
            if let Some((slot, _)) = self.urls.get(&k) {
                return Some(id(tag::URL, 0, slot));
            }
        }
        self.urls
            .get(key.as_bytes())
            .map(|(slot, _)| id(tag::URL, 0, slot))
    }

    fn lookup_hash(&self, kind: HashKind, value: &str) -> Option<IndicatorId> {
        self.hashes[kind as usize]
            .get(value.as_bytes())
            .map(|(slot, _)| id(tag::HASH, kind as u8, slot))
    }

    fn len(&self) -> usize {
        self.v4.iter().map(|(_, t)| t.len()).sum::<usize>()
            + self.v6.iter().map(|(_, t)| t.len()).sum::<usize>()
            + self.v4_port.len()
            + self.v6_port.len()
            + self.domains.len()
            + self.children.len()
            + self.exact.len()
            + self.urls.len()
            + self.hashes.iter().map(StrTable::len).sum::<usize>()
    }

    fn bytes(&self) -> usize {
        self.v4.iter().map(|(_, t)| t.bytes()).sum::<usize>()
            + self.v6.iter().map(|(_, t)| t.bytes()).sum::<usize>()
            + self.v4_port.bytes()
            + self.v6_port.bytes()
            + self.domains.bytes()
            + self.children.bytes()
            + self.exact.bytes()
            + self.urls.bytes()
            + self.hashes.iter().map(StrTable::bytes).sum::<usize>()
            + self.v4_filter.as_ref().map_or(0, V4Filter::bytes)
    }

    fn shrink(&mut self) {
        for (_, t) in &mut self.v4 {
            t.freeze();
        }
        let networks = self.v4.iter().map(|(_, t)| t.len()).sum::<usize>();
        self.v4_filter = (networks > 0).then(|| {
            let mut f = V4Filter::for_networks(networks);
            for (len, t) in &self.v4 {
                for (_, net, _) in t.iter() {
                    f.insert(net, *len);
                }
            }
            f
        });
        for (_, t) in &mut self.v6 {
            t.freeze();
        }
        self.v4_port.freeze();
        self.v6_port.freeze();
        for t in [
            &mut self.domains,
            &mut self.children,
            &mut self.exact,
            &mut self.urls,
        ]
        .into_iter()
        .chain(self.hashes.iter_mut())
        {
            t.shrink();
            t.build_filter();
            t.huge_pages();
        }
        for (_, t) in &self.v4 {
            t.huge_pages();
        }
        if let Some(f) = &self.v4_filter {
            f.huge_pages();
        }
    }

    fn has_names(&self) -> bool {
        !self.domains.is_empty() || !self.children.is_empty() || !self.exact.is_empty()
    }

    fn has_addrs(&self) -> bool {
        !self.v4.is_empty()
            || !self.v6.is_empty()
            || !self.v4_port.is_empty()
            || !self.v6_port.is_empty()
    }
}

/// A URL's table key: the canonical URL, and the query its listing required.
fn url_key(u: &UrlParts) -> Vec<u8> {
    let mut k = u.key.as_bytes().to_vec();
    if let Some(q) = &u.query {
        k.push(QUERY_SEP);
        k.extend_from_slice(q.as_bytes());
    }
    k
}

/// A sources value below this names one [`Meta`]; from it up, a list of them.
const MULTI: u32 = 1 << 31;

/// The indicators (and allowlist entries) of one feed: built once, then shared by every set
/// generation while the feed does not change, so a reload rebuilds only what changed.
#[derive(Debug, Default)]
pub struct Part {
    index: Index,
    allow: Index,
    /// Every distinct metadata record.
    metas: Vec<Arc<Meta>>,
    /// Indicators listed by several sources: meta indices, most confident first.
    multi: Vec<Box<[u32]>>,
    /// The value as listed, where it differs from the canonical text.
    listed: HashMap<IndicatorId, Box<str>>,
    count: usize,
}

impl Part {
    /// The sources a slot's value names.
    fn sources(&self, v: u32) -> Vec<Arc<Meta>> {
        let meta = |i: &u32| self.metas.get(*i as usize).cloned();
        if v < MULTI {
            meta(&v).into_iter().collect()
        } else {
            self.multi
                .get((v - MULTI) as usize)
                .map(|l| l.iter().filter_map(meta).collect())
                .unwrap_or_default()
        }
    }

    /// Indicators in it.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the tables and metadata hold (an estimate).
    pub fn bytes(&self) -> usize {
        self.index.bytes()
            + self.allow.bytes()
            + self.metas.len() * (8 + std::mem::size_of::<Meta>() + 64)
            + self.multi.iter().map(|m| 16 + m.len() * 4).sum::<usize>()
            + self.listed.values().map(|v| 48 + v.len()).sum::<usize>()
    }
}

/// An immutable, lock-free indicator index with its allowlist: the parts of every feed.
/// An indicator several feeds list matches once, with every feed's metadata.
#[derive(Debug, Default)]
pub struct IndicatorSet {
    generation: u64,
    parts: Vec<Arc<Part>>,
    /// The positions in `parts` of those that list addresses, in order: every new flow looks
    /// both endpoints up, and a name or hash feed has nothing to say about them.
    addr_parts: Box<[u16]>,
    /// Distinct indicators over all parts.
    count: usize,
}

/// An indicator of a snapshot as alerts carry it (put together when it matched).
#[derive(Clone, Debug)]
pub struct IndicatorRef {
    generation: u64,
    indicator: Arc<Indicator>,
}

impl IndicatorRef {
    /// `None` when `id` is not an indicator of `set`.
    pub fn new(set: Arc<IndicatorSet>, id: IndicatorId) -> Option<IndicatorRef> {
        Some(IndicatorRef {
            generation: set.generation,
            indicator: Arc::new(set.get(id)?),
        })
    }

    /// Generation of the snapshot the indicator was matched in.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl std::ops::Deref for IndicatorRef {
    type Target = Indicator;
    fn deref(&self) -> &Indicator {
        &self.indicator
    }
}

impl IndicatorSet {
    /// A set of these parts (at most [`MAX_PARTS`]; more are left out, and logged).
    pub fn assemble(generation: u64, mut parts: Vec<Arc<Part>>) -> IndicatorSet {
        if parts.len() > MAX_PARTS {
            tracing::error!("{} feeds: only the first {MAX_PARTS} are used", parts.len());
            parts.truncate(MAX_PARTS);
        }
        // Distinct indicators: each part's, less those an earlier part lists too.
        let mut count = 0;
        for (p, part) in parts.iter().enumerate() {
            count += if p == 0 {
                part.count
            } else {
                part.index
                    .ids()
                    .filter(|id| {
                        !parts[..p]
                            .iter()
                            .any(|e| e.index.same_as(&part.index, *id).is_some())
                    })
                    .count()
            };
        }
        let addr_parts = (0..parts.len())
            .filter(|p| parts[*p].index.has_addrs())
            .map(|p| p as u16) // at most MAX_PARTS
            .collect();
        IndicatorSet {
            generation,
            parts,
            addr_parts,
            count,
        }
    }

    /// Generation number: a new snapshot has a higher one than the one it replaces.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The feed parts (for a later set to share).
    pub fn parts(&self) -> &[Arc<Part>] {
        &self.parts
    }

    /// Number of distinct indicators (allowlist not counted).
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn allow_len(&self) -> usize {
        self.parts.iter().map(|p| p.allow.len()).sum()
    }

    /// Bytes the tables and metadata hold (an estimate of the set's memory).
    pub fn bytes(&self) -> usize {
        self.parts.iter().map(|p| p.bytes()).sum()
    }

    /// Every distinct indicator, put together (for reports; allocates each).
    pub fn iter(&self) -> impl Iterator<Item = Indicator> + '_ {
        self.parts.iter().enumerate().flat_map(move |(p, part)| {
            part.index
                .ids()
                .filter(move |id| {
                    !self.parts[..p]
                        .iter()
                        .any(|e| e.index.same_as(&part.index, *id).is_some())
                })
                .filter_map(move |id| self.get(in_part(id, p)))
        })
    }

    /// The indicator with this id, put together, with the sources of every feed listing it.
    pub fn get(&self, id: IndicatorId) -> Option<Indicator> {
        let (p, local) = part_of(id);
        let part = self.parts.get(p)?;
        let (text, kind, is_v6, v) = part.index.describe(local)?;
        let value = match part.listed.get(&local) {
            Some(l) => l.clone(),
            None => text.into_boxed_str(),
        };
        let mut sources = part.sources(v);
        for (q, other) in self.parts.iter().enumerate() {
            if q == p {
                continue;
            }
            if let Some((_, w)) = other.index.same_as(&part.index, local) {
                for m in other.sources(w) {
                    if !sources.iter().any(|s| **s == *m) {
                        sources.push(m);
                    }
                }
            }
        }
        // Most confident first; the order of the feeds otherwise.
        sources.sort_by_key(|m| std::cmp::Reverse(m.confidence.map_or(-1, i16::from)));
        Some(Indicator {
            value,
            kind,
            is_v6,
            sources,
        })
    }

    /// True when `id` is an indicator of this set.
    pub fn contains(&self, id: IndicatorId) -> bool {
        let (p, local) = part_of(id);
        self.parts
            .get(p)
            .is_some_and(|part| part.index.describe(local).is_some())
    }

    /// True when the set holds domain indicators (DNS, SNI and Host inspection matter).
    pub fn has_domains(&self) -> bool {
        self.parts.iter().any(|p| p.index.has_names())
    }

    /// True when TCP payloads need inspecting (names, URLs, TLS fingerprints, certificates).
    pub fn inspects_tcp(&self) -> bool {
        self.parts.iter().any(|p| {
            p.index.has_names()
                || !p.index.urls.is_empty()
                || p.index.hashes.iter().any(|h| !h.is_empty())
        })
    }

    /// True when any feed lists URLs: without them, requests are not turned into URLs.
    pub fn has_urls(&self) -> bool {
        self.parts.iter().any(|p| !p.index.urls.is_empty())
    }

    pub fn has_hashes(&self, kind: HashKind) -> bool {
        self.parts
            .iter()
            .any(|p| !p.index.hashes[kind as usize].is_empty())
    }

    /// True when the allowlist covers this address (and port).
    #[inline]
    pub fn is_allowed(&self, ip: IpAddr, port: Option<u16>) -> bool {
        self.parts
            .iter()
            .any(|p| p.allow.lookup_addr(ip, port).is_some())
    }

    /// True when the allowlist covers this (canonical) name.
    pub fn is_allowed_domain(&self, name: &str) -> bool {
        self.parts
            .iter()
            .any(|p| p.allow.lookup_domain(name).is_some())
    }

    /// The indicator for a flow endpoint: `ip:port` indicators first (only when the transport
    /// has ports), then the longest covering prefix over every feed. The allowlist wins over
    /// any match.
    #[inline]
    pub fn match_id(&self, ip: IpAddr, port: Option<u16>) -> Option<IndicatorId> {
        let mut best: Option<(u16, IndicatorId)> = None;
        for p in self.addr_parts.iter().map(|p| usize::from(*p)) {
            let Some(part) = self.parts.get(p) else {
                continue;
            };
            if let Some((id, _)) = part.index.lookup_addr(ip, port) {
                let (t, sub, _) = split(id);
                let rank = if t == tag::V4_PORT || t == tag::V6_PORT {
                    u16::MAX
                } else {
                    u16::from(sub)
                };
                if best.is_none_or(|(r, _)| rank > r) {
                    best = Some((rank, in_part(id, p)));
                }
            }
        }
        let (_, id) = best?;
        if self.is_allowed(ip, port) {
            return None;
        }
        Some(id)
    }

    /// [`Self::match_id`], returning the indicator itself.
    pub fn match_addr(&self, ip: IpAddr, port: Option<u16>) -> Option<Indicator> {
        self.get(self.match_id(ip, port)?)
    }

    /// The most specific domain indicator for a name (lower case, no trailing dot: see
    /// [`super::name::wire_name`]). An allowlisted name or parent wins.
    #[inline]
    pub fn match_domain(&self, name: &str) -> Option<IndicatorId> {
        let mut best: Option<(usize, IndicatorId)> = None;
        for (p, part) in self.parts.iter().enumerate() {
            if let Some((id, rank)) = part.index.lookup_domain(name)
                && best.is_none_or(|(r, _)| rank > r)
            {
                best = Some((rank, in_part(id, p)));
            }
        }
        let (_, id) = best?;
        if self.is_allowed_domain(name) {
            return None;
        }
        Some(id)
    }

    /// A URL indicator for a request, given its canonical `scheme://host[:port]/path` and query.
    pub fn match_url(&self, key: &str, query: Option<&str>) -> Option<IndicatorId> {
        let id = self
            .parts
            .iter()
            .enumerate()
            .find_map(|(p, part)| part.index.lookup_url(key, query).map(|id| in_part(id, p)))?;
        if self
            .parts
            .iter()
            .any(|p| p.allow.lookup_url(key, query).is_some())
        {
            return None;
        }
        Some(id)
    }

    /// A fingerprint or certificate hash (lower-case hex, or a JA4 string).
    pub fn match_hash(&self, kind: HashKind, value: &str) -> Option<IndicatorId> {
        let id = self.parts.iter().enumerate().find_map(|(p, part)| {
            if part.index.hashes[kind as usize].is_empty() {
                return None;
            }
            part.index.lookup_hash(kind, value).map(|id| in_part(id, p))
        })?;
        if self
            .parts
            .iter()
            .any(|p| p.allow.lookup_hash(kind, value).is_some())
        {
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
}

/// Collects indicators (merging duplicates and their sources) and the allowlist.
#[derive(Default)]
pub struct IndicatorSetBuilder {
    index: Index,
    allow: Index,
    metas: Vec<Arc<Meta>>,
    /// Meta index by the address of its `Arc` (feeds share one `Arc` between rows).
    meta_ids: HashMap<usize, u32>,
    multi: Vec<Box<[u32]>>,
    /// Values listed differently from their canonical text, by key (ids move while tables
    /// grow; they are fixed at build).
    listed: HashMap<Key, Box<str>>,
    count: usize,
    /// Entries no table could take (a key over 64 KiB).
    pub refused: u64,
}

impl IndicatorSetBuilder {
    pub fn new() -> IndicatorSetBuilder {
        IndicatorSetBuilder::default()
    }

    /// A builder for the next version of `part`'s feed: its tables start at `part`'s sizes
    /// (no growing and copying on the way; nothing is allocated until the first entry).
    pub fn sized_like(part: &Part) -> IndicatorSetBuilder {
        IndicatorSetBuilder {
            index: Index::sized_like(&part.index),
            allow: Index::sized_like(&part.allow),
            ..IndicatorSetBuilder::default()
        }
    }

    fn intern(&mut self, meta: Arc<Meta>) -> u32 {
        let ptr = Arc::as_ptr(&meta) as usize;
        if let Some(&i) = self.meta_ids.get(&ptr) {
            return i;
        }
        let i = self.metas.len() as u32;
        self.metas.push(meta);
        self.meta_ids.insert(ptr, i);
        i
    }

    /// Adds an indicator; `listed` is the text as the feed wrote it.
    pub fn add(&mut self, key: Key, listed: &str, meta: Arc<Meta>) {
        let m = self.intern(meta);
        let Some((id, new)) = self.index.insert(&key, m) else {
            self.refused += 1;
            return;
        };
        if new {
            self.count += 1;
            if !is_canonical(&key, listed) {
                self.listed.insert(key, listed.into());
            }
            return;
        }
        let Some((_, _, _, v)) = self.index.describe(id) else {
            return;
        };
        if let Some(merged) = self.merge(v, m) {
            self.index.set_value(id, merged);
        }
    }

    /// Sources value `v` with meta `m` added (most confident first; equal metadata once);
    /// `None` when unchanged.
    fn merge(&mut self, v: u32, m: u32) -> Option<u32> {
        let metas = &self.metas;
        let same = |a: u32| a == m || metas.get(a as usize) == metas.get(m as usize);
        let rank = |i: u32| {
            metas
                .get(i as usize)
                .and_then(|x| x.confidence)
                .map_or(-1, i16::from)
        };
        let mut list: Vec<u32> = if v < MULTI {
            vec![v]
        } else {
            self.multi.get((v - MULTI) as usize)?.to_vec()
        };
        if list.iter().any(|&a| same(a)) {
            return None;
        }
        let pos = list
            .iter()
            .position(|&a| rank(a) < rank(m))
            .unwrap_or(list.len());
        list.insert(pos, m);
        if v < MULTI {
            let at = u32::try_from(self.multi.len())
                .ok()
                .filter(|&i| i < MULTI - 1)?;
            self.multi.push(list.into_boxed_slice());
            Some(MULTI + at)
        } else {
            if let Some(slot) = self.multi.get_mut((v - MULTI) as usize) {
                *slot = list.into_boxed_slice();
            }
            None
        }
    }

    /// Adds an allowlist entry.
    pub fn allow(&mut self, key: Key) {
        if self.allow.insert(&key, 0).is_none() {
            self.refused += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// A set of this builder's indicators alone.
    pub fn build(self, generation: u64) -> IndicatorSet {
        IndicatorSet::assemble(generation, vec![Arc::new(self.build_part())])
    }

    /// The built tables, to assemble with other feeds' parts.
    pub fn build_part(mut self) -> Part {
        self.index.shrink();
        self.allow.shrink();
        // Ids are final now (built tables are in key order).
        let mut listed = HashMap::with_capacity(self.listed.len());
        for (key, text) in self.listed {
            // Present: inserted before; a built table only finds.
            if let Some((id, false)) = self.index.insert(&key, 0) {
                listed.insert(id, text);
            }
        }
        Part {
            index: self.index,
            allow: self.allow,
            metas: self.metas,
            multi: self.multi,
            listed,
            count: self.count,
        }
    }
}

/// True when `listed` is how the set would write `key` anyway (no need to keep it).
fn is_canonical(key: &Key, listed: &str) -> bool {
    match key {
        Key::Net(Cidr {
            addr: IpAddr::V4(a),
            len,
        }) => {
            let (addr, l) = match listed.split_once('/') {
                Some((addr, l)) => (addr, Some(l)),
                None => (listed, None),
            };
            addr.parse::<Ipv4Addr>().ok() == Some(*a)
                && match l {
                    None => *len == 32,
                    Some(l) => *len < 32 && l == len.to_string(),
                }
        }
        Key::Net(Cidr { addr, len }) => {
            let full = if addr.is_ipv4() { 32 } else { 128 };
            let text = if *len == full {
                addr.to_string()
            } else {
                format!("{addr}/{len}")
            };
            text == listed
        }
        Key::IpPort(IpAddr::V4(a), p) => listed == format!("{a}:{p}"),
        Key::IpPort(a, p) => listed == format!("[{a}]:{p}"),
        Key::Domain(d) | Key::DomainExact(d) => d == listed,
        Key::DomainChildren(d) => listed.strip_prefix("*.") == Some(d.as_str()),
        Key::Url(_) => false,
        Key::Hash(_, v) => v == listed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::net::{parse_cidr, parse_ip_port};

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
        let id = s.match_url("http://evil.example/gate.php", None).unwrap();
        let u = s.get(id).unwrap();
        assert_eq!(u.type_name(), "url");
        assert_eq!(&*u.value, "http://evil.example/gate.php");
        let id = s.match_url("http://evil.example/x", Some("id=7")).unwrap();
        assert_eq!(&*s.get(id).unwrap().value, "http://evil.example/x?id=7");
    }

    #[test]
    fn sources_merge_most_confident_first() {
        let m = |feed: &str, c: Option<u8>| {
            Arc::new(Meta {
                feed: feed.into(),
                confidence: c,
                ..Meta::default()
            })
        };
        let mut b = IndicatorSetBuilder::new();
        let k = || Key::ip(ip("203.0.113.10"));
        b.add(k(), "203.0.113.10", m("a", None));
        b.add(k(), "203.0.113.10", m("b", Some(50)));
        b.add(k(), "203.0.113.10", m("c", Some(90)));
        b.add(k(), "203.0.113.10", m("b", Some(50)));
        let s = b.build(1);
        let i = s.match_addr(ip("203.0.113.10"), None).unwrap();
        let feeds: Vec<&str> = i.sources.iter().map(|s| &*s.feed).collect();
        assert_eq!(feeds, ["c", "b", "a"]);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn listed_text_is_kept_only_where_it_differs() {
        let mut b = IndicatorSetBuilder::new();
        b.add(Key::ip(ip("203.0.113.10")), "203.0.113.10", meta("a"));
        b.add(
            Key::Net(parse_cidr("10.1.2.3/8").unwrap().0),
            "10.1.2.3/8",
            meta("a"),
        );
        b.add(Key::ip(ip("2001:db8::1")), "2001:DB8::1", meta("a"));
        let s = b.build(1);
        assert_eq!(s.parts[0].listed.len(), 2, "{:?}", s.parts[0].listed);
        let v = |a: &str| s.match_addr(ip(a), None).unwrap().value.to_string();
        assert_eq!(v("203.0.113.10"), "203.0.113.10");
        assert_eq!(v("10.9.9.9"), "10.1.2.3/8");
        assert_eq!(v("2001:db8::1"), "2001:DB8::1");
        assert_eq!(s.iter().count(), 3);
    }

    fn conf(feed: &str, c: u8) -> Arc<Meta> {
        Arc::new(Meta {
            feed: feed.into(),
            confidence: Some(c),
            ..Meta::default()
        })
    }

    #[test]
    fn parts_of_several_feeds_act_as_one_set() {
        let mut a = IndicatorSetBuilder::new();
        a.add(Key::ip(ip("203.0.113.10")), "203.0.113.10", conf("a", 50));
        a.add(
            Key::Net(parse_cidr("198.51.100.0/24").unwrap().0),
            "198.51.100.0/24",
            conf("a", 50),
        );
        a.add(
            Key::Domain("evil.example".into()),
            "evil.example",
            conf("a", 50),
        );
        let mut b = IndicatorSetBuilder::new();
        b.add(Key::ip(ip("203.0.113.10")), "203.0.113.10", conf("b", 90));
        b.add(
            Key::Net(parse_cidr("198.51.100.128/25").unwrap().0),
            "198.51.100.128/25",
            conf("b", 90),
        );
        b.add(
            Key::Domain("cdn.evil.example".into()),
            "cdn.evil.example",
            conf("b", 90),
        );
        b.allow(Key::ip(ip("198.51.100.5")));
        let (a, b) = (Arc::new(a.build_part()), Arc::new(b.build_part()));
        let s = IndicatorSet::assemble(2, vec![a.clone(), b.clone()]);
        assert_eq!(s.len(), 5, "203.0.113.10 counts once");
        assert_eq!(s.iter().count(), 5);
        let both = s.match_addr(ip("203.0.113.10"), None).unwrap();
        let feeds: Vec<&str> = both.sources.iter().map(|m| &*m.feed).collect();
        assert_eq!(feeds, ["b", "a"], "every feed, most confident first");
        let v = |a: &str| s.match_addr(ip(a), None).map(|i| i.value.to_string());
        assert_eq!(
            v("198.51.100.200").as_deref(),
            Some("198.51.100.128/25"),
            "longest over feeds"
        );
        assert_eq!(v("198.51.100.7").as_deref(), Some("198.51.100.0/24"));
        assert_eq!(
            v("198.51.100.5"),
            None,
            "one feed's allowlist entry covers all"
        );
        let d = s
            .match_domain("x.cdn.evil.example")
            .and_then(|id| s.get(id));
        assert_eq!(
            d.map(|i| i.value.to_string()).as_deref(),
            Some("cdn.evil.example")
        );
        // A later generation shares the parts it did not rebuild.
        let s2 = IndicatorSet::assemble(3, vec![a.clone(), b]);
        assert!(Arc::ptr_eq(&s.parts()[0], &s2.parts()[0]));
    }

    /// Parts without addresses are passed over when an address is looked up (see
    /// `addr_parts`); a match still names the part it came from, wherever that part is.
    #[test]
    fn addresses_are_found_past_parts_without_addresses() {
        let names = |feed: &str| {
            let mut b = IndicatorSetBuilder::new();
            b.add(
                Key::Domain("evil.example".into()),
                "evil.example",
                conf(feed, 50),
            );
            Arc::new(b.build_part())
        };
        let mut v4 = IndicatorSetBuilder::new();
        v4.add(Key::ip(ip("203.0.113.10")), "203.0.113.10", conf("v4", 50));
        let mut ports = IndicatorSetBuilder::new();
        let (a, p) = parse_ip_port("198.51.100.1:8443").unwrap();
        ports.add(Key::IpPort(a, p), "198.51.100.1:8443", conf("ports", 50));
        ports.add(Key::ip(ip("2001:db8::1")), "2001:db8::1", conf("ports", 50));
        let s = IndicatorSet::assemble(
            1,
            vec![
                names("n1"),
                Arc::new(v4.build_part()),
                names("n2"),
                Arc::new(ports.build_part()),
            ],
        );
        let from = |a: &str, port: Option<u16>| {
            s.match_addr(ip(a), port)
                .map(|i| (i.value.to_string(), i.sources[0].feed.to_string()))
        };
        assert_eq!(
            from("203.0.113.10", None),
            Some(("203.0.113.10".into(), "v4".into()))
        );
        assert_eq!(
            from("198.51.100.1", Some(8443)),
            Some(("198.51.100.1:8443".into(), "ports".into()))
        );
        assert_eq!(
            from("2001:db8::1", None),
            Some(("2001:db8::1".into(), "ports".into()))
        );
        assert_eq!(from("198.51.100.1", Some(443)), None);
        assert!(s.match_domain("www.evil.example").is_some());
    }

    #[test]
    fn allowlist_wins() {
        let s = set();
        assert!(s.match_addr(ip("198.51.100.200"), Some(443)).is_none());
        assert!(s.match_addr(ip("198.51.100.201"), Some(443)).is_some());
    }
}
