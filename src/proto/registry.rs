//! Probe and dispatch: which dissector gets a stream.
//!
//! Every dissector registers a [`Probe`]: a cheap signature check over the
//! first bytes of each direction and a constructor. Signatures decide first;
//! port hints only break ties when no signature matched.

use crate::model::Transport;
use crate::proto::dissector::{Confidence, Dissector, Env};

/// The first bytes of a stream, as buffered while probing.
pub struct ProbeInput<'a> {
    pub transport: Transport,
    /// Bytes sent by the client so far (up to the probe buffer size).
    pub to_server: &'a [u8],
    /// Bytes sent by the server so far.
    pub to_client: &'a [u8],
    /// Datagrams so far (UDP-like streams), in arrival order.
    pub datagrams: &'a [(crate::model::Direction, Vec<u8>)],
    pub client_port: u16,
    pub server_port: u16,
    /// Layer depth of the stream (0 = directly on TCP/UDP).
    pub depth: usize,
    /// Protocol announced by the outer layer (ALPN, STARTTLS, Upgrade).
    pub hint: Option<&'static str>,
}

impl ProbeInput<'_> {
    /// True when either port is one of `ports`.
    pub fn port_in(&self, ports: &[u16]) -> bool {
        ports.contains(&self.server_port) || ports.contains(&self.client_port)
    }

    /// The first datagram or the first bytes from whichever side spoke first.
    pub fn first(&self) -> &[u8] {
        if let Some((_, d)) = self.datagrams.first() {
            return d;
        }
        if !self.to_server.is_empty() {
            self.to_server
        } else {
            self.to_client
        }
    }
}

/// What a constructor may know about the flow.
#[derive(Debug, Clone, Copy)]
pub struct FlowHint {
    pub transport: Transport,
    pub client_port: u16,
    pub server_port: u16,
    pub depth: usize,
}

pub type MakeFn = fn(&FlowHint, &Env) -> Box<dyn Dissector>;

/// A registered protocol.
pub struct Probe {
    pub name: &'static str,
    pub probe: fn(&ProbeInput<'_>) -> Confidence,
    pub make: MakeFn,
}

/// The decision for a stream.
pub enum Choice {
    Dissector(MakeFn),
    Unknown,
}

/// All registered probes, in priority order for equal confidence.
pub fn probes() -> &'static [Probe] {
    PROBES
}

static PROBES: &[Probe] = &[
    Probe {
        name: "http",
        probe: crate::proto::http::probe,
        make: crate::proto::http::make,
    },
    Probe {
        name: "dns",
        probe: crate::proto::dns::probe,
        make: crate::proto::dns::make,
    },
    Probe {
        name: "http2",
        probe: crate::proto::http2::probe,
        make: crate::proto::http2::make,
    },
    Probe {
        name: "quic",
        probe: crate::proto::quic::probe,
        make: crate::proto::quic::make,
    },
    Probe {
        name: "stun",
        probe: crate::proto::rtc::probe_stun,
        make: crate::proto::rtc::make,
    },
    Probe {
        name: "rtp",
        probe: crate::proto::rtc::probe_rtp,
        make: crate::proto::rtc::make,
    },
    Probe {
        name: "whatsapp",
        probe: crate::proto::whatsapp::probe,
        make: crate::proto::whatsapp::make,
    },
    Probe {
        name: "mtproto",
        probe: crate::proto::telegram::probe,
        make: crate::proto::telegram::make,
    },
    Probe {
        name: "tgvoip",
        probe: crate::proto::telegram::probe_voip,
        make: crate::proto::telegram::make_voip,
    },
    Probe {
        name: "kakao-loco",
        probe: crate::proto::messengers::kakao::probe,
        make: crate::proto::messengers::kakao::make,
    },
    Probe {
        name: "threema",
        probe: crate::proto::messengers::threema::probe,
        make: crate::proto::messengers::threema::make,
    },
    Probe {
        name: "viber",
        probe: crate::proto::messengers::viber::probe,
        make: crate::proto::messengers::viber::make,
    },
    Probe {
        name: "signal",
        probe: crate::proto::signal::probe,
        make: crate::proto::signal::make,
    },
    Probe {
        name: "sdp",
        probe: crate::proto::rtc::probe_sdp,
        make: crate::proto::rtc::make_sdp,
    },
    Probe {
        name: "tls",
        probe: crate::proto::tls::probe,
        make: crate::proto::tls::make,
    },
    Probe {
        name: "dtls",
        probe: crate::proto::dtls::probe,
        make: crate::proto::dtls::make,
    },
    Probe {
        name: "mqtt",
        probe: crate::proto::mqtt::probe,
        make: crate::proto::mqtt::make,
    },
    Probe {
        name: "xmpp",
        probe: crate::proto::xmpp::probe,
        make: crate::proto::xmpp::make,
    },
    Probe {
        name: "irc",
        probe: crate::proto::irc::probe,
        make: crate::proto::irc::make,
    },
    Probe {
        name: "smtp",
        probe: crate::proto::mail::smtp::probe,
        make: crate::proto::mail::smtp::make,
    },
    Probe {
        name: "imap",
        probe: crate::proto::mail::imap::probe,
        make: crate::proto::mail::imap::make,
    },
    Probe {
        name: "pop3",
        probe: crate::proto::mail::pop3::probe,
        make: crate::proto::mail::pop3::make,
    },
];

/// Picks a dissector for a stream. Returns `None` while more bytes could change
/// the decision and `force` is false.
pub fn choose(input: &ProbeInput<'_>, force: bool) -> Option<Choice> {
    choose_from(PROBES, input, force)
}

fn choose_from(probes: &[Probe], input: &ProbeInput<'_>, force: bool) -> Option<Choice> {
    let mut best: Option<(Confidence, &Probe)> = None;
    let mut need_more = false;
    for p in probes {
        let mut c = (p.probe)(input);
        if input.hint == Some(p.name) && c != Confidence::No {
            c = c.max(Confidence::Likely);
        }
        if c == Confidence::NeedMore {
            need_more = true;
            continue;
        }
        if c > best.map_or(Confidence::No, |b| b.0) {
            best = Some((c, p));
        }
    }
    match best {
        Some((c, p)) if c >= Confidence::Likely => Some(Choice::Dissector(p.make)),
        _ if need_more && !force => None,
        Some((Confidence::Port, p)) => Some(Choice::Dissector(p.make)),
        _ => {
            if !force
                && input.to_server.is_empty()
                && input.to_client.is_empty()
                && input.datagrams.is_empty()
            {
                None
            } else {
                Some(Choice::Unknown)
            }
        }
    }
}
