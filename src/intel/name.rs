//! Canonical forms of name indicators (feed-formats.md §0.3): domains, URLs, hashes and JA4.

/// Longest DNS name, in octets.
pub const MAX_NAME: usize = 253;

/// A domain in index form: lower case ASCII (IDNs as A-labels), no trailing dot, labels of
/// 1–63 octets of letters, digits, `-` and `_`. `None` when it is not a valid name.
pub fn canonical_domain(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() {
        return None;
    }
    let ascii = if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(s).ok()?
    };
    valid_name(&ascii).then_some(ascii)
}

/// True for a lower-case name of valid labels (at least two labels: a bare TLD is no indicator).
pub fn valid_name(s: &str) -> bool {
    if s.len() > MAX_NAME || !s.contains('.') {
        return false;
    }
    s.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
    }) && !s
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|c| c.is_ascii_digit()))
}

/// Writes the lower-case form of a name seen on the wire (DNS, SNI, Host) into `buf`, without
/// a trailing dot; `None` if it is too long or has bytes no hostname has. No allocation.
pub fn wire_name<'b>(name: &[u8], buf: &'b mut [u8; MAX_NAME + 2]) -> Option<&'b str> {
    let name = name.strip_suffix(b".").unwrap_or(name);
    if name.is_empty() || name.len() > MAX_NAME {
        return None;
    }
    let out = buf.get_mut(..name.len())?;
    // One table load per byte: its lower-case form, or 0 for a byte no hostname has.
    let mut bad = false;
    for (o, &c) in out.iter_mut().zip(name) {
        let l = HOST_BYTE[usize::from(c)];
        bad |= l == 0;
        *o = l;
    }
    if bad {
        return None;
    }
    std::str::from_utf8(out).ok()
}

/// For each byte: its lower-case form if hostnames may hold it (letters, digits, `-`, `_`,
/// `.`), else 0.
static HOST_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
            t[c] = b.to_ascii_lowercase();
        }
        c += 1;
    }
    t
};

/// A URL split for matching. `key` is `scheme://host[:port]/path` (scheme and host lower
/// case, default port dropped, path as listed, `/` when empty); `query` the part after `?`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UrlParts {
    pub key: String,
    pub query: Option<String>,
}

/// Normalises a listed URL. A URL without a scheme (`host/path`, as Maltrail and Zeek list
/// them) gets `http://`. Fragments are dropped.
pub fn canonical_url(s: &str) -> Option<UrlParts> {
    let s = s.trim();
    let (scheme, rest) = match s.split_once("://") {
        Some((sc, rest))
            if !sc.is_empty()
                && sc
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'-' || c == b'.') =>
        {
            (sc.to_ascii_lowercase(), rest)
        }
        Some(_) => return None,
        None => ("http".to_string(), s),
    };
    let rest = rest.split('#').next().unwrap_or(rest);
    let (authority, path_query) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = split_host_port(authority)?;
    let host = if host.starts_with('[') {
        host.to_ascii_lowercase()
    } else if let Some(ip) = crate::intel::net::parse_ip(host) {
        ip.to_string()
    } else {
        canonical_domain(host)?
    };
    let port = match (port, scheme.as_str()) {
        (Some(80), "http") | (Some(443), "https") | (None, _) => String::new(),
        (Some(p), _) => format!(":{p}"),
    };
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (path_query, None),
    };
    let path = if path.is_empty() { "/" } else { path };
    Some(UrlParts {
        key: format!("{scheme}://{host}{port}{path}"),
        query,
    })
}

fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if authority.is_empty() {
        return None;
    }
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let port = authority[end + 1..]
            .strip_prefix(':')
            .map(|p| p.parse().ok())
            .unwrap_or(Some(0));
        return Some((&authority[..=end], port.filter(|p| *p != 0)));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h, Some(p.parse().ok()?))),
        _ => Some((authority, None)),
    }
}

/// Lower-case hex of the given length, `:` and spaces removed (`AB:CD:…` fingerprints).
pub fn canonical_hex(s: &str, len: usize) -> Option<String> {
    let h: String = s
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    (h.len() == len && h.bytes().all(|c| c.is_ascii_hexdigit())).then_some(h)
}

/// A JA4 fingerprint (`[tqd]` + version + `[di]` + counts + ALPN, `_`, 12 hex, `_`, 12 hex).
pub fn canonical_ja4(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_lowercase();
    let parts: Vec<&str> = s.split('_').collect();
    let ok = parts.len() == 3
        && parts[0].len() == 10
        && matches!(parts[0].as_bytes()[0], b't' | b'q' | b'd')
        && matches!(parts[0].as_bytes()[3], b'd' | b'i')
        && parts[0].as_bytes()[4..8].iter().all(u8::is_ascii_digit)
        && parts[1].len() == 12
        && parts[2].len() == 12
        && parts[1..]
            .iter()
            .all(|p| p.bytes().all(|c| c.is_ascii_hexdigit()));
    ok.then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(
            canonical_domain("Evil.Example.").as_deref(),
            Some("evil.example")
        );
        assert_eq!(
            canonical_domain("bücher.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(
            canonical_domain("_dmarc.c2.example").as_deref(),
            Some("_dmarc.c2.example")
        );
        assert_eq!(canonical_domain("localhost"), None);
        assert_eq!(canonical_domain("a..b"), None);
        assert_eq!(canonical_domain("1.2.3.4"), None);
        assert_eq!(
            canonical_domain(&format!("{}.example", "a".repeat(64))),
            None
        );
        let mut buf = [0u8; MAX_NAME + 2];
        assert_eq!(
            wire_name(b"CDN.Bad.Example.", &mut buf),
            Some("cdn.bad.example")
        );
        assert_eq!(wire_name(b"bad\0name", &mut buf), None);
    }

    #[test]
    fn wire_names_byte_by_byte() {
        // Every byte value, at the start, middle and end of a name: kept (lower-cased) exactly
        // when it is a letter, digit, `-`, `_` or `.`.
        let mut buf = [0u8; MAX_NAME + 2];
        for b in 0..=255u8 {
            let allowed = b.is_ascii_alphanumeric() || b"-_.".contains(&b);
            for name in [vec![b, b'x'], vec![b'x', b, b'y'], vec![b'x', b'.', b]] {
                let want = allowed.then(|| {
                    let s: String = name
                        .iter()
                        .map(|c| char::from(c.to_ascii_lowercase()))
                        .collect();
                    s.strip_suffix('.').unwrap_or(&s).to_string()
                });
                let got = wire_name(&name, &mut buf).map(str::to_string);
                assert_eq!(got, want, "{name:?}");
            }
        }
        let long = vec![b'a'; MAX_NAME];
        assert_eq!(wire_name(&long, &mut buf).map(str::len), Some(MAX_NAME));
        let too_long = vec![b'a'; MAX_NAME + 1];
        assert_eq!(wire_name(&too_long, &mut buf), None);
        assert_eq!(wire_name(b".", &mut buf), None);
        assert_eq!(wire_name(b"", &mut buf), None);
    }

    #[test]
    fn urls() {
        let u = canonical_url("HTTP://Evil.Example:80/Gate.php?a=1").unwrap();
        assert_eq!(
            (u.key.as_str(), u.query.as_deref()),
            ("http://evil.example/Gate.php", Some("a=1"))
        );
        assert_eq!(
            canonical_url("https://evil.example:8443").unwrap().key,
            "https://evil.example:8443/"
        );
        assert_eq!(
            canonical_url("evil-url.example/bad/path").unwrap().key,
            "http://evil-url.example/bad/path"
        );
        assert_eq!(
            canonical_url("http://198.51.100.23/gate.php").unwrap().key,
            "http://198.51.100.23/gate.php"
        );
        assert_eq!(
            canonical_url("http://[2001:DB8::7]:8080/x").unwrap().key,
            "http://[2001:db8::7]:8080/x"
        );
        assert_eq!(
            canonical_url("http://user@evil.example/x#frag")
                .unwrap()
                .key,
            "http://evil.example/x"
        );
        assert!(canonical_url("http:///nohost").is_none());
    }

    #[test]
    fn hashes() {
        assert_eq!(canonical_hex("AB:CD", 4).as_deref(), Some("abcd"));
        assert_eq!(canonical_hex("abcg", 4), None);
        assert_eq!(
            canonical_ja4("T13D0510H2_C03C18A8B7CD_42E4AE2B70AC").as_deref(),
            Some("t13d0510h2_c03c18a8b7cd_42e4ae2b70ac")
        );
        assert_eq!(canonical_ja4("x13d0510h2_c03c18a8b7cd_42e4ae2b70ac"), None);
    }
}
