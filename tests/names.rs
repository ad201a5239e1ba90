//! Name indicators on the wire: DNS questions and the connections that follow DNS answers.

mod common;
use common::*;
use serde_json::json;

#[test]
fn dns_questions_and_answers() {
    let r = replay(&["dns.pcap"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.triples(),
        vec![
            t("10.0.20.1", "c2.example", "dns.query"),
            t("10.0.20.3", "c2.example", "dns.answer"),
            t("10.0.20.5", "bücher.example", "dns.query"),
            t("10.0.20.7", "Evil-Parent.Example.", "dns.query"),
            t("fd00::20", "*.dyn.example", "dns.query"),
        ]
    );
    let by = |v: &str| {
        r.alerts()
            .into_iter()
            .find(|a| a["victim"]["ip"] == v)
            .unwrap()
            .clone()
    };
    // The question: the victim is the DNS client; the C2 is known by name only.
    let q = by("10.0.20.1");
    assert_eq!(
        q["c2"],
        json!({"ip": null, "port": null, "domain": "www.c2.example"})
    );
    assert_eq!(
        q["dns"],
        json!({"type": "query", "rrname": "www.c2.example", "rrtype": "A", "id": 1})
    );
    assert_eq!(q["threat"]["indicator"]["type"], "domain-name");
    assert_eq!(q["alert"]["signature_id"], 9000003);
    assert_eq!(
        (q["src_ip"].clone(), q["dest_port"].clone()),
        (json!("10.0.20.1"), json!(53))
    );
    // The answer (through two CNAMEs) ties the unlisted address to the listed name.
    let a = by("10.0.20.3");
    assert_eq!(
        a["c2"],
        json!({"ip": "192.0.2.99", "port": 443, "domain": "cdn.partner.example"})
    );
    assert_eq!(
        a["dns"],
        json!({"type": "answer", "rrname": "cdn.partner.example", "rdata": "192.0.2.99"})
    );
    assert_eq!(a["alert"]["signature_id"], 9000004);
    assert_eq!(
        a["timestamp"], "2023-11-14T22:13:23.000000+0000",
        "the first connection, not the one after the TTL"
    );
    assert_eq!(by("fd00::20")["dns"]["rrtype"], "AAAA");
    assert_eq!(r.stats()["dns"], json!({"messages": 10, "malformed": 1}));
    // The same alerts with several workers (answers and connections meet on one worker).
    for w in ["2", "3"] {
        assert_eq!(
            replay(&["dns.pcap"], &["--workers", w]).triples(),
            r.triples(),
            "workers {w}"
        );
    }
}

#[test]
fn allowlisted_names_and_ip_only_feeds() {
    let dir = tempfile::tempdir().unwrap();
    let allow = dir.path().join("allow.txt");
    std::fs::write(&allow, "www.c2.example\n").unwrap();
    let r = c2watch(&[
        "replay",
        "--intel",
        &fixture("feeds"),
        "--allow",
        allow.to_str().unwrap(),
        &fixture("dns.pcap"),
    ]);
    assert!(
        !r.alerts().iter().any(|a| a["victim"]["ip"] == "10.0.20.1"),
        "allowlisted name: {}",
        r.stdout
    );
    assert!(
        r.alerts().iter().any(|a| a["victim"]["ip"] == "10.0.20.3"),
        "edge.c2.example is not allowlisted"
    );
    // Without domain indicators DNS is not even parsed.
    let ips = dir.path().join("ips.txt");
    std::fs::write(&ips, "203.0.113.10\n").unwrap();
    let r = c2watch(&[
        "replay",
        "--intel",
        ips.to_str().unwrap(),
        &fixture("dns.pcap"),
    ]);
    assert!(r.alerts().is_empty());
    assert_eq!(r.stats()["dns"]["messages"], 0);
}
