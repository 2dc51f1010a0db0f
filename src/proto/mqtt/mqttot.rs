//! MQTToT: the MQTT dialect of Facebook Messenger and Instagram (wire.md §10).
//!
//! Its CONNECT carries protocol name `MQTToT`, level 3, flags `c2`, and after
//! the keep-alive a zlib-compressed Thrift compact struct instead of MQTT
//! strings (field ids from Nerixyz/instagram_mqtt `mqttot.connection.ts`):
//! 1 client identifier, 4 client info (1 user id, 2 user agent, 8 device id,
//! 15 client type, 16 app id, 20/23/25 device and connection secrets),
//! 5 password, 10 app-specific info map. Only identifiers are kept; secrets
//! are reduced to "present".

use super::thrift::{self, Value};
use std::io::Read;

/// What a MQTToT CONNECT reveals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectInfo {
    pub client_id: Option<String>,
    pub user_id: Option<i64>,
    pub user_agent: Option<String>,
    pub device_id: Option<String>,
    pub client_type: Option<String>,
    pub app_id: Option<i64>,
    /// A password, token or device/connection secret was sent (values not kept).
    pub secret: bool,
    /// `app_version`, `platform`, ... from the app-specific info map.
    pub app_info: Vec<(String, String)>,
}

/// Keys of the app-specific info map worth reporting (no tokens).
const APP_INFO: [&str; 4] = ["app_version", "platform", "User-Agent", "Accept-Language"];

/// Inflates a zlib stream into at most `cap` bytes (and at most 1024 times
/// its input). `None` when it is not zlib or is corrupt; a stream cut by the
/// cap yields what fit.
pub fn inflate_zlib(data: &[u8], cap: usize) -> Option<Vec<u8>> {
    if !looks_like_zlib(data) {
        return None;
    }
    let limit = cap.min(data.len().saturating_mul(1024).saturating_add(4096));
    let mut out = Vec::new();
    let r = flate2::read::ZlibDecoder::new(data)
        .take(limit as u64)
        .read_to_end(&mut out);
    match r {
        Ok(_) => Some(out),
        Err(_) if !out.is_empty() => Some(out),
        Err(_) => None,
    }
}

/// A zlib header: deflate method, window ≤ 32K, check bits (RFC 1950 §2.2).
pub fn looks_like_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, _, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

/// Decodes the connect payload (compressed or not).
pub fn decode_connect(payload: &[u8], cap: usize) -> Option<ConnectInfo> {
    let inflated;
    let data = match inflate_zlib(payload, cap) {
        Some(d) => {
            inflated = d;
            &inflated[..]
        }
        None => payload,
    };
    let mut info = ConnectInfo::default();
    let text = |b: &[u8]| -> String {
        String::from_utf8_lossy(b)
            .chars()
            .filter(|c| !c.is_control())
            .take(256)
            .collect()
    };
    thrift::walk_struct(data, |path, v| match (path, v) {
        ([1], Value::Binary(b)) => info.client_id = Some(text(b)),
        ([4, 1], Value::Int(i)) => info.user_id = Some(i),
        ([4, 2], Value::Binary(b)) => info.user_agent = Some(text(b)),
        ([4, 8], Value::Binary(b)) => info.device_id = Some(text(b)),
        ([4, 15], Value::Binary(b)) => info.client_type = Some(text(b)),
        ([4, 16], Value::Int(i)) => info.app_id = Some(i),
        ([4, 20 | 23 | 25], Value::Binary(b)) | ([5], Value::Binary(b)) => {
            info.secret |= !b.is_empty();
        }
        ([10], Value::Pair(k, v)) => {
            let k = text(k);
            if APP_INFO.contains(&k.as_str()) && info.app_info.len() < 8 {
                info.app_info.push((k, text(v)));
            }
        }
        _ => {}
    })
    .ok()?;
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// A connect struct as instagram_mqtt writes it: client id, client info
    /// (user id, user agent, device id, secret), password, app info.
    fn connect_struct() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"\x18\x0f567310203415052");
        b.push(0x3c); // field 4, struct
        b.extend_from_slice(b"\x16\xf4\xd6\xb8\x85\x8a\x01"); // 1: i64 user id
        b.extend_from_slice(b"\x18\x0dInstagram 1.0"); // 2: user agent
        b.extend_from_slice(b"\x68\x24aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"); // 8: device id (delta 6)
        b.extend_from_slice(b"\xc8\x06secret"); // 20: device secret (delta 12)
        b.push(0x00);
        b.extend_from_slice(b"\x18\x0bauthtok-123"); // 5: password
        b.push(0x5b); // field 10, map
        b.extend_from_slice(b"\x02\x88\x0bapp_version\x0a123.0.0.21\x0afbns_token\x03xyz");
        b.push(0x00);
        b
    }

    #[test]
    fn compressed_connect_reveals_ids_not_secrets() {
        let info = decode_connect(&zlib(&connect_struct()), 1 << 16).unwrap();
        assert_eq!(info.client_id.as_deref(), Some("567310203415052"));
        assert_eq!(info.user_id, Some(18_527_753_658));
        assert_eq!(info.user_agent.as_deref(), Some("Instagram 1.0"));
        assert_eq!(
            info.device_id.as_deref(),
            Some("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
        );
        assert!(info.secret);
        assert_eq!(
            info.app_info,
            vec![("app_version".into(), "123.0.0.21".into())]
        );
        let dump = format!("{info:?}");
        assert!(!dump.contains("authtok") && !dump.contains("xyz") && !dump.contains("secret\""));
    }

    #[test]
    fn zlib_caps_and_corruption() {
        let big = zlib(&vec![b'a'; 100_000]);
        assert_eq!(inflate_zlib(&big, 1000).unwrap().len(), 1000);
        assert_eq!(inflate_zlib(b"\x78\x9c\xff\xff\xff", 1000), None);
        assert_eq!(inflate_zlib(b"plain text", 1000), None);
        assert!(
            looks_like_zlib(b"\x78\x9c\x00")
                && looks_like_zlib(b"\x78\xda\x00")
                && !looks_like_zlib(b"\x78\x00\x00")
        );
        assert_eq!(
            decode_connect(&zlib(b"\x00"), 100),
            Some(ConnectInfo::default())
        );
        assert_eq!(decode_connect(&zlib(b""), 100), None);
    }
}
