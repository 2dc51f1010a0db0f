//! The chat and mail dissectors (MQTT, XMPP, IRC, SMTP, IMAP, POP3) end to
//! end on the public corpus: `plainsight replay --format json` on each
//! capture, compared with what its `.truth.txt` (tshark, ndpiReader) shows.
//! Skips (with a message) when `shared/corpus` is absent.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let found = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/corpus/public"))
        .find(|p| p.join("MANIFEST.tsv").is_file());
    if found.is_none() {
        eprintln!("skipping: shared/corpus/public is absent");
    }
    found
}

/// The JSON report of one capture, content shown (samples are needed to compare).
fn replay(root: &Path, rel: &str) -> Value {
    let out = Command::cargo_bin("plainsight")
        .unwrap()
        .env_remove("SSLKEYLOGFILE")
        .args(["replay", "--format", "json", "--show-content"])
        .arg(root.join(rel))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{rel}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn flows(r: &Value) -> &Vec<Value> {
    r["flows"].as_array().unwrap()
}

fn evidence<'a>(f: &'a Value, kind: &str) -> Vec<&'a Value> {
    f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// (field, class, sample) of every content item of a flow.
fn contents(f: &Value) -> Vec<(String, String, String)> {
    evidence(f, "content")
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or("").to_string(),
                e["class"].as_str().unwrap_or("").to_string(),
                e["sample"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn creds(f: &Value) -> Vec<(String, String)> {
    evidence(f, "credential")
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_string(),
                e["user"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn meta(f: &Value, key: &str) -> Vec<String> {
    evidence(f, "metadata")
        .iter()
        .filter(|e| e["key"] == key)
        .map(|e| e["value"].as_str().unwrap().to_string())
        .collect()
}

fn by_protocol<'a>(r: &'a Value, p: &str) -> Vec<&'a Value> {
    flows(r).iter().filter(|f| f["protocol"] == p).collect()
}

/// Lines of a truth section that follow a `[label]` header.
fn markers(truth: &str, label: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for l in truth.lines() {
        if l.trim_start().starts_with('[') {
            inside = l.contains(label);
            continue;
        }
        if l.starts_with("## ") {
            inside = false;
        }
        if inside && let Some((_, text)) = l.split_once(": ") {
            out.push(text.to_string());
        }
    }
    out
}

#[test]
fn mqtt_captures() {
    let Some(root) = corpus() else { return };

    let r = replay(&root, "ndpi/mqtt.pcap");
    let m = by_protocol(&r, "mqtt");
    assert_eq!(m.len(), 2, "both flows are MQTT (nDPI agrees)");
    assert_eq!(meta(m[0], "mqtt.client_id"), vec!["cbaabcbabacbbbbbaaaaab"]);
    assert_eq!(
        creds(m[0]),
        vec![("mqtt.password".into(), "02D5050223D3".into())]
    );
    assert_eq!(m[0]["verdict"], "exposed", "cleartext JSON telemetry");
    assert_eq!(meta(m[1], "mqtt.client_id"), vec!["P47775ID170W2120"]);

    let r = replay(&root, "zeek/mqtt.pcap");
    let texts: Vec<String> = by_protocol(&r, "mqtt")
        .iter()
        .flat_map(|f| contents(f))
        .map(|c| c.2)
        .collect();
    for t in ["Hello from the Paho blocking client", "Hello MQTT"] {
        assert!(texts.iter().any(|x| x == t), "{t:?} in {texts:?}");
    }

    let r = replay(&root, "suricata-verify/mqtt311-pub-userpass/input.pcap");
    let f = &flows(&r)[0];
    assert_eq!(f["protocol"], "mqtt");
    assert_eq!(f["verdict"], "exposed");
    assert_eq!(creds(f), vec![("mqtt.password".into(), "user".into())]);
    assert_eq!(
        contents(f),
        vec![(
            "mqtt.publish.payload".into(),
            "text".into(),
            "baabaablacksheep".into()
        )]
    );
    let rules: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["rule"].as_str())
        .collect();
    assert!(rules.contains(&"plaintext-chat-protocol"), "{rules:?}");

    let r = replay(&root, "suricata-verify/mqtt-pub-rules/mqtt5_pub_jpeg.pcap");
    let f = &flows(&r)[0];
    assert_eq!(meta(f, "mqtt.version"), vec!["5.0"]);
    assert_eq!(meta(f, "mqtt.payload_type"), vec!["jpeg"]);
    let c = contents(f);
    assert!(
        !c.is_empty() && c.iter().all(|(_, class, _)| class == "binary"),
        "a JPEG is never text: {c:?}"
    );
}

#[test]
fn xmpp_captures() {
    let Some(root) = corpus() else { return };
    let r = replay(&root, "ndpi/jabber.pcap");
    let truth = std::fs::read_to_string(root.join("ndpi/jabber.truth.txt")).unwrap();
    let xmpp = by_protocol(&r, "xmpp");
    // Every flow on 5222 is XMPP, including those captured mid-stream that
    // nDPI leaves unknown; the 5223 flows carry no XML and are not.
    assert_eq!(xmpp.len(), 7);
    assert!(
        xmpp.iter()
            .all(|f| f["server"].as_str().unwrap().ends_with(":5222"))
    );
    let bodies: Vec<String> = xmpp.iter().flat_map(|f| contents(f)).map(|c| c.2).collect();
    for m in markers(&truth, "XMPP <body>") {
        let text = m.trim_start_matches("<body>").trim_end_matches("</body>");
        assert!(bodies.iter().any(|b| b == text), "{text:?} in {bodies:?}");
    }
    assert!(
        xmpp.iter()
            .any(|f| creds(f) == vec![("xmpp.sasl".to_string(), "tom".to_string())])
    );
    assert!(
        xmpp.iter()
            .any(|f| meta(f, "xmpp.starttls") == vec!["not-offered"])
    );

    // wireshark-notes/tls/xmpp-ssl.pcapng carries its own TLS secrets: see
    // `starttls_sessions_with_key_logs`.
    let r = replay(&root, "zeek/tls/xmpp-starttls.pcap");
    let f = flows(&r)
        .iter()
        .find(|f| !meta(f, "xmpp.starttls").is_empty())
        .unwrap();
    assert_eq!(meta(f, "xmpp.starttls"), vec!["used"]);
    assert_eq!(meta(f, "xmpp.starttls-required"), vec!["yes"]);
    assert_eq!(f["verdict"], "opaque", "STARTTLS without keys");
    assert!(contents(f).is_empty());
}

#[test]
fn irc_captures() {
    let Some(root) = corpus() else { return };
    let r = replay(&root, "zeek/irc-basic.pcap");
    let f = &flows(&r)[0];
    assert_eq!(f["protocol"], "irc");
    assert_eq!(f["verdict"], "exposed");
    assert_eq!(
        contents(f),
        vec![("irc.privmsg".into(), "text".into(), "test".into())]
    );
    assert_eq!(
        meta(f, "irc.server-notice").len(),
        4,
        "server notices are metadata, not messages"
    );

    let r = replay(&root, "ndpi/irc.pcap");
    let f = &flows(&r)[0];
    assert_eq!(f["protocol"], "irc", "on port 8000, by signature");
    assert!(
        contents(f).is_empty(),
        "only server notices and numerics: {:?}",
        contents(f)
    );
    assert_eq!(meta(f, "irc.nick"), vec!["molochtest"]);

    let r = replay(&root, "suricata-verify/irc/input.pcap");
    let truth = std::fs::read_to_string(root.join("suricata-verify/irc/input.truth.txt")).unwrap();
    let f = &flows(&r)[0];
    let texts: Vec<String> = contents(f).into_iter().map(|c| c.2).collect();
    for m in markers(&truth, "IRC PRIVMSG") {
        if let Some(text) = m
            .strip_prefix("PRIVMSG ")
            .and_then(|p| p.split_once(" :"))
            .map(|(_, t)| t)
        {
            let head: String = text.chars().take(60).collect();
            assert!(
                texts.iter().any(|t| t.starts_with(&head)),
                "{head:?} in {texts:?}"
            );
        }
    }
    assert!(creds(f).contains(&("irc.pass".to_string(), "damn-0262937047".to_string())));

    let r = replay(&root, "zeek/tls/irc-starttls.pcap");
    let f = &flows(&r)[0];
    assert_eq!(meta(f, "irc.starttls"), vec!["used"]);
    assert_eq!(f["verdict"], "opaque");
}

#[test]
fn mail_captures() {
    let Some(root) = corpus() else { return };
    let r = replay(&root, "zeek/smtp.pcap");
    let truth = std::fs::read_to_string(root.join("zeek/smtp.truth.txt")).unwrap();
    let smtp = by_protocol(&r, "smtp");
    assert_eq!(smtp.len(), 2);
    let subjects: Vec<String> = smtp
        .iter()
        .flat_map(|f| contents(f))
        .filter(|c| c.0 == "mail.subject")
        .map(|c| c.2)
        .collect();
    for m in markers(&truth, "SMTP Subject") {
        let s = m.trim_start_matches('.').trim_start_matches("Subject: ");
        assert!(subjects.iter().any(|x| x == s), "{s:?} in {subjects:?}");
    }
    assert!(smtp.iter().all(|f| f["verdict"] == "exposed"));
    assert_eq!(
        creds(smtp[0]),
        vec![("smtp.auth".into(), "gurpartap@patriots.in".into())]
    );
    assert_eq!(meta(smtp[0], "mail.starttls"), vec!["offered"]);
    assert_eq!(meta(smtp[1], "mail.starttls"), vec!["not-offered"]);
    assert!(
        smtp.iter()
            .all(|f| contents(f).iter().any(|c| c.0 == "mail.body"))
    );

    // (The wireshark-notes captures carry their own TLS secrets: see below.)
    for rel in [
        "ndpi/smtp-starttls.pcap",
        "zeek/tls/smtp-starttls.pcap",
        "zeek/tls/imap-starttls.pcap",
    ] {
        let r = replay(&root, rel);
        let upgraded: Vec<&Value> = flows(&r)
            .iter()
            .filter(|f| !meta(f, "mail.starttls").is_empty())
            .collect();
        assert!(!upgraded.is_empty(), "{rel}");
        for f in upgraded {
            assert_eq!(meta(f, "mail.starttls"), vec!["used"], "{rel}");
            assert_eq!(f["verdict"], "opaque", "{rel}: STARTTLS without keys");
            assert!(
                creds(f).is_empty() && contents(f).is_empty(),
                "{rel}: nothing before the upgrade"
            );
        }
    }
}

/// The wireshark-notes STARTTLS sessions with their key logs: once the TLS
/// dissector is present, the session after the upgrade is read by the same
/// chat/mail dissector under the keyed layer.
#[test]
fn starttls_sessions_with_key_logs() {
    let Some(root) = corpus() else { return };
    for (name, proto) in [("xmpp", "xmpp"), ("smtp", "smtp"), ("imap", "imap")] {
        let cap = root.join(format!("wireshark-notes/tls/{name}-ssl.pcapng"));
        let keys = root.join(format!("wireshark-notes/tls/{name}-ssl.keylog.txt"));
        let out = Command::cargo_bin("plainsight")
            .unwrap()
            .env_remove("SSLKEYLOGFILE")
            .args(["replay", "--format", "json", "--show-content", "--keylog"])
            .arg(&keys)
            .arg(&cap)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}");
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let f = flows(&r)
            .iter()
            .find(|f| f["protocol"] != "unknown")
            .unwrap();
        let layers: Vec<&str> = f["layers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if !layers.contains(&"tls") {
            eprintln!(
                "{name}: no TLS dissector on this branch; the decrypted session is not checked"
            );
            continue;
        }
        assert_eq!(layers, vec!["tcp", proto, "tls", proto], "{name}");
        assert_ne!(
            f["verdict"], "exposed",
            "{name}: nothing crossed before the upgrade"
        );
        let inner: Vec<&Value> = f["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["layers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|l| l.as_str().unwrap_or("").contains("[key log]"))
            })
            .collect();
        assert!(
            inner
                .iter()
                .all(|e| e["key"] != "mail.starttls" && e["key"] != "xmpp.starttls"),
            "{name}: no STARTTLS state inside TLS"
        );
        if name == "xmpp" {
            assert!(
                inner
                    .iter()
                    .any(|e| e["kind"] == "credential" && e["user"] == "wireshark-test")
            );
        }
        if name == "smtp" {
            assert!(
                inner
                    .iter()
                    .any(|e| e["key"] == "smtp.mail-from" && e["value"] == "peter@lekensteyn.nl")
            );
        }
    }
}
