//! Announcements: what an editor may write (kind, languages, regions, a
//! window of time) and which announcements a reader sees now, in which
//! language. No clock here: the caller passes `now`.

use std::collections::BTreeMap;

/// What an announcement is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    ServiceStatus,
    Security,
    Maintenance,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::ServiceStatus, Kind::Security, Kind::Maintenance];

    /// The stored and API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::ServiceStatus => "service_status",
            Kind::Security => "security",
            Kind::Maintenance => "maintenance",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Where an announcement is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Published,
    Withdrawn,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Published => "published",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(name: &str) -> Option<Status> {
        [Status::Draft, Status::Published, Status::Withdrawn]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// The languages an announcement may be written in, as stored.
pub const LANGS: [&str; 5] = ["en", "zh-CN", "zh-TW", "ja", "th"];

/// The longest title, in characters: a banner line, not a paragraph.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest body, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;
/// The most regions one announcement names.
pub const MAX_REGIONS: usize = 60;

/// The stored tag for `tag` (any case, `_` or `-`), if it is one of [`LANGS`].
pub fn parse_lang(tag: &str) -> Option<&'static str> {
    let wanted = tag.trim().replace('_', "-");
    LANGS.into_iter().find(|l| l.eq_ignore_ascii_case(&wanted))
}

/// ISO 3166-1 alpha-2, every assigned code.
const ISO_3166: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ \
UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// The upper-case code for `code` (any case, spaces around) if it is an
/// assigned ISO 3166-1 alpha-2 code.
pub fn parse_region(code: &str) -> Option<String> {
    let code = code.trim().to_ascii_uppercase();
    (code.len() == 2 && ISO_3166.split(' ').any(|c| c == code)).then_some(code)
}

/// The region of a phone number in E.164 form (`+66…` is TH): the region
/// Koban knows an account by, as the platform's accounts are tied to their
/// number's country.
pub fn region_of_phone(e164: &str) -> Option<String> {
    let number = phonenumber::parse(None, e164).ok()?;
    let id = number.country().id()?;
    parse_region(id.as_ref())
}

/// One language of an announcement as an editor sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub title: String,
    pub body: String,
}

/// Everything an editor sends for an announcement.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub kind: String,
    /// By language tag as sent.
    pub texts: BTreeMap<String, Text>,
    pub regions: Vec<String>,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
}

/// A draft that passed [`validate`]: tags and codes in their stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid {
    pub kind: Kind,
    pub texts: BTreeMap<&'static str, Text>,
    /// Sorted, without duplicates; empty means everywhere.
    pub regions: Vec<String>,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
}

/// Why a field was refused: the field's name and the reason's code (the
/// codes the API's problem documents use).
pub type Refusal = (String, &'static str);

/// Checks everything in `draft`; every refusal at once, or the stored form.
pub fn validate(draft: &Draft) -> Result<Valid, Vec<Refusal>> {
    let mut refused: Vec<Refusal> = vec![];
    let kind = Kind::parse(&draft.kind);
    if kind.is_none() {
        refused.push(("kind".into(), "not_an_option"));
    }
    if draft.texts.is_empty() {
        refused.push(("texts".into(), "required"));
    }
    let mut texts = BTreeMap::new();
    for (tag, text) in &draft.texts {
        let Some(lang) = parse_lang(tag) else {
            refused.push((format!("texts.{tag}"), "unknown_language"));
            continue;
        };
        if texts.contains_key(lang) {
            refused.push((format!("texts.{tag}"), "duplicate"));
            continue;
        }
        let title = text.title.trim();
        if title.is_empty() {
            refused.push((format!("texts.{lang}.title"), "empty"));
        } else if title.chars().count() > MAX_TITLE_CHARS {
            refused.push((format!("texts.{lang}.title"), "too_long"));
        } else if title.chars().any(char::is_control) {
            refused.push((format!("texts.{lang}.title"), "control_character"));
        }
        if text.body.chars().count() > MAX_BODY_CHARS {
            refused.push((format!("texts.{lang}.body"), "too_long"));
        }
        texts.insert(
            lang,
            Text {
                title: title.to_string(),
                body: text.body.trim().to_string(),
            },
        );
    }
    let mut regions = vec![];
    if draft.regions.len() > MAX_REGIONS {
        refused.push(("regions".into(), "too_many"));
    }
    for code in &draft.regions {
        match parse_region(code) {
            Some(code) => regions.push(code),
            None => {
                refused.push(("regions".into(), "unknown_region"));
                break;
            }
        }
    }
    regions.sort();
    regions.dedup();
    if let Err(code) = check_window(draft.starts_at, draft.ends_at) {
        refused.push(("ends_at".into(), code));
    }
    match kind {
        Some(kind) if refused.is_empty() => Ok(Valid {
            kind,
            texts,
            regions,
            starts_at: draft.starts_at,
            ends_at: draft.ends_at,
        }),
        _ => Err(refused),
    }
}

/// A window of time is shown from its start until its end, which must come
/// after the start (an announcement that never shows is a mistake).
pub fn check_window(starts_at: i64, ends_at: Option<i64>) -> Result<(), &'static str> {
    if starts_at < 0 {
        return Err("out_of_range");
    }
    match ends_at {
        Some(end) if end <= starts_at => Err("announcement_ends_before_start"),
        _ => Ok(()),
    }
}

/// What [`is_current`] and [`concerns`] read of an announcement.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a> {
    pub status: Status,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub regions: &'a [String],
}

/// Published, started and not yet ended at `now`.
pub fn is_current(a: Shown<'_>, now: i64) -> bool {
    a.status == Status::Published && a.starts_at <= now && a.ends_at.is_none_or(|end| now < end)
}

/// Whether an announcement concerns a reader in `region`. An announcement
/// for everywhere concerns everyone; one for some regions only the readers
/// known to be there (a reader whose region Koban does not know is not
/// shown a regional one: it would be noise for most of them).
pub fn concerns(regions: &[String], region: Option<&str>) -> bool {
    regions.is_empty() || region.is_some_and(|r| regions.iter().any(|x| x.eq_ignore_ascii_case(r)))
}

/// Which of `available` (stored tags) a reader of `wanted` reads: their
/// own, then English, then the first written.
pub fn pick_lang<'a>(available: &[&'a str], wanted: &str) -> Option<&'a str> {
    available
        .iter()
        .find(|l| l.eq_ignore_ascii_case(wanted))
        .or_else(|| available.iter().find(|l| **l == "en"))
        .or_else(|| available.first())
        .copied()
}

/// Whether an edit or a step is allowed from `status`: a withdrawn
/// announcement is finished and stays as it was.
pub fn may_change(status: Status) -> bool {
    status != Status::Withdrawn
}

#[cfg(test)]
mod tests;
