//! `--alert-format ecs`: the same events as EVE, in Elastic Common Schema form. Each ECS event
//! is checked against the EVE event of the same run, and each threat match names a field that
//! holds the matched value in the same document.

mod common;
use common::*;
use serde_json::Value;

fn lines(r: &Run) -> Vec<Value> {
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// The value at a dotted ECS path (`tls.client.server_name`).
fn at<'a>(doc: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(doc, |v, k| &v[k])
}

#[test]
fn ecs_events_match_their_eve_events() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("subs.csv");
    std::fs::write(&map, "network,subscriber\n10.0.0.0/8,pool\n").unwrap();
    let map = map.display().to_string();
    let mut kinds = std::collections::BTreeSet::new();
    for pcap in [
        "demo.pcap",
        "tls.pcap",
        "dns.pcap",
        "http.pcap",
        "vlan.pcap",
        "quic.pcap",
    ] {
        let run = |format: &str| {
            let r = c2watch(&[
                "replay",
                "--no-progress",
                "--intel",
                &fixture("feeds"),
                "--subscribers",
                &map,
                "--alert-format",
                format,
                &fixture(pcap),
            ]);
            assert_eq!(r.code, 0, "{pcap}: {}", r.stderr);
            lines(&r)
        };
        let (eve, ecs) = (run("eve"), run("ecs"));
        assert_eq!(eve.len(), ecs.len(), "{pcap}");
        for (e, c) in eve.iter().zip(&ecs) {
            let t = e["event_type"].as_str().unwrap();
            let ts = e["timestamp"].as_str().unwrap();
            assert_eq!(
                c["@timestamp"].as_str().unwrap(),
                format!("{}Z", ts.strip_suffix("+0000").unwrap())
            );
            assert_eq!(c["ecs"]["version"], "8.11.0");
            let kind = c["event"]["kind"].as_str().unwrap();
            match t {
                "alert" => assert_eq!(kind, "alert"),
                "flow" => assert_eq!(kind, "event"),
                "stats" => assert_eq!(kind, "metric"),
                _ => assert_eq!(kind, "event"),
            }
            if t != "alert" && t != "flow" {
                assert_eq!(c["c2watch"]["event_type"], t);
                continue;
            }
            assert_eq!(c["source"]["ip"], e["src_ip"], "{c}");
            assert_eq!(c["destination"]["ip"], e["dest_ip"]);
            assert_eq!(
                c["network"]["transport"],
                e["proto"].as_str().unwrap().to_ascii_lowercase()
            );
            assert_eq!(c["network"]["community_id"], e["community_id"]);
            assert_eq!(c["c2watch"]["flow_id"], e["flow_id"]);
            assert_eq!(c["c2watch"]["victim"], e["victim"]);
            let sub = &c["c2watch"]["victim"]["subscriber"];
            if s(&e["victim"]["ip"]).starts_with("10.") {
                assert_eq!(sub["id"], "pool", "{c}");
            } else {
                assert!(sub.is_null(), "{c}");
            }
            let m = &c["threat"]["enrichments"][0]["matched"];
            assert_eq!(m["type"], "indicator_match_rule");
            let field = m["field"].as_str().unwrap();
            assert_eq!(
                *at(c, field),
                m["atomic"],
                "{pcap}: matched.field {field} does not hold the atomic value in {c}"
            );
            assert!(!m["atomic"].is_null(), "{c}");
            assert_eq!(
                c["threat"]["enrichments"][0]["indicator"]["provider"],
                e["threat"]["feed"]["name"]
            );
            if let Some(vlans) = e["vlan"].as_array() {
                assert_eq!(c["network"]["vlan"]["id"], vlans[0].to_string());
            }
            if t == "alert" {
                assert_eq!(c["rule"]["id"], e["alert"]["signature_id"].to_string());
                assert_eq!(c["rule"]["name"], e["alert"]["signature"]);
                kinds.insert(field.to_string());
            } else {
                let f = &e["flow"];
                assert_eq!(c["source"]["packets"], f["pkts_toserver"]);
                assert_eq!(c["destination"]["bytes"], f["bytes_toclient"]);
            }
        }
    }
    // Matches on addresses, names in TLS, DNS and HTTP, and a certificate were all seen.
    for f in [
        "destination.ip",
        "tls.client.server_name",
        "dns.question.name",
        "url.domain",
        "tls.server.hash.sha1",
    ] {
        assert!(kinds.contains(f), "no alert matched on {f}: {kinds:?}");
    }
}

#[test]
fn the_format_comes_from_the_config_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "alert_format = \"ecs\"\n").unwrap();
    let r = c2watch(&[
        "replay",
        "--no-progress",
        "--config",
        &config.display().to_string(),
        "--intel",
        &fixture("feeds"),
        &fixture("demo.pcap"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(lines(&r).iter().all(|v| v.get("@timestamp").is_some()));
    let bad = c2watch(&[
        "replay",
        "--alert-format",
        "json",
        "--intel",
        &fixture("feeds"),
        &fixture("demo.pcap"),
    ]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("eve") && bad.stderr.contains("ecs"),
        "{}",
        bad.stderr
    );
}
