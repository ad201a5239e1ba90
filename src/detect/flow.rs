//! Flows: both directions of a conversation, keyed symmetrically; their state and timeouts
//! (the table that holds them is `flow_table`).

use crate::decode::Decoded;
use crate::time::Timestamp;
use std::hash::BuildHasher;
use std::net::IpAddr;

/// The same for both directions of a conversation: endpoints are stored in a fixed order.
/// `zone` separates identical inner 5-tuples seen in different VLANs or tunnels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowKey {
    pub lo: (IpAddr, u16),
    pub hi: (IpAddr, u16),
    pub proto: u8,
    pub zone: u32,
}

impl std::hash::Hash for FlowKey {
    /// Whole machine words, not field by field: the flow table hashes every packet's key.
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        match (self.lo.0, self.hi.0) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                h.write_u64(u64::from(u32::from(a)) << 32 | u64::from(u32::from(b)))
            }
            (a, b) => {
                h.write_u128(addr_bits(a));
                h.write_u128(addr_bits(b));
            }
        }
        h.write_u64(
            u64::from(self.lo.1) << 48
                | u64::from(self.hi.1) << 32
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

impl FlowKey {
    /// Key of a decoded packet; the second value is true when the packet's source is `lo`.
    pub fn of(d: &Decoded) -> (FlowKey, bool) {
        let (sp, dp) = d.ports.unwrap_or((0, 0));
        let a = (d.src, sp);
        let b = (d.dst, dp);
        let zone = zone_of(d);
        if a <= b {
            (
                FlowKey {
                    lo: a,
                    hi: b,
                    proto: d.proto,
                    zone,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    lo: b,
                    hi: a,
                    proto: d.proto,
                    zone,
                },
                false,
            )
        }
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
    let (sp, dp) = d.ports.unwrap_or((0, 0));
    let (hs, hd) = (home.contains(d.src), home.contains(d.dst));
    let client = if hs != hd {
        if hs { d.src } else { d.dst }
    } else if sp != dp {
        if sp > dp { d.src } else { d.dst }
    } else {
        d.src.min(d.dst)
    };
    foldhash::quality::FixedState::with_seed(0x6332_7761_7463_6821).hash_one((client, zone_of(d)))
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

    #[test]
    fn symmetric_keys() {
        let mut d = Decoded {
            src: "10.0.0.1".parse().unwrap(),
            dst: "192.0.2.1".parse().unwrap(),
            proto: 6,
            ports: Some((5000, 443)),
            ..Decoded::default()
        };
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
}
