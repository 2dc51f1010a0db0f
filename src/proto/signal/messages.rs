//! Signal's chat-service messages (wire.md §14; signalapp/Signal-Server
//! `WebSocketResources.proto`, `TextSecure.proto`, `IncomingMessage.java`).
//!
//! `WebSocketMessage { type 1 (REQUEST 1, RESPONSE 2), request 2 { verb 1,
//! path 2, body 3, id 4, headers 5 }, response 3 { id 1, status 2, message 3,
//! body 4, headers 5 } }`. The server pushes each message as
//! `PUT /api/v1/message` whose body is an `Envelope { type 1, content 8, ... }`;
//! clients send `PUT /v1/messages/{id}` with a JSON body whose
//! `messages[].content` is base64.

use super::pb::{self, Value};
use base64::Engine;

/// One WebSocketMessage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsMessage<'a> {
    Request {
        verb: &'a str,
        path: &'a str,
        body: Option<&'a [u8]>,
    },
    Response {
        status: Option<u64>,
        body: Option<&'a [u8]>,
    },
}

/// Parses one WebSocketMessage; `None` unless it has a type and the matching
/// sub-message with text fields where text is expected.
pub fn parse_ws(b: &[u8]) -> Option<WsMessage<'_>> {
    if !pb::is_message(b, 3) {
        return None;
    }
    let kind = pb::get(b, 1)?.varint()?;
    match kind {
        1 => {
            let r = pb::get(b, 2)?.bytes()?;
            let verb = text(pb::get(r, 1)?)?;
            let path = text(pb::get(r, 2)?)?;
            if !matches!(verb, "GET" | "PUT" | "POST" | "DELETE" | "PATCH" | "HEAD")
                || !path.starts_with('/')
            {
                return None;
            }
            Some(WsMessage::Request {
                verb,
                path,
                body: pb::get(r, 3).and_then(Value::bytes),
            })
        }
        2 => {
            let r = pb::get(b, 3)?.bytes()?;
            if !pb::is_message(r, 5) {
                return None;
            }
            Some(WsMessage::Response {
                status: pb::get(r, 2).and_then(Value::varint),
                body: pb::get(r, 4).and_then(Value::bytes),
            })
        }
        _ => None,
    }
}

fn text(v: Value<'_>) -> Option<&str> {
    std::str::from_utf8(v.bytes()?).ok()
}

/// Envelope types (Signal-Server `TextSecure.proto`).
pub fn envelope_type_name(t: u64) -> &'static str {
    match t {
        1 => "ciphertext",
        3 => "prekey-bundle",
        5 => "server-delivery-receipt",
        6 => "unidentified-sender",
        8 => "plaintext-content",
        _ => "unknown",
    }
}

/// An Envelope as far as E2E matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub kind: u64,
    pub content: Option<&'a [u8]>,
    /// The sender's service id is visible to the server (not sealed sender).
    pub source_visible: bool,
}

impl Envelope<'_> {
    /// The content is a libsignal ciphertext of the kind the type announces.
    pub fn is_e2e(&self) -> bool {
        self.content
            .is_some_and(|c| libsignal_ciphertext(self.kind, c))
    }
}

/// A 33-byte Curve25519 public key as libsignal serialises it (type byte 5).
fn curve_key(v: Option<Value<'_>>) -> bool {
    v.and_then(Value::bytes)
        .is_some_and(|k| k.len() == 33 && k[0] == 0x05)
}

/// Whether `c` has the structure of a libsignal ciphertext for envelope type
/// `kind`, not merely its first byte (plain text can start with `3`, `D` or `"`):
/// * 1, SignalMessage: `0x33`/`0x44`, protobuf with a ratchet key (field 1),
///   then an 8-byte MAC;
/// * 3, PreKeySignalMessage: `0x33`/`0x44`, protobuf with a base or identity
///   key (fields 2, 3) and an inner SignalMessage (field 4);
/// * 6, sealed sender: v1 `0x11` + protobuf with an ephemeral key (field 1);
///   v2 `0x22`/`0x23` + ephemeral key, encrypted message key and tag
///   (at least 80 bytes) that do not read as text.
pub fn libsignal_ciphertext(kind: u64, c: &[u8]) -> bool {
    let Some((&version, rest)) = c.split_first() else {
        return false;
    };
    match (kind, version) {
        (1, 0x33 | 0x44) => {
            let Some(body) = rest.len().checked_sub(8).map(|n| &rest[..n]) else {
                return false;
            };
            pb::is_message(body, 8) && curve_key(pb::get(body, 1))
        }
        (3, 0x33 | 0x44) => {
            pb::is_message(rest, 9)
                && (curve_key(pb::get(rest, 2)) || curve_key(pb::get(rest, 3)))
                && pb::get(rest, 4)
                    .and_then(Value::bytes)
                    .is_some_and(|m| libsignal_ciphertext(1, m))
        }
        (6, 0x11) => pb::is_message(rest, 3) && curve_key(pb::get(rest, 1)),
        (6, 0x22 | 0x23) => {
            rest.len() >= 80
                && crate::evidence::content::classify(rest).class
                    != crate::evidence::PayloadClass::Text
        }
        _ => false,
    }
}

/// Parses an Envelope (type 1, content 8, source service id 11).
pub fn parse_envelope(b: &[u8]) -> Option<Envelope<'_>> {
    if !pb::is_message(b, 32) {
        return None;
    }
    Some(Envelope {
        kind: pb::get(b, 1)?.varint()?,
        content: pb::get(b, 8).and_then(Value::bytes),
        source_visible: pb::get(b, 11)
            .and_then(Value::bytes)
            .is_some_and(|s| !s.is_empty()),
    })
}

/// The outgoing JSON (`PUT /v1/messages/{id}`): each message's type and its
/// base64 content, decoded (at most 32 messages).
pub fn outgoing(json: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(json) else {
        return Vec::new();
    };
    let Some(list) = v.get("messages").and_then(|m| m.as_array()) else {
        return Vec::new();
    };
    list.iter()
        .take(32)
        .filter_map(|m| {
            let t = m.get("type")?.as_u64()?;
            let c = m.get("content")?.as_str()?;
            let bytes = base64::engine::general_purpose::STANDARD.decode(c).ok()?;
            Some((t, bytes))
        })
        .collect()
}

/// Builds messages for tests and fuzzing.
pub mod build {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    pub fn field_varint(n: u32, v: u64, out: &mut Vec<u8>) {
        varint(u64::from(n) << 3, out);
        varint(v, out);
    }

    pub fn field_bytes(n: u32, b: &[u8], out: &mut Vec<u8>) {
        varint((u64::from(n) << 3) | 2, out);
        varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }

    /// `WebSocketMessage { type: REQUEST, request { verb, path, body, id } }`.
    pub fn request(verb: &str, path: &str, body: &[u8], id: u64) -> Vec<u8> {
        let mut r = Vec::new();
        field_bytes(1, verb.as_bytes(), &mut r);
        field_bytes(2, path.as_bytes(), &mut r);
        field_bytes(3, body, &mut r);
        field_varint(4, id, &mut r);
        let mut m = Vec::new();
        field_varint(1, 1, &mut m);
        field_bytes(2, &r, &mut m);
        m
    }

    /// A SignalMessage shaped as libsignal serialises it: version `0x33`,
    /// `{ ratchetKey 1 (0x05 + 32), counter 2, previousCounter 3,
    /// ciphertext 4 }`, then an 8-byte MAC.
    pub fn signal_message(ciphertext: &[u8]) -> Vec<u8> {
        let mut key = vec![0x05];
        key.extend([0x5a; 32]);
        let mut m = vec![0x33];
        field_bytes(1, &key, &mut m);
        field_varint(2, 1, &mut m);
        field_varint(3, 0, &mut m);
        field_bytes(4, ciphertext, &mut m);
        m.extend([0x99; 8]);
        m
    }

    /// `Envelope { type, content, server_timestamp }`.
    pub fn envelope(kind: u64, content: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        field_varint(1, kind, &mut e);
        field_bytes(8, content, &mut e);
        field_varint(10, 1_700_000_000_000, &mut e);
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal_message() -> Vec<u8> {
        build::signal_message(&[0xa7; 16])
    }

    #[test]
    fn server_push_carries_an_e2e_envelope() {
        let env = build::envelope(1, &signal_message());
        let ws = build::request("PUT", "/api/v1/message", &env, 7);
        match parse_ws(&ws).unwrap() {
            WsMessage::Request { verb, path, body } => {
                assert_eq!((verb, path), ("PUT", "/api/v1/message"));
                let e = parse_envelope(body.unwrap()).unwrap();
                assert_eq!(envelope_type_name(e.kind), "ciphertext");
                assert!(e.is_e2e());
                assert!(!e.source_visible);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sealed_sender_and_non_e2e_content() {
        let mut v2 = vec![0x22];
        v2.extend((0u8..120).map(|i| i.wrapping_mul(151).wrapping_add(17)));
        let e = build::envelope(6, &v2);
        assert!(parse_envelope(&e).unwrap().is_e2e());
        // Text that merely starts with the right byte is not a ciphertext.
        for text in [
            &b"3pm at the station, bring the documents"[..],
            b"\"quoted\" words here",
        ] {
            assert!(!libsignal_ciphertext(1, text));
            assert!(!libsignal_ciphertext(6, text));
        }
        // A type that claims ciphertext but carries text is not E2E.
        let e = build::envelope(1, b"meet me at noon");
        assert!(!parse_envelope(&e).unwrap().is_e2e());
        let e = build::envelope(8, &[0x33]);
        assert!(!parse_envelope(&e).unwrap().is_e2e());
    }

    #[test]
    fn outgoing_json_contents_are_decoded() {
        let json = br#"{"messages":[{"type":1,"destinationDeviceId":1,"destinationRegistrationId":22,"content":"MwohBQ=="}],"online":false}"#;
        assert_eq!(outgoing(json), vec![(1, vec![0x33, 0x0a, 0x21, 0x05])]);
        assert!(!libsignal_ciphertext(1, &[0x33, 0x0a, 0x21, 0x05]));
        assert!(outgoing(b"not json").is_empty());
    }

    #[test]
    fn responses_and_garbage() {
        let mut r = Vec::new();
        build::field_varint(1, 7, &mut r);
        build::field_varint(2, 200, &mut r);
        build::field_bytes(3, b"OK", &mut r);
        let mut m = Vec::new();
        build::field_varint(1, 2, &mut m);
        build::field_bytes(3, &r, &mut m);
        assert_eq!(
            parse_ws(&m),
            Some(WsMessage::Response {
                status: Some(200),
                body: None
            })
        );
        assert_eq!(parse_ws(&build::request("FETCH", "/x", b"", 1)), None);
        assert_eq!(parse_ws(&build::request("GET", "x", b"", 1)), None);
        assert_eq!(parse_ws(&[0x08, 0x01, 0x12, 0x40]), None);
    }
}
