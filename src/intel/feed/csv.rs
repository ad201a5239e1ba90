//! Vendor CSV exports whose columns the operator names in a `[[feed]]` entry
//! (`format = "csv"`, `[feed.columns]`). The first non-comment row is the header; each data
//! row's value column is read like a plain-list value (address, CIDR, `ip:port`, name, URL,
//! or a hash of the kind `value_kind` declares).

use super::lines::{Lines, split_csv_with};
use super::plain::{Token, classify};
use super::{FeedError, Sink};
use crate::intel::name::{canonical_domain, canonical_hex};
use crate::intel::set::{HashKind, Key};
use crate::time::normalize_feed_time;
use serde::Deserialize;
use std::io::BufRead;

/// Which header names hold what; only `value` is required.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub value: String,
    pub family: Option<String>,
    pub confidence: Option<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub reference: Option<String>,
    /// Field separator: one character (`,` by default; `;`, `|`, `\t`).
    pub delimiter: Option<String>,
    /// Read every value as this kind instead of guessing: `domain`, `ja3`, `ja3s`, `ja4`,
    /// `x509-sha1`, `x509-sha256`.
    pub value_kind: Option<String>,
}

impl Columns {
    /// Checks what can be checked before reading the file.
    pub fn validate(&self) -> Result<(), String> {
        self.separator()?;
        if let Some(k) = &self.value_kind {
            forced_kind(k)?;
        }
        Ok(())
    }

    fn separator(&self) -> Result<char, String> {
        let d = self.delimiter.as_deref().unwrap_or(",");
        let d = if d == "\\t" { "\t" } else { d };
        let mut c = d.chars();
        match (c.next(), c.next()) {
            (Some(ch), None) if ch != '"' => Ok(ch),
            _ => Err(format!(
                "csv delimiter `{d}` must be one character other than `\"`"
            )),
        }
    }
}

enum Forced {
    Domain,
    Hash(HashKind, usize),
}

fn forced_kind(k: &str) -> Result<Forced, String> {
    Ok(match k {
        "domain" => Forced::Domain,
        "ja3" => Forced::Hash(HashKind::Ja3, 32),
        "ja3s" => Forced::Hash(HashKind::Ja3s, 32),
        "x509-sha1" => Forced::Hash(HashKind::CertSha1, 40),
        "x509-sha256" => Forced::Hash(HashKind::CertSha256, 64),
        "ja4" => return Err("value_kind `ja4` is not needed: JA4 values are recognised".into()),
        other => {
            return Err(format!(
                "unknown value_kind `{other}` (known: domain, ja3, ja3s, x509-sha1, x509-sha256)"
            ));
        }
    })
}

fn key(v: &str, forced: Option<&Forced>) -> Result<Vec<Key>, &'static str> {
    match forced {
        Some(Forced::Domain) => canonical_domain(v)
            .map(|d| vec![Key::Domain(d)])
            .ok_or("bad-domain"),
        Some(Forced::Hash(kind, len)) => canonical_hex(v, *len)
            .map(|h| vec![Key::Hash(*kind, h)])
            .ok_or("bad-hash"),
        None => match classify(v) {
            Token::Key(k) => Ok(vec![k]),
            Token::Range(ks) => Ok(ks),
            Token::Ignored(why) => Err(why),
            _ => Err("unparsable"),
        },
    }
}

pub fn load(src: impl BufRead, sink: &mut Sink<'_>, cols: &Columns) -> Result<(), FeedError> {
    let sep = cols.separator().map_err(|e| sink.error(None, e))?;
    let forced = match &cols.value_kind {
        Some(k) => Some(forced_kind(k).map_err(|e| sink.error(None, e))?),
        None => None,
    };
    let mut lines = Lines::new(src);
    let mut header: Option<Vec<String>> = None;
    let index = |h: &[String], name: &Option<String>| -> Option<usize> {
        let n = name.as_deref()?;
        h.iter().position(|c| c.trim().eq_ignore_ascii_case(n))
    };
    let mut at: [Option<usize>; 6] = [None; 6];
    while let Some((no, text)) = sink.next_line(&mut lines)? {
        if text.trim().is_empty() || text.starts_with('#') {
            continue;
        }
        let Some(row) = split_csv_with(&text, sep) else {
            sink.skip(no, "unterminated-quote", &text);
            continue;
        };
        let Some(h) = &header else {
            at = [
                index(&row, &Some(cols.value.clone())),
                index(&row, &cols.family),
                index(&row, &cols.confidence),
                index(&row, &cols.first_seen),
                index(&row, &cols.last_seen),
                index(&row, &cols.reference),
            ];
            if at[0].is_none() {
                return Err(sink.error(
                    Some(no),
                    format!(
                        "the header has no column `{}` (columns.value); it has: {}",
                        cols.value,
                        row.join(", ")
                    ),
                ));
            }
            for (i, name) in [
                (1, &cols.family),
                (2, &cols.confidence),
                (3, &cols.first_seen),
                (4, &cols.last_seen),
                (5, &cols.reference),
            ] {
                if let Some(n) = name
                    && at[i].is_none()
                {
                    return Err(sink.error(
                        Some(no),
                        format!("the header has no column `{n}`; it has: {}", row.join(", ")),
                    ));
                }
            }
            header = Some(row);
            continue;
        };
        if row.len() != h.len() {
            let detail = format!("{} fields, the header has {}", row.len(), h.len());
            sink.skip(no, "wrong-column-count", &detail);
            continue;
        }
        let get = |i: usize| {
            at[i]
                .and_then(|c| row.get(c))
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };
        let Some(value) = get(0) else {
            sink.skip(no, "missing-value", &text);
            continue;
        };
        let keys = match key(value, forced.as_ref()) {
            Ok(k) => k,
            Err(why) => {
                sink.skip(no, why, value);
                continue;
            }
        };
        let mut meta = sink.meta();
        meta.family = get(1).map(str::to_string);
        if let Some(c) = get(2) {
            match c.parse::<f64>() {
                Ok(n) if (0.0..=100.0).contains(&n) => meta.confidence = Some(n.round() as u8),
                _ => {
                    sink.skip(no, "bad-confidence", c);
                    continue;
                }
            }
        }
        meta.first_seen = get(3).and_then(normalize_feed_time);
        meta.last_seen = get(4).and_then(normalize_feed_time);
        meta.reference = get(5).map(str::to_string);
        for k in keys {
            sink.add(k, value, meta.clone());
        }
    }
    Ok(())
}
