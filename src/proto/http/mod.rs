//! HTTP/1.0 and HTTP/1.1 (RFC 9112).
//!
//! Heads are parsed with `httparse` (capped in size and field count); body
//! framing is ours: `Content-Length`, chunked (with trailers), read until
//! close, no body for HEAD/1xx/204/304, pipelined requests paired with their
//! responses in order, `Expect: 100-continue`, CONNECT tunnels (an inner
//! stream at layer `http-connect`, hinted `tls`) and upgrades (WebSocket under
//! a `websocket` layer, `h2c` to an inner stream hinted `http2`).
//!
//! Reports the host, method, path (the query reduced to its keys), status,
//! user agent, server and content type as metadata; `Authorization` and
//! cookies as credentials (the user of Basic, never a password or token);
//! and hands every body to [`body::Body`], which removes content codings and
//! looks for message text.

pub mod auth;
pub mod body;
pub mod chunked;
pub mod head;
pub mod seen;

use crate::evidence::Layer;
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Confidence, Cx, Dissector, Env, Hint, Limits, Stream};
use crate::proto::registry::{FlowHint, ProbeInput};
use crate::proto::websocket::WebSocket;
use body::Body;
use chunked::Chunked;
use head::{Framing, Head, Parsed, Start};
use seen::Seen;
use std::borrow::Cow;
use std::collections::VecDeque;

/// Largest message head accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// Requests waiting for their responses (pipelining depth). Entries are a
/// few bytes; the cap only bounds a client that never gets answers.
const MAX_PENDING: usize = 4096;
/// Client bytes buffered while an upgrade or CONNECT waits for its response.
const MAX_AWAIT: usize = 256 * 1024;
/// Distinct values reported per metadata key and flow: enough to show what a
/// connection did, few enough to leave room for content in the evidence cap.
const MAX_PER_KEY: u16 = 4;
/// Request paths are the most telling metadata: a few more of them.
const MAX_PATHS: u16 = 8;
/// Request methods recognised by the probe.
const METHODS: [&str; 16] = [
    "GET",
    "POST",
    "PUT",
    "HEAD",
    "DELETE",
    "OPTIONS",
    "PATCH",
    "CONNECT",
    "TRACE",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
];
/// Ports where cleartext HTTP is usual (a hint only, never a decision).
const PORTS: [u16; 7] = [80, 8080, 8000, 8008, 8081, 8888, 3128];
/// Query keys whose values are secrets.
const SECRET_QUERY_KEYS: [&str; 8] = [
    "password",
    "passwd",
    "pwd",
    "access_token",
    "api_key",
    "apikey",
    "client_secret",
    "token",
];

/// What a request asked for that decides how its response is read.
#[derive(Debug, Clone, Default)]
struct Pending {
    head: bool,
    connect: bool,
    upgrade: Option<String>,
}

/// Body delimiting in progress.
enum Delim {
    Length(u64),
    Chunked(Chunked),
    UntilClose,
}

/// Where one direction stands.
enum Side {
    /// Reading a message head.
    Head,
    Body {
        delim: Delim,
        body: Box<Body>,
        /// The request asked for an upgrade or CONNECT: wait for the answer.
        then_await: bool,
    },
    /// A request asked to switch protocols; its bytes wait for the response.
    Await(Vec<u8>),
    /// Bytes belong to the tunnel or upgraded protocol.
    Tunnel,
    /// Unparseable: the rest of this direction is only scanned by the outer stream.
    Dead,
}

/// The protocol after a successful upgrade or CONNECT.
enum Inner {
    WebSocket(Box<WebSocket>),
    Stream(Box<Stream>),
}

pub struct Http {
    sides: [Side; 2],
    head_buf: [Vec<u8>; 2],
    pending: VecDeque<Pending>,
    inner: Option<Inner>,
    seen: Seen,
    limits: Limits,
    /// Client bytes to re-read after an upgrade was refused or accepted.
    replay: Option<Vec<u8>>,
    messages: [u64; 2],
}

impl Http {
    pub fn new(limits: &Limits) -> Http {
        Http {
            sides: [Side::Head, Side::Head],
            head_buf: Default::default(),
            pending: VecDeque::new(),
            inner: None,
            seen: Seen::default(),
            limits: limits.clone(),
            replay: None,
            messages: [0; 2],
        }
    }

    /// Complete heads parsed per direction.
    pub fn messages(&self, dir: Direction) -> u64 {
        self.messages[dir.index()]
    }

    fn meta(&mut self, cx: &mut Cx<'_>, key: &'static str, value: &str) {
        let value: String = value
            .chars()
            .filter(|c| !c.is_control())
            .take(256)
            .collect();
        let max = if key == "http.path" {
            MAX_PATHS
        } else {
            MAX_PER_KEY
        };
        if !value.is_empty() && self.seen.first(key, &value, max) {
            cx.meta(key, value);
        }
    }

    fn credential(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        key: &'static str,
        user: Option<String>,
    ) {
        let tag = format!("{}{}", dir.index(), user.as_deref().unwrap_or(""));
        if self.seen.first(key, &tag, MAX_PER_KEY) {
            cx.credential(dir, key, user);
        }
    }

    /// An anomaly, reported once per code and flow.
    fn anomaly(&mut self, cx: &mut Cx<'_>, code: &'static str, detail: String) {
        if self.seen.first("anomaly", code, 32) {
            cx.anomaly(code, detail);
        }
    }

    fn dead(&mut self, cx: &mut Cx<'_>, dir: Direction, code: &'static str, why: &str) {
        let d = dir.index();
        self.sides[d] = Side::Dead;
        self.head_buf[d] = Vec::new();
        self.anomaly(cx, code, format!("{}: {why}", dir.as_str()));
    }

    /// Consumes bytes of one direction; returns how many were used (always
    /// at least one unless `data` is empty).
    fn step(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) -> usize {
        let d = dir.index();
        match &mut self.sides[d] {
            Side::Head => self.step_head(cx, dir, data),
            Side::Body {
                delim,
                body,
                then_await,
            } => {
                let (used, done) = match delim {
                    Delim::Length(left) => {
                        let n = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                        body.data(cx, dir, &data[..n]);
                        *left -= n as u64;
                        (n, *left == 0)
                    }
                    Delim::UntilClose => {
                        body.data(cx, dir, data);
                        (data.len(), false)
                    }
                    Delim::Chunked(ch) => {
                        let r = ch.feed(data, |chunk| body.data(cx, dir, chunk));
                        match r {
                            Ok(n) => (n, ch.done()),
                            Err(e) => {
                                body.finish(cx);
                                self.dead(cx, dir, "http-bad-chunk", &e.to_string());
                                return data.len();
                            }
                        }
                    }
                };
                if done {
                    body.finish(cx);
                    self.sides[d] = if *then_await {
                        Side::Await(Vec::new())
                    } else {
                        Side::Head
                    };
                }
                used
            }
            Side::Await(buf) => {
                if buf.len() + data.len() <= MAX_AWAIT {
                    buf.extend_from_slice(data);
                } else {
                    self.dead(
                        cx,
                        dir,
                        "http-upgrade-unanswered",
                        "too many bytes before the response",
                    );
                }
                data.len()
            }
            Side::Tunnel => {
                self.tunnel(cx, dir, data);
                data.len()
            }
            Side::Dead => data.len(),
        }
    }

    fn step_head(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) -> usize {
        let d = dir.index();
        let before = self.head_buf[d].len();
        if before == 0 {
            // Empty lines between messages are tolerated (RFC 9112 §2.2).
            let skip = data
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if skip > 0 {
                return skip;
            }
        }
        let parsed = if before == 0 {
            parse(dir, data)
        } else {
            let take = data.len().min(MAX_HEAD + 1 - before.min(MAX_HEAD));
            self.head_buf[d].extend_from_slice(&data[..take]);
            parse(dir, &self.head_buf[d])
        };
        match parsed {
            Parsed::Partial => {
                if before == 0 {
                    self.head_buf[d].extend_from_slice(&data[..data.len().min(MAX_HEAD + 1)]);
                }
                if self.head_buf[d].len() > MAX_HEAD {
                    self.dead(cx, dir, "http-head-too-large", "message head over 64 KiB");
                }
                data.len()
            }
            Parsed::Invalid(why) => {
                self.dead(cx, dir, "http-malformed", why);
                data.len()
            }
            Parsed::Complete(h) => {
                let used = h.len - before;
                self.head_buf[d].clear();
                self.messages[d] += 1;
                match dir {
                    Direction::ToServer => self.on_request(cx, h),
                    Direction::ToClient => self.on_response(cx, h),
                }
                used
            }
        }
    }

    fn on_request(&mut self, cx: &mut Cx<'_>, h: Head) {
        let Start::Request { method, target } = &h.start else {
            return;
        };
        let (method, target) = (method.clone(), target.clone());
        self.meta(cx, "http.method", &method);
        let host = h
            .text("host")
            .filter(|s| !s.is_empty())
            .or_else(|| authority_of(&target).map(str::to_string));
        if let Some(host) = host {
            let name = host_name(&host);
            if !name.is_empty() && self.seen.first("http.host", name, MAX_PER_KEY) {
                cx.server_name("http.host", name);
            }
        }
        let path = if method == "CONNECT" {
            target.clone()
        } else {
            redact_target(&target)
        };
        self.meta(cx, "http.path", &path);
        if let Some(ua) = h.text("user-agent") {
            self.meta(cx, "http.user-agent", &ua);
        }
        self.common_head(cx, Direction::ToServer, &h);
        if query_keys(&target).any(|k| SECRET_QUERY_KEYS.iter().any(|s| s.eq_ignore_ascii_case(&k)))
        {
            self.credential(cx, Direction::ToServer, "http.query-secret", None);
        }
        if method == "GET"
            && let Some(msg) = body::doh_query_param(&target)
        {
            body::doh_message(cx, Direction::ToServer, &msg);
        }
        let upgrade = h.text("upgrade").filter(|u| !u.is_empty());
        let connect = method == "CONNECT";
        let then_await = connect || upgrade.is_some();
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
            cx.anomaly(
                "http-pipeline-depth",
                "more than 64 requests without responses",
            );
        }
        self.pending.push_back(Pending {
            head: method == "HEAD",
            connect,
            upgrade,
        });
        self.start_body(cx, Direction::ToServer, &h, then_await);
    }

    fn on_response(&mut self, cx: &mut Cx<'_>, h: Head) {
        let status = h.status().unwrap_or(0);
        let informational = (100..200).contains(&status) && status != 101;
        let req = if informational {
            Pending::default()
        } else {
            self.pending.pop_front().unwrap_or_default()
        };
        self.meta(cx, "http.status", &status.to_string());
        if let Some(s) = h.text("server") {
            self.meta(cx, "http.server", &s);
        }
        self.common_head(cx, Direction::ToClient, &h);
        if informational {
            return;
        }
        if status == 101 {
            self.switch(cx, &h, &req);
            return;
        }
        if req.connect && (200..300).contains(&status) {
            self.start_tunnel(Inner::Stream(Box::new(Stream::new(
                Layer::plain("http-connect"),
                Hint {
                    protocol: Some("tls"),
                },
            ))));
            return;
        }
        // A refused upgrade or CONNECT: the client's waiting bytes are HTTP again.
        if let Side::Await(buf) = &mut self.sides[0] {
            let buf = std::mem::take(buf);
            self.sides[0] = Side::Head;
            self.replay = Some(buf);
        }
        if req.head || status == 204 || status == 304 {
            self.sides[1] = Side::Head;
            return;
        }
        self.start_body(cx, Direction::ToClient, &h, false);
    }

    /// Content type and credentials, in requests and responses alike.
    fn common_head(&mut self, cx: &mut Cx<'_>, dir: Direction, h: &Head) {
        if let Some(ct) = h.text("content-type") {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            self.meta(cx, "http.content-type", &mime);
        }
        for name in ["authorization", "proxy-authorization"] {
            let values: Vec<Vec<u8>> = h.all(name).map(<[u8]>::to_vec).collect();
            for v in values {
                let c = auth::parse(&v);
                self.credential(cx, dir, c.key, c.user);
            }
        }
        let cookie = match dir {
            Direction::ToServer => "cookie",
            Direction::ToClient => "set-cookie",
        };
        if h.all(cookie).any(|v| !v.is_empty()) {
            self.credential(cx, dir, "http.cookie", None);
        }
    }

    fn start_body(&mut self, cx: &mut Cx<'_>, dir: Direction, h: &Head, then_await: bool) {
        let d = dir.index();
        let next_empty = if then_await {
            Side::Await(Vec::new())
        } else {
            Side::Head
        };
        let info = match head::body_info(h) {
            Ok(i) => i,
            Err(why) => {
                self.dead(cx, dir, "http-bad-length", why);
                return;
            }
        };
        if info.conflicting {
            self.anomaly(
                cx,
                "http-te-and-cl",
                "both Transfer-Encoding and Content-Length: a request smuggling signal".into(),
            );
        }
        let delim = match info.framing {
            Framing::Empty => {
                self.sides[d] = next_empty;
                return;
            }
            Framing::Length(n) => Delim::Length(n),
            Framing::Chunked => Delim::Chunked(Chunked::new()),
            Framing::UntilClose => Delim::UntilClose,
        };
        let ce = h.text("content-encoding");
        let codings = match (ce, info.transfer_codings) {
            (Some(c), Some(t)) => Some(format!("{c}, {t}")),
            (c, t) => c.or(t),
        };
        let ct = h.text("content-type");
        let body = Body::new(codings.as_deref(), ct.as_deref(), &self.limits);
        self.sides[d] = Side::Body {
            delim,
            body: Box::new(body),
            then_await,
        };
    }

    /// `101 Switching Protocols`.
    fn switch(&mut self, cx: &mut Cx<'_>, h: &Head, req: &Pending) {
        let proto = h
            .text("upgrade")
            .or_else(|| req.upgrade.clone())
            .unwrap_or_default()
            .to_ascii_lowercase();
        self.meta(cx, "http.upgrade", &proto);
        let inner = if proto.contains("websocket") {
            let ws = WebSocket::new(
                h.text("sec-websocket-extensions").as_deref(),
                h.text("sec-websocket-protocol").as_deref(),
                &self.limits,
            );
            cx.with_layer(Layer::plain("websocket"), |cx| cx.set_protocol("websocket"));
            Inner::WebSocket(Box::new(ws))
        } else if proto.starts_with("h2c") {
            Inner::Stream(Box::new(Stream::new(
                Layer::plain("h2c"),
                Hint {
                    protocol: Some("http2"),
                },
            )))
        } else {
            Inner::Stream(Box::new(Stream::new(
                Layer::plain("http-upgrade"),
                Hint::default(),
            )))
        };
        self.start_tunnel(inner);
    }

    fn start_tunnel(&mut self, inner: Inner) {
        self.inner = Some(inner);
        self.sides[1] = Side::Tunnel;
        let waiting = match std::mem::replace(&mut self.sides[0], Side::Tunnel) {
            Side::Await(buf) => buf,
            Side::Dead => {
                self.sides[0] = Side::Dead;
                Vec::new()
            }
            _ => Vec::new(),
        };
        if !waiting.is_empty() {
            self.replay = Some(waiting);
        }
    }

    fn tunnel(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        match &mut self.inner {
            Some(Inner::WebSocket(ws)) => {
                cx.with_layer(Layer::plain("websocket"), |cx| ws.on_data(cx, dir, data))
            }
            Some(Inner::Stream(s)) => s.data(cx, dir, data),
            None => {}
        }
    }

    fn drive(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let mut pos = 0;
        while pos < data.len() {
            let n = self.step(cx, dir, &data[pos..]);
            if n == 0 {
                break;
            }
            pos += n;
        }
        if let Some(buf) = self.replay.take() {
            self.drive(cx, Direction::ToServer, &buf);
        }
    }
}

/// Parses the head of the direction's message kind.
fn parse(dir: Direction, b: &[u8]) -> Parsed {
    match dir {
        Direction::ToServer => head::parse_request(b),
        Direction::ToClient => head::parse_response(b),
    }
}

/// The authority of an absolute-form target (`http://host:port/path`).
fn authority_of(target: &str) -> Option<&str> {
    let rest = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The host of a `Host` value or authority, without port or user info.
fn host_name(authority: &str) -> &str {
    let a = authority.rsplit('@').next().unwrap_or(authority).trim();
    if let Some(v6) = a.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    a.split(':').next().unwrap_or(a).trim_end_matches('.')
}

/// The keys of a target's query string, decoded.
fn query_keys(target: &str) -> impl Iterator<Item = String> + '_ {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .take(32)
        .map(|kv| body::percent_decode(kv.split('=').next().unwrap_or_default().as_bytes()))
}

/// The path of a request target with the query reduced to its keys:
/// `/search?q=secret&lang=en` → `/search?q=…&lang=…`.
pub fn redact_target(target: &str) -> String {
    let path_part = match authority_of(target) {
        Some(auth) => {
            let start = target.find(auth).map_or(0, |i| i + auth.len());
            &target[start..]
        }
        None => target,
    };
    let (path, query) = match path_part.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_part.split('#').next().unwrap_or(path_part), None),
    };
    let mut out: String = if path.is_empty() { "/" } else { path }
        .chars()
        .take(200)
        .collect();
    if let Some(q) = query {
        let keys: Vec<String> = query_keys(&format!("?{q}"))
            .map(|k| format!("{}=…", k.chars().take(32).collect::<String>()))
            .collect();
        out.push('?');
        out.push_str(&keys.join("&"));
    }
    out
}

impl Dissector for Http {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("http")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        self.drive(cx, dir, data);
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        let d = dir.index();
        match &mut self.sides[d] {
            Side::Tunnel => match &mut self.inner {
                Some(Inner::WebSocket(ws)) => {
                    cx.with_layer(Layer::plain("websocket"), |cx| ws.on_gap(cx, dir, len))
                }
                Some(Inner::Stream(s)) => s.gap(cx, dir, len),
                None => {}
            },
            Side::Body { body, .. } => {
                body.finish(cx);
                self.dead(
                    cx,
                    dir,
                    "stream-gap",
                    &format!("{len} bytes missing in a body"),
                );
            }
            Side::Dead => {}
            _ => self.dead(cx, dir, "stream-gap", &format!("{len} bytes missing")),
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            if let Side::Body { delim, body, .. } = &mut self.sides[dir.index()] {
                if !matches!(delim, Delim::UntilClose) {
                    cx.anomaly(
                        "http-body-truncated",
                        format!("{}: the connection ended inside a body", dir.as_str()),
                    );
                }
                body.finish(cx);
            }
            self.sides[dir.index()] = Side::Dead;
        }
        match &mut self.inner {
            Some(Inner::WebSocket(ws)) => {
                cx.with_layer(Layer::plain("websocket"), |cx| ws.finish(cx))
            }
            Some(Inner::Stream(s)) => s.finish(cx),
            None => {}
        }
    }
}

/// How a request line starts: a method token and a space.
fn request_confidence(b: &[u8]) -> Confidence {
    if b.is_empty() {
        return Confidence::NeedMore;
    }
    let Some(sp) = b.iter().take(24).position(|&c| c == b' ') else {
        let token = &b[..b.len().min(24)];
        let prefix_of_method = METHODS.iter().any(|m| m.as_bytes().starts_with(token));
        return if b.len() < 24 && prefix_of_method {
            Confidence::NeedMore
        } else {
            Confidence::No
        };
    };
    let method = &b[..sp];
    let known = METHODS.iter().any(|m| m.as_bytes() == method);
    let token = !method.is_empty()
        && method
            .iter()
            .all(|c| c.is_ascii_uppercase() || *c == b'-' || *c == b'_');
    if !(known || token) {
        return Confidence::No;
    }
    let Some(eol) = b.iter().position(|&c| c == b'\n') else {
        return if known && b.len() >= 1024 {
            Confidence::Likely
        } else {
            Confidence::NeedMore
        };
    };
    let line = b[..eol].strip_suffix(b"\r").unwrap_or(&b[..eol]);
    if line.ends_with(b" HTTP/1.1") || line.ends_with(b" HTTP/1.0") {
        Confidence::Certain
    } else {
        Confidence::No
    }
}

/// How a status line starts: `HTTP/1.x NNN`.
fn response_confidence(b: &[u8]) -> Confidence {
    const P: &[u8] = b"HTTP/1.";
    if b.len() < P.len() {
        return if P.starts_with(b) {
            Confidence::NeedMore
        } else {
            Confidence::No
        };
    }
    if !b.starts_with(P) {
        return Confidence::No;
    }
    match b.get(P.len()..P.len() + 5) {
        None => Confidence::NeedMore,
        Some([v, b' ', a, b, c])
            if matches!(v, b'0' | b'1') && [a, b, c].iter().all(|x| x.is_ascii_digit()) =>
        {
            Confidence::Certain
        }
        Some(_) => Confidence::No,
    }
}

/// Registry probe: an HTTP/1.x request or status line; the port only as a hint.
pub fn probe(input: &ProbeInput<'_>) -> Confidence {
    if input.transport != Transport::Tcp || !input.datagrams.is_empty() {
        return Confidence::No;
    }
    let c = if !input.to_server.is_empty() {
        request_confidence(input.to_server)
    } else {
        response_confidence(input.to_client)
    };
    if c == Confidence::NeedMore && input.depth == 0 && input.port_in(&PORTS) {
        return Confidence::Port;
    }
    c
}

pub fn make(_hint: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    Box::new(Http::new(&env.limits))
}

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod throughput;
