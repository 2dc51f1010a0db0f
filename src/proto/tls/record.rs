//! tls record
