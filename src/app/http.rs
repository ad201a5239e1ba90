//! HTTP/1.x requests, recognised by content on any TCP port: method, target, Host and
//! User-Agent of the first request of a connection.

/// A request's head as c2watch reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target as sent (origin-form `/path?q` or absolute-form `http://h/p`).
    pub target: String,
    /// The Host header (or the absolute-form target's authority), as sent.
    pub host: Option<String>,
    pub user_agent: Option<String>,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: u8,
}

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
pub fn parse_request(data: &[u8]) -> Result<Request, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(data) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HttpError::Partial),
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::Malformed),
        Err(_) => return Err(HttpError::Malformed),
    }
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    let target = req.path.unwrap_or("/").to_string();
    let mut host = header("host");
    if let Some(rest) = target.split_once("://").map(|(_, r)| r) {
        // Absolute form: the target's authority is the host (RFC 9112 §3.2.2).
        let authority = rest.split(['/', '?']).next().unwrap_or(rest);
        if !authority.is_empty() {
            host = Some(authority.to_string());
        }
    }
    Ok(Request {
        method: req.method.unwrap_or("").to_string(),
        target,
        host,
        user_agent: header("user-agent"),
        version: req.version.unwrap_or(1),
    })
}

impl Request {
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
            return Some(self.target.clone());
        }
        let host = self.host.as_deref()?;
        let path = if self.target.starts_with('/') {
            self.target.as_str()
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
            (
                r.method.as_str(),
                r.target.as_str(),
                r.hostname(),
                r.user_agent.as_deref()
            ),
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
