//! Every public capture in `../shared/corpus/public/` is replayed without
//! error, and its TCP/UDP flow counts equal the conversation counts tshark
//! recorded in its `.truth.txt`. Skips (with a message) when the corpus is absent.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `shared/corpus/public` beside the repository (or beside one of its
/// ancestors, for worktrees), or `$PLAINSIGHT_CORPUS`.
fn corpus() -> Option<PathBuf> {
    let found = std::env::var_os("PLAINSIGHT_CORPUS")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .map(|a| a.join("shared/corpus/public")),
        )
        .find(|p| p.join("MANIFEST.tsv").is_file());
    if found.is_none() {
        eprintln!("skipping: ../shared/corpus/public is absent (set PLAINSIGHT_CORPUS)");
    }
    found
}

/// Captures listed in the manifest (key files excluded).
fn captures(root: &Path) -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(root.join("MANIFEST.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|p| p.ends_with(".pcap") || p.ends_with(".pcapng"))
        .map(|p| root.join(p))
        .collect()
}

/// Conversation count of one `## TCP/UDP conversations` section, including
/// lines the truth file elided as `... (N more lines truncated)` (whose N also
/// counts tshark's closing rule).
fn conversations(truth: &str, section: &str) -> usize {
    let mut n = 0;
    let mut inside = false;
    for line in truth.lines() {
        if line.starts_with("## ") {
            inside = line.starts_with(section);
            continue;
        }
        if !inside {
            continue;
        }
        if line.contains("<->") {
            n += 1;
        } else if let Some(rest) = line.strip_prefix("... (") {
            let more: usize = rest
                .split_whitespace()
                .next()
                .and_then(|x| x.parse().ok())
                .unwrap_or(0);
            n += more.saturating_sub(1);
        }
    }
    n
}

#[test]
fn every_capture_replays_and_flow_counts_match_tshark() {
    let Some(root) = corpus() else { return };
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for cap in captures(&root) {
        let truth_path = cap.with_extension("truth.txt");
        let truth = std::fs::read_to_string(&truth_path)
            .unwrap_or_else(|_| panic!("missing {}", truth_path.display()));
        let out = Command::cargo_bin("plainsight")
            .unwrap()
            .env_remove("SSLKEYLOGFILE")
            .args(["replay", "--format", "json"])
            // tshark keeps one conversation per tuple however long it idles.
            .args(["--idle-timeout", "1000000", "--udp-idle-timeout", "1000000"])
            .arg(&cap)
            .output()
            .unwrap();
        let name = cap.strip_prefix(&root).unwrap().display().to_string();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            doc["warnings"].as_array().unwrap().is_empty(),
            "{name}: {:#}",
            doc["warnings"]
        );
        let flows = doc["flows"].as_array().unwrap();
        let ours = |t: &str| flows.iter().filter(|f| f["transport"] == t).count();
        let want_tcp = conversations(&truth, "## TCP conversations");
        let want_udp = conversations(&truth, "## UDP conversations");
        if (ours("tcp"), ours("udp")) != (want_tcp, want_udp) {
            mismatches.push(format!(
                "{name}: tcp {} vs tshark {want_tcp}, udp {} vs tshark {want_udp}",
                ours("tcp"),
                ours("udp")
            ));
        }
        let sha = doc["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "pcap" || i["kind"] == "pcapng")
            .expect("the capture is an input")["sha256"]
            .as_str()
            .unwrap()
            .len();
        assert_eq!(sha, 64, "{name}");
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} captures found");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
