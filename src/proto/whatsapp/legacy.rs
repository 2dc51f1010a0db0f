//! The pre-Noise WhatsApp protocol (2015 and before, prologue `WA 1.x`):
//! FunXMPP binary XML in frames whose header flag `8` marks encryption.
//! The stream start and the auth request crossed unencrypted and carry, as
//! binary strings (`fc len bytes`, `fd len20 bytes`), the client platform and
//! version (`iPhone-2.12.2-5222`) and the account's phone number.

/// Binary strings of an unencrypted frame (at most 64, each at most 1 KiB).
pub fn strings(frame: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < frame.len() && out.len() < 64 {
        let (hdr, len) = match frame[i] {
            0xfc => match frame.get(i + 1) {
                Some(&l) => (2, usize::from(l)),
                None => break,
            },
            0xfd => match frame.get(i + 1..i + 4) {
                Some(l) => (4, u32::from_be_bytes([0, l[0] & 0x0f, l[1], l[2]]) as usize),
                None => break,
            },
            _ => {
                i += 1;
                continue;
            }
        };
        match frame.get(i + hdr..i + hdr + len) {
            Some(s) if len <= 1024 => {
                out.push(s);
                i += hdr + len;
            }
            _ => i += 1,
        }
    }
    out
}

/// A client platform-version string such as `iPhone-2.12.2-5222` or
/// `Android-2.12.84`: letters, a dash, a dotted version.
pub fn client_version(s: &[u8]) -> Option<&str> {
    let t = std::str::from_utf8(s).ok()?;
    let (platform, rest) = t.split_once('-')?;
    let version = rest.split('-').next()?;
    let ok = !platform.is_empty()
        && platform.len() <= 24
        && platform.bytes().all(|b| b.is_ascii_alphanumeric())
        && platform.bytes().next()?.is_ascii_alphabetic()
        && version.split('.').count() >= 2
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then_some(t)
}

/// A phone number in international form without `+` (8 to 15 digits).
pub fn phone_number(s: &[u8]) -> Option<&str> {
    let ok = (8..=15).contains(&s.len()) && s.iter().all(u8::is_ascii_digit);
    ok.then(|| std::str::from_utf8(s).ok()).flatten()
}

/// The number as reported: country code and last two digits kept, the rest
/// masked, so reports identify the account without spreading the number.
pub fn mask_phone(n: &str) -> String {
    let keep_head = 3.min(n.len());
    let keep_tail = 2.min(n.len() - keep_head);
    let mut out = String::with_capacity(n.len());
    out.push_str(&n[..keep_head]);
    out.extend(std::iter::repeat_n('*', n.len() - keep_head - keep_tail));
    out.push_str(&n[n.len() - keep_tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// nDPI `whatsapp_login_chat.pcap` frame 8: the stream start frame and
    /// the start of the auth frame.
    #[test]
    fn stream_start_and_auth_strings() {
        let start = hex("f80501a59189fc126950686f6e652d322e31322e322d35323232");
        let s = strings(&start);
        assert_eq!(s, vec![&b"iPhone-2.12.2-5222"[..]]);
        assert_eq!(client_version(s[0]), Some("iPhone-2.12.2-5222"));
        let auth = hex("f8060c56bfb5fc0c333933343733343631373638fc02ab");
        let s = strings(&auth);
        assert_eq!(phone_number(s[0]), Some("393473461768"));
        assert_eq!(mask_phone("393473461768"), "393*******68");
        assert_eq!(phone_number(b"privacy"), None);
    }

    /// nDPI `whatsapp_voice_and_message.pcap`: an Android client.
    #[test]
    fn android_version() {
        let s = hex("f80501a59189fc0f416e64726f69642d322e31322e3834");
        assert_eq!(client_version(strings(&s)[0]), Some("Android-2.12.84"));
        assert_eq!(client_version(b"privacy"), None);
        assert_eq!(client_version(b"a-b"), None);
        assert_eq!(client_version(b"-2.1"), None);
    }

    #[test]
    fn truncated_strings_are_skipped() {
        assert!(strings(&hex("fc10616263")).is_empty());
        assert!(strings(&hex("fd")).is_empty());
        assert_eq!(strings(&hex("fd000003616263")), vec![&b"abc"[..]]);
    }
}
