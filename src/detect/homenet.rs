//! `home_net`: the address space of the monitored subscribers. The victim of a contact is the
//! endpoint inside it.

use crate::intel::net::{Cidr, mask_v4, mask_v6, parse_cidr, parse_ip};
use std::net::IpAddr;

/// RFC 1918, CGNAT shared space (RFC 6598) and IPv6 unique-local addresses.
pub const DEFAULT_HOME_NET: [&str; 5] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

/// The blocks as given, and the same as (network, mask) words per family: [`HomeNet::contains`]
/// runs for both endpoints of every packet when the replay hands flows to workers, so it
/// compares words instead of matching `IpAddr` per block.
#[derive(Clone, Debug)]
pub struct HomeNet {
    nets: Vec<Cidr>,
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
    /// One bit per first octet that some IPv4 block covers: most addresses on a link are
    /// outside `home_net`, and this rejects them without a loop.
    v4_octets: [u64; 4],
}

impl HomeNet {
    /// Parses CIDRs (a bare address means a /32 or /128).
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<HomeNet, String> {
        let mut nets = Vec::new();
        for item in items {
            let s = item.as_ref().trim();
            let net = parse_cidr(s).map(|(c, _)| c).or_else(|| {
                parse_ip(s).map(|ip| Cidr {
                    addr: ip,
                    len: if ip.is_ipv4() { 32 } else { 128 },
                })
            });
            match net {
                Some(n) => nets.push(n),
                None => {
                    return Err(format!(
                        "invalid home-net `{s}`: expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32"
                    ));
                }
            }
        }
        Ok(HomeNet::from_nets(nets))
    }

    fn from_nets(nets: Vec<Cidr>) -> HomeNet {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut v4_octets = [0u64; 4];
        for n in &nets {
            match n.addr {
                IpAddr::V4(a) => {
                    let (net, mask) = (mask_v4(u32::from(a), n.len), mask_v4(u32::MAX, n.len));
                    v4.push((net, mask));
                    let (first, mask8) = ((net >> 24) as u8, (mask >> 24) as u8);
                    for o in 0..=255u8 {
                        if o & mask8 == first {
                            v4_octets[usize::from(o >> 6)] |= 1 << (o & 63);
                        }
                    }
                }
                IpAddr::V6(a) => {
                    v6.push((mask_v6(u128::from(a), n.len), mask_v6(u128::MAX, n.len)))
                }
            }
        }
        HomeNet {
            nets,
            v4,
            v6,
            v4_octets,
        }
    }

    pub fn default_nets() -> HomeNet {
        HomeNet::parse(&DEFAULT_HOME_NET).unwrap_or(HomeNet::from_nets(Vec::new()))
    }

    /// Whether `ip` is inside; an IPv4-mapped IPv6 address counts as its IPv4 address.
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.contains_v4(u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(m) => self.contains_v4(u32::from(m)),
                None => {
                    let a = u128::from(a);
                    self.v6.iter().any(|&(net, mask)| a & mask == net)
                }
            },
        }
    }

    /// [`Self::contains`] for an IPv4 address as a number.
    #[inline]
    pub fn contains_v4(&self, a: u32) -> bool {
        let o = a >> 24;
        self.v4_octets[(o >> 6) as usize] & (1 << (o & 63)) != 0
            && self.v4.iter().any(|&(net, mask)| a & mask == net)
    }

    pub fn nets(&self) -> &[Cidr] {
        &self.nets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_custom() {
        let h = HomeNet::default_nets();
        for a in [
            "10.1.2.3",
            "172.31.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(h.contains(a.parse().unwrap()), "{a}");
        }
        for a in ["172.32.0.1", "100.128.0.1", "8.8.8.8", "2001:db8::1"] {
            assert!(!h.contains(a.parse().unwrap()), "{a}");
        }
        // Whole families, and a block that is not byte-aligned.
        let h = HomeNet::parse(&["0.0.0.0/0", "2001:db8:8000::/33"]).unwrap();
        for a in [
            "1.2.3.4",
            "255.255.255.255",
            "::ffff:8.8.8.8",
            "2001:db8:8000::1",
        ] {
            assert!(h.contains(a.parse().unwrap()), "{a}");
        }
        for a in ["2001:db8::1", "2001:db8:7fff::1", "::1"] {
            assert!(!h.contains(a.parse().unwrap()), "{a}");
        }
        let h = HomeNet::parse(&["::/0"]).unwrap();
        assert!(h.contains("2001:db8::1".parse().unwrap()));
        assert!(!h.contains("10.0.0.1".parse().unwrap()));
        let h = HomeNet::parse(&["192.0.2.0/24", "2001:db8::1"]).unwrap();
        assert!(h.contains("192.0.2.9".parse().unwrap()));
        assert!(h.contains("2001:db8::1".parse().unwrap()));
        assert!(
            HomeNet::parse(&["10.0.0.0/40"])
                .unwrap_err()
                .contains("10.0.0.0/40")
        );
    }
}
