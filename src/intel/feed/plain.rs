//! Generic one-indicator-per-line lists (feed-formats.md §6.5): Feodo and ET `.txt` lists,
//! FireHOL sets, partner lists.

use super::Sink;
use super::lines::{Line, Lines};
use crate::intel::net::{parse_cidr, parse_ip, parse_ip_port, parse_v4_range};
use crate::intel::set::AddrKey;
use std::io::BufRead;

/// What a token of a plain list is.
#[derive(Debug, PartialEq, Eq)]
pub enum Token {
    Addr(AddrKey),
    Range(Vec<AddrKey>),
    /// A domain, URL, hash or JA4: valid, but not matched by this version.
    NotAddress(&'static str),
    Unparsable,
}

pub fn load(src: impl BufRead, sink: &mut Sink<'_>) -> Result<(), super::FeedError> {
    let mut lines = Lines::new(src);
    let mut non_canonical = 0u64;
    loop {
        let line = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => return Err(sink.error(Some(lines.line_no()), format!("read error: {e}"))),
        };
        let text = match line {
            Line::Text(t) => t.to_string(),
            Line::BadEncoding => {
                let no = lines.line_no();
                sink.skip(no, "bad-encoding", "line is not valid UTF-8");
                continue;
            }
            Line::TooLong => {
                let no = lines.line_no();
                sink.skip(no, "line-too-long", "line longer than 1 MiB");
                continue;
            }
        };
        let no = lines.line_no();
        let Some(value) = value_of(&text) else {
            continue;
        };
        if is_hosts_line(&text) {
            sink.skip(no, "hosts-entry", &text);
            continue;
        }
        match classify(value) {
            Token::Addr(key) => {
                if let AddrKey::Net(c) = key
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
            Token::NotAddress(kind) => sink.skip(no, kind, value),
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

/// `0.0.0.0 name` / `127.0.0.1 name` lines of hosts-file lists.
fn is_hosts_line(line: &str) -> bool {
    let mut parts = line.split_whitespace();
    matches!(parts.next(), Some("0.0.0.0" | "127.0.0.1" | "::" | "::1"))
        && parts.next().is_some_and(|n| !n.starts_with('#'))
}

/// Classifies one token (§6.5 rule 4).
pub fn classify(v: &str) -> Token {
    if let Some(ip) = parse_ip(v) {
        return Token::Addr(AddrKey::ip(ip));
    }
    if let Some((c, _)) = parse_cidr(v) {
        return Token::Addr(AddrKey::Net(c));
    }
    if let Some((ip, port)) = parse_ip_port(v) {
        return Token::Addr(AddrKey::IpPort(ip, port));
    }
    if v.contains('-')
        && v.bytes()
            .all(|c| c.is_ascii_digit() || c == b'.' || c == b'-' || c == b' ')
    {
        return match parse_v4_range(v) {
            Some(cidrs) => Token::Range(cidrs.into_iter().map(AddrKey::Net).collect()),
            None => Token::Unparsable,
        };
    }
    if v.contains("://") {
        return Token::NotAddress("url-not-matched-yet");
    }
    if is_ja4(v) {
        return Token::NotAddress("ja4-not-matched-yet");
    }
    if (v.len() == 32 || v.len() == 40 || v.len() == 64) && v.bytes().all(|c| c.is_ascii_hexdigit())
    {
        return Token::NotAddress("hash-not-matched-yet");
    }
    let host = v.split('/').next().unwrap_or(v);
    let host = host.strip_prefix("*.").unwrap_or(host);
    let numeric_tld = host
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|c| c.is_ascii_digit()));
    if host.contains('.')
        && !numeric_tld
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
    {
        return Token::NotAddress(if v.contains('/') {
            "url-not-matched-yet"
        } else {
            "domain-not-matched-yet"
        });
    }
    Token::Unparsable
}

fn is_ja4(v: &str) -> bool {
    let parts: Vec<&str> = v.split('_').collect();
    parts.len() == 3
        && parts[0].len() == 10
        && matches!(parts[0].as_bytes()[0], b't' | b'q' | b'd')
        && parts[1].len() == 12
        && parts[2].len() == 12
        && parts[1..]
            .iter()
            .all(|p| p.bytes().all(|c| c.is_ascii_hexdigit()))
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
            Token::Addr(AddrKey::ip(ip("203.0.113.10")))
        );
        assert_eq!(
            classify("2001:db8:4::/48"),
            Token::Addr(AddrKey::Net(Cidr {
                addr: ip("2001:db8:4::"),
                len: 48
            }))
        );
        assert_eq!(
            classify("203.0.113.11:4443"),
            Token::Addr(AddrKey::IpPort(ip("203.0.113.11"), 4443))
        );
        assert_eq!(
            classify("[2001:db8::7]:80"),
            Token::Addr(AddrKey::IpPort(ip("2001:db8::7"), 80))
        );
        assert!(matches!(classify("192.0.2.1-192.0.2.6"), Token::Range(v) if v.len() == 4));
        assert_eq!(
            classify("c2.example"),
            Token::NotAddress("domain-not-matched-yet")
        );
        assert_eq!(
            classify("files.dl.example/payload.bin"),
            Token::NotAddress("url-not-matched-yet")
        );
        assert_eq!(
            classify("t13d0510h2_c03c18a8b7cd_42e4ae2b70ac"),
            Token::NotAddress("ja4-not-matched-yet")
        );
        assert_eq!(classify("010.1.2.3"), Token::Unparsable);
        assert_eq!(classify("not an indicator"), Token::Unparsable);
        assert!(is_hosts_line("0.0.0.0 evil.example"));
        assert!(!is_hosts_line("0.0.0.0"));
    }
}
