//! Replays the plaintext HTTP, WebSocket and DNS captures of the public
//! corpus and checks what the HTTP, WebSocket and DNS dissectors report:
//! protocols and layer chains, message content where the capture carries it
//! in the clear, metadata, verdicts and findings. Skips when
//! `../shared/corpus` is absent.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `../shared/corpus/public`, or `$PLAINSIGHT_CORPUS` (for worktrees that
/// live one level deeper).
fn corpus() -> Option<PathBuf> {
    let p = std::env::var_os("PLAINSIGHT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/public"));
    if p.join("MANIFEST.tsv").is_file() {
        Some(p)
    } else {
        eprintln!("skipping: the corpus is absent (../shared/corpus/public or $PLAINSIGHT_CORPUS)");
        None
    }
}

fn replay(root: &Path, capture: &str) -> Value {
    let out = Command::cargo_bin("plainsight")
        .unwrap()
        .env_remove("SSLKEYLOGFILE")
        .args(["replay", "--format", "json", "-q"])
        .arg(root.join(capture))
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{capture}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn flows(report: &Value) -> &Vec<Value> {
    report["flows"].as_array().unwrap()
}

fn evidence<'a>(flow: &'a Value, kind: &str) -> Vec<&'a Value> {
    flow["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

fn meta(flow: &Value, key: &str) -> Vec<String> {
    evidence(flow, "metadata")
        .into_iter()
        .filter(|e| e["key"] == key)
        .map(|e| e["value"].as_str().unwrap().to_string())
        .collect()
}

fn rules(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sip_message_inside_masked_websocket_frames_is_content() {
    let Some(root) = corpus() else { return };
    let r = replay(&root, "wireshark-notes/captures/voip/websocket-sip.pcapng");
    let f = &flows(&r)[0];
    assert_eq!(f["protocol"], "websocket");
    assert_eq!(strings(&f["layers"]), ["tcp", "http", "websocket"]);
    assert_eq!(f["verdict"], "exposed");
    let content = evidence(f, "content");
    assert_eq!(content.len(), 1, "{content:?}");
    // "Hi there, wanna talk?" (redacted in the report).
    assert_eq!(content[0]["field"], "sip.message");
    assert_eq!(content[0]["length"], 21);
    assert_eq!(
        strings(&content[0]["layers"]),
        ["tcp", "websocket", "ws-mask[no key needed]"]
    );
    assert!(meta(f, "sip.user-agent").contains(&"JsSIP 0.6.18".to_string()));
    let fired = rules(&r);
    assert!(
        fired.contains(&"message-content-in-clear".to_string()),
        "{fired:?}"
    );
    assert!(fired.contains(&"plaintext-http".to_string()), "{fired:?}");
}

#[test]
fn websocket_echo_text_is_content_in_both_directions() {
    let Some(root) = corpus() else { return };
    let r = replay(&root, "zeek/http/websocket.pcap");
    let f = &flows(&r)[0];
    assert_eq!(f["protocol"], "websocket");
    assert_eq!(strings(&f["layers"]), ["tcp", "http", "websocket"]);
    assert_eq!(f["verdict"], "exposed");
    let dirs: Vec<String> = evidence(f, "content")
        .iter()
        .map(|e| e["direction"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(dirs, ["client-to-server", "server-to-client"]);
    assert!(evidence(f, "anomaly").is_empty());
    assert_eq!(meta(f, "http.host"), ["sandbox.kaazing.net"]);
}

#[test]
fn plain_http_get_reports_its_metadata() {
    let Some(root) = corpus() else { return };
    let r = replay(&root, "ndpi/http.pcapng");
    let f = &flows(&r)[0];
    assert_eq!(f["protocol"], "http");
    assert_eq!(meta(f, "http.host"), ["google.com"]);
    assert_eq!(meta(f, "http.status"), ["301"]);
    assert_eq!(meta(f, "http.user-agent"), ["curl/7.68.0"]);
    assert!(evidence(f, "credential").is_empty());
    assert!(evidence(f, "content").is_empty());
    assert_eq!(rules(&r), ["plaintext-http"]);
}

#[test]
fn dns_answers_attribute_the_app_and_reveal_the_service() {
    let Some(root) = corpus() else { return };
    let r = replay(&root, "ndpi/dns.pcap");
    let f = flows(&r)
        .iter()
        .find(|f| meta(f, "dns.query").contains(&"e7.whatsapp.net A".to_string()))
        .expect("the e7.whatsapp.net flow");
    assert_eq!(f["protocol"], "dns");
    assert_eq!(f["app"], "whatsapp");
    assert_eq!(f["verdict"], "no-content");
    assert_eq!(meta(f, "dns.answer").len(), 8);
    assert!(rules(&r).contains(&"dns-reveals-service".to_string()));
}

#[test]
fn no_capture_makes_these_dissectors_stumble() {
    let Some(root) = corpus() else { return };
    let manifest = std::fs::read_to_string(root.join("MANIFEST.tsv")).unwrap();
    for line in manifest.lines().skip(1) {
        let path = line.split('\t').next().unwrap();
        if !(path.ends_with(".pcap") || path.ends_with(".pcapng")) {
            continue;
        }
        let r = replay(&root, path);
        for f in flows(&r) {
            for a in evidence(f, "anomaly") {
                let code = a["code"].as_str().unwrap();
                assert!(
                    !["http-", "dns-", "websocket-", "decompression-"]
                        .iter()
                        .any(|p| code.starts_with(p)),
                    "{path} flow {}: {code}: {}",
                    f["id"],
                    a["detail"]
                );
            }
        }
    }
}
