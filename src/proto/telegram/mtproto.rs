//! The MTProto packet envelope (core.telegram.org/mtproto/description).
//!
//! Encrypted: `auth_key_id u64 LE | msg_key[16] | AES-256-IGE(data)` — the
//! auth_key_id is the low 64 bits of SHA-1(auth_key) and the same for every
//! connection of one device to one data centre. Unencrypted (the key
//! exchange): `auth_key_id = 0 | msg_id u64 | msg_len u32 | TL body`.
//! A 4-byte packet is a transport error code (a negative i32).

/// One MTProto packet as far as the wire shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    /// Key exchange or other plaintext: the TL constructor names the method.
    Unencrypted {
        msg_id: u64,
        constructor: u32,
        body: &'a [u8],
    },
    /// Encrypted with the auth key shared by the device and the server.
    Encrypted {
        auth_key_id: u64,
        msg_key: [u8; 16],
        data_len: usize,
    },
    /// A transport error (`-404` unknown auth key, `-429` flood, ...).
    TransportError(i32),
}

pub fn parse(p: &[u8]) -> Option<Packet<'_>> {
    if p.len() == 4 {
        let code = i32::from_le_bytes(p.try_into().ok()?);
        return (code < 0).then_some(Packet::TransportError(code));
    }
    let auth_key_id = u64::from_le_bytes(p.get(..8)?.try_into().ok()?);
    if auth_key_id == 0 {
        let msg_id = u64::from_le_bytes(p.get(8..16)?.try_into().ok()?);
        let len = u32::from_le_bytes(p.get(16..20)?.try_into().ok()?) as usize;
        let body = p.get(20..20 + len)?;
        let constructor = u32::from_le_bytes(body.get(..4)?.try_into().ok()?);
        return Some(Packet::Unencrypted {
            msg_id,
            constructor,
            body,
        });
    }
    // MTProto 2.0: the encrypted data is a whole number of AES blocks and
    // holds at least salt, session id, msg_id, seq_no, length (32 bytes).
    let data_len = p.len().checked_sub(24)?;
    if data_len < 32 || !data_len.is_multiple_of(16) {
        return None;
    }
    Some(Packet::Encrypted {
        auth_key_id,
        msg_key: p[8..24].try_into().ok()?,
        data_len,
    })
}

/// Names of the TL constructors that travel unencrypted (the auth key
/// exchange, core.telegram.org/mtproto/auth_key).
pub fn method_name(constructor: u32) -> Option<&'static str> {
    Some(match constructor {
        0x6046_9778 => "req_pq",
        0xbe7e_8ef1 => "req_pq_multi",
        0x0516_2463 => "resPQ",
        0xd712_e4be => "req_DH_params",
        0xd0e8_075c => "server_DH_params_ok",
        0x79cb_045d => "server_DH_params_fail",
        0xf504_5f1f => "set_client_DH_params",
        0x3bcb_f734 => "dh_gen_ok",
        0x46dc_1fb9 => "dh_gen_retry",
        0xa69d_ae02 => "dh_gen_fail",
        0x5fbd_b2e5 => "pq_inner_data_dc",
        _ => return None,
    })
}

/// The auth_key_id as reported: 16 hex digits, as the value appears in
/// little-endian order on the wire.
pub fn key_id_text(id: u64) -> String {
    format!("{:016x}", u64::from_be_bytes(id.to_le_bytes()))
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

    /// core.telegram.org/mtproto/samples-auth_key: the client's req_pq.
    #[test]
    fn req_pq_from_the_documentation() {
        let p = hex("0000000000000000 4a967027c47ae551 14000000 78974660
             3e0549828cca27e966b301a48fece2fc");
        match parse(&p).unwrap() {
            Packet::Unencrypted {
                msg_id,
                constructor,
                body,
            } => {
                assert_eq!(msg_id, 0x51e5_7ac4_2770_964a);
                assert_eq!(method_name(constructor), Some("req_pq"));
                assert_eq!(body.len(), 20);
            }
            other => panic!("{other:?}"),
        }
    }

    /// nDPI `telegram_videocall.pcapng`: the first de-obfuscated packet of a
    /// connection to 149.154.167.91 starts with this auth_key_id.
    #[test]
    fn encrypted_packet_and_key_id() {
        let mut p = hex("1f754869dd3d5eff");
        p.extend([0x11; 16]);
        p.extend([0x22; 192]);
        match parse(&p).unwrap() {
            Packet::Encrypted {
                auth_key_id,
                data_len,
                ..
            } => {
                assert_eq!(key_id_text(auth_key_id), "1f754869dd3d5eff");
                assert_eq!(data_len, 192);
            }
            other => panic!("{other:?}"),
        }
        // Encrypted data must be whole AES blocks.
        p.push(0);
        assert_eq!(parse(&p), None);
    }

    #[test]
    fn transport_errors_and_short_packets() {
        assert_eq!(
            parse(&(-404i32).to_le_bytes()),
            Some(Packet::TransportError(-404))
        );
        assert_eq!(parse(&[1, 0, 0, 0]), None);
        assert_eq!(parse(&[0; 12]), None);
        // Unencrypted length past the end.
        assert_eq!(
            parse(&hex("0000000000000000 0000000000000000 ff000000 78974660")),
            None
        );
    }
}
