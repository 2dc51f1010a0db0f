//! Output formats through the real binary: JSON against its schema, JSON
//! Lines, SARIF 2.1.0, Markdown; redaction in every one of them; shell
//! completions, man pages, help texts, `-o`, broken pipes.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

const CANARY: &str = "PS-OBWGC2LOONUWO2DU4";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn plainsight() -> Command {
    let mut c = Command::cargo_bin("plainsight").expect("binary built");
    c.env_remove("SSLKEYLOGFILE")
        .env("NO_COLOR", "1")
        .current_dir(root());
    c
}

fn stdout(args: &[&str]) -> (i32, String) {
    let out = plainsight().args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).expect("UTF-8 output"),
    )
}

/// Every report the fixtures produce: each wire capture, the store
/// fixtures, the demo bundle.
fn fixture_runs() -> Vec<Vec<String>> {
    let mut runs = Vec::new();
    let mut wire: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/wire"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    wire.sort();
    assert!(!wire.is_empty());
    for p in wire {
        runs.push(vec![
            "replay".into(),
            p.display().to_string(),
            "--canary".into(),
            CANARY.into(),
        ]);
    }
    runs.push(vec![
        "scan".into(),
        "fixtures/stores".into(),
        "--canaries".into(),
        "fixtures/stores-canaries.toml".into(),
        "--acquisition-time".into(),
        "1750000000".into(),
    ]);
    runs.push(vec!["audit".into(), "fixtures/demo/".into()]);
    runs
}

fn schema() -> Value {
    let (code, text) = stdout(&["schema"]);
    assert_eq!(code, 0);
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// Properties present in `doc` that the schema does not declare, where the
/// schema lists properties and does not say the object is open.
fn undeclared(schema: &Value, node: &Value, doc: &Value, at: &str, out: &mut Vec<String>) {
    let node = match node.get("$ref").and_then(|r| r.as_str()) {
        Some(r) => {
            let name = r.trim_start_matches("#/$defs/");
            &schema["$defs"][name]
        }
        None => node,
    };
    if let Some(alts) = node.get("oneOf").and_then(|a| a.as_array()) {
        for a in alts {
            undeclared(schema, a, doc, at, out);
        }
        return;
    }
    match doc {
        Value::Object(m) => {
            let props = node.get("properties").and_then(|p| p.as_object());
            let open = node.get("additionalProperties").is_some();
            for (k, v) in m {
                match props.and_then(|p| p.get(k)) {
                    Some(sub) => undeclared(schema, sub, v, &format!("{at}.{k}"), out),
                    None if props.is_some() && !open => out.push(format!("{at}.{k}")),
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = node.get("items") {
                for (i, v) in items.iter().enumerate() {
                    undeclared(schema, sub, v, &format!("{at}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn every_fixture_report_validates_against_the_json_schema() {
    let schema = schema();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("urn:plainsight:report:1", schema.clone())
        .unwrap();
    let id = compiler
        .compile("urn:plainsight:report:1", &mut schemas)
        .expect("the schema compiles as draft 2020-12");
    for run in fixture_runs() {
        let args: Vec<&str> = run.iter().map(String::as_str).collect();
        let mut all = args.clone();
        all.extend(["--format", "json"]);
        let (_, text) = stdout(&all);
        let doc: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"));
        if let Err(e) = schemas.validate(&doc, id) {
            panic!("{args:?}: report does not match the schema:\n{e:#}");
        }
        let mut extra = Vec::new();
        undeclared(&schema, &schema, &doc, "$", &mut extra);
        extra.sort();
        extra.dedup_by(|a, b| strip_index(a) == strip_index(b));
        assert!(
            extra.is_empty(),
            "{args:?}: fields missing from schema/report.schema.json: {extra:?}"
        );
    }
}

fn strip_index(s: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    for c in s.chars() {
        match c {
            '[' => skip = true,
            ']' => skip = false,
            c if !skip => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn the_schema_rejects_what_the_contract_forbids() {
    let schema = schema();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("urn:plainsight:report:1", schema)
        .unwrap();
    let id = compiler
        .compile("urn:plainsight:report:1", &mut schemas)
        .unwrap();
    let (_, text) = stdout(&["audit", "fixtures/demo/", "--format", "json"]);
    let good: Value = serde_json::from_str(&text).unwrap();
    assert!(schemas.validate(&good, id).is_ok());
    let mut bad = good.clone();
    bad["flows"][0]["verdict"] = "safe".into();
    assert!(
        schemas.validate(&bad, id).is_err(),
        "unknown verdict accepted"
    );
    let mut bad = good.clone();
    bad["flows"][0]["server"] = "10.0.0.1".into();
    assert!(
        schemas.validate(&bad, id).is_err(),
        "endpoint without port accepted"
    );
    let mut bad = good;
    bad.as_object_mut().unwrap().remove("schema_version");
    assert!(
        schemas.validate(&bad, id).is_err(),
        "missing schema_version accepted"
    );
}

#[test]
fn json_lines_stream_each_subject_then_the_tail() {
    let (code, text) = stdout(&["audit", "fixtures/demo/", "--format", "jsonl"]);
    assert_eq!(code, 0);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["schema_version"], "1.0");
    let count = |t: &str| types.iter().filter(|x| **x == t).count() as u64;
    assert_eq!(count("flow"), summary["stats"]["flows"].as_u64().unwrap());
    assert_eq!(count("store"), summary["stats"]["stores"].as_u64().unwrap());
    assert_eq!(count("canary"), 5);
    assert!(count("app") >= 4);
    let findings: u64 = summary["findings"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(count("finding"), findings);
    // Subjects and their findings come as decided, before the tail.
    let tail = types.iter().position(|t| *t == "canary").unwrap();
    assert!(
        types[..tail]
            .iter()
            .all(|t| matches!(*t, "flow" | "store" | "finding"))
    );
    assert!(
        types[tail..]
            .iter()
            .all(|t| !matches!(*t, "flow" | "store" | "finding"))
    );
    // A finding directly follows the subject it is about.
    for (i, l) in lines.iter().enumerate() {
        if l["type"] == "finding" {
            let subject = lines[..i]
                .iter()
                .rev()
                .find(|x| x["type"] == "flow" || x["type"] == "store")
                .unwrap();
            let label = format!("{} {}", subject["type"].as_str().unwrap(), subject["id"]);
            assert_eq!(l["subject"], label.as_str());
        }
    }
    // The same lines whether streamed or written from a finished report.
    let out = plainsight()
        .args(["check", "fixtures/demo/", "--format", "jsonl"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains("\"type\":\"summary\"")
    );
}

#[test]
fn sarif_is_structurally_valid_2_1_0() {
    let (code, text) = stdout(&["audit", "fixtures/demo/", "--format", "sarif"]);
    assert_eq!(code, 0);
    // Structure: deserialises into the generated SARIF 2.1.0 types.
    let typed: serde_sarif::sarif::Sarif = serde_json::from_str(&text).expect("SARIF structure");
    assert_eq!(typed.runs.len(), 1);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(
        v["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let run = &v["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "plainsight");
    let rules = driver["rules"].as_array().unwrap();
    for r in rules {
        assert!(!r["id"].as_str().unwrap().is_empty());
        assert!(!r["shortDescription"]["text"].as_str().unwrap().is_empty());
        assert!(!r["help"]["text"].as_str().unwrap().is_empty(), "{r}");
        assert!(matches!(
            r["defaultConfiguration"]["level"].as_str().unwrap(),
            "error" | "warning" | "note"
        ));
    }
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let artifacts = run["artifacts"].as_array().unwrap();
    let (_, json) = stdout(&["audit", "fixtures/demo/", "--format", "json"]);
    let doc: Value = serde_json::from_str(&json).unwrap();
    let fingerprints: BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        assert_eq!(rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"], id);
        assert!(matches!(
            r["level"].as_str().unwrap(),
            "error" | "warning" | "note"
        ));
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        assert!(!r["locations"].as_array().unwrap().is_empty(), "{r}");
        let fp = r["partialFingerprints"]["plainsight/v1"].as_str().unwrap();
        assert!(fingerprints.contains(fp));
        for l in r["locations"].as_array().unwrap() {
            assert!(
                !l["logicalLocations"][0]["name"]
                    .as_str()
                    .unwrap()
                    .is_empty()
            );
            if let Some(p) = l.get("physicalLocation") {
                let i = p["artifactLocation"]["index"].as_u64().unwrap() as usize;
                assert_eq!(
                    p["artifactLocation"]["uri"],
                    artifacts[i]["location"]["uri"]
                );
            }
        }
    }
    // The wire canary points into the capture at the packet's block offset.
    let canary = results
        .iter()
        .find(|r| r["ruleId"] == "canary-exposed-on-wire")
        .unwrap();
    let loc = &canary["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "fixtures/demo/session.pcapng"
    );
    assert!(loc["region"]["byteOffset"].as_u64().unwrap() > 0);
    let block = loc["region"]["byteOffset"].as_u64().unwrap() as usize;
    let capture = std::fs::read(root().join("fixtures/demo/session.pcapng")).unwrap();
    // An Enhanced Packet Block starts there.
    assert_eq!(&capture[block..block + 4], &[6, 0, 0, 0]);
    // Stores point at the database file.
    let deleted = results
        .iter()
        .find(|r| r["ruleId"] == "deleted-rows-in-freeblocks")
        .unwrap();
    assert_eq!(
        deleted["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "fixtures/demo/app-data/helpdesk/databases/drafts.db"
    );
}

#[test]
fn sarif_and_markdown_of_a_fixture_keep_their_shape() {
    let (_, sarif) = stdout(&[
        "replay",
        "fixtures/wire/chat-plain.pcap",
        "--canary",
        CANARY,
        "--format",
        "sarif",
    ]);
    let v: Value = serde_json::from_str(&sarif).unwrap();
    insta::assert_json_snapshot!("chat_plain_sarif", v, {
        ".runs[].tool.driver.version" => "[version]",
        ".runs[].tool.driver.semanticVersion" => "[version]",
        // Rules come from every built-in pack; results check their indexes.
        ".runs[].tool.driver.rules" => "[rules]",
        ".runs[].results[].ruleIndex" => "[index]",
    });
    let (_, md) = stdout(&[
        "replay",
        "fixtures/wire/chat-plain.pcap",
        "--canary",
        CANARY,
        "--format",
        "markdown",
    ]);
    insta::assert_snapshot!("chat_plain_markdown", md);
}

#[test]
fn markdown_is_tables_for_a_pull_request() {
    let (_, md) = stdout(&["audit", "fixtures/demo/", "--format", "markdown"]);
    assert!(md.starts_with("## plainsight audit"));
    assert!(md.contains(
        "| app | claim | wire | storage | retained | overall | metadata leaks |\n|---|---|---|---|---|---|---|\n"
    ));
    assert!(md.contains(
        "| vaultchat | end-to-end encrypted | **sealed** | **sealed** | no | **sealed** |"
    ));
    assert!(md.contains("#### parley\n"));
    // Every table row has as many cells as its header.
    let mut cols = 0;
    for line in md.lines() {
        if line.starts_with("|---") {
            cols = line.matches('|').count();
        } else if line.starts_with('|') && cols > 0 {
            let cells = line.replace("\\|", "").matches('|').count();
            assert_eq!(cells, cols, "{line}");
        } else if !line.starts_with('|') {
            cols = 0;
        }
    }
}

/// The demo's secrets: the key log's secrets, the SQLCipher key, the IRC
/// password, the bearer token and words of every message body.
fn secrets() -> Vec<String> {
    let mut s: Vec<String> = [
        "hunter2-parley",
        "demo-bearer-7f3a9c",
        "ceremony moved to friday",
        "4711-0815",
        "the usual place behind the bakery",
        "draft about the refund",
        "see you at the station",
        "2b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfe",
    ]
    .map(String::from)
    .to_vec();
    let keylog = std::fs::read_to_string(root().join("fixtures/demo/keys.log")).unwrap();
    for line in keylog.lines() {
        let secret = line.split_whitespace().nth(2).unwrap();
        assert!(secret.len() >= 64);
        s.push(secret.to_string());
        // A prefix is enough to leak part of a key.
        s.push(secret[..16].to_string());
    }
    s
}

#[test]
fn no_format_prints_content_or_key_material() {
    let secrets = secrets();
    let d = tempfile::tempdir().unwrap();
    for fmt in ["table", "json", "jsonl", "sarif", "markdown"] {
        for cmd in ["audit", "check"] {
            let path = d.path().join(format!("{cmd}.{fmt}"));
            let out = plainsight()
                .args([cmd, "fixtures/demo/", "-v", "--format", fmt, "-o"])
                .arg(&path)
                .output()
                .unwrap();
            let text =
                std::fs::read_to_string(&path).unwrap() + &String::from_utf8_lossy(&out.stderr);
            for s in &secrets {
                assert!(
                    !text.contains(s.as_str()),
                    "{cmd} --format {fmt} prints `{s}`"
                );
            }
        }
    }
    // --show-content reveals message text (so the test above can fail) but
    // never key material.
    let (_, shown) = stdout(&[
        "audit",
        "fixtures/demo/",
        "--show-content",
        "--format",
        "json",
    ]);
    assert!(shown.contains("ceremony moved to friday"));
    for s in &secrets[7..] {
        assert!(
            !shown.contains(s.as_str()),
            "--show-content prints key material `{s}`"
        );
    }
}

#[test]
fn every_reporting_command_writes_any_format_to_a_file() {
    let d = tempfile::tempdir().unwrap();
    for fmt in ["table", "json", "jsonl", "sarif", "markdown"] {
        for args in [
            vec!["replay", "fixtures/wire/chat-plain.pcap"],
            vec!["scan", "fixtures/stores/generic"],
            vec!["audit", "fixtures/demo/"],
            vec!["check", "fixtures/demo/"],
        ] {
            let path = d.path().join(format!("{}.{fmt}", args[0]));
            let out = plainsight()
                .args(&args)
                .args(["--format", fmt, "-o"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{args:?} {fmt}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.stdout.is_empty(), "{args:?} {fmt} wrote to stdout");
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.is_empty());
            if matches!(fmt, "json" | "sarif") {
                serde_json::from_str::<Value>(&text).unwrap();
            }
        }
    }
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef plainsight"),
        ("fish", "complete -c plainsight"),
    ] {
        let (code, text) = stdout(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(text.contains(marker), "{shell}");
        for sub in ["audit", "check", "replay", "scan", "schema"] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let out = plainsight().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_one_per_visible_subcommand() {
    let d = tempfile::tempdir().unwrap();
    let out = plainsight()
        .args(["man", "--out"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let mut names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for want in [
        "plainsight.1",
        "plainsight-audit.1",
        "plainsight-check.1",
        "plainsight-replay.1",
        "plainsight-rules.1",
        "plainsight-rules-list.1",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    let page = std::fs::read_to_string(d.path().join("plainsight-audit.1")).unwrap();
    assert!(page.starts_with(".ie") || page.contains(".TH"), "roff");
    assert!(page.contains("plainsight\\-audit"));
    let (code, top) = stdout(&["man"]);
    assert_eq!(code, 0);
    assert!(top.contains(".TH plainsight"));
}

#[test]
fn every_subcommand_has_help_with_examples() {
    use clap::CommandFactory;
    let cmd = plainsight::cli::Cli::command();
    let mut paths: Vec<Vec<String>> = Vec::new();
    for sub in cmd.get_subcommands() {
        if sub.get_subcommands().next().is_some() {
            for s in sub.get_subcommands() {
                paths.push(vec![sub.get_name().into(), s.get_name().into()]);
            }
        } else {
            paths.push(vec![sub.get_name().into()]);
        }
    }
    assert!(paths.len() >= 10);
    for p in paths {
        let mut args = p.clone();
        args.push("--help".into());
        let out = plainsight().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{p:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example"),
            "`plainsight {} --help` has no examples",
            p.join(" ")
        );
    }
}

#[test]
fn a_closed_pipe_ends_quietly_with_status_0() {
    use std::process::Stdio;
    for fmt in ["jsonl", "json", "table"] {
        // The reader is gone before the first byte is written.
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_plainsight"))
            .args(["audit", "fixtures/demo/", "--format", fmt])
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{fmt}");
        assert!(
            out.stderr.is_empty(),
            "{fmt}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // And as a user types it.
    let out = std::process::Command::new("bash")
        .args([
            "-c",
            &format!(
                "set -o pipefail; {} audit fixtures/demo/ --format jsonl | head -1",
                env!("CARGO_BIN_EXE_plainsight")
            ),
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn exit_codes_are_0_1_2() {
    let (code, _) = stdout(&["audit", "fixtures/demo/", "--format", "json"]);
    assert_eq!(code, 0);
    let (code, _) = stdout(&[
        "audit",
        "fixtures/demo/",
        "--fail-on",
        "high",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let out = plainsight()
        .args(["audit", "fixtures/demo/", "--format", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = plainsight()
        .args(["audit", "--pcap", "Cargo.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a pcap or pcapng capture"), "{err}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"));
}
