//! SQLite file format primitives: varints, the database header, serial types,
//! b-tree page headers and cells (sqlite.org/fileformat2.html).
//!
//! Everything here reads untrusted bytes: every access is bounds-checked and a
//! malformed structure yields `None`, never a panic.

/// The 16-byte magic at the start of a plain SQLite database.
pub const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Reads a SQLite varint (1–9 bytes, big-endian, 7 bits per byte, the ninth byte whole).
#[inline]
pub fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..8 {
        let byte = *b.get(i)?;
        v = (v << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    let last = *b.get(8)?;
    Some(((v << 8) | u64::from(last), 9))
}

/// Encodes a varint (used by tests and fixture checks).
pub fn put_varint(out: &mut Vec<u8>, v: u64) {
    if v > 0x00ff_ffff_ffff_ffff {
        let mut buf = [0u8; 9];
        buf[8] = v as u8;
        let mut x = v >> 8;
        for i in (0..8).rev() {
            buf[i] = (x as u8 & 0x7f) | 0x80;
            x >>= 7;
        }
        out.extend_from_slice(&buf);
        return;
    }
    let mut tmp = [0u8; 9];
    let mut n = 0;
    let mut x = v;
    loop {
        tmp[n] = (x as u8 & 0x7f) | if n == 0 { 0 } else { 0x80 };
        n += 1;
        x >>= 7;
        if x == 0 {
            break;
        }
    }
    tmp[..n].reverse();
    out.extend_from_slice(&tmp[..n]);
}

#[inline]
pub fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

#[inline]
pub fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Text encoding of a database (header offset 56).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    #[default]
    Utf8,
    Utf16le,
    Utf16be,
}

impl TextEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf16le => "UTF-16le",
            TextEncoding::Utf16be => "UTF-16be",
        }
    }

    /// Decodes stored text into a `String` if it is well-formed in this encoding.
    pub fn decode(self, b: &[u8]) -> Option<String> {
        match self {
            TextEncoding::Utf8 => std::str::from_utf8(b).ok().map(str::to_string),
            TextEncoding::Utf16le | TextEncoding::Utf16be => {
                if !b.len().is_multiple_of(2) {
                    return None;
                }
                let units = b.chunks_exact(2).map(|c| {
                    if self == TextEncoding::Utf16le {
                        u16::from_le_bytes([c[0], c[1]])
                    } else {
                        u16::from_be_bytes([c[0], c[1]])
                    }
                });
                char::decode_utf16(units)
                    .collect::<Result<String, _>>()
                    .ok()
            }
        }
    }
}

/// The 100-byte database header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbHeader {
    pub page_size: u32,
    pub write_version: u8,
    pub read_version: u8,
    pub reserved: u8,
    pub change_counter: u32,
    pub page_count: u32,
    pub first_trunk: u32,
    pub freelist_count: u32,
    pub schema_cookie: u32,
    pub schema_format: u32,
    pub largest_root: u32,
    pub encoding: TextEncoding,
    pub user_version: u32,
    pub incremental_vacuum: u32,
    pub application_id: u32,
    pub version_valid_for: u32,
    pub sqlite_version: u32,
}

impl DbHeader {
    /// Parses the header; `None` when the magic or the page size is wrong.
    pub fn parse(b: &[u8]) -> Option<DbHeader> {
        if b.get(..16)? != MAGIC {
            return None;
        }
        DbHeader::parse_fields(b)
    }

    /// Parses the fields without checking the magic (plaintext-header SQLCipher
    /// keeps a valid header; journals and WAL frames carry page 1 images).
    pub fn parse_fields(b: &[u8]) -> Option<DbHeader> {
        let raw = be16(b, 16)?;
        let page_size = if raw == 1 { 65536 } else { u32::from(raw) };
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return None;
        }
        let encoding = match be32(b, 56)? {
            2 => TextEncoding::Utf16le,
            3 => TextEncoding::Utf16be,
            _ => TextEncoding::Utf8,
        };
        Some(DbHeader {
            page_size,
            write_version: *b.get(18)?,
            read_version: *b.get(19)?,
            reserved: *b.get(20)?,
            change_counter: be32(b, 24)?,
            page_count: be32(b, 28)?,
            first_trunk: be32(b, 32)?,
            freelist_count: be32(b, 36)?,
            schema_cookie: be32(b, 40)?,
            schema_format: be32(b, 44)?,
            largest_root: be32(b, 52)?,
            encoding,
            user_version: be32(b, 60)?,
            incremental_vacuum: be32(b, 64)?,
            application_id: be32(b, 68)?,
            version_valid_for: be32(b, 92)?,
            sqlite_version: be32(b, 96)?,
        })
    }

    /// Usable bytes per page (page size minus the reserved tail).
    pub fn usable(&self) -> usize {
        self.page_size as usize - self.reserved as usize
    }

    pub fn wal_mode(&self) -> bool {
        self.write_version == 2 || self.read_version == 2
    }

    /// `none`, `full` or `incremental` (header offsets 52 and 64).
    pub fn auto_vacuum(&self) -> &'static str {
        match (self.largest_root, self.incremental_vacuum) {
            (0, _) => "none",
            (_, 0) => "full",
            _ => "incremental",
        }
    }

    /// Whether the payload fractions at 21..24 are the fixed 64/32/32.
    pub fn fractions_ok(b: &[u8]) -> bool {
        b.get(21..24) == Some(&[64, 32, 32])
    }
}

/// Size in bytes of a value with this serial type; `None` for the reserved 10 and 11.
#[inline]
pub fn serial_size(t: u64) -> Option<u64> {
    Some(match t {
        0 | 8 | 9 => 0,
        1 => 1,
        2 => 2,
        3 => 3,
        4 => 4,
        5 => 6,
        6 | 7 => 8,
        10 | 11 => return None,
        n => (n - 12) / 2,
    })
}

/// The storage class of a serial type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Null,
    Int,
    Real,
    Text,
    Blob,
}

impl Class {
    pub fn of(t: u64) -> Class {
        match t {
            0 => Class::Null,
            1..=6 | 8 | 9 => Class::Int,
            7 => Class::Real,
            n if n >= 12 && n % 2 == 0 => Class::Blob,
            _ => Class::Text,
        }
    }

    pub fn bit(self) -> u8 {
        match self {
            Class::Null => 1,
            Class::Int => 2,
            Class::Real => 4,
            Class::Text => 8,
            Class::Blob => 16,
        }
    }
}

/// A decoded value, borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

/// An owned value (carved records outlive their page buffers).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    /// Stored text, converted to UTF-8 (lossless when the text was well-formed).
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    pub fn class(&self) -> Class {
        match self {
            Value::Null => Class::Null,
            Value::Int(_) => Class::Int,
            Value::Real(_) => Class::Real,
            Value::Text(_) => Class::Text,
            Value::Blob(_) => Class::Blob,
        }
    }
}

/// Decodes one value of serial type `t` from exactly its bytes.
pub fn decode_value(t: u64, b: &[u8]) -> Option<ValueRef<'_>> {
    let n = serial_size(t)? as usize;
    let b = b.get(..n)?;
    Some(match t {
        0 => ValueRef::Null,
        8 => ValueRef::Int(0),
        9 => ValueRef::Int(1),
        1..=6 => {
            let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
            for &x in b {
                v = (v << 8) | i64::from(x);
            }
            ValueRef::Int(v)
        }
        7 => ValueRef::Real(f64::from_bits(u64::from_be_bytes(b.try_into().ok()?))),
        n if n % 2 == 0 => ValueRef::Blob(b),
        _ => ValueRef::Text(b),
    })
}

/// Parses a record header: the serial types and the header length.
/// Fails when a type is reserved, the header overruns `b`, or more than `max_cols` columns.
pub fn record_header(b: &[u8], max_cols: usize) -> Option<(Vec<u64>, usize)> {
    let (hlen, n) = varint(b)?;
    let hlen = usize::try_from(hlen).ok()?;
    if hlen < n || hlen > b.len() {
        return None;
    }
    let mut types = Vec::new();
    let mut at = n;
    while at < hlen {
        let (t, k) = varint(b.get(at..hlen)?)?;
        serial_size(t)?;
        types.push(t);
        if types.len() > max_cols {
            return None;
        }
        at += k;
    }
    (at == hlen).then_some((types, hlen))
}

/// Total body length of a list of serial types.
pub fn body_len(types: &[u64]) -> Option<u64> {
    let mut s: u64 = 0;
    for &t in types {
        s = s.checked_add(serial_size(t)?)?;
    }
    Some(s)
}

/// B-tree page types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    InteriorIndex,
    InteriorTable,
    LeafIndex,
    LeafTable,
}

impl PageKind {
    pub fn from_byte(b: u8) -> Option<PageKind> {
        Some(match b {
            2 => PageKind::InteriorIndex,
            5 => PageKind::InteriorTable,
            10 => PageKind::LeafIndex,
            13 => PageKind::LeafTable,
            _ => return None,
        })
    }

    pub fn is_leaf(self) -> bool {
        matches!(self, PageKind::LeafIndex | PageKind::LeafTable)
    }

    pub fn is_table(self) -> bool {
        matches!(self, PageKind::LeafTable | PageKind::InteriorTable)
    }
}

/// A b-tree page header, validated against the usable size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageHeader {
    pub kind: PageKind,
    pub first_freeblock: u16,
    pub cells: u16,
    pub content_start: usize,
    pub fragmented: u8,
    pub right_child: u32,
    /// Offset of the header in the page (100 on page 1).
    pub at: usize,
    /// 8 for leaves, 12 for interior pages.
    pub len: usize,
}

impl PageHeader {
    /// Parses a page header at `at`; checks that the cell pointer array and
    /// the content area fit inside `usable`.
    pub fn parse(page: &[u8], at: usize, usable: usize) -> Option<PageHeader> {
        let kind = PageKind::from_byte(*page.get(at)?)?;
        let len = if kind.is_leaf() { 8 } else { 12 };
        let first_freeblock = be16(page, at + 1)?;
        let cells = be16(page, at + 3)?;
        let raw = be16(page, at + 5)?;
        let content_start = if raw == 0 { 65536 } else { raw as usize };
        let fragmented = *page.get(at + 7)?;
        let right_child = if kind.is_leaf() {
            0
        } else {
            be32(page, at + 8)?
        };
        let ptr_end = at + len + 2 * cells as usize;
        if ptr_end > usable || content_start > usable || (cells > 0 && content_start < ptr_end) {
            return None;
        }
        if first_freeblock != 0
            && ((first_freeblock as usize) < ptr_end || first_freeblock as usize + 4 > usable)
        {
            return None;
        }
        Some(PageHeader {
            kind,
            first_freeblock,
            cells,
            content_start,
            fragmented,
            right_child,
            at,
            len,
        })
    }

    /// End of the cell pointer array.
    pub fn ptr_end(&self) -> usize {
        self.at + self.len + 2 * self.cells as usize
    }

    /// The cell pointers (offsets within the page), skipping out-of-range ones.
    pub fn cell_ptrs<'a>(&self, page: &'a [u8], usable: usize) -> impl Iterator<Item = usize> + 'a {
        let start = self.at + self.len;
        let n = self.cells as usize;
        let ptr_end = self.ptr_end();
        (0..n).filter_map(move |i| {
            let p = be16(page, start + 2 * i)? as usize;
            (p >= ptr_end && p < usable).then_some(p)
        })
    }

    /// Counts the freeblocks without allocating; `None` if the chain is broken.
    pub fn count_freeblocks(&self, page: &[u8], usable: usize) -> Option<usize> {
        let mut at = self.first_freeblock as usize;
        let mut prev_end = self.ptr_end();
        let mut n = 0;
        while at != 0 {
            if at < prev_end || at + 4 > usable || n > usable / 4 {
                return None;
            }
            let size = be16(page, at + 2)? as usize;
            if size < 4 || at + size > usable {
                return None;
            }
            n += 1;
            prev_end = at + size;
            at = be16(page, at)? as usize;
        }
        Some(n)
    }

    /// The freeblock chain as `(offset, size)`; stops at the first broken link.
    /// Returns the blocks and whether the chain was well-formed.
    pub fn freeblocks(&self, page: &[u8], usable: usize) -> (Vec<(usize, usize)>, bool) {
        let mut out = Vec::new();
        let mut at = self.first_freeblock as usize;
        let mut prev_end = self.ptr_end();
        while at != 0 {
            if at < prev_end || at + 4 > usable || out.len() > usable / 4 {
                return (out, false);
            }
            let (Some(next), Some(size)) = (be16(page, at), be16(page, at + 2)) else {
                return (out, false);
            };
            let size = size as usize;
            if size < 4 || at + size > usable {
                return (out, false);
            }
            out.push((at, size));
            prev_end = at + size;
            at = next as usize;
        }
        (out, true)
    }
}

/// Overflow thresholds for a page of usable size `u`.
#[derive(Debug, Clone, Copy)]
pub struct Overflow {
    /// Largest payload kept entirely on the page.
    pub max_local: usize,
    pub min_local: usize,
    pub usable: usize,
}

impl Overflow {
    pub fn table_leaf(usable: usize) -> Overflow {
        Overflow {
            max_local: usable - 35,
            min_local: ((usable - 12) * 32 / 255) - 23,
            usable,
        }
    }

    pub fn index(usable: usize) -> Overflow {
        Overflow {
            max_local: ((usable - 12) * 64 / 255) - 23,
            min_local: ((usable - 12) * 32 / 255) - 23,
            usable,
        }
    }

    /// Bytes of a payload of `p` bytes stored locally.
    pub fn local(&self, p: u64) -> usize {
        if p <= self.max_local as u64 {
            return p as usize;
        }
        let m = self.min_local as u64;
        let k = m + ((p - m) % (self.usable as u64 - 4));
        if k <= self.max_local as u64 {
            k as usize
        } else {
            self.min_local
        }
    }
}

/// A table b-tree leaf cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafCell {
    pub payload_len: u64,
    pub rowid: i64,
    /// Offset of the payload in the page.
    pub payload_at: usize,
    pub local: usize,
    /// First overflow page, 0 if the payload is entirely local.
    pub overflow: u32,
    /// Bytes the cell occupies on the page.
    pub size: usize,
}

/// Parses a table leaf cell at `at`, bounded by `end`.
pub fn leaf_cell(page: &[u8], at: usize, end: usize, ov: &Overflow) -> Option<LeafCell> {
    let area = page.get(at..end)?;
    let (payload_len, a) = varint(area)?;
    let (rowid, b) = varint(area.get(a..)?)?;
    let payload_at = at + a + b;
    let local = ov.local(payload_len);
    let mut size = a + b + local;
    let mut overflow = 0;
    if (local as u64) < payload_len {
        overflow = be32(page, payload_at + local)?;
        size += 4;
    }
    if at + size > end {
        return None;
    }
    Some(LeafCell {
        payload_len,
        rowid: rowid as i64,
        payload_at,
        local,
        overflow,
        size,
    })
}

/// Parses an interior table cell: left child page.
pub fn interior_child(page: &[u8], at: usize) -> Option<u32> {
    be32(page, at)
}

/// An index cell (leaf or interior): its payload and overflow page.
pub fn index_cell(
    page: &[u8],
    at: usize,
    end: usize,
    interior: bool,
    ov: &Overflow,
) -> Option<LeafCell> {
    let skip = if interior { 4 } else { 0 };
    let area = page.get(at + skip..end)?;
    let (payload_len, a) = varint(area)?;
    let payload_at = at + skip + a;
    let local = ov.local(payload_len);
    let mut size = skip + a + local;
    let mut overflow = 0;
    if (local as u64) < payload_len {
        overflow = be32(page, payload_at + local)?;
        size += 4;
    }
    if at + size > end {
        return None;
    }
    Some(LeafCell {
        payload_len,
        rowid: 0,
        payload_at,
        local,
        overflow,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_length() {
        for v in [
            0u64,
            1,
            127,
            128,
            16383,
            16384,
            (1 << 21) - 1,
            1 << 28,
            1 << 42,
            (1 << 56) - 1,
            1 << 56,
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(varint(&b), Some((v, b.len())), "{v}");
        }
        assert_eq!(varint(&[0x81, 0x4b]), Some((203, 2)));
        assert_eq!(varint(&[0x81]), None);
        assert_eq!(varint(&[0xff; 9]), Some((u64::MAX, 9)));
    }

    #[test]
    fn serial_types_decode() {
        assert_eq!(decode_value(1, &[0xff]), Some(ValueRef::Int(-1)));
        assert_eq!(decode_value(2, &[0x4e, 0x21]), Some(ValueRef::Int(20001)));
        assert_eq!(
            decode_value(3, &[0x80, 0, 0]),
            Some(ValueRef::Int(-8388608))
        );
        assert_eq!(decode_value(8, &[]), Some(ValueRef::Int(0)));
        assert_eq!(decode_value(9, &[]), Some(ValueRef::Int(1)));
        assert_eq!(
            decode_value(7, &1.5f64.to_be_bytes()),
            Some(ValueRef::Real(1.5))
        );
        assert_eq!(decode_value(19, b"abc"), Some(ValueRef::Text(b"abc")));
        assert_eq!(decode_value(18, b"abc"), Some(ValueRef::Blob(b"abc")));
        assert_eq!(decode_value(10, &[]), None);
        assert_eq!(decode_value(19, b"ab"), None);
    }

    #[test]
    fn record_header_from_a_live_nemetz_cell() {
        // 0C-01 page 2: cell `1a 14 | 06 02 05 04 04 04 | 4e 34 ...`
        let rec = [
            0x06, 0x02, 0x05, 0x04, 0x04, 0x04, 0x4e, 0x34, 0, 0, 0xb0, 0xe3,
        ];
        let (types, hlen) = record_header(&rec, 64).unwrap();
        assert_eq!(types, vec![2, 5, 4, 4, 4]);
        assert_eq!(hlen, 6);
        assert_eq!(body_len(&types), Some(2 + 6 + 12));
        // A header claiming more bytes than available is refused.
        assert!(record_header(&[0x20, 1, 1], 64).is_none());
        // Reserved serial types are refused.
        assert!(record_header(&[0x02, 10], 64).is_none());
    }

    #[test]
    fn overflow_thresholds_match_the_spec() {
        let ov = Overflow::table_leaf(4096);
        assert_eq!(ov.max_local, 4061);
        assert_eq!(ov.min_local, 489);
        assert_eq!(ov.local(100), 100);
        assert_eq!(ov.local(4061), 4061);
        // P = 5000: K = 489 + (4511 % 4092) = 908 <= X
        assert_eq!(ov.local(5000), 908);
    }

    #[test]
    fn page_header_checks_bounds() {
        let mut page = vec![0u8; 4096];
        page[0] = 0x0d;
        page[3..5].copy_from_slice(&2u16.to_be_bytes());
        page[5..7].copy_from_slice(&4000u16.to_be_bytes());
        page[8..10].copy_from_slice(&4000u16.to_be_bytes());
        page[10..12].copy_from_slice(&4050u16.to_be_bytes());
        let h = PageHeader::parse(&page, 0, 4096).unwrap();
        assert_eq!(h.kind, PageKind::LeafTable);
        assert_eq!(
            h.cell_ptrs(&page, 4096).collect::<Vec<_>>(),
            vec![4000, 4050]
        );
        // Content area inside the pointer array is corrupt.
        page[5..7].copy_from_slice(&4u16.to_be_bytes());
        assert!(PageHeader::parse(&page, 0, 4096).is_none());
        page[0] = 0x42;
        assert!(PageHeader::parse(&page, 0, 4096).is_none());
    }

    #[test]
    fn freeblock_chain_stops_on_loops() {
        let mut page = vec![0u8; 512];
        page[0] = 0x0d;
        page[1..3].copy_from_slice(&100u16.to_be_bytes());
        page[5..7].copy_from_slice(&100u16.to_be_bytes());
        page[100..102].copy_from_slice(&200u16.to_be_bytes());
        page[102..104].copy_from_slice(&20u16.to_be_bytes());
        // Loops back to 100.
        page[200..202].copy_from_slice(&100u16.to_be_bytes());
        page[202..204].copy_from_slice(&8u16.to_be_bytes());
        let h = PageHeader::parse(&page, 0, 512).unwrap();
        let (blocks, ok) = h.freeblocks(&page, 512);
        assert_eq!(blocks, vec![(100, 20), (200, 8)]);
        assert!(!ok);
    }

    #[test]
    fn utf16_text_decodes() {
        assert_eq!(
            TextEncoding::Utf16le.decode(&[b'h', 0, b'i', 0]).as_deref(),
            Some("hi")
        );
        assert_eq!(
            TextEncoding::Utf16be.decode(&[0, b'h', 0, b'i']).as_deref(),
            Some("hi")
        );
        assert_eq!(TextEncoding::Utf16le.decode(&[0, 0xd8]), None);
    }

    proptest::proptest! {
        #[test]
        fn page_parsing_never_panics(page in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048), at in 0usize..120) {
            let usable = page.len();
            if let Some(h) = PageHeader::parse(&page, at, usable) {
                let ov = Overflow::table_leaf(usable.max(512));
                for p in h.cell_ptrs(&page, usable) {
                    let _ = leaf_cell(&page, p, usable, &ov);
                    let _ = index_cell(&page, p, usable, true, &ov);
                }
                let (blocks, _) = h.freeblocks(&page, usable);
                for (o, n) in blocks {
                    proptest::prop_assert!(o + n <= usable);
                }
            }
        }

        #[test]
        fn records_never_panic(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            if let Some((types, hlen)) = record_header(&b, 64) {
                proptest::prop_assert!(hlen <= b.len());
                let mut at = hlen;
                for t in types {
                    let n = serial_size(t).unwrap() as usize;
                    let _ = decode_value(t, b.get(at..).unwrap_or(&[]));
                    at = at.saturating_add(n);
                }
            }
        }

        #[test]
        fn varints_round_trip(v in proptest::prelude::any::<u64>()) {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            proptest::prop_assert_eq!(varint(&b), Some((v, b.len())));
        }
    }
}
