//! Spamhaus DROP / EDROP / DROPv6, text and JSON lines (feed-formats.md §5).

use super::lines::Lines;
use super::{FeedError, Sink};
use crate::intel::net::{parse_cidr, parse_ip};
use crate::intel::set::Key;
use std::io::BufRead;

fn key_of(v: &str) -> Option<Key> {
    parse_cidr(v)
        .map(|(c, _)| Key::Net(c))
        .or_else(|| parse_ip(v).map(Key::ip))
}

fn reference(sbl: &str) -> Option<String> {
    let sbl = sbl.trim();
    (sbl.starts_with("SBL") && sbl.len() > 3)
        .then(|| format!("https://www.spamhaus.org/sbl/query/{sbl}"))
}

pub fn load_text(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    let mut lines = Lines::new(src);
    let mut saw_eof = false;
    let mut data = 0u64;
    while let Some((_, t)) = sink.next_line(&mut lines)? {
        let line = t.trim();
        let no = lines.line_no();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix(';') {
            if comment.trim().eq_ignore_ascii_case("EOF") {
                saw_eof = true;
            }
            continue;
        }
        data += 1;
        let (value, sbl) = line.split_once(';').unwrap_or((line, ""));
        match key_of(value.trim()) {
            Some(key) => {
                let mut meta = sink.meta();
                meta.reference = reference(sbl);
                sink.add(key, value.trim(), meta);
            }
            None => sink.skip(no, "bad-cidr", line),
        }
    }
    if data > 0 && !saw_eof {
        return Err(sink.error(
            None,
            "Spamhaus list has no `; EOF` line: the file is probably truncated",
        ));
    }
    Ok(())
}

pub fn load_json(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    let mut lines = Lines::new(src);
    let mut records = 0u64;
    let mut announced: Option<u64> = None;
    while let Some((_, t)) = sink.next_line(&mut lines)? {
        let line = t.trim();
        let no = lines.line_no();
        if line.is_empty() {
            continue;
        }
        let obj: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) => {
                sink.skip(no, "bad-json", line);
                continue;
            }
        };
        if obj.get("type").and_then(|t| t.as_str()) == Some("metadata") {
            announced = obj.get("records").and_then(|r| r.as_u64());
            continue;
        }
        records += 1;
        let Some(cidr) = obj.get("cidr").and_then(|c| c.as_str()) else {
            sink.skip(
                no,
                if obj.get("asn").is_some() {
                    "asn-not-matched"
                } else {
                    "missing-cidr"
                },
                line,
            );
            continue;
        };
        match key_of(cidr.trim()) {
            Some(key) => {
                let mut meta = sink.meta();
                meta.reference = obj
                    .get("sblid")
                    .and_then(|s| s.as_str())
                    .and_then(reference);
                sink.add(key, cidr.trim(), meta);
            }
            None => sink.skip(no, "bad-cidr", cidr),
        }
    }
    match announced {
        None if records > 0 => Err(sink.error(None, "Spamhaus JSON has no metadata line: the file is probably truncated")),
        Some(n) if n != records => Err(sink.error(None, format!("Spamhaus metadata announces {n} records but the file has {records}: truncated or altered"))),
        _ => Ok(()),
    }
}
