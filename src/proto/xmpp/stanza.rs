//! Reading one XMPP stanza: what it says and what it reveals.
//!
//! The stanza bytes come from the [cutter](super::cutter). Only the parts an
//! observer cares about are extracted: message bodies and end-to-end
//! encryption markers, SASL and legacy authentication, STARTTLS negotiation,
//! addresses (JIDs) and client identification. Text and attribute values are
//! unescaped; sizes are bounded by the cutter's stanza cap.

use quick_xml::Reader;
use quick_xml::escape::{resolve_predefined_entity, unescape};
use quick_xml::events::{BytesStart, Event};

/// Namespaces that mark an end-to-end encrypted message, and their scheme.
const E2E: [(&str, &str, &str); 5] = [
    ("encrypted", "eu.siacs.conversations.axolotl", "omemo"),
    ("encrypted", "urn:xmpp:omemo:2", "omemo"),
    ("encrypted", "urn:xmpp:omemo:1", "omemo"),
    ("x", "jabber:x:encrypted", "openpgp"),
    ("openpgp", "urn:xmpp:openpgp:0", "openpgp"),
];

pub const NS_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
pub const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// XMPP over WebSocket (RFC 7395): `<open/>` and `<close/>` replace the stream element.
pub const NS_FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";

/// Legacy `jabber:iq:auth` (XEP-0078) login.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IqAuth {
    pub username: Option<String>,
    /// A plaintext `<password>` was sent.
    pub password: bool,
    /// A `<digest>` was sent.
    pub digest: bool,
}

/// What one stanza says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stanza {
    /// Local name of the top element (`message`, `iq`, `auth`, `features`, ...).
    pub name: String,
    /// Its default namespace, if declared on it.
    pub ns: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub kind: Option<String>,
    /// SASL `mechanism` attribute of `<auth>`.
    pub mechanism: Option<String>,
    /// Character data directly inside the top element (SASL payloads).
    pub text: String,
    /// `<body>` texts of messages (including forwarded and carbon-copied ones).
    pub bodies: Vec<String>,
    pub subject: Option<String>,
    /// An end-to-end encryption payload element was present.
    pub e2e: Option<&'static str>,
    /// Features: SASL mechanisms offered.
    pub mechanisms: Vec<String>,
    /// Features: `<starttls>` offered (and whether `<required/>`).
    pub starttls: Option<bool>,
    /// JIDs in payloads (`<jid>` of a bind result, roster items).
    pub jids: Vec<String>,
    /// Entity capabilities `node` (XEP-0115): names the client software.
    pub caps_node: Option<String>,
    /// Software version (XEP-0092) `name version (os)`.
    pub version: Option<String>,
    pub iq_auth: Option<IqAuth>,
}

/// Most elements of one stanza looked at.
const MAX_ELEMENTS: usize = 4096;
/// Most items kept in each list.
const MAX_ITEMS: usize = 32;

/// Reads one stanza. Never fails: malformed parts are skipped.
pub fn read(bytes: &[u8]) -> Stanza {
    let mut st = Stanza::default();
    let mut r = Reader::from_reader(bytes);
    {
        let c = r.config_mut();
        c.check_end_names = false;
        c.allow_unmatched_ends = true;
        c.allow_dangling_amp = true;
    }
    // Local names of the open elements, root first.
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut version = (String::new(), String::new(), String::new());
    let mut iq_auth: Option<IqAuth> = None;
    let mut elements = 0;
    loop {
        let ev = match r.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(ev) => ev,
        };
        match ev {
            // Enough read: the rest of a giant stanza adds nothing.
            Event::Start(_) | Event::Empty(_) if elements >= MAX_ELEMENTS => break,
            Event::Start(e) => {
                elements += 1;
                let name = open(&mut st, &path, &e, &mut iq_auth);
                path.push(name);
                text.clear();
            }
            Event::Empty(e) => {
                elements += 1;
                open(&mut st, &path, &e, &mut iq_auth);
                if path.is_empty() {
                    break;
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or("");
                let t = std::mem::take(&mut text);
                match (parent, name.as_str()) {
                    ("message", "body") if st.bodies.len() < MAX_ITEMS => st.bodies.push(t),
                    ("message", "subject") if !t.trim().is_empty() => st.subject = Some(t),
                    ("bind", "jid") if st.jids.len() < MAX_ITEMS => st.jids.push(t),
                    ("mechanisms", "mechanism") if st.mechanisms.len() < MAX_ITEMS => {
                        st.mechanisms.push(t)
                    }
                    ("query", "name") => version.0 = t,
                    ("query", "version") => version.1 = t,
                    ("query", "os") => version.2 = t,
                    ("query", "username") => {
                        if let Some(a) = &mut iq_auth {
                            a.username = Some(t);
                        }
                    }
                    ("query", "password") => {
                        if let Some(a) = &mut iq_auth {
                            a.password |= !t.is_empty();
                        }
                    }
                    ("query", "digest") => {
                        if let Some(a) = &mut iq_auth {
                            a.digest |= !t.is_empty();
                        }
                    }
                    _ => {}
                }
                if path.is_empty() {
                    break;
                }
            }
            Event::Text(t) => {
                push_capped(&mut text, &t.xml10_content(), path.len() == 1, &mut st.text)
            }
            Event::CData(t) => {
                push_capped(&mut text, &t.xml10_content(), path.len() == 1, &mut st.text);
            }
            Event::GeneralRef(g) => {
                let c = match g.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => resolve_predefined_entity(&g)
                        .map(str::to_string)
                        .unwrap_or_default(),
                };
                push_capped(&mut text, &c, path.len() == 1, &mut st.text);
            }
            _ => {}
        }
    }
    if st.version.is_some() && !version.0.is_empty() {
        let mut v = format!("{} {}", version.0, version.1);
        if !version.2.is_empty() {
            v.push_str(&format!(" ({})", version.2));
        }
        st.version = Some(v.trim().to_string());
    } else {
        st.version = None;
    }
    st.iq_auth = iq_auth;
    st
}

/// Text of the innermost element, and of the root when directly inside it.
fn push_capped(text: &mut String, s: &str, at_root: bool, root: &mut String) {
    const MAX: usize = 256 * 1024;
    if text.len() + s.len() <= MAX {
        text.push_str(s);
    }
    if at_root && root.len() + s.len() <= MAX {
        root.push_str(s);
    }
}

/// Looks at one opening tag; returns its local name.
fn open(
    st: &mut Stanza,
    path: &[String],
    e: &BytesStart<'_>,
    iq_auth: &mut Option<IqAuth>,
) -> String {
    let name = local(e);
    let ns = attr(e, "xmlns");
    if path.is_empty() {
        st.name = name.clone();
        st.ns = ns.clone();
        st.from = attr(e, "from");
        st.to = attr(e, "to");
        st.kind = attr(e, "type");
        st.mechanism = attr(e, "mechanism");
    }
    if let Some(ns) = &ns
        && let Some((_, _, scheme)) = E2E.iter().find(|(n, s, _)| *n == name && s == ns)
    {
        st.e2e.get_or_insert(scheme);
    }
    let parent = path.last().map(String::as_str).unwrap_or("");
    match (name.as_str(), ns.as_deref()) {
        ("starttls", Some(NS_TLS)) if st.name == "features" => {
            st.starttls.get_or_insert(false);
        }
        ("required", _) if parent == "starttls" => st.starttls = Some(true),
        ("c", Some("http://jabber.org/protocol/caps")) => st.caps_node = attr(e, "node"),
        ("query", Some("jabber:iq:auth")) => *iq_auth = Some(IqAuth::default()),
        ("query", Some("jabber:iq:version")) => st.version = Some(String::new()),
        ("item", _) if parent == "query" && st.jids.len() < MAX_ITEMS => {
            if let Some(j) = attr(e, "jid") {
                st.jids.push(j);
            }
        }
        _ => {}
    }
    name
}

fn local(e: &BytesStart<'_>) -> String {
    e.local_name().as_ref().to_string()
}

/// An attribute value, unescaped.
pub fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    for a in e.attributes().with_checks(false).flatten() {
        if a.key.as_ref() == key {
            let raw: &str = &a.value;
            return Some(unescape(raw).map_or_else(|_| raw.to_string(), |v| v.into_owned()));
        }
    }
    None
}

/// The attributes of a `<stream:stream>` start tag.
pub fn stream_attrs(tag: &[u8]) -> (Option<String>, Option<String>) {
    let mut r = Reader::from_reader(tag);
    r.config_mut().check_end_names = false;
    match r.read_event() {
        Ok(Event::Start(e)) | Ok(Event::Empty(e)) => (attr(&e, "from"), attr(&e, "to")),
        _ => (None, None),
    }
}
