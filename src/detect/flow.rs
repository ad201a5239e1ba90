//! Flows: both directions of a conversation, keyed symmetrically; their state and timeouts
//! (the table that holds them is `flow_table`).

use crate::decode::Decoded;
use crate::time::Timestamp;
use std::hash::BuildHasher;
use std::net::IpAddr;

/// The same for both directions of a conversation: endpoints are stored in a fixed order
/// (the lower address and port first). `zone` separates identical inner 5-tuples seen in
/// different VLANs or tunnels. Addresses are kept as plain integers, so comparing and
/// hashing a key (done for every packet) is a few word operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    /// IPv4 addresses as their 32-bit value; `v6` tells the families apart.
    lo_addr: u128,
    hi_addr: u128,
    lo_port: u16,
    hi_port: u16,
    proto: u8,
    v6: bool,
    zone: u32,
}

impl std::hash::Hash for FlowKey {
    /// Whole machine words, not field by field: the flow table hashes every packet's key.
    /// (The words are those of earlier versions: flow ids, which hash the key, stay the same.)
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        if self.v6 {
            h.write_u128(self.lo_addr);
            h.write_u128(self.hi_addr);
        } else {
            h.write_u64((self.lo_addr as u64) << 32 | self.hi_addr as u64);
        }
        h.write_u64(
            u64::from(self.lo_port) << 48
                | u64::from(self.hi_port) << 32
                | u64::from(self.proto) << 24
                | u64::from(self.zone & 0xff_ffff),
        );
        h.write_u8((self.zone >> 24) as u8);
    }
}

#[inline]
fn addr_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

#[inline]
fn addr_of(bits: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(bits.into())
    } else {
        IpAddr::V4((bits as u32).into())
    }
}

impl FlowKey {
    /// The key of a conversation between endpoints `a` and `b` (of one address family); the
    /// second value is true when `a` is the key's lower endpoint.
    pub fn between(a: (IpAddr, u16), b: (IpAddr, u16), proto: u8, zone: u32) -> (FlowKey, bool) {
        let v6 = a.0.is_ipv6() || b.0.is_ipv6();
        let (x, y) = ((addr_bits(a.0), a.1), (addr_bits(b.0), b.1));
        let a_is_lo = x <= y;
        let (lo, hi) = if a_is_lo { (x, y) } else { (y, x) };
        let key = FlowKey {
            lo_addr: lo.0,
            hi_addr: hi.0,
            lo_port: lo.1,
            hi_port: hi.1,
            proto,
            v6,
            zone,
        };
        (key, a_is_lo)
    }

    /// Key of a decoded packet; the second value is true when the packet's source is `lo`.
    #[inline]
    pub fn of(d: &Decoded) -> (FlowKey, bool) {
        let (sp, dp) = d.ports.unwrap_or((0, 0));
        FlowKey::between((d.src, sp), (d.dst, dp), d.proto, zone_of(d))
    }

    /// Key of a plain frame (`decode::plain`: Ethernet, IPv4, TCP or UDP, no tags, no
    /// tunnel), read without decoding it: the key [`FlowKey::of`] gives the decoded frame.
    #[inline]
    pub fn of_plain(p: &crate::decode::plain::Plain) -> FlowKey {
        let (src, dst) = ((p.src, p.ports.0), (p.dst, p.ports.1));
        let (lo, hi) = if src <= dst { (src, dst) } else { (dst, src) };
        FlowKey {
            lo_addr: u128::from(lo.0),
            hi_addr: u128::from(hi.0),
            lo_port: lo.1,
            hi_port: hi.1,
            proto: p.proto,
            v6: false,
            zone: 0,
        }
    }

    /// The lower endpoint.
    pub fn lo(&self) -> (IpAddr, u16) {
        (addr_of(self.lo_addr, self.v6), self.lo_port)
    }

    /// The higher endpoint.
    pub fn hi(&self) -> (IpAddr, u16) {
        (addr_of(self.hi_addr, self.v6), self.hi_port)
    }

    #[inline]
    pub fn proto(&self) -> u8 {
        self.proto
    }

    #[inline]
    pub fn zone(&self) -> u32 {
        self.zone
    }

    /// A hash that is the same for both directions and every run (worker dispatch, flow ids).
    pub fn stable_hash(&self) -> u64 {
        foldhash::quality::FixedState::with_seed(0x6332_7761_7463_6821).hash_one(self)
    }
}

/// Which worker owns a packet's flow: a hash of the flow's *client side* — the endpoint inside
/// `home_net` when exactly one is, else the endpoint with the higher (ephemeral) port. Both
/// directions of a flow pick the same endpoint, and every flow of one subscriber lands on one
/// worker in input order: a DNS answer and the connection that follows it are seen in order,
/// whatever the number of workers.
pub fn dispatch_hash(d: &Decoded, home: &super::HomeNet) -> u64 {
    let zone = if d.vlan_count == 0 && d.tunnel_count == 0 {
        0
    } else {
        zone_of(d)
    };
    let ports = d.ports.unwrap_or((0, 0));
    if let (IpAddr::V4(s), IpAddr::V4(t)) = (d.src, d.dst) {
        return v4_hash(u32::from(s), u32::from(t), ports, zone, home);
    }
    let (hs, hd) = (home.contains(d.src), home.contains(d.dst));
    let client = if client_is_src((hs, hd), ports, d.src <= d.dst) {
        d.src
    } else {
        d.dst
    };
    let (a, b) = match client {
        IpAddr::V4(v) => (u64::from(u32::from(v)), 4),
        IpAddr::V6(v) => {
            let x = u128::from(v);
            (x as u64, (x >> 64) as u64 ^ 6)
        }
    };
    client_hash(a, b, zone)
}

/// [`dispatch_hash`] of a plain frame (`decode::plain`), read without decoding it: the same
/// value the decoded frame gets (no VLAN, no tunnel: zone 0).
#[inline]
pub fn dispatch_hash_plain(p: &crate::decode::plain::Plain, home: &super::HomeNet) -> u64 {
    v4_hash(p.src, p.dst, p.ports, 0, home)
}

#[inline]
fn v4_hash(src: u32, dst: u32, ports: (u16, u16), zone: u32, home: &super::HomeNet) -> u64 {
    let (hs, hd) = (home.contains_v4(src), home.contains_v4(dst));
    let client = if client_is_src((hs, hd), ports, src <= dst) {
        src
    } else {
        dst
    };
    client_hash(u64::from(client), 4, zone)
}

/// Whether the source is the flow's client side: the one endpoint inside `home_net`, else
/// the one with the higher port, else the lower address.
#[inline]
fn client_is_src((hs, hd): (bool, bool), (sp, dp): (u16, u16), src_lower: bool) -> bool {
    if hs != hd {
        hs
    } else if sp != dp {
        sp > dp
    } else {
        src_lower
    }
}

/// Two words of the client's address (the second tells the family) and its zone, mixed:
/// this runs for every packet on the reader thread, so it is integer arithmetic, not a
/// `Hasher`.
#[inline]
fn client_hash(a: u64, b: u64, zone: u32) -> u64 {
    mix64(a ^ mix64(b ^ u64::from(zone) << 8).rotate_left(17))
}

/// A 64-bit finalizer (MurmurHash3's): every input bit changes about half the output bits,
/// so the low bits [`dispatch_hash`]'s users take are well spread.
#[inline]
fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ x >> 33
}

fn zone_of(d: &Decoded) -> u32 {
    let mut z: u32 = 0;
    for v in d.vlans() {
        z = z.rotate_left(5) ^ u32::from(*v) ^ 0x9e37_79b9;
    }
    for t in d.tunnels() {
        z = z.rotate_left(7) ^ t.id.unwrap_or(0) ^ (t.kind as u32) << 24;
    }
    z
}

/// A flow's id: stable across runs and worker counts, below 2^52 (exact in JSON numbers).
pub(super) fn flow_id(key: &FlowKey, start: Timestamp) -> u64 {
    (key.stable_hash() ^ (start.as_nanos() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        & ((1 << 52) - 1)
}

/// Which endpoint of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Sent the first packet (the client, for TCP: the SYN sender).
    Initiator,
    Responder,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Initiator => Side::Responder,
            Side::Responder => Side::Initiator,
        }
    }
}

/// Why a flow record was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    Timeout,
    /// Evicted to make room: the table was full.
    Evicted,
    /// End of input.
    Shutdown,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::Evicted => "evicted",
            EndReason::Shutdown => "shutdown",
        }
    }
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// Per-flow state. Addresses are those of the first packet (initiator → responder).
#[derive(Debug)]
pub struct Flow<M> {
    pub id: u64,
    pub start: Timestamp,
    pub last: Timestamp,
    /// True when the initiator is the key's `lo` endpoint.
    pub initiator_is_lo: bool,
    /// [initiator → responder, responder → initiator]
    pub pkts: [u64; 2],
    pub bytes: [u64; 2],
    pub tcp_flags: [u8; 2],
    /// Snapshot generation this flow was matched against.
    pub generation: u64,
    /// Detection state, present only for flows that matched.
    pub matched: Option<Box<M>>,
    /// Application-layer inspection in progress (handshake not parsed yet).
    pub app: Option<Box<super::inspect::Inspect>>,
    /// Inspection finished or not needed: later packets of the flow cost nothing more.
    pub app_done: bool,
    /// Initial sequence numbers seen in SYNs: [initiator, responder].
    pub isn: [Option<u32>; 2],
}

impl<M> Flow<M> {
    pub(super) fn fresh(id: u64, ts: Timestamp, initiator_is_lo: bool) -> Flow<M> {
        Flow {
            id,
            start: ts,
            last: ts,
            initiator_is_lo,
            pkts: [0; 2],
            bytes: [0; 2],
            tcp_flags: [0; 2],
            generation: 0,
            matched: None,
            app: None,
            app_done: false,
            isn: [None; 2],
        }
    }

    pub fn closed(&self) -> bool {
        let f = self.tcp_flags[0] | self.tcp_flags[1];
        f & TCP_RST != 0 || (self.tcp_flags[0] & TCP_FIN != 0 && self.tcp_flags[1] & TCP_FIN != 0)
    }
}

/// Idle timeouts in seconds of packet time.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub tcp: u64,
    pub tcp_closed: u64,
    pub udp: u64,
    pub other: u64,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            tcp: 600,
            tcp_closed: 30,
            udp: 120,
            other: 60,
        }
    }
}

impl Timeouts {
    pub(super) fn of<M>(&self, proto: u8, flow: &Flow<M>) -> u64 {
        match proto {
            6 if flow.closed() => self.tcp_closed,
            6 => self.tcp,
            17 => self.udp,
            _ => self.other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TCP packet from a subscriber (10.0.0.1:5000) to 192.0.2.1:443.
    fn outbound() -> Decoded {
        Decoded {
            src: "10.0.0.1".parse().unwrap(),
            dst: "192.0.2.1".parse().unwrap(),
            proto: 6,
            ports: Some((5000, 443)),
            ..Decoded::default()
        }
    }

    #[test]
    fn symmetric_keys() {
        let mut d = outbound();
        let (k1, lo1) = FlowKey::of(&d);
        std::mem::swap(&mut d.src, &mut d.dst);
        d.ports = Some((443, 5000));
        let (k2, lo2) = FlowKey::of(&d);
        assert_eq!(k1, k2);
        assert_ne!(lo1, lo2);
        assert_eq!(k1.stable_hash(), k2.stable_hash());
        d.vlans[0] = 100;
        d.vlan_count = 1;
        assert_ne!(FlowKey::of(&d).0, k2);
    }

    #[test]
    fn a_plain_frame_has_the_key_of_its_decoded_form() {
        use crate::decode::plain::Plain;
        let addrs = [0u32, 1, 0x0a00_0001, 0xc000_0201, u32::MAX];
        let ports = [0u16, 53, 443, 5000, u16::MAX];
        for (src, dst) in addrs
            .iter()
            .flat_map(|s| addrs.iter().map(move |d| (*s, *d)))
        {
            for (sp, dp) in ports
                .iter()
                .flat_map(|s| ports.iter().map(move |d| (*s, *d)))
            {
                for proto in [6, 17] {
                    let p = Plain {
                        src,
                        dst,
                        ports: (sp, dp),
                        proto,
                    };
                    let d = Decoded {
                        src: IpAddr::V4(src.into()),
                        dst: IpAddr::V4(dst.into()),
                        proto,
                        ports: Some((sp, dp)),
                        ..Decoded::default()
                    };
                    assert_eq!(FlowKey::of_plain(&p), FlowKey::of(&d).0, "{p:?}");
                }
            }
        }
    }

    #[test]
    fn dispatch_follows_the_client_and_spreads_clients() {
        let home = crate::detect::HomeNet::default_nets();
        let mut d = outbound();
        let h = dispatch_hash(&d, &home);
        // The other direction, and another flow of the same subscriber: the same worker.
        std::mem::swap(&mut d.src, &mut d.dst);
        d.ports = Some((443, 5000));
        assert_eq!(dispatch_hash(&d, &home), h);
        d.src = "198.51.100.7".parse().unwrap();
        assert_eq!(dispatch_hash(&d, &home), h);
        // Another zone: another hash.
        d.vlans[0] = 100;
        d.vlan_count = 1;
        assert_ne!(dispatch_hash(&d, &home), h);
        // Consecutive subscriber addresses, IPv4 and IPv6, spread evenly over 1,024 slices.
        for base in ["10.0.0.0", "fd00::"] {
            let base: IpAddr = base.parse().unwrap();
            let mut counts = vec![0u32; 1024];
            for i in 0..102_400u32 {
                d.dst = match base {
                    IpAddr::V4(b) => IpAddr::V4((u32::from(b) + i).into()),
                    IpAddr::V6(b) => IpAddr::V6((u128::from(b) + u128::from(i)).into()),
                };
                d.vlan_count = 0;
                counts[(dispatch_hash(&d, &home) % 1024) as usize] += 1;
            }
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(
                *lo > 50 && *hi < 150,
                "{base}: slices hold {lo}..{hi} of 100 each"
            );
        }
    }
}
