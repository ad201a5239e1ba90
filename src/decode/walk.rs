//! The decode walk: link layer → VLAN/MPLS/PPPoE → IP → transport, following tunnels to the
//! innermost packet. Every step checks lengths before it reads; nothing panics on any input.

use super::{
    DecodeIssue, Decoded, Fragment, MAX_DEPTH, MAX_LABELS, MAX_TUNNELS, MAX_VLANS, TunnelKind,
    TunnelLayer,
};
use super::{erspan, geneve, gre, gtpu, mpls, pppoe, sll};
use crate::capture::linktype;
use etherparse::{
    Ethernet2HeaderSlice, IpAuthHeaderSlice, Ipv4HeaderSlice, Ipv6FragmentHeaderSlice,
    Ipv6HeaderSlice, Ipv6RawExtHeaderSlice, SingleVlanHeaderSlice, TcpHeaderSlice,
};
use std::net::IpAddr;

pub(super) const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MCAST: u16 = 0x8848;
const ETH_PPPOE_SESSION: u16 = 0x8864;

const IP_IPV4: u8 = 4;
pub(super) const IP_TCP: u8 = 6;
pub(super) const IP_UDP: u8 = 17;
const IP_IPV6: u8 = 41;
const IP_GRE: u8 = 47;
const IP_ICMP: u8 = 1;
const IP_ICMPV6: u8 = 58;
const IP_SCTP: u8 = 132;

const PORT_VXLAN: u16 = 4789;
const PORT_GENEVE: u16 = 6081;
const PORT_GTPU: u16 = 2152;
const PORT_GRE_UDP: u16 = 4754;
const PORT_TEREDO: u16 = 3544;
/// UDP ports this decoder looks inside for a tunnel (`decode::plain` leaves them to it).
pub(super) const TUNNEL_PORTS: [u16; 5] = [
    PORT_VXLAN,
    PORT_GENEVE,
    PORT_GTPU,
    PORT_GRE_UDP,
    PORT_TEREDO,
];

/// Extension headers followed per IPv6 packet before giving up on the transport header.
const MAX_IPV6_EXTENSIONS: usize = 16;

type Step = Result<(), DecodeIssue>;

/// Decodes one frame of the given link type into `out` (overwritten), header by header:
/// every encapsulation. [`super::decode`] takes the common frame at fixed offsets first.
pub fn walk(linktype: u32, data: &[u8], out: &mut Decoded) -> Step {
    out.reset();
    let mut w = Walker {
        data,
        out,
        depth: 0,
    };
    w.link(linktype)
}

struct Walker<'a, 'o> {
    data: &'a [u8],
    out: &'o mut Decoded,
    depth: u8,
}

impl<'a> Walker<'a, '_> {
    #[inline]
    fn bytes(&self, off: usize, end: usize) -> &'a [u8] {
        self.data.get(off..end).unwrap_or(&[])
    }

    fn link(&mut self, lt: u32) -> Step {
        let end = self.data.len();
        match lt {
            linktype::ETHERNET => self.ethernet(0, end),
            linktype::RAW | linktype::RAW_DLT | linktype::RAW_OPENBSD => self.ip_by_version(0, end),
            linktype::IPV4 => self.ipv4(0, end),
            linktype::IPV6 => self.ipv6(0, end),
            linktype::NULL | linktype::LOOP => {
                let b = self.bytes(0, 4);
                if b.len() < 4 {
                    return Err(DecodeIssue::LinkTruncated);
                }
                let raw = [b[0], b[1], b[2], b[3]];
                // NULL is in the capturing host's byte order, LOOP in network order.
                let family = if lt == linktype::LOOP || u32::from_le_bytes(raw) > 0xffff {
                    u32::from_be_bytes(raw)
                } else {
                    u32::from_le_bytes(raw)
                };
                match family {
                    2 => self.ipv4(4, end),
                    24 | 28 | 30 => self.ipv6(4, end),
                    _ => Err(DecodeIssue::NotIp),
                }
            }
            linktype::LINUX_SLL | linktype::LINUX_SLL2 => {
                let p = sll::Packet::new_checked(self.data, lt == linktype::LINUX_SLL2)
                    .map_err(|_| DecodeIssue::LinkTruncated)?;
                self.out.src_mac = p.source_mac();
                self.ethertype(p.protocol(), p.header_len(), end)
            }
            _ => Err(DecodeIssue::UnsupportedLinktype),
        }
    }

    fn ethernet(&mut self, off: usize, end: usize) -> Step {
        let eth = Ethernet2HeaderSlice::from_slice(self.bytes(off, end))
            .map_err(|_| DecodeIssue::LinkTruncated)?;
        self.out.src_mac = Some(eth.source());
        self.out.dst_mac = Some(eth.destination());
        self.ethertype(eth.ether_type().0, off + eth.slice().len(), end)
    }

    fn ethertype(&mut self, mut etype: u16, mut off: usize, end: usize) -> Step {
        loop {
            match etype {
                0x8100 | 0x88a8 | 0x9100 | 0x9200 => {
                    let tag = SingleVlanHeaderSlice::from_slice(self.bytes(off, end))
                        .map_err(|_| DecodeIssue::VlanTruncated)?;
                    let n = usize::from(self.out.vlan_count);
                    if n < MAX_VLANS {
                        self.out.vlans[n] = tag.vlan_identifier().value();
                        self.out.vlan_count += 1;
                    }
                    etype = tag.ether_type().0;
                    off += tag.slice().len();
                }
                ETH_MPLS | ETH_MPLS_MCAST => return self.mpls(off, end),
                ETH_PPPOE_SESSION => return self.pppoe(off, end),
                ETH_IPV4 => return self.ipv4(off, end),
                ETH_IPV6 => return self.ipv6(off, end),
                _ => return Err(DecodeIssue::NotIp),
            }
        }
    }

    fn mpls(&mut self, mut off: usize, end: usize) -> Step {
        loop {
            let entry = mpls::Packet::new_checked(self.bytes(off, end))
                .map_err(|_| DecodeIssue::MplsTruncated)?;
            let n = usize::from(self.out.label_count);
            if n < MAX_LABELS {
                self.out.labels[n] = entry.label();
                self.out.label_count += 1;
            }
            off += mpls::Packet::<&[u8]>::LEN;
            if entry.bottom_of_stack() {
                break;
            }
        }
        // The frame's MACs are those of label-switching routers, not of the victim.
        self.out.src_mac = None;
        self.out.dst_mac = None;
        // No type field follows the stack: guess from the first nibble, as routers' taps do.
        match self.data.get(off).map(|b| b >> 4) {
            Some(4) => self.ipv4(off, end),
            Some(6) => self.ipv6(off, end),
            Some(0) => self.ethernet(off + 4, end), // pseudowire control word, then Ethernet
            Some(_) => self.ethernet(off, end),
            None => Err(DecodeIssue::MplsTruncated),
        }
    }

    fn pppoe(&mut self, off: usize, end: usize) -> Step {
        let p = pppoe::Packet::new_checked(self.bytes(off, end))
            .map_err(|_| DecodeIssue::PppoeTruncated)?;
        if p.code() != 0 {
            return Err(DecodeIssue::NotIp);
        }
        self.push_tunnel(TunnelLayer {
            kind: TunnelKind::Pppoe,
            outer: None,
            id: Some(u32::from(p.session_id())),
        });
        // The length field covers the PPP protocol field and the payload.
        let frame_end = (off + 6 + usize::from(p.length())).min(end);
        let inner = off + pppoe::Packet::<&[u8]>::HEADER_LEN;
        let frame_end = if frame_end < inner { end } else { frame_end };
        match p.ppp_protocol() {
            pppoe::PPP_IPV4 => self.ipv4(inner, frame_end),
            pppoe::PPP_IPV6 => self.ipv6(inner, frame_end),
            _ => Err(DecodeIssue::NotIp),
        }
    }

    fn ppp(&mut self, mut off: usize, end: usize) -> Step {
        if self.bytes(off, end).starts_with(&[0xff, 0x03]) {
            off += 2;
        }
        let b = self.bytes(off, end);
        let (proto, len) = match b {
            [p, ..] if p & 1 == 1 => (u16::from(*p), 1),
            [a, c, ..] => (u16::from_be_bytes([*a, *c]), 2),
            _ => return Err(DecodeIssue::LinkTruncated),
        };
        match proto {
            0x21 => self.ipv4(off + len, end),
            0x57 => self.ipv6(off + len, end),
            _ => Err(DecodeIssue::NotIp),
        }
    }

    fn ip_by_version(&mut self, off: usize, end: usize) -> Step {
        match self.data.get(off).map(|b| b >> 4) {
            Some(4) => self.ipv4(off, end),
            Some(6) => self.ipv6(off, end),
            Some(_) => Err(DecodeIssue::UnknownIpVersion),
            None => Err(DecodeIssue::Ipv4Truncated),
        }
    }

    fn ipv4(&mut self, off: usize, end: usize) -> Step {
        use etherparse::err::ipv4::HeaderSliceError;
        let h = Ipv4HeaderSlice::from_slice(self.bytes(off, end)).map_err(|e| match e {
            HeaderSliceError::Len(_) => DecodeIssue::Ipv4Truncated,
            HeaderSliceError::Content(_) => DecodeIssue::Ipv4Invalid,
        })?;
        let header_len = h.slice().len();
        let total = usize::from(h.total_len());
        // A total length shorter than the header (seen with TSO captures) falls back to what
        // was captured; a longer one is cut to what was captured (small snaplen).
        let ip_end = if total >= header_len {
            (off + total).min(end)
        } else {
            end
        };
        self.out.src = IpAddr::V4(h.source_addr());
        self.out.dst = IpAddr::V4(h.destination_addr());
        self.out.proto = h.protocol().0;
        if h.fragments_offset().value() != 0 {
            self.out.fragment = Fragment::Later;
            return Ok(());
        }
        if h.more_fragments() {
            self.out.fragment = Fragment::First;
        }
        self.transport(h.protocol().0, off + header_len, ip_end)
    }

    fn ipv6(&mut self, off: usize, end: usize) -> Step {
        use etherparse::err::ipv6::HeaderSliceError;
        let h = Ipv6HeaderSlice::from_slice(self.bytes(off, end)).map_err(|e| match e {
            HeaderSliceError::Len(_) => DecodeIssue::Ipv6Truncated,
            HeaderSliceError::Content(_) => DecodeIssue::Ipv6Invalid,
        })?;
        let plen = usize::from(h.payload_length());
        let ip_end = if plen == 0 {
            end
        } else {
            (off + 40 + plen).min(end)
        };
        self.out.src = IpAddr::V6(h.source_addr());
        self.out.dst = IpAddr::V6(h.destination_addr());
        let mut next = h.next_header().0;
        let mut at = off + 40;
        self.out.proto = next;
        for _ in 0..MAX_IPV6_EXTENSIONS {
            let rest = self.bytes(at, ip_end);
            match next {
                0 | 43 | 60 | 135 | 139 | 140 => match Ipv6RawExtHeaderSlice::from_slice(rest) {
                    Ok(x) => {
                        next = x.next_header().0;
                        at += x.slice().len();
                    }
                    Err(_) => return self.cut_transport(next),
                },
                44 => match Ipv6FragmentHeaderSlice::from_slice(rest) {
                    Ok(f) => {
                        next = f.next_header().0;
                        at += f.slice().len();
                        if f.fragment_offset().value() != 0 {
                            self.out.proto = next;
                            self.out.fragment = Fragment::Later;
                            return Ok(());
                        }
                        if f.more_fragments() {
                            self.out.fragment = Fragment::First;
                        }
                    }
                    Err(_) => return self.cut_transport(next),
                },
                51 => match IpAuthHeaderSlice::from_slice(rest) {
                    Ok(a) => {
                        next = a.next_header().0;
                        at += a.slice().len();
                    }
                    Err(_) => return self.cut_transport(next),
                },
                _ => return self.transport(next, at, ip_end),
            }
        }
        // Too many extension headers: keep the addresses, skip the transport.
        self.cut_transport(next)
    }

    /// The IP header was fine but the transport header is out of reach.
    fn cut_transport(&mut self, proto: u8) -> Step {
        self.out.proto = proto;
        self.out.transport_truncated = true;
        Ok(())
    }

    fn transport(&mut self, proto: u8, off: usize, end: usize) -> Step {
        self.out.proto = proto;
        let end = end.max(off).min(self.data.len());
        let seg = self.bytes(off, end);
        match proto {
            IP_TCP => match TcpHeaderSlice::from_slice(seg) {
                Ok(t) => {
                    self.out.ports = Some((t.source_port(), t.destination_port()));
                    self.out.tcp_flags = seg[13];
                    self.out.tcp_seq = t.sequence_number();
                    let hl = t.slice().len();
                    self.out.payload = ((off + hl) as u32, (end - off - hl) as u32);
                }
                Err(_) => self.partial_ports(seg, true),
            },
            IP_UDP => {
                if seg.len() < 8 {
                    self.partial_ports(seg, false);
                    return Ok(());
                }
                let (sp, dp) = (
                    u16::from_be_bytes([seg[0], seg[1]]),
                    u16::from_be_bytes([seg[2], seg[3]]),
                );
                let ulen = usize::from(u16::from_be_bytes([seg[4], seg[5]]));
                let pend = if ulen >= 8 {
                    (off + ulen).min(end)
                } else {
                    end
                };
                self.out.ports = Some((sp, dp));
                self.out.payload = ((off + 8) as u32, (pend - off - 8) as u32);
                return self.udp_tunnel(sp, dp, off + 8, pend);
            }
            IP_SCTP => self.partial_ports(seg, false),
            IP_ICMP | IP_ICMPV6 => {
                if seg.len() >= 2 {
                    self.out.icmp = Some((seg[0], seg[1]));
                } else {
                    self.out.transport_truncated = true;
                }
            }
            IP_IPV4 => return self.enter(TunnelKind::IpInIp, None, |w| w.ipv4(off, end)),
            IP_IPV6 => return self.enter(TunnelKind::IpInIp, None, |w| w.ipv6(off, end)),
            IP_GRE => return self.gre(off, end),
            _ => {}
        }
        Ok(())
    }

    /// Ports from a transport header cut short by the snaplen (they are its first 4 bytes).
    fn partial_ports(&mut self, seg: &[u8], tcp: bool) {
        if seg.len() >= 4 {
            self.out.ports = Some((
                u16::from_be_bytes([seg[0], seg[1]]),
                u16::from_be_bytes([seg[2], seg[3]]),
            ));
        }
        if tcp && seg.len() >= 14 {
            self.out.tcp_flags = seg[13];
        }
        let complete = match (self.out.proto, tcp) {
            (IP_SCTP, _) => seg.len() >= 12,
            _ => false,
        };
        self.out.transport_truncated = !complete;
    }

    fn udp_tunnel(&mut self, sp: u16, dp: u16, off: usize, end: usize) -> Step {
        let on = |port: u16| sp == port || dp == port;
        if on(PORT_VXLAN) {
            if let Ok(v) = super::vxlan::Packet::new_checked(self.bytes(off, end))
                && v.vni_valid()
            {
                let vni = v.vni();
                return self.enter(TunnelKind::Vxlan, Some(vni), |w| {
                    w.ethernet(off + super::vxlan::Packet::<&[u8]>::HEADER_LEN, end)
                });
            }
        } else if on(PORT_GENEVE) {
            if let Ok(g) = geneve::Packet::new_checked(self.bytes(off, end))
                && g.version() == 0
            {
                let (proto, inner, vni) = (g.protocol(), off + g.header_len(), g.vni());
                return self.enter(TunnelKind::Geneve, Some(vni), |w| match proto {
                    gre::PROTO_TEB => w.ethernet(inner, end),
                    p => w.ethertype(p, inner, end),
                });
            }
        } else if on(PORT_GTPU) {
            if let Ok(g) = gtpu::Packet::new_checked(self.bytes(off, end))
                && g.version() == 1
                && g.message_type() == gtpu::G_PDU
            {
                let (teid, inner) = (g.teid(), off + g.header_len());
                return self.enter(TunnelKind::GtpU, Some(teid), |w| {
                    w.ip_by_version(inner, end)
                });
            }
        } else if dp == PORT_GRE_UDP {
            return self.gre(off, end);
        } else if on(PORT_TEREDO) {
            let inner = teredo_inner(self.bytes(off, end)).map(|skip| off + skip);
            if let Some(inner) = inner {
                return self.enter(TunnelKind::Teredo, None, |w| w.ipv6(inner, end));
            }
        }
        Ok(())
    }

    fn gre(&mut self, off: usize, end: usize) -> Step {
        let Ok(g) = gre::Packet::new_checked(self.bytes(off, end)) else {
            self.out.transport_truncated = true;
            return Ok(());
        };
        let inner = off + g.header_len();
        let key = g.key();
        match (g.version(), g.protocol()) {
            (1, gre::PROTO_PPP) => self.enter(TunnelKind::Gre, key, |w| w.ppp(inner, end)),
            (0, gre::PROTO_TEB) => self.enter(TunnelKind::Gre, key, |w| w.ethernet(inner, end)),
            (0, gre::PROTO_ERSPAN_I_II) if !g.has_seq() => {
                self.enter(TunnelKind::ErspanI, None, |w| w.ethernet(inner, end))
            }
            (0, gre::PROTO_ERSPAN_I_II) | (0, gre::PROTO_ERSPAN_III) => {
                match erspan::Packet::new_checked(self.bytes(inner, end)) {
                    Ok(e) => {
                        let kind = if e.version() == 2 {
                            TunnelKind::ErspanIII
                        } else {
                            TunnelKind::ErspanII
                        };
                        let (session, payload, vlan) =
                            (e.session_id(), inner + e.header_len(), e.vlan());
                        self.enter(kind, Some(u32::from(session)), |w| {
                            let before = usize::from(w.out.vlan_count);
                            let r = w.ethernet(payload, end);
                            // The mirrored frame's VLAN, when the switch stripped the tag from it.
                            if vlan != 0
                                && !w.out.vlans()[before.min(w.out.vlans().len())..].contains(&vlan)
                            {
                                w.insert_vlan(before, vlan);
                            }
                            r
                        })
                    }
                    Err(_) => {
                        self.out.transport_truncated = true;
                        Ok(())
                    }
                }
            }
            (0, p) => self.enter(TunnelKind::Gre, key, |w| w.ethertype(p, inner, end)),
            _ => Ok(()),
        }
    }

    fn insert_vlan(&mut self, at: usize, vid: u16) {
        let n = usize::from(self.out.vlan_count);
        if at > n || n >= MAX_VLANS {
            return;
        }
        self.out.vlans.copy_within(at..n, at + 1);
        self.out.vlans[at] = vid;
        self.out.vlan_count += 1;
    }

    fn push_tunnel(&mut self, layer: TunnelLayer) {
        let n = usize::from(self.out.tunnel_count);
        if n < MAX_TUNNELS {
            self.out.tunnels[n] = Some(layer);
            self.out.tunnel_count += 1;
        }
    }

    /// Decodes an encapsulated packet. If the inner packet is not valid IP, or nesting is too
    /// deep, the frame is reported as the outer packet (`inner_invalid`).
    fn enter(
        &mut self,
        kind: TunnelKind,
        id: Option<u32>,
        inner: impl FnOnce(&mut Self) -> Step,
    ) -> Step {
        if self.depth >= MAX_DEPTH {
            self.out.inner_invalid = true;
            return Ok(());
        }
        let saved = *self.out;
        self.depth += 1;
        self.push_tunnel(TunnelLayer {
            kind,
            outer: Some((self.out.src, self.out.dst)),
            id,
        });
        // The outer frame's MACs belong to tunnel endpoints; an inner Ethernet sets its own.
        self.out.src_mac = None;
        self.out.dst_mac = None;
        self.out.ports = None;
        self.out.icmp = None;
        self.out.tcp_flags = 0;
        self.out.tcp_seq = 0;
        self.out.fragment = Fragment::None;
        self.out.payload = (0, 0);
        self.out.transport_truncated = false;
        let result = inner(self);
        self.depth -= 1;
        if result.is_err() {
            *self.out = saved;
            self.out.inner_invalid = true;
        }
        Ok(())
    }
}

/// Where the IPv6 packet starts in a Teredo payload (after optional authentication and
/// origin-indication headers), if it looks like one.
fn teredo_inner(b: &[u8]) -> Option<usize> {
    let mut at = 0;
    if b.len() >= 4 && b[0] == 0 && b[1] == 1 {
        at += 13 + usize::from(b[2]) + usize::from(b[3]);
    }
    if b.len() >= at + 8 && b[at] == 0 && b[at + 1] == 0 {
        at += 8;
    }
    let ip = b.get(at..at + 40)?;
    (ip[0] >> 4 == 6 && usize::from(u16::from_be_bytes([ip[4], ip[5]])) + 40 <= b.len() - at)
        .then_some(at)
}

#[cfg(test)]
mod tests {
    use super::{
        DecodeIssue, Decoded, Fragment, MAX_TUNNELS, MAX_VLANS, TunnelKind, linktype, walk,
    };
    use crate::synth::frame::*;

    const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];

    fn syn4(s: [u8; 4], d: [u8; 4]) -> Vec<u8> {
        ipv4(s, d, 6, &tcp(1234, 443, 1, TCP_SYN, b""))
    }

    fn run(lt: u32, frame: &[u8]) -> Result<Decoded, DecodeIssue> {
        let mut d = Decoded::default();
        walk(lt, frame, &mut d).map(|_| d)
    }

    #[test]
    fn ethernet_vlan_tcp() {
        let f = ethernet(
            MAC_A,
            MAC_B,
            &[(0x88a8, 200), (0x8100, 300)],
            ETH_IPV4,
            &syn4([10, 0, 0, 1], [203, 0, 113, 10]),
        );
        let d = run(linktype::ETHERNET, &f).unwrap();
        assert_eq!(d.vlans(), &[200, 300]);
        assert_eq!(
            (d.src.to_string(), d.dst.to_string(), d.proto, d.ports),
            (
                "10.0.0.1".into(),
                "203.0.113.10".into(),
                6,
                Some((1234, 443))
            )
        );
        assert_eq!(d.tcp_flags, TCP_SYN);
        assert_eq!(d.src_mac, Some(MAC_A));
    }

    #[test]
    fn vxlan_inner_addresses_and_outer_path() {
        let inner = ethernet(
            MAC_A,
            MAC_B,
            &[],
            ETH_IPV4,
            &syn4([10, 0, 0, 2], [203, 0, 113, 10]),
        );
        let outer = ipv4(
            [192, 0, 2, 1],
            [192, 0, 2, 2],
            17,
            &udp(5000, 4789, &vxlan(99, &inner)),
        );
        let d = run(linktype::RAW, &outer).unwrap();
        assert_eq!(d.src.to_string(), "10.0.0.2");
        let t = d.tunnels().next().copied().unwrap();
        assert_eq!(
            (t.kind, t.id, t.outer.map(|o| o.0.to_string())),
            (TunnelKind::Vxlan, Some(99), Some("192.0.2.1".into()))
        );
        assert_eq!(d.src_mac, Some(MAC_A));
    }

    /// A subscriber's SYN (100.64.0.9 → 203.0.113.10), and the same in GTP-U over IPv4.
    fn user_and_gtp() -> (Vec<u8>, Vec<u8>) {
        let user = syn4([100, 64, 0, 9], [203, 0, 113, 10]);
        let gtp = ipv4(
            [192, 0, 2, 30],
            [192, 0, 2, 31],
            17,
            &udp(2152, 2152, &gtpu(5, false, &user)),
        );
        (user, gtp)
    }

    #[test]
    fn a_reused_summary_keeps_nothing_of_the_frame_before() {
        // A tagged, tunnelled frame, then a plain one into the same `Decoded`.
        let (user, gtp) = user_and_gtp();
        let busy = ethernet(MAC_A, MAC_B, &[(0x8100, 9)], ETH_IPV4, &gtp);
        let plain = ethernet(MAC_A, MAC_B, &[], ETH_IPV4, &user);
        let mut reused = Decoded::default();
        walk(linktype::ETHERNET, &busy, &mut reused).unwrap();
        assert_eq!(reused.tunnels().count(), 1);
        walk(linktype::ETHERNET, &plain, &mut reused).unwrap();
        let fresh = run(linktype::ETHERNET, &plain).unwrap();
        let view = |d: &Decoded| {
            let layers = (d.src_mac, d.dst_mac, d.vlans(), d.labels());
            let ip = (d.src, d.dst, d.proto, d.ports, d.icmp);
            let tcp = (d.tcp_flags, d.tcp_seq, d.fragment, d.payload);
            let flags = (d.transport_truncated, d.inner_invalid);
            let tunnels: Vec<_> = d.tunnels().collect();
            format!("{layers:?} {tunnels:?} {ip:?} {tcp:?} {flags:?}")
        };
        assert_eq!(view(&reused), view(&fresh));
    }

    #[test]
    fn nested_tunnels_keep_every_layer() {
        // GTP-U inside GRE inside VLAN Ethernet.
        let (_, gtp) = user_and_gtp();
        let f = ethernet(
            MAC_A,
            MAC_B,
            &[(0x8100, 9)],
            ETH_IPV4,
            &ipv4(
                [192, 0, 2, 1],
                [192, 0, 2, 2],
                47,
                &gre(0x0800, Some(1), None, &gtp),
            ),
        );
        let d = run(linktype::ETHERNET, &f).unwrap();
        let kinds: Vec<TunnelKind> = d.tunnels().map(|t| t.kind).collect();
        assert_eq!(kinds, [TunnelKind::Gre, TunnelKind::GtpU]);
        assert_eq!(d.src.to_string(), "100.64.0.9");
        assert_eq!(
            d.src_mac, None,
            "MACs of the outer frame are not the subscriber's"
        );
    }

    #[test]
    fn invalid_inner_packet_falls_back_to_outer() {
        let outer = ipv4(
            [192, 0, 2, 1],
            [192, 0, 2, 2],
            17,
            &udp(5000, 4789, &vxlan(1, &[0xde, 0xad])),
        );
        let d = run(linktype::RAW, &outer).unwrap();
        assert_eq!(
            (d.dst.to_string(), d.proto, d.ports),
            ("192.0.2.2".into(), 17, Some((5000, 4789)))
        );
        assert!(d.inner_invalid);
        assert_eq!(d.tunnels().count(), 0);
    }

    #[test]
    fn fragments() {
        let first = ipv4_full(
            [10, 0, 0, 1],
            [203, 0, 113, 10],
            17,
            &[],
            Frag {
                id: 1,
                offset: 0,
                more: true,
            },
            &udp(1, 2, &[0; 16]),
        );
        let d = run(linktype::RAW, &first).unwrap();
        assert_eq!((d.fragment, d.ports), (Fragment::First, Some((1, 2))));
        let later = ipv4_full(
            [10, 0, 0, 1],
            [203, 0, 113, 10],
            17,
            &[],
            Frag {
                id: 1,
                offset: 3,
                more: false,
            },
            &[0; 16],
        );
        let d = run(linktype::RAW, &later).unwrap();
        assert_eq!(
            (d.fragment, d.ports, d.dst.to_string()),
            (Fragment::Later, None, "203.0.113.10".into())
        );
    }

    #[test]
    fn ipv6_extension_headers() {
        let p = ipv6_full(
            [0xfd; 16],
            [0x20; 16],
            &[
                (0, vec![1, 4, 0, 0, 0, 0]),
                (43, vec![0, 0, 0, 0, 0, 0]),
                (60, vec![1, 4, 0, 0, 0, 0]),
            ],
            17,
            &udp(7, 8, b"x"),
        );
        let d = run(linktype::IPV6, &p).unwrap();
        assert_eq!((d.proto, d.ports), (17, Some((7, 8))));
    }

    #[test]
    fn small_snaplen_keeps_what_is_there() {
        let f = ethernet(
            MAC_A,
            MAC_B,
            &[],
            ETH_IPV4,
            &syn4([10, 0, 0, 1], [203, 0, 113, 10]),
        );
        let d = run(linktype::ETHERNET, &f[..14 + 20 + 4]).unwrap();
        assert_eq!((d.ports, d.transport_truncated), (Some((1234, 443)), true));
        let d = run(linktype::ETHERNET, &f[..14 + 20]).unwrap();
        assert_eq!((d.dst.to_string(), d.ports), ("203.0.113.10".into(), None));
        assert_eq!(
            run(linktype::ETHERNET, &f[..14 + 19]).unwrap_err(),
            DecodeIssue::Ipv4Truncated
        );
        assert_eq!(
            run(linktype::ETHERNET, &f[..13]).unwrap_err(),
            DecodeIssue::LinkTruncated
        );
    }

    #[test]
    fn not_ip_and_bad_versions() {
        let arp = ethernet(MAC_A, [0xff; 6], &[], ETH_ARP, &[0; 28]);
        assert_eq!(
            run(linktype::ETHERNET, &arp).unwrap_err(),
            DecodeIssue::NotIp
        );
        assert_eq!(
            run(linktype::RAW, &[0x50; 40]).unwrap_err(),
            DecodeIssue::UnknownIpVersion
        );
        assert_eq!(
            run(9999, &[0; 40]).unwrap_err(),
            DecodeIssue::UnsupportedLinktype
        );
        let mut bad_ihl = syn4([1, 1, 1, 1], [2, 2, 2, 2]);
        bad_ihl[0] = 0x43;
        assert_eq!(
            run(linktype::RAW, &bad_ihl).unwrap_err(),
            DecodeIssue::Ipv4Invalid
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut p = syn4([10, 0, 0, 1], [203, 0, 113, 10]);
        for _ in 0..64 {
            p = ipv4([192, 0, 2, 1], [192, 0, 2, 2], 4, &p);
        }
        let d = run(linktype::RAW, &p).unwrap();
        assert!(d.inner_invalid);
        assert_eq!(d.tunnels().count(), MAX_TUNNELS);
        // 64 VLAN tags: parsed, first 8 kept.
        let tags: Vec<(u16, u16)> = (0..64).map(|i| (0x8100, i)).collect();
        let f = ethernet(
            MAC_A,
            MAC_B,
            &tags,
            ETH_IPV4,
            &syn4([10, 0, 0, 1], [203, 0, 113, 10]),
        );
        let d = run(linktype::ETHERNET, &f).unwrap();
        assert_eq!(d.vlans().len(), MAX_VLANS);
        assert_eq!(d.dst.to_string(), "203.0.113.10");
    }

    /// Every prefix of every encapsulation, and byte flips, decode without panicking.
    #[test]
    fn every_truncation_and_corruption_is_handled() {
        let user = syn4([10, 0, 0, 1], [203, 0, 113, 10]);
        let eth_inner = ethernet(MAC_A, MAC_B, &[(0x8100, 5)], ETH_IPV4, &user);
        let frames = vec![
            ethernet(MAC_A, MAC_B, &[], 0x8847, &mpls(&[1, 2], &user)),
            ethernet(MAC_A, MAC_B, &[], 0x8864, &pppoe(1, 0x21, &user)),
            ethernet(
                MAC_A,
                MAC_B,
                &[],
                ETH_IPV4,
                &ipv4(
                    [1, 1, 1, 1],
                    [2, 2, 2, 2],
                    47,
                    &gre(0x88be, None, Some(1), &erspan2(1, 0, &eth_inner)),
                ),
            ),
            ethernet(
                MAC_A,
                MAC_B,
                &[],
                ETH_IPV4,
                &ipv4(
                    [1, 1, 1, 1],
                    [2, 2, 2, 2],
                    47,
                    &gre(0x22eb, None, Some(1), &erspan3(1, true, &eth_inner)),
                ),
            ),
            ethernet(
                MAC_A,
                MAC_B,
                &[],
                ETH_IPV4,
                &ipv4(
                    [1, 1, 1, 1],
                    [2, 2, 2, 2],
                    17,
                    &udp(1, 6081, &geneve(1, 0x6558, &[0; 8], &eth_inner)),
                ),
            ),
            ethernet(
                MAC_A,
                MAC_B,
                &[],
                ETH_IPV4,
                &ipv4(
                    [1, 1, 1, 1],
                    [2, 2, 2, 2],
                    17,
                    &udp(2152, 2152, &gtpu(1, true, &user)),
                ),
            ),
            ethernet(
                MAC_A,
                MAC_B,
                &[],
                ETH_IPV6,
                &ipv6_full([1; 16], [2; 16], &[(0, vec![0; 6])], 4, &user),
            ),
        ];
        let mut d = Decoded::default();
        for f in &frames {
            assert!(walk(linktype::ETHERNET, f, &mut d).is_ok());
            assert_eq!(d.dst.to_string(), "203.0.113.10", "{f:02x?}");
            for n in 0..f.len() {
                let _ = walk(linktype::ETHERNET, &f[..n], &mut d);
            }
            for i in 0..f.len() {
                let mut g = f.clone();
                for v in [0x00, 0xff, 0x45, 0x60, 0x81] {
                    g[i] = v;
                    let _ = walk(linktype::ETHERNET, &g, &mut d);
                }
            }
        }
        for lt in [0, 1, 12, 14, 101, 108, 113, 228, 229, 276] {
            for n in 0..64 {
                let _ = walk(lt, &vec![0x45; n], &mut d);
                let _ = walk(lt, &vec![0x60; n], &mut d);
            }
        }
    }
}
