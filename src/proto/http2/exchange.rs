//! One HTTP/2 or HTTP/3 request/response stream as evidence: decoded header
//! fields become metadata (`http.host`, `http.method`, `http.path`,
//! `http.status`, `http.user-agent`), credentials (`authorization`,
//! `cookie`, `set-cookie`: the value is never kept) and canary scans; bodies
//! go to an inner stream so they are scanned and classified like any layer.

use super::hpack::Field;
use crate::evidence::Layer;
use crate::evidence::canary::ScanState;
use crate::model::Direction;
use crate::proto::dissector::{Cx, Hint, Stream};
use base64::Engine;
use std::collections::HashMap;

/// Distinct values reported per metadata key and connection.
const MAX_VALUES_PER_KEY: usize = 40;
/// Longest metadata value kept (paths can be long).
const MAX_VALUE_LEN: usize = 512;

/// Metadata already reported on a connection, so repeated requests do not
/// drown the evidence in identical items.
#[derive(Debug, Default)]
pub struct Seen {
    values: HashMap<&'static str, Vec<String>>,
}

impl Seen {
    /// True the first time `(key, value)` is seen, while the key is under its cap.
    pub fn first(&mut self, key: &'static str, value: &str) -> bool {
        let v = self.values.entry(key).or_default();
        if v.len() >= MAX_VALUES_PER_KEY || v.iter().any(|x| x == value) {
            return false;
        }
        v.push(value.to_string());
        true
    }
}

/// What a message's headers say about its body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyInfo {
    pub content_encoding: Option<String>,
    pub content_type: Option<String>,
}

fn text(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    if s.len() <= MAX_VALUE_LEN {
        return s.into_owned();
    }
    let mut end = MAX_VALUE_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The user of an `Authorization: Basic` header; nothing for other schemes.
fn basic_user(value: &[u8]) -> Option<String> {
    let v = std::str::from_utf8(value).ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let user = decoded.split(|&b| b == b':').next()?;
    let u = std::str::from_utf8(user).ok()?;
    (!u.is_empty()).then(|| u.to_string())
}

/// Reports the fields of one header block (request, response or trailers).
pub fn report_fields(
    cx: &mut Cx<'_>,
    dir: Direction,
    fields: &[Field],
    seen: &mut Seen,
) -> BodyInfo {
    let mut info = BodyInfo::default();
    for (name, value) in fields {
        let mut st = ScanState::default();
        cx.scan(&mut st, dir, value);
        let name = name.to_ascii_lowercase();
        let meta = match name.as_slice() {
            b":authority" | b"host" => Some("http.host"),
            b":method" => Some("http.method"),
            b":path" => Some("http.path"),
            b":status" => Some("http.status"),
            b"user-agent" => Some("http.user-agent"),
            _ => None,
        };
        if let Some(key) = meta {
            let v = text(value);
            if seen.first(key, &v) {
                if key == "http.host" {
                    let host = v.rsplit_once(':').map_or(v.as_str(), |(h, p)| {
                        if p.bytes().all(|b| b.is_ascii_digit()) {
                            h
                        } else {
                            v.as_str()
                        }
                    });
                    cx.server_name(key, &host.to_ascii_lowercase());
                } else {
                    cx.meta(key, v);
                }
            }
            continue;
        }
        match name.as_slice() {
            b"authorization" | b"proxy-authorization" => {
                let user = basic_user(value);
                let key = if name == b"authorization" {
                    "http.authorization"
                } else {
                    "http.proxy-authorization"
                };
                if seen.first(key, user.as_deref().unwrap_or("")) {
                    cx.credential(dir, key, user);
                }
            }
            b"cookie" | b"set-cookie" => {
                let key = if name == b"cookie" {
                    "http.cookie"
                } else {
                    "http.set-cookie"
                };
                // One item per cookie name: the names say which session tokens crossed.
                let cookie_name = value
                    .split(|&b| b == b'=')
                    .next()
                    .map(|n| text(n.trim_ascii()))
                    .unwrap_or_default();
                if seen.first(key, &cookie_name) {
                    cx.credential(dir, key, None);
                }
            }
            b"content-encoding" => info.content_encoding = Some(text(value).to_ascii_lowercase()),
            b"content-type" => info.content_type = Some(text(value).to_ascii_lowercase()),
            _ => {}
        }
    }
    info
}

/// One request/response stream.
pub struct Exchange {
    body_layer: &'static str,
    body: Option<Stream>,
    info: [BodyInfo; 2],
    ended: [bool; 2],
    body_bytes: [u64; 2],
}

impl Exchange {
    /// `body_layer` names the layer bodies are decoded at (`http2-body`, `http3-body`).
    pub fn new(body_layer: &'static str) -> Exchange {
        Exchange {
            body_layer,
            body: None,
            info: Default::default(),
            ended: [false; 2],
            body_bytes: [0; 2],
        }
    }

    /// A decoded header block (the first one of a direction carries the body's description).
    pub fn headers(&mut self, cx: &mut Cx<'_>, dir: Direction, fields: &[Field], seen: &mut Seen) {
        let info = report_fields(cx, dir, fields, seen);
        let slot = &mut self.info[dir.index()];
        if slot.content_encoding.is_none() {
            slot.content_encoding = info.content_encoding;
        }
        if slot.content_type.is_none() {
            slot.content_type = info.content_type;
        }
    }

    /// Body bytes of one direction, in order.
    pub fn data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.body_bytes[dir.index()] += data.len() as u64;
        let layer = self.body_layer;
        self.body
            .get_or_insert_with(|| Stream::new(Layer::plain(layer), Hint::default()))
            .data(cx, dir, data);
    }

    /// One direction ended; returns true once both have.
    pub fn end(&mut self, dir: Direction) -> bool {
        self.ended[dir.index()] = true;
        self.ended[0] && self.ended[1]
    }

    pub fn body_info(&self, dir: Direction) -> &BodyInfo {
        &self.info[dir.index()]
    }

    pub fn body_bytes(&self, dir: Direction) -> u64 {
        self.body_bytes[dir.index()]
    }

    /// Flushes the body stream (classification of what it carried).
    pub fn finish(&mut self, cx: &mut Cx<'_>) {
        if let Some(b) = &mut self.body {
            b.finish(cx);
        }
        self.body = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_user_only() {
        assert_eq!(basic_user(b"Basic YWxpY2U6czNjcmV0"), Some("alice".into()));
        assert_eq!(basic_user(b"Bearer abc.def"), None);
        assert_eq!(basic_user(b"Basic !!!"), None);
    }

    #[test]
    fn seen_caps_and_dedups() {
        let mut s = Seen::default();
        assert!(s.first("http.path", "/"));
        assert!(!s.first("http.path", "/"));
        for i in 0..100 {
            s.first("http.path", &format!("/{i}"));
        }
        assert!(!s.first("http.path", "/new"));
        assert!(s.first("http.method", "GET"));
    }

    #[test]
    fn long_values_are_cut_on_a_char_boundary() {
        let v = "é".repeat(400);
        let t = text(v.as_bytes());
        assert!(t.ends_with('…'));
        assert!(t.len() <= MAX_VALUE_LEN + '…'.len_utf8());
    }
}
