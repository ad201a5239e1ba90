//! Suricata dataset and datarep files (feed-formats.md §11.2): one value per line, encoded
//! by the set's type, optionally followed by `,<reputation>`. A dataset line does not say
//! what it holds, so these files are never detected; the operator declares the kind
//! (`dataset-ipv4:PATH`, `dataset-domain:PATH`, ...).
//!
//! More lenient than Suricata: blank lines and `#` comments are passed over, and a line that
//! does not decode is skipped and counted instead of failing the whole file.

use super::lines::Lines;
use super::{FeedError, Sink};
use crate::intel::name::{canonical_domain, canonical_hex, canonical_url};
use crate::intel::net::parse_ip;
use crate::intel::set::{HashKind, Key};
use std::io::BufRead;
use std::net::IpAddr;

/// What a dataset file holds, as declared by the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetKind {
    /// `type ipv4`: dotted quads.
    Ipv4,
    /// `type ip`: IPv6 text, IPv4 written as IPv4-mapped IPv6 (plain IPv4 accepted too).
    Ip,
    /// `type md5` used with `ja3.hash`: JA3 fingerprints.
    Ja3,
    /// `type string` with `dns.query` / `tls.sni`: base64 names; a leading dot (the
    /// `dotprefix` convention) covers the name and every name below it, otherwise the name only.
    Domain,
    /// `type string` holding full URLs, base64.
    Url,
}

fn key(kind: DatasetKind, v: &str) -> Result<(Key, String), &'static str> {
    Ok(match kind {
        DatasetKind::Ipv4 => match parse_ip(v) {
            Some(ip @ IpAddr::V4(_)) => (Key::ip(ip), v.to_string()),
            _ => return Err("bad-ipv4"),
        },
        DatasetKind::Ip => {
            let ip = match parse_ip(v).ok_or("bad-address")? {
                IpAddr::V6(a) => a.to_ipv4_mapped().map_or(IpAddr::V6(a), IpAddr::V4),
                v4 => v4,
            };
            (Key::ip(ip), ip.to_string())
        }
        DatasetKind::Ja3 => (
            Key::Hash(HashKind::Ja3, canonical_hex(v, 32).ok_or("bad-md5")?),
            v.to_string(),
        ),
        DatasetKind::Domain => {
            let text = decode_string(v)?;
            let key = match text.strip_prefix('.') {
                Some(parent) => Key::Domain(canonical_domain(parent).ok_or("bad-domain")?),
                None => Key::DomainExact(canonical_domain(&text).ok_or("bad-domain")?),
            };
            (key, text)
        }
        DatasetKind::Url => {
            let text = decode_string(v)?;
            (Key::Url(canonical_url(&text).ok_or("bad-url")?), text)
        }
    })
}

fn decode_string(v: &str) -> Result<String, &'static str> {
    let bytes = base64_decode(v).ok_or("bad-base64")?;
    String::from_utf8(bytes).map_err(|_| "not-utf8")
}

/// Standard-alphabet base64 with padding, as Suricata writes string sets.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.is_empty() || !s.len().is_multiple_of(4) {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let chunks = s.len() / 4;
    for (i, q) in s.chunks_exact(4).enumerate() {
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != chunks) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let b = n.to_be_bytes();
        out.extend_from_slice(&b[1..4 - pad]);
    }
    Some(out)
}

pub fn load(src: impl BufRead, sink: &mut Sink<'_>, kind: DatasetKind) -> Result<(), FeedError> {
    let mut lines = Lines::new(src);
    loop {
        let Some((no, t)) = sink.next_line(&mut lines)? else {
            return Ok(());
        };
        let text = t.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        // datarep: `<value>,<reputation>`; base64, hex and addresses hold no comma.
        let (value, rep) = match text.split_once(',') {
            Some((v, r)) => (v.trim(), Some(r.trim())),
            None => (text, None),
        };
        if rep.is_some_and(|r| r.parse::<u16>().is_err()) {
            sink.skip(no, "bad-reputation", text);
            continue;
        }
        match key(kind, value) {
            Ok((key, listed)) => {
                let meta = sink.meta();
                sink.add(key, &listed, meta);
            }
            Err(why) => sink.skip(no, why, text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(
            base64_decode("YzIuZXhhbXBsZQ==").as_deref(),
            Some(&b"c2.example"[..])
        );
        assert_eq!(
            base64_decode("LmMyLmV4YW1wbGU=").as_deref(),
            Some(&b".c2.example"[..])
        );
        assert_eq!(base64_decode("YWJj").as_deref(), Some(&b"abc"[..]));
        for bad in ["", "YWJ", "YW=j", "Y===", "YQ==YWJj", "c2.example"] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_by_declared_kind() {
        let k = |kind, v| key(kind, v).map(|(k, _)| k);
        assert!(matches!(
            k(DatasetKind::Domain, "YzIuZXhhbXBsZQ=="),
            Ok(Key::DomainExact(_))
        ));
        assert!(matches!(
            k(DatasetKind::Domain, "LmMyLmV4YW1wbGU="),
            Ok(Key::Domain(_))
        ));
        assert_eq!(
            key(DatasetKind::Ip, "::ffff:203.0.113.10").map(|(_, l)| l),
            Ok("203.0.113.10".to_string())
        );
        assert_eq!(k(DatasetKind::Ipv4, "2001:db8::7"), Err("bad-ipv4"));
        assert_eq!(k(DatasetKind::Ja3, "xyz"), Err("bad-md5"));
        assert_eq!(k(DatasetKind::Url, "!!!!"), Err("bad-base64"));
    }
}
