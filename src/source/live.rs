//! Live capture through libpcap (feature `live`).
//!
//! The handle is opened in immediate mode and switched to non-blocking, so
//! the loop notices `stop`, `--duration` and `--count` within a few
//! milliseconds even on an idle interface (on Linux TPACKET_V3 the read
//! timeout only starts after the first packet, so a blocking read could
//! hang shutdown forever).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::{LinkType, PacketSink, SourceError};

/// What `plainsight capture` asks for.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub interface: String,
    /// BPF expression applied in the kernel.
    pub filter: Option<String>,
    pub snaplen: i32,
    pub promisc: bool,
    pub duration: Option<Duration>,
    /// Stop after this many packets.
    pub count: Option<u64>,
    /// Write every captured packet to this pcapng file as well.
    pub write: Option<PathBuf>,
    /// Kernel buffer size in bytes.
    pub buffer_size: i32,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            interface: String::new(),
            filter: None,
            snaplen: 262_144,
            promisc: true,
            duration: None,
            count: None,
            write: None,
            buffer_size: 16 << 20,
        }
    }
}

/// What a live capture did, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSummary {
    /// Packets delivered to the sink.
    pub packets: u64,
    /// Packets libpcap says it received (`ps_recv`).
    pub received: u64,
    /// Dropped because the kernel buffer was full (`ps_drop`).
    pub dropped_by_kernel: u64,
    /// Dropped by the interface or driver (`ps_ifdrop`).
    pub dropped_by_interface: u64,
    pub link: LinkType,
    /// The `-w` file: path, size, SHA-256.
    pub written: Option<(PathBuf, u64, String)>,
}

/// One capture device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<String>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
}

#[cfg(feature = "live")]
pub use imp::{capture, list_interfaces};

#[cfg(not(feature = "live"))]
pub fn capture(
    _opts: &LiveOptions,
    _sink: &mut dyn PacketSink,
    _stop: &AtomicBool,
) -> Result<LiveSummary, SourceError> {
    Err(SourceError::LiveNotCompiled {
        what: "live capture",
    })
}

#[cfg(not(feature = "live"))]
pub fn list_interfaces() -> Result<Vec<InterfaceInfo>, SourceError> {
    Err(SourceError::LiveNotCompiled {
        what: "listing interfaces",
    })
}

#[cfg(feature = "live")]
mod imp {
    use std::fs::File;
    use std::io::{self, BufWriter, Write};
    use std::path::Path;
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    use sha2::{Digest, Sha256};

    use super::super::filter::pcap_message;
    use super::super::pcapng::PcapngWriter;
    use super::super::{Packet, hex};
    use super::*;

    /// Longest sleep when the interface is idle.
    const IDLE_SLEEP: Duration = Duration::from_millis(20);
    /// Packets handled per `pcap_dispatch` call at most.
    const BATCH: u64 = 512;

    pub fn list_interfaces() -> Result<Vec<InterfaceInfo>, SourceError> {
        let devices = pcap::Device::list().map_err(|e| SourceError::Interfaces {
            message: pcap_message(e),
        })?;
        Ok(devices
            .into_iter()
            .map(|d| InterfaceInfo {
                addresses: d.addresses.iter().map(|a| a.addr.to_string()).collect(),
                up: d.flags.is_up(),
                running: d.flags.is_running(),
                loopback: d.flags.is_loopback(),
                description: d.desc,
                name: d.name,
            })
            .collect())
    }

    /// A `Write` that hashes and counts what passes through.
    struct Hashing<W: Write> {
        w: W,
        hasher: Sha256,
        written: u64,
    }

    impl<W: Write> Write for Hashing<W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.w.write(buf)?;
            self.hasher.update(&buf[..n]);
            self.written += n as u64;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.w.flush()
        }
    }

    type Out = PcapngWriter<Hashing<BufWriter<File>>>;

    fn open_error(interface: &str, e: pcap::Error) -> SourceError {
        let message = pcap_message(e);
        let lower = message.to_ascii_lowercase();
        if lower.contains("permission") || lower.contains("not permitted") {
            SourceError::PermissionDenied {
                interface: interface.to_string(),
                message,
            }
        } else if lower.contains("no such device") || lower.contains("doesn't exist") {
            SourceError::NoSuchInterface {
                interface: interface.to_string(),
            }
        } else {
            SourceError::Capture {
                interface: interface.to_string(),
                message,
            }
        }
    }

    fn write_error(path: &Path) -> impl Fn(io::Error) -> SourceError + '_ {
        move |source| SourceError::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Captures until `stop` is set, `duration` passes or `count` packets
    /// were delivered; then reports libpcap's counters.
    pub fn capture(
        opts: &LiveOptions,
        sink: &mut dyn PacketSink,
        stop: &AtomicBool,
    ) -> Result<LiveSummary, SourceError> {
        let name = opts.interface.as_str();
        let cap = pcap::Capture::from_device(name)
            .map_err(|e| open_error(name, e))?
            .promisc(opts.promisc)
            .snaplen(opts.snaplen)
            .immediate_mode(true)
            .timeout(100)
            .buffer_size(opts.buffer_size)
            .open()
            .map_err(|e| open_error(name, e))?;
        let mut cap = cap.setnonblock().map_err(|e| open_error(name, e))?;
        let link = LinkType::from_dlt(cap.get_datalink().0);
        if let Some(expr) = &opts.filter {
            cap.filter(expr, true).map_err(|e| SourceError::BadFilter {
                expr: expr.clone(),
                link,
                message: pcap_message(e),
            })?;
        }
        if !link.supported() {
            sink.warning(
                None,
                format!("{name} delivers {link}, which cannot be decoded; packets are still counted and written"),
            );
        }

        let mut out: Option<Out> = match &opts.write {
            None => None,
            Some(path) => {
                let file = File::create(path).map_err(write_error(path))?;
                let hashing = Hashing {
                    w: BufWriter::with_capacity(1 << 20, file),
                    hasher: Sha256::new(),
                    written: 0,
                };
                let mut w = PcapngWriter::new(hashing).map_err(write_error(path))?;
                w.add_interface(link, opts.snaplen.max(0) as u32, Some(name))
                    .map_err(write_error(path))?;
                Some(w)
            }
        };

        let started = Instant::now();
        let mut delivered = 0u64;
        let mut write_failure: Option<io::Error> = None;
        let mut idle = Duration::from_millis(1);
        loop {
            if stop.load(Ordering::Relaxed) || sink.should_stop() {
                break;
            }
            if opts.duration.is_some_and(|d| started.elapsed() >= d) {
                break;
            }
            let budget = match opts.count {
                Some(c) if delivered >= c => break,
                Some(c) => (c - delivered).min(BATCH),
                None => BATCH,
            };
            let n = cap
                .dispatch(Some(budget as usize), |pkt| {
                    delivered += 1;
                    // time_t and suseconds_t are 32-bit on some targets.
                    #[allow(clippy::unnecessary_cast)]
                    let ts = (pkt.header.ts.tv_sec as i64) * 1_000_000_000
                        + (pkt.header.ts.tv_usec as i64) * 1000;
                    let mut file_offset = None;
                    if let Some(w) = out.as_mut()
                        && write_failure.is_none()
                    {
                        match w.write_packet(0, ts, pkt.data, pkt.header.len) {
                            Ok(at) => file_offset = Some(at),
                            Err(e) => write_failure = Some(e),
                        }
                    }
                    sink.packet(&Packet {
                        ts,
                        link,
                        data: pkt.data,
                        orig_len: pkt.header.len,
                        index: delivered,
                        file_offset,
                        interface: 0,
                    });
                })
                .map_err(|e| SourceError::Capture {
                    interface: name.to_string(),
                    message: pcap_message(e),
                })?;
            if let (Some(e), Some(path)) = (write_failure.take(), &opts.write) {
                return Err(write_error(path)(e));
            }
            if n == 0 {
                std::thread::sleep(idle);
                idle = (idle * 2).min(IDLE_SLEEP);
            } else {
                idle = Duration::from_millis(1);
            }
        }

        let stats = cap.stats().map_err(|e| SourceError::Capture {
            interface: name.to_string(),
            message: pcap_message(e),
        })?;
        let written = match (out, &opts.write) {
            (Some(mut w), Some(path)) => {
                w.flush().map_err(write_error(path))?;
                let h = w.into_inner();
                let file =
                    h.w.into_inner()
                        .map_err(|e| write_error(path)(e.into_error()))?;
                file.sync_all().map_err(write_error(path))?;
                Some((path.clone(), h.written, hex(&h.hasher.finalize())))
            }
            _ => None,
        };
        Ok(LiveSummary {
            packets: delivered,
            received: u64::from(stats.received),
            dropped_by_kernel: u64::from(stats.dropped),
            dropped_by_interface: u64::from(stats.if_dropped),
            link,
            written,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn open_errors_are_classified() {
            let perm = pcap::Error::PcapError(
                "eth0: You don't have permission to perform this capture on that device (socket: Operation not permitted)".into(),
            );
            let e = open_error("eth0", perm);
            assert!(matches!(e, SourceError::PermissionDenied { .. }));
            assert!(e.to_string().contains("CAP_NET_RAW") || e.to_string().contains("cap_net_raw"));
            let missing = pcap::Error::PcapError("nope0: No such device exists".into());
            assert!(matches!(
                open_error("nope0", missing),
                SourceError::NoSuchInterface { .. }
            ));
        }
    }
}
