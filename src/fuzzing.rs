//! Entry points for the fuzz targets in `fuzz/`: each takes arbitrary bytes and runs one
//! parser (or the whole packet path) the way c2watch runs it on hostile input. They must
//! never panic. `cargo test` runs them over seed inputs too (tests/fuzz_seeds.rs).

use crate::app::{dns, http, quic, tls};
use crate::decode::{Decoded, decode};

thread_local! {
    /// One message reused from input to input, as a worker reuses it.
    static DNS_MESSAGE: std::cell::RefCell<dns::Message> = std::cell::RefCell::default();
}

/// DNS message parser and CNAME resolution. A message parsed into the storage of the inputs
/// before it must be the one a fresh parse gives.
pub fn dns_message(data: &[u8]) {
    let fresh = dns::parse(data);
    DNS_MESSAGE.with_borrow_mut(|m| {
        let reused = dns::parse_into(data, m).map(|()| &*m);
        assert_eq!(
            reused,
            fresh.as_ref().map_err(|e| *e),
            "a reused message differs"
        );
    });
    if let Ok(m) = fresh {
        for q in &m.questions {
            let _ = dns::resolution(&m, &q.name);
        }
    }
}

/// TLS records → handshake messages → ClientHello (JA3, JA4), ServerHello (JA3S), Certificate.
pub fn tls_stream(data: &[u8]) {
    let mut hs = tls::Handshakes::default();
    // Feed in two steps, as reassembly does.
    let cut = data.len() / 2;
    let _ = hs.feed(&data[..cut]);
    if let Ok(msgs) = hs.feed(data) {
        for (t, body) in msgs {
            match t {
                tls::HS_CLIENT_HELLO => {
                    if let Ok(ch) = tls::parse_client_hello(&body) {
                        let _ = ch.ja3();
                        let _ = ch.ja4('t');
                    }
                }
                tls::HS_SERVER_HELLO => {
                    let _ = tls::ja3s(&body);
                }
                tls::HS_CERTIFICATE => {
                    let _ = tls::leaf_certificate_hashes(&body);
                }
                _ => {}
            }
        }
    }
    if let Ok(ch) = tls::parse_client_hello(data) {
        let _ = ch.ja4('q');
    }
}

/// QUIC Initial: header, keys, header protection, decryption, frames. The datagram's own DCID
/// gives the keys, so mutated real Initials reach the frame parser when authentication holds.
pub fn quic_datagram(data: &[u8]) {
    if let Some((v, dcid)) = quic::initial_dcid(data)
        && let Ok(keys) = quic::client_initial_keys(v, dcid)
    {
        let _ = quic::initial_crypto_frames(data, &keys);
    }
}

/// The frames of a decrypted QUIC Initial (what decryption protects from plain fuzzing).
pub fn quic_frames(data: &[u8]) {
    let mut out = Vec::new();
    let _ = quic::read_frames(data, &mut out);
}

/// HTTP request heads.
pub fn http_request(data: &[u8]) {
    if http::looks_like_request(data)
        && let Ok(r) = http::parse_request(data)
    {
        let _ = r.url();
        let _ = r.hostname();
    }
}

/// RADIUS accounting: the parser, then the live subscriber map it feeds (apply and look up
/// every network the message names).
pub fn radius_accounting(data: &[u8]) {
    if let Ok(Some(a)) = crate::app::radius::parse(data) {
        let mut m = crate::subscriber::radius::RadiusMap::new(4);
        let t = crate::time::Timestamp::new(1_700_000_000, 0);
        m.apply(&a, t);
        for (ip, _) in &a.networks {
            let _ = m.lookup(*ip, t);
        }
    }
}

/// Link types a `packet_path` input's frames pick from (by their first byte).
const LINKTYPES: [u32; 9] = [0, 1, 12, 101, 108, 113, 228, 229, 276];

/// Most frames one `packet_path` input is cut into.
const MAX_FRAMES: u64 = 256;

/// An indicator set with every kind a packet can match: addresses, a CIDR, ip:port, names,
/// URLs, JA3, JA3S, JA4 and certificate hashes (those the fixtures' traffic uses).
fn fuzz_snapshot() -> crate::intel::Snapshot {
    use crate::intel::feed::{FeedFormat, load_bytes};
    use crate::intel::set::{HashKind, IndicatorSetBuilder};
    let mut b = IndicatorSetBuilder::new();
    let lists: [(&str, Option<FeedFormat>); 5] = [
        (
            "203.0.113.10\n198.51.100.0/24\n203.0.113.11:4443\n2001:db8:bad::1\n\
             evil.example\nc2.example\nbad.example\nhttp://c2.example/gate.php\n",
            None,
        ),
        (
            "e7d705a3286e19ea42f587b344ee6865\n6734f37431670b3ab4292b8f60f29984\n",
            Some(FeedFormat::PlainHash(HashKind::Ja3)),
        ),
        (
            "907bf3ecef1c987c889946b737b43de8\n",
            Some(FeedFormat::PlainHash(HashKind::Ja3s)),
        ),
        (
            "t13d1516h2_8daaf6152771_02713d6af862\n",
            Some(FeedFormat::PlainHash(HashKind::Ja4)),
        ),
        (
            "3b2b5e586e3e301f52bf9b812047de10a0678efa\n",
            Some(FeedFormat::PlainHash(HashKind::CertSha1)),
        ),
    ];
    for (i, (text, format)) in lists.iter().enumerate() {
        let _ = load_bytes(&format!("fuzz-{i}"), text.as_bytes(), *format, &mut b);
    }
    std::sync::Arc::new(arc_swap::ArcSwap::from_pointee(b.build(1)))
}

/// The whole packet path: the input is a sequence of frames (each a byte choosing the link
/// type, a 2-byte length, the bytes), decoded, tracked as flows, inspected (DNS, TLS, QUIC,
/// HTTP, RADIUS) and matched against an indicator set of every kind, one second apart; then
/// every flow ends, and each record is written as EVE and ECS JSON.
pub fn packet_path(data: &[u8]) {
    use crate::alert::record::Record;
    use crate::detect::{DetectConfig, PacketInfo, Worker};
    use crate::time::Timestamp;
    thread_local! {
        static SNAPSHOT: crate::intel::Snapshot = fuzz_snapshot();
    }
    let snapshot = SNAPSHOT.with(|s| s.clone());
    let cfg = DetectConfig {
        max_flows: 64,
        dns_cache: 64,
        ..DetectConfig::default()
    };
    let mut w = Worker::new(std::sync::Arc::new(cfg), snapshot, Default::default());
    let (mut d, mut out) = (Decoded::default(), Vec::new());
    let (mut rest, mut seq) = (data, 0u64);
    let at = |seq: u64| Timestamp::new(1_700_000_000 + seq as i64, 0);
    while let [choice, hi, lo, tail @ ..] = rest
        && seq < MAX_FRAMES
    {
        let n = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (frame, next) = tail.split_at(n);
        rest = next;
        let lt = LINKTYPES[usize::from(*choice) % LINKTYPES.len()];
        if decode(lt, frame, &mut d).is_ok() {
            let (off, len) = (d.payload.0 as usize, d.payload.1 as usize);
            let payload = frame.get(off..off + len).unwrap_or(&[]);
            let info = PacketInfo {
                seq,
                ts: at(seq),
                iface: 0,
                orig_len: n as u32,
            };
            w.process(&info, &d, payload, &mut out);
        }
        seq += 1;
    }
    w.finish(u64::MAX, at(seq), &mut out);
    for r in &out {
        let v = match &r.record {
            Record::Alert(a) => crate::alert::eve::alert(a),
            Record::Flow(f) => crate::alert::eve::flow(f),
            Record::Radius(_) => continue,
        };
        let _ = crate::alert::ecs::from_eve(&v);
    }
}

/// The pcap and pcapng readers: the input is a whole capture file, read to its end (or to
/// its first error) record by record.
pub fn capture_file(data: &[u8]) {
    let reader = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(mut f) =
        crate::capture::CaptureFile::from_reader("fuzz", reader, crate::input::Compression::None)
    else {
        return;
    };
    let mut n = 0u32;
    while let Ok(Some(p)) = f.next_packet() {
        std::hint::black_box((p.ts, p.linktype, p.data.len()));
        n += 1;
        if n == 100_000 {
            break;
        }
    }
}

/// A frame of every link type through the decoder.
pub fn frame(data: &[u8]) {
    let mut d = Decoded::default();
    for lt in [0, 1, 12, 101, 108, 113, 228, 229, 276] {
        let _ = decode(lt, data, &mut d);
    }
    // The replay hands plain frames to workers undecoded, by the same dispatch hash.
    let lt = crate::capture::linktype::ETHERNET;
    assert!(
        crate::decode::plain::agrees(lt, data, &mut d),
        "a plain frame decodes differently"
    );
    if let Some(p) = crate::decode::plain::plain(lt, data) {
        let home = crate::detect::HomeNet::default_nets();
        assert_eq!(
            crate::detect::flow::dispatch_hash_plain(&p, &home),
            crate::detect::flow::dispatch_hash(&d, &home)
        );
        // ... and with the flow key the worker will look up (its prefetch uses this one).
        assert_eq!(
            crate::detect::flow::FlowKey::of_plain(&p),
            crate::detect::flow::FlowKey::of(&d).0
        );
    }
}

/// A feed file through its loader: the first byte picks a format to force (or, past the
/// last format, content detection); the rest is the file.
pub fn feed_file(data: &[u8]) {
    use crate::intel::feed::{Columns, FeedDef, FeedFormat, load_bytes_as};
    use crate::intel::set::IndicatorSetBuilder;
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let forced = FeedFormat::all().nth(usize::from(pick));
    // A vendor CSV needs its columns named; max_age exercises the feed-time parsing.
    let columns = (forced == Some(FeedFormat::Csv)).then(|| Columns {
        value: "value".into(),
        family: Some("family".into()),
        confidence: Some("confidence".into()),
        first_seen: Some("first_seen".into()),
        last_seen: Some("last_seen".into()),
        reference: Some("reference".into()),
        delimiter: None,
        value_kind: None,
    });
    let def = FeedDef {
        format: forced,
        columns,
        max_age: Some(std::time::Duration::from_secs(30 * 86_400)),
        min_confidence: Some(10),
        ..FeedDef::default()
    };
    let mut b = IndicatorSetBuilder::new();
    let _ = load_bytes_as("fuzz", body, &def, &mut b);
}

/// STIX patterns: the parser and the extraction of indicators.
pub fn stix_pattern(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::intel::feed::stix_pattern_indicators(text);
    }
}

/// A fuzz target: its name and entry point.
pub type Target = (&'static str, fn(&[u8]));

pub const TARGETS: [Target; 11] = [
    ("dns", dns_message),
    ("tls", tls_stream),
    ("quic", quic_datagram),
    ("quic_frames", quic_frames),
    ("http", http_request),
    ("radius", radius_accounting),
    ("frame", frame),
    ("packet_path", packet_path),
    ("capture_file", capture_file),
    ("feed", feed_file),
    ("stix_pattern", stix_pattern),
];

/// Small samples of the structured feed formats the fixtures do not hold, as seeds.
const FEED_SEEDS: [(&str, &str); 7] = [
    (
        "stix",
        r#"{"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--1", "modified": "2026-09-01T00:00:00Z", "pattern": "[ipv4-addr:value = '203.0.113.10']", "pattern_type": "stix", "valid_from": "2026-09-01T00:00:00Z", "valid_until": "2026-12-01T00:00:00Z", "confidence": 80, "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}, {"type": "malware", "id": "malware--1", "name": "ExampleBot", "is_family": true}, {"type": "relationship", "id": "relationship--1", "relationship_type": "indicates", "source_ref": "indicator--1", "target_ref": "malware--1"}]}"#,
    ),
    (
        "misp",
        r#"{"Event": {"uuid": "5f0e", "info": "x", "Tag": [{"name": "tlp:green"}, {"name": "misp-galaxy:malpedia=\"ExampleBot\""}], "Attribute": [{"type": "ip-dst|port", "value": "203.0.113.10|8443", "to_ids": true, "deleted": false}, {"type": "domain", "value": "c2.example", "to_ids": true, "Tag": [{"name": "tlp:amber"}]}], "Object": [{"name": "domain-ip", "Attribute": [{"type": "ip-dst", "value": "203.0.113.11", "to_ids": true}]}]}}"#,
    ),
    (
        "threatfox-json",
        r#"{"1": [{"ioc_value": "203.0.113.12:443", "ioc_type": "ip:port", "malware_printable": "ExampleBot", "confidence_level": 90}]}"#,
    ),
    (
        "threatfox-csv",
        "# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\",\"fk_malware\",\"malware_alias\",\"malware_printable\"\r\n\"2026-09-03 09:58:00\", \"1\", \"203.0.113.10:8443\", \"ip:port\", \"botnet_cc\", \"win.x\", \"None\", \"ExampleBot\"\r\n",
    ),
    (
        "zeek-intel",
        "#fields\tindicator\tindicator_type\tmeta.source\tmeta.whitelist\nc2.example\tIntel::DOMAIN\tx\t-\n198.51.100.0/24\tIntel::SUBNET\tx\tT\n",
    ),
    ("iprep", "203.0.113.0/24,1,100\n2001:db8::1,2,50\n"),
    (
        "dataset-domain",
        "YzIuZXhhbXBsZQ==\nLmV2aWwuZXhhbXBsZQ==,5\n",
    ),
];

/// STIX patterns the format reference validates, as seeds.
const STIX_PATTERNS: [&str; 6] = [
    "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.10' AND network-traffic:dst_port = 8443]",
    "[domain-name:value = 'c2.example'] OR [url:value = 'http://198.51.100.23/gate.php']",
    "[x509-certificate:hashes.'SHA-1' = '530194fadf6c9a330db40f42610f9dee6fa9bc32']",
    "[domain-name:value IN ('a.c2.example', 'b.c2.example')] OR [domain-name:value LIKE '%.dyn.example']",
    "[ipv4-addr:value = '203.0.113.10'] FOLLOWEDBY [domain-name:value = 'c2.example'] WITHIN 300 SECONDS",
    "([ipv6-addr:value ISSUBSET '2001:db8:4::/48'] OR [file:hashes.MD5 = 'x']) REPEATS 2 TIMES",
];

/// Seed inputs from the captures in `dir` (the fixtures): every frame (target `frame`), and the
/// transport payloads each app-layer parser reads. Returns (target, input) pairs.
pub fn seeds(dir: &std::path::Path) -> std::io::Result<Vec<(&'static str, Vec<u8>)>> {
    use crate::capture::{CaptureFile, Progress};
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
    {
        if let Ok(bytes) = std::fs::read(path)
            && bytes.len() <= 1 << 20
        {
            out.push(("capture_file", bytes));
        }
        let Ok(mut f) = CaptureFile::open(&path.display().to_string(), &Progress::default()) else {
            continue;
        };
        let mut d = Decoded::default();
        let mut path = Vec::new();
        let mut frames = 0u64;
        while let Ok(Some(p)) = f.next_packet() {
            out.push(("frame", p.data.to_vec()));
            if frames < MAX_FRAMES
                && let Some(choice) = LINKTYPES.iter().position(|l| *l == p.linktype)
                && let Ok(len) = u16::try_from(p.data.len())
            {
                path.push(choice as u8);
                path.extend_from_slice(&len.to_be_bytes());
                path.extend_from_slice(p.data);
                frames += 1;
            }
            if decode(p.linktype, p.data, &mut d).is_err() {
                continue;
            }
            let (off, len) = (d.payload.0 as usize, d.payload.1 as usize);
            let Some(payload) = p.data.get(off..off + len).filter(|p| !p.is_empty()) else {
                continue;
            };
            let target = match (d.proto, d.ports) {
                (17, Some((s, t))) if s == 53 || t == 53 => "dns",
                (17, Some((_, t))) if crate::app::radius::PORTS.contains(&t) => "radius",
                (17, _) => "quic",
                (6, _) if payload[0] == tls::CONTENT_HANDSHAKE => "tls",
                (6, _) if payload[0].is_ascii_uppercase() => "http",
                _ => continue,
            };
            out.push((target, payload.to_vec()));
        }
        if !path.is_empty() {
            out.push(("packet_path", path));
        }
    }
    // Decrypted Initial payloads, as the frame parser sees them.
    if let Ok(entries) = std::fs::read_dir(dir.join("quic")) {
        for e in entries.flatten() {
            let Ok(d) = std::fs::read(e.path()) else {
                continue;
            };
            if let Some((v, dcid)) = quic::initial_dcid(&d)
                && let Ok(keys) = quic::client_initial_keys(v, dcid)
                && let Ok(frames) = quic::initial_crypto_frames(&d, &keys)
            {
                for (off, data) in frames {
                    let mut f = vec![0x06];
                    f.extend_from_slice(&quic_varint(off));
                    f.extend_from_slice(&quic_varint(data.len() as u64));
                    f.extend_from_slice(&data);
                    out.push(("quic_frames", f));
                }
            }
        }
    }
    // Feed files, each with the leading byte that lets the loader detect the format.
    if let Ok(entries) = std::fs::read_dir(dir.join("feeds")) {
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            if let Ok(body) = std::fs::read(&f) {
                let mut d = vec![u8::MAX];
                d.extend_from_slice(&body);
                out.push(("feed", d));
            }
        }
    }
    for (format, body) in FEED_SEEDS {
        let pick = crate::intel::feed::FeedFormat::all()
            .position(|f| f.as_str() == format)
            .and_then(|i| u8::try_from(i).ok())
            .unwrap_or(u8::MAX);
        let mut d = vec![pick];
        d.extend_from_slice(body.as_bytes());
        out.push(("feed", d));
    }
    for p in STIX_PATTERNS {
        out.push(("stix_pattern", p.as_bytes().to_vec()));
    }
    // Whole TLS flights, not just single segments.
    out.push(("tls", tls::build::example_client_hello("seed.example")));
    out.push(("tls", tls::build::server_flight(b"seed certificate")));
    Ok(out)
}

fn quic_varint(v: u64) -> Vec<u8> {
    match v {
        0..=63 => vec![v as u8],
        64..=16_383 => (0x4000 | v as u16).to_be_bytes().to_vec(),
        _ => (0x8000_0000 | v as u32).to_be_bytes().to_vec(),
    }
}
