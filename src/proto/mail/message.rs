//! Internet messages (RFC 5322) with MIME (RFC 2045-2047), as carried by SMTP
//! `DATA`, IMAP `FETCH`/`APPEND` literals and POP3 `RETR`.
//!
//! Only what an observer learns is extracted: the subject, the addresses, the
//! mail client, the decoded text of each text part, attachment names and
//! end-to-end encryption markers (PGP/MIME, inline PGP, S/MIME). Everything is
//! bounded: part count, nesting depth and decoded text size.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Base64 as mailers write it: padding optional, stray trailing bits accepted.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Most MIME parts looked at in one message.
const MAX_PARTS: usize = 64;
/// Deepest multipart nesting followed.
const MAX_DEPTH: usize = 8;
/// Decoded text kept per part.
const MAX_TEXT: usize = 256 * 1024;
/// Header bytes looked at per part.
const MAX_HEADER: usize = 64 * 1024;

/// What one message reveals.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cc: Option<String>,
    /// `User-Agent` or `X-Mailer`.
    pub client: Option<String>,
    /// Decoded text parts (text/plain, text/html with markup removed).
    pub texts: Vec<String>,
    /// Non-text parts: `type/subtype[; name]`.
    pub attachments: Vec<String>,
    /// End-to-end encryption recognised: `openpgp` or `smime`.
    pub e2e: Option<&'static str>,
    /// Some part or limit was cut short.
    pub truncated: bool,
}

/// Parses a complete message (headers and body).
pub fn parse(raw: &[u8]) -> Message {
    let mut m = Message::default();
    let (headers, body) = split_headers(raw);
    let hs = parse_headers(headers);
    for (name, value) in &hs {
        let v = || Some(decode_words(value).chars().take(512).collect::<String>());
        match name.to_ascii_lowercase().as_str() {
            "subject" if m.subject.is_none() => m.subject = v(),
            "from" if m.from.is_none() => m.from = v(),
            "to" if m.to.is_none() => m.to = v(),
            "cc" if m.cc.is_none() => m.cc = v(),
            "user-agent" | "x-mailer" if m.client.is_none() => m.client = v(),
            _ => {}
        }
    }
    let mut parts = 0;
    walk(&hs, body, 0, &mut parts, &mut m);
    m
}

/// Parses the header block only (IMAP `BODY[HEADER]`).
pub fn parse_header_only(raw: &[u8]) -> Message {
    let mut m = parse(raw);
    m.texts.clear();
    m.attachments.clear();
    m
}

fn walk(
    headers: &[(String, Vec<u8>)],
    body: &[u8],
    depth: usize,
    parts: &mut usize,
    m: &mut Message,
) {
    *parts += 1;
    if *parts > MAX_PARTS || depth > MAX_DEPTH {
        m.truncated = true;
        return;
    }
    let ct = header(headers, "content-type").map(|v| ContentType::parse(&v));
    let ct = ct.unwrap_or_default();
    let cte = header(headers, "content-transfer-encoding")
        .map(|v| String::from_utf8_lossy(&v).trim().to_ascii_lowercase())
        .unwrap_or_default();
    let disposition = header(headers, "content-disposition")
        .map(|v| ContentType::parse(&v))
        .unwrap_or_default();
    let attachment = disposition.mime.eq_ignore_ascii_case("attachment");
    let mime = ct.mime.to_ascii_lowercase();

    match mime.as_str() {
        "multipart/encrypted" => {
            m.e2e.get_or_insert("openpgp");
            return;
        }
        "application/pkcs7-mime" | "application/x-pkcs7-mime"
            if ct
                .param("smime-type")
                .is_none_or(|t| t.eq_ignore_ascii_case("enveloped-data")) =>
        {
            m.e2e.get_or_insert("smime");
            return;
        }
        "application/pgp-encrypted" => {
            m.e2e.get_or_insert("openpgp");
            return;
        }
        _ => {}
    }

    if mime.starts_with("multipart/") {
        let Some(b) = ct.param("boundary").filter(|b| !b.is_empty()) else {
            return;
        };
        // The parts of multipart/alternative are the same text in several
        // forms (plain, then HTML): keep the first that has text.
        let alternative = mime == "multipart/alternative";
        let mut have_text = false;
        for part in split_multipart(body, b.as_bytes()) {
            let (h, b) = split_headers(part);
            let hs = parse_headers(h);
            if alternative {
                let mut alt = Message::default();
                walk(&hs, b, depth + 1, parts, &mut alt);
                if have_text {
                    alt.texts.clear();
                }
                have_text |= !alt.texts.is_empty();
                m.texts.extend(alt.texts);
                m.attachments.extend(alt.attachments);
                m.truncated |= alt.truncated;
                if m.e2e.is_none() {
                    m.e2e = alt.e2e;
                }
            } else {
                walk(&hs, b, depth + 1, parts, m);
            }
            if *parts > MAX_PARTS {
                m.truncated = true;
                break;
            }
        }
        return;
    }
    if mime == "message/rfc822" {
        // A forwarded message: its text is message text too.
        let inner = parse(body);
        m.texts.extend(inner.texts);
        m.attachments.extend(inner.attachments);
        if m.e2e.is_none() {
            m.e2e = inner.e2e;
        }
        return;
    }

    let is_text = mime.is_empty() || mime == "text/plain" || mime == "text/html";
    if !is_text || attachment {
        if m.attachments.len() < 16 {
            let name = disposition
                .param("filename")
                .or_else(|| ct.param("name"))
                .map(|n| format!("; {}", decode_words(n.as_bytes())))
                .unwrap_or_default();
            let shown = if mime.is_empty() { "text/plain" } else { &mime };
            m.attachments.push(format!("{shown}{name}"));
        }
        return;
    }
    let decoded = decode_transfer(&cte, body);
    let mut text = to_text(&decoded, ct.param("charset").as_deref());
    if mime == "text/html" {
        text = strip_html(&text);
    }
    if text.contains("-----BEGIN PGP MESSAGE-----") {
        m.e2e.get_or_insert("openpgp");
        return;
    }
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    if text.len() > MAX_TEXT {
        m.truncated = true;
        let mut cut = MAX_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        m.texts.push(text[..cut].to_string());
    } else {
        m.texts.push(text.to_string());
    }
}

/// Splits at the first empty line. A message without one is all headers.
fn split_headers(raw: &[u8]) -> (&[u8], &[u8]) {
    let mut i = 0;
    // A body may start right away with an empty line (no headers).
    if raw.starts_with(b"\r\n") {
        return (&[], &raw[2..]);
    }
    if raw.starts_with(b"\n") {
        return (&[], &raw[1..]);
    }
    while let Some(p) = memchr::memchr(b'\n', &raw[i..]) {
        let nl = i + p;
        let next = &raw[nl + 1..];
        if next.starts_with(b"\r\n") {
            return (&raw[..nl + 1], &raw[nl + 3..]);
        }
        if next.starts_with(b"\n") {
            return (&raw[..nl + 1], &raw[nl + 2..]);
        }
        i = nl + 1;
        if i > MAX_HEADER {
            break;
        }
    }
    (raw, &[])
}

/// Unfolded header fields in order.
fn parse_headers(block: &[u8]) -> Vec<(String, Vec<u8>)> {
    let block = &block[..block.len().min(MAX_HEADER)];
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if matches!(line[0], b' ' | b'\t') {
            if let Some((_, v)) = out.last_mut()
                && v.len() < 8192
            {
                v.push(b' ');
                v.extend_from_slice(line.trim_ascii_start());
            }
            continue;
        }
        if out.len() >= 256 {
            break;
        }
        if let Some(c) = memchr::memchr(b':', line) {
            let name = String::from_utf8_lossy(line[..c].trim_ascii()).into_owned();
            out.push((name, line[c + 1..].trim_ascii().to_vec()));
        }
    }
    out
}

fn header(hs: &[(String, Vec<u8>)], name: &str) -> Option<Vec<u8>> {
    hs.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// `type/subtype; key=value; key="quoted value"`.
#[derive(Debug, Default, Clone)]
struct ContentType {
    mime: String,
    params: Vec<(String, String)>,
}

impl ContentType {
    fn parse(v: &[u8]) -> ContentType {
        let s = String::from_utf8_lossy(v);
        let mut ct = ContentType::default();
        let mut rest = s.as_ref();
        let end = rest.find(';').unwrap_or(rest.len());
        ct.mime = rest[..end].trim().to_string();
        rest = &rest[end..];
        while let Some(r) = rest.strip_prefix(';') {
            let r = r.trim_start();
            let Some(eq) = r.find('=') else { break };
            let key = r[..eq].trim().to_ascii_lowercase();
            let after = r[eq + 1..].trim_start();
            let (value, next) = if let Some(q) = after.strip_prefix('"') {
                let close = q.find('"').unwrap_or(q.len());
                (q[..close].to_string(), q.get(close + 1..).unwrap_or(""))
            } else {
                let end = after.find(';').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            };
            if ct.params.len() < 16 {
                ct.params.push((key, value));
            }
            rest = next.trim_start_matches(|c: char| c != ';');
        }
        ct
    }

    fn param(&self, key: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
}

/// The parts between `--boundary` lines (preamble and epilogue dropped).
fn split_multipart<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut delim = Vec::with_capacity(boundary.len() + 2);
    delim.extend_from_slice(b"--");
    delim.extend_from_slice(boundary);
    let mut parts = Vec::new();
    let mut cur: Option<usize> = None;
    let mut pos = 0;
    let finder = memchr::memmem::Finder::new(&delim);
    while let Some(p) = finder.find(&body[pos..]) {
        let at = pos + p;
        let line_start = at == 0 || body[at - 1] == b'\n';
        let after = &body[at + delim.len()..];
        if !line_start {
            pos = at + delim.len();
            continue;
        }
        if let Some(s) = cur {
            // The CRLF before the delimiter belongs to the delimiter.
            let mut end = at;
            if end > s && body[end - 1] == b'\n' {
                end -= 1;
                if end > s && body[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            parts.push(&body[s..end.max(s)]);
            if parts.len() >= MAX_PARTS {
                return parts;
            }
        }
        if after.starts_with(b"--") {
            return parts;
        }
        let nl = memchr::memchr(b'\n', after).map_or(after.len(), |n| n + 1);
        let start = at + delim.len() + nl;
        cur = Some(start);
        pos = start;
    }
    if let Some(s) = cur
        && s < body.len()
    {
        // Unterminated last part (truncated message): keep what is there.
        parts.push(&body[s..]);
    }
    parts
}

/// Undoes base64 or quoted-printable; other encodings pass through.
pub fn decode_transfer(cte: &str, body: &[u8]) -> Vec<u8> {
    match cte {
        "base64" => decode_base64_lenient(body),
        "quoted-printable" => decode_qp(body),
        _ => body.to_vec(),
    }
}

fn decode_base64_lenient(body: &[u8]) -> Vec<u8> {
    let mut clean: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        .collect();
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    LENIENT_B64.decode(&clean).unwrap_or_default()
}

/// Quoted-printable (RFC 2045 §6.7), tolerant of bad escapes.
pub fn decode_qp(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        match (body.get(i + 1), body.get(i + 2)) {
            (Some(b'\r'), Some(b'\n')) => i += 3,
            (Some(b'\n'), _) => i += 2,
            (Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                out.push(hex(h) << 4 | hex(l));
                i += 3;
            }
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out
}

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b.to_ascii_uppercase().wrapping_sub(b'A') + 10,
    }
}

/// Windows-1252 code points for 0x80..=0x9F (ISO-8859-1 has C1 controls there).
const CP1252: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// Bytes in a declared charset to text. UTF-8 and the Latin-1 family are
/// decoded; anything else is read as UTF-8 with replacement characters.
pub fn to_text(bytes: &[u8], charset: Option<&str>) -> String {
    let cs = charset.unwrap_or("").trim().to_ascii_lowercase();
    let latin = matches!(
        cs.as_str(),
        "iso-8859-1" | "iso-8859-15" | "latin1" | "latin-1" | "windows-1252" | "cp1252"
    );
    if latin || (std::str::from_utf8(bytes).is_err() && (cs.is_empty() || cs == "us-ascii")) {
        return bytes
            .iter()
            .map(|&b| match b {
                0x80..=0x9f => CP1252[(b - 0x80) as usize],
                _ => b as char,
            })
            .collect();
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// RFC 2047 encoded words (`=?utf-8?B?...?=`, `=?iso-8859-1?Q?...?=`) in a header value.
pub fn decode_words(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    let mut out = String::new();
    let mut rest = s.as_ref();
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, from) = rest.split_at(start);
        let decoded = encoded_word(from);
        match decoded {
            Some((text, used)) => {
                // Whitespace between two encoded words is dropped.
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = &from[used..];
                last_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &from[2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out.chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect()
}

/// One encoded word at the start of `s`: (decoded text, bytes used).
fn encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let q1 = inner.find('?')?;
    let charset = &inner[..q1];
    let enc = inner.get(q1 + 1..q1 + 2)?;
    if inner.get(q1 + 2..q1 + 3)? != "?" {
        return None;
    }
    let payload_start = q1 + 3;
    let end = inner[payload_start..].find("?=")? + payload_start;
    let payload = &inner[payload_start..end];
    let charset = charset.split('*').next().unwrap_or(charset);
    let bytes = match enc {
        "B" | "b" => LENIENT_B64.decode(payload.trim()).ok()?,
        "Q" | "q" => decode_qp(payload.replace('_', " ").as_bytes()),
        _ => return None,
    };
    Some((to_text(&bytes, Some(charset)), 2 + end + 2))
}

/// Markup removed, common entities decoded, whitespace collapsed.
fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    let b = html.as_bytes();
    while i < b.len() {
        if b[i] == b'<' {
            for skip in ["<script", "<style", "<head"] {
                if lower[i..].starts_with(skip) {
                    let close = format!("</{}", &skip[1..]);
                    i = lower[i..].find(&close).map_or(b.len(), |p| i + p);
                    break;
                }
            }
            match html[i..].find('>') {
                Some(p) => i += p + 1,
                None => break,
            }
            out.push(' ');
            continue;
        }
        let next = html[i..].find(['<', '&']).map_or(html.len(), |p| i + p);
        if next > i {
            out.push_str(&html[i..next]);
            i = next;
            continue;
        }
        // An entity.
        let semi = html[i..].find(';').filter(|&p| p <= 10);
        let Some(p) = semi else {
            out.push('&');
            i += 1;
            continue;
        };
        let ent = &html[i + 1..i + p];
        let c = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => ent
                .strip_prefix("#x")
                .or_else(|| ent.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                i += p + 1;
            }
            None => {
                out.push('&');
                i += 1;
            }
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_message_headers_and_body() {
        let raw = b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: Lunch\r\nX-Mailer: Foo Mail 1.2\r\n\r\nShall we meet at noon?\r\n";
        let m = parse(raw);
        assert_eq!(m.subject.as_deref(), Some("Lunch"));
        assert_eq!(m.from.as_deref(), Some("Alice <alice@example.org>"));
        assert_eq!(m.to.as_deref(), Some("bob@example.net"));
        assert_eq!(m.client.as_deref(), Some("Foo Mail 1.2"));
        assert_eq!(m.texts, vec!["Shall we meet at noon?".to_string()]);
    }

    #[test]
    fn encoded_words_and_folding() {
        // RFC 2047 §8 examples.
        assert_eq!(
            decode_words(b"=?ISO-8859-1?Q?Andr=E9?= Pirard"),
            "André Pirard"
        );
        assert_eq!(
            decode_words(b"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"),
            "(ab)"
        );
        assert_eq!(
            decode_words(b"=?UTF-8?B?0J/RgNC40LLQtdGC?= world"),
            "Привет world"
        );
        assert_eq!(decode_words(b"=?bogus"), "=?bogus");
        let m = parse(b"Subject: a very\r\n long subject\r\n\r\n");
        assert_eq!(m.subject.as_deref(), Some("a very long subject"));
    }

    #[test]
    fn multipart_with_base64_and_qp_parts() {
        let raw = b"Subject: t\r\nContent-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\npreamble\r\n--XyZ\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 at eight, soft=\r\n break\r\n--XyZ\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+SGVsbG8gJmFtcDsgd2VsY29tZTwvcD4=\r\n--XyZ\r\nContent-Type: image/png; name=\"cat.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--XyZ--\r\nepilogue\r\n";
        let m = parse(raw);
        assert_eq!(
            m.texts,
            vec![
                "Café at eight, soft break".to_string(),
                "Hello & welcome".to_string()
            ]
        );
        assert_eq!(m.attachments, vec!["image/png; cat.png".to_string()]);
        assert!(!m.truncated);
    }

    #[test]
    fn alternative_parts_count_once() {
        let raw = b"Content-Type: multipart/alternative; boundary=alt\r\n\r\n--alt\r\nContent-Type: text/plain\r\n\r\nHello there friend\r\n--alt\r\nContent-Type: text/html\r\n\r\n<p>Hello there friend</p>\r\n--alt--\r\n";
        assert_eq!(parse(raw).texts, vec!["Hello there friend".to_string()]);
    }

    #[test]
    fn encrypted_mail_is_recognised_not_read() {
        let pgp = b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b--\r\n";
        let m = parse(pgp);
        assert_eq!(m.e2e, Some("openpgp"));
        assert!(m.texts.is_empty());
        let inline = parse(b"Subject: x\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nhQEMA...\r\n-----END PGP MESSAGE-----\r\n");
        assert_eq!(inline.e2e, Some("openpgp"));
        assert!(inline.texts.is_empty());
        let smime = parse(b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n");
        assert_eq!(smime.e2e, Some("smime"));
    }

    #[test]
    fn hostile_inputs_stay_bounded() {
        // Deep nesting with the same boundary, and a boundary that never ends.
        let mut raw = Vec::new();
        for _ in 0..100 {
            raw.extend_from_slice(b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n");
        }
        let m = parse(&raw);
        assert!(m.truncated);
        let m = parse(b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n");
        assert!(m.texts.is_empty());
        for raw in [
            &b""[..],
            b"\r\n",
            b":",
            b"Subject",
            b"=?",
            b"Content-Type: text/plain; charset=\"",
            b"=?x?B?@@@?=",
        ] {
            let _ = parse(raw);
        }
        assert_eq!(decode_qp(b"a=\r\nb=4"), b"ab=4");
        assert_eq!(decode_base64_lenient(b"aGk=\r\n!!"), b"hi");
    }
}
