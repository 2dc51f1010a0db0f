//! App knowledge for stores: matching a file to an app profile (path globs,
//! schema fingerprints) and decoding message text from app-specific
//! encodings (Telegram TL blobs, Apple typedstream, JSON documents).

use crate::evidence::content::is_human_text;
use crate::rules::model::{AppProfile, RuleSet, StoreProfile};

/// The app profile and store section a file matched, and why.
#[derive(Debug, Clone, Copy)]
pub struct Matched<'r> {
    pub app: &'r AppProfile,
    pub store: &'r StoreProfile,
    /// `path` or `schema`.
    pub by: &'static str,
}

/// Matches a database by its schema (every fingerprint table present; the
/// most specific profile wins) or, failing that, by path.
pub fn match_store<'r>(
    rules: &'r RuleSet,
    path: &str,
    tables: Option<&[String]>,
) -> Option<Matched<'r>> {
    let mut best: Option<(usize, Matched<'r>)> = None;
    if let Some(tables) = tables {
        for app in &rules.apps {
            for store in &app.stores {
                if store.schema.is_empty() {
                    continue;
                }
                let all = store
                    .schema
                    .iter()
                    .all(|t| tables.iter().any(|x| x.eq_ignore_ascii_case(t)));
                if all && best.as_ref().is_none_or(|(n, _)| store.schema.len() > *n) {
                    best = Some((
                        store.schema.len(),
                        Matched {
                            app,
                            store,
                            by: "schema",
                        },
                    ));
                }
            }
        }
    }
    if let Some((_, m)) = best {
        return Some(m);
    }
    for app in &rules.apps {
        for store in &app.stores {
            if store.paths.iter().any(|g| g.matches(path)) {
                // A path match must not contradict the schema we can read.
                if let Some(tables) = tables
                    && !store.schema.is_empty()
                    && !store
                        .schema
                        .iter()
                        .any(|t| tables.iter().any(|x| x.eq_ignore_ascii_case(t)))
                {
                    continue;
                }
                return Some(Matched {
                    app,
                    store,
                    by: "path",
                });
            }
        }
    }
    None
}

/// Strings of a TL-serialised object (Telegram `messages_v2.data`): TL
/// strings start on 4-byte boundaries with a 1-byte length (< 254) or
/// `0xfe` and a 3-byte little-endian length. Returns those that read as
/// human text, in order; the first is the message body.
pub fn telegram_tl_text(blob: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 4; // skip the constructor id
    while at + 4 <= blob.len() && out.len() < 16 {
        let (len, start) = match blob[at] {
            254 => {
                let l = u32::from_le_bytes([blob[at + 1], blob[at + 2], blob[at + 3], 0]) as usize;
                (l, at + 4)
            }
            255 => {
                at += 4;
                continue;
            }
            l => (l as usize, at + 1),
        };
        if len >= 2
            && let Some(s) = blob.get(start..start + len)
            && let Ok(text) = std::str::from_utf8(s)
            && is_human_text(s)
        {
            out.push(text.to_string());
            at = (start + len).div_ceil(4) * 4;
            continue;
        }
        at += 4;
    }
    out
}

/// The plain text of an Apple typedstream NSAttributedString
/// (iMessage `attributedBody`): the NSString payload after its class name.
pub fn typedstream_text(blob: &[u8]) -> Option<String> {
    if !blob.starts_with(b"\x04\x0bstreamtyped") {
        return None;
    }
    let at = memchr::memmem::find(blob, b"NSString")? + 8;
    let plus = at + blob.get(at..at + 12)?.iter().position(|&b| b == b'+')? + 1;
    let (len, start) = match *blob.get(plus)? {
        0x81 => (
            u16::from_le_bytes([*blob.get(plus + 1)?, *blob.get(plus + 2)?]) as usize,
            plus + 3,
        ),
        0x82 => (
            u32::from_le_bytes(blob.get(plus + 1..plus + 5)?.try_into().ok()?) as usize,
            plus + 5,
        ),
        l => (l as usize, plus + 1),
    };
    let s = blob.get(start..start.checked_add(len)?)?;
    std::str::from_utf8(s).ok().map(str::to_string)
}

/// Message bodies inside a JSON document (Signal Desktop `messages.json`):
/// every string under a `body` or `text` key, including edit history.
pub fn json_bodies(text: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<String>, depth: usize) {
        if depth > 16 || out.len() > 64 {
            return;
        }
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    match x {
                        serde_json::Value::String(s) if k == "body" || k == "text" => {
                            out.push(s.clone())
                        }
                        other => walk(other, out, depth + 1),
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for x in a {
                    walk(x, out, depth + 1);
                }
            }
            _ => {}
        }
    }
    walk(&v, &mut out, 0);
    out
}

/// Converts a stored timestamp to Unix seconds.
pub fn to_unix(v: f64, unit: &str) -> f64 {
    match unit {
        "ms" => v / 1000.0,
        "apple-s" => v + 978_307_200.0,
        _ => v,
    }
}

/// Column names that suggest message text in databases no profile knows.
pub fn message_like_column(table: &str, column: &str) -> bool {
    let c = column.to_ascii_lowercase();
    let t = table.to_ascii_lowercase();
    const NAMES: [&str; 14] = [
        "body",
        "text",
        "message",
        "msg",
        "content",
        "snippet",
        "caption",
        "text_data",
        "body_xml",
        "ztext",
        "message_text",
        "c0content",
        "c0body",
        "c1body",
    ];
    NAMES.contains(&c.as_str())
        || (c == "data" && (t.contains("message") || t.contains("msg")))
        || c.ends_with("_text") && !c.contains("search")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tl_message_text_is_found_on_word_boundaries() {
        // constructor, flags, id, then a TL string "hello there" (11 bytes + 1 pad).
        let mut b = vec![0x1d, 0x3e, 0x9e, 0x38, 0, 0, 0, 0, 7, 0, 0, 0];
        b.push(11);
        b.extend_from_slice(b"hello there");
        b.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(telegram_tl_text(&b), ["hello there"]);
        // Long form: 0xfe + 3-byte length.
        let long = "a long message ".repeat(20);
        let mut b = vec![0u8; 8];
        b.push(254);
        b.extend_from_slice(&(long.len() as u32).to_le_bytes()[..3]);
        b.extend_from_slice(long.as_bytes());
        assert_eq!(telegram_tl_text(&b), [long]);
        assert!(telegram_tl_text(&[0xff; 64]).is_empty());
    }

    #[test]
    fn typedstream_body_from_an_imessage_blob() {
        // Shape of a macOS attributedBody (imessage-exporter test data).
        let mut b = b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject\x00\x85\x92\x84\x84\x84\x08NSString\x01\x94\x84\x01+".to_vec();
        b.push(9);
        b.extend_from_slice(b"Hi there!");
        b.extend_from_slice(b"\x86\x84\x02iI\x01\x09");
        assert_eq!(typedstream_text(&b).as_deref(), Some("Hi there!"));
        assert_eq!(typedstream_text(b"not a stream"), None);
    }

    #[test]
    fn json_bodies_include_edit_history() {
        let j = br#"{"body":"now","editHistory":[{"body":"Edited message, initial version"}],"quote":{"text":"q"}}"#;
        let mut v = json_bodies(j);
        v.sort();
        assert_eq!(v, ["Edited message, initial version", "now", "q"]);
    }

    #[test]
    fn time_units() {
        assert_eq!(to_unix(1_700_000_000_000.0, "ms"), 1_700_000_000.0);
        assert_eq!(to_unix(0.0, "apple-s"), 978_307_200.0);
    }
}
