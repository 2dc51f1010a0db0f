//! The QUIC dissector: one per UDP flow.
//!
//! Initial packets are opened with keys derived from public salts (layer
//! `quic-initial`, keyless): the ClientHello inside gives SNI and ALPN to
//! anyone on the path. Handshake, 0-RTT and 1-RTT packets need the TLS
//! secrets of the session, looked up by the ClientHello random in the key
//! log; what they carry (HTTP/3 or raw stream data) is under the keyed
//! layer `quic`. Packets that cannot be opened yet are buffered (bounded)
//! and retried when secrets arrive later in the capture.

use super::frames::{self, Frame, Frames};
use super::gquic;
use super::header::{self, LongHeader, Packet};
use super::protect::{self, DirKeys, HpKey, PacketKey, Suite, Unprotected};
use super::reasm::Reassembler;
use super::version::{self, Labels, LongType, Version};
use crate::evidence::canary::ScanState;
use crate::evidence::provenance::KeySource;
use crate::evidence::{CryptoState, Layer};
use crate::model::Direction;
use crate::proto::dissector::{Cx, Dissector, Hint, PacketRef, Stream};
use crate::proto::http3;
use crate::proto::tls::fingerprint::{self, Ja4Transport};
use crate::proto::tls::handshake::{self, Cursor, ext, msg};
use crate::secrets::Label;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// CRYPTO data kept per direction and packet-number space.
const CRYPTO_CAP: usize = 64 * 1024;
/// Initial packets decrypted per connection (a client sends a handful).
const MAX_INITIAL_PACKETS: u32 = 64;
/// Undecrypted packets kept for a retry when secrets arrive later.
const MAX_PENDING_PACKETS: usize = 1024;
const MAX_PENDING_BYTES: usize = 4 << 20;
/// Out-of-order STREAM data buffered per stream direction and per connection.
const STREAM_REORDER_CAP: usize = 1 << 20;
const CONN_REORDER_CAP: usize = 8 << 20;
/// Stream directions read at once; data of further streams is counted only.
const MAX_STREAMS: usize = 1024;
/// Ended stream directions remembered, so late retransmissions are ignored.
const MAX_DONE: usize = 1 << 16;
/// Distinct versions and close reasons reported per flow.
const MAX_VERSIONS: usize = 4;

/// Packet protection epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Epoch {
    Initial = 0,
    ZeroRtt = 1,
    Handshake = 2,
    OneRtt = 3,
}

impl Epoch {
    /// Packet-number space: Initial, Handshake, application data.
    fn space(self) -> usize {
        match self {
            Epoch::Initial => 0,
            Epoch::Handshake => 1,
            Epoch::ZeroRtt | Epoch::OneRtt => 2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Epoch::Initial => "Initial",
            Epoch::ZeroRtt => "0-RTT",
            Epoch::Handshake => "Handshake",
            Epoch::OneRtt => "1-RTT",
        }
    }

    fn secret_label(self, dir: Direction) -> Option<Label> {
        Some(match (self, dir) {
            (Epoch::ZeroRtt, Direction::ToServer) => Label::ClientEarlyTrafficSecret,
            (Epoch::Handshake, Direction::ToServer) => Label::ClientHandshakeTrafficSecret,
            (Epoch::Handshake, Direction::ToClient) => Label::ServerHandshakeTrafficSecret,
            (Epoch::OneRtt, Direction::ToServer) => Label::ClientTrafficSecret0,
            (Epoch::OneRtt, Direction::ToClient) => Label::ServerTrafficSecret0,
            _ => return None,
        })
    }
}

/// Keys of one direction in one keyed epoch, with key-update state for 1-RTT.
struct EpochKeys {
    suite: Suite,
    labels: Labels,
    hp: HpKey,
    cur: PacketKey,
    /// The secret of the current key generation (1-RTT key updates derive from it).
    secret: Vec<u8>,
    phase: bool,
    prev: Option<PacketKey>,
    updates: u64,
}

impl EpochKeys {
    fn derive(suite: Suite, labels: Labels, secret: &[u8]) -> Option<EpochKeys> {
        let k = DirKeys::derive(suite, secret, &labels).ok()?;
        Some(EpochKeys {
            suite,
            labels,
            hp: k.hp,
            cur: k.pkt,
            secret: secret.to_vec(),
            phase: false,
            prev: None,
            updates: 0,
        })
    }

    /// Removes header protection and opens the packet, following a key update
    /// when the key-phase bit flips.
    fn open(
        &mut self,
        pkt: &[u8],
        pn_offset: usize,
        end: usize,
        largest: Option<u64>,
        short: bool,
    ) -> Option<(Vec<u8>, u64)> {
        let h = protect::remove_header_protection(pkt, pn_offset, &self.hp)?;
        let pn = protect::decode_packet_number(largest, h.truncated_pn, h.pn_len);
        if !short || h.key_phase() == self.phase {
            return protect::open(&self.cur, pkt, end, &h, pn).map(|p| (p, pn));
        }
        if let Some(prev) = &self.prev
            && let Some(p) = protect::open(prev, pkt, end, &h, pn)
        {
            return Some((p, pn));
        }
        self.try_update(pkt, end, &h, pn).map(|p| (p, pn))
    }

    fn try_update(&mut self, pkt: &[u8], end: usize, h: &Unprotected, pn: u64) -> Option<Vec<u8>> {
        let next_secret = protect::next_secret(self.suite, &self.secret, &self.labels).ok()?;
        let next = PacketKey::derive(self.suite, &next_secret, &self.labels).ok()?;
        let plain = protect::open(&next, pkt, end, h, pn)?;
        self.prev = Some(std::mem::replace(&mut self.cur, next));
        self.secret = next_secret;
        self.phase = !self.phase;
        self.updates += 1;
        Some(plain)
    }
}

/// A handshake byte stream (CRYPTO frames) of one direction and space.
#[derive(Default)]
struct CryptoStream {
    reasm: Reassembler,
    buf: Vec<u8>,
    overflow: bool,
}

impl CryptoStream {
    fn new() -> CryptoStream {
        CryptoStream {
            reasm: Reassembler::new(CRYPTO_CAP),
            ..CryptoStream::default()
        }
    }

    /// Adds CRYPTO data; returns the complete handshake messages now available
    /// as (type, body), and whether the data had to be dropped.
    fn push(&mut self, offset: u64, data: &[u8]) -> (Vec<(u8, Vec<u8>)>, bool) {
        if self.overflow {
            return (Vec::new(), false);
        }
        let mut out = Vec::new();
        if self.reasm.insert(offset, data, &mut out).is_err()
            || self.buf.len() + out.len() > CRYPTO_CAP
        {
            self.overflow = true;
            self.buf = Vec::new();
            return (Vec::new(), true);
        }
        self.buf.extend_from_slice(&out);
        let mut msgs = Vec::new();
        let mut pos = 0;
        while let Some(h) = self.buf.get(pos..pos + 4) {
            let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
            let Some(body) = self.buf.get(pos + 4..pos + 4 + len) else {
                break;
            };
            msgs.push((h[0], body.to_vec()));
            pos += 4 + len;
        }
        self.buf.drain(..pos);
        (msgs, false)
    }
}

/// One direction of one application stream.
struct StreamHalf {
    reasm: Reassembler,
    fin_at: Option<u64>,
}

impl StreamHalf {
    fn new() -> StreamHalf {
        StreamHalf {
            reasm: Reassembler::new(STREAM_REORDER_CAP),
            fin_at: None,
        }
    }
}

/// Where decrypted stream data goes.
enum App {
    /// No stream data yet.
    Undecided,
    Http3(Box<http3::Session>),
    /// One inner stream per QUIC stream, probed like any byte stream.
    Raw(BTreeMap<u64, Stream>),
}

/// A protected packet waiting for keys.
struct Pending {
    dir: Direction,
    epoch: Epoch,
    bytes: Vec<u8>,
    /// Long headers: the packet-number offset. Short headers: `None` (the DCID length is looked up).
    pn_offset: Option<usize>,
    pkt: PacketRef,
}

/// What happened to one protected packet.
enum Outcome {
    Opened,
    NoKeys,
    Failed,
}

/// QUIC connection state for one UDP flow.
pub struct QuicDissector {
    name: &'static str,
    gquic: bool,
    versions: Vec<u32>,
    version: Option<Version>,
    /// The DCID the client's Initial keys are derived from (the Retry SCID after a Retry).
    odcid: Option<Vec<u8>>,
    cids_reported: bool,
    initial: Option<(DirKeys, DirKeys)>,
    /// The version the Initial keys were derived for.
    initial_version: Option<Version>,
    initial_packets: u32,
    initial_failed: bool,
    /// Connection ID lengths of short headers, per direction of travel.
    short_dcid: [Vec<usize>; 2],
    largest: [[Option<u64>; 3]; 2],
    crypto: [[CryptoStream; 3]; 2],
    keys: [[Option<EpochKeys>; 4]; 2],
    client_random: Option<[u8; 32]>,
    suite: Option<Suite>,
    alpn_offered: Vec<String>,
    alpn_selected: Option<String>,
    reported: Vec<(&'static str, String)>,
    /// Protected (Handshake, 0-RTT, 1-RTT) packets seen, opened, failed.
    protected: u64,
    opened: u64,
    failed_at: Option<u64>,
    dropped: u64,
    pending: Vec<Pending>,
    pending_bytes: usize,
    seen_generation: u64,
    app: App,
    halves: BTreeMap<(u64, usize), StreamHalf>,
    done: BTreeSet<(u64, usize)>,
    reorder_bytes: usize,
    streams_over_cap: u64,
    datagrams: Option<Stream>,
    overflow_reported: bool,
    frame_anomaly: bool,
    /// gQUIC: packets seen (none can be opened).
    gquic_packets: u64,
}

impl Default for QuicDissector {
    fn default() -> Self {
        QuicDissector::new()
    }
}

impl QuicDissector {
    pub fn new() -> QuicDissector {
        QuicDissector {
            name: "quic",
            gquic: false,
            versions: Vec::new(),
            version: None,
            odcid: None,
            cids_reported: false,
            initial: None,
            initial_version: None,
            initial_packets: 0,
            initial_failed: false,
            short_dcid: [Vec::new(), Vec::new()],
            largest: [[None; 3]; 2],
            crypto: std::array::from_fn(|_| std::array::from_fn(|_| CryptoStream::new())),
            keys: Default::default(),
            client_random: None,
            suite: None,
            alpn_offered: Vec::new(),
            alpn_selected: None,
            reported: Vec::new(),
            protected: 0,
            opened: 0,
            failed_at: None,
            dropped: 0,
            pending: Vec::new(),
            pending_bytes: 0,
            seen_generation: 0,
            app: App::Undecided,
            halves: BTreeMap::new(),
            done: BTreeSet::new(),
            reorder_bytes: 0,
            streams_over_cap: 0,
            datagrams: None,
            overflow_reported: false,
            frame_anomaly: false,
            gquic_packets: 0,
        }
    }

    /// Reports a metadata value once per flow.
    fn meta_once(&mut self, cx: &mut Cx<'_>, key: &'static str, value: String) {
        if self.reported.iter().any(|(k, v)| *k == key && *v == value) {
            return;
        }
        self.reported.push((key, value.clone()));
        if key == "quic.sni" {
            cx.server_name(key, &value);
        } else {
            cx.meta(key, value);
        }
    }

    fn note_version(&mut self, cx: &mut Cx<'_>, raw: u32) {
        if self.versions.contains(&raw) || self.versions.len() >= MAX_VERSIONS {
            return;
        }
        self.versions.push(raw);
        let v = version::classify(raw);
        if v.is_gquic() && !self.gquic {
            self.gquic = true;
            self.name = "gquic";
            cx.set_protocol("gquic");
        }
        self.meta_once(cx, "quic.version", v.name());
    }

    fn key_source(&self, cx: &Cx<'_>) -> KeySource {
        self.client_random
            .and_then(|r| cx.env.secrets.get(&r))
            .and_then(|s| s.source)
            .unwrap_or(KeySource::KeyLog)
    }

    fn datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if self.version.is_none()
            && !self.gquic
            && (gquic::is_legacy_client_hello(data) || gquic::is_legacy_packet(data))
        {
            self.gquic = true;
            self.name = "gquic";
            cx.set_protocol("gquic");
        }
        if self.gquic && data.first().is_some_and(|b| b & 0x80 == 0) {
            self.legacy_gquic(cx, dir, data);
            return;
        }
        if let Some(raw) = data
            .get(1..5)
            .map(|v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
            && data[0] & 0x80 != 0
            && matches!(version::classify(raw), Version::GQuicQ(n) if n < 50)
        {
            // Q046-style long header: no Length field, payload not encrypted.
            self.note_version(cx, raw);
            self.gquic_packets += 1;
            if dir == Direction::ToServer
                && let Some(chlo) = gquic::find_chlo(&data[5..])
            {
                self.report_chlo(cx, chlo);
            }
            return;
        }
        let mut rest = data;
        let mut first = true;
        while !rest.is_empty() {
            if !first && rest[0] & 0x40 == 0 {
                // Datagram padding after the last packet.
                break;
            }
            first = false;
            match header::parse(rest) {
                Ok(Packet::Long(h)) => {
                    let len = h.len;
                    self.long_packet(cx, dir, &rest[..len], &h);
                    rest = &rest[len..];
                }
                Ok(Packet::Short) => {
                    self.short_packet(cx, dir, rest);
                    break;
                }
                Ok(Packet::Retry { version, scid, .. }) => {
                    self.note_version(cx, version);
                    if dir == Direction::ToClient {
                        self.on_retry(cx, scid);
                    }
                    break;
                }
                Ok(Packet::VersionNegotiation { versions, .. }) => {
                    let names: Vec<String> = versions
                        .iter()
                        .take(16)
                        .map(|v| version::classify(*v).name())
                        .collect();
                    self.meta_once(cx, "quic.version_negotiation", names.join(","));
                    break;
                }
                Err(e) => {
                    if !self.frame_anomaly {
                        self.frame_anomaly = true;
                        cx.anomaly(
                            "quic-header",
                            format!("{e} in a {} datagram", dir_name(dir)),
                        );
                    }
                    break;
                }
            }
        }
    }

    fn legacy_gquic(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        self.gquic_packets += 1;
        let Some(h) = gquic::public_header(data) else {
            return;
        };
        if let Some(v) = h.version {
            self.note_version(cx, v);
        }
        if dir == Direction::ToServer
            && self.gquic_packets <= 64
            && let Some(chlo) = gquic::find_chlo(&data[h.len..])
        {
            self.report_chlo(cx, chlo);
        }
    }

    fn report_chlo(&mut self, cx: &mut Cx<'_>, chlo: gquic::Chlo) {
        if let Some(sni) = chlo.sni {
            self.meta_once(cx, "quic.sni", sni);
        }
        if let Some(ua) = chlo.user_agent {
            self.meta_once(cx, "quic.user_agent", ua);
        }
        if let Some(v) = chlo.version {
            self.meta_once(cx, "quic.chlo_version", v);
        }
    }

    fn on_retry(&mut self, cx: &mut Cx<'_>, scid: &[u8]) {
        self.meta_once(cx, "quic.retry", "yes".into());
        // The client's next Initial goes to the Retry's SCID and keys derive from it.
        self.odcid = Some(scid.to_vec());
        self.reset_initial();
    }

    /// Forgets Initial keys, packet numbers and CRYPTO data (a Retry or a new version).
    fn reset_initial(&mut self) {
        self.initial = None;
        self.largest[Direction::ToServer.index()][0] = None;
        self.largest[Direction::ToClient.index()][0] = None;
        for d in 0..2 {
            self.crypto[d][0] = CryptoStream::new();
        }
    }

    fn long_packet(&mut self, cx: &mut Cx<'_>, dir: Direction, pkt: &[u8], h: &LongHeader<'_>) {
        self.note_version(cx, h.version);
        let v = version::classify(h.version);
        if v.is_known() && !self.version.is_some_and(Version::is_known) {
            self.version = Some(v);
        }
        self.track_cids(cx, dir, h);
        if v.is_gquic() {
            self.gquic_packets += 1;
        }
        match h.kind {
            LongType::Initial => self.initial_packet(cx, dir, pkt, h, v),
            LongType::Handshake => {
                self.protected_packet(cx, dir, Epoch::Handshake, pkt, Some(h.pn_offset))
            }
            LongType::ZeroRtt => {
                self.protected_packet(cx, dir, Epoch::ZeroRtt, pkt, Some(h.pn_offset))
            }
            LongType::Retry => {}
        }
    }

    fn track_cids(&mut self, cx: &mut Cx<'_>, dir: Direction, h: &LongHeader<'_>) {
        // A short header sent toward an endpoint carries the CID that endpoint chose (its SCID).
        let toward_me = &mut self.short_dcid[dir.reverse().index()];
        if !toward_me.contains(&h.scid.len()) && toward_me.len() < 4 {
            toward_me.insert(0, h.scid.len());
        }
        if dir == Direction::ToServer && h.kind == LongType::Initial {
            if self.odcid.is_none() {
                self.odcid = Some(h.dcid.to_vec());
            }
            if !self.cids_reported {
                self.cids_reported = true;
                self.meta_once(cx, "quic.dcid", header::hex(h.dcid));
                if !h.scid.is_empty() {
                    self.meta_once(cx, "quic.scid", header::hex(h.scid));
                }
            }
        }
    }

    fn initial_packet(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        pkt: &[u8],
        h: &LongHeader<'_>,
        v: Version,
    ) {
        if self.initial_packets >= MAX_INITIAL_PACKETS {
            return;
        }
        self.initial_packets += 1;
        if self.initial_version.is_some_and(|iv| iv != v) {
            // A new attempt in another version (after Version Negotiation):
            // new keys, new packet numbers, a new ClientHello.
            self.reset_initial();
        }
        self.initial_version = Some(v);
        let mut plain = None;
        if self.initial.is_none()
            && let Some(odcid) = self.odcid.clone()
        {
            self.initial = derive_initial(v, &odcid, pkt, h.pn_offset, dir);
        }
        if let Some((c, s)) = &self.initial {
            let k = if dir == Direction::ToServer { c } else { s };
            plain = open_initial(k, pkt, h.pn_offset, self.largest[dir.index()][0]);
        }
        if plain.is_none() && dir == Direction::ToServer && self.odcid.as_deref() != Some(h.dcid) {
            // A client Initial keyed on its own DCID: the Retry (or the first
            // attempt) was not captured, or a new connection reuses the flow.
            if let Some(keys) = derive_initial(v, h.dcid, pkt, h.pn_offset, dir) {
                plain = open_initial(&keys.0, pkt, h.pn_offset, None);
                if plain.is_some() {
                    self.odcid = Some(h.dcid.to_vec());
                    self.initial = Some(keys);
                    self.largest[0][0] = None;
                    self.largest[1][0] = None;
                }
            }
        }
        let Some((payload, pn)) = plain else {
            // GREASE and unknown versions have no public salt: nothing to report.
            if v.is_known()
                && !self.initial_failed
                && (dir == Direction::ToServer || self.odcid.is_some())
            {
                self.initial_failed = true;
                cx.anomaly(
                    "quic-initial-undecryptable",
                    format!(
                        "{} Initial packet did not open with the public keys of {}",
                        dir_name(dir),
                        v.name()
                    ),
                );
            }
            return;
        };
        let l = &mut self.largest[dir.index()][0];
        *l = Some(l.map_or(pn, |x| x.max(pn)));
        let layer = Layer::keyless("quic-initial");
        self.frames(cx, dir, Epoch::Initial, &payload, v.is_gquic(), layer);
    }

    fn short_packet(&mut self, cx: &mut Cx<'_>, dir: Direction, pkt: &[u8]) {
        if self.gquic {
            self.gquic_packets += 1;
            return;
        }
        self.protected_packet(cx, dir, Epoch::OneRtt, pkt, None);
    }

    /// A Handshake, 0-RTT or 1-RTT packet: counted, opened now if keys exist, else kept.
    fn protected_packet(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        epoch: Epoch,
        pkt: &[u8],
        pn_offset: Option<usize>,
    ) {
        if self.gquic {
            return;
        }
        self.protected += 1;
        match self.try_open(cx, dir, epoch, pkt, pn_offset) {
            Outcome::Opened => self.opened += 1,
            Outcome::Failed => {
                self.failed_at.get_or_insert(cx.pkt.index);
            }
            Outcome::NoKeys => {
                if self.pending.len() < MAX_PENDING_PACKETS
                    && self.pending_bytes + pkt.len() <= MAX_PENDING_BYTES
                {
                    self.pending_bytes += pkt.len();
                    self.pending.push(Pending {
                        dir,
                        epoch,
                        bytes: pkt.to_vec(),
                        pn_offset,
                        pkt: cx.pkt,
                    });
                } else {
                    self.dropped += 1;
                }
            }
        }
    }

    /// Derives the keys of an epoch from the key log if not done yet.
    fn ensure_keys(
        &mut self,
        cx: &Cx<'_>,
        dir: Direction,
        epoch: Epoch,
        pkt: &[u8],
        pn_offset: Option<usize>,
    ) -> bool {
        if self.keys[dir.index()][epoch as usize].is_some() {
            return true;
        }
        let (Some(random), Some(label)) = (self.client_random, epoch.secret_label(dir)) else {
            return false;
        };
        let Some(secret) = cx.env.secrets.get(&random).and_then(|s| s.get(label)) else {
            return false;
        };
        let labels = self.version.unwrap_or(Version::V1).labels();
        let candidates: Vec<Suite> = match self.suite {
            Some(s) => vec![s],
            None => protect::suites_for_secret_len(secret.len())
                .iter()
                .filter_map(|&id| protect::suite(id))
                .collect(),
        };
        for suite in &candidates {
            let Some(mut k) = EpochKeys::derive(*suite, labels, secret) else {
                continue;
            };
            // Without a ServerHello, let the AEAD tag pick the suite.
            if candidates.len() > 1 {
                let lens = self.pn_offsets(dir, pn_offset);
                let largest = self.largest[dir.index()][epoch.space()];
                if !lens.iter().any(|&o| {
                    k.open(pkt, o, pkt.len(), largest, pn_offset.is_none())
                        .is_some()
                }) {
                    continue;
                }
                // Trial opening may have advanced key-update state: start clean.
                if let Some(fresh) = EpochKeys::derive(*suite, labels, secret) {
                    k = fresh;
                }
                self.suite = Some(*suite);
            }
            self.keys[dir.index()][epoch as usize] = Some(k);
            return true;
        }
        false
    }

    /// Candidate packet-number offsets: the long header's, or one per known short-header DCID length.
    fn pn_offsets(&self, dir: Direction, pn_offset: Option<usize>) -> Vec<usize> {
        match pn_offset {
            Some(o) => vec![o],
            None => {
                let l = &self.short_dcid[dir.index()];
                if l.is_empty() {
                    (0..=header::MAX_CID_LEN).map(|n| 1 + n).collect()
                } else {
                    l.iter().map(|n| 1 + n).collect()
                }
            }
        }
    }

    fn try_open(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        epoch: Epoch,
        pkt: &[u8],
        pn_offset: Option<usize>,
    ) -> Outcome {
        if !self.ensure_keys(cx, dir, epoch, pkt, pn_offset) {
            return Outcome::NoKeys;
        }
        let offsets = self.pn_offsets(dir, pn_offset);
        let largest = self.largest[dir.index()][epoch.space()];
        let Some(keys) = self.keys[dir.index()][epoch as usize].as_mut() else {
            return Outcome::NoKeys;
        };
        let mut opened = None;
        for o in offsets {
            if let Some(r) = keys.open(pkt, o, pkt.len(), largest, pn_offset.is_none()) {
                opened = Some((r, o));
                break;
            }
        }
        let Some(((payload, pn), o)) = opened else {
            return Outcome::Failed;
        };
        if pn_offset.is_none() {
            // Remember the DCID length that worked first.
            let l = &mut self.short_dcid[dir.index()];
            l.retain(|&n| n != o - 1);
            l.insert(0, o - 1);
        }
        let l = &mut self.largest[dir.index()][epoch.space()];
        *l = Some(l.map_or(pn, |x| x.max(pn)));
        let layer = Layer::keyed("quic", self.key_source(cx));
        self.frames(cx, dir, epoch, &payload, false, layer);
        Outcome::Opened
    }

    fn retry_pending(&mut self, cx: &mut Cx<'_>) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let saved = cx.pkt;
        for p in pending {
            cx.pkt = p.pkt;
            match self.try_open(cx, p.dir, p.epoch, &p.bytes, p.pn_offset) {
                Outcome::Opened => self.opened += 1,
                Outcome::Failed => {
                    self.failed_at.get_or_insert(p.pkt.index);
                }
                Outcome::NoKeys => {
                    self.pending_bytes += p.bytes.len();
                    self.pending.push(p);
                }
            }
        }
        cx.pkt = saved;
    }

    /// Handles the frames of one opened packet. `layer` is the protection the
    /// packet was opened through: what the frames reveal is reported under it
    /// (stream consumers add it themselves).
    fn frames(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        epoch: Epoch,
        payload: &[u8],
        gquic: bool,
        layer: Layer,
    ) {
        let it = if gquic {
            Frames::gquic(payload)
        } else {
            Frames::new(payload)
        };
        for f in it {
            match f {
                Ok(Frame::Crypto { offset, data }) => cx.with_layer(layer.clone(), |cx| {
                    self.crypto_data(cx, dir, epoch, offset, data)
                }),
                Ok(Frame::Stream {
                    id,
                    offset,
                    data,
                    fin,
                }) if matches!(epoch, Epoch::ZeroRtt | Epoch::OneRtt) => {
                    self.stream_data(cx, dir, id, offset, data, fin)
                }
                Ok(Frame::ResetStream { id, .. }) => self.stream_reset(cx, dir, id),
                Ok(Frame::NewConnectionId { cid }) => {
                    // The peer will address the sender with this CID.
                    let l = &mut self.short_dcid[dir.reverse().index()];
                    if !l.contains(&cid.len()) && l.len() < 4 {
                        l.push(cid.len());
                    }
                }
                Ok(Frame::ConnectionClose { app, code, reason }) => {
                    let kind = if app { "application" } else { "transport" };
                    let mut v = format!("{kind} error 0x{code:x}");
                    if let Ok(r) = std::str::from_utf8(reason)
                        && !r.is_empty()
                    {
                        v.push_str(": ");
                        v.extend(r.chars().take(120));
                    }
                    cx.with_layer(layer.clone(), |cx| self.meta_once(cx, "quic.close", v));
                }
                Ok(Frame::Datagram(d)) => {
                    let s = self
                        .datagrams
                        .get_or_insert_with(|| Stream::datagrams(layer.clone(), Hint::default()));
                    s.data(cx, dir, d);
                }
                Ok(_) => {}
                Err(e) => {
                    if !self.frame_anomaly {
                        self.frame_anomaly = true;
                        let what = match e.frame_type {
                            Some(t) if e.unknown => format!("unknown frame type 0x{t:x}"),
                            Some(t) => format!("truncated frame 0x{t:x}"),
                            None => "truncated frame type".to_string(),
                        };
                        let detail = format!("{what} in a {} packet", epoch.name());
                        cx.with_layer(layer.clone(), |cx| cx.anomaly("quic-frame", detail));
                    }
                }
            }
        }
    }

    fn crypto_data(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        epoch: Epoch,
        offset: u64,
        data: &[u8],
    ) {
        let space = epoch.space();
        // gQUIC Q050 carries a QUIC-crypto CHLO instead of TLS.
        if self.version.is_some_and(|v| !v.uses_tls()) {
            if dir == Direction::ToServer
                && let Some(chlo) = gquic::find_chlo(data)
            {
                self.report_chlo(cx, chlo);
            }
            return;
        }
        let (msgs, overflow) = self.crypto[dir.index()][space].push(offset, data);
        if overflow {
            cx.anomaly(
                "quic-crypto-overflow",
                format!(
                    "{} CRYPTO data beyond {CRYPTO_CAP} bytes or too far out of order",
                    epoch.name()
                ),
            );
        }
        for (t, body) in msgs {
            self.handshake_message(cx, dir, t, &body);
        }
    }

    fn handshake_message(&mut self, cx: &mut Cx<'_>, dir: Direction, t: u8, body: &[u8]) {
        match (dir, t) {
            (Direction::ToServer, msg::CLIENT_HELLO) => {
                let mut scan = ScanState::default();
                cx.scan(&mut scan, dir, body);
                match handshake::parse_client_hello(body, false) {
                    Ok(ch) => {
                        let new_random = self.client_random != Some(ch.random);
                        self.client_random = Some(ch.random);
                        if new_random {
                            self.keys = Default::default();
                        }
                        if let Some(sni) = ch.sni() {
                            self.meta_once(cx, "quic.sni", sni);
                        }
                        let alpn = ch.alpn();
                        if !alpn.is_empty() {
                            self.meta_once(cx, "quic.alpn", alpn.join(","));
                        }
                        self.alpn_offered = alpn;
                        if let Some(e) = ch.ech() {
                            self.meta_once(cx, "quic.ech", format!("{e:?}").to_lowercase());
                        }
                        self.meta_once(cx, "tls.ja4", fingerprint::ja4(&ch, Ja4Transport::Quic));
                    }
                    Err(e) => cx.anomaly("quic-client-hello", e.to_string()),
                }
            }
            (Direction::ToClient, msg::SERVER_HELLO) => {
                if let Ok(sh) = handshake::parse_server_hello(body) {
                    if let Some(s) = protect::suite(sh.cipher_suite) {
                        self.suite = Some(s);
                    }
                    self.meta_once(cx, "quic.cipher", format!("0x{:04x}", sh.cipher_suite));
                }
            }
            (Direction::ToClient, msg::ENCRYPTED_EXTENSIONS) => {
                let mut c = Cursor::new(body);
                let Ok(block) = c.vec(2, "extensions") else {
                    return;
                };
                let mut e = Cursor::new(block);
                while let (Ok(kind), Ok(data)) = (e.u16("type"), e.vec(2, "data")) {
                    if kind == ext::ALPN
                        && let Some(a) = handshake::parse_alpn_list(data).into_iter().next()
                    {
                        self.meta_once(cx, "quic.alpn_selected", a.clone());
                        self.alpn_selected = Some(a);
                    }
                }
            }
            _ => {}
        }
    }

    fn app_is_h3(&self) -> bool {
        match &self.alpn_selected {
            Some(a) => a.starts_with("h3"),
            None => self.alpn_offered.iter().any(|a| a.starts_with("h3")),
        }
    }

    fn stream_data(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        id: u64,
        offset: u64,
        data: &[u8],
        fin: bool,
    ) {
        if matches!(self.app, App::Undecided) {
            self.app = if self.app_is_h3() {
                App::Http3(Box::default())
            } else {
                App::Raw(BTreeMap::new())
            };
        }
        let key = (id, dir.index());
        if self.done.contains(&key) {
            return;
        }
        if !self.halves.contains_key(&key) {
            if self.halves.len() >= MAX_STREAMS {
                self.streams_over_cap += 1;
                return;
            }
            self.halves.insert(key, StreamHalf::new());
        }
        let Some(half) = self.halves.get_mut(&key) else {
            return;
        };
        if fin {
            half.fin_at = Some(offset.saturating_add(data.len() as u64));
        }
        let before = half.reasm.buffered();
        let mut out = Vec::new();
        // Past the connection-wide budget only in-order data is accepted.
        let overflow = (self.reorder_bytes >= CONN_REORDER_CAP
            && offset > half.reasm.next_offset())
            || half.reasm.insert(offset, data, &mut out).is_err();
        self.reorder_bytes = (self.reorder_bytes + half.reasm.buffered()).saturating_sub(before);
        let ended = half.fin_at.is_some_and(|f| half.reasm.next_offset() >= f);
        if overflow && !self.overflow_reported {
            self.overflow_reported = true;
            cx.anomaly(
                "quic-stream-overflow",
                format!("stream {id}: out-of-order data beyond the reassembly cap"),
            );
        }
        let source = self.key_source(cx);
        match &mut self.app {
            App::Http3(h3) => {
                cx.with_layer(Layer::keyed("quic", source), |cx| {
                    h3.on_stream(cx, id, dir, &out, ended);
                });
            }
            App::Raw(streams) => {
                let s = streams
                    .entry(id)
                    .or_insert_with(|| Stream::new(Layer::keyed("quic", source), Hint::default()));
                s.data(cx, dir, &out);
            }
            App::Undecided => {}
        }
        if ended {
            self.end_half(cx, id, dir);
        }
    }

    /// One direction of a stream is over: forget its reassembly state and,
    /// once the whole stream is over, flush its inner stream.
    fn end_half(&mut self, cx: &mut Cx<'_>, id: u64, dir: Direction) {
        let key = (id, dir.index());
        if let Some(h) = self.halves.remove(&key) {
            self.reorder_bytes = self.reorder_bytes.saturating_sub(h.reasm.buffered());
        }
        if self.done.len() < MAX_DONE {
            self.done.insert(key);
        }
        let whole = frames::unidirectional(id) || self.done.contains(&(id, dir.reverse().index()));
        if whole
            && let App::Raw(streams) = &mut self.app
            && let Some(mut s) = streams.remove(&id)
        {
            s.finish(cx);
        }
    }

    fn stream_reset(&mut self, cx: &mut Cx<'_>, dir: Direction, id: u64) {
        let source = self.key_source(cx);
        if let App::Http3(h3) = &mut self.app {
            cx.with_layer(Layer::keyed("quic", source), |cx| h3.on_reset(cx, id, dir));
        }
        self.end_half(cx, id, dir);
    }

    /// Why packets of an epoch could not be opened, for the crypto evidence.
    fn missing_reason(&self, cx: &Cx<'_>, dir: Direction, epoch: Epoch) -> String {
        let Some(random) = self.client_random else {
            return if self.odcid.is_none() {
                "the client's Initial is not in the capture: no ClientHello to look up secrets"
                    .into()
            } else {
                "no ClientHello could be read from the Initial packets: secrets cannot be looked up"
                    .into()
            };
        };
        let hex = header::hex(&random);
        if cx.env.secrets.is_empty() {
            return "Initial only: 1-RTT packets need a key log".into();
        }
        let Some(s) = cx.env.secrets.get(&random) else {
            return format!("no secrets for client random {hex}");
        };
        match epoch.secret_label(dir) {
            Some(l) if s.get(l).is_none() => {
                format!("key log has no {} for client random {hex}", l.as_str())
            }
            _ => format!(
                "{} keys could not be derived for client random {hex}",
                epoch.name()
            ),
        }
    }

    fn report_crypto(&mut self, cx: &mut Cx<'_>) {
        if self.gquic {
            cx.crypto(
                "gquic",
                CryptoState::NotOpened {
                    reason: "Google QUIC crypto cannot be opened with a TLS key log".into(),
                },
                self.gquic_packets,
                0,
            );
            return;
        }
        let total = self.protected;
        let state = if total == 0 {
            CryptoState::NotOpened {
                reason: "no Handshake or 1-RTT packets in the capture (Initial only)".into(),
            }
        } else if self.opened == total {
            CryptoState::Opened
        } else {
            let mut reasons = Vec::new();
            if let Some(p) = self.pending.first() {
                reasons.push(self.missing_reason(cx, p.dir, p.epoch));
            }
            if let Some(n) = self.failed_at {
                reasons.push(format!("decryption failed at packet {n}"));
            }
            if self.dropped > 0 {
                let r = self.missing_reason(cx, Direction::ToServer, Epoch::OneRtt);
                reasons.push(format!(
                    "{} packets beyond the retry buffer ({r})",
                    self.dropped
                ));
            }
            let reason = reasons.join("; ");
            if self.opened == 0 {
                CryptoState::NotOpened { reason }
            } else {
                CryptoState::Partial { reason }
            }
        };
        cx.crypto("quic", state, total, self.opened);
    }
}

fn dir_name(dir: Direction) -> &'static str {
    match dir {
        Direction::ToServer => "client",
        Direction::ToClient => "server",
    }
}

/// Initial keys for a DCID: the version's salt, or for versions with
/// unpublished mappings the candidate salt that opens this packet.
fn derive_initial(
    v: Version,
    dcid: &[u8],
    pkt: &[u8],
    pn_offset: usize,
    dir: Direction,
) -> Option<(DirKeys, DirKeys)> {
    let salts = v.initial_salts();
    let labels = v.labels();
    let mut first = None;
    for salt in salts {
        let Ok(keys) = protect::initial_keys(*salt, dcid, &labels) else {
            continue;
        };
        if salts.len() == 1 {
            return Some(keys);
        }
        let k = if dir == Direction::ToServer {
            &keys.0
        } else {
            &keys.1
        };
        if open_initial(k, pkt, pn_offset, None).is_some() {
            return Some(keys);
        }
        first.get_or_insert(keys);
    }
    first
}

fn open_initial(
    k: &DirKeys,
    pkt: &[u8],
    pn_offset: usize,
    largest: Option<u64>,
) -> Option<(Vec<u8>, u64)> {
    let h = protect::remove_header_protection(pkt, pn_offset, &k.hp)?;
    let pn = protect::decode_packet_number(largest, h.truncated_pn, h.pn_len);
    protect::open(&k.pkt, pkt, pkt.len(), &h, pn).map(|p| (p, pn))
}

impl Dissector for QuicDissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed(self.name)
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        self.on_datagram(cx, dir, data);
    }

    fn on_datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let gen_before = cx.env.secrets.generation();
        let keys_before = (self.client_random, self.suite);
        self.datagram(cx, dir, data);
        if gen_before != self.seen_generation || keys_before != (self.client_random, self.suite) {
            self.seen_generation = gen_before;
            self.retry_pending(cx);
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        self.retry_pending(cx);
        let source = self.key_source(cx);
        match &mut self.app {
            App::Http3(h3) => cx.with_layer(Layer::keyed("quic", source), |cx| h3.finish(cx)),
            App::Raw(streams) => {
                for s in streams.values_mut() {
                    s.finish(cx);
                }
            }
            App::Undecided => {}
        }
        if let Some(d) = &mut self.datagrams {
            d.finish(cx);
        }
        if self.streams_over_cap > 0 {
            cx.anomaly(
                "quic-stream-cap",
                format!(
                    "{} STREAM frames of streams beyond the first {MAX_STREAMS} were not read",
                    self.streams_over_cap
                ),
            );
        }
        self.report_crypto(cx);
    }
}
