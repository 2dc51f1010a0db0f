//! tls fingerprint
