use super::*;
use crate::evidence::{CryptoState, EvidenceKind, PayloadClass};
use crate::model::Verdict;
use crate::proto::dissector::{Collector, PacketRef};
use crate::proto::dns::tests::{env_with, flow};
use std::io::Write;

/// ndpi/http.pcapng: curl's GET and Google's 301 answer, byte for byte.
const GET: &[u8] =
    b"GET / HTTP/1.1\r\nHost: google.com\r\nUser-Agent: curl/7.68.0\r\nAccept: */*\r\n\r\n";
const MOVED: &[u8] = b"HTTP/1.1 301 Moved Permanently\r\nLocation: http://www.google.com/\r\n\
Content-Type: text/html; charset=UTF-8\r\nDate: Tue, 25 Jan 2022 16:50:41 GMT\r\n\
Expires: Thu, 24 Feb 2022 16:50:41 GMT\r\nCache-Control: public, max-age=2592000\r\n\
Server: gws\r\nContent-Length: 219\r\nX-XSS-Protection: 0\r\nX-Frame-Options: SAMEORIGIN\r\n\r\n\
<HTML><HEAD><meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n\
<TITLE>301 Moved</TITLE></HEAD><BODY>\n<H1>301 Moved</H1>\nThe document has moved\n\
<A HREF=\"http://www.google.com/\">here</A>.\r\n</BODY></HTML>\r\n";

/// zeek http/websocket.pcap: the upgrade, Kaazing's 101, then the last
/// exchange: a masked client text frame and the server's echo.
const WS_REQUEST: &[u8] = b"GET /echo?.kl=Y HTTP/1.1\r\nHost: sandbox.kaazing.net\r\n\
User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:54.0) Gecko/20100101 Firefox/54.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nSec-WebSocket-Version: 13\r\n\
Origin: http://kaazing.org\r\nSec-WebSocket-Protocol: x-kaazing-handshake\r\n\
Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Key: vf3bSlxjI9R5oosJfwM/8Q==\r\n\
Connection: keep-alive, Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\nUpgrade: websocket\r\n\r\n";
const WS_101: &[u8] = b"HTTP/1.1 101 Web Socket Protocol Handshake\r\n\
Access-Control-Allow-Credentials: true\r\nAccess-Control-Allow-Origin: http://kaazing.org\r\n\
Connection: Upgrade\r\nDate: Thu, 03 Aug 2017 14:37:12 GMT\r\n\
Sec-WebSocket-Accept: 0Zl6vr6NCtorAnmvFsy68nbStvE=\r\nSec-WebSocket-Protocol: x-kaazing-handshake\r\n\
Server: Kaazing Gateway\r\nUpgrade: websocket\r\n\r\n";
const WS_CLIENT: &[u8] = b"\x81\x91\\\xcc\x94\x07\x14\xa9\xf8k3\xe0\xb4P9\xae\xc7h?\xa7\xf1s}";
const WS_SERVER: &[u8] = b"\x81\x11Hello, WebSocket!";

fn run_with(canaries: &[&str], port: u16, pieces: &[(Direction, &[u8])]) -> Collector {
    let env = env_with(canaries);
    let f = flow(Transport::Tcp, port);
    let mut out = Collector::default();
    {
        let mut cx = Cx::new(&env, &f, &mut out, PacketRef::default());
        let mut s = Stream::new(Layer::plain("tcp"), Hint::default());
        for (dir, p) in pieces {
            s.data(&mut cx, *dir, p);
        }
        s.finish(&mut cx);
    }
    out
}

fn run(pieces: &[(Direction, &[u8])]) -> Collector {
    run_with(&[], 80, pieces)
}

fn meta(c: &Collector, key: &str) -> Vec<String> {
    crate::proto::dns::tests::meta(c, key)
}

fn content(c: &Collector, field: &str) -> Vec<(String, String)> {
    c.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Content {
                field: f, sample, ..
            } if f == field => Some((String::from_utf8_lossy(sample).into_owned(), e.chain())),
            _ => None,
        })
        .collect()
}

fn credentials(c: &Collector) -> Vec<(String, Option<String>, Option<Direction>)> {
    c.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Credential { key, user } => Some((key.to_string(), user.clone(), e.dir)),
            _ => None,
        })
        .collect()
}

fn anomalies(c: &Collector) -> Vec<String> {
    c.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Anomaly { code, .. } => Some(code.to_string()),
            _ => None,
        })
        .collect()
}

fn canary_chains(c: &Collector) -> Vec<String> {
    c.evidence
        .iter()
        .filter(|e| matches!(e.kind, EvidenceKind::Canary { .. }))
        .map(|e| e.chain())
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in body.chunks(size) {
        out.extend(format!("{:x}\r\n", c.len()).bytes());
        out.extend(c);
        out.extend(b"\r\n");
    }
    out.extend(b"0\r\n\r\n");
    out
}

#[test]
fn corpus_get_and_redirect() {
    let out = run(&[(Direction::ToServer, GET), (Direction::ToClient, MOVED)]);
    assert_eq!(out.protocol.as_ref().map(|p| p.1.as_ref()), Some("http"));
    assert_eq!(meta(&out, "http.host"), vec!["google.com"]);
    assert_eq!(meta(&out, "http.method"), vec!["GET"]);
    assert_eq!(meta(&out, "http.path"), vec!["/"]);
    assert_eq!(meta(&out, "http.user-agent"), vec!["curl/7.68.0"]);
    assert_eq!(meta(&out, "http.status"), vec!["301"]);
    assert_eq!(meta(&out, "http.server"), vec!["gws"]);
    assert_eq!(meta(&out, "http.content-type"), vec!["text/html"]);
    assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
    // The HTML body is classified at the body layer; HTML is not a message field.
    let body: Vec<_> = out
        .evidence
        .iter()
        .filter_map(|e| match e.kind {
            EvidenceKind::Payload { class, bytes, .. } => Some((class, bytes, e.chain())),
            _ => None,
        })
        .collect();
    assert_eq!(
        body,
        vec![(PayloadClass::Text, 219, "tcp › http-body".to_string())]
    );
    assert!(content(&out, "http.body").is_empty());
}

#[test]
fn a_body_longer_than_the_probe_buffer_is_counted_once() {
    let body = "all work and no play makes jack a dull boy\n".repeat(200);
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes();
    let out = run(&[(Direction::ToServer, GET), (Direction::ToClient, &resp)]);
    let bytes: Vec<u64> = out
        .evidence
        .iter()
        .filter_map(|e| match e.kind {
            EvidenceKind::Payload { bytes, .. } => Some(bytes),
            _ => None,
        })
        .collect();
    assert_eq!(bytes, vec![body.len() as u64]);
}

#[test]
fn pieces_of_any_size_give_the_same_result() {
    let mut all = GET.to_vec();
    all.extend(GET);
    for size in [1, 2, 3, 7, 16, 100] {
        let mut pieces: Vec<(Direction, &[u8])> =
            all.chunks(size).map(|c| (Direction::ToServer, c)).collect();
        pieces.extend(MOVED.chunks(size).map(|c| (Direction::ToClient, c)));
        pieces.extend(MOVED.chunks(size).map(|c| (Direction::ToClient, c)));
        let out = run(&pieces);
        assert!(
            anomalies(&out).is_empty(),
            "size {size}: {:?}",
            anomalies(&out)
        );
        assert_eq!(meta(&out, "http.status"), vec!["301"], "size {size}");
    }
}

#[test]
fn chunked_gzip_json_split_at_every_byte() {
    let canary = "PSK-CHUNKGZ01";
    let json = format!(
        r#"{{"id":"m1","message":{{"text":"meet me at the station, {canary}","ts":1}},"user":"bob"}}"#
    );
    let body = chunked(&gzip(json.as_bytes()), 17);
    let mut resp = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\
        Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    resp.extend(&body);
    let get = b"GET /api/messages?since=10&token=abc HTTP/1.1\r\nHost: chat.example\r\n\r\n";
    for cut in 0..resp.len() {
        let out = run_with(
            &[canary],
            8080,
            &[
                (Direction::ToServer, get),
                (Direction::ToClient, &resp[..cut]),
                (Direction::ToClient, &resp[cut..]),
            ],
        );
        let c = content(&out, "http.json.text");
        assert_eq!(c.len(), 1, "cut {cut}: {:?}", out.evidence);
        assert_eq!(c[0].1, "tcp › gzip › http-body");
        assert!(
            canary_chains(&out)
                .iter()
                .any(|ch| ch == "tcp › gzip › http-body"),
            "cut {cut}"
        );
        assert!(
            anomalies(&out).is_empty(),
            "cut {cut}: {:?}",
            anomalies(&out)
        );
    }
    let out = run(&[(Direction::ToServer, get), (Direction::ToClient, &resp)]);
    assert_eq!(
        meta(&out, "http.path"),
        vec!["/api/messages?since=…&token=…"]
    );
    assert_eq!(
        credentials(&out),
        vec![(
            "http.query-secret".to_string(),
            None,
            Some(Direction::ToServer)
        )]
    );
    let v = crate::verdict::flow(&out.evidence, &|i| i.to_string());
    assert_eq!(v.verdict, Verdict::Exposed);
}

#[test]
fn pipelined_requests_pair_with_head_304_and_100_continue() {
    let reqs = b"HEAD /a HTTP/1.1\r\nHost: h\r\n\r\n\
        GET /b HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\"\r\n\r\n\
        POST /c HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Type: text/plain\r\n\
        Content-Length: 30\r\n\r\nsee you later at the cafe, ok?\
        GET /d HTTP/1.1\r\nHost: h\r\n\r\n";
    // HEAD's response announces a length but has no body; 304 has none either.
    let resps = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n\
        HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n\
        HTTP/1.1 100 Continue\r\n\r\n\
        HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok\
        HTTP/1.1 204 No Content\r\n\r\n";
    let out = run(&[(Direction::ToServer, reqs), (Direction::ToClient, resps)]);
    assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
    // Four distinct statuses per flow are reported (the fifth, 204, is not).
    assert_eq!(meta(&out, "http.status"), vec!["200", "304", "100", "201"]);
    assert_eq!(meta(&out, "http.path"), vec!["/a", "/b", "/c", "/d"]);
    let c = content(&out, "http.body");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].0, "see you later at the cafe, ok?");
}

#[test]
fn many_bodies_fold_into_one_classification_per_kind() {
    let mut reqs = Vec::new();
    let mut resps = Vec::new();
    for i in 0..200 {
        reqs.extend(format!("GET /poll/{i} HTTP/1.1\r\nHost: h\r\n\r\n").bytes());
        let body = format!("<html><body>page {i} of the archive</body></html>");
        resps.extend(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .bytes(),
        );
    }
    // The last response carries a message: it must not be crowded out.
    let json = br#"{"text":"the meeting moved to friday"}"#;
    reqs.extend(b"GET /msg HTTP/1.1\r\nHost: h\r\n\r\n");
    resps.extend(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            json.len()
        )
        .bytes(),
    );
    resps.extend(json);
    let out = run(&[(Direction::ToServer, &reqs), (Direction::ToClient, &resps)]);
    let payloads: Vec<u64> = out
        .evidence
        .iter()
        .filter_map(|e| match e.kind {
            EvidenceKind::Payload { bytes, .. } => Some(bytes),
            _ => None,
        })
        .collect();
    assert_eq!(payloads.len(), 1, "{payloads:?}");
    assert!(payloads[0] > 200 * 40);
    assert_eq!(content(&out, "http.json.text").len(), 1);
    assert_eq!(out.omitted, 0);
}

#[test]
fn short_or_structured_text_bodies_are_not_messages() {
    for body in [
        &b"OK"[..],
        b"User-agent: *\nDisallow: /private\nAllow: /\n",
        b"a8f3kd92ZZ01",
    ] {
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        resp.extend(body);
        let out = run(&[(Direction::ToServer, GET), (Direction::ToClient, &resp)]);
        assert!(
            content(&out, "http.body").is_empty(),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn credentials_name_the_user_and_never_keep_secrets() {
    let req = b"GET /private HTTP/1.1\r\nHost: intranet.example\r\n\
        Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\nCookie: sid=31d4d96e407aad42\r\n\r\n\
        GET /api HTTP/1.1\r\nHost: intranet.example\r\nAuthorization: Bearer mF_9.B5f-4.1JqM\r\n\
        Cookie: sid=31d4d96e407aad42\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=31d4d96e407aad42; Path=/; Secure\r\n\
        Content-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let out = run(&[(Direction::ToServer, req), (Direction::ToClient, resp)]);
    let creds = credentials(&out);
    assert_eq!(
        creds,
        vec![
            (
                "http.basic".to_string(),
                Some("Aladdin".to_string()),
                Some(Direction::ToServer)
            ),
            ("http.cookie".to_string(), None, Some(Direction::ToServer)),
            ("http.bearer".to_string(), None, Some(Direction::ToServer)),
            ("http.cookie".to_string(), None, Some(Direction::ToClient)),
        ]
    );
    let dump = format!("{:?}", out.evidence);
    for secret in ["sesame", "31d4d96e407aad42", "mF_9"] {
        assert!(!dump.contains(secret), "{secret} leaked into evidence");
    }
}

#[test]
fn form_bodies_report_message_keys_and_password_logins() {
    let body = b"username=alice&password=hunter2&text=running+late%2C+start+without+me";
    let mut req = format!(
        "POST /send HTTP/1.1\r\nHost: m.example\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend(body);
    let out = run(&[(Direction::ToServer, &req)]);
    assert_eq!(
        content(&out, "http.form.text")[0].0,
        "running late, start without me"
    );
    assert!(credentials(&out).contains(&(
        "http.form-password".to_string(),
        Some("alice".to_string()),
        Some(Direction::ToServer)
    )));
    assert!(!format!("{:?}", out.evidence).contains("hunter2"));
}

#[test]
fn websocket_upgrade_from_the_corpus() {
    let out = run(&[
        (Direction::ToServer, WS_REQUEST),
        (Direction::ToClient, WS_101),
        (Direction::ToServer, WS_CLIENT),
        (Direction::ToClient, WS_SERVER),
    ]);
    assert_eq!(out.layer_names, vec!["http", "websocket"]);
    assert_eq!(meta(&out, "http.upgrade"), vec!["websocket"]);
    let c = content(&out, "websocket.text");
    assert_eq!(
        c,
        vec![
            (
                "Hello, WebSocket!".to_string(),
                "tcp › websocket › ws-mask[no key needed]".to_string()
            ),
            (
                "Hello, WebSocket!".to_string(),
                "tcp › websocket".to_string()
            ),
        ]
    );
    assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
    // Client frames sent before the 101 arrived wait for it.
    let out = run(&[
        (Direction::ToServer, WS_REQUEST),
        (Direction::ToServer, WS_CLIENT),
        (Direction::ToClient, WS_101),
    ]);
    assert_eq!(content(&out, "websocket.text").len(), 1);
}

#[test]
fn text_messages_are_not_probed_without_a_subprotocol() {
    // Kaazing's gateway (zeek http/websocket.pcap) repeats an HTTP handshake
    // inside the WebSocket; the flow stays a WebSocket flow.
    let inner = b"GET /echo HTTP/1.1\r\nHost: sandbox.kaazing.net\r\n\r\n";
    let key = [0xf0, 0x12, 0x0e, 0x1c];
    let mut frame = vec![0x81, 0x80 | inner.len() as u8];
    frame.extend(key);
    frame.extend(inner.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    let out = run(&[
        (Direction::ToServer, WS_REQUEST),
        (Direction::ToClient, WS_101),
        (Direction::ToClient, b"\x82\x04\xef\x83\xbfN"),
        (Direction::ToServer, &frame),
        (Direction::ToClient, WS_SERVER),
    ]);
    assert_eq!(out.layer_names, vec!["http", "websocket"]);
    assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
    assert_eq!(meta(&out, "http.method"), vec!["GET"]);
    assert_eq!(content(&out, "websocket.text").len(), 1);
}

#[test]
fn refused_upgrade_keeps_reading_http() {
    let out = run(&[
        (Direction::ToServer, WS_REQUEST),
        (Direction::ToServer, GET),
        (
            Direction::ToClient,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        ),
        (Direction::ToClient, MOVED),
    ]);
    assert_eq!(meta(&out, "http.path"), vec!["/echo?.kl=…", "/"]);
    assert_eq!(meta(&out, "http.status"), vec!["400", "301"]);
    assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
}

#[test]
fn connect_tunnels_are_handed_on_unparsed() {
    let canary = "PSK-TUNNEL007";
    let req = b"CONNECT chat.example:443 HTTP/1.1\r\nHost: chat.example:443\r\n\
        Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n";
    let tunnelled = format!("not http at all: {canary}");
    let out = run_with(
        &[canary],
        3128,
        &[
            (Direction::ToServer, req),
            (
                Direction::ToClient,
                b"HTTP/1.1 200 Connection established\r\n\r\n",
            ),
            (Direction::ToServer, tunnelled.as_bytes()),
        ],
    );
    assert_eq!(meta(&out, "http.path"), vec!["chat.example:443"]);
    assert_eq!(meta(&out, "http.host"), vec!["chat.example"]);
    assert!(canary_chains(&out).contains(&"tcp › http-connect".to_string()));
    assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
    assert_eq!(credentials(&out)[0].1.as_deref(), Some("user"));
}

#[test]
fn doh_post_and_get_are_parsed_as_dns() {
    let query = crate::proto::dns::parse::tests::hex(
        "784301000001000000000000026537087768617473617070036e65740000010001",
    );
    let mut post = format!(
        "POST /dns-query HTTP/1.1\r\nHost: dns.example\r\nContent-Type: application/dns-message\r\n\
         Content-Length: {}\r\n\r\n",
        query.len()
    )
    .into_bytes();
    post.extend(&query);
    let answer = crate::proto::dns::parse::tests::hex(crate::proto::dns::parse::tests::WHATSAPP_A);
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\nContent-Length: {}\r\n\r\n",
        answer.len()
    )
    .into_bytes();
    resp.extend(&answer);
    let out = run(&[(Direction::ToServer, &post), (Direction::ToClient, &resp)]);
    assert_eq!(meta(&out, "dns.transport"), vec!["doh"]);
    assert_eq!(
        meta(&out, "dns.query"),
        vec!["e7.whatsapp.net A", "e7.whatsapp.net A"]
    );
    assert_eq!(out.dns_answers.len(), 8);
    let q = out
        .evidence
        .iter()
        .find(|e| matches!(&e.kind, EvidenceKind::Metadata { key, .. } if key == "dns.query"))
        .unwrap();
    assert_eq!(q.chain(), "tcp › doh");
    assert!(fired(&out, "http").contains(&"doh-in-use".to_string()));
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&query);
    let get = format!(
        "GET /dns-query?dns={b64} HTTP/1.1\r\nHost: dns.example\r\nAccept: application/dns-message\r\n\r\n"
    );
    let out = run(&[(Direction::ToServer, get.as_bytes())]);
    assert_eq!(meta(&out, "dns.query"), vec!["e7.whatsapp.net A"]);
    assert_eq!(meta(&out, "http.path"), vec!["/dns-query?dns=…"]);
}

#[test]
fn brotli_zstd_and_stacked_codings() {
    let text = b"brotli and zstd bodies are decoded before anyone looks at them";
    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 9, 22);
        w.write_all(text).unwrap();
    }
    let zs =
        ruzstd::encoding::compress_to_vec(&text[..], ruzstd::encoding::CompressionLevel::Fastest);
    let mut gz_br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut gz_br, 4096, 9, 22);
        w.write_all(&gzip(text)).unwrap();
    }
    for (coding, body, chain) in [
        ("br", br, "tcp › br › http-body"),
        ("zstd", zs, "tcp › zstd › http-body"),
        ("gzip, br", gz_br, "tcp › br › gzip › http-body"),
    ] {
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: {coding}\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        resp.extend(&body);
        let out = run(&[(Direction::ToServer, GET), (Direction::ToClient, &resp)]);
        let c = content(&out, "http.body");
        assert_eq!(c.len(), 1, "{coding}: {:?}", out.evidence);
        assert_eq!(c[0].0.as_bytes(), text);
        assert_eq!(c[0].1, chain);
    }
}

#[test]
fn a_gzip_bomb_stops_at_the_cap_with_an_anomaly() {
    let bomb = gzip(&vec![0u8; 10 << 20]);
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        bomb.len()
    )
    .into_bytes();
    resp.extend(&bomb);
    let pieces: Vec<(Direction, &[u8])> = std::iter::once((Direction::ToServer, GET))
        .chain(resp.chunks(1460).map(|c| (Direction::ToClient, c)))
        .collect();
    let out = run(&pieces);
    assert_eq!(anomalies(&out), vec!["decompression-cap"]);
}

#[test]
fn media_bodies_are_binary_not_ciphertext() {
    let mut x: u32 = 7;
    let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0];
    jpeg.extend((0..3000).map(|_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (x >> 16) as u8
    }));
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        jpeg.len()
    )
    .into_bytes();
    resp.extend(&jpeg);
    let out = run(&[(Direction::ToServer, GET), (Direction::ToClient, &resp)]);
    let classes: Vec<PayloadClass> = out
        .evidence
        .iter()
        .filter_map(|e| match e.kind {
            EvidenceKind::Payload { class, .. } => Some(class),
            _ => None,
        })
        .collect();
    assert_eq!(classes, vec![PayloadClass::Binary]);
}

#[test]
fn unknown_content_codings_are_reported_as_not_opened() {
    let body = [0x5au8; 64];
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: aes128gcm\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    resp.extend(body);
    let out = run(&[(Direction::ToServer, GET), (Direction::ToClient, &resp)]);
    let crypto: Vec<_> = out
        .evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Crypto {
                protocol, state, ..
            } => Some((protocol.to_string(), state.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(crypto.len(), 1);
    assert!(
        matches!(&crypto[0].1, CryptoState::NotOpened { reason } if reason.contains("aes128gcm"))
    );
    let v = crate::verdict::flow(&out.evidence, &|i| i.to_string());
    assert_eq!(v.verdict, Verdict::Opaque);
}

#[test]
fn probe_recognises_request_and_status_lines() {
    let p = |to_server: &[u8], to_client: &[u8], port: u16, depth: usize| {
        probe(&ProbeInput {
            transport: Transport::Tcp,
            to_server,
            to_client,
            datagrams: &[],
            client_port: 50000,
            server_port: port,
            depth,
            hint: None,
        })
    };
    assert_eq!(p(GET, b"", 4444, 0), Confidence::Certain);
    assert_eq!(p(b"", MOVED, 4444, 0), Confidence::Certain);
    assert_eq!(p(b"GE", b"", 4444, 0), Confidence::NeedMore);
    assert_eq!(p(b"GE", b"", 80, 0), Confidence::Port);
    assert_eq!(p(b"GE", b"", 80, 1), Confidence::NeedMore);
    assert_eq!(p(b"GET /index.html", b"", 4444, 0), Confidence::NeedMore);
    assert_eq!(p(b"\x16\x03\x01\x02\x00", b"", 80, 0), Confidence::No);
    assert_eq!(
        p(b"OPTIONS rtsp://cam/ RTSP/1.0\r\n", b"", 554, 0),
        Confidence::No
    );
    assert_eq!(
        p(b"INVITE sip:bob@example.org SIP/2.0\r\n", b"", 5060, 0),
        Confidence::No
    );
    assert_eq!(
        p(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"", 80, 0),
        Confidence::No
    );
    assert_eq!(p(b"", b"220 smtp.example ESMTP\r\n", 25, 0), Confidence::No);
}

#[test]
fn redaction_keeps_paths_and_query_keys_only() {
    assert_eq!(redact_target("/"), "/");
    assert_eq!(redact_target("/a/b?x=1&y=%20z#frag"), "/a/b?x=…&y=…");
    assert_eq!(redact_target("http://proxy.example:8080/p?q=s"), "/p?q=…");
    assert_eq!(redact_target("http://proxy.example"), "/");
    assert_eq!(host_name("[2001:db8::1]:443"), "2001:db8::1");
    assert_eq!(host_name("user@Example.COM.:80"), "Example.COM");
}

#[test]
fn malformed_and_truncated_input_never_panics() {
    let mut all = GET.to_vec();
    all.extend(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n");
    all.extend(chunked(&gzip(b"some text here"), 5));
    let mut resp = MOVED.to_vec();
    resp.extend(WS_101);
    resp.extend(WS_SERVER);
    for cut in 0..all.len().max(resp.len()) {
        let a = &all[..cut.min(all.len())];
        let b = &resp[..cut.min(resp.len())];
        let out = run(&[(Direction::ToServer, a), (Direction::ToClient, b)]);
        let _ = out;
        let mut flipped = all.clone();
        if let Some(x) = flipped.get_mut(cut) {
            *x ^= 0x41;
        }
        let _ = run(&[
            (Direction::ToServer, &flipped),
            (Direction::ToClient, &resp),
        ]);
    }
    let out = run(&[(
        Direction::ToServer,
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\x00\x01garbage\r\n\r\n",
    )]);
    assert_eq!(anomalies(&out), vec!["http-malformed"]);
}

#[test]
fn gaps_end_bodies_and_directions() {
    let env = env_with(&[]);
    let f = flow(Transport::Tcp, 80);
    let mut out = Collector::default();
    let mut cx = Cx::new(&env, &f, &mut out, PacketRef::default());
    let mut h = Http::new(&env.limits);
    h.on_data(&mut cx, Direction::ToServer, GET);
    h.on_data(&mut cx, Direction::ToClient, &MOVED[..320]);
    h.on_gap(&mut cx, Direction::ToClient, 100);
    h.on_data(&mut cx, Direction::ToClient, MOVED);
    h.finish(&mut cx);
    assert_eq!(anomalies(&out), vec!["stream-gap"]);
    assert_eq!(h.messages(Direction::ToClient), 1);
}

/// Ids of the built-in checks that fire on a flow's evidence.
pub(crate) fn fired(out: &Collector, protocol: &str) -> Vec<String> {
    use crate::rules::eval::{Subject, evaluate};
    use crate::rules::model::SubjectKind;
    let rules = crate::rules::builtin();
    let d = crate::verdict::flow(&out.evidence, &|i| i.to_string());
    let s = Subject {
        kind: SubjectKind::Flow,
        label: "flow 1".into(),
        identity: "tcp 10.0.0.1:80".into(),
        protocol,
        app: out.app.as_ref().map(|(a, _)| a.as_str()),
        verdict: d.verdict,
        reason: &d.reason,
        client: None,
        server: None,
        evidence: &out.evidence,
    };
    let canaries = crate::evidence::canary::CanarySet::default();
    evaluate(&rules, &s, &canaries)
        .into_iter()
        .map(|f| f.check.id.clone())
        .collect()
}

#[test]
fn builtin_checks_fire_on_cleartext_logins_and_doh() {
    let req = b"GET /private HTTP/1.1\r\nHost: intranet.example\r\n\
        Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n";
    let out = run(&[(Direction::ToServer, req)]);
    let ids = fired(&out, "http");
    assert!(ids.contains(&"credential-in-clear".to_string()), "{ids:?}");
    assert!(ids.contains(&"plaintext-http".to_string()), "{ids:?}");
    let out = run(&[(Direction::ToServer, GET), (Direction::ToClient, MOVED)]);
    let ids = fired(&out, "http");
    assert!(!ids.contains(&"credential-in-clear".to_string()), "{ids:?}");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// HTTP-shaped noise: fragments of real messages mixed with random bytes.
    fn noisy() -> impl Strategy<Value = Vec<u8>> {
        let parts = prop_oneof![
            Just(GET.to_vec()),
            Just(MOVED.to_vec()),
            Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
            Just(b"Content-Encoding: gzip, br\r\n".to_vec()),
            Just(b"Content-Length: 5\r\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"5\r\nhello\r\n0\r\n\r\n".to_vec()),
            Just(WS_101.to_vec()),
            Just(WS_SERVER.to_vec()),
            proptest::collection::vec(any::<u8>(), 0..40),
        ];
        proptest::collection::vec(parts, 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_bytes_in_any_pieces_never_panic(c in noisy(), s in noisy(), step in 1usize..64) {
            let mut pieces: Vec<(Direction, &[u8])> = Vec::new();
            let (mut a, mut b) = (c.chunks(step), s.chunks(step));
            loop {
                match (a.next(), b.next()) {
                    (None, None) => break,
                    (x, y) => {
                        if let Some(x) = x { pieces.push((Direction::ToServer, x)); }
                        if let Some(y) = y { pieces.push((Direction::ToClient, y)); }
                    }
                }
            }
            let out = run(&pieces);
            prop_assert!(out.evidence.len() <= 4 * 64);
        }
    }
}
