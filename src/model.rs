//! The shared vocabulary: verdicts, severities, directions and endpoints.
//!
//! These words appear verbatim in every report format, so their serialised
//! spelling is part of the JSON contract and must never change.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Who can read message content in a subject (flow, store, app).
///
/// The declaration order is the order of severity used to combine verdicts:
/// `exposed > server-readable > retained > opaque > sealed > no-content`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Nothing that could carry a message.
    #[default]
    NoContent,
    /// Transport opened with keys and only ciphertext or an E2E envelope inside.
    Sealed,
    /// Encrypted and not opened; the reason says why.
    Opaque,
    /// Deleted or expired content still recoverable at rest.
    Retained,
    /// Content readable once TLS/QUIC is removed with session keys.
    ServerReadable,
    /// Content readable with no key.
    Exposed,
}

impl Verdict {
    pub const ALL: [Verdict; 6] = [
        Verdict::Exposed,
        Verdict::ServerReadable,
        Verdict::Retained,
        Verdict::Opaque,
        Verdict::Sealed,
        Verdict::NoContent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NoContent => "no-content",
            Verdict::Sealed => "sealed",
            Verdict::Opaque => "opaque",
            Verdict::Retained => "retained",
            Verdict::ServerReadable => "server-readable",
            Verdict::Exposed => "exposed",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict of one canary across every subject searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CanaryVerdict {
    NotFound,
    Retained,
    ServerReadable,
    Exposed,
}

impl CanaryVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            CanaryVerdict::NotFound => "not-found",
            CanaryVerdict::Retained => "retained",
            CanaryVerdict::ServerReadable => "server-readable",
            CanaryVerdict::Exposed => "exposed",
        }
    }
}

impl fmt::Display for CanaryVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Finding severity, ordered from least to most severe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Direction of data within a flow, relative to the side that opened it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    #[serde(rename = "client-to-server")]
    ToServer,
    #[serde(rename = "server-to-client")]
    ToClient,
}

impl Direction {
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }

    pub fn from_index(i: usize) -> Direction {
        if i == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToServer => "client-to-server",
            Direction::ToClient => "server-to-client",
        }
    }

    /// Short arrow form for tables.
    pub fn arrow(self) -> &'static str {
        match self {
            Direction::ToServer => "c→s",
            Direction::ToClient => "s→c",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Transport protocol of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Formats an endpoint as `ip:port`, IPv6 as `[addr]:port` (the JSON contract).
pub fn endpoint(ip: IpAddr, port: u16) -> String {
    SocketAddr::new(ip, port).to_string()
}

/// Nanoseconds since the Unix epoch.
pub type Timestamp = i64;

/// Formats a timestamp as RFC 3339 UTC with microseconds.
pub fn format_ts(ts: Timestamp) -> String {
    let secs = ts.div_euclid(1_000_000_000);
    let nanos = ts.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        nanos / 1000
    )
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_order_matches_design() {
        let mut v = Verdict::ALL.to_vec();
        v.sort();
        assert_eq!(
            v,
            vec![
                Verdict::NoContent,
                Verdict::Sealed,
                Verdict::Opaque,
                Verdict::Retained,
                Verdict::ServerReadable,
                Verdict::Exposed
            ]
        );
        assert_eq!(
            serde_json::to_string(&Verdict::ServerReadable).unwrap(),
            "\"server-readable\""
        );
        assert_eq!(Verdict::parse("no-content"), Some(Verdict::NoContent));
    }

    #[test]
    fn endpoints_bracket_ipv6() {
        assert_eq!(endpoint("10.0.0.1".parse().unwrap(), 80), "10.0.0.1:80");
        assert_eq!(
            endpoint("2001:db8::1".parse().unwrap(), 443),
            "[2001:db8::1]:443"
        );
    }

    #[test]
    fn timestamps_format_as_utc() {
        assert_eq!(format_ts(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_ts(1_387_554_241_634_815_000),
            "2013-12-20T15:44:01.634815Z"
        );
        assert_eq!(
            format_ts(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
    }

    #[test]
    fn direction_serialises_in_words() {
        assert_eq!(
            serde_json::to_string(&Direction::ToClient).unwrap(),
            "\"server-to-client\""
        );
    }
}
