//! TLS over TCP (and after STARTTLS): record framing, handshake parsing,
//! fingerprints, key schedules and record decryption.
//!
//! The [`TlsDissector`] frames records per direction, reassembles handshake
//! messages, reports what an observer sees (version, suite, SNI, ALPN, ECH,
//! JA3/JA4, TLS ≤ 1.2 certificate names, alerts, record sizes) and, with
//! session secrets from the run's [`SecretStore`](crate::secrets::SecretStore),
//! decrypts records and feeds the plaintext into an inner [`Stream`] whose
//! layer says the keys came from a key log or the capture. Exactly one crypto
//! evidence per connection says how much was opened and why not the rest.
//!
//! Records that cannot be decrypted yet (no secrets so far, ServerHello not
//! seen yet) wait in a bounded per-flow queue and are retried when secrets
//! arrive later in the capture and at the end of the flow.

pub mod certificate;
pub mod decrypt;
pub mod fingerprint;
pub mod handshake;
pub mod keys;
pub mod prf;
pub mod record;
pub mod session;
pub mod suites;

use crate::evidence::provenance::{KeySource, Layer};
use crate::evidence::{CryptoState, EvidenceKind, PayloadClass};
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Confidence, Cx, Dissector, Env, Hint, PacketRef, Stream};
use crate::proto::registry::{FlowHint, ProbeInput};
use crate::secrets::{Label, SessionSecrets};
use decrypt::Cipher12;
use fingerprint::Ja4Transport;
use handshake::{ClientHello, EchKind, Message, Reassembler, ServerHello, ext, msg};
use record::{Event, Header, Reader, content};
use session::{BY_SESSION_ID, BY_TICKET, Dir13, Open13, Remembered};
use std::borrow::Cow;
use std::collections::VecDeque;
use suites::{Bulk, Kx, Suite};

/// Ports where TLS is usual; only a tie-breaker when no signature matched.
pub const TLS_PORTS: &[u16] = &[443, 853, 993, 995, 465, 5223, 5228];

/// Ciphertext kept per flow while waiting for secrets or a ServerHello.
pub const QUEUE_CAP: usize = 1 << 20;

/// Alerts reported per connection (the rest are counted).
const MAX_ALERTS: usize = 4;

/// Handshake bytes kept for the extended-master-secret session hash (RSA key exchange only).
const TRANSCRIPT_CAP: usize = 256 * 1024;

/// Public names of ECH client-facing servers seen in the wild: with one of
/// these as the outer SNI, the real name is in the encrypted inner hello.
const ECH_PUBLIC_NAMES: &[&str] = &["cloudflare-ech.com", "public.test", "ech.example"];

/// Probe: a handshake record `16 03 0x` with a plausible length (and a
/// ClientHello inside for certainty), records of a connection picked up
/// mid-stream, an SSLv2-compatible hello; the usual ports only as a hint.
pub fn probe(input: &ProbeInput<'_>) -> Confidence {
    if input.transport != Transport::Tcp {
        return Confidence::No;
    }
    let c = if !input.to_server.is_empty() {
        classify(input.to_server, true)
    } else {
        classify(input.to_client, false)
    };
    match c {
        // Port hints only for the outermost stream: decrypted data on 443 is not TLS.
        Confidence::No if input.depth == 0 && input.port_in(TLS_PORTS) => Confidence::Port,
        c => c,
    }
}

fn classify(b: &[u8], client: bool) -> Confidence {
    if b.is_empty() {
        return Confidence::NeedMore;
    }
    if client
        && b[0] & 0x80 != 0
        && matches!(
            record::parse_frame(b, true),
            record::Frame::Sslv2ClientHello { .. } | record::Frame::NeedMore { .. }
        )
        && b.len() >= 5
    {
        return Confidence::Likely;
    }
    let Some(h) = Header::parse(b) else {
        let plausible_prefix = (content::CHANGE_CIPHER_SPEC..=content::HEARTBEAT).contains(&b[0])
            && b.get(1).is_none_or(|&v| v == 3)
            && b.get(2).is_none_or(|&v| v <= 4);
        return if plausible_prefix {
            Confidence::NeedMore
        } else {
            Confidence::No
        };
    };
    if !h.is_plausible() || (0x0300..=0x0304).contains(&h.version) && h.len == 0 {
        return Confidence::No;
    }
    match h.content_type {
        content::HANDSHAKE => match b.get(record::HEADER_LEN) {
            Some(&msg::CLIENT_HELLO) if client => Confidence::Certain,
            Some(&msg::SERVER_HELLO) if !client => Confidence::Certain,
            Some(_) => Confidence::Likely,
            None => Confidence::NeedMore,
        },
        content::APPLICATION_DATA | content::ALERT | content::CHANGE_CIPHER_SPEC
            if h.version >= 0x0301 =>
        {
            Confidence::Likely
        }
        _ => Confidence::No,
    }
}

/// Constructor for the registry.
pub fn make(_hint: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    Box::new(TlsDissector::new(env.limits.max_message))
}

/// Layer / crypto label of a negotiated version.
pub fn version_label(v: u16) -> &'static str {
    match v {
        0x0304 => "tls1.3",
        0x0303 => "tls1.2",
        0x0302 => "tls1.1",
        0x0301 => "tls1.0",
        0x0300 => "ssl3",
        0xfefc => "dtls1.3",
        0xfefd => "dtls1.2",
        0xfeff => "dtls1.0",
        _ => "tls",
    }
}

/// Inner-stream protocol hint from an ALPN value.
pub fn alpn_hint(alpn: &str) -> Option<&'static str> {
    Some(match alpn {
        "h2" | "h2c" => "http2",
        a if a.starts_with("h2-") => "http2",
        "http/1.1" | "http/1.0" | "http/0.9" => "http",
        "xmpp-client" | "xmpp-server" => "xmpp",
        "mqtt" => "mqtt",
        "imap" => "imap",
        "pop3" => "pop3",
        "smtp" => "smtp",
        "irc" => "irc",
        "dot" => "dns",
        _ => return None,
    })
}

/// The first 8 hex digits of a client random, for reasons that name a session.
pub fn random_prefix(r: &[u8]) -> String {
    r.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// How ECH shows on the wire: the extension's presence and the outer SNI.
pub fn ech_status(ch: &ClientHello<'_>) -> &'static str {
    match ch.ech() {
        None => "absent",
        Some(EchKind::Inner) => "present",
        Some(_) => match ch.sni() {
            Some(n) if ECH_PUBLIC_NAMES.contains(&n.as_str()) => "present",
            // GREASE ECH looks identical; with a non-public outer name the SNI is the real one.
            _ => "grease-suspected",
        },
    }
}

/// Reports the observer-visible facts of a ClientHello (TLS, DTLS).
pub fn report_client_hello(cx: &mut Cx<'_>, ch: &ClientHello<'_>, transport: Ja4Transport) {
    let sni = ch.sni();
    if let Some(sni) = &sni {
        cx.server_name("tls.sni", sni);
    }
    let alpn = ch.alpn();
    if !alpn.is_empty() {
        cx.meta("tls.alpn", alpn.join(","));
    }
    // ECH status matters where a name could leak: an SNI, or the extension itself.
    if sni.is_some() || ch.ech().is_some() {
        cx.meta("tls.ech", ech_status(ch));
    }
    cx.meta("tls.ja3", fingerprint::ja3(ch));
    cx.meta("tls.ja4", fingerprint::ja4(ch, transport));
}

/// Reports the observer-visible facts of a ServerHello.
pub fn report_server_hello(cx: &mut Cx<'_>, sh: &ServerHello<'_>) {
    cx.meta("tls.version", handshake::version_name(sh.version()));
    cx.meta("tls.cipher", Suite::name_of(sh.cipher_suite));
    cx.meta("tls.ja3s", fingerprint::ja3s(sh));
}

/// Why a record waits in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// The record needs the negotiated version or suite.
    ServerHello,
    /// No secrets for the client random (yet).
    NoSecrets,
    /// Secrets exist but not this one.
    Missing(Label),
}

enum Step {
    Done,
    Blocked(Block),
}

/// A record waiting for keys.
struct Queued {
    arrival: u64,
    header: Header,
    index: u64,
    frag: Vec<u8>,
    pkt: PacketRef,
    /// A marker for records not kept (queue full): how many.
    dropped: u64,
}

/// TLS ≤ 1.2 cipher state of one direction.
enum State12 {
    Plain,
    Active(Box<Cipher12>),
    /// Encryption is on but cannot be removed (reason).
    Unavailable(String),
}

/// Per-direction counters.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    /// Records read (1-based index of the last one).
    records: u64,
    protected: u64,
    decrypted: u64,
    /// Protected application-data records and how many of them opened.
    app: u64,
    app_decrypted: u64,
    gap_bytes: u64,
    dropped: u64,
}

/// Receives every decrypted application-data record (direction, plaintext).
pub type Tap = Box<dyn FnMut(Direction, &[u8]) + Send>;

/// The TLS dissector of one connection.
pub struct TlsDissector {
    readers: [Reader; 2],
    conn: Conn,
}

impl TlsDissector {
    pub fn new(max_message: usize) -> TlsDissector {
        TlsDissector {
            readers: Default::default(),
            conn: Conn::new(max_message),
        }
    }

    /// Also hands each decrypted application-data record to `tap` (for
    /// exports and parity checks against other decryptors).
    pub fn set_tap(&mut self, tap: Tap) {
        self.conn.tap = Some(tap);
    }
}

impl Dissector for TlsDissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("tls")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        self.conn.refresh(cx);
        let d = dir.index();
        let unreadable = std::cell::Cell::new(self.conn.unreadable[d]);
        let conn = &mut self.conn;
        self.readers[d].feed_checked(data, &unreadable, &mut |ev| {
            conn.on_event(cx, dir, ev);
            unreadable.set(conn.unreadable[d]);
        });
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        self.readers[dir.index()].gap();
        self.conn.gap(dir, len);
        cx.anomaly(
            "tls-gap",
            format!(
                "{len} bytes missing ({}); resynchronising on a record header",
                dir.as_str()
            ),
        );
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        let lost = [self.readers[0].is_lost(), self.readers[1].is_lost()];
        let partial = [self.readers[0].partial(), self.readers[1].partial()];
        let sizes = [
            (self.readers[0].bytes, self.readers[0].max_fragment),
            (self.readers[1].bytes, self.readers[1].max_fragment),
        ];
        self.conn.finish(cx, lost, partial, sizes);
    }

    fn claims_payload(&self) -> bool {
        true
    }
}

struct Conn {
    hs: [Reassembler; 2],
    // Handshake facts.
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    ch_session_id: Vec<u8>,
    ch_ticket: Vec<u8>,
    ch_ems: bool,
    ch_etm: bool,
    early_offered: bool,
    offered_alpn: Vec<String>,
    selected_alpn: Option<String>,
    client_hellos: u32,
    server_hellos: u32,
    hrr: bool,
    version: Option<u16>,
    suite: Option<u16>,
    tls13: bool,
    etm: bool,
    ems: bool,
    resumed: bool,
    sslv2_hello: bool,
    // TLS 1.3 keys.
    d13: Option<[Dir13; 2]>,
    // TLS ≤ 1.2 keys.
    d12: [State12; 2],
    seq12: [u64; 2],
    pending12: [Option<Box<Cipher12>>; 2],
    master: Option<Remembered>,
    rsa_encrypted_pms: Option<Vec<u8>>,
    transcript: Vec<u8>,
    /// Transcript length through the ClientKeyExchange (the EMS session hash input).
    transcript_at_cke: Option<usize>,
    server_ticket: Vec<u8>,
    sh_session_id: Vec<u8>,
    key_source: Option<KeySource>,
    null_cipher: bool,
    // Waiting records.
    queue: [VecDeque<Queued>; 2],
    queued_bytes: usize,
    /// This direction can never be opened: record bodies need not be kept.
    unreadable: [bool; 2],
    arrival: u64,
    block: [Option<Block>; 2],
    generation: u64,
    // Results.
    counts: [Counts; 2],
    first_failure: Option<(u64, Direction)>,
    reasons: Vec<String>,
    alerts: usize,
    key_updates: u32,
    inner: Option<Stream>,
    /// The ALPN value that named the inner protocol, if any.
    inner_alpn: Option<String>,
    /// Decrypted application bytes.
    app_bytes: u64,
    tap: Option<Tap>,
    scratch: Vec<u8>,
    renegotiations: u32,
}

impl Conn {
    fn new(max_message: usize) -> Conn {
        Conn {
            hs: [Reassembler::new(max_message), Reassembler::new(max_message)],
            client_random: None,
            server_random: None,
            ch_session_id: Vec::new(),
            ch_ticket: Vec::new(),
            ch_ems: false,
            ch_etm: false,
            early_offered: false,
            offered_alpn: Vec::new(),
            selected_alpn: None,
            client_hellos: 0,
            server_hellos: 0,
            hrr: false,
            version: None,
            suite: None,
            tls13: false,
            etm: false,
            ems: false,
            resumed: false,
            sslv2_hello: false,
            d13: None,
            d12: [State12::Plain, State12::Plain],
            seq12: [0; 2],
            pending12: [None, None],
            master: None,
            rsa_encrypted_pms: None,
            transcript: Vec::new(),
            transcript_at_cke: None,
            server_ticket: Vec::new(),
            sh_session_id: Vec::new(),
            key_source: None,
            null_cipher: false,
            queue: Default::default(),
            queued_bytes: 0,
            unreadable: [false; 2],
            arrival: 0,
            block: [None, None],
            generation: 0,
            counts: Default::default(),
            first_failure: None,
            reasons: Vec::new(),
            alerts: 0,
            key_updates: 0,
            inner: None,
            inner_alpn: None,
            app_bytes: 0,
            tap: None,
            scratch: Vec::new(),
            renegotiations: 0,
        }
    }

    fn reason(&mut self, r: String) {
        if self.reasons.len() < 4 && !self.reasons.contains(&r) {
            self.reasons.push(r);
        }
    }

    fn label(&self) -> &'static str {
        version_label(self.version.unwrap_or(0))
    }

    fn secrets<'e>(&self, env: &'e Env) -> Option<&'e SessionSecrets> {
        env.secrets.get(self.client_random.as_ref()?)
    }

    /// Secrets may have arrived since the last call: retry waiting records.
    fn refresh(&mut self, cx: &mut Cx<'_>) {
        let g = cx.env.secrets.generation();
        if g == self.generation {
            return;
        }
        self.generation = g;
        if let Some(d) = &mut self.d13 {
            d[0].retry_missing();
            d[1].retry_missing();
        }
        self.block = [None, None];
        self.pump(cx);
    }

    fn gap(&mut self, dir: Direction, len: u64) {
        let d = dir.index();
        self.hs[d].reset();
        self.counts[d].gap_bytes += len;
        if let Some(k) = &mut self.d13 {
            k[d].resync = true;
        }
    }

    fn on_event(&mut self, cx: &mut Cx<'_>, dir: Direction, ev: Event<'_>) {
        match ev {
            Event::Record { header, fragment } => self.on_record(cx, dir, header, fragment),
            Event::Sslv2ClientHello { version } => {
                self.sslv2_hello = true;
                self.counts[dir.index()].records += 1;
                cx.meta(
                    "tls.sslv2-hello",
                    format!(
                        "SSLv2-compatible ClientHello advertising {}",
                        handshake::version_name(version)
                    ),
                );
            }
            Event::Desync { skipped, reason } => {
                if let Some(k) = &mut self.d13 {
                    k[dir.index()].resync = true;
                }
                cx.anomaly(
                    "tls-desync",
                    format!("{}: {skipped} bytes skipped ({reason})", dir.as_str()),
                );
            }
            Event::GaveUp { skipped } => {
                cx.anomaly(
                    "tls-lost-sync",
                    format!(
                        "{}: no TLS record header found in {skipped} bytes; the rest of this direction is ignored",
                        dir.as_str()
                    ),
                );
            }
        }
    }

    fn on_record(&mut self, cx: &mut Cx<'_>, dir: Direction, header: Header, frag: &[u8]) {
        let d = dir.index();
        self.counts[d].records += 1;
        let index = self.counts[d].records;
        self.arrival += 1;
        if self.queue[d].is_empty() {
            match self.process(cx, dir, header, index, frag) {
                Step::Done => {}
                Step::Blocked(b) => {
                    self.block[d] = Some(b);
                    self.enqueue(cx, dir, header, index, frag);
                }
            }
        } else {
            self.enqueue(cx, dir, header, index, frag);
            self.pump(cx);
        }
    }

    fn enqueue(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        header: Header,
        index: u64,
        frag: &[u8],
    ) {
        let d = dir.index();
        if self.queued_bytes + frag.len() > QUEUE_CAP || !cx.env.tls.reserve(frag.len()) {
            if self.counts[0].dropped + self.counts[1].dropped == 0 {
                cx.anomaly(
                    "tls-queue-full",
                    "the records waiting for keys reached the 1 MiB per-flow (or 64 MiB per-run) cap; further records are counted, not kept",
                );
            }
            self.counts[d].dropped += 1;
            if let Some(last) = self.queue[d].back_mut()
                && last.dropped > 0
            {
                last.dropped += 1;
                return;
            }
            self.queue[d].push_back(Queued {
                arrival: self.arrival,
                header,
                index,
                frag: Vec::new(),
                pkt: cx.pkt,
                dropped: 1,
            });
            return;
        }
        self.queued_bytes += frag.len();
        self.queue[d].push_back(Queued {
            arrival: self.arrival,
            header,
            index,
            frag: frag.to_vec(),
            pkt: cx.pkt,
            dropped: 0,
        });
    }

    /// Processes queued records in arrival order until both directions block.
    fn pump(&mut self, cx: &mut Cx<'_>) {
        let mut blocked = [false; 2];
        loop {
            let pick = (0..2)
                .filter(|&d| !blocked[d])
                .filter_map(|d| self.queue[d].front().map(|q| (q.arrival, d)))
                .min();
            let Some((_, d)) = pick else { break };
            let Some(item) = self.queue[d].pop_front() else {
                break;
            };
            self.queued_bytes -= item.frag.len();
            cx.env.tls.release(item.frag.len());
            let dir = Direction::from_index(d);
            let saved = cx.pkt;
            cx.pkt = item.pkt;
            let step = if item.dropped > 0 {
                self.skip_dropped(dir, item.dropped);
                Step::Done
            } else {
                self.process(cx, dir, item.header, item.index, &item.frag)
            };
            cx.pkt = saved;
            match step {
                Step::Done => {
                    self.block[d] = None;
                    blocked = [false; 2];
                }
                Step::Blocked(b) => {
                    self.block[d] = Some(b);
                    // Still kept: take its reservation back (it was held before, so keep it even over budget).
                    let _ = cx.env.tls.reserve(item.frag.len());
                    self.queued_bytes += item.frag.len();
                    self.queue[d].push_front(item);
                    blocked[d] = true;
                }
            }
        }
    }

    /// Records that were counted but not kept: they advance the sequence number.
    fn skip_dropped(&mut self, dir: Direction, n: u64) {
        let d = dir.index();
        self.counts[d].protected += n;
        if let Some(k) = &mut self.d13 {
            for _ in 0..n {
                k[d].skip_one();
            }
        } else {
            self.seq12[d] += n;
        }
    }

    fn failed(&mut self, dir: Direction, index: u64, reason: Option<String>) {
        if let Some(r) = reason {
            self.reason(r);
        } else if self.first_failure.is_none() {
            self.first_failure = Some((index, dir));
        }
    }

    /// Handles one record. Returns `Blocked` without any side effect when
    /// the record must wait.
    fn process(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        header: Header,
        index: u64,
        frag: &[u8],
    ) -> Step {
        let d = dir.index();
        let ct = header.content_type;
        if self.tls13 {
            if ct != content::APPLICATION_DATA {
                return self.plaintext(cx, dir, header, frag);
            }
            return self.process13(cx, dir, header, index, frag);
        }
        // TLS ≤ 1.2, or the version is not known yet.
        if matches!(self.d12[d], State12::Plain) {
            if ct == content::APPLICATION_DATA {
                if self.client_hellos == 0 && !self.sslv2_hello {
                    self.counts[d].protected += 1;
                    self.counts[d].app += 1;
                    self.reason(
                        "handshake missing from capture (stream picked up mid-connection)".into(),
                    );
                    return Step::Done;
                }
                if self.server_hellos == 0 {
                    return Step::Blocked(Block::ServerHello);
                }
                self.counts[d].protected += 1;
                self.counts[d].app += 1;
                self.failed(
                    dir,
                    index,
                    Some("application data before ChangeCipherSpec".into()),
                );
                return Step::Done;
            }
            if ct == content::CHANGE_CIPHER_SPEC {
                return self.change_cipher_spec(cx, dir, None);
            }
            return self.plaintext(cx, dir, header, frag);
        }
        // Protected record under an active (or unavailable) cipher.
        if ct == content::CHANGE_CIPHER_SPEC {
            // Renegotiation: the new keys must be available before this record is consumed.
            if let Err(b) = self.next_cipher_ready(cx.env, dir) {
                return Step::Blocked(b);
            }
        }
        self.counts[d].protected += 1;
        if ct == content::APPLICATION_DATA {
            self.counts[d].app += 1;
        }
        let seq = self.seq12[d];
        self.seq12[d] += 1;
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        buf.extend_from_slice(frag);
        let opened = match &mut self.d12[d] {
            State12::Active(c) => c.open(seq.to_be_bytes(), ct, header.version, &mut buf),
            State12::Unavailable(r) => {
                let r = r.clone();
                self.failed(dir, index, Some(r));
                None
            }
            State12::Plain => None,
        };
        let unavailable = matches!(self.d12[d], State12::Unavailable(_));
        self.unreadable[d] |= unavailable;
        match opened {
            Some(range) => {
                self.counts[d].decrypted += 1;
                if ct == content::APPLICATION_DATA {
                    self.counts[d].app_decrypted += 1;
                }
                let plain = buf.get(range).unwrap_or(&[]);
                self.dispatch(cx, dir, ct, plain, true);
            }
            None if !unavailable => self.failed(dir, index, None),
            None => {}
        }
        self.scratch = buf;
        if ct == content::CHANGE_CIPHER_SPEC {
            return self.change_cipher_spec(cx, dir, Some(()));
        }
        Step::Done
    }

    fn process13(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        header: Header,
        index: u64,
        frag: &[u8],
    ) -> Step {
        let d = dir.index();
        let env = cx.env;
        if self.client_random.is_none() {
            self.counts[d].protected += 1;
            self.counts[d].app += 1;
            self.reason("handshake missing from capture (no ClientHello)".into());
            return Step::Done;
        }
        let secrets = self.secrets(env);
        if secrets.is_none() {
            if env.secrets_may_arrive {
                return Step::Blocked(Block::NoSecrets);
            }
            self.counts[d].protected += 1;
            self.counts[d].app += 1;
            self.reason(self.no_secrets_reason());
            self.unreadable[d] = true;
            return Step::Done;
        }
        let Some(keys) = &mut self.d13 else {
            // HelloRetryRequest seen, ServerHello not yet.
            return Step::Blocked(Block::ServerHello);
        };
        self.counts[d].protected += 1;
        self.counts[d].app += 1;
        let mut buf = std::mem::take(&mut self.scratch);
        let aad = header.bytes();
        match keys[d].open(secrets, &aad, frag, &mut buf) {
            Open13::Opened { ctype, len } => {
                if self.key_source.is_none() {
                    self.key_source = secrets.and_then(|s| s.source);
                }
                self.counts[d].decrypted += 1;
                self.counts[d].app_decrypted += 1;
                let plain = buf.get(..len).unwrap_or(&[]);
                self.dispatch(cx, dir, ctype, plain, true);
            }
            Open13::Failed { missing } => {
                let r = missing.map(|l| {
                    format!(
                        "no {} for client random {}…",
                        l.as_str(),
                        random_prefix(self.client_random.as_ref().map_or(&[][..], |r| &r[..]))
                    )
                });
                self.failed(dir, index, r);
            }
        }
        self.scratch = buf;
        Step::Done
    }

    /// A record whose content is in the clear (handshake, alert, CCS before keys).
    fn plaintext(&mut self, cx: &mut Cx<'_>, dir: Direction, header: Header, frag: &[u8]) -> Step {
        self.dispatch(cx, dir, header.content_type, frag, false);
        Step::Done
    }

    /// Routes record content (plaintext or decrypted) by content type.
    fn dispatch(&mut self, cx: &mut Cx<'_>, dir: Direction, ct: u8, data: &[u8], decrypted: bool) {
        match ct {
            content::HANDSHAKE => {
                let msgs = self.hs[dir.index()].push(data);
                for m in msgs {
                    self.on_handshake(cx, dir, &m, decrypted);
                }
            }
            content::APPLICATION_DATA => self.app_data(cx, dir, data),
            content::ALERT => {
                if let [level, desc, ..] = data {
                    if self.alerts < MAX_ALERTS {
                        cx.meta(
                            "tls.alert",
                            format!("{} {}", dir.as_str(), handshake::alert_text(*level, *desc)),
                        );
                    }
                    self.alerts += 1;
                }
            }
            content::HEARTBEAT => cx.meta("tls.heartbeat", dir.as_str()),
            _ => {}
        }
    }

    fn app_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if let Some(tap) = &mut self.tap {
            tap(dir, data);
        }
        if data.is_empty() {
            return;
        }
        if self.inner.is_none() {
            let label = self.label();
            let layer = if self.null_cipher {
                Layer::plain(label)
            } else {
                Layer::keyed(label, self.key_source.unwrap_or(KeySource::KeyLog))
            };
            let alpn = self
                .selected_alpn
                .as_deref()
                .or(match self.offered_alpn.as_slice() {
                    [one] => Some(one.as_str()),
                    _ => None,
                });
            let protocol = alpn.and_then(alpn_hint);
            if protocol.is_some() {
                self.inner_alpn = alpn.map(str::to_string);
            }
            self.inner = Some(Stream::new(layer, Hint { protocol }));
        }
        self.app_bytes += data.len() as u64;
        if let Some(inner) = &mut self.inner {
            inner.data(cx, dir, data);
        }
    }

    /// The decrypted stream speaks a cleartext application protocol (per
    /// ALPN) that no dissector parsed: its bytes are that protocol's framing,
    /// maybe compressed, not end-to-end ciphertext. Say so, so the flow is
    /// never called `sealed` on the strength of compressed HTTP.
    fn unparsed_alpn(&mut self, cx: &mut Cx<'_>) {
        let (Some(inner), Some(alpn)) = (&self.inner, &self.inner_alpn) else {
            return;
        };
        if inner.protocol().is_some() {
            return;
        }
        let layer = inner.layer().clone();
        let bytes = self.app_bytes;
        let alpn = alpn.clone();
        cx.with_layer(layer, |cx| {
            cx.anomaly(
                "tls-inner-unparsed",
                format!("decrypted {alpn} (from ALPN) that no dissector parsed"),
            );
            cx.emit(
                EvidenceKind::Payload {
                    class: PayloadClass::Binary,
                    bytes,
                    entropy: 0.0,
                    printable: 0.0,
                },
                None,
                None,
            );
        });
    }

    fn on_handshake(&mut self, cx: &mut Cx<'_>, dir: Direction, m: &Message, encrypted: bool) {
        if !self.tls13 && self.master.is_none() && self.transcript.len() < TRANSCRIPT_CAP {
            let len = (m.body.len() as u32).to_be_bytes();
            self.transcript
                .extend_from_slice(&[m.msg_type, len[1], len[2], len[3]]);
            self.transcript.extend_from_slice(&m.body);
        }
        match (m.msg_type, dir) {
            (msg::CLIENT_HELLO, Direction::ToServer) => self.client_hello(cx, &m.body),
            (msg::SERVER_HELLO, Direction::ToClient) => self.server_hello(cx, &m.body, encrypted),
            (msg::CERTIFICATE, Direction::ToClient) if !self.tls13 => {
                if let Some(leaf) = handshake::certificate_list12(&m.body).first()
                    && let Some(n) = certificate::names(leaf)
                {
                    if !n.subject.is_empty() {
                        cx.meta("tls.cert.subject", n.subject);
                    }
                    if !n.san.is_empty() {
                        cx.meta("tls.cert.san", n.san.join(", "));
                    }
                    if !n.issuer.is_empty() {
                        cx.meta("tls.cert.issuer", n.issuer);
                    }
                }
            }
            (msg::CLIENT_KEY_EXCHANGE, Direction::ToServer) => {
                self.transcript_at_cke = Some(self.transcript.len());
                let kx = self.suite.and_then(Suite::get).map(|s| s.kx);
                if matches!(kx, Some(Kx::Rsa | Kx::RsaExport)) {
                    let ssl3 = self.version == Some(0x0300);
                    self.rsa_encrypted_pms =
                        handshake::rsa_encrypted_premaster(&m.body, ssl3).map(|v| v.to_vec());
                }
            }
            (msg::NEW_SESSION_TICKET, Direction::ToClient) if !self.tls13 => {
                if let Some(t) = handshake::parse_new_session_ticket12(&m.body) {
                    self.server_ticket = t.to_vec();
                    if let Some(r) = &self.master {
                        cx.env.tls.resumption.remember(BY_TICKET, t, r.clone());
                    }
                }
            }
            (msg::ENCRYPTED_EXTENSIONS, Direction::ToClient) => {
                if let Ok(exts) = handshake::parse_encrypted_extensions(&m.body)
                    && let Some(a) = exts.iter().find(|e| e.kind == ext::ALPN)
                {
                    self.selected_alpn = handshake::parse_alpn_list(a.data).into_iter().next();
                }
            }
            (msg::END_OF_EARLY_DATA, Direction::ToServer) => {
                if let Some(k) = &mut self.d13 {
                    k[0].end_of_early_data();
                }
            }
            (msg::FINISHED, _) => {
                if let Some(k) = &mut self.d13 {
                    k[dir.index()].finished();
                }
            }
            (msg::KEY_UPDATE, _) if self.tls13 => {
                if let Some(k) = &mut self.d13 {
                    k[dir.index()].key_update();
                    self.key_updates += 1;
                }
            }
            _ => {}
        }
    }

    fn client_hello(&mut self, cx: &mut Cx<'_>, body: &[u8]) {
        let ch = match handshake::parse_client_hello(body, false) {
            Ok(ch) => ch,
            Err(e) => {
                cx.anomaly("tls-bad-client-hello", e.to_string());
                return;
            }
        };
        self.client_hellos += 1;
        if self.client_hellos == 1 {
            report_client_hello(cx, &ch, Ja4Transport::Tcp);
            self.offered_alpn = ch.alpn();
        } else if !self.hrr {
            // Renegotiation: a new handshake under the current keys.
            self.renegotiations += 1;
            if self.renegotiations == 1 {
                cx.meta("tls.renegotiation", "yes");
            }
            self.server_random = None;
            self.master = None;
            self.rsa_encrypted_pms = None;
            self.transcript.clear();
            self.transcript_at_cke = None;
            self.pending12 = [None, None];
        }
        if self.client_random.is_none() || !self.hrr {
            self.client_random = Some(ch.random);
        }
        self.ch_session_id = ch.session_id.to_vec();
        self.ch_ticket = ch
            .extension(ext::SESSION_TICKET)
            .map(|t| t.to_vec())
            .unwrap_or_default();
        self.ch_ems = ch.extension(ext::EXTENDED_MASTER_SECRET).is_some();
        self.ch_etm = ch.extension(ext::ENCRYPT_THEN_MAC).is_some();
        if self.client_hellos == 1 {
            self.early_offered = ch.extension(ext::EARLY_DATA).is_some();
        }
    }

    fn server_hello(&mut self, cx: &mut Cx<'_>, body: &[u8], encrypted: bool) {
        let sh = match handshake::parse_server_hello(body) {
            Ok(sh) => sh,
            Err(e) => {
                cx.anomaly("tls-bad-server-hello", e.to_string());
                return;
            }
        };
        self.server_hellos += 1;
        let version = sh.version();
        let first = self.server_hellos == 1 || (self.hrr && self.server_hellos == 2);
        self.version = Some(version);
        self.suite = Some(sh.cipher_suite);
        let tls13 = version == 0x0304;
        if tls13 && !encrypted {
            self.tls13 = true;
        }
        if sh.is_hello_retry_request() {
            self.hrr = true;
            cx.meta("tls.hrr", "yes");
            return;
        }
        if first {
            report_server_hello(cx, &sh);
        }
        self.server_random = Some(sh.random);
        self.sh_session_id = sh.session_id.to_vec();
        self.etm = sh.encrypt_then_mac() && self.ch_etm;
        self.ems = sh.extension(ext::EXTENDED_MASTER_SECRET).is_some() && self.ch_ems;
        if !tls13 && let Some(a) = sh.alpn() {
            self.selected_alpn = Some(a);
        }
        let resumed = if tls13 {
            sh.extension(ext::PRE_SHARED_KEY).map(|_| "psk")
        } else if !sh.session_id.is_empty() && sh.session_id == self.ch_session_id.as_slice() {
            Some(if self.ch_ticket.is_empty() {
                "session id"
            } else {
                "session ticket"
            })
        } else {
            None
        };
        self.resumed = resumed.is_some();
        if first {
            cx.meta("tls.resumed", resumed.unwrap_or("no"));
        }
        if self.tls13 && self.d13.is_none() {
            if let Some((alg, hash)) = decrypt::tls13_algs(sh.cipher_suite) {
                self.d13 = Some([
                    Dir13::new(true, alg, hash, self.early_offered),
                    Dir13::new(false, alg, hash, false),
                ]);
                self.key_source = self
                    .secrets(cx.env)
                    .and_then(|s| s.source)
                    .or(self.key_source);
                // Everything after this hello is encrypted: without secrets
                // now or later, no record body will ever be needed.
                if !cx.env.secrets_may_arrive && self.secrets(cx.env).is_none() {
                    self.unreadable = [true; 2];
                }
            } else {
                self.reason(format!(
                    "unsupported cipher suite 0x{:04x}",
                    sh.cipher_suite
                ));
            }
        }
    }

    /// Whether the keys a (renegotiation) ChangeCipherSpec switches to can be set up now.
    fn next_cipher_ready(&mut self, env: &Env, dir: Direction) -> Result<(), Block> {
        if self.pending12[dir.index()].is_some() || self.server_random.is_none() {
            return Ok(());
        }
        match self.resolve_master(env) {
            Err(Some(b)) if env.secrets_may_arrive => Err(b),
            _ => Ok(()),
        }
    }

    /// ChangeCipherSpec in `dir`: its later records use the pending keys.
    /// `after` is set when the CCS record itself was already counted.
    fn change_cipher_spec(&mut self, cx: &mut Cx<'_>, dir: Direction, after: Option<()>) -> Step {
        let d = dir.index();
        if self.server_random.is_none() || self.suite.is_none() {
            if after.is_some() {
                self.d12[d] = State12::Unavailable(
                    "renegotiation keys unknown (ServerHello not decrypted)".into(),
                );
                return Step::Done;
            }
            return Step::Blocked(Block::ServerHello);
        }
        if let Some(c) = self.pending12[d].take() {
            self.activate(d, c);
            return Step::Done;
        }
        let env = cx.env;
        let null_suite = self
            .suite
            .and_then(Suite::get)
            .is_some_and(|s| s.bulk == Bulk::Null);
        let master = match self.resolve_master(env) {
            Ok(m) => m,
            // A NULL cipher needs no key to read: do not wait for secrets.
            Err(Some(b)) if after.is_none() && !null_suite && env.secrets_may_arrive => {
                return Step::Blocked(b);
            }
            Err(r) => {
                let why = match r {
                    Some(Block::Missing(l)) => format!(
                        "no {} for client random {}…",
                        l.as_str(),
                        random_prefix(self.client_random.as_ref().map_or(&[][..], |r| &r[..]))
                    ),
                    _ => self.no_secrets_reason(),
                };
                // A NULL cipher can be read without keys (the MAC is just not checked).
                if let Some(c) = self
                    .suite
                    .and_then(Suite::get)
                    .filter(|s| s.bulk == Bulk::Null)
                    .map(|s| Cipher12::null_unverified(s.mac))
                {
                    self.activate(d, Box::new(c));
                    return Step::Done;
                }
                self.d12[d] = State12::Unavailable(why);
                self.unreadable[d] = true;
                return Step::Done;
            }
        };
        let (suite, version) = (self.suite.unwrap_or(0), self.version.unwrap_or(0));
        let (cr, sr) = (
            self.client_random.unwrap_or([0; 32]),
            self.server_random.unwrap_or([0; 32]),
        );
        match Cipher12::pair(suite, version, &master.master, &cr, &sr, self.etm) {
            Ok([c, s]) => {
                let (mine, other) = if d == 0 { (c, s) } else { (s, c) };
                self.pending12[1 - d] = Some(Box::new(other));
                self.key_source = Some(master.source);
                self.activate(d, Box::new(mine));
            }
            Err(e) => {
                let why = match e {
                    decrypt::SetupError::UnsupportedSuite(s) => {
                        format!("unsupported cipher suite 0x{s:04x} ({})", Suite::name_of(s))
                    }
                    e => e.to_string(),
                };
                self.d12[d] = State12::Unavailable(why);
            }
        }
        Step::Done
    }

    fn activate(&mut self, d: usize, c: Box<Cipher12>) {
        if c.is_null() {
            self.null_cipher = true;
        }
        self.d12[d] = State12::Active(c);
        self.seq12[d] = 0;
    }

    fn no_secrets_reason(&self) -> String {
        match &self.client_random {
            Some(r) => format!("no secrets for client random {}…", random_prefix(r)),
            None => "handshake missing from capture (no ClientHello)".into(),
        }
    }

    /// The TLS ≤ 1.2 master secret of the current handshake. `Err(Some(_))`
    /// means it may still arrive (block), `Err(None)` that it cannot.
    fn resolve_master(&mut self, env: &Env) -> Result<Remembered, Option<Block>> {
        if let Some(m) = &self.master {
            return Ok(m.clone());
        }
        let cr = self.client_random.ok_or(None)?;
        let sr = self.server_random.ok_or(None)?;
        let secrets = env.secrets.get(&cr);
        let found = if let Some(ms) = secrets.and_then(|s| s.get(Label::ClientRandom)) {
            Some(Remembered {
                master: ms.to_vec(),
                source: secrets.and_then(|s| s.source).unwrap_or(KeySource::KeyLog),
            })
        } else if let Some(pms) = self
            .rsa_encrypted_pms
            .as_deref()
            .and_then(|e| env.secrets.rsa_premaster(e))
        {
            let suite = self.suite.and_then(Suite::get);
            let prf = suite
                .and_then(|s| decrypt::prf_for(self.version.unwrap_or(0), &s).ok())
                .ok_or(None)?;
            let master = if self.ems {
                let end = self
                    .transcript_at_cke
                    .unwrap_or(self.transcript.len())
                    .min(self.transcript.len());
                let h = prf::session_hash(prf, &self.transcript[..end]);
                prf::extended_master_secret(prf, pms, &h)
            } else {
                prf::master_secret(prf, pms, &cr, &sr)
            };
            Some(Remembered {
                master,
                source: KeySource::KeyLog,
            })
        } else if self.resumed {
            env.tls
                .resumption
                .recall(BY_SESSION_ID, &self.ch_session_id)
                .or_else(|| env.tls.resumption.recall(BY_TICKET, &self.ch_ticket))
        } else {
            None
        };
        let Some(m) = found else {
            return Err(Some(if secrets.is_none() {
                Block::NoSecrets
            } else {
                Block::Missing(Label::ClientRandom)
            }));
        };
        env.tls
            .resumption
            .remember(BY_SESSION_ID, &self.sh_session_id, m.clone());
        env.tls
            .resumption
            .remember(BY_TICKET, &self.server_ticket, m.clone());
        self.master = Some(m.clone());
        Ok(m)
    }

    fn finish(
        &mut self,
        cx: &mut Cx<'_>,
        lost: [bool; 2],
        partial: [Option<(u8, usize)>; 2],
        sizes: [(u64, u16); 2],
    ) {
        self.refresh(cx);
        self.pump(cx);
        // Records still waiting could not be opened.
        let mut waiting = 0u64;
        for d in 0..2 {
            let mut ccs = !matches!(self.d12[d], State12::Plain);
            for q in &self.queue[d] {
                let protected = if q.dropped > 0 {
                    q.dropped
                } else {
                    let p = if self.tls13 {
                        q.header.content_type == content::APPLICATION_DATA
                    } else {
                        ccs || q.header.content_type == content::APPLICATION_DATA
                    };
                    if q.header.content_type == content::CHANGE_CIPHER_SPEC {
                        ccs = true;
                    }
                    u64::from(p)
                };
                self.counts[d].protected += protected;
                if q.header.content_type == content::APPLICATION_DATA {
                    self.counts[d].app += protected;
                }
                waiting += protected;
            }
        }
        cx.env.tls.release(self.queued_bytes);
        self.queued_bytes = 0;
        if waiting > 0 {
            let block = self.block[0].or(self.block[1]);
            let r = match block {
                Some(Block::ServerHello) => {
                    "handshake missing from capture (no ServerHello)".to_string()
                }
                Some(Block::Missing(l)) => format!(
                    "no {} for client random {}…",
                    l.as_str(),
                    random_prefix(self.client_random.as_ref().map_or(&[][..], |r| &r[..]))
                ),
                _ => self.no_secrets_reason(),
            };
            self.reason(r);
        }
        let dropped = self.counts[0].dropped + self.counts[1].dropped;
        if dropped > 0 {
            self.reason(format!(
                "{dropped} record(s) not kept while waiting for keys (1 MiB cap)"
            ));
        }
        for (d, dir) in [Direction::ToServer, Direction::ToClient]
            .iter()
            .enumerate()
        {
            if self.counts[d].gap_bytes > 0 {
                self.reason(format!(
                    "{} bytes missing from the capture ({})",
                    self.counts[d].gap_bytes,
                    dir.as_str()
                ));
            }
            if lost[d] {
                self.reason(format!("record framing lost ({})", dir.as_str()));
            }
            // A record cut off by the end of the capture was not decrypted.
            if let Some((ct, len)) = partial[d]
                && (ct == content::APPLICATION_DATA
                    || (!self.tls13 && !matches!(self.d12[d], State12::Plain)))
            {
                self.counts[d].protected += 1;
                self.reason(format!(
                    "capture ends inside a record ({len} bytes, {})",
                    dir.as_str()
                ));
            }
        }
        let c = self.counts;
        cx.meta(
            "tls.records",
            format!(
                "client-to-server {} records, {} bytes (largest {}); server-to-client {} records, {} bytes (largest {})",
                c[0].records, sizes[0].0, sizes[0].1, c[1].records, sizes[1].0, sizes[1].1
            ),
        );
        if self.key_updates > 0 {
            cx.meta("tls.key-updates", self.key_updates.to_string());
        }
        if let Some(inner) = &mut self.inner {
            inner.finish(cx);
        }
        self.unparsed_alpn(cx);
        let records = c[0].protected + c[1].protected;
        let decrypted = c[0].decrypted + c[1].decrypted;
        if let Some((n, dir)) = self.first_failure {
            self.reason(format!(
                "decryption failed at record {n} ({})",
                dir.as_str()
            ));
        }
        let complete = self.reasons.is_empty() && decrypted == records;
        let state = if complete && (records > 0 || self.keys_known(cx.env)) {
            CryptoState::Opened
        } else {
            let reason = if self.reasons.is_empty() {
                if records == 0 {
                    format!(
                        "no encrypted records in the capture; {}",
                        self.no_secrets_reason()
                    )
                } else {
                    self.no_secrets_reason()
                }
            } else {
                self.reasons.join("; ")
            };
            if decrypted == 0 {
                CryptoState::NotOpened { reason }
            } else {
                CryptoState::Partial { reason }
            }
        };
        // A NULL cipher encrypts nothing: there is no encrypted layer to report,
        // and its content must be judged as the cleartext it is.
        let null_only = self.null_cipher
            && self
                .d12
                .iter()
                .all(|d| matches!(d, State12::Active(c) if c.is_null()));
        if null_only && state == CryptoState::Opened {
            cx.meta("tls.null-cipher", "records are not encrypted");
            return;
        }
        cx.crypto(self.label(), state, records, decrypted);
    }

    /// Secrets for this session exist (a handshake-only flow is then "opened").
    fn keys_known(&self, env: &Env) -> bool {
        self.master.is_some() || self.secrets(env).is_some()
    }
}

#[cfg(test)]
pub(crate) mod tests;
