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
    let by = |v: &str| r.alert_for(v);
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

/// TLS over reassembled TCP. JA3 and JA4 of the fixture's ClientHello are the values of the
/// worked example in feed-formats.md §12.6: the JA3 string and hash there were confirmed with
/// Wireshark/tshark 4.0.17; the JA4 was computed by the specification.
const JA3: &str = "7d3fdcecc36648047daab451bef1e230";
const JA3_STRING: &str = "771,4865-4866-49195-49199-156,0-23-65281-10-11-35-16-13-43-51,29-23-24,0";
const JA4: &str = "t13d0510h2_c03c18a8b7cd_42e4ae2b70ac";

#[test]
fn tls_sni_certificate_and_dns_over_tcp() {
    for w in ["1", "2"] {
        let r = replay(&["tls.pcap"], &["--workers", w]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.triples(),
            vec![
                t("10.0.30.1", "c2.example", "tls.sni"),
                t(
                    "10.0.30.3",
                    "7ce08446c268701ce91731b291d70492eb9617ae",
                    "tls.cert_sha1"
                ),
                t("10.0.30.4", "c2.example", "dns.query"),
            ],
            "workers {w}"
        );
        let by = |v: &str| r.alert_for(v);
        // The SNI sat in the second segment, which arrived first; the first was retransmitted.
        let sni = by("10.0.30.1");
        assert_eq!(sni["tls"]["sni"], "www.c2.example");
        assert_eq!(
            sni["tls"]["ja3"],
            json!({"hash": JA3, "string": JA3_STRING})
        );
        assert_eq!(sni["tls"]["ja4"], JA4);
        assert_eq!(sni["tls"]["alpn"], json!(["h2", "http/1.1"]));
        assert_eq!(
            sni["c2"],
            json!({"ip": "192.0.2.80", "port": 443, "domain": "www.c2.example"})
        );
        assert_eq!(sni["alert"]["signature_id"], 9000005);
        let cert = by("10.0.30.3");
        assert_eq!(cert["threat"]["software"]["name"], "ExampleRAT");
        assert_eq!(cert["threat"]["indicator"]["type"], "x509-sha1");
        assert_eq!(cert["tls"]["ja3s"]["string"], "771,49199,65281");
        assert_eq!(cert["tls"]["cert_sha256"].as_str().map(str::len), Some(64));
        let dns = by("10.0.30.4");
        assert_eq!(dns["dns"]["rrname"], "x.c2.example");
        assert_eq!(dns["proto"], "TCP");
    }
}

#[test]
fn tls_fingerprint_indicators() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ja3 = d.join("ja3.txt");
    std::fs::write(&ja3, format!("{JA3}\n")).unwrap();
    let ja4 = d.join("ja4.txt");
    std::fs::write(&ja4, format!("{}\n", JA4.to_uppercase())).unwrap();
    let ja3s = d.join("ja3s.txt");
    std::fs::write(&ja3s, "fbe78c619e7ea20046131294ad087f05\n").unwrap();
    let feeds = [
        format!("ja3:{}", ja3.display()),
        ja4.display().to_string(),
        format!("ja3s:{}", ja3s.display()),
    ];
    let r = c2watch(&[
        "replay",
        "--intel",
        &feeds[0],
        "--intel",
        &feeds[1],
        "--intel",
        &feeds[2],
        &fixture("tls.pcap"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.triples(),
        vec![
            t("10.0.30.1", JA3, "tls.ja3"),
            t("10.0.30.1", &JA4.to_uppercase(), "tls.ja4"),
            t("10.0.30.3", JA3, "tls.ja3"),
            t("10.0.30.3", &JA4.to_uppercase(), "tls.ja4"),
            t("10.0.30.3", "fbe78c619e7ea20046131294ad087f05", "tls.ja3s"),
        ]
    );
    assert!(
        r.alerts()
            .iter()
            .all(|a| a["threat"]["indicator"]["type"] != "domain-name")
    );
}

#[test]
fn http_hosts_and_urls_on_any_port() {
    let r = replay(&["http.pcap"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.triples(),
        vec![
            t("10.0.40.1", "c2.example", "http.host"),
            t(
                "10.0.40.2",
                "http://files.dl.example/payload.bin",
                "http.url"
            ),
            t("10.0.40.3", "evil-url.example/bad/path", "http.url"),
            t("10.0.40.5", "http://203.0.113.99/gate.php?id=7", "http.url"),
            t(
                "10.0.40.6",
                "http://files.dl.example/payload.bin",
                "http.url"
            ),
            t("10.0.40.7", "c2.example", "http.host"),
        ]
    );
    let by = |v: &str| r.alert_for(v);
    let h = by("10.0.40.1");
    assert_eq!(
        h["http"],
        json!({"hostname": "Panel.C2.Example", "url": "/gate.php?id=1", "http_method": "GET", "http_user_agent": "ExampleRAT/2.0", "protocol": "HTTP/1.1"})
    );
    assert_eq!(
        h["c2"],
        json!({"ip": "192.0.2.90", "port": 8080, "domain": "panel.c2.example"})
    );
    assert_eq!(h["alert"]["signature_id"], 9000010);
    assert_eq!(by("10.0.40.2")["threat"]["indicator"]["type"], "url");
    assert_eq!(
        by("10.0.40.5")["c2"]["domain"],
        serde_json::Value::Null,
        "an IP literal Host is no name"
    );
    assert_eq!(
        by("10.0.40.6")["http"]["url"],
        "http://files.dl.example/payload.bin",
        "absolute form, via a proxy"
    );
}

/// With no URL listed anywhere, requests are not turned into URLs (that work is skipped), and
/// Host matches come out as before, with the request's details.
#[test]
fn http_hosts_match_without_url_feeds() {
    let feed = fixture("feeds/c2-ips.txt");
    let pcap = fixture("http.pcap");
    let r = c2watch(&["replay", "--no-progress", "--intel", &feed, &pcap]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let http: Vec<_> = r
        .triples()
        .into_iter()
        .filter(|(_, _, on)| on.starts_with("http."))
        .collect();
    assert_eq!(
        http,
        vec![
            t("10.0.40.1", "c2.example", "http.host"),
            t("10.0.40.7", "c2.example", "http.host"),
        ]
    );
    let a = r.alert_for("10.0.40.1");
    assert_eq!(
        a["http"],
        json!({"hostname": "Panel.C2.Example", "url": "/gate.php?id=1", "http_method": "GET", "http_user_agent": "ExampleRAT/2.0", "protocol": "HTTP/1.1"})
    );
    assert_eq!(a["c2"]["domain"], "panel.c2.example");
}

/// QUIC Initials recorded from a real QUIC client (aioquic; see fixtures/tools/quic_initial.py).
#[test]
fn quic_initials_v1_v2_and_split_hellos() {
    for w in ["1", "2"] {
        let r = replay(&["quic.pcap"], &["--workers", w]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.triples(),
            vec![
                t("10.0.50.1", "c2.example", "quic.sni"),
                t("10.0.50.2", "c2.example", "quic.sni"),
                t("10.0.50.4", "c2.example", "quic.sni"),
            ],
            "workers {w}"
        );
        let by = |v: &str| r.alert_for(v);
        let v1 = by("10.0.50.1");
        assert_eq!(
            (
                v1["quic"]["version"].clone(),
                v1["quic"]["sni"].clone(),
                v1["quic"]["alpn"].clone()
            ),
            (json!(1), json!("quic.c2.example"), json!(["h3"]))
        );
        assert!(v1["quic"]["ja4"].as_str().unwrap().starts_with("q13d"));
        assert_eq!(v1["alert"]["signature_id"], 9000012);
        assert_eq!(by("10.0.50.2")["quic"]["version"], 2);
        // The ClientHello spanned two datagrams, which arrived in reverse order.
        let split = by("10.0.50.4");
        assert_eq!(split["quic"]["sni"], "big.c2.example");
        assert_eq!(split["quic"]["alpn"].as_array().map(Vec::len), Some(121));
    }
    // A JA4 (QUIC variant) indicator.
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("ja4.txt");
    let r = replay(&["quic.pcap"], &[]);
    let ja4 = s(&r.alerts()[0]["quic"]["ja4"]);
    std::fs::write(&feed, &ja4).unwrap();
    let r = c2watch(&[
        "replay",
        "--intel",
        feed.to_str().unwrap(),
        &fixture("quic.pcap"),
    ]);
    assert_eq!(
        r.alerts()
            .iter()
            .filter(|a| a["threat"]["indicator"]["matched_on"] == "quic.ja4")
            .count(),
        4,
        "all four hellos share it"
    );
}
