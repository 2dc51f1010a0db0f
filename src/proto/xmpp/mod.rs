//! XMPP (RFC 6120, RFC 6121): messages, logins, STARTTLS and end-to-end
//! encryption markers.
//!
//! Each direction's bytes are cut into stanzas (see [`cutter`]) and each
//! stanza is read (see [`stanza`]). `<message><body>` is message content,
//! unless the message carries an OMEMO or OpenPGP payload: then the body is
//! only the fallback text ("I sent you an OMEMO encrypted message…") and is
//! kept as `xmpp.fallback-body` metadata, while the envelope is reported as
//! end-to-end evidence. After `<starttls/>` + `<proceed/>` the rest of the
//! connection goes to an inner stream probed as TLS.

pub mod cutter;
pub mod stanza;

use crate::model::Direction;
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::mail::sasl::{self, Sasl};
use crate::proto::mail::starttls::StartTls;
use crate::proto::mail::{Seen, port_hint};
use crate::proto::registry::{FlowHint, ProbeInput};
use cutter::{Cutter, Piece};
use stanza::{NS_FRAMING, NS_SASL, NS_TLS, Stanza};
use std::borrow::Cow;

/// Malformed stretches tolerated before the stream is given up as not XMPP.
const MAX_MALFORMED: u32 = 16;

pub struct Xmpp {
    cutters: [Cutter; 2],
    tls: StartTls,
    seen: Seen,
    sasl: Option<Sasl>,
    /// `<starttls/>` sent: client bytes wait for `<proceed/>` or `<failure/>`.
    hold: bool,
    malformed: u32,
    /// Not XMPP after all (chosen by port, bytes are not XML).
    abandoned: bool,
    features_seen: bool,
}

pub fn make(_: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    Box::new(Xmpp::new(env.limits.max_message))
}

impl Xmpp {
    pub fn new(max_stanza: usize) -> Xmpp {
        Xmpp {
            cutters: [Cutter::new(max_stanza), Cutter::new(max_stanza)],
            tls: StartTls::new("xmpp.starttls"),
            seen: Seen::default(),
            sasl: None,
            hold: false,
            malformed: 0,
            abandoned: false,
            features_seen: false,
        }
    }

    fn pump(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        loop {
            if self.tls.active() || self.abandoned || (dir == Direction::ToServer && self.hold) {
                return;
            }
            let piece = match self.cutters[dir.index()].next_piece() {
                None => return,
                Some(Piece::StreamOpen(tag)) => Ok(stanza::stream_attrs(tag)),
                Some(Piece::Stanza(b)) => Err(stanza::read(b)),
                Some(Piece::StreamClose) => continue,
                Some(Piece::TooLarge) => {
                    cx.anomaly(
                        "xmpp-stanza-too-large",
                        "a stanza exceeded the stanza cap and was skipped",
                    );
                    continue;
                }
                Some(Piece::Malformed) => {
                    self.malformed += 1;
                    if self.malformed == 1 {
                        cx.anomaly(
                            "xmpp-malformed",
                            "bytes that are not well-formed XML were skipped",
                        );
                    }
                    if self.malformed >= MAX_MALFORMED {
                        self.abandoned = true;
                        cx.anomaly(
                            "xmpp-abandoned",
                            "too many malformed stretches: not an XMPP stream",
                        );
                    }
                    continue;
                }
            };
            match piece {
                Ok((from, to)) => self.stream_open(cx, dir, from, to),
                Err(st) => self.stanza(cx, dir, &st),
            }
        }
    }

    fn stream_open(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        from: Option<String>,
        to: Option<String>,
    ) {
        // The client names the server domain in `to`, the server in `from`.
        let domain = if dir == Direction::ToServer { to } else { from };
        if let Some(d) = domain.filter(|d| !d.is_empty()) {
            let d: String = d.chars().take(255).collect();
            // Server names go through `cx.server_name` (app attribution), once.
            if self.seen.insert("xmpp.domain", &d) {
                cx.server_name("xmpp.domain", &d);
            }
        }
    }

    fn stanza(&mut self, cx: &mut Cx<'_>, dir: Direction, st: &Stanza) {
        for j in [&st.from, &st.to]
            .into_iter()
            .flatten()
            .chain(st.jids.iter())
        {
            if j.contains('@') {
                self.seen.meta(cx, "xmpp.jid", j);
            }
        }
        if let Some(n) = &st.caps_node {
            // Capabilities in stream features describe the server's software.
            let key = if st.name == "features" {
                "xmpp.server"
            } else {
                "xmpp.client"
            };
            self.seen.meta(cx, key, n);
        }
        if let Some(v) = &st.version {
            self.seen.meta(cx, "xmpp.client-version", v);
        }
        let ns = st.ns.as_deref();
        match (st.name.as_str(), ns) {
            ("open", Some(NS_FRAMING)) => self.stream_open(cx, dir, st.from.clone(), st.to.clone()),
            ("features", _) => {
                if !self.features_seen || st.starttls.is_some() {
                    self.tls.capabilities(st.starttls.is_some());
                }
                self.features_seen = true;
                if st.starttls == Some(true) {
                    self.seen.meta(cx, "xmpp.starttls-required", "yes");
                }
                if !st.mechanisms.is_empty() {
                    self.seen
                        .meta(cx, "xmpp.sasl-offered", &st.mechanisms.join(" "));
                }
            }
            ("starttls", Some(NS_TLS)) if dir == Direction::ToServer => {
                self.tls.requested();
                self.hold = true;
            }
            ("proceed", Some(NS_TLS)) if dir == Direction::ToClient => {
                self.tls.upgrade(cx);
                let client = self.cutters[0].take_rest();
                let server = self.cutters[1].take_rest();
                self.tls.data(cx, Direction::ToServer, &client);
                self.tls.data(cx, Direction::ToClient, &server);
            }
            ("failure", Some(NS_TLS)) => {
                self.tls.refused(cx);
                self.hold = false;
            }
            ("auth", Some(NS_SASL)) => {
                let mech = st.mechanism.clone().unwrap_or_default();
                self.seen
                    .meta(cx, "xmpp.sasl-mechanism", &mech.to_ascii_uppercase());
                let mut s = Sasl::new(&mech);
                if let Some(d) = sasl::decode_b64(st.text.trim().as_bytes()) {
                    s.client(&d);
                }
                self.sasl = Some(s);
                self.sasl_report(cx);
            }
            ("challenge", Some(NS_SASL)) => {
                if let (Some(s), Some(d)) = (
                    self.sasl.as_mut(),
                    sasl::decode_b64(st.text.trim().as_bytes()),
                ) {
                    s.server(&d);
                }
            }
            ("response", Some(NS_SASL)) => {
                if let (Some(s), Some(d)) = (
                    self.sasl.as_mut(),
                    sasl::decode_b64(st.text.trim().as_bytes()),
                ) {
                    s.client(&d);
                }
                self.sasl_report(cx);
            }
            ("success", Some(NS_SASL)) | ("failure", Some(NS_SASL)) => {
                let r = if st.name == "success" {
                    "accepted"
                } else {
                    "rejected"
                };
                self.seen.meta(cx, "xmpp.auth-result", r);
                self.sasl = None;
            }
            ("iq", _) => {
                if let Some(a) = &st.iq_auth
                    && (a.password || a.digest)
                {
                    let user = a.username.clone();
                    self.tls
                        .credential(cx, Direction::ToServer, "xmpp.iq-auth", user);
                }
            }
            ("message", _) => self.message(cx, dir, st),
            _ => {}
        }
    }

    fn sasl_report(&mut self, cx: &mut Cx<'_>) {
        if let Some(r) = self.sasl.as_mut().and_then(Sasl::take) {
            self.tls
                .credential(cx, Direction::ToServer, "xmpp.sasl", r.user);
        }
    }

    fn message(&mut self, cx: &mut Cx<'_>, dir: Direction, st: &Stanza) {
        if let Some(scheme) = st.e2e {
            cx.e2e(dir, scheme);
            // The body next to an OMEMO/OpenPGP payload is a fallback notice.
            for b in &st.bodies {
                self.seen.meta(cx, "xmpp.fallback-body", b);
            }
            return;
        }
        for b in &st.bodies {
            let t = b.trim_start();
            if t.starts_with("?OTR:") || t.starts_with("?OTR,") {
                cx.e2e(dir, "otr");
            } else if t.starts_with("?OTR?") || t.starts_with("?OTRv") {
                // An OTR query: a request to start OTR, not a message.
                self.seen.meta(cx, "xmpp.otr-query", "yes");
            } else {
                self.tls.content(cx, dir, "xmpp.body", b.as_bytes());
            }
        }
        if let Some(s) = &st.subject {
            self.tls.content(cx, dir, "xmpp.subject", s.as_bytes());
        }
    }
}

impl Dissector for Xmpp {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("xmpp")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if self.tls.active() {
            self.tls.data(cx, dir, data);
            return;
        }
        if self.abandoned {
            return;
        }
        let c = &mut self.cutters[dir.index()];
        if dir == Direction::ToServer && self.hold && c.held() + data.len() > c.cap() {
            // Client bytes after <starttls/> wait for the answer, within the cap.
            cx.anomaly(
                "xmpp-buffer-full",
                format!(
                    "{} bytes dropped while waiting for the STARTTLS answer",
                    data.len()
                ),
            );
            return;
        }
        c.push(data);
        self.pump(cx, dir);
        if dir == Direction::ToClient {
            // A server answer may release held client bytes.
            self.pump(cx, Direction::ToServer);
        }
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        if self.tls.active() {
            self.tls.gap(cx, dir, len);
            return;
        }
        cx.anomaly(
            "stream-gap",
            format!("{len} bytes missing; xmpp resynchronises at the next stanza"),
        );
        self.cutters[dir.index()].reset();
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        self.tls.finish(cx);
    }

    fn claims_payload(&self) -> bool {
        !self.abandoned
    }
}

pub fn probe(p: &ProbeInput<'_>) -> Confidence {
    let port = port_hint(p, &[5222, 5269]);
    let first = p.first().trim_ascii_start();
    if first.is_empty() {
        return Confidence::NeedMore;
    }
    let window = &first[..first.len().min(512)];
    let has = |needle: &[u8]| memchr::memmem::find(window, needle).is_some();
    // XMPP over WebSocket (RFC 7395) opens with a framing element.
    if first.starts_with(b"<open") && has(b"urn:ietf:params:xml:ns:xmpp-framing") {
        return Confidence::Certain;
    }
    if first.starts_with(b"<?xml") || first.starts_with(b"<stream:stream") {
        if has(b"<stream:stream") || has(b"jabber:client") || has(b"jabber:server") {
            return Confidence::Certain;
        }
        return if first.len() < 256 {
            Confidence::NeedMore
        } else {
            port
        };
    }
    // A capture that starts mid-stream: a stanza with XMPP attributes.
    for tag in [&b"<message"[..], b"<presence", b"<iq "] {
        if first.len() < tag.len() && tag.starts_with(first) {
            return Confidence::NeedMore;
        }
        if first.starts_with(tag) {
            return if has(b"xmlns='jabber:")
                || has(b"xmlns=\"jabber:")
                || has(b" to='")
                || has(b" to=\"")
                || has(b" type=")
            {
                Confidence::Likely
            } else {
                port
            };
        }
    }
    port
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Verdict;
    use crate::proto::mail::testkit::*;

    const OPEN_C: &[u8] = b"<?xml version='1.0' ?><stream:stream to='cs-xmpp.lan' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    const OPEN_S: &[u8] = b"<?xml version='1.0'?><stream:stream id='1647' version='1.0' xml:lang='en' xmlns:stream='http://etherx.jabber.org/streams' from='cs-xmpp.lan' xmlns='jabber:client'>";

    /// Shaped after ndpi/jabber.pcap: DIGEST-MD5, bind, a chat message, no TLS.
    #[test]
    fn plaintext_session_like_the_jabber_capture() {
        let conv: &[(Direction, &[u8])] = &[
            (C, OPEN_C),
            (S, OPEN_S),
            (S, b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism><mechanism>DIGEST-MD5</mechanism></mechanisms></stream:features>"),
            (C, b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>"),
            (S, b"<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>bm9uY2U9IjE1MzA3NTE4ODgxNTIwMjU2MzQxIixxb3A9ImF1dGgi</challenge>"),
            // username="tom",realm="cs-xmpp.lan",nonce="1",cnonce="2",nc=00000001,qop=auth,digest-uri="xmpp/cs-xmpp.lan",response=d13e96f96e51b1858c7af654655005be
            (C, b"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>dXNlcm5hbWU9InRvbSIscmVhbG09ImNzLXhtcHAubGFuIixub25jZT0iMSIsY25vbmNlPSIyIixuYz0wMDAwMDAwMSxxb3A9YXV0aCxkaWdlc3QtdXJpPSJ4bXBwL2NzLXhtcHAubGFuIixyZXNwb25zZT1kMTNlOTZmOTZlNTFiMTg1OGM3YWY2NTQ2NTUwMDViZQ==</response>"),
            (S, b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"),
            (C, OPEN_C),
            (S, OPEN_S),
            (C, b"<iq type='set' id='purplef8b14dc4'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>darkstar</resource></bind></iq>"),
            (S, b"<iq type='result' id='purplef8b14dc4'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>tom@cs-xmpp.lan/darkstar</jid></bind></iq>"),
            (C, b"<presence><c xmlns='http://jabber.org/protocol/caps' node='http://pidgin.im/' hash='sha-1' ver='DdnydQG7RGhP9E3k9Sf+b+bF0zo='/></presence>"),
            (C, b"<message type='chat' id='purplebea68aeb' to='chatback@cs-xmpp.lan'><active xmlns='http://jabber.org/protocol/chatstates'/><body>hey</body></message>"),
            (S, b"<message xml:lang='en' to='tom@cs-xmpp.lan/darkstar' from='chatback@cs-xmpp.lan/1045' type='chat'><body>fish &amp; chips at six?</body></message>"),
        ];
        for chunk in [usize::MAX, 11, 1] {
            let out = run_chunked(&env(&[]), 5222, conv, chunk);
            assert_eq!(protocol(&out).as_deref(), Some("xmpp"));
            assert_eq!(
                contents(&out),
                vec![
                    ("xmpp.body".into(), "hey".into()),
                    ("xmpp.body".into(), "fish & chips at six?".into())
                ],
                "chunk {chunk}"
            );
            assert_eq!(
                credentials(&out),
                vec![("xmpp.sasl".into(), Some("tom".into()))]
            );
            assert_eq!(meta(&out, "xmpp.domain"), vec!["cs-xmpp.lan"]);
            assert_eq!(meta(&out, "xmpp.client"), vec!["http://pidgin.im/"]);
            assert!(meta(&out, "xmpp.jid").contains(&"tom@cs-xmpp.lan/darkstar".to_string()));
            assert_eq!(meta(&out, "xmpp.starttls"), vec!["not-offered"]);
            assert_eq!(verdict(&out), Verdict::Exposed);
            let ids = fired(&out);
            for id in ["plaintext-chat-protocol", "starttls-not-used"] {
                assert!(ids.contains(&id.to_string()), "{id} in {ids:?}");
            }
        }
    }

    #[test]
    fn starttls_proceed_hands_over_and_plain_before_is_flagged() {
        let hello = client_hello();
        let conv: &[(Direction, &[u8])] = &[
            (C, OPEN_C),
            (S, OPEN_S),
            (S, b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>"),
            (C, b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHdpcmVzaGFyay10ZXN0AG5vbmU=</auth>"),
            (S, b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><encryption-required/></failure>"),
            (C, b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
            (C, &hello),
            (S, b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
        ];
        for chunk in [usize::MAX, 3] {
            let out = run_chunked(&env(&[]), 5222, conv, chunk);
            assert_eq!(
                credentials(&out),
                vec![("xmpp.sasl".into(), Some("wireshark-test".into()))]
            );
            assert_eq!(meta(&out, "xmpp.starttls"), vec!["used"]);
            assert_eq!(meta(&out, "xmpp.starttls-required"), vec!["yes"]);
            assert_eq!(anomalies(&out), vec!["content-before-starttls"]);
            assert_eq!(
                layer_names(&out),
                vec!["xmpp", "tls"],
                "the rest went to TLS"
            );
            assert_secret_absent(&out, "AHdpcmVzaGFyay10ZXN0AG5vbmU=");
            let ids = fired(&out);
            assert!(
                ids.contains(&"content-before-starttls".to_string()),
                "{ids:?}"
            );
            assert!(!ids.contains(&"starttls-not-used".to_string()), "{ids:?}");
        }
    }

    #[test]
    fn omemo_body_is_a_fallback_not_content() {
        let omemo = b"<message to='juliet@capulet.lit' from='romeo@montague.lit/orchard' type='chat'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='27183'><key rid='31415'>MwohBUjqeiGQvKm2fd1Xbt1oXaCG3YnM2vdKVkfsX9+WaQ==</key><iv>BASE64ENCODED</iv></header><payload>BASE64ENCODED</payload></encrypted><encryption xmlns='urn:xmpp:eme:0' namespace='eu.siacs.conversations.axolotl'/><body>I sent you an OMEMO encrypted message but your client doesn't seem to support that. Find more information on https://conversations.im/omemo</body></message>";
        let otr = b"<message to='a@b.c' type='chat'><body>?OTR:AAMDJ+MVmSfjFZcAAAAAAQAAAAIAAADAVf3Ei72ZgFeKqWvLMnuVPVCwxktsOZ1QdjeLp6jn62mCVtlY9nS6sRkecpjuLYHRxyTdRu2iEVtSsjZqK55ovZ35SfkOPHeFYa9BIuxWi9djHMVKQ8KOVGAVLibjZ6P8LreDSKtWDv9YQjIEnkwFVGCPfpBq2SX4VTQfJAQXHggR8izKxPvluXUdG9rIPh4cac98++VLdIuFMiEXjUIoTX2rEzunaCLMy0VIfowlRsgsKGrwhCCv7hBWyglbzwz+AAAAAAAAAAQAAAF2SOrJvPUerB9mtf4bqQDFthfoz/XQB8Fr9Kz5m7wpB7JvQSsN2FJ33K0mo+QLrmNF+NBLH+fxLG8jhZ5UIC+O0T2KXyZ6VU0bIUdH8ffx+tkPcFvKiv5+mmMnRUTq4DX1QuM7Nd5u1QfxUxqMPdCVNVQoYUnPpy4Pfnq/dAgCRa2gCnF+56kr6LqY2K+lypDKM0GbJRDIvjRf+/YIJBc6idXg6jz3Z8ZszYjKrsdOhBRR3YvqwOCwy2O8+F/cA7PGmHzp6g2k7DI1nTQNHB/64Z8VBzfhKQ5qWx9NMybtahbMgMfjvBZBZVD4fQQ3/96xv8qDF5prXRTSdvzkRUZ7VlVd5CrLzSo1m2xA==.</body></message>";
        let plain = b"<message to='a@b.c' type='chat'><body>see you at the pier</body></message>";
        let conv: &[(Direction, &[u8])] =
            &[(C, OPEN_C), (S, OPEN_S), (C, omemo), (S, otr), (C, plain)];
        let out = run(&env(&[]), 5222, conv);
        assert_eq!(e2e(&out), vec!["omemo", "otr"]);
        assert_eq!(
            contents(&out),
            vec![("xmpp.body".into(), "see you at the pier".into())]
        );
        assert_eq!(meta(&out, "xmpp.fallback-body").len(), 1);
        assert!(fired(&out).contains(&"omemo-in-use".to_string()));
        let out = run(&env(&[]), 5222, &conv[..4]);
        assert!(
            contents(&out).is_empty(),
            "only encrypted messages: no content"
        );
        assert_ne!(verdict(&out), Verdict::Exposed);
    }

    #[test]
    fn legacy_iq_auth_and_canary_in_body() {
        let conv: &[(Direction, &[u8])] = &[
            (C, b"<stream:stream to='example.com' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"),
            (C, b"<iq type='set' id='auth2'><query xmlns='jabber:iq:auth'><username>bill</username><password>Calli0pe</password><resource>globe</resource></query></iq>"),
            (C, b"<message to='a@b.c'><body>PS-CANARY-7QX2 hello</body></message>"),
        ];
        let out = run(&env(&["PS-CANARY-7QX2"]), 5222, conv);
        assert_eq!(
            credentials(&out),
            vec![("xmpp.iq-auth".into(), Some("bill".into()))]
        );
        assert!(
            out.evidence
                .iter()
                .any(|e| matches!(e.kind, crate::evidence::EvidenceKind::Canary { .. }))
        );
        assert_secret_absent(&out, "Calli0pe");
    }

    #[test]
    fn websocket_framing_rfc7395() {
        let conv: &[(Direction, &[u8])] = &[
            (C, b"<open xmlns=\"urn:ietf:params:xml:ns:xmpp-framing\" to=\"example.com\" version=\"1.0\" />"),
            (S, b"<open xmlns=\"urn:ietf:params:xml:ns:xmpp-framing\" from=\"example.com\" id=\"++TR84Sm6A3hnt3Q065SnAbbk3Y=\" version=\"1.0\" />"),
            (C, b"<message to=\"juliet@example.com\" xmlns=\"jabber:client\"><body>wherefore art thou</body></message>"),
            (C, b"<close xmlns=\"urn:ietf:params:xml:ns:xmpp-framing\" />"),
        ];
        let out = run(&env(&[]), 5280, conv);
        assert_eq!(protocol(&out).as_deref(), Some("xmpp"));
        assert_eq!(meta(&out, "xmpp.domain"), vec!["example.com"]);
        assert_eq!(
            contents(&out),
            vec![("xmpp.body".into(), "wherefore art thou".into())]
        );
    }

    #[test]
    fn not_xml_on_the_xmpp_port_is_abandoned() {
        let junk: Vec<u8> = (0..4000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80)
            .collect();
        let out = run(&env(&[]), 5222, &[(C, &junk), (S, &junk)]);
        assert!(
            out.evidence
                .iter()
                .all(|e| !matches!(e.kind, crate::evidence::EvidenceKind::Content { .. }))
        );
    }

    #[test]
    fn probe_signatures() {
        let mk = |c: &'static [u8], port| ProbeInput {
            transport: crate::model::Transport::Tcp,
            to_server: c,
            to_client: b"",
            datagrams: &[],
            client_port: 50000,
            server_port: port,
            depth: 0,
            hint: None,
        };
        assert_eq!(probe(&mk(OPEN_C, 1)), Confidence::Certain);
        assert_eq!(
            probe(&mk(b"<?xml version='1.0' ?>", 1)),
            Confidence::NeedMore
        );
        assert_eq!(probe(&mk(b"<presence to='chat-with-tom@conference.cs-xmpp.lan/tom@cs-xmpp.lan'><c/></presence>", 1)), Confidence::Likely);
        assert_eq!(probe(&mk(b"%\x00E\x14\x04\x11", 5223)), Confidence::No);
        assert_eq!(probe(&mk(b"%\x00E\x14\x04\x11", 5222)), Confidence::Port);
        assert_eq!(probe(&mk(b"<html>", 80)), Confidence::No);
    }
}
