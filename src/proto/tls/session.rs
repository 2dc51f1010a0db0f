//! Key state of one TLS connection: which keys protect each direction's
//! records, derived lazily from the secret store, with per-key sequence
//! numbers; and the per-run cache that maps TLS 1.2 session ids and tickets
//! back to earlier master secrets (session resumption).

use super::decrypt::TrafficKey;
use super::keys::{AeadAlg, HashAlg, TLS13};
use crate::evidence::provenance::KeySource;
use crate::secrets::{Label, SessionSecrets};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// TLS 1.3 key epochs of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epoch {
    /// 0-RTT under `CLIENT_EARLY_TRAFFIC_SECRET`.
    Early,
    Handshake,
    Application,
}

enum Slot {
    NotTried,
    /// The key log has no such secret for this client random.
    Missing,
    Ready(Box<TrafficKey>),
}

/// Outcome of opening one TLS 1.3 record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open13 {
    /// Plaintext is `buf[..len]` with inner content type `ctype`.
    Opened { ctype: u8, len: usize },
    /// Not opened; `missing` names the secret that was absent, if that was why.
    Failed { missing: Option<Label> },
}

/// One protected record and the secrets to open it with.
struct RecordIn<'a> {
    secrets: Option<&'a SessionSecrets>,
    aad: &'a [u8],
    src: &'a [u8],
}

/// Sequence numbers tried after a stream gap, when records may be missing.
const RESYNC_WINDOW: u64 = 64;

/// One direction of a TLS 1.3 connection.
pub struct Dir13 {
    client: bool,
    alg: AeadAlg,
    hash: HashAlg,
    pub epoch: Epoch,
    early: Slot,
    hs: Slot,
    app: Slot,
    seq_early: u64,
    seq_hs: u64,
    seq_app: u64,
    /// KeyUpdates applied so far.
    pub key_updates: u32,
    /// A handshake-key record opened: 0-RTT trials are over.
    hs_opened: bool,
    /// The ClientHello offered 0-RTT.
    early_offered: bool,
    /// Set after a stream gap: the next record may be several sequence numbers ahead.
    pub resync: bool,
}

impl fmt::Debug for Dir13 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Dir13({}, {:?}, seq {}/{}/{})",
            if self.client { "client" } else { "server" },
            self.epoch,
            self.seq_early,
            self.seq_hs,
            self.seq_app
        )
    }
}

impl Dir13 {
    /// A direction after ServerHello; the client starts in the early epoch
    /// when its ClientHello offered 0-RTT.
    pub fn new(client: bool, alg: AeadAlg, hash: HashAlg, early_offered: bool) -> Dir13 {
        Dir13 {
            client,
            alg,
            hash,
            epoch: if client && early_offered {
                Epoch::Early
            } else {
                Epoch::Handshake
            },
            early: Slot::NotTried,
            hs: Slot::NotTried,
            app: Slot::NotTried,
            seq_early: 0,
            seq_hs: 0,
            seq_app: 0,
            key_updates: 0,
            hs_opened: false,
            early_offered,
            resync: false,
        }
    }

    /// Forgets secrets found missing so a later key log can supply them.
    pub fn retry_missing(&mut self) {
        for s in [&mut self.early, &mut self.hs, &mut self.app] {
            if matches!(s, Slot::Missing) {
                *s = Slot::NotTried;
            }
        }
    }

    fn label(&self, epoch: Epoch) -> Label {
        match (epoch, self.client) {
            (Epoch::Early, _) => Label::ClientEarlyTrafficSecret,
            (Epoch::Handshake, true) => Label::ClientHandshakeTrafficSecret,
            (Epoch::Handshake, false) => Label::ServerHandshakeTrafficSecret,
            (Epoch::Application, true) => Label::ClientTrafficSecret0,
            (Epoch::Application, false) => Label::ServerTrafficSecret0,
        }
    }

    /// Derives the key of `epoch` on first use.
    fn key(&mut self, epoch: Epoch, secrets: Option<&SessionSecrets>) -> Option<&TrafficKey> {
        let label = self.label(epoch);
        let (alg, hash, updates) = (self.alg, self.hash, self.key_updates);
        let slot = match epoch {
            Epoch::Early => &mut self.early,
            Epoch::Handshake => &mut self.hs,
            Epoch::Application => &mut self.app,
        };
        if let Slot::NotTried = slot {
            *slot = match secrets.and_then(|s| s.get(label)) {
                Some(secret) => match TrafficKey::derive(alg, hash, secret, TLS13) {
                    Ok(mut k) => {
                        // A key log only has generation 0; replay earlier KeyUpdates.
                        let mut ok = true;
                        if epoch == Epoch::Application {
                            for _ in 0..updates {
                                match k.next() {
                                    Ok(n) => k = n,
                                    Err(_) => ok = false,
                                }
                            }
                        }
                        if ok {
                            Slot::Ready(Box::new(k))
                        } else {
                            Slot::Missing
                        }
                    }
                    Err(_) => Slot::Missing,
                },
                None => Slot::Missing,
            };
        }
        match slot {
            Slot::Ready(k) => Some(k),
            _ => None,
        }
    }

    fn is_missing(&self, epoch: Epoch) -> bool {
        matches!(
            match epoch {
                Epoch::Early => &self.early,
                Epoch::Handshake => &self.hs,
                Epoch::Application => &self.app,
            },
            Slot::Missing
        )
    }

    /// Tries one key at `seq` (and after a gap, the following window).
    fn try_open(
        &mut self,
        epoch: Epoch,
        seq: u64,
        window: u64,
        rec: &RecordIn<'_>,
        buf: &mut Vec<u8>,
    ) -> Option<(u64, u8, usize)> {
        let key = self.key(epoch, rec.secrets)?;
        for s in seq..=seq.saturating_add(window) {
            buf.clear();
            buf.extend_from_slice(rec.src);
            if let Some((ctype, len)) = key.open(s, rec.aad, buf) {
                return Some((s, ctype, len));
            }
        }
        None
    }

    /// Opens one protected record (`src` is the fragment, `aad` its header).
    pub fn open(
        &mut self,
        secrets: Option<&SessionSecrets>,
        aad: &[u8],
        src: &[u8],
        buf: &mut Vec<u8>,
    ) -> Open13 {
        let window = if self.resync { RESYNC_WINDOW } else { 0 };
        let rec = RecordIn { secrets, aad, src };
        match self.epoch {
            Epoch::Early => {
                let seq = self.seq_early;
                if let Some((s, ctype, len)) = self.try_open(Epoch::Early, seq, 0, &rec, buf) {
                    self.seq_early = s + 1;
                    return Open13::Opened { ctype, len };
                }
                let seq = self.seq_hs;
                if let Some((s, ctype, len)) = self.try_open(Epoch::Handshake, seq, 0, &rec, buf) {
                    self.epoch = Epoch::Handshake;
                    self.seq_hs = s + 1;
                    self.hs_opened = true;
                    return Open13::Opened { ctype, len };
                }
                // Early data we cannot open: the sequence stays (Wireshark does the same).
                Open13::Failed {
                    missing: self
                        .is_missing(Epoch::Early)
                        .then_some(Label::ClientEarlyTrafficSecret),
                }
            }
            Epoch::Handshake => {
                let seq = self.seq_hs;
                if let Some((s, ctype, len)) =
                    self.try_open(Epoch::Handshake, seq, window, &rec, buf)
                {
                    self.seq_hs = s + 1;
                    self.hs_opened = true;
                    self.resync = false;
                    return Open13::Opened { ctype, len };
                }
                // The Finished may have been missed (or the handshake secret is absent):
                // the record may already be under the first application key.
                let seq = self.seq_app;
                if let Some((s, ctype, len)) =
                    self.try_open(Epoch::Application, seq, window, &rec, buf)
                {
                    self.epoch = Epoch::Application;
                    self.seq_app = s + 1;
                    self.resync = false;
                    return Open13::Opened { ctype, len };
                }
                if self.client
                    && self.early_offered
                    && !self.hs_opened
                    && !self.is_missing(Epoch::Handshake)
                {
                    // Possibly rejected 0-RTT data without an early secret: do not advance.
                    return Open13::Failed {
                        missing: Some(Label::ClientEarlyTrafficSecret)
                            .filter(|_| self.is_missing(Epoch::Early)),
                    };
                }
                self.seq_hs += 1;
                Open13::Failed {
                    missing: self
                        .is_missing(Epoch::Handshake)
                        .then(|| self.label(Epoch::Handshake)),
                }
            }
            Epoch::Application => {
                let seq = self.seq_app;
                if let Some((s, ctype, len)) =
                    self.try_open(Epoch::Application, seq, window, &rec, buf)
                {
                    self.seq_app = s + 1;
                    self.resync = false;
                    return Open13::Opened { ctype, len };
                }
                self.seq_app += 1;
                Open13::Failed {
                    missing: self
                        .is_missing(Epoch::Application)
                        .then(|| self.label(Epoch::Application)),
                }
            }
        }
    }

    /// A record that was counted but not kept: it used one sequence number.
    pub fn skip_one(&mut self) {
        match self.epoch {
            Epoch::Early => {}
            Epoch::Handshake => self.seq_hs += 1,
            Epoch::Application => self.seq_app += 1,
        }
    }

    /// The client's EndOfEarlyData: the handshake key follows.
    pub fn end_of_early_data(&mut self) {
        if self.epoch == Epoch::Early {
            self.epoch = Epoch::Handshake;
        }
    }

    /// This direction's Finished: the first application key follows.
    pub fn finished(&mut self) {
        if self.epoch != Epoch::Application {
            self.epoch = Epoch::Application;
            self.seq_app = 0;
        }
    }

    /// A KeyUpdate from this direction's sender: the next generation follows.
    pub fn key_update(&mut self) {
        self.key_updates += 1;
        self.seq_app = 0;
        self.app = match std::mem::replace(&mut self.app, Slot::NotTried) {
            Slot::Ready(k) => match k.next() {
                Ok(n) => Slot::Ready(Box::new(n)),
                Err(_) => Slot::Missing,
            },
            // Not derived yet: `key()` replays the updates when it is.
            other => other,
        };
    }
}

/// A remembered TLS 1.2 master secret.
#[derive(Clone)]
pub struct Remembered {
    pub master: Vec<u8>,
    pub source: KeySource,
}

impl fmt::Debug for Remembered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Remembered(<master redacted>, {:?})", self.source)
    }
}

/// Maps TLS 1.2 session ids and session tickets to master secrets seen
/// earlier in the same run, so resumed sessions decrypt even when the key
/// log has no line for their own client random. Bounded.
#[derive(Default)]
pub struct ResumptionCache {
    inner: Mutex<HashMap<Vec<u8>, Remembered>>,
}

impl fmt::Debug for ResumptionCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.inner.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "ResumptionCache({n} entries, secrets redacted)")
    }
}

/// Entries kept; when full, new sessions are not remembered.
const RESUMPTION_CAP: usize = 4096;

impl ResumptionCache {
    /// Remembers a master secret under a session id or ticket (`kind` keeps the two apart).
    pub fn remember(&self, kind: u8, id: &[u8], value: Remembered) {
        if id.is_empty() {
            return;
        }
        let Ok(mut m) = self.inner.lock() else { return };
        if m.len() >= RESUMPTION_CAP {
            return;
        }
        let mut key = Vec::with_capacity(id.len() + 1);
        key.push(kind);
        key.extend_from_slice(id);
        m.insert(key, value);
    }

    pub fn recall(&self, kind: u8, id: &[u8]) -> Option<Remembered> {
        if id.is_empty() {
            return None;
        }
        let m = self.inner.lock().ok()?;
        let mut key = Vec::with_capacity(id.len() + 1);
        key.push(kind);
        key.extend_from_slice(id);
        m.get(&key).cloned()
    }
}

/// Bytes of ciphertext all flows of a run may keep while waiting for keys.
pub const WAITING_BUDGET: usize = 64 << 20;

/// State the TLS and DTLS dissectors share across the flows of one run.
#[derive(Debug, Default)]
pub struct Shared {
    pub resumption: ResumptionCache,
    /// Ciphertext currently kept by all flows while waiting for keys.
    waiting: AtomicUsize,
}

impl Shared {
    /// Reserves room for `n` waiting bytes under the run-wide budget.
    pub fn reserve(&self, n: usize) -> bool {
        self.waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |cur| {
                (cur + n <= WAITING_BUDGET).then_some(cur + n)
            })
            .is_ok()
    }

    /// Returns `n` bytes to the budget.
    pub fn release(&self, n: usize) {
        let _ = self
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |cur| {
                Some(cur.saturating_sub(n))
            });
    }

    /// Bytes currently reserved.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

/// Cache keys: session id or ticket.
pub const BY_SESSION_ID: u8 = 0;
pub const BY_TICKET: u8 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_is_keyed_by_kind_and_redacted() {
        let c = ResumptionCache::default();
        let r = Remembered {
            master: vec![0xde, 0xad, 0xbe, 0xef],
            source: KeySource::KeyLog,
        };
        c.remember(BY_SESSION_ID, &[1, 2, 3], r.clone());
        assert!(c.recall(BY_SESSION_ID, &[1, 2, 3]).is_some());
        assert!(c.recall(BY_TICKET, &[1, 2, 3]).is_none());
        assert!(c.recall(BY_SESSION_ID, &[]).is_none());
        let dbg = format!("{c:?} {r:?}");
        assert!(dbg.contains("redacted"), "{dbg}");
        assert!(!dbg.contains("222") && !dbg.contains("dead"), "{dbg}");
    }
}
