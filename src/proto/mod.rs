//! Protocol dissectors: one folder per protocol, each a pure parser over
//! bytes with byte-literal unit tests beside it.

pub mod dns;
pub mod dtls;
pub mod http;
pub mod http2;
pub mod http3;
pub mod irc;
pub mod mail;
pub mod messengers;
pub mod mqtt;
pub mod quic;
pub mod rtc;
pub mod signal;
pub mod telegram;
pub mod tls;
pub mod websocket;
pub mod whatsapp;
pub mod xmpp;

pub mod dissector;
pub mod registry;
