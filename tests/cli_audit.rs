//! `plainsight audit` through the real binary: the demo bundle's scorecard,
//! discovery by content, named inputs, and the reproducible parts of the
//! demo generator.

#[path = "../fixtures/gen/demo.rs"]
mod demo;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo_dir() -> PathBuf {
    root().join("fixtures/demo")
}

fn plainsight() -> Command {
    let mut c = Command::cargo_bin("plainsight").expect("binary built");
    c.env_remove("SSLKEYLOGFILE")
        .env("NO_COLOR", "1")
        .current_dir(root());
    c
}

fn audit_json(args: &[&str]) -> (i32, Value, String) {
    let out = plainsight()
        .arg("audit")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    (out.status.code().expect("exit code"), doc, stderr)
}

fn app<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"] == id)
        .unwrap_or_else(|| panic!("no scorecard row {id}: {:#}", doc["apps"]))
}

fn canary_verdict(doc: &Value, label_start: &str) -> String {
    doc["canaries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"].as_str().unwrap_or("").starts_with(label_start))
        .map(|c| c["verdict"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no canary labelled {label_start}"))
}

/// The scorecard of the demo, row by row: what the README shows.
fn assert_demo_scorecard(doc: &Value) {
    assert_eq!(doc["command"], "audit");
    let p = app(doc, "parley");
    assert_eq!(p["attribution"], "profile");
    assert_eq!(p["claim"], "private team chat");
    assert_eq!(p["wire"], "exposed");
    assert_eq!(p["storage"], "exposed");
    assert_eq!(p["retained"], false);
    assert_eq!(p["overall"], "exposed");
    let h = app(doc, "helpdesk");
    assert_eq!(h["claim"], "encrypted in transit");
    assert_eq!(h["wire"], "server-readable");
    assert_eq!(h["storage"], "retained");
    assert_eq!(h["retained"], true);
    assert_eq!(h["overall"], "server-readable");
    assert_eq!(h["leaks"]["sni"], 1);
    let v = app(doc, "vaultchat");
    assert_eq!(v["claim"], "end-to-end encrypted");
    assert_eq!(v["wire"], "sealed");
    assert_eq!(v["storage"], "sealed");
    assert_eq!(v["retained"], false);
    assert_eq!(v["overall"], "sealed");
    // A flow no profile knows appears under the name it was seen with.
    let t = app(doc, "cdn.tracker.example");
    assert_eq!(t["attribution"], "server-name");
    assert_eq!(t["claim"], Value::Null);
    assert_eq!(t["wire"], "opaque");
    assert_eq!(t["storage"], Value::Null);
    // Worst first; the unattributed row, if any, last.
    let names: Vec<&str> = doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "parley", "{names:?}");
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(pos("helpdesk") < pos("cdn.tracker.example"));
    assert!(pos("cdn.tracker.example") < pos("vaultchat"));
    if let Some(u) = names.iter().position(|n| *n == "unattributed") {
        assert_eq!(u, names.len() - 1);
    }
    assert_eq!(canary_verdict(doc, "parley: message sent"), "exposed");
    assert_eq!(canary_verdict(doc, "helpdesk: ticket"), "server-readable");
    assert_eq!(canary_verdict(doc, "parley: message kept"), "exposed");
    assert_eq!(canary_verdict(doc, "helpdesk: draft deleted"), "retained");
    assert_eq!(canary_verdict(doc, "vaultchat"), "not-found");
}

#[test]
fn the_demo_bundle_gives_the_documented_scorecard() {
    let (code, doc, _) = audit_json(&["fixtures/demo/"]);
    assert_eq!(code, 0);
    assert_demo_scorecard(&doc);
    let kinds: Vec<&str> = doc["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    for k in [
        "keylog",
        "canaries",
        "rules",
        "pcapng",
        "sqlite",
        "sqlcipher",
    ] {
        assert!(kinds.contains(&k), "no {k} input in {kinds:?}");
    }
    // The expectations file is for `check`, never scanned as app data.
    assert!(
        !doc["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["path"].as_str().unwrap().ends_with("plainsight.toml"))
    );
    // Evidence input indexes point at the file that holds the evidence.
    let inputs = doc["inputs"].as_array().unwrap();
    for f in doc["flows"].as_array().unwrap() {
        for e in f["evidence"].as_array().unwrap() {
            if let Some(i) = e["input"].as_u64() {
                assert_eq!(inputs[i as usize]["kind"], "pcapng", "{e}");
            }
        }
    }
    for s in doc["stores"].as_array().unwrap() {
        for e in s["evidence"].as_array().unwrap() {
            if let Some(i) = e["input"].as_u64() {
                assert_eq!(inputs[i as usize]["path"], s["path"], "{e}");
            }
        }
    }
}

#[test]
fn files_are_recognised_by_content_whatever_their_names() {
    let d = tempfile::tempdir().unwrap();
    let src = demo_dir();
    let copy = |from: &str, to: &str| {
        let dst = d.path().join(to);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(src.join(from), dst).unwrap();
    };
    copy("session.pcapng", "a/notes.txt");
    copy("keys.log", "b/photo.jpg");
    copy("canaries.toml", "c/readme");
    copy("rules/parley.toml", "d/one.cfg");
    copy("rules/helpdesk.toml", "d/two.cfg");
    copy("rules/vaultchat.toml", "d/three.cfg");
    // Store profiles match by path, so the app data keeps its layout.
    for db in [
        "parley/databases/parley.db",
        "helpdesk/databases/drafts.db",
        "vaultchat/vault.db",
    ] {
        copy(&format!("app-data/{db}"), &format!("e/{db}"));
    }
    let out = plainsight()
        .args(["audit", "-v", "--format", "json"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a/notes.txt: capture"), "{stderr}");
    assert!(stderr.contains("b/photo.jpg: key log"), "{stderr}");
    assert!(stderr.contains("c/readme: canaries"), "{stderr}");
    assert!(stderr.contains("d/one.cfg: rules"), "{stderr}");
    assert!(stderr.contains("vault.db: app data"), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_demo_scorecard(&doc);
}

#[test]
fn inputs_can_be_named_by_role() {
    let d = demo_dir();
    let s = |p: &str| d.join(p).display().to_string();
    let (code, doc, _) = audit_json(&[
        "--pcap",
        &s("session.pcapng"),
        "--keylog",
        &s("keys.log"),
        "--store",
        &s("app-data"),
        "--canaries",
        &s("canaries.toml"),
        "--rules",
        &s("rules"),
    ]);
    assert_eq!(code, 0);
    assert_demo_scorecard(&doc);
}

#[test]
fn without_the_key_log_nothing_is_sealed() {
    let d = demo_dir();
    let s = |p: &str| d.join(p).display().to_string();
    let (_, doc, _) = audit_json(&[
        "--pcap",
        &s("session.pcapng"),
        "--rules",
        &s("rules"),
        "--canaries",
        &s("canaries.toml"),
    ]);
    // A transport that was not opened is opaque, never sealed.
    assert_eq!(app(&doc, "vaultchat")["wire"], "opaque");
    assert_eq!(app(&doc, "helpdesk")["wire"], "opaque");
    assert_eq!(app(&doc, "parley")["wire"], "exposed");
    assert_eq!(canary_verdict(&doc, "helpdesk: ticket"), "not-found");
}

#[test]
fn replay_and_scan_get_the_scorecard_too() {
    let out = plainsight()
        .args([
            "replay",
            "fixtures/demo/session.pcapng",
            "--keylog",
            "fixtures/demo/keys.log",
            "--rules",
            "fixtures/demo/rules",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(app(&doc, "vaultchat")["wire"], "sealed");
    assert_eq!(app(&doc, "vaultchat")["storage"], Value::Null);
    let out = plainsight()
        .args([
            "scan",
            "fixtures/demo/app-data",
            "--rules",
            "fixtures/demo/rules",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(app(&doc, "helpdesk")["storage"], "retained");
    assert_eq!(app(&doc, "helpdesk")["wire"], Value::Null);
}

#[test]
fn an_audit_needs_something_to_audit() {
    let out = plainsight().arg("audit").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to audit"));
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("canaries.toml"), demo::canaries_toml()).unwrap();
    let out = plainsight().arg("audit").arg(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no capture and no app data"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    let out = plainsight()
        .args(["audit", "no/such/dir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The demo's deterministic parts are exactly what the generator writes;
/// the TLS sessions (fresh rustls randoms) and the SQLCipher file (random
/// salt) are checked by what the audit finds in them instead.
#[test]
fn the_demo_generator_reproduces_the_deterministic_parts() {
    let d = demo_dir();
    let hint = "run `cargo run --example gen_demo` and commit fixtures/demo";
    let same = |path: &Path, want: &[u8]| {
        let got = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}; {hint}", path.display()));
        assert!(
            got == want,
            "{} differs from the generator; {hint}",
            path.display()
        );
    };
    same(&d.join("canaries.toml"), demo::canaries_toml().as_bytes());
    same(
        &d.join("plainsight.toml"),
        demo::expectations_toml().as_bytes(),
    );
    for (name, text) in demo::rule_files() {
        same(&d.join("rules").join(name), text.as_bytes());
    }
    for (label, c) in demo::canaries() {
        assert!(
            plainsight::evidence::canary::is_well_formed(&c),
            "{label}: {c}"
        );
    }
    let t = tempfile::tempdir().unwrap();
    demo::parley_db(&t.path().join("parley.db"));
    same(
        &d.join("app-data/parley/databases/parley.db"),
        &std::fs::read(t.path().join("parley.db")).unwrap(),
    );
    demo::helpdesk_db(&t.path().join("drafts.db"));
    same(
        &d.join("app-data/helpdesk/databases/drafts.db"),
        &std::fs::read(t.path().join("drafts.db")).unwrap(),
    );
    // Every DNS and IRC frame is in the committed capture, in order.
    struct Collect(Vec<Vec<u8>>);
    impl plainsight::source::PacketSink for Collect {
        fn packet(&mut self, p: &plainsight::source::Packet<'_>) {
            self.0.push(p.data.to_vec());
        }
        fn secrets(&mut self, _: &[u8], _: plainsight::source::SecretOrigin, _: u64) {}
        fn warning(&mut self, _: Option<u64>, m: String) {
            panic!("demo capture: {m}");
        }
    }
    let mut c = Collect(Vec::new());
    plainsight::source::read_file(&d.join("session.pcapng"), None, &mut c).unwrap();
    let mut frames = demo::dns_frames();
    frames.extend(demo::irc_frames());
    frames.sort_by_key(|f| f.ts);
    let mut at = 0;
    for f in &frames {
        let i = c.0[at..]
            .iter()
            .position(|p| *p == f.data)
            .unwrap_or_else(|| panic!("a DNS/IRC frame is missing from the demo capture; {hint}"));
        at += i + 1;
    }
    // Small enough to read in a pull request.
    let total: u64 = demo::walk(&d)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(total < 1 << 20, "the demo is {total} bytes");
}
