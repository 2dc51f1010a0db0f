//! `is_human_text` on a corpus: real-looking messages in many scripts
//! (recall) and thousands of machine values (precision, the number that
//! matters: a finding on random binary or a token is a bug).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use plainsight::evidence::content::{is_human_text, is_message_text};
use std::io::Write;

const MESSAGES: &[&str] = &[
    // Latin script, many languages.
    "see you tomorrow at the station",
    "Can you send me the slides before the meeting?",
    "lol that's hilarious 😂",
    "Running late, be there in 10 min",
    "Hey! Are we still on for dinner tonight?",
    "The door code is 4711, don't share it",
    "Meeting moved to 3:30 in room B",
    "ok sounds good",
    "hello",
    "Thanks!",
    "Happy birthday!!! 🎉🎂",
    "Ich bin gleich da, warte bitte kurz.",
    "Bonjour, est-ce que tu as reçu mon message ?",
    "¿Dónde nos vemos mañana por la tarde?",
    "Obrigado pela ajuda, até logo!",
    "Ci vediamo alle otto davanti al cinema.",
    "Ik kom morgen iets later naar kantoor.",
    "Dziękuję bardzo, do zobaczenia w piątek.",
    "Yarın sabah erken çıkmam gerekiyor.",
    "Anh đang ở đâu vậy? Em chờ mãi.",
    "Aku sudah sampai di rumah, terima kasih.",
    "Vi ses på fredag, ha en bra helg!",
    "Děkuji za zprávu, ozvu se zítra.",
    "Köszönöm szépen, holnap találkozunk.",
    "Kiitos paljon, nähdään huomenna!",
    "Grüße aus Köln und bis bald",
    // Cyrillic, Greek.
    "Привет, как дела?",
    "Я буду дома через полчаса.",
    "Спасибо, увидимся завтра!",
    "Дякую, до зустрічі!",
    "Добрый вечер",
    "Καλημέρα, τι κάνεις;",
    "Θα σε δω αύριο στο γραφείο.",
    // Arabic, Hebrew, Devanagari.
    "مرحبا، كيف حالك؟",
    "سأكون هناك بعد عشر دقائق",
    "שלום, מה שלומך?",
    "נתראה מחר בערב",
    "नमस्ते, आप कैसे हैं?",
    "मैं कल सुबह आऊंगा",
    // CJK, Hangul, Thai.
    "你好，明天见",
    "我们晚上七点在餐厅见面吧。",
    "謝謝你的幫忙",
    "こんにちは、元気ですか？",
    "明日の会議は十時からです。",
    "안녕하세요, 내일 만나요!",
    "지금 가는 중이에요",
    "สวัสดีครับ พรุ่งนี้เจอกัน",
    "ขอบคุณมากนะคะ",
    // Emoji and mixtures.
    "👍",
    "😂😂😂",
    "❤️",
    "👋 hi there",
    "Tokyo で会いましょう",
    "Встреча в 15:00 в офисе Google",
    "check this out https://example.com/x it's great",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 32) as u8).collect()
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn hex(&mut self, n: usize, upper: bool) -> String {
        self.bytes(n)
            .iter()
            .map(|b| {
                if upper {
                    format!("{b:02X}")
                } else {
                    format!("{b:02x}")
                }
            })
            .collect()
    }
}

const WORDS: &[&str] = &[
    "user", "session", "token", "api", "v1", "v2", "data", "items", "id", "login", "assets",
    "static", "img", "profile", "messages", "chat", "send", "config", "app", "cache", "media",
];
const HOSTS: &[&str] = &[
    "example.com",
    "api.example.org",
    "cdn.example.net",
    "graph.facebook.com",
    "www.google.com",
    "10.0.0.1:8080",
    "[2001:db8::1]",
];

/// Machine values of every kind the issue names, and then some.
fn negatives() -> Vec<Vec<u8>> {
    let mut r = Rng(0x1234_5678_9abc_def1);
    let mut out: Vec<Vec<u8>> = Vec::new();
    for i in 0..1000 {
        let h = r.hex(16, i % 2 == 0);
        let uuid = format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        );
        out.push(uuid.into_bytes());
    }
    for _ in 0..500 {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"sub":"{}","iat":{},"name":"Alice Example"}}"#,
            r.next() % 100_000,
            1_700_000_000 + r.next() % 1_000_000
        ));
        let sig = URL_SAFE_NO_PAD.encode(r.bytes(32));
        out.push(format!("{header}.{payload}.{sig}").into_bytes());
    }
    for _ in 0..1000 {
        let n = 4 + r.below(200);
        let b = r.bytes(n);
        out.push(STANDARD.encode(&b).into_bytes());
        out.push(URL_SAFE_NO_PAD.encode(&b).into_bytes());
    }
    for i in 0..1000 {
        let n = 4 + r.below(64);
        out.push(r.hex(n, i % 3 == 0).into_bytes());
    }
    for _ in 0..500 {
        let path: Vec<&str> = (0..1 + r.below(4)).map(|_| r.pick(WORDS)).collect();
        let url = format!(
            "{}://{}/{}?{}={}&{}={}",
            ["https", "http", "wss"][r.below(3)],
            r.pick(HOSTS),
            path.join("/"),
            r.pick(WORDS),
            r.next() % 1000,
            r.pick(WORDS),
            r.hex(6, false)
        );
        out.push(url.into_bytes());
        out.push(format!("/{}", path.join("/")).into_bytes());
    }
    for _ in 0..500 {
        let name = r.pick(WORDS);
        let paths = [
            format!("/var/lib/{name}/{}.db", r.pick(WORDS)),
            format!(
                "C:\\Users\\alice\\AppData\\Local\\{name}\\{}.log",
                r.pick(WORDS)
            ),
            format!("src/{name}/{}.rs", r.pick(WORDS)),
            format!("~/Library/Application Support/{name}/store.sqlite"),
            format!("/data/data/com.{name}.android/databases/msgstore.db"),
        ];
        out.extend(paths.into_iter().map(String::into_bytes));
    }
    for _ in 0..500 {
        let docs = [
            format!(
                r#"{{"id":{},"ts":{},"ok":true}}"#,
                r.next() % 1000,
                r.next() % 2_000_000_000
            ),
            format!(r#"[{},{},{}]"#, r.next() % 9, r.next() % 9, r.next() % 9),
            format!(
                r#"{{"text":"see you at {} tomorrow","from":"alice"}}"#,
                r.next() % 12
            ),
            format!(
                r#"{{"user": {{"name": "{}", "age": {}}}}}"#,
                r.pick(WORDS),
                r.below(90)
            ),
        ];
        out.extend(docs.into_iter().map(String::into_bytes));
    }
    for _ in 0..300 {
        let html = [
            format!(
                r#"<div class="{}">Hello there, how are you?</div>"#,
                r.pick(WORDS)
            ),
            "<br/>".to_string(),
            format!("<p>Meet me at {} o'clock</p>", r.below(12)),
            r#"<?xml version="1.0"?><message to="bob@example.com"><body>hi</body></message>"#
                .to_string(),
            format!(r#"<a href="https://{}/">link</a>"#, r.pick(HOSTS)),
        ];
        out.extend(html.into_iter().map(String::into_bytes));
    }
    for _ in 0..2000 {
        let n = 2 + r.below(512);
        out.push(r.bytes(n));
    }
    for _ in 0..500 {
        let text: String = (0..50 + r.below(400))
            .map(|_| {
                let w = r.pick(WORDS);
                format!("{w} ")
            })
            .collect();
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(text.as_bytes()).unwrap();
        out.push(z.finish().unwrap());
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        g.write_all(text.as_bytes()).unwrap();
        out.push(g.finish().unwrap());
    }
    for _ in 0..100 {
        let body = STANDARD.encode(r.bytes(120));
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        out.push(
            format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                lines.join("\n")
            )
            .into_bytes(),
        );
        out.push(b"-----BEGIN PUBLIC KEY-----".to_vec());
    }
    for _ in 0..500 {
        let d = |r: &mut Rng, n: usize| -> String {
            (0..n)
                .map(|_| char::from(b'0' + r.below(10) as u8))
                .collect()
        };
        let phones = [
            format!("+1 ({}) {}-{}", d(&mut r, 3), d(&mut r, 3), d(&mut r, 4)),
            format!("+49 30 {}", d(&mut r, 7)),
            format!("0171 {}", d(&mut r, 7)),
            format!("+44 20 {} {}", d(&mut r, 4), d(&mut r, 4)),
            format!("tel:+33{}", d(&mut r, 9)),
        ];
        out.extend(phones.into_iter().map(String::into_bytes));
    }
    for i in 0..300 {
        let misc = [
            format!("2026-01-{:02}T{:02}:{:02}:00Z", 1 + i % 28, i % 24, i % 60),
            format!("192.168.{}.{}", i % 256, (i * 7) % 256),
            format!("{}.{}.{}", i % 10, i % 7, i % 13),
            format!("{}@example.com", r.pick(WORDS)),
            format!("sk_live_{}", URL_SAFE_NO_PAD.encode(r.bytes(18))),
            format!(
                "ghp_{}",
                STANDARD.encode(r.bytes(27)).replace(['+', '/', '='], "")
            ),
            r.hex(32, false),
            format!("{}", r.next()),
            format!("{}Id", r.pick(WORDS)),
            format!("get{}ById", ["User", "Message", "Chat"][i % 3]),
            format!("{}_{}", r.pick(WORDS), r.pick(WORDS)),
            format!("{}={}&{}={}", r.pick(WORDS), i, r.pick(WORDS), i * 3),
            "Content-Type: application/json; charset=utf-8".to_string(),
            "application/octet-stream".to_string(),
            "GET /api/v1/messages HTTP/1.1".to_string(),
            [
                "true", "false", "null", "online", "enabled", "OK", "ERROR", "id", "ts",
            ][i % 9]
                .to_string(),
            format!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                i % 256,
                (i * 3) % 256,
                (i * 5) % 256,
                (i * 7) % 256,
                (i * 11) % 256,
                (i * 13) % 256
            ),
            "deadbeefcafebabe".to_string(),
            "com.example.messenger".to_string(),
        ];
        out.extend(misc.into_iter().map(String::into_bytes));
    }
    out
}

#[test]
fn machine_values_are_not_human_text() {
    let neg = negatives();
    let false_pos: Vec<String> = neg
        .iter()
        .filter(|v| is_human_text(v))
        .map(|v| String::from_utf8_lossy(v).chars().take(80).collect())
        .collect();
    let precision_loss = false_pos.len() as f64 / neg.len() as f64;
    eprintln!(
        "{} negatives, {} called human text",
        neg.len(),
        false_pos.len()
    );
    assert!(
        precision_loss <= 0.01,
        "{} of {} negatives called human text, e.g. {:?}",
        false_pos.len(),
        neg.len(),
        &false_pos[..false_pos.len().min(20)]
    );
    // Random and compressed bytes specifically: never.
    let mut r = Rng(77);
    for n in [2, 3, 4, 5, 6, 8, 12, 16, 64, 500, 4096] {
        for _ in 0..20_000 {
            let b = r.bytes(n);
            assert!(!is_human_text(&b), "{b:?}");
        }
    }
}

#[test]
fn messages_in_many_scripts_are_human_text() {
    let missed: Vec<&&str> = MESSAGES
        .iter()
        .filter(|m| !is_human_text(m.as_bytes()))
        .collect();
    assert!(
        missed.len() * 20 <= MESSAGES.len(),
        "{} of {} messages missed: {missed:?}",
        missed.len(),
        MESSAGES.len()
    );
}

/// The bar for fields that carry messages (IRC PRIVMSG, XMPP body, message
/// columns) is lower, but machine values and random bytes still fail it.
#[test]
fn machine_values_in_message_fields_are_not_messages() {
    let neg = negatives();
    let false_pos: Vec<String> = neg
        .iter()
        .filter(|v| is_message_text(v))
        .map(|v| String::from_utf8_lossy(v).chars().take(80).collect())
        .collect();
    eprintln!(
        "{} negatives, {} called message text in a message field",
        neg.len(),
        false_pos.len()
    );
    assert!(
        false_pos.len() * 100 <= neg.len() * 2,
        "{} of {} negatives called message text, e.g. {:?}",
        false_pos.len(),
        neg.len(),
        &false_pos[..false_pos.len().min(20)]
    );
    // Two random bytes can spell "ok" (1 in 65,536): from three bytes on,
    // never.
    let mut r = Rng(78);
    for n in [3, 4, 5, 6, 8, 12, 16, 64, 500, 4096] {
        for _ in 0..20_000 {
            let b = r.bytes(n);
            assert!(!is_message_text(&b), "{b:?}");
        }
    }
    let missed: Vec<&&str> = MESSAGES
        .iter()
        .filter(|m| !is_message_text(m.as_bytes()))
        .collect();
    assert!(missed.len() * 20 <= MESSAGES.len(), "{missed:?}");
}
