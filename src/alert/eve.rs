//! The EVE-compatible JSON form of records (docs/alerts.md documents every field). Runs on the
//! output thread only.

use super::community_id::community_id;
use super::record::{AlertRecord, AppInfo, Contact, Endpoint, FlowRecord, MatchedOn};
use crate::decode::TunnelLayer;
use crate::detect::flow::{TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use crate::intel::Meta;
use crate::intel::set::IndicatorRef;
use serde_json::{Map, Value, json};

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

pub fn mac(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

fn tunnel_layer(t: &TunnelLayer) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), json!(t.kind.as_str()));
    if let Some((s, d)) = t.outer {
        m.insert("src_ip".into(), json!(s.to_string()));
        m.insert("dest_ip".into(), json!(d.to_string()));
    }
    if let Some(id) = t.id {
        m.insert(t.kind.id_name().into(), json!(id));
    }
    m
}

/// `tunnel`: the innermost encapsulation, with enclosing ones (outermost first) in `outer`.
fn tunnel(c: &Contact) -> Option<Value> {
    let layers: Vec<&TunnelLayer> = c.first.tunnels().collect();
    let (inner, rest) = layers.split_last()?;
    let mut m = tunnel_layer(inner);
    m.insert("depth".into(), json!(layers.len()));
    if !rest.is_empty() {
        m.insert(
            "outer".into(),
            Value::Array(
                rest.iter()
                    .map(|t| Value::Object(tunnel_layer(t)))
                    .collect(),
            ),
        );
    }
    Some(Value::Object(m))
}

fn endpoint(e: &Endpoint, victim: bool) -> Value {
    let mut m = Map::new();
    m.insert("ip".into(), json!(e.ip.to_string()));
    m.insert("port".into(), json!(e.port));
    if victim {
        m.insert("mac".into(), json!(e.mac.map(mac)));
        m.insert("subscriber".into(), Value::Null);
    }
    Value::Object(m)
}

/// One feed's view of an indicator, as alerts and `intel lookup` print it.
pub fn source(m: &Meta) -> Value {
    json!({
        "feed": &*m.feed,
        "software": m.family,
        "confidence": m.confidence,
        "first_seen": m.first_seen,
        "last_seen": m.last_seen,
        "reference": m.reference,
        "tlp": m.tlp,
        "valid_until": m.valid_until,
    })
}

fn threat(ind: &IndicatorRef, matched_on: &str) -> Value {
    let p = ind.primary().cloned().unwrap_or_default();
    let mut t = json!({
        "indicator": {"type": ind.type_name(), "value": ind.value, "matched_on": matched_on},
        "feed": {"name": &*p.feed},
        "software": p.family.as_ref().map(|f| json!({"name": f})),
        "confidence": p.confidence,
        "first_seen": p.first_seen,
        "last_seen": p.last_seen,
        "reference": p.reference,
        "tlp": p.tlp,
        "valid_until": p.valid_until,
        "generation": ind.generation(),
    });
    if ind.sources.len() > 1 {
        t["sources"] = Value::Array(ind.sources.iter().map(|m| source(m)).collect());
    }
    t
}

/// The envelope shared by every event about a contact.
fn envelope(c: &Contact, timestamp: String, event_type: &str) -> Map<String, Value> {
    // Sized for the whole event (envelope, event object, victim, C2, threat, app layer): no
    // regrowth while it is filled.
    let mut m = Map::with_capacity(24);
    m.insert("timestamp".into(), json!(timestamp));
    m.insert("flow_id".into(), json!(c.flow_id));
    m.insert("in_iface".into(), json!(&*c.in_iface));
    m.insert("event_type".into(), json!(event_type));
    let vlans = c.first.vlans();
    if !vlans.is_empty() {
        m.insert("vlan".into(), json!(vlans));
    }
    let labels = c.first.labels();
    if !labels.is_empty() {
        m.insert("mpls".into(), json!(labels));
    }
    m.insert("src_ip".into(), json!(c.initiator.ip.to_string()));
    if let Some(p) = c.initiator.port {
        m.insert("src_port".into(), json!(p));
    }
    m.insert("dest_ip".into(), json!(c.responder.ip.to_string()));
    if let Some(p) = c.responder.port {
        m.insert("dest_port".into(), json!(p));
    }
    m.insert("proto".into(), json!(proto_name(c.proto)));
    if let (Some((t, code)), true) = (c.first.icmp, matches!(c.proto, 1 | 58)) {
        m.insert("icmp_type".into(), json!(t));
        m.insert("icmp_code".into(), json!(code));
    }
    m.insert("community_id".into(), json!(community_id_of(c)));
    if let Some(t) = tunnel(c) {
        m.insert("tunnel".into(), t);
    }
    m
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

fn contact_tail(m: &mut Map<String, Value>, c: &Contact) {
    m.insert("victim".into(), endpoint(&c.victim, true));
    let mut c2 = match &c.c2 {
        Some(e) => endpoint(e, false),
        None => json!({"ip": null, "port": null}),
    };
    if let Some(d) = &c.c2_domain {
        c2["domain"] = json!(&**d);
    }
    m.insert("c2".into(), c2);
    m.insert("threat".into(), threat(&c.indicator, c.matched_on.as_str()));
    if let Some(app) = &c.app {
        let (key, v) = app_object(app);
        m.insert(key.into(), v);
    }
}

/// The app-layer object of an event, named as in Suricata's EVE.
fn app_object(app: &AppInfo) -> (&'static str, Value) {
    match app {
        AppInfo::Dns {
            kind,
            id,
            rrname,
            rrtype,
            rdata,
        } => {
            let mut v = json!({"type": kind, "rrname": &**rrname});
            if *rrtype != 0 {
                v["rrtype"] = json!(crate::app::dns::type_name(*rrtype));
            }
            if *kind == "query" {
                v["id"] = json!(id);
            }
            if let Some(ip) = rdata {
                v["rdata"] = json!(ip.to_string());
            }
            ("dns", v)
        }
        AppInfo::Tls(t) => {
            let mut v = serde_json::Map::new();
            if let Some(s) = &t.sni {
                v.insert("sni".into(), json!(s));
            }
            if !t.alpn.is_empty() {
                v.insert("alpn".into(), json!(t.alpn));
            }
            if let Some((s, h)) = &t.ja3 {
                v.insert("ja3".into(), json!({"hash": h, "string": s}));
            }
            if let Some(j) = &t.ja4 {
                v.insert("ja4".into(), json!(j));
            }
            if let Some((s, h)) = &t.ja3s {
                v.insert("ja3s".into(), json!({"hash": h, "string": s}));
            }
            if let Some(h) = &t.cert_sha1 {
                v.insert("cert_sha1".into(), json!(h));
            }
            if let Some(h) = &t.cert_sha256 {
                v.insert("cert_sha256".into(), json!(h));
            }
            ("tls", Value::Object(v))
        }
        AppInfo::Quic(q) => (
            "quic",
            json!({"version": q.version, "sni": q.sni, "alpn": q.alpn, "ja4": q.ja4}),
        ),
        AppInfo::Http(h) => (
            "http",
            json!({
                "hostname": h.hostname, "url": h.url, "http_method": h.method,
                "http_user_agent": h.user_agent, "protocol": h.protocol,
            }),
        ),
    }
}

pub fn alert(a: &AlertRecord) -> Value {
    let c = &a.contact;
    let mut m = envelope(c, a.ts.eve().to_string(), "alert");
    let family = c
        .indicator
        .primary()
        .and_then(|p| p.family.clone())
        .unwrap_or_else(|| "unknown family".into());
    let feed = c
        .indicator
        .primary()
        .map(|p| p.feed.to_string())
        .unwrap_or_default();
    let (sid, verb) = match c.matched_on {
        MatchedOn::DestIp => (SID_DEST_IP, "C2 contact"),
        MatchedOn::SrcIp => (SID_SRC_IP, "Inbound C2 contact"),
        MatchedOn::DnsQuery => (SID_DNS_QUERY, "C2 domain lookup"),
        MatchedOn::DnsAnswer => (SID_DNS_ANSWER, "C2 contact via resolved domain"),
        MatchedOn::TlsSni => (SID_TLS_SNI, "C2 TLS server name"),
        MatchedOn::TlsJa3 => (SID_TLS_JA3, "C2 TLS client fingerprint (JA3)"),
        MatchedOn::TlsJa4 => (SID_TLS_JA4, "C2 TLS client fingerprint (JA4)"),
        MatchedOn::TlsJa3s => (SID_TLS_JA3S, "C2 TLS server fingerprint (JA3S)"),
        MatchedOn::TlsCertSha1 | MatchedOn::TlsCertSha256 => (SID_TLS_CERT, "C2 TLS certificate"),
        MatchedOn::QuicSni => (SID_QUIC_SNI, "C2 QUIC server name"),
        MatchedOn::QuicJa4 => (SID_QUIC_JA4, "C2 QUIC client fingerprint (JA4)"),
        MatchedOn::HttpHost => (SID_HTTP_HOST, "C2 HTTP host"),
        MatchedOn::HttpUrl => (SID_HTTP_URL, "C2 URL requested"),
    };
    m.insert(
        "alert".into(),
        json!({
            "action": "allowed", "gid": 1, "signature_id": sid, "rev": 1,
            "signature": format!("{verb}: {family} ({feed})"),
            "category": "A Network Trojan was detected", "severity": 1,
        }),
    );
    contact_tail(&mut m, c);
    Value::Object(m)
}

fn flags_hex(f: u8) -> String {
    format!("{f:02x}")
}

pub fn flow(f: &FlowRecord) -> Value {
    let c = &f.contact;
    let mut m = envelope(c, f.end.eve().to_string(), "flow");
    let both = f.pkts[0] > 0 && f.pkts[1] > 0;
    let tcp = c.proto == 6;
    let all = f.tcp_flags[0] | f.tcp_flags[1];
    let state = if tcp
        && (all & TCP_RST != 0 || (f.tcp_flags[0] & TCP_FIN != 0 && f.tcp_flags[1] & TCP_FIN != 0))
    {
        "closed"
    } else if both && (!tcp || f.tcp_flags[1] & (TCP_SYN | TCP_ACK) != 0) {
        "established"
    } else {
        "new"
    };
    // The responder answered: any packet back, except a TCP responder that only reset.
    let answered =
        f.pkts[1] > 0 && (!tcp || f.tcp_flags[1] & TCP_SYN != 0 || f.tcp_flags[1] & TCP_RST == 0);
    m.insert(
        "flow".into(),
        json!({
            "pkts_toserver": f.pkts[0], "pkts_toclient": f.pkts[1],
            "bytes_toserver": f.bytes[0], "bytes_toclient": f.bytes[1],
            "start": f.start.eve().to_string(), "end": f.end.eve().to_string(),
            "age": (f.end.secs() - f.start.secs()).max(0),
            "state": state, "reason": f.reason.as_str(), "alerted": f.alerted,
            "answered": answered,
        }),
    );
    if tcp {
        let mut t = Map::new();
        t.insert("tcp_flags".into(), json!(flags_hex(all)));
        t.insert("tcp_flags_ts".into(), json!(flags_hex(f.tcp_flags[0])));
        t.insert("tcp_flags_tc".into(), json!(flags_hex(f.tcp_flags[1])));
        for (bit, name) in [
            (TCP_SYN, "syn"),
            (TCP_FIN, "fin"),
            (TCP_RST, "rst"),
            (TCP_ACK, "ack"),
        ] {
            if all & bit != 0 {
                t.insert(name.into(), json!(true));
            }
        }
        m.insert("tcp".into(), Value::Object(t));
    }
    contact_tail(&mut m, c);
    Value::Object(m)
}
