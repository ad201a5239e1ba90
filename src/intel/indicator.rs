//! The indicator model: what a feed lists, and what the feed says about it.

use std::sync::Arc;

/// What kind of value an indicator is; names follow STIX cyber-observable types where one fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IndicatorKind {
    /// One address, any port.
    Ip,
    /// An address block, longest prefix wins.
    Cidr,
    /// One address, one TCP or UDP port.
    IpPort,
    /// A domain and every name below it (on label boundaries).
    Domain,
    /// Only the names below a domain (`*.example` in a feed).
    DomainChildren,
    /// Only the name itself (Zeek intel's `Intel::DOMAIN`).
    DomainExact,
    /// scheme + host + path (+ query when listed).
    Url,
    /// TLS client fingerprint, MD5 hex.
    Ja3,
    /// TLS server fingerprint, MD5 hex.
    Ja3s,
    /// TLS/QUIC client fingerprint (`t13d0510h2_c03c18a8b7cd_42e4ae2b70ac`).
    Ja4,
    /// SHA-1 of a DER certificate, hex.
    CertSha1,
    /// SHA-256 of a DER certificate, hex.
    CertSha256,
}

/// Where an indicator comes from, and what the feed says about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    pub feed: Arc<str>,
    /// Malware family (`threat.software.name`).
    pub family: Option<String>,
    /// RFC 3339 UTC.
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// A URL or a feed record id (e.g. a Spamhaus SBL id).
    pub reference: Option<String>,
    /// 0–100 when the feed gives one.
    pub confidence: Option<u8>,
    /// Traffic Light Protocol marking (`tlp:green`, ...), lower case, when the feed gives one.
    pub tlp: Option<String>,
    /// Validity window (RFC 3339 UTC), when the feed gives one (STIX `valid_from`/`valid_until`):
    /// the indicator counts only while `valid_from <= packet time < valid_until`.
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
}

/// One indicator of the snapshot, with every feed that lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indicator {
    /// The value as the first feed listed it (`198.51.100.0/24`, `203.0.113.11:447`).
    pub value: Box<str>,
    pub kind: IndicatorKind,
    pub is_v6: bool,
    /// Every listing source; most confident first (ties keep load order).
    /// Shared: a feed's rows with identical metadata point at one `Meta`.
    pub sources: Vec<Arc<Meta>>,
}

impl Indicator {
    /// Whether some source lists the indicator as valid at `t` (RFC 3339 UTC, `...Z`, as
    /// [`crate::time::Timestamp::rfc3339_secs`] writes it; such texts order as times do).
    /// True for indicators without a validity window.
    pub fn valid_at(&self, t: &str) -> bool {
        self.sources.iter().any(|m| {
            m.valid_from.as_deref().is_none_or(|f| f <= t)
                && m.valid_until.as_deref().is_none_or(|u| t < u)
        })
    }

    /// True when some source gives a validity window.
    pub fn has_validity(&self) -> bool {
        self.sources
            .iter()
            .any(|m| m.valid_from.is_some() || m.valid_until.is_some())
    }

    /// The `threat.indicator.type` of alerts.
    pub fn type_name(&self) -> &'static str {
        match (self.kind, self.is_v6) {
            (IndicatorKind::Ip, false) => "ipv4-addr",
            (IndicatorKind::Ip, true) => "ipv6-addr",
            (IndicatorKind::Cidr, false) => "ipv4-net",
            (IndicatorKind::Cidr, true) => "ipv6-net",
            (IndicatorKind::IpPort, _) => "ip-port",
            (
                IndicatorKind::Domain | IndicatorKind::DomainChildren | IndicatorKind::DomainExact,
                _,
            ) => "domain-name",
            (IndicatorKind::Url, _) => "url",
            (IndicatorKind::Ja3, _) => "ja3",
            (IndicatorKind::Ja3s, _) => "ja3s",
            (IndicatorKind::Ja4, _) => "ja4",
            (IndicatorKind::CertSha1, _) => "x509-sha1",
            (IndicatorKind::CertSha256, _) => "x509-sha256",
        }
    }

    /// The most confident source (every indicator has at least one).
    pub fn primary(&self) -> Option<&Meta> {
        self.sources.first().map(|m| &**m)
    }
}
