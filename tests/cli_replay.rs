//! `plainsight replay` on the committed fixtures: flows, verdicts, canaries,
//! warnings and exit codes, through the real binary.

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde_json::Value;
use sha2::Digest;

const CANARY: &str = "PS-OBWGC2LOONUWO2DU4";
const ABSENT: &str = "PS-MZUXQ5DVOJSXGLJSD";

fn fx(name: &str) -> String {
    format!("{}/fixtures/wire/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn plainsight() -> Command {
    let mut c = Command::cargo_bin("plainsight").expect("binary built");
    c.env_remove("SSLKEYLOGFILE").env("NO_COLOR", "1");
    c
}

/// Runs replay with JSON output and returns (exit code, document).
fn replay_json(args: &[&str]) -> (i32, Value) {
    let out = plainsight()
        .arg("replay")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let code = out.status.code().expect("exit code");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, doc)
}

fn flows(doc: &Value) -> &Vec<Value> {
    doc["flows"].as_array().expect("flows array")
}

fn flow_by_server<'a>(doc: &'a Value, server: &str) -> &'a Value {
    flows(doc)
        .iter()
        .find(|f| f["server"] == server)
        .unwrap_or_else(|| panic!("no flow to {server} in {:#}", doc["flows"]))
}

#[test]
fn plaintext_chat_canary_is_exposed_across_split_reordered_segments() {
    let (code, doc) = replay_json(&[&fx("chat-plain.pcap"), "--canary", CANARY]);
    assert_eq!(code, 0);
    assert_eq!(doc["schema_version"], "1.0");
    assert_eq!(doc["tool"]["name"], "plainsight");
    let f = flow_by_server(&doc, "10.0.0.2:7777");
    assert_eq!(flows(&doc).len(), 1);
    assert_eq!(f["transport"], "tcp");
    assert_eq!(f["client"], "10.0.0.1:40001");
    assert_eq!(f["verdict"], "exposed");
    assert_eq!(
        f["packets"], 31,
        "tshark counts 31 frames in this conversation"
    );
    assert_eq!(f["end"], "fin");
    let c = &doc["canaries"][0];
    assert_eq!(c["canary"], CANARY);
    assert_eq!(c["verdict"], "exposed");
    let hit = &c["hits"][0];
    assert_eq!(hit["subject"], "flow 1");
    assert_eq!(hit["direction"], "client-to-server");
    assert_eq!(hit["layers"][0], "tcp");
    // Exactly once, although a segment holding part of it was retransmitted.
    assert_eq!(c["hits"].as_array().unwrap().len(), 1);
    // The snippet shows the canary, never the message around it.
    let snip = hit["snippet"].as_str().unwrap();
    assert!(snip.contains(CANARY));
    assert!(!snip.contains("message"), "{snip}");
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"canary-exposed-on-wire"), "{rules:?}");
    // Every input is hashed into the report.
    let bytes = std::fs::read(fx("chat-plain.pcap")).unwrap();
    let sha: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(doc["inputs"][0]["sha256"], sha);
    assert_eq!(doc["inputs"][0]["kind"], "pcap");
    assert_eq!(doc["inputs"][0]["size"], bytes.len());
    assert!(!doc.to_string().contains("door code"), "content leaked");
}

#[test]
fn show_content_reveals_the_message() {
    let (_, doc) = replay_json(&[&fx("chat-plain.pcap"), "--canary", CANARY, "--show-content"]);
    let snip = doc["canaries"][0]["hits"][0]["snippet"].as_str().unwrap();
    assert!(snip.contains("in this message"), "{snip}");
}

#[test]
fn fail_on_sets_exit_code_one() {
    plainsight()
        .args([
            "replay",
            &fx("chat-plain.pcap"),
            "--canary",
            CANARY,
            "--fail-on",
            "high",
        ])
        .assert()
        .code(1);
    // Nothing at critical without a canary: the text-payload check is medium.
    plainsight()
        .args(["replay", &fx("chat-plain.pcap"), "--fail-on", "critical"])
        .assert()
        .code(0);
}

#[test]
fn absent_canary_is_not_found_and_says_what_was_searched() {
    let (_, doc) = replay_json(&[
        &fx("chat-plain.pcap"),
        &fx("opaque.pcap"),
        "--canary",
        ABSENT,
    ]);
    let c = &doc["canaries"][0];
    assert_eq!(c["verdict"], "not-found");
    assert_eq!(c["searched"]["flows"], 3);
    let not_opened = c["searched"]["not_opened"].as_array().unwrap();
    assert_eq!(not_opened.len(), 1, "the opaque flow could not be searched");
    assert!(
        not_opened[0]["reason"]
            .as_str()
            .unwrap()
            .contains("high-entropy")
    );
}

#[test]
fn truncated_capture_keeps_what_came_before_and_warns_with_offset() {
    let size = std::fs::metadata(fx("chat-truncated.pcap")).unwrap().len();
    let (code, doc) = replay_json(&[&fx("chat-truncated.pcap"), "--canary", CANARY]);
    assert_eq!(code, 0, "damaged input is a warning unless --strict");
    assert_eq!(doc["canaries"][0]["verdict"], "exposed");
    let w = &doc["warnings"][0];
    let off = w["offset"].as_u64().expect("warning names a byte offset");
    assert!(
        off > 24 && off < size,
        "offset {off} inside the file of {size} bytes"
    );
    assert!(w["message"].as_str().unwrap().contains("truncated"));
    plainsight()
        .args(["replay", &fx("chat-truncated.pcap"), "--strict"])
        .assert()
        .code(2);
}

#[test]
fn big_endian_nanosecond_pcap_reads_like_the_original() {
    let (_, a) = replay_json(&[&fx("chat-plain.pcap"), "--canary", CANARY]);
    let (_, b) = replay_json(&[&fx("chat-bigendian-ns.pcap"), "--canary", CANARY]);
    assert_eq!(a["flows"][0]["verdict"], b["flows"][0]["verdict"]);
    assert_eq!(a["flows"][0]["packets"], b["flows"][0]["packets"]);
    assert_eq!(a["flows"][0]["first_seen"], b["flows"][0]["first_seen"]);
    assert_eq!(b["flows"][0]["first_seen"], "2026-01-01T00:00:00.001000Z");
}

#[test]
fn ipv6_in_vlan_and_qinq() {
    let (_, doc) = replay_json(&[&fx("ipv6-vlan.pcap"), "--canary", CANARY]);
    assert_eq!(flows(&doc).len(), 2);
    let f = &flows(&doc)[0];
    assert_eq!(f["client"], "[2001:db8::1]:40002");
    assert_eq!(f["server"], "[2001:db8::2]:7777");
    assert_eq!(f["verdict"], "exposed");
    assert_eq!(doc["canaries"][0]["verdict"], "exposed");
    // The QinQ flow carries plain text without the canary: still exposed.
    assert_eq!(flows(&doc)[1]["client"], "[2001:db8::3]:40003");
    assert_eq!(flows(&doc)[1]["verdict"], "exposed");
}

#[test]
fn linux_cooked_captures() {
    for f in ["sll.pcap", "sll2.pcap"] {
        let (code, doc) = replay_json(&[&fx(f), "--canary", CANARY]);
        assert_eq!(code, 0, "{f}");
        assert_eq!(flows(&doc).len(), 1, "{f}");
        assert_eq!(doc["canaries"][0]["verdict"], "exposed", "{f}");
    }
}

#[test]
fn fragmented_datagrams_are_reassembled() {
    let (_, doc) = replay_json(&[&fx("fragments.pcap"), "--canary", CANARY]);
    let hits = doc["canaries"][0]["hits"].as_array().unwrap();
    assert_eq!(
        hits.len(),
        2,
        "IPv4 and IPv6 fragmented datagrams: {hits:#?}"
    );
    assert!(doc["stats"]["fragments_reassembled"].as_u64().unwrap() >= 2);
    let v4 = flow_by_server(&doc, "10.1.0.2:7777");
    assert_eq!(v4["transport"], "udp");
    assert_eq!(v4["verdict"], "exposed");
    let v6 = flow_by_server(&doc, "[2001:db8::20]:7777");
    assert_eq!(v6["verdict"], "exposed");
}

#[test]
fn random_payload_is_opaque_and_handshake_only_is_no_content() {
    let (_, doc) = replay_json(&[&fx("opaque.pcap")]);
    let noisy = flow_by_server(&doc, "10.0.0.6:9999");
    assert_eq!(noisy["verdict"], "opaque");
    assert!(noisy["reason"].as_str().unwrap().contains("high-entropy"));
    assert_ne!(noisy["verdict"], "sealed");
    let empty = flow_by_server(&doc, "10.0.0.6:9998");
    assert_eq!(empty["verdict"], "no-content");
}

#[test]
fn sequence_wraparound_and_midstream_pickup() {
    let (_, doc) = replay_json(&[&fx("wraparound-raw.pcap"), "--canary", CANARY]);
    assert_eq!(flows(&doc).len(), 2);
    let hits = doc["canaries"][0]["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 2, "{hits:#?}");
    let mid = flow_by_server(&doc, "10.2.0.2:7777");
    assert_eq!(mid["verdict"], "exposed");
    let picked = flows(&doc)
        .iter()
        .find(|f| f["client"] == "10.2.0.3:40008")
        .expect("the mid-stream flow is oriented by port");
    assert_eq!(picked["verdict"], "exposed");
}

#[test]
fn loopback_null_link_type() {
    let (_, doc) = replay_json(&[&fx("loopback-null.pcap"), "--canary", CANARY]);
    assert_eq!(flows(&doc).len(), 2);
    assert_eq!(flows(&doc)[1]["client"], "[::1]:40010");
    assert_eq!(doc["canaries"][0]["hits"].as_array().unwrap().len(), 2);
}

#[test]
fn several_files_and_stdin() {
    let (_, doc) = replay_json(&[&fx("chat-plain.pcap"), &fx("opaque.pcap")]);
    assert_eq!(doc["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(flows(&doc).len(), 3);
    let out = plainsight()
        .args(["replay", "-", "--format", "json", "--canary", CANARY])
        .pipe_stdin(fx("chat-plain.pcap"))
        .unwrap()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["inputs"][0]["path"], "-");
    assert_eq!(doc["canaries"][0]["verdict"], "exposed");
}

#[test]
fn bpf_filter_applies_to_files() {
    let (_, doc) = replay_json(&[&fx("fragments.pcap"), "-f", "ip6"]);
    assert!(
        flows(&doc)
            .iter()
            .all(|f| f["server"].as_str().unwrap().starts_with('['))
    );
    let (_, doc) = replay_json(&[&fx("chat-plain.pcap"), "-f", "tcp port 9"]);
    assert_eq!(flows(&doc).len(), 0);
    assert_eq!(doc["stats"]["filtered_out"], 31);
    plainsight()
        .args(["replay", &fx("chat-plain.pcap"), "-f", "tcp prt 9"])
        .assert()
        .code(2)
        .stderr(contains("filter"));
}

#[test]
fn unreadable_inputs_are_clear_errors() {
    plainsight()
        .args(["replay", "/nonexistent/capture.pcap"])
        .assert()
        .code(2)
        .stderr(contains("/nonexistent/capture.pcap"));
    plainsight()
        .args([
            "replay",
            &format!("{}/Cargo.toml", env!("CARGO_MANIFEST_DIR")),
        ])
        .assert()
        .code(2)
        .stderr(contains("not a pcap or pcapng"));
    plainsight()
        .args(["replay", &fx("chat-plain.pcap"), "--canary", "abc"])
        .assert()
        .code(2)
        .stderr(contains("too short"));
}

#[test]
fn table_output_names_verdicts_and_findings() {
    plainsight()
        .args([
            "replay",
            &fx("chat-plain.pcap"),
            &fx("opaque.pcap"),
            "--canary",
            CANARY,
        ])
        .assert()
        .code(0)
        .stdout(contains("exposed"))
        .stdout(contains("opaque"))
        .stdout(contains("canary-exposed-on-wire"))
        .stdout(contains(CANARY))
        .stdout(contains("door code").not());
}
