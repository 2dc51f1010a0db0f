//! A bounded protobuf walker: the length-delimited fields of a message at
//! any depth, without a schema.
//!
//! Without a schema a length-delimited field is a string, raw bytes, a
//! packed array or a nested message. A field is walked into only when it is
//! not printable text and parses completely as a message itself; otherwise
//! it is reported as a leaf, with a flag saying whether it is UTF-8 text.
//! Depth, field count and output are bounded; nothing is allocated from a
//! length read off the wire.

use crate::codec::structured::{Bounds, StringField, is_text};

/// Wire types (protobuf encoding guide).
const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const SGROUP: u8 = 3;
const EGROUP: u8 = 4;
const I32: u8 = 5;
/// Largest field number (2^29 - 1).
const MAX_FIELD: u64 = (1 << 29) - 1;

/// A base-128 varint at the start of `b`: (value, bytes used).
pub fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // The tenth byte may only carry the top bit of a u64.
            if i == 9 && byte > 1 {
                return None;
            }
            return Some((v, i + 1));
        }
    }
    None
}

/// One field: its number and where its value is.
enum Value<'a> {
    Scalar,
    Bytes(&'a [u8]),
    Group(&'a [u8]),
}

/// The fields of a message and the bytes it took.
type Fields<'a> = (Vec<(u64, Value<'a>)>, usize);

/// Splits a message into fields; `None` if `b` is not exactly one message.
/// Inside a group (`end` is its field number) the fields run up to the end
/// tag, and the length returned stops before it.
fn fields<'a>(b: &'a [u8], end: Option<u64>, budget: &mut usize) -> Option<Fields<'a>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        *budget = budget.checked_sub(1)?;
        let tag_at = at;
        let (tag, n) = varint(b.get(at..)?)?;
        at += n;
        let (field, wire) = (tag >> 3, (tag & 7) as u8);
        if field == 0 || field > MAX_FIELD {
            return None;
        }
        let value = match wire {
            VARINT => {
                let (_, n) = varint(b.get(at..)?)?;
                at += n;
                Value::Scalar
            }
            I64 | I32 => {
                at += if wire == I64 { 8 } else { 4 };
                if at > b.len() {
                    return None;
                }
                Value::Scalar
            }
            LEN => {
                let (len, n) = varint(b.get(at..)?)?;
                at += n;
                let len = usize::try_from(len).ok()?;
                let v = b.get(at..at.checked_add(len)?)?;
                at += len;
                Value::Bytes(v)
            }
            SGROUP => {
                let rest = b.get(at..)?;
                let (_, len) = fields(rest, Some(field), budget)?;
                let inner = rest.get(..len)?;
                // Step over the group's fields and its end tag.
                let (_, n) = varint(rest.get(len..)?)?;
                at += len + n;
                Value::Group(inner)
            }
            EGROUP => {
                return (end == Some(field)).then_some((out, tag_at));
            }
            _ => return None,
        };
        out.push((field, value));
    }
    // A group must end with its end tag; a message must not have one.
    end.is_none().then_some((out, at))
}

/// Whether `b` parses completely as a protobuf message with at least one field.
pub fn is_message(b: &[u8]) -> bool {
    let mut budget = Bounds::default().max_fields;
    fields(b, None, &mut budget).is_some_and(|(f, _)| !f.is_empty())
}

/// The string and bytes fields of a message, at any depth within `bounds`;
/// `None` if `msg` is not a protobuf message. Paths are field numbers from
/// the outside in, joined by dots (`1.4.2`); a group's fields are under its
/// own number.
pub fn strings<'a>(msg: &'a [u8], bounds: &Bounds) -> Option<Vec<StringField<'a>>> {
    let mut budget = bounds.max_fields;
    let (top, _) = fields(msg, None, &mut budget)?;
    if top.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    walk(top, "", 1, bounds, &mut budget, &mut out);
    Some(out)
}

fn walk<'a>(
    fs: Vec<(u64, Value<'a>)>,
    prefix: &str,
    depth: usize,
    bounds: &Bounds,
    budget: &mut usize,
    out: &mut Vec<StringField<'a>>,
) {
    for (field, value) in fs {
        if out.len() >= bounds.max_strings {
            return;
        }
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        let inner = match value {
            Value::Scalar => continue,
            Value::Group(g) => g,
            Value::Bytes(v) => {
                let text = is_text(v);
                if text || depth >= bounds.max_depth || v.is_empty() {
                    out.push(StringField {
                        path,
                        value: v,
                        text,
                    });
                    continue;
                }
                v
            }
        };
        let nested = if depth < bounds.max_depth {
            fields(inner, None, budget).filter(|(f, _)| !f.is_empty())
        } else {
            None
        };
        match nested {
            Some((f, _)) => walk(f, &path, depth + 1, bounds, budget, out),
            None if !matches!(value, Value::Group(_)) => out.push(StringField {
                path,
                value: inner,
                text: false,
            }),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes a varint.
    fn v(mut x: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (x & 0x7f) as u8;
            x >>= 7;
            if x == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    fn len_field(field: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = v(field << 3 | 2);
        out.extend(v(bytes.len() as u64));
        out.extend_from_slice(bytes);
        out
    }

    fn paths(out: &[StringField<'_>]) -> Vec<(String, String, bool)> {
        out.iter()
            .map(|f| {
                (
                    f.path.clone(),
                    String::from_utf8_lossy(f.value).into_owned(),
                    f.text,
                )
            })
            .collect()
    }

    #[test]
    fn varints_from_the_encoding_guide() {
        assert_eq!(varint(&[0x96, 0x01]), Some((150, 2)));
        assert_eq!(varint(&[0x01]), Some((1, 1)));
        assert_eq!(varint(&[0x80]), None);
        assert_eq!(varint(&[0xff; 10]), None);
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(varint(&max), Some((u64::MAX, 10)));
    }

    #[test]
    fn the_encoding_guide_example() {
        // message Test2 { optional string b = 2; } with b = "testing".
        let msg = [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67];
        let out = strings(&msg, &Bounds::default()).unwrap();
        assert_eq!(paths(&out), vec![("2".into(), "testing".into(), true)]);
        // message Test3 { optional Test1 c = 3; } with c.a = 150: no strings.
        let msg = [0x1a, 0x03, 0x08, 0x96, 0x01];
        assert_eq!(strings(&msg, &Bounds::default()).unwrap(), vec![]);
    }

    #[test]
    fn nested_messages_are_walked_and_bytes_are_leaves() {
        // A chat message: 1 = conversation { 1 = id, 2 = { 3 = text } }, 2 = blob.
        let mut inner = v(3 << 3 | 2);
        inner.extend(v(11));
        inner.extend_from_slice(b"hello world");
        let mut conv = vec![0x08, 0x2a];
        conv.extend(len_field(2, &inner));
        let mut msg = len_field(1, &conv);
        msg.extend(len_field(2, &[0xff, 0x00, 0x9c, 0x01]));
        msg.extend([0x1d, 1, 2, 3, 4]);
        let out = strings(&msg, &Bounds::default()).unwrap();
        assert_eq!(
            paths(&out),
            vec![
                ("1.2.3".into(), "hello world".into(), true),
                ("2".into(), "\u{fffd}\0\u{fffd}\u{1}".into(), false),
            ]
        );
    }

    #[test]
    fn groups_are_walked() {
        // 1: start group { 2: "abc" } end group.
        let mut msg = v(1 << 3 | 3);
        msg.extend(len_field(2, b"abc"));
        msg.extend(v(1 << 3 | 4));
        let out = strings(&msg, &Bounds::default()).unwrap();
        assert_eq!(paths(&out), vec![("1.2".into(), "abc".into(), true)]);
        // An end tag without a start, or a mismatched one, is not a message.
        assert!(strings(&v(1 << 3 | 4), &Bounds::default()).is_none());
        let mut bad = v(1 << 3 | 3);
        bad.extend(v(2 << 3 | 4));
        assert!(strings(&bad, &Bounds::default()).is_none());
    }

    #[test]
    fn text_and_truncation_are_not_messages() {
        assert!(strings(b"hello there", &Bounds::default()).is_none());
        assert!(strings(&[0x12, 0x07, b't'], &Bounds::default()).is_none());
        assert!(strings(&[], &Bounds::default()).is_none());
        assert!(strings(&[0x00, 0x01], &Bounds::default()).is_none());
        assert!(!is_message(&[0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    }

    #[test]
    fn depth_and_count_are_bounded() {
        // 200 levels of nesting around a string.
        let mut msg = len_field(1, b"deep text here");
        for _ in 0..200 {
            msg = len_field(1, &msg);
        }
        let bounds = Bounds::default();
        let out = strings(&msg, &bounds).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].path.split('.').count(), bounds.max_depth);
        assert!(!out[0].text);
        // Many fields: the output stops at the cap.
        let mut wide = Vec::new();
        for i in 0..5000u64 {
            wide.extend(len_field(1 + i % 5, b"x"));
        }
        let out = strings(&wide, &bounds);
        assert!(out.is_none_or(|o| o.len() <= bounds.max_strings));
    }
}
