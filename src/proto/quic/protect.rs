//! QUIC packet protection (RFC 9001 §5): packet keys from a traffic secret,
//! header protection (AES-ECB or ChaCha20 masks), packet-number recovery and
//! AEAD opening. Initial keys come from a public salt and the client's
//! original Destination Connection ID, so anyone can compute them.
//!
//! Key material lives only in these types; none of them implements `Debug`
//! with the key bytes.

use super::version::Labels;
use crate::proto::tls::keys::{self, Aead, AeadAlg, HashAlg, KeyError, TLS13};
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};

/// The parts of a TLS 1.3 cipher suite QUIC packet protection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    pub hash: HashAlg,
    pub aead: AeadAlg,
}

/// TLS 1.3 suites usable with QUIC (RFC 9001 §5.3; CCM-8 is excluded there).
pub fn suite(id: u16) -> Option<Suite> {
    let (hash, aead) = match id {
        0x1301 => (HashAlg::Sha256, AeadAlg::Aes128Gcm),
        0x1302 => (HashAlg::Sha384, AeadAlg::Aes256Gcm),
        0x1303 => (HashAlg::Sha256, AeadAlg::ChaCha20Poly1305),
        0x1304 => (HashAlg::Sha256, AeadAlg::Aes128Ccm),
        _ => return None,
    };
    Some(Suite { id, hash, aead })
}

/// Suites a secret of this length may belong to, most common first (used
/// when the ServerHello is missing from the capture).
pub fn suites_for_secret_len(len: usize) -> &'static [u16] {
    match len {
        48 => &[0x1302],
        32 => &[0x1301, 0x1303, 0x1304],
        _ => &[],
    }
}

/// The Initial suite: AES-128-GCM with SHA-256 (RFC 9001 §5.2).
pub const INITIAL_SUITE: Suite = Suite {
    id: 0x1301,
    hash: HashAlg::Sha256,
    aead: AeadAlg::Aes128Gcm,
};

/// A header-protection key.
pub enum HpKey {
    Aes128(Box<aes::Aes128>),
    Aes256(Box<aes::Aes256>),
    ChaCha20(Box<[u8; 32]>),
}

impl HpKey {
    pub fn new(alg: AeadAlg, key: &[u8]) -> Result<HpKey, KeyError> {
        let bad = |_| KeyError("wrong header protection key length");
        Ok(match alg {
            AeadAlg::Aes128Gcm | AeadAlg::Aes128Ccm | AeadAlg::Aes128Ccm8 => {
                HpKey::Aes128(Box::new(aes::Aes128::new_from_slice(key).map_err(bad)?))
            }
            AeadAlg::Aes256Gcm => {
                HpKey::Aes256(Box::new(aes::Aes256::new_from_slice(key).map_err(bad)?))
            }
            AeadAlg::ChaCha20Poly1305 => HpKey::ChaCha20(Box::new(
                key.try_into()
                    .map_err(|_| KeyError("wrong header protection key length"))?,
            )),
        })
    }

    /// The 5-byte mask for a 16-byte ciphertext sample (RFC 9001 §5.4.3, §5.4.4).
    pub fn mask(&self, sample: &[u8; 16]) -> [u8; 5] {
        let mut out = [0u8; 5];
        match self {
            HpKey::Aes128(c) => {
                let mut block = aes::Block::from(*sample);
                c.encrypt_block(&mut block);
                out.copy_from_slice(&block[..5]);
            }
            HpKey::Aes256(c) => {
                let mut block = aes::Block::from(*sample);
                c.encrypt_block(&mut block);
                out.copy_from_slice(&block[..5]);
            }
            HpKey::ChaCha20(key) => {
                let counter = u32::from_le_bytes([sample[0], sample[1], sample[2], sample[3]]);
                let nonce: [u8; 12] = sample[4..].try_into().unwrap_or([0; 12]);
                let mut c = chacha20::ChaCha20::new(&(**key).into(), &nonce.into());
                c.seek(u64::from(counter) * 64);
                c.apply_keystream(&mut out);
            }
        }
        out
    }
}

/// An AEAD key with its IV.
pub struct PacketKey {
    aead: Aead,
    iv: [u8; 12],
}

impl PacketKey {
    /// `quic key` / `quic iv` from a traffic secret.
    pub fn derive(suite: Suite, secret: &[u8], labels: &Labels) -> Result<PacketKey, KeyError> {
        let key = keys::expand_label(
            suite.hash,
            secret,
            TLS13,
            labels.key,
            b"",
            suite.aead.key_len(),
        )?;
        let iv = keys::expand_label(suite.hash, secret, TLS13, labels.iv, b"", 12)?;
        Ok(PacketKey {
            aead: Aead::new(suite.aead, &key)?,
            iv: iv.try_into().map_err(|_| KeyError("bad IV length"))?,
        })
    }

    pub fn tag_len(&self) -> usize {
        self.aead.tag_len()
    }
}

/// Keys of one direction in one packet-number space.
pub struct DirKeys {
    pub hp: HpKey,
    pub pkt: PacketKey,
}

impl DirKeys {
    pub fn derive(suite: Suite, secret: &[u8], labels: &Labels) -> Result<DirKeys, KeyError> {
        let hp = keys::expand_label(
            suite.hash,
            secret,
            TLS13,
            labels.hp,
            b"",
            suite.aead.key_len(),
        )?;
        Ok(DirKeys {
            hp: HpKey::new(suite.aead, &hp)?,
            pkt: PacketKey::derive(suite, secret, labels)?,
        })
    }
}

/// The next 1-RTT secret after a key update (RFC 9001 §6.1).
pub fn next_secret(suite: Suite, secret: &[u8], labels: &Labels) -> Result<Vec<u8>, KeyError> {
    keys::expand_label(
        suite.hash,
        secret,
        TLS13,
        labels.ku,
        b"",
        suite.hash.output_len(),
    )
}

/// Client and server Initial secrets for a salt and the client's original DCID.
pub fn initial_secrets(salt: &[u8], dcid: &[u8]) -> Result<(Vec<u8>, Vec<u8>), KeyError> {
    let initial = keys::extract(HashAlg::Sha256, salt, dcid);
    let c = keys::expand_label(HashAlg::Sha256, &initial, TLS13, b"client in", b"", 32)?;
    let s = keys::expand_label(HashAlg::Sha256, &initial, TLS13, b"server in", b"", 32)?;
    Ok((c, s))
}

/// Client and server Initial keys.
pub fn initial_keys(
    salt: &[u8],
    dcid: &[u8],
    labels: &Labels,
) -> Result<(DirKeys, DirKeys), KeyError> {
    let (c, s) = initial_secrets(salt, dcid)?;
    Ok((
        DirKeys::derive(INITIAL_SUITE, &c, labels)?,
        DirKeys::derive(INITIAL_SUITE, &s, labels)?,
    ))
}

/// A header with protection removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unprotected {
    /// The first byte with its protected bits restored.
    pub first: u8,
    pub pn_len: usize,
    /// The packet number as sent (1-4 low bytes).
    pub truncated_pn: u64,
    /// The whole header up to and including the packet number, unprotected: the AAD.
    pub header: Vec<u8>,
}

impl Unprotected {
    /// The key-phase bit of a short header.
    pub fn key_phase(&self) -> bool {
        self.first & 0x04 != 0
    }
}

/// Removes header protection from the packet `pkt` (which starts at its first
/// byte) with the packet number at `pn_offset`. `None` when the packet is too
/// short to hold a sample.
pub fn remove_header_protection(pkt: &[u8], pn_offset: usize, hp: &HpKey) -> Option<Unprotected> {
    let sample: &[u8; 16] = pkt.get(pn_offset + 4..pn_offset + 20)?.try_into().ok()?;
    let mask = hp.mask(sample);
    let long = pkt.first()? & 0x80 != 0;
    let first = pkt[0] ^ (mask[0] & if long { 0x0f } else { 0x1f });
    let pn_len = usize::from(first & 3) + 1;
    let mut header = pkt.get(..pn_offset + pn_len)?.to_vec();
    header[0] = first;
    let mut truncated_pn = 0u64;
    for i in 0..pn_len {
        let b = header[pn_offset + i] ^ mask[1 + i];
        header[pn_offset + i] = b;
        truncated_pn = (truncated_pn << 8) | u64::from(b);
    }
    Some(Unprotected {
        first,
        pn_len,
        truncated_pn,
        header,
    })
}

/// The full packet number closest to the next expected one (RFC 9000 §A.3).
pub fn decode_packet_number(largest: Option<u64>, truncated: u64, pn_len: usize) -> u64 {
    let expected = largest.map_or(0, |l| l.saturating_add(1));
    let bits = (pn_len.clamp(1, 4) * 8) as u32;
    let win = 1u64 << bits;
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | truncated;
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// Opens the payload that follows the unprotected header, up to `end` (the
/// packet's length). Returns the plaintext frames.
pub fn open(key: &PacketKey, pkt: &[u8], end: usize, h: &Unprotected, pn: u64) -> Option<Vec<u8>> {
    let body = pkt.get(h.header.len()..end)?;
    if body.len() < key.tag_len() {
        return None;
    }
    let mut buf = body.to_vec();
    let nonce = keys::xor_nonce(&key.iv, pn);
    key.aead.open(&nonce, &h.header, &mut buf).then_some(buf)
}

/// Protects a packet: `header` is the unprotected header ending with a
/// `pn_len`-byte packet number `pn`. Used by tests and benchmarks to build
/// real packets.
pub fn seal(keys: &DirKeys, header: &[u8], pn: u64, payload: &[u8]) -> Option<Vec<u8>> {
    let first = *header.first()?;
    let pn_len = usize::from(first & 3) + 1;
    let pn_offset = header.len().checked_sub(pn_len)?;
    let mut body = payload.to_vec();
    let nonce = keys::xor_nonce(&keys.pkt.iv, pn);
    if !keys.pkt.aead.seal(&nonce, header, &mut body) {
        return None;
    }
    let mut out = header.to_vec();
    out.extend_from_slice(&body);
    let sample: &[u8; 16] = out.get(pn_offset + 4..pn_offset + 20)?.try_into().ok()?;
    let mask = keys.hp.mask(sample);
    out[0] ^= mask[0] & if first & 0x80 != 0 { 0x0f } else { 0x1f };
    for i in 0..pn_len {
        out[pn_offset + i] ^= mask[1 + i];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::quic::version::{SALT_DRAFT_29, SALT_V1, SALT_V2, Version};
    use crate::secrets::keylog::hex;

    const DCID: &str = "8394c8f03e515708";

    fn key_iv_hp(salt: &[u8], labels: &Labels, client: bool) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (c, s) = initial_secrets(salt, &hex(DCID).unwrap()).unwrap();
        let sec = if client { c } else { s };
        let e = |l: &[u8], n| keys::expand_label(HashAlg::Sha256, &sec, TLS13, l, b"", n).unwrap();
        (e(labels.key, 16), e(labels.iv, 12), e(labels.hp, 16))
    }

    #[test]
    fn initial_keys_match_rfc9001_rfc9369_and_draft29() {
        let v1 = Version::V1.labels();
        let cases: [(&[u8], Labels, bool, [&str; 3]); 6] = [
            (
                &SALT_V1,
                v1,
                true,
                [
                    "1f369613dd76d5467730efcbe3b1a22d",
                    "fa044b2f42a3fd3b46fb255c",
                    "9f50449e04a0e810283a1e9933adedd2",
                ],
            ),
            (
                &SALT_V1,
                v1,
                false,
                [
                    "cf3a5331653c364c88f0f379b6067e37",
                    "0ac1493ca1905853b0bba03e",
                    "c206b8d9b9f0f37644430b490eeaa314",
                ],
            ),
            (
                &SALT_V2,
                Version::V2.labels(),
                true,
                [
                    "8b1a0bc121284290a29e0971b5cd045d",
                    "91f73e2351d8fa91660e909f",
                    "45b95e15235d6f45a6b19cbcb0294ba9",
                ],
            ),
            (
                &SALT_V2,
                Version::V2.labels(),
                false,
                [
                    "82db637861d55e1d011f19ea71d5d2a7",
                    "dd13c276499c0249d3310652",
                    "edf6d05c83121201b436e16877593c3a",
                ],
            ),
            (
                &SALT_DRAFT_29,
                v1,
                true,
                [
                    "175257a31eb09dea9366d8bb79ad80ba",
                    "6b26114b9cba2b63a9e8dd4f",
                    "9ddd12c994c0698b89374a9c077a3077",
                ],
            ),
            (
                &SALT_DRAFT_29,
                v1,
                false,
                [
                    "149d0b1662ab871fbe63c49b5e655a5d",
                    "bab2b12a4c76016ace47856d",
                    "c0c499a65a60024a18a250974ea01dfa",
                ],
            ),
        ];
        for (salt, labels, client, want) in cases {
            let (k, iv, hp) = key_iv_hp(salt, &labels, client);
            assert_eq!(
                [k, iv, hp],
                want.map(|w| hex(w).unwrap()),
                "client={client}"
            );
        }
    }

    #[test]
    fn rfc9001_a2_header_protection_mask() {
        let (_, _, hp) = key_iv_hp(&SALT_V1, &Version::V1.labels(), true);
        let hp = HpKey::new(AeadAlg::Aes128Gcm, &hp).unwrap();
        let sample: [u8; 16] = hex("d1b1c98dd7689fb8ec11d242b123dc9b")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(hp.mask(&sample).to_vec(), hex("437b9aec36").unwrap());
    }

    /// RFC 9001 A.2: the first bytes of the client Initial payload (a CRYPTO
    /// frame with the ClientHello). The header-protection sample covers the
    /// first 16 bytes of ciphertext, so these fix the protected header.
    const A2_PAYLOAD_START: &str =
        "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868";

    #[test]
    fn rfc9001_a2_client_initial_round_trip() {
        let (client, _) =
            initial_keys(&SALT_V1, &hex(DCID).unwrap(), &Version::V1.labels()).unwrap();
        let mut payload = hex(A2_PAYLOAD_START).unwrap();
        payload.resize(1162, 0);
        let header = hex("c300000001088394c8f03e5157080000449e00000002").unwrap();
        let pkt = seal(&client, &header, 2, &payload).unwrap();
        assert_eq!(pkt.len(), 1200);
        // The protected header of RFC 9001 A.2.
        assert_eq!(
            pkt[..22].to_vec(),
            hex("c000000001088394c8f03e5157080000449e7b9aec34").unwrap()
        );
        let h = remove_header_protection(&pkt, 18, &client.hp).unwrap();
        assert_eq!(h.header, header);
        assert_eq!(h.truncated_pn, 2);
        let pn = decode_packet_number(None, h.truncated_pn, h.pn_len);
        let plain = open(&client.pkt, &pkt, pkt.len(), &h, pn).unwrap();
        assert_eq!(plain, payload);
        let mut bad = pkt.clone();
        bad[100] ^= 1;
        let h = remove_header_protection(&bad, 18, &client.hp).unwrap();
        assert!(open(&client.pkt, &bad, bad.len(), &h, pn).is_none());
    }

    #[test]
    fn rfc9001_a5_chacha20_short_header() {
        let secret =
            hex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b").unwrap();
        let suite = suite(0x1303).unwrap();
        let labels = Version::V1.labels();
        let k = DirKeys::derive(suite, &secret, &labels).unwrap();
        let sample: [u8; 16] = hex("5e5cd55c41f69080575d7999c25a5bfb")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(k.hp.mask(&sample).to_vec(), hex("aefefe7d03").unwrap());
        let pkt = hex("4cfe4189655e5cd55c41f69080575d7999c25a5bfb").unwrap();
        let h = remove_header_protection(&pkt, 1, &k.hp).unwrap();
        assert_eq!(h.header, hex("4200bff4").unwrap());
        let pn = decode_packet_number(Some(654_360_563), h.truncated_pn, h.pn_len);
        assert_eq!(pn, 654_360_564);
        assert_eq!(open(&k.pkt, &pkt, pkt.len(), &h, pn).unwrap(), vec![0x01]);
        let ku = next_secret(suite, &secret, &labels).unwrap();
        assert_eq!(
            ku,
            hex("1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9").unwrap()
        );
    }

    #[test]
    fn packet_number_decoding_rfc9000_a3() {
        assert_eq!(
            decode_packet_number(Some(0xa82f30ea), 0x9b32, 2),
            0xa82f9b32
        );
        assert_eq!(decode_packet_number(None, 0, 1), 0);
        assert_eq!(decode_packet_number(Some(0xff), 0x01, 1), 0x101);
        assert_eq!(decode_packet_number(Some(0x101), 0xff, 1), 0xff);
    }

    #[test]
    fn short_packets_have_no_sample() {
        let (client, _) =
            initial_keys(&SALT_V1, &hex(DCID).unwrap(), &Version::V1.labels()).unwrap();
        assert!(remove_header_protection(&[0xc3; 30], 18, &client.hp).is_none());
        assert!(remove_header_protection(&[], 0, &client.hp).is_none());
    }
}
