//! TLS: record framing, handshake parsing, fingerprints, key schedules and
//! record decryption.

pub mod decrypt;
pub mod fingerprint;
pub mod handshake;
pub mod keys;
pub mod record;
