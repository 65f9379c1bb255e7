//! What `koban-bench search` writes, as a pure function of a ticket's
//! number and a seed: tickets in zh-CN, zh-TW, ja, th and en
//! whose subjects and opening messages are the real-sounding requests of
//! the demo (`crates/koban/demo/*.json`) and of the triage evaluation set
//! (`crates/koban-policy/data/triage/eval_*.tsv`), a few more in Thai
//! (which those have few of), each with a sentence naming a place, a phone
//! and an error code, and 2 to 4 messages in all with the demo's replies.
//! The queries timed over them are in [`super::queries`].

use super::super::desk_queue::mix;
use koban_policy::desk::forms::Category;
use koban_policy::desk::triage::parse_examples;

/// The languages, in the order ticket numbers go round them.
pub const LANGS: [&str; 5] = ["zh-CN", "zh-TW", "ja", "th", "en"];

const DEMO_JA_EN: &str = include_str!("../../../koban/demo/tickets_ja_en.json");
const DEMO_TH_ZH: &str = include_str!("../../../koban/demo/tickets_th_zh.json");
const TRIAGE_TUNING: &str = include_str!("../../../koban-policy/data/triage/eval_tuning.tsv");
const TRIAGE_HELDOUT: &str = include_str!("../../../koban-policy/data/triage/eval_heldout.tsv");

/// More Thai requests (category, subject, body): the demo and the triage
/// set have few.
const THAI: &[(&str, &str, &str)] = &[
    (
        "forgot_password",
        "ลืมรหัสผ่านเข้าแอป",
        "จำรหัสผ่านไม่ได้ กดลืมรหัสผ่านแล้วแต่ไม่มีอีเมลส่งมาเลยค่ะ ช่วยรีเซ็ตให้หน่อยได้ไหมคะ",
    ),
    (
        "cannot_sign_in",
        "เข้าสู่ระบบไม่ได้หลังเปลี่ยนมือถือ",
        "เพิ่งเปลี่ยนมือถือเครื่องใหม่ พอเข้าสู่ระบบแล้วแอปแจ้งว่าบัญชีถูกล็อก เมื่อวานยังใช้ได้ปกติครับ",
    ),
    (
        "code_not_received",
        "รหัส OTP ไม่มาทางอีเมล",
        "ขอรหัสยืนยันทางอีเมลไปหลายรอบแล้ว เช็กในโฟลเดอร์จดหมายขยะแล้วก็ไม่มีค่ะ",
    ),
    (
        "account_stolen",
        "มีคนเปลี่ยนรหัสผ่านบัญชีของผม",
        "ได้รับอีเมลแจ้งว่ารหัสผ่านถูกเปลี่ยน แต่ผมไม่ได้เปลี่ยนเอง ตอนนี้เข้าสู่ระบบไม่ได้แล้ว กลัวมีคนเอาบัญชีไปใช้ครับ",
    ),
    (
        "device_security",
        "อยากออกจากระบบในเครื่องเก่า",
        "ขายมือถือเครื่องเก่าไปแล้ว แต่ลืมออกจากระบบ อยากให้ช่วยตัดการเชื่อมต่ออุปกรณ์นั้นด้วยค่ะ",
    ),
    (
        "duplicate_contact",
        "อีเมลนี้ถูกใช้ไปแล้ว",
        "จะผูกอีเมลกับบัญชี แต่ระบบบอกว่าอีเมลนี้ถูกใช้กับบัญชีอื่นแล้ว ทั้งที่ผมมีบัญชีเดียวครับ",
    ),
    (
        "privacy",
        "ขอลบข้อมูลส่วนตัว",
        "ไม่ได้ใช้บริการแล้ว ต้องการให้ลบบัญชีและข้อมูลส่วนตัวทั้งหมด ต้องทำอย่างไรบ้างคะ",
    ),
    (
        "broadcast_failure",
        "ส่งข้อความบรอดแคสต์ไม่ออก",
        "ร้านของเราตั้งเวลาส่งข้อความบรอดแคสต์ถึงลูกค้าไว้ตอนเที่ยง แต่ระบบขึ้นว่าส่งไม่สำเร็จ ลูกค้าไม่ได้รับโปรโมชันเลยค่ะ",
    ),
    (
        "enterprise_permissions",
        "พนักงานใหม่เข้าบัญชีองค์กรไม่ได้",
        "เพิ่มพนักงานใหม่เข้าองค์กรแล้ว แต่เขาเปิดหน้าจัดการไม่ได้ ขึ้นว่าไม่มีสิทธิ์ รบกวนตรวจสอบสิทธิ์ให้หน่อยครับ",
    ),
    (
        "other",
        "สอบถามเรื่องใบเสร็จ",
        "เดือนนี้ถูกเรียกเก็บเงินสองครั้ง อยากทราบว่ารายการไหนถูกต้อง และขอใบเสร็จด้วยค่ะ",
    ),
    (
        "cannot_sign_in",
        "แอปเด้งออกตอนเข้าสู่ระบบ",
        "พอกดเข้าสู่ระบบ แอปก็ปิดตัวเองทุกครั้ง ลองรีสตาร์ทเครื่องแล้วก็ยังเป็นอยู่ครับ",
    ),
    (
        "code_not_received",
        "ไม่ได้รับ SMS ยืนยันตัวตน",
        "อยู่ต่างประเทศ ใช้ซิมเดิมแต่ไม่ได้รับ SMS รหัสยืนยันเลย ต้องทำอย่างไรคะ",
    ),
];

/// Where the requester was, by language; the last place is rare (see [`RARE_EVERY`]).
const PLACES: [&[&str]; 5] = [
    &["北京", "上海", "广州", "深圳", "成都", "杭州", "乌鲁木齐"],
    &["台北", "台中", "高雄", "台南", "新竹", "澎湖"],
    &["東京", "大阪", "名古屋", "福岡", "札幌", "稚内"],
    &["กรุงเทพ", "เชียงใหม่", "ภูเก็ต", "ขอนแก่น", "หาดใหญ่", "แม่ฮ่องสอน"],
    &[
        "London",
        "Toronto",
        "Sydney",
        "Manila",
        "Singapore",
        "Dublin",
        "Reykjavik",
    ],
];

/// Ticket numbers below 5 in every 4096 name their language's rare place:
/// a word about one ticket in 800, in every language at any size.
const RARE_EVERY: u64 = 4096;

const PHONES: &[&str] = &[
    "iPhone 15",
    "iPhone 13",
    "Pixel 8",
    "Galaxy S24",
    "Galaxy A54",
    "Xperia 10",
    "OPPO Reno 11",
    "Redmi Note 13",
    "AQUOS sense8",
    "vivo V30",
];

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    Requester,
    Agent,
}

impl Author {
    pub fn kind(self) -> &'static str {
        match self {
            Author::Requester => "requester",
            Author::Agent => "agent",
        }
    }
}

/// One request as a person wrote it.
#[derive(Debug, Clone)]
pub struct Request {
    pub category: String,
    pub subject: String,
    pub body: String,
}

/// One language's material.
#[derive(Debug, Default)]
pub struct Voice {
    pub requests: Vec<Request>,
    pub agent_first: Vec<String>,
    pub requester_reply: Vec<String>,
    pub agent_solve: Vec<String>,
}

/// Ticket number `i` as written.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketText {
    pub lang: &'static str,
    pub category: String,
    pub subject: String,
    /// In order; the first is the requester's opening message.
    pub messages: Vec<(Author, String)>,
}

/// Every language's material, in [`LANGS`] order.
pub struct Corpus {
    pub voices: Vec<Voice>,
}

fn strings(value: &serde_json::Value, key: &str) -> Vec<String> {
    value[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A known category, or `other`.
fn category(name: &str) -> String {
    Category::parse(name)
        .map(|c| c.as_str())
        .unwrap_or("other")
        .to_string()
}

impl Corpus {
    /// Reads the files compiled in.
    pub fn load() -> Result<Corpus, String> {
        let mut voices: Vec<Voice> = LANGS.iter().map(|_| Voice::default()).collect();
        let index = |lang: &str| LANGS.iter().position(|l| *l == lang);
        for (name, text) in [
            ("tickets_ja_en.json", DEMO_JA_EN),
            ("tickets_th_zh.json", DEMO_TH_ZH),
        ] {
            let demo: serde_json::Value =
                serde_json::from_str(text).map_err(|e| format!("demo/{name}: {e}"))?;
            let Some(langs) = demo.as_object() else {
                return Err(format!("demo/{name}: not an object"));
            };
            for (lang, side) in langs {
                let Some(i) = index(lang) else { continue };
                let voice = &mut voices[i];
                for t in side["tickets"].as_array().into_iter().flatten() {
                    voice.requests.push(Request {
                        category: category(t["category"].as_str().unwrap_or("other")),
                        subject: t["subject"].as_str().unwrap_or_default().to_string(),
                        body: t["body"].as_str().unwrap_or_default().to_string(),
                    });
                }
                voice.agent_first.extend(strings(side, "agent_first"));
                voice
                    .requester_reply
                    .extend(strings(side, "requester_reply"));
                voice.agent_solve.extend(strings(side, "agent_solve"));
            }
        }
        for (name, text) in [
            ("eval_tuning.tsv", TRIAGE_TUNING),
            ("eval_heldout.tsv", TRIAGE_HELDOUT),
        ] {
            let examples = parse_examples(text).map_err(|e| format!("triage/{name}: {e}"))?;
            for example in examples {
                let Some(i) = index(&example.lang) else {
                    continue;
                };
                let subject = if example.subject.is_empty() {
                    // A subject as the web form makes one from the body.
                    example.body.chars().take(30).collect::<String>()
                } else {
                    example.subject
                };
                voices[i].requests.push(Request {
                    category: category(example.category),
                    subject,
                    body: example.body,
                });
            }
        }
        if let Some(thai) = index("th") {
            voices[thai]
                .requests
                .extend(THAI.iter().map(|(c, s, b)| Request {
                    category: category(c),
                    subject: s.to_string(),
                    body: b.to_string(),
                }));
        }
        for (lang, v) in LANGS.iter().zip(&voices) {
            if v.requests.is_empty()
                || v.agent_first.is_empty()
                || v.requester_reply.is_empty()
                || v.agent_solve.is_empty()
            {
                return Err(format!("the search corpus has nothing in {lang}"));
            }
        }
        Ok(Corpus { voices })
    }

    /// Ticket number `i` of a load with `seed`.
    pub fn ticket(&self, i: u64, seed: u64) -> TicketText {
        let which = (i % LANGS.len() as u64) as usize;
        let lang = LANGS[which];
        let voice = &self.voices[which];
        let h = mix(i ^ seed.rotate_left(29));
        let pick =
            |list: &[String], shift: u32| list[((h >> shift) % list.len() as u64) as usize].clone();
        let request = &voice.requests[(h % voice.requests.len() as u64) as usize];
        let places = PLACES[which];
        let place = if i % RARE_EVERY < LANGS.len() as u64 {
            places[places.len() - 1]
        } else {
            places[((h >> 12) % (places.len() as u64 - 1)) as usize]
        };
        let phone = PHONES[((h >> 20) % PHONES.len() as u64) as usize];
        let code = 1000 + (h >> 28) % 9000;
        let opening = format!("{}\n\n{}", request.body, detail(lang, place, phone, code));
        let mut messages = vec![(Author::Requester, opening)];
        // 2, 3 or 4 messages.
        let more = 1 + (h >> 44) % 3;
        messages.push((Author::Agent, pick(&voice.agent_first, 48)));
        if more >= 2 {
            messages.push((Author::Requester, pick(&voice.requester_reply, 52)));
        }
        if more >= 3 {
            messages.push((Author::Agent, pick(&voice.agent_solve, 56)));
        }
        TicketText {
            lang,
            category: request.category.clone(),
            subject: request.subject.clone(),
            messages,
        }
    }
}

/// The sentence naming where, on what and which error.
fn detail(lang: &str, place: &str, phone: &str, code: u64) -> String {
    match lang {
        "zh-CN" => format!("当时我在{place}，用的是{phone}，应用显示错误代码 E-{code}。"),
        "zh-TW" => format!("當時我在{place}，用的是{phone}，App 顯示錯誤代碼 E-{code}。"),
        "ja" => format!("{place}で{phone}を使っていたときに起きました。エラーコードは E-{code} と表示されています。"),
        "th" => format!("ตอนนั้นอยู่ที่{place} ใช้ {phone} แอปขึ้นรหัสข้อผิดพลาด E-{code}"),
        _ => format!("It happened in {place} on my {phone}, and the app showed error code E-{code}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_is_the_same_for_the_same_seed_and_mixed() {
        let corpus = Corpus::load().expect("corpus");
        assert_eq!(corpus.ticket(12_345, 15), corpus.ticket(12_345, 15));
        let a: Vec<_> = (0..200).map(|i| corpus.ticket(i, 15)).collect();
        let b: Vec<_> = (0..200).map(|i| corpus.ticket(i, 16)).collect();
        assert_ne!(a, b);
        for lang in LANGS {
            assert_eq!(a.iter().filter(|t| t.lang == lang).count(), 40);
        }
        for t in &a {
            assert!((2..=4).contains(&t.messages.len()), "{t:?}");
            assert_eq!(t.messages[0].0, Author::Requester);
            assert!(!t.subject.is_empty() && Category::parse(&t.category).is_ok());
        }
        for n in 2..=4 {
            assert!(a.iter().any(|t| t.messages.len() == n), "{n} messages");
        }
    }
}
