//! A deterministic benchmark traffic mix: many small flows and a few elephants, mostly TCP
//! with some UDP, about 520 bytes per packet, about 1% of flows to listed C2 addresses; and
//! the matching feed of random IPv4 indicators. Same seed, same bytes.

use super::frame::*;
use super::writer::PcapWriter;
use crate::capture::linktype;
use crate::time::Timestamp;
use std::io::{self, Write};
use std::net::Ipv4Addr;

/// splitmix64: small, fast, good enough for traffic shapes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[derive(Clone, Debug)]
pub struct MixConfig {
    pub packets: u64,
    pub indicators: u64,
    /// Share of flows that go to a listed address, in percent.
    pub c2_percent: u64,
    /// Domain indicators to list (0: an IP-only feed, app-layer inspection off).
    pub domains: u64,
    /// Share of TLS, HTTP and DNS flows that use a listed name, per thousand.
    pub c2_name_permille: u64,
    pub seed: u64,
    /// Flows open at any time (the mix: 2,000). With more, a flow's next packet comes
    /// later and its state has gone further from the CPU: the sensor's cost per packet as a
    /// function of concurrent flows, which on an ISP link run to hundreds of thousands.
    pub open_flows: u64,
}

/// A public-looking IPv4 address (outside private, CGNAT, loopback, multicast and reserved).
pub fn public_v4(rng: &mut Rng) -> Ipv4Addr {
    loop {
        let a = Ipv4Addr::from(rng.next_u64() as u32);
        let o = a.octets();
        let bad = o[0] == 0
            || o[0] == 10
            || o[0] == 127
            || o[0] >= 224
            || (o[0] == 100 && (64..128).contains(&o[1]))
            || (o[0] == 172 && (16..32).contains(&o[1]))
            || (o[0] == 192 && o[1] == 168);
        if !bad {
            return a;
        }
    }
}

/// The indicator list: `n` distinct random public IPv4 addresses, one per line.
pub fn indicators(cfg: &MixConfig) -> Vec<Ipv4Addr> {
    let mut rng = Rng::new(cfg.seed ^ 0x1d1c_a7e5);
    let mut seen = std::collections::HashSet::with_capacity(cfg.indicators as usize);
    let mut out = Vec::with_capacity(cfg.indicators as usize);
    while (out.len() as u64) < cfg.indicators {
        let a = public_v4(&mut rng);
        if seen.insert(a) {
            out.push(a);
        }
    }
    out
}

pub fn write_feed(out: impl Write, list: &[Ipv4Addr]) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 20, out);
    writeln!(
        w,
        "# c2watch benchmark feed: {} random IPv4 indicators",
        list.len()
    )?;
    for a in list {
        writeln!(w, "{a}")?;
    }
    w.flush()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum App {
    Tls,
    Http,
    Dns,
    Quic,
    Other,
}

/// How a flow's packets are carried (ISP taps see all three).
#[derive(Clone, Copy)]
enum Carrier {
    Plain,
    Vlan(u16),
    /// GTP-U between two eNodeB/SGW addresses, with the flow's TEID.
    Gtp(u32),
}

struct Active {
    client: Ipv4Addr,
    server: Ipv4Addr,
    cport: u16,
    sport: u16,
    udp: bool,
    app: App,
    carrier: Carrier,
    /// The name the client uses (SNI, Host, DNS question).
    name: String,
    /// The flow uses a listed name: its first client bytes make it a C2 contact.
    listed_name: bool,
    /// The ClientHello offers a post-quantum key share (two segments).
    pq: bool,
    /// The server is a listed address.
    to_c2: bool,
    /// The rest of the client's first bytes, for the next client segment.
    pending: Vec<u8>,
    left: u32,
    sent: u32,
    /// Next sequence number: [client, server].
    seq: [u32; 2],
}

/// The domain indicators of the mix: `n` distinct names under `.example`.
pub fn domains(cfg: &MixConfig) -> Vec<String> {
    (0..cfg.domains)
        .map(|i| {
            format!(
                "c2-{:08x}.example",
                (i.wrapping_mul(0x9e37_79b9) ^ cfg.seed) as u32
            )
        })
        .collect()
}

/// CIDR indicators: `n` random public /24–/30 blocks (written as listed, host bits clear).
pub fn cidrs(n: u64, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0xc1d2);
    (0..n)
        .map(|_| {
            let len = 24 + rng.below(7) as u32;
            let a = u32::from(public_v4(&mut rng)) & (u32::MAX << (32 - len));
            format!("{}/{len}", Ipv4Addr::from(a))
        })
        .collect()
}

/// JA3 indicators: `n` random MD5s (none is the JA3 of the mix's hellos).
pub fn ja3s(n: u64, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0x1a3);
    (0..n)
        .map(|_| format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64()))
        .collect()
}

/// What the mix wrote.
#[derive(Clone, Debug, Default)]
pub struct MixSummary {
    pub packets: u64,
    pub flows: u64,
    /// Flows to a listed address.
    pub c2_flows: u64,
    /// Flows whose name (SNI, Host, DNS question) is below a listed domain.
    pub c2_name_flows: u64,
    /// Every victim the mix contains: (client address, what it contacted: the listed address
    /// or the name it used), in order of first contact.
    pub victims: Vec<(Ipv4Addr, String)>,
}

/// A recorded client Initial of a real QUIC client (aioquic), replayed for QUIC flows.
const QUIC_INITIAL: &[u8] = include_bytes!("../../fixtures/quic/v1-benign.bin");

/// Largest TCP payload per segment.
const MSS: usize = 1380;

/// Writes the mix as an Ethernet pcap: TCP flows with handshakes, a TLS ClientHello (443; a
/// third with a post-quantum key share spanning two segments), an HTTP request (80) or opaque
/// data as their first client bytes; UDP DNS queries and answers, QUIC Initials and opaque
/// datagrams; a tenth of flows VLAN-tagged and a twentieth inside GTP-U. `c2s` are listed
/// addresses, `names` listed domains.
pub fn write_mix(
    out: impl Write,
    cfg: &MixConfig,
    c2s: &[Ipv4Addr],
    names: &[String],
) -> io::Result<MixSummary> {
    use crate::app::dns::{Rdata, TYPE_A, build as dns};
    use crate::app::tls::build::client_hello;
    let mut rng = Rng::new(cfg.seed);
    let mut w = PcapWriter::new(
        io::BufWriter::with_capacity(1 << 22, out),
        linktype::ETHERNET,
    )?;
    let mut active: Vec<Active> = Vec::new();
    let mut sum = MixSummary::default();
    let filler = vec![0x42u8; 1500];
    let base = Timestamp::new(1_700_000_000, 0);
    for i in 0..cfg.packets {
        // Keep `open_flows` flows open at once.
        while (active.len() as u64) < cfg.open_flows.max(1) {
            sum.flows += 1;
            let to_c2 = !c2s.is_empty() && rng.below(100) < cfg.c2_percent;
            let server = if to_c2 {
                c2s[rng.below(c2s.len() as u64) as usize]
            } else {
                public_v4(&mut rng)
            };
            // Flow length: most are short, one in fifty is an elephant.
            let left = match rng.below(100) {
                0..=59 => 1 + rng.below(6),
                60..=97 => 6 + rng.below(40),
                _ => 200 + rng.below(2000),
            } as u32;
            let udp = rng.below(10) == 0;
            let sport = if udp {
                [53, 53, 443, 123][rng.below(4) as usize]
            } else {
                [443, 443, 443, 80, 8080, 22][rng.below(6) as usize]
            };
            let app = match (udp, sport) {
                (false, 443) => App::Tls,
                (false, 80) => App::Http,
                (true, 53) => App::Dns,
                (true, 443) => App::Quic,
                _ => App::Other,
            };
            // A DNS exchange is a query and its answer.
            let left = if app == App::Dns { 2 } else { left };
            let listed_name = !names.is_empty()
                && !to_c2
                && app != App::Other
                && app != App::Quic
                && rng.below(1000) < cfg.c2_name_permille;
            let name = if listed_name {
                sum.c2_name_flows += 1;
                format!("www.{}", names[rng.below(names.len() as u64) as usize])
            } else {
                format!(
                    "host{:06x}.benign-{}.example",
                    rng.below(1 << 24),
                    rng.below(1000)
                )
            };
            let carrier = match rng.below(20) {
                0 | 1 => Carrier::Vlan(100 + rng.below(3000) as u16),
                2 => Carrier::Gtp(rng.next_u64() as u32),
                _ => Carrier::Plain,
            };
            let client = Ipv4Addr::new(
                10,
                rng.below(256) as u8,
                rng.below(256) as u8,
                1 + rng.below(254) as u8,
            );
            if to_c2 {
                sum.c2_flows += 1;
            }
            active.push(Active {
                client,
                server,
                cport: 1024 + rng.below(60000) as u16,
                sport,
                udp,
                app,
                carrier,
                name,
                listed_name,
                pq: app == App::Tls && rng.below(3) == 0,
                to_c2,
                pending: Vec::new(),
                left,
                sent: 0,
                seq: [rng.next_u64() as u32, rng.next_u64() as u32],
            });
        }
        let k = rng.below(active.len() as u64) as usize;
        let f = &mut active[k];
        // A victim counts once its flow has sent a packet (flows still waiting at the end of the
        // mix never do).
        if f.sent == 0 && f.to_c2 {
            sum.victims.push((f.client, f.server.to_string()));
        }
        let fwd = match (f.udp, f.sent) {
            (false, 0 | 2 | 3) | (true, 0) => true,
            (false, 1) | (true, 1) => false,
            // The second half of a large ClientHello follows at once.
            _ if !f.pending.is_empty() => true,
            (_, n) => n % 3 != 1,
        };
        // The first client bytes are the application's; then data segments with sizes that
        // give the mix its mean near 550 bytes per packet on the wire.
        let first_client_data = (!f.udp && f.sent == 3) || (f.udp && f.sent == 0);
        let mut data: Vec<u8> = if !f.pending.is_empty() && fwd {
            if f.listed_name {
                sum.victims.push((f.client, f.name.clone()));
            }
            std::mem::take(&mut f.pending)
        } else if first_client_data {
            // A hello in two segments is complete (and alerts) with its second one.
            if f.listed_name && !f.pq {
                sum.victims.push((f.client, f.name.clone()));
            }
            match f.app {
                App::Tls => client_hello(&f.name, f.pq),
                App::Http => format!("GET /index.html HTTP/1.1\r\nHost: {}\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n", f.name).into_bytes(),
                App::Dns => dns::query(f.cport, &f.name, TYPE_A),
                App::Quic => QUIC_INITIAL.to_vec(),
                App::Other => filler[..900 + rng.below(560) as usize].to_vec(),
            }
        } else if f.udp && f.sent == 1 && f.app == App::Dns {
            dns::response(
                f.cport,
                &f.name,
                TYPE_A,
                &[(f.name.as_str(), TYPE_A, 300, Rdata::Addr(f.server.into()))],
            )
        } else if (!f.udp && f.sent < 3) || rng.below(2) == 0 {
            Vec::new()
        } else {
            filler[..900 + rng.below(560) as usize].to_vec()
        };
        if !f.udp && data.len() > MSS {
            f.pending = data.split_off(MSS);
            // The flow must live long enough to send the rest.
            f.left = f.left.max(2);
        }
        let data = if f.udp && data.is_empty() {
            filler[..40].to_vec()
        } else {
            data
        };
        let (src, dst, sp, dp) = if fwd {
            (f.client, f.server, f.cport, f.sport)
        } else {
            (f.server, f.client, f.sport, f.cport)
        };
        let l4 = if f.udp {
            udp(sp, dp, &data)
        } else {
            let flags = match f.sent {
                0 => TCP_SYN,
                1 => TCP_SYN | TCP_ACK,
                _ if f.left == 1 => TCP_FIN | TCP_ACK,
                _ => TCP_ACK | if data.is_empty() { 0 } else { TCP_PSH },
            };
            let dir = usize::from(!fwd);
            let seq = f.seq[dir];
            f.seq[dir] =
                seq.wrapping_add(data.len() as u32 + u32::from(flags & (TCP_SYN | TCP_FIN) != 0));
            tcp(sp, dp, seq, flags, &data)
        };
        let inner = ipv4(src.octets(), dst.octets(), if f.udp { 17 } else { 6 }, &l4);
        let (tags, ip_packet): (&[(u16, u16)], Vec<u8>) = match f.carrier {
            Carrier::Plain => (&[], inner),
            Carrier::Vlan(v) => (
                if v % 2 == 0 {
                    &[(0x8100, 0)]
                } else {
                    &[(0x88a8, 0)]
                },
                inner,
            ),
            Carrier::Gtp(teid) => (
                &[],
                ipv4(
                    [192, 0, 2, 100],
                    [192, 0, 2, 101],
                    17,
                    &udp(2152, 2152, &gtpu(teid, false, &inner)),
                ),
            ),
        };
        let vid = match f.carrier {
            Carrier::Vlan(v) => v,
            _ => 0,
        };
        let tags: Vec<(u16, u16)> = tags.iter().map(|(tpid, _)| (*tpid, vid)).collect();
        let frame = ethernet(
            [2, 0, 0, 0, 0, 1],
            [2, 0, 0, 0, 0, 2],
            &tags,
            ETH_IPV4,
            &ip_packet,
        );
        let ts = Timestamp::from_nanos(base.as_nanos() + i128::from(i) * 2_000);
        w.packet(ts, &frame)?;
        f.sent += 1;
        f.left -= 1;
        if f.left == 0 {
            active.swap_remove(k);
        }
    }
    w.into_inner().flush()?;
    sum.packets = cfg.packets;
    Ok(sum)
}
