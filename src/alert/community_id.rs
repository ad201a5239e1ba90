//! Community ID v1 flow hashing (corelight/community-id-spec): the same string for both
//! directions of a flow, so a SIEM can join c2watch records with Zeek's and Suricata's.

use sha1::{Digest, Sha1};
use std::net::IpAddr;

/// ICMP request/reply counterparts; types not listed are "one-way" (errors and the like).
fn icmp_counterpart(v6: bool, t: u8) -> Option<u8> {
    let pairs: &[(u8, u8)] = if v6 {
        &[
            (128, 129),
            (130, 131),
            (133, 134),
            (135, 136),
            (139, 140),
            (144, 145),
        ]
    } else {
        &[(8, 0), (13, 14), (15, 16), (10, 9), (17, 18)]
    };
    pairs.iter().find_map(|&(a, b)| {
        if a == t {
            Some(b)
        } else if b == t {
            Some(a)
        } else {
            None
        }
    })
}

/// Community ID of a packet (or flow, from its first packet) with seed 0. `ports` are the
/// transport ports, or for ICMP the type and code.
pub fn community_id(src: IpAddr, dst: IpAddr, proto: u8, ports: Option<(u16, u16)>) -> String {
    let (mut sa, mut da) = (addr_bytes(src), addr_bytes(dst));
    let mut ports = ports;
    let mut one_way = false;
    if let (1 | 58, Some((t, c))) = (proto, ports) {
        match icmp_counterpart(proto == 58, t as u8) {
            Some(counter) => ports = Some((t, u16::from(counter))),
            None => {
                ports = Some((t, c));
                one_way = true;
            }
        }
    }
    let (sp, dp) = ports.unwrap_or((0, 0));
    let ordered = sa < da || (sa == da && sp <= dp);
    let (sp, dp) = if one_way || ordered {
        (sp, dp)
    } else {
        std::mem::swap(&mut sa, &mut da);
        (dp, sp)
    };
    let mut h = Sha1::new();
    h.update(0u16.to_be_bytes());
    h.update(&sa);
    h.update(&da);
    h.update([proto, 0]);
    if ports.is_some() && matches!(proto, 1 | 6 | 17 | 58 | 132) {
        h.update(sp.to_be_bytes());
        h.update(dp.to_be_bytes());
    }
    format!("1:{}", base64(&h.finalize()))
}

fn addr_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors from the specification's baseline (seed 0).
    #[test]
    fn spec_baseline() {
        type Case<'a> = (u8, &'a str, &'a str, Option<(u16, u16)>, &'a str);
        let cases: &[Case] = &[
            (
                6,
                "128.232.110.120",
                "66.35.250.204",
                Some((34855, 80)),
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                6,
                "66.35.250.204",
                "128.232.110.120",
                Some((80, 34855)),
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                17,
                "192.168.1.52",
                "8.8.8.8",
                Some((54585, 53)),
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
            (
                6,
                "2001:470:e5bf:dead:4957:2174:e82c:4887",
                "2607:f8b0:400c:c03::1a",
                Some((63943, 25)),
                "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            ),
            (
                132,
                "192.168.170.8",
                "192.168.170.56",
                Some((7, 7)),
                "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            ),
            (
                1,
                "192.168.0.89",
                "192.168.0.1",
                Some((8, 0)),
                "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
            ),
            (
                1,
                "192.168.0.1",
                "192.168.0.89",
                Some((0, 8)),
                "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
            ),
            (
                1,
                "10.0.0.1",
                "10.0.0.2",
                Some((11, 0)),
                "1:YHxtAirCG//0OzkcVAukqKQN9xM=",
            ),
            (
                58,
                "fe80::200:86ff:fe05:80da",
                "fe80::260:97ff:fe07:69ea",
                Some((135, 136)),
                "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
            ),
            (
                58,
                "fe80::260:97ff:fe07:69ea",
                "fe80::200:86ff:fe05:80da",
                Some((135, 136)),
                "1:zavyT/cezQr1fmImYCwYnMXbgck=",
            ),
            (
                58,
                "3ffe:501:410:0:2c0:dfff:fe47:33e",
                "3ffe:507:0:1:200:86ff:fe05:80da",
                Some((1, 4)),
                "1:hLZd0XGWojozrvxqE0dWB1iM6R0=",
            ),
            (
                58,
                "fe80::200:86ff:fe05:80da",
                "ff02::2",
                Some((133, 134)),
                "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=",
            ),
            (
                46,
                "10.1.12.1",
                "10.1.12.2",
                None,
                "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=",
            ),
            (
                46,
                "10.1.12.2",
                "10.1.12.1",
                None,
                "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=",
            ),
        ];
        for (proto, s, d, ports, want) in cases {
            assert_eq!(
                community_id(s.parse().unwrap(), d.parse().unwrap(), *proto, *ports),
                *want,
                "{proto} {s} {d}"
            );
        }
    }

    #[test]
    fn base64_padding() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
