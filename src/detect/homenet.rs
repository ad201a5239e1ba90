//! `home_net`: the address space of the monitored subscribers. The victim of a contact is the
//! endpoint inside it.

use crate::intel::net::{Cidr, parse_cidr, parse_ip};
use std::net::IpAddr;

/// RFC 1918, CGNAT shared space (RFC 6598) and IPv6 unique-local addresses.
pub const DEFAULT_HOME_NET: [&str; 5] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

#[derive(Clone, Debug)]
pub struct HomeNet {
    nets: Vec<Cidr>,
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
        Ok(HomeNet { nets })
    }

    pub fn default_nets() -> HomeNet {
        HomeNet::parse(&DEFAULT_HOME_NET).unwrap_or(HomeNet { nets: Vec::new() })
    }

    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = crate::intel::net::canonical(ip);
        self.nets.iter().any(|n| n.contains(ip))
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
