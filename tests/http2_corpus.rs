//! HTTP/2 end to end through `plainsight replay`: decrypted TLS with the `h2`
//! ALPN hint reads as `tcp › tls1.x[…] › http2`, and the request methods,
//! hosts, paths, statuses and cookie credentials agree with the `.truth.txt`
//! files (tshark with the capture's own secrets). h2c DoH is read in the clear.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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

fn replay(path: &Path) -> Value {
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

/// The HTTP/2 rows of the truth file's "Decrypted HTTP" table: (method, authority, path, status).
fn truth_h2(path: &Path) -> Vec<[String; 4]> {
    let truth = std::fs::read_to_string(path.with_extension("truth.txt")).expect("truth");
    let mut rows = Vec::new();
    let mut inside = false;
    for line in truth.lines() {
        if line.starts_with("Decrypted HTTP/1.x and HTTP/2") {
            inside = true;
            continue;
        }
        if inside && line.trim().is_empty() {
            break;
        }
        if inside {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() >= 9 {
                rows.push([f[5], f[6], f[7], f[8]].map(|s| s.trim().to_string()));
            }
        }
    }
    rows
}

fn http2_flow(doc: &Value) -> &Value {
    doc["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .find(|f| f["protocol"] == "http2")
        .unwrap_or_else(|| panic!("no http2 flow in {:#}", doc["flows"]))
}

/// Replays a keyed capture and compares its HTTP/2 requests with the truth file.
fn check(rel: &str, tls: &str) -> Option<Value> {
    let path = corpus(rel)?;
    let doc = replay(&path);
    let flow = http2_flow(&doc).clone();
    let want = truth_h2(&path);
    assert!(!want.is_empty(), "truth lists HTTP/2 requests");
    let col = |i: usize| -> BTreeSet<String> {
        want.iter()
            .map(|r| r[i].clone())
            .filter(|s| !s.is_empty())
            .collect()
    };
    assert_eq!(values(&flow, "http.method"), col(0), "{rel}");
    assert_eq!(values(&flow, "http.host"), col(1), "{rel}");
    assert_eq!(values(&flow, "http.path"), col(2), "{rel}");
    assert_eq!(values(&flow, "http.status"), col(3), "{rel}");
    let path_ev = flow["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .find(|e| e["key"] == "http.path")
        .expect("a path");
    let layers: Vec<&str> = path_ev["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l.as_str().expect("layer"))
        .collect();
    assert_eq!(layers, vec!["tcp", tls, "http2"], "{rel}");
    assert_eq!(
        flow["verdict"], "server-readable",
        "{rel}: {}",
        flow["reason"]
    );
    Some(flow)
}

#[test]
fn http2_16_over_tls12_with_secrets_in_a_comment() {
    check(
        "wireshark-notes/tls/http2-16-ssl.pcapng",
        "tls1.2[capture secrets]",
    );
}

#[test]
fn http2_with_cookies_and_a_35_session_secrets_block() {
    let Some(flow) = check("ja4/http2-with-cookies.pcapng", "tls1.3[capture secrets]") else {
        return;
    };
    let cookies: Vec<&Value> = flow["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter(|e| e["kind"] == "credential" && e["key"] == "http.cookie")
        .collect();
    assert_eq!(
        cookies.len(),
        2,
        "the request Cookie and the response Set-Cookie: {cookies:#?}"
    );
    assert!(
        !flow.to_string().contains("VISITOR_INFO1_LIVE="),
        "cookie values never appear"
    );
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
