//! Contact episodes: the first contact of a victim with an indicator alerts; later contacts
//! fold into one `episode` event written when the episode ends. `beacon.pcap.gz` is a bot
//! beaconing once a minute for a week (10,000 refused TCP connections).

mod common;
use common::*;
use serde_json::Value;

fn sum_flow_bytes(r: &Run) -> (u64, u64) {
    r.of_type("flow").iter().fold((0, 0), |(p, b), f| {
        let n = |k: &str| f["flow"][k].as_u64().unwrap_or(0);
        (
            p + n("pkts_toserver") + n("pkts_toclient"),
            b + n("bytes_toserver") + n("bytes_toclient"),
        )
    })
}

#[test]
fn ten_thousand_beacons_are_one_alert_and_one_episode_of_ten_thousand_contacts() {
    let mut seen: Option<(Value, Value)> = None;
    for workers in ["1", "2"] {
        let r = replay(&["beacon.pcap.gz"], &["--workers", workers]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let alerts = r.alerts();
        assert_eq!(alerts.len(), 1, "one alert");
        assert_eq!(
            s(&alerts[0]["timestamp"]),
            "2023-11-14T22:13:20.000000+0000"
        );
        let eps = r.of_type("episode");
        assert_eq!(eps.len(), 1, "one episode");
        let e = eps[0];
        let ep = &e["episode"];
        assert_eq!(ep["contacts"], 10_000);
        assert_eq!(s(&ep["first"]), "2023-11-14T22:13:20.000000+0000");
        // The last beacon (9,999 minutes later) and its refusal 2 ms after.
        assert_eq!(s(&ep["last"]), "2023-11-21T20:52:20.002000+0000");
        assert_eq!(s(&e["timestamp"]), s(&ep["last"]));
        assert_eq!(ep["duration_s"], 9999.0 * 60.0 + 0.002);
        // Nothing lost: the first 8 flows listed, the other 9,992 counted, every packet and
        // byte of every flow in the totals.
        assert_eq!(ep["flows"].as_array().map(Vec::len), Some(8));
        assert_eq!(ep["community_ids"].as_array().map(Vec::len), Some(8));
        assert_eq!(ep["more_flows"], 9_992);
        assert_eq!(ep["flows"][0], alerts[0]["flow_id"]);
        assert_eq!(ep["community_ids"][0], alerts[0]["community_id"]);
        assert_eq!(r.of_type("flow").len(), 10_000, "a flow record per beacon");
        let (packets, bytes) = sum_flow_bytes(&r);
        assert_eq!(
            (ep["packets"].as_u64(), ep["bytes"].as_u64()),
            (Some(packets), Some(bytes))
        );
        assert_eq!(packets, 20_000);
        assert_eq!(ep["c2_ports"], serde_json::json!([443]));
        assert_eq!(ep["ended"], "end", "still beaconing when the capture ends");
        // The episode names the same victim, C2 and indicator as the alert.
        for k in ["victim", "c2", "threat", "alert", "src_ip", "dest_ip"] {
            assert_eq!(e[k], alerts[0][k], "{k}");
        }
        let st = r.stats();
        assert_eq!(st["alerts"]["written"], 1);
        assert_eq!(st["alerts"]["suppressed_duplicates"], 9_999);
        assert_eq!(st["episodes"], 1);
        // The same alert and episode with any number of workers.
        let now = (alerts[0].clone(), e.clone());
        if let Some(before) = &seen {
            assert_eq!(before, &now, "workers {workers}");
        }
        seen = Some(now);
    }
}

#[test]
fn an_idle_gap_ends_the_episode_and_the_next_contact_alerts_again() {
    // With a 30 s window every beacon (a minute apart) is its own episode: each alerts.
    let r = replay(&["beacon.pcap.gz"], &["--dedup-window", "30s"]);
    assert_eq!(r.alerts().len(), 10_000);
    let eps = r.of_type("episode");
    assert_eq!(eps.len(), 10_000);
    assert!(eps.iter().all(|e| e["episode"]["contacts"] == 1));
    let idle = eps
        .iter()
        .filter(|e| e["episode"]["ended"] == "idle")
        .count();
    assert_eq!(idle, 9_999, "the last one ends with the capture");
    // A window of 0 turns folding off: every contact alerts, no episodes.
    let r = replay(&["dedup.pcap"], &["--dedup-window", "0"]);
    assert!(r.of_type("episode").is_empty());
    assert_eq!(r.stats()["alerts"]["suppressed_duplicates"], 0);
}

#[test]
fn one_subscriber_behind_two_addresses_is_one_victim() {
    let dir = tempfile::tempdir().expect("tempdir");
    let map = dir.path().join("subscribers.csv");
    std::fs::write(
        &map,
        "network,subscriber\n10.0.11.1/32,cust-x\n10.0.11.2/32,cust-x\n",
    )
    .expect("map");
    let map = map.display().to_string();
    let r = replay(&["dedup.pcap"], &["--subscribers", &map]);
    // 10.0.11.2's contact at 30 s folds into cust-x's episode opened by 10.0.11.1 at 0 s.
    let cust: Vec<&Value> = r
        .alerts()
        .into_iter()
        .filter(|a| a["victim"]["subscriber"]["id"] == "cust-x")
        .collect();
    let times: Vec<String> = cust.iter().map(|a| s(&a["timestamp"])).collect();
    assert_eq!(
        times,
        [
            "2023-11-14T22:13:20.000000+0000",
            "2023-11-15T00:13:20.000000+0000"
        ]
    );
    let eps: Vec<u64> = r
        .of_type("episode")
        .into_iter()
        .filter(|e| e["victim"]["subscriber"]["id"] == "cust-x")
        .filter_map(|e| e["episode"]["contacts"].as_u64())
        .collect();
    assert_eq!(
        eps,
        [5, 1],
        "4 contacts of .1 and 1 of .2, then .1 two hours later"
    );
}

#[test]
fn the_victim_report_and_the_ecs_form_carry_the_episodes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("victims.json");
    let report_arg = report.display().to_string();
    let r = replay(&["beacon.pcap.gz"], &["--victims", &report_arg]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    assert_eq!(rows[0]["subscriber"], "10.0.12.1");
    assert_eq!(
        (&rows[0]["alerts"], &rows[0]["contacts"]),
        (&1.into(), &10_000.into())
    );
    assert_eq!(rows[0]["first_contact"], "2023-11-14T22:13:20.000000Z");
    assert_eq!(rows[0]["last_contact"], "2023-11-21T20:52:20.002000Z");
    // `c2watch victims` reads the same from the alert stream, in either form.
    for format in ["eve", "ecs"] {
        let out = dir.path().join(format!("alerts-{format}.json"));
        let out_arg = out.display().to_string();
        let r = replay(
            &["beacon.pcap.gz"],
            &["--alert-format", format, "-o", &out_arg],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v = c2watch(&["victims", "--format", "json", &out_arg]);
        assert_eq!(v.code, 0, "{}", v.stderr);
        let rows: Value = serde_json::from_str(&v.stdout).expect("json");
        assert_eq!(rows[0]["contacts"], 10_000, "{format}");
        if format == "ecs" {
            let text = std::fs::read_to_string(&out).expect("ecs");
            let ep: Value = text
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|e| e["c2watch"]["event_type"] == "episode")
                .expect("the episode");
            assert_eq!(ep["event"]["kind"], "event");
            assert_eq!(ep["event"]["start"], "2023-11-14T22:13:20.000000Z");
            assert_eq!(ep["event"]["end"], "2023-11-21T20:52:20.002000Z");
            assert_eq!(ep["c2watch"]["episode"]["contacts"], 10_000);
            assert_eq!(ep["source"]["ip"], "10.0.12.1");
        }
    }
}
