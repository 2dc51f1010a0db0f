//! QPACK field compression (RFC 9204): the static table, literals, and the
//! dynamic table fed by the peer's encoder stream. A field section that
//! references entries not inserted yet is "blocked" and is retried by the
//! caller once the encoder stream has caught up.

use crate::proto::http2::hpack::{self, Caps, DynamicTable, Field, HpackError, integer};

/// RFC 9204 Appendix A.
pub const STATIC_TABLE: [(&str, &str); 99] = [
    (":authority", ""),
    (":path", "/"),
    ("age", "0"),
    ("content-disposition", ""),
    ("content-length", "0"),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("referer", ""),
    ("set-cookie", ""),
    (":method", "CONNECT"),
    (":method", "DELETE"),
    (":method", "GET"),
    (":method", "HEAD"),
    (":method", "OPTIONS"),
    (":method", "POST"),
    (":method", "PUT"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "103"),
    (":status", "200"),
    (":status", "304"),
    (":status", "404"),
    (":status", "503"),
    ("accept", "*/*"),
    ("accept", "application/dns-message"),
    ("accept-encoding", "gzip, deflate, br"),
    ("accept-ranges", "bytes"),
    ("access-control-allow-headers", "cache-control"),
    ("access-control-allow-headers", "content-type"),
    ("access-control-allow-origin", "*"),
    ("cache-control", "max-age=0"),
    ("cache-control", "max-age=2592000"),
    ("cache-control", "max-age=604800"),
    ("cache-control", "no-cache"),
    ("cache-control", "no-store"),
    ("cache-control", "public, max-age=31536000"),
    ("content-encoding", "br"),
    ("content-encoding", "gzip"),
    ("content-type", "application/dns-message"),
    ("content-type", "application/javascript"),
    ("content-type", "application/json"),
    ("content-type", "application/x-www-form-urlencoded"),
    ("content-type", "image/gif"),
    ("content-type", "image/jpeg"),
    ("content-type", "image/png"),
    ("content-type", "text/css"),
    ("content-type", "text/html; charset=utf-8"),
    ("content-type", "text/plain"),
    ("content-type", "text/plain;charset=utf-8"),
    ("range", "bytes=0-"),
    ("strict-transport-security", "max-age=31536000"),
    (
        "strict-transport-security",
        "max-age=31536000; includesubdomains",
    ),
    (
        "strict-transport-security",
        "max-age=31536000; includesubdomains; preload",
    ),
    ("vary", "accept-encoding"),
    ("vary", "origin"),
    ("x-content-type-options", "nosniff"),
    ("x-xss-protection", "1; mode=block"),
    (":status", "100"),
    (":status", "204"),
    (":status", "206"),
    (":status", "302"),
    (":status", "400"),
    (":status", "403"),
    (":status", "421"),
    (":status", "425"),
    (":status", "500"),
    ("accept-language", ""),
    ("access-control-allow-credentials", "FALSE"),
    ("access-control-allow-credentials", "TRUE"),
    ("access-control-allow-headers", "*"),
    ("access-control-allow-methods", "get"),
    ("access-control-allow-methods", "get, post, options"),
    ("access-control-allow-methods", "options"),
    ("access-control-expose-headers", "content-length"),
    ("access-control-request-headers", "content-type"),
    ("access-control-request-method", "get"),
    ("access-control-request-method", "post"),
    ("alt-svc", "clear"),
    ("authorization", ""),
    (
        "content-security-policy",
        "script-src 'none'; object-src 'none'; base-uri 'none'",
    ),
    ("early-data", "1"),
    ("expect-ct", ""),
    ("forwarded", ""),
    ("if-range", ""),
    ("origin", ""),
    ("purpose", "prefetch"),
    ("server", ""),
    ("timing-allow-origin", "*"),
    ("upgrade-insecure-requests", "1"),
    ("user-agent", ""),
    ("x-forwarded-for", ""),
    ("x-frame-options", "deny"),
    ("x-frame-options", "sameorigin"),
];

fn static_field(i: u64) -> Result<Field, HpackError> {
    let (n, v) = usize::try_from(i)
        .ok()
        .and_then(|i| STATIC_TABLE.get(i))
        .ok_or(HpackError::BadIndex(i))?;
    Ok((n.as_bytes().to_vec(), v.as_bytes().to_vec()))
}

/// The result of decoding a field section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Section {
    Fields(Vec<Field>),
    /// Needs this many dynamic-table insertions before it can be decoded.
    Blocked(u64),
}

/// The QPACK decoder for field sections sent in one direction.
#[derive(Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// SETTINGS_QPACK_MAX_TABLE_CAPACITY announced by the decoding side, if seen.
    max_capacity: Option<u64>,
    /// Largest capacity the encoder stream set (used when SETTINGS were not captured).
    set_capacity: u64,
    /// Encoder-stream bytes not yet forming a complete instruction.
    pending: Vec<u8>,
    caps: Caps,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            table: DynamicTable::new(0),
            max_capacity: None,
            set_capacity: 0,
            pending: Vec::new(),
            caps: Caps::default(),
        }
    }
}

impl Decoder {
    /// The decoding side's SETTINGS_QPACK_MAX_TABLE_CAPACITY.
    pub fn set_max_capacity(&mut self, v: u64) {
        self.max_capacity = Some(v);
    }

    pub fn inserted(&self) -> u64 {
        self.table.inserted()
    }

    /// Bytes of the peer's encoder stream; applies every complete instruction.
    pub fn encoder_stream(&mut self, data: &[u8]) -> Result<(), HpackError> {
        self.pending.extend_from_slice(data);
        let mut pos = 0;
        let result = loop {
            if pos >= self.pending.len() {
                break Ok(());
            }
            let mut p = pos;
            match self.instruction(&mut p) {
                Ok(()) => pos = p,
                Err(HpackError::Truncated) => {
                    if self.pending.len() - pos > self.caps.max_string * 2 + 16 {
                        break Err(HpackError::TooLarge("encoder instruction"));
                    }
                    break Ok(());
                }
                Err(e) => break Err(e),
            }
        };
        self.pending.drain(..pos);
        result
    }

    fn instruction(&mut self, pos: &mut usize) -> Result<(), HpackError> {
        let b = &self.pending;
        let first = b[*pos];
        let cap = self.caps.max_string;
        if first & 0x80 != 0 {
            // Insert with name reference: 1 T index(6), value.
            let is_static = first & 0x40 != 0;
            let idx = integer(b, pos, 6)?;
            let value = hpack::string(b, pos, 7, cap)?;
            let name = if is_static {
                static_field(idx)?.0
            } else {
                let abs = self
                    .table
                    .inserted()
                    .checked_sub(1 + idx)
                    .ok_or(HpackError::BadIndex(idx))?;
                self.table
                    .get_absolute(abs)
                    .ok_or(HpackError::BadIndex(idx))?
                    .0
                    .clone()
            };
            self.table.insert((name, value));
        } else if first & 0x40 != 0 {
            // Insert with literal name: 01 H len(5) name, value.
            let name = hpack::string(b, pos, 5, cap)?;
            let value = hpack::string(b, pos, 7, cap)?;
            self.table.insert((name, value));
        } else if first & 0x20 != 0 {
            // Set dynamic table capacity.
            let c = integer(b, pos, 5)?;
            let limit = self
                .max_capacity
                .unwrap_or(self.caps.max_table as u64)
                .min(self.caps.max_table as u64);
            if c > limit {
                return Err(HpackError::TableSizeUpdate(c));
            }
            self.set_capacity = self.set_capacity.max(c);
            self.table.set_capacity(c as usize);
        } else {
            // Duplicate.
            let idx = integer(b, pos, 5)?;
            let abs = self
                .table
                .inserted()
                .checked_sub(1 + idx)
                .ok_or(HpackError::BadIndex(idx))?;
            let f = self
                .table
                .get_absolute(abs)
                .ok_or(HpackError::BadIndex(idx))?
                .clone();
            self.table.insert(f);
        }
        Ok(())
    }

    /// Required Insert Count from its encoded form (RFC 9204 §4.5.1.1).
    fn required_insert_count(&self, enc: u64) -> Result<u64, HpackError> {
        if enc == 0 {
            return Ok(0);
        }
        let max_cap = self.max_capacity.unwrap_or(self.set_capacity);
        let max_entries = max_cap / 32;
        let full = 2 * max_entries;
        if full == 0 || enc > full {
            return Err(HpackError::BadIndex(enc));
        }
        let max_value = self.table.inserted() + max_entries;
        let max_wrapped = (max_value / full) * full;
        let mut ric = max_wrapped + enc - 1;
        if ric > max_value {
            if ric <= full {
                return Err(HpackError::BadIndex(enc));
            }
            ric -= full;
        }
        if ric == 0 {
            return Err(HpackError::BadIndex(enc));
        }
        Ok(ric)
    }

    fn dynamic(&self, abs: Option<u64>) -> Result<Field, HpackError> {
        let abs = abs.ok_or(HpackError::BadIndex(u64::MAX))?;
        self.table
            .get_absolute(abs)
            .cloned()
            .ok_or(HpackError::BadIndex(abs))
    }

    /// Decodes a field section (the payload of a HEADERS frame).
    pub fn decode(&self, block: &[u8]) -> Result<Section, HpackError> {
        let mut pos = 0;
        let ric = self.required_insert_count(integer(block, &mut pos, 8)?)?;
        let sign = block.get(pos).ok_or(HpackError::Truncated)? & 0x80 != 0;
        let delta = integer(block, &mut pos, 7)?;
        if ric > self.table.inserted() {
            return Ok(Section::Blocked(ric));
        }
        let base = if sign {
            ric.checked_sub(delta + 1)
                .ok_or(HpackError::BadIndex(delta))?
        } else {
            ric.checked_add(delta).ok_or(HpackError::IntegerOverflow)?
        };
        let cap = self.caps.max_string;
        let mut out = Vec::new();
        let mut total = 0usize;
        while pos < block.len() {
            let b = block[pos];
            let f = if b & 0x80 != 0 {
                let is_static = b & 0x40 != 0;
                let i = integer(block, &mut pos, 6)?;
                if is_static {
                    static_field(i)?
                } else {
                    self.dynamic(base.checked_sub(1 + i))?
                }
            } else if b & 0x40 != 0 {
                let is_static = b & 0x10 != 0;
                let i = integer(block, &mut pos, 4)?;
                let name = if is_static {
                    static_field(i)?.0
                } else {
                    self.dynamic(base.checked_sub(1 + i))?.0
                };
                (name, hpack::string(block, &mut pos, 7, cap)?)
            } else if b & 0x20 != 0 {
                let name = hpack::string(block, &mut pos, 3, cap)?;
                (name, hpack::string(block, &mut pos, 7, cap)?)
            } else if b & 0x10 != 0 {
                let i = integer(block, &mut pos, 4)?;
                self.dynamic(base.checked_add(i))?
            } else {
                let i = integer(block, &mut pos, 3)?;
                let name = self.dynamic(base.checked_add(i))?.0;
                (name, hpack::string(block, &mut pos, 7, cap)?)
            };
            total += f.0.len() + f.1.len();
            if total > self.caps.max_list || out.len() >= self.caps.max_fields {
                return Err(HpackError::TooLarge("field section"));
            }
            out.push(f);
        }
        Ok(Section::Fields(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::keylog::hex;

    fn text(s: Section) -> Vec<(String, String)> {
        let Section::Fields(f) = s else {
            panic!("blocked: {s:?}")
        };
        f.into_iter()
            .map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
            .collect()
    }

    #[test]
    fn rfc9204_b1_literal_with_static_name() {
        let d = Decoder::default();
        let f = text(
            d.decode(&hex("0000510b2f696e6465782e68746d6c").unwrap())
                .unwrap(),
        );
        assert_eq!(f, vec![(":path".into(), "/index.html".into())]);
    }

    #[test]
    fn rfc9204_b2_dynamic_table() {
        let mut d = Decoder::default();
        d.set_max_capacity(220);
        // Encoder stream: set capacity 220, insert :authority=www.example.com, :path=/sample/path.
        d.encoder_stream(
            &hex("3fbd01c00f7777772e6578616d706c652e636f6dc10c2f73616d706c652f70617468").unwrap(),
        )
        .unwrap();
        assert_eq!(d.inserted(), 2);
        let f = text(d.decode(&hex("03811011").unwrap()).unwrap());
        assert_eq!(
            f,
            vec![
                (":authority".into(), "www.example.com".into()),
                (":path".into(), "/sample/path".into())
            ]
        );
        // B.3: a section that needs a third insertion is blocked until it arrives.
        let sec = hex("0480").unwrap();
        assert_eq!(d.decode(&sec).unwrap(), Section::Blocked(3));
        d.encoder_stream(&hex("4a637573746f6d2d6b65790c637573746f6d2d76616c7565").unwrap())
            .unwrap();
        assert_eq!(d.decode(&sec).unwrap(), Section::Fields(vec![]));
        // Duplicate (B.4 starts with 02) of :authority.
        d.encoder_stream(&[0x02]).unwrap();
        assert_eq!(d.inserted(), 4);
        let f = text(d.decode(&hex("058010").unwrap()).unwrap());
        assert_eq!(f, vec![(":authority".into(), "www.example.com".into())]);
    }

    #[test]
    fn partial_encoder_instructions_wait_for_more_bytes() {
        let mut d = Decoder::default();
        d.set_max_capacity(220);
        let ins = hex("3fbd01c00f7777772e6578616d706c652e636f6d").unwrap();
        for b in &ins {
            d.encoder_stream(&[*b]).unwrap();
        }
        assert_eq!(d.inserted(), 1);
        assert!(d.encoder_stream(&[0x3f, 0xff, 0x7f]).is_err());
    }

    #[test]
    fn malformed_sections_are_errors() {
        let d = Decoder::default();
        assert_eq!(
            d.decode(&[0x00, 0x00, 0xff, 0x40]),
            Err(HpackError::BadIndex(127))
        );
        assert!(d.decode(&[0x05, 0x00]).is_err());
        assert!(d.decode(&[0x00]).is_err());
        let block = hex("0000510b2f696e6465782e68746d6c").unwrap();
        for cut in 0..block.len() {
            let _ = d.decode(&block[..cut]);
        }
    }
}
