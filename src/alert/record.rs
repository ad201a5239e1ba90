//! What workers hand to the output thread: plain data, serialized only there.

use crate::decode::Decoded;
use crate::detect::flow::EndReason;
use crate::intel::set::IndicatorRef;
use crate::time::Timestamp;
use std::net::IpAddr;
use std::sync::Arc;

/// Which alert field the indicator matched (`threat.indicator.matched_on`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchedOn {
    DestIp,
    SrcIp,
    /// A DNS question for a listed name.
    DnsQuery,
    /// A connection to an address a DNS answer resolved from a listed name.
    DnsAnswer,
    TlsSni,
    TlsJa3,
    TlsJa4,
    TlsJa3s,
    TlsCertSha1,
    TlsCertSha256,
    /// The SNI of a QUIC Initial's ClientHello.
    QuicSni,
    /// The JA4 (QUIC variant) of a QUIC Initial's ClientHello.
    QuicJa4,
    /// The Host of an HTTP request.
    HttpHost,
    /// The URL of an HTTP request.
    HttpUrl,
}

impl MatchedOn {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedOn::DestIp => "dest_ip",
            MatchedOn::SrcIp => "src_ip",
            MatchedOn::DnsQuery => "dns.query",
            MatchedOn::DnsAnswer => "dns.answer",
            MatchedOn::TlsSni => "tls.sni",
            MatchedOn::TlsJa3 => "tls.ja3",
            MatchedOn::TlsJa4 => "tls.ja4",
            MatchedOn::TlsJa3s => "tls.ja3s",
            MatchedOn::TlsCertSha1 => "tls.cert_sha1",
            MatchedOn::TlsCertSha256 => "tls.cert_sha256",
            MatchedOn::QuicSni => "quic.sni",
            MatchedOn::QuicJa4 => "quic.ja4",
            MatchedOn::HttpHost => "http.host",
            MatchedOn::HttpUrl => "http.url",
        }
    }
}

/// The application-layer record that matched, written as the alert's `dns`, `tls`, ... object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppInfo {
    Dns {
        /// `query` (the question) or `answer` (the resolution a connection followed).
        kind: &'static str,
        id: u16,
        rrname: Box<str>,
        rrtype: u16,
        /// For answers: the address the name resolved to.
        rdata: Option<IpAddr>,
    },
    Tls(Box<TlsInfo>),
    Http(Box<HttpInfo>),
    Quic(Box<QuicInfo>),
}

/// The QUIC Initial that matched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicInfo {
    /// `1` or `2` (RFC 9000, RFC 9369).
    pub version: u8,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    pub ja4: String,
}

/// The HTTP request that matched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpInfo {
    pub hostname: Option<String>,
    /// The request target as sent.
    pub url: String,
    pub method: String,
    pub user_agent: Option<String>,
    pub protocol: String,
}

/// What the TLS handshake showed, up to the point the alert was raised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsInfo {
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// (string, md5)
    pub ja3: Option<(String, String)>,
    pub ja4: Option<String>,
    pub ja3s: Option<(String, String)>,
    pub cert_sha1: Option<String>,
    pub cert_sha256: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: Option<u16>,
    pub mac: Option<[u8; 6]>,
}

/// One matched flow: who talked to which indicator, and how the traffic was carried.
/// Shared by every alert and the flow record of that flow.
#[derive(Debug)]
pub struct Contact {
    pub flow_id: u64,
    /// VLAN and tunnel context of the flow: the same address in two zones is two machines.
    pub zone: u32,
    pub in_iface: Arc<str>,
    /// The flow's first packet as decoded (VLANs, labels, tunnels, ICMP type).
    pub first: Decoded,
    pub proto: u8,
    /// The side that sent the first packet (alert `src_*`).
    pub initiator: Endpoint,
    /// The other side (alert `dest_*`).
    pub responder: Endpoint,
    pub victim: Endpoint,
    /// The C2's address and port when known (not for a DNS question: only the name is).
    pub c2: Option<Endpoint>,
    /// The name the victim used for the C2 (DNS question, SNI, Host).
    pub c2_domain: Option<Box<str>>,
    pub indicator: IndicatorRef,
    pub matched_on: MatchedOn,
    pub app: Option<AppInfo>,
}

/// An alert candidate: the output thread applies dedup before writing it.
#[derive(Debug, Clone)]
pub struct AlertRecord {
    pub ts: Timestamp,
    pub contact: Arc<Contact>,
}

/// The end of a matched flow.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    pub contact: Arc<Contact>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// [to server (from initiator), to client]
    pub pkts: [u64; 2],
    pub bytes: [u64; 2],
    pub tcp_flags: [u8; 2],
    pub reason: EndReason,
    pub alerted: bool,
}

/// A RADIUS Accounting-Request seen on the wire: it updates the live subscriber map when the
/// output thread reaches it, in input order.
#[derive(Debug, Clone)]
pub struct RadiusRecord {
    pub ts: Timestamp,
    pub acct: crate::app::radius::Accounting,
}

#[derive(Debug, Clone)]
pub enum Record {
    Alert(AlertRecord),
    Flow(FlowRecord),
    Radius(Box<RadiusRecord>),
}

/// A record with the input position that produced it, for deterministic ordering.
#[derive(Debug, Clone)]
pub struct Sequenced {
    /// Index of the packet (across all inputs) that produced the record.
    pub seq: u64,
    pub record: Record,
}
