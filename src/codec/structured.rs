//! Binary messages with string fields inside (protobuf, Thrift), for
//! dissectors that meet an opaque blob in a body, a WebSocket frame or a
//! gRPC message.
//!
//! [`string_fields`] recognises the format and lists the string fields
//! with their paths; [`report`] feeds each one a layer down to the canary
//! matcher and the message-content check, so that hits carry their path
//! (`tcp › http-body › protobuf 1.2.3`).

use crate::codec::{protobuf, thrift};
use crate::evidence::Layer;
use crate::evidence::provenance::Protection;
use crate::model::Direction;
use crate::proto::dissector::Cx;
use std::borrow::Cow;

/// Bounds of a walk through a binary message.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// Nesting levels walked into.
    pub max_depth: usize,
    /// Fields and values visited in total.
    pub max_fields: usize,
    /// String fields returned.
    pub max_strings: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_depth: 8,
            max_fields: 4096,
            max_strings: 256,
        }
    }
}

/// A string (or bytes) field found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringField<'a> {
    /// Field numbers from the outside in, joined by dots.
    pub path: String,
    pub value: &'a [u8],
    /// Whether the value is UTF-8 without control characters (tab and line
    /// breaks aside).
    pub text: bool,
}

/// UTF-8 without control characters other than tab, CR and LF.
pub fn is_text(b: &[u8]) -> bool {
    std::str::from_utf8(b).is_ok_and(|s| {
        s.chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\r' | '\n'))
    })
}

/// Formats [`string_fields`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Protobuf,
    Thrift(thrift::Protocol),
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Protobuf => "protobuf",
            Format::Thrift(p) => p.as_str(),
        }
    }
}

/// The string fields of a binary message in `format`, or of the first
/// format it parses as (Thrift envelopes first, whose signatures are
/// strict, then protobuf, then bare Thrift structs). `None` when it is none
/// of them, or is itself text (text is scanned as it is).
pub fn string_fields<'a>(
    blob: &'a [u8],
    format: Option<Format>,
    bounds: &Bounds,
) -> Option<(Format, Vec<StringField<'a>>)> {
    if blob.is_empty() || is_text(blob) {
        return None;
    }
    let try_one = |f: Format| -> Option<(Format, Vec<StringField<'a>>)> {
        match f {
            Format::Protobuf => protobuf::strings(blob, bounds),
            Format::Thrift(p) => thrift::strings(blob, p, bounds),
        }
        .map(|v| (f, v))
    };
    if let Some(f) = format {
        return try_one(f);
    }
    let envelope = matches!(blob, [0x80, 0x01, ..] | [0x82, ..])
        || matches!(blob.get(4..6), Some([0x80, 0x01]));
    let order: &[Format] = if envelope {
        &[
            Format::Thrift(thrift::Protocol::Binary),
            Format::Thrift(thrift::Protocol::Compact),
            Format::Protobuf,
        ]
    } else {
        &[
            Format::Protobuf,
            Format::Thrift(thrift::Protocol::Binary),
            Format::Thrift(thrift::Protocol::Compact),
        ]
    };
    order.iter().find_map(|&f| try_one(f))
}

/// Reports the string fields of `blob` one layer down (named after the
/// format and the field path): every field is searched for canaries, and
/// text fields are judged as message content under `field`. Returns the
/// format when the blob was recognised.
pub fn report(
    cx: &mut Cx<'_>,
    dir: Direction,
    field: &'static str,
    blob: &[u8],
    format: Option<Format>,
) -> Option<Format> {
    let (format, fields) = string_fields(blob, format, &Bounds::default())?;
    for f in fields {
        let layer = Layer {
            name: Cow::Owned(format!("{} {}", format.as_str(), f.path)),
            protection: Protection::None,
        };
        cx.with_layer(layer, |cx| {
            if f.text {
                cx.content(dir, field, f.value);
            } else {
                let mut st = crate::evidence::canary::ScanState::default();
                cx.scan(&mut st, dir, f.value);
                cx.scan_end(&mut st, dir);
            }
        });
    }
    Some(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised() {
        let b = Bounds::default();
        // protobuf: 2: "testing" plus a binary field so the blob is not text.
        let pb = [
            0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g', 0x1a, 0x01, 0xff,
        ];
        let (f, fields) = string_fields(&pb, None, &b).unwrap();
        assert_eq!(f, Format::Protobuf);
        assert_eq!(fields[0].value, b"testing");
        // Thrift compact envelope.
        let mut tc = vec![0x82, 0x21, 0x01, 0x04];
        tc.extend(b"ping");
        tc.extend([0x18, 0x02, b'o', b'k', 0x00]);
        let (f, fields) = string_fields(&tc, None, &b).unwrap();
        assert_eq!(f, Format::Thrift(thrift::Protocol::Compact));
        assert_eq!(fields[1].value, b"ok");
        // Text is not a message; random bytes mostly are not either.
        assert!(string_fields(b"hello there", None, &b).is_none());
        assert!(string_fields(&[0xff, 0xfe, 0xfd], None, &b).is_none());
    }

    #[test]
    fn report_scans_fields_a_layer_down() {
        use crate::evidence::EvidenceKind;
        use crate::evidence::canary::{Canary, CanarySet};
        use crate::proto::dissector::{Collector, Env, FlowInfo, PacketRef};
        let canaries = CanarySet::new(vec![Canary {
            text: "PS-OBWGC2LOONUWO2DU4".into(),
            label: None,
            created: None,
        }])
        .unwrap();
        let rules = crate::rules::builtin();
        let env = Env::new(
            canaries,
            crate::secrets::SecretStore::default(),
            crate::rules::apps::AppIndex::new(&rules.apps),
        );
        let flow = FlowInfo {
            id: 1,
            transport: crate::model::Transport::Tcp,
            client: "10.0.0.1:40000".parse().unwrap(),
            server: "10.0.0.2:443".parse().unwrap(),
        };
        // 1: { 1: 7, 2: "see you at noon PS-…" }, 2: <binary with the canary in UTF-16LE>
        let text = b"see you at noon PS-OBWGC2LOONUWO2DU4";
        let mut inner = vec![0x08, 0x07, 0x12, text.len() as u8];
        inner.extend_from_slice(text);
        let mut blob = vec![0x0a, inner.len() as u8];
        blob.extend(inner);
        let utf16: Vec<u8> = "PS-OBWGC2LOONUWO2DU4"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .chain([0xff])
            .collect();
        blob.extend([0x12, utf16.len() as u8]);
        blob.extend(utf16);
        let mut out = Collector::default();
        {
            let mut cx = Cx::new(&env, &flow, &mut out, PacketRef::default());
            let f = cx.with_layer(Layer::plain("tcp"), |cx| {
                report(cx, Direction::ToServer, "grpc.message", &blob, None)
            });
            assert_eq!(f, Some(Format::Protobuf));
        }
        let seen: Vec<(String, &str)> = out
            .evidence
            .iter()
            .map(|e| (e.chain(), e.kind.tag()))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("tcp › protobuf 1.2".to_string(), "canary"),
                ("tcp › protobuf 1.2".to_string(), "content"),
                ("tcp › protobuf 2".to_string(), "canary"),
            ]
        );
        assert!(matches!(
            out.evidence[2].kind,
            EvidenceKind::Canary {
                encoding: crate::evidence::Encoding::Utf16le,
                ..
            }
        ));
    }
}
