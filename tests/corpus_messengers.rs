//! Replays the messenger and real-time media captures of the public corpus
//! and checks, flow by flow, the app and protocol plainsight attributes from
//! the wire (signatures), the address ranges and the DNS answers of the
//! capture, against what each capture's `.truth.txt` shows. Where nDPI 4.2
//! (the truth files' ndpiReader) disagrees, the comment says why plainsight
//! is right. Skips when `../shared/corpus` is absent.

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
    assert_eq!(
        out.status.code(),
        Some(0),
        "{capture}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The flows with `endpoint` on either side.
fn flows<'a>(report: &'a Value, endpoint: &str) -> Vec<&'a Value> {
    report["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["server"] == endpoint || f["client"] == endpoint)
        .collect()
}

fn meta(flow: &Value, key: &str) -> Vec<String> {
    flow["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "metadata" && e["key"] == key)
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

/// `(capture, endpoint, app, protocol)`: every flow touching the endpoint
/// must carry that app and protocol.
const EXPECTED: &[(&str, &str, &str, &str)] = &[
    (
        "ndpi/whatsapp_login_chat.pcap",
        "158.85.58.15:5222",
        "whatsapp",
        "whatsapp",
    ),
    (
        "ndpi/whatsapp_login_call.pcap",
        "184.173.179.37:5222",
        "whatsapp",
        "whatsapp",
    ),
    (
        "ndpi/whatsapp_login_call.pcap",
        "31.13.84.48:3478",
        "whatsapp",
        "rtp",
    ),
    (
        "ndpi/whatsapp_voice_and_message.pcap",
        "184.173.179.46:443",
        "whatsapp",
        "whatsapp",
    ),
    (
        "ndpi/whatsapp_voice_and_message.pcap",
        "31.13.84.48:3478",
        "whatsapp",
        "stun",
    ),
    (
        "ndpi/stun_wa_call.pcapng",
        "93.57.123.227:3478",
        "whatsapp",
        "rtp",
    ),
    (
        "ndpi/stun_signal.pcapng",
        "35.158.183.167:3478",
        "signal",
        "stun",
    ),
    ("ndpi/telegram.pcap", "91.108.8.7:521", "telegram", "tgvoip"),
    (
        "ndpi/telegram_videocall.pcapng",
        "149.154.167.91:443",
        "telegram",
        "mtproto",
    ),
    (
        "ndpi/telegram_videocall.pcapng",
        "91.108.9.35:1400",
        "telegram",
        "stun",
    ),
    // nDPI 4.2: Unknown. Handshake sizes and exact framing (and the range).
    (
        "ndpi/threema.pcap",
        "185.88.236.110:5222",
        "threema",
        "threema",
    ),
    // nDPI 4.2: Viber "Match by IP" at best; here by the frame counters.
    ("ndpi/viber.pcap", "52.0.253.101:4244", "viber", "viber"),
    ("ndpi/viber.pcap", "18.201.4.32:7985", "viber", "viber"),
    ("ndpi/viber.pcap", "18.201.4.3:7985", "viber", "viber"),
    ("ndpi/line.pcap", "147.92.169.90:29070", "line", "unknown"),
    ("ndpi/discord.pcap", "66.22.196.173:50004", "discord", "*"),
    // nDPI 4.2: Skype_Teams for both; the [MS-ICE2] version tells them apart.
    ("ndpi/teams.pcap", "52.114.250.123:3478", "teams", "stun"),
    ("ndpi/teams.pcap", "93.71.110.205:16332", "teams", "rtp"),
    (
        "ndpi/skype-conference-call.pcap",
        "104.46.40.49:60642",
        "skype",
        "rtp",
    ),
    // nDPI 4.2: HTTP_Proxy (port 8080). The LOCO handshake says KakaoTalk.
    (
        "ndpi/KakaoTalk_chat.pcap",
        "103.246.57.251:8080",
        "kakaotalk",
        "loco",
    ),
    ("ndpi/stun.pcap", "31.13.86.54:40003", "messenger", "stun"),
    (
        "ndpi/stun.pcap",
        "74.125.247.128:3478",
        "google-meet",
        "stun",
    ),
    ("ndpi/rtp.pcapng", "192.113.193.227:50003", "discord", "rtp"),
];

#[test]
fn messenger_flows_are_attributed() {
    let Some(root) = corpus() else { return };
    let mut failures = Vec::new();
    let mut last: Option<(&str, Value)> = None;
    for &(cap, endpoint, app, protocol) in EXPECTED {
        if last.as_ref().is_none_or(|(c, _)| *c != cap) {
            last = Some((cap, replay(&root, cap)));
        }
        let report = &last.as_ref().unwrap().1;
        // Flows that carried no payload (a bare handshake) have no protocol.
        let fs: Vec<&Value> = flows(report, endpoint)
            .into_iter()
            .filter(|f| f["payload_to_server"] != 0 || f["payload_to_client"] != 0)
            .collect();
        if fs.is_empty() {
            failures.push(format!("{cap}: no flow with {endpoint}"));
        }
        for f in fs {
            if f["app"] != app || (protocol != "*" && f["protocol"] != protocol) {
                failures.push(format!(
                    "{cap} {endpoint}: app {} protocol {}, expected {app} {protocol}",
                    f["app"], f["protocol"]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// nDPI 4.2 calls 20 of these 86 flows Facebook (by address); each one
/// starts with WhatsApp's `ED 00 01` routing header and `WA` prologue.
#[test]
fn every_whatsapp_chat_flow_is_whatsapp() {
    let Some(root) = corpus() else { return };
    let r = replay(&root, "ndpi/whatsapp.pcap");
    let flows = r["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 86);
    for f in flows {
        assert_eq!(f["app"], "whatsapp", "{}", f["server"]);
        assert_eq!(meta(f, "whatsapp.version"), vec!["5.2"], "{}", f["server"]);
        assert_eq!(f["verdict"], "opaque", "{}", f["server"]);
    }
}

#[test]
fn metadata_leaks_are_reported() {
    let Some(root) = corpus() else { return };
    // Telegram: the same auth_key_id on three connections to one DC.
    let r = replay(&root, "ndpi/telegram_videocall.pcapng");
    let ids: Vec<String> = flows(&r, "149.154.167.222:443")
        .iter()
        .flat_map(|f| meta(f, "telegram.auth_key_id"))
        .collect();
    assert_eq!(ids, vec!["db6c56d3ac80f468"; 3]);
    assert!(rules(&r).contains(&"stable-device-identifier".to_string()));
    assert!(rules(&r).contains(&"mtproto-obfuscation-only".to_string()));

    // Telegram VoIP reflectors tell the caller its address and the peer's.
    let r = replay(&root, "ndpi/telegram.pcap");
    let f = flows(&r, "91.108.8.7:521")[0];
    assert_eq!(
        meta(f, "tgvoip.mapped-address"),
        vec!["87.11.205.195:56413"]
    );
    assert_eq!(meta(f, "tgvoip.peer-address"), vec!["87.11.205.195:60723"]);

    // WhatsApp 2015: version string and (masked) phone number in clear.
    let r = replay(&root, "ndpi/whatsapp_login_chat.pcap");
    let f = flows(&r, "158.85.58.15:5222")[0];
    assert_eq!(
        meta(f, "whatsapp.client-version"),
        vec!["iPhone-2.12.2-5222"]
    );
    assert_eq!(meta(f, "whatsapp.phone"), vec!["393*******68"]);
    for rule in ["phone-number-in-clear", "legacy-client-version"] {
        assert!(rules(&r).contains(&rule.to_string()), "{rule}");
    }

    // Signal's TURN relay reflects the caller's public address.
    let r = replay(&root, "ndpi/stun_signal.pcapng");
    let f = flows(&r, "35.158.183.167:3478")[0];
    assert!(!meta(f, "stun.mapped-address").is_empty());
    assert_eq!(meta(f, "stun.realm"), vec!["signal.org"]);
    assert!(rules(&r).contains(&"stun-reveals-own-address".to_string()));

    // Viber's UDP signalling names the client build.
    let r = replay(&root, "ndpi/viber.pcap");
    let f = flows(&r, "18.201.4.32:7985")[0];
    assert_eq!(meta(f, "viber.client-version"), vec!["Android,8.9.0.2"]);
}

/// Plain RTP is `exposed` only where the codec shows through; WebRTC media
/// keyed by DTLS-SRTP is never called readable.
#[test]
fn media_protection() {
    let Some(root) = corpus() else { return };
    let r = replay(&root, "ndpi/rtp.pcapng");
    for endpoint in ["172.16.168.64:5000", "10.204.220.171:6000"] {
        let f = flows(&r, endpoint)[0];
        assert_eq!(meta(f, "rtp.protection"), vec!["none"], "{endpoint}");
        assert_eq!(f["verdict"], "exposed", "{endpoint}");
    }
    assert!(rules(&r).contains(&"unencrypted-rtp".to_string()));
    let r = replay(&root, "ndpi/stun_dtls_rtp.pcapng");
    let f = flows(&r, "142.250.82.76:19305")[0];
    assert_eq!(meta(f, "rtp.protection"), vec!["srtp"]);
    assert_ne!(f["verdict"], "exposed");
    assert_ne!(f["verdict"], "sealed");
    let r = replay(&root, "ndpi/stun_wa_call.pcapng");
    for f in r["flows"].as_array().unwrap() {
        assert_ne!(f["verdict"], "exposed", "{}", f["server"]);
        assert_ne!(f["verdict"], "sealed", "{}", f["server"]);
    }
}
