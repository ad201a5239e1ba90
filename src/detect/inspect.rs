//! Per-flow application-layer inspection of TCP: reassembles the first bytes of each
//! direction, recognises TLS (or DNS over TCP) and reports what the handshake shows. A flow
//! is inspected only until its handshake is parsed or its byte cap is reached.

use crate::alert::record::{HttpInfo, MatchedOn, QuicInfo, TlsInfo};
use crate::app::reassembly::{DEFAULT_CAP, Stream};
use crate::app::tls::{self, Handshakes};
use crate::app::{dns, http, quic};
use crate::intel::IndicatorSet;
use crate::intel::name::{MAX_NAME, wire_name};
use crate::intel::set::{HashKind, IndicatorId};

/// Packets looked at per flow before giving up on a handshake that never completes.
const MAX_PACKETS: u32 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unknown,
    Tls,
    Http,
    Dns,
}

/// One thing the handshake showed that matched an indicator.
#[derive(Debug, Clone)]
pub struct Finding {
    pub indicator: IndicatorId,
    pub matched_on: MatchedOn,
    /// The name the client used (SNI, DNS question).
    pub domain: Option<String>,
    pub tls: Option<TlsInfo>,
    /// For DNS over TCP: the question's details.
    pub dns: Option<(u16, String, u16)>,
    pub http: Option<HttpInfo>,
    pub quic: Option<QuicInfo>,
}

/// QUIC Initial packets of a flow: keys from the first one, CRYPTO data reassembled.
#[derive(Debug)]
struct QuicState {
    version: u32,
    keys: quic::Keys,
    crypto: Stream,
}

/// Client datagrams looked at per QUIC flow before giving up on the ClientHello.
const MAX_QUIC_DATAGRAMS: u32 = 8;

#[derive(Debug)]
pub struct Inspect {
    client: Stream,
    server: Stream,
    kind: Kind,
    client_hs: Handshakes,
    server_hs: Handshakes,
    info: TlsInfo,
    hello: bool,
    server_hello: bool,
    tls13: bool,
    dns_done: [usize; 2],
    packets: u32,
    quic: Option<QuicState>,
}

impl Default for Inspect {
    fn default() -> Inspect {
        Inspect {
            client: Stream::new(DEFAULT_CAP),
            server: Stream::new(DEFAULT_CAP),
            kind: Kind::Unknown,
            client_hs: Handshakes::default(),
            server_hs: Handshakes::default(),
            info: TlsInfo::default(),
            hello: false,
            server_hello: false,
            tls13: false,
            dns_done: [0; 2],
            packets: 0,
            quic: None,
        }
    }
}

impl Inspect {
    /// Feeds one UDP datagram from the client of a flow that may be QUIC. Returns what matched,
    /// and whether inspection is finished.
    pub fn quic_datagram(&mut self, set: &IndicatorSet, payload: &[u8]) -> (Vec<Finding>, bool) {
        let mut found = Vec::new();
        self.packets += 1;
        if self.quic.is_none() {
            let Some((version, dcid)) = quic::initial_dcid(payload) else {
                return (found, true);
            };
            let Ok(keys) = quic::client_initial_keys(version, dcid) else {
                return (found, true);
            };
            let mut crypto = Stream::new(DEFAULT_CAP);
            crypto.syn(u32::MAX);
            self.quic = Some(QuicState {
                version,
                keys,
                crypto,
            });
        }
        let Some(q) = self.quic.as_mut() else {
            return (found, true);
        };
        if let Ok(frames) = quic::initial_crypto_frames(payload, &q.keys) {
            for (off, data) in frames {
                if let Ok(off) = u32::try_from(off) {
                    q.crypto.segment(off, &data);
                }
            }
        }
        let data = q.crypto.data();
        if let Some((tls::HS_CLIENT_HELLO, body)) = tls::handshake_message(data) {
            if let Ok(ch) = tls::parse_client_hello(body) {
                // The JA4 costs two SHA-256: computed when listed JA4s or an alert need it.
                let mut info = QuicInfo {
                    version: if q.version == quic::VERSION_2 { 2 } else { 1 },
                    sni: ch.sni().map(str::to_owned),
                    alpn: ch.alpn_strings(),
                    ja4: if set.has_hashes(HashKind::Ja4) {
                        ch.ja4('q')
                    } else {
                        String::new()
                    },
                };
                let mut buf = [0u8; MAX_NAME + 2];
                let sni_hit = info
                    .sni
                    .as_deref()
                    .and_then(|sni| set.match_domain(wire_name(sni.as_bytes(), &mut buf)?));
                if sni_hit.is_some() && info.ja4.is_empty() {
                    info.ja4 = ch.ja4('q');
                }
                let finding = |id, on| Finding {
                    indicator: id,
                    matched_on: on,
                    domain: info.sni.clone(),
                    tls: None,
                    dns: None,
                    http: None,
                    quic: Some(info.clone()),
                };
                if let Some(id) = sni_hit {
                    found.push(finding(id, MatchedOn::QuicSni));
                }
                if let Some(id) = set.match_hash(HashKind::Ja4, &info.ja4) {
                    found.push(finding(id, MatchedOn::QuicJa4));
                }
            }
            return (found, true);
        }
        let done = self.packets >= MAX_QUIC_DATAGRAMS || q.crypto.overflow;
        (found, done)
    }

    /// The client's first segment of a flow, when it holds a whole ClientHello or HTTP request
    /// (the common case: most hellos and requests fit one segment). It is inspected straight
    /// from the packet, with no reassembly state allocated or bytes copied, and the result is
    /// what [`Self::segment`] gives for that segment on a fresh `Inspect`. `None` when that
    /// would need more than this segment (a hello spanning segments, a partial request, DNS
    /// over TCP, indicators on the server's side of TLS): the caller then feeds the segment
    /// to a fresh `Inspect` instead.
    ///
    /// The caller guarantees the segment starts the client's stream: nothing of the flow was
    /// inspected before, and it is at the SYN's sequence number + 1 when a SYN was seen.
    pub fn first_segment(set: &IndicatorSet, payload: &[u8]) -> Option<(Vec<Finding>, bool)> {
        // Past the cap, reassembly would keep only part of the segment.
        if payload.is_empty() || payload.len() > DEFAULT_CAP {
            return None;
        }
        let mut found = Vec::new();
        if payload[0] == tls::CONTENT_HANDSHAKE {
            if server_side_listed(set) {
                return None;
            }
            // Not TLS after all: inspection ends, as it does after a hello.
            if let Ok(body) = tls::lone_client_hello(payload)? {
                client_hello(set, body, &mut TlsInfo::default(), false, &mut found);
            }
            return Some((found, true));
        }
        if http::looks_like_request(payload) {
            return match request(set, payload, &mut found) {
                Err(http::HttpError::Partial) => None,
                _ => Some((found, true)),
            };
        }
        None
    }

    /// Feeds one TCP segment (`from_client` = from the flow's initiator). Returns what
    /// matched, and whether inspection is finished.
    /// `isn` is the direction's SYN sequence number when one was seen.
    pub fn segment(
        &mut self,
        set: &IndicatorSet,
        from_client: bool,
        isn: Option<u32>,
        seq: u32,
        payload: &[u8],
        dns_port: bool,
    ) -> (Vec<Finding>, bool) {
        let mut found = Vec::new();
        self.packets += 1;
        let stream = if from_client {
            &mut self.client
        } else {
            &mut self.server
        };
        if let Some(isn) = isn {
            stream.syn(isn);
        }
        let grew = stream.segment(seq, payload);
        if self.kind == Kind::Unknown {
            let c = self.client.data();
            self.kind = match c.first() {
                None if dns_port && !self.server.data().is_empty() => Kind::Dns,
                None => Kind::Unknown,
                Some(&tls::CONTENT_HANDSHAKE) => Kind::Tls,
                Some(_) if http::looks_like_request(c) => Kind::Http,
                Some(_) if dns_port => Kind::Dns,
                Some(_) => return (found, true),
            };
        }
        if grew {
            match self.kind {
                Kind::Tls => self.tls(set, from_client, &mut found),
                Kind::Http if from_client => match request(set, self.client.data(), &mut found) {
                    Err(http::HttpError::Partial) if !self.client.overflow => {}
                    _ => return (found, true),
                },
                Kind::Http => {}
                Kind::Dns => self.dns(set, from_client, &mut found),
                Kind::Unknown => {}
            }
        }
        let done = match self.kind {
            // The server's side matters only to JA3S and certificate indicators: without
            // them, the ClientHello ends inspection and no server bytes are reassembled.
            Kind::Tls => {
                self.hello
                    && (!server_side_listed(set)
                        || self.server_hs.ended
                        || self.tls13
                        || self.info.cert_sha1.is_some())
            }
            _ => false,
        } || self.client.overflow && self.server.overflow
            || self.packets >= MAX_PACKETS;
        (found, done)
    }

    fn tls(&mut self, set: &IndicatorSet, from_client: bool, found: &mut Vec<Finding>) {
        if !from_client && !server_side_listed(set) {
            return;
        }
        if from_client && !self.hello {
            // Usually the stream is one record holding the hello: read in place.
            if self.client_hs.untouched()
                && let Some(lone) = tls::lone_client_hello(self.client.data())
            {
                self.hello = true;
                if let Ok(body) = lone {
                    client_hello(set, body, &mut self.info, server_side_listed(set), found);
                }
                return;
            }
            let Ok(msgs) = self.client_hs.feed(self.client.data()) else {
                self.hello = true;
                return;
            };
            let Some((_, body)) = msgs.into_iter().find(|(t, _)| *t == tls::HS_CLIENT_HELLO) else {
                return;
            };
            self.hello = true;
            client_hello(set, &body, &mut self.info, server_side_listed(set), found);
        } else if !from_client && !self.server_hs.ended {
            let Ok(msgs) = self.server_hs.feed(self.server.data()) else {
                self.server_hs.ended = true;
                return;
            };
            for (t, body) in msgs {
                match t {
                    tls::HS_SERVER_HELLO if !self.server_hello => {
                        self.server_hello = true;
                        self.tls13 = server_selects_tls13(&body);
                        if let Ok(j) = tls::ja3s(&body) {
                            if let Some(id) = set.match_hash(HashKind::Ja3s, &j.1) {
                                self.info.ja3s = Some(j);
                                found.push(self.finding(id, MatchedOn::TlsJa3s));
                            } else {
                                self.info.ja3s = Some(j);
                            }
                        }
                    }
                    tls::HS_CERTIFICATE if self.info.cert_sha1.is_none() => {
                        if let Ok((sha1, sha256)) = tls::leaf_certificate_hashes(&body) {
                            self.info.cert_sha1 = Some(sha1.clone());
                            self.info.cert_sha256 = Some(sha256.clone());
                            if let Some(id) = set.match_hash(HashKind::CertSha1, &sha1) {
                                found.push(self.finding(id, MatchedOn::TlsCertSha1));
                            }
                            if let Some(id) = set.match_hash(HashKind::CertSha256, &sha256) {
                                found.push(self.finding(id, MatchedOn::TlsCertSha256));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn finding(&self, indicator: IndicatorId, matched_on: MatchedOn) -> Finding {
        Finding {
            indicator,
            matched_on,
            domain: self.info.sni.clone(),
            tls: Some(self.info.clone()),
            dns: None,
            http: None,
            quic: None,
        }
    }

    /// DNS over TCP: two-byte length, then the message; questions of the client's messages.
    fn dns(&mut self, set: &IndicatorSet, from_client: bool, found: &mut Vec<Finding>) {
        if !from_client || !set.has_domains() {
            return;
        }
        let data = self.client.data();
        let mut at = self.dns_done[0];
        while let Some(len) = data
            .get(at..at + 2)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        {
            let Some(msg) = data.get(at + 2..at + 2 + len) else {
                break;
            };
            at += 2 + len;
            let Ok(m) = dns::parse(msg) else { continue };
            let mut buf = [0u8; MAX_NAME + 2];
            for q in &m.questions {
                if let Some(name) = wire_name(q.name.as_bytes(), &mut buf)
                    && let Some(id) = set.match_domain(name)
                {
                    found.push(Finding {
                        indicator: id,
                        matched_on: MatchedOn::DnsQuery,
                        domain: Some(name.to_string()),
                        tls: None,
                        dns: Some((m.id, name.to_string(), q.qtype)),
                        http: None,
                        quic: None,
                    });
                }
            }
        }
        self.dns_done[0] = at;
    }
}

thread_local! {
    /// The ClientHello each TLS handshake on this thread is parsed into: its lists keep their
    /// storage from one hello to the next.
    static HELLO: std::cell::RefCell<tls::ClientHello> = std::cell::RefCell::default();
}

/// A ClientHello body (after its 4-byte handshake header) parsed and matched against the
/// indicators, its findings added to `found`. `info` gets what an alert shows of the hello
/// (name, ALPN, fingerprints) when something matched, or in any case with `keep` (the
/// handshake goes on and later findings show it too): a hello that matches nothing and is
/// not kept costs no strings.
fn client_hello(
    set: &IndicatorSet,
    body: &[u8],
    info: &mut TlsInfo,
    keep: bool,
    found: &mut Vec<Finding>,
) {
    HELLO.with_borrow_mut(|ch| {
        if tls::parse_client_hello_into(body, ch).is_err() {
            return;
        }
        // Fingerprints cost hashing: computed when indicators need them, or for the alert.
        let (ja3_listed, ja4_listed) =
            (set.has_hashes(HashKind::Ja3), set.has_hashes(HashKind::Ja4));
        let ja4 = ja4_listed.then(|| ch.ja4('t'));
        let mut buf = [0u8; MAX_NAME + 2];
        let hits = [
            ch.sni()
                .and_then(|sni| wire_name(sni.as_bytes(), &mut buf))
                .and_then(|name| set.match_domain(name))
                .map(|id| (id, MatchedOn::TlsSni)),
            ja3_listed
                .then(|| ch.with_ja3(|(_, md5)| set.match_hash(HashKind::Ja3, md5)))
                .flatten()
                .map(|id| (id, MatchedOn::TlsJa3)),
            ja4.as_deref()
                .and_then(|j| set.match_hash(HashKind::Ja4, j))
                .map(|id| (id, MatchedOn::TlsJa4)),
        ];
        let matched = hits.iter().any(Option::is_some);
        if !matched && !keep {
            return;
        }
        // Moved, not copied: JA4 tells a name from its extension, not from `sni`.
        info.sni = ch.take_sni();
        info.alpn = ch.alpn_strings();
        if ja3_listed || matched {
            info.ja3 = Some(ch.ja3_memo());
        }
        if ja4_listed || matched {
            info.ja4 = Some(ja4.unwrap_or_else(|| ch.ja4('t')));
        }
        for (id, on) in hits.into_iter().flatten() {
            found.push(Finding {
                indicator: id,
                matched_on: on,
                domain: info.sni.clone(),
                tls: Some(info.clone()),
                dns: None,
                http: None,
                quic: None,
            });
        }
    });
}

/// An HTTP request head at the start of `data`, parsed and matched ([`http_findings`]).
/// `Err(Partial)`: not whole yet; any other outcome ends the flow's inspection.
fn request(
    set: &IndicatorSet,
    data: &[u8],
    found: &mut Vec<Finding>,
) -> Result<(), http::HttpError> {
    http_findings(set, &http::parse_request(data)?, found);
    Ok(())
}

/// The Host and URL of an HTTP request against the indicators. The request's details for the
/// alert are put together only when something matched; the URL only when URLs are listed.
fn http_findings(set: &IndicatorSet, req: &http::Request, found: &mut Vec<Finding>) {
    let url_hit = if set.has_urls() {
        req.url()
            .and_then(|u| crate::intel::name::canonical_url(&u))
            .and_then(|url| set.match_url(&url.key, url.query.as_deref()))
    } else {
        None
    };
    let mut buf = [0u8; MAX_NAME + 2];
    let name = req
        .hostname()
        .filter(|h| h.parse::<std::net::IpAddr>().is_err())
        .and_then(|h| wire_name(h.as_bytes(), &mut buf));
    let host_hit = name.and_then(|n| set.match_domain(n));
    let hits = [
        url_hit.map(|id| (id, MatchedOn::HttpUrl)),
        host_hit.map(|id| (id, MatchedOn::HttpHost)),
    ];
    if hits.iter().all(Option::is_none) {
        return;
    }
    let info = HttpInfo {
        hostname: req.hostname().map(str::to_string),
        url: req.target.to_string(),
        method: req.method.to_string(),
        user_agent: req.user_agent.as_deref().map(str::to_string),
        protocol: format!("HTTP/1.{}", req.version),
    };
    for (id, on) in hits.into_iter().flatten() {
        found.push(Finding {
            indicator: id,
            matched_on: on,
            domain: name.map(str::to_string),
            tls: None,
            dns: None,
            http: Some(info.clone()),
            quic: None,
        });
    }
}

/// A ServerHello whose supported_versions extension selects TLS 1.3 (certificate encrypted).
fn server_selects_tls13(body: &[u8]) -> bool {
    // version(2) random(32) session_id(1+n) cipher(2) compression(1) extensions(2+...)
    let Some(&sid) = body.get(34) else {
        return false;
    };
    let mut at = 35 + usize::from(sid) + 3;
    let Some(ext_len) = body
        .get(at..at + 2)
        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
    else {
        return false;
    };
    at += 2;
    let end = (at + ext_len).min(body.len());
    while at + 4 <= end {
        let t = u16::from_be_bytes([body[at], body[at + 1]]);
        let l = usize::from(u16::from_be_bytes([body[at + 2], body[at + 3]]));
        if t == 0x002b && l == 2 && body.get(at + 4..at + 6) == Some(&[0x03, 0x04]) {
            return true;
        }
        at += 4 + l;
    }
    false
}
/// Whether any indicator is read from the server's side of a TLS handshake.
fn server_side_listed(set: &IndicatorSet) -> bool {
    set.has_hashes(HashKind::Ja3s)
        || set.has_hashes(HashKind::CertSha1)
        || set.has_hashes(HashKind::CertSha256)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::Meta;
    use crate::intel::set::{IndicatorSetBuilder, Key};
    use std::sync::Arc;

    fn set(keys: Vec<Key>) -> IndicatorSet {
        let mut b = IndicatorSetBuilder::new();
        for k in keys {
            b.add(k, "test", Arc::new(Meta::default()));
        }
        b.build(1)
    }

    fn shown(found: Vec<Finding>) -> Vec<String> {
        found.iter().map(|f| format!("{f:?}")).collect()
    }

    /// What reassembly reports for a flow whose client sends `payload` first (SYN at 999).
    fn reassembled(set: &IndicatorSet, payload: &[u8]) -> (Vec<String>, bool) {
        let (found, done) = Inspect::default().segment(set, true, Some(999), 1000, payload, false);
        (shown(found), done)
    }

    /// `first_segment` takes exactly the segments it should, and what it reports for them is
    /// what reassembly reports.
    #[test]
    fn first_segment_agrees_with_reassembly() {
        let names = set(vec![Key::Domain("evil.example".into())]);
        let hello = tls::build::client_hello("c2.evil.example", false);
        let pq = tls::build::client_hello("c2.evil.example", true);
        let mut then_data = hello.clone();
        then_data.extend_from_slice(&[23, 3, 3, 0, 1, 0]);
        let mut not_tls = hello.clone();
        not_tls[1] = 2;
        let mut server_hello = hello.clone();
        server_hello[5] = 2;
        let request = b"GET /x HTTP/1.1\r\nHost: c2.evil.example\r\nUser-Agent: t\r\n\r\n";
        let cases: [(&str, &[u8], Option<usize>); 11] = [
            ("hello, listed name", &hello, Some(1)),
            (
                "hello, other name",
                &tls::build::client_hello("a.example", false),
                Some(0),
            ),
            ("post-quantum hello in one segment", &pq, Some(1)),
            ("post-quantum hello, first segment", &pq[..1000], None),
            ("record cut short", &hello[..60], None),
            ("record header cut short", &hello[..4], None),
            ("a second record follows", &then_data, None),
            ("not TLS", &not_tls, Some(0)),
            ("another handshake message", &server_hello, None),
            ("request, listed host", request, Some(1)),
            ("partial request", &request[..30], None),
        ];
        for (what, payload, expected) in cases {
            let fast = Inspect::first_segment(&names, payload);
            assert_eq!(fast.as_ref().map(|(f, _)| f.len()), expected, "{what}");
            if let Some((found, done)) = fast {
                assert_eq!((shown(found), done), reassembled(&names, payload), "{what}");
            }
        }
        // A hello in two segments, as post-quantum key shares make it: found once whole.
        let mut insp = Inspect::default();
        let (found, done) = insp.segment(&names, true, Some(999), 1000, &pq[..1000], false);
        assert!(found.is_empty() && !done);
        let (found, done) = insp.segment(&names, true, Some(999), 2000, &pq[1000..], false);
        assert_eq!((found.len(), done), (1, true));
        assert_eq!(found[0].domain.as_deref(), Some("c2.evil.example"));
        // A listed fingerprint: the alert's details show the whole hello.
        let ch = tls::parse_client_hello(&hello[9..]).unwrap();
        let by_ja3 = set(vec![Key::Hash(HashKind::Ja3, ch.ja3().1.clone())]);
        let (found, done) = Inspect::first_segment(&by_ja3, &hello).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].matched_on, MatchedOn::TlsJa3);
        let tls = found[0].tls.as_ref().unwrap();
        assert_eq!(tls.sni.as_deref(), Some("c2.evil.example"));
        assert_eq!(tls.alpn, ch.alpn_strings());
        assert_eq!(tls.ja3, Some(ch.ja3()));
        assert_eq!(tls.ja4, Some(ch.ja4('t')));
        assert_eq!((shown(found), done), reassembled(&by_ja3, &hello));
        // With indicators on the server's side, the handshake goes on past the hello.
        let certs = set(vec![
            Key::Domain("evil.example".into()),
            Key::Hash(HashKind::CertSha1, "00".repeat(20)),
        ]);
        assert!(Inspect::first_segment(&certs, &hello).is_none());
        assert!(!reassembled(&certs, &hello).1);
        assert!(Inspect::first_segment(&certs, request).is_some());
    }
}
