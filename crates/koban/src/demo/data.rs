//! The demo's material, kept in `crates/koban/demo/*.json` so the words
//! people read are edited as text, not as Rust: who works at the desk and
//! when, who writes in, what they write, and what the help center says.

use serde::Deserialize;
use std::collections::BTreeMap;

const PEOPLE: &str = include_str!("../../demo/people.json");
const TICKETS_JA_EN: &str = include_str!("../../demo/tickets_ja_en.json");
const TICKETS_TH_ZH: &str = include_str!("../../demo/tickets_th_zh.json");
const CONTENT: &str = include_str!("../../demo/content.json");
const ORGS: &str = include_str!("../../demo/orgs.json");

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

#[derive(Deserialize, Clone)]
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

#[derive(Deserialize, Clone)]
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

/// The two organizations: an enterprise-plan company and a standard shop.
#[derive(Deserialize)]
pub struct Orgs {
    pub enterprise: Org,
    pub standard: Org,
}

#[derive(Deserialize)]
pub struct Org {
    pub name: String,
    pub description: String,
    /// The language its messages are written in.
    pub lang: String,
    /// Which of `people.json`'s places its people sign in from.
    pub place: String,
    /// Its people's addresses are at this domain.
    pub domain: String,
    /// The administrative mailbox that proves the domain; none: unproven.
    #[serde(default)]
    pub mailbox: Option<String>,
    #[serde(default)]
    pub custom_role: Option<CustomRole>,
    /// The first is the owner.
    pub people: Vec<OrgPerson>,
    /// The language whose requesters are invited as members.
    pub requesters: String,
    pub policy: OrgPolicy,
    #[serde(default)]
    pub notice: Option<String>,
    #[serde(default)]
    pub frozen: Option<Reasoned>,
    #[serde(default)]
    pub suspended: Option<Reasoned>,
    #[serde(default)]
    pub pending: Option<OrgPerson>,
    #[serde(default)]
    pub review_note: Option<String>,
    pub tickets: Vec<OrgTicket>,
}

#[derive(Deserialize)]
pub struct CustomRole {
    pub name: String,
    pub permissions: Vec<String>,
}

#[derive(Deserialize)]
pub struct OrgPerson {
    /// The local part of their address at the organization's domain.
    pub local: String,
    pub name: String,
    /// `owner`, `invite` or `domain` (joined through the proven domain).
    #[serde(default)]
    pub join: String,
    /// A built-in role key, or `custom` for the organization's own role.
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Deserialize)]
pub struct OrgPolicy {
    #[serde(default)]
    pub two_factor_grace_days: Option<u32>,
    #[serde(default)]
    pub max_devices: Option<u32>,
    #[serde(default)]
    pub allowed_countries: Vec<String>,
    #[serde(default)]
    pub min_client_version: Option<String>,
}

/// Something done to one person (their `local`), and why.
#[derive(Deserialize)]
pub struct Reasoned {
    pub who: String,
    pub reason: String,
}

/// A ticket a member opens on the organization's support line.
#[derive(Deserialize)]
pub struct OrgTicket {
    /// The `local` of the member who opens it.
    pub by: String,
    #[serde(flatten)]
    pub text: TicketText,
}

/// Everything, read once.
pub struct Data {
    pub people: People,
    pub voices: BTreeMap<String, Voice>,
    pub content: Content,
    pub orgs: Orgs,
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
        orgs: read("orgs.json", ORGS)?,
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

    /// Each organization's people sign in from a known place, its
    /// tickets are opened by its own people, and who is frozen,
    /// suspended or invited is one of them.
    #[test]
    fn the_organizations_name_their_own_people() {
        let data = load().expect("demo data");
        for org in [&data.orgs.enterprise, &data.orgs.standard] {
            assert!(data.people.places.contains_key(&org.place), "{}", org.name);
            assert!(data.voices.contains_key(&org.lang), "{}", org.name);
            assert_eq!(org.people[0].join, "owner", "{}", org.name);
            let known = |local: &str| org.people.iter().any(|p| p.local == local);
            for ticket in &org.tickets {
                assert!(known(&ticket.by), "{}", ticket.by);
                koban_policy::desk::forms::Category::parse(&ticket.text.category)
                    .expect("category");
            }
            for done in [&org.frozen, &org.suspended].into_iter().flatten() {
                assert!(known(&done.who), "{}", done.who);
            }
        }
    }
}
