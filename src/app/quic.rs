//! QUIC v1 (RFC 9000/9001) and v2 (RFC 9369) client Initial packets: derive the Initial keys
//! from the destination connection id, remove header protection, decrypt, and collect the
//! CRYPTO frames that carry the TLS ClientHello.

use aes::Aes128;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead, Payload};
use hkdf::Hkdf;
use sha2::Sha256;

pub const VERSION_1: u32 = 0x0000_0001;
pub const VERSION_2: u32 = 0x6b33_43cf;

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];

/// A client's datagrams carrying Initial packets are at least this long (RFC 9000 §14.1).
pub const MIN_INITIAL: usize = 1200;

/// Longest connection id (RFC 9000 §17.2).
const MAX_CID: usize = 20;
/// Frames parsed per packet before giving up.
const MAX_FRAMES: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuicError {
    /// Not a QUIC long-header packet of a version this parser knows.
    NotQuic,
    Truncated,
    /// Authentication failed: wrong keys (not the first Initial) or not QUIC at all.
    Decrypt,
    Malformed,
}

/// The keys protecting a client's Initial packets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    pub key: [u8; 16],
    pub iv: [u8; 12],
    pub hp: [u8; 16],
}

fn expand_label(hk: &Hkdf<Sha256>, label: &str, out: &mut [u8]) -> Result<(), QuicError> {
    let full = format!("tls13 {label}");
    let mut info = Vec::with_capacity(4 + full.len());
    info.extend_from_slice(&(out.len() as u16).to_be_bytes());
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    hk.expand(&info, out).map_err(|_| QuicError::Malformed)
}

/// Client Initial keys for a version and the client's first destination connection id.
pub fn client_initial_keys(version: u32, dcid: &[u8]) -> Result<Keys, QuicError> {
    let (salt, prefix) = match version {
        VERSION_1 => (&SALT_V1, "quic"),
        VERSION_2 => (&SALT_V2, "quicv2"),
        _ => return Err(QuicError::NotQuic),
    };
    let (initial, _) = Hkdf::<Sha256>::extract(Some(salt), dcid);
    let hk = Hkdf::<Sha256>::from_prk(&initial).map_err(|_| QuicError::Malformed)?;
    let mut client = [0u8; 32];
    expand_label(&hk, "client in", &mut client)?;
    let ck = Hkdf::<Sha256>::from_prk(&client).map_err(|_| QuicError::Malformed)?;
    let mut keys = Keys {
        key: [0; 16],
        iv: [0; 12],
        hp: [0; 16],
    };
    expand_label(&ck, &format!("{prefix} key"), &mut keys.key)?;
    expand_label(&ck, &format!("{prefix} iv"), &mut keys.iv)?;
    expand_label(&ck, &format!("{prefix} hp"), &mut keys.hp)?;
    Ok(keys)
}

/// A variable-length integer (RFC 9000 §16) at `*at`.
fn varint(b: &[u8], at: &mut usize) -> Result<u64, QuicError> {
    let first = *b.get(*at).ok_or(QuicError::Truncated)?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(*at..*at + len).ok_or(QuicError::Truncated)?;
    let mut v = u64::from(first & 0x3f);
    for &x in &bytes[1..] {
        v = v << 8 | u64::from(x);
    }
    *at += len;
    Ok(v)
}

/// The header of a long-header packet: where its parts are.
struct Long {
    version: u32,
    initial: bool,
    dcid: std::ops::Range<usize>,
    pn_offset: usize,
    end: usize,
}

fn long_header(d: &[u8]) -> Result<Long, QuicError> {
    let b0 = *d.first().ok_or(QuicError::Truncated)?;
    if b0 & 0xc0 != 0xc0 || d.len() < 7 {
        return Err(QuicError::NotQuic);
    }
    let version = u32::from_be_bytes([d[1], d[2], d[3], d[4]]);
    let ptype = (b0 >> 4) & 0x03;
    let initial = match version {
        VERSION_1 => ptype == 0,
        VERSION_2 => ptype == 1,
        _ => return Err(QuicError::NotQuic),
    };
    let retry = (version == VERSION_1 && ptype == 3) || (version == VERSION_2 && ptype == 0);
    if retry {
        return Err(QuicError::NotQuic);
    }
    let dlen = usize::from(d[5]);
    if dlen > MAX_CID {
        return Err(QuicError::Malformed);
    }
    let dcid = 6..6 + dlen;
    let mut at = dcid.end;
    let slen = usize::from(*d.get(at).ok_or(QuicError::Truncated)?);
    if slen > MAX_CID {
        return Err(QuicError::Malformed);
    }
    at += 1 + slen;
    if initial {
        let tlen = varint(d, &mut at)? as usize;
        at = at.checked_add(tlen).ok_or(QuicError::Malformed)?;
    }
    let len = varint(d, &mut at)? as usize;
    let end = at.checked_add(len).ok_or(QuicError::Malformed)?;
    if end > d.len() {
        return Err(QuicError::Truncated);
    }
    Ok(Long {
        version,
        initial,
        dcid,
        pn_offset: at,
        end,
    })
}

/// The version and destination connection id of the first packet of a datagram, when it is
/// a client Initial of a known version.
pub fn initial_dcid(datagram: &[u8]) -> Option<(u32, &[u8])> {
    let h = long_header(datagram).ok()?;
    h.initial.then(|| (h.version, &datagram[h.dcid]))
}

/// Decrypts the Initial packets of a datagram (coalesced packets included) with `keys` and
/// returns their CRYPTO frames as (offset, data).
pub fn initial_crypto_frames(
    datagram: &[u8],
    keys: &Keys,
) -> Result<Vec<(u64, Vec<u8>)>, QuicError> {
    let mut frames = Vec::new();
    let mut rest = datagram;
    let mut decrypted_any = false;
    while !rest.is_empty() {
        let h = match long_header(rest) {
            Ok(h) => h,
            // Short-header packets or padding after the long ones: done.
            Err(_) if decrypted_any => break,
            Err(e) => return Err(e),
        };
        if h.initial {
            let plain = unprotect(&rest[..h.end], h.pn_offset, keys)?;
            read_frames(&plain, &mut frames)?;
            decrypted_any = true;
        }
        rest = &rest[h.end..];
    }
    Ok(frames)
}

/// Removes header protection and decrypts one packet; returns the plaintext payload.
fn unprotect(packet: &[u8], pn_offset: usize, keys: &Keys) -> Result<Vec<u8>, QuicError> {
    let sample = packet
        .get(pn_offset + 4..pn_offset + 20)
        .ok_or(QuicError::Truncated)?;
    let hp = Aes128::new_from_slice(&keys.hp).map_err(|_| QuicError::Malformed)?;
    let mut mask = Array::from(<[u8; 16]>::try_from(sample).map_err(|_| QuicError::Truncated)?);
    hp.encrypt_block(&mut mask);
    let b0 = packet[0] ^ (mask[0] & 0x0f);
    let pn_len = usize::from(b0 & 0x03) + 1;
    let mut header = packet
        .get(..pn_offset + pn_len)
        .ok_or(QuicError::Truncated)?
        .to_vec();
    header[0] = b0;
    let mut pn: u64 = 0;
    for i in 0..pn_len {
        header[pn_offset + i] ^= mask[1 + i];
        pn = pn << 8 | u64::from(header[pn_offset + i]);
    }
    let mut nonce = keys.iv;
    for (i, b) in pn.to_be_bytes().iter().enumerate() {
        nonce[4 + i] ^= b;
    }
    let aead = Aes128Gcm::new_from_slice(&keys.key).map_err(|_| QuicError::Malformed)?;
    let ciphertext = &packet[pn_offset + pn_len..];
    aead.decrypt(
        &Array::from(nonce),
        Payload {
            msg: ciphertext,
            aad: &header,
        },
    )
    .map_err(|_| QuicError::Decrypt)
}

/// Reads the frames of a decrypted Initial payload, keeping the CRYPTO frames in `out`.
pub fn read_frames(p: &[u8], out: &mut Vec<(u64, Vec<u8>)>) -> Result<(), QuicError> {
    let mut at = 0;
    for _ in 0..MAX_FRAMES {
        let Some(&t) = p.get(at) else { return Ok(()) };
        at += 1;
        match t {
            0x00 | 0x01 => {}
            0x02 | 0x03 => {
                varint(p, &mut at)?;
                varint(p, &mut at)?;
                let ranges = varint(p, &mut at)?;
                varint(p, &mut at)?;
                for _ in 0..ranges.min(1024) {
                    varint(p, &mut at)?;
                    varint(p, &mut at)?;
                }
                if t == 0x03 {
                    for _ in 0..3 {
                        varint(p, &mut at)?;
                    }
                }
            }
            0x06 => {
                let off = varint(p, &mut at)?;
                let len = varint(p, &mut at)? as usize;
                let data = p
                    .get(at..at.saturating_add(len))
                    .ok_or(QuicError::Truncated)?;
                out.push((off, data.to_vec()));
                at += len;
            }
            0x1c | 0x1d => {
                varint(p, &mut at)?;
                if t == 0x1c {
                    varint(p, &mut at)?;
                }
                let len = varint(p, &mut at)? as usize;
                at = at.saturating_add(len);
            }
            // Other frames do not belong in an Initial packet: stop here.
            _ => return Ok(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tls;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// RFC 9001 Appendix A.1.
    #[test]
    fn rfc9001_client_initial_keys() {
        let k = client_initial_keys(VERSION_1, &[0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08])
            .unwrap();
        assert_eq!(hex(&k.key), "1f369613dd76d5467730efcbe3b1a22d");
        assert_eq!(hex(&k.iv), "fa044b2f42a3fd3b46fb255c");
        assert_eq!(hex(&k.hp), "9f50449e04a0e810283a1e9933adedd2");
    }

    /// Initials recorded from a real client (aioquic; fixtures/tools/quic_initial.py).
    #[test]
    fn real_client_initials_decrypt() {
        for (file, version, sni) in [
            (
                &include_bytes!("../../fixtures/quic/v1-c2.bin")[..],
                VERSION_1,
                "quic.c2.example",
            ),
            (
                &include_bytes!("../../fixtures/quic/v2-c2.bin")[..],
                VERSION_2,
                "cdn.c2.example",
            ),
        ] {
            let (v, dcid) = initial_dcid(file).unwrap();
            assert_eq!(v, version);
            let keys = client_initial_keys(v, dcid).unwrap();
            let frames = initial_crypto_frames(file, &keys).unwrap();
            let mut stream = Vec::new();
            let mut frames = frames;
            frames.sort();
            for (off, data) in frames {
                assert_eq!(off as usize, stream.len());
                stream.extend_from_slice(&data);
            }
            let (kind, body) = tls::handshake_message(&stream).unwrap();
            assert_eq!(kind, tls::HS_CLIENT_HELLO);
            let ch = tls::parse_client_hello(body).unwrap();
            assert_eq!(ch.sni(), Some(sni));
            assert_eq!(ch.alpn_strings(), ["h3"]);
            assert!(ch.ja4('q').starts_with("q13d"));
        }
    }

    #[test]
    fn garbage_and_wrong_keys() {
        let real = include_bytes!("../../fixtures/quic/v1-c2.bin");
        let wrong = client_initial_keys(VERSION_1, b"other").unwrap();
        assert_eq!(initial_crypto_frames(real, &wrong), Err(QuicError::Decrypt));
        assert_eq!(initial_dcid(b"\x40short"), None);
        for n in 0..64 {
            let _ = initial_dcid(&real[..n]);
            let _ = initial_crypto_frames(&real[..n], &wrong);
        }
        for i in 0..64 {
            let mut g = real.to_vec();
            g[i] ^= 0xff;
            let _ = initial_dcid(&g)
                .map(|(v, d)| client_initial_keys(v, d).map(|k| initial_crypto_frames(&g, &k)));
        }
        let mut frames = Vec::new();
        assert!(read_frames(&[0x06, 0x40], &mut frames).is_err());
        assert!(read_frames(&[0x02, 0xff], &mut frames).is_err());
    }
}
