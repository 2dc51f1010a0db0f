//! Link types, normalised from capture-file LINKTYPE values and libpcap DLT
//! values (which differ for raw IP and loopback, see wire.md §1.2).

use std::fmt;

/// The framing of a packet's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_NULL (0): 4-byte address family in the writer's byte order.
    Null,
    /// LINKTYPE_LOOP (108): 4-byte address family in network byte order.
    Loop,
    /// LINKTYPE_RAW (101; DLT 12 or 14): IPv4 or IPv6 by version nibble.
    Raw,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// LINKTYPE_LINUX_SLL (113): 16-byte Linux cooked header.
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276): 20-byte Linux cooked header v2.
    LinuxSll2,
    /// LINKTYPE_PPP (9) and LINKTYPE_PPP_HDLC (50), with or without `ff 03`.
    Ppp,
    /// Anything else, by LINKTYPE value.
    Other(u32),
}

/// LINKTYPE values that are not decoded but deserve a name in messages.
const OTHER_NAMES: &[(u32, &str)] = &[
    (3, "AX25"),
    (6, "IEEE802_5"),
    (7, "ARCNET_BSD"),
    (8, "SLIP"),
    (10, "FDDI"),
    (51, "PPP_ETHER"),
    (104, "C_HDLC"),
    (105, "IEEE802_11"),
    (107, "FRELAY"),
    (119, "IEEE802_11_PRISM"),
    (122, "IP_OVER_FC"),
    (127, "IEEE802_11_RADIOTAP"),
    (139, "MTP2_WITH_PHDR"),
    (143, "DOCSIS"),
    (163, "IEEE802_11_AVS"),
    (187, "BLUETOOTH_HCI_H4"),
    (189, "USB_LINUX"),
    (192, "PPI"),
    (195, "IEEE802_15_4_WITHFCS"),
    (201, "BLUETOOTH_HCI_H4_WITH_PHDR"),
    (215, "IEEE802_15_4_NONASK_PHY"),
    (220, "USB_LINUX_MMAPPED"),
    (227, "CAN_SOCKETCAN"),
    (230, "IEEE802_15_4_NOFCS"),
    (235, "DVB_CI"),
    (239, "NFLOG"),
    (240, "NETANALYZER"),
    (249, "USBPCAP"),
    (252, "WIRESHARK_UPPER_PDU"),
    (254, "SCTP"),
    (263, "BLUETOOTH_LE_LL"),
    (270, "NETLINK"),
    (272, "BLUETOOTH_LE_LL_WITH_PHDR"),
    (281, "DSA_TAG_BRCM"),
    (288, "USB_DARWIN"),
];

impl LinkType {
    /// From a LINKTYPE value as stored in pcap and pcapng files. The upper
    /// bits of the classic pcap header field (FCS length flags) are ignored.
    pub fn from_linktype(v: u32) -> LinkType {
        match v & 0xffff {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            9 | 50 => LinkType::Ppp,
            // Old writers stored the DLT value instead of LINKTYPE_RAW.
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }

    /// From a DLT value as returned by libpcap (`pcap_datalink`).
    pub fn from_dlt(v: i32) -> LinkType {
        match v {
            // OpenBSD: DLT_LOOP is 12 and DLT_RAW is 14.
            12 if cfg!(target_os = "openbsd") => LinkType::Loop,
            12 | 14 => LinkType::Raw,
            v if v >= 0 => LinkType::from_linktype(v as u32),
            v => LinkType::Other(v as u32),
        }
    }

    /// The LINKTYPE value written into capture files.
    pub fn linktype(&self) -> u32 {
        match *self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Ppp => 9,
            LinkType::Raw => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
            LinkType::Other(v) => v,
        }
    }

    /// The DLT value libpcap expects (`pcap_open_dead`, BPF compilation).
    pub fn dlt(&self) -> i32 {
        match *self {
            LinkType::Raw if cfg!(target_os = "openbsd") => 14,
            LinkType::Raw => 12,
            LinkType::Loop if cfg!(target_os = "openbsd") => 12,
            other => other.linktype() as i32,
        }
    }

    /// Display name, e.g. `LINKTYPE_ETHERNET (1)` or `LINKTYPE_IEEE802_11 (105)`.
    pub fn name(&self) -> String {
        let short = match *self {
            LinkType::Null => "NULL",
            LinkType::Ethernet => "ETHERNET",
            LinkType::Ppp => "PPP",
            LinkType::Raw => "RAW",
            LinkType::Loop => "LOOP",
            LinkType::LinuxSll => "LINUX_SLL",
            LinkType::Ipv4 => "IPV4",
            LinkType::Ipv6 => "IPV6",
            LinkType::LinuxSll2 => "LINUX_SLL2",
            LinkType::Other(v) => {
                return match OTHER_NAMES.iter().find(|(n, _)| *n == v) {
                    Some((_, name)) => format!("LINKTYPE_{name} ({v})"),
                    None => format!("unknown link type {v}"),
                };
            }
        };
        format!("LINKTYPE_{short} ({})", self.linktype())
    }

    /// Whether the decoder can find IP packets in this framing.
    pub fn supported(&self) -> bool {
        !matches!(self, LinkType::Other(_))
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_libpcap_values_agree_on_raw_ip() {
        assert_eq!(LinkType::from_linktype(101), LinkType::Raw);
        assert_eq!(LinkType::from_dlt(12), LinkType::Raw);
        assert_eq!(LinkType::from_dlt(14), LinkType::Raw);
        assert_eq!(LinkType::from_dlt(LinkType::Raw.dlt()), LinkType::Raw);
        assert_eq!(LinkType::Raw.linktype(), 101);
    }

    #[test]
    fn values_round_trip() {
        for v in [0, 1, 9, 101, 108, 113, 228, 229, 276, 105, 127] {
            let l = LinkType::from_linktype(v);
            assert_eq!(l.linktype(), v, "{l:?}");
            assert_eq!(LinkType::from_dlt(l.dlt()), l);
        }
        assert_eq!(LinkType::from_linktype(50), LinkType::Ppp);
    }

    #[test]
    fn fcs_flag_bits_are_ignored() {
        // LINKTYPE_ETHERNET with the "FCS present, 4 bytes" flag bits set.
        assert_eq!(
            LinkType::from_linktype(1 | (1 << 26) | (2 << 28)),
            LinkType::Ethernet
        );
    }

    #[test]
    fn names_say_what_is_unsupported() {
        assert_eq!(LinkType::Ethernet.name(), "LINKTYPE_ETHERNET (1)");
        assert_eq!(LinkType::Raw.name(), "LINKTYPE_RAW (101)");
        assert_eq!(
            LinkType::from_linktype(105).name(),
            "LINKTYPE_IEEE802_11 (105)"
        );
        assert_eq!(LinkType::Other(4242).name(), "unknown link type 4242");
        assert!(!LinkType::Other(105).supported());
        assert!(LinkType::LinuxSll2.supported());
    }
}
