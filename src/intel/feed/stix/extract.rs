//! From a parsed STIX pattern to the indicator keys it means, for the subset a network
//! sensor can match exactly (feed-formats.md §8.5). Anything else is refused whole.

use super::pattern::{Comparison, Literal, Pattern};
use crate::intel::name::{canonical_domain, canonical_hex, canonical_url};
use crate::intel::net::{parse_cidr, parse_ip};
use crate::intel::set::{HashKind, Key};

/// Why a valid pattern gives no indicator.
#[derive(Debug, PartialEq)]
pub enum Refused {
    /// Only host-side objects (files, processes, ...): invisible on the wire.
    NonNetwork,
    /// Valid STIX that c2watch cannot evaluate exactly.
    Unsupported(String),
    /// A supported shape whose value does not parse (`ipv4-addr:value = 'x'`).
    BadValue(String),
}

impl Refused {
    pub fn reason(&self) -> &'static str {
        match self {
            Refused::NonNetwork => "non-network",
            Refused::Unsupported(_) => "unsupported-pattern",
            Refused::BadValue(_) => "bad-value",
        }
    }
    pub fn detail(&self) -> String {
        match self {
            Refused::NonNetwork => "only host objects".into(),
            Refused::Unsupported(d) | Refused::BadValue(d) => d.clone(),
        }
    }
}

/// The largest disjunctive normal form expanded from one observation.
const MAX_TERMS: usize = 1024;

const NETWORK_OBJECTS: [&str; 6] = [
    "ipv4-addr",
    "ipv6-addr",
    "domain-name",
    "url",
    "network-traffic",
    "x509-certificate",
];

type Test<'a> = (&'a str, &'a str, &'a [Literal]);

/// Every key the pattern means (a union), with the value as listed.
pub fn keys(p: &Pattern) -> Result<Vec<(Key, String)>, Refused> {
    let mut out = Vec::new();
    let mut saw_host_only = false;
    observations(p, &mut |c| {
        for conj in dnf(c)? {
            if conj.iter().any(|(path, _, _)| !is_network(path)) {
                // A conjunct on a host object can never hold on the wire: this term cannot
                // match, and dropping it only narrows the union.
                saw_host_only = true;
                continue;
            }
            out.extend(conjunction(&conj)?);
        }
        Ok(())
    })?;
    if out.is_empty() {
        return Err(if saw_host_only {
            Refused::NonNetwork
        } else {
            Refused::Unsupported("no matchable term".into())
        });
    }
    Ok(out)
}

fn is_network(path: &str) -> bool {
    path.split_once(':')
        .is_some_and(|(obj, _)| NETWORK_OBJECTS.contains(&obj))
}

fn observations<'a>(
    p: &'a Pattern,
    f: &mut impl FnMut(&'a Comparison) -> Result<(), Refused>,
) -> Result<(), Refused> {
    match p {
        Pattern::Observation(c) => f(c),
        Pattern::Or(parts) => parts.iter().try_for_each(|p| observations(p, f)),
        Pattern::Correlated => Err(Refused::Unsupported(
            "observations joined by AND or FOLLOWEDBY need correlation over time".into(),
        )),
        Pattern::Qualified => Err(Refused::Unsupported(
            "WITHIN, REPEATS and START/STOP qualifiers are not evaluated".into(),
        )),
    }
}

/// The comparison as an OR of ANDs of simple tests.
fn dnf(c: &Comparison) -> Result<Vec<Vec<Test<'_>>>, Refused> {
    Ok(match c {
        Comparison::Test {
            negated: true,
            path,
            ..
        } => return Err(Refused::Unsupported(format!("NOT on {path}"))),
        Comparison::Test {
            path, op, value, ..
        } => vec![vec![(path.as_str(), op.as_str(), value.as_slice())]],
        Comparison::Exists(p) => return Err(Refused::Unsupported(format!("EXISTS {p}"))),
        Comparison::Or(parts) => {
            let mut all = Vec::new();
            for p in parts {
                all.extend(dnf(p)?);
            }
            all
        }
        Comparison::And(parts) => {
            let mut acc: Vec<Vec<Test<'_>>> = vec![Vec::new()];
            for p in parts {
                let terms = dnf(p)?;
                if acc.len() * terms.len() > MAX_TERMS {
                    return Err(Refused::Unsupported("pattern expands too far".into()));
                }
                acc = acc
                    .iter()
                    .flat_map(|a| {
                        terms.iter().map(move |t| {
                            let mut v = a.clone();
                            v.extend(t.iter().copied());
                            v
                        })
                    })
                    .collect();
            }
            acc
        }
    })
}

/// String values of `=`/`==` (one) or `IN` (several).
fn strings<'a>(op: &str, value: &'a [Literal], path: &str) -> Result<Vec<&'a str>, Refused> {
    if !matches!(op, "=" | "==" | "IN" | "ISSUBSET") {
        return Err(Refused::Unsupported(format!("`{op}` on {path}")));
    }
    value
        .iter()
        .map(|l| match l {
            Literal::Str(s) => Ok(s.as_str()),
            _ => Err(Refused::Unsupported(format!("non-string value for {path}"))),
        })
        .collect()
}

fn address(v: &str) -> Result<Key, Refused> {
    parse_cidr(v)
        .map(|(c, _)| Key::Net(c))
        .or_else(|| parse_ip(v).map(Key::ip))
        .ok_or_else(|| Refused::BadValue(format!("`{v}` is not an address or CIDR")))
}

fn hash_kind(path: &str) -> Option<(HashKind, usize)> {
    let algo = path
        .strip_prefix("x509-certificate:hashes.")?
        .trim_matches('\'')
        .to_ascii_uppercase()
        .replace('-', "");
    match algo.as_str() {
        "SHA1" => Some((HashKind::CertSha1, 40)),
        "SHA256" => Some((HashKind::CertSha256, 64)),
        _ => None,
    }
}

/// One AND term: a single test, or the destination shape (value + port + hints).
fn conjunction(tests: &[Test<'_>]) -> Result<Vec<(Key, String)>, Refused> {
    if let [(path, op, value)] = tests
        && *path != "network-traffic:dst_ref.value"
    {
        return single(path, op, value);
    }
    let (mut dst, mut port) = (None, None);
    for &(path, op, value) in tests {
        match path {
            "network-traffic:dst_ref.value" if dst.is_none() => dst = Some((op, value)),
            "network-traffic:dst_port" if port.is_none() && matches!(op, "=" | "==") => {
                port = Some(
                    match value {
                        [Literal::Int(p)] => u16::try_from(*p).ok(),
                        [Literal::Str(s)] => s.parse().ok(),
                        _ => None,
                    }
                    .ok_or_else(|| Refused::BadValue(format!("bad port in {path}")))?,
                );
            }
            "network-traffic:dst_ref.type" | "network-traffic:protocols[*]"
                if matches!(op, "=" | "==") => {}
            _ => {
                return Err(Refused::Unsupported(format!(
                    "`{path} {op}` inside an AND (only a destination with its port is matched)"
                )));
            }
        }
    }
    let Some((op, value)) = dst else {
        return Err(Refused::Unsupported(
            "an AND without a destination value".into(),
        ));
    };
    let path = "network-traffic:dst_ref.value";
    let mut out = Vec::new();
    for v in strings(op, value, path)? {
        match (parse_ip(v), port) {
            (Some(ip), Some(p)) => {
                let listed = if ip.is_ipv6() {
                    format!("[{ip}]:{p}")
                } else {
                    format!("{ip}:{p}")
                };
                out.push((Key::IpPort(ip, p), listed));
            }
            (Some(ip), None) => out.push((Key::ip(ip), v.to_string())),
            (None, None) => out.push((domain(v)?, v.to_string())),
            (None, Some(_)) => {
                return Err(Refused::Unsupported(
                    "a name with a port (no name:port indicator; the name alone would widen it)"
                        .into(),
                ));
            }
        }
    }
    Ok(out)
}

fn domain(v: &str) -> Result<Key, Refused> {
    canonical_domain(v)
        .map(Key::Domain)
        .ok_or_else(|| Refused::BadValue(format!("`{v}` is not a domain name")))
}

fn single(path: &str, op: &str, value: &[Literal]) -> Result<Vec<(Key, String)>, Refused> {
    let each = |f: &dyn Fn(&str) -> Result<Key, Refused>| -> Result<Vec<(Key, String)>, Refused> {
        strings(op, value, path)?
            .into_iter()
            .map(|v| Ok((f(v)?, v.to_string())))
            .collect()
    };
    match path {
        "ipv4-addr:value" | "ipv6-addr:value" | "network-traffic:src_ref.value"
            if op != "ISSUBSET" || path != "network-traffic:src_ref.value" =>
        {
            each(&address)
        }
        "domain-name:value" if op == "LIKE" => match value {
            [Literal::Str(s)] if s.starts_with("%.") && !s[2..].contains(['%', '_']) => {
                let name = &s[2..];
                let d = canonical_domain(name)
                    .ok_or_else(|| Refused::BadValue(format!("`{name}` is not a domain name")))?;
                Ok(vec![(Key::DomainChildren(d), format!("*.{name}"))])
            }
            _ => Err(Refused::Unsupported("LIKE other than '%.suffix'".into())),
        },
        "domain-name:value" if op != "ISSUBSET" => each(&domain),
        "url:value" if op != "ISSUBSET" => each(&|v| {
            canonical_url(v)
                .map(Key::Url)
                .ok_or_else(|| Refused::BadValue(format!("`{v}` is not a URL")))
        }),
        p if op != "ISSUBSET" => match hash_kind(p) {
            Some((kind, len)) => each(&|v| {
                canonical_hex(v, len)
                    .map(|h| Key::Hash(kind, h))
                    .ok_or_else(|| Refused::BadValue(format!("`{v}` is not {len} hex digits")))
            }),
            None => Err(Refused::Unsupported(format!("object path {p}"))),
        },
        p => Err(Refused::Unsupported(format!("`{op}` on {p}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::pattern::parse;
    use super::*;

    fn k(p: &str) -> Result<Vec<String>, &'static str> {
        keys(&parse(p).unwrap())
            .map(|v| v.into_iter().map(|(_, l)| l).collect())
            .map_err(|e| e.reason())
    }

    #[test]
    fn the_validated_examples() {
        assert_eq!(
            k("[ipv4-addr:value = '203.0.113.10']"),
            Ok(vec!["203.0.113.10".into()])
        );
        assert_eq!(
            k("[ipv4-addr:value = '198.51.100.0/24']"),
            Ok(vec!["198.51.100.0/24".into()])
        );
        assert_eq!(
            k("[ipv6-addr:value ISSUBSET '2001:db8:4::/48']"),
            Ok(vec!["2001:db8:4::/48".into()])
        );
        assert_eq!(
            k(
                "[domain-name:value = 'c2.example'] OR [url:value = 'http://198.51.100.23/gate.php']"
            ),
            Ok(vec![
                "c2.example".into(),
                "http://198.51.100.23/gate.php".into()
            ])
        );
        assert_eq!(
            k(
                "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.10' AND network-traffic:dst_port = 8443]"
            ),
            Ok(vec!["203.0.113.10:8443".into()])
        );
        assert_eq!(
            k("[x509-certificate:hashes.'SHA-1' = '530194fadf6c9a330db40f42610f9dee6fa9bc32']"),
            Ok(vec!["530194fadf6c9a330db40f42610f9dee6fa9bc32".into()])
        );
        assert_eq!(
            k("[domain-name:value IN ('a.c2.example', 'b.c2.example')]"),
            Ok(vec!["a.c2.example".into(), "b.c2.example".into()])
        );
        assert_eq!(
            k("[domain-name:value LIKE '%.dyn.example']"),
            Ok(vec!["*.dyn.example".into()])
        );
        assert_eq!(
            k(
                "[file:hashes.'SHA-256' = 'c1ca27666675be4490214fbcf5d00cc02737aba523c249e91299941fcf30c83c']"
            ),
            Err("non-network")
        );
        assert_eq!(
            k(
                "[ipv4-addr:value = '203.0.113.10'] FOLLOWEDBY [domain-name:value = 'c2.example'] WITHIN 300 SECONDS"
            ),
            Err("unsupported-pattern")
        );
        assert_eq!(
            k("[ipv4-addr:value != '203.0.113.10']"),
            Err("unsupported-pattern")
        );
    }

    #[test]
    fn never_widens_a_conjunction() {
        // A name with a port has no exact indicator: refuse rather than match the name alone.
        assert_eq!(
            k("[network-traffic:dst_ref.value = 'c2.example' AND network-traffic:dst_port = 443]"),
            Err("unsupported-pattern")
        );
        assert_eq!(
            k("[ipv4-addr:value = '203.0.113.10' AND domain-name:value = 'c2.example']"),
            Err("unsupported-pattern")
        );
        assert_eq!(
            k(
                "[network-traffic:dst_ref.value = '203.0.113.10' AND network-traffic:dst_port > 1024]"
            ),
            Err("unsupported-pattern")
        );
        assert_eq!(
            k("[domain-name:value LIKE 'c2%']"),
            Err("unsupported-pattern")
        );
        assert_eq!(k("[ipv4-addr:value = 'c2.example']"), Err("bad-value"));
        // A host-side disjunct narrows nothing away from the network part.
        assert_eq!(
            k("[file:name = 'a.exe'] OR [ipv4-addr:value = '203.0.113.10']"),
            Ok(vec!["203.0.113.10".into()])
        );
        // AND distributes over OR inside one observation.
        assert_eq!(
            k(
                "[network-traffic:dst_ref.value IN ('203.0.113.1', '2001:db8::1') AND (network-traffic:dst_port = 80 OR network-traffic:dst_port = '8080')]"
            ),
            Ok(vec![
                "203.0.113.1:80".into(),
                "[2001:db8::1]:80".into(),
                "203.0.113.1:8080".into(),
                "[2001:db8::1]:8080".into()
            ])
        );
    }
}
