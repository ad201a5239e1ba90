//! abuse.ch Feodo Tracker CSV (current and legacy layouts) and JSON (feed-formats.md §1).

use super::lines::{Lines, split_csv};
use super::{FeedError, Sink};
use crate::intel::net::parse_ip;
use crate::intel::set::Key;
use crate::time::normalize_feed_time;
use std::io::BufRead;

#[derive(Default)]
struct Columns {
    ip: Option<usize>,
    first_seen: Option<usize>,
    last_online: Option<usize>,
    malware: Option<usize>,
    /// Fields per row, from the header (none before a header: older exports vary).
    width: Option<usize>,
}

impl Columns {
    /// The current layout, for rows seen before any header.
    fn positional() -> Columns {
        Columns {
            first_seen: Some(0),
            ip: Some(1),
            last_online: Some(4),
            malware: Some(5),
            width: None,
        }
    }

    fn from_header(names: &[String]) -> Option<Columns> {
        let find = |alts: &[&str]| {
            names
                .iter()
                .position(|n| alts.iter().any(|a| n.trim().eq_ignore_ascii_case(a)))
        };
        let ip = find(&["dst_ip", "DstIP"])?;
        Some(Columns {
            ip: Some(ip),
            first_seen: find(&["first_seen_utc", "Firstseen"]),
            last_online: find(&["last_online", "LastOnline"]),
            malware: find(&["malware", "Malware"]),
            width: Some(names.len()),
        })
    }
}

pub fn load_csv(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    let mut lines = Lines::new(src);
    let mut cols: Option<Columns> = None;
    while let Some((_, t)) = sink.next_line(&mut lines)? {
        let line = t.trim();
        let no = lines.line_no();
        if line.is_empty() {
            continue;
        }
        let body = line.trim_start_matches('#').trim();
        if body.contains("dst_ip") || body.contains("DstIP") {
            if let Some(c) = split_csv(body).as_deref().and_then(Columns::from_header) {
                cols = Some(c);
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let Some(fields) = split_csv(line) else {
            sink.skip(no, "bad-csv", line);
            continue;
        };
        let c = cols.get_or_insert_with(Columns::positional);
        if let Some(w) = c.width
            && fields.len() != w
        {
            let detail = format!("{} fields, the header has {w}", fields.len());
            sink.skip(no, "wrong-column-count", &detail);
            continue;
        }
        let get = |i: Option<usize>| {
            i.and_then(|i| fields.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty() && *s != "None")
        };
        let Some(ip_text) = get(c.ip) else {
            sink.skip(no, "missing-ip", line);
            continue;
        };
        let Some(ip) = parse_ip(ip_text) else {
            sink.skip(no, "bad-ip", ip_text);
            continue;
        };
        let mut meta = sink.meta();
        meta.family = get(c.malware).map(str::to_string);
        meta.first_seen = get(c.first_seen).and_then(normalize_feed_time);
        meta.last_seen = get(c.last_online).and_then(normalize_feed_time);
        sink.add(Key::ip(ip), ip_text, meta);
    }
    Ok(())
}

pub fn load_json(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    let rows: Vec<serde_json::Value> = serde_json::from_reader(src)
        .map_err(|e| sink.error(Some(e.line() as u64), format!("invalid Feodo JSON: {e}")))?;
    for (i, row) in rows.iter().enumerate() {
        let entry = i as u64 + 1;
        let text = |k: &str| {
            row.get(k)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let Some(ip_text) = text("ip_address") else {
            sink.skip(entry, "missing-ip", &row.to_string());
            continue;
        };
        let Some(ip) = parse_ip(ip_text) else {
            sink.skip(entry, "bad-ip", ip_text);
            continue;
        };
        let mut meta = sink.meta();
        meta.family = text("malware").map(str::to_string);
        meta.first_seen = text("first_seen").and_then(normalize_feed_time);
        meta.last_seen = text("last_online").and_then(normalize_feed_time);
        sink.add(Key::ip(ip), ip_text, meta);
    }
    Ok(())
}
