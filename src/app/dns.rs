//! DNS messages (RFC 1035): question names and the A, AAAA and CNAME records of answers.
//! Compression pointers are followed with a jump limit, so a pointer loop ends the name.

use std::net::IpAddr;

/// Pointer jumps followed per name before giving up (a loop, or a hostile message).
const MAX_JUMPS: usize = 32;
/// Questions and answer records read per message; the rest is ignored.
const MAX_QUESTIONS: usize = 8;
const MAX_ANSWERS: usize = 64;
pub const HEADER_LEN: usize = 12;

pub const TYPE_A: u16 = 1;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_AAAA: u16 = 28;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Question {
    /// Lower case, no trailing dot; non-hostname bytes kept as they are (`\x` escapes never
    /// apply: a name with such bytes matches no indicator).
    pub name: String,
    pub qtype: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rdata {
    Addr(IpAddr),
    Cname(String),
}

impl Default for Rdata {
    fn default() -> Rdata {
        Rdata::Addr(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub name: String,
    pub rtype: u16,
    pub ttl: u32,
    pub data: Rdata,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    pub response: bool,
    pub rcode: u8,
    pub questions: Vec<Question>,
    /// A, AAAA and CNAME records of the answer section.
    pub answers: Vec<Answer>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsError {
    Truncated,
    BadName,
    /// Not plausibly DNS (opcode or counts that no resolver sends).
    NotDns,
}

fn be16(b: &[u8], at: usize) -> Result<u16, DnsError> {
    Ok(u16::from_be_bytes([
        *b.get(at).ok_or(DnsError::Truncated)?,
        *b.get(at + 1).ok_or(DnsError::Truncated)?,
    ]))
}

/// Reads the name at `at` into `name` (cleared first, its storage kept); returns the offset
/// just past the name in the original position.
pub fn read_name_into(msg: &[u8], mut at: usize, name: &mut String) -> Result<usize, DnsError> {
    name.clear();
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(at).ok_or(DnsError::Truncated)?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    return Ok(end.unwrap_or(at + 1));
                }
                let label = msg
                    .get(at + 1..at + 1 + usize::from(len))
                    .ok_or(DnsError::Truncated)?;
                if !name.is_empty() {
                    name.push('.');
                }
                match std::str::from_utf8(label) {
                    // ASCII, nearly always: copied whole, then lower-cased in place.
                    Ok(ascii) if label.is_ascii() => {
                        let start = name.len();
                        name.push_str(ascii);
                        name[start..].make_ascii_lowercase();
                    }
                    // Other bytes stand for the character of the same number.
                    _ => {
                        for &c in label {
                            name.push(char::from(c.to_ascii_lowercase()));
                        }
                    }
                }
                if name.len() > 255 {
                    return Err(DnsError::BadName);
                }
                at += 1 + usize::from(len);
            }
            0xc0 => {
                let ptr = usize::from(be16(msg, at)? & 0x3fff);
                if end.is_none() {
                    end = Some(at + 2);
                }
                jumps += 1;
                if jumps > MAX_JUMPS || ptr >= msg.len() {
                    return Err(DnsError::BadName);
                }
                at = ptr;
            }
            _ => return Err(DnsError::BadName),
        }
    }
}

/// Parses a DNS message (UDP payload, or a TCP message without its length prefix).
pub fn parse(msg: &[u8]) -> Result<Message, DnsError> {
    let mut m = Message::default();
    parse_into(msg, &mut m)?;
    Ok(m)
}

/// Element `i` of `v`, added (as the default) when `v` is shorter.
fn slot<T: Default>(v: &mut Vec<T>, i: usize) -> &mut T {
    if v.len() <= i {
        v.resize_with(i + 1, T::default);
    }
    &mut v[i]
}

/// [`parse`] into `m`, which keeps the storage of its lists and of the names in them: a
/// worker that parses every message into one `Message` allocates only when a message has
/// more or longer names than any before it. On an error `m` holds part of the message and
/// is not to be read.
pub fn parse_into(msg: &[u8], m: &mut Message) -> Result<(), DnsError> {
    if msg.len() < HEADER_LEN {
        return Err(DnsError::Truncated);
    }
    let flags = be16(msg, 2)?;
    let opcode = (flags >> 11) & 0xf;
    let qd = usize::from(be16(msg, 4)?);
    let an = usize::from(be16(msg, 6)?);
    if opcode > 6 || qd == 0 || qd > 64 {
        return Err(DnsError::NotDns);
    }
    m.id = be16(msg, 0)?;
    m.response = flags & 0x8000 != 0;
    m.rcode = (flags & 0xf) as u8;
    let mut at = HEADER_LEN;
    // Questions past the first MAX_QUESTIONS are read (to find the answers) into the one
    // element after them, which is dropped at the end.
    let mut kept = 0;
    for _ in 0..qd {
        let q = slot(&mut m.questions, kept);
        let next = read_name_into(msg, at, &mut q.name)?;
        q.qtype = be16(msg, next)?;
        be16(msg, next + 2)?;
        at = next + 4;
        kept = (kept + 1).min(MAX_QUESTIONS);
    }
    m.questions.truncate(kept);
    let mut kept = 0;
    for _ in 0..an.min(MAX_ANSWERS) {
        let a = slot(&mut m.answers, kept);
        let next = match read_name_into(msg, at, &mut a.name) {
            Ok(v) => v,
            // Answers cut short (a truncated capture): keep what was read.
            Err(DnsError::Truncated) => break,
            Err(e) => return Err(e),
        };
        let (Ok(rtype), Ok(ttl_hi), Ok(ttl_lo), Ok(rdlen)) = (
            be16(msg, next),
            be16(msg, next + 4),
            be16(msg, next + 6),
            be16(msg, next + 8),
        ) else {
            break;
        };
        let rd_at = next + 10;
        let Some(rdata) = msg.get(rd_at..rd_at + usize::from(rdlen)) else {
            break;
        };
        let known = match (rtype, rdata.len()) {
            (TYPE_A, 4) => {
                a.data = Rdata::Addr(IpAddr::from([rdata[0], rdata[1], rdata[2], rdata[3]]));
                true
            }
            (TYPE_AAAA, 16) => {
                let mut addr = [0u8; 16];
                addr.copy_from_slice(rdata);
                a.data = Rdata::Addr(IpAddr::from(addr));
                true
            }
            (TYPE_CNAME, _) => {
                if !matches!(a.data, Rdata::Cname(_)) {
                    a.data = Rdata::Cname(String::new());
                }
                match &mut a.data {
                    Rdata::Cname(target) => read_name_into(msg, rd_at, target).is_ok(),
                    Rdata::Addr(_) => false,
                }
            }
            _ => false,
        };
        if known {
            a.rtype = rtype;
            a.ttl = (u32::from(ttl_hi) << 16) | u32::from(ttl_lo);
            kept += 1;
        }
        at = rd_at + usize::from(rdlen);
    }
    m.answers.truncate(kept);
    Ok(())
}

/// The names a response resolves `question` through (the question and every CNAME target
/// reached from it), and the addresses at the end of the chain with their TTLs.
pub fn resolution<'m>(m: &'m Message, question: &'m str) -> (Vec<&'m str>, Vec<(IpAddr, u32)>) {
    let mut chain: Vec<&str> = vec![question];
    // Follow CNAMEs in any order they appear, bounded by the number of answers.
    for _ in 0..m.answers.len() {
        let last = chain[chain.len() - 1];
        let next = m.answers.iter().find_map(|a| match &a.data {
            Rdata::Cname(t) if a.name == last && !chain.contains(&t.as_str()) => Some(t.as_str()),
            _ => None,
        });
        match next {
            Some(t) => chain.push(t),
            None => break,
        }
    }
    let addrs = m
        .answers
        .iter()
        .filter_map(|a| match a.data {
            Rdata::Addr(ip) if chain.contains(&a.name.as_str()) => Some((ip, a.ttl)),
            _ => None,
        })
        .collect();
    (chain, addrs)
}

pub fn type_name(t: u16) -> String {
    match t {
        1 => "A".into(),
        2 => "NS".into(),
        5 => "CNAME".into(),
        6 => "SOA".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        65 => "HTTPS".into(),
        255 => "ANY".into(),
        n => n.to_string(),
    }
}

/// Builds DNS messages for tests and fixtures.
pub mod build {
    fn name(out: &mut Vec<u8>, n: &str) {
        for l in n.split('.').filter(|l| !l.is_empty()) {
            out.push(l.len() as u8);
            out.extend_from_slice(l.as_bytes());
        }
        out.push(0);
    }

    /// A query for `qname` of type `qtype`.
    pub fn query(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        name(&mut m, qname);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m
    }

    /// A response: the question, then `records` of (owner, type, ttl, rdata) where owner
    /// and CNAME targets equal to the question are written as compression pointers.
    pub fn response(
        id: u16,
        qname: &str,
        qtype: u16,
        records: &[(&str, u16, u32, super::Rdata)],
    ) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&[0x81, 0x80, 0, 1]);
        m.extend_from_slice(&(records.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        name(&mut m, qname);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        let write_name = |m: &mut Vec<u8>, n: &str| {
            if n.eq_ignore_ascii_case(qname) {
                m.extend_from_slice(&[0xc0, 12]);
            } else {
                name(m, n);
            }
        };
        for (owner, t, ttl, data) in records {
            write_name(&mut m, owner);
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&[0, 1]);
            m.extend_from_slice(&ttl.to_be_bytes());
            let mut rd = Vec::new();
            match data {
                super::Rdata::Addr(std::net::IpAddr::V4(a)) => rd.extend_from_slice(&a.octets()),
                super::Rdata::Addr(std::net::IpAddr::V6(a)) => rd.extend_from_slice(&a.octets()),
                super::Rdata::Cname(t) => write_name(&mut rd, t),
            }
            m.extend_from_slice(&(rd.len() as u16).to_be_bytes());
            m.extend_from_slice(&rd);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_name(msg: &[u8], at: usize) -> Result<(String, usize), DnsError> {
        let mut name = String::new();
        let after = read_name_into(msg, at, &mut name)?;
        Ok((name, after))
    }

    /// Names are lower-cased label by label (ASCII letters only); a byte beyond ASCII stands for
    /// the character of the same number, and a compressed name ends where its pointer is.
    #[test]
    fn names_lower_cased_whatever_their_bytes() {
        let msg = [
            3, b'W', b'w', b'W', 2, b'C', 0xC9, 0, // "www.cÉ" at 0
            4, b'M', b'A', b'I', b'L', 0xC0, 0, // "mail." + pointer to 0, at 8
        ];
        assert_eq!(read_name(&msg, 0).unwrap(), ("www.c\u{c9}".to_string(), 8));
        assert_eq!(
            read_name(&msg, 8).unwrap(),
            ("mail.www.c\u{c9}".to_string(), 15)
        );
    }

    #[test]
    fn query_with_mixed_case() {
        let q = build::query(7, "WwW.Evil.Example", TYPE_A);
        let m = parse(&q).unwrap();
        assert_eq!((m.id, m.response), (7, false));
        assert_eq!(
            m.questions,
            vec![Question {
                name: "www.evil.example".into(),
                qtype: TYPE_A
            }]
        );
    }

    /// A response that resolves `cdn.example` through two CNAMEs (compressed names), with an
    /// unrelated address record after them.
    fn cname_chain() -> Vec<u8> {
        build::response(
            9,
            "cdn.example",
            TYPE_A,
            &[
                (
                    "cdn.example",
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
                (
                    "x.lb.example",
                    TYPE_A,
                    60,
                    Rdata::Addr("192.0.2.7".parse().unwrap()),
                ),
                (
                    "other.example",
                    TYPE_A,
                    60,
                    Rdata::Addr("192.0.2.8".parse().unwrap()),
                ),
            ],
        )
    }

    #[test]
    fn response_with_compression_and_cname_chain() {
        let r = cname_chain();
        let m = parse(&r).unwrap();
        assert!(m.response);
        assert_eq!(m.answers.len(), 4);
        let (chain, addrs) = resolution(&m, "cdn.example");
        assert_eq!(chain, ["cdn.example", "edge.c2.example", "x.lb.example"]);
        assert_eq!(addrs, vec![("192.0.2.7".parse().unwrap(), 60)]);
    }

    /// One `Message` parses message after message, errors included, and each time holds what
    /// a fresh parse gives: nothing is left over from an earlier, longer message.
    #[test]
    fn a_reused_message_equals_a_fresh_one() {
        let chain = cname_chain();
        let v6 = build::response(
            4,
            "v6.example",
            TYPE_AAAA,
            &[(
                "v6.example",
                TYPE_AAAA,
                30,
                Rdata::Addr("2001:db8::1".parse().unwrap()),
            )],
        );
        let mut many = build::query(2, "q0.example", TYPE_A);
        // Twelve questions (the count says so; the same name repeated): eight are kept.
        many[5] = 12;
        for _ in 1..12 {
            many.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        }
        let mut messages = vec![
            chain.clone(),
            build::query(1, "Short.Example", TYPE_A),
            v6.clone(),
            many,
            chain.clone(),
        ];
        // Every truncation and a byte flip at every place of the chain: errors and partial
        // answers in between.
        messages.extend((0..chain.len()).map(|n| chain[..n].to_vec()));
        messages.extend((0..chain.len()).map(|i| {
            let mut g = chain.clone();
            g[i] ^= 0xc0;
            g
        }));
        messages.push(v6);
        let mut reused = Message::default();
        for (i, msg) in messages.iter().enumerate() {
            let got = parse_into(msg, &mut reused).map(|()| reused.clone());
            assert_eq!(got, parse(msg), "message {i}");
        }
        assert_eq!(parse(&messages[3]).map(|m| m.questions.len()), Ok(8));
    }

    #[test]
    fn pointer_loops_and_garbage_do_not_hang() {
        let mut q = build::query(1, "a.example", TYPE_A);
        // Point the question name at itself.
        q[12] = 0xc0;
        q[13] = 12;
        assert_eq!(parse(&q), Err(DnsError::BadName));
        assert_eq!(parse(&[0u8; 5]), Err(DnsError::Truncated));
        // Every truncation and byte flip of a real response is handled.
        let r = build::response(
            3,
            "c2.example",
            TYPE_A,
            &[(
                "c2.example",
                TYPE_A,
                5,
                Rdata::Addr("192.0.2.1".parse().unwrap()),
            )],
        );
        for n in 0..r.len() {
            let _ = parse(&r[..n]);
        }
        for i in 0..r.len() {
            for v in [0x00, 0x3f, 0xc0, 0xff] {
                let mut g = r.clone();
                g[i] = v;
                let _ = parse(&g);
            }
        }
    }
}
