//! abuse.ch SSL Blacklist: the certificate SHA-1 list and the JA3 list (feed-formats.md §2).

use super::lines::Lines;
use super::{FeedError, Sink};
use crate::intel::name::canonical_hex;
use crate::intel::set::{HashKind, Key};
use crate::time::normalize_feed_time;
use std::io::BufRead;

/// `Listingreason` to a family: `ExampleBot C&C` → `ExampleBot`.
fn family(reason: &str) -> Option<String> {
    let r = reason.trim();
    let r = r
        .strip_suffix(" C&C")
        .or_else(|| r.strip_suffix(" malware distribution"))
        .unwrap_or(r);
    (!r.is_empty()).then(|| r.to_string())
}

/// `sslblacklist.csv`: `Listingdate,SHA1,Listingreason` (the reason may contain commas).
pub fn load_certs(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    rows(src, sink, 3, |sink, no, f| {
        let Some(sha1) = canonical_hex(f[1], 40) else {
            sink.skip(no, "bad-sha1", f[1]);
            return;
        };
        let mut meta = sink.meta();
        meta.first_seen = normalize_feed_time(f[0]);
        meta.family = family(f[2]);
        let listed = f[1].trim().to_string();
        sink.add(Key::Hash(HashKind::CertSha1, sha1), &listed, meta);
    })
}

/// `ja3_fingerprints.csv`: `ja3_md5,Firstseen,Lastseen,Listingreason`.
pub fn load_ja3(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), FeedError> {
    rows(src, sink, 4, |sink, no, f| {
        let Some(ja3) = canonical_hex(f[0], 32) else {
            sink.skip(no, "bad-ja3", f[0]);
            return;
        };
        let mut meta = sink.meta();
        meta.first_seen = normalize_feed_time(f[1]);
        meta.last_seen = normalize_feed_time(f[2]);
        meta.family = family(f[3]);
        let listed = f[0].trim().to_string();
        sink.add(Key::Hash(HashKind::Ja3, ja3), &listed, meta);
    })
}

/// Data rows (not comments) split on the first `n - 1` commas.
fn rows(
    src: impl BufRead,
    sink: &mut Sink<'_>,
    n: usize,
    mut row: impl FnMut(&mut Sink<'_>, u64, &[&str]),
) -> Result<(), FeedError> {
    let mut lines = Lines::new(src);
    loop {
        let Some((no, t)) = sink.next_line(&mut lines)? else {
            return Ok(());
        };
        let (no, text) = (no, t.trim());
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = text.splitn(n, ',').collect();
        if fields.len() < n {
            sink.skip(no, "missing-columns", text);
            continue;
        }
        row(sink, no, &fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert_eq!(family("ExampleBot C&C").as_deref(), Some("ExampleBot"));
        assert_eq!(
            family("ExampleRAT malware distribution").as_deref(),
            Some("ExampleRAT")
        );
        assert_eq!(family(" "), None);
    }
}
