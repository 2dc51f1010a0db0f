//! The built-in app profiles attribute every messenger family of the corpus
//! (names, addresses and wire signatures taken from the captures' truth
//! files), and do not claim unrelated services.

use plainsight::rules::apps::AppIndex;
use std::net::IpAddr;

fn index() -> AppIndex {
    let rules = plainsight::rules::builtin();
    AppIndex::new(&rules.apps)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn every_profile_has_a_name_vendor_and_claim() {
    let rules = plainsight::rules::builtin();
    for id in [
        "whatsapp",
        "signal",
        "telegram",
        "messenger",
        "threema",
        "viber",
        "line",
        "wechat",
        "discord",
        "teams",
        "skype",
        "kakaotalk",
    ] {
        let a = rules
            .app(id)
            .unwrap_or_else(|| panic!("profile {id} is missing"));
        assert!(
            !a.name.is_empty() && a.vendor.is_some() && a.claim.is_some(),
            "{id}"
        );
        assert!(
            a.source.ends_with(&format!("apps/{id}.toml")),
            "{id}: {}",
            a.source
        );
    }
}

#[test]
fn server_names_from_the_captures() {
    let ix = index();
    for (name, app) in [
        ("mmg-fna.whatsapp.net", "whatsapp"),
        ("textsecure-service.whispersystems.org", "signal"),
        ("cdn.signal.org", "signal"),
        ("chat.signal.org", "signal"),
        ("edge-mqtt.facebook.com", "messenger"),
        ("media.cdn.viber.com", "viber"),
        ("dl-media.viber.com", "viber"),
        ("uts-front.line-apps.com", "line"),
        ("web.wechat.com", "wechat"),
        ("res.wx.qq.com", "wechat"),
        ("discord.com", "discord"),
        ("teams.microsoft.com", "teams"),
        ("eu-prod.asyncgw.teams.microsoft.com", "teams"),
        ("eu-api.asm.skype.com", "teams"),
        ("login.skype.com", "skype"),
        ("auth.kakao.com", "kakaotalk"),
        ("web.telegram.org", "telegram"),
    ] {
        assert_eq!(ix.by_name(name), Some(app), "{name}");
    }
    // DNS answers seen in the captures.
    for (name, app) in [
        ("e12.whatsapp.net", "whatsapp"),
        ("booking.loco.kakao.com", "kakaotalk"),
        ("webpush.web.wechat.com", "wechat"),
        ("chatsvcagg.svcs.teams.office.com", "teams"),
    ] {
        assert_eq!(ix.by_dns(name), Some(app), "{name}");
    }
    // Shared infrastructure is not claimed for a messenger.
    for name in [
        "graph.facebook.com",
        "scontent.xx.fbcdn.net",
        "www.google.com",
        "login.microsoftonline.com",
        "itunes.apple.com",
    ] {
        assert_eq!(ix.by_name(name), None, "{name}");
    }
}

/// Flows whose captures show only addresses.
#[test]
fn addresses_from_the_captures() {
    let ix = index();
    for (addr, app) in [
        ("185.88.236.110", "threema"),  // threema.pcap, TCP 5222
        ("149.154.167.91", "telegram"), // telegram_videocall.pcapng, MTProto
        ("91.108.8.7", "telegram"),     // telegram.pcap, VoIP reflector
        ("91.108.17.2", "telegram"),    // telegram_videocall.pcapng, TURN
        ("2001:67c:4e8:f004::9", "telegram"),
        ("147.92.169.90", "line"), // line.pcap, call media
        ("125.209.252.210", "line"),
        ("66.22.196.173", "discord"), // discord.pcap, voice
        ("66.22.244.154", "discord"),
        ("52.114.250.152", "teams"), // teams.pcap, media relay
    ] {
        assert_eq!(ix.by_ip(ip(addr)), Some(app), "{addr}");
    }
    for addr in ["179.60.195.49", "8.8.8.8", "52.0.253.101", "192.168.1.1"] {
        assert_eq!(ix.by_ip(ip(addr)), None, "{addr}");
    }
}

/// Every signature a dissector emits belongs to exactly one profile.
#[test]
fn wire_signatures() {
    let ix = index();
    for (sig, app) in [
        ("whatsapp-noise", "whatsapp"),
        ("whatsapp-legacy", "whatsapp"),
        ("whatsapp-stun", "whatsapp"),
        ("signal-websocket", "signal"),
        ("stun-realm:signal.org", "signal"),
        ("mtproto", "telegram"),
        ("mtproto-obfuscated2", "telegram"),
        ("tgvoip-reflector", "telegram"),
        ("stun-realm:telegram.org", "telegram"),
        ("mqttot", "messenger"),
        ("stun-realm:turner.facebook", "messenger"),
        ("threema-chat", "threema"),
        ("viber-udp", "viber"),
        ("viber-tcp", "viber"),
        ("kakao-loco", "kakaotalk"),
        ("discord-ip-discovery", "discord"),
        ("ms-turn", "teams"),
        ("ms-ice-version:7", "teams"),
        ("ms-ice-version:3", "skype"),
        ("stun-realm:turn.l.google.com", "google-meet"),
    ] {
        assert_eq!(ix.by_signature(sig), Some(app), "{sig}");
    }
    let rules = plainsight::rules::builtin();
    let mut all: Vec<&str> = rules
        .apps
        .iter()
        .flat_map(|a| a.signatures.iter().map(String::as_str))
        .collect();
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "a signature is declared by two profiles");
}
