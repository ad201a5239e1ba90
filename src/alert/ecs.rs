//! The Elastic Common Schema form of events (`--alert-format ecs`), made from the EVE form so
//! both always say the same thing. ECS has fields for the network, the rule and the threat
//! match; what it has no field for (the victim, the C2 side, tunnels, JA4, QUIC, the feed
//! generation) stays under `c2watch.*` with EVE's names. docs/alerts.md lists every field.

use serde_json::{Map, Value, json};

/// The ECS version the field names follow.
pub const ECS_VERSION: &str = "8.11.0";

/// An EVE event (alert, flow, stats, warning) in ECS form.
pub fn from_eve(eve: &Value) -> Value {
    let kind = eve["event_type"].as_str().unwrap_or_default();
    let mut m = Map::new();
    m.insert("@timestamp".into(), json!(timestamp(&eve["timestamp"])));
    m.insert("ecs".into(), json!({"version": ECS_VERSION}));
    m.insert(
        "observer".into(),
        observer(eve.get("in_iface").and_then(Value::as_str)),
    );
    match kind {
        "alert" | "flow" | "episode" => contact(eve, kind, &mut m),
        _ => {
            let (ecs_kind, category) = if kind == "stats" {
                ("metric", json!(["network"]))
            } else {
                ("event", json!(["configuration"]))
            };
            m.insert(
                "event".into(),
                json!({
                    "kind": ecs_kind, "category": category, "type": ["info"],
                    "module": "c2watch", "dataset": format!("c2watch.{kind}"),
                }),
            );
            // The event's own object (`stats`, `warning`) and `event_type` as EVE has them.
            let mut body = eve.clone();
            if let Some(o) = body.as_object_mut() {
                o.remove("timestamp");
            }
            m.insert("c2watch".into(), body);
        }
    }
    Value::Object(m)
}

/// EVE's `2023-11-14T22:13:20.123456+0000` as RFC 3339 (`...20.123456Z`).
fn timestamp(t: &Value) -> Value {
    match t.as_str() {
        Some(s) => json!(
            s.strip_suffix("+0000")
                .map_or(s.to_string(), |b| format!("{b}Z"))
        ),
        None => Value::Null,
    }
}

fn observer(iface: Option<&str>) -> Value {
    let mut o = json!({"product": "c2watch", "vendor": "c2watch", "type": "ids"});
    if let Some(i) = iface {
        o["ingress"] = json!({"interface": {"name": i}});
    }
    o
}

/// ECS MAC form: upper case, hyphens.
fn mac(v: &Value) -> Option<Value> {
    v.as_str()
        .map(|s| json!(s.to_ascii_uppercase().replace(':', "-")))
}

/// The endpoint `ip`/`port` of an EVE event, with the victim's MAC when it is the victim.
fn endpoint(eve: &Value, ip: &str, port: &str) -> Value {
    let mut e = Map::new();
    e.insert("ip".into(), eve[ip].clone());
    if let Some(p) = eve.get(port) {
        e.insert("port".into(), p.clone());
    }
    let victim = &eve["victim"];
    if victim["ip"] == eve[ip]
        && victim["port"] == eve.get(port).cloned().unwrap_or(Value::Null)
        && let Some(m) = mac(&victim["mac"])
    {
        e.insert("mac".into(), m);
    }
    if eve["c2"]["ip"] == eve[ip]
        && let Some(d) = eve["c2"].get("domain")
    {
        e.insert("domain".into(), d.clone());
    }
    Value::Object(e)
}

fn contact(eve: &Value, kind: &str, m: &mut Map<String, Value>) {
    let alert = kind == "alert";
    let mut event = json!({
        "kind": if alert { "alert" } else { "event" },
        "category": if alert { json!(["network", "threat"]) } else { json!(["network"]) },
        "type": if alert { json!(["indicator", "connection"]) } else { json!(["connection", "end"]) },
        "module": "c2watch",
        "dataset": format!("c2watch.{kind}"),
    });
    if alert {
        event["severity"] = eve["alert"]["severity"].clone();
    }
    let flow = &eve["flow"];
    let episode = &eve["episode"];
    if kind == "flow" {
        event["start"] = timestamp(&flow["start"]);
        event["end"] = timestamp(&flow["end"]);
        if let Some(age) = flow["age"].as_i64() {
            event["duration"] = json!(age.saturating_mul(1_000_000_000));
        }
    } else if kind == "episode" {
        event["category"] = json!(["network", "threat"]);
        event["type"] = json!(["info"]);
        event["start"] = timestamp(&episode["first"]);
        event["end"] = timestamp(&episode["last"]);
        if let Some(d) = episode["duration_s"].as_f64() {
            event["duration"] = json!((d * 1e9).round() as i64);
        }
    }
    m.insert("event".into(), event);
    let mut source = endpoint(eve, "src_ip", "src_port");
    let mut destination = endpoint(eve, "dest_ip", "dest_port");
    if kind == "flow" {
        source["packets"] = flow["pkts_toserver"].clone();
        source["bytes"] = flow["bytes_toserver"].clone();
        destination["packets"] = flow["pkts_toclient"].clone();
        destination["bytes"] = flow["bytes_toclient"].clone();
    }
    m.insert("source".into(), source);
    m.insert("destination".into(), destination);
    let mut net = network(eve);
    if let Some(p) = ["dns", "tls", "quic", "http"]
        .into_iter()
        .find(|p| eve.get(*p).is_some())
    {
        net["protocol"] = json!(p);
    }
    m.insert("network".into(), net);
    if alert {
        let a = &eve["alert"];
        m.insert(
            "rule".into(),
            json!({
                "id": a["signature_id"].to_string(), "name": a["signature"],
                "category": a["category"], "ruleset": "c2watch",
            }),
        );
    }
    m.insert("threat".into(), threat(eve));
    app_layer(eve, m);
    let mut own = Map::new();
    for key in [
        "flow_id",
        "event_type",
        "victim",
        "c2",
        "tunnel",
        "mpls",
        "icmp_type",
        "icmp_code",
        "quic",
        "tcp",
        "episode",
    ] {
        if let Some(v) = eve.get(key) {
            own.insert(key.into(), v.clone());
        }
    }
    if !alert {
        own.insert("flow".into(), flow.clone());
    }
    // JA4 (no ECS field): the TLS handshake's, or the one inside a QUIC Initial.
    if let Some(j) = eve["tls"].get("ja4").or(eve["quic"].get("ja4")) {
        own.insert("tls".into(), json!({"ja4": j}));
    }
    let t = &eve["threat"];
    own.insert(
        "threat".into(),
        json!({
            "matched_on": t["indicator"]["matched_on"], "indicator_type": t["indicator"]["type"],
            "generation": t["generation"], "valid_until": t["valid_until"],
            "sources": t.get("sources"),
        }),
    );
    m.insert("c2watch".into(), Value::Object(own));
}

fn network(eve: &Value) -> Value {
    let proto = eve["proto"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let ip = eve["src_ip"].as_str().unwrap_or_default();
    let mut n = json!({
        "transport": proto,
        "type": if ip.contains(':') { "ipv6" } else { "ipv4" },
        "community_id": eve["community_id"],
    });
    if let Some(v) = eve["vlan"].as_array() {
        if let Some(outer) = v.first() {
            n["vlan"] = json!({"id": outer.to_string()});
        }
        if let Some(inner) = v.get(1) {
            n["inner"] = json!({"vlan": {"id": inner.to_string()}});
        }
    }
    if let Some(f) = eve.get("flow") {
        n["packets"] = json!(
            f["pkts_toserver"].as_u64().unwrap_or(0) + f["pkts_toclient"].as_u64().unwrap_or(0)
        );
        n["bytes"] = json!(
            f["bytes_toserver"].as_u64().unwrap_or(0) + f["bytes_toclient"].as_u64().unwrap_or(0)
        );
    }
    n
}

/// c2watch's indicator types as ECS `threat.indicator.type` (ECS has no type for TLS
/// fingerprints: those keep c2watch's name).
fn indicator_type(t: &str) -> &str {
    match t {
        "ipv4-addr" | "ipv6-addr" | "domain-name" | "url" => t,
        "ipv4-net" => "ipv4-addr",
        "ipv6-net" => "ipv6-addr",
        "x509-sha1" | "x509-sha256" => "x509-certificate",
        other => other,
    }
}

/// Where the matched value sits in ECS, for each `matched_on`.
fn matched_field(on: &str) -> &'static str {
    match on {
        "dest_ip" => "destination.ip",
        "src_ip" => "source.ip",
        "dns.query" | "dns.answer" => "dns.question.name",
        "tls.sni" | "quic.sni" => "tls.client.server_name",
        "http.host" => "url.domain",
        "http.url" => "url.full",
        "tls.ja3" => "tls.client.ja3",
        "tls.ja3s" => "tls.server.ja3s",
        "tls.ja4" | "quic.ja4" => "c2watch.tls.ja4",
        "tls.cert_sha1" => "tls.server.hash.sha1",
        "tls.cert_sha256" => "tls.server.hash.sha256",
        _ => "c2watch.threat.matched_on",
    }
}

/// The observed value that matched (`threat.enrichments.matched.atomic`).
fn atomic(eve: &Value, on: &str) -> Value {
    let tls = &eve["tls"];
    match on {
        "dest_ip" => eve["dest_ip"].clone(),
        "src_ip" => eve["src_ip"].clone(),
        "dns.query" | "dns.answer" => eve["dns"]["rrname"].clone(),
        "tls.sni" => tls["sni"].clone(),
        "quic.sni" => eve["quic"]["sni"].clone(),
        "http.host" => eve["http"]["hostname"].clone(),
        "http.url" => eve["http"]["url"].clone(),
        "tls.ja3" => tls["ja3"]["hash"].clone(),
        "tls.ja3s" => tls["ja3s"]["hash"].clone(),
        "tls.ja4" => tls["ja4"].clone(),
        "quic.ja4" => eve["quic"]["ja4"].clone(),
        // ECS writes certificate hashes in upper case (`tls.server.hash.*`).
        "tls.cert_sha1" => upper(&tls["cert_sha1"]),
        "tls.cert_sha256" => upper(&tls["cert_sha256"]),
        _ => eve["threat"]["indicator"]["value"].clone(),
    }
}

fn upper(v: &Value) -> Value {
    json!(v.as_str().map(str::to_ascii_uppercase))
}

/// ECS confidence words from a 0–100 score.
fn confidence(c: &Value) -> Value {
    match c.as_u64() {
        None => json!("Not Specified"),
        Some(0) => json!("None"),
        Some(n) if n < 30 => json!("Low"),
        Some(n) if n < 70 => json!("Medium"),
        Some(_) => json!("High"),
    }
}

fn threat(eve: &Value) -> Value {
    let t = &eve["threat"];
    let ind = &t["indicator"];
    let on = ind["matched_on"].as_str().unwrap_or_default();
    let ty = match ind["type"].as_str().unwrap_or_default() {
        // An address:port listing: the family of the address that matched.
        "ip-port" if atomic(eve, on).as_str().is_some_and(|a| a.contains(':')) => "ipv6-addr",
        "ip-port" => "ipv4-addr",
        other => indicator_type(other),
    };
    let mut indicator = json!({
        "type": ty,
        "description": ind["value"],
        "provider": t["feed"]["name"],
        "confidence": confidence(&t["confidence"]),
        "first_seen": t["first_seen"],
        "last_seen": t["last_seen"],
        "reference": t["reference"],
    });
    if let Some(tlp) = t["tlp"].as_str() {
        indicator["marking"] = json!({"tlp": tlp.to_ascii_uppercase()});
    }
    match ty {
        "ipv4-addr" | "ipv6-addr" => indicator["ip"] = atomic(eve, on),
        "domain-name" => indicator["url"] = json!({"domain": ind["value"]}),
        "url" => indicator["url"] = json!({"full": ind["value"]}),
        _ => {}
    }
    let mut threat = json!({
        "enrichments": [{
            "indicator": indicator,
            "matched": {
                "atomic": atomic(eve, on),
                "field": matched_field(on),
                "type": "indicator_match_rule",
            },
        }],
        "feed": {"name": t["feed"]["name"]},
    });
    if let Some(name) = t["software"]["name"].as_str() {
        threat["software"] = json!({"name": name});
    }
    threat
}

/// DNS, TLS and HTTP in their ECS places.
fn app_layer(eve: &Value, m: &mut Map<String, Value>) {
    if let Some(d) = eve.get("dns") {
        let mut dns = json!({
            "type": d["type"], "question": {"name": d["rrname"], "type": d.get("rrtype")},
        });
        if let Some(id) = d.get("id") {
            dns["id"] = json!(id.to_string());
        }
        if let Some(ip) = d.get("rdata") {
            dns["resolved_ip"] = json!([ip]);
        }
        m.insert("dns".into(), dns);
    }
    if let Some(t) = eve.get("tls") {
        let mut client = Map::new();
        if let Some(s) = t.get("sni") {
            client.insert("server_name".into(), s.clone());
        }
        if let Some(j) = t.get("ja3") {
            client.insert("ja3".into(), j["hash"].clone());
        }
        let mut server = Map::new();
        if let Some(j) = t.get("ja3s") {
            server.insert("ja3s".into(), j["hash"].clone());
        }
        let mut hash = Map::new();
        for (k, name) in [("cert_sha1", "sha1"), ("cert_sha256", "sha256")] {
            if let Some(h) = t.get(k) {
                hash.insert(name.into(), upper(h));
            }
        }
        if !hash.is_empty() {
            server.insert("hash".into(), Value::Object(hash));
        }
        let mut tls = json!({"client": client, "server": server});
        if let Some(a) = t.get("alpn").and_then(|a| a.get(0)) {
            tls["next_protocol"] = a.clone();
        }
        m.insert("tls".into(), tls);
    }
    // QUIC carries a TLS 1.3 handshake: its server name and ALPN are ECS `tls.*`.
    if let Some(q) = eve.get("quic") {
        let mut tls = json!({"client": {"server_name": q["sni"]}});
        if let Some(a) = q["alpn"].get(0) {
            tls["next_protocol"] = a.clone();
        }
        m.insert("tls".into(), tls);
    }
    if let Some(h) = eve.get("http") {
        m.insert(
            "http".into(),
            json!({"request": {"method": h["http_method"]}, "version": h["protocol"]}),
        );
        m.insert(
            "url".into(),
            json!({"full": h["url"], "domain": h["hostname"]}),
        );
        if let Some(ua) = h.get("http_user_agent").filter(|u| !u.is_null()) {
            m.insert("user_agent".into(), json!({"original": ua}));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_eve_alert_in_ecs_form() {
        let eve: Value = serde_json::from_str(r#"{"timestamp":"2023-11-14T22:13:20.004000+0000","flow_id":2460251521147354,"in_iface":"tls.pcap","event_type":"alert","vlan":[100,200],"src_ip":"10.0.30.1","src_port":50000,"dest_ip":"192.0.2.80","dest_port":443,"proto":"TCP","community_id":"1:PYbZ3L64gVFrJKXKVwGMNF1SPfY=","alert":{"action":"allowed","gid":1,"signature_id":9000005,"rev":1,"signature":"C2 TLS server name: unknown family (c2-ips)","category":"A Network Trojan was detected","severity":1},"victim":{"ip":"10.0.30.1","port":50000,"mac":"02:00:00:00:00:0e","subscriber":null},"c2":{"ip":"192.0.2.80","port":443,"domain":"www.c2.example"},"threat":{"indicator":{"type":"domain-name","value":"c2.example","matched_on":"tls.sni"},"feed":{"name":"c2-ips"},"software":{"name":"ExampleRAT"},"confidence":80,"first_seen":null,"last_seen":null,"reference":null,"tlp":"amber","valid_until":null,"generation":1},"tls":{"sni":"www.c2.example","ja3":{"hash":"7d3f","string":"771"},"ja4":"t13d"}}"#).unwrap();
        let e = from_eve(&eve);
        assert_eq!(e["@timestamp"], "2023-11-14T22:13:20.004000Z");
        assert_eq!(e["event"]["kind"], "alert");
        assert_eq!(e["source"]["ip"], "10.0.30.1");
        assert_eq!(e["source"]["mac"], "02-00-00-00-00-0E");
        assert_eq!(e["destination"]["domain"], "www.c2.example");
        assert_eq!(e["network"]["transport"], "tcp");
        assert_eq!(e["network"]["vlan"]["id"], "100");
        assert_eq!(e["network"]["inner"]["vlan"]["id"], "200");
        assert_eq!(e["rule"]["id"], "9000005");
        let en = &e["threat"]["enrichments"][0];
        assert_eq!(en["matched"]["atomic"], "www.c2.example");
        assert_eq!(en["matched"]["field"], "tls.client.server_name");
        assert_eq!(en["matched"]["type"], "indicator_match_rule");
        assert_eq!(en["indicator"]["type"], "domain-name");
        assert_eq!(en["indicator"]["url"]["domain"], "c2.example");
        assert_eq!(en["indicator"]["confidence"], "High");
        assert_eq!(en["indicator"]["marking"]["tlp"], "AMBER");
        assert_eq!(e["threat"]["software"]["name"], "ExampleRAT");
        assert_eq!(e["tls"]["client"]["server_name"], "www.c2.example");
        assert_eq!(e["tls"]["client"]["ja3"], "7d3f");
        assert_eq!(e["c2watch"]["victim"]["ip"], "10.0.30.1");
        assert_eq!(e["c2watch"]["tls"]["ja4"], "t13d");
        assert_eq!(e["observer"]["ingress"]["interface"]["name"], "tls.pcap");
    }
}
