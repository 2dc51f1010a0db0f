//! Wire signatures of messengers that have no other dissector: each module
//! recognises one app's own transport by its framing (never by address or
//! port), reports what the framing reveals, and attributes the flow through
//! the signature name its app profile declares.

pub mod kakao;
pub mod threema;
pub mod viber;

use crate::evidence::content::TextStats;
use crate::evidence::{CryptoState, EvidenceKind};
use crate::model::Direction;
use crate::proto::dissector::Cx;

/// Attributes the flow to the app declaring `signature`, if any.
pub(crate) fn attribute(cx: &mut Cx<'_>, signature: &str) {
    if let Some(app) = cx.env.apps.by_signature(signature) {
        let app = app.to_string();
        cx.set_app(&app, "signature");
    }
}

/// The closing evidence every one of these transports shares: encrypted
/// frames that cannot be opened, and whatever did not frame.
pub(crate) fn finish(
    cx: &mut Cx<'_>,
    protocol: &'static str,
    reason: &str,
    frames: u64,
    other: &[TextStats; 2],
) {
    if frames > 0 {
        cx.crypto(
            protocol,
            CryptoState::NotOpened {
                reason: reason.to_string(),
            },
            frames,
            0,
        );
    }
    for dir in [Direction::ToServer, Direction::ToClient] {
        if let Some(s) = other[dir.index()].summary() {
            cx.emit(
                EvidenceKind::Payload {
                    class: s.class,
                    bytes: other[dir.index()].total(),
                    entropy: s.entropy,
                    printable: s.printable,
                },
                Some(dir),
                None,
            );
        }
    }
}
