//! BPF filters on file input: libpcap compiles the expression once per link
//! type (`pcap_open_dead` + `pcap_compile`) and `pcap_offline_filter` runs
//! it on each packet, so `-f` means the same thing for files as for live
//! capture.

use super::{LinkType, SourceError};

/// A BPF expression compiled lazily for each link type it meets.
pub struct Filter {
    expr: String,
    #[cfg(feature = "live")]
    programs: Vec<(LinkType, pcap::BpfProgram)>,
}

impl Filter {
    /// Fails at once when libpcap is not compiled in.
    pub fn new(expr: &str) -> Result<Filter, SourceError> {
        #[cfg(feature = "live")]
        {
            Ok(Filter {
                expr: expr.to_string(),
                programs: Vec::new(),
            })
        }
        #[cfg(not(feature = "live"))]
        {
            let _ = expr;
            Err(SourceError::LiveNotCompiled {
                what: "a BPF filter (-f)",
            })
        }
    }

    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// Compiles the expression for `link` unless already done; a bad
    /// expression is an error carrying libpcap's message.
    pub fn prepare(&mut self, link: LinkType) -> Result<(), SourceError> {
        #[cfg(feature = "live")]
        {
            if self.programs.iter().any(|(l, _)| *l == link) {
                return Ok(());
            }
            let bad = |message: String| SourceError::BadFilter {
                expr: self.expr.clone(),
                link,
                message,
            };
            let dead = pcap::Capture::dead(pcap::Linktype(link.dlt()))
                .map_err(|e| bad(pcap_message(e)))?;
            let program = dead
                .compile(&self.expr, true)
                .map_err(|e| bad(pcap_message(e)))?;
            self.programs.push((link, program));
            Ok(())
        }
        #[cfg(not(feature = "live"))]
        {
            let _ = link;
            Ok(())
        }
    }

    /// Whether `data` passes. [`Filter::prepare`] must have succeeded for
    /// `link`; an unprepared link type passes everything.
    pub fn matches(&self, link: LinkType, data: &[u8]) -> bool {
        #[cfg(feature = "live")]
        {
            match self.programs.iter().find(|(l, _)| *l == link) {
                Some((_, program)) => program.filter(data),
                None => true,
            }
        }
        #[cfg(not(feature = "live"))]
        {
            let _ = (link, data);
            true
        }
    }
}

/// libpcap's own text, without the crate's "libpcap error: " prefix.
#[cfg(feature = "live")]
pub(crate) fn pcap_message(e: pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(m) => m,
        other => other.to_string(),
    }
}

#[cfg(all(test, feature = "live"))]
mod tests {
    use super::*;

    /// Ethernet + IPv4 + TCP 1234 -> 443, SYN.
    fn syn() -> Vec<u8> {
        let mut out = Vec::new();
        etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(1234, 443, 1, 1000)
            .syn()
            .write(&mut out, &[])
            .unwrap();
        out
    }

    #[test]
    fn filters_by_port_per_link_type() {
        let mut f = Filter::new("tcp port 443").unwrap();
        f.prepare(LinkType::Ethernet).unwrap();
        f.prepare(LinkType::Raw).unwrap();
        let frame = syn();
        assert!(f.matches(LinkType::Ethernet, &frame));
        // The same IP packet without its Ethernet header, on a raw link.
        assert!(f.matches(LinkType::Raw, &frame[14..]));
        let mut g = Filter::new("udp").unwrap();
        g.prepare(LinkType::Ethernet).unwrap();
        assert!(!g.matches(LinkType::Ethernet, &frame));
    }

    #[test]
    fn bad_expression_carries_libpcap_message() {
        let mut f = Filter::new("tcp prot 443").unwrap();
        let err = f.prepare(LinkType::Ethernet).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("bad capture filter 'tcp prot 443'"),
            "{text}"
        );
        assert!(text.contains("syntax error"), "{text}");
    }
}
