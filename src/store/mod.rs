//! App storage: walk, sniff, copy aside, SQLite reader and page carver.
//!
//! `scan` takes files and folders, identifies each input by content, hashes
//! it before and after, groups SQLite databases with their `-wal`,
//! `-shm` and `-journal`, and turns what it finds into evidence per store:
//! live message text (SQL on a private copy), deleted and expired content
//! (the raw-page carver, FTS index decoders, app expiry columns), encryption
//! at rest (SQLCipher, WhatsApp backups) and whether its key lies beside it.
//! Verdicts are decided elsewhere (`crate::verdict::store`).

pub mod apps;
pub mod crypt;
mod db;
mod sink;
pub mod sniff;
pub mod sqlite;
pub mod walk;

use crate::evidence::canary::{CanarySet, ScanState};
use crate::evidence::{CryptoState, Evidence, EvidenceKind, Layer, Origin, Protection};
use crate::rules::model::RuleSet;
use serde_json::{Map, Value as J, json};
use sink::Sink;
use sqlite::reader::Family;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub max_depth: usize,
    /// Files larger than this are listed and hashed but not analysed.
    pub max_file_size: u64,
    /// Unix seconds; when `None` the newest file modification time is used
    /// (and a warning says so) — never the analysis clock.
    pub acquisition_time: Option<i64>,
    /// false: never leave the given roots through a symbolic link.
    pub follow_symlinks: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_depth: 32,
            max_file_size: 16 << 30,
            acquisition_time: None,
            follow_symlinks: false,
        }
    }
}

/// One file read by the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedInput {
    pub path: String,
    /// sqlite, sqlite-wal, sqlite-journal, sqlite-shm, sqlcipher,
    /// whatsapp-crypt12/14/15, text, xml, json, leveldb, keyfile,
    /// encrypted, binary, empty, directory.
    pub kind: String,
    pub size: u64,
    pub sha256: String,
    /// Re-hashed after the scan and found identical.
    pub unchanged: bool,
}

/// What the scan found in one store (a database with its companions, a
/// backup, or a file).
#[derive(Debug, Clone)]
pub struct StoreOutcome {
    pub id: u32,
    pub path: String,
    pub kind: String,
    pub app: Option<String>,
    /// Subject `SubjectId::Store(id)`, bounded per store.
    pub evidence: Vec<Evidence>,
    pub evidence_omitted: u64,
    pub facts: Map<String, J>,
}

#[derive(Debug, Clone, Default)]
pub struct ScanResult {
    pub inputs: Vec<ScannedInput>,
    pub stores: Vec<StoreOutcome>,
    /// `(path, offset or page, message)`.
    pub warnings: Vec<(String, Option<u64>, String)>,
}

struct Entry {
    path: PathBuf,
    kind: &'static str,
    size: u64,
    sha256: String,
    mtime: Option<i64>,
    head: Vec<u8>,
    tail: Vec<u8>,
    skip: bool,
}

/// Largest backup decrypted in memory.
const MAX_BACKUP: u64 = 1 << 30;

/// Scans files and folders for message content at rest.
pub fn scan(
    paths: &[PathBuf],
    canaries: &CanarySet,
    rules: &RuleSet,
    opts: &ScanOptions,
) -> ScanResult {
    let mut warnings = Vec::new();
    let files = walk::walk(
        paths,
        &walk::WalkOptions {
            max_depth: opts.max_depth,
            follow_symlinks: opts.follow_symlinks,
        },
        &mut warnings,
    );
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut queue: Vec<PathBuf> = files;
    while let Some(p) = queue.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let Some(e) = read_entry(&p, opts, &mut warnings) else {
            continue;
        };
        // SQLite reads the companions of a database even when not named.
        if matches!(e.kind, "sqlite" | "sqlcipher") {
            for sfx in ["-wal", "-shm", "-journal"] {
                let c = PathBuf::from(format!("{}{sfx}", p.display()));
                if c.is_file() && !seen.contains(&c) {
                    queue.push(c);
                }
            }
        }
        entries.push(e);
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let acquired = match opts.acquisition_time {
        Some(t) => t,
        None => {
            let t = entries.iter().filter_map(|e| e.mtime).max().unwrap_or(0);
            warnings.push((
                String::new(),
                None,
                format!("acquisition time not given: using the newest file modification time ({t}, Unix seconds) to judge expiry"),
            ));
            t
        }
    };
    let index: BTreeMap<PathBuf, u32> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.path.clone(), i as u32))
        .collect();
    let all_paths: Vec<PathBuf> = entries.iter().map(|e| e.path.clone()).collect();
    // Companions claimed by a database.
    let companion_of = |e: &Entry| -> Option<PathBuf> {
        let s = e.path.to_string_lossy();
        for (sfx, kind) in [
            ("-wal", "sqlite-wal"),
            ("-shm", "sqlite-shm"),
            ("-journal", "sqlite-journal"),
        ] {
            if let Some(base) = s.strip_suffix(sfx)
                && e.kind == kind
            {
                let b = PathBuf::from(base);
                if entries
                    .iter()
                    .any(|m| m.path == b && matches!(m.kind, "sqlite" | "sqlcipher"))
                {
                    return Some(b);
                }
            }
        }
        None
    };
    let mut stores = Vec::new();
    let mut next_id = 1u32;
    for e in &entries {
        if e.kind == "empty" || companion_of(e).is_some() {
            continue;
        }
        let id = next_id;
        next_id += 1;
        let mut sink = Sink::new(id, canaries);
        let mut facts = Map::new();
        let mut app = None;
        let label = e.path.display().to_string();
        if e.skip {
            facts.insert("skipped".into(), json!("larger than the file size limit"));
        } else {
            match e.kind {
                "sqlite" => {
                    let fam = family(&e.path, &entries);
                    let inputs = db::Inputs {
                        main: index.get(&fam.main).copied(),
                        wal: fam.wal.as_ref().and_then(|p| index.get(p).copied()),
                        journal: fam.journal.as_ref().and_then(|p| index.get(p).copied()),
                    };
                    let mut cx = db::DbCx {
                        rules,
                        acquired,
                        warnings: &mut warnings,
                    };
                    let out = db::scan_family(&fam, &label, &[], inputs, &mut sink, &mut cx);
                    app = out.app;
                    facts = out.facts;
                }
                "sqlcipher" => {
                    app = scan_sqlcipher(
                        e,
                        &entries,
                        &index,
                        rules,
                        acquired,
                        &mut sink,
                        &mut facts,
                        &mut warnings,
                    );
                }
                k if k.starts_with("whatsapp-crypt") => {
                    app = scan_wa_backup(
                        e,
                        &all_paths,
                        &index,
                        rules,
                        acquired,
                        &mut sink,
                        &mut facts,
                        &mut warnings,
                    );
                }
                k => {
                    app = apps::match_store(rules, &path_text(&e.path), None)
                        .map(|m| m.app.id.clone());
                    scan_raw(
                        e,
                        k,
                        index.get(&e.path).copied(),
                        &mut sink,
                        &mut facts,
                        &mut warnings,
                    );
                }
            }
        }
        let (evidence, evidence_omitted) = sink.finish();
        stores.push(StoreOutcome {
            id,
            path: label,
            kind: e.kind.to_string(),
            app,
            evidence,
            evidence_omitted,
            facts,
        });
    }
    // Evidence is sacred: prove nothing changed.
    let mut inputs = Vec::new();
    for e in &entries {
        let after = walk::sha256_file(&e.path).unwrap_or_default();
        let unchanged = after == e.sha256;
        if !unchanged {
            warnings.push((
                e.path.display().to_string(),
                None,
                "the file changed while it was scanned (another process is writing to it)".into(),
            ));
        }
        inputs.push(ScannedInput {
            path: e.path.display().to_string(),
            kind: e.kind.to_string(),
            size: e.size,
            sha256: e.sha256.clone(),
            unchanged,
        });
    }
    ScanResult {
        inputs,
        stores,
        warnings,
    }
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

fn read_entry(
    p: &Path,
    opts: &ScanOptions,
    warnings: &mut Vec<(String, Option<u64>, String)>,
) -> Option<Entry> {
    let name = p.display().to_string();
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) => {
            warnings.push((name, None, format!("cannot read: {e}")));
            return None;
        }
    };
    let sha256 = match walk::sha256_file(p) {
        Ok(h) => h,
        Err(e) => {
            warnings.push((name, None, format!("cannot read: {e}")));
            return None;
        }
    };
    let (head, tail, size) = match sniff::head_tail(p) {
        Ok(x) => x,
        Err(e) => {
            warnings.push((name, None, format!("cannot read: {e}")));
            return None;
        }
    };
    let skip = size > opts.max_file_size;
    if skip {
        warnings.push((
            name,
            None,
            format!(
                "{size} bytes exceeds the file size limit ({}); hashed, not analysed",
                opts.max_file_size
            ),
        ));
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    Some(Entry {
        kind: sniff::kind(p, &head, &tail, size),
        path: p.to_path_buf(),
        size,
        sha256,
        mtime,
        head,
        tail,
        skip,
    })
}

/// A database and the companions (by name and verified kind) among the inputs.
fn family(main: &Path, entries: &[Entry]) -> Family {
    let find = |sfx: &str, kind: &str| {
        let p = PathBuf::from(format!("{}{sfx}", main.display()));
        entries
            .iter()
            .any(|e| e.path == p && e.kind == kind)
            .then_some(p)
    };
    Family {
        main: main.to_path_buf(),
        wal: find("-wal", "sqlite-wal"),
        shm: find("-shm", "sqlite-shm"),
        journal: find("-journal", "sqlite-journal"),
    }
}

fn keyless(name: String) -> Layer {
    Layer {
        name: Cow::Owned(name),
        protection: Protection::Keyless,
    }
}

fn crypto(
    sink: &mut Sink<'_>,
    protocol: &'static str,
    state: CryptoState,
    opened: bool,
    input: Option<u32>,
) {
    sink.push(
        EvidenceKind::Crypto {
            protocol: Cow::Borrowed(protocol),
            state,
            records: 1,
            decrypted: u64::from(opened),
        },
        vec![Layer::plain("file")],
        None,
        Origin {
            input,
            ..Origin::default()
        },
        format!("crypto:{protocol}"),
        4,
    );
}

#[allow(clippy::too_many_arguments)]
fn scan_sqlcipher(
    e: &Entry,
    entries: &[Entry],
    index: &BTreeMap<PathBuf, u32>,
    rules: &RuleSet,
    acquired: i64,
    sink: &mut Sink<'_>,
    facts: &mut Map<String, J>,
    warnings: &mut Vec<(String, Option<u64>, String)>,
) -> Option<String> {
    let input = index.get(&e.path).copied();
    let guess = crypt::sqlcipher_guess(&e.head, e.size);
    let mut app = apps::match_store(rules, &path_text(&e.path), None).map(|m| m.app.id.clone());
    if let Some(g) = &guess {
        facts.insert(
            "cipher".into(),
            json!({
                "page_size": g.page_size,
                "plaintext_header": g.plaintext_header,
                "reserved_bytes": g.reserve,
                "entropy_bits_per_byte": (g.entropy * 100.0).round() / 100.0,
            }),
        );
    }
    let fam = family(&e.path, entries);
    if let Some(w) = &fam.wal
        && let Ok(src) = sqlite::source::Source::open(w)
        && let Some(scan) = sqlite::wal::scan(&src)
    {
        facts.insert(
            "wal".into(),
            json!({"frames": scan.frames.len(), "valid": scan.valid, "page_size": scan.header.page_size}),
        );
    }
    let plaintext_header = guess.as_ref().is_some_and(|g| g.plaintext_header);
    let key = crypt::signal_desktop_key(&e.path);
    let label = e.path.display().to_string();
    match key {
        Some(Ok(k)) => {
            if app.is_none() && rules.app("signal").is_some() {
                app = Some("signal".into());
            }
            let dir = tempfile::Builder::new()
                .prefix("plainsight-sqlcipher-")
                .tempdir()
                .ok();
            let opened = dir.as_ref().and_then(|d| {
                let out = d.path().join("decrypted.db");
                let src = sqlite::source::Source::open(&e.path).ok()?;
                crypt::sqlcipher_decrypt(&src, &k.key, &out).map(|p| (p, out))
            });
            sink.meta(
                "crypto.key_beside",
                format!("{} ({})", k.how, k.file.display()),
                vec![Layer::plain("file")],
                Origin {
                    input,
                    ..Origin::default()
                },
            );
            match opened {
                Some((profile, out)) => {
                    facts.insert(
                        "decrypted_with".into(),
                        json!({"key_file": k.file.display().to_string(), "profile": profile.name}),
                    );
                    crypto(sink, "sqlcipher", CryptoState::Opened, true, input);
                    let fam = Family {
                        main: out,
                        ..Family::default()
                    };
                    let prefix = [keyless(format!(
                        "sqlcipher (key in {})",
                        file_name(&k.file)
                    ))];
                    let mut cx = db::DbCx {
                        rules,
                        acquired,
                        warnings,
                    };
                    let inputs = db::Inputs {
                        main: input,
                        ..db::Inputs::default()
                    };
                    let out = db::scan_family(&fam, &label, &prefix, inputs, sink, &mut cx);
                    if out.app.is_some() {
                        app = out.app;
                    }
                    facts.insert("decrypted".into(), J::Object(out.facts));
                }
                None => crypto(
                    sink,
                    "sqlcipher",
                    CryptoState::NotOpened {
                        reason: format!(
                            "key beside the data: {} ({}); its cipher profile is not one this tool opens",
                            k.how,
                            k.file.display()
                        ),
                    },
                    false,
                    input,
                ),
            }
        }
        Some(Err(why)) => {
            let reason = if why.contains("basic_text") {
                sink.meta(
                    "crypto.key_beside",
                    why.clone(),
                    vec![Layer::plain("file")],
                    Origin {
                        input,
                        ..Origin::default()
                    },
                );
                format!("key beside the data: {why}")
            } else {
                why
            };
            crypto(
                sink,
                "sqlcipher",
                CryptoState::NotOpened { reason },
                false,
                input,
            );
        }
        None => {
            let reason = if plaintext_header {
                "page-level encrypted with a plaintext header (SQLCipher, Signal iOS style); no key beside it: the salt and key are kept outside the file".to_string()
            } else {
                "page-level encrypted (SQLCipher-like: no SQLite header, random-looking pages); no key found beside it".to_string()
            };
            crypto(
                sink,
                "sqlcipher",
                CryptoState::NotOpened { reason },
                false,
                input,
            );
        }
    }
    app
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn scan_wa_backup(
    e: &Entry,
    all: &[PathBuf],
    index: &BTreeMap<PathBuf, u32>,
    rules: &RuleSet,
    acquired: i64,
    sink: &mut Sink<'_>,
    facts: &mut Map<String, J>,
    warnings: &mut Vec<(String, Option<u64>, String)>,
) -> Option<String> {
    let input = index.get(&e.path).copied();
    let o = Origin {
        input,
        ..Origin::default()
    };
    let w = crypt::wa_backup(&e.head, &e.tail)?;
    let protocol: &'static str = w.format;
    let file_layer = vec![Layer::plain("file")];
    facts.insert(
        "backup".into(),
        json!({
            "format": w.format,
            "app_version": w.app_version,
            "jid_suffix": w.jid_suffix,
            "backup_version": w.backup_version,
            "key_type": w.key_type,
            "key_type_new": w.key_type_new,
            "feature_flags": w.features,
        }),
    );
    if let Some(v) = &w.app_version {
        sink.meta(
            "whatsapp.backup.app_version",
            v.clone(),
            file_layer.clone(),
            o.clone(),
        );
    }
    if let Some(j) = &w.jid_suffix {
        sink.meta(
            "whatsapp.backup.phone_suffix",
            format!("the owner's phone number ends in {j}"),
            file_layer.clone(),
            o.clone(),
        );
    }
    if let Some(k) = w.key_type {
        sink.meta(
            "whatsapp.backup.key_type",
            if k == 1 {
                "end-to-end encrypted backup".into()
            } else {
                "backup key held by WhatsApp".into()
            },
            file_layer.clone(),
            o.clone(),
        );
    }
    let app = rules.app("whatsapp").map(|a| a.id.clone());
    let Some(k) = crypt::wa_key_beside(&e.path, &w, all) else {
        let reason = if w.format == "whatsapp-crypt15" {
            "end-to-end encrypted backup; no key file (encrypted_backup.key) or 64-digit key found next to it".to_string()
        } else {
            "the backup key lives in the app's private files/key (or WhatsApp's servers); none found beside it".to_string()
        };
        crypto(
            sink,
            protocol,
            CryptoState::NotOpened { reason },
            false,
            input,
        );
        return app;
    };
    sink.meta(
        "crypto.key_beside",
        format!("{} ({})", k.how, k.file.display()),
        file_layer.clone(),
        o.clone(),
    );
    if e.size > MAX_BACKUP {
        crypto(
            sink,
            protocol,
            CryptoState::NotOpened {
                reason: format!(
                    "key beside the data: {} (not opened: larger than {MAX_BACKUP} bytes)",
                    k.how
                ),
            },
            false,
            input,
        );
        return app;
    }
    let plain = std::fs::read(&e.path)
        .ok()
        .and_then(|b| crypt::wa_decrypt(&b, &w, &k.key, 8 << 30));
    let Some(plain) = plain else {
        crypto(
            sink,
            protocol,
            CryptoState::NotOpened {
                reason: format!(
                    "a key file ({}) is beside it but does not open it",
                    k.file.display()
                ),
            },
            false,
            input,
        );
        return app;
    };
    crypto(sink, protocol, CryptoState::Opened, true, input);
    facts.insert("decrypted_with".into(), json!(k.file.display().to_string()));
    let Ok(dir) = tempfile::Builder::new()
        .prefix("plainsight-backup-")
        .tempdir()
    else {
        return app;
    };
    let out = dir.path().join("msgstore.db");
    if std::fs::write(&out, &plain).is_err() {
        return app;
    }
    let fam = Family {
        main: out,
        ..Family::default()
    };
    let prefix = [keyless(format!(
        "{protocol} (key in {})",
        file_name(&k.file)
    ))];
    let mut cx = db::DbCx {
        rules,
        acquired,
        warnings,
    };
    let inputs = db::Inputs {
        main: input,
        ..db::Inputs::default()
    };
    let label = e.path.display().to_string();
    let r = db::scan_family(&fam, &label, &prefix, inputs, sink, &mut cx);
    facts.insert("decrypted".into(), J::Object(r.facts));
    r.app.or(app)
}

/// Files that are not databases: searched for canaries as raw bytes.
fn scan_raw(
    e: &Entry,
    kind: &'static str,
    input: Option<u32>,
    sink: &mut Sink<'_>,
    facts: &mut Map<String, J>,
    warnings: &mut Vec<(String, Option<u64>, String)>,
) {
    use std::io::Read;
    facts.insert(
        "entropy_bits_per_byte".into(),
        json!((crypt::entropy(&e.head) * 100.0).round() / 100.0),
    );
    if kind == "sqlite-wal"
        && let Ok(src) = sqlite::source::Source::open(&e.path)
        && let Some(w) = sqlite::wal::scan(&src)
    {
        // A WAL without its database: frames and generations are still auditable.
        use sqlite::wal::FrameClass;
        let mut salts: Vec<(u32, u32)> = w.frames.iter().map(|f| f.salt).collect();
        salts.sort_unstable();
        salts.dedup();
        facts.insert(
            "wal".into(),
            json!({
                "page_size": w.header.page_size,
                "checkpoint_seq": w.header.checkpoint_seq,
                "header_checksum_ok": w.header.valid,
                "frames": w.frames.len(),
                "valid": w.valid,
                "last_commit_frame": w.last_commit,
                "stops_at_frame": w.stop.map(|s| s.0),
                "stop_reason": w.stop.map(|s| s.1),
                "stale": w.count(FrameClass::Stale),
                "stale_chained": w.frames.iter().filter(|f| f.class == FrameClass::Stale && f.chained == Some(true)).count(),
                "invalid": w.count(FrameClass::Invalid),
                "salt_generations": salts.len(),
            }),
        );
        if let Some((i, why)) = w.stop
            && let Some(f) = w.frames.get(i as usize)
        {
            warnings.push((
                e.path.display().to_string(),
                Some(f.offset),
                format!("WAL readers stop at frame {i}: {why}"),
            ));
        }
    }
    if sink.canaries.is_empty() {
        return;
    }
    let Ok(mut f) = std::fs::File::open(&e.path) else {
        warnings.push((e.path.display().to_string(), None, "cannot read".into()));
        return;
    };
    let layers = vec![Layer::plain(kind)];
    let mut st = ScanState::default();
    let mut buf = vec![0u8; 1 << 20];
    let mut hits = Vec::new();
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) => {
                warnings.push((
                    e.path.display().to_string(),
                    Some(st.position()),
                    format!("read error: {err}"),
                ));
                break;
            }
        };
        sink.canaries.scan(&mut st, &buf[..n], |h| hits.push(h));
    }
    facts.insert("canary_hits".into(), json!(hits.len()));
    for h in hits {
        let cat = format!("canary:{}:{kind}", h.canary);
        sink.push(
            EvidenceKind::Canary {
                canary: h.canary,
                encoding: h.encoding,
                context: h.context,
            },
            layers.clone(),
            Some(h.offset),
            Origin {
                input,
                packet: None,
                file_offset: Some(h.offset),
            },
            cat,
            4,
        );
    }
}
