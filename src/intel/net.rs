//! Canonical forms of network indicator values (feed-formats.md §0.3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP address as index key: IPv4-mapped IPv6 addresses become IPv4.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    // std rejects IPv4 octets with leading zeros, as §0.3 asks.
    let ip: IpAddr = s.parse().ok()?;
    Some(canonical(ip))
}

pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// A CIDR block with host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub addr: IpAddr,
    pub len: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => mask_v4(u32::from(a), self.len) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => mask_v6(u128::from(a), self.len) == u128::from(n),
            _ => false,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[inline]
pub fn mask_v4(a: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        a & (u32::MAX << (32 - u32::from(len.min(32))))
    }
}

#[inline]
pub fn mask_v6(a: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        a & (u128::MAX << (128 - u32::from(len.min(128))))
    }
}

/// Parses `addr/len`. Returns the block and whether host bits had to be cleared.
pub fn parse_cidr(s: &str) -> Option<(Cidr, bool)> {
    let (a, l) = s.split_once('/')?;
    if l.is_empty() || l.len() > 3 || !l.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let len: u8 = l.parse().ok()?;
    let raw: IpAddr = a.parse().ok()?;
    // An IPv4-mapped block (::ffff:a.b.c.d/len, len >= 96) is the IPv4 block.
    let (addr, len) = match raw {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() && len >= 96 => (canonical(raw), len - 96),
        other => (other, len),
    };
    let cidr = match addr {
        IpAddr::V4(v4) if len <= 32 => {
            let m = mask_v4(u32::from(v4), len);
            (
                Cidr {
                    addr: IpAddr::V4(Ipv4Addr::from(m)),
                    len,
                },
                m != u32::from(v4),
            )
        }
        IpAddr::V6(v6) if len <= 128 => {
            let m = mask_v6(u128::from(v6), len);
            (
                Cidr {
                    addr: IpAddr::V6(Ipv6Addr::from(m)),
                    len,
                },
                m != u128::from(v6),
            )
        }
        _ => return None,
    };
    Some(cidr)
}

/// Parses `a.b.c.d:port` or `[v6]:port`.
pub fn parse_ip_port(s: &str) -> Option<(IpAddr, u16)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        (h, p)
    } else {
        let (h, p) = s.rsplit_once(':')?;
        if h.contains(':') {
            return None; // bare IPv6 with a port needs brackets
        }
        (h, p)
    };
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port.parse().ok()?;
    Some((parse_ip(host)?, port))
}

/// Converts an IPv4 range `a.b.c.d-e.f.g.h` into the minimal list of CIDR blocks.
pub fn parse_v4_range(s: &str) -> Option<Vec<Cidr>> {
    let (a, b) = s.split_once('-')?;
    let lo = u32::from(a.trim().parse::<Ipv4Addr>().ok()?);
    let hi = u32::from(b.trim().parse::<Ipv4Addr>().ok()?);
    if lo > hi {
        return None;
    }
    let mut out = Vec::new();
    let mut cur = u64::from(lo);
    let end = u64::from(hi);
    while cur <= end {
        // Largest block aligned at `cur` that stays within the range.
        let mut size: u64 = if cur == 0 {
            1 << 32
        } else {
            1 << cur.trailing_zeros().min(32)
        };
        while cur + size - 1 > end {
            size >>= 1;
        }
        let len = 32 - size.trailing_zeros() as u8;
        out.push(Cidr {
            addr: IpAddr::V4(Ipv4Addr::from(cur as u32)),
            len,
        });
        cur += size;
    }
    Some(out)
}

/// The table for prefix length `len` in a list kept longest prefix first (the order a
/// longest-match lookup probes), created empty when absent.
pub fn prefix_table<T: Default>(tables: &mut Vec<(u8, T)>, len: u8) -> &mut T {
    let pos = match tables.iter().position(|(l, _)| *l <= len) {
        Some(p) if tables[p].0 == len => p,
        Some(p) => {
            tables.insert(p, (len, T::default()));
            p
        }
        None => {
            tables.push((len, T::default()));
            tables.len() - 1
        }
    };
    &mut tables[pos].1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse_ip("203.0.113.10"),
            Some("203.0.113.10".parse().unwrap())
        );
        assert_eq!(parse_ip("010.1.2.3"), None);
        assert_eq!(
            parse_ip("::ffff:198.51.100.7"),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(
            parse_ip("2001:DB8::1"),
            Some("2001:db8::1".parse().unwrap())
        );
    }

    #[test]
    fn cidrs() {
        let (c, masked) = parse_cidr("198.51.100.7/24").unwrap();
        assert_eq!(
            (c.to_string(), masked),
            ("198.51.100.0/24".to_string(), true)
        );
        assert!(c.contains("198.51.100.200".parse().unwrap()));
        assert!(!c.contains("198.51.101.1".parse().unwrap()));
        assert_eq!(parse_cidr("2001:db8:4::/48").unwrap().0.len, 48);
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("10.0.0.0/").is_none());
        assert_eq!(parse_cidr("0.0.0.0/0").unwrap().0.len, 0);
    }

    #[test]
    fn ip_ports() {
        assert_eq!(
            parse_ip_port("203.0.113.11:4443"),
            Some(("203.0.113.11".parse().unwrap(), 4443))
        );
        assert_eq!(
            parse_ip_port("[2001:db8::7]:80"),
            Some(("2001:db8::7".parse().unwrap(), 80))
        );
        assert_eq!(parse_ip_port("2001:db8::7"), None);
        assert_eq!(parse_ip_port("203.0.113.11:70000"), None);
    }

    #[test]
    fn ranges() {
        let r: Vec<String> = parse_v4_range("192.0.2.0-192.0.2.255")
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(r, ["192.0.2.0/24"]);
        let r: Vec<String> = parse_v4_range("192.0.2.1-192.0.2.6")
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            r,
            [
                "192.0.2.1/32",
                "192.0.2.2/31",
                "192.0.2.4/31",
                "192.0.2.6/32"
            ]
        );
        assert_eq!(parse_v4_range("0.0.0.0-255.255.255.255").unwrap()[0].len, 0);
    }
}
