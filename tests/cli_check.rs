//! `plainsight check`: expectations as code, baselines and exit codes,
//! through the real binary.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn plainsight(cwd: &Path) -> Command {
    let mut c = Command::cargo_bin("plainsight").expect("binary built");
    c.env_remove("SSLKEYLOGFILE")
        .env("NO_COLOR", "1")
        .current_dir(cwd);
    c
}

/// The demo bundle without its own plainsight.toml, so each test brings one.
fn demo_inputs() -> Vec<String> {
    let d = root().join("fixtures/demo");
    let s = |p: &str| d.join(p).display().to_string();
    vec![
        "--pcap".into(),
        s("session.pcapng"),
        "--keylog".into(),
        s("keys.log"),
        "--store".into(),
        s("app-data"),
        "--canaries".into(),
        s("canaries.toml"),
        "--rules".into(),
        s("rules"),
    ]
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check(cwd: &Path, config: Option<&str>, extra: &[&str]) -> Run {
    let mut cmd = plainsight(cwd);
    cmd.arg("check").args(demo_inputs()).args(extra);
    if let Some(text) = config {
        let p = cwd.join("ci.toml");
        std::fs::write(&p, text).unwrap();
        cmd.arg("--config").arg(p);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn violations(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("violated "))
        .collect()
}

#[test]
fn expectations_that_hold_exit_0() {
    let d = tempfile::tempdir().unwrap();
    let r = check(
        d.path(),
        Some(
            "[expect.vaultchat]\nwire = \"sealed\"\nstorage = \"sealed\"\nretained = false\nmax_severity = \"low\"\n\n[expect.helpdesk]\nwire = \"server-readable\"\n\n[expect.\"cdn.tracker.example\"]\nwire = \"opaque\"\n",
        ),
        &["--format", "json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(violations(&r.stderr).is_empty(), "{}", r.stderr);
    assert!(r.stderr.contains("check passed"), "{}", r.stderr);
    // The report is still written, for upload or inspection.
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["command"], "check");
}

#[test]
fn each_violated_expectation_is_one_named_line() {
    let d = tempfile::tempdir().unwrap();
    let r = check(
        d.path(),
        Some(
            r#"[expect."*"]
retained = false

[expect.vaultchat]
wire = "sealed"

[expect.helpdesk]
wire = "sealed"
max_severity = "medium"

[expect.parley]
storage = "sealed"
forbid = ["canary-exposed-on-wire", "canary-readable-at-rest"]

[expect.whatsapp]
wire = "sealed"
"#,
        ),
        &["-q"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = violations(&r.stderr);
    assert_eq!(
        v,
        [
            "expect.whatsapp: whatsapp was not seen in the inputs (no flow or store is attributed to it)",
            "expect.parley.storage: parley storage is exposed (stores 2), expected sealed or better",
            "expect.parley.forbid: parley fired forbidden rule canary-exposed-on-wire on flow 5",
            "expect.parley.forbid: parley fired forbidden rule canary-readable-at-rest on store 2",
            "expect.helpdesk.wire: helpdesk wire is server-readable (flows 6), expected sealed or better",
            "expect.\"*\".retained: helpdesk keeps deleted or expired content recoverable (stores 1), expected retained = false",
            "expect.helpdesk.max_severity: helpdesk has 3 finding(s) above medium: canary-server-readable (high, flow 6), canary-retained-after-deletion (high, store 1), deleted-rows-in-freeblocks (high, store 1)",
        ],
        "{}",
        r.stderr
    );
    // --quiet keeps the violations, drops the summary.
    assert!(!r.stderr.contains("check failed"), "{}", r.stderr);
}

#[test]
fn a_baseline_suppresses_known_findings_by_fingerprint() {
    let d = tempfile::tempdir().unwrap();
    let strict = "[expect.\"*\"]\nmax_severity = \"info\"\n";
    let r = check(d.path(), Some(strict), &[]);
    assert_eq!(r.code, 1);
    assert!(!violations(&r.stderr).is_empty());
    // Yesterday's report, in each format a baseline may come in.
    for fmt in ["json", "sarif", "jsonl"] {
        let base = d.path().join(format!("base.{fmt}"));
        let out = plainsight(d.path())
            .arg("audit")
            .args(demo_inputs())
            .args(["--format", fmt, "-o"])
            .arg(&base)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let r = check(
            d.path(),
            Some(strict),
            &["--baseline", base.to_str().unwrap()],
        );
        assert_eq!(r.code, 0, "baseline {fmt}: {}", r.stderr);
        assert!(
            r.stderr.contains("known finding(s) ignored"),
            "{}",
            r.stderr
        );
    }
    // A baseline missing one finding lets exactly that one fail.
    let base = d.path().join("base.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    let findings = doc["findings"].as_array_mut().unwrap();
    let i = findings
        .iter()
        .position(|f| f["rule"] == "deleted-rows-in-freeblocks")
        .unwrap();
    findings.remove(i);
    std::fs::write(&base, serde_json::to_vec(&doc).unwrap()).unwrap();
    let r = check(
        d.path(),
        Some(strict),
        &["--baseline", base.to_str().unwrap()],
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        violations(&r.stderr),
        [
            "expect.\"*\".max_severity: helpdesk has 1 finding(s) above info: deleted-rows-in-freeblocks (high, store 1)"
        ]
    );
}

#[test]
fn without_a_config_fail_on_gates_new_findings() {
    let d = tempfile::tempdir().unwrap();
    let r = check(d.path(), None, &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no expectations"), "{}", r.stderr);
    let r = check(d.path(), None, &["--fail-on", "critical"]);
    assert_eq!(r.code, 1);
    let v = violations(&r.stderr);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].starts_with("fail-on: 2 new finding(s) at or above critical"),
        "{v:?}"
    );
}

#[test]
fn the_demo_bundle_checks_its_own_expectations() {
    let out = plainsight(&root())
        .args(["check", "fixtures/demo/", "-o"])
        .arg(tempfile::tempdir().unwrap().path().join("r.md"))
        .args(["--format", "markdown"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        violations(&stderr),
        [
            "expect.parley.forbid: parley fired forbidden rule canary-exposed-on-wire on flow 5",
            "expect.helpdesk.retained: helpdesk keeps deleted or expired content recoverable (stores 1), expected retained = false",
        ]
    );
    assert!(out.stdout.is_empty(), "-o sends the report to the file");
}

#[test]
fn config_errors_name_file_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    let r = check(
        d.path(),
        Some(
            "[expect.vaultchat]\nwire = \"sealed\"\nstorage = \"safe\"\nforbid = [\"no-such-rule\"]\n\n[expect.nosuchapp]\nretained = false\n",
        ),
        &[],
    );
    assert_eq!(r.code, 2);
    let cfg = d.path().join("ci.toml").display().to_string();
    assert!(
        r.stderr
            .contains(&format!("{cfg}:3:11: unknown verdict `safe`")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "{cfg}:4:11: unknown rule `no-such-rule` in forbid"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains(&format!("{cfg}:6:9: unknown app `nosuchapp`")),
        "{}",
        r.stderr
    );
    // Nothing was read: the error comes before the audit.
    assert!(r.stdout.is_empty());
    let r = check(d.path(), Some("[expect.parley]\nwire = 3\n"), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(&format!("{cfg}:2:8:")), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
}
