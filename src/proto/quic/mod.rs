//! QUIC (RFC 9000/9001, v2 RFC 9369, the IETF drafts, Facebook mvfst) and
//! Google QUIC recognition.
//!
//! * Initial packets are decrypted with public salts: the ClientHello's SNI
//!   and ALPN are readable by anyone (layer `quic-initial`, keyless).
//! * Handshake, 0-RTT and 1-RTT packets are decrypted with TLS secrets from a
//!   key log; stream data goes to HTTP/3 or to inner streams (layer `quic`,
//!   keyed).
//! * gQUIC (Q0xx, T05x) is recognised and labelled; its QUIC-crypto CHLO
//!   carries SNI and user agent in the clear.

pub mod build;
pub mod connection;
pub mod frames;
pub mod gquic;
pub mod header;
pub mod protect;
pub mod reasm;
pub mod varint;
pub mod version;

pub use connection::QuicDissector;

use crate::model::Transport;
use crate::proto::dissector::{Confidence, Dissector, Env};
use crate::proto::registry::{FlowHint, ProbeInput};
use header::Packet;
use version::{LongType, Version};

/// Ports where QUIC runs without a signature in the first datagram (short headers).
const QUIC_PORTS: &[u16] = &[443, 80, 8443, 4433, 784, 853];

/// Probe: a long header with a known (or GREASE) version and a plausible
/// layout, or a legacy gQUIC client hello. A short header on port 443 is
/// only a port hint.
pub fn probe(input: &ProbeInput<'_>) -> Confidence {
    if input.transport != Transport::Udp {
        return Confidence::No;
    }
    let Some((_, d)) = input.datagrams.first() else {
        return Confidence::NeedMore;
    };
    classify_datagram(d, input.port_in(QUIC_PORTS))
}

/// How much a single datagram looks like QUIC.
pub fn classify_datagram(d: &[u8], quic_port: bool) -> Confidence {
    let Some(&first) = d.first() else {
        return Confidence::No;
    };
    if gquic::is_legacy_client_hello(d) {
        return Confidence::Certain;
    }
    if first & 0x80 == 0 {
        let short = first & 0x40 != 0 && d.len() >= 21;
        return if quic_port && (short || gquic::is_legacy_packet(d)) {
            Confidence::Port
        } else {
            Confidence::No
        };
    }
    let Some(raw) = d
        .get(1..5)
        .map(|v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    else {
        return Confidence::No;
    };
    let v = version::classify(raw);
    if matches!(v, Version::GQuicQ(n) if n < 50) {
        // Q046-style long header with a Google QUIC version.
        return Confidence::Certain;
    }
    match header::parse(d) {
        Ok(Packet::Long(h)) if v.is_known() => {
            if h.kind == LongType::Initial && d.len() >= 1200 {
                Confidence::Certain
            } else {
                Confidence::Likely
            }
        }
        Ok(Packet::Long(h)) if matches!(v, Version::Grease(_)) => {
            if h.dcid.len() <= header::MAX_CID_LEN
                && h.scid.len() <= header::MAX_CID_LEN
                && d.len() >= 1200
            {
                Confidence::Likely
            } else {
                Confidence::No
            }
        }
        Ok(Packet::VersionNegotiation { versions, .. }) => {
            let plausible = !versions.is_empty()
                && versions.iter().all(|&x| x != 0)
                && versions.iter().any(|&x| version::classify(x).is_known());
            if plausible {
                Confidence::Likely
            } else {
                Confidence::No
            }
        }
        Ok(Packet::Retry { .. }) if v.is_known() => Confidence::Likely,
        // Cut short by the capture's snap length, on a QUIC port.
        Err(header::HeaderError::Truncated) if v.is_known() && quic_port => Confidence::Port,
        _ => Confidence::No,
    }
}

pub fn make(_: &FlowHint, _: &Env) -> Box<dyn Dissector> {
    Box::new(QuicDissector::new())
}

#[cfg(test)]
mod tests;
