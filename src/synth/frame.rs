//! Frame builders, innermost layer first: each function wraps a payload in one header.
//! Checksums are computed where receivers check them (IPv4 header); transport checksums are 0.

use std::net::IpAddr;

pub const ETH_IPV4: u16 = 0x0800;
pub const ETH_IPV6: u16 = 0x86dd;
pub const ETH_ARP: u16 = 0x0806;

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;

pub fn tcp(sport: u16, dport: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(20 + payload.len());
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&(if flags & TCP_ACK != 0 { 1u32 } else { 0 }).to_be_bytes());
    b.push(5 << 4);
    b.push(flags);
    b.extend_from_slice(&64240u16.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(payload);
    b
}

pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(8 + payload.len());
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(payload);
    b
}

pub fn icmp(kind: u8, code: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![kind, code, 0, 0, 0, 1, 0, 1];
    b.extend_from_slice(payload);
    b
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// IPv4 fragmentation fields: (identification, offset in 8-byte units, more fragments).
#[derive(Clone, Copy, Default)]
pub struct Frag {
    pub id: u16,
    pub offset: u16,
    pub more: bool,
}

pub fn ipv4_full(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    options: &[u8],
    frag: Frag,
    payload: &[u8],
) -> Vec<u8> {
    assert!(
        options.len().is_multiple_of(4) && options.len() <= 40,
        "IPv4 options must be 4-byte aligned"
    );
    let hl = 20 + options.len();
    let mut b = Vec::with_capacity(hl + payload.len());
    b.push(0x40 | (hl / 4) as u8);
    b.push(0);
    b.extend_from_slice(&((hl + payload.len()) as u16).to_be_bytes());
    b.extend_from_slice(&frag.id.to_be_bytes());
    let ff = (frag.offset & 0x1fff) | if frag.more { 0x2000 } else { 0 };
    b.extend_from_slice(&ff.to_be_bytes());
    b.push(64);
    b.push(proto);
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&src);
    b.extend_from_slice(&dst);
    b.extend_from_slice(options);
    let c = checksum(&b[..hl]);
    b[10..12].copy_from_slice(&c.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

pub fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_full(src, dst, proto, &[], Frag::default(), payload)
}

/// IPv6 with extension headers given as (header type, body without the next/len bytes).
pub fn ipv6_full(
    src: [u8; 16],
    dst: [u8; 16],
    exts: &[(u8, Vec<u8>)],
    proto: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut chain = Vec::new();
    for (i, (_, body)) in exts.iter().enumerate() {
        let next = exts.get(i + 1).map_or(proto, |e| e.0);
        // Generic extension: next header, length in 8-byte units beyond the first 8, body.
        let total = (2 + body.len()).div_ceil(8) * 8;
        chain.push(next);
        chain.push((total / 8 - 1) as u8);
        chain.extend_from_slice(body);
        chain.resize(chain.len() + total - 2 - body.len(), 0);
    }
    let first = exts.first().map_or(proto, |e| e.0);
    let mut b = Vec::with_capacity(40 + chain.len() + payload.len());
    b.extend_from_slice(&[0x60, 0, 0, 0]);
    b.extend_from_slice(&((chain.len() + payload.len()) as u16).to_be_bytes());
    b.push(first);
    b.push(64);
    b.extend_from_slice(&src);
    b.extend_from_slice(&dst);
    b.extend_from_slice(&chain);
    b.extend_from_slice(payload);
    b
}

pub fn ipv6(src: [u8; 16], dst: [u8; 16], proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv6_full(src, dst, &[], proto, payload)
}

/// IPv4 or IPv6 by address family (both must be the same family).
pub fn ip(src: IpAddr, dst: IpAddr, proto: u8, payload: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ipv4(s.octets(), d.octets(), proto, payload),
        (IpAddr::V6(s), IpAddr::V6(d)) => ipv6(s.octets(), d.octets(), proto, payload),
        _ => panic!("mixed address families in a synthetic packet"),
    }
}

pub fn ethertype_of(ip_packet: &[u8]) -> u16 {
    if ip_packet.first().is_some_and(|b| b >> 4 == 6) {
        ETH_IPV6
    } else {
        ETH_IPV4
    }
}

/// Ethernet II with optional VLAN tags given as (TPID, VLAN id), outermost first.
pub fn ethernet(
    src: [u8; 6],
    dst: [u8; 6],
    tags: &[(u16, u16)],
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = Vec::with_capacity(14 + 4 * tags.len() + payload.len());
    b.extend_from_slice(&dst);
    b.extend_from_slice(&src);
    for (tpid, vid) in tags {
        b.extend_from_slice(&tpid.to_be_bytes());
        b.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    b.extend_from_slice(&ethertype.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

/// An MPLS label stack (top first) in front of `payload`.
pub fn mpls(labels: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        let bos = if i + 1 == labels.len() { 0x100 } else { 0 };
        b.extend_from_slice(&((l << 12) | bos | 64).to_be_bytes());
    }
    b.extend_from_slice(payload);
    b
}

/// PPPoE session header and PPP protocol field.
pub fn pppoe(session: u16, ppp_proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0x11, 0x00];
    b.extend_from_slice(&session.to_be_bytes());
    b.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    b.extend_from_slice(&ppp_proto.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

pub fn gre(proto: u16, key: Option<u32>, seq: Option<u32>, payload: &[u8]) -> Vec<u8> {
    let flags: u16 =
        if key.is_some() { 0x2000 } else { 0 } | if seq.is_some() { 0x1000 } else { 0 };
    let mut b = Vec::new();
    b.extend_from_slice(&flags.to_be_bytes());
    b.extend_from_slice(&proto.to_be_bytes());
    if let Some(k) = key {
        b.extend_from_slice(&k.to_be_bytes());
    }
    if let Some(s) = seq {
        b.extend_from_slice(&s.to_be_bytes());
    }
    b.extend_from_slice(payload);
    b
}

/// ERSPAN type II header (to follow a GRE header with the sequence flag and 0x88be).
pub fn erspan2(session: u16, vlan: u16, frame: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(0x1000 | (vlan & 0x0fff)).to_be_bytes());
    b.extend_from_slice(&(session & 0x03ff).to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(frame);
    b
}

/// ERSPAN type III header, optionally with the 8-byte platform subheader.
pub fn erspan3(session: u16, platform: bool, frame: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x2000u16.to_be_bytes());
    b.extend_from_slice(&(session & 0x03ff).to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 1]); // timestamp
    b.extend_from_slice(&[0, 0]); // SGT
    b.push(0);
    b.push(u8::from(platform));
    if platform {
        b.extend_from_slice(&[0x08, 0, 0, 0, 0, 0, 0, 0]);
    }
    b.extend_from_slice(frame);
    b
}

pub fn vxlan(vni: u32, frame: &[u8]) -> Vec<u8> {
    let mut b = vec![0x08, 0, 0, 0];
    b.extend_from_slice(&(vni << 8).to_be_bytes());
    b.extend_from_slice(frame);
    b
}

pub fn geneve(vni: u32, proto: u16, options: &[u8], payload: &[u8]) -> Vec<u8> {
    assert!(options.len().is_multiple_of(4));
    let mut b = vec![(options.len() / 4) as u8, 0];
    b.extend_from_slice(&proto.to_be_bytes());
    b.extend_from_slice(&(vni << 8).to_be_bytes());
    b.extend_from_slice(options);
    b.extend_from_slice(payload);
    b
}

/// GTP-U G-PDU; with `pdu_session_ext` a PDU Session Container extension header (5G).
pub fn gtpu(teid: u32, pdu_session_ext: bool, ip_packet: &[u8]) -> Vec<u8> {
    let ext: &[u8] = if pdu_session_ext {
        &[0, 0, 0, 0x85, 0x01, 0x10, 0x09, 0x00]
    } else {
        &[]
    };
    let mut b = vec![if pdu_session_ext { 0x34 } else { 0x30 }, 0xff];
    b.extend_from_slice(&((ext.len() + ip_packet.len()) as u16).to_be_bytes());
    b.extend_from_slice(&teid.to_be_bytes());
    b.extend_from_slice(ext);
    b.extend_from_slice(ip_packet);
    b
}

/// Linux cooked header v1 (LINKTYPE_LINUX_SLL) from a 6-byte sender address.
pub fn sll(src: [u8; 6], protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 4, 0, 1, 0, 6];
    b.extend_from_slice(&src);
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&protocol.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

/// Linux cooked header v2 (LINKTYPE_LINUX_SLL2).
pub fn sll2(src: [u8; 6], protocol: u16, ifindex: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&protocol.to_be_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&ifindex.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes());
    b.push(4);
    b.push(6);
    b.extend_from_slice(&src);
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(payload);
    b
}

/// BSD loopback (LINKTYPE_NULL): address family in the writer's (here: little-endian) order.
pub fn null_loopback(family: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = family.to_le_bytes().to_vec();
    b.extend_from_slice(payload);
    b
}
