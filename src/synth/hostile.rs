//! A capture of hostile traffic for the robustness tests (issue #8): what an ISP tap sees from
//! people who try to break sensors, followed by two real C2 contacts that must still alert.
//!
//! In order:
//! 1. TLS handshakes that never complete: flows whose record header promises a 16 KB
//!    ClientHello and that then send only small pieces of it.
//! 2. Overlapping and conflicting retransmissions: a ClientHello for a harmless name, then
//!    the same bytes again with the listed name written over them, then a segment that
//!    overlaps both.
//! 3. DNS responses whose compression pointers loop.
//! 4. 64 stacked VLAN tags, 64 MPLS labels without a bottom of stack, and IP-in-IP nested 64
//!    deep.
//! 5. IPv6 with a chain of 32 extension headers.
//! 6. Zero-length and maximum-length everything: an empty frame, a 14-byte Ethernet header
//!    alone, IPv4 with total length 0, TCP with a data offset of 0, an empty UDP datagram,
//!    and a 65,535-byte IPv4 packet.
//! 7. The real contacts: a DNS question for `evil.example` and a SYN to 203.0.113.10.

use super::frame::*;
use super::writer::PcapWriter;
use crate::capture::linktype;
use crate::time::Timestamp;
use std::io::{self, Write};

/// The listed names and addresses the capture's real contacts use.
pub const C2_IP: [u8; 4] = [203, 0, 113, 10];
pub const C2_NAME: &str = "evil.example";
/// The address inside the hostile packets.
pub const VICTIM: [u8; 4] = [10, 66, 0, 1];
/// The subscriber whose real contacts come last (not one the hostile packets use).
pub const CONTACT: [u8; 4] = [10, 66, 99, 1];

const A: [u8; 6] = [0x02, 0, 0, 0, 0x66, 0x01];
const B: [u8; 6] = [0x02, 0, 0, 0, 0x66, 0x02];

/// How many of each: `handshakes` never-completed hellos of `pieces` segments each.
#[derive(Clone, Copy, Debug)]
pub struct HostileConfig {
    pub handshakes: u32,
    pub pieces: u32,
}

fn eth(p: &[u8]) -> Vec<u8> {
    ethernet(A, B, &[], ethertype_of(p), p)
}

/// A DNS response whose answer's name is a pointer to itself.
fn dns_loop(id: u16) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    // Question: a pointer to offset 12, i.e. to itself.
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    // Answer: a pointer into the question's pointer, then A record fields.
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 10]);
    m
}

/// A DNS question for `name`.
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    m
}

/// Writes the capture; returns how many frames it holds.
pub fn write_hostile(out: impl Write, cfg: &HostileConfig) -> io::Result<u64> {
    let mut w = PcapWriter::new(io::BufWriter::new(out), linktype::ETHERNET)?;
    let base = Timestamp::new(1_700_000_000, 0).as_nanos();
    let mut n = 0u64;
    let mut put = |w: &mut PcapWriter<_>, frame: &[u8]| -> io::Result<()> {
        n += 1;
        w.packet(Timestamp::from_nanos(base + i128::from(n) * 1000), frame)
    };
    let server = [192, 0, 2, 44];

    // 1. Hellos that never complete.
    let hello = crate::app::tls::build::example_client_hello("never.example");
    for i in 0..cfg.handshakes {
        let client = [10, 66, (i >> 8) as u8, i as u8];
        let port = 20_000 + (i % 40_000) as u16;
        put(
            &mut w,
            &eth(&ipv4(client, server, 6, &tcp(port, 443, 99, TCP_SYN, &[]))),
        )?;
        // A record header that promises 16,000 bytes, then the hello's start in pieces.
        let mut promised = vec![0x16, 0x03, 0x01, 0x3e, 0x80];
        promised.extend_from_slice(hello.get(5..).unwrap_or(&[]));
        let mut seq = 100u32;
        for k in 0..cfg.pieces as usize {
            let piece = promised.get(k * 40..(k + 1) * 40).unwrap_or(&[0x41; 40]);
            let seg = tcp(port, 443, seq, TCP_ACK | TCP_PSH, piece);
            put(&mut w, &eth(&ipv4(client, server, 6, &seg)))?;
            seq = seq.wrapping_add(piece.len() as u32);
        }
    }

    // 2. Conflicting retransmissions of one ClientHello.
    let (client, port) = ([10, 66, 200, 1], 33_333);
    let harmless = crate::app::tls::build::example_client_hello("fine.example");
    let listed = crate::app::tls::build::example_client_hello("evil.example");
    put(
        &mut w,
        &eth(&ipv4(client, server, 6, &tcp(port, 443, 999, TCP_SYN, &[]))),
    )?;
    let half = harmless.len() / 2;
    put(
        &mut w,
        &eth(&ipv4(
            client,
            server,
            6,
            &tcp(port, 443, 1000, TCP_ACK, &harmless[..half]),
        )),
    )?;
    // The same sequence numbers, other bytes.
    put(
        &mut w,
        &eth(&ipv4(
            client,
            server,
            6,
            &tcp(port, 443, 1000, TCP_ACK, &listed[..half]),
        )),
    )?;
    // Overlapping the first half and completing the listed hello.
    let from = half / 2;
    put(
        &mut w,
        &eth(&ipv4(
            client,
            server,
            6,
            &tcp(port, 443, 1000 + from as u32, TCP_ACK, &listed[from..]),
        )),
    )?;

    // 3. DNS compression loops.
    for id in 0..4u16 {
        put(
            &mut w,
            &eth(&ipv4(
                [192, 0, 2, 53],
                VICTIM,
                17,
                &udp(53, 40_000 + id, &dns_loop(id)),
            )),
        )?;
    }

    // 4. Nesting: 64 VLAN tags; 64 MPLS labels, none the bottom of the stack; IP-in-IP 64 deep.
    let inner = ipv4(VICTIM, C2_IP, 17, &udp(1, 2, b"deep"));
    let tags: Vec<(u16, u16)> = (0..64).map(|i| (0x8100, 100 + i)).collect();
    put(&mut w, &ethernet(A, B, &tags, ETH_IPV4, &inner))?;
    let labels: Vec<u32> = (0..64).collect();
    let mut stack = mpls(&labels, &inner);
    for l in 0..64 {
        // Clear every bottom-of-stack bit.
        if let Some(b) = stack.get_mut(l * 4 + 2) {
            *b &= !1;
        }
    }
    put(&mut w, &ethernet(A, B, &[], 0x8847, &stack))?;
    let mut nested = inner.clone();
    for _ in 0..64 {
        nested = ipv4([192, 0, 2, 1], [192, 0, 2, 2], 4, &nested);
    }
    put(&mut w, &eth(&nested))?;

    // 5. IPv6 with 32 destination-options headers.
    let v6 = |last: u8| {
        let mut a = [0u8; 16];
        a[0] = 0xfd;
        a[15] = last;
        a
    };
    let exts: Vec<(u8, Vec<u8>)> = (0..32).map(|_| (60u8, vec![1, 4, 0, 0, 0, 0])).collect();
    put(
        &mut w,
        &eth(&ipv6_full(v6(1), v6(2), &exts, 17, &udp(5, 6, b"chain"))),
    )?;

    // 6. Zero and maximum lengths.
    put(&mut w, &[])?;
    put(&mut w, &ethernet(A, B, &[], ETH_IPV4, &[]))?;
    let mut zero_len = ipv4(VICTIM, C2_IP, 17, &udp(7, 8, b"x"));
    zero_len[2] = 0;
    zero_len[3] = 0;
    put(&mut w, &eth(&zero_len))?;
    let mut no_offset = tcp(9, 10, 1, TCP_ACK, b"payload");
    no_offset[12] = 0;
    put(&mut w, &eth(&ipv4(VICTIM, [192, 0, 2, 9], 6, &no_offset)))?;
    put(
        &mut w,
        &eth(&ipv4(VICTIM, [192, 0, 2, 9], 17, &udp(11, 12, &[]))),
    )?;
    let big = vec![0x5a; 65_535 - 20 - 8];
    put(
        &mut w,
        &eth(&ipv4(VICTIM, [192, 0, 2, 9], 17, &udp(13, 14, &big))),
    )?;

    // 7. The real contacts.
    let query = udp(41_000, 53, &dns_query(7, C2_NAME));
    put(&mut w, &eth(&ipv4(CONTACT, [192, 0, 2, 53], 17, &query)))?;
    let syn = tcp(41_001, 443, 5, TCP_SYN, &[]);
    put(&mut w, &eth(&ipv4(CONTACT, C2_IP, 6, &syn)))?;
    w.into_inner().flush()?;
    Ok(n)
}
