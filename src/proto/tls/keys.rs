//! Key schedule primitives shared by TLS 1.3, DTLS 1.3 and QUIC, and the
//! AEAD ciphers their records use.
//!
//! HKDF-Expand-Label (RFC 8446 §7.1) with a configurable label prefix:
//! `"tls13 "` for TLS and QUIC, `"dtls13"` for DTLS 1.3.

use aes_gcm::{AeadInOut, KeyInit};
use hkdf::Hkdf;

/// The hash of a cipher suite's key schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sha384,
}

impl HashAlg {
    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
        }
    }
}

/// The label prefix of HKDF-Expand-Label.
pub const TLS13: &[u8] = b"tls13 ";
pub const DTLS13: &[u8] = b"dtls13";

/// Why a key could not be derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub &'static str);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for KeyError {}

/// HKDF-Expand-Label(secret, label, context, len) with `prefix` before the label.
pub fn expand_label(
    hash: HashAlg,
    secret: &[u8],
    prefix: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Result<Vec<u8>, KeyError> {
    if prefix.len() + label.len() > 255 || context.len() > 255 || len > u16::MAX as usize {
        return Err(KeyError("HKDF label too long"));
    }
    let len16 = (len as u16).to_be_bytes();
    let llen = [(prefix.len() + label.len()) as u8];
    let clen = [context.len() as u8];
    let info: [&[u8]; 6] = [&len16, &llen, prefix, label, &clen, context];
    let mut out = vec![0u8; len];
    match hash {
        HashAlg::Sha256 => Hkdf::<sha2::Sha256>::from_prk(secret)
            .map_err(|_| KeyError("secret shorter than the hash"))?
            .expand_multi_info(&info, &mut out)
            .map_err(|_| KeyError("HKDF output too long"))?,
        HashAlg::Sha384 => Hkdf::<sha2::Sha384>::from_prk(secret)
            .map_err(|_| KeyError("secret shorter than the hash"))?
            .expand_multi_info(&info, &mut out)
            .map_err(|_| KeyError("HKDF output too long"))?,
    }
    Ok(out)
}

/// HKDF-Extract(salt, ikm).
pub fn extract(hash: HashAlg, salt: &[u8], ikm: &[u8]) -> Vec<u8> {
    match hash {
        HashAlg::Sha256 => Hkdf::<sha2::Sha256>::extract(Some(salt), ikm).0.to_vec(),
        HashAlg::Sha384 => Hkdf::<sha2::Sha384>::extract(Some(salt), ikm).0.to_vec(),
    }
}

/// The AEAD algorithms of TLS 1.2/1.3, DTLS and QUIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadAlg {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
    Aes128Ccm,
    Aes128Ccm8,
}

impl AeadAlg {
    pub fn key_len(self) -> usize {
        match self {
            AeadAlg::Aes128Gcm | AeadAlg::Aes128Ccm | AeadAlg::Aes128Ccm8 => 16,
            AeadAlg::Aes256Gcm | AeadAlg::ChaCha20Poly1305 => 32,
        }
    }

    pub fn tag_len(self) -> usize {
        match self {
            AeadAlg::Aes128Ccm8 => 8,
            _ => 16,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AeadAlg::Aes128Gcm => "AES-128-GCM",
            AeadAlg::Aes256Gcm => "AES-256-GCM",
            AeadAlg::ChaCha20Poly1305 => "ChaCha20-Poly1305",
            AeadAlg::Aes128Ccm => "AES-128-CCM",
            AeadAlg::Aes128Ccm8 => "AES-128-CCM-8",
        }
    }
}

type Aes128Ccm = ccm::Ccm<aes::Aes128, ccm::consts::U16, ccm::consts::U12>;
type Aes128Ccm8 = ccm::Ccm<aes::Aes128, ccm::consts::U8, ccm::consts::U12>;

/// A keyed AEAD instance (key schedule done once, reused for every record).
pub enum Aead {
    Aes128Gcm(Box<aes_gcm::Aes128Gcm>),
    Aes256Gcm(Box<aes_gcm::Aes256Gcm>),
    ChaCha20Poly1305(Box<chacha20poly1305::ChaCha20Poly1305>),
    Aes128Ccm(Box<Aes128Ccm>),
    Aes128Ccm8(Box<Aes128Ccm8>),
}

impl std::fmt::Debug for Aead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Aead(<key redacted>)")
    }
}

impl Aead {
    pub fn new(alg: AeadAlg, key: &[u8]) -> Result<Aead, KeyError> {
        let bad = |_| KeyError("wrong AEAD key length");
        Ok(match alg {
            AeadAlg::Aes128Gcm => Aead::Aes128Gcm(Box::new(
                aes_gcm::Aes128Gcm::new_from_slice(key).map_err(bad)?,
            )),
            AeadAlg::Aes256Gcm => Aead::Aes256Gcm(Box::new(
                aes_gcm::Aes256Gcm::new_from_slice(key).map_err(bad)?,
            )),
            AeadAlg::ChaCha20Poly1305 => Aead::ChaCha20Poly1305(Box::new(
                chacha20poly1305::ChaCha20Poly1305::new_from_slice(key).map_err(bad)?,
            )),
            AeadAlg::Aes128Ccm => {
                Aead::Aes128Ccm(Box::new(Aes128Ccm::new_from_slice(key).map_err(bad)?))
            }
            AeadAlg::Aes128Ccm8 => {
                Aead::Aes128Ccm8(Box::new(Aes128Ccm8::new_from_slice(key).map_err(bad)?))
            }
        })
    }

    pub fn tag_len(&self) -> usize {
        match self {
            Aead::Aes128Ccm8(_) => 8,
            _ => 16,
        }
    }

    /// Decrypts `ciphertext || tag` in place; on success `buf` holds the plaintext.
    /// Returns false when authentication fails (wrong key, wrong sequence number).
    pub fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut Vec<u8>) -> bool {
        let t = self.tag_len();
        if buf.len() < t {
            return false;
        }
        let split = buf.len() - t;
        let (ct, tag) = buf.split_at_mut(split);
        let ok = match self {
            Aead::Aes128Gcm(a) => open_detached(&**a, nonce, aad, ct, tag),
            Aead::Aes256Gcm(a) => open_detached(&**a, nonce, aad, ct, tag),
            Aead::ChaCha20Poly1305(a) => open_detached(&**a, nonce, aad, ct, tag),
            Aead::Aes128Ccm(a) => open_detached(&**a, nonce, aad, ct, tag),
            Aead::Aes128Ccm8(a) => open_detached(&**a, nonce, aad, ct, tag),
        };
        if ok {
            buf.truncate(split);
        }
        ok
    }

    /// Decrypts `ciphertext || tag` held in a slice, in place; returns the
    /// plaintext length (the plaintext is `buf[..len]`). Used on the record
    /// hot path so nothing is moved or allocated.
    pub fn open_in(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Option<usize> {
        let t = self.tag_len();
        let split = buf.len().checked_sub(t)?;
        let (ct, tag) = buf.split_at_mut(split);
        let ok = match self {
            Aead::Aes128Gcm(a) => open_detached(&**a, nonce, aad, ct, tag),
            Aead::Aes256Gcm(a) => open_detached(&**a, nonce, aad, ct, tag),
            Aead::ChaCha20Poly1305(a) => open_detached(&**a, nonce, aad, ct, tag),
            Aead::Aes128Ccm(a) => open_detached(&**a, nonce, aad, ct, tag),
            Aead::Aes128Ccm8(a) => open_detached(&**a, nonce, aad, ct, tag),
        };
        ok.then_some(split)
    }

    /// Encrypts in place, appending the tag (used by tests and fixture builders).
    pub fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut Vec<u8>) -> bool {
        let tag = match self {
            Aead::Aes128Gcm(a) => seal_detached(&**a, nonce, aad, buf),
            Aead::Aes256Gcm(a) => seal_detached(&**a, nonce, aad, buf),
            Aead::ChaCha20Poly1305(a) => seal_detached(&**a, nonce, aad, buf),
            Aead::Aes128Ccm(a) => seal_detached(&**a, nonce, aad, buf),
            Aead::Aes128Ccm8(a) => seal_detached(&**a, nonce, aad, buf),
        };
        match tag {
            Some(t) => {
                buf.extend_from_slice(&t);
                true
            }
            None => false,
        }
    }
}

fn open_detached<A: AeadInOut>(
    a: &A,
    nonce: &[u8; 12],
    aad: &[u8],
    ct: &mut [u8],
    tag: &[u8],
) -> bool {
    let Ok(n) = aes_gcm::aead::Nonce::<A>::try_from(&nonce[..]) else {
        return false;
    };
    let Ok(t) = aes_gcm::aead::Tag::<A>::try_from(tag) else {
        return false;
    };
    a.decrypt_inout_detached(&n, aad, ct.into(), &t).is_ok()
}

fn seal_detached<A: AeadInOut>(
    a: &A,
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
) -> Option<Vec<u8>> {
    let n = aes_gcm::aead::Nonce::<A>::try_from(&nonce[..]).ok()?;
    a.encrypt_inout_detached(&n, aad, buf.into())
        .ok()
        .map(|t| t.to_vec())
}

/// `iv XOR (0^4 || seq_be64)`: the per-record nonce of TLS 1.3, DTLS 1.3,
/// QUIC (with the packet number) and TLS 1.2 ChaCha20.
pub fn xor_nonce(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut n = *iv;
    for (i, b) in seq.to_be_bytes().iter().enumerate() {
        n[4 + i] ^= b;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::keylog::hex;

    #[test]
    fn rfc8448_server_handshake_key_and_iv() {
        let secret =
            hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38").unwrap();
        let key = expand_label(HashAlg::Sha256, &secret, TLS13, b"key", b"", 16).unwrap();
        let iv = expand_label(HashAlg::Sha256, &secret, TLS13, b"iv", b"", 12).unwrap();
        assert_eq!(key, hex("3fce516009c21727d0f2e4e86ee403bc").unwrap());
        assert_eq!(iv, hex("5d313eb2671276ee13000b30").unwrap());
    }

    #[test]
    fn quic_v1_initial_client_keys() {
        // RFC 9001 A.1 with DCID 8394c8f03e515708.
        let salt = hex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a").unwrap();
        let dcid = hex("8394c8f03e515708").unwrap();
        let initial = extract(HashAlg::Sha256, &salt, &dcid);
        let client = expand_label(HashAlg::Sha256, &initial, TLS13, b"client in", b"", 32).unwrap();
        let key = expand_label(HashAlg::Sha256, &client, TLS13, b"quic key", b"", 16).unwrap();
        let hp = expand_label(HashAlg::Sha256, &client, TLS13, b"quic hp", b"", 16).unwrap();
        assert_eq!(key, hex("1f369613dd76d5467730efcbe3b1a22d").unwrap());
        assert_eq!(hp, hex("9f50449e04a0e810283a1e9933adedd2").unwrap());
    }

    #[test]
    fn aead_round_trip_and_tamper_detection() {
        for alg in [
            AeadAlg::Aes128Gcm,
            AeadAlg::Aes256Gcm,
            AeadAlg::ChaCha20Poly1305,
            AeadAlg::Aes128Ccm,
            AeadAlg::Aes128Ccm8,
        ] {
            let key = vec![7u8; alg.key_len()];
            let a = Aead::new(alg, &key).unwrap();
            let nonce = xor_nonce(&[1u8; 12], 5);
            let mut buf = b"hello canary".to_vec();
            assert!(a.seal(&nonce, b"aad", &mut buf));
            assert_eq!(buf.len(), 12 + alg.tag_len());
            let mut bad = buf.clone();
            bad[0] ^= 1;
            assert!(!a.open(&nonce, b"aad", &mut bad), "{}", alg.name());
            assert!(a.open(&nonce, b"aad", &mut buf), "{}", alg.name());
            assert_eq!(buf, b"hello canary");
        }
        assert!(Aead::new(AeadAlg::Aes128Gcm, &[0u8; 5]).is_err());
    }

    #[test]
    fn nonce_xor_uses_low_eight_bytes() {
        let n = xor_nonce(&[0u8; 12], 0x0102);
        assert_eq!(n, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
    }
}
