//! HTTP/1.x message heads (request/status line and header fields) via
//! `httparse`, and the body length rules of RFC 9112 §6.

/// Most header fields accepted in one head.
pub const MAX_HEADERS: usize = 128;

/// The start line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Request { method: String, target: String },
    Response { status: u16 },
}

/// A parsed message head. Header names keep their case; lookups ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub start: Start,
    /// The minor version: `HTTP/1.0` or `HTTP/1.1`.
    pub minor: u8,
    pub headers: Vec<(String, Vec<u8>)>,
    /// Bytes of the head on the wire, final empty line included.
    pub len: usize,
}

/// The outcome of parsing the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed.
    Partial,
    Complete(Head),
    Invalid(&'static str),
}

fn config() -> httparse::ParserConfig {
    let mut c = httparse::ParserConfig::default();
    c.allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .ignore_invalid_headers_in_requests(true)
        .ignore_invalid_headers_in_responses(true);
    c
}

fn error_text(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::TooManyHeaders => "too many header fields",
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status line",
        httparse::Error::Token => "invalid method token",
        httparse::Error::Version => "not HTTP/1.x",
    }
}

fn collect(headers: &[httparse::Header<'_>]) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .filter(|h| !h.name.is_empty())
        .map(|h| (h.name.to_string(), h.value.to_vec()))
        .collect()
}

/// Parses a request head at the start of `buf`.
pub fn parse_request(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match config().parse_request(&mut req, buf) {
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Ok(httparse::Status::Complete(len)) => Parsed::Complete(Head {
            start: Start::Request {
                method: req.method.unwrap_or_default().to_string(),
                target: req.path.unwrap_or_default().to_string(),
            },
            minor: req.version.unwrap_or(1),
            headers: collect(req.headers),
            len,
        }),
        Err(e) => Parsed::Invalid(error_text(e)),
    }
}

/// Parses a response head at the start of `buf`.
pub fn parse_response(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    match config().parse_response(&mut resp, buf) {
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Ok(httparse::Status::Complete(len)) => Parsed::Complete(Head {
            start: Start::Response {
                status: resp.code.unwrap_or(0),
            },
            minor: resp.version.unwrap_or(1),
            headers: collect(resp.headers),
            len,
        }),
        Err(e) => Parsed::Invalid(error_text(e)),
    }
}

impl Head {
    /// The first value of a header field.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.all(name).next()
    }

    /// The first value of a header field as text (invalid UTF-8 is replaced).
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
    }

    /// Every value of a header field, in order.
    pub fn all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The comma-separated items of every value of a field, trimmed and lowercased.
    pub fn tokens(&self, name: &str) -> Vec<String> {
        self.all(name)
            .flat_map(|v| {
                String::from_utf8_lossy(v)
                    .split(',')
                    .map(|t| t.trim().to_ascii_lowercase())
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn status(&self) -> Option<u16> {
        match self.start {
            Start::Response { status } => Some(status),
            Start::Request { .. } => None,
        }
    }

    pub fn method(&self) -> Option<&str> {
        match &self.start {
            Start::Request { method, .. } => Some(method),
            Start::Response { .. } => None,
        }
    }
}

/// How the body of a message is delimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    Length(u64),
    Chunked,
    /// The body runs until the connection closes (responses only).
    UntilClose,
}

/// The body length of a message (RFC 9112 §6.3) and the transfer codings
/// other than `chunked` that were applied to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyInfo {
    pub framing: Framing,
    /// Transfer codings applied before `chunked`, as a coding list.
    pub transfer_codings: Option<String>,
    /// Both `Transfer-Encoding` and `Content-Length` were present: a
    /// request smuggling signal (`Transfer-Encoding` wins).
    pub conflicting: bool,
}

/// Decides the framing of a message body from its head. The status-code and
/// request-method exceptions (HEAD, 1xx, 204, 304, CONNECT) are the caller's.
pub fn body_info(head: &Head) -> Result<BodyInfo, &'static str> {
    let request = matches!(head.start, Start::Request { .. });
    let te = head.tokens("transfer-encoding");
    let has_cl = head.get("content-length").is_some();
    if !te.is_empty() && head.minor >= 1 {
        let chunked_last = te.last().is_some_and(|t| t == "chunked");
        let others: Vec<&str> = te
            .iter()
            .map(String::as_str)
            .filter(|t| *t != "chunked")
            .collect();
        let transfer_codings = (!others.is_empty()).then(|| others.join(", "));
        let framing = if chunked_last {
            Framing::Chunked
        } else if request {
            return Err("transfer-encoding of a request does not end with chunked");
        } else {
            Framing::UntilClose
        };
        return Ok(BodyInfo {
            framing,
            transfer_codings,
            conflicting: has_cl,
        });
    }
    let mut length: Option<u64> = None;
    for v in head.all("content-length") {
        for item in String::from_utf8_lossy(v).split(',') {
            let item = item.trim();
            if item.is_empty() || !item.bytes().all(|b| b.is_ascii_digit()) || item.len() > 18 {
                return Err("invalid content-length");
            }
            let n: u64 = item.parse().map_err(|_| "invalid content-length")?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting content-length values");
            }
            length = Some(n);
        }
    }
    let framing = match length {
        Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
        None if request => Framing::Empty,
        None => Framing::UntilClose,
    };
    Ok(BodyInfo {
        framing,
        transfer_codings: None,
        conflicting: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> Head {
        match if raw.starts_with(b"HTTP/") {
            parse_response(raw)
        } else {
            parse_request(raw)
        } {
            Parsed::Complete(h) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_head_and_lookups() {
        let raw = b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept-Encoding: gzip, br\r\n\
            Cookie: a=1\r\ncookie: b=2\r\n\r\nrest";
        let h = head(raw);
        assert_eq!(h.len, raw.len() - 4);
        assert_eq!(h.method(), Some("GET"));
        assert_eq!(h.text("HOST").as_deref(), Some("example.com"));
        assert_eq!(h.all("Cookie").count(), 2);
        assert_eq!(h.tokens("accept-encoding"), vec!["gzip", "br"]);
        assert_eq!(body_info(&h).unwrap().framing, Framing::Empty);
    }

    #[test]
    fn partial_and_invalid_heads() {
        assert_eq!(parse_request(b"GET / HTTP/1.1\r\nHost: a"), Parsed::Partial);
        assert!(matches!(
            parse_request(b"\x16\x03\x01\x02\x00\x01"),
            Parsed::Invalid(_)
        ));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..200 {
            many.extend(format!("X-{i}: v\r\n").bytes());
        }
        many.extend(b"\r\n");
        assert_eq!(
            parse_request(&many),
            Parsed::Invalid("too many header fields")
        );
    }

    #[test]
    fn body_length_rules() {
        let h = head(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n",
        );
        assert_eq!(
            body_info(&h).unwrap(),
            BodyInfo {
                framing: Framing::Chunked,
                transfer_codings: Some("gzip".into()),
                conflicting: true
            }
        );
        let h = head(b"HTTP/1.1 200 OK\r\nContent-Length: 12, 12\r\n\r\n");
        assert_eq!(body_info(&h).unwrap().framing, Framing::Length(12));
        let h = head(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Length: 13\r\n\r\n");
        assert!(body_info(&h).is_err());
        let h = head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n");
        assert!(body_info(&h).is_err());
        let h = head(b"HTTP/1.0 200 OK\r\n\r\n");
        assert_eq!(body_info(&h).unwrap().framing, Framing::UntilClose);
        let h = head(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
        assert!(body_info(&h).is_err());
    }
}
