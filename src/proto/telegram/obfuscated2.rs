//! MTProto "obfuscated2" transport (core.telegram.org/mtproto/mtproto-transports).
//!
//! The client opens with 64 random-looking bytes whose middle carries the
//! AES-256-CTR key and IV in clear: client→server key = `init[8..40]`,
//! IV = `init[40..56]`; server→client key and IV are the same ranges of the
//! reversed `init[8..56]`. The client encrypts the whole 64 bytes with the
//! client→server stream and sends `init[..56]` in clear followed by the
//! encrypted `init[56..64]`, whose first four bytes decrypt to the inner
//! transport's tag. No secret is involved (without an MTProxy secret), so
//! this layer is keyless: anyone can remove it.

use aes::Aes256;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use sha2::{Digest, Sha256};

/// The inner transport announced by the decrypted tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Abridged,
    Intermediate,
    PaddedIntermediate,
}

impl Tag {
    pub fn from_bytes(b: [u8; 4]) -> Option<Tag> {
        match b {
            [0xef, 0xef, 0xef, 0xef] => Some(Tag::Abridged),
            [0xee, 0xee, 0xee, 0xee] => Some(Tag::Intermediate),
            [0xdd, 0xdd, 0xdd, 0xdd] => Some(Tag::PaddedIntermediate),
            _ => None,
        }
    }
}

/// AES-256 in counter mode with a 128-bit big-endian counter, as OpenSSL's
/// `AES_ctr128_encrypt` (what MTProto uses). Seekable, so a gap in the
/// stream only skips keystream.
#[derive(Clone)]
pub struct Ctr {
    cipher: Aes256,
    counter: [u8; 16],
    block: [u8; 16],
    /// Bytes of `block` already used (16 = need a new block).
    used: usize,
}

impl Ctr {
    pub fn new(key: &[u8; 32], iv: &[u8; 16]) -> Ctr {
        Ctr {
            cipher: Aes256::new(&Array::from(*key)),
            counter: *iv,
            block: [0; 16],
            used: 16,
        }
    }

    fn refill(&mut self) {
        let mut b = Array::from(self.counter);
        self.cipher.encrypt_block(&mut b);
        self.block.copy_from_slice(&b);
        self.used = 0;
        for byte in self.counter.iter_mut().rev() {
            *byte = byte.wrapping_add(1);
            if *byte != 0 {
                break;
            }
        }
    }

    /// XORs the keystream into `data` (encryption and decryption alike).
    pub fn apply(&mut self, data: &mut [u8]) {
        for b in data {
            if self.used == 16 {
                self.refill();
            }
            *b ^= self.block[self.used];
            self.used += 1;
        }
    }

    /// Advances the keystream by `n` bytes without producing output.
    pub fn skip(&mut self, mut n: u64) {
        let in_block = (16 - self.used) as u64;
        if n <= in_block {
            self.used += n as usize;
            return;
        }
        n -= in_block;
        self.used = 16;
        let blocks = n / 16;
        let rest = (n % 16) as usize;
        let c = u128::from_be_bytes(self.counter).wrapping_add(u128::from(blocks));
        self.counter = c.to_be_bytes();
        if rest > 0 {
            self.refill();
            self.used = rest;
        }
    }
}

/// Both directions' keystreams, positioned after the 64-byte init.
pub struct Keys {
    pub tag: Tag,
    /// Data-centre id from `init[60..62]` (i16 LE; negative for media DCs).
    pub dc: i16,
    pub to_server: Ctr,
    pub to_client: Ctr,
}

/// Why a 64-byte prefix is not an obfuscated2 init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// The first bytes are a plain transport's or another protocol's.
    Reserved,
    /// The decrypted tag is not a known transport.
    BadTag,
}

/// Recognises an obfuscated2 init and derives both directions' keys.
/// `secret` is an MTProxy secret (16 bytes), if the connection goes through
/// one; keys are then `SHA-256(key || secret)`.
pub fn derive(init: &[u8; 64], secret: Option<&[u8]>) -> Result<Keys, Reject> {
    if reserved(init) {
        return Err(Reject::Reserved);
    }
    let mut fwd_key: [u8; 32] = init[8..40].try_into().expect("32 bytes");
    let fwd_iv: [u8; 16] = init[40..56].try_into().expect("16 bytes");
    let mut rev = [0u8; 48];
    rev.copy_from_slice(&init[8..56]);
    rev.reverse();
    let mut back_key: [u8; 32] = rev[..32].try_into().expect("32 bytes");
    let back_iv: [u8; 16] = rev[32..].try_into().expect("16 bytes");
    if let Some(s) = secret {
        fwd_key = Sha256::new()
            .chain_update(fwd_key)
            .chain_update(s)
            .finalize()
            .into();
        back_key = Sha256::new()
            .chain_update(back_key)
            .chain_update(s)
            .finalize()
            .into();
    }
    let mut to_server = Ctr::new(&fwd_key, &fwd_iv);
    let mut plain = *init;
    to_server.apply(&mut plain);
    let tag = Tag::from_bytes(plain[56..60].try_into().expect("4 bytes")).ok_or(Reject::BadTag)?;
    Ok(Keys {
        tag,
        dc: i16::from_le_bytes([plain[60], plain[61]]),
        to_server,
        to_client: Ctr::new(&back_key, &back_iv),
    })
}

/// First bytes a client must not send as an obfuscated2 init (they would be
/// taken for another transport or protocol).
pub fn reserved(init: &[u8]) -> bool {
    let Some(h) = init.get(..8) else {
        return true;
    };
    h[0] == 0xef
        || matches!(
            &h[..4],
            b"HEAD" | b"POST" | b"GET " | b"OPTI" | [0x16, 0x03, 0x01, 0x02]
        )
        || h[..4] == [0xdd; 4]
        || h[..4] == [0xee; 4]
        || h[4..8] == [0; 4]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt), first two blocks.
    #[test]
    fn ctr_matches_nist_vectors() {
        let key: [u8; 32] = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
            .try_into()
            .unwrap();
        let iv: [u8; 16] = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").try_into().unwrap();
        let mut data = hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        Ctr::new(&key, &iv).apply(&mut data);
        assert_eq!(
            data,
            hex("601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5")
        );
        // Skipping equals applying to discarded bytes.
        let mut a = Ctr::new(&key, &iv);
        let mut b = Ctr::new(&key, &iv);
        a.apply(&mut [0u8; 37]);
        b.skip(37);
        let (mut x, mut y) = ([0u8; 20], [0u8; 20]);
        a.apply(&mut x);
        b.apply(&mut y);
        assert_eq!(x, y);
    }

    /// A constructed init: key/IV bytes chosen, tag encrypted as a client would.
    #[test]
    fn constructed_init_round_trips_both_directions() {
        let mut init = [0u8; 64];
        for (i, b) in init.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(7);
        }
        init[56..60].copy_from_slice(&[0xee; 4]);
        init[60..62].copy_from_slice(&2i16.to_le_bytes());
        let key: [u8; 32] = init[8..40].try_into().unwrap();
        let iv: [u8; 16] = init[40..56].try_into().unwrap();
        let mut enc = init;
        let mut client = Ctr::new(&key, &iv);
        client.apply(&mut enc);
        let mut sent = init;
        sent[56..].copy_from_slice(&enc[56..]);
        // The client's first frame, encrypted with the continuing stream.
        let mut frame = *b"\x08\x00\x00\x00abcdefgh";
        client.apply(&mut frame);

        let mut k = derive(&sent, None).unwrap();
        assert_eq!(k.tag, Tag::Intermediate);
        assert_eq!(k.dc, 2);
        k.to_server.apply(&mut frame);
        assert_eq!(&frame, b"\x08\x00\x00\x00abcdefgh");

        // The server encrypts with the reversed key material.
        let mut rev = [0u8; 48];
        rev.copy_from_slice(&init[8..56]);
        rev.reverse();
        let mut server = Ctr::new(
            &rev[..32].try_into().unwrap(),
            &rev[32..].try_into().unwrap(),
        );
        let mut reply = *b"\x04\x00\x00\x00pong";
        server.apply(&mut reply);
        k.to_client.apply(&mut reply);
        assert_eq!(&reply, b"\x04\x00\x00\x00pong");
    }

    /// nDPI `telegram_videocall.pcapng` frame 12 (first 64 bytes of the
    /// client's first segment to 149.154.167.91:443) and the abridged frame
    /// that follows it.
    #[test]
    fn capture_init_decrypts_to_abridged() {
        let seg = hex(
            "f8b9357d01ff6ae4f2e43a80667449b134255576f7b465c944bab1bca416e9ca
             c7d620cf78dffc06dc39da584c9b422bdd5a6a121cd2a4d68d3e5af7a35c2ecc
             c89a0be35ebce5507fdf673f0f81a6d0",
        );
        let init: [u8; 64] = seg[..64].try_into().unwrap();
        let mut k = derive(&init, None).unwrap();
        assert_eq!(k.tag, Tag::Abridged);
        let mut rest = seg[64..].to_vec();
        k.to_server.apply(&mut rest);
        // Abridged length byte 0x36 (54 * 4 = 216 bytes), then auth_key_id.
        assert_eq!(rest[0], 0x36);
        assert_eq!(&rest[1..9], &hex("1f754869dd3d5eff")[..]);
    }

    #[test]
    fn reserved_prefixes_and_bad_tags_are_rejected() {
        let mut init = [0x5au8; 64];
        init[..4].copy_from_slice(b"POST");
        assert_eq!(derive(&init, None).err(), Some(Reject::Reserved));
        let mut init = [0x5au8; 64];
        init[4..8].copy_from_slice(&[0; 4]);
        assert_eq!(derive(&init, None).err(), Some(Reject::Reserved));
        let init = [0x5au8; 64];
        assert_eq!(derive(&init, None).err(), Some(Reject::BadTag));
    }

    #[test]
    fn mtproxy_secret_changes_the_keys() {
        let mut init = [0u8; 64];
        for (i, b) in init.iter_mut().enumerate() {
            *b = (i as u8) ^ 0xa5;
        }
        init[56..60].copy_from_slice(&[0xdd; 4]);
        let secret = [0x11u8; 16];
        let key: [u8; 32] = Sha256::new()
            .chain_update(&init[8..40])
            .chain_update(secret)
            .finalize()
            .into();
        let mut enc = init;
        Ctr::new(&key, &init[40..56].try_into().unwrap()).apply(&mut enc);
        let mut sent = init;
        sent[56..].copy_from_slice(&enc[56..]);
        assert_eq!(
            derive(&sent, Some(&secret)).unwrap().tag,
            Tag::PaddedIntermediate
        );
        assert!(derive(&sent, None).is_err());
    }
}
