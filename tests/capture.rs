//! Live capture on a real veth pair between two network namespaces the test creates (root
//! needed; `.ci/run` sets C2WATCH_REQUIRE_NETNS=1 so a missing privilege fails there instead
//! of skipping). The victim namespace talks to the C2 namespace over TCP, UDP and ICMP while
//! `c2watch capture` with 2 workers watches the victim's side of the veth.
//!
//! The namespaces (and the veth with them) are removed when the test ends, pass or fail.

mod common;

use serde_json::Value;
use std::process::Command;
use std::time::Duration;

mod lab;
use lab::*;

#[test]
fn live_capture_on_a_veth_pair_with_two_fanout_workers() {
    if !can_run("live_capture_on_a_veth_pair_with_two_fanout_workers") {
        return;
    }
    let mut lab = Lab::new("cap");
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("c2.txt");
    let (victim, c2, c2_new) = (lab.addr(1), lab.addr(2), lab.addr(3));
    // A listed name that resolves to an unlisted address (.4), served by a resolver (.5).
    let (resolved, resolver) = (lab.addr(4), lab.addr(5));
    std::fs::write(&feed, format!("{c2}\nc2.lab.example\n")).expect("feed");
    let script = traffic_script();
    let c2_ns = lab.c2.clone();
    let victim_ns = lab.victim.clone();
    lab.start_until_line(&c2_ns, &["python3", &script, "serve", "0.0.0.0"]);
    lab.start_until_line(&c2_ns, &["python3", &script, "dns", &resolver, &resolved]);
    let mac = lab.mac();
    // The victim's address belongs to a subscriber (the output thread attributes live alerts).
    let subscribers = dir.path().join("subscribers.csv");
    std::fs::write(
        &subscribers,
        format!("network,subscriber\n{victim},cust-lab\n"),
    )
    .expect("map");
    let subscribers = subscribers.display().to_string();

    let sensor = start_sensor(
        &lab,
        dir.path(),
        &feed,
        &[
            "--stats-interval",
            "1s",
            "--metrics-listen",
            "127.0.0.1:9477",
            "--subscribers",
            &subscribers,
            "ip",
        ],
    );

    // TCP, UDP and ICMP from the victim to the C2: 40 flows, both directions each.
    lab.run(&victim_ns, &["python3", &script, "udp", &c2, "24"]);
    lab.run(&victim_ns, &["python3", &script, "tcp", &c2, "16"]);
    lab.run(
        &victim_ns,
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", &c2],
    );
    // The victim resolves the listed name, then connects to the answer 8 times: whichever
    // worker each connection lands on, it is matched through the shared answer cache.
    lab.run(
        &victim_ns,
        &["python3", &script, "query", &resolver, "c2.lab.example"],
    );
    lab.run(&victim_ns, &["python3", &script, "tcp", &resolved, "8"]);
    // Alerts reach the file while capture runs (not only at the stop).
    sensor.wait_for("the live alert", |_, ev| !of_type(ev, "alert").is_empty());
    sensor.wait_for("a periodic stats event", |_, ev| {
        of_type(ev, "stats")
            .iter()
            .any(|s| s["stats"]["packets"].as_u64().unwrap_or(0) >= 40)
    });

    // Metrics, read from inside the victim namespace where the endpoint listens.
    let metrics = lab.run(
        &victim_ns,
        &[
            "python3",
            "-c",
            "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:9477/metrics').read().decode())",
        ],
    );
    assert!(
        metrics.contains("c2watch_packets_total{interface=\"va\",worker=\"0\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("c2watch_indicators 2"), "{metrics}");
    assert!(
        metrics.contains("c2watch_indicator_generation 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("c2watch_feed_entries{feed=\"c2\""),
        "{metrics}"
    );

    // SIGHUP: a new C2 appears in the feed mid-run and alerts once reloaded.
    std::fs::write(&feed, format!("{c2}\nc2.lab.example\n{c2_new}\n")).expect("feed update");
    sensor.signal("HUP");
    sensor.wait_for("the reload", |log, _| log.contains("generation 2"));
    lab.run(&victim_ns, &["python3", &script, "tcp", &c2_new, "2"]);
    sensor.wait_for("the new C2's alert", |_, ev| {
        of_type(ev, "alert").iter().any(|a| a["dest_ip"] == c2_new)
    });

    // A connection still open at SIGTERM: its flow record must be flushed at the stop.
    lab.start_until_line(&victim_ns, &["python3", &script, "hold", &c2]);
    std::thread::sleep(Duration::from_millis(300));
    let (code, events, log) = stop(sensor);
    assert_eq!(code, 0, "a SIGTERM stop exits 0\n{log}");

    let alerts = of_type(&events, "alert");
    let first = alerts
        .iter()
        .find(|a| a["dest_ip"] == c2)
        .expect("an alert for the C2");
    assert_eq!(first["victim"]["ip"], victim, "{first}");
    assert_eq!(first["victim"]["mac"], mac, "{first}");
    assert_eq!(first["victim"]["subscriber"]["id"], "cust-lab", "{first}");
    assert_eq!(first["in_iface"], "va");
    let new = alerts
        .iter()
        .find(|a| a["dest_ip"] == c2_new)
        .expect("new C2 alert");
    assert_eq!(new["victim"]["ip"], victim);
    assert_eq!(new["threat"]["generation"], 2, "{new}");
    let protos: std::collections::BTreeSet<&str> = of_type(&events, "flow")
        .iter()
        .filter_map(|f| f["proto"].as_str())
        .collect();
    assert_eq!(
        protos.into_iter().collect::<Vec<_>>(),
        ["ICMP", "TCP", "UDP"],
        "flows of all three protocols"
    );

    let query = alerts
        .iter()
        .find(|a| a["threat"]["indicator"]["matched_on"] == "dns.query")
        .expect("the DNS question alerts");
    assert_eq!(query["victim"]["ip"], victim);
    let via_answer = of_type(&events, "flow")
        .iter()
        .filter(|f| f["dest_ip"] == resolved && f["proto"] == "TCP")
        .count();
    assert_eq!(
        via_answer, 8,
        "every connection to the resolved address matched"
    );

    // No flow split across workers: every flow has exactly one record, with packets in both
    // directions (a split flow would give two one-way records).
    let flows = of_type(&events, "flow");
    let mut seen = std::collections::HashMap::new();
    for f in &flows {
        *seen
            .entry(f["community_id"].as_str().unwrap_or_default().to_string())
            .or_insert(0) += 1;
        assert!(
            f["flow"]["pkts_toserver"].as_u64() > Some(0)
                && f["flow"]["pkts_toclient"].as_u64() > Some(0),
            "a one-way flow record: {f}"
        );
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "a flow seen twice: {seen:?}"
    );
    // 24 UDP + 16 TCP + 2 TCP to the new C2 + 1 ICMP + the held connection.
    // ... plus 1 DNS query and 8 connections to the resolved address.
    let expected = 53;
    assert!(flows.len() >= expected, "{} flows", flows.len());
    let held = flows
        .iter()
        .find(|f| f["flow"]["state"] != "closed" && f["proto"] == "TCP")
        .expect("the held connection's record, flushed at the stop");
    assert!(held["flow"]["pkts_toclient"].as_u64() > Some(0), "{held}");

    // The final stats: last line, both workers busy, no drops at this rate.
    let last = events.last().expect("events");
    assert_eq!(last["event_type"], "stats", "final stats last");
    let cap = &last["stats"]["capture"];
    assert_eq!(cap["kernel_drops"], 0, "{cap}");
    let workers = cap["workers"].as_array().expect("workers");
    assert_eq!(workers.len(), 2, "{cap}");
    for w in workers {
        assert_eq!(w["fanout"], true, "{w}");
        assert!(w["packets"].as_u64() > Some(0), "worker idle: {cap}");
        assert!(w["flows"]["created"].as_u64() > Some(0), "{cap}");
    }
    let created: u64 = workers
        .iter()
        .filter_map(|w| w["flows"]["created"].as_u64())
        .sum();
    assert_eq!(created, flows.len() as u64, "flows created = flow records");
    assert!(log.contains("va worker 1:"), "end-of-run summary\n{log}");
}

#[test]
fn a_syn_flood_is_bounded_by_the_flow_table_and_its_c2_contact_still_alerts() {
    use c2watch::synth::flood::{FloodConfig, VICTIM_MAC, write_flood};
    if !can_run("a_syn_flood_is_bounded_by_the_flow_table_and_its_c2_contact_still_alerts") {
        return;
    }
    let lab = Lab::new("fld");
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("c2.txt");
    std::fs::write(&feed, "198.51.100.7\n").expect("feed");
    let pcap = dir.path().join("flood.pcap");
    let syns = 60_000u64;
    let cfg = FloodConfig {
        syns,
        target: [192, 0, 2, 80],
        victim: [10, 9, 8, 7],
        c2: [198, 51, 100, 7],
        seed: 11,
    };
    write_flood(std::fs::File::create(&pcap).expect("pcap"), &cfg).expect("write flood");

    // 4096 flows in all: 2048 per worker.
    let sensor = start_sensor(&lab, dir.path(), &feed, &["--max-flows", "4096", "tcp"]);
    let pcap_arg = pcap.display().to_string();
    lab.run(
        &lab.c2,
        &["tcpreplay", "-q", "-i", "vb", "--pps", "20000", &pcap_arg],
    );
    sensor.wait_for("the C2 contact's alert", |_, ev| {
        of_type(ev, "alert")
            .iter()
            .any(|a| a["dest_ip"] == "198.51.100.7")
    });
    let hwm_kib: u64 = std::fs::read_to_string(format!("/proc/{}/status", sensor.child.id()))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let (code, events, log) = stop(sensor);
    assert_eq!(code, 0, "{log}");
    let alert = of_type(&events, "alert")
        .into_iter()
        .find(|a| a["dest_ip"] == "198.51.100.7")
        .cloned()
        .expect("alert");
    assert_eq!(alert["victim"]["ip"], "10.9.8.7");
    let mac: Vec<String> = VICTIM_MAC.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(alert["victim"]["mac"], mac.join(":"));

    let stats = &events.last().expect("events")["stats"];
    let workers = stats["capture"]["workers"].as_array().expect("workers");
    let sum = |f: &dyn Fn(&Value) -> Option<u64>| workers.iter().filter_map(f).sum::<u64>();
    let packets = sum(&|w| w["packets"].as_u64());
    assert_eq!(packets, syns + 2, "every packet read: {stats}");
    assert_eq!(stats["capture"]["kernel_drops"], 0, "{stats}");
    let created = sum(&|w| w["flows"]["created"].as_u64());
    let evicted = sum(&|w| w["flows"]["evicted"].as_u64());
    assert!(created >= syns, "{stats}");
    assert!(evicted >= syns - 4096, "evictions counted: {stats}");
    for w in workers {
        // Active flows at the stop were flushed; the table never held more than its share.
        assert!(w["flows"]["created"].as_u64() > Some(2048), "{w}");
    }
    eprintln!(
        "flood: {packets} packets, {created} flows, {evicted} evicted, peak RSS {} MiB",
        hwm_kib / 1024
    );
}

#[test]
fn drops_root_after_opening_and_reopens_its_log_on_sighup() {
    if !can_run("drops_root_after_opening_and_reopens_its_log_on_sighup") {
        return;
    }
    // The folder is one the service user can read and write (its log, the feed).
    let (lab, dir, script) = lab_with_servers("usr");
    let feed = dir.path().join("c2.txt");
    let (c2, c2_other) = (lab.addr(2), lab.addr(3));
    std::fs::write(&feed, format!("{c2}\n{c2_other}\n")).expect("feed");
    let victim_ns = lab.victim.clone();
    let sensor = start_sensor(
        &lab,
        dir.path(),
        &feed,
        // Two interfaces: the veth and the namespace's loopback.
        &["-i", "lo", "--user", "nobody", "--group", "nogroup", "ip"],
    );
    sensor.wait_for("the privilege drop", |log, _| {
        log.contains("running as uid 65534")
    });
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", sensor.child.id())).expect("status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(field("Uid:"), ["65534"; 4], "{status}");
    assert_eq!(field("Gid:"), ["65534"; 4], "{status}");
    assert_eq!(field("CapEff:"), ["0000000000000000"], "{status}");
    assert_eq!(field("CapPrm:"), ["0000000000000000"], "{status}");

    lab.run(&victim_ns, &["ping", "-c", "2", "-i", "0.2", "127.0.0.1"]);
    lab.run(&victim_ns, &["python3", &script, "tcp", &c2, "1"]);
    sensor.wait_for("the first alert", |_, ev| !of_type(ev, "alert").is_empty());
    // logrotate: move the log away, then SIGHUP; the next alert goes to a new file.
    let rotated = dir.path().join("alerts.json.1");
    std::fs::rename(&sensor.alerts, &rotated).expect("rotate");
    sensor.signal("HUP");
    sensor.wait_for("the SIGHUP reload", |log, _| log.contains("generation 2"));
    lab.run(&victim_ns, &["python3", &script, "tcp", &c2_other, "1"]);
    sensor.wait_for("an alert in the new file", |_, ev| {
        !of_type(ev, "alert").is_empty()
    });
    let (code, events, log) = stop(sensor);
    assert_eq!(code, 0, "{log}");
    let old: Vec<Value> = std::fs::read_to_string(&rotated)
        .expect("rotated")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(
        of_type(&old, "alert").len(),
        1,
        "the rotated file kept its alert"
    );
    assert_eq!(
        of_type(&events, "alert").len(),
        1,
        "the new file has the next one"
    );
    let last = events.last().expect("events");
    assert_eq!(last["event_type"], "stats");
    let workers = last["stats"]["capture"]["workers"]
        .as_array()
        .expect("workers");
    let on = |iface: &str| {
        workers
            .iter()
            .filter(|w| w["interface"] == iface)
            .filter_map(|w| w["packets"].as_u64())
            .sum::<u64>()
    };
    assert_eq!(workers.len(), 4, "2 workers on each interface: {workers:?}");
    assert!(
        on("va") > 0 && on("lo") >= 2,
        "both interfaces read: {workers:?}"
    );
}

fn c2watch(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_c2watch"))
        .args(args)
        .output()
        .expect("run c2watch");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_validates_config_interfaces_filter_and_feeds_without_capturing() {
    let cfg = common::root()
        .join("rules/c2watch.example.toml")
        .display()
        .to_string();
    let (code, out, err) = c2watch(&["capture", "--config", &cfg, "--check", "tcp", "port", "443"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("interface lo: ok"), "{out}");
    assert!(out.contains("filter `tcp port 443`: ok"), "{out}");
    assert!(out.contains("ok: would capture on lo"), "{out}");

    let (code, _, err) = c2watch(&["capture", "--config", &cfg, "-i", "c2w-none9", "--check"]);
    assert_eq!(code, 1);
    assert!(err.contains("no interface named c2w-none9"), "{err}");
    let (code, _, err) = c2watch(&["capture", "--config", &cfg, "--check", "port", "and"]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid capture filter `port and`"), "{err}");
    let (code, _, err) = c2watch(&["capture", "--intel", &common::fixture("feeds"), "--check"]);
    assert_eq!(code, 1);
    assert!(err.contains("no interface: give -i"), "{err}");
    let (code, _, err) = c2watch(&[
        "capture",
        "--config",
        &cfg,
        "--user",
        "no-such-user-c2w",
        "--check",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--user no-such-user-c2w: no such user"),
        "{err}"
    );
    let (code, _, err) = c2watch(&[
        "capture", "--config", &cfg, "--filter", "tcp", "--check", "udp",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("either with --filter or as trailing words"),
        "{err}"
    );
}

#[test]
fn runs_unprivileged_with_only_the_capture_capabilities() {
    if !can_run("runs_unprivileged_with_only_the_capture_capabilities") {
        return;
    }
    // As systemd starts it with deploy/c2watch.service: a plain user with CAP_NET_RAW and
    // CAP_NET_ADMIN as ambient capabilities, no root at any point.
    let (lab, dir, script) = lab_with_servers("amb");
    let feed = dir.path().join("c2.txt");
    let (c2, victim_ns) = (lab.addr(2), lab.victim.clone());
    std::fs::write(&feed, format!("{c2}\n")).expect("feed");
    let sensor = start_sensor_with(
        &lab,
        dir.path(),
        &feed,
        &[
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--inh-caps=+net_raw,+net_admin",
            "--ambient-caps=+net_raw,+net_admin",
        ],
        &["ip"],
    );
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", sensor.child.id())).expect("status");
    assert!(status.contains("Uid:\t65534"), "{status}");
    lab.run(&victim_ns, &["python3", &script, "tcp", &c2, "1"]);
    sensor.wait_for("the alert", |_, ev| !of_type(ev, "alert").is_empty());
    let (code, events, log) = stop(sensor);
    assert_eq!(code, 0, "{log}");
    assert_eq!(of_type(&events, "alert")[0]["dest_ip"], c2);

    // Without the capabilities: a clear error saying what is missing.
    let feed_arg = feed.display().to_string();
    let out = lab
        .exec(
            &victim_ns,
            &[
                "setpriv",
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                env!("CARGO_BIN_EXE_c2watch"),
                "capture",
                "-i",
                "va",
                "--intel",
                &feed_arg,
            ],
        )
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot capture on va") && err.contains("CAP_NET_RAW"),
        "{err}"
    );
}

#[test]
fn an_interface_that_goes_away_stops_capture_with_an_error_and_keeps_the_alerts() {
    if !can_run("an_interface_that_goes_away_stops_capture_with_an_error_and_keeps_the_alerts") {
        return;
    }
    let (lab, dir, script) = lab_with_servers("gone");
    let feed = dir.path().join("c2.txt");
    let (c2, victim_ns) = (lab.addr(2), lab.victim.clone());
    std::fs::write(&feed, format!("{c2}\n")).expect("feed");
    let mut sensor = start_sensor(&lab, dir.path(), &feed, &["ip"]);
    lab.run(&victim_ns, &["python3", &script, "tcp", &c2, "1"]);
    sensor.wait_for("the alert", |_, ev| !of_type(ev, "alert").is_empty());
    ip(&["-n", &victim_ns, "link", "del", "va"]);
    let code = wait_exit(&mut sensor, "c2watch kept running without its interface");
    let log = sensor.log();
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("capture stopped: reading from va"), "{log}");
    let events = sensor.events();
    assert_eq!(of_type(&events, "alert").len(), 1);
    assert_eq!(events.last().expect("events")["event_type"], "stats");
}
