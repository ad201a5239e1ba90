//! abuse.ch ThreatFox exports, CSV and JSON (feed-formats.md §3), and URLhaus CSV (§4).

use super::lines::{Lines, split_csv};
use super::{FeedError, Sink};
use crate::intel::name::{canonical_domain, canonical_url};
use crate::intel::net::parse_ip_port;
use crate::intel::set::Key;
use crate::time::normalize_feed_time;
use std::io::BufRead;

/// `None`, empty and the like mean absent.
fn present(v: &str) -> Option<&str> {
    let v = v.trim();
    (!v.is_empty() && v != "None" && v != "null").then_some(v)
}

/// One ThreatFox IOC as a key, or the reason it is skipped.
fn ioc_key(kind: &str, value: &str) -> Result<Key, &'static str> {
    match kind {
        "ip:port" => parse_ip_port(value)
            .map(|(ip, p)| Key::IpPort(ip, p))
            .ok_or("bad-ip-port"),
        "domain" => canonical_domain(value).map(Key::Domain).ok_or("bad-domain"),
        "url" => canonical_url(value).map(Key::Url).ok_or("bad-url"),
        "md5_hash" | "sha1_hash" | "sha256_hash" | "sha3_384_hash" => Err("file-hash-not-matched"),
        _ => Err("unknown-ioc-type"),
    }
}

/// The fields of one IOC, from either export.
struct Ioc<'a> {
    value: &'a str,
    kind: &'a str,
    family: Option<&'a str>,
    confidence: Option<u8>,
    first_seen: Option<&'a str>,
    last_seen: Option<&'a str>,
    reference: Option<&'a str>,
}

fn add(sink: &mut Sink<'_>, line: u64, ioc: Ioc<'_>) {
    let key = match ioc_key(ioc.kind.trim(), ioc.value.trim()) {
        Ok(k) => k,
        Err(why) => {
            sink.skip(line, why, ioc.value);
            return;
        }
    };
    let mut meta = sink.meta();
    meta.family = ioc
        .family
        .and_then(present)
        .filter(|f| *f != "Unknown malware")
        .map(str::to_string);
    meta.confidence = ioc.confidence.map(|c| c.min(100));
    meta.first_seen = ioc.first_seen.and_then(normalize_feed_time);
    meta.last_seen = ioc.last_seen.and_then(normalize_feed_time);
    meta.reference = ioc.reference.and_then(present).map(str::to_string);
    sink.add(key, ioc.value.trim(), meta);
}

/// Rows of a CSV whose header may be commented; columns mapped by name.
fn csv_rows(
    src: impl BufRead,
    sink: &mut Sink<'_>,
    header_has: &str,
    mut row: impl FnMut(&mut Sink<'_>, u64, &dyn Fn(&str) -> Option<String>),
) -> Result<(), FeedError> {
    let mut lines = Lines::new(src);
    let mut names: Vec<String> = Vec::new();
    loop {
        let Some((no, t)) = sink.next_line(&mut lines)? else {
            return Ok(());
        };
        let text = t.trim();
        if text.is_empty() {
            continue;
        }
        if let Some(body) = text.strip_prefix('#') {
            if body.contains(header_has) {
                names = split_csv(body.trim())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|n| n.trim().to_string())
                    .collect();
            }
            continue;
        }
        if names.is_empty() {
            return Err(sink.error(
                Some(no),
                format!("data before the header (expected a `# ...{header_has}...` line)"),
            ));
        }
        let Some(fields) = split_csv(text) else {
            sink.skip(no, "bad-csv", text);
            continue;
        };
        if fields.len() != names.len() {
            let detail = format!("{} fields, the header has {}", fields.len(), names.len());
            sink.skip(no, "wrong-column-count", &detail);
            continue;
        }
        let get = |name: &str| {
            names
                .iter()
                .position(|n| n == name)
                .and_then(|i| fields.get(i))
                .cloned()
        };
        row(sink, no, &get);
    }
}

/// ThreatFox CSV export.
pub fn load_csv(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    csv_rows(src, sink, "ioc_value", |sink, no, get| {
        let (Some(value), Some(kind)) = (get("ioc_value"), get("ioc_type")) else {
            sink.skip(no, "missing-columns", "");
            return;
        };
        let (family, first, last, reference) = (
            get("malware_printable"),
            get("first_seen_utc"),
            get("last_seen_utc"),
            get("reference"),
        );
        let confidence = get("confidence_level").and_then(|c| c.trim().parse().ok());
        add(
            sink,
            no,
            Ioc {
                value: &value,
                kind: &kind,
                family: family.as_deref(),
                confidence,
                first_seen: first.as_deref(),
                last_seen: last.as_deref(),
                reference: reference.as_deref(),
            },
        );
    })
}

/// ThreatFox JSON export: an object keyed by IOC id, each an array of IOC objects.
pub fn load_json(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    let doc: serde_json::Value = serde_json::from_reader(src).map_err(|e| {
        sink.error(
            Some(e.line() as u64),
            format!("invalid ThreatFox JSON: {e}"),
        )
    })?;
    let Some(obj) = doc.as_object() else {
        return Err(sink.error(None, "ThreatFox JSON must be an object keyed by IOC id"));
    };
    for (n, (_, entries)) in obj.iter().enumerate() {
        for e in entries.as_array().map(Vec::as_slice).unwrap_or_default() {
            let text = |k: &str| e.get(k).and_then(|v| v.as_str());
            let (Some(value), Some(kind)) = (text("ioc_value"), text("ioc_type")) else {
                sink.skip(n as u64 + 1, "missing-ioc", &e.to_string());
                continue;
            };
            let confidence = e
                .get("confidence_level")
                .and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok()))
                .map(|c| c.min(100) as u8);
            add(
                sink,
                n as u64 + 1,
                Ioc {
                    value,
                    kind,
                    family: text("malware_printable"),
                    confidence,
                    first_seen: text("first_seen_utc"),
                    last_seen: text("last_seen_utc"),
                    reference: text("reference"),
                },
            );
        }
    }
    Ok(())
}

/// URLhaus CSV: each row's URL. The URL's host is not added as an indicator: URLhaus lists
/// distribution sites, often compromised or shared hosting, where every other page is benign.
pub fn load_urlhaus(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    csv_rows(src, sink, "urlhaus_link", |sink, no, get| {
        let Some(url) = get("url") else {
            sink.skip(no, "missing-url", "");
            return;
        };
        let Some(key) = canonical_url(url.trim()) else {
            sink.skip(no, "bad-url", &url);
            return;
        };
        let mut meta = sink.meta();
        meta.first_seen = get("dateadded").as_deref().and_then(normalize_feed_time);
        meta.last_seen = get("last_online").as_deref().and_then(normalize_feed_time);
        meta.reference = get("urlhaus_link")
            .as_deref()
            .and_then(present)
            .map(str::to_string);
        sink.add(Key::Url(key), url.trim(), meta);
    })
}
