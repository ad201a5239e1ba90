//! The common frame, read at fixed offsets: Ethernet II, no VLAN tag, an unfragmented IPv4
//! packet without options, and a complete TCP header or a UDP header on a port that carries
//! no tunnel.
//!
//! [`super::decode`] reads such a frame with [`decode_accepted`] (same offsets, no header
//! parser), and the replay's reader hands it to another worker without decoding it at all.
//! Invariant, checked by the tests below and by the `frame` fuzz target: whenever [`plain`]
//! returns a frame, the full walk (`walk::walk`) succeeds on the same bytes and gives exactly
//! what [`decode_accepted`] gives (so also no VLAN, no tunnel), with the addresses and ports
//! `plain` read. Anything less common gets `None`, and the walk.

use super::walk::{ETH_IPV4, IP_TCP, IP_UDP, TUNNEL_PORTS};
use crate::capture::linktype;
use std::net::Ipv4Addr;

/// What worker dispatch needs from a plain frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plain {
    pub src: u32,
    pub dst: u32,
    pub ports: (u16, u16),
    /// The IP protocol number: 6 (TCP) or 17 (UDP).
    pub proto: u8,
}

mod field {
    // Offsets in the frame.
    pub const ETHERTYPE: usize = 12;
    /// Start of the IPv4 header.
    pub const IP: usize = 14;
    pub const VER_IHL: usize = IP;
    pub const TOTAL_LEN: usize = IP + 2;
    pub const FLAGS_FRAG: usize = IP + 6;
    pub const PROTO: usize = IP + 9;
    pub const SRC: usize = IP + 12;
    pub const DST: usize = IP + 16;
    /// Start of the transport header (an IPv4 header without options).
    pub const L4: usize = IP + 20;
    /// Offsets inside the TCP header.
    pub const TCP_SEQ: usize = 4;
    pub const TCP_DATA_OFF: usize = 12;
    pub const TCP_FLAGS: usize = 13;
    /// Offset inside the UDP header.
    pub const UDP_LEN: usize = 4;
    /// Length of the UDP header.
    pub const UDP_HEADER: usize = 8;
    /// Source and destination MAC addresses.
    pub const DST_MAC: usize = 0;
    pub const SRC_MAC: usize = 6;
}

/// Version 4, a 20-byte header: IP options are rare, and left to the full decode.
const VER_IHL_NO_OPTIONS: u8 = 0x45;
/// MF flag and fragment offset: either set means a fragment.
const FRAGMENT_BITS: u16 = 0x3fff;

/// The addresses and ports of a plain frame (see the module), or `None`.
#[inline]
pub fn plain(lt: u32, data: &[u8]) -> Option<Plain> {
    // Ethernet, a 20-byte IPv4 header and the first 8 transport bytes, checked once: every
    // offset below is fixed.
    let h: &[u8; field::L4 + 8] = data.get(..field::L4 + 8)?.try_into().ok()?;
    let be16 = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    let be32 = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    if lt != linktype::ETHERNET
        || be16(field::ETHERTYPE) != ETH_IPV4
        || h[field::VER_IHL] != VER_IHL_NO_OPTIONS
        || be16(field::FLAGS_FRAG) & FRAGMENT_BITS != 0
    {
        return None;
    }
    // Where the IP packet ends: its total length, or the capture if that is shorter. The
    // transport header must lie within both.
    let ip_end = (field::IP + usize::from(be16(field::TOTAL_LEN))).min(data.len());
    let ports = (be16(field::L4), be16(field::L4 + 2));
    let l4_len = match h[field::PROTO] {
        IP_TCP => {
            let tcp_len = usize::from(data.get(field::L4 + field::TCP_DATA_OFF)? >> 4) * 4;
            if tcp_len < 20 {
                return None;
            }
            tcp_len
        }
        IP_UDP if !TUNNEL_PORTS.iter().any(|p| ports.0 == *p || ports.1 == *p) => 8,
        _ => return None,
    };
    if field::L4 + l4_len > ip_end {
        return None;
    }
    Some(Plain {
        src: be32(field::SRC),
        dst: be32(field::DST),
        ports,
        proto: h[field::PROTO],
    })
}

/// What the full walk makes of a frame [`plain`] accepted (`data`, the same bytes), written
/// at the offsets `plain` checked: MACs, addresses, ports, TCP flags and sequence number, and
/// the transport payload without the Ethernet trailer. No check is repeated: the replay's
/// reader runs `plain` and a worker on another core calls this on the reader's unchanging
/// buffer. Returns false, with `out` left empty, only for bytes too short to be plain at all.
#[inline]
pub fn decode_accepted(data: &[u8], out: &mut super::Decoded) -> bool {
    // Cleared first (every field, by name), then what a plain frame has: a field added to
    // `Decoded` later starts empty here, and `agrees` compares it with the walk.
    out.reset();
    // `plain` checked that Ethernet, IPv4 and the transport header lie within the capture
    // and the IP packet: fixed offsets after one length check per header, and no
    // subtraction wraps.
    let Some(h) = data
        .get(..field::L4 + 8)
        .and_then(|h| <&[u8; field::L4 + 8]>::try_from(h).ok())
    else {
        return false;
    };
    let be16 = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    let be32 = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let ip_end = (field::IP + usize::from(be16(field::TOTAL_LEN))).min(data.len());
    let l4 = field::L4;
    let proto = h[field::PROTO];
    let (flags, seq, start, end) = if proto == IP_TCP {
        let Some(t) = data
            .get(l4..l4 + 20)
            .and_then(|t| <&[u8; 20]>::try_from(t).ok())
        else {
            return false;
        };
        let q = field::TCP_SEQ;
        let seq = u32::from_be_bytes([t[q], t[q + 1], t[q + 2], t[q + 3]]);
        let header = usize::from(t[field::TCP_DATA_OFF] >> 4) * 4;
        (t[field::TCP_FLAGS], seq, l4 + header, ip_end)
    } else {
        // A UDP length shorter than its header is ignored, a longer one cut to the packet.
        let ulen = usize::from(be16(l4 + field::UDP_LEN));
        let end = if ulen >= field::UDP_HEADER {
            (l4 + ulen).min(ip_end)
        } else {
            ip_end
        };
        (0, 0, l4 + field::UDP_HEADER, end)
    };
    let mac = |i: usize| {
        let mut m = [0; 6];
        m.copy_from_slice(&h[i..i + 6]);
        m
    };
    (out.src_mac, out.dst_mac) = (Some(mac(field::SRC_MAC)), Some(mac(field::DST_MAC)));
    out.src = std::net::IpAddr::V4(be32(field::SRC).into());
    out.dst = std::net::IpAddr::V4(be32(field::DST).into());
    (out.proto, out.ports) = (proto, Some((be16(l4), be16(l4 + 2))));
    (out.tcp_flags, out.tcp_seq) = (flags, seq);
    out.payload = (start as u32, end.saturating_sub(start) as u32);
    true
}

/// The module's invariant for one frame: `true` unless [`plain`] reads it and the full walk
/// (into `d`) fails or disagrees with [`decode_accepted`] (no VLAN or tunnel either), or
/// `decode_accepted` reads other addresses and ports than `plain` routed the frame by.
/// Checked by the tests and the `frame` fuzz target.
pub fn agrees(lt: u32, frame: &[u8], d: &mut super::Decoded) -> bool {
    let Some(p) = plain(lt, frame) else {
        return true;
    };
    let mut fast = super::Decoded::default();
    decode_accepted(frame, &mut fast)
        && (fast.src, fast.dst) == (Ipv4Addr::from(p.src).into(), Ipv4Addr::from(p.dst).into())
        && (fast.proto, fast.ports) == (p.proto, Some(p.ports))
        && super::walk(lt, frame, d).is_ok()
        && d.same_as(&fast)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ethertype: u16, ip: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(ip);
        f
    }

    fn ipv4(proto: u8, flags_frag: u16, transport: &[u8]) -> Vec<u8> {
        let total = (20 + transport.len()) as u16;
        let mut h = vec![0x45, 0];
        h.extend_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&[0, 1]);
        h.extend_from_slice(&flags_frag.to_be_bytes());
        h.extend_from_slice(&[64, proto, 0, 0, 10, 0, 0, 1, 192, 0, 2, 7]);
        h.extend_from_slice(transport);
        h
    }

    fn tcp(sport: u16, dport: u16) -> Vec<u8> {
        let mut t = sport.to_be_bytes().to_vec();
        t.extend_from_slice(&dport.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        t
    }

    fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = sport.to_be_bytes().to_vec();
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    #[test]
    fn reads_tcp_and_udp_at_fixed_offsets() {
        let f = frame(0x0800, &ipv4(6, 0x4000, &tcp(51000, 443)));
        let p = plain(linktype::ETHERNET, &f).unwrap();
        assert_eq!(p.src, 0x0a00_0001);
        assert_eq!(p.dst, 0xc000_0207);
        assert_eq!(p.ports, (51000, 443));
        assert!(agrees(linktype::ETHERNET, &f, &mut Default::default()));
        let f = frame(0x0800, &ipv4(17, 0, &udp(5353, 53, b"query")));
        assert_eq!(plain(linktype::ETHERNET, &f).unwrap().ports, (5353, 53));
        assert!(agrees(linktype::ETHERNET, &f, &mut Default::default()));
    }

    #[test]
    fn decode_accepted_gives_what_the_full_decode_gives() {
        let lt = linktype::ETHERNET;
        let mut cases = Vec::new();
        // TCP with data, with options (a 32-byte header), with an Ethernet trailer after the
        // IP packet (its bytes are not payload).
        let mut t = tcp(51000, 443);
        t.extend_from_slice(b"\x16\x03\x01hello");
        cases.push(frame(0x0800, &ipv4(6, 0x4000, &t)));
        let mut opts = tcp(1, 2);
        opts[12] = 0x80;
        opts.extend_from_slice(&[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0xaa, 0xbb]);
        cases.push(frame(0x0800, &ipv4(6, 0, &opts)));
        let mut trailer = frame(0x0800, &ipv4(6, 0, &tcp(3, 4)));
        trailer.extend_from_slice(&[0; 6]);
        cases.push(trailer);
        // UDP: its length right, shorter than its header, longer than the packet, shorter
        // than the packet.
        let u = udp(5353, 53, b"query");
        cases.push(frame(0x0800, &ipv4(17, 0, &u)));
        for ulen in [3u16, 200, 10] {
            let mut u = u.clone();
            u[4..6].copy_from_slice(&ulen.to_be_bytes());
            cases.push(frame(0x0800, &ipv4(17, 0, &u)));
        }
        for (i, f) in cases.iter().enumerate() {
            assert!(plain(lt, f).is_some(), "case {i} is plain");
            let mut d = Default::default();
            assert!(agrees(lt, f, &mut d), "case {i}");
        }
        // And a known answer: the payload of the first case starts after 14 + 20 + 20 bytes.
        let mut d = Default::default();
        assert!(decode_accepted(&cases[0], &mut d));
        assert_eq!(d.payload, (54, 8));
        assert_eq!(d.tcp_flags, 0x02);
        assert_eq!(d.tcp_seq, 1);
        assert_eq!(d.src_mac, Some([2, 0, 0, 0, 0, 1]));
    }

    #[test]
    fn leaves_everything_else_to_the_full_decode() {
        let lt = linktype::ETHERNET;
        let plain_tcp = frame(0x0800, &ipv4(6, 0, &tcp(1, 2)));
        let cases: Vec<Vec<u8>> = vec![
            // A VLAN tag, IPv6, another link type's bytes.
            frame(0x8100, &ipv4(6, 0, &tcp(1, 2))),
            frame(0x86dd, &ipv4(6, 0, &tcp(1, 2))),
            // Fragments: more-fragments set, or an offset.
            frame(0x0800, &ipv4(6, 0x2000, &tcp(1, 2))),
            frame(0x0800, &ipv4(6, 0x0001, &tcp(1, 2))),
            // Tunnel carriers: UDP to a tunnel port, IP in IP, GRE.
            frame(
                0x0800,
                &ipv4(17, 0, &udp(1000, 4789, &[8, 0, 0, 0, 0, 0, 1, 0])),
            ),
            frame(0x0800, &ipv4(17, 0, &udp(2152, 2152, &[0x30, 0xff, 0, 0]))),
            frame(0x0800, &ipv4(4, 0, &ipv4(6, 0, &tcp(1, 2)))),
            frame(0x0800, &ipv4(47, 0, &[0, 0, 8, 0])),
            // ICMP, and a TCP header cut by the snaplen.
            frame(0x0800, &ipv4(1, 0, &[8, 0, 0, 0])),
            plain_tcp[..plain_tcp.len() - 1].to_vec(),
        ];
        for (i, f) in cases.iter().enumerate() {
            assert_eq!(plain(lt, f), None, "case {i}");
        }
        // Options in the IP header, an IP total length shorter than its header, version 6 in
        // an IPv4 ethertype, every truncation of a plain frame: never a wrong answer.
        // (Options are left to the full decode.)
        let mut with_options = ipv4(6, 0, &[[1u8, 1, 1, 0].as_slice(), &tcp(7, 8)].concat());
        with_options[0] = 0x46;
        assert_eq!(plain(lt, &frame(0x0800, &with_options)), None);
        let mut short_total = plain_tcp.clone();
        short_total[16..18].copy_from_slice(&10u16.to_be_bytes());
        let mut v6 = plain_tcp.clone();
        v6[14] = 0x65;
        for f in [frame(0x0800, &with_options), short_total, v6] {
            assert!(agrees(lt, &f, &mut Default::default()));
        }
        for n in 0..plain_tcp.len() {
            assert!(
                agrees(lt, &plain_tcp[..n], &mut Default::default()),
                "cut at {n}"
            );
        }
        assert!(plain(linktype::RAW, &plain_tcp[14..]).is_none());
    }
}
