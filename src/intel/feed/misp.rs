//! MISP events (feed-formats.md §7): a file with one `Event` (or a `response` list of them).
//! Only attributes marked for detection (`to_ids`) and not deleted, of the network types a
//! sensor can match, are used; event and attribute tags give the TLP and the malware family.

use super::{FeedError, Sink};
use crate::intel::name::{canonical_domain, canonical_hex, canonical_url};
use crate::intel::net::{parse_cidr, parse_ip};
use crate::intel::set::{HashKind, Key};
use crate::time::normalize_feed_time;
use serde_json::Value;
use std::io::BufRead;

/// Keys for one attribute (a composite type can give two), or why it is skipped.
fn keys(kind: &str, value: &str) -> Result<Vec<Key>, &'static str> {
    let addr = |v: &str| {
        parse_cidr(v)
            .map(|(c, _)| Key::Net(c))
            .or_else(|| parse_ip(v).map(Key::ip))
    };
    let (first, second) = value
        .split_once('|')
        .map_or((value, None), |(a, b)| (a, Some(b)));
    let k = match kind {
        "ip-dst" | "ip-src" => vec![addr(value).ok_or("bad-address")?],
        "ip-dst|port" | "ip-src|port" => {
            let ip = parse_ip(first).ok_or("bad-address")?;
            let port = second.and_then(|p| p.parse().ok()).ok_or("bad-port")?;
            vec![Key::IpPort(ip, port)]
        }
        "domain" | "hostname" | "hostname|port" => {
            vec![Key::Domain(canonical_domain(first).ok_or("bad-domain")?)]
        }
        "domain|ip" => {
            let mut k = vec![Key::Domain(canonical_domain(first).ok_or("bad-domain")?)];
            k.extend(second.and_then(addr));
            k
        }
        "url" => vec![Key::Url(canonical_url(value).ok_or("bad-url")?)],
        "ja3-fingerprint-md5" => vec![Key::Hash(
            HashKind::Ja3,
            canonical_hex(value, 32).ok_or("bad-ja3")?,
        )],
        "x509-fingerprint-sha1" => vec![Key::Hash(
            HashKind::CertSha1,
            canonical_hex(value, 40).ok_or("bad-hash")?,
        )],
        "x509-fingerprint-sha256" => vec![Key::Hash(
            HashKind::CertSha256,
            canonical_hex(value, 64).ok_or("bad-hash")?,
        )],
        "md5" | "sha1" | "sha256" | "sha512" | "ssdeep" | "imphash" | "filename"
        | "filename|md5" | "filename|sha1" | "filename|sha256" => {
            return Err("file-attribute");
        }
        _ => return Err("non-network-attribute"),
    };
    Ok(k)
}

fn tag_names(v: &Value) -> impl Iterator<Item = &str> {
    v.get("Tag")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("name").and_then(Value::as_str))
}

/// TLP and malware family from a list of tags.
fn from_tags<'a>(names: impl Iterator<Item = &'a str>) -> (Option<String>, Option<String>) {
    let (mut tlp, mut family) = (None, None);
    let mut rank = usize::MAX;
    for n in names {
        let lower = n.to_ascii_lowercase();
        if let Some(t) = lower.strip_prefix("tlp:") {
            tlp = Some(format!("tlp:{}", if t == "white" { "clear" } else { t }));
        }
        for (i, galaxy) in ["malpedia", "mitre-malware", "malware", "tool", "ransomware"]
            .iter()
            .enumerate()
        {
            if let Some(v) = n.strip_prefix(&format!("misp-galaxy:{galaxy}="))
                && i < rank
            {
                rank = i;
                family = Some(v.trim_matches('"').to_string());
            }
        }
    }
    (tlp, family)
}

fn event(sink: &mut Sink<'_>, ev: &Value, n: &mut u64) {
    let (ev_tlp, ev_family) = from_tags(tag_names(ev));
    let reference = ev.get("uuid").and_then(Value::as_str).map(|u| {
        let info = ev.get("info").and_then(Value::as_str).unwrap_or("");
        format!("misp-event:{u} {info}").trim_end().to_string()
    });
    let mut attributes: Vec<&Value> = ev
        .get("Attribute")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    for obj in ev
        .get("Object")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        attributes.extend(
            obj.get("Attribute")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
    }
    for a in attributes {
        *n += 1;
        let flag = |k: &str| {
            a.get(k).is_some_and(|v| {
                v.as_bool() == Some(true) || v.as_str() == Some("1") || v.as_str() == Some("true")
            })
        };
        let (Some(kind), Some(value)) = (
            a.get("type").and_then(Value::as_str),
            a.get("value").and_then(Value::as_str),
        ) else {
            sink.skip(*n, "missing-type-or-value", &a.to_string());
            continue;
        };
        if flag("deleted") {
            sink.skip(*n, "deleted", value);
            continue;
        }
        if !flag("to_ids") {
            sink.skip(*n, "not-for-detection", value);
            continue;
        }
        let ks = match keys(kind, value.trim()) {
            Ok(k) => k,
            Err(why) => {
                sink.skip(*n, why, value);
                continue;
            }
        };
        let (tlp, family) = from_tags(tag_names(a));
        let mut meta = sink.meta();
        meta.tlp = tlp.or_else(|| ev_tlp.clone());
        meta.family = family.or_else(|| ev_family.clone());
        meta.first_seen = a
            .get("first_seen")
            .and_then(Value::as_str)
            .and_then(normalize_feed_time);
        meta.last_seen = a
            .get("last_seen")
            .and_then(Value::as_str)
            .and_then(normalize_feed_time);
        meta.reference = reference.clone();
        for k in ks {
            sink.add(k, value.trim(), meta.clone());
        }
    }
}

pub fn load(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    let doc: Value = serde_json::from_reader(src)
        .map_err(|e| sink.error(Some(e.line() as u64), format!("invalid MISP JSON: {e}")))?;
    let mut n = 0;
    if let Some(ev) = doc.get("Event") {
        event(sink, ev, &mut n);
    } else if let Some(list) = doc.get("response").and_then(Value::as_array) {
        for item in list {
            event(sink, item.get("Event").unwrap_or(item), &mut n);
        }
    } else {
        return Err(sink.error(
            None,
            "a MISP file has a top-level `Event` (or a `response` list)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_give_tlp_and_family() {
        let (tlp, fam) = from_tags(
            [
                "TLP:WHITE",
                "misp-galaxy:tool=\"T\"",
                "misp-galaxy:malpedia=\"ExampleBot\"",
            ]
            .into_iter(),
        );
        assert_eq!(
            (tlp.as_deref(), fam.as_deref()),
            (Some("tlp:clear"), Some("ExampleBot"))
        );
        assert_eq!(keys("ip-dst|port", "203.0.113.10|8443").unwrap().len(), 1);
        assert_eq!(
            keys("domain|ip", "c2.example|203.0.113.10").unwrap().len(),
            2
        );
        assert_eq!(keys("sha256", "x"), Err("file-attribute"));
    }
}

/// One event a MISP feed's `manifest.json` lists: its file name and, when the manifest gives
/// one, the expected SHA-256 of that file.
#[derive(Debug, PartialEq)]
pub struct ManifestEntry {
    pub file: String,
    pub sha256: Option<String>,
}

/// Parses a MISP feed `manifest.json` (an object keyed by event UUID). Entries whose key is
/// not a plain UUID-like name are refused, so a manifest cannot point outside its directory.
pub fn manifest(text: &[u8]) -> Result<Vec<ManifestEntry>, String> {
    let v: Value = serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or("manifest.json is not an object keyed by event UUID")?;
    let mut out = Vec::with_capacity(obj.len());
    for (uuid, summary) in obj {
        if uuid.is_empty() || !uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(format!("manifest key `{uuid}` is not an event UUID"));
        }
        out.push(ManifestEntry {
            file: format!("{uuid}.json"),
            sha256: summary
                .get("integrity:sha256")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase),
        });
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(out)
}

#[cfg(test)]
mod manifest_tests {
    use super::*;

    #[test]
    fn lists_events_with_integrity() {
        let m = manifest(
            br#"{"5f0e3b1c-9a2d-4c6e-8f10-2a3b4c5d6e7f": {"info": "x", "timestamp": "1",
                 "integrity:sha256": "ABCD"}, "0a": {"info": "y"}}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            vec![
                ManifestEntry {
                    file: "0a.json".into(),
                    sha256: None
                },
                ManifestEntry {
                    file: "5f0e3b1c-9a2d-4c6e-8f10-2a3b4c5d6e7f.json".into(),
                    sha256: Some("abcd".into())
                },
            ]
        );
    }

    #[test]
    fn refuses_keys_that_are_paths() {
        assert!(manifest(br#"{"../etc/passwd": {}}"#).is_err());
        assert!(manifest(br#"[1, 2]"#).is_err());
        assert!(manifest(b"{").is_err());
    }
}
