//! The common frame, read at fixed offsets: Ethernet II, no VLAN tag, an unfragmented IPv4
//! packet and a complete TCP header or a UDP header on a port that carries no tunnel.
//!
//! The replay's reader uses it to hand a packet to another worker without decoding it (the
//! worker decodes it anyway). Invariant, checked by the tests below and by the `packet_path`
//! fuzz target: whenever [`plain`] returns a frame, [`super::decode`] succeeds on the same
//! bytes with the same addresses and ports, no VLAN and no tunnel. Anything less common gets
//! `None`, and the full decode.

use crate::capture::linktype;

/// What worker dispatch needs from a plain frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plain {
    pub src: u32,
    pub dst: u32,
    pub ports: (u16, u16),
}

mod field {
    use std::ops::Range;
    pub const ETHERTYPE: Range<usize> = 12..14;
    /// Start of the IPv4 header.
    pub const IP: usize = 14;
    // Offsets inside the IPv4 header.
    pub const VER_IHL: usize = 0;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const FLAGS_FRAG: Range<usize> = 6..8;
    pub const PROTO: usize = 9;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
    // Offsets inside the TCP header.
    pub const TCP_DATA_OFF: usize = 12;
}

const ETH_IPV4: u16 = 0x0800;
const IP_TCP: u8 = 6;
const IP_UDP: u8 = 17;
/// MF flag and fragment offset: either set means a fragment.
const FRAGMENT_BITS: u16 = 0x3fff;
/// UDP ports the full decode looks inside for a tunnel (VXLAN, Geneve, GTP-U, GRE-in-UDP,
/// Teredo): such datagrams always take the full decode.
const TUNNEL_PORTS: [u16; 5] = [4789, 6081, 2152, 4754, 3544];

fn be16(b: &[u8], r: std::ops::Range<usize>) -> Option<u16> {
    let s = b.get(r)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

/// The addresses and ports of a plain frame (see the module), or `None`.
#[inline]
pub fn plain(lt: u32, data: &[u8]) -> Option<Plain> {
    // The Ethernet header and the fixed part of the IPv4 header, checked once.
    let head: &[u8; field::IP + 20] = data.get(..field::IP + 20)?.try_into().ok()?;
    let at = |i: usize| head[field::IP + i];
    let word = |i: usize| u16::from_be_bytes([at(i), at(i + 1)]);
    let quad = |i: usize| u32::from_be_bytes([at(i), at(i + 1), at(i + 2), at(i + 3)]);
    if lt != linktype::ETHERNET
        || u16::from_be_bytes([
            head[field::ETHERTYPE.start],
            head[field::ETHERTYPE.start + 1],
        ]) != ETH_IPV4
    {
        return None;
    }
    let ip = data.get(field::IP..)?;
    let ver_ihl = at(field::VER_IHL);
    let header_len = usize::from(ver_ihl & 0x0f) * 4;
    if ver_ihl >> 4 != 4 || header_len < 20 || ip.len() < header_len {
        return None;
    }
    let total = usize::from(word(field::TOTAL_LEN.start));
    if total < header_len || word(field::FLAGS_FRAG.start) & FRAGMENT_BITS != 0 {
        return None;
    }
    // The transport header must lie within both the capture and the IP packet.
    let seg = ip.get(header_len..total.min(ip.len()))?;
    let ports = (be16(seg, 0..2)?, be16(seg, 2..4)?);
    match at(field::PROTO) {
        IP_TCP => {
            let tcp_len = usize::from(seg.get(field::TCP_DATA_OFF)? >> 4) * 4;
            if tcp_len < 20 || seg.len() < tcp_len {
                return None;
            }
        }
        IP_UDP => {
            if seg.len() < 8 || TUNNEL_PORTS.iter().any(|p| ports.0 == *p || ports.1 == *p) {
                return None;
            }
        }
        _ => return None,
    }
    Some(Plain {
        src: quad(field::SRC.start),
        dst: quad(field::DST.start),
        ports,
    })
}

/// The module's invariant for one frame: `true` unless [`plain`] reads it and the full
/// decode (into `d`) disagrees or fails. Checked by the tests and the `frame` fuzz target.
pub fn agrees(lt: u32, frame: &[u8], d: &mut super::Decoded) -> bool {
    let Some(p) = plain(lt, frame) else {
        return true;
    };
    super::decode(lt, frame, d).is_ok()
        && d.src == std::net::IpAddr::V4(p.src.into())
        && d.dst == std::net::IpAddr::V4(p.dst.into())
        && d.ports == Some(p.ports)
        && d.vlans().is_empty()
        && d.tunnels().next().is_none()
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
        let mut with_options = ipv4(6, 0, &[[1u8, 1, 1, 0].as_slice(), &tcp(7, 8)].concat());
        with_options[0] = 0x46;
        assert_eq!(
            plain(lt, &frame(0x0800, &with_options)).unwrap().ports,
            (7, 8)
        );
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
