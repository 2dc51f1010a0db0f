//! A pure DNS message parser (RFC 1035, 3596, 2782, 6891, 9460).
//!
//! Works on one complete message (a UDP datagram, a TCP frame without its
//! length prefix, a DoH body). Names are decompressed with strictly backward
//! pointers (so no loop can exist), a bounded number of jumps and the 255-byte
//! limit. Section counts come from the wire but only records that are really
//! present are allocated, and at most [`MAX_RECORDS`] per message.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Most records (of all sections) kept from one message.
pub const MAX_RECORDS: usize = 512;
/// Most compression pointers followed while reading one name.
const MAX_JUMPS: usize = 32;
/// Longest name on the wire (RFC 1035 §3.1).
const MAX_NAME: usize = 255;

/// Record types this parser decodes.
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const PTR: u16 = 12;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
    pub const OPT: u16 = 41;
    pub const SVCB: u16 = 64;
    pub const HTTPS: u16 = 65;
    pub const ANY: u16 = 255;
}

/// The mnemonic of a record type (`AAAA`, `TYPE999`).
pub fn type_name(t: u16) -> String {
    let s = match t {
        rtype::A => "A",
        rtype::NS => "NS",
        rtype::CNAME => "CNAME",
        rtype::SOA => "SOA",
        rtype::PTR => "PTR",
        rtype::MX => "MX",
        rtype::TXT => "TXT",
        rtype::AAAA => "AAAA",
        rtype::SRV => "SRV",
        rtype::OPT => "OPT",
        rtype::SVCB => "SVCB",
        rtype::HTTPS => "HTTPS",
        rtype::ANY => "ANY",
        _ => return format!("TYPE{t}"),
    };
    s.to_string()
}

/// Why a message could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsError {
    pub what: &'static str,
    pub offset: usize,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.what, self.offset)
    }
}

impl std::error::Error for DnsError {}

/// The fixed 12-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    pub const LEN: usize = 12;

    pub fn parse(b: &[u8]) -> Option<Header> {
        let h = b.get(..Self::LEN)?;
        let w = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        Some(Header {
            id: w(0),
            flags: w(2),
            qdcount: w(4),
            ancount: w(6),
            nscount: w(8),
            arcount: w(10),
        })
    }

    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }

    pub fn truncated(&self) -> bool {
        self.flags & 0x0200 != 0
    }

    pub fn rcode(&self) -> u8 {
        (self.flags & 0x000f) as u8
    }

    /// Whether the header is plausible for a real DNS message: a known
    /// opcode, a zero Z bit and section counts a message of `len` bytes can hold.
    pub fn plausible(&self, len: usize) -> bool {
        let records = usize::from(self.qdcount)
            + usize::from(self.ancount)
            + usize::from(self.nscount)
            + usize::from(self.arcount);
        matches!(self.opcode(), 0 | 1 | 2 | 4 | 5 | 6)
            && self.flags & 0x0040 == 0
            && records > 0
            && Self::LEN + usize::from(self.qdcount) * 5 <= len.max(Self::LEN)
            && records <= 4096
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

/// One SvcParam of an SVCB/HTTPS record (RFC 9460 §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SvcParam {
    Alpn(Vec<String>),
    /// An ECHConfigList (the server supports Encrypted Client Hello).
    Ech(Vec<u8>),
    Ipv4Hint(Vec<Ipv4Addr>),
    Ipv6Hint(Vec<Ipv6Addr>),
    Port(u16),
    Other(u16, Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// CNAME, NS and PTR: one domain name.
    Name(String),
    Mx {
        preference: u16,
        exchange: String,
    },
    Txt(Vec<Vec<u8>>),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    Soa {
        mname: String,
        rname: String,
        serial: u32,
    },
    Svcb {
        priority: u16,
        target: String,
        params: Vec<SvcParam>,
    },
    /// EDNS(0) pseudo-record: the class is the UDP payload size.
    Opt {
        udp_size: u16,
        options: Vec<(u16, Vec<u8>)>,
    },
    Other(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub data: RData,
}

/// Which section a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Answer,
    Authority,
    Additional,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub questions: Vec<Question>,
    pub records: Vec<(Section, Record)>,
}

impl Message {
    pub fn answers(&self) -> impl Iterator<Item = &Record> {
        self.records
            .iter()
            .filter(|(s, _)| *s == Section::Answer)
            .map(|(_, r)| r)
    }
}

/// A bounded reader over the whole message (names need random access).
struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &'static str) -> DnsError {
        DnsError {
            what,
            offset: self.pos,
        }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DnsError> {
        let s = self
            .msg
            .get(self.pos..self.pos.saturating_add(n))
            .ok_or_else(|| self.err(what))?;
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DnsError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, DnsError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DnsError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn name(&mut self) -> Result<String, DnsError> {
        let (name, next) = read_name(self.msg, self.pos)?;
        self.pos = next;
        Ok(name)
    }
}

/// Reads a possibly compressed name at `start`; returns it in presentation
/// form (`www.example.com`, `.` for the root) and the offset after it.
pub fn read_name(msg: &[u8], start: usize) -> Result<(String, usize), DnsError> {
    let err = |what, offset| DnsError { what, offset };
    let mut out = String::new();
    let mut wire_len = 1usize;
    let mut pos = start;
    let mut after: Option<usize> = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(pos).ok_or(err("name runs past the end", pos))?;
        match len {
            0 => {
                pos += 1;
                break;
            }
            1..=63 => {
                let label = msg
                    .get(pos + 1..pos + 1 + usize::from(len))
                    .ok_or(err("label runs past the end", pos))?;
                wire_len += 1 + label.len();
                if wire_len > MAX_NAME {
                    return Err(err("name longer than 255 bytes", pos));
                }
                if !out.is_empty() {
                    out.push('.');
                }
                push_label(&mut out, label);
                pos += 1 + label.len();
            }
            0xc0..=0xff => {
                let lo = *msg
                    .get(pos + 1)
                    .ok_or(err("pointer runs past the end", pos))?;
                let target = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
                // Strictly backward: every jump lands earlier, so no loop exists.
                if target >= pos {
                    return Err(err("compression pointer does not point backward", pos));
                }
                jumps += 1;
                if jumps > MAX_JUMPS {
                    return Err(err("too many compression pointers", pos));
                }
                after.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(err("reserved label type", pos)),
        }
    }
    if out.is_empty() {
        out.push('.');
    }
    Ok((out, after.unwrap_or(pos)))
}

/// Appends a label, escaping dots and unprintable bytes the way `dig` does.
fn push_label(out: &mut String, label: &[u8]) {
    for &b in label {
        match b {
            b'.' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x21..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
}

fn question(r: &mut Reader<'_>) -> Result<Question, DnsError> {
    Ok(Question {
        name: r.name()?,
        qtype: r.u16("question type")?,
        qclass: r.u16("question class")?,
    })
}

fn record(r: &mut Reader<'_>) -> Result<Record, DnsError> {
    let name = r.name()?;
    let rtype = r.u16("record type")?;
    let class = r.u16("record class")?;
    let ttl = r.u32("record ttl")?;
    let len = usize::from(r.u16("rdata length")?);
    let start = r.pos;
    let rdata = r.take(len, "rdata runs past the end")?;
    let end = r.pos;
    // Names inside rdata may point anywhere earlier in the message.
    let mut sub = Reader {
        msg: r.msg.get(..end).unwrap_or_default(),
        pos: start,
    };
    let data = match rtype {
        rtype::A if len == 4 => RData::A(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3])),
        rtype::AAAA if len == 16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(rdata);
            RData::Aaaa(Ipv6Addr::from(a))
        }
        rtype::A | rtype::AAAA => return Err(r.err("address of the wrong length")),
        rtype::CNAME | rtype::NS | rtype::PTR => RData::Name(sub.name()?),
        rtype::MX => RData::Mx {
            preference: sub.u16("mx preference")?,
            exchange: sub.name()?,
        },
        rtype::TXT => {
            let mut strings = Vec::new();
            while sub.pos < end {
                let n = usize::from(sub.u8("txt length")?);
                strings.push(sub.take(n, "txt string runs past rdata")?.to_vec());
            }
            RData::Txt(strings)
        }
        rtype::SRV => RData::Srv {
            priority: sub.u16("srv priority")?,
            weight: sub.u16("srv weight")?,
            port: sub.u16("srv port")?,
            target: sub.name()?,
        },
        rtype::SOA => RData::Soa {
            mname: sub.name()?,
            rname: sub.name()?,
            serial: sub.u32("soa serial")?,
        },
        rtype::SVCB | rtype::HTTPS => {
            let priority = sub.u16("svc priority")?;
            let target = sub.name()?;
            let mut params = Vec::new();
            while sub.pos < end {
                let key = sub.u16("svc param key")?;
                let n = usize::from(sub.u16("svc param length")?);
                let v = sub.take(n, "svc param runs past rdata")?;
                params.push(svc_param(key, v));
            }
            RData::Svcb {
                priority,
                target,
                params,
            }
        }
        rtype::OPT => {
            let mut options = Vec::new();
            while sub.pos < end {
                let code = sub.u16("edns option code")?;
                let n = usize::from(sub.u16("edns option length")?);
                options.push((code, sub.take(n, "edns option runs past rdata")?.to_vec()));
            }
            RData::Opt {
                udp_size: class,
                options,
            }
        }
        _ => RData::Other(rdata.to_vec()),
    };
    if sub.pos > end {
        return Err(r.err("rdata overruns its length"));
    }
    Ok(Record {
        name,
        rtype,
        class,
        ttl,
        data,
    })
}

fn svc_param(key: u16, v: &[u8]) -> SvcParam {
    match key {
        1 => {
            let mut ids = Vec::new();
            let mut rest = v;
            while let Some((&n, tail)) = rest.split_first() {
                let Some(id) = tail.get(..usize::from(n)) else {
                    return SvcParam::Other(key, v.to_vec());
                };
                ids.push(String::from_utf8_lossy(id).into_owned());
                rest = &tail[usize::from(n)..];
            }
            SvcParam::Alpn(ids)
        }
        3 if v.len() == 2 => SvcParam::Port(u16::from_be_bytes([v[0], v[1]])),
        4 if v.len().is_multiple_of(4) => SvcParam::Ipv4Hint(
            v.chunks_exact(4)
                .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                .collect(),
        ),
        5 => SvcParam::Ech(v.to_vec()),
        6 if v.len().is_multiple_of(16) => SvcParam::Ipv6Hint(
            v.chunks_exact(16)
                .map(|c| {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(c);
                    Ipv6Addr::from(a)
                })
                .collect(),
        ),
        _ => SvcParam::Other(key, v.to_vec()),
    }
}

/// Parses one complete DNS message.
pub fn parse(msg: &[u8]) -> Result<Message, DnsError> {
    let header = Header::parse(msg).ok_or(DnsError {
        what: "shorter than a DNS header",
        offset: 0,
    })?;
    let mut r = Reader {
        msg,
        pos: Header::LEN,
    };
    let mut questions = Vec::new();
    for _ in 0..header.qdcount {
        if questions.len() >= MAX_RECORDS {
            return Err(r.err("too many questions"));
        }
        questions.push(question(&mut r)?);
    }
    let mut records = Vec::new();
    for (section, count) in [
        (Section::Answer, header.ancount),
        (Section::Authority, header.nscount),
        (Section::Additional, header.arcount),
    ] {
        for _ in 0..count {
            if records.len() + questions.len() >= MAX_RECORDS {
                return Err(r.err("too many records"));
            }
            records.push((section, record(&mut r)?));
        }
    }
    Ok(Message {
        header,
        questions,
        records,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The e7.whatsapp.net A response of ndpi/dns.pcap (frame 5): eight
    /// answers whose owner names are compression pointers to the question.
    pub const WHATSAPP_A: &str = "784381800001000800000000026537087768617473617070036e65740000010001\
        c00c00010001000001eb0004a92ddbebc00c00010001000001eb0004a92f288e\
        c00c00010001000001eb0004a92df879c00c00010001000001eb00046ca8b0ea\
        c00c00010001000001eb0004a92df8bdc00c00010001000001eb0004a92df8b4\
        c00c00010001000001eb0004a935514fc00c00010001000001eb0004a92ddbe8";

    /// A constructed AAAA response: one question, one answer, one OPT record.
    const AAAA_RESPONSE: &[u8] = &[
        0x2f, 0x3b, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, // header
        0x03, b'w', b'w', b'w', 0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o',
        b'm', 0x00, 0x00, 0x1c, 0x00, 0x01, // question
        0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x10, 0x26, 0x06, 0x28,
        0x00, 0x02, 0x20, 0x00, 0x01, 0x02, 0x48, 0x18, 0x93, 0x25, 0xc8, 0x19,
        0x46, // answer
        0x00, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // OPT
    ];

    #[test]
    fn corpus_answer_names_are_decompressed() {
        let m = parse(&hex(WHATSAPP_A)).unwrap();
        assert_eq!(m.questions[0].name, "e7.whatsapp.net");
        assert_eq!(type_name(m.questions[0].qtype), "A");
        let a: Vec<_> = m.answers().collect();
        assert_eq!(a.len(), 8);
        assert!(
            a.iter()
                .all(|r| r.name == "e7.whatsapp.net" && r.ttl == 491)
        );
        assert_eq!(a[0].data, RData::A(Ipv4Addr::new(169, 45, 219, 235)));
        assert_eq!(a[7].data, RData::A(Ipv4Addr::new(169, 45, 219, 232)));
    }

    #[test]
    fn parses_question_answer_and_opt() {
        let m = parse(AAAA_RESPONSE).unwrap();
        assert!(m.header.is_response());
        assert_eq!(m.questions[0].name, "www.example.com");
        assert_eq!(type_name(m.questions[0].qtype), "AAAA");
        let a: Vec<_> = m.answers().collect();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].name, "www.example.com");
        assert_eq!(
            a[0].data,
            RData::Aaaa("2606:2800:220:1:248:1893:25c8:1946".parse().unwrap())
        );
        assert!(matches!(
            m.records[1].1.data,
            RData::Opt { udp_size: 4096, .. }
        ));
    }

    #[test]
    fn truncation_at_every_byte_is_an_error_not_a_panic() {
        for msg in [AAAA_RESPONSE.to_vec(), hex(WHATSAPP_A)] {
            for cut in 0..msg.len() {
                assert!(parse(&msg[..cut]).is_err(), "cut {cut}");
            }
        }
    }

    #[test]
    fn compression_loops_and_forward_pointers_are_rejected() {
        // A name that is a pointer to itself.
        let mut m = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend([0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(
            parse(&m).unwrap_err().what,
            "compression pointer does not point backward"
        );
        // Two pointers pointing at each other: the first one points forward.
        let mut m = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend([0xc0, 14, 0xc0, 12, 0, 1, 0, 1]);
        assert!(parse(&m).is_err());
    }

    #[test]
    fn long_pointer_chains_and_names_are_bounded() {
        // 40 names, each a label and a pointer to the previous one.
        let mut m = vec![0u8; 12];
        m.extend([1, b'a', 0]);
        let mut prev = 12u16;
        for _ in 0..40 {
            let here = m.len() as u16;
            m.extend([0x01, b'b', 0xc0 | (prev >> 8) as u8, prev as u8]);
            prev = here;
        }
        let err = read_name(&m, usize::from(prev)).unwrap_err();
        assert_eq!(err.what, "too many compression pointers");
        // 130 one-byte labels: longer than 255 bytes on the wire.
        let mut m = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for _ in 0..130 {
            m.extend([1, b'x']);
        }
        m.extend([0, 0, 1, 0, 1]);
        assert_eq!(parse(&m).unwrap_err().what, "name longer than 255 bytes");
    }

    #[test]
    fn https_record_with_ech_alpn_and_hints() {
        // crypto.cloudflare.com HTTPS: priority 1, target ".", alpn h3,h2,
        // ipv4hint, ech (shortened), ipv6hint.
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend(b"\x06crypto\x0acloudflare\x03com\x00\x00\x41\x00\x01");
        let mut rdata = vec![0, 1, 0];
        rdata.extend([0, 1, 0, 6, 2, b'h', b'3', 2, b'h', b'2']);
        rdata.extend([0, 4, 0, 4, 162, 159, 137, 85]);
        rdata.extend([0, 5, 0, 5, 0, 3, 0xfe, 0x0d, 0]);
        rdata.extend([0, 6, 0, 16]);
        rdata.extend(
            "2606:4700:7::a29f:8955"
                .parse::<Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        m.extend([0xc0, 12, 0, 65, 0, 1, 0, 0, 1, 0x2c, 0, rdata.len() as u8]);
        m.extend(&rdata);
        let msg = parse(&m).unwrap();
        let RData::Svcb {
            priority,
            target,
            params,
        } = &msg.records[0].1.data
        else {
            panic!("not svcb: {:?}", msg.records[0]);
        };
        assert_eq!((*priority, target.as_str()), (1, "."));
        assert_eq!(params[0], SvcParam::Alpn(vec!["h3".into(), "h2".into()]));
        assert_eq!(
            params[1],
            SvcParam::Ipv4Hint(vec![Ipv4Addr::new(162, 159, 137, 85)])
        );
        assert!(matches!(params[2], SvcParam::Ech(ref e) if e.len() == 5));
        assert!(matches!(params[3], SvcParam::Ipv6Hint(ref v) if v.len() == 1));
    }

    #[test]
    fn mx_srv_soa_txt_ptr_and_cname() {
        let mut m = vec![0, 7, 0x85, 0x80, 0, 0, 0, 6, 0, 0, 0, 0];
        // Owner "ex.org" at 12.
        let rr = |m: &mut Vec<u8>, t: u16, rdata: &[u8]| {
            m.extend([0xc0, 12]);
            m.extend(t.to_be_bytes());
            m.extend([0, 1, 0, 0, 0, 60]);
            m.extend((rdata.len() as u16).to_be_bytes());
            m.extend(rdata);
        };
        // The first record carries the owner name in full.
        m.extend(b"\x02ex\x03org\x00");
        m.extend(rtype::MX.to_be_bytes());
        m.extend([0, 1, 0, 0, 0, 60, 0, 7, 0, 10, 2, b'm', b'x', 0xc0, 12]);
        rr(
            &mut m,
            rtype::SRV,
            &[0, 1, 0, 2, 0x14, 0x66, 3, b'x', b'm', b'p', 0xc0, 12],
        );
        rr(
            &mut m,
            rtype::SOA,
            &[
                2, b'n', b's', 0xc0, 12, 1, b'h', 0xc0, 12, 0, 0, 0, 9, 0, 0, 0, 1,
            ],
        );
        rr(&mut m, rtype::TXT, b"\x05hello\x00\x03a=b");
        rr(&mut m, rtype::PTR, &[3, b'p', b't', b'r', 0xc0, 12]);
        rr(&mut m, rtype::CNAME, &[0xc0, 12]);
        let msg = parse(&m).unwrap();
        let d: Vec<&RData> = msg.answers().map(|r| &r.data).collect();
        assert_eq!(
            d[0],
            &RData::Mx {
                preference: 10,
                exchange: "mx.ex.org".into()
            }
        );
        assert_eq!(
            d[1],
            &RData::Srv {
                priority: 1,
                weight: 2,
                port: 5222,
                target: "xmp.ex.org".into()
            }
        );
        assert!(matches!(d[2], RData::Soa { serial: 9, .. }));
        assert_eq!(
            d[3],
            &RData::Txt(vec![b"hello".to_vec(), vec![], b"a=b".to_vec()])
        );
        assert_eq!(d[4], &RData::Name("ptr.ex.org".into()));
        assert_eq!(d[5], &RData::Name("ex.org".into()));
    }

    #[test]
    fn unprintable_label_bytes_are_escaped() {
        let (n, end) = read_name(b"\x03a.\x01\x00", 0).unwrap();
        assert_eq!(n, "a\\.\\001");
        assert_eq!(end, 5);
        assert_eq!(read_name(b"\x00", 0).unwrap().0, ".");
        assert!(read_name(b"\x40abc", 0).is_err());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_messages_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&data);
            for start in 0..data.len().min(40) {
                let _ = read_name(&data, start);
            }
        }

        #[test]
        fn mutated_corpus_messages_never_panic(pos in 0usize..200, byte in any::<u8>()) {
            let mut m = tests::hex(tests::WHATSAPP_A);
            let i = pos % m.len();
            m[i] = byte;
            if let Ok(msg) = parse(&m) {
                prop_assert!(msg.questions.len() + msg.records.len() <= MAX_RECORDS);
            }
        }
    }
}
