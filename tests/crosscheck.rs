//! Cross-checks against tshark, an independent decoder (installed by scripts/install-deps):
//! what c2watch extracts from the fixtures is what Wireshark's dissectors read.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::process::Command;

fn tshark(file: &str, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec![
        "-o",
        "tcp.reassemble_out_of_order:TRUE",
        "-r",
        file,
        "-Y",
        filter,
        "-T",
        "fields",
    ];
    for f in fields {
        args.extend(["-e", f]);
    }
    let out = Command::new("tshark")
        .args(&args)
        .output()
        .expect("tshark is installed by scripts/install-deps");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn tls_fingerprints_agree_with_tshark() {
    let dir = tempfile::tempdir().unwrap();
    // List every possible value so that every hello and server flight alerts.
    let hellos = tshark(
        &fixture("tls.pcap"),
        "tls.handshake.type==1",
        &[
            "ip.src",
            "tls.handshake.extensions_server_name",
            "tls.handshake.ja3",
            "tls.handshake.ja3_full",
        ],
    );
    let servers = tshark(
        &fixture("tls.pcap"),
        "tls.handshake.type==2",
        &["ip.dst", "tls.handshake.ja3s", "tls.handshake.ja3s_full"],
    );
    assert_eq!(
        (hellos.len(), servers.len()),
        (2, 1),
        "{hellos:?} {servers:?}"
    );
    let ja3 = dir.path().join("ja3.txt");
    std::fs::write(
        &ja3,
        hellos
            .iter()
            .map(|h| h[2].clone())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let ja3s = dir.path().join("ja3s.txt");
    std::fs::write(&ja3s, &servers[0][1]).unwrap();
    let r = c2watch(&[
        "replay",
        "--intel",
        &format!("ja3:{}", ja3.display()),
        "--intel",
        &format!("ja3s:{}", ja3s.display()),
        &fixture("tls.pcap"),
    ]);
    let ours: BTreeSet<(String, String, String, String)> = r
        .alerts()
        .iter()
        .filter(|a| a["threat"]["indicator"]["matched_on"] == "tls.ja3")
        .map(|a| {
            (
                s(&a["victim"]["ip"]),
                s(&a["tls"]["sni"]),
                s(&a["tls"]["ja3"]["hash"]),
                s(&a["tls"]["ja3"]["string"]),
            )
        })
        .collect();
    let theirs: BTreeSet<(String, String, String, String)> = hellos
        .iter()
        .map(|h| (h[0].clone(), h[1].clone(), h[2].clone(), h[3].clone()))
        .collect();
    assert_eq!(ours, theirs);
    let s3 = r
        .alerts()
        .into_iter()
        .find(|a| a["threat"]["indicator"]["matched_on"] == "tls.ja3s")
        .expect("a JA3S alert")
        .clone();
    assert_eq!(
        (
            s(&s3["victim"]["ip"]),
            s(&s3["tls"]["ja3s"]["hash"]),
            s(&s3["tls"]["ja3s"]["string"])
        ),
        (
            servers[0][0].clone(),
            servers[0][1].clone(),
            servers[0][2].clone()
        )
    );
}

#[test]
fn dns_names_agree_with_tshark() {
    let theirs: BTreeSet<String> = tshark(
        &fixture("dns.pcap"),
        "dns.flags.response==0",
        &["dns.qry.name"],
    )
    .into_iter()
    .filter_map(|f| f.first().cloned())
    // tshark's notes such as `<name contains a pointer that loops>` are not names.
    .filter(|n| !n.is_empty() && !n.starts_with('<'))
    .map(|n| n.to_ascii_lowercase())
    .collect();
    // List every name tshark saw: c2watch must alert on each of them (as a DNS question).
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("names.txt");
    std::fs::write(&feed, theirs.iter().cloned().collect::<Vec<_>>().join("\n")).unwrap();
    let r = c2watch(&[
        "replay",
        "--intel",
        &format!("domain:{}", feed.display()),
        &fixture("dns.pcap"),
    ]);
    let ours: BTreeSet<String> = r
        .alerts()
        .iter()
        .filter(|a| a["threat"]["indicator"]["matched_on"] == "dns.query")
        .map(|a| s(&a["dns"]["rrname"]))
        .collect();
    assert!(theirs.len() >= 7, "{theirs:?}");
    assert_eq!(ours, theirs);
}

#[test]
fn quic_server_names_agree_with_tshark() {
    // tshark decrypts QUIC Initials with the same public keys.
    let theirs: BTreeSet<(String, String)> = tshark(
        &fixture("quic.pcap"),
        "tls.handshake.type==1",
        &["ip.src", "tls.handshake.extensions_server_name"],
    )
    .into_iter()
    .map(|f| (f[0].clone(), f[1].clone()))
    .collect();
    assert_eq!(theirs.len(), 4, "{theirs:?}");
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("names.txt");
    std::fs::write(
        &feed,
        theirs
            .iter()
            .map(|(_, n)| n.clone())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let r = c2watch(&[
        "replay",
        "--intel",
        &format!("domain:{}", feed.display()),
        &fixture("quic.pcap"),
    ]);
    let ours: BTreeSet<(String, String)> = r
        .alerts()
        .iter()
        .map(|a| (s(&a["victim"]["ip"]), s(&a["quic"]["sni"])))
        .collect();
    assert_eq!(ours, theirs);
}

#[test]
fn radius_sessions_agree_with_tshark() {
    // What tshark's RADIUS dissector reads: user → the networks its requests assigned.
    let rows = tshark(
        &fixture("radius.pcap"),
        "radius.code == 4",
        &[
            "radius.User_Name",
            "radius.Framed-IP-Address",
            "radius.Framed_IPv6_Prefix",
            "radius.Delegated_IPv6_Prefix",
        ],
    );
    let mut theirs = BTreeSet::new();
    for r in &rows {
        let user = r.first().cloned().unwrap_or_default();
        if let Some(v4) = r.get(1).filter(|v| !v.is_empty()) {
            theirs.insert((user.clone(), format!("{v4}/32")));
        }
        for hex in r.iter().skip(2).filter(|v| !v.is_empty()) {
            for one in hex.split(',') {
                // reserved, length, then the prefix's bytes
                let bytes: Vec<u8> = (0..one.len() / 2)
                    .filter_map(|i| u8::from_str_radix(&one[2 * i..2 * i + 2], 16).ok())
                    .collect();
                let mut a = [0u8; 16];
                a[..bytes.len() - 2].copy_from_slice(&bytes[2..]);
                let net = std::net::Ipv6Addr::from(a);
                theirs.insert((user.clone(), format!("{net}/{}", bytes[1])));
            }
        }
    }
    let run = replay(&["radius.pcap"], &[]);
    let ours: BTreeSet<(String, String)> = run
        .alerts()
        .iter()
        .map(|a| &a["victim"]["subscriber"])
        .filter(|s| !s.is_null())
        .map(|sub| (s(&sub["id"]), s(&sub["network"])))
        .collect();
    assert_eq!(ours.len(), 4, "{ours:?}");
    for pair in &ours {
        assert!(theirs.contains(pair), "{pair:?} not in tshark's {theirs:?}");
    }
}
