//! A SYN flood: SYNs from random sources (random addresses, random ports) to one target,
//! each a new flow that never completes, with one real C2 contact (a victim's SYN to a
//! listed address and the C2's SYN-ACK) hidden in the middle. Same seed, same bytes.

use super::bench::Rng;
use super::frame::*;
use super::writer::PcapWriter;
use crate::capture::linktype;
use crate::time::Timestamp;
use std::io::{self, Write};

#[derive(Clone, Debug)]
pub struct FloodConfig {
    /// Flood SYNs (the C2 contact's two packets come on top).
    pub syns: u64,
    /// Flood target (port 80).
    pub target: [u8; 4],
    /// The subscriber that contacts the C2, and the C2.
    pub victim: [u8; 4],
    pub c2: [u8; 4],
    pub seed: u64,
}

/// MAC addresses of the flood's frames.
pub const ATTACKER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0xf1, 0x01];
pub const VICTIM_MAC: [u8; 6] = [0x02, 0, 0, 0, 0xf1, 0x02];
pub const C2_MAC: [u8; 6] = [0x02, 0, 0, 0, 0xf1, 0x03];

/// Writes the flood as an Ethernet pcap, one packet per microsecond.
pub fn write_flood(out: impl Write, cfg: &FloodConfig) -> io::Result<()> {
    let mut rng = Rng::new(cfg.seed);
    let mut w = PcapWriter::new(
        io::BufWriter::with_capacity(1 << 20, out),
        linktype::ETHERNET,
    )?;
    let base = Timestamp::new(1_700_000_000, 0).as_nanos();
    let mut t = 0i128;
    let mut next_ts = || {
        t += 1_000;
        Timestamp::from_nanos(base + t)
    };
    for i in 0..cfg.syns {
        if i == cfg.syns / 2 {
            let syn = ipv4(cfg.victim, cfg.c2, 6, &tcp(40_000, 443, 7, TCP_SYN, &[]));
            w.packet(
                next_ts(),
                &ethernet(VICTIM_MAC, C2_MAC, &[], ETH_IPV4, &syn),
            )?;
            let ack = ipv4(
                cfg.c2,
                cfg.victim,
                6,
                &tcp(443, 40_000, 9, TCP_SYN | TCP_ACK, &[]),
            );
            w.packet(
                next_ts(),
                &ethernet(C2_MAC, VICTIM_MAC, &[], ETH_IPV4, &ack),
            )?;
        }
        let r = rng.next_u64();
        // Any unicast source outside 0/8, 127/8 and multicast.
        let src = [
            (1 + (r % 222)) as u8,
            (r >> 8) as u8,
            (r >> 16) as u8,
            (r >> 24) as u8,
        ];
        let src = if src[0] == 127 {
            [128, src[1], src[2], src[3]]
        } else {
            src
        };
        let sport = 1024 + ((r >> 32) % 64_000) as u16;
        let syn = ipv4(
            src,
            cfg.target,
            6,
            &tcp(sport, 80, (r >> 40) as u32, TCP_SYN, &[]),
        );
        w.packet(
            next_ts(),
            &ethernet(ATTACKER_MAC, VICTIM_MAC, &[], ETH_IPV4, &syn),
        )?;
    }
    w.into_inner().flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureFile, Progress};

    #[test]
    fn every_syn_is_a_new_flow_and_the_c2_contact_is_in_the_middle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("flood.pcap");
        let cfg = FloodConfig {
            syns: 1000,
            target: [10, 0, 0, 80],
            victim: [10, 0, 0, 1],
            c2: [198, 51, 100, 7],
            seed: 3,
        };
        write_flood(std::fs::File::create(&path).expect("create"), &cfg).expect("write");
        let mut f =
            CaptureFile::open(&path.display().to_string(), &Progress::default()).expect("open");
        let mut n = 0;
        let mut c2_at = None;
        let mut sources = std::collections::HashSet::new();
        let mut d = crate::decode::Decoded::default();
        while let Some(p) = f.next_packet().expect("read") {
            crate::decode::decode(p.linktype, p.data, &mut d).expect("decodes");
            if d.dst == std::net::IpAddr::from(cfg.c2) {
                c2_at = Some(n);
            } else if d.src != std::net::IpAddr::from(cfg.c2) {
                sources.insert((d.src, d.ports));
            }
            n += 1;
        }
        assert_eq!(n, 1002);
        assert_eq!(c2_at, Some(500));
        assert!(sources.len() > 995, "{} distinct sources", sources.len());
    }
}
