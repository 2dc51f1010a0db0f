//! `plainsight rules list|show|check` through the real binary.

use assert_cmd::Command;
use predicates::str::contains;

fn plainsight() -> Command {
    Command::cargo_bin("plainsight").expect("binary built")
}

#[test]
fn list_shows_builtin_checks() {
    plainsight()
        .args(["rules", "list"])
        .assert()
        .success()
        .stdout(contains("canary-exposed-on-wire"))
        .stdout(contains("critical"));
    let out = plainsight()
        .args(["rules", "list", "--format", "json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["checks"].as_array().unwrap().len() >= 5);
}

#[test]
fn show_prints_explanation_and_source() {
    plainsight()
        .args(["rules", "show", "canary-server-readable"])
        .assert()
        .success()
        .stdout(contains("severity: high"))
        .stdout(contains("builtin:checks/wire.toml"));
    plainsight()
        .args(["rules", "show", "no-such-rule"])
        .assert()
        .code(2)
        .stderr(contains("no-such-rule"));
}

#[test]
fn check_reports_file_line_column_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[check]]\nid = \"my-check\"\ntitle = \"t\"\nseverity = \"urgent\"\nmessage = \"m\"\nexplanation = \"e\"\n",
    )
    .unwrap();
    plainsight()
        .args(["rules", "check"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(contains("bad.toml:4:12: unknown severity `urgent`"))
        .stderr(contains("expected one of"));
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[check]]\nid = \"my-check\"\ntitle = \"t\"\nseverity = \"low\"\nmessage = \"m on {server}\"\nexplanation = \"e\"\n[check.match]\nevidence = \"metadata\"\nfield = \"tls.sni\"\n",
    )
    .unwrap();
    plainsight()
        .args(["rules", "check"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(contains("1 check(s)"));
}

#[test]
fn user_rules_join_the_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.toml"),
        "[[check]]\nid = \"chat-port-7777\"\ntitle = \"Traffic to the lab chat server\"\nseverity = \"low\"\nsubject = \"flow\"\nmessage = \"{subject} talks to {server}\"\nexplanation = \"e\"\n",
    )
    .unwrap();
    let fx = format!(
        "{}/fixtures/wire/chat-plain.pcap",
        env!("CARGO_MANIFEST_DIR")
    );
    plainsight()
        .args(["replay", &fx, "--rules"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(contains("chat-port-7777"));
    plainsight()
        .args(["replay", &fx, "--rules", "/nonexistent-rules-dir"])
        .assert()
        .code(2)
        .stderr(contains("nonexistent-rules-dir"));
}
