//! The static Huffman code of HPACK (RFC 7541 Appendix B), also used by QPACK.
//!
//! The code is canonical: codes of equal length are consecutive in symbol
//! order and shorter codes sort first. So the table is just the code length
//! of each of the 257 symbols; decoding walks lengths with first-code and
//! count arrays (as in zlib's `puff`).

/// Code length in bits of symbols 0..=255 and EOS (256), RFC 7541 Appendix B.
const LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5,
    5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6,
    6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22,
    23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22,
    21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20,
    22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19,
    21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22,
    22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

const MAX_LEN: usize = 30;
const EOS: u16 = 256;

/// Symbols sorted by (length, symbol), and the number of codes of each length.
struct Table {
    count: [u16; MAX_LEN + 1],
    symbols: [u16; 257],
}

const fn build() -> Table {
    let mut count = [0u16; MAX_LEN + 1];
    let mut i = 0;
    while i < 257 {
        count[LENGTHS[i] as usize] += 1;
        i += 1;
    }
    let mut offs = [0u16; MAX_LEN + 2];
    let mut len = 1;
    while len <= MAX_LEN {
        offs[len + 1] = offs[len] + count[len];
        len += 1;
    }
    let mut symbols = [0u16; 257];
    let mut s = 0;
    while s < 257 {
        let l = LENGTHS[s] as usize;
        symbols[offs[l] as usize] = s as u16;
        offs[l] += 1;
        s += 1;
    }
    Table { count, symbols }
}

static TABLE: Table = build();

/// Why a Huffman string is invalid (RFC 7541 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HuffmanError {
    /// The EOS symbol appeared inside the string.
    Eos,
    /// Padding longer than 7 bits or not all ones.
    Padding,
    /// Decoded output would exceed the cap.
    TooLong,
}

/// Decodes a Huffman-coded string, appending at most `cap` bytes to `out`.
pub fn decode(input: &[u8], cap: usize, out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    let start = out.len();
    let mut code: u32 = 0;
    let mut first: u32 = 0;
    let mut index: u32 = 0;
    let mut len = 0usize;
    // Bits of the current partial code, all ones so far (valid padding).
    let mut all_ones = true;
    for &byte in input {
        for bit in (0..8).rev() {
            let b = u32::from((byte >> bit) & 1);
            code |= b;
            all_ones &= b == 1;
            len += 1;
            let count = u32::from(TABLE.count[len]);
            if code < first + count {
                let sym = TABLE.symbols[(index + code - first) as usize];
                if sym == EOS {
                    return Err(HuffmanError::Eos);
                }
                if out.len() - start >= cap {
                    return Err(HuffmanError::TooLong);
                }
                out.push(sym as u8);
                code = 0;
                first = 0;
                index = 0;
                len = 0;
                all_ones = true;
                continue;
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
            if len >= MAX_LEN {
                return Err(HuffmanError::Eos);
            }
        }
    }
    if len > 7 || !all_ones {
        return Err(HuffmanError::Padding);
    }
    Ok(())
}

/// Encodes a string (tests and fixture builders).
pub fn encode(input: &[u8]) -> Vec<u8> {
    let mut codes = [0u32; 257];
    let mut code = 0u32;
    let mut prev_len = 0u8;
    for &s in TABLE.symbols.iter() {
        let l = LENGTHS[s as usize];
        if prev_len != 0 {
            code = (code + 1) << (l - prev_len);
        }
        prev_len = l;
        codes[s as usize] = code;
    }
    let mut out = Vec::new();
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &b in input {
        let l = u32::from(LENGTHS[b as usize]);
        acc = (acc << l) | u64::from(codes[b as usize]);
        bits += l;
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        out.push(((acc << (8 - bits)) | (0xff >> bits)) as u8);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::keylog::hex;

    #[test]
    fn rfc7541_c4_strings() {
        for (coded, plain) in [
            ("f1e3c2e5f23a6ba0ab90f4ff", "www.example.com"),
            ("a8eb10649cbf", "no-cache"),
            ("25a849e95ba97d7f", "custom-key"),
            ("25a849e95bb8e8b4bf", "custom-value"),
            ("6402", "302"),
            ("aec3771a4b", "private"),
            (
                "d07abe941054d444a8200595040b8166e082a62d1bff",
                "Mon, 21 Oct 2013 20:13:21 GMT",
            ),
            (
                "9d29ad171863c78f0b97c8e9ae82ae43d3",
                "https://www.example.com",
            ),
        ] {
            let mut out = Vec::new();
            decode(&hex(coded).unwrap(), 1024, &mut out).unwrap();
            assert_eq!(out, plain.as_bytes());
            assert_eq!(encode(plain.as_bytes()), hex(coded).unwrap());
        }
    }

    #[test]
    fn codes_match_rfc_appendix_b_samples() {
        // (symbol, code, length) from the RFC table.
        let enc = |s: u8| encode(&[s]);
        assert_eq!(enc(0), vec![0xff, 0xc7]); // 1ff8 [13] + padding
        assert_eq!(enc(b'a'), vec![0x1f]); // 00011 [5]
        assert_eq!(enc(255), vec![0xff, 0xff, 0xfb, 0xbf]); // 3ffffee [26]
        let all: Vec<u8> = (0..=255).collect();
        let mut out = Vec::new();
        decode(&encode(&all), 1024, &mut out).unwrap();
        assert_eq!(out, all);
    }

    #[test]
    fn rejects_bad_padding_eos_and_overlong_output() {
        let mut out = Vec::new();
        // 'a' (00011) then 000 padding: padding must be ones.
        assert_eq!(decode(&[0x18], 10, &mut out), Err(HuffmanError::Padding));
        // A full byte of ones after a symbol is more than 7 bits of padding.
        out.clear();
        assert_eq!(
            decode(&[0x1f, 0xff], 10, &mut out),
            Err(HuffmanError::Padding)
        );
        out.clear();
        assert_eq!(
            decode(&[0xff, 0xff, 0xff, 0xff], 10, &mut out),
            Err(HuffmanError::Eos)
        );
        out.clear();
        assert_eq!(
            decode(&hex("f1e3c2e5f23a6ba0ab90f4ff").unwrap(), 5, &mut out),
            Err(HuffmanError::TooLong)
        );
    }
}
