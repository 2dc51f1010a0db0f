//! A bounded Thrift walker: the string fields of a message in the binary
//! or the compact protocol, at any depth, without an IDL.
//!
//! A message is either an envelope (strict binary `80 01 00 TT`, old binary
//! `name, type, seqid`, compact `82 ...`) followed by the argument struct, a
//! 4-byte frame length followed by one, or a bare struct. Container sizes
//! are checked against the bytes left (every element takes at least one
//! byte), depth and field count are bounded, and nothing is allocated from
//! a wire length.

use crate::codec::protobuf::varint;
use crate::codec::structured::{Bounds, StringField, is_text};

/// The two wire protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Binary,
    Compact,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Binary => "thrift-binary",
            Protocol::Compact => "thrift-compact",
        }
    }
}

/// Binary protocol type ids.
mod ttype {
    pub const STOP: u8 = 0;
    pub const BOOL: u8 = 2;
    pub const BYTE: u8 = 3;
    pub const DOUBLE: u8 = 4;
    pub const I16: u8 = 6;
    pub const I32: u8 = 8;
    pub const I64: u8 = 10;
    pub const STRING: u8 = 11;
    pub const STRUCT: u8 = 12;
    pub const MAP: u8 = 13;
    pub const SET: u8 = 14;
    pub const LIST: u8 = 15;
    pub const UUID: u8 = 16;
}

/// Compact protocol type ids.
mod ctype {
    pub const BOOL_TRUE: u8 = 1;
    pub const BOOL_FALSE: u8 = 2;
    pub const BYTE: u8 = 3;
    pub const I16: u8 = 4;
    pub const I32: u8 = 5;
    pub const I64: u8 = 6;
    pub const DOUBLE: u8 = 7;
    pub const BINARY: u8 = 8;
    pub const LIST: u8 = 9;
    pub const SET: u8 = 10;
    pub const MAP: u8 = 11;
    pub const STRUCT: u8 = 12;
    pub const UUID: u8 = 13;
}

struct Walker<'a, 'b> {
    b: &'a [u8],
    at: usize,
    proto: Protocol,
    bounds: &'b Bounds,
    budget: usize,
    out: Vec<StringField<'a>>,
}

impl<'a> Walker<'a, '_> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let v = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(v)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|v| v[0])
    }

    fn be32(&mut self) -> Option<i32> {
        self.take(4)
            .map(|v| i32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    }

    fn varint(&mut self) -> Option<u64> {
        let (v, n) = varint(self.b.get(self.at..)?)?;
        self.at += n;
        Some(v)
    }

    fn left(&self) -> usize {
        self.b.len() - self.at
    }

    /// A container size: non-negative and no more elements than bytes left.
    fn size(&self, n: i64) -> Option<usize> {
        let n = usize::try_from(n).ok()?;
        (n <= self.left()).then_some(n)
    }

    fn tick(&mut self) -> Option<()> {
        self.budget = self.budget.checked_sub(1)?;
        Some(())
    }

    fn string(&mut self, path: &str) -> Option<()> {
        let len = match self.proto {
            Protocol::Binary => i64::from(self.be32()?),
            Protocol::Compact => i64::try_from(self.varint()?).ok()?,
        };
        let len = self.size(len)?;
        let value = self.take(len)?;
        if self.out.len() < self.bounds.max_strings {
            self.out.push(StringField {
                path: path.to_string(),
                value,
                text: is_text(value),
            });
        }
        Some(())
    }

    fn structure(&mut self, path: &str, depth: usize) -> Option<()> {
        if depth > self.bounds.max_depth {
            return None;
        }
        let mut last_id: i64 = 0;
        loop {
            self.tick()?;
            let head = self.byte()?;
            if head == ttype::STOP {
                return Some(());
            }
            let (ty, id) = match self.proto {
                Protocol::Binary => {
                    let v = self.take(2)?;
                    (head, i64::from(i16::from_be_bytes([v[0], v[1]])))
                }
                Protocol::Compact => {
                    let delta = i64::from(head >> 4);
                    let id = if delta == 0 {
                        zigzag(self.varint()?)
                    } else {
                        last_id + delta
                    };
                    last_id = id;
                    (head & 0x0f, id)
                }
            };
            let p = if path.is_empty() {
                id.to_string()
            } else {
                format!("{path}.{id}")
            };
            self.value(ty, &p, depth, true)?;
        }
    }

    /// A value of type `ty`; `field` says a compact bool carries its value
    /// in the type (fields) rather than in a byte (containers).
    fn value(&mut self, ty: u8, path: &str, depth: usize, field: bool) -> Option<()> {
        self.tick()?;
        match self.proto {
            Protocol::Binary => match ty {
                ttype::BOOL | ttype::BYTE => self.take(1).map(drop),
                ttype::I16 => self.take(2).map(drop),
                ttype::I32 => self.take(4).map(drop),
                ttype::DOUBLE | ttype::I64 => self.take(8).map(drop),
                ttype::UUID => self.take(16).map(drop),
                ttype::STRING => self.string(path),
                ttype::STRUCT => self.structure(path, depth + 1),
                ttype::LIST | ttype::SET => {
                    let et = self.byte()?;
                    let n = i64::from(self.be32()?);
                    let n = self.size(n)?;
                    (0..n).try_for_each(|_| self.value(et, path, depth + 1, false))
                }
                ttype::MAP => {
                    let kt = self.byte()?;
                    let vt = self.byte()?;
                    let n = i64::from(self.be32()?);
                    let n = self.size(n)?;
                    (0..n).try_for_each(|_| {
                        self.value(kt, path, depth + 1, false)?;
                        self.value(vt, path, depth + 1, false)
                    })
                }
                _ => None,
            },
            Protocol::Compact => match ty {
                ctype::BOOL_TRUE | ctype::BOOL_FALSE if field => Some(()),
                ctype::BOOL_TRUE | ctype::BOOL_FALSE | ctype::BYTE => self.take(1).map(drop),
                ctype::I16 | ctype::I32 | ctype::I64 => self.varint().map(drop),
                ctype::DOUBLE => self.take(8).map(drop),
                ctype::UUID => self.take(16).map(drop),
                ctype::BINARY => self.string(path),
                ctype::STRUCT => self.structure(path, depth + 1),
                ctype::LIST | ctype::SET => {
                    let head = self.byte()?;
                    let n = match head >> 4 {
                        15 => i64::try_from(self.varint()?).ok()?,
                        n => i64::from(n),
                    };
                    let n = self.size(n)?;
                    (0..n).try_for_each(|_| self.value(head & 0x0f, path, depth + 1, false))
                }
                ctype::MAP => {
                    let n = i64::try_from(self.varint()?).ok()?;
                    let n = self.size(n)?;
                    if n == 0 {
                        return Some(());
                    }
                    let kv = self.byte()?;
                    (0..n).try_for_each(|_| {
                        self.value(kv >> 4, path, depth + 1, false)?;
                        self.value(kv & 0x0f, path, depth + 1, false)
                    })
                }
                _ => None,
            },
        }
    }

    /// The message envelope, if any; returns false when there is none (the
    /// walk then starts at a bare struct).
    fn envelope(&mut self) -> Option<bool> {
        match self.proto {
            Protocol::Binary => {
                let head = self.b.get(..4)?;
                if head[0] == 0x80 {
                    // Strict: version 1, message type 1..=4.
                    if head[1] != 0x01 || head[2] != 0 || !(1..=4).contains(&head[3]) {
                        return None;
                    }
                    self.at = 4;
                    self.string("name")?;
                    self.take(4)?;
                    return Some(true);
                }
                // Old style: name, type byte, seqid; the name must be text.
                let save = self.at;
                let ok = (|| {
                    let len = i64::from(self.be32()?);
                    let len = self.size(len)?;
                    let name = self.take(len)?;
                    let ty = self.byte()?;
                    self.take(4)?;
                    (!name.is_empty() && is_text(name) && (1..=4).contains(&ty)).then_some(())
                })();
                if ok.is_none() {
                    self.at = save;
                    return Some(false);
                }
                Some(true)
            }
            Protocol::Compact => {
                if self.b.first() != Some(&0x82) {
                    return Some(false);
                }
                let vt = *self.b.get(1)?;
                if vt & 0x1f != 1 || !(1..=4).contains(&(vt >> 5)) {
                    return None;
                }
                self.at = 2;
                self.varint()?;
                self.string("name")?;
                Some(true)
            }
        }
    }
}

fn zigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

/// The string fields of a Thrift message (or bare struct) in `proto`;
/// `None` unless the bytes parse completely. A leading 4-byte frame length
/// equal to the rest is skipped. Paths are field ids from the outside in
/// (`1.3`); container elements share their field's path; the method name of
/// an envelope is reported as `name`.
pub fn strings<'a>(
    msg: &'a [u8],
    proto: Protocol,
    bounds: &Bounds,
) -> Option<Vec<StringField<'a>>> {
    let body = match msg.get(..4) {
        Some(h) if u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize == msg.len() - 4 => {
            &msg[4..]
        }
        _ => msg,
    };
    let mut w = Walker {
        b: body,
        at: 0,
        proto,
        bounds,
        budget: bounds.max_fields,
        out: Vec::new(),
    };
    w.envelope()?;
    w.structure("", 1)?;
    (w.at == body.len()).then_some(w.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(out: &[StringField<'_>]) -> Vec<(String, String)> {
        out.iter()
            .map(|f| {
                (
                    f.path.clone(),
                    String::from_utf8_lossy(f.value).into_owned(),
                )
            })
            .collect()
    }

    /// `sendMessage(1: Message msg)` with `Message { 1: i64 id, 2: string
    /// text, 3: list<string> tags }`, as Apache Thrift's TBinaryProtocol
    /// writes it (strict).
    fn binary_call() -> Vec<u8> {
        let mut b = vec![0x80, 0x01, 0x00, 0x01];
        b.extend(11u32.to_be_bytes());
        b.extend(b"sendMessage");
        b.extend(7u32.to_be_bytes());
        b.extend([12, 0, 1]); // field 1: struct
        b.extend([10, 0, 1]);
        b.extend(42u64.to_be_bytes());
        b.extend([11, 0, 2]);
        b.extend(9u32.to_be_bytes());
        b.extend(b"hi bob :)");
        b.extend([15, 0, 3, 11]);
        b.extend(2u32.to_be_bytes());
        for t in [&b"work"[..], b"urgent"] {
            b.extend((t.len() as u32).to_be_bytes());
            b.extend(t);
        }
        b.extend([0, 0]); // stop Message, stop args
        b
    }

    /// The same call in TCompactProtocol.
    fn compact_call() -> Vec<u8> {
        let mut b = vec![0x82, 0x21, 0x07, 11];
        b.extend(b"sendMessage");
        b.push(0x1c); // field 1 (delta 1), struct
        b.extend([0x16, 0x54]); // field 1, i64 zigzag 42
        b.extend([0x18, 9]); // field 2, binary
        b.extend(b"hi bob :)");
        b.extend([0x19, 0x28]); // field 3, list of 2 binaries
        b.extend([4]);
        b.extend(b"work");
        b.extend([6]);
        b.extend(b"urgent");
        b.extend([0, 0]);
        b
    }

    #[test]
    fn binary_and_compact_calls() {
        let want = vec![
            ("name".to_string(), "sendMessage".to_string()),
            ("1.2".into(), "hi bob :)".into()),
            ("1.3".into(), "work".into()),
            ("1.3".into(), "urgent".into()),
        ];
        let b = Bounds::default();
        assert_eq!(
            paths(&strings(&binary_call(), Protocol::Binary, &b).unwrap()),
            want
        );
        assert_eq!(
            paths(&strings(&compact_call(), Protocol::Compact, &b).unwrap()),
            want
        );
        // Framed transport.
        let mut framed = (binary_call().len() as u32).to_be_bytes().to_vec();
        framed.extend(binary_call());
        assert_eq!(
            paths(&strings(&framed, Protocol::Binary, &b).unwrap()),
            want
        );
        // The wrong protocol does not parse.
        assert!(strings(&binary_call(), Protocol::Compact, &b).is_none());
        assert!(strings(&compact_call(), Protocol::Binary, &b).is_none());
    }

    #[test]
    fn truncation_and_lies_are_refused() {
        let b = Bounds::default();
        let call = binary_call();
        for cut in 0..call.len() {
            assert!(
                strings(&call[..cut], Protocol::Binary, &b).is_none(),
                "cut {cut}"
            );
        }
        let call = compact_call();
        for cut in 0..call.len() {
            assert!(
                strings(&call[..cut], Protocol::Compact, &b).is_none(),
                "cut {cut}"
            );
        }
        // A list claiming four billion elements.
        let lie = [15, 0, 1, 11, 0xff, 0xff, 0xff, 0xf0, 0];
        assert!(strings(&lie, Protocol::Binary, &b).is_none());
    }

    #[test]
    fn depth_is_bounded() {
        // Nested structs in field 1, 500 deep.
        let mut s = [12u8, 0, 1].repeat(500);
        s.extend(vec![0u8; 501]);
        assert!(strings(&s, Protocol::Binary, &Bounds::default()).is_none());
        let mut shallow = [12u8, 0, 1].repeat(3);
        shallow.extend([11, 0, 7, 0, 0, 0, 2, b'o', b'k']);
        shallow.extend(vec![0u8; 4]);
        let out = strings(&shallow, Protocol::Binary, &Bounds::default()).unwrap();
        assert_eq!(paths(&out), vec![("1.1.1.7".into(), "ok".into())]);
    }
}
