//! L2–L4 decoding, through every encapsulation of ISP and cloud taps, down to the innermost
//! IP packet. etherparse reads the standard headers; the header views in this folder read the
//! rest (MPLS, PPPoE, GRE, ERSPAN, VXLAN, Geneve, GTP-U, Linux cooked). Nothing is copied or
//! allocated: the result is a fixed-size [`Decoded`] summary of the frame.

pub mod erspan;
pub mod geneve;
pub mod gre;
pub mod gtpu;
pub mod mpls;
pub mod plain;
pub mod pppoe;
pub mod sll;
pub mod vxlan;
mod walk;
mod wire;

pub use walk::walk;
pub use wire::Truncated;

use std::net::{IpAddr, Ipv4Addr};

/// VLAN ids kept per frame (outermost first); deeper tags are parsed but not kept.
pub const MAX_VLANS: usize = 8;
/// Encapsulation layers kept per frame (outermost first).
pub const MAX_TUNNELS: usize = 4;
/// MPLS labels kept per frame (top of stack first).
pub const MAX_LABELS: usize = 4;
/// Deeper nesting of tunnels than this is not followed (the frame matches on what was decoded).
pub const MAX_DEPTH: u8 = 16;

/// Decodes one frame of the given link type into `out` (overwritten). The common frame
/// (Ethernet, IPv4 without options, TCP or UDP: [`plain`]) is read at fixed offsets, anything
/// else walked header by header; both give the same answer for a plain frame (`plain`'s
/// invariant).
#[inline]
pub fn decode(linktype: u32, data: &[u8], out: &mut Decoded) -> Result<(), DecodeIssue> {
    if plain::plain(linktype, data).is_some() && plain::decode_accepted(data, out) {
        return Ok(());
    }
    walk::walk(linktype, data, out)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelKind {
    Gre,
    ErspanI,
    ErspanII,
    ErspanIII,
    Vxlan,
    Geneve,
    GtpU,
    IpInIp,
    Teredo,
    Pppoe,
}

impl TunnelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelKind::Gre => "gre",
            TunnelKind::ErspanI => "erspan1",
            TunnelKind::ErspanII => "erspan2",
            TunnelKind::ErspanIII => "erspan3",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::GtpU => "gtpu",
            TunnelKind::IpInIp => "ipip",
            TunnelKind::Teredo => "teredo",
            TunnelKind::Pppoe => "pppoe",
        }
    }

    /// What the layer's identifier means, as a JSON key.
    pub fn id_name(self) -> &'static str {
        match self {
            TunnelKind::Vxlan | TunnelKind::Geneve => "vni",
            TunnelKind::GtpU => "teid",
            TunnelKind::Gre => "key",
            TunnelKind::ErspanII | TunnelKind::ErspanIII | TunnelKind::Pppoe => "session_id",
            TunnelKind::ErspanI | TunnelKind::IpInIp | TunnelKind::Teredo => "id",
        }
    }
}

/// One encapsulation layer the packet was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelLayer {
    pub kind: TunnelKind,
    /// Addresses of the IP header that carries the tunnel (none for PPPoE).
    pub outer: Option<(IpAddr, IpAddr)>,
    /// VNI, TEID, GRE key or session id.
    pub id: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fragment {
    #[default]
    None,
    /// First fragment: carries the transport header.
    First,
    /// A later fragment: addresses only.
    Later,
}

/// What a frame decodes to. Addresses and ports are those of the innermost IP packet.
#[derive(Clone, Copy, Debug)]
pub struct Decoded {
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    pub vlans: [u16; MAX_VLANS],
    pub vlan_count: u8,
    pub labels: [u32; MAX_LABELS],
    pub label_count: u8,
    pub tunnels: [Option<TunnelLayer>; MAX_TUNNELS],
    pub tunnel_count: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP protocol number of the innermost packet's transport.
    pub proto: u8,
    /// Transport ports, when the transport header was present.
    pub ports: Option<(u16, u16)>,
    /// ICMP / ICMPv6 type and code.
    pub icmp: Option<(u8, u8)>,
    /// TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, ...).
    pub tcp_flags: u8,
    /// TCP sequence number (0 for other transports).
    pub tcp_seq: u32,
    pub fragment: Fragment,
    /// Transport payload: offset into the frame and captured length.
    pub payload: (u32, u32),
    /// The transport header was cut off by the snaplen.
    pub transport_truncated: bool,
    /// A tunnel's inner packet could not be decoded; the outer packet is reported instead.
    pub inner_invalid: bool,
}

impl Default for Decoded {
    fn default() -> Decoded {
        Decoded {
            src_mac: None,
            dst_mac: None,
            vlans: [0; MAX_VLANS],
            vlan_count: 0,
            labels: [0; MAX_LABELS],
            label_count: 0,
            tunnels: [None; MAX_TUNNELS],
            tunnel_count: 0,
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            proto: 0,
            ports: None,
            icmp: None,
            tcp_flags: 0,
            tcp_seq: 0,
            fragment: Fragment::None,
            payload: (0, 0),
            transport_truncated: false,
            inner_invalid: false,
        }
    }
}

impl Decoded {
    /// The empty summary, as [`Decoded::default`], without clearing the tag, label and tunnel
    /// arrays: only their first `*_count` entries are ever read. [`decode`] starts every frame
    /// with it (the arrays are most of the struct's 300-odd bytes).
    #[inline]
    pub fn reset(&mut self) {
        // Every field named: a new one does not compile until it is reset here too.
        let Decoded {
            src_mac,
            dst_mac,
            vlans: _,
            vlan_count,
            labels: _,
            label_count,
            tunnels: _,
            tunnel_count,
            src,
            dst,
            proto,
            ports,
            icmp,
            tcp_flags,
            tcp_seq,
            fragment,
            payload,
            transport_truncated,
            inner_invalid,
        } = self;
        (*src_mac, *dst_mac) = (None, None);
        (*vlan_count, *label_count, *tunnel_count) = (0, 0, 0);
        *src = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        *dst = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        (*proto, *ports, *icmp) = (0, None, None);
        (*tcp_flags, *tcp_seq) = (0, 0);
        *fragment = Fragment::None;
        *payload = (0, 0);
        (*transport_truncated, *inner_invalid) = (false, false);
    }

    /// Whether two summaries say the same about their frames: every field, and of the tag,
    /// label and tunnel arrays the entries in use.
    pub fn same_as(&self, o: &Decoded) -> bool {
        // Every field named: a new one does not compile until it is compared here too.
        let Decoded {
            src_mac,
            dst_mac,
            vlans: _,
            vlan_count: _,
            labels: _,
            label_count: _,
            tunnels: _,
            tunnel_count: _,
            src,
            dst,
            proto,
            ports,
            icmp,
            tcp_flags,
            tcp_seq,
            fragment,
            payload,
            transport_truncated,
            inner_invalid,
        } = self;
        (*src_mac, *dst_mac, *src, *dst, *proto, *ports, *icmp)
            == (o.src_mac, o.dst_mac, o.src, o.dst, o.proto, o.ports, o.icmp)
            && (*tcp_flags, *tcp_seq, *fragment, *payload)
                == (o.tcp_flags, o.tcp_seq, o.fragment, o.payload)
            && (*transport_truncated, *inner_invalid) == (o.transport_truncated, o.inner_invalid)
            && self.vlans() == o.vlans()
            && self.labels() == o.labels()
            && self.tunnels().eq(o.tunnels())
    }

    pub fn vlans(&self) -> &[u16] {
        &self.vlans[..usize::from(self.vlan_count).min(MAX_VLANS)]
    }

    pub fn labels(&self) -> &[u32] {
        &self.labels[..usize::from(self.label_count).min(MAX_LABELS)]
    }

    pub fn tunnels(&self) -> impl Iterator<Item = &TunnelLayer> {
        self.tunnels[..usize::from(self.tunnel_count).min(MAX_TUNNELS)]
            .iter()
            .flatten()
    }
}

/// Why a frame yielded no IP packet. Each kind is counted in the run summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecodeIssue {
    UnsupportedLinktype,
    LinkTruncated,
    /// ARP, LLDP, PPPoE discovery, PPP control, ...: not an error, just nothing to match.
    NotIp,
    VlanTruncated,
    MplsTruncated,
    PppoeTruncated,
    Ipv4Truncated,
    Ipv4Invalid,
    Ipv6Truncated,
    Ipv6Invalid,
    UnknownIpVersion,
    /// Decoding panicked (a bug, contained: see `detect::fault`).
    Contained,
}

impl DecodeIssue {
    pub const ALL: [DecodeIssue; 12] = [
        DecodeIssue::UnsupportedLinktype,
        DecodeIssue::LinkTruncated,
        DecodeIssue::NotIp,
        DecodeIssue::VlanTruncated,
        DecodeIssue::MplsTruncated,
        DecodeIssue::PppoeTruncated,
        DecodeIssue::Ipv4Truncated,
        DecodeIssue::Ipv4Invalid,
        DecodeIssue::Ipv6Truncated,
        DecodeIssue::Ipv6Invalid,
        DecodeIssue::UnknownIpVersion,
        DecodeIssue::Contained,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DecodeIssue::UnsupportedLinktype => "unsupported_linktype",
            DecodeIssue::LinkTruncated => "link_truncated",
            DecodeIssue::NotIp => "not_ip",
            DecodeIssue::VlanTruncated => "vlan_truncated",
            DecodeIssue::MplsTruncated => "mpls_truncated",
            DecodeIssue::PppoeTruncated => "pppoe_truncated",
            DecodeIssue::Ipv4Truncated => "ipv4_truncated",
            DecodeIssue::Ipv4Invalid => "ipv4_invalid",
            DecodeIssue::Ipv6Truncated => "ipv6_truncated",
            DecodeIssue::Ipv6Invalid => "ipv6_invalid",
            DecodeIssue::UnknownIpVersion => "unknown_ip_version",
            DecodeIssue::Contained => "internal_error",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}
