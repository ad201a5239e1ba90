//! RADIUS accounting (RFC 2866) as seen on the wire: the Accounting-Requests a NAS (BRAS,
//! BNG, PGW) sends when a subscriber session starts, is updated and stops. They say which
//! address or prefix a subscriber holds, so c2watch can name the customer behind a victim
//! address without an export of the leases.
//!
//! Read: Acct-Status-Type, User-Name, Framed-IP-Address, Framed-IPv6-Prefix,
//! Delegated-IPv6-Prefix (RFC 4818), Framed-IPv6-Address (RFC 6911), Calling-Station-Id,
//! Acct-Session-Id, NAS-IP-Address, NAS-Identifier. Nothing is verified against a shared
//! secret: the sensor only listens.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The ports accounting is sent to (1813, and 1646 from before RFC 2866).
pub const PORTS: [u16; 2] = [1813, 1646];

mod field {
    pub const CODE: usize = 0;
    pub const LENGTH: std::ops::Range<usize> = 2..4;
    /// Code, identifier, length, authenticator.
    pub const HEADER: usize = 20;
}

const ACCOUNTING_REQUEST: u8 = 4;
/// Most addresses or prefixes one message assigns (more are counted as malformed).
pub const MAX_NETWORKS: usize = 8;

mod attr {
    pub const USER_NAME: u8 = 1;
    pub const NAS_IP_ADDRESS: u8 = 4;
    pub const FRAMED_IP_ADDRESS: u8 = 8;
    pub const CALLING_STATION_ID: u8 = 31;
    pub const NAS_IDENTIFIER: u8 = 32;
    pub const ACCT_STATUS_TYPE: u8 = 40;
    pub const ACCT_SESSION_ID: u8 = 44;
    pub const NAS_IPV6_ADDRESS: u8 = 95;
    pub const FRAMED_IPV6_PREFIX: u8 = 97;
    pub const DELEGATED_IPV6_PREFIX: u8 = 123;
    pub const FRAMED_IPV6_ADDRESS: u8 = 168;
}

/// Acct-Status-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Start,
    Stop,
    Interim,
    /// Accounting-On / Accounting-Off: the NAS (re)started or stops; every session it held
    /// has ended.
    NasRestart,
    Other(u32),
}

impl Status {
    fn of(v: u32) -> Status {
        match v {
            1 => Status::Start,
            2 => Status::Stop,
            3 => Status::Interim,
            7 | 8 => Status::NasRestart,
            o => Status::Other(o),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Start => "start",
            Status::Stop => "stop",
            Status::Interim => "interim",
            Status::NasRestart => "nas-restart",
            Status::Other(_) => "other",
        }
    }
}

/// One Accounting-Request, owned (RADIUS messages are rare next to the traffic around them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accounting {
    pub status: Status,
    pub user: Option<String>,
    /// Addresses and prefixes assigned: Framed-IP-Address (/32), Framed-IPv6-Address (/128),
    /// Framed-IPv6-Prefix, Delegated-IPv6-Prefix.
    pub networks: Vec<(IpAddr, u8)>,
    pub calling_station: Option<String>,
    pub session: Option<String>,
    /// NAS-IP-Address or NAS-IPv6-Address, else NAS-Identifier.
    pub nas: Option<String>,
}

/// Why a message on an accounting port was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    Truncated,
    BadLength,
    BadAttribute,
    TooManyNetworks,
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v)
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// An IPv6 prefix attribute's value: reserved, length, then the prefix's significant bytes.
fn ipv6_prefix(v: &[u8]) -> Option<(IpAddr, u8)> {
    let (&len, bytes) = v.get(1..)?.split_first()?;
    if len > 128 || bytes.len() > 16 || bytes.len() * 8 < usize::from(len) {
        return None;
    }
    let mut a = [0u8; 16];
    a[..bytes.len()].copy_from_slice(bytes);
    let bits = u128::from_be_bytes(a);
    let masked = if len == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - u32::from(len)))
    };
    Some((IpAddr::V6(Ipv6Addr::from(masked)), len))
}

/// Reads an Accounting-Request; `Ok(None)` for any other RADIUS code (responses, for one).
pub fn parse(b: &[u8]) -> Result<Option<Accounting>, Malformed> {
    if b.len() < field::HEADER {
        return Err(Malformed::Truncated);
    }
    let len = usize::from(u16::from_be_bytes([
        b[field::LENGTH.start],
        b[field::LENGTH.start + 1],
    ]));
    if !(field::HEADER..=4096).contains(&len) {
        return Err(Malformed::BadLength);
    }
    // Octets past `length` are padding (RFC 2865 §3); fewer is a truncated message.
    let b = b.get(..len).ok_or(Malformed::Truncated)?;
    if b[field::CODE] != ACCOUNTING_REQUEST {
        return Ok(None);
    }
    let mut a = Accounting {
        status: Status::Other(0),
        user: None,
        networks: Vec::new(),
        calling_station: None,
        session: None,
        nas: None,
    };
    let mut nas_id = None;
    let mut status = None;
    let mut rest = &b[field::HEADER..];
    while !rest.is_empty() {
        let (&t, after) = rest.split_first().ok_or(Malformed::BadAttribute)?;
        let l = usize::from(*after.first().ok_or(Malformed::BadAttribute)?);
        if l < 2 || l > rest.len() {
            return Err(Malformed::BadAttribute);
        }
        let v = &rest[2..l];
        rest = &rest[l..];
        let mut network = None;
        match t {
            attr::USER_NAME => a.user = Some(text(v)),
            attr::CALLING_STATION_ID => a.calling_station = Some(text(v)),
            attr::ACCT_SESSION_ID => a.session = Some(text(v)),
            attr::NAS_IDENTIFIER => nas_id = Some(text(v)),
            attr::ACCT_STATUS_TYPE => {
                let n: [u8; 4] = v.try_into().map_err(|_| Malformed::BadAttribute)?;
                status = Some(Status::of(u32::from_be_bytes(n)));
            }
            attr::FRAMED_IP_ADDRESS => {
                let n: [u8; 4] = v.try_into().map_err(|_| Malformed::BadAttribute)?;
                let ip = Ipv4Addr::from(n);
                // 255.255.255.254 and .255: "the NAS picks", not an address.
                if !ip.is_broadcast() && ip != Ipv4Addr::new(255, 255, 255, 254) {
                    network = Some((IpAddr::V4(ip), 32));
                }
            }
            attr::FRAMED_IPV6_ADDRESS => {
                let n: [u8; 16] = v.try_into().map_err(|_| Malformed::BadAttribute)?;
                network = Some((IpAddr::V6(Ipv6Addr::from(n)), 128));
            }
            attr::FRAMED_IPV6_PREFIX | attr::DELEGATED_IPV6_PREFIX => {
                network = Some(ipv6_prefix(v).ok_or(Malformed::BadAttribute)?);
            }
            attr::NAS_IP_ADDRESS => {
                let n: [u8; 4] = v.try_into().map_err(|_| Malformed::BadAttribute)?;
                a.nas = Some(Ipv4Addr::from(n).to_string());
            }
            attr::NAS_IPV6_ADDRESS => {
                let n: [u8; 16] = v.try_into().map_err(|_| Malformed::BadAttribute)?;
                a.nas = Some(Ipv6Addr::from(n).to_string());
            }
            _ => {}
        }
        if let Some(n) = network {
            if a.networks.len() == MAX_NETWORKS {
                return Err(Malformed::TooManyNetworks);
            }
            if !a.networks.contains(&n) {
                a.networks.push(n);
            }
        }
    }
    a.status = status.ok_or(Malformed::BadAttribute)?;
    if a.nas.is_none() {
        a.nas = nas_id;
    }
    Ok(Some(a))
}

/// Builds an Accounting-Request (fixtures and tests): `attrs` as (type, value); the
/// authenticator is MD5(code, id, length, 16 zero octets, attributes, secret), RFC 2866 §3.
pub fn request(id: u8, attrs: &[(u8, Vec<u8>)], secret: &[u8]) -> Vec<u8> {
    use md5::Digest;
    let mut body = Vec::new();
    for (t, v) in attrs {
        body.push(*t);
        body.push((v.len() + 2).min(255) as u8);
        body.extend_from_slice(v);
    }
    let len = (field::HEADER + body.len()) as u16;
    let mut m = vec![ACCOUNTING_REQUEST, id];
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(&[0u8; 16]);
    m.extend_from_slice(&body);
    let mut h = md5::Md5::new();
    h.update(&m);
    h.update(secret);
    let auth = h.finalize();
    m[4..20].copy_from_slice(&auth);
    m
}

/// Attribute values for [`request`].
pub mod build {
    use super::attr;

    pub fn status(s: u32) -> (u8, Vec<u8>) {
        (attr::ACCT_STATUS_TYPE, s.to_be_bytes().to_vec())
    }
    pub fn user(u: &str) -> (u8, Vec<u8>) {
        (attr::USER_NAME, u.as_bytes().to_vec())
    }
    pub fn calling(c: &str) -> (u8, Vec<u8>) {
        (attr::CALLING_STATION_ID, c.as_bytes().to_vec())
    }
    pub fn session(s: &str) -> (u8, Vec<u8>) {
        (attr::ACCT_SESSION_ID, s.as_bytes().to_vec())
    }
    pub fn framed_ip(a: [u8; 4]) -> (u8, Vec<u8>) {
        (attr::FRAMED_IP_ADDRESS, a.to_vec())
    }
    pub fn nas_ip(a: [u8; 4]) -> (u8, Vec<u8>) {
        (attr::NAS_IP_ADDRESS, a.to_vec())
    }
    /// Framed-IPv6-Prefix (`delegated` false) or Delegated-IPv6-Prefix.
    pub fn ipv6_prefix(delegated: bool, prefix: [u8; 16], len: u8) -> (u8, Vec<u8>) {
        let t = if delegated {
            attr::DELEGATED_IPV6_PREFIX
        } else {
            attr::FRAMED_IPV6_PREFIX
        };
        let mut v = vec![0, len];
        v.extend_from_slice(&prefix[..usize::from(len).div_ceil(8)]);
        (t, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_start_with_every_assignment() {
        let mut p6 = [0u8; 16];
        p6[..7].copy_from_slice(&[0xfd, 0, 0, 0x0a, 0, 0x0b, 0x01]);
        let m = request(
            7,
            &[
                build::status(1),
                build::user("alice@isp.example"),
                build::framed_ip([100, 64, 5, 10]),
                build::ipv6_prefix(true, p6, 56),
                build::calling("02-00-00-00-05-0a"),
                build::session("s-1"),
                build::nas_ip([192, 0, 2, 1]),
                (26, vec![0, 0, 0, 9, 1, 3, b'x']),
            ],
            b"testing123",
        );
        let a = parse(&m).expect("valid").expect("a request");
        assert_eq!(a.status, Status::Start);
        assert_eq!(a.user.as_deref(), Some("alice@isp.example"));
        assert_eq!(
            a.networks,
            [
                ("100.64.5.10".parse().expect("ip"), 32),
                ("fd00:a:b:100::".parse().expect("ip"), 56)
            ]
        );
        assert_eq!(a.calling_station.as_deref(), Some("02-00-00-00-05-0a"));
        assert_eq!(
            (a.session.as_deref(), a.nas.as_deref()),
            (Some("s-1"), Some("192.0.2.1"))
        );
    }

    #[test]
    fn responses_are_skipped_and_broken_messages_named() {
        let mut m = request(1, &[build::status(2)], b"s");
        assert_eq!(
            parse(&m).map(|a| a.map(|a| a.status)),
            Ok(Some(Status::Stop))
        );
        m[0] = 5;
        assert_eq!(parse(&m), Ok(None), "an Accounting-Response");
        assert_eq!(parse(&m[..10]), Err(Malformed::Truncated));
        let mut long = request(1, &[build::status(1)], b"s");
        long[3] = 200;
        assert_eq!(parse(&long), Err(Malformed::Truncated));
        let mut bad = request(1, &[build::status(1), build::user("u")], b"s");
        let at = bad.len() - 2;
        bad[at] = 0; // an attribute length of 0
        assert_eq!(parse(&bad), Err(Malformed::BadAttribute));
        let no_status = request(1, &[build::user("u")], b"s");
        assert_eq!(parse(&no_status), Err(Malformed::BadAttribute));
        // Padding after `length` is ignored.
        let mut padded = request(1, &[build::status(3)], b"s");
        padded.extend_from_slice(&[0; 5]);
        assert!(parse(&padded).is_ok_and(|a| a.is_some()));
        let prefix = (97u8, vec![0, 129, 0]);
        assert_eq!(
            parse(&request(1, &[build::status(1), prefix], b"s")),
            Err(Malformed::BadAttribute)
        );
    }

    #[test]
    fn any_bytes_parse_without_panicking() {
        let base = request(3, &[build::status(1), build::user("x")], b"s");
        for cut in 0..base.len() {
            let _ = parse(&base[..cut]);
        }
        for i in 0..base.len() {
            for v in [0u8, 1, 2, 0x7f, 0xff] {
                let mut m = base.clone();
                m[i] = v;
                let _ = parse(&m);
            }
        }
    }
}
