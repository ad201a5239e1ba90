//! `c2watch victims`: the notification list made from the alerts of a replay, in CSV, JSON and
//! IntelMQ form, from EVE or ECS alerts alike.

mod common;
use common::*;
use serde_json::Value;

/// Replays `pcaps` with a subscriber map, in `format`, and returns the alert file's path.
fn alerts(dir: &tempfile::TempDir, format: &str, pcaps: &[&str]) -> String {
    let map = dir.path().join("subs.csv");
    std::fs::write(
        &map,
        "network,subscriber,name\n10.0.0.42,cust-42,Ada\n10.0.0.16/29,cust-23,Grace\n",
    )
    .unwrap();
    let out = dir.path().join(format!("alerts-{format}.json"));
    let mut args = vec![
        "replay".to_string(),
        "--no-progress".into(),
        "--intel".into(),
        fixture("feeds"),
        "--subscribers".into(),
        map.display().to_string(),
        "--alert-format".into(),
        format.into(),
        "-o".into(),
        out.display().to_string(),
    ];
    args.extend(pcaps.iter().map(|p| fixture(p)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = c2watch(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    out.display().to_string()
}

#[test]
fn one_row_per_subscriber_or_address_in_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let eve = alerts(&dir, "eve", &["demo.pcap", "tls.pcap"]);
    let r = c2watch(&["victims", "--format", "json", &eve]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Value = serde_json::from_str(&r.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let find = |key: &str| {
        rows.iter()
            .find(|r| r["subscriber"] == key)
            .unwrap_or_else(|| panic!("no row {key}: {rows:?}"))
    };
    let ada = find("cust-42");
    assert_eq!(ada["source"], "static");
    assert_eq!(ada["addresses"], serde_json::json!(["10.0.0.42"]));
    assert_eq!(ada["subscriber_info"]["name"], "Ada");
    assert_eq!(ada["alerts"], 1);
    assert!(ada["first_contact"].as_str().unwrap().ends_with('Z'));
    let grace = find("cust-23");
    assert_eq!(grace["addresses"], serde_json::json!(["10.0.0.23"]));
    // 10.0.0.31 and the TLS fixture's victims have no subscriber: one row per address.
    let by_address: Vec<&Value> = rows.iter().filter(|r| r["source"] == "address").collect();
    assert!(by_address.iter().any(|r| r["subscriber"] == "10.0.0.31"));
    assert!(by_address.len() >= 2, "{rows:?}");
    let total: u64 = rows.iter().map(|r| r["alerts"].as_u64().unwrap()).sum();
    let alert_lines = std::fs::read_to_string(&eve)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"event_type\":\"alert\""))
        .count() as u64;
    assert_eq!(total, alert_lines);
    assert!(
        r.stderr.contains(&format!("{alert_lines} alert(s) read")),
        "{}",
        r.stderr
    );

    // CSV: a header and one line per row; the same rows from ECS alerts.
    let csv = c2watch(&["victims", &eve]);
    assert_eq!(csv.code, 0);
    let mut lines = csv.stdout.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("subscriber,source,addresses")
    );
    assert_eq!(lines.count(), rows.len());
    let ecs = alerts(&dir, "ecs", &["demo.pcap", "tls.pcap"]);
    let from_ecs = c2watch(&["victims", "--format", "json", &ecs]);
    assert_eq!(from_ecs.code, 0, "{}", from_ecs.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&from_ecs.stdout).unwrap(),
        Value::Array(rows.clone())
    );

    // IntelMQ: infected-system events, with the subscriber where known.
    let out = dir.path().join("intelmq.json");
    let im = c2watch(&[
        "victims",
        "--format",
        "intelmq",
        "-o",
        &out.display().to_string(),
        &eve,
    ]);
    assert_eq!(im.code, 0, "{}", im.stderr);
    let events: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!events.is_empty());
    for e in &events {
        assert_eq!(e["classification.taxonomy"], "malicious-code");
        assert_eq!(e["classification.type"], "infected-system");
        assert!(
            e["source.ip"].is_string() && e["time.source"].is_string(),
            "{e}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e["source.ip"] == "10.0.0.42" && e["extra.subscriber"] == "cust-42")
    );
}

#[test]
fn unreadable_input_is_counted_or_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "not json\n{\"event_type\":\"stats\"}\n").unwrap();
    let r = c2watch(&["victims", &junk.display().to_string()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1, "header only: {}", r.stdout);
    assert!(
        r.stderr.contains("1 other event(s), 1 unreadable line(s)"),
        "{}",
        r.stderr
    );
    let missing = dir.path().join("none.json").display().to_string();
    let r = c2watch(&["victims", &missing]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("cannot open"), "{}", r.stderr);
}

#[test]
fn a_replay_writes_the_list_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let alerts_file = alerts(&dir, "eve", &["demo.pcap"]);
    let from_file = c2watch(&["victims", "--format", "json", &alerts_file]);
    for (name, json) in [("list.json", true), ("list.csv", false)] {
        let list = dir.path().join(name);
        let r = c2watch(&[
            "replay",
            "--no-progress",
            "--intel",
            &fixture("feeds"),
            "--subscribers",
            &dir.path().join("subs.csv").display().to_string(),
            "--victims",
            &list.display().to_string(),
            &fixture("demo.pcap"),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let text = std::fs::read_to_string(&list).unwrap();
        if json {
            // The same list `c2watch victims` makes from the alert file.
            assert_eq!(
                serde_json::from_str::<Value>(&text).unwrap(),
                serde_json::from_str::<Value>(&from_file.stdout).unwrap()
            );
        } else {
            assert!(text.starts_with("subscriber,source,addresses"), "{text}");
            assert!(text.contains("cust-42,static,10.0.0.42"), "{text}");
        }
    }
    let r = c2watch(&[
        "replay",
        "--no-progress",
        "--intel",
        &fixture("feeds"),
        "--victims",
        "/nonexistent-dir/list.csv",
        &fixture("demo.pcap"),
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("victim report"), "{}", r.stderr);
    // Refused before reading anything: no alert was written.
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn xarf_reports_are_well_formed_mail_that_python_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.json");
    let alerts_arg = alerts.display().to_string();
    let r = replay(
        &["demo.pcap", "beacon.pcap.gz", "radius.pcap"],
        &["-o", &alerts_arg],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mbox = dir.path().join("reports.mbox");
    let mbox_arg = mbox.display().to_string();
    let v = c2watch(&[
        "victims",
        "--format",
        "xarf",
        "--reporter",
        "abuse@isp.example",
        "-o",
        &mbox_arg,
        &alerts_arg,
    ]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    // An independent reader: Python's mailbox and email packages.
    let script = r#"
import json, mailbox, sys
out = []
for m in mailbox.mbox(sys.argv[1]):
    assert m["X-ARF"] == "YES", m["X-ARF"]
    assert m["Auto-Submitted"] == "auto-generated"
    assert m.get_content_type() == "multipart/mixed"
    parts = m.get_payload()
    assert len(parts) == 3, len(parts)
    assert parts[1].get_filename() == "report.txt"
    report = parts[1].get_payload(decode=True).decode()
    lines = report.splitlines()
    assert lines[0] == "---"
    fields = dict(l.split(": ", 1) for l in lines[1:])
    fields = {k: v.strip('"') for k, v in fields.items()}
    out.append({"subject": m["subject"], "date": m["date"], "id": m["message-id"], **fields})
print(json.dumps(out))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, &mbox_arg])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    // demo: 3 victims; beacon: 1; radius: 5 contacts (4 sessions and an unknown address).
    assert_eq!(reports.len(), 9, "{reports:#?}");
    for rep in &reports {
        assert_eq!(rep["Report-Type"], "bot-infection");
        assert_eq!(rep["Category"], "abuse");
        assert_eq!(rep["Reported-From"], "abuse@isp.example");
        assert!(
            s(&rep["subject"]).starts_with(&format!("abuse report about {}", s(&rep["Source"])))
        );
    }
    let beacon = reports
        .iter()
        .find(|r| r["Source"] == "10.0.12.1")
        .expect("the beaconing bot");
    assert_eq!(beacon["Occurrences"], "10000");
    assert_eq!(beacon["First-Seen"], "2023-11-14T22:13:20.000000Z");
    assert_eq!(beacon["Last-Seen"], "2023-11-21T20:52:20.002000Z");
    assert_eq!(beacon["Destination"], "203.0.113.10");
    assert_eq!(beacon["Destination-Port"], "443");
    assert_eq!(beacon["date"], "Tue, 14 Nov 2023 22:13:20 +0000");
    let carol = reports
        .iter()
        .find(|r| r["Source"] == "fd00:a:b:1ff::5")
        .expect("carol");
    assert_eq!(carol["Source-Type"], "ipv6");
    assert_eq!(carol["Subscriber"], "carol@isp.example");
    // Same alerts, same reports: byte for byte.
    let again = c2watch(&[
        "victims",
        "--format",
        "xarf",
        "--reporter",
        "abuse@isp.example",
        &alerts_arg,
    ]);
    assert_eq!(again.stdout, std::fs::read_to_string(&mbox).unwrap());
}
