//! Client and server fingerprints: JA3, JA3S (Salesforce, BSD-3) and JA4
//! (FoxIO, BSD-3-Clause; the other JA4+ methods are under a different
//! licence and deliberately not implemented).
//!
//! JA4 takes a transport prefix (`t` TCP, `q` QUIC, `d` DTLS) so QUIC and
//! DTLS reuse it with their own ClientHello.

use super::handshake::{ClientHello, Cursor, ServerHello, ext, is_grease};
use md5::{Digest, Md5};
use sha2::Sha256;
use std::fmt::Write as _;

/// The transport a ClientHello travelled over (JA4's first character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ja4Transport {
    Tcp,
    Quic,
    Dtls,
}

impl Ja4Transport {
    fn prefix(self) -> char {
        match self {
            Ja4Transport::Tcp => 't',
            Ja4Transport::Quic => 'q',
            Ja4Transport::Dtls => 'd',
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn join_dec(v: impl Iterator<Item = u16>) -> String {
    v.map(|x| x.to_string()).collect::<Vec<_>>().join("-")
}

fn u16_list(data: Option<&[u8]>, len_bytes: u8) -> Vec<u16> {
    let Some(d) = data else { return Vec::new() };
    let mut c = Cursor::new(d);
    let Ok(list) = c.vec(len_bytes, "list") else {
        return Vec::new();
    };
    list.chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect()
}

fn u8_list(data: Option<&[u8]>) -> Vec<u8> {
    let Some(d) = data else { return Vec::new() };
    let mut c = Cursor::new(d);
    c.vec(1, "list").map(|l| l.to_vec()).unwrap_or_default()
}

/// The JA3 input string: `Version,Ciphers,Extensions,Groups,PointFormats`.
pub fn ja3_string(ch: &ClientHello<'_>) -> String {
    let ciphers = join_dec(ch.cipher_suites.iter().copied().filter(|c| !is_grease(*c)));
    let exts = join_dec(
        ch.extensions
            .iter()
            .map(|e| e.kind)
            .filter(|k| !is_grease(*k)),
    );
    let groups = join_dec(
        u16_list(ch.extension(ext::SUPPORTED_GROUPS), 2)
            .into_iter()
            .filter(|g| !is_grease(*g)),
    );
    let formats = u8_list(ch.extension(ext::EC_POINT_FORMATS))
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join("-");
    format!("{},{ciphers},{exts},{groups},{formats}", ch.legacy_version)
}

/// JA3: MD5 of [`ja3_string`], lower-case hex.
pub fn ja3(ch: &ClientHello<'_>) -> String {
    hex(&Md5::digest(ja3_string(ch).as_bytes()))
}

/// The JA3S input string: `Version,Cipher,Extensions`.
pub fn ja3s_string(sh: &ServerHello<'_>) -> String {
    let exts = join_dec(
        sh.extensions
            .iter()
            .map(|e| e.kind)
            .filter(|k| !is_grease(*k)),
    );
    format!("{},{},{exts}", sh.legacy_version, sh.cipher_suite)
}

/// JA3S: MD5 of [`ja3s_string`].
pub fn ja3s(sh: &ServerHello<'_>) -> String {
    hex(&Md5::digest(ja3s_string(sh).as_bytes()))
}

fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 | 0x0200 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// First and last character of the first ALPN value (JA4 rules for
/// non-alphanumeric bytes: first and last hex digit instead).
fn ja4_alpn(ch: &ClientHello<'_>) -> String {
    let first = ch.extension(ext::ALPN).and_then(|d| {
        let mut c = Cursor::new(d);
        let mut list = Cursor::new(c.vec(2, "alpn list").ok()?);
        list.vec(1, "alpn").ok()
    });
    match first {
        None | Some([]) => "00".into(),
        Some(v) => {
            let (a, z) = (v[0], v[v.len() - 1]);
            if alnum(a) && alnum(z) {
                format!("{}{}", a as char, z as char)
            } else {
                let h = hex(v);
                let hb = h.as_bytes();
                format!("{}{}", hb[0] as char, hb[hb.len() - 1] as char)
            }
        }
    }
}

fn sha12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".into();
    }
    let mut h = hex(&Sha256::digest(s.as_bytes()));
    h.truncate(12);
    h
}

/// The JA4 parts before hashing: (`a`, sorted ciphers, sorted extensions `_` signature algorithms).
pub fn ja4_raw(ch: &ClientHello<'_>, transport: Ja4Transport) -> (String, String, String) {
    let version = ch
        .supported_versions()
        .into_iter()
        .max_by_key(|v| match *v {
            // DTLS versions count down.
            0xfe00..=0xfeff => 0x0300 + (0xff - (v & 0xff)),
            v => v,
        })
        .unwrap_or(ch.legacy_version);
    let sni = if ch.extension(ext::SERVER_NAME).is_some() {
        'd'
    } else {
        'i'
    };
    let mut ciphers: Vec<u16> = ch
        .cipher_suites
        .iter()
        .copied()
        .filter(|c| !is_grease(*c))
        .collect();
    let exts: Vec<u16> = ch
        .extensions
        .iter()
        .map(|e| e.kind)
        .filter(|k| !is_grease(*k))
        .collect();
    let a = format!(
        "{}{}{}{:02}{:02}{}",
        transport.prefix(),
        ja4_version(version),
        sni,
        ciphers.len().min(99),
        exts.len().min(99),
        ja4_alpn(ch)
    );
    ciphers.sort_unstable();
    let b = ciphers
        .iter()
        .map(|c| format!("{c:04x}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut sorted: Vec<u16> = exts
        .into_iter()
        .filter(|k| *k != ext::SERVER_NAME && *k != ext::ALPN)
        .collect();
    sorted.sort_unstable();
    let mut c = sorted
        .iter()
        .map(|e| format!("{e:04x}"))
        .collect::<Vec<_>>()
        .join(",");
    let sigs: Vec<String> = u16_list(ch.extension(ext::SIGNATURE_ALGORITHMS), 2)
        .into_iter()
        .filter(|s| !is_grease(*s))
        .map(|s| format!("{s:04x}"))
        .collect();
    if !sigs.is_empty() && !c.is_empty() {
        c.push('_');
        c.push_str(&sigs.join(","));
    }
    (a, b, c)
}

/// JA4 of a ClientHello, e.g. `t13d1516h2_8daaf6152771_e5627efa2ab1`.
pub fn ja4(ch: &ClientHello<'_>, transport: Ja4Transport) -> String {
    let (a, b, c) = ja4_raw(ch, transport);
    format!("{a}_{}_{}", sha12(&b), sha12(&c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tls::handshake::parse_client_hello;

    /// Builds a ClientHello body from suites and (type, data) extensions.
    fn hello(version: u16, suites: &[u16], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend_from_slice(&[0x11; 32]);
        b.push(0);
        b.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
        for s in suites {
            b.extend_from_slice(&s.to_be_bytes());
        }
        b.extend_from_slice(&[1, 0]);
        let mut e = Vec::new();
        for (k, d) in exts {
            e.extend_from_slice(&k.to_be_bytes());
            e.extend_from_slice(&(d.len() as u16).to_be_bytes());
            e.extend_from_slice(d);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend(e);
        b
    }

    fn list16(items: &[u16], outer: u8) -> Vec<u8> {
        let mut v = Vec::new();
        let n = items.len() * 2;
        if outer == 2 {
            v.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            v.push(n as u8);
        }
        for i in items {
            v.extend_from_slice(&i.to_be_bytes());
        }
        v
    }

    /// The Chrome ClientHello of FoxIO's JA4 example (`http2-with-cookies.pcapng`):
    /// suites, extensions in wire order and signature algorithms from `JA4_ro`.
    fn chrome() -> Vec<u8> {
        let suites = [
            0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
            0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
        ];
        let sni = {
            let name = b"youtube.com";
            let mut d = ((name.len() + 3) as u16).to_be_bytes().to_vec();
            d.push(0);
            d.extend_from_slice(&(name.len() as u16).to_be_bytes());
            d.extend_from_slice(name);
            d
        };
        let alpn = vec![
            0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
        ];
        let sigs = list16(
            &[
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            2,
        );
        let exts: Vec<(u16, Vec<u8>)> = vec![
            (0x0a0a, vec![]),
            (0x002d, vec![1, 1]),
            (0x0012, vec![]),
            (0x0000, sni),
            (0x000b, vec![1, 0]),
            (0x4469, vec![0, 3, 2, b'h', b'2']),
            (0x001b, vec![2, 0, 2]),
            (0xff01, vec![0]),
            (0x0033, vec![0, 0]),
            (0x000d, sigs),
            (0x0010, alpn),
            (0x0005, vec![1, 0, 0, 0, 0]),
            (0x000a, list16(&[0x3a3a, 0x001d, 0x0017, 0x0018], 2)),
            (0x0017, vec![]),
            (0x002b, list16(&[0x5a5a, 0x0304, 0x0303], 1)),
            (0x0023, vec![]),
            (0x0015, vec![0; 4]),
            (0x1a1a, vec![0]),
        ];
        hello(0x0303, &suites, &exts)
    }

    #[test]
    fn ja4_matches_foxio_reference() {
        let body = chrome();
        let ch = parse_client_hello(&body, false).unwrap();
        let (a, b, c) = ja4_raw(&ch, Ja4Transport::Tcp);
        assert_eq!(a, "t13d1516h2");
        assert_eq!(
            b,
            "002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"
        );
        assert_eq!(
            c,
            "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
        );
        assert_eq!(
            ja4(&ch, Ja4Transport::Tcp),
            "t13d1516h2_8daaf6152771_e5627efa2ab1"
        );
        assert!(ja4(&ch, Ja4Transport::Quic).starts_with("q13d1516h2_"));
        // Without signature algorithms the string ends without `_` (FoxIO's 6d807ffa2a79).
        assert_eq!(
            sha12("0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"),
            "6d807ffa2a79"
        );
    }

    #[test]
    fn ja4_alpn_and_empty_rules() {
        let with_alpn = |v: &[u8]| {
            let mut d = ((v.len() + 1) as u16).to_be_bytes().to_vec();
            d.push(v.len() as u8);
            d.extend_from_slice(v);
            hello(0x0303, &[], &[(ext::ALPN, d)])
        };
        for (alpn, want) in [
            (&[0xab][..], "ab"),
            (&[0xab, 0xcd][..], "ad"),
            (&[0x30, 0xab][..], "3b"),
            (&[0x30, 0x31, 0xab, 0xcd][..], "3d"),
            (&[0x30, 0xab, 0xcd, 0x31][..], "01"),
            (b"h", "hh"),
            (b"http/1.1", "h1"),
        ] {
            let body = with_alpn(alpn);
            let ch = parse_client_hello(&body, false).unwrap();
            let (a, b, _) = ja4_raw(&ch, Ja4Transport::Tcp);
            assert_eq!(&a[8..], want, "{alpn:?}");
            assert!(b.is_empty());
            assert!(ja4(&ch, Ja4Transport::Tcp).contains("_000000000000_"));
        }
        let body = hello(0xfefd, &[0xc02b], &[]);
        let ch = parse_client_hello(&body, false).unwrap();
        assert_eq!(
            ja4(&ch, Ja4Transport::Dtls),
            format!("dd2i010000_{}_000000000000", sha12("c02b"))
        );
    }

    #[test]
    fn ja3_and_ja3s_drop_grease() {
        let body = hello(
            0x0303,
            &[0x0a0a, 0xc02b, 0x1301],
            &[
                (0x0a0a, vec![]),
                (ext::SUPPORTED_GROUPS, list16(&[0x2a2a, 0x001d, 0x0017], 2)),
                (ext::EC_POINT_FORMATS, vec![1, 0]),
            ],
        );
        let ch = parse_client_hello(&body, false).unwrap();
        assert_eq!(ja3_string(&ch), "771,49195-4865,10-11,29-23,0");
        assert_eq!(ja3(&ch), hex(&Md5::digest(b"771,49195-4865,10-11,29-23,0")));
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&[0; 32]);
        sh.push(0);
        sh.extend_from_slice(&[0xc0, 0x2f, 0]);
        sh.extend_from_slice(&[0, 9, 0xff, 0x01, 0, 1, 0, 0, 0x0b, 0, 0]);
        let sh = crate::proto::tls::handshake::parse_server_hello(&sh).unwrap();
        assert_eq!(ja3s_string(&sh), "771,49199,65281-11");
        assert_eq!(ja3s(&sh).len(), 32);
    }
}
