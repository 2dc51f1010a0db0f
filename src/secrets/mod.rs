//! Secrets: NSS key logs and pcapng secrets, keyed by client random.
//!
//! Key material enters here and never leaves except into the decryptors: no
//! `Debug` output, report field or error message ever contains a secret.

pub mod keylog;

use crate::evidence::provenance::KeySource;
use std::collections::HashMap;
use std::fmt;

pub use keylog::{KeylogWarning, Label};

/// A secret value. Its `Debug` form is redacted on purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// All secrets logged for one TLS/DTLS/QUIC session (one client random).
#[derive(Debug, Clone, Default)]
pub struct SessionSecrets {
    pub entries: Vec<(Label, Secret)>,
    /// Where the first secret for this session came from.
    pub source: Option<KeySource>,
}

impl SessionSecrets {
    pub fn get(&self, label: Label) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, s)| s.0.as_slice())
    }
}

/// Secrets of a run, looked up by the 32-byte ClientHello random.
#[derive(Debug, Default)]
pub struct SecretStore {
    sessions: HashMap<[u8; 32], SessionSecrets>,
    /// RSA pre-master secrets keyed by the first 8 bytes of the encrypted PMS.
    rsa: HashMap<[u8; 8], Secret>,
    generation: u64,
}

impl SecretStore {
    /// Adds the lines of an NSS key log. Bad lines become warnings (1-based line numbers).
    pub fn add_keylog(&mut self, text: &[u8], source: KeySource) -> Vec<KeylogWarning> {
        let mut warnings = Vec::new();
        let mut added = false;
        for entry in keylog::parse(text, &mut warnings) {
            added = true;
            match entry {
                keylog::Entry::Session {
                    label,
                    client_random,
                    secret,
                } => {
                    let s = self.sessions.entry(client_random).or_default();
                    s.source.get_or_insert(source);
                    if !s.entries.iter().any(|(l, _)| *l == label) {
                        s.entries.push((label, Secret(secret)));
                    }
                }
                keylog::Entry::Rsa { prefix, pms } => {
                    self.rsa.entry(prefix).or_insert(Secret(pms));
                }
            }
        }
        if added {
            self.generation += 1;
        }
        warnings
    }

    /// Secrets for the session with this client random.
    pub fn get(&self, client_random: &[u8]) -> Option<&SessionSecrets> {
        let key: [u8; 32] = client_random.try_into().ok()?;
        self.sessions.get(&key)
    }

    /// An RSA pre-master secret by the first 8 bytes of its encrypted form.
    pub fn rsa_premaster(&self, encrypted_prefix: &[u8]) -> Option<&[u8]> {
        let key: [u8; 8] = encrypted_prefix.get(..8)?.try_into().ok()?;
        self.rsa.get(&key).map(|s| s.0.as_slice())
    }

    /// Number of sessions with at least one secret.
    pub fn len(&self) -> usize {
        self.sessions.len() + self.rsa.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Increases whenever secrets are added, so dissectors holding undecrypted
    /// records know when to retry (secrets may arrive after the packets).
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CR: &str = "52362c10a2665e323a2adb4b9da0c10d4a8823719272f8b4c97af24f92784812";

    #[test]
    fn stores_and_finds_by_client_random() {
        let mut st = SecretStore::default();
        let text = format!(
            "# comment\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {CR} 00112233\r\nSERVER_TRAFFIC_SECRET_0 {CR} 44556677\n"
        );
        let w = st.add_keylog(text.as_bytes(), KeySource::KeyLog);
        assert!(w.is_empty(), "{w:?}");
        let cr = keylog::hex(CR).unwrap();
        let s = st.get(&cr).unwrap();
        assert_eq!(
            s.get(Label::ClientHandshakeTrafficSecret),
            Some(&[0x00, 0x11, 0x22, 0x33][..])
        );
        assert_eq!(
            s.get(Label::ServerTrafficSecret0),
            Some(&[0x44, 0x55, 0x66, 0x77][..])
        );
        assert_eq!(st.generation(), 1);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let mut st = SecretStore::default();
        st.add_keylog(
            format!("CLIENT_RANDOM {CR} deadbeefcafebabe").as_bytes(),
            KeySource::KeyLog,
        );
        let dbg = format!("{st:?}");
        assert!(!dbg.contains("deadbeef"), "{dbg}");
        assert!(!dbg.to_lowercase().contains("de ad be ef"));
    }
}
