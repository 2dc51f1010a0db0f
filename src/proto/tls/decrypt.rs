//! Record protection: opening TLS 1.3 / DTLS 1.3 records with traffic keys
//! and TLS ≤ 1.2 / DTLS ≤ 1.2 records with a key block (AEAD, CBC with
//! HMAC incl. Encrypt-then-MAC and TLS 1.0 IV chaining, RC4, NULL).
//!
//! Every `open` works in place on a caller-owned buffer and returns where the
//! plaintext is, so the record hot path neither allocates nor moves bytes.
//! Keys never appear in `Debug` output.

use super::keys::{self, Aead, AeadAlg, HashAlg, KeyError};
use super::prf::{self, PrfAlg};
use super::suites::{Bulk, Kx, MacAlg, Suite};
use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use std::fmt;
use std::ops::Range;

/// Strips TLS 1.3 inner-plaintext padding: returns the real content type and
/// the content length (`content || type || zeros`).
pub fn strip_inner(plain: &[u8]) -> Option<(u8, usize)> {
    let last = plain.iter().rposition(|&b| b != 0)?;
    Some((plain[last], last))
}

/// A TLS 1.3 / DTLS 1.3 traffic key: AEAD, IV and the secret it came from
/// (kept for KeyUpdate).
pub struct TrafficKey {
    aead: Aead,
    iv: [u8; 12],
    secret: Vec<u8>,
    alg: AeadAlg,
    hash: HashAlg,
    prefix: &'static [u8],
}

impl fmt::Debug for TrafficKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrafficKey({}, <key redacted>)", self.alg.name())
    }
}

impl TrafficKey {
    /// Expands `key` and `iv` from a traffic secret (`prefix` is `tls13 ` or `dtls13`).
    pub fn derive(
        alg: AeadAlg,
        hash: HashAlg,
        secret: &[u8],
        prefix: &'static [u8],
    ) -> Result<TrafficKey, KeyError> {
        let key = keys::expand_label(hash, secret, prefix, b"key", b"", alg.key_len())?;
        let iv = keys::expand_label(hash, secret, prefix, b"iv", b"", 12)?;
        let iv: [u8; 12] = iv.try_into().map_err(|_| KeyError("bad IV length"))?;
        Ok(TrafficKey {
            aead: Aead::new(alg, &key)?,
            iv,
            secret: secret.to_vec(),
            alg,
            hash,
            prefix,
        })
    }

    /// The next generation after a KeyUpdate (`traffic upd`).
    pub fn next(&self) -> Result<TrafficKey, KeyError> {
        let s = keys::expand_label(
            self.hash,
            &self.secret,
            self.prefix,
            b"traffic upd",
            b"",
            self.hash.output_len(),
        )?;
        TrafficKey::derive(self.alg, self.hash, &s, self.prefix)
    }

    /// DTLS 1.3 record-number key (`sn`).
    pub fn sn_key(&self) -> Result<Vec<u8>, KeyError> {
        keys::expand_label(
            self.hash,
            &self.secret,
            self.prefix,
            b"sn",
            b"",
            self.alg.key_len(),
        )
    }

    pub fn alg(&self) -> AeadAlg {
        self.alg
    }

    /// Opens a record whose `ciphertext || tag` is `buf`; returns the inner
    /// content type and content length (content is `buf[..len]`).
    pub fn open(&self, seq: u64, aad: &[u8], buf: &mut [u8]) -> Option<(u8, usize)> {
        let nonce = keys::xor_nonce(&self.iv, seq);
        let n = self.aead.open_in(&nonce, aad, buf)?;
        strip_inner(&buf[..n])
    }

    /// Encrypts `content || type` in place (tests and fixture builders).
    pub fn seal(&self, seq: u64, aad: &[u8], buf: &mut Vec<u8>) -> bool {
        self.aead.seal(&keys::xor_nonce(&self.iv, seq), aad, buf)
    }
}

/// AEAD and hash of a TLS 1.3 suite.
pub fn tls13_algs(suite: u16) -> Option<(AeadAlg, HashAlg)> {
    Some(match suite {
        0x1301 => (AeadAlg::Aes128Gcm, HashAlg::Sha256),
        0x1302 => (AeadAlg::Aes256Gcm, HashAlg::Sha384),
        0x1303 => (AeadAlg::ChaCha20Poly1305, HashAlg::Sha256),
        0x1304 => (AeadAlg::Aes128Ccm, HashAlg::Sha256),
        0x1305 => (AeadAlg::Aes128Ccm8, HashAlg::Sha256),
        _ => return None,
    })
}

/// DTLS 1.3 record-number mask (RFC 9147 §4.2.3) over the first 16 ciphertext bytes.
pub fn dtls13_sn_mask(alg: AeadAlg, sn_key: &[u8], sample: &[u8]) -> Option<[u8; 16]> {
    let sample: [u8; 16] = sample.get(..16)?.try_into().ok()?;
    match alg {
        AeadAlg::ChaCha20Poly1305 => {
            use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
            let counter = u32::from_le_bytes([sample[0], sample[1], sample[2], sample[3]]);
            let mut c = chacha20::ChaCha20::new_from_slices(sn_key, &sample[4..16]).ok()?;
            c.try_seek(counter as u64 * 64).ok()?;
            let mut mask = [0u8; 16];
            c.try_apply_keystream(&mut mask).ok()?;
            Some(mask)
        }
        _ => {
            let mut block = Array::from(sample);
            match sn_key.len() {
                16 => aes::Aes128::new_from_slice(sn_key)
                    .ok()?
                    .encrypt_block(&mut block),
                32 => aes::Aes256::new_from_slice(sn_key)
                    .ok()?
                    .encrypt_block(&mut block),
                _ => return None,
            }
            Some(block.into())
        }
    }
}

/// Pre-keyed HMAC for TLS ≤ 1.2 record MACs.
#[derive(Clone)]
enum MacKey {
    Md5(Hmac<md5::Md5>),
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
    Sha384(Hmac<sha2::Sha384>),
}

impl MacKey {
    fn new(alg: MacAlg, key: &[u8]) -> Option<MacKey> {
        Some(match alg {
            MacAlg::Md5 => MacKey::Md5(Hmac::new_from_slice(key).ok()?),
            MacAlg::Sha1 => MacKey::Sha1(Hmac::new_from_slice(key).ok()?),
            MacAlg::Sha256 => MacKey::Sha256(Hmac::new_from_slice(key).ok()?),
            MacAlg::Sha384 => MacKey::Sha384(Hmac::new_from_slice(key).ok()?),
            MacAlg::Aead => return None,
        })
    }

    fn len(&self) -> usize {
        match self {
            MacKey::Md5(_) => 16,
            MacKey::Sha1(_) => 20,
            MacKey::Sha256(_) => 32,
            MacKey::Sha384(_) => 48,
        }
    }

    /// Checks `HMAC(seq | type | version | len | content) == tag`.
    fn verify(&self, head: &[u8; 13], content: &[u8], tag: &[u8]) -> bool {
        fn run<M: Mac + Clone>(m: &M, head: &[u8], content: &[u8], tag: &[u8]) -> bool {
            let mut m = m.clone();
            m.update(head);
            m.update(content);
            m.verify_slice(tag).is_ok()
        }
        match self {
            MacKey::Md5(m) => run(m, head, content, tag),
            MacKey::Sha1(m) => run(m, head, content, tag),
            MacKey::Sha256(m) => run(m, head, content, tag),
            MacKey::Sha384(m) => run(m, head, content, tag),
        }
    }
}

/// The 13-byte MAC / AEAD pseudo-header: `seq | type | version | length`.
pub fn pseudo_header(seq: [u8; 8], content_type: u8, version: u16, len: usize) -> [u8; 13] {
    let mut h = [0u8; 13];
    h[..8].copy_from_slice(&seq);
    h[8] = content_type;
    h[9..11].copy_from_slice(&version.to_be_bytes());
    h[11..13].copy_from_slice(&(len as u16).to_be_bytes());
    h
}

/// RC4 keystream state (RFC 6229 test vector in the tests).
#[derive(Clone)]
struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    fn new(key: &[u8]) -> Rc4 {
        let mut s = [0u8; 256];
        for (i, v) in s.iter_mut().enumerate() {
            *v = i as u8;
        }
        let mut j = 0u8;
        if !key.is_empty() {
            for i in 0..256 {
                j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
                s.swap(i, j as usize);
            }
        }
        Rc4 { s, i: 0, j: 0 }
    }

    fn apply(&mut self, data: &mut [u8]) {
        for b in data {
            self.i = self.i.wrapping_add(1);
            self.j = self.j.wrapping_add(self.s[self.i as usize]);
            self.s.swap(self.i as usize, self.j as usize);
            let k = self.s[self.s[self.i as usize].wrapping_add(self.s[self.j as usize]) as usize];
            *b ^= k;
        }
    }
}

enum AesKey {
    A128(Box<aes::Aes128>),
    A256(Box<aes::Aes256>),
}

impl AesKey {
    fn new(key: &[u8]) -> Option<AesKey> {
        Some(match key.len() {
            16 => AesKey::A128(Box::new(aes::Aes128::new_from_slice(key).ok()?)),
            32 => AesKey::A256(Box::new(aes::Aes256::new_from_slice(key).ok()?)),
            _ => return None,
        })
    }

    /// CBC-decrypts whole blocks in place.
    fn cbc_decrypt(&self, iv: &[u8; 16], data: &mut [u8]) {
        let mut prev = *iv;
        for chunk in data.chunks_exact_mut(16) {
            let mut ct = [0u8; 16];
            ct.copy_from_slice(chunk);
            let mut block = Array::from(ct);
            match self {
                AesKey::A128(k) => k.decrypt_block(&mut block),
                AesKey::A256(k) => k.decrypt_block(&mut block),
            }
            for ((o, b), p) in chunk.iter_mut().zip(block.iter()).zip(prev.iter()) {
                *o = b ^ p;
            }
            prev = ct;
        }
    }
}

enum Kind12 {
    Null,
    Rc4(Box<Rc4>),
    Cbc {
        aes: AesKey,
        /// TLS 1.0: the IV chained from the previous record; else explicit IVs.
        chained: Option<[u8; 16]>,
    },
    /// AES-GCM / AES-CCM: 4-byte salt from the key block, 8-byte explicit nonce.
    SaltedAead {
        aead: Aead,
        salt: [u8; 4],
    },
    /// ChaCha20-Poly1305 (RFC 7905): 12-byte IV XOR sequence number.
    XorAead {
        aead: Aead,
        iv: [u8; 12],
    },
}

/// One direction's TLS ≤ 1.2 / DTLS ≤ 1.2 record cipher.
pub struct Cipher12 {
    kind: Kind12,
    mac: Option<MacKey>,
    etm: bool,
    /// MAC bytes removed without checking (NULL cipher read without keys).
    strip: usize,
}

impl fmt::Debug for Cipher12 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = match self.kind {
            Kind12::Null => "null",
            Kind12::Rc4(_) => "rc4",
            Kind12::Cbc { .. } => "cbc",
            Kind12::SaltedAead { .. } => "aead-explicit-nonce",
            Kind12::XorAead { .. } => "aead-xor-nonce",
        };
        write!(f, "Cipher12({k}, etm={}, <keys redacted>)", self.etm)
    }
}

/// Why a TLS ≤ 1.2 cipher could not be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    UnsupportedSuite(u16),
    UnsupportedVersion(u16),
    BadKeys,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::UnsupportedSuite(s) => write!(f, "unsupported cipher suite 0x{s:04x}"),
            SetupError::UnsupportedVersion(v) => {
                write!(f, "unsupported protocol version 0x{v:04x}")
            }
            SetupError::BadKeys => f.write_str("key block could not be derived"),
        }
    }
}

/// The PRF of a TLS / DTLS ≤ 1.2 version and suite.
pub fn prf_for(version: u16, suite: &Suite) -> Result<PrfAlg, SetupError> {
    match version {
        0x0303 | 0xfefd => Ok(if suite.sha384 {
            PrfAlg::Sha384
        } else {
            PrfAlg::Sha256
        }),
        0x0301 | 0x0302 | 0xfeff => Ok(PrfAlg::Md5Sha1),
        v => Err(SetupError::UnsupportedVersion(v)),
    }
}

impl Cipher12 {
    /// Builds the client and server ciphers from a master secret.
    /// `version` is the negotiated record version (TLS 0x0301–0x0303 or DTLS 0xfeff/0xfefd).
    pub fn pair(
        suite_id: u16,
        version: u16,
        master: &[u8],
        client_random: &[u8],
        server_random: &[u8],
        etm: bool,
    ) -> Result<[Cipher12; 2], SetupError> {
        let suite = Suite::get(suite_id).ok_or(SetupError::UnsupportedSuite(suite_id))?;
        let (key_len, iv_len, mac_len) = suite
            .key_lengths()
            .ok_or(SetupError::UnsupportedSuite(suite_id))?;
        let prf_alg = prf_for(version, &suite)?;
        let total = 2 * (key_len + iv_len + mac_len);
        let kb = prf::key_block(prf_alg, master, client_random, server_random, total);
        let (cmac, rest) = kb.split_at(mac_len);
        let (smac, rest) = rest.split_at(mac_len);
        let (ckey, rest) = rest.split_at(key_len);
        let (skey, rest) = rest.split_at(key_len);
        let (civ, siv) = rest.split_at(iv_len);
        let export = suite.kx == Kx::RsaExport;
        let tls10 = version == 0x0301;
        let make = |mac: &[u8], key: &[u8], iv: &[u8], label: &[u8]| -> Option<Cipher12> {
            let key = if export {
                // RFC 2246 §6.3: final export keys from the 5-byte secret part.
                let mut k = vec![0u8; 16];
                prf::prf(prf_alg, key, label, &[client_random, server_random], &mut k);
                k
            } else {
                key.to_vec()
            };
            let kind = match suite.bulk {
                Bulk::Null => Kind12::Null,
                Bulk::Rc4_128 | Bulk::Rc4_40 => Kind12::Rc4(Box::new(Rc4::new(&key))),
                Bulk::Aes128Cbc | Bulk::Aes256Cbc => Kind12::Cbc {
                    aes: AesKey::new(&key)?,
                    chained: if tls10 { iv.try_into().ok() } else { None },
                },
                Bulk::Aes128Gcm | Bulk::Aes256Gcm | Bulk::Aes128Ccm | Bulk::Aes128Ccm8 => {
                    let alg = match suite.bulk {
                        Bulk::Aes128Gcm => AeadAlg::Aes128Gcm,
                        Bulk::Aes256Gcm => AeadAlg::Aes256Gcm,
                        Bulk::Aes128Ccm => AeadAlg::Aes128Ccm,
                        _ => AeadAlg::Aes128Ccm8,
                    };
                    Kind12::SaltedAead {
                        aead: Aead::new(alg, &key).ok()?,
                        salt: iv.try_into().ok()?,
                    }
                }
                Bulk::ChaCha20Poly1305 => Kind12::XorAead {
                    aead: Aead::new(AeadAlg::ChaCha20Poly1305, &key).ok()?,
                    iv: iv.try_into().ok()?,
                },
                Bulk::Unsupported => return None,
            };
            let mac = if mac_len > 0 {
                Some(MacKey::new(suite.mac, mac)?)
            } else {
                None
            };
            Some(Cipher12 {
                kind,
                mac,
                etm: etm && matches!(suite.bulk, Bulk::Aes128Cbc | Bulk::Aes256Cbc),
                strip: 0,
            })
        };
        let c = make(cmac, ckey, civ, b"client write key").ok_or(SetupError::BadKeys)?;
        let s = make(smac, skey, siv, b"server write key").ok_or(SetupError::BadKeys)?;
        Ok([c, s])
    }

    /// A NULL cipher without keys: the content is in the clear, the MAC is
    /// removed but cannot be checked.
    pub fn null_unverified(mac: MacAlg) -> Cipher12 {
        Cipher12 {
            kind: Kind12::Null,
            mac: None,
            etm: false,
            strip: mac.len(),
        }
    }

    /// True for NULL ciphers: the content was readable without any key.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind12::Null)
    }

    /// Opens one record fragment in place. `seq` is the 64-bit sequence
    /// number (DTLS: `epoch || seq48`). Returns where the plaintext is in `buf`.
    pub fn open(
        &mut self,
        seq: [u8; 8],
        content_type: u8,
        version: u16,
        buf: &mut [u8],
    ) -> Option<Range<usize>> {
        let maclen = self.mac.as_ref().map_or(self.strip, MacKey::len);
        match &mut self.kind {
            Kind12::Null => {
                let n = buf.len().checked_sub(maclen)?;
                let head = pseudo_header(seq, content_type, version, n);
                let ok = self
                    .mac
                    .as_ref()
                    .is_none_or(|m| m.verify(&head, &buf[..n], &buf[n..]));
                ok.then_some(0..n)
            }
            Kind12::Rc4(rc4) => {
                rc4.apply(buf);
                let n = buf.len().checked_sub(maclen)?;
                let head = pseudo_header(seq, content_type, version, n);
                let ok = self
                    .mac
                    .as_ref()
                    .is_none_or(|m| m.verify(&head, &buf[..n], &buf[n..]));
                ok.then_some(0..n)
            }
            Kind12::SaltedAead { aead, salt } => {
                let tag = aead.tag_len();
                let plen = buf.len().checked_sub(8 + tag)?;
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(salt);
                nonce[4..].copy_from_slice(&buf[..8]);
                let aad = pseudo_header(seq, content_type, version, plen);
                let n = aead.open_in(&nonce, &aad, &mut buf[8..])?;
                Some(8..8 + n)
            }
            Kind12::XorAead { aead, iv } => {
                let plen = buf.len().checked_sub(aead.tag_len())?;
                let nonce = keys::xor_nonce(iv, u64::from_be_bytes(seq));
                let aad = pseudo_header(seq, content_type, version, plen);
                let n = aead.open_in(&nonce, &aad, buf)?;
                Some(0..n)
            }
            Kind12::Cbc { aes, chained } => {
                let mac = self.mac.as_ref()?;
                if self.etm {
                    // Encrypt-then-MAC (RFC 7366): verify over IV || ciphertext first.
                    let n = buf.len().checked_sub(maclen)?;
                    let head = pseudo_header(seq, content_type, version, n);
                    let (body, tag) = buf.split_at_mut(n);
                    if !mac.verify(&head, body, tag) {
                        if let Some(iv) = chained
                            && body.len() >= 16
                        {
                            iv.copy_from_slice(&body[body.len() - 16..]);
                        }
                        return None;
                    }
                    let (start, data) = cbc_body(aes, body, chained)?;
                    let content = strip_cbc_padding(data)?;
                    return Some(start..start + content);
                }
                let (start, data) = cbc_body(aes, buf, chained)?;
                let plain = strip_cbc_padding(data)?;
                let n = plain.checked_sub(maclen)?;
                let head = pseudo_header(seq, content_type, version, n);
                mac.verify(&head, &data[..n], &data[n..plain])
                    .then_some(start..start + n)
            }
        }
    }
}

/// CBC-decrypts a record body in place; returns the offset of the plaintext
/// and the decrypted blocks. Explicit IV (TLS ≥ 1.1) or the chained IV (TLS 1.0).
fn cbc_body<'b>(
    aes: &AesKey,
    buf: &'b mut [u8],
    chained: &mut Option<[u8; 16]>,
) -> Option<(usize, &'b mut [u8])> {
    let start = if chained.is_some() { 0 } else { 16 };
    if buf.len() < start + 16 || !(buf.len() - start).is_multiple_of(16) {
        return None;
    }
    let (ivpart, data) = buf.split_at_mut(start);
    let iv: [u8; 16] = match chained {
        Some(iv) => {
            let cur = *iv;
            iv.copy_from_slice(&data[data.len() - 16..]);
            cur
        }
        None => ivpart.try_into().ok()?,
    };
    aes.cbc_decrypt(&iv, data);
    Some((start, data))
}

/// Removes TLS CBC padding (`pad_len + 1` bytes all equal to `pad_len`);
/// returns the length before it.
fn strip_cbc_padding(data: &[u8]) -> Option<usize> {
    let pad = *data.last()? as usize;
    let n = data.len().checked_sub(pad + 1)?;
    data[n..data.len() - 1]
        .iter()
        .all(|&b| b as usize == pad)
        .then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::keylog::hex;

    #[test]
    fn rc4_matches_rfc6229() {
        // RFC 6229 §2, 40-bit key 0102030405, keystream bytes 0..16.
        let mut buf = [0u8; 16];
        Rc4::new(&[1, 2, 3, 4, 5]).apply(&mut buf);
        assert_eq!(
            buf.to_vec(),
            hex("b2396305f03dc027ccc3524a0a1118a8").unwrap()
        );
    }

    #[test]
    fn inner_plaintext_padding_and_cbc_padding() {
        assert_eq!(strip_inner(b"abc\x17\0\0\0"), Some((23, 3)));
        assert_eq!(strip_inner(b"\x16"), Some((22, 0)));
        assert_eq!(strip_inner(&[0, 0, 0]), None);
        assert_eq!(strip_inner(&[]), None);
        assert_eq!(strip_cbc_padding(&[9, 9, 2, 2, 2]), Some(2));
        assert_eq!(strip_cbc_padding(&[9, 9, 1, 2, 2]), None);
        assert_eq!(strip_cbc_padding(&[0]), Some(0));
        assert_eq!(strip_cbc_padding(&[5]), None);
        assert_eq!(
            pseudo_header([0, 0, 0, 0, 0, 0, 0, 7], 23, 0x0303, 0x102),
            [0, 0, 0, 0, 0, 0, 0, 7, 23, 3, 3, 1, 2]
        );
    }

    #[test]
    fn rfc8448_server_flight_opens_and_wrong_sequence_fails() {
        let secret =
            hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38").unwrap();
        let k =
            TrafficKey::derive(AeadAlg::Aes128Gcm, HashAlg::Sha256, &secret, keys::TLS13).unwrap();
        let rec: Vec<u8> = crate::proto::tls::tests::rfc8448_exchanges()[1].1[95..].to_vec();
        assert_eq!(rec.len(), 679);
        let mut buf = rec[5..].to_vec();
        assert_eq!(k.open(0, &rec[..5], &mut buf), Some((22, 657)));
        assert_eq!(buf[0], 8, "EncryptedExtensions first");
        let mut buf = rec[5..].to_vec();
        assert_eq!(k.open(1, &rec[..5], &mut buf), None);
    }

    #[test]
    fn keys_never_show_in_debug() {
        let k = TrafficKey::derive(
            AeadAlg::Aes128Gcm,
            HashAlg::Sha256,
            &[0xab; 32],
            keys::TLS13,
        )
        .unwrap();
        let dbg = format!("{k:?}");
        assert!(
            dbg.contains("redacted") && !dbg.contains("171") && !dbg.contains("ab"),
            "{dbg}"
        );
        let [c, s] =
            Cipher12::pair(0xc02f, 0x0303, &[0xcd; 48], &[1; 32], &[2; 32], false).unwrap();
        let dbg = format!("{c:?} {s:?}");
        assert!(dbg.contains("redacted") && !dbg.contains("205"), "{dbg}");
    }

    #[test]
    fn unsupported_suites_and_versions_are_named() {
        let e = Cipher12::pair(0x000a, 0x0303, &[0; 48], &[0; 32], &[0; 32], false).unwrap_err();
        assert_eq!(e, SetupError::UnsupportedSuite(0x000a));
        let e = Cipher12::pair(0x002f, 0x0300, &[0; 48], &[0; 32], &[0; 32], false).unwrap_err();
        assert_eq!(e.to_string(), "unsupported protocol version 0x0300");
    }

    #[test]
    fn dtls13_record_number_mask_uses_the_ciphertext_sample() {
        let a = dtls13_sn_mask(AeadAlg::Aes128Gcm, &[7; 16], &[1; 16]).unwrap();
        let b = dtls13_sn_mask(AeadAlg::Aes128Gcm, &[7; 16], &[2; 16]).unwrap();
        assert_ne!(a, b);
        let c = dtls13_sn_mask(AeadAlg::ChaCha20Poly1305, &[7; 32], &[1; 16]).unwrap();
        assert_ne!(a, c);
        assert!(dtls13_sn_mask(AeadAlg::Aes128Gcm, &[7; 16], &[1; 15]).is_none());
    }
}
