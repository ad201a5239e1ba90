//! HTTP/1.x requests, recognised by content on any TCP port: method, target, Host and
//! User-Agent of the first request of a connection.

use std::borrow::Cow;
use std::mem::MaybeUninit;

/// A request's head as c2watch reads it, borrowed from the bytes it was parsed from: most
/// requests match nothing, and then nothing is copied. (A header value that is not UTF-8 is
/// the one owned field: its invalid bytes are replaced.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The request target as sent (origin-form `/path?q` or absolute-form `http://h/p`).
    pub target: &'a str,
    /// The Host header (or the absolute-form target's authority), as sent.
    pub host: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: u8,
}

/// Headers read per request at most; a request with more is malformed for c2watch.
const MAX_HEADERS: usize = 64;

const METHODS: [&[u8]; 9] = [
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"CONNECT ",
    b"PATCH ",
    b"TRACE ",
];

/// True when `data` (the first bytes of a client stream) starts like an HTTP request.
pub fn looks_like_request(data: &[u8]) -> bool {
    METHODS
        .iter()
        .any(|m| data.len() >= m.len() && data[..m.len()].eq_ignore_ascii_case(m))
        || METHODS
            .iter()
            .any(|m| m.starts_with(data) && !data.is_empty())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// More bytes are needed.
    Partial,
    Malformed,
}

/// Parses the request head at the start of `data`.
pub fn parse_request(data: &[u8]) -> Result<Request<'_>, HttpError> {
    // Header slots are written by the parser as it finds headers, not cleared first.
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(data, &mut headers) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HttpError::Partial),
        Err(_) => return Err(HttpError::Malformed),
    }
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| trimmed(h.value))
    };
    let target = req.path.unwrap_or("/");
    let mut host = header("host");
    if let Some(rest) = target.split_once("://").map(|(_, r)| r) {
        // Absolute form: the target's authority is the host (RFC 9112 §3.2.2).
        let authority = rest.split(['/', '?']).next().unwrap_or(rest);
        if !authority.is_empty() {
            host = Some(Cow::Borrowed(authority));
        }
    }
    Ok(Request {
        method: req.method.unwrap_or(""),
        target,
        host,
        user_agent: header("user-agent"),
        version: req.version.unwrap_or(1),
    })
}

/// A header value as text without surrounding white space, borrowed when it is UTF-8.
fn trimmed(value: &[u8]) -> Cow<'_, str> {
    match String::from_utf8_lossy(value) {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
    }
}

impl Request<'_> {
    /// The host without port or brackets (for domain matching).
    pub fn hostname(&self) -> Option<&str> {
        let h = self.host.as_deref()?;
        if let Some(v6) = h.strip_prefix('[') {
            return v6.split(']').next();
        }
        Some(h.rsplit_once(':').map_or(h, |(name, port)| {
            if port.bytes().all(|c| c.is_ascii_digit()) {
                name
            } else {
                h
            }
        }))
    }

    /// The request as a URL to match against URL indicators: `http://host[:port]/path?query`.
    pub fn url(&self) -> Option<String> {
        if self.target.contains("://") {
            return Some(self.target.to_string());
        }
        let host = self.host.as_deref()?;
        let path = if self.target.starts_with('/') {
            self.target
        } else {
            "/"
        };
        Some(format!("http://{host}{path}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_and_absolute_form() {
        let r = parse_request(b"GET /gate.php?id=7 HTTP/1.1\r\nhOST: Evil.Example:8080\r\nUser-Agent: beacon/1.0\r\n\r\n").unwrap();
        assert_eq!(
            (r.method, r.target, r.hostname(), r.user_agent.as_deref()),
            (
                "GET",
                "/gate.php?id=7",
                Some("Evil.Example"),
                Some("beacon/1.0")
            )
        );
        assert_eq!(
            r.url().as_deref(),
            Some("http://Evil.Example:8080/gate.php?id=7")
        );
        let r =
            parse_request(b"GET http://proxy.example/x HTTP/1.1\r\nHost: other.example\r\n\r\n")
                .unwrap();
        assert_eq!(r.hostname(), Some("proxy.example"));
        assert_eq!(r.url().as_deref(), Some("http://proxy.example/x"));
        let r = parse_request(b"POST / HTTP/1.0\r\nHost: [2001:db8::1]:80\r\n\r\n").unwrap();
        assert_eq!(r.hostname(), Some("2001:db8::1"));
    }

    #[test]
    fn partial_and_garbage() {
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nHost: a"),
            Err(HttpError::Partial)
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
            Err(HttpError::Malformed)
        );
        assert!(looks_like_request(b"GE"));
        assert!(looks_like_request(b"post /x"));
        assert!(!looks_like_request(b"\x16\x03\x01"));
        assert!(!looks_like_request(b"SSH-2.0"));
        let req = b"GET /a HTTP/1.1\r\nHost: x.example\r\nUser-Agent: u\r\n\r\n";
        for n in 0..req.len() {
            let _ = parse_request(&req[..n]);
        }
    }
}
