//! Real captures from Suricata's, Zeek's, nDPI's and Maltrail's own test suites
//! (`../shared/corpus`): every file replays cleanly, and where the peer recorded what it
//! expects at the IP level, c2watch agrees (or the test says why not).

mod common;
use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    let p = root().join("../shared/corpus");
    assert!(
        p.is_dir(),
        "the peer corpus is expected at {} (read-only, beside the checkout)",
        p.display()
    );
    p
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap")
        {
            out.push(p);
        }
    }
}

/// A feed that lists every address: each flow of each file alerts, exercising the whole path.
fn everything(dir: &Path) -> String {
    let p = dir.join("everything.txt");
    std::fs::write(&p, "0.0.0.0/0\n::/0\n").unwrap();
    p.display().to_string()
}

#[test]
fn every_peer_capture_replays_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let feed = everything(dir.path());
    let mut files = Vec::new();
    captures(&corpus(), &mut files);
    assert!(files.len() > 80, "corpus has {} captures", files.len());
    let mut decode_kinds = std::collections::BTreeSet::new();
    for f in &files {
        for workers in ["1", "2"] {
            let r = c2watch(&[
                "replay",
                "--no-progress",
                "--workers",
                workers,
                "--intel",
                &feed,
                f.to_str().unwrap(),
            ]);
            assert_eq!(r.code, 0, "{}: {}", f.display(), r.stderr);
            assert!(
                !r.stderr.contains("panicked"),
                "{}: {}",
                f.display(),
                r.stderr
            );
            let st = r.stats();
            for (k, v) in st["decode"].as_object().unwrap() {
                if v.as_u64().unwrap_or(0) > 0 {
                    decode_kinds.insert(k.clone());
                }
            }
        }
    }
    // The corpus holds malformed and non-IP frames: they are counted by kind, not lost.
    assert!(decode_kinds.contains("not_ip"), "{decode_kinds:?}");
    assert!(
        decode_kinds
            .iter()
            .any(|k| k.contains("truncated") || k.contains("invalid")),
        "{decode_kinds:?}"
    );
}

/// The replay hands plain frames (Ethernet, IPv4, TCP or UDP) to its workers without
/// decoding them, by a hash read at fixed offsets: on every frame of the corpus that reading
/// agrees with the full decode, and so does the hash.
#[test]
fn plain_frames_read_as_the_full_decode_does() {
    use c2watch::capture::{CaptureFile, Progress};
    use c2watch::decode::{Decoded, plain};
    use c2watch::detect::HomeNet;
    use c2watch::detect::flow::{dispatch_hash, dispatch_hash_plain};
    let mut files = Vec::new();
    captures(&corpus(), &mut files);
    let home = HomeNet::default_nets();
    let (mut d, mut frames, mut plain_frames) = (Decoded::default(), 0u64, 0u64);
    for f in &files {
        let Ok(mut file) = CaptureFile::open(f.to_str().unwrap(), &Progress::default()) else {
            continue;
        };
        while let Ok(Some(p)) = file.next_packet() {
            frames += 1;
            assert!(
                plain::agrees(p.linktype, p.data, &mut d),
                "{}: frame {frames}",
                f.display()
            );
            if let Some(fast) = plain::plain(p.linktype, p.data) {
                plain_frames += 1;
                assert_eq!(
                    dispatch_hash_plain(&fast, &home),
                    dispatch_hash(&d, &home),
                    "{}",
                    f.display()
                );
            }
        }
    }
    assert!(
        plain_frames > 2_000 && frames > plain_frames,
        "{plain_frames} of {frames}"
    );
}

/// Maltrail's `manifest.json`, translated: each expected trail that c2watch can load (IP,
/// IP:port, domain, host/path URL) becomes an expected alert with that indicator; a case
/// expecting nothing expects no alert. Maltrail writes a matched parent as `(www).parent`.
#[test]
fn maltrail_manifest_trails() {
    let base = corpus().join("stamparm+maltrail/sensor/tests/corpus");
    let dir = tempfile::tempdir().unwrap();
    let trails: Vec<String> = std::fs::read_to_string(base.join("trails.csv"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split(',').next())
        .map(str::to_string)
        .collect();
    let feed = dir.path().join("maltrail.txt");
    std::fs::write(&feed, trails.join("\n")).unwrap();
    let feed = feed.display().to_string();
    // What c2watch loads of it: everything but path-only trails, bare labels and regexes.
    let check = c2watch(&["intel", "check", "--intel", &feed]);
    assert!(
        check.stdout.contains("17 entries, skipped: 3 unparsable"),
        "{}",
        check.stdout
    );
    // Where c2watch disagrees on purpose.
    let differs = [
        (
            "truncated",
            "c2watch matches frames cut short on whatever headers remain (a tap with a small snaplen); Maltrail drops them",
        ),
        (
            "mixed_soup",
            "the file interleaves the ip_trails and dns_queries contacts, which c2watch reports as it does for those cases; Maltrail's case only checks it stays up",
        ),
    ];
    // Expected alerts c2watch does not raise, and why.
    let not_raised = [(
        "quic_sni",
        "quic-evil.example",
        "the capture's Initial does not decrypt with the RFC 9001 initial keys (tshark cannot read its SNI either)",
    )];
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(base.join("manifest.json")).unwrap())
            .unwrap();
    let mut positives = 0;
    for case in manifest.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let pcap = base.join(case["pcap"].as_str().unwrap());
        let r = c2watch(&[
            "replay",
            "--no-progress",
            "--intel",
            &feed,
            pcap.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let got: Vec<String> = r
            .alerts()
            .iter()
            .map(|a| s(&a["threat"]["indicator"]["value"]))
            .collect();
        for e in case["expect"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
        {
            // `(www).evil-parent.com`: the listed parent matched.
            let listed = e.rsplit_once(").").map_or(e, |(_, parent)| parent);
            if !trails.iter().any(|t| t == listed)
                || c2watch::intel::feed::is_unloadable_plain(listed)
            {
                continue;
            }
            if let Some((_, _, why)) = not_raised
                .iter()
                .find(|(n, v, _)| *n == name && *v == listed)
            {
                assert!(
                    !got.iter().any(|g| g == listed),
                    "{name}: documented difference no longer holds ({why})"
                );
                continue;
            }
            assert!(
                got.iter().any(|g| g == listed),
                "{name}: expected an alert on {listed}, got {got:?}"
            );
            positives += 1;
        }
        if case["expect"].as_array().unwrap().is_empty() {
            match differs.iter().find(|(n, _)| *n == name) {
                Some((_, why)) => assert!(
                    !got.is_empty(),
                    "{name}: documented difference no longer holds ({why})"
                ),
                None => assert!(
                    got.is_empty(),
                    "{name}: Maltrail expects silence, c2watch alerted on {got:?}"
                ),
            }
        }
    }
    assert!(positives >= 23, "only {positives} expectations checked");
}

fn sv(test: &str) -> String {
    let dir = corpus().join("OISF+suricata-verify/tests").join(test);
    let mut files = Vec::new();
    captures(&dir, &mut files);
    files[0].display().to_string()
}

fn zeek(trace: &str) -> String {
    corpus()
        .join("zeek+zeek/testing/btest/Traces")
        .join(trace)
        .display()
        .to_string()
}

fn run_listing(list: &str, file: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, list).unwrap();
    c2watch(&[
        "replay",
        "--no-progress",
        "--intel",
        feed.to_str().unwrap(),
        file,
    ])
}

/// Inner and outer addresses as suricata-verify's `test.yaml` records them.
#[test]
fn suricata_verify_tunnels_and_vlans() {
    let cases = [
        (
            "bug-4571-01",
            "10.1.0.4",
            "10.1.0.3",
            "10.1.0.4",
            "10.1.0.1",
            "10.1.0.2",
        ),
        (
            "bug-4571-04",
            "2001:db8:85a3::8a2e:370:7335",
            "2001:db8:85a3::8a2e:370:7334",
            "2001:db8:85a3::8a2e:370:7335",
            "10.1.0.1",
            "10.1.0.2",
        ),
        (
            "bug-4571-06",
            "10.1.0.2",
            "10.1.0.1",
            "10.1.0.2",
            "2001:db8:85a3::8a2e:370:7334",
            "2001:db8:85a3::8a2e:370:7335",
        ),
    ];
    for (test, listed, src, dst, tsrc, tdst) in cases {
        let r = run_listing(listed, &sv(test));
        let a = r.alerts();
        assert_eq!(a.len(), 1, "{test}: {}", r.stdout);
        assert_eq!(
            (s(&a[0]["src_ip"]), s(&a[0]["dest_ip"])),
            (src.to_string(), dst.to_string()),
            "{test}"
        );
        assert_eq!(
            (s(&a[0]["tunnel"]["src_ip"]), s(&a[0]["tunnel"]["dest_ip"])),
            (tsrc.to_string(), tdst.to_string()),
            "{test}"
        );
    }
    let r = run_listing("10.0.0.2", &sv("geneve-decoder"));
    assert_eq!(
        (
            s(&r.alerts()[0]["src_ip"]),
            s(&r.alerts()[0]["tunnel"]["type"])
        ),
        ("10.0.0.1".into(), "geneve".into())
    );
    let r = run_listing("23.0.0.3", &sv("decode-erspan-typeII-01"));
    assert_eq!(r.alerts()[0]["src_ip"], "23.0.0.2");
    assert_eq!(r.alerts()[0]["vlan"][0], 23);
    assert_eq!(r.alerts()[0]["tunnel"]["type"], "erspan2");
    let r = run_listing("2.2.2.2", &sv("detect-vlan-id"));
    assert!(
        r.alerts()
            .iter()
            .any(|a| a["vlan"] == json!([200, 300, 400])),
        "{}",
        r.stdout
    );
}

/// Zeek's tunnel and VLAN traces: the inner conversation and the encapsulation Zeek reports.
#[test]
fn zeek_tunnels_and_vlans() {
    let r = run_listing("172.19.51.63", &zeek("q-in-q.pcap"));
    assert_eq!(r.alerts()[0]["vlan"], json!([13, 10]));
    let r = run_listing("192.150.187.43", &zeek("vlan-qinqinq.pcap"));
    assert_eq!(r.alerts()[0]["vlan"], json!([30, 20, 10]));
    let r = run_listing("10.0.0.2", &zeek("tunnels/vxlan.pcap"));
    let a = r
        .alerts()
        .into_iter()
        .find(|a| a["tunnel"]["type"] == "vxlan")
        .expect("inner VXLAN flow")
        .clone();
    assert_eq!(
        (s(&a["src_ip"]), a["tunnel"]["vni"].clone()),
        ("10.0.0.1".into(), json!(123))
    );
    let r = run_listing("8.8.8.8", &zeek("tunnels/gre-pptp.pcap"));
    assert!(
        r.alerts()
            .iter()
            .all(|a| a["tunnel"]["type"] == "gre" && a["victim"]["ip"] == "172.16.44.3"),
        "{}",
        r.stdout
    );
    let r = run_listing("cafe::babe", &zeek("tunnels/6in6in6.pcap"));
    assert_eq!(r.alerts()[0]["tunnel"]["depth"], 2);
    let r = run_listing("172.31.10.2", &zeek("tunnels/gre-erspan3-dot1q.pcap"));
    assert_eq!(
        (
            r.alerts()[0]["tunnel"]["type"].clone(),
            r.alerts()[0]["vlan"].clone()
        ),
        (json!("erspan3"), json!([10]))
    );
    let r = run_listing("1.1.1.1", &zeek("tunnels/gre-over-udp-4754.pcap"));
    assert_eq!(r.alerts()[0]["tunnel"]["type"], "gre");
    let r = run_listing("0.0.0.0/0\n::/0", &zeek("pcapng-multi-interface.pcapng"));
    let ifaces: std::collections::BTreeSet<String> =
        r.alerts().iter().map(|a| s(&a["in_iface"])).collect();
    assert!(ifaces.len() >= 2, "two interfaces: {ifaces:?}");
}

/// Suricata IP reputation files from suricata-verify load as they are, categories included.
#[test]
fn suricata_iprep_files() {
    let dir = corpus().join("OISF+suricata-verify/tests");
    let list = dir
        .join("iprep-07-bug-6834-src-cidr/iprep.list")
        .display()
        .to_string();
    let r = c2watch(&["intel", "lookup", "--intel", &list, "192.168.0.77"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["match"]["value"], "192.168.0.13/24");
    assert_eq!(
        v["match"]["sources"][0]["software"], "test",
        "category name from categories.txt beside the list"
    );
    assert_eq!(v["match"]["sources"][0]["confidence"], 0);
    let list = dir
        .join("issue-4280-iprep/scirius-iprep.list")
        .display()
        .to_string();
    let r = c2watch(&["intel", "check", "--intel", &list]);
    assert!(r.stdout.contains("as iprep,"), "{}", r.stdout);
    let r = c2watch(&[
        "replay",
        "--no-progress",
        "--intel",
        &list,
        dir.join("issue-4280-iprep/input.pcap").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.alerts().is_empty(),
        "Suricata alerts on this capture with this list"
    );
    assert!(
        r.alerts()
            .iter()
            .all(|a| a["threat"]["confidence"].as_u64().is_some())
    );
}

/// suricata-verify's `datasets-match-subdomain`: a base64 string set holding `.evil.com`
/// (the `dotprefix` convention). Suricata alerts on the queries for `mail.evil.com` and
/// `sub.mail.evil.com` and not on `example.com`; so must c2watch.
#[test]
fn suricata_dataset_match_subdomain() {
    let dir = corpus().join("OISF+suricata-verify/tests/datasets-match-subdomain");
    let set = format!("dataset-domain:{}", dir.join("domains.lst").display());
    let r = c2watch(&[
        "replay",
        "--no-progress",
        "--dedup-window",
        "0s",
        "--intel",
        &set,
        dir.join("input.pcap").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let names: Vec<String> = r.alerts().iter().map(|a| s(&a["dns"]["rrname"])).collect();
    assert_eq!(names, ["mail.evil.com", "sub.mail.evil.com"]);
    assert_eq!(r.alerts()[0]["threat"]["feed"]["name"], "domains");
    // Without a declared kind the base64 line is not a name and nothing loads.
    let r = c2watch(&[
        "intel",
        "check",
        "--intel",
        dir.join("domains.lst").to_str().unwrap(),
    ]);
    assert_ne!(r.code, 0, "{}", r.stdout);
}

/// Zeek's intel whitelisting test: two listed names, one of them whitelisted in a second file;
/// Zeek's baseline log has DNS requests and HTTP Host headers for the other only.
#[test]
fn zeek_intel_files_and_whitelisting() {
    let base = corpus().join("zeek+zeek/testing/btest");
    let dir = base.join("scripts/policy/frameworks/intel/whitelisting");
    let (intel, allow) = (
        dir.join("intel.dat").display().to_string(),
        dir.join("whitelist.dat").display().to_string(),
    );
    let pcap = base.join("Traces/wikipedia.pcap").display().to_string();
    let r = c2watch(&[
        "replay",
        "--no-progress",
        "--dedup-window",
        "0s",
        "--intel",
        &intel,
        "--intel",
        &allow,
        &pcap,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits: std::collections::BTreeSet<(String, String)> = r
        .alerts()
        .iter()
        .map(|a| {
            (
                s(&a["threat"]["indicator"]["value"]),
                s(&a["threat"]["indicator"]["matched_on"]),
            )
        })
        .collect();
    assert_eq!(
        hits,
        // Zeek sees the DNS requests and Host headers; c2watch also ties the connections to the
        // address the DNS answer gave (`dns.answer`), which Zeek's intel framework does not do.
        ["dns.query", "http.host", "dns.answer"]
            .into_iter()
            .map(|m| ("upload.wikimedia.org".to_string(), m.to_string()))
            .collect(),
        "meta.wikimedia.org is whitelisted"
    );
    assert!(
        r.alerts()
            .iter()
            .all(|a| a["threat"]["reference"] == "http://some-data-distributor.com/1")
    );
    // Intel::DOMAIN matches the name only, as in Zeek.
    let r = c2watch(&[
        "intel",
        "lookup",
        "--intel",
        &intel,
        "x.upload.wikimedia.org",
    ]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    // Overlapping subnets: the most specific wins.
    let subnets = base
        .join("scripts/base/frameworks/intel/match-subnet/intel.dat")
        .display()
        .to_string();
    let r = c2watch(&["intel", "lookup", "--intel", &subnets, "192.168.142.5"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["match"]["value"], "192.168.142.0/26");
}

/// Replays `file` against one feed of `format` listing `values`.
fn run_format(format: &str, values: &[&str], file: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, values.join("\n") + "\n").unwrap();
    let spec = format!("{format}:{}", feed.display());
    c2watch(&["replay", "--no-progress", "--intel", &spec, file])
}

/// TLS names and fingerprints the peers recorded: Suricata's `test.yaml` (SNI of bug-5758;
/// JA3 and JA3S of bug-8336; both JA3 hashes and strings of a TLS 1.3 draft-28 capture with
/// a HelloRetryRequest) and nDPI's `result/*.out` (JA3S, certificate SHA-1, VLAN and 5-tuple
/// of a hello with very many cipher suites). Each listed as an indicator, each must alert.
#[test]
fn peer_tls_names_and_fingerprints_agree() {
    let matched = |r: &Run, on: &str| -> Vec<Value> {
        r.alerts()
            .into_iter()
            .filter(|a| a["threat"]["indicator"]["matched_on"] == on)
            .cloned()
            .collect()
    };
    // bug-5758: `tls.sni: ftp.nluug.nl`.
    let r = run_format("domain", &["ftp.nluug.nl"], &sv("bug-5758"));
    let a = matched(&r, "tls.sni");
    assert_eq!(a.len(), 1, "{}", r.stdout);
    assert_eq!(a[0]["tls"]["sni"], "ftp.nluug.nl");

    // bug-8336: ja3.hash fae0e5d9..., ja3s.hash 907bf3ec...
    let f = sv("bug-8336-01-default-track-only");
    let r = run_format("ja3", &["fae0e5d973c96ae1888b99538efa0363"], &f);
    assert_eq!(matched(&r, "tls.ja3").len(), 1, "{}", r.stdout);
    let r = run_format("ja3s", &["907bf3ecef1c987c889946b737b43de8"], &f);
    assert_eq!(matched(&r, "tls.ja3s").len(), 1, "{}", r.stdout);

    // tls13-draft28: two hellos to `localhost`, their JA3 hashes and strings.
    let r = run_format(
        "ja3",
        &[
            "d00857e0c8e7a7f35e446508c6233460",
            "43202faa1c8c1760d6f7f4bd9adde4ab",
        ],
        &sv("tls/tls13-draft28"),
    );
    let mut got: Vec<(String, String, String)> = matched(&r, "tls.ja3")
        .iter()
        .map(|a| {
            (
                s(&a["tls"]["ja3"]["hash"]),
                s(&a["tls"]["ja3"]["string"]),
                s(&a["tls"]["sni"]),
            )
        })
        .collect();
    got.sort();
    let want = [
        (
            "43202faa1c8c1760d6f7f4bd9adde4ab",
            "771,4866-4867-4865-4868-49196-52393-49325-49162-49195-49324-49161-49200-52392-49172-49199-49171-157-49309-53-156-49308-47-159-52394-49311-57-158-49310-51,5-10-11-13-22-23-35-51-43-65281-0-45,23,0",
        ),
        (
            "d00857e0c8e7a7f35e446508c6233460",
            "771,4866-4867-4865-4868-49196-52393-49325-49162-49195-49324-49161-49200-52392-49172-49199-49171-157-49309-53-156-49308-47-159-52394-49311-57-158-49310-51,5-10-11-13-22-23-35-51-43-65281-0-45-41,23,0",
        ),
    ];
    assert_eq!(got.len(), 2, "{}", r.stdout);
    for ((hash, string, sni), (h, st)) in got.iter().zip(want) {
        assert_eq!(
            (hash.as_str(), string.as_str(), sni.as_str()),
            (h, st, "localhost")
        );
    }

    // nDPI, ja3_lots_of_cipher_suites: [VLAN: 258] 10.206.131.18:58657 <-> 10.206.65.249:443,
    // [JA3S: 9d456958a9e86bb0d503543beaf1a65b], [Certificate SHA-1: 3B:2B:5E:58:...].
    let ndpi = corpus()
        .join("ntop+nDPI/tests/cfgs/default/pcap/ja3_lots_of_cipher_suites.pcap")
        .display()
        .to_string();
    let out = std::fs::read_to_string(
        corpus().join("ntop+nDPI/tests/cfgs/default/result/ja3_lots_of_cipher_suites.pcap.out"),
    )
    .unwrap();
    let field = |name: &str| {
        out.split(&format!("[{name}: "))
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .unwrap_or_default()
            .to_string()
    };
    let ja3s = field("JA3S");
    let sha1 = field("Certificate SHA-1").replace(':', "").to_lowercase();
    assert_eq!(ja3s.len(), 32, "nDPI's JA3S in its output");
    for (format, value, on) in [
        ("ja3s", ja3s.as_str(), "tls.ja3s"),
        ("x509-sha1", sha1.as_str(), "tls.cert_sha1"),
    ] {
        let r = run_format(format, &[value], &ndpi);
        let a = matched(&r, on);
        assert_eq!(a.len(), 1, "{on}: {}", r.stdout);
        // nDPI prints the inner tag only; the frame has two (tshark: 93,258), and c2watch
        // lists both, outermost first.
        assert_eq!(a[0]["vlan"], json!([93, 258]));
        assert_eq!(a[0]["victim"]["ip"], "10.206.131.18");
        assert_eq!(a[0]["victim"]["port"], 58657);
        assert_eq!(a[0]["c2"]["ip"], "10.206.65.249");
    }
}

/// Zeek's `conn.log` for its pcapng test (two interfaces): every connection's 5-tuple, who
/// started it, and the packets each way are what c2watch's flow records say.
#[test]
fn zeek_conn_log_agrees_with_flow_records() {
    let log = std::fs::read_to_string(
        corpus().join("zeek+zeek/testing/btest/Baseline/core.pcapng-pktsrc/conn.log"),
    )
    .unwrap();
    let fields: Vec<&str> = log
        .lines()
        .find_map(|l| l.strip_prefix("#fields\t"))
        .expect("#fields")
        .split('\t')
        .collect();
    let col = |name: &str| fields.iter().position(|f| *f == name).expect(name);
    let cols = [
        col("id.orig_h"),
        col("id.orig_p"),
        col("id.resp_h"),
        col("id.resp_p"),
        col("proto"),
        col("orig_pkts"),
        col("resp_pkts"),
    ];
    let mut theirs: Vec<Vec<String>> = log
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let v: Vec<&str> = l.split('\t').collect();
            cols.iter().map(|&c| v[c].to_string()).collect()
        })
        .collect();
    theirs.sort();
    let dir = tempfile::tempdir().unwrap();
    let feed = everything(dir.path());
    let r = c2watch(&[
        "replay",
        "--no-progress",
        "--intel",
        &feed,
        &zeek("pcapng-multi-interface.pcapng"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut ours: Vec<Vec<String>> = r
        .of_type("flow")
        .iter()
        .map(|f| {
            vec![
                s(&f["src_ip"]),
                s(&f["src_port"]),
                s(&f["dest_ip"]),
                s(&f["dest_port"]),
                s(&f["proto"]).to_lowercase(),
                s(&f["flow"]["pkts_toserver"]),
                s(&f["flow"]["pkts_toclient"]),
            ]
        })
        .collect();
    ours.sort();
    assert_eq!(theirs.len(), 3);
    assert_eq!(ours, theirs);
}
