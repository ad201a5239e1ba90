//! STIX 2.1 (and 2.0) bundles, TAXII envelopes and bare object arrays (feed-formats.md §8):
//! indicators whose patterns a network sensor can evaluate, with the malware they
//! `indicate`, their confidence, references, TLP markings and validity window.
//!
//! Invariant: a pattern is loaded exactly or not at all. Nothing is dropped from a
//! conjunction to make it fit (that would widen the match); unsupported patterns are counted
//! and logged with the indicator's id.

mod extract;
mod pattern;

use super::{FeedError, Sink};
use crate::time::normalize_feed_time;
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;

/// TLP marking definitions with fixed ids (TLP 1.0 and 2.0).
const TLP_IDS: [(&str, &str); 9] = [
    ("613f2e26-407d-48c7-9eca-b8e91df99dc9", "tlp:clear"),
    ("34098fce-860f-48ae-8e50-ebd3cc5e41da", "tlp:green"),
    ("f88d31f6-486f-44da-b317-01333bde0b82", "tlp:amber"),
    ("5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "tlp:red"),
    ("94868c89-83c2-464b-929b-a1a8aa3c8487", "tlp:clear"),
    ("bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "tlp:green"),
    ("55d920b0-5e8b-4f79-9ee9-91f868d9b421", "tlp:amber"),
    ("939a9414-2ddd-4d32-a0cd-375ea402b003", "tlp:amber+strict"),
    ("e828b379-4e03-4974-9ac4-e53a884c97c1", "tlp:red"),
];

/// TLP of a marking-definition object given in the bundle (TLP 1.0 `definition` or the TLP
/// 2.0 extension).
fn tlp_of_marking(m: &Value) -> Option<String> {
    let v = m
        .pointer("/definition/tlp")
        .and_then(Value::as_str)
        .or_else(|| {
            m.get("extensions")?
                .as_object()?
                .values()
                .find_map(|e| e.get("tlp_2_0").and_then(Value::as_str))
        })?
        .to_ascii_lowercase();
    Some(format!(
        "tlp:{}",
        if v == "white" { "clear" } else { v.as_str() }
    ))
}

fn text<'a>(o: &'a Value, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Value::as_str)
}

/// The objects of a bundle, a TAXII envelope or a bare array.
fn objects(doc: &Value) -> Option<&Vec<Value>> {
    doc.as_array().or_else(|| doc.get("objects")?.as_array())
}

/// True when the JSON text looks like STIX (Appendix A).
pub fn looks_like(head: &str) -> bool {
    let t = head.trim_start();
    (t.starts_with('{') || t.starts_with('['))
        && (t.contains("\"type\": \"bundle\"")
            || t.contains("\"type\":\"bundle\"")
            || (t.contains("\"objects\"") && t.contains("\"spec_version\""))
            || (t.starts_with('[') && t.contains("\"pattern\"") && t.contains("\"indicator--")))
}

/// How many indicators a STIX pattern gives, or why it gives none (for tests and fuzzing).
pub fn pattern_indicators(text: &str) -> Result<usize, String> {
    let p = pattern::parse(text)?;
    extract::keys(&p)
        .map(|k| k.len())
        .map_err(|e| format!("{}: {}", e.reason(), e.detail()))
}

pub fn load(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    let doc: Value = serde_json::from_reader(src)
        .map_err(|e| sink.error(Some(e.line() as u64), format!("invalid STIX JSON: {e}")))?;
    let Some(objs) = objects(&doc) else {
        return Err(sink.error(
            None,
            "not a STIX bundle, TAXII envelope or array of STIX objects (no `objects`)",
        ));
    };
    // Versioning: the same id may appear several times; the greatest `modified` wins.
    let mut latest: HashMap<&str, &Value> = HashMap::new();
    for o in objs {
        let Some(id) = text(o, "id") else { continue };
        let newer = latest
            .get(id)
            .is_none_or(|old| text(o, "modified") >= text(old, "modified"));
        if newer {
            latest.insert(id, o);
        }
    }
    let mut names: HashMap<&str, (&str, bool)> = HashMap::new();
    let mut markings: HashMap<&str, String> = HashMap::new();
    let mut indicates: HashMap<&str, Vec<&str>> = HashMap::new();
    for (&id, o) in &latest {
        match text(o, "type") {
            Some("malware") | Some("tool") => {
                if let Some(n) = text(o, "name") {
                    let family = o.get("is_family").and_then(Value::as_bool).unwrap_or(true);
                    names.insert(id, (n, family));
                }
            }
            Some("marking-definition") => {
                if let Some(t) = tlp_of_marking(o) {
                    markings.insert(id, t);
                }
            }
            Some("relationship")
                if text(o, "relationship_type") == Some("indicates")
                    && o.get("revoked") != Some(&Value::Bool(true)) =>
            {
                if let (Some(s), Some(t)) = (text(o, "source_ref"), text(o, "target_ref")) {
                    indicates.entry(s).or_default().push(t);
                }
            }
            _ => {}
        }
    }
    let mut ids: Vec<&&str> = latest.keys().collect();
    ids.sort();
    for (n, id) in ids.into_iter().enumerate() {
        let o = latest[*id];
        let no = n as u64 + 1;
        match text(o, "type") {
            Some("indicator") => {}
            Some("malware" | "tool" | "relationship" | "marking-definition") => continue,
            _ => {
                sink.skip(no, "not-an-indicator", id);
                continue;
            }
        }
        if o.get("revoked") == Some(&Value::Bool(true)) {
            sink.skip(no, "revoked", id);
            continue;
        }
        if let Some(t) = text(o, "pattern_type")
            && t != "stix"
        {
            sink.skip(no, "unsupported-pattern-type", &format!("{id}: {t}"));
            continue;
        }
        let benign = |k: &str| {
            o.get(k)
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("benign")))
        };
        if benign("indicator_types") || benign("labels") {
            sink.skip(no, "benign", id);
            continue;
        }
        let Some(pattern) = text(o, "pattern") else {
            sink.skip(no, "bad-pattern", &format!("{id}: no pattern"));
            continue;
        };
        let keys = match pattern::parse(pattern)
            .map_err(|e| ("bad-pattern", e))
            .and_then(|p| extract::keys(&p).map_err(|e| (e.reason(), e.detail())))
        {
            Ok(k) => k,
            Err((why, detail)) => {
                sink.skip(no, why, &format!("{id}: {detail}: {pattern}"));
                continue;
            }
        };
        let mut meta = sink.meta();
        let refs = indicates.get(id).map(Vec::as_slice).unwrap_or_default();
        let mut found: Vec<(&str, bool)> =
            refs.iter().filter_map(|r| names.get(r)).copied().collect();
        found.sort_by_key(|(_, family)| !family);
        meta.family = found.first().map(|(n, _)| n.to_string());
        meta.confidence = o
            .get("confidence")
            .and_then(Value::as_u64)
            .map(|c| c.min(100) as u8);
        meta.reference = o
            .get("external_references")
            .and_then(Value::as_array)
            .and_then(|r| r.iter().find_map(|e| text(e, "url")))
            .map(str::to_string);
        meta.tlp = o
            .get("object_marking_refs")
            .and_then(Value::as_array)
            .and_then(|refs| {
                refs.iter().filter_map(Value::as_str).find_map(|r| {
                    let uuid = r.strip_prefix("marking-definition--")?;
                    TLP_IDS
                        .iter()
                        .find(|(u, _)| *u == uuid)
                        .map(|(_, t)| t.to_string())
                        .or_else(|| markings.get(r).cloned())
                })
            });
        meta.valid_from = text(o, "valid_from").and_then(normalize_feed_time);
        meta.valid_until = text(o, "valid_until").and_then(normalize_feed_time);
        for (key, listed) in keys {
            sink.add(key, &listed, meta.clone());
        }
    }
    Ok(())
}
