//! MTProxy "FakeTLS" (secrets starting `ee`): the client sends a
//! TLS-looking ClientHello whose random is `HMAC-SHA256(secret, hello with
//! a zeroed random)` XOR `(0^28 || unix time u32 LE)`, and the proxy answers
//! with a ServerHello whose random is an HMAC over the client random and its
//! own response. Without the proxy secret the hello is indistinguishable from
//! a browser's; with it, the HMAC proves the connection is MTProto and gives
//! the client's clock.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// A parsed proxy secret from a `tg://proxy?...&secret=ee…` link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySecret {
    pub key: [u8; 16],
    /// The fronting domain the ClientHello's SNI must carry.
    pub domain: String,
}

/// Parses a hex `ee` secret: `ee | 16-byte key | domain (hex)`.
pub fn parse_secret(hex_text: &str) -> Option<ProxySecret> {
    let bytes = decode_hex(hex_text.trim())?;
    if bytes.first() != Some(&0xee) || bytes.len() < 18 {
        return None;
    }
    let key: [u8; 16] = bytes[1..17].try_into().ok()?;
    let domain = String::from_utf8(bytes[17..].to_vec()).ok()?;
    Some(ProxySecret { key, domain })
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Verifies a ClientHello record (starting `16 03 01`, the whole record)
/// against a proxy key. Returns the client's timestamp when the HMAC matches.
pub fn verify_client_hello(record: &[u8], key: &[u8; 16]) -> Option<u32> {
    // Record header 5, handshake header 4, client_version 2, random 32.
    if record.len() < 43 || record[..3] != [0x16, 0x03, 0x01] || record[5] != 0x01 {
        return None;
    }
    let mut zeroed = record.to_vec();
    zeroed[11..43].fill(0);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(&zeroed);
    let digest = mac.finalize().into_bytes();
    let random = &record[11..43];
    if digest[..28] != random[..28] {
        return None;
    }
    let mut ts = [0u8; 4];
    for i in 0..4 {
        ts[i] = digest[28 + i] ^ random[28 + i];
    }
    Some(u32::from_le_bytes(ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_link_parses() {
        let s = parse_secret("ee0123456789abcdef0123456789abcdef676f6f676c652e636f6d").unwrap();
        assert_eq!(s.key[0], 0x01);
        assert_eq!(s.domain, "google.com");
        assert!(parse_secret("dd0123456789abcdef0123456789abcdef").is_none());
        assert!(parse_secret("ee01").is_none());
    }

    /// A hello built the way TDLib builds one: HMAC over the record with a
    /// zeroed random, the timestamp XORed into the last four bytes.
    #[test]
    fn hello_with_hmac_random_verifies_and_yields_the_clock() {
        let key = [0x42u8; 16];
        let mut rec = vec![
            0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03, 0x03,
        ];
        rec.extend([0u8; 32]);
        rec.extend(b"rest of a ClientHello....");
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
        mac.update(&rec);
        let mut random: [u8; 32] = mac.finalize().into_bytes().into();
        let ts: u32 = 1_650_000_000;
        for (r, t) in random[28..].iter_mut().zip(ts.to_le_bytes()) {
            *r ^= t;
        }
        rec[11..43].copy_from_slice(&random);
        assert_eq!(verify_client_hello(&rec, &key), Some(ts));
        assert_eq!(verify_client_hello(&rec, &[0x43; 16]), None);
        rec[50] ^= 1;
        assert_eq!(verify_client_hello(&rec, &key), None);
    }
}
