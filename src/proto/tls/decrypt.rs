//! tls decrypt
