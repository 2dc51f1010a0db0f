//! Packet sources: capture files (pcap, pcapng) and live interfaces.
//!
//! A source pushes every packet, every piece of embedded key material and
//! every anomaly into a [`PacketSink`] in one streaming pass. Files are read
//! by our own framing over pcap-parser's block parsers, so a truncated or
//! corrupt file yields every packet before the damage plus a warning with
//! the byte offset, instead of an error or an endless refill loop.

mod file;
mod filter;
mod keylog_comment;
mod linktype;
mod live;
pub mod pcapng;

pub use file::{read_file, read_stream};
pub use filter::Filter;
pub use linktype::LinkType;
pub use live::{InterfaceInfo, LiveOptions, LiveSummary, capture, list_interfaces};

use std::path::PathBuf;

/// One captured packet as the source saw it.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Nanoseconds since the Unix epoch.
    pub ts: i64,
    pub link: LinkType,
    /// The captured bytes (`caplen` of them; padding removed).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// 1-based frame number in this input, as tshark numbers frames: packets
    /// removed by a filter or skipped still take a number.
    pub index: u64,
    /// Byte offset of this packet's record or block header in the input file
    /// (for live capture: in the `-w` file, if any).
    pub file_offset: Option<u64>,
    /// pcapng interface id (0 for classic pcap and live capture).
    pub interface: u32,
}

/// Where embedded key material was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretOrigin {
    /// A pcapng Decryption Secrets Block of type TLSK.
    SecretsBlock,
    /// Key-log lines in a section, interface or packet comment.
    Comment,
}

/// Receives what a source finds, in file order.
pub trait PacketSink {
    fn packet(&mut self, p: &Packet<'_>);
    /// NSS key-log text found in the capture: pcapng Decryption Secrets
    /// Blocks of type TLSK, and key-log lines (`CLIENT_RANDOM …`,
    /// `*_TRAFFIC_SECRET …`) found in SHB/IDB/EPB comments. `offset` is the
    /// byte offset of the block that carried it.
    fn secrets(&mut self, text: &[u8], origin: SecretOrigin, offset: u64);
    /// The container format of the input, once its magic is read
    /// (`"pcap"` or `"pcapng"`). Only pcapng can carry secrets further on.
    fn format(&mut self, _kind: &'static str) {}
    /// An anomaly in the input; `offset` is a byte offset in the file.
    fn warning(&mut self, offset: Option<u64>, message: String);
    /// Polled after every packet; `true` ends the read early (Ctrl-C).
    fn should_stop(&self) -> bool {
        false
    }
}

/// What a file read produced, for the report's `inputs` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSummary {
    /// `"pcap"` or `"pcapng"`.
    pub kind: &'static str,
    /// Bytes read: the whole file, unless the sink asked to stop early.
    pub size: u64,
    /// Lowercase hex SHA-256 of exactly the `size` bytes read.
    pub sha256: String,
    /// Packet records seen (delivered + filtered out + skipped).
    pub packets: u64,
    /// Packets the BPF filter rejected.
    pub filtered_out: u64,
    /// Packets not delivered because their interface was undeclared or its
    /// link type is unsupported (each case is also a warning).
    pub skipped: u64,
    /// Byte offset where reading stopped because of truncation or damage.
    pub truncated_at: Option<u64>,
    /// Distinct supported link types the file declares (classic header,
    /// pcapng interfaces), in order of first appearance.
    pub link_types: Vec<LinkType>,
}

/// A source failure that stops the input. Damage inside a file is not an
/// error (see [`InputSummary::truncated_at`]).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a pcap or pcapng capture: {looks_like}")]
    NotCapture { path: String, looks_like: String },
    #[error("{path}: unsupported link type {link}")]
    UnsupportedLinkType { path: String, link: LinkType },
    #[error("bad capture filter '{expr}' for {link}: {message}")]
    BadFilter {
        expr: String,
        link: LinkType,
        message: String,
    },
    #[error(
        "{what} needs libpcap, which is not compiled in (build with the default `live` feature and libpcap-dev)"
    )]
    LiveNotCompiled { what: &'static str },
    #[error(
        "no permission to capture on {interface}: {message} (run as root, or grant the capabilities: sudo setcap cap_net_raw,cap_net_admin=eip $(command -v plainsight))"
    )]
    PermissionDenied { interface: String, message: String },
    #[error(
        "no such interface '{interface}' (list them with `plainsight capture --list-interfaces`)"
    )]
    NoSuchInterface { interface: String },
    #[error("capture on {interface} failed: {message}")]
    Capture { interface: String, message: String },
    #[error("cannot list interfaces: {message}")]
    Interfaces { message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Lowercase hex of a digest.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
