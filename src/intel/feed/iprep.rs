//! Suricata IP reputation files (feed-formats.md §11.1): `ip-or-cidr,category,score`. When a
//! `categories.txt` (`id,short name,description`) sits beside the file, category names become
//! the indicators' family; the score (1–127) becomes the confidence (0–100).

use super::lines::Lines;
use super::{FeedError, Sink};
use crate::intel::net::{parse_cidr, parse_ip};
use crate::intel::set::Key;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

/// Category names from the `categories.txt` next to `feed`, if there is one.
pub fn categories_beside(feed: &Path) -> HashMap<u32, String> {
    let Some(path) = feed.parent().map(|d| d.join("categories.txt")) else {
        return HashMap::new();
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().splitn(3, ',');
            let id = f.next()?.trim().parse().ok()?;
            Some((id, f.next()?.trim().to_string()))
        })
        .collect()
}

/// True when every data line of `head` has the reputation shape.
pub fn looks_like(head: &str) -> bool {
    let mut data = head
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with(['#', ' ', '\t']));
    let shaped = |l: &str| {
        let f: Vec<&str> = l.split(',').collect();
        f.len() == 3
            && (parse_ip(f[0]).is_some() || parse_cidr(f[0]).is_some())
            && f[1].parse::<u8>().is_ok()
            && f[2].parse::<u8>().is_ok()
    };
    // The last line of a 64 KiB head may be cut: judge the complete ones.
    let lines: Vec<&str> = data.by_ref().collect();
    let complete = if head.ends_with('\n') {
        &lines[..]
    } else {
        &lines[..lines.len().saturating_sub(1)]
    };
    !complete.is_empty() && complete.iter().all(|l| shaped(l) || l.starts_with("ip,"))
}

pub fn load(
    src: impl BufRead,
    sink: &mut Sink<'_>,
    categories: &HashMap<u32, String>,
) -> Result<(), FeedError> {
    let mut lines = Lines::new(src);
    loop {
        let Some((no, text)) = sink.next_line(&mut lines)? else {
            return Ok(());
        };
        // Suricata's own rules: skip empty lines and lines starting with #, space or TAB; a
        // first field `ip` is a header.
        if text.trim().is_empty() || text.starts_with(['#', ' ', '\t']) || text.starts_with("ip,") {
            continue;
        }
        let f: Vec<&str> = text.trim_end().split(',').collect();
        let parsed =
            (f.len() == 3).then(|| (f[0], f[1].parse::<u32>().ok(), f[2].parse::<u32>().ok()));
        let Some((addr, Some(category), Some(score))) = parsed else {
            sink.skip(no, "bad-row", &text);
            continue;
        };
        let key = parse_cidr(addr)
            .map(|(c, _)| Key::Net(c))
            .or_else(|| parse_ip(addr).map(Key::ip));
        let Some(key) = key else {
            sink.skip(no, "bad-address", addr);
            continue;
        };
        // Score 0 means "no data" but Suricata still loads it (an `=,0` rule can test it).
        if score > 127 {
            sink.skip(no, "bad-score", &text);
            continue;
        }
        let mut meta = sink.meta();
        meta.family = Some(
            categories
                .get(&category)
                .cloned()
                .unwrap_or_else(|| format!("iprep category {category}")),
        );
        meta.confidence = Some(((score * 100 + 63) / 127) as u8);
        sink.add(key, addr, meta);
    }
}
