//! TLS 1.0 – 1.2 pseudo-random function and key block (RFC 2246 §5,
//! RFC 5246 §5 and §6.3).

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Sha256, Sha384};

/// Which PRF a session uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrfAlg {
    /// TLS 1.0 and 1.1: `P_MD5(S1) XOR P_SHA1(S2)`.
    Md5Sha1,
    /// TLS 1.2 default.
    Sha256,
    /// TLS 1.2 `*_SHA384` suites.
    Sha384,
}

/// `P_hash(secret, seed)` filling `out`.
fn p_hash<M: Mac + KeyInit + Clone>(secret: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    let Ok(keyed) = <M as KeyInit>::new_from_slice(secret) else {
        return;
    };
    // A(1) = HMAC(secret, seed)
    let mut a = {
        let mut m = keyed.clone();
        for s in seed {
            m.update(s);
        }
        m.finalize().into_bytes().to_vec()
    };
    let mut pos = 0;
    while pos < out.len() {
        let mut m = keyed.clone();
        m.update(&a);
        for s in seed {
            m.update(s);
        }
        let block = m.finalize().into_bytes();
        let n = block.len().min(out.len() - pos);
        for (o, b) in out[pos..pos + n].iter_mut().zip(block.iter()) {
            *o ^= b;
        }
        pos += n;
        let mut m = keyed.clone();
        m.update(&a);
        a = m.finalize().into_bytes().to_vec();
    }
}

/// `PRF(secret, label, seed)` of `out.len()` bytes; `seed` parts are concatenated.
pub fn prf(alg: PrfAlg, secret: &[u8], label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    out.fill(0);
    let mut full: Vec<&[u8]> = Vec::with_capacity(seed.len() + 1);
    full.push(label);
    full.extend_from_slice(seed);
    match alg {
        PrfAlg::Sha256 => p_hash::<Hmac<Sha256>>(secret, &full, out),
        PrfAlg::Sha384 => p_hash::<Hmac<Sha384>>(secret, &full, out),
        PrfAlg::Md5Sha1 => {
            // Halves overlap by one byte when the secret length is odd.
            let half = secret.len().div_ceil(2);
            p_hash::<Hmac<Md5>>(&secret[..half], &full, out);
            p_hash::<Hmac<Sha1>>(&secret[secret.len() - half..], &full, out);
        }
    }
}

/// Master secret from a pre-master secret (RFC 5246 §8.1).
pub fn master_secret(
    alg: PrfAlg,
    pre_master: &[u8],
    client_random: &[u8],
    server_random: &[u8],
) -> Vec<u8> {
    let mut out = vec![0u8; 48];
    prf(
        alg,
        pre_master,
        b"master secret",
        &[client_random, server_random],
        &mut out,
    );
    out
}

/// Extended master secret (RFC 7627) from the session hash.
pub fn extended_master_secret(alg: PrfAlg, pre_master: &[u8], session_hash: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 48];
    prf(
        alg,
        pre_master,
        b"extended master secret",
        &[session_hash],
        &mut out,
    );
    out
}

/// The key block, seeded `server_random || client_random` (server first).
pub fn key_block(
    alg: PrfAlg,
    master: &[u8],
    client_random: &[u8],
    server_random: &[u8],
    len: usize,
) -> Vec<u8> {
    let mut out = vec![0u8; len];
    prf(
        alg,
        master,
        b"key expansion",
        &[server_random, client_random],
        &mut out,
    );
    out
}

/// Hash of the handshake transcript for the extended master secret: the PRF
/// hash for TLS 1.2, `MD5 || SHA-1` for TLS 1.0/1.1.
pub fn session_hash(alg: PrfAlg, transcript: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    match alg {
        PrfAlg::Sha256 => Sha256::digest(transcript).to_vec(),
        PrfAlg::Sha384 => Sha384::digest(transcript).to_vec(),
        PrfAlg::Md5Sha1 => {
            let mut v = Md5::digest(transcript).to_vec();
            v.extend_from_slice(&Sha1::digest(transcript));
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::keylog::hex;

    #[test]
    fn p_sha256_vector() {
        // wire.md §3.2: secret 9bbe…, label "test label", seed a0ba….
        let secret = hex("9bbe436ba940f017b17652849a71db35").unwrap();
        let seed = hex("a0ba9f936cda311827a6f796ffd5198c").unwrap();
        let mut out = [0u8; 100];
        prf(PrfAlg::Sha256, &secret, b"test label", &[&seed], &mut out);
        assert_eq!(
            out[..16],
            hex("e3f229ba727be17b8d122620557cd453").unwrap()[..]
        );
        // Output is a prefix-stable stream: a shorter request gives the same bytes.
        let mut short = [0u8; 20];
        prf(PrfAlg::Sha256, &secret, b"test label", &[&seed], &mut short);
        assert_eq!(short, out[..20]);
    }

    #[test]
    fn p_sha384_vector() {
        // The companion P_SHA384 vector from the same IETF test set.
        let secret = hex("b80b733d6ceefcdc71566ea48e5567df").unwrap();
        let seed = hex("cd665cf6a8447dd6ff8b27555edb7465").unwrap();
        let mut out = [0u8; 148];
        prf(PrfAlg::Sha384, &secret, b"test label", &[&seed], &mut out);
        assert_eq!(
            out[..16],
            hex("7b0c18e9ced410ed1804f2cfa34a336a").unwrap()[..]
        );
    }

    #[test]
    fn tls10_prf_mixes_md5_and_sha1() {
        let secret = [0xabu8; 48];
        let mut a = [0u8; 32];
        prf(
            PrfAlg::Md5Sha1,
            &secret,
            b"key expansion",
            &[&[1u8; 64]],
            &mut a,
        );
        let mut b = [0u8; 32];
        prf(
            PrfAlg::Sha256,
            &secret,
            b"key expansion",
            &[&[1u8; 64]],
            &mut b,
        );
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }
}
