//! Builders of real QUIC packets for tests, fuzz targets and benchmarks:
//! TLS handshake messages, frames, and a simulated connection that protects
//! packets with the same key schedule a QUIC stack uses (Initial keys from
//! the public salt, handshake and 1-RTT keys from secrets it also writes as a
//! key log). Nothing here is used when reading traffic.

use super::protect::{self, DirKeys, Suite};
use super::varint::encode as venc;
use super::version::{LongType, Version};
use crate::model::Direction;

/// The client random of the simulated session (the key-log lookup key).
pub const RANDOM: [u8; 32] = [0x42; 32];

pub use super::header::hex;

/// A TLS extension.
pub fn ext(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut e = kind.to_be_bytes().to_vec();
    e.extend_from_slice(&(data.len() as u16).to_be_bytes());
    e.extend_from_slice(data);
    e
}

/// An ALPN extension offering `protos`.
pub fn alpn_ext(protos: &[&str]) -> Vec<u8> {
    let mut list = Vec::new();
    for p in protos {
        list.push(p.len() as u8);
        list.extend_from_slice(p.as_bytes());
    }
    let mut d = (list.len() as u16).to_be_bytes().to_vec();
    d.extend_from_slice(&list);
    ext(0x10, &d)
}

/// A handshake message with its 4-byte header.
pub fn handshake_msg(t: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![t];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// A ClientHello with SNI and ALPN; `pad` adds a padding extension to make it span packets.
pub fn client_hello(sni: &str, alpn: &[&str], pad: usize) -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend_from_slice(&RANDOM);
    b.push(0);
    b.extend_from_slice(&[0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
    let mut exts = Vec::new();
    let mut sn = ((sni.len() + 3) as u16).to_be_bytes().to_vec();
    sn.push(0);
    sn.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    sn.extend_from_slice(sni.as_bytes());
    exts.extend(ext(0x0000, &sn));
    exts.extend(alpn_ext(alpn));
    exts.extend(ext(0x002b, &[0x02, 0x03, 0x04]));
    exts.extend(ext(0x0039, &[0x04, 0x04, 0x80, 0x10, 0x00, 0x00]));
    if pad > 0 {
        exts.extend(ext(0x0015, &vec![0; pad]));
    }
    b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    b.extend_from_slice(&exts);
    handshake_msg(1, &b)
}

/// A TLS 1.3 ServerHello choosing `suite`.
pub fn server_hello(suite: u16) -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend_from_slice(&[0x24; 32]);
    b.push(0);
    b.extend_from_slice(&suite.to_be_bytes());
    b.push(0);
    let exts = ext(0x002b, &[0x03, 0x04]);
    b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    b.extend_from_slice(&exts);
    handshake_msg(2, &b)
}

/// EncryptedExtensions selecting `alpn`.
pub fn encrypted_extensions(alpn: &str) -> Vec<u8> {
    let exts = alpn_ext(&[alpn]);
    let mut b = (exts.len() as u16).to_be_bytes().to_vec();
    b.extend_from_slice(&exts);
    handshake_msg(8, &b)
}

/// A CRYPTO frame.
pub fn crypto_frame(off: u64, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    venc(off, &mut f);
    venc(data.len() as u64, &mut f);
    f.extend_from_slice(data);
    f
}

/// A STREAM frame with offset and length.
pub fn stream_frame(id: u64, off: u64, data: &[u8], fin: bool) -> Vec<u8> {
    let mut f = vec![0x0e | u8::from(fin)];
    venc(id, &mut f);
    venc(off, &mut f);
    venc(data.len() as u64, &mut f);
    f.extend_from_slice(data);
    f
}

/// Protection state of a simulated connection.
pub struct Conn {
    pub version: Version,
    pub dcid: Vec<u8>,
    pub client_cid: Vec<u8>,
    pub server_cid: Vec<u8>,
    pub initial: (DirKeys, DirKeys),
    pub suite: Suite,
    /// Secrets indexed by [`CHTS`], [`SHTS`], [`CATS`], [`SATS`], [`CETS`].
    pub secrets: [Vec<u8>; 5],
    pub pn: [u64; 2],
}

/// Indices of the client/server handshake and application traffic secrets
/// and of the client's early (0-RTT) traffic secret.
pub const CHTS: usize = 0;
pub const SHTS: usize = 1;
pub const CATS: usize = 2;
pub const SATS: usize = 3;
pub const CETS: usize = 4;

const LABELS: [&str; 5] = [
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
    "CLIENT_EARLY_TRAFFIC_SECRET",
];

impl Conn {
    /// A connection of `version` with fixed connection IDs and secrets.
    /// `version` must have a published Initial salt.
    pub fn new(version: Version) -> Conn {
        Conn::with_suite(version, 0x1301)
    }

    /// A connection whose handshake negotiates the TLS 1.3 suite `suite`
    /// (0x1301, 0x1302, 0x1303 or 0x1304); secrets have the suite's hash length.
    pub fn with_suite(version: Version, suite: u16) -> Conn {
        let suite = protect::suite(suite).expect("a TLS 1.3 suite usable with QUIC");
        let n = suite.hash.output_len();
        let dcid = vec![0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
        let salt = version.initial_salts()[0];
        Conn {
            version,
            initial: protect::initial_keys(salt, &dcid, &version.labels())
                .expect("Initial keys derive from any DCID"),
            dcid,
            client_cid: vec![0xc1, 0xc2, 0xc3, 0xc4],
            server_cid: vec![0x5e, 0x5e, 0x5e, 0x5e, 0x5e],
            suite,
            secrets: [0x11, 0x22, 0x33, 0x44, 0x55].map(|b| vec![b; n]),
            pn: [0, 0],
        }
    }

    /// The session's secrets as NSS key log lines.
    pub fn keylog(&self) -> String {
        let r = hex(&RANDOM);
        LABELS
            .iter()
            .zip(&self.secrets)
            .map(|(n, s)| format!("{n} {r} {}\n", hex(s)))
            .collect()
    }

    /// Packet keys for one of [`CHTS`], [`SHTS`], [`CATS`], [`SATS`].
    pub fn keys(&self, secret: usize) -> DirKeys {
        DirKeys::derive(self.suite, &self.secrets[secret], &self.version.labels())
            .expect("32-byte secrets derive SHA-256 keys")
    }

    /// The next packet number of a direction (one counter for all spaces).
    pub fn next_pn(&mut self, dir: Direction) -> u64 {
        let p = self.pn[dir.index()];
        self.pn[dir.index()] += 1;
        p
    }

    /// A long-header packet of `kind` with a 2-byte packet number.
    pub fn long(
        &mut self,
        dir: Direction,
        kind: LongType,
        payload: &[u8],
        dcid: Option<&[u8]>,
    ) -> Vec<u8> {
        let bits = self.version.type_bits(kind);
        let raw = self.version.wire();
        let (d, s) = match dir {
            Direction::ToServer => (dcid.unwrap_or(&self.dcid).to_vec(), self.client_cid.clone()),
            Direction::ToClient => (self.client_cid.clone(), self.server_cid.clone()),
        };
        let pn = self.next_pn(dir);
        let mut h = vec![0xc0 | (bits << 4) | 0x01];
        h.extend_from_slice(&raw.to_be_bytes());
        h.push(d.len() as u8);
        h.extend_from_slice(&d);
        h.push(s.len() as u8);
        h.extend_from_slice(&s);
        if kind == LongType::Initial {
            h.push(0);
        }
        let len = 2 + payload.len() + 16;
        if len < 1 << 14 {
            h.extend_from_slice(&((len as u16) | 0x4000).to_be_bytes());
        } else {
            venc(len as u64, &mut h);
        }
        h.extend_from_slice(&(pn as u16).to_be_bytes());
        let keys = match (kind, dir) {
            (LongType::Initial, Direction::ToServer) => &self.initial.0,
            (LongType::Initial, Direction::ToClient) => &self.initial.1,
            (LongType::ZeroRtt, _) => &self.keys(CETS),
            (_, Direction::ToServer) => &self.keys(CHTS),
            (_, Direction::ToClient) => &self.keys(SHTS),
        };
        protect::seal(keys, &h, pn, payload).expect("payload of at least 4 bytes")
    }

    /// A client Initial padded to 1200 bytes.
    pub fn client_initial(&mut self, frames: &[u8], dcid: Option<&[u8]>) -> Vec<u8> {
        let mut p = frames.to_vec();
        // Header (with 1-byte token length, 2-byte Length and packet number) and tag.
        let overhead = 1
            + 4
            + 1
            + dcid.map_or(self.dcid.len(), <[u8]>::len)
            + 1
            + self.client_cid.len()
            + 1
            + 2
            + 2
            + 16;
        p.resize(p.len().max(1200 - overhead), 0);
        self.long(Direction::ToServer, LongType::Initial, &p, dcid)
    }

    /// A short-header packet with 1-RTT keys (optionally of the next key phase).
    pub fn short(
        &mut self,
        dir: Direction,
        payload: &[u8],
        keys: &DirKeys,
        phase: bool,
    ) -> Vec<u8> {
        let dcid = match dir {
            Direction::ToServer => self.server_cid.clone(),
            Direction::ToClient => self.client_cid.clone(),
        };
        let pn = self.next_pn(dir);
        let mut h = vec![0x40 | (u8::from(phase) << 2) | 0x01];
        h.extend_from_slice(&dcid);
        h.extend_from_slice(&(pn as u16).to_be_bytes());
        let mut p = payload.to_vec();
        if p.len() < 4 {
            p.resize(4, 0);
        }
        protect::seal(keys, &h, pn, &p).unwrap()
    }

    /// A 1-RTT packet with the current application keys.
    pub fn app(&mut self, dir: Direction, payload: &[u8]) -> Vec<u8> {
        let k = self.keys(if dir == Direction::ToServer {
            CATS
        } else {
            SATS
        });
        self.short(dir, payload, &k, false)
    }

    /// Handshake through 1-RTT: client Initial, server Initial+Handshake, client Handshake.
    pub fn handshake(&mut self, alpn: &str) -> Vec<(Direction, Vec<u8>)> {
        let ch = client_hello("chat.example.org", &[alpn], 0);
        let ci = self.client_initial(&crypto_frame(0, &ch), None);
        let si = self.long(
            Direction::ToClient,
            LongType::Initial,
            &crypto_frame(0, &server_hello(self.suite.id)),
            None,
        );
        let sh = self.long(
            Direction::ToClient,
            LongType::Handshake,
            &crypto_frame(0, &encrypted_extensions(alpn)),
            None,
        );
        let ch_fin = self.long(
            Direction::ToServer,
            LongType::Handshake,
            &crypto_frame(0, &handshake_msg(20, &[0; 32])),
            None,
        );
        vec![
            (Direction::ToServer, ci),
            (Direction::ToClient, [si, sh].concat()),
            (Direction::ToServer, ch_fin),
        ]
    }
}
