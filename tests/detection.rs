//! Victims, indicators and alert content: the schema contract, port and CIDR indicators, the
//! allowlist, inbound contacts, dedup, flow records, and worker-count independence.

mod common;
use common::*;
use serde_json::{Value, json};

fn alert_for<'a>(r: &'a Run, victim: &str) -> Vec<&'a Value> {
    r.alerts()
        .into_iter()
        .filter(|a| a["victim"]["ip"] == victim)
        .collect()
}

#[test]
fn alert_fields_follow_the_schema() {
    let r = replay(&["ethernet.pcap"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.triples(),
        vec![
            t("10.0.0.5", "203.0.113.10", "dest_ip"),
            t("10.0.0.6", "203.0.113.20", "dest_ip"),
            t("10.0.0.7", "198.51.100.0/24", "dest_ip")
        ]
    );
    let a = alert_for(&r, "10.0.0.5")[0];
    assert_eq!(a["timestamp"], "2023-11-14T22:13:20.000000+0000");
    assert_eq!(a["event_type"], "alert");
    assert!(a["flow_id"].as_u64().is_some());
    assert_eq!(a["in_iface"], "ethernet.pcap");
    assert_eq!(
        (
            a["src_ip"].clone(),
            a["src_port"].clone(),
            a["dest_ip"].clone(),
            a["dest_port"].clone()
        ),
        (
            json!("10.0.0.5"),
            json!(50000),
            json!("203.0.113.10"),
            json!(443)
        )
    );
    assert_eq!(a["proto"], "TCP");
    assert!(a.get("vlan").is_none() && a.get("tunnel").is_none());
    assert_eq!(
        a["community_id"],
        c2watch::alert::community_id::community_id(
            "10.0.0.5".parse().unwrap(),
            "203.0.113.10".parse().unwrap(),
            6,
            Some((50000, 443))
        )
    );
    assert_eq!(a["alert"]["action"], "allowed");
    assert_eq!(a["alert"]["signature_id"], 9000001);
    assert_eq!(a["alert"]["category"], "A Network Trojan was detected");
    assert_eq!(
        a["alert"]["signature"],
        "C2 contact: unknown family (c2-ips)"
    );
    assert_eq!(
        a["victim"],
        json!({"ip": "10.0.0.5", "port": 50000, "mac": "02:00:00:00:00:0e", "subscriber": null})
    );
    assert_eq!(a["c2"], json!({"ip": "203.0.113.10", "port": 443}));
    assert_eq!(
        a["threat"]["indicator"],
        json!({"type": "ipv4-addr", "value": "203.0.113.10", "matched_on": "dest_ip"})
    );
    assert_eq!(a["threat"]["feed"], json!({"name": "c2-ips"}));

    // Feed metadata travels into the alert.
    let q = alert_for(&r, "10.0.0.6")[0];
    assert_eq!(q["threat"]["software"], json!({"name": "QakBot"}));
    assert_eq!(q["threat"]["first_seen"], "2023-10-01T12:00:00Z");
    assert_eq!(q["threat"]["feed"]["name"], "feodo");
    assert_eq!(q["alert"]["signature"], "C2 contact: QakBot (feodo)");
    assert_eq!(q["proto"], "UDP");

    // ICMP carries type and code; the Spamhaus SBL id becomes the reference.
    let i = alert_for(&r, "10.0.0.7")[0];
    assert_eq!(
        (
            i["icmp_type"].clone(),
            i["icmp_code"].clone(),
            i["proto"].clone()
        ),
        (json!(8), json!(0), json!("ICMP"))
    );
    assert_eq!(
        i["threat"]["reference"],
        "https://www.spamhaus.org/sbl/query/SBL000001"
    );
    assert_eq!(i["threat"]["indicator"]["type"], "ipv4-net");
}

#[test]
fn flow_records_say_whether_the_c2_answered() {
    let r = replay(&["ethernet.pcap", "inbound.pcap"], &[]);
    let flows = r.of_type("flow");
    assert_eq!(flows.len(), 4, "one per matched flow: {}", r.stdout);
    let tcp = flows
        .iter()
        .find(|f| f["victim"]["ip"] == "10.0.0.5")
        .expect("flow of the TCP session");
    let f = &tcp["flow"];
    assert_eq!(
        (f["pkts_toserver"].clone(), f["pkts_toclient"].clone()),
        (json!(5), json!(3))
    );
    assert_eq!(
        (
            f["state"].clone(),
            f["answered"].clone(),
            f["reason"].clone()
        ),
        (json!("closed"), json!(true), json!("shutdown"))
    );
    assert!(f["bytes_toserver"].as_u64().unwrap_or(0) > 5 * 54);
    assert_eq!(tcp["tcp"]["tcp_flags_tc"], "1b");
    assert_eq!(tcp["flow_id"], alert_for(&r, "10.0.0.5")[0]["flow_id"]);
    let inbound = flows
        .iter()
        .find(|f| f["victim"]["ip"] == "10.0.10.1")
        .expect("inbound flow");
    assert_eq!(
        (
            inbound["flow"]["answered"].clone(),
            inbound["flow"]["state"].clone()
        ),
        (json!(false), json!("closed"))
    );
}

#[test]
fn port_indicators_match_only_their_port() {
    let r = replay(&["ports.pcap"], &[]);
    assert_eq!(
        r.triples(),
        vec![
            t("10.0.8.1", "203.0.113.11:4443", "dest_ip"),
            t("10.0.8.3", "203.0.113.11:4443", "dest_ip")
        ]
    );
    assert!(
        alert_for(&r, "10.0.8.2").is_empty(),
        "443 is not the listed port"
    );
}

#[test]
fn cidr_longest_prefix_and_allowlist() {
    let r = replay(&["cidr.pcap"], &[]);
    assert_eq!(
        r.triples(),
        vec![
            t("10.0.9.1", "198.51.100.0/24", "dest_ip"),
            t("10.0.9.2", "198.51.100.128/25", "dest_ip")
        ]
    );
    // The /24 is listed twice (partner list does not list it; DROP does): one source.
    assert_eq!(
        alert_for(&r, "10.0.9.1")[0]["threat"]["feed"]["name"],
        "drop"
    );
    // Without the allowlist the sinkhole host alerts.
    let feeds = fixture("feeds");
    let r = c2watch(&["replay", "--intel", &feeds, &fixture("cidr.pcap")]);
    assert_eq!(alert_for(&r, "10.0.9.3").len(), 1);
}

#[test]
fn inbound_contact_names_the_home_host() {
    let r = replay(&["inbound.pcap"], &[]);
    let a = alert_for(&r, "10.0.10.1");
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0]["src_ip"].clone(), a[0]["dest_ip"].clone()),
        (json!("203.0.113.10"), json!("10.0.10.1"))
    );
    assert_eq!(a[0]["threat"]["indicator"]["matched_on"], "src_ip");
    assert_eq!(a[0]["c2"], json!({"ip": "203.0.113.10", "port": 4444}));
    assert_eq!(a[0]["alert"]["signature_id"], 9000002);
}

#[test]
fn one_alert_per_contact_episode_of_victim_and_indicator() {
    // Contacts of 10.0.11.1 at 0, 60, 120, 300 s and 2 h; of 10.0.11.3, one long UDP flow
    // whose worker re-reports it each hour of packet time.
    let r = replay(&["dedup.pcap"], &[]);
    let times = |r: &common::Run, v: &str| {
        alert_for(r, v)
            .iter()
            .map(|a| s(&a["timestamp"]))
            .collect::<Vec<_>>()
    };
    let episodes = |r: &common::Run, v: &str| {
        r.of_type("episode")
            .into_iter()
            .filter(|e| e["victim"]["ip"] == v)
            .map(|e| {
                let ep = &e["episode"];
                (
                    s(&ep["first"]),
                    s(&ep["last"]),
                    ep["contacts"].as_u64().unwrap_or(0),
                )
            })
            .collect::<Vec<_>>()
    };
    // More than the dedup window (1 h) without contact ends an episode: the next contact
    // alerts again.
    assert_eq!(
        times(&r, "10.0.11.1"),
        [
            "2023-11-14T22:13:20.000000+0000",
            "2023-11-15T00:13:20.000000+0000"
        ]
    );
    assert_eq!(
        episodes(&r, "10.0.11.1"),
        [
            (
                "2023-11-14T22:13:20.000000+0000".into(),
                "2023-11-14T22:18:20.000000+0000".into(),
                4
            ),
            (
                "2023-11-15T00:13:20.000000+0000".into(),
                "2023-11-15T00:13:20.000000+0000".into(),
                1
            )
        ]
    );
    assert_eq!(
        times(&r, "10.0.11.2").len(),
        1,
        "another victim alerts on its own"
    );
    // The long beacon flow is one episode: one alert, three contacts, all its traffic.
    assert_eq!(times(&r, "10.0.11.3"), ["2023-11-14T22:13:25.000000+0000"]);
    assert_eq!(
        episodes(&r, "10.0.11.3"),
        [(
            "2023-11-14T22:13:25.000000+0000".into(),
            "2023-11-15T00:23:25.000000+0000".into(),
            3
        )]
    );
    let flow = r
        .of_type("flow")
        .into_iter()
        .find(|f| f["victim"]["ip"] == "10.0.11.3")
        .expect("its flow record");
    let ep = r
        .of_type("episode")
        .into_iter()
        .find(|e| e["victim"]["ip"] == "10.0.11.3")
        .expect("its episode");
    let bytes = flow["flow"]["bytes_toserver"].as_u64().unwrap_or(0)
        + flow["flow"]["bytes_toclient"].as_u64().unwrap_or(0);
    assert_eq!(ep["episode"]["bytes"], bytes);
    assert_eq!(ep["episode"]["flows"][0], flow["flow_id"]);
    assert_eq!(ep["episode"]["ended"], "end");
    // Every contact is either an alert or counted in an episode beyond its first.
    let st = r.stats();
    assert_eq!(st["alerts"]["written"], 4);
    assert_eq!(st["alerts"]["suppressed_duplicates"], 5);
    assert_eq!(st["episodes"], 4);

    // A 100 s window: the contact at 300 s comes 180 s after the last one and alerts again.
    let r = replay(&["dedup.pcap"], &["--dedup-window", "100s"]);
    assert_eq!(
        times(&r, "10.0.11.1"),
        [
            "2023-11-14T22:13:20.000000+0000",
            "2023-11-14T22:18:20.000000+0000",
            "2023-11-15T00:13:20.000000+0000"
        ]
    );
    assert_eq!(
        episodes(&r, "10.0.11.1")
            .iter()
            .map(|e| e.2)
            .collect::<Vec<_>>(),
        [3, 1, 1]
    );
}

#[test]
fn same_alerts_for_every_worker_count() {
    let all = [
        "ethernet.pcap",
        "vlan.pcap",
        "mpls.pcap",
        "pppoe.pcap",
        "gre.pcap",
        "erspan.pcap",
        "vxlan.pcap",
        "geneve.pcap",
        "gtpu.pcap",
        "ipip.pcap",
        "ipv6.pcap",
        "ports.pcap",
        "cidr.pcap",
        "inbound.pcap",
        "dedup.pcap",
        "fragments.pcap",
        "snaplen.pcap",
        "multi.pcapng",
        "demo.pcap",
    ];
    let lines = |r: &Run, kind: &str| {
        let mut v: Vec<String> = r.of_type(kind).iter().map(|e| e.to_string()).collect();
        v.sort();
        v
    };
    let one = replay(&all, &["--workers", "1"]);
    assert!(one.alerts().len() > 40);
    for n in ["2", "3", "4"] {
        let many = replay(&all, &["--workers", n]);
        assert_eq!(lines(&one, "alert"), lines(&many, "alert"), "workers {n}");
        assert_eq!(lines(&one, "flow"), lines(&many, "flow"), "workers {n}");
    }
    // With several workers the output order is still the input order.
    let many = replay(&all, &["--workers", "3"]);
    let order = |r: &Run| r.alerts().iter().map(|a| a.to_string()).collect::<Vec<_>>();
    assert_eq!(order(&one), order(&many));
}

#[test]
fn replay_is_deterministic() {
    let strip = |r: &Run| {
        r.events
            .iter()
            .filter(|e| e["event_type"] != "stats")
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    };
    let a = replay(&["demo.pcap", "dedup.pcap"], &[]);
    let b = replay(&["demo.pcap", "dedup.pcap"], &[]);
    assert_eq!(strip(&a), strip(&b));
}

#[test]
fn home_net_decides_when_both_sides_are_listed() {
    // Both endpoints of the inbound fixture listed: the home-net side is the victim.
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("both.txt");
    std::fs::write(&feed, "203.0.113.10\n10.0.10.1\n").unwrap();
    let feed = feed.display().to_string();
    let r = c2watch(&["replay", "--intel", &feed, &fixture("inbound.pcap")]);
    assert_eq!(r.triples(), vec![t("10.0.10.1", "203.0.113.10", "src_ip")]);
    // Declaring the C2's network as home flips it.
    let r = c2watch(&[
        "replay",
        "--intel",
        &feed,
        "--home-net",
        "203.0.113.0/24",
        &fixture("inbound.pcap"),
    ]);
    assert_eq!(r.triples(), vec![t("203.0.113.10", "10.0.10.1", "dest_ip")]);
}

#[test]
fn stats_event_and_summary() {
    let r = replay(&["ethernet.pcap"], &[]);
    let last = r.events.last().expect("events");
    assert_eq!(last["event_type"], "stats");
    let st = r.stats();
    assert_eq!(st["packets"], 20);
    assert_eq!(st["decode"]["not_ip"], 1);
    assert_eq!(st["alerts"]["written"], 3);
    assert_eq!(st["alerts"]["distinct_victims"], 3);
    assert_eq!(st["flows"]["matched"], 3);
    assert_eq!(st["files"]["read"], 1);
    assert_eq!(
        last["timestamp"], "2023-11-14T22:13:25.000000+0000",
        "stats carry packet time"
    );
    assert!(r.stderr.contains("20 packets"), "{}", r.stderr);
    assert!(r.stderr.contains("3 written"), "{}", r.stderr);
}

#[test]
fn output_file_and_unwritable_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.json").display().to_string();
    let r = replay(&["ethernet.pcap"], &["-o", &out]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.is_empty());
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("\"event_type\":\"alert\""))
            .count(),
        3
    );
    let r = replay(&["ethernet.pcap"], &["-o", "/nonexistent-dir/alerts.json"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("cannot create output file /nonexistent-dir/alerts.json"),
        "{}",
        r.stderr
    );
    // An output that fails while writing (a full disk) is an error, with every worker count.
    for w in ["1", "2"] {
        let r = replay(
            &["demo.pcap", "dedup.pcap"],
            &["-o", "/dev/full", "--workers", w],
        );
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("cannot write alerts: No space left on device"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn demo_finds_the_three_infected_subscribers() {
    let r = replay(&["demo.pcap"], &[]);
    assert_eq!(
        r.triples(),
        vec![
            t("10.0.0.23", "203.0.113.10", "dest_ip"),
            t("10.0.0.31", "203.0.113.20", "dest_ip"),
            t("10.0.0.42", "198.51.100.0/24", "dest_ip")
        ]
    );
    assert!(r.alerts().iter().all(|a| a["vlan"] == json!([120])));
}
