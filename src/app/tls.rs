//! TLS handshake messages read from a reassembled stream: the ClientHello (SNI, ALPN, JA3,
//! JA4), the ServerHello (JA3S) and, up to TLS 1.2, the server's leaf certificate (SHA-1 and
//! SHA-256 of its DER bytes). Fingerprints follow feed-formats.md §12.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::convert::identity;

pub const CONTENT_HANDSHAKE: u8 = 22;
pub const HS_CLIENT_HELLO: u8 = 1;
pub const HS_SERVER_HELLO: u8 = 2;
pub const HS_CERTIFICATE: u8 = 11;

const EXT_SNI: u16 = 0x0000;
const EXT_GROUPS: u16 = 0x000a;
const EXT_POINT_FORMATS: u16 = 0x000b;
const EXT_SIG_ALGS: u16 = 0x000d;
const EXT_ALPN: u16 = 0x0010;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;

/// RFC 8701 GREASE values: both bytes equal, low nibble 0xa.
#[inline]
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsError {
    Truncated,
    Malformed,
}

/// A cursor that checks every read.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, TlsError> {
        let (v, rest) = self.b.split_first().ok_or(TlsError::Truncated)?;
        self.b = rest;
        Ok(*v)
    }
    fn u16(&mut self) -> Result<u16, TlsError> {
        Ok(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], TlsError> {
        if self.b.len() < n {
            return Err(TlsError::Truncated);
        }
        let (v, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(v)
    }
    fn vec8(&mut self) -> Result<&'a [u8], TlsError> {
        let n = usize::from(self.u8()?);
        self.bytes(n)
    }
    fn vec16(&mut self) -> Result<&'a [u8], TlsError> {
        let n = usize::from(self.u16()?);
        self.bytes(n)
    }
}

/// `out` becomes the big-endian u16 list `b`, each value passed through `each` (its storage
/// is kept): [`one_grease`] for the lists that keep GREASE as 0x0a0a (see
/// [`ClientHello::ciphers`]), `identity` for the others.
#[inline]
fn fill_u16s(out: &mut Vec<u16>, b: &[u8], each: impl Fn(u16) -> u16) {
    out.clear();
    out.extend(
        b.chunks_exact(2)
            .map(|c| each(u16::from_be_bytes([c[0], c[1]]))),
    );
}

/// A GREASE value (RFC 8701) as 0x0a0a, any other as it is. GREASE values are 0xXaXa: `v`
/// is one when it equals its own high nibble repeated over that pattern. Without branches:
/// this runs for every cipher, extension and group of every hello.
#[inline]
fn one_grease(v: u16) -> u16 {
    let x = v & 0x00f0;
    if v == (x << 8 | x | 0x0a0a) {
        0x0a0a
    } else {
        v
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub legacy_version: u16,
    /// Cipher suites in wire order. Here and in `extensions` and `groups`, every GREASE value
    /// (RFC 8701) is kept as 0x0a0a: clients pick new ones per connection, the fingerprints
    /// drop them, and hellos that differ only there are then equal (one JA3 memo entry).
    pub ciphers: Vec<u16>,
    /// Extension types in wire order (GREASE included, as 0x0a0a).
    pub extensions: Vec<u16>,
    pub groups: Vec<u16>,
    pub point_formats: Vec<u8>,
    pub sig_algs: Vec<u16>,
    pub supported_versions: Vec<u16>,
    /// The first host_name entry, lower case, when present and a plausible name: one buffer
    /// reused from hello to hello (empty when there is none). Read it with [`Self::sni`].
    sni: String,
    has_sni: bool,
    /// The ALPN protocol list as on the wire (each name after its length byte), checked
    /// whole when parsed: one buffer reused from hello to hello. Read it with [`Self::alpn`].
    alpn: Vec<u8>,
}

/// Parses a ClientHello body (after the 4-byte handshake header; in QUIC, the CRYPTO data).
pub fn parse_client_hello(body: &[u8]) -> Result<ClientHello, TlsError> {
    let mut ch = ClientHello::default();
    parse_client_hello_into(body, &mut ch)?;
    Ok(ch)
}

/// [`parse_client_hello`] into `ch`, which is cleared first and keeps the storage of its
/// lists: a worker that parses every hello into one `ClientHello` allocates for none of
/// them. On an error `ch` holds part of the hello and is not to be read.
pub fn parse_client_hello_into(body: &[u8], ch: &mut ClientHello) -> Result<(), TlsError> {
    let mut r = Reader { b: body };
    ch.legacy_version = r.u16()?;
    for list in [
        &mut ch.ciphers,
        &mut ch.extensions,
        &mut ch.groups,
        &mut ch.sig_algs,
        &mut ch.supported_versions,
    ] {
        list.clear();
    }
    ch.point_formats.clear();
    ch.sni.clear();
    ch.has_sni = false;
    ch.alpn.clear();
    r.bytes(32)?;
    r.vec8()?;
    fill_u16s(&mut ch.ciphers, r.vec16()?, one_grease);
    r.vec8()?;
    if r.b.is_empty() {
        return Ok(());
    }
    let mut exts = Reader { b: r.vec16()? };
    while !exts.b.is_empty() {
        let t = exts.u16()?;
        let data = exts.vec16()?;
        ch.extensions.push(one_grease(t));
        let mut d = Reader { b: data };
        match t {
            EXT_SNI => {
                let mut list = Reader { b: d.vec16()? };
                while !list.b.is_empty() {
                    let kind = list.u8()?;
                    let name = list.vec16()?;
                    if kind == 0 && !ch.has_sni {
                        ch.has_sni = sni_name_into(name, &mut ch.sni);
                    }
                }
            }
            EXT_GROUPS => fill_u16s(&mut ch.groups, d.vec16()?, one_grease),
            EXT_POINT_FORMATS => {
                ch.point_formats.clear();
                ch.point_formats.extend_from_slice(d.vec8()?);
            }
            EXT_SIG_ALGS => fill_u16s(&mut ch.sig_algs, d.vec16()?, identity),
            EXT_SUPPORTED_VERSIONS => fill_u16s(&mut ch.supported_versions, d.vec8()?, identity),
            EXT_ALPN => {
                let names = d.vec16()?;
                let mut list = Reader { b: names };
                while !list.b.is_empty() {
                    list.vec8()?;
                }
                ch.alpn.extend_from_slice(names);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Fingerprints a thread computed lately (see [`ClientHello::ja3_memo`]).
struct Ja3Memo {
    seed: foldhash::quality::RandomState,
    slots: Vec<Option<(u64, (String, String))>>,
}

const JA3_MEMO_SLOTS: usize = 256;

impl Ja3Memo {
    fn new() -> Ja3Memo {
        Ja3Memo {
            seed: foldhash::quality::RandomState::default(),
            slots: vec![None; JA3_MEMO_SLOTS],
        }
    }
}

/// A host name from SNI, written into `out` (left empty when false is returned): printable,
/// no NUL, not an IP literal (feed-formats.md §12.2), lower case, trailing dots dropped.
fn sni_name_into(b: &[u8], out: &mut String) -> bool {
    out.clear();
    if b.is_empty() || b.len() > 253 || !b.iter().all(|c| c.is_ascii_graphic()) {
        return false;
    }
    // Printable ASCII (checked above), so UTF-8: copied whole, lower-cased in place.
    let end = b.iter().rposition(|c| *c != b'.').map_or(0, |i| i + 1);
    let name = b.get(..end).unwrap_or(&[]);
    out.push_str(std::str::from_utf8(name).unwrap_or_default());
    out.make_ascii_lowercase();
    // Only digits and dots (IPv4) or a colon (IPv6) can make an address: parsed only then.
    let maybe_ip = name.contains(&b':') || name.iter().all(|c| c.is_ascii_digit() || *c == b'.');
    if maybe_ip && out.parse::<std::net::IpAddr>().is_ok() {
        out.clear();
        return false;
    }
    true
}

/// Appends the decimal values of `v`, separated by `-` (JA3's lists). Digits are written
/// directly: formatting machinery cost more than the MD5 of the whole string.
fn push_joined<T: Into<u32>>(out: &mut String, v: impl Iterator<Item = T>) {
    for (i, x) in v.enumerate() {
        if i > 0 {
            out.push('-');
        }
        push_decimal(out, x.into());
    }
}

fn push_decimal(out: &mut String, mut v: u32) {
    let mut digits = [0u8; 10];
    let mut n = digits.len();
    loop {
        n -= 1;
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for d in &digits[n..] {
        out.push(char::from(*d));
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends each value as four lower-case hex digits, separated by `,` (JA4's lists).
fn push_hex4(out: &mut String, v: impl Iterator<Item = u16>) {
    for (i, x) in v.enumerate() {
        if i > 0 {
            out.push(',');
        }
        for shift in [12, 8, 4, 0] {
            out.push(char::from(HEX_DIGITS[usize::from((x >> shift) & 0xf)]));
        }
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(char::from(HEX_DIGITS[usize::from(x >> 4)]));
        s.push(char::from(HEX_DIGITS[usize::from(x & 0xf)]));
    }
    s
}

impl ClientHello {
    /// The first host_name entry, lower case; `None` when absent or not a plausible name.
    pub fn sni(&self) -> Option<&str> {
        self.has_sni.then_some(self.sni.as_str())
    }

    /// [`Self::sni`], moved out (the hello no longer has one).
    pub fn take_sni(&mut self) -> Option<String> {
        std::mem::take(&mut self.has_sni).then(|| std::mem::take(&mut self.sni))
    }

    /// JA3 string and its MD5 (feed-formats.md §12.3).
    pub fn ja3(&self) -> (String, String) {
        let mut s = String::with_capacity(
            8 + 6 * (self.ciphers.len() + self.extensions.len() + self.groups.len())
                + 4 * self.point_formats.len(),
        );
        push_decimal(&mut s, self.legacy_version.into());
        s.push(',');
        push_joined(
            &mut s,
            self.ciphers.iter().copied().filter(|c| !is_grease(*c)),
        );
        s.push(',');
        push_joined(
            &mut s,
            self.extensions.iter().copied().filter(|c| !is_grease(*c)),
        );
        s.push(',');
        push_joined(
            &mut s,
            self.groups.iter().copied().filter(|c| !is_grease(*c)),
        );
        s.push(',');
        push_joined(&mut s, self.point_formats.iter().copied());
        let h = hex(&Md5::digest(s.as_bytes()));
        (s, h)
    }

    /// [`Self::ja3`], remembered per thread for the last few hundred distinct hellos: most
    /// clients on a link share a handful of TLS stacks, so most hellos repeat a fingerprint
    /// and skip building the string and its MD5. Entries are keyed by a 64-bit hash (seeded
    /// at random per thread) of exactly the fields JA3 reads.
    pub fn ja3_memo(&self) -> (String, String) {
        self.with_ja3(Clone::clone)
    }

    /// Calls `f` with [`Self::ja3_memo`]'s (string, MD5) without copying them: matching a
    /// fingerprint needs no string of its own.
    pub fn with_ja3<R>(&self, f: impl FnOnce(&(String, String)) -> R) -> R {
        thread_local! {
            static MEMO: std::cell::RefCell<Ja3Memo> = std::cell::RefCell::new(Ja3Memo::new());
        }
        MEMO.with(|memo| {
            let mut memo = memo.borrow_mut();
            let key = self.ja3_key(&memo.seed);
            let slot = (key % JA3_MEMO_SLOTS as u64) as usize;
            let (_, v) = match &mut memo.slots[slot] {
                Some(entry) if entry.0 == key => entry,
                other => other.insert((key, self.ja3())),
            };
            f(v)
        })
    }

    /// [`Self::with_ja3`]'s memo key: a hash of exactly the fields JA3 reads (GREASE values are
    /// all 0x0a0a by then, so hellos that differ only there share a key).
    fn ja3_key(&self, seed: &impl std::hash::BuildHasher) -> u64 {
        use std::hash::Hasher;
        let mut h = seed.build_hasher();
        h.write_u16(self.legacy_version);
        for list in [&self.ciphers, &self.extensions, &self.groups] {
            h.write_usize(list.len());
            for v in list.iter() {
                h.write_u16(*v);
            }
        }
        h.write(&self.point_formats);
        h.finish()
    }

    /// JA4 (feed-formats.md §12.5); `transport` is `t` (TCP) or `q` (QUIC).
    pub fn ja4(&self, transport: char) -> String {
        let version = self
            .supported_versions
            .iter()
            .copied()
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(self.legacy_version);
        let v = match version {
            0x0304 => "13",
            0x0303 => "12",
            0x0302 => "11",
            0x0301 => "10",
            0x0300 => "s3",
            0x0002 => "s2",
            0xfeff => "d1",
            0xfefd => "d2",
            0xfefc => "d3",
            _ => "00",
        };
        let ciphers: Vec<u16> = self
            .ciphers
            .iter()
            .copied()
            .filter(|c| !is_grease(*c))
            .collect();
        let exts: Vec<u16> = self
            .extensions
            .iter()
            .copied()
            .filter(|c| !is_grease(*c))
            .collect();
        let alpn = match self.alpn().next() {
            Some(a) if !a.is_empty() => {
                let (f, l) = (a[0], a[a.len() - 1]);
                if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                    format!("{}{}", f as char, l as char)
                } else {
                    let h = hex(a);
                    format!("{}{}", &h[..1], &h[h.len() - 1..])
                }
            }
            _ => "00".into(),
        };
        let a = format!(
            "{transport}{v}{}{:02}{:02}{alpn}",
            if self.has_sni || self.extensions.contains(&EXT_SNI) {
                'd'
            } else {
                'i'
            },
            ciphers.len().min(99),
            exts.len().min(99)
        );
        let trunc = |s: &str| hex(&Sha256::digest(s.as_bytes()))[..12].to_string();
        let mut sorted_c = ciphers.clone();
        sorted_c.sort_unstable();
        let b = if sorted_c.is_empty() {
            "000000000000".to_string()
        } else {
            let mut s = String::with_capacity(5 * sorted_c.len());
            push_hex4(&mut s, sorted_c.iter().copied());
            trunc(&s)
        };
        let mut sorted_e: Vec<u16> = exts
            .iter()
            .copied()
            .filter(|e| *e != EXT_SNI && *e != EXT_ALPN)
            .collect();
        sorted_e.sort_unstable();
        let c = if sorted_e.is_empty() {
            "000000000000".to_string()
        } else {
            let mut s = String::with_capacity(5 * (sorted_e.len() + self.sig_algs.len() + 1));
            push_hex4(&mut s, sorted_e.iter().copied());
            if !self.sig_algs.is_empty() {
                s.push('_');
                push_hex4(&mut s, self.sig_algs.iter().copied());
            }
            trunc(&s)
        };
        [a, b, c].join("_")
    }

    /// The ALPN protocol names, in the client's order.
    pub fn alpn(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.alpn.as_slice();
        std::iter::from_fn(move || {
            let (&len, tail) = rest.split_first()?;
            let (name, after) = tail.split_at_checked(usize::from(len))?;
            rest = after;
            Some(name)
        })
    }

    pub fn alpn_strings(&self) -> Vec<String> {
        self.alpn()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }
}

/// JA3S string and MD5 of a ServerHello body (feed-formats.md §12.4).
pub fn ja3s(body: &[u8]) -> Result<(String, String), TlsError> {
    let mut r = Reader { b: body };
    let version = r.u16()?;
    r.bytes(32)?;
    r.vec8()?;
    let cipher = r.u16()?;
    r.u8()?;
    let mut exts = Vec::new();
    if !r.b.is_empty() {
        let mut e = Reader { b: r.vec16()? };
        while !e.b.is_empty() {
            let t = e.u16()?;
            e.vec16()?;
            if !is_grease(t) {
                exts.push(t);
            }
        }
    }
    let mut s = format!("{version},{cipher},");
    push_joined(&mut s, exts.iter().copied());
    let h = hex(&Md5::digest(s.as_bytes()));
    Ok((s, h))
}

/// SHA-1 and SHA-256 (lower-case hex) of the leaf certificate of a Certificate body (TLS ≤ 1.2).
pub fn leaf_certificate_hashes(body: &[u8]) -> Result<(String, String), TlsError> {
    let mut r = Reader { b: body };
    let total = usize::from(r.u8()?) << 16 | usize::from(r.u16()?);
    let mut list = Reader { b: r.bytes(total)? };
    let len = usize::from(list.u8()?) << 16 | usize::from(list.u16()?);
    let der = list.bytes(len)?;
    if der.is_empty() {
        return Err(TlsError::Malformed);
    }
    Ok((hex(&Sha1::digest(der)), hex(&Sha256::digest(der))))
}

/// The body of the ClientHello that `bytes` (a client's stream from its start) consist of:
/// exactly one handshake record, holding the hello whole. This is the common case, read in
/// place. `Some(Err(_))` when the first record's header shows the bytes are not TLS, as
/// [`Handshakes::feed`] decides; `None` for anything else (a record not complete yet, more
/// than one record, another message first): [`Handshakes`] reads those.
pub fn lone_client_hello(bytes: &[u8]) -> Option<Result<&[u8], TlsError>> {
    let (ctype, len) = match record_header(bytes)? {
        Ok(header) => header,
        Err(e) => return Some(Err(e)),
    };
    if ctype != CONTENT_HANDSHAKE || bytes.len() != 5 + len {
        return None;
    }
    match handshake_message(&bytes[5..])? {
        (HS_CLIENT_HELLO, body) => Some(Ok(body)),
        _ => None,
    }
}

/// The header of the TLS record `bytes` start with: (content type, fragment length). `None`
/// for fewer than 5 bytes; `Some(Err(_))` when it shows the bytes are not TLS.
fn record_header(bytes: &[u8]) -> Option<Result<(u8, usize), TlsError>> {
    let h = bytes.get(..5)?;
    let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
    Some(if h[1] != 3 || len > MAX_RECORD {
        Err(TlsError::Malformed)
    } else {
        Ok((h[0], len))
    })
}

/// The handshake message `bytes` start with, when it is whole: (type, body after the 4-byte
/// header).
pub fn handshake_message(bytes: &[u8]) -> Option<(u8, &[u8])> {
    let (&kind, rest) = bytes.split_first()?;
    let l = rest.get(..3)?;
    let len = usize::from(l[0]) << 16 | usize::from(l[1]) << 8 | usize::from(l[2]);
    Some((kind, rest.get(3..3 + len)?))
}

/// The longest TLS record (2^14 bytes of plaintext plus the most expansion a record may add);
/// a longer length field means the bytes are not TLS.
pub const MAX_RECORD: usize = 18_432;

/// Collects handshake messages from the records of one direction of a TLS stream.
#[derive(Default, Debug)]
pub struct Handshakes {
    /// Bytes of the stream consumed as whole records.
    consumed: usize,
    /// Handshake bytes from those records, across record boundaries.
    hs: Vec<u8>,
    /// Handshake bytes already returned as messages.
    taken: usize,
    /// A non-handshake record arrived (e.g. application data, or encrypted TLS 1.3): stop.
    pub ended: bool,
}

impl Handshakes {
    /// Nothing fed yet.
    pub fn untouched(&self) -> bool {
        self.consumed == 0 && !self.ended
    }

    /// Reads the new whole records of `stream` (the direction's bytes from its start) and
    /// returns the complete handshake messages found: (type, body).
    pub fn feed(&mut self, stream: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, TlsError> {
        while !self.ended {
            let rest = &stream[self.consumed.min(stream.len())..];
            let Some(header) = record_header(rest) else {
                break;
            };
            let (ctype, len) = header?;
            if ctype != CONTENT_HANDSHAKE {
                self.ended = true;
                break;
            }
            let Some(frag) = rest.get(5..5 + len) else {
                break;
            };
            self.hs.extend_from_slice(frag);
            self.consumed += 5 + len;
        }
        let mut out = Vec::new();
        while let Some((kind, body)) = handshake_message(&self.hs[self.taken..]) {
            out.push((kind, body.to_vec()));
            self.taken += 4 + body.len();
        }
        Ok(out)
    }
}

/// Builds handshake bytes for tests and fixtures.
pub mod build {
    /// The synthetic ClientHello of feed-formats.md §12.6 (206 bytes with its record header),
    /// with the given SNI.
    pub fn example_client_hello(sni: &str) -> Vec<u8> {
        client_hello(sni, false)
    }

    /// The same hello; with `post_quantum` it also offers X25519MLKEM768 (group 0x11ec) with its
    /// 1,216-byte key share, as browsers do since 2024: the hello no longer fits one segment.
    pub fn client_hello(sni: &str, post_quantum: bool) -> Vec<u8> {
        let mut ext = Vec::new();
        let mut add = |t: u16, data: &[u8]| {
            ext.extend_from_slice(&t.to_be_bytes());
            ext.extend_from_slice(&(data.len() as u16).to_be_bytes());
            ext.extend_from_slice(data);
        };
        add(0x1a1a, &[]);
        let mut sni_ext = Vec::new();
        sni_ext.extend_from_slice(&((sni.len() + 3) as u16).to_be_bytes());
        sni_ext.push(0);
        sni_ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        sni_ext.extend_from_slice(sni.as_bytes());
        add(0x0000, &sni_ext);
        add(0x0017, &[]);
        add(0xff01, &[0]);
        if post_quantum {
            add(
                0x000a,
                &[
                    0, 10, 0x2a, 0x2a, 0x11, 0xec, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18,
                ],
            );
        } else {
            add(
                0x000a,
                &[0, 8, 0x2a, 0x2a, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18],
            );
        }
        add(0x000b, &[1, 0]);
        add(0x0023, &[]);
        add(
            0x0010,
            &[
                0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
            ],
        );
        add(0x000d, &[0, 6, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01]);
        add(0x002b, &[6, 0x3a, 0x3a, 0x03, 0x04, 0x03, 0x03]);
        let mut shares = Vec::new();
        if post_quantum {
            shares.extend_from_slice(&[0x11, 0xec, 0x04, 0xc0]);
            shares.extend_from_slice(&[0x5a; 1216]);
        }
        shares.extend_from_slice(&[0x00, 0x1d, 0, 32]);
        shares.extend_from_slice(&[0x11; 32]);
        let mut ks = (shares.len() as u16).to_be_bytes().to_vec();
        ks.extend_from_slice(&shares);
        add(0x0033, &ks);
        add(0x4a4a, &[0]);
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[0x42; 32]);
        body.push(0);
        body.extend_from_slice(&[
            0, 12, 0x8a, 0x8a, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9c,
        ]);
        body.extend_from_slice(&[1, 0]);
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        record(&handshake(1, &body))
    }

    pub fn handshake(t: u8, body: &[u8]) -> Vec<u8> {
        let mut h = vec![
            t,
            (body.len() >> 16) as u8,
            (body.len() >> 8) as u8,
            body.len() as u8,
        ];
        h.extend_from_slice(body);
        h
    }

    pub fn record(payload: &[u8]) -> Vec<u8> {
        let mut r = vec![22, 3, 1];
        r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        r.extend_from_slice(payload);
        r
    }

    /// A TLS 1.2 ServerHello and Certificate (one leaf certificate of the given DER bytes).
    pub fn server_flight(cert_der: &[u8]) -> Vec<u8> {
        let mut sh = vec![0x03, 0x03];
        sh.extend_from_slice(&[0x24; 32]);
        sh.push(0);
        sh.extend_from_slice(&[0xc0, 0x2f, 0]);
        sh.extend_from_slice(&[0, 5, 0xff, 0x01, 0, 1, 0]);
        let mut certs = Vec::new();
        let l = cert_der.len();
        certs.extend_from_slice(&[(l >> 16) as u8, (l >> 8) as u8, l as u8]);
        certs.extend_from_slice(cert_der);
        let mut cert = Vec::new();
        let t = certs.len();
        cert.extend_from_slice(&[(t >> 16) as u8, (t >> 8) as u8, t as u8]);
        cert.extend_from_slice(&certs);
        let mut flight = handshake(2, &sh);
        flight.extend_from_slice(&handshake(11, &cert));
        record(&flight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sni_name(b: &[u8]) -> Option<String> {
        let mut out = "left from an earlier hello".to_string();
        let ok = sni_name_into(b, &mut out);
        assert!(ok || out.is_empty(), "{out:?} left for a rejected name");
        ok.then_some(out)
    }

    #[test]
    fn sni_names_are_lower_cased_without_trailing_dots() {
        assert_eq!(
            sni_name(b"WWW.Example.COM.."),
            Some("www.example.com".into())
        );
        assert_eq!(sni_name(b"c2.example"), Some("c2.example".into()));
        assert_eq!(sni_name(b"10.0.0.1"), None);
        assert_eq!(sni_name(b"bad name"), None);
        assert_eq!(sni_name(b"::1"), None);
        assert_eq!(sni_name(b"1.2.3"), Some("1.2.3".into()), "not an address");
        assert_eq!(sni_name(b"Host:443"), Some("host:443".into()));
        assert_eq!(sni_name(b""), None);
    }

    fn hello() -> ClientHello {
        let rec = build::example_client_hello("c2.example");
        assert_eq!(rec.len(), 206, "the worked example is 206 bytes");
        let mut hs = Handshakes::default();
        let msgs = hs.feed(&rec).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].0, HS_CLIENT_HELLO);
        parse_client_hello(&msgs[0].1).unwrap()
    }

    /// One `ClientHello` parses hello after hello: a name from one is never read as the next
    /// one's, and a name taken out leaves none behind.
    #[test]
    fn a_reused_hello_keeps_no_name_from_the_last() {
        let body = |name: &str| {
            let rec = build::example_client_hello(name);
            Handshakes::default().feed(&rec).unwrap()[0].1.clone()
        };
        let mut ch = ClientHello::default();
        parse_client_hello_into(&body("first.example"), &mut ch).unwrap();
        assert_eq!(ch.sni(), Some("first.example"));
        parse_client_hello_into(&body("10.1.2.3"), &mut ch).unwrap();
        assert_eq!(ch.sni(), None, "an address is not a name");
        assert_eq!(ch, parse_client_hello(&body("10.1.2.3")).unwrap());
        parse_client_hello_into(&body("Second.Example"), &mut ch).unwrap();
        assert_eq!(ch.take_sni().as_deref(), Some("second.example"));
        assert_eq!(ch.sni(), None);
        assert_eq!(ch.take_sni(), None);
        assert!(
            ch.ja4('t').starts_with("t13d"),
            "the extension still counts for JA4"
        );
    }

    /// feed-formats.md §12.6: JA3 confirmed there by tshark, JA4 by the specification.
    #[test]
    fn worked_example_fingerprints() {
        let ch = hello();
        assert_eq!(ch.sni(), Some("c2.example"));
        assert_eq!(ch.alpn_strings(), ["h2", "http/1.1"]);
        let (s, h) = ch.ja3();
        assert_eq!(
            s,
            "771,4865-4866-49195-49199-156,0-23-65281-10-11-35-16-13-43-51,29-23-24,0"
        );
        assert_eq!(h, "7d3fdcecc36648047daab451bef1e230");
        assert_eq!(ch.ja4('t'), "t13d0510h2_c03c18a8b7cd_42e4ae2b70ac");
    }

    #[test]
    fn post_quantum_hello_is_large_and_parses() {
        let rec = build::client_hello("pq.example", true);
        assert!(rec.len() > 1400, "{}", rec.len());
        let msgs = Handshakes::default().feed(&rec).unwrap();
        let ch = parse_client_hello(&msgs[0].1).unwrap();
        assert_eq!(ch.sni(), Some("pq.example"));
        // The builder's GREASE group 0x2a2a is kept as 0x0a0a, as every GREASE value is.
        assert_eq!(ch.groups, [0x0a0a, 0x11ec, 0x1d, 0x17, 0x18]);
    }

    #[test]
    fn records_split_anywhere_and_server_flight() {
        let rec = build::example_client_hello("c2.example");
        let mut hs = Handshakes::default();
        for cut in [3, 5, 6, 100, 205] {
            let mut h = Handshakes::default();
            assert!(
                h.feed(&rec[..cut]).unwrap().is_empty(),
                "incomplete at {cut}"
            );
            assert_eq!(h.feed(&rec).unwrap().len(), 1);
        }
        assert_eq!(hs.feed(&rec).unwrap().len(), 1);
        let flight = build::server_flight(b"not really DER, but hashed as is");
        let mut s = Handshakes::default();
        let msgs = s.feed(&flight).unwrap();
        assert_eq!(
            msgs.iter().map(|m| m.0).collect::<Vec<_>>(),
            [HS_SERVER_HELLO, HS_CERTIFICATE]
        );
        let (s, _) = ja3s(&msgs[0].1).unwrap();
        assert_eq!(s, "771,49199,65281");
        let (sha1, sha256) = leaf_certificate_hashes(&msgs[1].1).unwrap();
        assert_eq!(
            sha1,
            hex(&Sha1::digest(b"not really DER, but hashed as is"))
        );
        assert_eq!(sha256.len(), 64);
    }

    #[test]
    fn grease_and_garbage() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && !is_grease(0x0a0b) && !is_grease(0x1a2a));
        let rec = build::example_client_hello("c2.example");
        let body = &rec[9..];
        for n in 0..body.len() {
            let _ = parse_client_hello(&body[..n]);
        }
        for i in 0..body.len() {
            let mut g = body.to_vec();
            g[i] = 0xff;
            let _ = parse_client_hello(&g);
            let _ = ja3s(&g);
            let _ = leaf_certificate_hashes(&g);
        }
        let mut h = Handshakes::default();
        assert_eq!(
            h.feed(&[22, 9, 9, 0, 5, 1, 2, 3, 4, 5]),
            Err(TlsError::Malformed)
        );
    }

    #[test]
    fn grease_values_share_a_memo_key() {
        let rec = build::example_client_hello("c2.example");
        let body = &rec[9..];
        let plain = parse_client_hello(body).unwrap();
        // The first cipher suite (after version, random and the session id) replaced by a
        // GREASE value, as two connections of one client would pick them.
        let sid = usize::from(body[34]);
        let first_cipher = 35 + sid + 2;
        let greased = |g: u16| {
            let mut b = body.to_vec();
            b[first_cipher..first_cipher + 2].copy_from_slice(&g.to_be_bytes());
            parse_client_hello(&b).unwrap()
        };
        let (a, b) = (greased(0x2a2a), greased(0xdada));
        assert_eq!(a.ciphers[0], 0x0a0a);
        assert_eq!(a.ciphers[1..], plain.ciphers[1..]);
        assert_eq!(a, b);
        let seed = foldhash::quality::FixedState::with_seed(7);
        assert_eq!(a.ja3_key(&seed), b.ja3_key(&seed));
        assert_eq!(a.ja3(), b.ja3());
        // A cipher that is not GREASE still changes the key.
        let mut c = body.to_vec();
        c[first_cipher + 2..first_cipher + 4].copy_from_slice(&0x00ffu16.to_be_bytes());
        let changed = parse_client_hello(&c).unwrap();
        assert_ne!(changed.ja3(), a.ja3());
        assert_ne!(changed.ja3_key(&seed), a.ja3_key(&seed));
        // Through the memo: the same fingerprint as computed directly.
        assert_eq!(b.ja3_memo(), a.ja3_memo());
        assert_eq!(b.ja3_memo(), b.ja3());
        for v in 0..=u16::MAX {
            assert_eq!(one_grease(v), if is_grease(v) { 0x0a0a } else { v });
        }
    }

    #[test]
    fn decimal_lists_as_ja3_writes_them() {
        let mut s = String::new();
        push_joined(&mut s, [0u16, 7, 10, 771, 65535].into_iter());
        assert_eq!(s, "0-7-10-771-65535");
        s.clear();
        push_joined(&mut s, std::iter::empty::<u8>());
        assert_eq!(s, "");
    }

    /// Read in place, a lone hello gives what `Handshakes` gives for the same bytes, and
    /// anything `Handshakes` has to collect is left to it.
    #[test]
    fn lone_hello_agrees_with_handshakes() {
        let hello = build::client_hello("c2.example", true);
        let mut two = hello.clone();
        two.extend_from_slice(&[23, 3, 3, 0, 1, 0]);
        let mut bad = hello.clone();
        bad[1] = 9;
        let mut alert = hello.clone();
        alert[0] = 21;
        let mut server = hello.clone();
        server[5] = 2;
        let mut split = vec![22, 3, 1, 0, 20];
        split.extend_from_slice(&hello[5..25]);
        for (what, bytes, lone) in [
            ("one record, whole hello", &hello[..], true),
            ("cut short", &hello[..1000], false),
            ("header cut short", &hello[..3], false),
            ("a second record", &two[..], false),
            ("not TLS", &bad[..], true),
            ("not a handshake record", &alert[..], false),
            ("another message", &server[..], false),
            ("hello continues in a later record", &split[..], false),
        ] {
            let found = lone_client_hello(bytes);
            assert_eq!(found.is_some(), lone, "{what}");
            let fed = Handshakes::default().feed(bytes);
            match found {
                Some(Ok(body)) => assert_eq!(
                    fed.unwrap().first(),
                    Some(&(HS_CLIENT_HELLO, body.to_vec())),
                    "{what}"
                ),
                Some(Err(_)) => assert!(fed.is_err(), "{what}"),
                None => {}
            }
        }
    }

    /// ALPN names come back in order, an empty one too; a list that overruns its extension
    /// makes the hello malformed.
    #[test]
    fn alpn_names_from_the_wire_list() {
        let ch = ClientHello {
            alpn: b"\x02h2\x00\x08http/1.1".to_vec(),
            ..ClientHello::default()
        };
        assert_eq!(
            ch.alpn().collect::<Vec<_>>(),
            [&b"h2"[..], b"", b"http/1.1"]
        );
        assert_eq!(ch.ja4('t').split('_').next().unwrap().get(8..), Some("h2"));
        let mut rec = build::example_client_hello("c2.example");
        let at = rec.windows(3).position(|w| w == b"\x02h2").unwrap();
        rec[at] = 0x40;
        assert!(parse_client_hello(&rec[9..]).is_err());
    }

    #[test]
    fn remembered_ja3_is_the_ja3_of_each_hello() {
        let hello = |ciphers: Vec<u16>| ClientHello {
            legacy_version: 0x0303,
            ciphers,
            extensions: vec![0, 10, 11],
            groups: vec![29, 23],
            point_formats: vec![0],
            ..ClientHello::default()
        };
        let (a, b) = (hello(vec![4865, 4866]), hello(vec![4866, 4865]));
        for _ in 0..3 {
            assert_eq!(a.ja3_memo(), a.ja3());
            assert_eq!(b.ja3_memo(), b.ja3());
        }
        assert_ne!(a.ja3_memo(), b.ja3_memo());
    }
}
