//! Static subscriber maps (`--subscribers`): every alert and flow record names the customer
//! behind its victim address, the most specific block wins, IPv6 delegations of any length
//! work, an address no block covers says `null`, and a bad map is a clear error.

mod common;
use common::*;
use std::collections::BTreeMap;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Replays a fixture with the demo feeds, `--subscribers` for each map, and `extra` flags.
fn replay(pcap: &str, maps: &[&str], extra: &[&str]) -> Run {
    let feeds = fixture("feeds");
    let pcap = fixture(pcap);
    let mut args = vec!["replay", "--no-progress", "--intel", &feeds];
    for m in maps {
        args.extend(["--subscribers", m]);
    }
    args.extend(extra);
    args.push(&pcap);
    c2watch(&args)
}

/// victim ip → subscriber id (or "null"), checked to agree across a run's alerts and flows.
fn subscribers(r: &Run) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for e in r.of_type("alert").into_iter().chain(r.of_type("flow")) {
        let sub = &e["victim"]["subscriber"];
        let id = if sub.is_null() {
            "null".to_string()
        } else {
            assert_eq!(sub["source"], "static", "{sub}");
            s(&sub["id"])
        };
        let ip = s(&e["victim"]["ip"]);
        let seen = m.entry(ip.clone()).or_insert_with(|| id.clone());
        assert_eq!(*seen, id, "{ip} attributed two ways");
    }
    m
}

#[test]
fn alerts_and_flows_name_the_subscriber() {
    let dir = tempfile::tempdir().unwrap();
    let map = write(
        &dir,
        "static.csv",
        "network,subscriber,name,phone\n10.0.0.42,cust-42,Ada,+965 555 0142\n10.0.0.16/29,cust-23,Grace,\n",
    );
    let r = replay("demo.pcap", &[&map], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = subscribers(&r);
    let want: BTreeMap<String, String> = [
        ("10.0.0.23", "cust-23"),
        ("10.0.0.31", "null"),
        ("10.0.0.42", "cust-42"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    let ada = r
        .alerts()
        .into_iter()
        .find(|a| s(&a["victim"]["ip"]) == "10.0.0.42")
        .unwrap()["victim"]["subscriber"]
        .clone();
    assert_eq!(ada["name"], "Ada");
    assert_eq!(ada["phone"], "+965 555 0142");
    assert_eq!(ada["network"], "10.0.0.42/32");
    assert_eq!(ada["map"], map.as_str());
    // Without a map the key is there and null.
    let plain = replay("demo.pcap", &[], &[]);
    assert!(
        plain
            .alerts()
            .iter()
            .all(|a| a["victim"]["subscriber"].is_null())
    );
}

#[test]
fn ipv6_delegations_and_later_maps_override() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(
        &dir,
        "a.csv",
        "network,subscriber\nfd00::/56,cust-v6\nfd00::4,cust-v6-host\n",
    );
    let second = write(
        &dir,
        "b.csv",
        "network,subscriber\nfd00::2/128,cust-moved\n",
    );
    let r = replay("ipv6.pcap", &[&first, &second], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = subscribers(&r);
    assert_eq!(got.get("fd00::1").map(String::as_str), Some("cust-v6"));
    assert_eq!(got.get("fd00::2").map(String::as_str), Some("cust-moved"));
    assert_eq!(got.get("fd00::4").map(String::as_str), Some("cust-v6-host"));
    assert_eq!(got.get("fd00::5").map(String::as_str), Some("cust-v6"));
}

#[test]
fn maps_from_the_config_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "map.csv", "network,subscriber\n10.0.0.0/24,pool-a\n");
    let config = write(&dir, "c2watch.toml", "subscribers = [\"map.csv\"]\n");
    let r = replay("demo.pcap", &[], &["--config", &config]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(subscribers(&r).values().all(|id| id == "pool-a"));

    let bad = write(&dir, "bad.csv", "ip,customer\n10.0.0.1,x\n");
    let r = replay("demo.pcap", &[&bad], &[]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("bad.csv:1") && r.stderr.contains("network,subscriber"),
        "{}",
        r.stderr
    );
    let missing = dir.path().join("nope.csv").display().to_string();
    let r = replay("demo.pcap", &[&missing], &[]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("nope.csv") && r.stderr.contains("cannot open"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_lease_that_changes_owner_mid_capture() {
    let dir = tempfile::tempdir().unwrap();
    // 10.0.11.1 contacts the C2 at 22:13:20, 22:14:20, 22:15:20, 22:18:20 and two hours later;
    // at 22:15 its address passes from one subscriber to another (01:15+03:00 is 22:15Z).
    let leases = write(
        &dir,
        "leases.csv",
        "address,start,end,subscriber,calling_station_id\n\
         10.0.11.1,2023-11-14T22:00:00Z,2023-11-15T01:15:00+03:00,alice,02-00-00-00-0A-01\n\
         10.0.11.1,2023-11-14T22:15:00Z,,bob,02-00-00-00-0B-01\n",
    );
    let r = replay("dedup.pcap", &[&leases], &["--dedup-window", "1s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let seen: Vec<(String, String)> = r
        .alerts()
        .into_iter()
        .filter(|a| s(&a["victim"]["ip"]) == "10.0.11.1")
        .map(|a| {
            let sub = &a["victim"]["subscriber"];
            assert_eq!(sub["source"], "lease", "{sub}");
            (s(&a["timestamp"])[11..19].to_string(), s(&sub["id"]))
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("22:13:20", "alice"),
        ("22:14:20", "alice"),
        ("22:15:20", "bob"),
        ("22:18:20", "bob"),
        ("00:13:20", "bob"),
    ]
    .into_iter()
    .map(|(t, w)| (t.to_string(), w.to_string()))
    .collect();
    assert_eq!(seen, want);
    let bob = r
        .alerts()
        .into_iter()
        .rev()
        .find(|a| s(&a["victim"]["ip"]) == "10.0.11.1")
        .unwrap()["victim"]["subscriber"]
        .clone();
    assert_eq!(bob["lease"]["start"], "2023-11-14T22:15:00Z");
    assert!(bob["lease"]["end"].is_null());
    assert_eq!(bob["calling_station_id"], "02-00-00-00-0B-01");
    // Other victims in the capture hold no lease: null, not a guess.
    assert!(
        r.alerts()
            .iter()
            .filter(|a| s(&a["victim"]["ip"]) != "10.0.11.1")
            .all(|a| a["victim"]["subscriber"].is_null())
    );
}

#[test]
fn a_cgnat_port_block_names_the_subscriber_behind_a_shared_address() {
    let dir = tempfile::tempdir().unwrap();
    // 10.0.0.23 stands for a CGNAT's public address here: its ports 50200-50299 belong to one
    // subscriber, 50300 upwards to another; 10.0.0.42 is shared too, but not 10.0.0.31.
    let blocks = write(
        &dir,
        "cgnat.csv",
        "public_address,port_start,port_end,start,end,subscriber\n\
         10.0.0.23,50200,50299,2000-01-01T00:00:00Z,,cust-low\n\
         10.0.0.23,50300,50399,2000-01-01T00:00:00Z,,cust-high\n\
         10.0.0.42,50300,50300,2000-01-01T00:00:00Z,2001-01-01T00:00:00Z,expired\n",
    );
    let r = replay("demo.pcap", &[&blocks], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for e in r.of_type("alert").into_iter().chain(r.of_type("flow")) {
        let v = &e["victim"];
        let sub = &v["subscriber"];
        match s(&v["ip"]).as_str() {
            "10.0.0.23" => {
                assert_eq!(sub["id"], "cust-low", "{e}");
                assert_eq!(sub["source"], "cgnat");
                assert_eq!(sub["port_block"]["start"], 50200);
            }
            // The block for its port had ended before the capture.
            _ => assert!(sub.is_null(), "{e}"),
        }
    }
}

#[test]
fn radius_accounting_on_the_wire_names_the_subscriber_at_packet_time() {
    // radius.pcap: Start alice (100.64.5.10) at 0 s, her contact at 10 s, Interim at 20 s,
    // Stop at 30 s; Start bob (same address) at 31 s, his contact at 40 s; carol gets
    // fd00:a:b:100::/56 delegated and dave fd00:a:c:1::/64 framed, each contacts a C2; one
    // broken accounting message; 100.64.5.99 has no session.
    let r = replay("radius.pcap", &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let by_port: BTreeMap<u64, serde_json::Value> = r
        .alerts()
        .iter()
        .filter_map(|a| Some((a["src_port"].as_u64()?, a["victim"]["subscriber"].clone())))
        .collect();
    let id = |port: u64| s(&by_port[&port]["id"]);
    assert_eq!(id(41000), "alice@isp.example");
    assert_eq!(id(41001), "bob@isp.example", "the address changed owner");
    assert_eq!(id(41002), "carol@isp.example", "inside her delegated /56");
    assert_eq!(id(41003), "dave@isp.example");
    assert!(by_port[&41004].is_null(), "no session: null, never a guess");
    let alice = &by_port[&41000];
    assert_eq!(alice["source"], "radius");
    assert_eq!(alice["network"], "100.64.5.10/32");
    assert_eq!(alice["lease"]["start"], "2023-11-14T22:13:20Z");
    assert_eq!(alice["session_id"], "s-1");
    assert_eq!(alice["calling_station_id"], "02-00-00-00-05-0a");
    assert_eq!(alice["nas"], "192.0.2.1");
    assert_eq!(by_port[&41002]["network"], "fd00:a:b:100::/56");
    // Alice's flow ends after her Stop: its record still names her (looked up at its start),
    // with the session's end now known.
    let flow = r
        .of_type("flow")
        .into_iter()
        .find(|f| f["src_port"] == 41000)
        .expect("alice's flow");
    assert_eq!(flow["victim"]["subscriber"]["id"], "alice@isp.example");
    assert_eq!(
        flow["victim"]["subscriber"]["lease"]["end"],
        "2023-11-14T22:13:50Z"
    );
    let st = r.stats();
    assert_eq!(st["radius"]["messages"], 7, "6 requests and a response");
    assert_eq!(st["radius"]["malformed"], 1);
    // The same with two workers.
    let two = replay("radius.pcap", &[], &["--workers", "2"]);
    assert_eq!(two.alerts(), r.alerts());

    // A RADIUS session is more precise than a static pool; the pool still covers the rest.
    let dir = tempfile::tempdir().unwrap();
    let pool = write(
        &dir,
        "pool.csv",
        "network,subscriber\n100.64.0.0/10,cgn-pool\n",
    );
    let r = replay("radius.pcap", &[&pool], &[]);
    let ids: BTreeMap<u64, String> = r
        .alerts()
        .iter()
        .filter_map(|a| Some((a["src_port"].as_u64()?, s(&a["victim"]["subscriber"]["id"]))))
        .collect();
    assert_eq!(ids[&41000], "alice@isp.example");
    assert_eq!(ids[&41004], "cgn-pool");

    // Turned off: nothing is read.
    for off in [
        vec!["--no-radius".to_string()],
        vec![
            "--config".to_string(),
            write(&dir, "c.toml", "radius = false\n"),
        ],
    ] {
        let off: Vec<&str> = off.iter().map(String::as_str).collect();
        let r = replay("radius.pcap", &[], &off);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.alerts()
                .iter()
                .all(|a| a["victim"]["subscriber"].is_null())
        );
        assert_eq!(r.stats()["radius"]["messages"], 0);
    }
}
