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

/// What the loader keeps of one STIX object; the rest of the object is dropped as soon as
/// it has been read, so a bundle of a million objects never sits in memory as JSON values.
/// (Boxed strings: this is held once per object of the document.)
#[derive(Debug, Default)]
struct Obj {
    kind: Kind,
    modified: Option<Box<str>>,
    revoked: bool,
    /// malware, tool: the name and whether it is a family; marking-definition: its TLP;
    /// relationship `indicates`: source and target.
    name: Option<(Box<str>, bool)>,
    tlp: Option<Box<str>>,
    indicates: Option<Box<(Box<str>, Box<str>)>>,
    indicator: Option<Box<IndicatorPart>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Indicator,
    /// malware, tool, relationship, marking-definition: read for the indicators' sake.
    Context,
    #[default]
    Other,
}

#[derive(Debug, Default)]
struct IndicatorPart {
    pattern_type: Option<Box<str>>,
    benign: bool,
    pattern: Option<Box<str>>,
    confidence: Option<u64>,
    reference: Option<Box<str>>,
    marking_refs: Box<[Box<str>]>,
    valid_from: Option<Box<str>>,
    valid_until: Option<Box<str>>,
}

/// The parts of `o` the loader uses, and its id; `None` without an id.
fn compact(o: &Value) -> Option<(Box<str>, Obj)> {
    let own = |k: &str| text(o, k).map(Box::<str>::from);
    let kind = text(o, "type").unwrap_or_default();
    let mut c = Obj {
        modified: own("modified"),
        revoked: o.get("revoked") == Some(&Value::Bool(true)),
        ..Obj::default()
    };
    match kind {
        "malware" | "tool" => {
            c.kind = Kind::Context;
            let family = o.get("is_family").and_then(Value::as_bool).unwrap_or(true);
            c.name = own("name").map(|n| (n, family));
        }
        "marking-definition" => {
            c.kind = Kind::Context;
            c.tlp = tlp_of_marking(o).map(Box::from);
        }
        "relationship" => {
            c.kind = Kind::Context;
            if text(o, "relationship_type") == Some("indicates") {
                c.indicates = own("source_ref").zip(own("target_ref")).map(Box::new);
            }
        }
        "indicator" => {
            c.kind = Kind::Indicator;
            let benign = |k: &str| {
                o.get(k)
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("benign")))
            };
            c.indicator = Some(Box::new(IndicatorPart {
                pattern_type: own("pattern_type"),
                benign: benign("indicator_types") || benign("labels"),
                pattern: own("pattern"),
                confidence: o.get("confidence").and_then(Value::as_u64),
                reference: o
                    .get("external_references")
                    .and_then(Value::as_array)
                    .and_then(|r| r.iter().find_map(|e| text(e, "url")))
                    .map(Box::from),
                marking_refs: o
                    .get("object_marking_refs")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(Box::from).collect())
                    .unwrap_or_default(),
                valid_from: own("valid_from"),
                valid_until: own("valid_until"),
            }));
        }
        _ => {}
    }
    Some((own("id")?, c))
}

/// Reads a bundle, a TAXII envelope or a bare array object by object, handing each one to
/// `each` and dropping it. False when the document has no `objects` (not STIX).
fn read_objects(src: impl BufRead, each: &mut dyn FnMut(Value)) -> Result<bool, serde_json::Error> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    struct Seq<'f>(&'f mut dyn FnMut(Value));
    impl<'de> Visitor<'de> for Seq<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of STIX objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            while let Some(v) = seq.next_element::<Value>()? {
                (self.0)(v);
            }
            Ok(true)
        }
    }
    impl<'de> DeserializeSeed<'de> for Seq<'_> {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_seq(self)
        }
    }
    struct Top<'f>(&'f mut dyn FnMut(Value));
    impl<'de> Visitor<'de> for Top<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a STIX bundle, a TAXII envelope or an array of STIX objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
            Seq(self.0).visit_seq(seq)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut found = false;
            while let Some(k) = map.next_key::<String>()? {
                if k == "objects" && !found {
                    found = map.next_value_seed(Seq(&mut *self.0))?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }
    let mut de = serde_json::Deserializer::from_reader(src);
    let found = de.deserialize_any(Top(each))?;
    de.end()?;
    Ok(found)
}

/// Loads the indicators of a STIX document, streaming its objects.
pub fn load(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    // Versioning: the same id may appear several times; the greatest `modified` wins.
    let mut latest: HashMap<Box<str>, Obj> = HashMap::new();
    let mut keep = |v: Value| {
        let Some((id, o)) = compact(&v) else { return };
        let newer = latest.get(&id).is_none_or(|old| o.modified >= old.modified);
        if newer {
            latest.insert(id, o);
        }
    };
    let found = read_objects(src, &mut keep)
        .map_err(|e| sink.error(Some(e.line() as u64), format!("invalid STIX JSON: {e}")))?;
    if !found {
        return Err(sink.error(
            None,
            "not a STIX bundle, TAXII envelope or array of STIX objects (no `objects`)",
        ));
    }
    let mut names: HashMap<&str, (&str, bool)> = HashMap::new();
    let mut markings: HashMap<&str, &str> = HashMap::new();
    let mut indicates: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, o) in &latest {
        if let Some((n, family)) = &o.name {
            names.insert(id, (n, *family));
        }
        if let Some(t) = &o.tlp {
            markings.insert(id, t);
        }
        if let (Some(rel), false) = (&o.indicates, o.revoked) {
            indicates.entry(&rel.0).or_default().push(&rel.1);
        }
    }
    let mut ids: Vec<&Box<str>> = latest.keys().collect();
    ids.sort();
    for (n, id) in ids.into_iter().enumerate() {
        let o = &latest[id];
        let id: &str = id;
        let no = n as u64 + 1;
        let i = match (o.kind, &o.indicator) {
            (Kind::Indicator, Some(i)) => i,
            (Kind::Context, _) => continue,
            _ => {
                sink.skip(no, "not-an-indicator", id);
                continue;
            }
        };
        if o.revoked {
            sink.skip(no, "revoked", id);
            continue;
        }
        if let Some(t) = &i.pattern_type
            && &**t != "stix"
        {
            sink.skip(no, "unsupported-pattern-type", &format!("{id}: {t}"));
            continue;
        }
        if i.benign {
            sink.skip(no, "benign", id);
            continue;
        }
        let Some(pattern) = &i.pattern else {
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
        meta.confidence = i.confidence.map(|c| c.min(100) as u8);
        meta.reference = i.reference.as_deref().map(str::to_string);
        meta.tlp = i.marking_refs.iter().find_map(|r| {
            let uuid = r.strip_prefix("marking-definition--")?;
            TLP_IDS
                .iter()
                .find(|(u, _)| *u == uuid)
                .map(|(_, t)| t.to_string())
                .or_else(|| markings.get(&**r).map(|t| t.to_string()))
        });
        meta.valid_from = i.valid_from.as_deref().and_then(normalize_feed_time);
        meta.valid_until = i.valid_until.as_deref().and_then(normalize_feed_time);
        for (key, listed) in keys {
            sink.add(key, &listed, meta.clone());
        }
    }
    Ok(())
}
