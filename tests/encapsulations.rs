//! Every encapsulation of the fixtures: the alert names the innermost victim and C2 and records
//! the outer path (`vlan`, `mpls`, `tunnel`).

mod common;
use common::*;
use serde_json::{Value, json};

fn only<'a>(run: &'a Run, victim: &str) -> &'a Value {
    let found: Vec<&Value> = run
        .alerts()
        .into_iter()
        .filter(|a| a["victim"]["ip"] == victim)
        .collect();
    assert_eq!(found.len(), 1, "one alert for {victim}: {}", run.stdout);
    found[0]
}

#[test]
fn vlan_qinq_and_triple_tags() {
    let r = replay(&["vlan.pcap"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(only(&r, "10.0.1.1")["vlan"], json!([100]));
    assert_eq!(only(&r, "10.0.1.2")["vlan"], json!([200, 300]));
    assert_eq!(only(&r, "10.0.1.3")["vlan"], json!([400, 500]));
    assert_eq!(only(&r, "10.0.1.4")["vlan"], json!([10, 20, 30]));
    assert!(
        r.alerts()
            .iter()
            .all(|a| a["threat"]["indicator"]["value"] == "203.0.113.10")
    );
}

#[test]
fn mpls_label_stacks_and_pseudowires() {
    let r = replay(&["mpls.pcap"], &[]);
    let a = only(&r, "10.0.2.1");
    assert_eq!(a["mpls"], json!([16, 17]));
    assert!(a.get("vlan").is_none());
    assert_eq!(
        a["victim"]["mac"],
        Value::Null,
        "label-switched frames carry router MACs"
    );
    let b = only(&r, "10.0.2.2");
    assert_eq!(
        (b["mpls"].clone(), b["vlan"].clone()),
        (json!([18]), json!([42]))
    );
    assert_eq!(b["victim"]["mac"], "02:00:00:00:00:0e");
}

#[test]
fn pppoe_sessions_name_the_session() {
    let r = replay(&["pppoe.pcap"], &[]);
    assert_eq!(r.alerts().len(), 2);
    let a = only(&r, "10.0.3.1");
    assert_eq!(
        a["tunnel"],
        json!({"type": "pppoe", "session_id": 0x1234, "depth": 1})
    );
    assert_eq!(a["victim"]["mac"], "02:00:00:00:00:0e");
    let b = only(&r, "fd00::31");
    assert_eq!(b["tunnel"]["session_id"], 0x1235);
    assert_eq!(b["threat"]["indicator"]["value"], "2001:db8:bad::1");
    assert_eq!(
        r.stats()["decode"]["not_ip"],
        1,
        "the LCP frame is counted, not matched"
    );
}

#[test]
fn gre_plain_and_keyed_ethernet() {
    let r = replay(&["gre.pcap"], &[]);
    let a = only(&r, "10.0.4.1");
    assert_eq!(
        a["tunnel"],
        json!({"type": "gre", "src_ip": "192.0.2.1", "dest_ip": "192.0.2.2", "depth": 1})
    );
    assert_eq!(a["dest_ip"], "203.0.113.10");
    let b = only(&r, "10.0.4.2");
    assert_eq!(b["tunnel"]["key"], 77);
}

#[test]
fn erspan_types_one_two_three() {
    let r = replay(&["erspan.pcap"], &[]);
    let a = only(&r, "10.0.5.1");
    assert_eq!(
        a["tunnel"],
        json!({"type": "erspan2", "src_ip": "192.0.2.10", "dest_ip": "192.0.2.11", "session_id": 42, "depth": 1})
    );
    let b = only(&r, "10.0.5.2");
    assert_eq!(
        (
            b["tunnel"]["type"].clone(),
            b["tunnel"]["session_id"].clone(),
            b["vlan"].clone()
        ),
        (json!("erspan3"), json!(7), json!([55]))
    );
    assert_eq!(only(&r, "10.0.5.3")["tunnel"]["type"], "erspan1");
}

#[test]
fn vxlan_and_geneve_overlays() {
    let r = replay(&["vxlan.pcap", "geneve.pcap"], &[]);
    let a = only(&r, "10.0.6.1");
    assert_eq!(
        a["tunnel"],
        json!({"type": "vxlan", "src_ip": "192.0.2.20", "dest_ip": "192.0.2.21", "vni": 4097, "depth": 1})
    );
    assert_eq!(
        a["victim"]["mac"], "02:42:00:00:00:07",
        "the VM's MAC from the inner frame"
    );
    let b = only(&r, "10.0.6.2");
    assert_eq!(
        (b["tunnel"]["type"].clone(), b["tunnel"]["vni"].clone()),
        (json!("geneve"), json!(256))
    );
}

#[test]
fn gtpu_teid_identifies_the_bearer() {
    let r = replay(&["gtpu.pcap"], &[]);
    let a = only(&r, "100.64.0.1");
    assert_eq!(
        a["tunnel"],
        json!({"type": "gtpu", "src_ip": "192.0.2.30", "dest_ip": "192.0.2.31", "teid": 0x1234, "depth": 1})
    );
    assert_eq!(a["victim"]["mac"], Value::Null);
    let b = only(&r, "fd00::71");
    assert_eq!(
        (
            b["tunnel"]["teid"].clone(),
            b["threat"]["indicator"]["value"].clone()
        ),
        (json!(0xabcd), json!("2001:db8:c2::/48"))
    );
}

#[test]
fn ip_in_ip_and_6in4() {
    let r = replay(&["ipip.pcap"], &[]);
    assert_eq!(only(&r, "10.0.7.1")["tunnel"]["type"], "ipip");
    let b = only(&r, "fd00::72");
    assert_eq!(
        (b["tunnel"]["src_ip"].clone(), b["dest_ip"].clone()),
        (json!("192.0.2.40"), json!("2001:db8:bad::1"))
    );
}

#[test]
fn ipv6_extension_headers_ports_and_prefixes() {
    let r = replay(&["ipv6.pcap"], &[]);
    assert_eq!(
        r.triples(),
        vec![
            t("fd00::1", "2001:db8:bad::1", "dest_ip"),
            t("fd00::2", "[2001:db8:bad::2]:8443", "dest_ip"),
            t("fd00::4", "2001:db8:c2::/48", "dest_ip"),
            t("fd00::5", "2001:db8:dead::/48", "dest_ip"),
        ]
    );
    assert_eq!(
        only(&r, "fd00::2")["threat"]["indicator"]["type"],
        "ip-port"
    );
    assert_eq!(
        only(&r, "fd00::4")["threat"]["indicator"]["type"],
        "ipv6-net"
    );
    let icmp6 = only(&r, "fd00::5");
    assert_eq!(
        (icmp6["proto"].clone(), icmp6["icmp_type"].clone()),
        (json!("IPv6-ICMP"), json!(128))
    );
}

#[test]
fn fragments_first_gives_ports_later_match_by_address() {
    let r = replay(&["fragments.pcap"], &[]);
    assert_eq!(
        r.triples(),
        vec![
            t("10.0.12.1", "203.0.113.11:4443", "dest_ip"),
            t("10.0.12.2", "203.0.113.10", "dest_ip"),
            t("10.0.12.3", "203.0.113.10", "dest_ip")
        ]
    );
    assert!(r.stats()["later_fragments"].as_u64().unwrap_or(0) >= 2);
}

#[test]
fn small_snaplen_still_matches() {
    let r = replay(&["snaplen.pcap"], &[]);
    assert_eq!(
        r.triples(),
        vec![
            t("10.0.13.1", "203.0.113.11:4443", "dest_ip"),
            t("10.0.13.2", "203.0.113.10", "dest_ip")
        ]
    );
    assert_eq!(r.stats()["transport_truncated"], 2);
}

#[test]
fn every_link_type() {
    for (file, victim, mac) in [
        ("raw.pcap", "10.0.14.1", Value::Null),
        ("sll.pcap", "10.0.14.2", json!("02:00:00:00:00:0e")),
        ("sll2.pcap", "10.0.14.3", json!("02:00:00:00:00:0e")),
        ("null.pcap", "10.0.14.4", Value::Null),
        ("ipv4-linktype.pcap", "10.0.14.5", Value::Null),
    ] {
        let r = replay(&[file], &[]);
        assert_eq!(
            r.triples(),
            vec![t(victim, "203.0.113.10", "dest_ip")],
            "{file}"
        );
        assert_eq!(only(&r, victim)["victim"]["mac"], mac, "{file}");
        assert_eq!(only(&r, victim)["in_iface"], file);
    }
}

/// The same encapsulations read from one pcapng (one interface per original file, each with its
/// own link type) give the same alerts as the pcap files one by one.
#[test]
fn every_encapsulation_in_pcapng_too() {
    let project = |a: &Value| {
        json!([
            a["victim"]["ip"],
            a["threat"]["indicator"]["value"],
            a["vlan"],
            a["mpls"],
            a["tunnel"],
            a["victim"]["mac"]
        ])
        .to_string()
    };
    let mut from_pcaps = Vec::new();
    for f in c2watch::synth::fixtures::ENCAPSULATIONS {
        let r = replay(&[f], &[]);
        for a in r.alerts() {
            from_pcaps.push((project(a), f.to_string()));
        }
    }
    let r = replay(&["encapsulations.pcapng"], &[]);
    let mut from_ng: Vec<(String, String)> = r
        .alerts()
        .iter()
        .map(|a| (project(a), s(&a["in_iface"])))
        .collect();
    from_pcaps.sort();
    from_ng.sort();
    assert!(from_pcaps.len() > 30);
    assert_eq!(from_pcaps, from_ng);
}
