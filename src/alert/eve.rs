//! The EVE-compatible JSON form of records (docs/alerts.md documents every field). Runs on the
//! output thread only.
//!
//! Events are `Serialize` implementations over the records: the output thread writes them
//! straight into the stream, with no intermediate `serde_json::Value` (building one cost about
//! 100k instructions per event, mostly allocation). [`alert`] and [`flow`] give the `Value`
//! form for what needs one (the ECS form, the victim report, tests).

use super::community_id::community_id;
use super::record::{AlertRecord, AppInfo, Contact, Endpoint, FlowRecord, MatchedOn};
use crate::decode::TunnelLayer;
use crate::detect::flow::{TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use crate::intel::Meta;
use crate::intel::set::IndicatorRef;
use crate::time::Timestamp;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// `signature_id`s of c2watch's built-in signatures (gid 1), by what matched.
pub const SID_DEST_IP: u64 = 9_000_001;
pub const SID_SRC_IP: u64 = 9_000_002;
pub const SID_DNS_QUERY: u64 = 9_000_003;
pub const SID_DNS_ANSWER: u64 = 9_000_004;
pub const SID_TLS_SNI: u64 = 9_000_005;
pub const SID_TLS_JA3: u64 = 9_000_006;
pub const SID_TLS_JA4: u64 = 9_000_007;
pub const SID_TLS_JA3S: u64 = 9_000_008;
pub const SID_TLS_CERT: u64 = 9_000_009;
pub const SID_HTTP_HOST: u64 = 9_000_010;
pub const SID_HTTP_URL: u64 = 9_000_011;
pub const SID_QUIC_SNI: u64 = 9_000_012;
pub const SID_QUIC_JA4: u64 = 9_000_013;

pub fn proto_name(proto: u8) -> String {
    match proto {
        1 => "ICMP".into(),
        6 => "TCP".into(),
        17 => "UDP".into(),
        47 => "GRE".into(),
        50 => "ESP".into(),
        58 => "IPv6-ICMP".into(),
        132 => "SCTP".into(),
        n => n.to_string(),
    }
}

/// A value written with its `Display` form, as a JSON string (no `String` in between).
struct Text<T>(T);

impl<T: std::fmt::Display> Serialize for Text<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A MAC address as `aa:bb:cc:dd:ee:ff`, written into a fixed buffer.
struct Mac([u8; 17]);

impl Mac {
    fn new(m: [u8; 6]) -> Mac {
        let mut out = [b':'; 17];
        for (i, b) in m.iter().enumerate() {
            out[3 * i] = HEX[usize::from(b >> 4)];
            out[3 * i + 1] = HEX[usize::from(b & 0x0f)];
        }
        Mac(out)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

pub fn mac(m: [u8; 6]) -> String {
    Mac::new(m).as_str().to_string()
}

/// One encapsulation layer: type, outer addresses, id.
struct Layer<'a>(&'a TunnelLayer);

impl Serialize for Layer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        layer_entries(&mut m, self.0)?;
        m.end()
    }
}

fn layer_entries<M: SerializeMap>(m: &mut M, t: &TunnelLayer) -> Result<(), M::Error> {
    m.serialize_entry("type", t.kind.as_str())?;
    if let Some((s, d)) = t.outer {
        m.serialize_entry("src_ip", &s)?;
        m.serialize_entry("dest_ip", &d)?;
    }
    if let Some(id) = t.id {
        m.serialize_entry(t.kind.id_name(), &id)?;
    }
    Ok(())
}

/// `tunnel`: the innermost encapsulation, with enclosing ones (outermost first) in `outer`.
/// Written only when the contact was tunnelled.
struct Tunnel<'a>(&'a Contact);

impl Tunnel<'_> {
    fn present(&self) -> bool {
        self.0.first.tunnels().next().is_some()
    }
}

impl Serialize for Tunnel<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let layers: Vec<&TunnelLayer> = self.0.first.tunnels().collect();
        let mut m = s.serialize_map(None)?;
        if let Some((inner, rest)) = layers.split_last() {
            layer_entries(&mut m, inner)?;
            m.serialize_entry("depth", &layers.len())?;
            if !rest.is_empty() {
                let outer: Vec<Layer<'_>> = rest.iter().map(|t| Layer(t)).collect();
                m.serialize_entry("outer", &outer)?;
            }
        }
        m.end()
    }
}

/// `victim` (with MAC and subscriber) or `c2` (with the domain, when one matched).
struct Side<'a> {
    e: Option<&'a Endpoint>,
    victim: Option<Option<&'a Value>>,
    domain: Option<&'a str>,
}

impl Serialize for Side<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("ip", &self.e.map(|e| e.ip))?;
        m.serialize_entry("port", &self.e.and_then(|e| e.port))?;
        if let Some(subscriber) = self.victim {
            m.serialize_entry("mac", &self.e.and_then(|e| e.mac).map(Mac::new))?;
            m.serialize_entry("subscriber", &subscriber)?;
        }
        if let Some(d) = self.domain {
            m.serialize_entry("domain", d)?;
        }
        m.end()
    }
}

/// One feed's view of an indicator, as alerts and `intel lookup` print it.
struct Source<'a>(&'a Meta);

impl Serialize for Source<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let mut o = s.serialize_map(None)?;
        o.serialize_entry("feed", &*m.feed)?;
        o.serialize_entry("software", &m.family)?;
        o.serialize_entry("confidence", &m.confidence)?;
        o.serialize_entry("first_seen", &m.first_seen)?;
        o.serialize_entry("last_seen", &m.last_seen)?;
        o.serialize_entry("reference", &m.reference)?;
        o.serialize_entry("tlp", &m.tlp)?;
        o.serialize_entry("valid_until", &m.valid_until)?;
        o.end()
    }
}

/// [`Source`] as a `Value`.
pub fn source(m: &Meta) -> Value {
    serde_json::to_value(Source(m)).unwrap_or(Value::Null)
}

struct Threat<'a>(&'a IndicatorRef, &'a str);

impl Serialize for Threat<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Indicator<'a>(&'a IndicatorRef, &'a str);
        impl Serialize for Indicator<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("type", self.0.type_name())?;
                m.serialize_entry("value", &self.0.value)?;
                m.serialize_entry("matched_on", self.1)?;
                m.end()
            }
        }
        struct Named<'a>(&'a str);
        impl Serialize for Named<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("name", self.0)?;
                m.end()
            }
        }
        let ind = self.0;
        let none = Meta::default();
        let p = ind.primary().unwrap_or(&none);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("indicator", &Indicator(ind, self.1))?;
        m.serialize_entry("feed", &Named(&p.feed))?;
        m.serialize_entry("software", &p.family.as_deref().map(Named))?;
        m.serialize_entry("confidence", &p.confidence)?;
        m.serialize_entry("first_seen", &p.first_seen)?;
        m.serialize_entry("last_seen", &p.last_seen)?;
        m.serialize_entry("reference", &p.reference)?;
        m.serialize_entry("tlp", &p.tlp)?;
        m.serialize_entry("valid_until", &p.valid_until)?;
        m.serialize_entry("generation", &ind.generation())?;
        if ind.sources.len() > 1 {
            let sources: Vec<Source<'_>> = ind.sources.iter().map(|m| Source(m)).collect();
            m.serialize_entry("sources", &sources)?;
        }
        m.end()
    }
}

/// The envelope shared by every event about a contact.
fn envelope<M: SerializeMap>(
    m: &mut M,
    c: &Contact,
    ts: Timestamp,
    event_type: &str,
) -> Result<(), M::Error> {
    m.serialize_entry("timestamp", &ts.eve())?;
    m.serialize_entry("flow_id", &c.flow_id)?;
    m.serialize_entry("in_iface", &*c.in_iface)?;
    m.serialize_entry("event_type", event_type)?;
    tags(m, c)?;
    m.serialize_entry("src_ip", &c.initiator.ip)?;
    if let Some(p) = c.initiator.port {
        m.serialize_entry("src_port", &p)?;
    }
    m.serialize_entry("dest_ip", &c.responder.ip)?;
    if let Some(p) = c.responder.port {
        m.serialize_entry("dest_port", &p)?;
    }
    m.serialize_entry("proto", &proto_name(c.proto))?;
    if let (Some((t, code)), true) = (c.first.icmp, matches!(c.proto, 1 | 58)) {
        m.serialize_entry("icmp_type", &t)?;
        m.serialize_entry("icmp_code", &code)?;
    }
    m.serialize_entry("community_id", &community_id_of(c))?;
    let tunnel = Tunnel(c);
    if tunnel.present() {
        m.serialize_entry("tunnel", &tunnel)?;
    }
    Ok(())
}

/// The flow's Community ID (v1).
pub fn community_id_of(c: &Contact) -> String {
    let ports = match (c.first.icmp, c.initiator.port, c.responder.port) {
        (Some((t, code)), ..) if matches!(c.proto, 1 | 58) => Some((u16::from(t), u16::from(code))),
        (_, Some(s), Some(d)) => Some((s, d)),
        _ => None,
    };
    // ICMP one-way types hash in packet direction: use the first packet's own orientation.
    let (cs, cd) = if matches!(c.proto, 1 | 58) {
        (c.first.src, c.first.dst)
    } else {
        (c.initiator.ip, c.responder.ip)
    };
    community_id(cs, cd, c.proto, ports)
}

fn victim<'a>(c: &'a Contact, subscriber: Option<&'a Value>) -> Side<'a> {
    Side {
        e: Some(&c.victim),
        victim: Some(subscriber),
        domain: None,
    }
}

fn c2(c: &Contact) -> Side<'_> {
    Side {
        e: c.c2.as_ref(),
        victim: None,
        domain: c.c2_domain.as_deref(),
    }
}

/// `vlan` and `mpls`, when the first packet carried tags or labels.
fn tags<M: SerializeMap>(m: &mut M, c: &Contact) -> Result<(), M::Error> {
    let vlans = c.first.vlans();
    if !vlans.is_empty() {
        m.serialize_entry("vlan", vlans)?;
    }
    let labels = c.first.labels();
    if !labels.is_empty() {
        m.serialize_entry("mpls", labels)?;
    }
    Ok(())
}

/// Victim, C2 and threat.
fn parties<M: SerializeMap>(
    m: &mut M,
    c: &Contact,
    subscriber: Option<&Value>,
) -> Result<(), M::Error> {
    m.serialize_entry("victim", &victim(c, subscriber))?;
    m.serialize_entry("c2", &c2(c))?;
    m.serialize_entry("threat", &Threat(&c.indicator, c.matched_on.as_str()))
}

/// Victim, C2, threat and the app-layer object.
fn contact_tail<M: SerializeMap>(
    m: &mut M,
    c: &Contact,
    subscriber: Option<&Value>,
) -> Result<(), M::Error> {
    parties(m, c, subscriber)?;
    if let Some(app) = &c.app {
        m.serialize_entry(app_key(app), &App(app))?;
    }
    Ok(())
}

/// The app-layer object's name, as in Suricata's EVE.
fn app_key(app: &AppInfo) -> &'static str {
    match app {
        AppInfo::Dns { .. } => "dns",
        AppInfo::Tls(_) => "tls",
        AppInfo::Quic(_) => "quic",
        AppInfo::Http(_) => "http",
    }
}

/// A fingerprint with its string: `{"hash": …, "string": …}`.
struct Print<'a>(&'a (String, String));

impl Serialize for Print<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (string, hash) = self.0;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("hash", hash)?;
        m.serialize_entry("string", string)?;
        m.end()
    }
}

/// The app-layer object of an event.
struct App<'a>(&'a AppInfo);

impl Serialize for App<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.0 {
            AppInfo::Dns {
                kind,
                id,
                rrname,
                rrtype,
                rdata,
            } => {
                m.serialize_entry("type", kind)?;
                m.serialize_entry("rrname", &**rrname)?;
                if *rrtype != 0 {
                    m.serialize_entry("rrtype", &crate::app::dns::type_name(*rrtype))?;
                }
                if *kind == "query" {
                    m.serialize_entry("id", id)?;
                }
                if let Some(ip) = rdata {
                    m.serialize_entry("rdata", ip)?;
                }
            }
            AppInfo::Tls(t) => {
                if let Some(s) = &t.sni {
                    m.serialize_entry("sni", s)?;
                }
                if !t.alpn.is_empty() {
                    m.serialize_entry("alpn", &t.alpn)?;
                }
                if let Some(j) = &t.ja3 {
                    m.serialize_entry("ja3", &Print(j))?;
                }
                if let Some(j) = &t.ja4 {
                    m.serialize_entry("ja4", j)?;
                }
                if let Some(j) = &t.ja3s {
                    m.serialize_entry("ja3s", &Print(j))?;
                }
                if let Some(h) = &t.cert_sha1 {
                    m.serialize_entry("cert_sha1", h)?;
                }
                if let Some(h) = &t.cert_sha256 {
                    m.serialize_entry("cert_sha256", h)?;
                }
            }
            AppInfo::Quic(q) => {
                m.serialize_entry("version", &q.version)?;
                m.serialize_entry("sni", &q.sni)?;
                m.serialize_entry("alpn", &q.alpn)?;
                m.serialize_entry("ja4", &q.ja4)?;
            }
            AppInfo::Http(h) => {
                m.serialize_entry("hostname", &h.hostname)?;
                m.serialize_entry("url", &h.url)?;
                m.serialize_entry("http_method", &h.method)?;
                m.serialize_entry("http_user_agent", &h.user_agent)?;
                m.serialize_entry("protocol", &h.protocol)?;
            }
        }
        m.end()
    }
}

/// The `alert` object: c2watch's built-in signature for what matched.
struct Signature<'a>(&'a Contact);

impl Serialize for Signature<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let primary = c.indicator.primary();
        let family = primary
            .and_then(|p| p.family.as_deref())
            .unwrap_or("unknown family");
        let feed = primary.map(|p| &*p.feed).unwrap_or_default();
        let (sid, verb) = match c.matched_on {
            MatchedOn::DestIp => (SID_DEST_IP, "C2 contact"),
            MatchedOn::SrcIp => (SID_SRC_IP, "Inbound C2 contact"),
            MatchedOn::DnsQuery => (SID_DNS_QUERY, "C2 domain lookup"),
            MatchedOn::DnsAnswer => (SID_DNS_ANSWER, "C2 contact via resolved domain"),
            MatchedOn::TlsSni => (SID_TLS_SNI, "C2 TLS server name"),
            MatchedOn::TlsJa3 => (SID_TLS_JA3, "C2 TLS client fingerprint (JA3)"),
            MatchedOn::TlsJa4 => (SID_TLS_JA4, "C2 TLS client fingerprint (JA4)"),
            MatchedOn::TlsJa3s => (SID_TLS_JA3S, "C2 TLS server fingerprint (JA3S)"),
            MatchedOn::TlsCertSha1 | MatchedOn::TlsCertSha256 => {
                (SID_TLS_CERT, "C2 TLS certificate")
            }
            MatchedOn::QuicSni => (SID_QUIC_SNI, "C2 QUIC server name"),
            MatchedOn::QuicJa4 => (SID_QUIC_JA4, "C2 QUIC client fingerprint (JA4)"),
            MatchedOn::HttpHost => (SID_HTTP_HOST, "C2 HTTP host"),
            MatchedOn::HttpUrl => (SID_HTTP_URL, "C2 URL requested"),
        };
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("action", "allowed")?;
        m.serialize_entry("gid", &1)?;
        m.serialize_entry("signature_id", &sid)?;
        m.serialize_entry("rev", &1)?;
        m.serialize_entry(
            "signature",
            &Text(format_args!("{verb}: {family} ({feed})")),
        )?;
        m.serialize_entry("category", "A Network Trojan was detected")?;
        m.serialize_entry("severity", &1)?;
        m.end()
    }
}

/// An `alert` event, with the victim's subscriber (`None`: `null`).
pub struct AlertEvent<'a> {
    pub alert: &'a AlertRecord,
    pub subscriber: Option<&'a Value>,
}

impl Serialize for AlertEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = &*self.alert.contact;
        let mut m = s.serialize_map(None)?;
        envelope(&mut m, c, self.alert.ts, "alert")?;
        m.serialize_entry("alert", &Signature(c))?;
        contact_tail(&mut m, c, self.subscriber)?;
        m.end()
    }
}

/// What an `episode` event repeats of the alert that opened it, in this order: where it was
/// seen, the endpoints, the signature, victim, C2 and threat (not the first flow's own
/// timestamp, flow id, source port, Community ID or app layer).
pub fn head_entries<M: SerializeMap>(
    m: &mut M,
    c: &Contact,
    subscriber: Option<&Value>,
) -> Result<(), M::Error> {
    m.serialize_entry("in_iface", &*c.in_iface)?;
    tags(m, c)?;
    let tunnel = Tunnel(c);
    if tunnel.present() {
        m.serialize_entry("tunnel", &tunnel)?;
    }
    m.serialize_entry("src_ip", &c.initiator.ip)?;
    m.serialize_entry("dest_ip", &c.responder.ip)?;
    if let Some(p) = c.responder.port {
        m.serialize_entry("dest_port", &p)?;
    }
    m.serialize_entry("proto", &proto_name(c.proto))?;
    m.serialize_entry("alert", &Signature(c))?;
    parties(m, c, subscriber)
}

/// A `flow` event (a flow that alerted, when it ended), with the victim's subscriber.
pub struct FlowEvent<'a> {
    pub flow: &'a FlowRecord,
    pub subscriber: Option<&'a Value>,
}

/// A byte as two lowercase hex digits.
struct Hex(u8);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let digits = [
            HEX[usize::from(self.0 >> 4)],
            HEX[usize::from(self.0 & 0x0f)],
        ];
        s.serialize_str(std::str::from_utf8(&digits).unwrap_or(""))
    }
}

impl Serialize for FlowEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Counts<'a>(&'a FlowRecord);
        impl Serialize for Counts<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let f = self.0;
                let both = f.pkts[0] > 0 && f.pkts[1] > 0;
                let tcp = f.contact.proto == 6;
                let all = f.tcp_flags[0] | f.tcp_flags[1];
                let state = if tcp
                    && (all & TCP_RST != 0
                        || (f.tcp_flags[0] & TCP_FIN != 0 && f.tcp_flags[1] & TCP_FIN != 0))
                {
                    "closed"
                } else if both && (!tcp || f.tcp_flags[1] & (TCP_SYN | TCP_ACK) != 0) {
                    "established"
                } else {
                    "new"
                };
                // The responder answered: any packet back, except a TCP responder that only
                // reset.
                let answered = f.pkts[1] > 0
                    && (!tcp || f.tcp_flags[1] & TCP_SYN != 0 || f.tcp_flags[1] & TCP_RST == 0);
                let mut m = s.serialize_map(Some(11))?;
                m.serialize_entry("pkts_toserver", &f.pkts[0])?;
                m.serialize_entry("pkts_toclient", &f.pkts[1])?;
                m.serialize_entry("bytes_toserver", &f.bytes[0])?;
                m.serialize_entry("bytes_toclient", &f.bytes[1])?;
                m.serialize_entry("start", &f.start.eve())?;
                m.serialize_entry("end", &f.end.eve())?;
                m.serialize_entry("age", &(f.end.secs() - f.start.secs()).max(0))?;
                m.serialize_entry("state", state)?;
                m.serialize_entry("reason", f.reason.as_str())?;
                m.serialize_entry("alerted", &f.alerted)?;
                m.serialize_entry("answered", &answered)?;
                m.end()
            }
        }
        struct Flags([u8; 2]);
        impl Serialize for Flags {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let all = self.0[0] | self.0[1];
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("tcp_flags", &Hex(all))?;
                m.serialize_entry("tcp_flags_ts", &Hex(self.0[0]))?;
                m.serialize_entry("tcp_flags_tc", &Hex(self.0[1]))?;
                for (bit, name) in [
                    (TCP_SYN, "syn"),
                    (TCP_FIN, "fin"),
                    (TCP_RST, "rst"),
                    (TCP_ACK, "ack"),
                ] {
                    if all & bit != 0 {
                        m.serialize_entry(name, &true)?;
                    }
                }
                m.end()
            }
        }
        let f = self.flow;
        let c = &*f.contact;
        let mut m = s.serialize_map(None)?;
        envelope(&mut m, c, f.end, "flow")?;
        m.serialize_entry("flow", &Counts(f))?;
        if c.proto == 6 {
            m.serialize_entry("tcp", &Flags(f.tcp_flags))?;
        }
        contact_tail(&mut m, c, self.subscriber)?;
        m.end()
    }
}

/// An alert event as a `Value` (victim subscriber `null`).
pub fn alert(a: &AlertRecord) -> Value {
    serde_json::to_value(AlertEvent {
        alert: a,
        subscriber: None,
    })
    .unwrap_or(Value::Null)
}

/// A flow event as a `Value` (victim subscriber `null`).
pub fn flow(f: &FlowRecord) -> Value {
    serde_json::to_value(FlowEvent {
        flow: f,
        subscriber: None,
    })
    .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_flag_bytes_are_lowercase_hex() {
        assert_eq!(
            mac([0x02, 0x00, 0xab, 0x0f, 0xf0, 0xff]),
            "02:00:ab:0f:f0:ff"
        );
        assert_eq!(serde_json::to_string(&Hex(0x1b)).unwrap(), "\"1b\"");
        assert_eq!(serde_json::to_string(&Hex(0)).unwrap(), "\"00\"");
        let m = Mac::new([0xde, 0xad, 0xbe, 0xef, 0, 1]);
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"de:ad:be:ef:00:01\"");
    }
}
