//! `plainsight::store::scan` on the public storage corpus (`../shared/corpus/storage`).
//! Every test skips with a message when the corpus is absent.

use plainsight::evidence::canary::CanarySet;
use plainsight::evidence::{CryptoState, EvidenceKind};
use plainsight::model::Verdict;
use plainsight::store::{ScanOptions, ScanResult, StoreOutcome, scan};
use std::path::{Path, PathBuf};

fn corpus(sub: &str) -> Option<PathBuf> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    for up in ["../shared/corpus/storage", "../../shared/corpus/storage"] {
        let p = base.join(up).join(sub);
        if p.exists() {
            return Some(p);
        }
    }
    eprintln!("skipped: ../shared/corpus/storage/{sub} is not present");
    None
}

fn run(paths: &[PathBuf]) -> ScanResult {
    scan(
        paths,
        &CanarySet::default(),
        &plainsight::rules::builtin(),
        &ScanOptions {
            acquisition_time: Some(1_750_000_000),
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

fn verdict(s: &StoreOutcome) -> plainsight::verdict::Decision {
    plainsight::verdict::store(&s.evidence, &|_| String::new())
}

fn crypto_state(s: &StoreOutcome) -> Option<&CryptoState> {
    s.evidence.iter().find_map(|e| match &e.kind {
        EvidenceKind::Crypto { state, .. } => Some(state),
        _ => None,
    })
}

#[test]
fn whatsapp_backups_leak_their_header_and_open_with_the_key_files_beside_them() {
    let Some(dir) = corpus("wa-crypt-tools") else {
        return;
    };
    let r = run(std::slice::from_ref(&dir));
    let db = store(&r, "/msgstore.db");
    assert_eq!(db.kind, "sqlite");
    assert_eq!(db.app.as_deref(), Some("whatsapp"));
    assert_eq!(db.facts["auto_vacuum"], "full");
    for (file, format) in [
        ("msgstore.db.crypt12", "whatsapp-crypt12"),
        ("msgstore.db.crypt14", "whatsapp-crypt14"),
        ("msgstore-noexpiry.db.crypt14", "whatsapp-crypt14"),
        ("msgstore.db.crypt15", "whatsapp-crypt15"),
    ] {
        let s = store(&r, file);
        assert_eq!(s.kind, format, "{file}");
        assert_eq!(s.facts["backup"]["jid_suffix"], "67", "{file}");
        assert_eq!(crypto_state(s), Some(&CryptoState::Opened), "{file}");
        // The decrypted database is the same msgstore.db: same schema facts.
        assert_eq!(s.facts["decrypted"]["auto_vacuum"], "full", "{file}");
        assert_eq!(verdict(s).verdict, Verdict::Exposed, "{file}");
    }
    assert_eq!(
        store(&r, "msgstore.db.crypt15").facts["backup"]["app_version"],
        "2.22.5.13"
    );
    assert_eq!(
        store(&r, "msgstore.db.crypt15").facts["backup"]["key_type"],
        1
    );
    assert!(r.inputs.iter().all(|i| i.unchanged));
    // Without its key file a crypt15 backup is sealed, and says why.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.join("msgstore.db.crypt15"),
        tmp.path().join("msgstore.db.crypt15"),
    )
    .unwrap();
    let r = run(&[tmp.path().to_path_buf()]);
    let s = &r.stores[0];
    let d = verdict(s);
    assert_eq!(d.verdict, Verdict::Sealed, "{}", d.reason);
    assert!(d.reason.contains("end-to-end"), "{}", d.reason);
}

#[test]
fn sqlcipher_samples_are_recognised_as_encrypted_and_sealed() {
    let Some(dir) = corpus("sqlcipher") else {
        return;
    };
    let r = run(&[dir]);
    assert_eq!(r.stores.len(), 4);
    for s in &r.stores {
        assert_eq!(s.kind, "sqlcipher", "{}", s.path);
        assert_eq!(verdict(s).verdict, Verdict::Sealed, "{}", s.path);
        assert!(s.facts["cipher"]["entropy_bits_per_byte"].as_f64().unwrap() > 7.9);
    }
}

#[test]
fn litestream_wals_stop_at_the_right_frame_and_keep_stale_generations() {
    let Some(dir) = corpus("litestream/wal-reader") else {
        return;
    };
    let r = run(&[dir]);
    let wal = |name: &str| store(&r, &format!("{name}/wal")).facts["wal"].clone();
    assert_eq!(wal("ok")["valid"], 3);
    assert_eq!(wal("ok")["stops_at_frame"], serde_json::Value::Null);
    assert_eq!(wal("salt-mismatch")["stops_at_frame"], 1);
    assert_eq!(wal("salt-mismatch")["valid"], 1);
    assert_eq!(wal("frame-checksum-mismatch")["stops_at_frame"], 1);
    assert_eq!(
        wal("frame-checksum-mismatch")["stop_reason"],
        "checksum chain broken"
    );
    let fs = wal("frame-salts");
    assert_eq!(fs["valid"], 2);
    assert_eq!(fs["salt_generations"], 3);
    assert_eq!(fs["stale"], 8);
    // Frames 3-4 and 6-9 verify against their own generation's chain.
    assert_eq!(fs["stale_chained"], 6);
}

#[test]
fn chat_history_manager_dumps_are_attributed_and_exposed() {
    let Some(dir) = corpus("chat-history-manager") else {
        return;
    };
    let r = run(&[dir]);
    for d in ["whatsapp-android_2023-10", "whatsapp-android_2026-05"] {
        let s = store(&r, &format!("{d}/msgstore.db"));
        assert_eq!(s.app.as_deref(), Some("whatsapp"), "{d}");
        assert_eq!(verdict(s).verdict, Verdict::Exposed, "{d}");
        assert_eq!(
            store(&r, &format!("{d}/wa.db")).app.as_deref(),
            Some("whatsapp")
        );
    }
    let sig = store(&r, "signal_2024-08-macos/plaintext.db");
    assert_eq!(sig.app.as_deref(), Some("signal"));
    assert_eq!(verdict(sig).verdict, Verdict::Exposed);
    // messages.json is decoded: every body, including the pre-edit one.
    assert!(
        sig.facts["content_rows"]["messages.json"].as_u64().unwrap()
            > sig.facts["content_rows"]["messages.body"].as_u64().unwrap()
    );
    let tinder = store(&r, "tinder-android_2023-11/tinder-3.db");
    assert_eq!(tinder.app, None);
    assert_eq!(
        verdict(tinder).verdict,
        Verdict::Exposed,
        "generic scan of an unknown app"
    );
}

#[test]
fn mvt_ios_backup_files_are_recognised_by_schema() {
    let Some(dir) = corpus("mvt/ios_backup") else {
        return;
    };
    let r = run(&[dir]);
    let sms = store(&r, "3d0d7e5fb2ce288813306e4d4636395e047a3d28");
    assert_eq!(sms.app.as_deref(), Some("imessage"));
    assert_eq!(verdict(sms).verdict, Verdict::Exposed);
    let wa = store(&r, "7c7fba66680ef796b916b067077cc246adacf01d");
    assert_eq!(wa.app.as_deref(), Some("whatsapp"));
    assert_eq!(wa.facts["content_rows"]["ZWAMESSAGE.ZTEXT"], 3);
}

#[test]
fn nemetz_corpus_scans_without_panics_and_names_the_damage() {
    let Some(dir) = corpus("nemetz/sqlite_forensic_corpus_v2.0") else {
        return;
    };
    let r = run(&[dir]);
    assert!(r.stores.len() >= 141);
    assert!(r.inputs.iter().all(|i| i.unchanged));
    // Deleted records are carved in every deleted-records database.
    for n in 1..=10 {
        let s = store(&r, &format!("0C/0C-{n:02}.db"));
        let carved: u64 = s.facts["carved"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert!(carved > 0, "0C-{n:02}");
    }
    // Manipulated b-trees are reported, with the page number.
    for db in ["12-01_antifor.db", "11-04_antifor.db"] {
        assert!(
            r.warnings
                .iter()
                .any(|w| w.0.ends_with(db) && w.2.contains("page")),
            "{db}: {:?}",
            r.warnings
                .iter()
                .filter(|w| w.0.ends_with(db))
                .collect::<Vec<_>>()
        );
    }
    // Wiped freeblocks and freelist trunks yield no deleted rows.
    for s in r
        .stores
        .iter()
        .filter(|s| s.path.contains("/17/") || s.path.contains("/18/"))
    {
        let residue = s
            .facts
            .get("carved")
            .and_then(|c| c.as_object())
            .map_or(0, |c| {
                c.iter()
                    .filter(|(k, _)| *k != "orphan-page")
                    .map(|(_, v)| v.as_u64().unwrap_or(0))
                    .sum::<u64>()
            });
        assert_eq!(residue, 0, "{}", s.path);
    }
}
