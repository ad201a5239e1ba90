//! Generic one-indicator-per-line lists (feed-formats.md §6.5): Feodo and ET `.txt` lists,
//! FireHOL sets, Maltrail trails, hosts files, partner lists.

use super::Sink;
use super::lines::{Line, Lines};
use crate::intel::name::{canonical_domain, canonical_hex, canonical_ja4, canonical_url};
use crate::intel::net::{parse_cidr, parse_ip, parse_ip_port, parse_v4_range};
use crate::intel::set::{HashKind, Key};
use std::io::BufRead;

/// What every value of a list is, when the user says so (`ja3:PATH`, `domain:PATH`, ...):
/// hashes are ambiguous (a 32-hex value may be a JA3 or a file MD5), and a domain-only list
/// must not read `1.2.3.example` as anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forced {
    Domain,
    Hash(HashKind),
}

/// What a token of a plain list is.
#[derive(Debug, PartialEq, Eq)]
pub enum Token {
    Key(Key),
    Range(Vec<Key>),
    /// Valid, but not an indicator c2watch matches (a bare hash without a declared kind).
    Ignored(&'static str),
    Unparsable,
}

pub fn load(
    src: impl BufRead,
    sink: &mut Sink<'_>,
    forced: Option<Forced>,
) -> Result<(), super::FeedError> {
    let mut lines = Lines::new(src);
    let mut non_canonical = 0u64;
    loop {
        let (no, line) = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => return Err(sink.error(Some(lines.line_no()), format!("read error: {e}"))),
        };
        let text = match line {
            Line::Text(t) => t,
            Line::BadEncoding => {
                sink.skip(no, "bad-encoding", "line is not valid UTF-8");
                continue;
            }
            Line::TooLong => {
                sink.skip(no, "line-too-long", "line longer than 1 MiB");
                continue;
            }
        };
        if let Some(names) = hosts_names(text) {
            for n in names {
                match canonical_domain(n) {
                    Some(d) => {
                        let meta = sink.meta();
                        sink.add(Key::Domain(d), n, meta);
                    }
                    None => sink.skip(no, "bad-domain", n),
                }
            }
            continue;
        }
        let Some(value) = value_of(text) else {
            continue;
        };
        let token = match forced {
            None => classify(value),
            Some(Forced::Domain) => {
                match canonical_domain(value.strip_prefix("*.").unwrap_or(value)) {
                    Some(d) if value.starts_with("*.") => Token::Key(Key::DomainChildren(d)),
                    Some(d) => Token::Key(Key::Domain(d)),
                    None => Token::Unparsable,
                }
            }
            Some(Forced::Hash(h)) => {
                let v = match h {
                    HashKind::Ja4 => canonical_ja4(value),
                    HashKind::CertSha256 => canonical_hex(value, 64),
                    HashKind::CertSha1 => canonical_hex(value, 40),
                    HashKind::Ja3 | HashKind::Ja3s => canonical_hex(value, 32),
                };
                v.map_or(Token::Unparsable, |v| Token::Key(Key::Hash(h, v)))
            }
        };
        match token {
            Token::Key(key) => {
                if let Key::Net(c) = &key
                    && value.contains('/')
                    && parse_cidr(value).is_some_and(|(_, masked)| masked)
                {
                    non_canonical += 1;
                    tracing::debug!("{}:{no}: host bits set in {value}, using {c}", sink.feed);
                }
                let meta = sink.meta();
                sink.add(key, value, meta);
            }
            Token::Range(keys) => {
                for key in keys {
                    let meta = sink.meta();
                    sink.add(key, value, meta);
                }
            }
            Token::Ignored(why) => sink.skip(no, why, value),
            Token::Unparsable => sink.skip(no, "unparsable", value),
        }
    }
    if non_canonical > 0 {
        tracing::info!(
            "{}: {non_canonical} CIDRs had host bits set (masked)",
            sink.feed
        );
    }
    Ok(())
}

/// The value of a line after comments (§6.5 rules 1–3), or `None` for a comment/blank line.
pub fn value_of(line: &str) -> Option<&str> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
        return None;
    }
    // Inline comment: whitespace followed by `#` or `;`.
    let mut end = t.len();
    let b = t.as_bytes();
    for i in 1..b.len() {
        if (b[i] == b'#' || b[i] == b';') && b[i - 1].is_ascii_whitespace() {
            end = i;
            break;
        }
    }
    let mut v = t[..end].trim();
    if !v.contains("://")
        && let Some(i) = v.find([',', '\t'])
    {
        v = v[..i].trim();
    }
    if v.is_empty() { None } else { Some(v) }
}

/// The names of a hosts-file line (`0.0.0.0 name...`, `127.0.0.1<TAB>name`), without the
/// local names every hosts file has.
fn hosts_names(line: &str) -> Option<Vec<&str>> {
    let line = line.split('#').next().unwrap_or(line);
    let mut parts = line.split_whitespace();
    if !matches!(parts.next(), Some("0.0.0.0" | "127.0.0.1" | "::" | "::1")) {
        return None;
    }
    let names: Vec<&str> = parts
        .filter(|n| {
            !matches!(
                *n,
                "localhost" | "localhost.localdomain" | "broadcasthost" | "local"
            ) && !n.starts_with("ip6-")
        })
        .collect();
    (!names.is_empty()).then_some(names)
}

/// Classifies one token (§6.5 rule 4).
pub fn classify(v: &str) -> Token {
    if let Some(ip) = parse_ip(v) {
        return Token::Key(Key::ip(ip));
    }
    if let Some((c, _)) = parse_cidr(v) {
        return Token::Key(Key::Net(c));
    }
    if let Some((ip, port)) = parse_ip_port(v) {
        return Token::Key(Key::IpPort(ip, port));
    }
    if v.contains('-')
        && v.bytes()
            .all(|c| c.is_ascii_digit() || c == b'.' || c == b'-' || c == b' ')
    {
        return match parse_v4_range(v) {
            Some(cidrs) => Token::Range(cidrs.into_iter().map(Key::Net).collect()),
            None => Token::Unparsable,
        };
    }
    if v.contains("://") {
        return canonical_url(v).map_or(Token::Unparsable, |u| Token::Key(Key::Url(u)));
    }
    if let Some(j) = canonical_ja4(v) {
        return Token::Key(Key::Hash(HashKind::Ja4, j));
    }
    if (v.len() == 32 || v.len() == 40 || v.len() == 64) && v.bytes().all(|c| c.is_ascii_hexdigit())
    {
        return Token::Ignored("hash-of-undeclared-kind");
    }
    if let Some(rest) = v.strip_prefix("*.") {
        return canonical_domain(rest)
            .map_or(Token::Unparsable, |d| Token::Key(Key::DomainChildren(d)));
    }
    if let Some((host, _path)) = v.split_once('/') {
        // A URL without scheme (Maltrail, Zeek): `host/path`.
        if canonical_domain(host).is_some() || parse_ip(host).is_some() {
            return canonical_url(v).map_or(Token::Unparsable, |u| Token::Key(Key::Url(u)));
        }
        return Token::Unparsable;
    }
    canonical_domain(v).map_or(Token::Unparsable, |d| Token::Key(Key::Domain(d)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::net::Cidr;

    #[test]
    fn comments_and_fields() {
        assert_eq!(value_of("  # note"), None);
        assert_eq!(value_of("; note"), None);
        assert_eq!(
            value_of("198.51.100.0/24        ; whole block"),
            Some("198.51.100.0/24")
        );
        assert_eq!(
            value_of("c2.example             # ExampleBot panel"),
            Some("c2.example")
        );
        assert_eq!(
            value_of("203.0.113.5,some description"),
            Some("203.0.113.5")
        );
        assert_eq!(
            value_of("http://198.51.100.23/gate.php?a=1,2"),
            Some("http://198.51.100.23/gate.php?a=1,2")
        );
        assert_eq!(value_of("foo#bar"), Some("foo#bar"));
    }

    #[test]
    fn classification() {
        let ip = |s: &str| s.parse().unwrap();
        assert_eq!(
            classify("203.0.113.10"),
            Token::Key(Key::ip(ip("203.0.113.10")))
        );
        assert_eq!(
            classify("2001:db8:4::/48"),
            Token::Key(Key::Net(Cidr {
                addr: ip("2001:db8:4::"),
                len: 48
            }))
        );
        assert_eq!(
            classify("203.0.113.11:4443"),
            Token::Key(Key::IpPort(ip("203.0.113.11"), 4443))
        );
        assert_eq!(
            classify("[2001:db8::7]:80"),
            Token::Key(Key::IpPort(ip("2001:db8::7"), 80))
        );
        assert!(matches!(classify("192.0.2.1-192.0.2.6"), Token::Range(v) if v.len() == 4));
        assert_eq!(
            classify("C2.Example"),
            Token::Key(Key::Domain("c2.example".into()))
        );
        assert_eq!(
            classify("*.dyn.example"),
            Token::Key(Key::DomainChildren("dyn.example".into()))
        );
        assert!(
            matches!(classify("files.dl.example/payload.bin"), Token::Key(Key::Url(u)) if u.key == "http://files.dl.example/payload.bin")
        );
        assert!(matches!(
            classify("https://x.example/a?b"),
            Token::Key(Key::Url(_))
        ));
        assert!(matches!(
            classify("t13d0510h2_c03c18a8b7cd_42e4ae2b70ac"),
            Token::Key(Key::Hash(HashKind::Ja4, _))
        ));
        assert_eq!(
            classify("e7d705a3286e19ea42f587b344ee6865"),
            Token::Ignored("hash-of-undeclared-kind")
        );
        assert_eq!(classify("010.1.2.3"), Token::Unparsable);
        assert_eq!(classify("not an indicator"), Token::Unparsable);
        assert_eq!(
            classify("evilname"),
            Token::Unparsable,
            "a bare label is no domain"
        );
    }

    #[test]
    fn hosts_lines() {
        assert_eq!(
            hosts_names("0.0.0.0 evil.example other.example # c"),
            Some(vec!["evil.example", "other.example"])
        );
        assert_eq!(hosts_names("127.0.0.1\tlocalhost"), None);
        assert_eq!(hosts_names("0.0.0.0"), None);
        assert_eq!(hosts_names("203.0.113.1 x.example"), None);
    }
}
