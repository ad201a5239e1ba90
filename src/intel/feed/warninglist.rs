//! MISP warninglists (feed-formats.md §7.6): lists of known-benign values (public resolvers,
//! CDNs, cloud ranges) that must never alert. Whatever role they are loaded in, their
//! entries go to the allowlist.

use super::{FeedError, Sink};
use crate::intel::name::canonical_domain;
use crate::intel::net::{parse_cidr, parse_ip};
use crate::intel::set::Key;
use serde_json::Value;
use std::io::BufRead;

/// True for a JSON object with `name`, `type`, `list` and `version`.
pub fn looks_like(head: &str) -> bool {
    let t = head.trim_start();
    t.starts_with('{')
        && ["\"name\"", "\"type\"", "\"list\"", "\"version\""]
            .iter()
            .all(|k| t.contains(k))
        && !t.contains("\"objects\"")
}

const DOMAIN_TYPES: [&str; 4] = ["domain", "hostname", "domain|ip", "hostname|port"];
const IP_TYPES: [&str; 5] = [
    "ip-src",
    "ip-dst",
    "ip-src|port",
    "ip-dst|port",
    "domain|ip",
];

pub fn load(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    let doc: Value = serde_json::from_reader(src).map_err(|e| {
        sink.error(
            Some(e.line() as u64),
            format!("invalid warninglist JSON: {e}"),
        )
    })?;
    sink.report.role = Some("allowlist");
    let kind = doc.get("type").and_then(Value::as_str).unwrap_or("string");
    let Some(list) = doc.get("list").and_then(Value::as_array) else {
        return Err(sink.error(None, "a warninglist needs a `list` array"));
    };
    let applies = |types: &[&str]| {
        doc.get("matching_attributes")
            .and_then(Value::as_array)
            .is_none_or(|a| {
                a.iter()
                    .any(|t| t.as_str().is_some_and(|t| types.contains(&t)))
            })
    };
    let (domains, ips) = (applies(&DOMAIN_TYPES), applies(&IP_TYPES));
    for (i, entry) in list.iter().enumerate() {
        let no = i as u64 + 1;
        let Some(v) = entry.as_str().map(str::trim) else {
            sink.skip(no, "not-a-string", &entry.to_string());
            continue;
        };
        let key = match kind {
            "cidr" => parse_cidr(v)
                .map(|(c, _)| Key::Net(c))
                .or_else(|| parse_ip(v).map(Key::ip))
                .ok_or("bad-cidr"),
            "hostname" => canonical_domain(v.trim_end_matches('.'))
                .map(Key::Domain)
                .ok_or("bad-hostname"),
            "string" => match parse_ip(v) {
                Some(ip) if ips => Ok(Key::ip(ip)),
                None if domains => canonical_domain(v)
                    .map(Key::DomainExact)
                    .ok_or("not-a-network-value"),
                _ => Err("not-a-network-value"),
            },
            // `substring` and `regex` lists cannot be indexed exactly.
            _ => Err("unsupported-list-type"),
        };
        match key {
            Ok(k) => sink.allow(k),
            Err(why) => sink.skip(no, why, v),
        }
    }
    Ok(())
}
