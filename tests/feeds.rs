//! Feed loading as a user meets it: formats detected from content, bad lines counted with
//! file and line, broken feeds rejected with a reason, the config file and CLI errors.

mod common;
use common::*;
use serde_json::json;

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn intel_check_reports_every_file() {
    let r = c2watch(&[
        "intel",
        "check",
        "--intel",
        &fixture("feeds"),
        "--allow",
        &fixture("allow"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("c2-ips ("), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("as plain, 7 entries, skipped: 1 unparsable"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("as feodo-csv, 2 entries, skipped: 1 bad-ip"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("as spamhaus, 2 entries"), "{}", r.stdout);
    assert!(
        r.stdout.contains("allowlist as plain, 1 entries"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("ok: 18 indicators, 1 allowlist entries"),
        "{}",
        r.stdout
    );
    // Bad lines are logged with file and line number.
    assert!(
        r.stderr
            .contains("c2-ips.txt:9: skipped (unparsable): this is not an indicator"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("feodo.csv:9: skipped (bad-ip): not-an-ip"),
        "{}",
        r.stderr
    );
}

#[test]
fn intel_lookup_explains_a_match() {
    let r = c2watch(&[
        "intel",
        "lookup",
        "--intel",
        &fixture("feeds"),
        "198.51.100.130",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["match"]["value"], "198.51.100.128/25");
    assert_eq!(v["home_net"], false);
    let r = c2watch(&[
        "intel",
        "lookup",
        "--intel",
        &fixture("feeds"),
        "203.0.113.11:443",
    ]);
    assert_eq!(r.code, 3, "no match is exit 3");
    let r = c2watch(&["intel", "lookup", "--intel", &fixture("feeds"), "bogus"]);
    assert_eq!(r.code, 1);
    let r = c2watch(&["intel", "stats", "--intel", &fixture("feeds")]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["by_type"]["ip-port"], 2);
    assert_eq!(v["by_feed"]["feodo"], 2);
}

#[test]
fn every_supported_format_is_detected_and_matched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let feeds = [
        write(
            d,
            "feodo.txt",
            "# Feodo Tracker\n# Last updated\n203.0.113.10\n",
        ),
        write(
            d,
            "feodo.json",
            r#"[{"ip_address": "203.0.113.10", "port": 443, "status": "online", "hostname": null, "as_number": 64500, "as_name": "X", "country": "ZZ", "first_seen": "2023-10-01 12:00:00", "last_online": "2023-11-01", "malware": "QakBot"}]"#,
        ),
        write(
            d,
            "legacy.csv",
            "# Firstseen,DstIP,DstPort,LastOnline,Malware\n2019-01-01 00:00:00,203.0.113.10,447,2019-01-02,TrickBot\n",
        ),
        write(
            d,
            "drop_v4.json",
            "{\"cidr\":\"203.0.113.0/24\",\"sblid\":\"SBL9\",\"rir\":\"arin\"}\n{\"type\":\"metadata\",\"timestamp\":1700000000,\"size\":1,\"records\":1}\n",
        ),
    ];
    for f in &feeds {
        let r = c2watch(&["replay", "--intel", f, &fixture("ethernet.pcap")]);
        assert_eq!(r.code, 0, "{f}: {}", r.stderr);
        assert!(
            r.triples().contains(&t(
                "10.0.0.5",
                if f.ends_with("drop_v4.json") {
                    "203.0.113.0/24"
                } else {
                    "203.0.113.10"
                },
                "dest_ip"
            )),
            "{f}: {}",
            r.stdout
        );
    }
    let r = c2watch(&[
        "intel", "check", "--intel", &feeds[1], "--intel", &feeds[2], "--intel", &feeds[3],
    ]);
    assert!(
        r.stdout.contains("as feodo-json, 1 entries")
            && r.stdout.contains("as feodo-csv, 1 entries")
            && r.stdout.contains("as spamhaus-json, 1 entries"),
        "{}",
        r.stdout
    );
    // Metadata of the JSON feed reaches the alert.
    let r = c2watch(&["replay", "--intel", &feeds[1], &fixture("ethernet.pcap")]);
    let a = r.alert_for("10.0.0.5");
    assert_eq!(a["threat"]["software"]["name"], "QakBot");
    // An indicator listed by several feeds names them all.
    let r = c2watch(&[
        "replay",
        "--intel",
        &feeds[0],
        "--intel",
        &feeds[1],
        &fixture("ethernet.pcap"),
    ]);
    let a = r.alert_for("10.0.0.5");
    assert_eq!(
        a["threat"]["sources"].as_array().map(Vec::len),
        Some(2),
        "{a}"
    );
    // FORMAT:PATH forces a format.
    let r = c2watch(&["intel", "check", "--intel", &format!("plain:{}", feeds[0])]);
    assert!(r.stdout.contains("as plain"), "{}", r.stdout);
}

#[test]
fn broken_feeds_are_rejected_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        (
            write(d, "junk.txt", "hello world\nnot an ip\n"),
            "no valid indicator in 2 data rows",
        ),
        (
            write(d, "drop.txt", "; Spamhaus DROP\n198.51.100.0/24 ; SBL1\n"),
            "no `; EOF` line",
        ),
        (
            write(
                d,
                "drop_v4.json",
                "{\"cidr\":\"198.51.100.0/24\",\"sblid\":\"SBL1\"}\n{\"type\":\"metadata\",\"records\":5}\n",
            ),
            "announces 5 records but the file has 1",
        ),
        (
            write(d, "feodo.json", "[{\"ip_address\": \"203.0.113.1\""),
            "invalid Feodo JSON",
        ),
        (d.join("missing.txt").display().to_string(), "cannot open"),
        ("weird:x".to_string(), "unknown feed format `weird`"),
    ];
    for (path, why) in &cases {
        let r = c2watch(&["replay", "--intel", path, &fixture("vlan.pcap")]);
        assert_eq!(r.code, 1, "{path}");
        assert!(
            r.stderr.contains(why),
            "{path}: expected `{why}` in {}",
            r.stderr
        );
        assert!(
            r.stdout.is_empty(),
            "no alerts from a run that could not load its feeds"
        );
    }
    // Comment-only feeds (retired lists) are valid and empty.
    let empty = write(
        d,
        "edrop.txt",
        "; Spamhaus EDROP List\n; merged into DROP\n; EOF\n",
    );
    let ok = write(d, "ok.txt", "203.0.113.10\n");
    let r = c2watch(&[
        "replay",
        "--intel",
        &empty,
        "--intel",
        &ok,
        &fixture("vlan.pcap"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("feed is empty"), "{}", r.stderr);
    // Invalid UTF-8 and CRLF lines are handled.
    let p = d.join("mixed.txt");
    std::fs::write(
        &p,
        b"\xef\xbb\xbf203.0.113.10\r\n\xff\xfe\r\n198.51.100.0/24\r\n",
    )
    .unwrap();
    let r = c2watch(&["intel", "check", "--intel", p.to_str().unwrap()]);
    assert!(
        r.stdout.contains("2 entries, skipped: 1 bad-encoding"),
        "{}",
        r.stdout
    );
}

#[test]
fn config_file_and_flag_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("feeds")).unwrap();
    std::fs::copy(fixture("feeds/c2-ips.txt"), d.join("feeds/c2-ips.txt")).unwrap();
    let cfg = write(
        d,
        "c2watch.toml",
        "intel = [\"feeds\"]\nhome_net = [\"10.0.0.0/8\"]\nworkers = 2\ndedup_window = \"100s\"\n[flow]\nmax_flows = 5000\nudp_timeout = 600\n",
    );
    let r = c2watch(&["replay", "--config", &cfg, &fixture("dedup.pcap")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stats()["workers"], 2);
    assert_eq!(
        r.alerts()
            .iter()
            .filter(|a| a["victim"]["ip"] == "10.0.11.1")
            .count(),
        3,
        "dedup_window from the config: contacts at 0, 60, 120 | 300 | 7200 s"
    );
    let r = c2watch(&[
        "replay",
        "--config",
        &cfg,
        "--workers",
        "1",
        "--dedup-window",
        "1h",
        &fixture("dedup.pcap"),
    ]);
    assert_eq!(r.stats()["workers"], 1, "flags override the config");
    assert_eq!(
        r.alerts()
            .iter()
            .filter(|a| a["victim"]["ip"] == "10.0.11.1")
            .count(),
        2
    );
    let bad = write(d, "bad.toml", "intel = [\"feeds\"]\nworkerz = 2\n");
    let r = c2watch(&["replay", "--config", &bad, &fixture("vlan.pcap")]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("unknown field `workerz`"), "{}", r.stderr);
}

#[test]
fn command_line_mistakes_get_clear_errors() {
    let r = c2watch(&["replay", &fixture("vlan.pcap")]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no indicators: give --intel"),
        "{}",
        r.stderr
    );
    let r = c2watch(&[
        "replay",
        "--intel",
        &fixture("feeds"),
        "--home-net",
        "10.0.0.0/40",
        &fixture("vlan.pcap"),
    ]);
    assert!(
        r.stderr.contains("invalid home-net `10.0.0.0/40`"),
        "{}",
        r.stderr
    );
    let r = c2watch(&[
        "replay",
        "--intel",
        &fixture("feeds"),
        "--workers",
        "0",
        &fixture("vlan.pcap"),
    ]);
    assert!(
        r.stderr.contains("--workers 0: must be between 1 and 256"),
        "{}",
        r.stderr
    );
    let r = c2watch(&[
        "replay",
        "--intel",
        &fixture("feeds"),
        "--dedup-window",
        "1w",
        &fixture("vlan.pcap"),
    ]);
    assert!(
        r.stderr.contains("unit must be s, m, h or d"),
        "{}",
        r.stderr
    );
    let r = c2watch(&["replay", "--intel", &fixture("feeds")]);
    assert_eq!(r.code, 2, "clap usage error");
}

#[test]
fn shipped_example_config_runs() {
    let cfg = root()
        .join("rules/c2watch.example.toml")
        .display()
        .to_string();
    let r = c2watch(&["replay", "--config", &cfg, &fixture("demo.pcap")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.alerts().len(), 3);
}

#[test]
fn name_and_fingerprint_feeds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let certs = write(
        d,
        "sslblacklist.csv",
        "################\n# abuse.ch SSLBL SSL Certificate Blacklist (SHA1 Fingerprints) #\n# Listingdate,SHA1,Listingreason\n2026-09-02 06:17:52,530194FADF6C9A330DB40F42610F9DEE6FA9BC32,ExampleBot C&C\n2026-08-30 13:46:12,6d45324bcec8ddedbf92cbf8b9ca6167083978c5,Example, RAT C&C\n2026-08-30 13:46:12,not-a-hash,Broken\n",
    );
    let ja3 = write(
        d,
        "ja3_fingerprints.csv",
        "# abuse.ch SSLBL JA3 Fingerprint Blacklist\n# ja3_md5,Firstseen,Lastseen,Listingreason\nfd128a287c19a7cb17153cf147fd5f81,2019-03-01 10:00:00,2021-02-11 09:30:00,ExampleBot\n",
    );
    let hosts = write(
        d,
        "hosts.txt",
        "127.0.0.1 localhost\n0.0.0.0 Tracker.Example ads.example\n",
    );
    let ja3_plain = write(
        d,
        "ja3-list.txt",
        "# partner JA3s\ne7d705a3286e19ea42f587b344ee6865\n",
    );
    let domains = write(d, "domains.txt", "1.2.3.example\n*.dyn.example\n");
    let args = |extra: &[&str]| {
        let mut a = vec!["intel", "lookup"];
        for f in [&certs, &ja3, &hosts] {
            a.extend(["--intel", f.as_str()]);
        }
        a.extend_from_slice(extra);
        c2watch(&a)
    };
    let r = args(&["530194fadf6c9a330db40f42610f9dee6fa9bc32"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["match"]["type"], "x509-sha1");
    assert_eq!(v["match"]["sources"][0]["software"], "ExampleBot");
    assert_eq!(
        v["match"]["sources"][0]["first_seen"],
        "2026-09-02T06:17:52Z"
    );
    let r = args(&["6D:45:32:4B:CE:C8:DD:ED:BF:92:CB:F8:B9:CA:61:67:08:39:78:C5"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["match"]["sources"][0]["software"], "Example, RAT",
        "reason keeps its comma"
    );
    let r = args(&["fd128a287c19a7cb17153cf147fd5f81"]);
    assert_eq!(r.code, 0);
    let r = args(&["www.tracker.example"]);
    assert_eq!(r.code, 0, "hosts-file names load as domains");
    let r = args(&["localhost.example"]);
    assert_eq!(r.code, 3);
    let r = c2watch(&[
        "intel", "check", "--intel", &certs, "--intel", &ja3, "--intel", &hosts,
    ]);
    assert!(
        r.stdout
            .contains("as sslbl-certs, 2 entries, skipped: 1 bad-sha1"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("as sslbl-ja3, 1 entries"), "{}", r.stdout);
    assert!(r.stdout.contains("as plain, 2 entries"), "{}", r.stdout);
    // A bare 32-hex list needs its kind declared.
    let r = c2watch(&["intel", "check", "--intel", &ja3_plain]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("hash-of-undeclared-kind"), "{}", r.stderr);
    let forced = format!("ja3:{ja3_plain}");
    let r = c2watch(&[
        "intel",
        "lookup",
        "--intel",
        &forced,
        "e7d705a3286e19ea42f587b344ee6865",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // `domain:` reads every value as a name, even one that looks numeric at the front.
    let forced = format!("domain:{domains}");
    let r = c2watch(&["intel", "lookup", "--intel", &forced, "a.1.2.3.example"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = c2watch(&["intel", "lookup", "--intel", &forced, "dyn.example"]);
    assert_eq!(r.code, 3, "*.dyn.example lists only names below it");
    let r = c2watch(&["intel", "lookup", "--intel", &forced, "h.dyn.example"]);
    assert_eq!(r.code, 0);
}

#[test]
fn threatfox_and_urlhaus_exports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = write(
        d,
        "threatfox.csv",
        "################################################################\r\n\
         # ThreatFox IOCs: recent additions - CSV format                #\r\n\
         ################################################################\r\n\
         #\r\n\
         # \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\",\"fk_malware\",\"malware_alias\",\"malware_printable\",\"last_seen_utc\",\"confidence_level\",\"is_compromised\",\"reference\",\"tags\",\"anonymous\",\"reporter\"\r\n\
         \"2026-09-03 09:58:00\", \"100001\", \"203.0.113.10:8443\", \"ip:port\", \"botnet_cc\", \"win.examplebot\", \"ExBot,ExampleLoader\", \"ExampleBot\", \"\", \"75\", \"False\", \"None\", \"c2,ExampleBot\", \"0\", \"reporter_a\"\r\n\
         \"2026-09-03 09:40:12\", \"100002\", \"cdn.c2.example\", \"domain\", \"botnet_cc\", \"win.examplebot\", \"None\", \"ExampleBot\", \"2026-09-03 10:00:00\", \"100\", \"False\", \"https://intel.example/post/7\", \"ExampleBot\", \"0\", \"reporter_a\"\r\n\
         \"2026-09-03 09:30:00\", \"100003\", \"http://198.51.100.23/gate.php?a=1,2\", \"url\", \"payload_delivery\", \"unknown\", \"None\", \"Unknown malware\", \"\", \"50\", \"False\", \"None\", \"None\", \"1\", \"anonymous\"\r\n\
         \"2026-09-03 09:10:00\", \"100004\", \"[2001:db8::7]:80\", \"ip:port\", \"botnet_cc\", \"elf.examplemirai\", \"None\", \"ExampleMirai\", \"\", \"100\", \"True\", \"None\", \"\", \"0\", \"reporter_b\"\r\n\
         \"2026-09-03 09:00:00\", \"100005\", \"d41d8cd98f00b204e9800998ecf8427e\", \"md5_hash\", \"payload\", \"unknown\", \"None\", \"Unknown malware\", \"\", \"50\", \"False\", \"None\", \"None\", \"0\", \"x\"\r\n",
    );
    let json = write(
        d,
        "threatfox.json",
        r#"{"100001": [{"ioc_value": "203.0.113.12:443", "ioc_type": "ip:port", "threat_type": "botnet_cc", "malware": "win.examplebot", "malware_printable": "ExampleBot", "first_seen_utc": "2026-09-03 09:58:00", "last_seen_utc": null, "confidence_level": 90, "reference": null, "tags": "c2"}],
            "100002": [{"ioc_value": "panel.example", "ioc_type": "domain", "malware_printable": "ExampleRAT", "confidence_level": "50"}]}"#,
    );
    let urlhaus = write(
        d,
        "urlhaus.csv",
        "# abuse.ch URLhaus Database Dump (CSV - recent URLs only)\n#\n# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\"3900001\",\"2026-09-03 09:55:10\",\"http://198.51.100.23:4444/bin.sh\",\"online\",\"2026-09-03 09:55:10\",\"malware_download\",\"32-bit,elf,mips\",\"https://urlhaus.abuse.ch/url/3900001/\",\"reporter_a\"\n\"3900002\",\"2026-09-03 09:50:00\",\"https://files.dl.example/invoice.exe\",\"offline\",\"\",\"malware_download\",\"exe,ExampleRAT\",\"https://urlhaus.abuse.ch/url/3900002/\",\"reporter_b\"\n",
    );
    let r = c2watch(&[
        "intel", "check", "--intel", &csv, "--intel", &json, "--intel", &urlhaus,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("as threatfox-csv, 4 entries, skipped: 1 file-hash-not-matched"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("as threatfox-json, 2 entries"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("as urlhaus-csv, 2 entries"),
        "{}",
        r.stdout
    );
    let look = |v: &str| {
        let r = c2watch(&[
            "intel", "lookup", "--intel", &csv, "--intel", &json, "--intel", &urlhaus, v,
        ]);
        assert_eq!(r.code, 0, "{v}: {}{}", r.stdout, r.stderr);
        serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()["match"].clone()
    };
    let m = look("203.0.113.10:8443");
    assert_eq!(
        (
            m["type"].clone(),
            m["sources"][0]["software"].clone(),
            m["sources"][0]["confidence"].clone()
        ),
        (json!("ip-port"), json!("ExampleBot"), json!(75))
    );
    let m = look("www.cdn.c2.example");
    assert_eq!(m["sources"][0]["reference"], "https://intel.example/post/7");
    assert_eq!(
        look("http://198.51.100.23/gate.php?a=1,2")["sources"][0]["software"],
        serde_json::Value::Null,
        "\"Unknown malware\" is no family"
    );
    assert_eq!(look("[2001:db8::7]:80")["type"], "ip-port");
    assert_eq!(look("203.0.113.12:443")["sources"][0]["confidence"], 90);
    assert_eq!(look("panel.example")["sources"][0]["confidence"], 50);
    let m = look("http://198.51.100.23:4444/bin.sh");
    assert_eq!(
        m["sources"][0]["reference"],
        "https://urlhaus.abuse.ch/url/3900001/"
    );
    // The URL's host alone is not an indicator (shared and compromised hosting).
    let r = c2watch(&["intel", "lookup", "--intel", &urlhaus, "files.dl.example"]);
    assert_eq!(r.code, 3);
}

/// The synthetic event of feed-formats.md §7.5, plus a non-IDS and a deleted attribute.
const MISP_EVENT: &str = r##"{"Event": {
  "uuid": "5f0e3b1c-9a2d-4c6e-8f10-2a3b4c5d6e7f", "info": "ExampleBot C2 infrastructure, September 2026",
  "date": "2026-09-01", "timestamp": "1788340000", "publish_timestamp": "1788340100", "published": true,
  "threat_level_id": "2", "analysis": "2",
  "Orgc": {"name": "Example CERT", "uuid": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"},
  "Tag": [{"name": "tlp:green", "colour": "#33FF00"},
          {"name": "misp-galaxy:malpedia=\"ExampleBot\"", "colour": "#0088cc"}],
  "Attribute": [
    {"uuid": "8b1c", "type": "ip-dst|port", "category": "Network activity",
     "value": "203.0.113.10|8443", "to_ids": true, "deleted": false, "timestamp": "1788339000",
     "first_seen": "2026-08-30T10:00:00.000000+00:00", "last_seen": null, "comment": ""},
    {"uuid": "9c2d", "type": "domain", "category": "Network activity",
     "value": "c2.example", "to_ids": true, "deleted": false, "timestamp": "1788339000", "comment": "",
     "Tag": [{"name": "TLP:AMBER", "colour": "#FFC000"}]},
    {"uuid": "ad3e", "type": "x509-fingerprint-sha1", "category": "Network activity",
     "value": "86115b17a75dee5099f1c2e709fc0ae77047a420", "to_ids": true, "deleted": false, "timestamp": "1788339000", "comment": ""},
    {"uuid": "be4f", "type": "sha256", "category": "Payload delivery",
     "value": "c1ca27666675be4490214fbcf5d00cc02737aba523c249e91299941fcf30c83c", "to_ids": true, "deleted": false,
     "timestamp": "1788339000", "comment": "ignored by a network sensor"},
    {"uuid": "c0c0", "type": "ip-dst", "category": "Network activity",
     "value": "198.51.100.99", "to_ids": false, "deleted": false, "timestamp": "1788339000"},
    {"uuid": "d0d0", "type": "ip-dst", "category": "Network activity",
     "value": "198.51.100.98", "to_ids": true, "deleted": true, "timestamp": "1788339000"}
  ],
  "Object": [
    {"name": "domain-ip", "meta-category": "network", "uuid": "cf50", "timestamp": "1788339000",
     "Attribute": [
       {"uuid": "d061", "type": "domain", "object_relation": "domain",
        "category": "Network activity", "value": "panel.c2.example", "to_ids": true, "deleted": false, "timestamp": "1788339000"},
       {"uuid": "e172", "type": "ip-dst", "object_relation": "ip",
        "category": "Network activity", "value": "203.0.113.11", "to_ids": true, "deleted": false, "timestamp": "1788339000"}
     ]}
  ]
}}"##;

#[test]
fn misp_event_file() {
    let dir = tempfile::tempdir().unwrap();
    let event = write(
        dir.path(),
        "5f0e3b1c-9a2d-4c6e-8f10-2a3b4c5d6e7f.json",
        MISP_EVENT,
    );
    let r = c2watch(&["intel", "check", "--intel", &event]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "as misp, 5 entries, skipped: 1 deleted, 1 file-attribute, 1 not-for-detection"
        ),
        "{}",
        r.stdout
    );
    let look = |v: &str| {
        let r = c2watch(&["intel", "lookup", "--intel", &event, v]);
        (
            r.code,
            serde_json::from_str::<serde_json::Value>(&r.stdout).ok(),
        )
    };
    let hit = |v: &str| {
        let (code, out) = look(v);
        assert_eq!(code, 0, "{v} should match");
        out.unwrap()["match"]["sources"][0].clone()
    };
    let s = hit("203.0.113.10:8443");
    assert_eq!(
        (s["software"].clone(), s["tlp"].clone()),
        (json!("ExampleBot"), json!("tlp:green"))
    );
    assert_eq!(
        hit("www.c2.example")["tlp"],
        "tlp:amber",
        "attribute tag wins"
    );
    hit("86115b17a75dee5099f1c2e709fc0ae77047a420");
    hit("panel.c2.example");
    hit("203.0.113.11");
    for absent in ["198.51.100.99", "198.51.100.98", "203.0.113.10:80"] {
        assert_eq!(
            look(absent).0,
            3,
            "{absent}: non-IDS, deleted and other ports do not match"
        );
    }
}

#[test]
fn misp_feed_directory_follows_its_manifest() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("partner-cert");
    std::fs::create_dir(&feed).unwrap();
    let uuid = "5f0e3b1c-9a2d-4c6e-8f10-2a3b4c5d6e7f";
    let other = "0b1c2d3e-0000-4000-8000-000000000001";
    write(&feed, &format!("{uuid}.json"), MISP_EVENT);
    let second = r#"{"Event": {"uuid": "0b1c2d3e-0000-4000-8000-000000000001", "info": "second",
        "Tag": [{"name": "misp-galaxy:mitre-malware=\"ExampleRAT\""}],
        "Attribute": [{"type": "ip-dst", "value": "192.0.2.77", "to_ids": true, "deleted": false}]}}"#;
    write(&feed, &format!("{other}.json"), second);
    // Not listed in the manifest, so not loaded; signatures and hashes.csv are not feeds.
    write(
        &feed,
        "ffff.json",
        r#"{"Event": {"Attribute": [{"type": "ip-dst", "value": "192.0.2.99", "to_ids": true}]}}"#,
    );
    write(
        &feed,
        "hashes.csv",
        "d41d8cd98f00b204e9800998ecf8427e,5f0e3b1c\n",
    );
    write(
        &feed,
        "manifest.json.asc",
        "-----BEGIN PGP SIGNATURE-----\n",
    );
    let hex: String = Sha256::digest(second.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let manifest = |sha: &str| {
        format!(
            r#"{{"{uuid}": {{"info": "ExampleBot", "timestamp": "1788340000", "date": "2026-09-01"}},
                "{other}": {{"info": "second", "timestamp": "1788340000", "date": "2026-09-01", "integrity:sha256": "{sha}"}}}}"#
        )
    };
    write(&feed, "manifest.json", &manifest(&hex.to_uppercase()));
    let path = feed.display().to_string();
    let r = c2watch(&["intel", "check", "--intel", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("ok: 6 indicators"), "{}", r.stdout);
    let r = c2watch(&["intel", "lookup", "--intel", &path, "192.0.2.77"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["match"]["sources"][0]["feed"], "partner-cert");
    assert_eq!(v["match"]["sources"][0]["software"], "ExampleRAT");
    let r = c2watch(&["intel", "lookup", "--intel", &path, "192.0.2.99"]);
    assert_eq!(
        r.code, 3,
        "an event the manifest does not list is not loaded"
    );

    // A tampered event file and a listed-but-missing one are errors naming the file.
    write(&feed, "manifest.json", &manifest(&"0".repeat(64)));
    let r = c2watch(&["intel", "check", "--intel", &path]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains(&format!("{other}.json")) && r.stderr.contains("integrity:sha256"),
        "{}",
        r.stderr
    );
    std::fs::remove_file(feed.join(format!("{uuid}.json"))).unwrap();
    write(&feed, "manifest.json", &manifest(&hex));
    let r = c2watch(&["intel", "check", "--intel", &path]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("listed in manifest.json but missing"),
        "{}",
        r.stderr
    );
}

#[test]
fn suricata_dataset_files_by_declared_kind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v4 = write(d, "v4.lst", "203.0.113.10\n203.0.113.11,100\n2001:db8::1\n");
    let v6 = write(
        d,
        "v6.lst",
        "2001:db8::7\n::ffff:203.0.113.20\n198.51.100.4\nnot-an-ip\n",
    );
    let ja3 = write(d, "ja3.lst", "fd128a287c19a7cb17153cf147fd5f81\n");
    let names = write(
        d,
        "names.lst",
        "YzIuZXhhbXBsZQ==\nLmV2aWwuZXhhbXBsZQ==\n!!notbase64\nYzIuZXhhbXBsZQ==,70000\n",
    );
    // base64 of "http://198.51.100.23/gate.php"
    let urls = write(d, "urls.lst", "aHR0cDovLzE5OC41MS4xMDAuMjMvZ2F0ZS5waHA=\n");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "--intel".to_string(),
            format!("dataset-ipv4:{v4}"),
            "--intel".to_string(),
            format!("dataset-ip:{v6}"),
            "--intel".to_string(),
            format!("dataset-ja3:{ja3}"),
            "--intel".to_string(),
            format!("dataset-domain:{names}"),
            "--intel".to_string(),
            format!("dataset-url:{urls}"),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let check = {
        let mut a = vec!["intel".to_string(), "check".to_string()];
        a.extend(args(&[]));
        c2watch(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_eq!(check.code, 0, "{}", check.stderr);
    for line in [
        "as dataset-ipv4, 2 entries, skipped: 1 bad-ipv4",
        "as dataset-ip, 3 entries, skipped: 1 bad-address",
        "as dataset-ja3, 1 entries",
        "as dataset-domain, 2 entries, skipped: 1 bad-base64, 1 bad-reputation",
        "as dataset-url, 1 entries",
    ] {
        assert!(check.stdout.contains(line), "{line}: {}", check.stdout);
    }
    let look = |v: &str| {
        let mut a = vec!["intel".to_string(), "lookup".to_string()];
        a.extend(args(&[v]));
        c2watch(&a.iter().map(String::as_str).collect::<Vec<_>>()).code
    };
    for hit in [
        "203.0.113.11",
        "203.0.113.20",
        "2001:db8::7",
        "fd128a287c19a7cb17153cf147fd5f81",
        "c2.example",
        "a.evil.example",
        "evil.example",
        "http://198.51.100.23/gate.php",
    ] {
        assert_eq!(look(hit), 0, "{hit} should be listed");
    }
    for miss in ["www.c2.example", "notevil.example", "2001:db8::1"] {
        assert_eq!(look(miss), 3, "{miss} should not be listed");
    }
}

/// The example bundle of feed-formats.md §8.6, with a later revoked version of one indicator,
/// an indicator marked benign and patterns c2watch must refuse rather than guess.
const STIX_BUNDLE: &str = r#"{"type": "bundle", "id": "bundle--6f2b8a0e-1c3d-4e5f-8a9b-0c1d2e3f4a5b", "objects": [
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--0b7e2c4a-9d1f-4b3e-8a6c-5d4e3f2a1b0c",
   "created": "2026-09-01T08:00:00.000Z", "modified": "2026-09-02T08:00:00.000Z",
   "name": "ExampleBot C2 server", "indicator_types": ["malicious-activity"],
   "pattern": "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.10' AND network-traffic:dst_port = 8443]",
   "pattern_type": "stix", "pattern_version": "2.1",
   "valid_from": "2026-09-01T08:00:00Z", "valid_until": "2026-12-01T00:00:00Z",
   "confidence": 80, "labels": ["c2"],
   "external_references": [{"source_name": "partner-report", "url": "https://intel.example/reports/42", "external_id": "R-42"}],
   "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]},
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--1c8f3d5b-0e2a-4c4f-9b7d-6e5f4a3b2c1d",
   "created": "2026-09-01T08:00:00.000Z", "modified": "2026-09-01T08:00:00.000Z",
   "pattern": "[domain-name:value = 'c2.example'] OR [ipv4-addr:value = '198.51.100.0/24']",
   "pattern_type": "stix", "valid_from": "2026-09-01T08:00:00Z"},
  {"type": "malware", "spec_version": "2.1", "id": "malware--2d9a4e6c-1f3b-4d5a-8c8e-7f6a5b4c3d2e",
   "created": "2026-09-01T08:00:00.000Z", "modified": "2026-09-01T08:00:00.000Z",
   "name": "ExampleBot", "aliases": ["ExBot"], "is_family": true, "malware_types": ["bot"]},
  {"type": "relationship", "spec_version": "2.1", "id": "relationship--3e0b5f7d-2a4c-4e6b-9d9f-8a7b6c5d4e3f",
   "created": "2026-09-01T08:00:00.000Z", "modified": "2026-09-01T08:00:00.000Z",
   "relationship_type": "indicates",
   "source_ref": "indicator--0b7e2c4a-9d1f-4b3e-8a6c-5d4e3f2a1b0c",
   "target_ref": "malware--2d9a4e6c-1f3b-4d5a-8c8e-7f6a5b4c3d2e"},
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--aaaaaaaa-0000-4000-8000-000000000001",
   "created": "2026-09-01T08:00:00.000Z", "modified": "2026-09-01T08:00:00.000Z",
   "pattern": "[ipv4-addr:value = '192.0.2.1']", "pattern_type": "stix", "valid_from": "2026-09-01T08:00:00Z"},
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--aaaaaaaa-0000-4000-8000-000000000001",
   "created": "2026-09-01T08:00:00.000Z", "modified": "2026-09-05T08:00:00.000Z", "revoked": true,
   "pattern": "[ipv4-addr:value = '192.0.2.1']", "pattern_type": "stix", "valid_from": "2026-09-01T08:00:00Z"},
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--aaaaaaaa-0000-4000-8000-000000000002",
   "created": "2026-09-01T08:00:00.000Z", "modified": "2026-09-01T08:00:00.000Z",
   "pattern": "[ipv4-addr:value = '192.0.2.2'] FOLLOWEDBY [domain-name:value = 'x.example'] WITHIN 300 SECONDS",
   "pattern_type": "stix", "valid_from": "2026-09-01T08:00:00Z"},
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--aaaaaaaa-0000-4000-8000-000000000003",
   "created": "2026-09-01T08:00:00.000Z", "modified": "2026-09-01T08:00:00.000Z",
   "pattern": "[network-traffic:dst_ref.value = 'y.example' AND network-traffic:dst_port = 443]",
   "pattern_type": "stix", "valid_from": "2026-09-01T08:00:00Z"},
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--aaaaaaaa-0000-4000-8000-000000000004",
   "created": "2026-09-01T08:00:00.000Z", "modified": "2026-09-01T08:00:00.000Z",
   "pattern": "alert tcp any any -> any any (sid:1;)", "pattern_type": "suricata", "valid_from": "2026-09-01T08:00:00Z"},
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--aaaaaaaa-0000-4000-8000-000000000005",
   "created": "2026-09-01T08:00:00.000Z", "modified": "2026-09-01T08:00:00.000Z",
   "pattern": "[ipv4-addr:value = '192.0.2.5'", "pattern_type": "stix", "valid_from": "2026-09-01T08:00:00Z"},
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--aaaaaaaa-0000-4000-8000-000000000006",
   "created": "2026-09-01T08:00:00.000Z", "modified": "2026-09-01T08:00:00.000Z", "indicator_types": ["benign"],
   "pattern": "[ipv4-addr:value = '192.0.2.6']", "pattern_type": "stix", "valid_from": "2026-09-01T08:00:00Z"},
  {"type": "identity", "spec_version": "2.1", "id": "identity--bbbbbbbb-0000-4000-8000-000000000001",
   "created": "2026-09-01T08:00:00.000Z", "modified": "2026-09-01T08:00:00.000Z", "name": "Example CERT"}
]}"#;

#[test]
fn stix_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = write(dir.path(), "partner.json", STIX_BUNDLE);
    let r = c2watch(&["intel", "check", "--intel", &bundle]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "as stix, 3 entries, skipped: 1 bad-pattern, 1 benign, 1 not-an-indicator, 1 revoked, 2 unsupported-pattern, 1 unsupported-pattern-type"
        ),
        "{}",
        r.stdout
    );
    // The operator sees which indicator was refused and why.
    assert!(
        r.stderr
            .contains("indicator--aaaaaaaa-0000-4000-8000-000000000003: a name with a port"),
        "{}",
        r.stderr
    );
    let look = |v: &str| {
        let r = c2watch(&["intel", "lookup", "--intel", &bundle, v]);
        (
            r.code,
            serde_json::from_str::<serde_json::Value>(&r.stdout).ok(),
        )
    };
    let (code, v) = look("203.0.113.10:8443");
    assert_eq!(code, 0);
    let src = &v.unwrap()["match"]["sources"][0];
    assert_eq!(
        (
            src["software"].clone(),
            src["confidence"].clone(),
            src["tlp"].clone(),
            src["valid_until"].clone(),
            src["reference"].clone()
        ),
        (
            json!("ExampleBot"),
            json!(80),
            json!("tlp:amber"),
            json!("2026-12-01T00:00:00Z"),
            json!("https://intel.example/reports/42")
        )
    );
    assert_eq!(look("www.c2.example").0, 0);
    assert_eq!(look("198.51.100.200").0, 0);
    for absent in [
        "203.0.113.10:80",
        "192.0.2.1",
        "192.0.2.2",
        "y.example",
        "192.0.2.6",
    ] {
        assert_eq!(look(absent).0, 3, "{absent} must not be loaded");
    }

    // Validity is judged at packet time: the same contact alerts in October, not after
    // `valid_until`.
    use c2watch::synth::{frame, writer::PcapWriter};
    use c2watch::time::{Timestamp, days_from_civil};
    let at = |y, m, d| Timestamp::new(days_from_civil(y, m, d) * 86_400, 0);
    let syn = |src: [u8; 4]| {
        let tcp = frame::tcp(40000, 8443, 1, 0x02, &[]);
        let ip = frame::ipv4(src, [203, 0, 113, 10], 6, &tcp);
        frame::ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], &[], 0x0800, &ip)
    };
    let mut w = PcapWriter::new(Vec::new(), 1).unwrap();
    w.packet(at(2026, 10, 1), &syn([10, 0, 0, 5])).unwrap();
    w.packet(at(2026, 12, 15), &syn([10, 0, 0, 6])).unwrap();
    let pcap = dir.path().join("contacts.pcap");
    std::fs::write(&pcap, w.into_inner()).unwrap();
    let r = c2watch(&[
        "replay",
        "--no-progress",
        "--intel",
        &bundle,
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let victims: Vec<String> = r.alerts().iter().map(|a| s(&a["victim"]["ip"])).collect();
    assert_eq!(victims, ["10.0.0.5"]);
    assert_eq!(
        r.alerts()[0]["threat"]["generation"],
        1,
        "the indicator snapshot the match used"
    );
    assert_eq!(r.stats()["alerts"]["expired_indicator"], 1);
    assert!(
        r.stderr.contains("outside its validity window"),
        "{}",
        r.stderr
    );
}

#[test]
fn declared_feeds_in_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "vendor.csv",
        "# Vendor export 2026-09-03\r\nIndicator;Threat;Score;Added;Link\r\n\
         203.0.113.50;ExampleBot;90;2026-09-01 10:00:00;https://vendor.example/i/1\r\n\
         \"c2.vendor.example\";\"ExampleRAT; v2\";40;;\r\n\
         198.51.100.0/28;ExampleBot;75;;\r\n\
         not a value;x;80;;\r\n\
         203.0.113.51;ExampleBot;high;;\r\n",
    );
    write(d, "extra.txt", "192.0.2.200\n");
    let cfg = write(
        d,
        "c2watch.toml",
        r#"
[[feed]]
name = "vendor-x"
source = "vendor.csv"
format = "csv"
min_confidence = 50
[feed.columns]
value = "Indicator"
family = "Threat"
confidence = "Score"
first_seen = "Added"
reference = "Link"
delimiter = ";"

[[feed]]
name = "paused"
source = "extra.txt"
enabled = false
"#,
    );
    let r = c2watch(&["intel", "check", "--config", &cfg]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "as csv, 2 entries, skipped: 1 bad-confidence, 1 below-min-confidence, 1 unparsable"
        ),
        "{}",
        r.stdout
    );
    let look = |v: &str| {
        let r = c2watch(&["intel", "lookup", "--config", &cfg, v]);
        (
            r.code,
            serde_json::from_str::<serde_json::Value>(&r.stdout).ok(),
        )
    };
    let (code, v) = look("203.0.113.50");
    assert_eq!(code, 0);
    let src = &v.unwrap()["match"]["sources"][0];
    assert_eq!(
        (
            src["feed"].clone(),
            src["software"].clone(),
            src["confidence"].clone(),
            src["first_seen"].clone(),
            src["reference"].clone()
        ),
        (
            json!("vendor-x"),
            json!("ExampleBot"),
            json!(90),
            json!("2026-09-01T10:00:00Z"),
            json!("https://vendor.example/i/1")
        )
    );
    assert_eq!(look("198.51.100.7").0, 0);
    assert_eq!(look("c2.vendor.example").0, 3, "confidence 40 < 50");
    assert_eq!(look("192.0.2.200").0, 3, "a disabled feed is not loaded");

    // Mistakes in a [[feed]] entry are named.
    for (entry, says) in [
        (
            "[[feed]]\nsource = \"vendor.csv\"\nformat = \"csv\"\n",
            "needs [feed.columns]",
        ),
        (
            "[[feed]]\nsource = \"vendor.csv\"\nmin_confidence = 150\n",
            "min_confidence must be 0-100",
        ),
        (
            "[[feed]]\nsource = \"vendor.csv\"\nformat = \"cvs\"\n",
            "unknown format `cvs`",
        ),
        (
            "[[feed]]\nsource = \"vendor.csv\"\nformat = \"csv\"\n[feed.columns]\nvalue = \"Nope\"\ndelimiter = \";\"\n",
            "the header has no column `Nope`",
        ),
        (
            "[[feed]]\nsource = \"vendor.csv\"\nfrequency = \"1h\"\n",
            "unknown field `frequency`",
        ),
        (
            "[[feed]]\nsource = \"vendor.csv\"\nrefresh = \"0s\"\n",
            "refresh must be more than 0",
        ),
        (
            "[[feed]]\nsource = \"vendor.csv\"\nmax_age = \"soon\"\n",
            "max_age: invalid duration",
        ),
        (
            "[[feed]]\nsource = \"vendor.csv\"\ntoken_env = \"T\"\n",
            "are for http(s) sources",
        ),
        (
            "[[feed]]\nsource = \"https://x.example/\"\nusername = \"u\"\npassword_env = \"P\"\npassword_file = \"p\"\n",
            "not both",
        ),
    ] {
        let bad = write(d, "bad.toml", entry);
        let r = c2watch(&["intel", "check", "--config", &bad]);
        assert_ne!(r.code, 0, "{entry}");
        assert!(r.stderr.contains(says), "{entry}: {}", r.stderr);
    }
}

#[test]
fn misp_warninglists_are_allowlists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cidr = write(
        d,
        "resolvers.json",
        r#"{"name": "Example resolvers", "description": "Public DNS resolvers that must never be treated as C2",
  "version": 20260901, "type": "cidr",
  "matching_attributes": ["ip-src", "ip-dst", "domain|ip", "ip-src|port", "ip-dst|port"],
  "list": ["192.0.2.53", "2001:db8::53", "198.51.100.0/28", "not-an-address"]}"#,
    );
    let hostnames = write(
        d,
        "cdn.json",
        r#"{"name": "Example CDN", "description": "x", "version": 1, "type": "hostname",
  "list": ["cdn.example.", "static.example"]}"#,
    );
    let strings = write(
        d,
        "exact.json",
        r#"{"name": "Exact names", "description": "x", "version": 1, "type": "string",
  "matching_attributes": ["hostname", "domain"], "list": ["update.example", "203.0.113.77"]}"#,
    );
    let regex = write(
        d,
        "regex.json",
        r#"{"name": "Regexes", "description": "x", "version": 1, "type": "regex", "list": ["^a.*$"]}"#,
    );
    let feed = write(
        d,
        "feed.txt",
        "192.0.2.53\n198.51.100.5\n2001:db8::53\nimg.cdn.example\nupdate.example\nx.update.example\n203.0.113.9\n",
    );
    let mut args = vec!["intel", "check", "--intel", &feed];
    for w in [&cidr, &hostnames, &strings] {
        args.extend(["--intel", w.as_str()]);
    }
    let r = c2watch(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("allowlist as misp-warninglist, 3 entries, skipped: 1 bad-cidr"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("allowlist as misp-warninglist, 1 entries, skipped: 1 not-a-network-value"),
        "an IP in a list for name attributes is not used: {}",
        r.stdout
    );
    // A regex list cannot be indexed: it is refused with the reason, not silently empty.
    let r = c2watch(&["intel", "check", "--intel", &regex]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("unsupported-list-type"), "{}", r.stderr);
    let allowed = |v: &str| {
        let mut a = vec!["intel", "lookup", "--intel", &feed];
        for w in [&cidr, &hostnames, &strings] {
            a.extend(["--intel", w.as_str()]);
        }
        a.push(v);
        let r = c2watch(&a);
        serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()["allowlisted"] == true
    };
    for v in [
        "192.0.2.53",
        "198.51.100.5",
        "2001:db8::53",
        "img.cdn.example",
        "update.example",
    ] {
        assert!(allowed(v), "{v} is on a warninglist");
    }
    for v in ["x.update.example", "203.0.113.9"] {
        assert!(!allowed(v), "{v} is not on a warninglist");
    }
}

#[test]
fn http_sources_are_cached_and_the_last_good_copy_survives() {
    let dir = tempfile::tempdir().unwrap();
    let (www, cache) = (dir.path().join("www"), dir.path().join("cache"));
    std::fs::create_dir(&www).unwrap();
    let feed = www.join("ipblocklist.txt");
    std::fs::write(&feed, "# Feodo\n203.0.113.10\n203.0.113.11\n").unwrap();
    let server = Server::http(&www, dir.path().join("http.log"));
    let url = format!("http://127.0.0.1:{}/ipblocklist.txt", server.port);
    let cfg = write(
        dir.path(),
        "c2watch.toml",
        &format!(
            "cache_dir = \"{}\"\n[[feed]]\nname = \"feodo\"\nsource = \"{url}\"\n",
            cache.display()
        ),
    );
    let check = || c2watch(&["intel", "check", "--config", &cfg]);

    // First run downloads; the second asks If-Modified-Since and gets 304.
    let r = check();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains(&format!("feodo ({url}): indicators as plain, 2 entries\n")),
        "{}",
        r.stdout
    );
    let r = check();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("2 entries"), "{}", r.stdout);
    let log = server.requests();
    assert!(
        log.contains("\"GET /ipblocklist.txt HTTP/1.1\" 200"),
        "{log}"
    );
    assert!(
        log.contains("\"GET /ipblocklist.txt HTTP/1.1\" 304"),
        "{log}"
    );

    // A corrupt update (no valid indicator) is refused; the last good copy stays.
    std::fs::write(&feed, "<html>502 Bad Gateway</html>\n").unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&feed)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let r = check();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("2 entries, STALE (last good copy kept: the update was refused"),
        "{}",
        r.stdout
    );

    // A good update replaces it.
    std::fs::write(&feed, "203.0.113.12\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&feed)
        .unwrap()
        .set_modified(later + std::time::Duration::from_secs(5))
        .unwrap();
    let r = check();
    assert!(
        r.stdout.contains("indicators as plain, 1 entries\n"),
        "{}",
        r.stdout
    );

    // An update that loses more than half the feed at once is refused (min_keep = 0.5).
    let mut t = later + std::time::Duration::from_secs(5);
    for (n, accepted) in [(10, true), (3, false)] {
        let list: String = (12..12 + n).map(|i| format!("203.0.113.{i}\n")).collect();
        std::fs::write(&feed, list).unwrap();
        t += std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&feed)
            .unwrap()
            .set_modified(t)
            .unwrap();
        let r = check();
        assert_eq!(r.code, 0, "{}", r.stderr);
        if accepted {
            assert!(r.stdout.contains("plain, 10 entries\n"), "{}", r.stdout);
        } else {
            assert!(
                r.stdout
                    .contains("10 entries, STALE (last good copy kept: the update was refused")
                    && r.stdout
                        .contains("the update has 3 entries, the last good copy 10"),
                "{}",
                r.stdout
            );
        }
    }

    // Server down: the last good copy is used and the feed is marked stale.
    drop(server);
    let r = check();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("10 entries, STALE"), "{}", r.stdout);
    let r = c2watch(&["intel", "lookup", "--config", &cfg, "203.0.113.12"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = c2watch(&["intel", "stats", "--config", &cfg]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let f = &v["feeds"][0];
    assert_eq!(
        (
            f["name"].clone(),
            f["stale"].clone(),
            f["entries"].clone(),
            f["by_type"]["ipv4-addr"].clone()
        ),
        (json!("feodo"), json!(true), json!(10), json!(10))
    );
    assert!(f["stale_reason"].as_str().unwrap().contains(&url), "{f}");
    assert!(
        f["age_seconds"].as_u64().is_some() && f["updated"].as_str().is_some(),
        "{f}"
    );

    // Nothing cached and nothing served: a clear error.
    std::fs::remove_dir_all(&cache).unwrap();
    let r = check();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no cached copy yet"), "{}", r.stderr);
}

/// rules/feeds.toml: every entry resolves (format known, source an https URL); downloading
/// them needs the internet, which CI does not have.
#[test]
fn shipped_public_feed_definitions_resolve() {
    let cfg = c2watch::cli::config::ConfigFile::load(&root().join("rules/feeds.toml")).unwrap();
    let defs: Vec<_> = cfg
        .feed
        .iter()
        .map(|f| f.resolve(&cfg.base, None).unwrap())
        .collect();
    assert_eq!(defs.len(), 7);
    let enabled: Vec<_> = defs.iter().flatten().collect();
    assert_eq!(enabled.len(), 6, "the JA3 list is off by default");
    for d in enabled {
        assert!(d.source.starts_with("https://"), "{}", d.source);
        assert!(d.format.is_some() && d.name.is_some(), "{d:?}");
        // Refreshed on a schedule, no more often than the publishers ask (15 minutes for
        // abuse.ch, an hour for Spamhaus).
        let every = d.refresh.expect("a refresh interval").as_secs();
        let floor = if d.source.contains("spamhaus") {
            3600
        } else {
            900
        };
        assert!(every >= floor, "{d:?}");
    }
}
