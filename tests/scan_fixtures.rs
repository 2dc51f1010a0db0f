//! `plainsight::store::scan` on the generated fixtures (`fixtures/gen/stores.rs`).

use plainsight::evidence::canary::{CanarySet, load_file};
use plainsight::evidence::{CryptoState, Evidence, EvidenceKind};
use plainsight::model::{CanaryVerdict, Verdict};
use plainsight::rules::eval::{Subject, evaluate};
use plainsight::rules::model::SubjectKind;
use plainsight::store::{ScanOptions, ScanResult, StoreOutcome, scan};
use std::path::{Path, PathBuf};

const ACQUIRED: i64 = 1_750_000_000;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn canaries() -> CanarySet {
    CanarySet::new(load_file(&root().join("stores-canaries.toml")).unwrap()).unwrap()
}

fn run(paths: &[PathBuf], cs: &CanarySet) -> ScanResult {
    scan(
        paths,
        cs,
        &plainsight::rules::builtin(),
        &ScanOptions {
            acquisition_time: Some(ACQUIRED),
            ..ScanOptions::default()
        },
    )
}

fn store<'a>(r: &'a ScanResult, suffix: &str) -> &'a StoreOutcome {
    r.stores
        .iter()
        .find(|s| s.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no store {suffix}"))
}

fn verdict(s: &StoreOutcome, cs: &CanarySet) -> plainsight::verdict::Decision {
    plainsight::verdict::store(&s.evidence, &|i| {
        cs.get(i).map(|c| c.text.clone()).unwrap_or_default()
    })
}

fn fired(s: &StoreOutcome, cs: &CanarySet) -> Vec<String> {
    let rules = plainsight::rules::builtin();
    let d = verdict(s, cs);
    let subj = Subject {
        kind: SubjectKind::Store,
        label: format!("store {}", s.id),
        identity: s.path.clone(),
        protocol: &s.kind,
        app: s.app.as_deref(),
        verdict: d.verdict,
        reason: &d.reason,
        client: None,
        server: None,
        evidence: &s.evidence,
    };
    evaluate(&rules, &subj, cs)
        .into_iter()
        .map(|f| f.check.id.clone())
        .collect()
}

#[test]
fn every_canary_gets_the_verdict_its_fixture_was_built_for() {
    let cs = canaries();
    let r = run(&[root().join("stores")], &cs);
    let mut best = vec![CanaryVerdict::NotFound; cs.len()];
    for s in &r.stores {
        for e in &s.evidence {
            if let EvidenceKind::Canary { canary, .. } = e.kind {
                let v = plainsight::verdict::canary_hit(e);
                if v > best[canary as usize] {
                    best[canary as usize] = v;
                }
            }
        }
    }
    let mut wrong = Vec::new();
    for (i, c) in cs.canaries().iter().enumerate() {
        let label = c.label.as_deref().unwrap_or_default();
        let want = label.rsplit("expect ").next().unwrap_or_default();
        let got = best[i].as_str();
        if got != want {
            wrong.push(format!("{} ({label}): got {got}", c.text));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn stores_are_attributed_and_judged() {
    let cs = canaries();
    let r = run(&[root().join("stores")], &cs);
    let wa = store(&r, "whatsapp/com.whatsapp/databases/msgstore.db");
    assert_eq!(wa.app.as_deref(), Some("whatsapp"));
    assert_eq!(verdict(wa, &cs).verdict, Verdict::Exposed);
    assert_eq!(wa.facts["secure_delete"], "off (inferred)");
    assert_eq!(wa.facts["expired_rows_present"], 1);
    // The encrypted Signal Desktop database is opened with the key beside it.
    let sd = store(&r, "Signal/sql/db.sqlite");
    assert_eq!(sd.kind, "sqlcipher");
    assert_eq!(sd.app.as_deref(), Some("signal"));
    let d = verdict(sd, &cs);
    assert_eq!(d.verdict, Verdict::Exposed);
    assert!(d.reason.contains("key in config.json"), "{}", d.reason);
    // The one without a key stays sealed, never exposed by guesswork.
    let sa = store(&r, "databases/signal.db");
    assert_eq!(verdict(sa, &cs).verdict, Verdict::Sealed);
    assert!(sa.evidence.iter().any(|e| matches!(
        &e.kind,
        EvidenceKind::Crypto { state: CryptoState::NotOpened { reason }, .. } if reason.contains("no key")
    )));
    assert_eq!(store(&r, "cache4.db").app.as_deref(), Some("telegram"));
    assert_eq!(
        store(&r, "Messages/chat.db").app.as_deref(),
        Some("imessage")
    );
    assert_eq!(store(&r, "wa.db").app.as_deref(), Some("whatsapp"));
    // secure_delete is inferred from zeroed freeblocks.
    assert_eq!(
        store(&r, "journal/clean.db").facts["secure_delete"],
        "on (inferred)"
    );
    assert!(r.inputs.iter().all(|i| i.unchanged));
}

#[test]
fn storage_checks_fire_on_the_right_stores() {
    let cs = canaries();
    let r = run(&[root().join("stores")], &cs);
    let expect: &[(&str, &[&str])] = &[
        (
            "whatsapp/com.whatsapp/databases/msgstore.db",
            &[
                "canary-readable-at-rest",
                "message-text-at-rest",
                "deleted-rows-in-freeblocks",
                "fts-index-keeps-deleted-text",
                "fts-content-outlives-message",
                "quoted-copy-outlives-message",
                "expired-messages-still-present",
                "sqlite-secure-delete-off",
                "sqlite-auto-vacuum-none",
            ],
        ),
        (
            "whatsapp-wal/com.whatsapp/databases/msgstore.db",
            &[
                "deleted-rows-in-wal",
                "deleted-rows-before-checkpoint",
                "canary-retained-after-deletion",
            ],
        ),
        (
            "Signal/sql/db.sqlite",
            &["key-stored-beside-data", "canary-readable-at-rest"],
        ),
        ("databases/signal.db", &["store-encrypted-at-rest"]),
        (
            "journal/persist.db",
            &["deleted-rows-in-rollback-journal", "sqlite-journal-persist"],
        ),
        (
            "generic/databases/notes.db",
            &["fts-index-keeps-deleted-text", "fts5-secure-delete-off"],
        ),
        ("cache4.db", &["expired-messages-still-present"]),
    ];
    for (path, ids) in expect {
        let got = fired(store(&r, path), &cs);
        for id in *ids {
            assert!(
                got.iter().any(|g| g == id),
                "{path}: {id} did not fire; fired {got:?}"
            );
        }
    }
    let clean = fired(store(&r, "journal/clean.db"), &cs);
    assert!(
        !clean.iter().any(|g| g.starts_with("deleted-rows")),
        "{clean:?}"
    );
    assert!(
        !fired(store(&r, "databases/signal.db"), &cs)
            .contains(&"key-stored-beside-data".to_string())
    );
}

/// Copies a fixture folder so the test can watch its directory listing.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

fn listing(d: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_database_with_a_live_wal_is_byte_identical_after_a_scan() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&root().join("stores/whatsapp-wal"), tmp.path());
    let dir = tmp.path().join("com.whatsapp/databases");
    let before = listing(&dir);
    assert!(before.iter().any(|(n, _)| n.ends_with("-wal")));
    assert!(!before.iter().any(|(n, _)| n.ends_with("-shm")));
    let cs = canaries();
    // Name only the database: its WAL is found and read beside it.
    let r = run(&[dir.join("msgstore.db")], &cs);
    assert_eq!(
        listing(&dir),
        before,
        "no byte changed and no -shm/-wal appeared"
    );
    assert_eq!(r.inputs.len(), 2);
    assert!(r.inputs.iter().all(|i| i.unchanged));
    let s = &r.stores[0];
    assert_eq!(s.facts["journal_mode"], "wal");
    assert!(s.facts["wal"]["stale"].as_u64().unwrap() > 0);
    // The row only in the WAL is read through SQLite on the copy.
    let live: Vec<&Evidence> = s
        .evidence
        .iter()
        .filter(|e| matches!(e.kind, EvidenceKind::Canary { .. }) && !e.residue())
        .collect();
    assert_eq!(live.len(), 1);
}

#[test]
fn walking_refuses_links_out_of_the_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("leak.txt"), "PS-LOGLN5P8WD3C").unwrap();
    std::fs::write(tmp.path().join("inside.txt"), "nothing here").unwrap();
    std::os::unix::fs::symlink(outside.path(), tmp.path().join("link")).unwrap();
    let cs = canaries();
    let r = run(&[tmp.path().to_path_buf()], &cs);
    assert_eq!(r.inputs.len(), 1);
    assert!(r.warnings.iter().any(|w| w.2.contains("symbolic link")));
}
