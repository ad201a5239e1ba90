//! The test fixtures under `fixtures/`: small captures, one idea each, and the feeds they are
//! matched against. Regenerate with `cargo run --example gen_fixtures` (deterministic: the
//! test `fixtures_are_current` checks the committed files are what this code writes).
//!
//! Addresses: victims in 10/8, 100.64/10 and fd00::/8 (the default home net); C2s in the
//! documentation ranges 203.0.113.0/24, 198.51.100.0/24 and 2001:db8::/32; tunnel endpoints
//! and benign servers in 192.0.2.0/24.

use super::frame::*;
use super::writer::{PcapWriter, PcapngWriter};
use crate::capture::linktype;
use crate::time::Timestamp;
use std::io;
use std::net::IpAddr;
use std::path::Path;

/// 2023-11-14T22:13:20Z, the first packet of every fixture.
pub const T0: i64 = 1_700_000_000;

const VICTIM_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0e];
const ROUTER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const TAP_MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0xaa, 0x01];
const TAP_MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0xaa, 0x02];

fn ts(secs: i64, micros: u32) -> Timestamp {
    Timestamp::new(T0 + secs, micros * 1000)
}

fn a(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

fn v4(s: &str) -> [u8; 4] {
    match a(s) {
        IpAddr::V4(x) => x.octets(),
        IpAddr::V6(_) => [0; 4],
    }
}

/// One IP packet of a conversation and whether it goes client → server.
type Packet = (bool, Vec<u8>);

/// A TCP conversation: handshake, one request, one response, teardown. With `answered`
/// false the server never replies (a C2 that is down still shows the infection).
fn tcp_session(client: &str, cport: u16, server: &str, sport: u16, answered: bool) -> Vec<Packet> {
    let (c, s) = (a(client), a(server));
    let fwd = |flags, data: &[u8]| (true, ip(c, s, 6, &tcp(cport, sport, 1000, flags, data)));
    let rev = |flags, data: &[u8]| (false, ip(s, c, 6, &tcp(sport, cport, 5000, flags, data)));
    if !answered {
        return vec![fwd(TCP_SYN, b""), fwd(TCP_SYN, b"")];
    }
    vec![
        fwd(TCP_SYN, b""),
        rev(TCP_SYN | TCP_ACK, b""),
        fwd(TCP_ACK, b""),
        fwd(
            TCP_PSH | TCP_ACK,
            b"GET /gate.php HTTP/1.1\r\nHost: c2\r\n\r\n",
        ),
        rev(
            TCP_PSH | TCP_ACK,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ),
        fwd(TCP_FIN | TCP_ACK, b""),
        rev(TCP_FIN | TCP_ACK, b""),
        fwd(TCP_ACK, b""),
    ]
}

fn syn(client: &str, cport: u16, server: &str, sport: u16) -> Vec<u8> {
    ip(a(client), a(server), 6, &tcp(cport, sport, 1, TCP_SYN, b""))
}

/// Ethernet frame around an IP packet, MACs by direction.
fn eth(fwd: bool, tags: &[(u16, u16)], ip_packet: &[u8]) -> Vec<u8> {
    let (src, dst) = if fwd {
        (VICTIM_MAC, ROUTER_MAC)
    } else {
        (ROUTER_MAC, VICTIM_MAC)
    };
    ethernet(src, dst, tags, ethertype_of(ip_packet), ip_packet)
}

fn create(dir: &Path, name: &str) -> io::Result<io::BufWriter<std::fs::File>> {
    Ok(io::BufWriter::new(std::fs::File::create(dir.join(name))?))
}

fn write_pcap(dir: &Path, name: &str, lt: u32, frames: &[(Timestamp, Vec<u8>)]) -> io::Result<()> {
    let mut w = PcapWriter::new(create(dir, name)?, lt)?;
    for (t, f) in frames {
        w.packet(*t, f)?;
    }
    io::Write::flush(&mut w.into_inner())
}

/// Frames of a list of conversations, one second apart, 1 ms between packets.
fn frames(
    convs: Vec<Vec<Packet>>,
    wrap: impl Fn(bool, &[u8]) -> Vec<u8>,
) -> Vec<(Timestamp, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, conv) in convs.into_iter().enumerate() {
        for (j, (fwd, p)) in conv.into_iter().enumerate() {
            out.push((ts(i as i64, j as u32 * 1000), wrap(fwd, &p)));
        }
    }
    out
}

fn feeds(dir: &Path) -> io::Result<()> {
    let feeds = dir.join("feeds");
    std::fs::create_dir_all(&feeds)?;
    std::fs::write(
        feeds.join("domains.txt"),
        "# c2watch fixture: partner C2 domains (reserved names only)\n\
         bücher.example               # an IDN: matched in its ASCII form\n\
         *.dyn.example                # names below dyn.example, not dyn.example itself\n\
         Evil-Parent.Example.         # case and trailing dot do not matter\n",
    )?;
    std::fs::write(
        feeds.join("c2-ips.txt"),
        "# c2watch fixture: a partner's C2 list (synthetic; documentation addresses only)\n\
         203.0.113.10                 # ExampleRAT panel\n\
         198.51.100.128/25            ; more specific than the DROP block\n\
         203.0.113.11:4443\n\
         2001:db8:bad::1\n\
         [2001:db8:bad::2]:8443\n\
         2001:db8:c2::/48\n\
         c2.example                   # ExampleRAT domain: the name and every name below it\n\
         this is not an indicator\n",
    )?;
    std::fs::write(
        feeds.join("feodo.csv"),
        "################################################################\n\
         # abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)          #\n\
         # c2watch fixture: synthetic rows                              #\n\
         ################################################################\n\
         #\n\
         \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
         \"2023-10-01 12:00:00\",\"203.0.113.20\",\"53\",\"online\",\"2023-11-14\",\"QakBot\"\n\
         \"2023-10-02 08:30:00\",\"203.0.113.21\",\"8080\",\"offline\",\"2023-10-20\",\"Emotet\"\n\
         \"2023-10-03 09:00:00\",\"not-an-ip\",\"443\",\"online\",\"2023-11-14\",\"Broken\"\n\
         # end\n",
    )?;
    std::fs::write(
        feeds.join("drop.txt"),
        "; Spamhaus DROP List 2023/11/14 - (c) fixture, synthetic\n\
         ; Last-Modified: Tue, 14 Nov 2023 10:00:00 GMT\n\
         198.51.100.0/24 ; SBL000001\n\
         2001:db8:dead::/48 ; SBL000002\n\
         ; EOF\n",
    )?;
    let allow = dir.join("allow");
    std::fs::create_dir_all(&allow)?;
    std::fs::write(
        allow.join("allow.txt"),
        "# addresses never to alert on (e.g. a sinkhole the CERT runs)\n198.51.100.200\n",
    )?;
    Ok(())
}

/// Writes every fixture into `dir` (created if needed).
pub fn generate(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    feeds(dir)?;

    // ethernet.pcap: plain Ethernet; TCP answered, UDP, ICMP, benign, ARP.
    let mut eth_frames = frames(
        vec![
            tcp_session("10.0.0.5", 50000, "203.0.113.10", 443, true),
            tcp_session("10.0.0.5", 50001, "192.0.2.80", 80, true),
            vec![(
                true,
                ip(
                    a("10.0.0.6"),
                    a("203.0.113.20"),
                    17,
                    &udp(
                        53000,
                        53,
                        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",
                    ),
                ),
            )],
            vec![
                (
                    true,
                    ip(a("10.0.0.7"), a("198.51.100.7"), 1, &icmp(8, 0, b"ping")),
                ),
                (
                    false,
                    ip(a("198.51.100.7"), a("10.0.0.7"), 1, &icmp(0, 0, b"ping")),
                ),
            ],
        ],
        |fwd, p| eth(fwd, &[], p),
    );
    let mut arp = ethernet(
        VICTIM_MAC,
        [0xff; 6],
        &[],
        ETH_ARP,
        &[0, 1, 8, 0, 6, 4, 0, 1],
    );
    arp.resize(42, 0);
    eth_frames.push((ts(5, 0), arp));
    write_pcap(dir, "ethernet.pcap", linktype::ETHERNET, &eth_frames)?;
    // The same packets: big-endian nanosecond pcap, gzip, zstd, and pcapng.
    {
        let mut w = PcapWriter::with_options(
            create(dir, "ethernet-be-nanos.pcap")?,
            linktype::ETHERNET,
            true,
            true,
            65535,
        )?;
        for (t, f) in &eth_frames {
            w.packet(*t, f)?;
        }
        io::Write::flush(&mut w.into_inner())?;
        let plain = std::fs::read(dir.join("ethernet.pcap"))?;
        let mut gz = flate2::write::GzEncoder::new(
            create(dir, "ethernet.pcap.gz")?,
            flate2::Compression::new(6),
        );
        io::Write::write_all(&mut gz, &plain)?;
        gz.finish()?;
        std::fs::write(
            dir.join("ethernet.pcap.zst"),
            zstd::encode_all(&plain[..], 3)?,
        )?;
        let mut ng = PcapngWriter::new(create(dir, "ethernet.pcapng")?)?;
        ng.interface(1, Some("eth1"), 6)?;
        for (t, f) in &eth_frames {
            ng.epb(0, 6, *t, f)?;
        }
        io::Write::flush(&mut ng.into_inner())?;
    }

    // vlan.pcap: 802.1Q, QinQ with 0x88a8 and 0x9100 outer tags, three tags.
    let vlan_cases: [(&str, &[(u16, u16)]); 4] = [
        ("10.0.1.1", &[(0x8100, 100)]),
        ("10.0.1.2", &[(0x88a8, 200), (0x8100, 300)]),
        ("10.0.1.3", &[(0x9100, 400), (0x8100, 500)]),
        ("10.0.1.4", &[(0x88a8, 10), (0x8100, 20), (0x8100, 30)]),
    ];
    let f: Vec<_> = vlan_cases
        .iter()
        .enumerate()
        .map(|(i, (v, tags))| {
            (
                ts(i as i64, 0),
                eth(true, tags, &syn(v, 40000, "203.0.113.10", 443)),
            )
        })
        .collect();
    write_pcap(dir, "vlan.pcap", linktype::ETHERNET, &f)?;

    // mpls.pcap: a label stack over IPv4; a pseudowire (control word) carrying tagged Ethernet.
    let inner_eth = eth(
        true,
        &[(0x8100, 42)],
        &syn("10.0.2.2", 40001, "203.0.113.10", 443),
    );
    let mut pw = vec![0, 0, 0, 0];
    pw.extend_from_slice(&inner_eth);
    let f = vec![
        (
            ts(0, 0),
            ethernet(
                TAP_MAC_A,
                TAP_MAC_B,
                &[],
                0x8847,
                &mpls(&[16, 17], &syn("10.0.2.1", 40000, "203.0.113.10", 443)),
            ),
        ),
        (
            ts(1, 0),
            ethernet(TAP_MAC_A, TAP_MAC_B, &[], 0x8847, &mpls(&[18], &pw)),
        ),
    ];
    write_pcap(dir, "mpls.pcap", linktype::ETHERNET, &f)?;

    // pppoe.pcap: IPv4 and IPv6 sessions, and an LCP frame (not IP).
    let f = vec![
        (
            ts(0, 0),
            ethernet(
                VICTIM_MAC,
                ROUTER_MAC,
                &[],
                0x8864,
                &pppoe(0x1234, 0x0021, &syn("10.0.3.1", 40000, "203.0.113.10", 443)),
            ),
        ),
        (
            ts(1, 0),
            ethernet(
                VICTIM_MAC,
                ROUTER_MAC,
                &[(0x8100, 7)],
                0x8864,
                &pppoe(
                    0x1235,
                    0x0057,
                    &syn("fd00::31", 40000, "2001:db8:bad::1", 443),
                ),
            ),
        ),
        (
            ts(2, 0),
            ethernet(
                VICTIM_MAC,
                ROUTER_MAC,
                &[],
                0x8864,
                &pppoe(0x1234, 0xc021, &[9, 1, 0, 8, 0, 0, 0, 1]),
            ),
        ),
    ];
    write_pcap(dir, "pppoe.pcap", linktype::ETHERNET, &f)?;

    // gre.pcap: plain GRE over IPv4; keyed GRE carrying Ethernet (TEB).
    let outer = |inner: &[u8]| {
        ethernet(
            TAP_MAC_A,
            TAP_MAC_B,
            &[],
            ETH_IPV4,
            &ipv4(v4("192.0.2.1"), v4("192.0.2.2"), 47, inner),
        )
    };
    let f = vec![
        (
            ts(0, 0),
            outer(&gre(
                0x0800,
                None,
                None,
                &syn("10.0.4.1", 40000, "203.0.113.10", 443),
            )),
        ),
        (
            ts(1, 0),
            outer(&gre(
                0x6558,
                Some(77),
                None,
                &eth(true, &[], &syn("10.0.4.2", 40000, "203.0.113.10", 443)),
            )),
        ),
    ];
    write_pcap(dir, "gre.pcap", linktype::ETHERNET, &f)?;

    // erspan.pcap: type II (session 42), type III with platform header and an inner VLAN, type I.
    let outer = |inner: &[u8]| {
        ethernet(
            TAP_MAC_A,
            TAP_MAC_B,
            &[],
            ETH_IPV4,
            &ipv4(v4("192.0.2.10"), v4("192.0.2.11"), 47, inner),
        )
    };
    let f = vec![
        (
            ts(0, 0),
            outer(&gre(
                0x88be,
                None,
                Some(1),
                &erspan2(
                    42,
                    0,
                    &eth(true, &[], &syn("10.0.5.1", 40000, "203.0.113.10", 443)),
                ),
            )),
        ),
        (
            ts(1, 0),
            outer(&gre(
                0x22eb,
                None,
                Some(2),
                &erspan3(
                    7,
                    true,
                    &eth(
                        true,
                        &[(0x8100, 55)],
                        &syn("10.0.5.2", 40000, "203.0.113.10", 443),
                    ),
                ),
            )),
        ),
        (
            ts(2, 0),
            outer(&gre(
                0x88be,
                None,
                None,
                &eth(true, &[], &syn("10.0.5.3", 40000, "203.0.113.10", 443)),
            )),
        ),
    ];
    write_pcap(dir, "erspan.pcap", linktype::ETHERNET, &f)?;

    // vxlan.pcap and geneve.pcap: overlay traffic of cloud taps.
    let vm_frame = |victim: &str| {
        ethernet(
            [0x02, 0x42, 0, 0, 0, 0x07],
            [0x02, 0x42, 0, 0, 0, 0x01],
            &[],
            ETH_IPV4,
            &syn(victim, 40000, "203.0.113.10", 443),
        )
    };
    let f = vec![(
        ts(0, 0),
        outer_udp(
            "192.0.2.20",
            41000,
            "192.0.2.21",
            4789,
            &vxlan(4097, &vm_frame("10.0.6.1")),
        ),
    )];
    write_pcap(dir, "vxlan.pcap", linktype::ETHERNET, &f)?;
    let f = vec![(
        ts(0, 0),
        outer_udp(
            "192.0.2.22",
            41000,
            "192.0.2.23",
            6081,
            &geneve(
                256,
                0x6558,
                &[0x01, 0x02, 0x03, 0x01, 0, 0, 0, 0],
                &vm_frame("10.0.6.2"),
            ),
        ),
    )];
    write_pcap(dir, "geneve.pcap", linktype::ETHERNET, &f)?;

    // gtpu.pcap: mobile user plane, IPv4 subscriber; IPv6 subscriber with a 5G extension header.
    let f = vec![
        (
            ts(0, 0),
            outer_udp(
                "192.0.2.30",
                2152,
                "192.0.2.31",
                2152,
                &gtpu(
                    0x1234,
                    false,
                    &syn("100.64.0.1", 40000, "203.0.113.10", 443),
                ),
            ),
        ),
        (
            ts(1, 0),
            outer_udp(
                "192.0.2.30",
                2152,
                "192.0.2.31",
                2152,
                &gtpu(0xabcd, true, &syn("fd00::71", 40000, "2001:db8:c2::5", 443)),
            ),
        ),
    ];
    write_pcap(dir, "gtpu.pcap", linktype::ETHERNET, &f)?;

    // ipip.pcap: IPv4 in IPv4, and IPv6 in IPv4 (6in4).
    let f = vec![
        (
            ts(0, 0),
            ethernet(
                TAP_MAC_A,
                TAP_MAC_B,
                &[],
                ETH_IPV4,
                &ipv4(
                    v4("192.0.2.40"),
                    v4("192.0.2.41"),
                    4,
                    &syn("10.0.7.1", 40000, "203.0.113.10", 443),
                ),
            ),
        ),
        (
            ts(1, 0),
            ethernet(
                TAP_MAC_A,
                TAP_MAC_B,
                &[],
                ETH_IPV4,
                &ipv4(
                    v4("192.0.2.40"),
                    v4("192.0.2.41"),
                    41,
                    &syn("fd00::72", 40000, "2001:db8:bad::1", 443),
                ),
            ),
        ),
    ];
    write_pcap(dir, "ipip.pcap", linktype::ETHERNET, &f)?;

    // ipv6.pcap: extension headers; ip:port right and wrong port; CIDR.
    let v6 = |s: &str| match a(s) {
        IpAddr::V6(x) => x.octets(),
        IpAddr::V4(_) => [0; 16],
    };
    let with_exts = ipv6_full(
        v6("fd00::1"),
        v6("2001:db8:bad::1"),
        &[(0, vec![1, 4, 0, 0, 0, 0]), (60, vec![1, 4, 0, 0, 0, 0])],
        6,
        &tcp(40000, 443, 1, TCP_SYN, b""),
    );
    let f = vec![
        (ts(0, 0), eth(true, &[], &with_exts)),
        (
            ts(1, 0),
            eth(
                true,
                &[],
                &ip(
                    a("fd00::2"),
                    a("2001:db8:bad::2"),
                    17,
                    &udp(40000, 8443, b"beacon"),
                ),
            ),
        ),
        (
            ts(2, 0),
            eth(
                true,
                &[],
                &ip(
                    a("fd00::3"),
                    a("2001:db8:bad::2"),
                    17,
                    &udp(40000, 53, b"not the listed port"),
                ),
            ),
        ),
        (
            ts(3, 0),
            eth(true, &[], &syn("fd00::4", 40000, "2001:db8:c2::99", 443)),
        ),
        (
            ts(4, 0),
            eth(
                true,
                &[],
                &ip(
                    a("fd00::5"),
                    a("2001:db8:dead::9"),
                    58,
                    &icmp(128, 0, b"ping"),
                ),
            ),
        ),
    ];
    write_pcap(dir, "ipv6.pcap", linktype::ETHERNET, &f)?;

    // ports.pcap: an ip:port indicator on TCP and UDP; the same address on another port.
    let f = vec![
        (
            ts(0, 0),
            eth(true, &[], &syn("10.0.8.1", 40000, "203.0.113.11", 4443)),
        ),
        (
            ts(1, 0),
            eth(true, &[], &syn("10.0.8.2", 40000, "203.0.113.11", 443)),
        ),
        (
            ts(2, 0),
            eth(
                true,
                &[],
                &ip(
                    a("10.0.8.3"),
                    a("203.0.113.11"),
                    17,
                    &udp(40000, 4443, b"beacon"),
                ),
            ),
        ),
    ];
    write_pcap(dir, "ports.pcap", linktype::ETHERNET, &f)?;

    // cidr.pcap: /24 from DROP, the more specific /25 from the partner list, an allowlisted host.
    let f = vec![
        (
            ts(0, 0),
            eth(true, &[], &syn("10.0.9.1", 40000, "198.51.100.7", 443)),
        ),
        (
            ts(1, 0),
            eth(true, &[], &syn("10.0.9.2", 40000, "198.51.100.130", 443)),
        ),
        (
            ts(2, 0),
            eth(true, &[], &syn("10.0.9.3", 40000, "198.51.100.200", 443)),
        ),
    ];
    write_pcap(dir, "cidr.pcap", linktype::ETHERNET, &f)?;

    // inbound.pcap: the C2 connects in; the victim resets.
    let f = vec![
        (
            ts(0, 0),
            eth(
                false,
                &[],
                &ip(
                    a("203.0.113.10"),
                    a("10.0.10.1"),
                    6,
                    &tcp(4444, 22, 1, TCP_SYN, b""),
                ),
            ),
        ),
        (
            ts(0, 1000),
            eth(
                true,
                &[],
                &ip(
                    a("10.0.10.1"),
                    a("203.0.113.10"),
                    6,
                    &tcp(22, 4444, 0, TCP_RST | TCP_ACK, b""),
                ),
            ),
        ),
    ];
    write_pcap(dir, "inbound.pcap", linktype::ETHERNET, &f)?;

    // dedup.pcap: repeated contacts within and after the one-hour window; a long UDP beacon.
    let mut f = Vec::new();
    for (i, at) in [0i64, 60, 120, 300, 7200].iter().enumerate() {
        f.push((
            ts(*at, 0),
            eth(
                true,
                &[],
                &syn("10.0.11.1", 41000 + i as u16, "203.0.113.10", 443),
            ),
        ));
    }
    f.push((
        ts(30, 0),
        eth(true, &[], &syn("10.0.11.2", 41000, "203.0.113.10", 443)),
    ));
    for m in 0..=130 {
        f.push((
            ts(m * 60 + 5, 0),
            eth(
                true,
                &[],
                &ip(
                    a("10.0.11.3"),
                    a("203.0.113.10"),
                    17,
                    &udp(42000, 53, b"beacon"),
                ),
            ),
        ));
    }
    f.sort_by_key(|(t, _)| *t);
    write_pcap(dir, "dedup.pcap", linktype::ETHERNET, &f)?;

    // fragments.pcap: a fragmented UDP datagram to an ip:port; a lone later fragment.
    let dgram = udp(40000, 4443, &[0x55; 64]);
    let (first, rest) = dgram.split_at(24);
    let f = vec![
        (
            ts(0, 0),
            eth(
                true,
                &[],
                &ipv4_full(
                    v4("10.0.12.1"),
                    v4("203.0.113.11"),
                    17,
                    &[],
                    Frag {
                        id: 7,
                        offset: 0,
                        more: true,
                    },
                    first,
                ),
            ),
        ),
        (
            ts(0, 1000),
            eth(
                true,
                &[],
                &ipv4_full(
                    v4("10.0.12.1"),
                    v4("203.0.113.11"),
                    17,
                    &[],
                    Frag {
                        id: 7,
                        offset: 3,
                        more: false,
                    },
                    rest,
                ),
            ),
        ),
        (
            ts(1, 0),
            eth(
                true,
                &[],
                &ipv4_full(
                    v4("10.0.12.2"),
                    v4("203.0.113.10"),
                    6,
                    &[],
                    Frag {
                        id: 9,
                        offset: 185,
                        more: false,
                    },
                    &[0xaa; 40],
                ),
            ),
        ),
        // IPv4 options (record route) in front of a SYN.
        (
            ts(2, 0),
            eth(
                true,
                &[],
                &ipv4_full(
                    v4("10.0.12.3"),
                    v4("203.0.113.10"),
                    6,
                    &[7, 7, 4, 0, 0, 0, 0, 1],
                    Frag::default(),
                    &tcp(40000, 443, 1, TCP_SYN, b""),
                ),
            ),
        ),
    ];
    write_pcap(dir, "fragments.pcap", linktype::ETHERNET, &f)?;

    // snaplen.pcap: captured with a 38-byte snaplen (Ethernet + IPv4 + the ports).
    {
        let mut w = PcapWriter::with_options(
            create(dir, "snaplen.pcap")?,
            linktype::ETHERNET,
            false,
            false,
            38,
        )?;
        w.packet(
            ts(0, 0),
            &eth(true, &[], &syn("10.0.13.1", 40000, "203.0.113.11", 4443)),
        )?;
        w.packet(
            ts(1, 0),
            &eth(true, &[], &syn("10.0.13.2", 40000, "203.0.113.10", 443)),
        )?;
        io::Write::flush(&mut w.into_inner())?;
    }

    // One file per link type.
    let raw = syn("10.0.14.1", 40000, "203.0.113.10", 443);
    write_pcap(dir, "raw.pcap", linktype::RAW, &[(ts(0, 0), raw)])?;
    write_pcap(
        dir,
        "sll.pcap",
        linktype::LINUX_SLL,
        &[(
            ts(0, 0),
            sll(
                VICTIM_MAC,
                ETH_IPV4,
                &syn("10.0.14.2", 40000, "203.0.113.10", 443),
            ),
        )],
    )?;
    write_pcap(
        dir,
        "sll2.pcap",
        linktype::LINUX_SLL2,
        &[(
            ts(0, 0),
            sll2(
                VICTIM_MAC,
                ETH_IPV4,
                3,
                &syn("10.0.14.3", 40000, "203.0.113.10", 443),
            ),
        )],
    )?;
    write_pcap(
        dir,
        "null.pcap",
        linktype::NULL,
        &[(
            ts(0, 0),
            null_loopback(2, &syn("10.0.14.4", 40000, "203.0.113.10", 443)),
        )],
    )?;
    write_pcap(
        dir,
        "ipv4-linktype.pcap",
        linktype::IPV4,
        &[(ts(0, 0), syn("10.0.14.5", 40000, "203.0.113.10", 443))],
    )?;

    // multi.pcapng: three interfaces with different link types and resolutions; EPB, SPB, OPB
    // and an unknown block that must be skipped.
    {
        let mut ng = PcapngWriter::new(create(dir, "multi.pcapng")?)?;
        ng.interface(1, Some("eth1"), 6)?;
        ng.interface(101, Some("tun0"), 9)?;
        ng.other(0x0000_0BAD, b"unknown block: skip me")?;
        ng.interface(276, None, 6)?;
        ng.epb(
            0,
            6,
            ts(0, 0),
            &eth(
                true,
                &[(0x8100, 10)],
                &syn("10.0.16.1", 40000, "203.0.113.10", 443),
            ),
        )?;
        ng.epb(
            1,
            9,
            ts(1, 0),
            &syn("10.0.16.2", 40000, "203.0.113.10", 443),
        )?;
        ng.epb(
            2,
            6,
            ts(2, 0),
            &sll2(
                VICTIM_MAC,
                ETH_IPV4,
                3,
                &syn("10.0.16.3", 40000, "203.0.113.10", 443),
            ),
        )?;
        ng.spb(&eth(
            true,
            &[],
            &syn("10.0.16.4", 40000, "203.0.113.10", 443),
        ))?;
        ng.opb(
            1,
            9,
            ts(4, 0),
            &syn("10.0.16.5", 40000, "203.0.113.10", 443),
        )?;
        io::Write::flush(&mut ng.into_inner())?;
    }

    // truncated.pcap: one good record, then a record cut in the middle (a capture killed mid-write).
    {
        let mut w = PcapWriter::new(create(dir, "truncated.pcap")?, linktype::ETHERNET)?;
        w.packet(
            ts(0, 0),
            &eth(true, &[], &syn("10.0.15.1", 40000, "203.0.113.10", 443)),
        )?;
        let second = eth(true, &[], &syn("10.0.15.9", 40000, "203.0.113.10", 443));
        let mut hdr = Vec::new();
        for v in [(T0 + 1) as u32, 0, second.len() as u32, second.len() as u32] {
            hdr.extend_from_slice(&v.to_le_bytes());
        }
        w.raw(&hdr)?;
        w.raw(&second[..20])?;
        io::Write::flush(&mut w.into_inner())?;
    }

    // corrupt.pcapng: one good packet, then a block whose length field is impossible.
    {
        let mut ng = PcapngWriter::new(create(dir, "corrupt.pcapng")?)?;
        ng.interface(1, None, 6)?;
        ng.epb(
            0,
            6,
            ts(0, 0),
            &eth(true, &[], &syn("10.0.15.2", 40000, "203.0.113.10", 443)),
        )?;
        ng.raw(&[6, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0])?;
        ng.epb(
            0,
            6,
            ts(1, 0),
            &eth(true, &[], &syn("10.0.15.3", 40000, "203.0.113.10", 443)),
        )?;
        io::Write::flush(&mut ng.into_inner())?;
    }

    // demo.pcap: what the README runs. Two infected subscribers among ordinary traffic.
    let mut convs = Vec::new();
    for i in 0..6u16 {
        convs.push(tcp_session(
            &format!("10.0.0.{}", 20 + i),
            50100 + i,
            "192.0.2.80",
            443,
            true,
        ));
        convs.push(vec![(
            true,
            ip(
                a(&format!("10.0.0.{}", 20 + i)),
                a("192.0.2.53"),
                17,
                &udp(
                    53000 + i,
                    53,
                    b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",
                ),
            ),
        )]);
    }
    convs.insert(
        3,
        tcp_session("10.0.0.23", 50200, "203.0.113.10", 443, true),
    );
    convs.insert(
        7,
        tcp_session("10.0.0.42", 50300, "198.51.100.7", 8080, false),
    );
    convs.push(tcp_session("10.0.0.23", 50201, "203.0.113.10", 443, true));
    convs.push(vec![(
        true,
        ip(
            a("10.0.0.31"),
            a("203.0.113.20"),
            17,
            &udp(
                53100,
                53,
                b"\x00\x02\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",
            ),
        ),
    )]);
    write_pcap(
        dir,
        "demo.pcap",
        linktype::ETHERNET,
        &frames(convs, |fwd, p| eth(fwd, &[(0x8100, 120)], p)),
    )?;
    dns_fixture(dir)?;
    tls_fixture(dir)?;
    http_fixture(dir)?;
    quic_fixture(dir)?;
    combine_into_pcapng(dir, "encapsulations.pcapng", &ENCAPSULATIONS)?;
    Ok(())
}

/// dns.pcap: questions for listed names (victim: the client), label-boundary negatives, an
/// IDN, a wildcard, and a CNAME chain whose answer address a client then connects to.
fn dns_fixture(dir: &Path) -> io::Result<()> {
    use crate::app::dns::{Rdata, TYPE_A, TYPE_AAAA, TYPE_CNAME, build};
    let resolver = "192.0.2.53";
    let q = |client: &str, port: u16, id: u16, name: &str| {
        eth(
            true,
            &[],
            &ip(
                a(client),
                a(resolver),
                17,
                &udp(port, 53, &build::query(id, name, TYPE_A)),
            ),
        )
    };
    let r = |client: &str, port: u16, id: u16, name: &str, recs: &[(&str, u16, u32, Rdata)]| {
        eth(
            false,
            &[],
            &ip(
                a(resolver),
                a(client),
                17,
                &udp(53, port, &build::response(id, name, TYPE_A, recs)),
            ),
        )
    };
    let addr = |s: &str| Rdata::Addr(a(s));
    let mut looped = build::query(9, "loop.example", TYPE_A);
    looped[12] = 0xc0;
    looped[13] = 12;
    let f = vec![
        // A listed name, mixed case, and its answer.
        (ts(0, 0), q("10.0.20.1", 53001, 1, "WWW.C2.Example")),
        (
            ts(0, 1000),
            r(
                "10.0.20.1",
                53001,
                1,
                "WWW.C2.Example",
                &[("WWW.C2.Example", TYPE_A, 300, addr("192.0.2.98"))],
            ),
        ),
        // Label boundaries: neither is below c2.example.
        (ts(1, 0), q("10.0.20.2", 53002, 2, "notc2.example")),
        (ts(1, 1000), q("10.0.20.2", 53003, 3, "c2.example.com")),
        // A CNAME chain through a listed name; the address itself is on no list.
        (ts(2, 0), q("10.0.20.3", 53004, 4, "cdn.partner.example")),
        (
            ts(2, 1000),
            r(
                "10.0.20.3",
                53004,
                4,
                "cdn.partner.example",
                &[
                    (
                        "cdn.partner.example",
                        TYPE_CNAME,
                        300,
                        Rdata::Cname("edge.c2.example".into()),
                    ),
                    (
                        "edge.c2.example",
                        TYPE_CNAME,
                        300,
                        Rdata::Cname("x.lb.example".into()),
                    ),
                    ("x.lb.example", TYPE_A, 60, addr("192.0.2.99")),
                ],
            ),
        ),
        // The client connects to the resolved address: a C2 contact.
        (
            ts(3, 0),
            eth(true, &[], &syn("10.0.20.3", 41000, "192.0.2.99", 443)),
        ),
        // Another client connects there without having resolved it: nothing.
        (
            ts(4, 0),
            eth(true, &[], &syn("10.0.20.4", 41000, "192.0.2.99", 443)),
        ),
        // An IDN and a wildcard.
        (
            ts(5, 0),
            q("10.0.20.5", 53005, 5, "www.xn--bcher-kva.example"),
        ),
        (
            ts(6, 0),
            eth(
                true,
                &[],
                &ip(
                    a("fd00::20"),
                    a("2001:db8::53"),
                    17,
                    &udp(53006, 53, &build::query(6, "h1.dyn.example", TYPE_AAAA)),
                ),
            ),
        ),
        (ts(6, 1000), q("10.0.20.6", 53007, 7, "dyn.example")),
        (
            ts(7, 0),
            q("10.0.20.7", 53008, 8, "a.b.evil-parent.example"),
        ),
        // A compression loop: counted, never followed forever.
        (
            ts(8, 0),
            eth(
                true,
                &[],
                &ip(a("10.0.20.8"), a(resolver), 17, &udp(53009, 53, &looped)),
            ),
        ),
        // Long after the answer's TTL, the same connection is no longer tied to the name.
        (
            ts(3700, 0),
            eth(true, &[], &syn("10.0.20.3", 41001, "192.0.2.99", 443)),
        ),
    ];
    write_pcap(dir, "dns.pcap", linktype::ETHERNET, &f)
}

/// The "certificate" the TLS fixture's server sends (hashed as it is, like DER bytes).
pub const FIXTURE_CERT: &[u8] = b"c2watch fixture: not a real certificate, hashed as DER bytes";

/// tls.pcap: ClientHellos over reassembled TCP — split so the SNI is in the second segment,
/// sent out of order and retransmitted — a TLS 1.2 server certificate on the SSL Blacklist, and
/// a DNS question over TCP. The feed `feeds/sslblacklist.csv` lists the certificate.
fn tls_fixture(dir: &Path) -> io::Result<()> {
    use crate::app::tls::build::{example_client_hello, server_flight};
    use sha1::Digest;
    let sha1: String = sha1::Sha1::digest(FIXTURE_CERT)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(
        dir.join("feeds/sslblacklist.csv"),
        format!(
            "################################################################\n\
             # abuse.ch SSLBL SSL Certificate Blacklist (SHA1 Fingerprints) #\n\
             # c2watch fixture: synthetic                                   #\n\
             ################################################################\n\
             #\n\
             # Listingdate,SHA1,Listingreason\n\
             2023-10-05 10:00:00,{sha1},ExampleRAT C&C\n"
        ),
    )?;
    let seg = |c: &str, cp: u16, s: &str, sp: u16, seq: u32, flags: u8, data: &[u8], fwd: bool| {
        let (src, dst, a_, b_) = if fwd { (c, s, cp, sp) } else { (s, c, sp, cp) };
        eth(
            fwd,
            &[],
            &ip(a(src), a(dst), 6, &tcp(a_, b_, seq, flags, data)),
        )
    };
    let mut f = Vec::new();
    // 1. SNI www.c2.example; hello split at byte 60 (the SNI is in the second segment), the
    //    second segment first, then the first, then the first again (retransmission).
    let hello = example_client_hello("www.c2.example");
    let (h1, h2) = hello.split_at(60);
    let (c, s) = ("10.0.30.1", "192.0.2.80");
    f.push((ts(0, 0), seg(c, 50000, s, 443, 1000, TCP_SYN, b"", true)));
    f.push((
        ts(0, 1000),
        seg(c, 50000, s, 443, 7000, TCP_SYN | TCP_ACK, b"", false),
    ));
    f.push((ts(0, 2000), seg(c, 50000, s, 443, 1001, TCP_ACK, b"", true)));
    f.push((
        ts(0, 3000),
        seg(c, 50000, s, 443, 1001 + 60, TCP_ACK | TCP_PSH, h2, true),
    ));
    f.push((ts(0, 4000), seg(c, 50000, s, 443, 1001, TCP_ACK, h1, true)));
    f.push((ts(0, 5000), seg(c, 50000, s, 443, 1001, TCP_ACK, h1, true)));
    // 2. A benign name, but the server's certificate is listed (TLS 1.2: it is visible).
    let (c, s) = ("10.0.30.3", "192.0.2.82");
    let hello = example_client_hello("shop.example");
    let flight = server_flight(FIXTURE_CERT);
    f.push((ts(1, 0), seg(c, 50001, s, 8443, 2000, TCP_SYN, b"", true)));
    f.push((
        ts(1, 1000),
        seg(c, 50001, s, 8443, 9000, TCP_SYN | TCP_ACK, b"", false),
    ));
    f.push((
        ts(1, 2000),
        seg(c, 50001, s, 8443, 2001, TCP_ACK | TCP_PSH, &hello, true),
    ));
    f.push((
        ts(1, 3000),
        seg(
            c,
            50001,
            s,
            8443,
            9001,
            TCP_ACK | TCP_PSH,
            &flight[..40],
            false,
        ),
    ));
    f.push((
        ts(1, 4000),
        seg(
            c,
            50001,
            s,
            8443,
            9041,
            TCP_ACK | TCP_PSH,
            &flight[40..],
            false,
        ),
    ));
    // 3. A DNS question over TCP (length-prefixed).
    let q = crate::app::dns::build::query(77, "x.c2.example", crate::app::dns::TYPE_A);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    let (c, s) = ("10.0.30.4", "192.0.2.53");
    f.push((ts(2, 0), seg(c, 50002, s, 53, 3000, TCP_SYN, b"", true)));
    f.push((
        ts(2, 1000),
        seg(c, 50002, s, 53, 3001, TCP_ACK | TCP_PSH, &framed[..5], true),
    ));
    f.push((
        ts(2, 2000),
        seg(c, 50002, s, 53, 3006, TCP_ACK | TCP_PSH, &framed[5..], true),
    ));
    write_pcap(dir, "tls.pcap", linktype::ETHERNET, &f)
}

/// http.pcap: HTTP requests on standard and other ports, origin- and absolute-form, a request
/// split over two segments; `feeds/urls.txt` lists the URLs.
fn http_fixture(dir: &Path) -> io::Result<()> {
    std::fs::write(
        dir.join("feeds/urls.txt"),
        "# c2watch fixture: payload and panel URLs\n\
         http://files.dl.example/payload.bin\n\
         evil-url.example/bad/path        # no scheme, as Maltrail lists them\n\
         http://203.0.113.99/gate.php?id=7  # with a query: only this query matches\n",
    )?;
    let req = |c: &str, s: &str, port: u16, at: i64, parts: &[&[u8]]| {
        let mut out = vec![(
            ts(at, 0),
            eth(
                true,
                &[],
                &ip(a(c), a(s), 6, &tcp(41000, port, 100, TCP_SYN, b"")),
            ),
        )];
        let mut seq = 101;
        for (i, p) in parts.iter().enumerate() {
            out.push((
                ts(at, 1000 * (i as u32 + 1)),
                eth(
                    true,
                    &[],
                    &ip(a(c), a(s), 6, &tcp(41000, port, seq, TCP_ACK | TCP_PSH, p)),
                ),
            ));
            seq += p.len() as u32;
        }
        out
    };
    let mut f = Vec::new();
    f.extend(req("10.0.40.1", "192.0.2.90", 8080, 0, &[b"GET /gate.php?id=1 HTTP/1.1\r\nHost: Panel.C2.Example:8080\r\nUser-Agent: ExampleRAT/2.0\r\n\r\n"]));
    f.extend(req(
        "10.0.40.2",
        "192.0.2.91",
        80,
        1,
        &[b"GET /payload.bin HTTP/1.1\r\nHost: files.dl.example\r\nAccept: */*\r\n\r\n"],
    ));
    f.extend(req(
        "10.0.40.3",
        "192.0.2.92",
        80,
        2,
        &[b"GET /bad/path?x=1 HTTP/1.0\r\nhost: EVIL-URL.example\r\n\r\n"],
    ));
    f.extend(req(
        "10.0.40.4",
        "203.0.113.99",
        80,
        3,
        &[b"GET /gate.php?id=8 HTTP/1.1\r\nHost: 203.0.113.99\r\n\r\n"],
    ));
    f.extend(req(
        "10.0.40.5",
        "203.0.113.99",
        80,
        4,
        &[b"GET /gate.php?id=7 HTTP/1.1\r\nHost: 203.0.113.99\r\n\r\n"],
    ));
    f.extend(req(
        "10.0.40.6",
        "192.0.2.93",
        3128,
        5,
        &[b"GET http://files.dl.example/payload.bin HTTP/1.1\r\nHost: files.dl.example\r\n\r\n"],
    ));
    f.extend(req(
        "10.0.40.7",
        "192.0.2.94",
        80,
        6,
        &[b"GET /x HTTP/1.1\r\nHo", b"st: a.c2.example\r\n\r\n"],
    ));
    f.extend(req(
        "10.0.40.8",
        "192.0.2.95",
        80,
        7,
        &[b"GET /payload.bin HTTP/1.1\r\nHost: notfiles.dl.example\r\n\r\n"],
    ));
    write_pcap(dir, "http.pcap", linktype::ETHERNET, &f)
}

/// quic.pcap: client Initial datagrams recorded from a real QUIC client (aioquic, by
/// `fixtures/tools/quic_initial.py` into `fixtures/quic/`): v1, v2, a benign name, and a
/// ClientHello spanning two datagrams that arrive in reverse order.
fn quic_fixture(dir: &Path) -> io::Result<()> {
    let recorded = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/quic");
    let read = |name: &str| std::fs::read(recorded.join(name));
    let dgram = |c: &str, port: u16, s: &str, sport: u16, data: &[u8]| {
        eth(true, &[], &ip(a(c), a(s), 17, &udp(port, sport, data)))
    };
    let f = vec![
        (
            ts(0, 0),
            dgram("10.0.50.1", 51000, "192.0.2.70", 443, &read("v1-c2.bin")?),
        ),
        (
            ts(1, 0),
            dgram("10.0.50.2", 51001, "192.0.2.70", 443, &read("v2-c2.bin")?),
        ),
        (
            ts(2, 0),
            dgram(
                "10.0.50.3",
                51002,
                "192.0.2.70",
                443,
                &read("v1-benign.bin")?,
            ),
        ),
        (
            ts(3, 0),
            dgram(
                "10.0.50.4",
                51003,
                "192.0.2.71",
                8443,
                &read("v1-split-c2-1.bin")?,
            ),
        ),
        (
            ts(3, 1000),
            dgram(
                "10.0.50.4",
                51003,
                "192.0.2.71",
                8443,
                &read("v1-split-c2-0.bin")?,
            ),
        ),
    ];
    write_pcap(dir, "quic.pcap", linktype::ETHERNET, &f)
}

/// The fixtures that each show one encapsulation or link type, combined in one pcapng.
pub const ENCAPSULATIONS: [&str; 16] = [
    "vlan.pcap",
    "mpls.pcap",
    "pppoe.pcap",
    "gre.pcap",
    "erspan.pcap",
    "vxlan.pcap",
    "geneve.pcap",
    "gtpu.pcap",
    "ipip.pcap",
    "ipv6.pcap",
    "fragments.pcap",
    "raw.pcap",
    "sll.pcap",
    "sll2.pcap",
    "null.pcap",
    "ipv4-linktype.pcap",
];

/// Copies every packet of the given pcap files into one pcapng, one interface per file (named
/// after it, with its link type), nanosecond timestamps.
fn combine_into_pcapng(dir: &Path, name: &str, files: &[&str]) -> io::Result<()> {
    let mut ng = PcapngWriter::new(create(dir, name)?)?;
    let mut interfaces = 0u32;
    for f in files {
        let path = dir.join(f).display().to_string();
        let mut cap = crate::capture::CaptureFile::open(&path, &Default::default())
            .map_err(|e| io::Error::other(e.to_string()))?;
        let mut iface = None;
        while let Some(p) = cap
            .next_packet()
            .map_err(|e| io::Error::other(e.to_string()))?
        {
            let id = match iface {
                Some(id) => id,
                None => {
                    ng.interface(p.linktype as u16, Some(f), 9)?;
                    interfaces += 1;
                    *iface.insert(interfaces - 1)
                }
            };
            ng.epb(id, 9, p.ts, p.data)?;
        }
    }
    io::Write::flush(&mut ng.into_inner())
}

fn outer_udp(src: &str, sport: u16, dst: &str, dport: u16, payload: &[u8]) -> Vec<u8> {
    ethernet(
        TAP_MAC_A,
        TAP_MAC_B,
        &[],
        ETH_IPV4,
        &ip(a(src), a(dst), 17, &udp(sport, dport, payload)),
    )
}
