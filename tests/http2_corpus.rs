//! HTTP/2 end to end through `plainsight replay`: h2c (prior knowledge)
//! carrying DNS over HTTPS is read in the clear.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn corpus(rel: &str) -> Option<PathBuf> {
    let root = std::env::var_os("PLAINSIGHT_CORPUS")
        .map(PathBuf::from)
        .or_else(|| {
            let m = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            [m.join("../shared/corpus"), m.join("../../shared/corpus")]
                .into_iter()
                .find(|p| p.is_dir())
        });
    let Some(root) = root else {
        eprintln!("skipping: ../shared/corpus not found (set PLAINSIGHT_CORPUS)");
        return None;
    };
    let p = root.join("public").join(rel);
    p.exists().then_some(p).or_else(|| {
        eprintln!("skipping: {rel} not in the corpus");
        None
    })
}

fn replay(path: &PathBuf) -> Value {
    let out = Command::cargo_bin("plainsight")
        .expect("binary")
        .env_remove("SSLKEYLOGFILE")
        .arg("replay")
        .arg(path)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

fn values(flow: &Value, key: &str) -> BTreeSet<String> {
    flow["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter(|e| e["kind"] == "metadata" && e["key"] == key)
        .map(|e| e["value"].as_str().expect("value").to_string())
        .collect()
}

#[test]
fn h2c_doh_in_the_clear() {
    let Some(path) = corpus("suricata-verify/dns-over-http2/dns_over_https.pcap") else {
        return;
    };
    let doc = replay(&path);
    let flow = doc["flows"].as_array().unwrap().iter().find(|f| {
        f["layers"]
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x == "http2"))
    });
    let flow = flow.expect("an HTTP/2 flow");
    assert_eq!(
        values(flow, "http.host"),
        BTreeSet::from(["dns.google".to_string()])
    );
    assert!(values(flow, "dns.query").contains("www.gstatic.com A"));
}
