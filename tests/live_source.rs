//! Live capture on the loopback interface, for real. Needs root (or
//! CAP_NET_RAW); otherwise each test says it skipped and returns.
#![cfg(feature = "live")]

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use plainsight::source::{
    LinkType, LiveOptions, Packet, PacketSink, SecretOrigin, SourceError, capture, list_interfaces,
    read_file,
};

#[derive(Default)]
struct Sink {
    payloads: Vec<Vec<u8>>,
    indices: Vec<u64>,
    offsets: Vec<Option<u64>>,
    links: Vec<LinkType>,
}

impl PacketSink for Sink {
    fn packet(&mut self, p: &Packet<'_>) {
        self.payloads.push(p.data.to_vec());
        self.indices.push(p.index);
        self.offsets.push(p.file_offset);
        self.links.push(p.link);
    }
    fn secrets(&mut self, _: &[u8], _: SecretOrigin, _: u64) {}
    fn warning(&mut self, _: Option<u64>, _: String) {}
}

fn loopback() -> Option<String> {
    match list_interfaces() {
        Ok(list) => list.into_iter().find(|i| i.loopback).map(|i| i.name),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

/// Runs `capture` on a thread while `act` runs here; skips on permission.
fn run(
    opts: LiveOptions,
    act: impl FnOnce(&AtomicBool),
) -> Option<(Result<plainsight::source::LiveSummary, SourceError>, Sink)> {
    let stop = AtomicBool::new(false);
    let mut sink = Sink::default();
    let result = std::thread::scope(|s| {
        let h = s.spawn(|| capture(&opts, &mut sink, &stop));
        act(&stop);
        h.join().unwrap()
    });
    if let Err(e @ SourceError::PermissionDenied { .. }) = &result {
        eprintln!("SKIPPED (not root): {e}");
        return None;
    }
    Some((result, sink))
}

fn send(port: u16, what: &[u8], n: usize) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..n {
        sock.send_to(what, ("127.0.0.1", port)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn captures_loopback_with_filter_and_writes_pcapng() {
    let Some(lo) = loopback() else { return };
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("live.pcapng");
    let opts = LiveOptions {
        interface: lo,
        filter: Some(format!("udp dst port {port}")),
        write: Some(out.clone()),
        ..LiveOptions::default()
    };
    let Some((result, sink)) = run(opts, |stop| {
        // Let the handle open before sending.
        std::thread::sleep(Duration::from_millis(300));
        send(port, b"PS-LIVE-CANARY", 5);
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
    }) else {
        return;
    };
    let summary = result.unwrap();
    assert_eq!(summary.packets, 5);
    assert_eq!(sink.indices, [1, 2, 3, 4, 5]);
    assert!(sink.payloads.iter().all(|p| p.ends_with(b"PS-LIVE-CANARY")));
    assert!(sink.offsets.iter().all(Option::is_some));
    let (path, size, sha) = summary.written.clone().unwrap();
    assert_eq!(path, out);

    // The written file reads back with the same packets at the same offsets.
    let mut back = Sink::default();
    let s = read_file(&out, None, &mut back).unwrap();
    assert_eq!(
        (s.kind, s.size, s.sha256.as_str()),
        ("pcapng", size, sha.as_str())
    );
    assert_eq!(back.payloads, sink.payloads);
    assert_eq!(back.offsets, sink.offsets);
    assert_eq!(back.links, vec![summary.link; 5]);
}

#[test]
fn count_and_duration_end_the_capture_by_themselves() {
    let Some(lo) = loopback() else { return };
    let port = free_port();
    let opts = LiveOptions {
        interface: lo.clone(),
        filter: Some(format!("udp dst port {port}")),
        count: Some(3),
        ..LiveOptions::default()
    };
    let Some((result, sink)) = run(opts, |_| {
        std::thread::sleep(Duration::from_millis(300));
        send(port, b"x", 10);
    }) else {
        return;
    };
    assert_eq!(result.unwrap().packets, 3);
    assert_eq!(sink.payloads.len(), 3);

    let opts = LiveOptions {
        interface: lo,
        filter: Some("udp dst port 9".into()),
        duration: Some(Duration::from_millis(300)),
        ..LiveOptions::default()
    };
    let started = Instant::now();
    let Some((result, _)) = run(opts, |_| {}) else {
        return;
    };
    result.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn stop_flag_ends_an_idle_capture_promptly() {
    let Some(lo) = loopback() else { return };
    let opts = LiveOptions {
        interface: lo,
        // Matches nothing: the interface looks idle to us.
        filter: Some("udp dst port 9 and udp src port 9".into()),
        ..LiveOptions::default()
    };
    let mut stopped_at = None;
    let Some((result, _)) = run(opts, |stop| {
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::Relaxed);
        stopped_at = Some(Instant::now());
    }) else {
        return;
    };
    result.unwrap();
    let waited = stopped_at.unwrap().elapsed();
    assert!(waited < Duration::from_secs(1), "took {waited:?} to stop");
}

#[test]
fn bad_filter_and_missing_interface_are_clear_errors() {
    let opts = LiveOptions {
        interface: "plainsight-no-such-if0".into(),
        ..LiveOptions::default()
    };
    let Some((result, _)) = run(opts, |_| {}) else {
        return;
    };
    let e = result.unwrap_err();
    assert!(matches!(e, SourceError::NoSuchInterface { .. }), "{e}");
    assert!(e.to_string().contains("plainsight-no-such-if0"));

    let Some(lo) = loopback() else { return };
    let opts = LiveOptions {
        interface: lo,
        filter: Some("udp prot 9".into()),
        ..LiveOptions::default()
    };
    let Some((result, _)) = run(opts, |_| {}) else {
        return;
    };
    let e = result.unwrap_err();
    assert!(matches!(e, SourceError::BadFilter { .. }), "{e}");
}
