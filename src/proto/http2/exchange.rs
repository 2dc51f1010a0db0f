//! One HTTP/2 or HTTP/3 request/response stream as evidence, in the same
//! vocabulary as HTTP/1.x: decoded header fields become metadata
//! (`http.host`, `http.method`, `http.path`, `http.status`,
//! `http.user-agent`, `http.content-type`, `http.server`), credentials
//! (`Authorization` by scheme, cookies: values are never kept) and canary
//! scans; each body goes through the shared HTTP body decoder
//! ([`crate::proto::http::body::Body`]), which removes content codings and
//! looks for message fields.

use super::hpack::Field;
use crate::evidence::canary::ScanState;
use crate::model::Direction;
use crate::proto::dissector::Cx;
use crate::proto::http::body::{self, Body};
use crate::proto::http::seen::Seen;
use crate::proto::http::{auth, redact_target};

/// Distinct request paths reported per connection (a page load has many).
const MAX_PATHS: u16 = 48;
/// Distinct values of other metadata keys and credentials per connection.
const MAX_PER_KEY: u16 = 8;
/// Longest metadata value kept.
const MAX_VALUE_CHARS: usize = 256;

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_VALUE_CHARS)
        .collect()
}

/// The host of an `:authority` or `Host` value, without port or user info.
fn host_name(authority: &str) -> String {
    let a = authority.rsplit('@').next().unwrap_or(authority).trim();
    let h = match a.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => a.split(':').next().unwrap_or(a),
    };
    h.trim_end_matches('.').to_ascii_lowercase()
}

fn meta(cx: &mut Cx<'_>, seen: &mut Seen, key: &'static str, value: &str, max: u16) {
    if !value.is_empty() && seen.first(key, value, max) {
        cx.meta(key, value.to_string());
    }
}

fn credential(
    cx: &mut Cx<'_>,
    seen: &mut Seen,
    dir: Direction,
    key: &'static str,
    user: Option<String>,
) {
    let tag = format!("{}{}", dir.index(), user.as_deref().unwrap_or(""));
    if seen.first(key, &tag, MAX_PER_KEY) {
        cx.credential(dir, key, user);
    }
}

/// What a message's headers say about its body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyInfo {
    pub content_encoding: Option<String>,
    pub content_type: Option<String>,
    /// A GET whose `dns` query parameter carries a DoH message.
    pub doh_query: Option<Vec<u8>>,
}

/// Reports the fields of one header block (request, response or trailers).
pub fn report_fields(
    cx: &mut Cx<'_>,
    dir: Direction,
    fields: &[Field],
    seen: &mut Seen,
) -> BodyInfo {
    let mut info = BodyInfo::default();
    let mut method = None;
    let mut path = None;
    for (name, value) in fields {
        let mut st = ScanState::default();
        cx.scan(&mut st, dir, value);
        let name = name.to_ascii_lowercase();
        match name.as_slice() {
            b":authority" | b"host" => {
                let h = host_name(&text(value));
                if !h.is_empty() && seen.first("http.host", &h, MAX_PER_KEY) {
                    cx.server_name("http.host", &h);
                }
            }
            b":method" => {
                let m = text(value);
                meta(cx, seen, "http.method", &m, MAX_PER_KEY);
                method = Some(m);
            }
            b":path" => {
                let raw = String::from_utf8_lossy(value).into_owned();
                meta(cx, seen, "http.path", &redact_target(&raw), MAX_PATHS);
                path = Some(raw);
            }
            b":status" => meta(cx, seen, "http.status", &text(value), MAX_PER_KEY),
            b"user-agent" => meta(cx, seen, "http.user-agent", &text(value), MAX_PER_KEY),
            b"server" => meta(cx, seen, "http.server", &text(value), MAX_PER_KEY),
            b"authorization" | b"proxy-authorization" => {
                let c = auth::parse(value);
                credential(cx, seen, dir, c.key, c.user);
            }
            b"cookie" | b"set-cookie" if !value.is_empty() => {
                credential(cx, seen, dir, "http.cookie", None);
            }
            b"content-encoding" => info.content_encoding = Some(text(value).to_ascii_lowercase()),
            b"content-type" => {
                let ct = text(value);
                let mime = ct
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                meta(cx, seen, "http.content-type", &mime, MAX_PER_KEY);
                info.content_type = Some(ct);
            }
            _ => {}
        }
    }
    if method.as_deref() == Some("GET") {
        info.doh_query = path.as_deref().and_then(body::doh_query_param);
    }
    info
}

/// One request/response stream: header blocks and a body decoder per direction.
#[derive(Default)]
pub struct Exchange {
    info: [BodyInfo; 2],
    bodies: [Option<Body>; 2],
    ended: [bool; 2],
}

impl Exchange {
    pub fn new() -> Exchange {
        Exchange::default()
    }

    /// A decoded header block; the first one of a direction describes its body.
    pub fn headers(&mut self, cx: &mut Cx<'_>, dir: Direction, fields: &[Field], seen: &mut Seen) {
        let info = report_fields(cx, dir, fields, seen);
        if let Some(msg) = &info.doh_query {
            body::doh_message(cx, dir, msg);
        }
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
        let d = dir.index();
        let info = &self.info[d];
        let limits = &cx.env.limits;
        self.bodies[d]
            .get_or_insert_with(|| {
                Body::new(
                    info.content_encoding.as_deref(),
                    info.content_type.as_deref(),
                    limits,
                )
            })
            .data(cx, dir, data);
    }

    /// One direction ended (its body is complete); returns true once both have.
    pub fn end(&mut self, cx: &mut Cx<'_>, dir: Direction) -> bool {
        let d = dir.index();
        if !self.ended[d] {
            self.ended[d] = true;
            if let Some(b) = &mut self.bodies[d] {
                b.finish(cx);
            }
        }
        self.ended[0] && self.ended[1]
    }

    /// Flushes both bodies (a stream cut short still reports what it carried).
    pub fn finish(&mut self, cx: &mut Cx<'_>) {
        for b in self.bodies.iter_mut().flatten() {
            b.finish(cx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_lose_ports_and_user_info() {
        assert_eq!(host_name("Chat.Example.org:443"), "chat.example.org");
        assert_eq!(host_name("user@example.com"), "example.com");
        assert_eq!(host_name("[2001:db8::1]:8443"), "2001:db8::1");
        assert_eq!(host_name("example.com."), "example.com");
    }

    #[test]
    fn metadata_values_are_bounded_text() {
        let t = text("é\u{0}x".repeat(400).as_bytes());
        assert_eq!(t.chars().count(), MAX_VALUE_CHARS);
        assert!(!t.contains('\u{0}'));
    }
}
