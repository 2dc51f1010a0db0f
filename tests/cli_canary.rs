//! The canary workflow through the real binary: `plainsight canary new`
//! makes markers and saves them, `--canaries` reads them back, and a marker
//! sent in every encoding the matcher knows is found in each one.

use assert_cmd::Command;
use plainsight::evidence::canary::is_well_formed;
use predicates::str::contains;
use serde_json::Value;

const CANARY: &str = "PS-OBWGC2LOONUWO2DU4";

fn fx(name: &str) -> String {
    format!("{}/fixtures/wire/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn plainsight() -> Command {
    let mut c = Command::cargo_bin("plainsight").expect("binary built");
    c.env_remove("SSLKEYLOGFILE").env("NO_COLOR", "1");
    c
}

fn replay_json(args: &[&str]) -> Value {
    let out = plainsight()
        .arg("replay")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

/// The `[[canary]]` entries of a canaries file as (text, label).
fn saved(path: &std::path::Path) -> Vec<(String, String)> {
    let doc: toml::Table =
        toml::from_str(&std::fs::read_to_string(path).expect("canaries file written"))
            .expect("canaries file is TOML");
    doc["canary"]
        .as_array()
        .expect("[[canary]] entries")
        .iter()
        .map(|c| {
            assert!(c.get("created").and_then(|v| v.as_str()).is_some());
            (
                c["text"].as_str().expect("text").to_string(),
                c.get("label")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn canary_new_prints_well_formed_markers_and_appends_them_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("canaries.toml");
    let out = plainsight()
        .args([
            "canary",
            "new",
            "--count",
            "3",
            "--label",
            "dm to bob",
            "-o",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let printed: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_eq!(printed.len(), 3, "{stdout}");
    for c in &printed {
        assert!(is_well_formed(c), "{c}");
    }
    let first = saved(&file);
    assert_eq!(
        first,
        printed
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), format!("dm to bob #{}", i + 1)))
            .collect::<Vec<_>>()
    );
    // A second run keeps what was there and adds new, distinct markers.
    plainsight()
        .args(["-q", "canary", "new", "-o"])
        .arg(&file)
        .assert()
        .success();
    let second = saved(&file);
    assert_eq!(second.len(), 4);
    assert_eq!(&second[..3], &first[..]);
    let mut texts: Vec<&String> = second.iter().map(|(t, _)| t).collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 4, "canaries must never repeat");
}

#[test]
fn canaries_file_drives_the_search_and_not_found_says_what_was_searched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        format!(
            "[[canary]]\ntext = \"{CANARY}\"\nlabel = \"sent to bob\"\n\n\
             [[canary]]\ntext = \"PS-MZUXQ5DVOJSXGLJSD\"\nlabel = \"never sent\"\n"
        ),
    )
    .unwrap();
    let doc = replay_json(&[&fx("chat-plain.pcap"), "--canaries", file.to_str().unwrap()]);
    let canaries = doc["canaries"].as_array().unwrap();
    assert_eq!(canaries.len(), 2);
    let sent = canaries
        .iter()
        .find(|c| c["label"] == "sent to bob")
        .expect("labelled canary");
    assert_eq!(sent["verdict"], "exposed");
    let never = canaries
        .iter()
        .find(|c| c["label"] == "never sent")
        .expect("labelled canary");
    assert_eq!(never["verdict"], "not-found");
    assert!(never["hits"].as_array().is_none_or(Vec::is_empty));
    let searched = never["searched"].to_string();
    assert!(searched.contains("flows"), "{searched}");
}

#[test]
fn a_generated_canary_with_a_typo_is_warned_about() {
    plainsight()
        .args([
            "replay",
            &fx("chat-plain.pcap"),
            "--canary",
            "PS-OBWGC2LOONUWO2DU5",
        ])
        .assert()
        .success()
        .stdout(contains("fails its check character"));
}

#[test]
fn the_canary_is_found_in_every_encoding_split_across_segments() {
    let doc = replay_json(&[&fx("encodings.pcap"), "--canary", CANARY]);
    let c = &doc["canaries"][0];
    assert_eq!(c["verdict"], "exposed");
    let hits = c["hits"].as_array().unwrap();
    let mut found: Vec<(String, String)> = hits
        .iter()
        .map(|h| {
            let layers: Vec<&str> = h["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect();
            (
                h["encoding"].as_str().unwrap().to_string(),
                layers.join(" › "),
            )
        })
        .collect();
    found.sort();
    let mut want: Vec<(String, String)> = [
        ("base64", "tcp"),
        ("base64", "tcp"),
        ("hex", "tcp"),
        ("html-entity", "tcp"),
        ("json-escape", "tcp"),
        ("percent", "tcp"),
        ("quoted-printable", "tcp"),
        ("utf-16be", "tcp"),
        ("utf-16le", "tcp"),
        ("utf-8", "tcp › gzip › http-body"),
    ]
    .iter()
    .map(|(e, l)| (e.to_string(), l.to_string()))
    .collect();
    want.sort();
    assert_eq!(found, want);
    // One hit per flow: each flow carries the canary once, in one encoding.
    let mut subjects: Vec<&str> = hits
        .iter()
        .map(|h| h["subject"].as_str().unwrap())
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), hits.len());
    // Every flow that carries the canary is exposed.
    for f in doc["flows"].as_array().unwrap() {
        assert_eq!(f["verdict"], "exposed", "{f:#}");
    }
}
