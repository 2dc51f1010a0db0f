//! QUIC versions: recognition, names, and the public constants each one uses
//! (Initial salt, key labels, long-header type bits, header layout).
//!
//! Salts are public (RFC 9001 §5.2, RFC 9369 §3.3.1, the drafts, Google's
//! T05x/Q050 and Facebook's mvfst), which is why Initial packets are readable
//! by anyone on the path.

/// A version number as seen on the wire, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// RFC 9000 (`00000001`).
    V1,
    /// RFC 9369 (`6b3343cf`).
    V2,
    /// The provisional v2 number of draft-ietf-quic-v2 (`709a50c4`).
    V2Draft,
    /// draft-ietf-quic-transport-NN (`ff0000NN`).
    Draft(u8),
    /// Facebook mvfst (`faceb0xx`).
    Mvfst(u32),
    /// Google QUIC with QUIC crypto (`Q0NN`).
    GQuicQ(u16),
    /// Google QUIC with TLS (`T0NN`).
    GQuicT(u16),
    /// A reserved version that forces Version Negotiation (`?a?a?a?a`).
    Grease(u32),
    /// Version Negotiation packets carry version 0.
    Negotiation,
    Unknown(u32),
}

/// Long-header packet types (RFC 9000 §17.2), independent of the version's bit mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

/// The HKDF labels a version derives packet keys with.
#[derive(Debug, Clone, Copy)]
pub struct Labels {
    pub key: &'static [u8],
    pub iv: &'static [u8],
    pub hp: &'static [u8],
    pub ku: &'static [u8],
}

const V1_LABELS: Labels = Labels {
    key: b"quic key",
    iv: b"quic iv",
    hp: b"quic hp",
    ku: b"quic ku",
};

const V2_LABELS: Labels = Labels {
    key: b"quicv2 key",
    iv: b"quicv2 iv",
    hp: b"quicv2 hp",
    ku: b"quicv2 ku",
};

pub const SALT_V1: [u8; 20] = hex20("38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
pub const SALT_V2: [u8; 20] = hex20("0dede3def700a6db819381be6e269dcbf9bd2ed9");
pub const SALT_V2_DRAFT: [u8; 20] = hex20("a707c203a59b47184a1d62ca570406ea7ae3e5d3");
pub const SALT_DRAFT_29: [u8; 20] = hex20("afbfec289993d24c9e9786f19c6111e04390a899");
pub const SALT_DRAFT_23: [u8; 20] = hex20("c3eef712c72ebb5a11a7d2432bb46365bef9f502");
pub const SALT_DRAFT_21: [u8; 20] = hex20("7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a");
pub const SALT_DRAFT_18: [u8; 20] = hex20("ef4fb0abb47470c41befcf8031334fae485e09a0");
pub const SALT_Q050: [u8; 20] = hex20("504574efd066fe2f9d945cfcdbd3a7f0d3b56b45");
pub const SALT_T050: [u8; 20] = hex20("7ff579e5acd072915580304c43a2367c60488310");
pub const SALT_T051: [u8; 20] = hex20("7a4edef4e7ccee5fa4506c19124fc8ccda6e033d");

const fn hex20(s: &str) -> [u8; 20] {
    const fn nib(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("bad hex digit in salt"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 40);
    let mut out = [0u8; 20];
    let mut i = 0;
    while i < 20 {
        out[i] = nib(b[2 * i]) << 4 | nib(b[2 * i + 1]);
        i += 1;
    }
    out
}

fn is_digit2(v: u32) -> Option<u16> {
    let d1 = ((v >> 8) & 0xff) as u8;
    let d2 = (v & 0xff) as u8;
    (d1.is_ascii_digit() && d2.is_ascii_digit())
        .then(|| u16::from(d1 - b'0') * 10 + u16::from(d2 - b'0'))
}

/// Classifies a 32-bit version number.
pub fn classify(v: u32) -> Version {
    match v {
        0 => Version::Negotiation,
        1 => Version::V1,
        0x6b33_43cf => Version::V2,
        0x709a_50c4 => Version::V2Draft,
        _ if v >> 8 == 0x00ff_0000 => Version::Draft((v & 0xff) as u8),
        _ if v >> 8 == 0x00fa_ceb0 => Version::Mvfst(v),
        _ if v & 0x0f0f_0f0f == 0x0a0a_0a0a => Version::Grease(v),
        _ if v >> 16 == 0x5130 => is_digit2(v).map_or(Version::Unknown(v), Version::GQuicQ),
        _ if v >> 16 == 0x5430 => is_digit2(v).map_or(Version::Unknown(v), Version::GQuicT),
        _ => Version::Unknown(v),
    }
}

impl Version {
    /// Name for reports: `v1`, `v2`, `draft-29`, `mvfst-faceb002`, `Q043`, `T051`.
    pub fn name(self) -> String {
        match self {
            Version::V1 => "v1".into(),
            Version::V2 => "v2".into(),
            Version::V2Draft => "v2-draft".into(),
            Version::Draft(n) => format!("draft-{n}"),
            Version::Mvfst(v) => format!("mvfst-{v:08x}"),
            Version::GQuicQ(n) => format!("Q{n:03}"),
            Version::GQuicT(n) => format!("T{n:03}"),
            Version::Grease(v) => format!("grease-{v:08x}"),
            Version::Negotiation => "version-negotiation".into(),
            Version::Unknown(v) => format!("unknown-{v:08x}"),
        }
    }

    /// Google QUIC (any flavour).
    pub fn is_gquic(self) -> bool {
        matches!(self, Version::GQuicQ(_) | Version::GQuicT(_))
    }

    /// Whether this is a version a client may really use (not GREASE, not unknown).
    pub fn is_known(self) -> bool {
        !matches!(
            self,
            Version::Grease(_) | Version::Negotiation | Version::Unknown(_)
        )
    }

    /// Salts to try for Initial keys, most likely first. Versions whose
    /// mapping is not published get a few candidates; the AEAD tag tells
    /// which one is right.
    pub fn initial_salts(self) -> &'static [&'static [u8; 20]] {
        match self {
            Version::V1 => &[&SALT_V1],
            Version::V2 => &[&SALT_V2],
            Version::V2Draft => &[&SALT_V2_DRAFT],
            Version::Draft(n) => match n {
                33.. => &[&SALT_V1],
                29..=32 => &[&SALT_DRAFT_29],
                23..=28 => &[&SALT_DRAFT_23],
                21..=22 => &[&SALT_DRAFT_21],
                18..=20 => &[&SALT_DRAFT_18],
                _ => &[],
            },
            Version::Mvfst(0xfaceb001) => &[&SALT_DRAFT_21],
            Version::Mvfst(0xfaceb002 | 0xfaceb00e) => &[&SALT_DRAFT_23],
            Version::Mvfst(_) => &[&SALT_DRAFT_23, &SALT_V1, &SALT_DRAFT_29],
            Version::GQuicQ(50) => &[&SALT_Q050],
            Version::GQuicT(50) => &[&SALT_T050],
            Version::GQuicT(51) => &[&SALT_T051],
            Version::Grease(_) => &[&SALT_V1, &SALT_DRAFT_29],
            _ => &[],
        }
    }

    pub fn labels(self) -> Labels {
        match self {
            Version::V2 | Version::V2Draft => V2_LABELS,
            _ => V1_LABELS,
        }
    }

    /// The packet type of a long header's type bits (`(byte0 >> 4) & 3`).
    pub fn long_type(self, bits: u8) -> LongType {
        let bits = bits & 3;
        match self {
            Version::V2 | Version::V2Draft => match bits {
                0 => LongType::Retry,
                1 => LongType::Initial,
                2 => LongType::ZeroRtt,
                _ => LongType::Handshake,
            },
            _ => match bits {
                0 => LongType::Initial,
                1 => LongType::ZeroRtt,
                2 => LongType::Handshake,
                _ => LongType::Retry,
            },
        }
    }

    /// The long-header type bits of a packet type (inverse of [`Version::long_type`]).
    pub fn type_bits(self, t: LongType) -> u8 {
        (0..4).find(|&b| self.long_type(b) == t).unwrap_or(0)
    }

    /// The 32-bit number on the wire.
    pub fn wire(self) -> u32 {
        let digits =
            |n: u16| u32::from(b'0' + (n / 10 % 10) as u8) << 8 | u32::from(b'0' + (n % 10) as u8);
        match self {
            Version::V1 => 1,
            Version::V2 => 0x6b33_43cf,
            Version::V2Draft => 0x709a_50c4,
            Version::Draft(n) => 0xff00_0000 | u32::from(n),
            Version::GQuicQ(n) => 0x5130_0000 | digits(n),
            Version::GQuicT(n) => 0x5430_0000 | digits(n),
            Version::Mvfst(v) | Version::Grease(v) | Version::Unknown(v) => v,
            Version::Negotiation => 0,
        }
    }

    /// Drafts before 22 pack both connection ID lengths in one byte.
    pub fn packed_cid_lengths(self) -> bool {
        matches!(self, Version::Draft(n) if n < 22)
    }

    /// Whether the Initial carries a TLS ClientHello (gQUIC Q0xx carries a CHLO).
    pub fn uses_tls(self) -> bool {
        !matches!(self, Version::GQuicQ(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_wire_versions() {
        assert_eq!(classify(0x0000_0001), Version::V1);
        assert_eq!(classify(0x6b33_43cf), Version::V2);
        assert_eq!(classify(0xff00_001d), Version::Draft(29));
        assert_eq!(classify(0xfaceb002), Version::Mvfst(0xfaceb002));
        assert_eq!(classify(u32::from_be_bytes(*b"Q043")), Version::GQuicQ(43));
        assert_eq!(classify(u32::from_be_bytes(*b"T051")), Version::GQuicT(51));
        assert_eq!(
            classify(u32::from_be_bytes(*b"Q0x3")),
            Version::Unknown(0x5130_7833)
        );
        assert_eq!(classify(0x1a2a_3a4a), Version::Grease(0x1a2a_3a4a));
        assert_eq!(classify(0), Version::Negotiation);
        assert_eq!(classify(0xff00_001d).name(), "draft-29");
        assert_eq!(classify(u32::from_be_bytes(*b"Q025")).name(), "Q025");
        assert!(!classify(0x0a0a_0a0a).is_known());
    }

    #[test]
    fn salts_follow_the_drafts() {
        assert_eq!(Version::Draft(34).initial_salts(), &[&SALT_V1]);
        assert_eq!(Version::Draft(32).initial_salts(), &[&SALT_DRAFT_29]);
        assert_eq!(Version::Draft(27).initial_salts(), &[&SALT_DRAFT_23]);
        assert_eq!(Version::Draft(22).initial_salts(), &[&SALT_DRAFT_21]);
        assert_eq!(Version::Draft(19).initial_salts(), &[&SALT_DRAFT_18]);
        assert_eq!(
            Version::Mvfst(0xfaceb001).initial_salts(),
            &[&SALT_DRAFT_21]
        );
        assert_eq!(SALT_V1[0], 0x38);
        assert_eq!(SALT_V1[19], 0x0a);
    }

    #[test]
    fn v2_swaps_long_header_types() {
        assert_eq!(Version::V1.long_type(0), LongType::Initial);
        assert_eq!(Version::V2.long_type(1), LongType::Initial);
        assert_eq!(Version::V2.long_type(0), LongType::Retry);
        assert_eq!(Version::V2.long_type(3), LongType::Handshake);
        assert_eq!(Version::V2.labels().hp, b"quicv2 hp");
        for raw in [
            1,
            0x6b33_43cf,
            0xff00_001d,
            0xfaceb002,
            0x5130_3433,
            0x5430_3531,
            0x1a2a_3a4a,
        ] {
            let v = classify(raw);
            assert_eq!(v.wire(), raw);
            for t in [
                LongType::Initial,
                LongType::ZeroRtt,
                LongType::Handshake,
                LongType::Retry,
            ] {
                assert_eq!(v.long_type(v.type_bits(t)), t);
            }
        }
    }
}
