//! A minimal, bounded protobuf wire-format reader: enough to walk the few
//! messages the messenger dissectors look at (Signal's WebSocketMessage and
//! Envelope, WhatsApp's Noise HandshakeMessage). No schema, no allocation.

/// A field value as encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl<'a> Value<'a> {
    pub fn bytes(self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn varint(self) -> Option<u64> {
        match self {
            Value::Varint(v) => Some(v),
            _ => None,
        }
    }
}

/// Reads a base-128 varint (at most 10 bytes).
pub fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().take(10).enumerate() {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Iterator over `(field number, value)`; it stops at the first malformed
/// field and records that in [`Fields::malformed`].
pub struct Fields<'a> {
    rest: &'a [u8],
    pub malformed: bool,
}

/// Walks the fields of one message.
pub fn fields(b: &[u8]) -> Fields<'_> {
    Fields {
        rest: b,
        malformed: false,
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (u32, Value<'a>);

    fn next(&mut self) -> Option<(u32, Value<'a>)> {
        if self.rest.is_empty() || self.malformed {
            return None;
        }
        let r = self.step();
        if r.is_none() {
            self.malformed = true;
        }
        r
    }
}

impl<'a> Fields<'a> {
    fn step(&mut self) -> Option<(u32, Value<'a>)> {
        let (key, n) = varint(self.rest)?;
        let b = &self.rest[n..];
        let number = u32::try_from(key >> 3).ok().filter(|&f| f > 0)?;
        let (value, used) = match key & 7 {
            0 => {
                let (v, m) = varint(b)?;
                (Value::Varint(v), m)
            }
            1 => (
                Value::Fixed64(u64::from_le_bytes(b.get(..8)?.try_into().ok()?)),
                8,
            ),
            2 => {
                let (len, m) = varint(b)?;
                let len = usize::try_from(len).ok()?;
                let end = m.checked_add(len)?;
                (Value::Bytes(b.get(m..end)?), end)
            }
            5 => (
                Value::Fixed32(u32::from_le_bytes(b.get(..4)?.try_into().ok()?)),
                4,
            ),
            _ => return None,
        };
        self.rest = &b[used..];
        Some((number, value))
    }
}

/// The first value of a field.
pub fn get(b: &[u8], number: u32) -> Option<Value<'_>> {
    fields(b).find(|(n, _)| *n == number).map(|(_, v)| v)
}

/// Whether `b` parses completely as a message with at least one field and
/// only field numbers up to `max_field` (a cheap plausibility test).
pub fn is_message(b: &[u8], max_field: u32) -> bool {
    let mut f = fields(b);
    let mut n = 0;
    for (number, _) in f.by_ref().take(4096) {
        if number > max_field {
            return false;
        }
        n += 1;
    }
    n > 0 && !f.malformed && f.rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x01]), Some((1, 1)));
        assert_eq!(varint(&[0xac, 0x02]), Some((300, 2)));
        assert_eq!(varint(&[0x80; 11]), None);
        assert_eq!(varint(&[0x80]), None);
    }

    #[test]
    fn walks_fields_and_stops_on_damage() {
        // field 1 varint 150, field 2 bytes "testing", field 3 fixed32.
        let m = [
            0x08, 0x96, 0x01, 0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g', 0x1d, 1, 0, 0,
            0,
        ];
        let v: Vec<_> = fields(&m).collect();
        assert_eq!(
            v,
            vec![
                (1, Value::Varint(150)),
                (2, Value::Bytes(b"testing")),
                (3, Value::Fixed32(1))
            ]
        );
        assert!(is_message(&m, 3));
        assert!(!is_message(&m, 2));
        assert_eq!(get(&m, 2).and_then(Value::bytes), Some(&b"testing"[..]));
        // Length past the end, field number 0, wire type 7.
        let mut f = fields(&[0x12, 0x09, b'x']);
        assert_eq!(f.next(), None);
        assert!(f.malformed);
        assert!(!is_message(&[0x02, 0x00], 15));
        assert!(!is_message(&[0x0f], 15));
        assert!(!is_message(&[], 15));
    }
}
