//! The one place verdicts are decided, from evidence provenance alone.
//!
//! Decision table for a flow (first matching row wins):
//!
//! | # | evidence | verdict |
//! |---|---|---|
//! | 1 | canary or message content under no keyed layer | `exposed` |
//! | 2 | canary or message content under a keyed layer | `server-readable` |
//! | 3 | an encrypted layer not opened, or only partly opened | `opaque` (reason names the layer and why) |
//! | 4 | every encrypted layer opened; inside only an E2E envelope or high-entropy bytes | `sealed` |
//! | 5 | every encrypted layer opened; readable plaintext or unencrypted binary inside | `server-readable` |
//! | 6 | every encrypted layer opened; no message content inside | `no-content` |
//! | 7 | unclaimed cleartext payload that reads as text | `exposed` |
//! | 8 | unclaimed high-entropy or unrecognised binary payload | `opaque` |
//! | 9 | nothing that could carry a message | `no-content` |
//!
//! A flow is never `sealed` unless a transport was opened with keys and every
//! record of it decrypted: a false `sealed` is the worst bug this tool can have.
//!
//! For a store: content or a canary read live → `exposed`; only from deleted
//! or expired space → `retained`; encrypted with the key beside it → `exposed`;
//! encrypted and the key not beside it → `sealed`; encrypted and unrecognised → `opaque`.
//! A crypto reason says the key is beside the data with the exact phrase
//! `key beside the data`, and an unrecognised container with `unrecognised`.

use crate::evidence::{CryptoState, Evidence, EvidenceKind, PayloadClass};
use crate::model::{CanaryVerdict, Verdict};

/// A verdict with the sentence that justifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: String,
}

fn decision(verdict: Verdict, reason: impl Into<String>) -> Decision {
    Decision {
        verdict,
        reason: reason.into(),
    }
}

fn is_message(e: &Evidence) -> bool {
    matches!(
        e.kind,
        EvidenceKind::Canary { .. } | EvidenceKind::Content { .. }
    )
}

fn what(e: &Evidence, canary_name: &dyn Fn(u32) -> String) -> String {
    match &e.kind {
        EvidenceKind::Canary {
            canary, encoding, ..
        } => {
            format!("canary {} ({})", canary_name(*canary), encoding.as_str())
        }
        EvidenceKind::Content { field, .. } => format!("message-like text in {field}"),
        _ => String::new(),
    }
}

/// Decides the verdict of a flow from its evidence.
pub fn flow(evidence: &[Evidence], canary_name: &dyn Fn(u32) -> String) -> Decision {
    // Rows 1-2: message content, keyed or not.
    if let Some(e) = evidence.iter().find(|e| is_message(e) && !e.keyed()) {
        return decision(
            Verdict::Exposed,
            format!(
                "{} readable with no key in {}",
                what(e, canary_name),
                e.chain()
            ),
        );
    }
    if let Some(e) = evidence.iter().find(|e| is_message(e) && e.keyed()) {
        return decision(
            Verdict::ServerReadable,
            format!(
                "{} readable once the transport is removed with session keys ({}): whoever terminates it reads it",
                what(e, canary_name),
                e.chain()
            ),
        );
    }
    // Row 3: encrypted layers that were not fully opened.
    let crypto: Vec<&Evidence> = evidence
        .iter()
        .filter(|e| matches!(e.kind, EvidenceKind::Crypto { .. }))
        .collect();
    let mut closed = Vec::new();
    for e in &crypto {
        if let EvidenceKind::Crypto {
            protocol, state, ..
        } = &e.kind
        {
            match state {
                CryptoState::Opened => {}
                CryptoState::Partial { reason } => {
                    closed.push(format!("{protocol} only partly decrypted: {reason}"))
                }
                CryptoState::NotOpened { reason } => {
                    closed.push(format!("{protocol} not opened: {reason}"))
                }
            }
        }
    }
    if !closed.is_empty() {
        return decision(Verdict::Opaque, closed.join("; "));
    }
    // Rows 4-6: every encrypted layer opened.
    if !crypto.is_empty() {
        let opened: Vec<String> = crypto
            .iter()
            .filter_map(|e| match &e.kind {
                EvidenceKind::Crypto {
                    protocol,
                    records,
                    decrypted,
                    ..
                } => Some(format!("{protocol}, {decrypted}/{records} records")),
                _ => None,
            })
            .collect();
        let opened = opened.join("; ");
        if let Some(EvidenceKind::E2eEnvelope { scheme }) = evidence
            .iter()
            .map(|e| &e.kind)
            .find(|k| matches!(k, EvidenceKind::E2eEnvelope { .. }))
        {
            return decision(
                Verdict::Sealed,
                format!(
                    "transport opened with keys ({opened}); inside only a {scheme} end-to-end envelope, no message text: consistent with end-to-end encryption"
                ),
            );
        }
        let inner: Vec<PayloadClass> = evidence
            .iter()
            .filter(|e| e.keyed())
            .filter_map(|e| match &e.kind {
                EvidenceKind::Payload { class, .. } => Some(*class),
                _ => None,
            })
            .collect();
        if inner
            .iter()
            .any(|c| matches!(c, PayloadClass::Text | PayloadClass::Binary))
        {
            return decision(
                Verdict::ServerReadable,
                format!(
                    "transport opened with keys ({opened}); the payload inside is not end-to-end encrypted, so whoever terminates the transport reads it"
                ),
            );
        }
        if inner.contains(&PayloadClass::HighEntropy) {
            return decision(
                Verdict::Sealed,
                format!(
                    "transport opened with keys ({opened}); inside only high-entropy ciphertext, no message text: consistent with end-to-end encryption"
                ),
            );
        }
        return decision(
            Verdict::NoContent,
            format!(
                "transport opened with keys ({opened}); no message content inside (only handshake, control data and metadata)"
            ),
        );
    }
    // Rows 7-9: unclaimed payload, no encryption recognised.
    let payload: Vec<(PayloadClass, &Evidence)> = evidence
        .iter()
        .filter(|e| !e.keyed())
        .filter_map(|e| match &e.kind {
            EvidenceKind::Payload { class, .. } => Some((*class, e)),
            _ => None,
        })
        .collect();
    if let Some((_, e)) = payload.iter().find(|(c, _)| *c == PayloadClass::Text) {
        return decision(
            Verdict::Exposed,
            format!(
                "cleartext text payload ({}) readable by anyone on the path",
                dir_text(e)
            ),
        );
    }
    if let Some((_, e)) = payload
        .iter()
        .find(|(c, _)| *c == PayloadClass::HighEntropy)
    {
        return decision(
            Verdict::Opaque,
            format!(
                "high-entropy payload ({}) in an unrecognised protocol: encrypted or compressed, and no key or decoder to look inside",
                dir_text(e)
            ),
        );
    }
    if let Some((_, e)) = payload.iter().find(|(c, _)| *c == PayloadClass::Binary) {
        return decision(
            Verdict::Opaque,
            format!(
                "unrecognised binary payload ({}): no decoder to tell whether it carries messages",
                dir_text(e)
            ),
        );
    }
    if payload.is_empty() {
        if evidence.is_empty() {
            decision(Verdict::NoContent, "no application payload")
        } else {
            decision(
                Verdict::NoContent,
                "the protocol was decoded and carried no message content (only control data and metadata)",
            )
        }
    } else {
        decision(
            Verdict::NoContent,
            "only a few bytes of payload: too little to carry a message",
        )
    }
}

fn dir_text(e: &Evidence) -> &'static str {
    e.dir.map_or("both directions", |d| d.as_str())
}

/// Decides the verdict of a store (database, file, backup) from its evidence.
pub fn store(evidence: &[Evidence], canary_name: &dyn Fn(u32) -> String) -> Decision {
    if let Some(e) = evidence
        .iter()
        .find(|e| is_message(e) && !e.residue() && !e.keyed())
    {
        return decision(
            Verdict::Exposed,
            format!(
                "{} readable at rest with no key ({})",
                what(e, canary_name),
                e.chain()
            ),
        );
    }
    if let Some(e) = evidence.iter().find(|e| is_message(e) && e.keyed()) {
        return decision(
            Verdict::Exposed,
            format!(
                "{} readable with a key stored beside the data ({})",
                what(e, canary_name),
                e.chain()
            ),
        );
    }
    let residue: Vec<&Evidence> = evidence
        .iter()
        .filter(|e| is_message(e) && e.residue())
        .collect();
    if let Some(e) = residue.first() {
        return decision(
            Verdict::Retained,
            format!(
                "{} recovered from deleted or expired space ({}); {} such item(s)",
                what(e, canary_name),
                e.chain(),
                residue.len()
            ),
        );
    }
    for e in evidence {
        if let EvidenceKind::Crypto {
            protocol, state, ..
        } = &e.kind
        {
            return match state {
                CryptoState::Opened => decision(
                    Verdict::Exposed,
                    format!("{protocol}: encrypted at rest, but opened with a key found beside it"),
                ),
                CryptoState::NotOpened { reason } | CryptoState::Partial { reason } => {
                    if reason.contains("key beside the data") {
                        decision(
                            Verdict::Exposed,
                            format!("{protocol}: encrypted at rest, but {reason}"),
                        )
                    } else if reason.contains("unrecognised") {
                        decision(Verdict::Opaque, format!("{protocol}: {reason}"))
                    } else {
                        decision(
                            Verdict::Sealed,
                            format!(
                                "{protocol}: encrypted at rest and no key beside it ({reason})"
                            ),
                        )
                    }
                }
            };
        }
    }
    decision(Verdict::NoContent, "no message content found")
}

/// The verdict a single canary hit implies.
pub fn canary_hit(e: &Evidence) -> CanaryVerdict {
    if e.keyed() {
        CanaryVerdict::ServerReadable
    } else if e.residue() {
        CanaryVerdict::Retained
    } else {
        CanaryVerdict::Exposed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::provenance::KeySource;
    use crate::evidence::{Encoding, Layer, Origin, SubjectId};
    use std::borrow::Cow;

    fn ev(kind: EvidenceKind, layers: Vec<Layer>) -> Evidence {
        Evidence {
            kind,
            subject: SubjectId::Flow(1),
            layers,
            dir: None,
            offset: None,
            origin: Origin::default(),
        }
    }

    fn canary(layers: Vec<Layer>) -> Evidence {
        ev(
            EvidenceKind::Canary {
                canary: 0,
                encoding: Encoding::Utf8,
                context: vec![],
            },
            layers,
        )
    }

    fn crypto(state: CryptoState) -> Evidence {
        ev(
            EvidenceKind::Crypto {
                protocol: Cow::Borrowed("tls1.3"),
                state,
                records: 4,
                decrypted: 4,
            },
            vec![Layer::plain("tcp")],
        )
    }

    fn payload(class: PayloadClass, layers: Vec<Layer>) -> Evidence {
        ev(
            EvidenceKind::Payload {
                class,
                bytes: 1000,
                entropy: 7.9,
                printable: 0.3,
            },
            layers,
        )
    }

    fn name(_: u32) -> String {
        "PS-TEST".into()
    }

    fn keyed() -> Vec<Layer> {
        vec![
            Layer::plain("tcp"),
            Layer::keyed("tls1.3", KeySource::KeyLog),
        ]
    }

    #[test]
    fn plaintext_canary_is_exposed() {
        let d = flow(&[canary(vec![Layer::plain("tcp")])], &name);
        assert_eq!(d.verdict, Verdict::Exposed);
        assert!(d.reason.contains("PS-TEST"));
    }

    #[test]
    fn keyed_canary_is_server_readable() {
        let d = flow(&[crypto(CryptoState::Opened), canary(keyed())], &name);
        assert_eq!(d.verdict, Verdict::ServerReadable);
    }

    #[test]
    fn unopened_transport_is_opaque_never_sealed() {
        let d = flow(
            &[
                crypto(CryptoState::NotOpened {
                    reason: "no secrets for this client random".into(),
                }),
                payload(PayloadClass::HighEntropy, vec![Layer::plain("tcp")]),
            ],
            &name,
        );
        assert_eq!(d.verdict, Verdict::Opaque);
        assert!(d.reason.contains("no secrets"));
        // High-entropy bytes alone, with no transport opened, are opaque too.
        let d = flow(
            &[payload(
                PayloadClass::HighEntropy,
                vec![Layer::plain("tcp")],
            )],
            &name,
        );
        assert_eq!(d.verdict, Verdict::Opaque);
    }

    #[test]
    fn partly_decrypted_is_not_sealed() {
        let d = flow(
            &[
                crypto(CryptoState::Partial {
                    reason: "decryption failed at record 7".into(),
                }),
                payload(PayloadClass::HighEntropy, keyed()),
            ],
            &name,
        );
        assert_eq!(d.verdict, Verdict::Opaque);
    }

    #[test]
    fn opened_with_ciphertext_inside_is_sealed() {
        let d = flow(
            &[
                crypto(CryptoState::Opened),
                payload(PayloadClass::HighEntropy, keyed()),
            ],
            &name,
        );
        assert_eq!(d.verdict, Verdict::Sealed);
    }

    #[test]
    fn opened_with_plaintext_inside_is_server_readable() {
        let d = flow(
            &[
                crypto(CryptoState::Opened),
                payload(PayloadClass::HighEntropy, keyed()),
                payload(PayloadClass::Text, keyed()),
            ],
            &name,
        );
        assert_eq!(d.verdict, Verdict::ServerReadable);
    }

    #[test]
    fn cleartext_text_is_exposed_and_silence_is_no_content() {
        assert_eq!(
            flow(
                &[payload(PayloadClass::Text, vec![Layer::plain("tcp")])],
                &name
            )
            .verdict,
            Verdict::Exposed
        );
        assert_eq!(flow(&[], &name).verdict, Verdict::NoContent);
    }

    #[test]
    fn store_encryption_verdicts_follow_the_reason_phrases() {
        let c = |reason: &str| {
            ev(
                EvidenceKind::Crypto {
                    protocol: Cow::Borrowed("sqlcipher"),
                    state: CryptoState::NotOpened {
                        reason: reason.into(),
                    },
                    records: 1,
                    decrypted: 0,
                },
                vec![Layer::plain("file")],
            )
        };
        let v = |reason: &str| store(&[c(reason)], &name).verdict;
        assert_eq!(
            v("key beside the data: config.json holds `key`"),
            Verdict::Exposed
        );
        assert_eq!(v("no 64-digit key beside it"), Verdict::Sealed);
        assert_eq!(v("unrecognised container"), Verdict::Opaque);
    }

    #[test]
    fn store_residue_is_retained() {
        let e = canary(vec![Layer::plain("sqlite"), Layer::residue("freeblock")]);
        assert_eq!(
            store(std::slice::from_ref(&e), &name).verdict,
            Verdict::Retained
        );
        assert_eq!(canary_hit(&e), CanaryVerdict::Retained);
        let live = canary(vec![
            Layer::plain("sqlite"),
            Layer::plain("message.text_data"),
        ]);
        assert_eq!(store(&[e, live], &name).verdict, Verdict::Exposed);
    }
}
