//! Hostile inputs that once could (or would, written naively) hang or crash a parser. Each
//! stays here as a regression test; crashes found by fuzz/run.sh are added the same way.

use c2watch::app::{dns, http, quic, tls};
use c2watch::decode::{Decoded, decode};

#[test]
fn gtpu_extension_of_length_zero_does_not_loop() {
    // IPv4/UDP 2152, GTP-U with the E flag and an extension whose length unit is 0.
    let gtp = [0x34, 0xff, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0x85, 0x00, 0, 0, 0];
    let mut p = vec![
        0x45,
        0,
        0,
        (20 + 8 + gtp.len()) as u8,
        0,
        0,
        0,
        0,
        64,
        17,
        0,
        0,
        192,
        0,
        2,
        1,
        192,
        0,
        2,
        2,
    ];
    p.extend_from_slice(&[0x08, 0x68, 0x08, 0x68, 0, (8 + gtp.len()) as u8, 0, 0]);
    p.extend_from_slice(&gtp);
    let mut d = Decoded::default();
    assert!(decode(101, &p, &mut d).is_ok());
    assert_eq!(
        d.tunnels().count(),
        0,
        "not entered: the outer UDP packet is reported"
    );
}

#[test]
fn dns_pointer_chains() {
    // A pointer to a pointer to ... to itself.
    let mut m = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for i in 0..40u8 {
        m.extend_from_slice(&[0xc0, 12 + 2 * (i + 1)]);
    }
    m.extend_from_slice(&[0xc0, 12]);
    assert!(dns::parse(&m).is_err());
    // A label length reaching past the end.
    assert!(dns::parse(&[0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63, b'a']).is_err());
}

#[test]
fn tls_lengths_beyond_the_data() {
    let mut hs = tls::Handshakes::default();
    // A handshake header announcing 16 MiB inside a short record: waits, never over-reads.
    assert!(
        hs.feed(&[22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff])
            .unwrap()
            .is_empty()
    );
    assert!(tls::parse_client_hello(&[3, 3]).is_err());
    assert!(tls::leaf_certificate_hashes(&[0xff, 0xff, 0xff, 0, 0, 1]).is_err());
}

#[test]
fn quic_frames_longer_than_the_packet() {
    let mut out = Vec::new();
    // CRYPTO frame: offset 0, length 2^30 - 1.
    assert!(quic::read_frames(&[0x06, 0x00, 0xbf, 0xff, 0xff, 0xff, 1, 2, 3], &mut out).is_err());
    // ACK frame with an enormous range count: bounded.
    assert!(quic::read_frames(&[0x02, 0, 0, 0xbf, 0xff, 0xff, 0xff, 0], &mut out).is_err());
    // A long header with a 255-byte connection id.
    let mut p = vec![0xc0, 0, 0, 0, 1, 255];
    p.extend_from_slice(&[0; 300]);
    assert_eq!(quic::initial_dcid(&p), None);
}

#[test]
fn http_with_nul_and_huge_headers() {
    assert!(http::parse_request(b"GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n").is_err());
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..100 {
        many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert!(http::parse_request(&many).is_err(), "more than 64 headers");
}

#[test]
fn stix_pattern_nested_a_hundred_thousand_deep_does_not_overflow_the_stack() {
    // Found by the stix_pattern fuzz target: the recursive parser had no depth limit.
    let deep = format!(
        "{}[ipv4-addr:value = '1.2.3.4']{}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    c2watch::fuzzing::stix_pattern(deep.as_bytes());
    assert!(c2watch::intel::feed::stix_pattern_indicators(&deep).is_err());
}

#[test]
fn ja4_shaped_value_with_multibyte_characters() {
    // Found by the feed fuzz target (2026-11-29): a plain-list line shaped like a JA4 with a
    // two-byte character where the counts go made the JA4 check slice inside a character.
    // The fuzz input as found: first byte 0x2f forces a format, the rest is the line.
    let found = b"/q\x07#if\"r\xdb\x8ct_snn_l";
    c2watch::fuzzing::feed_file(found);
    assert_eq!(
        c2watch::intel::name::canonical_ja4("q#if\"r\u{6cc}t_aaaaaaaaaaaa_bbbbbbbbbbbb"),
        None
    );
    assert_eq!(
        c2watch::intel::name::canonical_ja4("t13dیa10h2_c03c18a8b7cd_42e4ae2b70ac"),
        None
    );
}
