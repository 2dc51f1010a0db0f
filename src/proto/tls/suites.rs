//! Cipher suites: IANA names and what each one means for decryption and findings.
//!
//! Properties (key exchange, bulk cipher, MAC, PRF hash) are derived from the
//! IANA name itself (`TLS_<kx>_WITH_<cipher>_<mac>`), so the table only lists
//! code points and names.

/// Key exchange family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kx {
    /// TLS 1.3: always ephemeral (EC)DHE or PSK-(EC)DHE.
    Tls13,
    /// Static RSA: no forward secrecy; the RSA key log label can open it.
    Rsa,
    RsaExport,
    /// Ephemeral (EC)DH: forward secrecy.
    Ephemeral,
    /// Static (EC)DH with certificate keys: no forward secrecy.
    StaticDh,
    /// Anonymous (EC)DH: no server authentication.
    Anon,
    Psk,
    /// Not a real suite (SCSV) or unknown.
    Other,
}

/// Bulk cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bulk {
    Null,
    Rc4_128,
    /// Export RC4 (40-bit secret part).
    Rc4_40,
    Aes128Cbc,
    Aes256Cbc,
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
    Aes128Ccm,
    Aes128Ccm8,
    /// Recognised but not decryptable here (3DES, DES, RC2, IDEA, Camellia, ARIA, AES-256-CCM, …).
    Unsupported,
}

/// Record MAC of TLS ≤ 1.2 non-AEAD suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlg {
    /// AEAD suites carry no separate MAC.
    Aead,
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

impl MacAlg {
    pub fn len(self) -> usize {
        match self {
            MacAlg::Aead => 0,
            MacAlg::Md5 => 16,
            MacAlg::Sha1 => 20,
            MacAlg::Sha256 => 32,
            MacAlg::Sha384 => 48,
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// A cipher suite and its properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    pub name: &'static str,
    pub kx: Kx,
    pub bulk: Bulk,
    pub mac: MacAlg,
    /// TLS 1.2 PRF / TLS 1.3 HKDF hash is SHA-384 (else SHA-256).
    pub sha384: bool,
}

impl Suite {
    /// Looks a suite up by code point.
    pub fn get(id: u16) -> Option<Suite> {
        let name = SUITES
            .binary_search_by_key(&id, |(i, _)| *i)
            .ok()
            .map(|i| SUITES[i].1)?;
        Some(from_name(id, name))
    }

    /// Name for reports: the IANA name, or `0x1234` when unknown.
    pub fn name_of(id: u16) -> String {
        match Suite::get(id) {
            Some(s) => s.name.to_string(),
            None => format!("0x{id:04x}"),
        }
    }

    /// Enc key, fixed IV and MAC key lengths for the TLS ≤ 1.2 key block.
    pub fn key_lengths(&self) -> Option<(usize, usize, usize)> {
        let (key, iv) = match self.bulk {
            Bulk::Null => (0, 0),
            Bulk::Rc4_128 => (16, 0),
            Bulk::Rc4_40 => (5, 0),
            Bulk::Aes128Cbc => (16, 16),
            Bulk::Aes256Cbc => (32, 16),
            Bulk::Aes128Gcm | Bulk::Aes128Ccm | Bulk::Aes128Ccm8 => (16, 4),
            Bulk::Aes256Gcm => (32, 4),
            Bulk::ChaCha20Poly1305 => (32, 12),
            Bulk::Unsupported => return None,
        };
        Some((key, iv, self.mac.len()))
    }

    /// Weak by today's standards: NULL, EXPORT, RC4, (3)DES, RC2, IDEA or anonymous.
    pub fn is_weak(&self) -> bool {
        let n = self.name;
        matches!(self.bulk, Bulk::Null | Bulk::Rc4_128 | Bulk::Rc4_40)
            || n.contains("EXPORT")
            || n.contains("DES")
            || n.contains("RC2")
            || n.contains("IDEA")
            || self.kx == Kx::Anon
    }
}

fn from_name(id: u16, name: &'static str) -> Suite {
    let body = name.strip_prefix("TLS_").unwrap_or(name);
    let (kx_part, cipher_part) = match body.split_once("_WITH_") {
        Some((k, c)) => (Some(k), c),
        None => (None, body),
    };
    let kx = match kx_part {
        None if (0x1301..=0x13ff).contains(&id) => Kx::Tls13,
        None => Kx::Other,
        Some(k) if k.contains("anon") => Kx::Anon,
        Some(k) if k.starts_with("RSA_EXPORT") => Kx::RsaExport,
        Some("RSA") => Kx::Rsa,
        Some(k) if k.starts_with("DHE") || k.starts_with("ECDHE") => Kx::Ephemeral,
        Some(k) if k.starts_with("DH_") || k.starts_with("ECDH_") => Kx::StaticDh,
        Some(k) if k.contains("PSK") => Kx::Psk,
        Some(k) if k.starts_with("NULL") => Kx::Other,
        Some(_) => Kx::Other,
    };
    let mac = if cipher_part.ends_with("_MD5") {
        MacAlg::Md5
    } else if cipher_part.ends_with("_SHA") {
        MacAlg::Sha1
    } else if cipher_part.ends_with("_SHA256") {
        MacAlg::Sha256
    } else if cipher_part.ends_with("_SHA384") {
        MacAlg::Sha384
    } else {
        MacAlg::Aead
    };
    let c = cipher_part;
    let mut bulk = if c.starts_with("NULL") {
        Bulk::Null
    } else if c.starts_with("RC4_128") {
        Bulk::Rc4_128
    } else if c.starts_with("RC4_40") {
        Bulk::Rc4_40
    } else if c.starts_with("AES_128_CBC") {
        Bulk::Aes128Cbc
    } else if c.starts_with("AES_256_CBC") {
        Bulk::Aes256Cbc
    } else if c.starts_with("AES_128_GCM") {
        Bulk::Aes128Gcm
    } else if c.starts_with("AES_256_GCM") {
        Bulk::Aes256Gcm
    } else if c.starts_with("CHACHA20_POLY1305") {
        Bulk::ChaCha20Poly1305
    } else if c == "AES_128_CCM_8" || c == "AES_128_CCM_8_SHA256" {
        Bulk::Aes128Ccm8
    } else if c == "AES_128_CCM" || c == "AES_128_CCM_SHA256" {
        Bulk::Aes128Ccm
    } else {
        Bulk::Unsupported
    };
    let aead = matches!(
        bulk,
        Bulk::Aes128Gcm
            | Bulk::Aes256Gcm
            | Bulk::ChaCha20Poly1305
            | Bulk::Aes128Ccm
            | Bulk::Aes128Ccm8
    );
    let mac = if aead { MacAlg::Aead } else { mac };
    if !aead && mac == MacAlg::Aead {
        // A non-AEAD cipher without a MAC name (e.g. SCSV): nothing to decrypt.
        bulk = Bulk::Unsupported;
    }
    Suite {
        id,
        name,
        kx,
        bulk,
        mac,
        sha384: name.ends_with("SHA384"),
    }
}

/// Registered suites worth naming, sorted by code point.
static SUITES: &[(u16, &str)] = &[
    (0x0000, "TLS_NULL_WITH_NULL_NULL"),
    (0x0001, "TLS_RSA_WITH_NULL_MD5"),
    (0x0002, "TLS_RSA_WITH_NULL_SHA"),
    (0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
    (0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
    (0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"),
    (0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"),
    (0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0009, "TLS_RSA_WITH_DES_CBC_SHA"),
    (0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x000b, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA"),
    (0x000c, "TLS_DH_DSS_WITH_DES_CBC_SHA"),
    (0x000d, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA"),
    (0x000e, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x000f, "TLS_DH_RSA_WITH_DES_CBC_SHA"),
    (0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"),
    (0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"),
    (0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"),
    (0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5"),
    (0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"),
    (0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA"),
    (0x001a, "TLS_DH_anon_WITH_DES_CBC_SHA"),
    (0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"),
    (0x002c, "TLS_PSK_WITH_NULL_SHA"),
    (0x002d, "TLS_DHE_PSK_WITH_NULL_SHA"),
    (0x002e, "TLS_RSA_PSK_WITH_NULL_SHA"),
    (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA"),
    (0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA"),
    (0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"),
    (0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"),
    (0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA"),
    (0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA"),
    (0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"),
    (0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"),
    (0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA"),
    (0x003b, "TLS_RSA_WITH_NULL_SHA256"),
    (0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    (0x003e, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256"),
    (0x003f, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256"),
    (0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"),
    (0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0x0068, "TLS_DH_DSS_WITH_AES_256_CBC_SHA256"),
    (0x0069, "TLS_DH_RSA_WITH_AES_256_CBC_SHA256"),
    (0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"),
    (0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"),
    (0x006c, "TLS_DH_anon_WITH_AES_128_CBC_SHA256"),
    (0x006d, "TLS_DH_anon_WITH_AES_256_CBC_SHA256"),
    (0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA"),
    (0x008a, "TLS_PSK_WITH_RC4_128_SHA"),
    (0x008b, "TLS_PSK_WITH_3DES_EDE_CBC_SHA"),
    (0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA"),
    (0x008d, "TLS_PSK_WITH_AES_256_CBC_SHA"),
    (0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"),
    (0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA"),
    (0x009a, "TLS_DHE_RSA_WITH_SEED_CBC_SHA"),
    (0x009b, "TLS_DH_anon_WITH_SEED_CBC_SHA"),
    (0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0x00a0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256"),
    (0x00a1, "TLS_DH_RSA_WITH_AES_256_GCM_SHA384"),
    (0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"),
    (0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"),
    (0x00a4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256"),
    (0x00a5, "TLS_DH_DSS_WITH_AES_256_GCM_SHA384"),
    (0x00a6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256"),
    (0x00a7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384"),
    (0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256"),
    (0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384"),
    (0x00ae, "TLS_PSK_WITH_AES_128_CBC_SHA256"),
    (0x00af, "TLS_PSK_WITH_AES_256_CBC_SHA384"),
    (0x00b0, "TLS_PSK_WITH_NULL_SHA256"),
    (0x00b1, "TLS_PSK_WITH_NULL_SHA384"),
    (0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"),
    (0x1301, "TLS_AES_128_GCM_SHA256"),
    (0x1302, "TLS_AES_256_GCM_SHA384"),
    (0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
    (0x1304, "TLS_AES_128_CCM_SHA256"),
    (0x1305, "TLS_AES_128_CCM_8_SHA256"),
    (0x5600, "TLS_FALLBACK_SCSV"),
    (0xc001, "TLS_ECDH_ECDSA_WITH_NULL_SHA"),
    (0xc002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"),
    (0xc003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xc005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"),
    (0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"),
    (0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xc00b, "TLS_ECDH_RSA_WITH_NULL_SHA"),
    (0xc00c, "TLS_ECDH_RSA_WITH_RC4_128_SHA"),
    (0xc00d, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc00e, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"),
    (0xc00f, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"),
    (0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA"),
    (0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"),
    (0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xc015, "TLS_ECDH_anon_WITH_NULL_SHA"),
    (0xc016, "TLS_ECDH_anon_WITH_RC4_128_SHA"),
    (0xc017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA"),
    (0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"),
    (0xc019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"),
    (0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xc025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xc026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
    (0xc029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"),
    (0xc02a, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"),
    (0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xc02d, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xc02e, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0xc031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"),
    (0xc032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"),
    (0xc035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA"),
    (0xc036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA"),
    (0xc037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256"),
    (0xc038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384"),
    (0xc09c, "TLS_RSA_WITH_AES_128_CCM"),
    (0xc09d, "TLS_RSA_WITH_AES_256_CCM"),
    (0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM"),
    (0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM"),
    (0xc0a0, "TLS_RSA_WITH_AES_128_CCM_8"),
    (0xc0a1, "TLS_RSA_WITH_AES_256_CCM_8"),
    (0xc0a2, "TLS_DHE_RSA_WITH_AES_128_CCM_8"),
    (0xc0a3, "TLS_DHE_RSA_WITH_AES_256_CCM_8"),
    (0xc0a8, "TLS_PSK_WITH_AES_128_CCM_8"),
    (0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"),
    (0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"),
    (0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"),
    (0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"),
    (0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    (0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    (0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    (0xccae, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(SUITES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn properties_follow_the_wire_md_table() {
        let s = Suite::get(0xc02b).unwrap();
        assert_eq!(
            (s.kx, s.bulk, s.mac, s.sha384),
            (Kx::Ephemeral, Bulk::Aes128Gcm, MacAlg::Aead, false)
        );
        assert_eq!(s.key_lengths(), Some((16, 4, 0)));
        let s = Suite::get(0xc030).unwrap();
        assert_eq!((s.bulk, s.sha384), (Bulk::Aes256Gcm, true));
        let s = Suite::get(0xcca8).unwrap();
        assert_eq!(s.key_lengths(), Some((32, 12, 0)));
        let s = Suite::get(0xc013).unwrap();
        assert_eq!(s.key_lengths(), Some((16, 16, 20)));
        let s = Suite::get(0xc024).unwrap();
        assert_eq!((s.key_lengths(), s.sha384), (Some((32, 16, 48)), true));
        let s = Suite::get(0x003c).unwrap();
        assert_eq!((s.kx, s.key_lengths()), (Kx::Rsa, Some((16, 16, 32))));
        let s = Suite::get(0x0003).unwrap();
        assert_eq!(
            (s.kx, s.bulk, s.mac),
            (Kx::RsaExport, Bulk::Rc4_40, MacAlg::Md5)
        );
        assert!(s.is_weak());
        let s = Suite::get(0x003b).unwrap();
        assert_eq!((s.bulk, s.mac), (Bulk::Null, MacAlg::Sha256));
        let s = Suite::get(0x1302).unwrap();
        assert_eq!((s.kx, s.bulk, s.sha384), (Kx::Tls13, Bulk::Aes256Gcm, true));
        let s = Suite::get(0x1305).unwrap();
        assert_eq!(s.bulk, Bulk::Aes128Ccm8);
        assert_eq!(Suite::get(0x000a).unwrap().bulk, Bulk::Unsupported);
        assert!(Suite::get(0x000a).unwrap().is_weak());
        assert!(Suite::get(0xc018).unwrap().is_weak());
        assert!(!Suite::get(0xc02f).unwrap().is_weak());
        assert_eq!(Suite::get(0x00ff).unwrap().bulk, Bulk::Unsupported);
        assert_eq!(Suite::name_of(0x9999), "0x9999");
    }
}
