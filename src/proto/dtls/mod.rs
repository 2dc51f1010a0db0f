//! DTLS over UDP: DTLS 1.0/1.2 records and handshake (cookie exchange,
//! fragmented messages), DTLS 1.3 unified headers with encrypted record
//! numbers, metadata (version, suite, SNI, JA4 `d…`, DTLS-SRTP profiles) and
//! decryption with session secrets.
//!
//! DTLS 1.3 is not "TLS 1.3 over UDP" for decryption (RFC 9147): labels use
//! the `dtls13` prefix, record numbers are masked with a key derived from the
//! traffic secret, the AAD is the header as sent with the sequence bytes
//! unmasked, and the nonce uses the 64-bit record number without the epoch.
//! DTLS 1.2 puts `epoch || seq48` where TLS has its implicit sequence number.

pub mod record;

use crate::evidence::CryptoState;
use crate::evidence::provenance::{KeySource, Layer};
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Confidence, Cx, Dissector, Env, Hint, PacketRef, Stream};
use crate::proto::registry::{FlowHint, ProbeInput};
use crate::proto::tls::decrypt::{self, Cipher12, TrafficKey};
use crate::proto::tls::fingerprint::Ja4Transport;
use crate::proto::tls::handshake::{self, Message, ext, msg};
use crate::proto::tls::keys::DTLS13;
use crate::proto::tls::record::content;
use crate::proto::tls::suites::Suite;
use crate::proto::tls::{self, certificate};
use crate::secrets::{Label, SessionSecrets};
use record::{Reassembler, Record};
use std::borrow::Cow;

/// Encrypted records kept per flow while waiting for secrets.
const QUEUE_CAP: usize = 1 << 20;

/// Probe over the first datagram: a DTLS record header (content type 20–26,
/// version `fe ff`/`fe fd`/`fe fc`, a length that fits) or a DTLS 1.3
/// unified header whose length field matches the datagram.
pub fn probe(input: &ProbeInput<'_>) -> Confidence {
    if input.transport != Transport::Udp {
        return Confidence::No;
    }
    let Some((_, d)) = input.datagrams.first() else {
        return Confidence::NeedMore;
    };
    classify(d)
}

fn classify(d: &[u8]) -> Confidence {
    let Some(&b0) = d.first() else {
        return Confidence::No;
    };
    if (20..=26).contains(&b0) {
        let Some(h) = d.get(..record::PLAIN_HEADER) else {
            return Confidence::No;
        };
        let version = u16::from_be_bytes([h[1], h[2]]);
        let len = u16::from_be_bytes([h[11], h[12]]) as usize;
        if !record::is_dtls_version(version) || record::PLAIN_HEADER + len > d.len() || len == 0 {
            return Confidence::No;
        }
        return match (b0, d.get(record::PLAIN_HEADER)) {
            (content::HANDSHAKE, Some(&msg::CLIENT_HELLO)) => Confidence::Certain,
            _ => Confidence::Likely,
        };
    }
    if b0 & 0xe0 == 0x20 && b0 & 0x10 == 0 && b0 & 0x04 != 0 {
        let seq_len = if b0 & 0x08 != 0 { 2 } else { 1 };
        let hlen = 1 + seq_len + 2;
        if let Some(h) = d.get(..hlen) {
            let len = u16::from_be_bytes([h[hlen - 2], h[hlen - 1]]) as usize;
            if len >= record::SN_SAMPLE && hlen + len == d.len() {
                return Confidence::Likely;
            }
        }
    }
    Confidence::No
}

/// Constructor for the registry.
pub fn make(_hint: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    Box::new(DtlsDissector::new(env.limits.max_message))
}

/// Why a record could not be opened yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    ServerHello,
    NoSecrets,
}

enum Open {
    Opened {
        ctype: u8,
        range: std::ops::Range<usize>,
    },
    Failed(Option<String>),
    Wait(Wait),
}

/// A DTLS 1.3 key of one epoch and direction.
struct Key13 {
    epoch: u64,
    key: Option<Box<TrafficKey>>,
    sn: Vec<u8>,
    missing: Option<Label>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    records: u64,
    protected: u64,
    decrypted: u64,
}

/// A record waiting for keys: the record bytes alone re-split on retry.
struct Queued {
    dir: Direction,
    bytes: Vec<u8>,
    pkt: PacketRef,
    cid_len: usize,
}

/// The DTLS dissector of one UDP flow.
pub struct DtlsDissector {
    hs: [Reassembler; 2],
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    version: Option<u16>,
    suite: Option<u16>,
    etm: bool,
    ch_etm: bool,
    client_hellos: u32,
    server_hellos: u32,
    offered_srtp: Vec<u16>,
    /// The flow direction the DTLS ClientHello travelled: in WebRTC the DTLS
    /// client need not be the side that sent the flow's first datagram.
    client_dir: Option<Direction>,
    /// Connection-id length of records sent to each side (RFC 9146), by role.
    cid_len: [usize; 2],
    c12: Option<Box<[Cipher12; 2]>>,
    k13: [Vec<Key13>; 2],
    /// Highest epoch and next record number per epoch, per direction (DTLS 1.3).
    hi_epoch: [u64; 2],
    next_seq: [Vec<(u64, u64)>; 2],
    key_source: Option<KeySource>,
    queue: Vec<Queued>,
    queued_bytes: usize,
    dropped: u64,
    wait: Option<Wait>,
    generation: u64,
    counts: [Counts; 2],
    reasons: Vec<String>,
    first_failure: Option<(u64, Direction)>,
    trailing: u64,
    inner: Option<Stream>,
    tap: Option<tls::Tap>,
    scratch: Vec<u8>,
}

impl DtlsDissector {
    /// Also hands each decrypted application-data record to `tap`.
    pub fn set_tap(&mut self, tap: tls::Tap) {
        self.tap = Some(tap);
    }

    pub fn new(max_message: usize) -> DtlsDissector {
        DtlsDissector {
            hs: [Reassembler::new(max_message), Reassembler::new(max_message)],
            client_random: None,
            server_random: None,
            version: None,
            suite: None,
            etm: false,
            ch_etm: false,
            client_hellos: 0,
            server_hellos: 0,
            offered_srtp: Vec::new(),
            client_dir: None,
            cid_len: [0, 0],
            c12: None,
            k13: Default::default(),
            hi_epoch: [2, 2],
            next_seq: Default::default(),
            key_source: None,
            queue: Vec::new(),
            queued_bytes: 0,
            dropped: 0,
            wait: None,
            generation: 0,
            counts: Default::default(),
            reasons: Vec::new(),
            first_failure: None,
            trailing: 0,
            inner: None,
            tap: None,
            scratch: Vec::with_capacity(1 << 14),
        }
    }

    fn reason(&mut self, r: String) {
        if self.reasons.len() < 4 && !self.reasons.contains(&r) {
            self.reasons.push(r);
        }
    }

    fn label(&self) -> &'static str {
        tls::version_label(self.version.unwrap_or(0))
    }

    /// Key-schedule role of a flow direction: 0 for the DTLS client's records, 1 for the server's.
    fn role(&self, dir: Direction) -> usize {
        match self.client_dir {
            Some(c) if c == dir => 0,
            Some(_) => 1,
            None => dir.index(),
        }
    }

    fn secrets<'e>(&self, env: &'e Env) -> Option<&'e SessionSecrets> {
        env.secrets.get(self.client_random.as_ref()?)
    }

    fn random_prefix(&self) -> String {
        tls::random_prefix(self.client_random.as_ref().map_or(&[][..], |r| &r[..]))
    }

    fn refresh(&mut self, cx: &mut Cx<'_>) {
        let g = cx.env.secrets.generation();
        if g == self.generation {
            return;
        }
        self.generation = g;
        for k in self.k13.iter_mut() {
            k.retain(|k| k.missing.is_none());
        }
        self.retry(cx);
    }

    /// Retries records that waited for keys or for the ServerHello.
    fn retry(&mut self, cx: &mut Cx<'_>) {
        if self.queue.is_empty() {
            return;
        }
        let queue = std::mem::take(&mut self.queue);
        cx.env.tls.release(self.queued_bytes);
        self.queued_bytes = 0;
        self.wait = None;
        for q in queue {
            let saved = cx.pkt;
            cx.pkt = q.pkt;
            let (recs, _) = record::split(&q.bytes, q.cid_len);
            for r in recs {
                self.protected(cx, q.dir, r, &q.bytes, false);
            }
            cx.pkt = saved;
        }
    }

    fn datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        self.refresh(cx);
        let cid = self.cid_len[self.role(dir)];
        let (recs, trailing) = record::split(data, cid);
        if trailing {
            self.trailing += 1;
            if self.trailing == 1 {
                cx.anomaly(
                    "dtls-unframed-bytes",
                    format!("{}: datagram bytes that are not DTLS records", dir.as_str()),
                );
            }
        }
        for r in recs {
            self.counts[dir.index()].records += 1;
            match r {
                Record::Plain {
                    epoch: 0,
                    content_type,
                    fragment,
                    ..
                } => self.dispatch(cx, dir, content_type, fragment),
                r => {
                    let bytes = record_bytes(data, &r);
                    self.protected(cx, dir, r, bytes, true);
                }
            }
        }
        if self.server_hellos > 0 && !self.queue.is_empty() && self.wait == Some(Wait::ServerHello)
        {
            self.retry(cx);
        }
    }

    /// A protected record (epoch ≥ 1 or a unified header). `first` is false on retries.
    fn protected(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        r: Record<'_>,
        bytes: &[u8],
        first: bool,
    ) {
        let d = dir.index();
        if first {
            self.counts[d].protected += 1;
        }
        let mut buf = std::mem::take(&mut self.scratch);
        let res = match &r {
            Record::Plain {
                content_type,
                version,
                epoch,
                seq,
                fragment,
            } => self.open12(
                cx.env,
                dir,
                *content_type,
                *version,
                *epoch,
                *seq,
                fragment,
                &mut buf,
            ),
            Record::Unified {
                header,
                seq_at,
                seq_len,
                epoch_bits,
                ciphertext,
            } => self.open13(
                cx.env,
                dir,
                header,
                *seq_at,
                *seq_len,
                *epoch_bits,
                ciphertext,
                &mut buf,
            ),
        };
        match res {
            Open::Opened { ctype, range } => {
                self.counts[d].decrypted += 1;
                if self.key_source.is_none() {
                    self.key_source = self.secrets(cx.env).and_then(|s| s.source);
                }
                let plain = buf.get(range).unwrap_or(&[]).to_vec();
                self.scratch = buf;
                self.dispatch(cx, dir, ctype, &plain);
                if ctype == content::APPLICATION_DATA {
                    self.app_data(cx, dir, &plain);
                }
                return;
            }
            Open::Failed(reason) => match reason {
                Some(r) => self.reason(r),
                None => {
                    if self.first_failure.is_none() {
                        self.first_failure = Some((self.counts[d].records, dir));
                    }
                }
            },
            Open::Wait(w) => {
                self.wait = Some(w);
                if self.queued_bytes + bytes.len() > QUEUE_CAP || !cx.env.tls.reserve(bytes.len()) {
                    self.dropped += 1;
                } else {
                    self.queued_bytes += bytes.len();
                    self.queue.push(Queued {
                        dir,
                        bytes: bytes.to_vec(),
                        pkt: cx.pkt,
                        cid_len: self.cid_len[self.role(dir)],
                    });
                }
            }
        }
        self.scratch = buf;
    }

    #[allow(clippy::too_many_arguments)]
    fn open12(
        &mut self,
        env: &Env,
        dir: Direction,
        ct: u8,
        version: u16,
        epoch: u16,
        seq: u64,
        frag: &[u8],
        buf: &mut Vec<u8>,
    ) -> Open {
        if self.server_hellos == 0 {
            return Open::Wait(Wait::ServerHello);
        }
        if epoch != 1 {
            return Open::Failed(Some(format!(
                "epoch {epoch} keys (renegotiation) not supported"
            )));
        }
        if self.c12.is_none() {
            let Some(cr) = self.client_random else {
                return Open::Failed(Some(
                    "handshake missing from capture (no ClientHello)".into(),
                ));
            };
            let Some(secrets) = self.secrets(env) else {
                return Open::Wait(Wait::NoSecrets);
            };
            let Some(master) = secrets.get(Label::ClientRandom) else {
                return Open::Failed(Some(format!(
                    "no CLIENT_RANDOM for client random {}…",
                    self.random_prefix()
                )));
            };
            let (suite, v) = (self.suite.unwrap_or(0), self.version.unwrap_or(0));
            let sr = self.server_random.unwrap_or([0; 32]);
            match Cipher12::pair(suite, v, master, &cr, &sr, self.etm) {
                Ok(pair) => self.c12 = Some(Box::new(pair)),
                Err(e) => {
                    return Open::Failed(Some(match e {
                        decrypt::SetupError::UnsupportedSuite(s) => {
                            format!("unsupported cipher suite 0x{s:04x} ({})", Suite::name_of(s))
                        }
                        e => e.to_string(),
                    }));
                }
            }
        }
        let Some(c) = &mut self.c12 else {
            return Open::Failed(None);
        };
        buf.clear();
        buf.extend_from_slice(frag);
        let role = match self.client_dir {
            Some(cd) if cd != dir => 1,
            Some(_) => 0,
            None => dir.index(),
        };
        match c[role].open(record::epoch_seq(epoch, seq), ct, version, buf) {
            Some(range) => Open::Opened { ctype: ct, range },
            None => Open::Failed(None),
        }
    }

    fn label13(client: bool, epoch: u64) -> Option<Label> {
        Some(match (epoch, client) {
            (1, true) => Label::ClientEarlyTrafficSecret,
            (1, false) => return None,
            (2, true) => Label::ClientHandshakeTrafficSecret,
            (2, false) => Label::ServerHandshakeTrafficSecret,
            (_, true) => Label::ClientTrafficSecret0,
            (_, false) => Label::ServerTrafficSecret0,
        })
    }

    /// The DTLS 1.3 key of `epoch` for direction `d`, derived on first use.
    fn key13(&mut self, d: usize, epoch: u64, secrets: &SessionSecrets) -> Option<usize> {
        if let Some(i) = self.k13[d].iter().position(|k| k.epoch == epoch) {
            return Some(i);
        }
        if epoch == 0 || epoch > 3 + 64 || self.k13[d].len() > 70 {
            return None;
        }
        let (alg, hash) = decrypt::tls13_algs(self.suite?)?;
        let label = Self::label13(d == 0, epoch)?;
        let derived = if epoch > 3 {
            // KeyUpdate: the next generation of the previous epoch's key.
            let prev = self.key13(d, epoch - 1, secrets)?;
            self.k13[d][prev].key.as_ref().and_then(|k| k.next().ok())
        } else {
            secrets
                .get(label)
                .and_then(|s| TrafficKey::derive(alg, hash, s, DTLS13).ok())
        };
        let sn = derived
            .as_ref()
            .and_then(|k| k.sn_key().ok())
            .unwrap_or_default();
        self.k13[d].push(Key13 {
            epoch,
            missing: derived.is_none().then_some(label),
            key: derived.map(Box::new),
            sn,
        });
        Some(self.k13[d].len() - 1)
    }

    #[allow(clippy::too_many_arguments)]
    fn open13(
        &mut self,
        env: &Env,
        dir: Direction,
        header: &[u8],
        seq_at: usize,
        seq_len: usize,
        epoch_bits: u8,
        ciphertext: &[u8],
        buf: &mut Vec<u8>,
    ) -> Open {
        let d = self.role(dir);
        if self.client_random.is_none() {
            return Open::Failed(Some(
                "handshake missing from capture (no ClientHello)".into(),
            ));
        }
        if self.server_hellos == 0 {
            return Open::Wait(Wait::ServerHello);
        }
        let Some(secrets) = self.secrets(env) else {
            return Open::Wait(Wait::NoSecrets);
        };
        let Some((alg, _)) = self.suite.and_then(decrypt::tls13_algs) else {
            return Open::Failed(Some(format!(
                "unsupported cipher suite 0x{:04x}",
                self.suite.unwrap_or(0)
            )));
        };
        if ciphertext.len() < record::SN_SAMPLE {
            return Open::Failed(None);
        }
        let e0 = record::reconstruct(self.hi_epoch[d], epoch_bits as u64, 2);
        let mut candidates = vec![e0];
        if e0 >= 4 {
            candidates.push(e0 - 4);
        }
        candidates.push(e0 + 4);
        let mut missing = None;
        for epoch in candidates {
            let Some(i) = self.key13(d, epoch, secrets) else {
                continue;
            };
            let k = &self.k13[d][i];
            let Some(key) = &k.key else {
                missing = missing.or(k.missing);
                continue;
            };
            let Some(mask) = decrypt::dtls13_sn_mask(alg, &k.sn, ciphertext) else {
                continue;
            };
            let mut aad = header.to_vec();
            let mut low = 0u64;
            for i in 0..seq_len {
                aad[seq_at + i] ^= mask[i];
                low = (low << 8) | aad[seq_at + i] as u64;
            }
            let expected = self.next_seq[d]
                .iter()
                .find(|(e, _)| *e == epoch)
                .map_or(0, |(_, s)| *s);
            let seq = record::reconstruct(expected, low, 8 * seq_len as u32);
            buf.clear();
            buf.extend_from_slice(ciphertext);
            if let Some((ctype, len)) = key.open(seq, &aad, buf) {
                self.hi_epoch[d] = self.hi_epoch[d].max(epoch);
                match self.next_seq[d].iter_mut().find(|(e, _)| *e == epoch) {
                    Some(slot) => slot.1 = slot.1.max(seq + 1),
                    None => self.next_seq[d].push((epoch, seq + 1)),
                }
                return Open::Opened {
                    ctype,
                    range: 0..len,
                };
            }
        }
        Open::Failed(missing.map(|l| {
            format!(
                "no {} for client random {}…",
                l.as_str(),
                self.random_prefix()
            )
        }))
    }

    fn dispatch(&mut self, cx: &mut Cx<'_>, dir: Direction, ct: u8, data: &[u8]) {
        match ct {
            content::HANDSHAKE => {
                for m in self.hs[dir.index()].push(data) {
                    self.on_handshake(cx, dir, &m);
                }
            }
            content::ALERT => {
                if let [level, desc, ..] = data {
                    cx.meta(
                        "tls.alert",
                        format!("{} {}", dir.as_str(), handshake::alert_text(*level, *desc)),
                    );
                }
            }
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
        let label = self.label();
        let source = self.key_source.unwrap_or(KeySource::KeyLog);
        let inner = self
            .inner
            .get_or_insert_with(|| Stream::datagrams(Layer::keyed(label, source), Hint::default()));
        inner.data(cx, dir, data);
    }

    fn on_handshake(&mut self, cx: &mut Cx<'_>, dir: Direction, m: &Message) {
        let client = match self.client_dir {
            Some(cd) => cd == dir,
            None => m.msg_type == msg::CLIENT_HELLO,
        };
        match (m.msg_type, client) {
            (msg::CLIENT_HELLO, true) => {
                let Ok(ch) = handshake::parse_client_hello(&m.body, true) else {
                    cx.anomaly("dtls-bad-client-hello", "ClientHello could not be parsed");
                    return;
                };
                self.client_hellos += 1;
                if self.client_hellos == 1 {
                    self.client_dir = Some(dir);
                    tls::report_client_hello(cx, &ch, Ja4Transport::Dtls);
                    self.client_random = Some(ch.random);
                    self.offered_srtp = ch
                        .extension(ext::USE_SRTP)
                        .map(handshake::parse_use_srtp)
                        .unwrap_or_default();
                }
                self.ch_etm = ch.extension(ext::ENCRYPT_THEN_MAC).is_some();
                if let Some(c) = ch.extension(CONNECTION_ID) {
                    self.cid_len[1] = c.first().copied().unwrap_or(0) as usize;
                }
            }
            (3, false) => cx.meta("dtls.hello-verify", "cookie exchange"),
            (msg::SERVER_HELLO, false) => {
                let Ok(sh) = handshake::parse_server_hello(&m.body) else {
                    cx.anomaly("dtls-bad-server-hello", "ServerHello could not be parsed");
                    return;
                };
                self.server_hellos += 1;
                if sh.is_hello_retry_request() {
                    cx.meta("tls.hrr", "yes");
                    return;
                }
                if self.server_hellos == 1 || self.server_random.is_none() {
                    tls::report_server_hello(cx, &sh);
                    if let Some(p) = sh.extension(ext::USE_SRTP) {
                        let names: Vec<String> = handshake::parse_use_srtp(p)
                            .into_iter()
                            .map(handshake::srtp_profile_name)
                            .collect();
                        cx.meta("dtls.use_srtp", names.join(","));
                    }
                }
                self.version = Some(sh.version());
                self.suite = Some(sh.cipher_suite);
                self.server_random = Some(sh.random);
                self.etm = sh.encrypt_then_mac() && self.ch_etm;
                if let Some(c) = sh.extension(CONNECTION_ID) {
                    self.cid_len[0] = c.first().copied().unwrap_or(0) as usize;
                }
            }
            (msg::CERTIFICATE, false) if self.version != Some(0xfefc) => {
                if let Some(leaf) = handshake::certificate_list12(&m.body).first()
                    && let Some(n) = certificate::names(leaf)
                {
                    if !n.subject.is_empty() {
                        cx.meta("tls.cert.subject", n.subject);
                    }
                    if !n.san.is_empty() {
                        cx.meta("tls.cert.san", n.san.join(", "));
                    }
                }
            }
            _ => {}
        }
    }
}

/// `connection_id` extension (RFC 9146).
const CONNECTION_ID: u16 = 54;

/// The bytes of one record within its datagram (for the waiting queue).
fn record_bytes<'a>(datagram: &'a [u8], r: &Record<'a>) -> &'a [u8] {
    let (start, end) = match r {
        Record::Plain { fragment, .. } => {
            let end = fragment.as_ptr() as usize - datagram.as_ptr() as usize + fragment.len();
            (end - fragment.len() - record::PLAIN_HEADER, end)
        }
        Record::Unified {
            header, ciphertext, ..
        } => {
            let start = header.as_ptr() as usize - datagram.as_ptr() as usize;
            let end = ciphertext.as_ptr() as usize - datagram.as_ptr() as usize + ciphertext.len();
            (start, end)
        }
    };
    datagram.get(start..end).unwrap_or(&[])
}

impl Dissector for DtlsDissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("dtls")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        self.datagram(cx, dir, data);
    }

    fn on_datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        self.datagram(cx, dir, data);
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        self.refresh(cx);
        self.retry(cx);
        cx.env.tls.release(self.queued_bytes);
        self.queued_bytes = 0;
        if !self.queue.is_empty() || self.dropped > 0 {
            let r = match self.wait {
                Some(Wait::ServerHello) => "handshake missing from capture (no ServerHello)".into(),
                _ => match self.client_random {
                    Some(_) => format!("no secrets for client random {}…", self.random_prefix()),
                    None => "handshake missing from capture (no ClientHello)".into(),
                },
            };
            self.reason(r);
        }
        if self.dropped > 0 {
            self.reason(format!(
                "{} record(s) not kept while waiting for keys (1 MiB cap)",
                self.dropped
            ));
        }
        if self.server_random.is_none() && !self.offered_srtp.is_empty() {
            let names: Vec<String> = self
                .offered_srtp
                .iter()
                .map(|p| handshake::srtp_profile_name(*p))
                .collect();
            cx.meta("dtls.use_srtp", format!("{} (offered)", names.join(",")));
        }
        if let Some(inner) = &mut self.inner {
            inner.finish(cx);
        }
        if let Some((n, dir)) = self.first_failure {
            self.reason(format!(
                "decryption failed at record {n} ({})",
                dir.as_str()
            ));
        }
        let c = self.counts;
        let records = c[0].protected + c[1].protected;
        let decrypted = c[0].decrypted + c[1].decrypted;
        let keys = self.secrets(cx.env).is_some();
        let state = if self.reasons.is_empty() && decrypted == records && (records > 0 || keys) {
            CryptoState::Opened
        } else {
            let reason = if self.reasons.is_empty() {
                match self.client_random {
                    Some(_) if records == 0 => format!(
                        "no encrypted records in the capture; no secrets for client random {}…",
                        self.random_prefix()
                    ),
                    Some(_) => format!("no secrets for client random {}…", self.random_prefix()),
                    None => "handshake missing from capture (no ClientHello)".into(),
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
        cx.crypto(self.label(), state, records, decrypted);
    }

    fn claims_payload(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
