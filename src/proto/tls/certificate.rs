//! Names in an X.509 certificate: a minimal, bounded DER walk.
//!
//! TLS ≤ 1.2 sends the server's certificate chain in the clear, so its
//! subject, issuer and subjectAltName DNS names are metadata any observer
//! sees. Only the fields needed for that are read; nothing is validated.

/// A DER element: tag byte and content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
}

/// Reads one element from the front of `b`; returns it and the rest.
fn tlv(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *b.first()?;
    if tag & 0x1f == 0x1f {
        // High tag numbers do not occur in the fields we read.
        return None;
    }
    let l0 = *b.get(1)?;
    let (len, hdr) = if l0 < 0x80 {
        (l0 as usize, 2)
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    let content = b.get(hdr..end)?;
    Some((Tlv { tag, content }, &b[end..]))
}

/// The elements of a constructed value, at most `max` of them.
fn children(content: &[u8], max: usize) -> Vec<Tlv<'_>> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() && out.len() < max {
        match tlv(rest) {
            Some((t, r)) => {
                out.push(t);
                rest = r;
            }
            None => break,
        }
    }
    out
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;

/// Names read from a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertNames {
    /// Subject as `CN=…, O=…` in certificate order.
    pub subject: String,
    pub issuer: String,
    /// subjectAltName DNS names and IP addresses.
    pub san: Vec<String>,
}

fn attr_name(oid: &[u8]) -> Option<&'static str> {
    Some(match oid {
        [0x55, 0x04, 0x03] => "CN",
        [0x55, 0x04, 0x06] => "C",
        [0x55, 0x04, 0x07] => "L",
        [0x55, 0x04, 0x08] => "ST",
        [0x55, 0x04, 0x0a] => "O",
        [0x55, 0x04, 0x0b] => "OU",
        _ => return None,
    })
}

/// Decodes the string types a Name uses (UTF8, Printable, IA5, T61, BMP).
fn der_string(t: &Tlv<'_>) -> Option<String> {
    let s = match t.tag {
        0x0c | 0x13 | 0x16 | 0x14 => String::from_utf8_lossy(t.content).into_owned(),
        0x1e => {
            let units: Vec<u16> = t
                .content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => return None,
    };
    Some(s.chars().filter(|c| !c.is_control()).take(256).collect())
}

/// Renders a Name (SEQUENCE OF SET OF AttributeTypeAndValue).
fn name(t: &Tlv<'_>) -> String {
    let mut parts = Vec::new();
    for rdn in children(t.content, 32) {
        if rdn.tag != SET {
            continue;
        }
        for atv in children(rdn.content, 8) {
            let kids = children(atv.content, 2);
            let (Some(oid), Some(val)) = (kids.first(), kids.get(1)) else {
                continue;
            };
            if oid.tag != OID {
                continue;
            }
            if let (Some(key), Some(v)) = (attr_name(oid.content), der_string(val)) {
                parts.push(format!("{key}={v}"));
            }
        }
    }
    parts.join(", ")
}

/// subjectAltName GeneralNames: dNSName `[2]` and iPAddress `[7]`.
fn san_names(ext_value: &[u8]) -> Vec<String> {
    let Some((seq, _)) = tlv(ext_value) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for gn in children(seq.content, 256) {
        match gn.tag {
            0x82 => out.push(
                String::from_utf8_lossy(gn.content)
                    .chars()
                    .filter(|c| c.is_ascii_graphic())
                    .take(253)
                    .collect(),
            ),
            0x87 if gn.content.len() == 4 => {
                let b: [u8; 4] = gn.content.try_into().unwrap_or([0; 4]);
                out.push(std::net::Ipv4Addr::from(b).to_string());
            }
            0x87 if gn.content.len() == 16 => {
                let b: [u8; 16] = gn.content.try_into().unwrap_or([0; 16]);
                out.push(std::net::Ipv6Addr::from(b).to_string());
            }
            _ => {}
        }
    }
    out
}

/// Reads subject, issuer and SAN names from a DER certificate.
pub fn names(der: &[u8]) -> Option<CertNames> {
    let (cert, _) = tlv(der)?;
    if cert.tag != SEQUENCE {
        return None;
    }
    let (tbs, _) = tlv(cert.content)?;
    if tbs.tag != SEQUENCE {
        return None;
    }
    let mut fields = children(tbs.content, 16).into_iter().peekable();
    // Optional [0] EXPLICIT version.
    if fields.peek().is_some_and(|f| f.tag == 0xa0) {
        fields.next();
    }
    let _serial = fields.next()?;
    let _sig_alg = fields.next()?;
    let issuer = fields.next()?;
    let _validity = fields.next()?;
    let subject = fields.next()?;
    let _spki = fields.next()?;
    let mut out = CertNames {
        subject: name(&subject),
        issuer: name(&issuer),
        san: Vec::new(),
    };
    for f in fields {
        if f.tag != 0xa3 {
            continue;
        }
        let Some((exts, _)) = tlv(f.content) else {
            continue;
        };
        for ext in children(exts.content, 64) {
            let kids = children(ext.content, 3);
            let Some(oid) = kids.first() else { continue };
            // id-ce-subjectAltName 2.5.29.17
            if oid.tag == OID && oid.content == [0x55, 0x1d, 0x11] {
                // The value is the last element (after an optional `critical` BOOLEAN).
                if let Some(v) = kids.last().filter(|v| v.tag == 0x04) {
                    out.san = san_names(v.content);
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DER element with a definite length.
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        let n = content.len();
        if n < 0x80 {
            v.push(n as u8);
        } else {
            v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
        }
        v.extend_from_slice(content);
        v
    }

    fn rdn(oid: &[u8], value: &str) -> Vec<u8> {
        let mut atv = der(OID, oid);
        atv.extend(der(0x0c, value.as_bytes()));
        der(SET, &der(SEQUENCE, &atv))
    }

    #[test]
    fn reads_subject_issuer_and_san() {
        let mut subject = rdn(&[0x55, 4, 6], "US");
        subject.extend(rdn(&[0x55, 4, 3], "example.ulfheim.net"));
        let issuer = rdn(&[0x55, 4, 3], "Example CA");
        let mut gns = der(0x82, b"example.ulfheim.net");
        gns.extend(der(0x82, b"www.example.net"));
        gns.extend(der(0x87, &[127, 0, 0, 1]));
        let mut san_ext = der(OID, &[0x55, 0x1d, 0x11]);
        san_ext.extend(der(0x04, &der(SEQUENCE, &gns)));
        let exts = der(0xa3, &der(SEQUENCE, &der(SEQUENCE, &san_ext)));
        let mut tbs = der(0xa0, &der(0x02, &[2]));
        tbs.extend(der(0x02, &[1, 2, 3]));
        tbs.extend(der(SEQUENCE, &der(OID, &[0x2a, 0x86, 0x48])));
        tbs.extend(der(SEQUENCE, &issuer));
        tbs.extend(der(SEQUENCE, &[]));
        tbs.extend(der(SEQUENCE, &subject));
        tbs.extend(der(SEQUENCE, &[0x05, 0x00]));
        tbs.extend(exts);
        let mut cert = der(SEQUENCE, &tbs);
        cert.extend(der(SEQUENCE, &[]));
        cert.extend(der(0x03, &[0]));
        let cert = der(SEQUENCE, &cert);
        let n = names(&cert).unwrap();
        assert_eq!(n.subject, "C=US, CN=example.ulfheim.net");
        assert_eq!(n.issuer, "CN=Example CA");
        assert_eq!(
            n.san,
            vec!["example.ulfheim.net", "www.example.net", "127.0.0.1"]
        );
        for cut in 0..cert.len() {
            let _ = names(&cert[..cut]);
        }
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(names(&[]), None);
        assert_eq!(names(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(names(&[0x1f, 0x01, 0x00]), None);
    }
}
