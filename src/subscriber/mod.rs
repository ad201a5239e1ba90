//! Subscriber attribution: which customer an alert's victim address belongs to.
//!
//! Maps are CSV files recognised by their header line. This module reads the static kind,
//! `network,subscriber[,more columns...]`: address blocks of any length (an IPv4 host, a
//! customer's /29, an IPv6 /56 delegation) to a subscriber id, the extra columns kept as the
//! subscriber's metadata. The most specific block wins; among maps, a later file's row for
//! the same block replaces an earlier one. An address no block covers has no subscriber:
//! `victim.subscriber` is `null`, never a guess.
//!
//! Lookups happen on the output thread when a record is written, never on capture workers.

use crate::intel::feed::lines::{Line, Lines, split_csv};
use crate::intel::net::{Cidr, canonical, mask_v4, mask_v6, parse_cidr};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::io::BufRead;
use std::net::IpAddr;
use std::path::Path;

/// One row of a static map.
#[derive(Debug)]
struct Row {
    network: Cidr,
    id: String,
    /// Extra columns, in file order: (header, value).
    extra: Vec<(String, String)>,
    file: String,
}

/// Every subscriber map given to a run.
#[derive(Debug, Default)]
pub struct Subscribers {
    rows: Vec<Row>,
    /// Per prefix length, longest first: network → index into `rows`.
    v4: Vec<(u8, HashMap<u32, usize>)>,
    v6: Vec<(u8, HashMap<u128, usize>)>,
}

/// What loading one file found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MapReport {
    pub rows: usize,
    /// Rows that could not be read (logged with file:line).
    pub skipped: usize,
    /// Rows for a block an earlier row (or file) already named.
    pub replaced: usize,
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
                "{}: {} subscriber blocks ({} rows skipped, {} replaced earlier rows)",
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
        let mut header: Option<Vec<String>> = None;
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
            let Some(head) = &header else {
                let h: Vec<String> = fields
                    .iter()
                    .map(|f| f.trim().to_ascii_lowercase())
                    .collect();
                if starts_with(&h, &STATIC_HEADER) {
                    header = Some(h);
                    continue;
                }
                let what = if starts_with(&h, &LEASE_HEADER) {
                    "a lease map (address,start,end,subscriber)"
                } else if starts_with(&h, &CGNAT_HEADER) {
                    "a CGNAT port-block map"
                } else {
                    return Err(format!(
                        "subscriber map {name}:{no}: unrecognised header {text:?}: a static map starts with the line `network,subscriber` (more columns may follow)"
                    ));
                };
                return Err(format!(
                    "subscriber map {name}:{no}: {what} is not supported yet: only static maps (`network,subscriber`) are"
                ));
            };
            match self.add_row(head, &fields, name) {
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
                "subscriber map {name}: empty: a static map starts with the line `network,subscriber`"
            ));
        }
        if report.rows == 0 {
            return Err(format!(
                "subscriber map {name}: no valid row ({} skipped)",
                report.skipped
            ));
        }
        Ok(report)
    }

    /// Adds a row; true when it replaced an earlier row for the same block.
    fn add_row(
        &mut self,
        header: &[String],
        fields: &[String],
        file: &str,
    ) -> Result<bool, String> {
        let net = fields.first().map(|f| f.trim()).unwrap_or_default();
        let id = fields.get(1).map(|f| f.trim()).unwrap_or_default();
        if id.is_empty() {
            return Err("no subscriber id".into());
        }
        let network = match parse_cidr(net) {
            Some((c, _)) => c,
            None => match net.parse::<IpAddr>() {
                Ok(ip) => {
                    let ip = canonical(ip);
                    Cidr {
                        addr: ip,
                        len: if ip.is_ipv4() { 32 } else { 128 },
                    }
                }
                Err(_) => return Err(format!("{net:?} is not an address or CIDR block")),
            },
        };
        let extra = header
            .iter()
            .zip(fields)
            .skip(2)
            .filter(|(h, _)| !h.is_empty())
            .map(|(h, v)| (h.clone(), v.trim().to_string()))
            .collect();
        let index = self.rows.len();
        self.rows.push(Row {
            network,
            id: id.to_string(),
            extra,
            file: file.to_string(),
        });
        let old = match network.addr {
            IpAddr::V4(a) => table(&mut self.v4, network.len).insert(u32::from(a), index),
            IpAddr::V6(a) => table(&mut self.v6, network.len).insert(u128::from(a), index),
        };
        Ok(old.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The most specific block holding `ip`, as `victim.subscriber`: `{id, source, network,
    /// map, ...extra columns}`; `None` when no block does.
    pub fn lookup(&self, ip: IpAddr) -> Option<Value> {
        let row = match canonical(ip) {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4.iter().find_map(|(len, t)| t.get(&mask_v4(a, *len)))
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6.iter().find_map(|(len, t)| t.get(&mask_v6(a, *len)))
            }
        }
        .and_then(|i| self.rows.get(*i))?;
        let mut m = Map::new();
        m.insert("id".into(), json!(row.id));
        m.insert("source".into(), json!("static"));
        m.insert("network".into(), json!(row.network.to_string()));
        m.insert("map".into(), json!(row.file));
        for (k, v) in &row.extra {
            // The fixed keys above keep their meaning whatever a map's columns are called.
            m.entry(k.clone()).or_insert_with(|| json!(v));
        }
        Some(Value::Object(m))
    }
}

/// The table for prefix length `len`, created in longest-first order when absent.
fn table<K>(tables: &mut Vec<(u8, HashMap<K, usize>)>, len: u8) -> &mut HashMap<K, usize> {
    let pos = match tables.iter().position(|(l, _)| *l <= len) {
        Some(p) if tables[p].0 == len => p,
        Some(p) => {
            tables.insert(p, (len, HashMap::new()));
            p
        }
        None => {
            tables.push((len, HashMap::new()));
            tables.len() - 1
        }
    };
    &mut tables[pos].1
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
        s.lookup(ip.parse().unwrap())
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
        let v = s.lookup("10.1.2.5".parse().unwrap()).unwrap();
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
        let e = map("address,start,end,subscriber\n").unwrap_err();
        assert!(e.contains("not supported yet"), "{e}");
        let e = map("# nothing\n").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = map("network,subscriber\nbad,x\n").unwrap_err();
        assert!(e.contains("no valid row"), "{e}");
    }
}
