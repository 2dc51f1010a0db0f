//! `plainsight capture` for real: as root, capture on the loopback interface
//! while this test sends a plaintext canary over a local TCP connection.
//! Without root (or without a loopback device) the tests skip with a message.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CANARY: &str = "PS-OBWGC2LOONUWO2DU4";

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn loopback() -> Option<&'static str> {
    if !is_root() {
        eprintln!("skipping live capture test: needs root (CI runs as root)");
        return None;
    }
    if !std::path::Path::new("/sys/class/net/lo").exists() {
        eprintln!("skipping live capture test: no loopback interface `lo`");
        return None;
    }
    Some("lo")
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_plainsight")
}

/// Starts a capture on `iface` filtered to `port`, waits until libpcap is listening.
fn start_capture(iface: &str, port: u16, extra: &[&str]) -> Child {
    let child = Command::new(bin())
        .args(["capture", "-i", iface, "-f", &format!("tcp port {port}")])
        .args(["--format", "json", "--canary", CANARY])
        .args(extra)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("capture starts");
    // The capture announces itself on stderr once the handle is open; give
    // libpcap a moment beyond that to attach the filter.
    std::thread::sleep(Duration::from_millis(1500));
    child
}

/// Sends a chat line with the canary over a fresh local connection.
fn chat(listener: &TcpListener) {
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let (mut sock, _) = listener.accept().unwrap();
            let mut buf = vec![0u8; 256];
            let n = sock.read(&mut buf).unwrap();
            sock.write_all(b"OK delivered\r\n").unwrap();
            n
        });
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(format!("MSG bob :meet me at the north gate {CANARY} thanks\r\n").as_bytes())
            .unwrap();
        let mut reply = [0u8; 32];
        let _ = c.read(&mut reply).unwrap();
        drop(c);
        h.join().unwrap()
    });
    assert!(server > 0);
}

fn wait(mut child: Child, limit: Duration) -> (Option<i32>, Value, String) {
    let start = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("capture did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("report is not JSON ({e}); stderr: {stderr}"));
    (out.status.code(), doc, stderr)
}

#[test]
fn live_capture_reports_a_plaintext_canary_as_exposed() {
    let Some(iface) = loopback() else { return };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("live.pcapng");
    let child = start_capture(
        iface,
        port,
        &["--duration", "4s", "-w", written.to_str().unwrap()],
    );
    chat(&listener);
    let (code, doc, stderr) = wait(child, Duration::from_secs(20));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(doc["command"], "capture");
    assert_eq!(doc["canaries"][0]["verdict"], "exposed", "{doc:#}");
    let flow = &doc["flows"][0];
    assert_eq!(flow["server"], format!("127.0.0.1:{port}"));
    assert_eq!(flow["verdict"], "exposed");
    // Kernel/libpcap counters are part of the report.
    assert!(doc["stats"]["capture"]["received"].as_u64().is_some());
    // The write-through file replays to the same verdict and is hashed in the report.
    let inputs = doc["inputs"].as_array().unwrap();
    assert!(
        inputs
            .iter()
            .any(|i| i["kind"] == "interface" && i["path"] == iface)
    );
    assert!(
        inputs
            .iter()
            .any(|i| i["kind"] == "pcapng" && i["sha256"].as_str().is_some())
    );
    let replay = Command::new(bin())
        .args([
            "replay",
            written.to_str().unwrap(),
            "--format",
            "json",
            "--canary",
            CANARY,
        ])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(doc["canaries"][0]["verdict"], "exposed");
}

#[test]
fn ctrl_c_stops_the_capture_with_the_final_report() {
    let Some(iface) = loopback() else { return };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let child = start_capture(iface, port, &[]);
    chat(&listener);
    std::thread::sleep(Duration::from_millis(500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, doc, stderr) = wait(child, Duration::from_secs(10));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(doc["canaries"][0]["verdict"], "exposed", "{doc:#}");
}

#[test]
fn list_interfaces_names_loopback() {
    let Some(iface) = loopback() else { return };
    let out = Command::new(bin())
        .args(["capture", "--list-interfaces"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with(iface)), "{text}");
}

#[test]
fn unknown_interface_is_a_clear_error() {
    if loopback().is_none() {
        return;
    }
    let out = Command::new(bin())
        .args(["capture", "-i", "no-such-if0", "--duration", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-if0"), "{err}");
}
