//! Subscriber attribution: which customer an alert's victim address belongs to.
//!
//! Maps are CSV files recognised by their header line; extra columns are kept as the
//! subscriber's metadata.
//!
//! - Static: `network,subscriber`: address blocks of any length (an IPv4 host, a customer's
//!   /29, an IPv6 /56 delegation) to a subscriber id. The most specific block wins; among
//!   maps, a later file's row for the same block replaces an earlier one.
//! - Leases: `address,start,end,subscriber` (DHCP or RADIUS exports): an address or prefix
//!   held by a subscriber from `start` until `end` (RFC 3339; an empty end is a lease still
//!   open), looked up at the packet's time, so an address that changes hands mid-capture is
//!   attributed to whoever held it at each moment.
//!
//! - CGNAT port blocks: `public_address,port_start,port_end,start,end,subscriber` (carrier-grade
//!   NAT logs): a public address's port range held by a subscriber for a time, looked up with
//!   the victim's address *and port* at the packet's time.
//!
//! The most precise source wins: a CGNAT block (address, port and time), then a lease in force
//! (address and time), then a static block (static maps are often the coarse pools leases are
//! drawn from). An address nothing covers has no subscriber: `victim.subscriber` is `null`,
//! never a guess.
//!
//! Lookups happen on the output thread when a record is written, never on capture workers.

pub mod radius;

use crate::intel::feed::lines::{Line, Lines, split_csv};
use crate::intel::net::{Cidr, canonical, mask_v4, mask_v6, parse_cidr, prefix_table};
use crate::time::{Timestamp, parse_feed_time};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::io::BufRead;
use std::net::IpAddr;
use std::path::Path;

/// One row of a map.
#[derive(Debug)]
struct Row {
    network: Cidr,
    id: String,
    /// Extra columns, in file order: (header, value).
    extra: Vec<(String, String)>,
    file: String,
    /// For a lease or CGNAT block: its start and end as the map wrote them (end empty while
    /// open).
    lease: Option<(String, String)>,
    /// For a CGNAT block: its ports, both included.
    ports: Option<(u16, u16)>,
}

/// A CGNAT port block in time.
#[derive(Debug, Clone, Copy)]
struct PortBlock {
    ports: (u16, u16),
    span: Span,
}

/// A lease's time span; `end` is exclusive, `None` while the lease is open.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: Timestamp,
    end: Option<Timestamp>,
    row: usize,
}

/// Tables of blocks per prefix length, longest first.
type Blocks<K, V> = Vec<(u8, HashMap<K, V>)>;

/// Every subscriber map given to a run.
#[derive(Debug, Default)]
pub struct Subscribers {
    rows: Vec<Row>,
    /// Static blocks: network → index into `rows`.
    v4: Blocks<u32, usize>,
    v6: Blocks<u128, usize>,
    /// Leases: network → spans, sorted by start.
    leases_v4: Blocks<u32, Vec<Span>>,
    leases_v6: Blocks<u128, Vec<Span>>,
    /// CGNAT: public address → its port blocks.
    cgnat: HashMap<IpAddr, Vec<PortBlock>>,
}

/// What loading one file found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MapReport {
    pub rows: usize,
    /// Rows that could not be read (logged with file:line).
    pub skipped: usize,
    /// Static rows for a block an earlier row (or file) already named.
    pub replaced: usize,
}

/// Which kind of map a file is, from its header.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Static,
    Lease,
    Cgnat,
}

const STATIC_HEADER: [&str; 2] = ["network", "subscriber"];
const LEASE_HEADER: [&str; 4] = ["address", "start", "end", "subscriber"];
const CGNAT_HEADER: [&str; 6] = [
    "public_address",
    "port_start",
    "port_end",
    "start",
    "end",
    "subscriber",
];

fn starts_with(header: &[String], want: &[&str]) -> bool {
    header.len() >= want.len() && header.iter().zip(want).all(|(h, w)| h == w)
}

impl Subscribers {
    /// Loads every map, in order. A file that cannot be read, has no recognised header or
    /// yields no row is an error naming it; a bad row is skipped and logged with file:line.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Subscribers, String> {
        let mut s = Subscribers::default();
        for p in paths {
            let p = p.as_ref();
            let file = std::fs::File::open(p)
                .map_err(|e| format!("subscriber map {}: cannot open: {e}", p.display()))?;
            let report = s.add_csv(std::io::BufReader::new(file), &p.display().to_string())?;
            tracing::info!(
                "{}: {} subscriber rows ({} skipped, {} replaced earlier rows)",
                p.display(),
                report.rows,
                report.skipped,
                report.replaced
            );
        }
        Ok(s)
    }

    /// Adds one CSV map read from `src`; `name` is how errors name it.
    pub fn add_csv(&mut self, src: impl BufRead, name: &str) -> Result<MapReport, String> {
        let mut lines = Lines::new(src);
        let mut header: Option<(Kind, Vec<String>)> = None;
        let mut report = MapReport::default();
        while let Some((no, line)) = lines
            .next_line()
            .map_err(|e| format!("subscriber map {name}: read error: {e}"))?
        {
            let text = match line {
                Line::Text(t) => t.trim(),
                Line::BadEncoding | Line::TooLong => {
                    tracing::warn!(
                        "{name}:{no}: not a readable CSV row (invalid UTF-8 or longer than 1 MiB), skipped"
                    );
                    report.skipped += 1;
                    continue;
                }
            };
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let Some(fields) = split_csv(text) else {
                tracing::warn!("{name}:{no}: unterminated quote, row skipped");
                report.skipped += 1;
                continue;
            };
            let Some((kind, head)) = &header else {
                header = Some(recognise(&fields, name, no, text)?);
                continue;
            };
            let added = match kind {
                Kind::Static => self.add_static(head, &fields, name),
                Kind::Lease => self.add_lease(head, &fields, name),
                Kind::Cgnat => self.add_port_block(head, &fields, name),
            };
            match added {
                Ok(replaced) => {
                    report.rows += 1;
                    report.replaced += usize::from(replaced);
                }
                Err(why) => {
                    tracing::warn!("{name}:{no}: {why}, row skipped");
                    report.skipped += 1;
                }
            }
        }
        if header.is_none() {
            return Err(format!(
                "subscriber map {name}: empty: a map starts with the line `network,subscriber` or `address,start,end,subscriber`"
            ));
        }
        if report.rows == 0 {
            return Err(format!(
                "subscriber map {name}: no valid row ({} skipped)",
                report.skipped
            ));
        }
        for (_, t) in &mut self.leases_v4 {
            t.values_mut().for_each(|v| v.sort_by_key(|s| s.start));
        }
        for (_, t) in &mut self.leases_v6 {
            t.values_mut().for_each(|v| v.sort_by_key(|s| s.start));
        }
        Ok(report)
    }

    /// Adds a static row; true when it replaced an earlier row for the same block.
    fn add_static(
        &mut self,
        header: &[String],
        fields: &[String],
        file: &str,
    ) -> Result<bool, String> {
        let network = network(fields.first())?;
        let id = subscriber_id(fields.get(1))?;
        let index = self.rows.len();
        self.rows.push(Row {
            network,
            id,
            extra: extra(header, fields, 2),
            file: file.to_string(),
            lease: None,
            ports: None,
        });
        let old = match network.addr {
            IpAddr::V4(a) => prefix_table(&mut self.v4, network.len).insert(u32::from(a), index),
            IpAddr::V6(a) => prefix_table(&mut self.v6, network.len).insert(u128::from(a), index),
        };
        Ok(old.is_some())
    }

    /// Adds a lease row (it never replaces one: an address has many leases over time).
    fn add_lease(
        &mut self,
        header: &[String],
        fields: &[String],
        file: &str,
    ) -> Result<bool, String> {
        let network = network(fields.first())?;
        let (start, end, texts) = time_span(fields, 1)?;
        let id = subscriber_id(fields.get(3))?;
        let row = self.rows.len();
        self.rows.push(Row {
            network,
            id,
            extra: extra(header, fields, 4),
            file: file.to_string(),
            lease: Some(texts),
            ports: None,
        });
        let span = Span { start, end, row };
        match network.addr {
            IpAddr::V4(a) => prefix_table(&mut self.leases_v4, network.len)
                .entry(u32::from(a))
                .or_default()
                .push(span),
            IpAddr::V6(a) => prefix_table(&mut self.leases_v6, network.len)
                .entry(u128::from(a))
                .or_default()
                .push(span),
        }
        Ok(false)
    }

    /// Adds a CGNAT port block.
    fn add_port_block(
        &mut self,
        header: &[String],
        fields: &[String],
        file: &str,
    ) -> Result<bool, String> {
        let text = |i: usize| fields.get(i).map(|f| f.trim()).unwrap_or_default();
        let public: IpAddr = text(0)
            .parse()
            .map(canonical)
            .map_err(|_| format!("{:?} is not an address", text(0)))?;
        let port = |i: usize| {
            text(i)
                .parse::<u16>()
                .map_err(|_| format!("{:?} is not a port", text(i)))
        };
        let ports = (port(1)?, port(2)?);
        if ports.1 < ports.0 {
            return Err(format!("port range {}-{} is backwards", ports.0, ports.1));
        }
        let (start, end, texts) = time_span(fields, 3)?;
        let id = subscriber_id(fields.get(5))?;
        let row = self.rows.len();
        self.rows.push(Row {
            network: Cidr {
                addr: public,
                len: if public.is_ipv4() { 32 } else { 128 },
            },
            id,
            extra: extra(header, fields, 6),
            file: file.to_string(),
            lease: Some(texts),
            ports: Some(ports),
        });
        self.cgnat.entry(public).or_default().push(PortBlock {
            ports,
            span: Span { start, end, row },
        });
        Ok(false)
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Who held `ip` (and `port`, behind a CGNAT) at `at`, as `victim.subscriber`: `{id,
    /// source, network, map, [lease], [port_block], ...extra columns}`; `None` when nothing
    /// covers it.
    pub fn lookup(&self, ip: IpAddr, port: Option<u16>, at: Timestamp) -> Option<Value> {
        // The latest lease started by `at` that had not ended (overlaps: the newest wins).
        let in_force = |spans: &Vec<Span>| {
            let n = spans.partition_point(|s| s.start <= at);
            spans[..n]
                .iter()
                .rev()
                .find(|s| s.end.is_none_or(|e| at < e))
                .map(|s| s.row)
        };
        let ip = canonical(ip);
        // The CGNAT block holding the port at `at` (overlaps: the one started last).
        let cgnat = port.and_then(|p| {
            let blocks = self.cgnat.get(&ip)?;
            blocks
                .iter()
                .filter(|b| b.ports.0 <= p && p <= b.ports.1)
                .filter(|b| b.span.start <= at && b.span.end.is_none_or(|e| at < e))
                .max_by_key(|b| b.span.start)
                .map(|b| b.span.row)
        });
        let row = cgnat.or_else(|| match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                let masked = |len: &u8| mask_v4(a, *len);
                most_specific(&self.leases_v4, masked, in_force)
                    .or_else(|| most_specific(&self.v4, masked, |i| Some(*i)))
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                let masked = |len: &u8| mask_v6(a, *len);
                most_specific(&self.leases_v6, masked, in_force)
                    .or_else(|| most_specific(&self.v6, masked, |i| Some(*i)))
            }
        });
        let row = row.and_then(|i| self.rows.get(i))?;
        let mut m = Map::new();
        m.insert("id".into(), json!(row.id));
        let source = match (&row.ports, &row.lease) {
            (Some(_), _) => "cgnat",
            (None, Some(_)) => "lease",
            (None, None) => "static",
        };
        m.insert("source".into(), json!(source));
        m.insert("network".into(), json!(row.network.to_string()));
        m.insert("map".into(), json!(row.file));
        if let Some((start, end)) = &row.lease {
            let end = if end.is_empty() {
                Value::Null
            } else {
                json!(end)
            };
            m.insert("lease".into(), json!({"start": start, "end": end}));
        }
        if let Some((first, last)) = row.ports {
            m.insert("port_block".into(), json!({"start": first, "end": last}));
        }
        for (k, v) in &row.extra {
            // The fixed keys above keep their meaning whatever a map's columns are called.
            m.entry(k.clone()).or_insert_with(|| json!(v));
        }
        Some(Value::Object(m))
    }
}

/// The first (longest) prefix length whose table has the masked address and whose entry
/// `pick` accepts.
fn most_specific<K: std::hash::Hash + Eq, V>(
    tables: &Blocks<K, V>,
    masked: impl Fn(&u8) -> K,
    pick: impl Fn(&V) -> Option<usize>,
) -> Option<usize> {
    tables
        .iter()
        .find_map(|(len, t)| t.get(&masked(len)).and_then(&pick))
}

/// The header line decides the kind of map.
fn recognise(
    fields: &[String],
    name: &str,
    no: u64,
    text: &str,
) -> Result<(Kind, Vec<String>), String> {
    let h: Vec<String> = fields
        .iter()
        .map(|f| f.trim().to_ascii_lowercase())
        .collect();
    if starts_with(&h, &STATIC_HEADER) {
        return Ok((Kind::Static, h));
    }
    if starts_with(&h, &LEASE_HEADER) {
        return Ok((Kind::Lease, h));
    }
    if starts_with(&h, &CGNAT_HEADER) {
        return Ok((Kind::Cgnat, h));
    }
    Err(format!(
        "subscriber map {name}:{no}: unrecognised header {text:?}: a map starts with the line `network,subscriber` (static), `address,start,end,subscriber` (leases) or `public_address,port_start,port_end,start,end,subscriber` (CGNAT port blocks); more columns may follow"
    ))
}

/// A row's time span: parsed, and as the map wrote it.
type Written = (Timestamp, Option<Timestamp>, (String, String));

/// The start and end times at `fields[at]` and `fields[at + 1]` (an empty end: still open).
fn time_span(fields: &[String], at: usize) -> Result<Written, String> {
    let text = |i: usize| fields.get(i).map(|f| f.trim()).unwrap_or_default();
    let (s, e) = (text(at), text(at + 1));
    let start = parse_time(s).ok_or_else(|| format!("start {s:?} is not an RFC 3339 time"))?;
    let end = match e {
        "" => None,
        e => Some(parse_time(e).ok_or_else(|| format!("end {e:?} is not an RFC 3339 time"))?),
    };
    if end.is_some_and(|end| end <= start) {
        return Err(format!("it ends ({e}) before it starts ({s})"));
    }
    Ok((start, end, (s.to_string(), e.to_string())))
}

/// A lease time: RFC 3339 with `Z` or a numeric offset (`+03:00`), or the UTC forms feeds use.
fn parse_time(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() > 6 && matches!(b[b.len() - 6], b'+' | b'-') && b[b.len() - 3] == b':' {
        let (local, off) = t.split_at(t.len() - 6);
        let h: i64 = off.get(1..3)?.parse().ok()?;
        let m: i64 = off.get(4..6)?.parse().ok()?;
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let at = parse_feed_time(local)?;
        return Some(Timestamp::new(at.secs() - sign * (h * 3600 + m * 60), 0));
    }
    parse_feed_time(t)
}

/// An address (a host block) or a CIDR block.
fn network(field: Option<&String>) -> Result<Cidr, String> {
    let net = field.map(|f| f.trim()).unwrap_or_default();
    if let Some((c, _)) = parse_cidr(net) {
        return Ok(c);
    }
    match net.parse::<IpAddr>() {
        Ok(ip) => {
            let ip = canonical(ip);
            Ok(Cidr {
                addr: ip,
                len: if ip.is_ipv4() { 32 } else { 128 },
            })
        }
        Err(_) => Err(format!("{net:?} is not an address or CIDR block")),
    }
}

fn subscriber_id(field: Option<&String>) -> Result<String, String> {
    match field.map(|f| f.trim()) {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        _ => Err("no subscriber id".into()),
    }
}

/// The columns after the first `fixed`, named by the header.
fn extra(header: &[String], fields: &[String], fixed: usize) -> Vec<(String, String)> {
    header
        .iter()
        .zip(fields)
        .skip(fixed)
        .filter(|(h, _)| !h.is_empty())
        .map(|(h, v)| (h.clone(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> Result<(Subscribers, MapReport), String> {
        let mut s = Subscribers::default();
        let r = s.add_csv(text.as_bytes(), "test.csv")?;
        Ok((s, r))
    }

    fn id(s: &Subscribers, ip: &str) -> Option<String> {
        id_at(s, ip, "2026-01-01T00:00:00Z")
    }

    fn id_at(s: &Subscribers, ip: &str, at: &str) -> Option<String> {
        s.lookup(ip.parse().unwrap(), None, parse_time(at).unwrap())
            .map(|v| v["id"].as_str().unwrap().to_string())
    }

    #[test]
    fn most_specific_block_wins_for_both_families() {
        let (s, r) = map(
            "# exported 2026-11-30\nnetwork,subscriber,plan\n10.0.0.0/8,isp-pool,\n10.1.2.0/29,cust-42,business\n10.1.2.3,cust-43,home\n2001:db8:aa00::/56,cust-77,fiber\n",
        )
        .unwrap();
        assert_eq!(
            r,
            MapReport {
                rows: 4,
                skipped: 0,
                replaced: 0
            }
        );
        assert_eq!(id(&s, "10.1.2.3").as_deref(), Some("cust-43"));
        assert_eq!(id(&s, "10.1.2.4").as_deref(), Some("cust-42"));
        assert_eq!(id(&s, "10.9.9.9").as_deref(), Some("isp-pool"));
        assert_eq!(id(&s, "11.0.0.1"), None);
        assert_eq!(id(&s, "2001:db8:aa00:ff::1").as_deref(), Some("cust-77"));
        assert_eq!(id(&s, "2001:db8:aa01::1"), None);
        assert_eq!(id(&s, "::ffff:10.1.2.3").as_deref(), Some("cust-43"));
        let v = s
            .lookup("10.1.2.5".parse().unwrap(), None, Timestamp::default())
            .unwrap();
        assert_eq!(v["source"], "static");
        assert_eq!(v["network"], "10.1.2.0/29");
        assert_eq!(v["plan"], "business");
        assert_eq!(v["map"], "test.csv");
    }

    #[test]
    fn bad_rows_are_skipped_and_bad_files_are_errors() {
        let (s, r) = map("network,subscriber\nnot-an-ip,x\n10.0.0.0/33,y\n10.0.0.1,\n10.0.0.2,ok\n\"10.0.0.3,z\n10.0.0.2,again\n").unwrap();
        assert_eq!(
            r,
            MapReport {
                rows: 2,
                skipped: 4,
                replaced: 1
            }
        );
        assert_eq!(id(&s, "10.0.0.2").as_deref(), Some("again"));
        let e = map("ip,customer\n10.0.0.1,x\n").unwrap_err();
        assert!(
            e.contains("test.csv:1") && e.contains("network,subscriber"),
            "{e}"
        );
        let e = map("public_address,port_start,port_end,start,end,subscriber\n").unwrap_err();
        assert!(e.contains("empty") || e.contains("no valid row"), "{e}");
        let e = map("# nothing\n").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = map("network,subscriber\nbad,x\n").unwrap_err();
        assert!(e.contains("no valid row"), "{e}");
    }

    #[test]
    fn leases_follow_packet_time() {
        let (s, r) = map(concat!(
            "address,start,end,subscriber,mac\n",
            "100.64.0.7,2026-01-01T10:00:00Z,2026-01-01T12:00:00Z,alice,aa:aa\n",
            "100.64.0.7,2026-01-01T12:00:00Z,,bob,bb:bb\n",
            "2001:db8:1::/56,2026-01-01T13:00:00+03:00,2026-01-01T11:00:00Z,carol,\n",
            "100.64.0.8,2026-01-01T10:00:00Z,2026-01-01T09:00:00Z,backwards,\n",
            "100.64.0.9,yesterday,,nobody,\n",
        ))
        .unwrap();
        assert_eq!(
            r,
            MapReport {
                rows: 3,
                skipped: 2,
                replaced: 0
            }
        );
        let at = |t: &str| id_at(&s, "100.64.0.7", t);
        assert_eq!(at("2026-01-01T09:59:59Z"), None);
        assert_eq!(at("2026-01-01T10:00:00Z").as_deref(), Some("alice"));
        assert_eq!(at("2026-01-01T11:59:59Z").as_deref(), Some("alice"));
        assert_eq!(at("2026-01-01T12:00:00Z").as_deref(), Some("bob"));
        assert_eq!(at("2027-06-01T00:00:00Z").as_deref(), Some("bob"));
        // 13:00+03:00 is 10:00Z.
        let v6 = |t: &str| id_at(&s, "2001:db8:1:ff::9", t);
        assert_eq!(v6("2026-01-01T09:59:00Z"), None);
        assert_eq!(v6("2026-01-01T10:30:00Z").as_deref(), Some("carol"));
        assert_eq!(v6("2026-01-01T11:00:00Z"), None);
        let t = parse_time("2026-01-01T10:30:00Z").unwrap();
        let v = s.lookup("100.64.0.7".parse().unwrap(), None, t).unwrap();
        assert_eq!(v["source"], "lease");
        assert_eq!(v["lease"]["start"], "2026-01-01T10:00:00Z");
        assert_eq!(v["lease"]["end"], "2026-01-01T12:00:00Z");
        assert_eq!(v["mac"], "aa:aa");
        let t = parse_time("2026-06-01T00:00:00Z").unwrap();
        let open = s.lookup("100.64.0.7".parse().unwrap(), None, t).unwrap();
        assert!(open["lease"]["end"].is_null());
    }

    #[test]
    fn a_lease_in_force_wins_over_a_static_pool() {
        let mut s = Subscribers::default();
        s.add_csv(
            "network,subscriber\n100.64.0.0/24,pool\n".as_bytes(),
            "static.csv",
        )
        .unwrap();
        let leases = "address,start,end,subscriber\n100.64.0.7,2026-01-01T10:00:00Z,2026-01-01T11:00:00Z,alice\n";
        s.add_csv(leases.as_bytes(), "leases.csv").unwrap();
        let at = |t: &str| id_at(&s, "100.64.0.7", t);
        assert_eq!(at("2026-01-01T10:30:00Z").as_deref(), Some("alice"));
        assert_eq!(at("2026-01-01T11:30:00Z").as_deref(), Some("pool"));
    }

    #[test]
    fn cgnat_blocks_need_the_port_and_the_time() {
        let (s, r) = map(concat!(
            "public_address,port_start,port_end,start,end,subscriber,inside\n",
            "198.51.100.9,1024,2047,2026-01-01T10:00:00Z,2026-01-01T11:00:00Z,alice,100.64.3.7\n",
            "198.51.100.9,2048,3071,2026-01-01T10:00:00Z,,bob,100.64.3.8\n",
            "198.51.100.9,1024,2047,2026-01-01T11:00:00Z,,carol,100.64.3.9\n",
            "198.51.100.9,3000,2000,2026-01-01T10:00:00Z,,backwards,\n",
            "198.51.100.9,1,70000,2026-01-01T10:00:00Z,,toolarge,\n",
        ))
        .unwrap();
        assert_eq!(r.rows, 3);
        assert_eq!(r.skipped, 2);
        let who = |port: Option<u16>, at: &str| {
            s.lookup(
                "198.51.100.9".parse().unwrap(),
                port,
                parse_time(at).unwrap(),
            )
            .map(|v| s_of(&v))
        };
        fn s_of(v: &Value) -> String {
            format!(
                "{}/{}",
                v["id"].as_str().unwrap(),
                v["source"].as_str().unwrap()
            )
        }
        assert_eq!(
            who(Some(1500), "2026-01-01T10:30:00Z").as_deref(),
            Some("alice/cgnat")
        );
        assert_eq!(
            who(Some(1500), "2026-01-01T11:30:00Z").as_deref(),
            Some("carol/cgnat")
        );
        assert_eq!(
            who(Some(2048), "2026-01-01T10:30:00Z").as_deref(),
            Some("bob/cgnat")
        );
        assert_eq!(who(Some(1023), "2026-01-01T10:30:00Z"), None);
        assert_eq!(who(Some(1500), "2026-01-01T09:30:00Z"), None);
        // Without a port (ICMP) a shared address names nobody.
        assert_eq!(who(None, "2026-01-01T10:30:00Z"), None);
        let t = parse_time("2026-01-01T10:30:00Z").unwrap();
        let v = s
            .lookup("198.51.100.9".parse().unwrap(), Some(1500), t)
            .unwrap();
        assert_eq!(v["port_block"]["start"], 1024);
        assert_eq!(v["port_block"]["end"], 2047);
        assert_eq!(v["inside"], "100.64.3.7");
    }
}
