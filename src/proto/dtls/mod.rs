//! dtls
