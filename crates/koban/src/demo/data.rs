//! The demo's material, kept in `crates/koban/demo/*.json` so the words
//! people read are edited as text, not as Rust: who works at the desk and
//! when, who writes in, what they write, and what the help center says.

use serde::Deserialize;
use std::collections::BTreeMap;

const PEOPLE: &str = include_str!("../../demo/people.json");
const TICKETS_JA_EN: &str = include_str!("../../demo/tickets_ja_en.json");
const TICKETS_TH_ZH: &str = include_str!("../../demo/tickets_th_zh.json");
const CONTENT: &str = include_str!("../../demo/content.json");

/// The languages requesters write in, in the order users are made.
pub const LANGS: [&str; 5] = ["ja", "th", "zh-TW", "zh-CN", "en"];

#[derive(Deserialize)]
pub struct People {
    pub password_admin: String,
    pub password_agent: String,
    pub password_user: String,
    pub admin: String,
    pub supervisor: String,
    pub teams: Vec<Team>,
    /// Local parts of requesters' addresses, by language.
    pub users: BTreeMap<String, Vec<String>>,
    /// Where each language's requesters sign in from.
    pub places: BTreeMap<String, Place>,
}

#[derive(Deserialize)]
pub struct Team {
    pub slug: String,
    pub name: String,
    pub languages: Vec<String>,
    pub regions: Vec<String>,
    pub calendar: String,
    pub zone: String,
    pub week: serde_json::Value,
    pub holidays: Vec<String>,
    pub agents: Vec<String>,
}

#[derive(Deserialize)]
pub struct Place {
    pub country: String,
    /// The first three octets; the user's number makes the fourth.
    pub ip: String,
    pub platform: String,
    pub device: String,
    pub agent: String,
}

/// One language's side of the desk's conversations.
#[derive(Deserialize)]
pub struct Voice {
    pub tickets: Vec<TicketText>,
    pub agent_first: Vec<String>,
    pub requester_reply: Vec<String>,
    pub agent_solve: Vec<String>,
    pub comments: Vec<String>,
}

#[derive(Deserialize)]
pub struct TicketText {
    pub category: String,
    pub subject: String,
    pub body: String,
}

#[derive(Deserialize)]
pub struct Content {
    pub categories: Vec<HelpCategory>,
    pub announcements: Vec<Announcement>,
}

#[derive(Deserialize)]
pub struct HelpCategory {
    pub names: BTreeMap<String, String>,
    /// Each article: language → [title, body].
    pub articles: Vec<BTreeMap<String, [String; 2]>>,
}

#[derive(Deserialize)]
pub struct Announcement {
    pub kind: String,
    pub regions: Vec<String>,
    pub starts_in_hours: i64,
    pub ends_in_hours: i64,
    /// Language → [title, body].
    pub texts: BTreeMap<String, [String; 2]>,
}

/// Everything, read once.
pub struct Data {
    pub people: People,
    pub voices: BTreeMap<String, Voice>,
    pub content: Content,
}

/// Reads the files compiled in; an error here is a mistake in them, named.
pub fn load() -> Result<Data, String> {
    fn read<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<T, String> {
        serde_json::from_str(text).map_err(|e| format!("demo/{name}: {e}"))
    }
    let mut voices: BTreeMap<String, Voice> = read("tickets_ja_en.json", TICKETS_JA_EN)?;
    voices.extend(read::<BTreeMap<String, Voice>>(
        "tickets_th_zh.json",
        TICKETS_TH_ZH,
    )?);
    Ok(Data {
        people: read("people.json", PEOPLE)?,
        voices,
        content: read("content.json", CONTENT)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every language has requesters, a place, and something to say in
    /// each part of a conversation; every category is written in it.
    #[test]
    fn the_files_read_and_cover_every_language_and_category() {
        let data = load().expect("demo data");
        for lang in LANGS {
            assert!(!data.people.users[lang].is_empty(), "{lang}");
            assert!(data.people.places.contains_key(lang), "{lang}");
            let voice = &data.voices[lang];
            assert!(!voice.agent_first.is_empty() && !voice.requester_reply.is_empty());
            assert!(!voice.agent_solve.is_empty() && !voice.comments.is_empty());
            for category in koban_policy::desk::forms::Category::ALL {
                assert!(
                    voice
                        .tickets
                        .iter()
                        .any(|t| t.category == category.as_str()),
                    "{lang} has no {} ticket",
                    category.as_str()
                );
            }
        }
    }
}
