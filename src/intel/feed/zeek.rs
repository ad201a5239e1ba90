//! Zeek intel framework files (feed-formats.md §10): TAB-separated, columns named by the
//! `#fields` header. `Intel::DOMAIN` matches only the name itself, as in Zeek.

use super::lines::Lines;
use super::{FeedError, Sink};
use crate::intel::name::{canonical_domain, canonical_hex, canonical_url};
use crate::intel::net::{parse_cidr, parse_ip};
use crate::intel::set::{HashKind, Key};
use std::io::BufRead;

/// True when a `#fields` header names `indicator` and `indicator_type`.
pub fn looks_like(head: &str) -> bool {
    head.lines().any(|l| {
        l.starts_with("#fields\t")
            && l.split('\t').any(|f| f == "indicator")
            && l.split('\t').any(|f| f == "indicator_type")
    })
}

fn key(kind: &str, v: &str) -> Result<Key, &'static str> {
    match kind {
        "Intel::ADDR" => parse_ip(v).map(Key::ip).ok_or("bad-address"),
        "Intel::SUBNET" => parse_cidr(v)
            .map(|(c, _)| Key::Net(c))
            .or_else(|| parse_ip(v).map(Key::ip))
            .ok_or("bad-subnet"),
        "Intel::DOMAIN" => canonical_domain(v)
            .map(Key::DomainExact)
            .ok_or("bad-domain"),
        "Intel::URL" => canonical_url(v).map(Key::Url).ok_or("bad-url"),
        "Intel::CERT_HASH" => canonical_hex(v, 40)
            .map(|h| Key::Hash(HashKind::CertSha1, h))
            .ok_or("bad-cert-hash"),
        _ => Err("unsupported-type"),
    }
}

pub fn load(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    let mut lines = Lines::new(src);
    let mut fields: Vec<String> = Vec::new();
    loop {
        let Some((no, text)) = sink.next_line(&mut lines)? else {
            return Ok(());
        };
        if let Some(h) = text.strip_prefix("#fields\t") {
            fields = h.split('\t').map(str::to_string).collect();
            continue;
        }
        if text.trim().is_empty() || text.starts_with('#') {
            continue;
        }
        if fields.is_empty() {
            return Err(sink.error(Some(no), "data before the `#fields` header"));
        }
        let row: Vec<&str> = text.split('\t').collect();
        let get = |name: &str| {
            fields
                .iter()
                .position(|f| f == name)
                .and_then(|i| row.get(i))
                .map(|v| v.trim())
                .filter(|v| *v != "-" && *v != "(empty)" && !v.is_empty())
        };
        let (Some(value), Some(kind)) = (get("indicator"), get("indicator_type")) else {
            sink.skip(no, "missing-columns", &text);
            continue;
        };
        let key = match key(kind, value) {
            Ok(k) => k,
            Err(why) => {
                sink.skip(no, why, value);
                continue;
            }
        };
        if get("meta.remove") == Some("T") {
            sink.skip(no, "removed", value);
            continue;
        }
        if get("meta.whitelist") == Some("T") {
            sink.allow(key);
            continue;
        }
        let mut meta = sink.meta();
        meta.reference = get("meta.url").map(str::to_string);
        sink.add(key, value, meta);
    }
}
