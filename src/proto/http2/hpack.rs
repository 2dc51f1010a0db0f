//! HPACK header decompression (RFC 7541): prefixed integers, literal and
//! Huffman strings, the static table and the size-bounded dynamic table.
//!
//! One decoder per direction of a connection. Every length is checked
//! against the input and against caps before anything is allocated; a
//! malformed block is an error value and leaves the table as it was before
//! the bad representation.

use super::huffman;
use std::collections::VecDeque;

/// A decoded header field.
pub type Field = (Vec<u8>, Vec<u8>);

/// RFC 7541 Appendix A.
pub const STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// Caps applied while decoding.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Longest name or value.
    pub max_string: usize,
    /// Most fields in one block.
    pub max_fields: usize,
    /// Sum of name and value lengths of one block.
    pub max_list: usize,
    /// Largest dynamic table size an encoder may set, whatever SETTINGS say.
    pub max_table: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            max_string: 64 * 1024,
            max_fields: 1024,
            max_list: 256 * 1024,
            max_table: 64 * 1024,
        }
    }
}

/// Why a header block could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HpackError {
    Truncated,
    IntegerOverflow,
    BadIndex(u64),
    Huffman(huffman::HuffmanError),
    TooLarge(&'static str),
    TableSizeUpdate(u64),
}

impl std::fmt::Display for HpackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HpackError::Truncated => f.write_str("truncated header block"),
            HpackError::IntegerOverflow => f.write_str("integer overflow"),
            HpackError::BadIndex(i) => write!(f, "index {i} not in the tables"),
            HpackError::Huffman(e) => write!(f, "bad Huffman string ({e:?})"),
            HpackError::TooLarge(what) => write!(f, "{what} over the cap"),
            HpackError::TableSizeUpdate(n) => write!(f, "table size update to {n} over the limit"),
        }
    }
}

/// Reads an integer with an `n`-bit prefix (RFC 7541 §5.1) at `*pos`.
pub fn integer(b: &[u8], pos: &mut usize, n: u8) -> Result<u64, HpackError> {
    let first = *b.get(*pos).ok_or(HpackError::Truncated)?;
    *pos += 1;
    let max = (1u64 << n) - 1;
    let mut v = u64::from(first) & max;
    if v < max {
        return Ok(v);
    }
    let mut shift = 0u32;
    loop {
        let byte = *b.get(*pos).ok_or(HpackError::Truncated)?;
        *pos += 1;
        if shift > 56 {
            return Err(HpackError::IntegerOverflow);
        }
        v = v
            .checked_add(u64::from(byte & 0x7f) << shift)
            .ok_or(HpackError::IntegerOverflow)?;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
        shift += 7;
    }
}

/// Reads a string literal whose H bit is bit `n` of the first byte and
/// whose length has an `n`-bit prefix (7 for HPACK; QPACK also uses 3 and 5).
pub fn string(b: &[u8], pos: &mut usize, n: u8, cap: usize) -> Result<Vec<u8>, HpackError> {
    let huff = b.get(*pos).ok_or(HpackError::Truncated)? & (1 << n) != 0;
    let len = integer(b, pos, n)?;
    let len = usize::try_from(len).map_err(|_| HpackError::TooLarge("string"))?;
    let end = pos.checked_add(len).ok_or(HpackError::Truncated)?;
    let raw = b.get(*pos..end).ok_or(HpackError::Truncated)?;
    *pos = end;
    if huff {
        let mut out = Vec::with_capacity(raw.len().min(cap));
        huffman::decode(raw, cap, &mut out).map_err(|e| match e {
            huffman::HuffmanError::TooLong => HpackError::TooLarge("string"),
            e => HpackError::Huffman(e),
        })?;
        Ok(out)
    } else if raw.len() > cap {
        Err(HpackError::TooLarge("string"))
    } else {
        Ok(raw.to_vec())
    }
}

/// A size-bounded table of fields, newest first, with the RFC's 32-byte
/// per-entry overhead. Shared with QPACK.
#[derive(Debug, Default)]
pub struct DynamicTable {
    entries: VecDeque<Field>,
    size: usize,
    capacity: usize,
    /// Entries ever inserted (QPACK absolute indexing).
    inserted: u64,
}

impl DynamicTable {
    pub fn new(capacity: usize) -> DynamicTable {
        DynamicTable {
            capacity,
            ..DynamicTable::default()
        }
    }

    fn entry_size(f: &Field) -> usize {
        f.0.len() + f.1.len() + 32
    }

    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.evict(0);
    }

    fn evict(&mut self, room: usize) {
        while self.size + room > self.capacity {
            let Some(old) = self.entries.pop_back() else {
                break;
            };
            self.size -= Self::entry_size(&old);
        }
    }

    /// Inserts a field; one larger than the whole table empties it (RFC 7541 §4.4).
    pub fn insert(&mut self, f: Field) {
        let s = Self::entry_size(&f);
        self.inserted += 1;
        if s > self.capacity {
            self.entries.clear();
            self.size = 0;
            return;
        }
        self.evict(s);
        self.size += s;
        self.entries.push_front(f);
    }

    /// The entry `i` positions from the newest (0 = newest).
    pub fn get(&self, i: u64) -> Option<&Field> {
        self.entries.get(usize::try_from(i).ok()?)
    }

    /// QPACK: the entry with absolute index `abs`, if still in the table.
    pub fn get_absolute(&self, abs: u64) -> Option<&Field> {
        let newest = self.inserted.checked_sub(1)?;
        self.get(newest.checked_sub(abs)?)
    }

    pub fn inserted(&self) -> u64 {
        self.inserted
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn size(&self) -> usize {
        self.size
    }
}

/// An HPACK decoder for one direction of a connection.
#[derive(Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// The size the decoder side allowed in SETTINGS_HEADER_TABLE_SIZE.
    limit: usize,
    caps: Caps,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Caps::default())
    }
}

impl Decoder {
    pub fn new(caps: Caps) -> Decoder {
        Decoder {
            table: DynamicTable::new(4096),
            limit: 4096,
            caps,
        }
    }

    /// The decoding side announced SETTINGS_HEADER_TABLE_SIZE.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .min(self.caps.max_table);
    }

    pub fn table(&self) -> &DynamicTable {
        &self.table
    }

    fn lookup(&self, index: u64) -> Result<Field, HpackError> {
        match index {
            0 => Err(HpackError::BadIndex(0)),
            1..=61 => {
                let (n, v) = STATIC_TABLE[index as usize - 1];
                Ok((n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            }
            _ => self
                .table
                .get(index - 62)
                .cloned()
                .ok_or(HpackError::BadIndex(index)),
        }
    }

    /// Decodes one complete header block.
    pub fn decode(&mut self, block: &[u8]) -> Result<Vec<Field>, HpackError> {
        let mut out = Vec::new();
        let mut total = 0usize;
        let mut pos = 0usize;
        let cap = self.caps.max_string;
        while pos < block.len() {
            let b = block[pos];
            let field = if b & 0x80 != 0 {
                let i = integer(block, &mut pos, 7)?;
                self.lookup(i)?
            } else if b & 0xe0 == 0x20 {
                let n = integer(block, &mut pos, 5)?;
                if n > self.limit as u64 {
                    return Err(HpackError::TableSizeUpdate(n));
                }
                self.table.set_capacity(n as usize);
                continue;
            } else {
                // 01: incremental indexing (6-bit index); 0000/0001: without/never (4-bit).
                let (prefix, index_it) = if b & 0xc0 == 0x40 {
                    (6, true)
                } else {
                    (4, false)
                };
                let i = integer(block, &mut pos, prefix)?;
                let name = if i == 0 {
                    string(block, &mut pos, 7, cap)?
                } else {
                    self.lookup(i)?.0
                };
                let value = string(block, &mut pos, 7, cap)?;
                let f = (name, value);
                if index_it {
                    self.table.insert(f.clone());
                }
                f
            };
            total += field.0.len() + field.1.len();
            if total > self.caps.max_list {
                return Err(HpackError::TooLarge("header list"));
            }
            if out.len() >= self.caps.max_fields {
                return Err(HpackError::TooLarge("field count"));
            }
            out.push(field);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::keylog::hex;

    fn text(fields: &[Field]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into(),
                    String::from_utf8_lossy(v).into(),
                )
            })
            .collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn rfc7541_c1_integers() {
        let mut pos = 0;
        assert_eq!(integer(&[0x0a], &mut pos, 5), Ok(10));
        pos = 0;
        assert_eq!(integer(&[0x1f, 0x9a, 0x0a], &mut pos, 5), Ok(1337));
        assert_eq!(pos, 3);
        pos = 0;
        assert_eq!(integer(&[0x2a], &mut pos, 8), Ok(42));
        pos = 0;
        assert_eq!(
            integer(&[0x1f, 0x9a], &mut pos, 5),
            Err(HpackError::Truncated)
        );
        pos = 0;
        let huge = [
            0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert_eq!(
            integer(&huge, &mut pos, 5),
            Err(HpackError::IntegerOverflow)
        );
    }

    #[test]
    fn rfc7541_c4_requests_with_huffman_share_a_dynamic_table() {
        let mut d = Decoder::default();
        let r1 = d
            .decode(&hex("828684418cf1e3c2e5f23a6ba0ab90f4ff").unwrap())
            .unwrap();
        assert_eq!(
            text(&r1),
            pairs(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com")
            ])
        );
        assert_eq!(d.table().size(), 57);
        let r2 = d.decode(&hex("828684be5886a8eb10649cbf").unwrap()).unwrap();
        assert_eq!(text(&r2)[4], ("cache-control".into(), "no-cache".into()));
        assert_eq!(
            text(&r2)[3],
            (":authority".into(), "www.example.com".into())
        );
        let r3 = d
            .decode(&hex("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf").unwrap())
            .unwrap();
        assert_eq!(
            text(&r3),
            pairs(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value")
            ])
        );
        assert_eq!(d.table().size(), 164);
    }

    #[test]
    fn rfc7541_c6_responses_evict_under_a_256_byte_table() {
        let mut d = Decoder::default();
        d.decode(&hex("3fe101").unwrap()).unwrap(); // table size update to 256
        d.decode(&hex("488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3").unwrap()).unwrap();
        assert_eq!(d.table().size(), 222);
        let r2 = d.decode(&hex("4883640effc1c0bf").unwrap()).unwrap();
        assert_eq!(text(&r2)[0], (":status".into(), "307".into()));
        assert_eq!(d.table().size(), 222);
        let r3 = d
            .decode(&hex("88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007").unwrap())
            .unwrap();
        assert_eq!(
            text(&r3)[5],
            (
                "set-cookie".into(),
                "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1".into()
            )
        );
        assert_eq!(d.table().size(), 215);
        assert_eq!(d.table().len(), 3);
    }

    #[test]
    fn errors_not_panics() {
        let mut d = Decoder::default();
        assert_eq!(d.decode(&[0x80]), Err(HpackError::BadIndex(0)));
        assert_eq!(d.decode(&[0xbe]), Err(HpackError::BadIndex(62)));
        assert_eq!(
            d.decode(&[0x3f, 0xe1, 0x7f]),
            Err(HpackError::TableSizeUpdate(16_384))
        );
        // Literal with a length beyond the block.
        assert_eq!(d.decode(&[0x00, 0x05, b'a']), Err(HpackError::Truncated));
        let block = hex("828684418cf1e3c2e5f23a6ba0ab90f4ff").unwrap();
        for cut in 0..block.len() {
            let _ = Decoder::default().decode(&block[..cut]);
        }
        let mut small = Decoder::new(Caps {
            max_string: 4,
            ..Caps::default()
        });
        assert_eq!(small.decode(&block), Err(HpackError::TooLarge("string")));
    }

    #[test]
    fn oversized_entry_empties_the_table() {
        let mut t = DynamicTable::new(40);
        t.insert((b"a".to_vec(), b"b".to_vec()));
        assert_eq!(t.len(), 1);
        t.insert((vec![b'x'; 10], vec![b'y'; 10]));
        assert!(t.is_empty());
        assert_eq!(t.inserted(), 2);
        assert_eq!(t.get_absolute(0), None);
    }
}
