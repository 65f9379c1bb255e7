//! Translations (Fluent) and choosing the viewer's language. Every language
//! has every message English has (a test holds them equal); a message
//! missing at run time would fall back to English rather than show its id.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::collections::HashMap;
use std::sync::OnceLock;
use unic_langid::LanguageIdentifier;

/// A language Koban speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Lang {
    En,
    ZhCn,
    ZhTw,
    Ja,
    Th,
}

/// The tags [`Lang::parse`] reads, as a regular expression for API
/// documents (it also reads them with spaces around).
pub const LOCALE_PATTERN: &str = "^([Ee][Nn]|[Jj][Aa]|[Tt][Hh]|[Zz][Hh])([-_][A-Za-z0-9]{1,8})*$";

impl Lang {
    /// Every supported language, in the order the switcher shows them.
    pub const ALL: [Lang; 5] = [Lang::En, Lang::ZhCn, Lang::ZhTw, Lang::Ja, Lang::Th];

    /// BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
            Lang::ZhTw => "zh-TW",
            Lang::Ja => "ja",
            Lang::Th => "th",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::ZhCn => "简体中文",
            Lang::ZhTw => "繁體中文",
            Lang::Ja => "日本語",
            Lang::Th => "ไทย",
        }
    }

    /// Joins the items of a list as the language writes one: the
    /// enumeration comma (、) in Chinese and Japanese, ", " elsewhere.
    pub fn list(self, items: &[String]) -> String {
        let separator = match self {
            Lang::ZhCn | Lang::ZhTw | Lang::Ja => "、",
            Lang::En | Lang::Th => ", ",
        };
        items.join(separator)
    }

    /// Reads a tag loosely: `zh`, `zh-Hans`, `zh-cn` → Simplified Chinese, and so on.
    pub fn parse(tag: &str) -> Option<Lang> {
        let lower = tag.trim().to_ascii_lowercase().replace('_', "-");
        let mut parts = lower.split('-');
        let primary = parts.next()?;
        let rest: Vec<&str> = parts.collect();
        match primary {
            "en" => Some(Lang::En),
            "ja" => Some(Lang::Ja),
            "th" => Some(Lang::Th),
            "zh" => {
                if rest
                    .iter()
                    .any(|p| matches!(*p, "tw" | "hk" | "mo" | "hant"))
                {
                    Some(Lang::ZhTw)
                } else {
                    Some(Lang::ZhCn)
                }
            }
            _ => None,
        }
    }

    /// Every message of the language. The shell and the first domains keep
    /// theirs in `locales/<tag>.ftl`; later areas each in
    /// `locales/<area>/<tag>.ftl`, so work on different areas never edits
    /// one file.
    fn source(self) -> String {
        macro_rules! files {
            ($tag:literal) => {
                [
                    include_str!(concat!("../../locales/", $tag, ".ftl")),
                    include_str!(concat!("../../locales/help/", $tag, ".ftl")),
                    include_str!(concat!("../../locales/announcements/", $tag, ".ftl")),
                    include_str!(concat!("../../locales/surveys/", $tag, ".ftl")),
                    include_str!(concat!("../../locales/privacy/", $tag, ".ftl")),
                    include_str!(concat!("../../locales/reports/", $tag, ".ftl")),
                    include_str!(concat!("../../locales/search/", $tag, ".ftl")),
                ]
            };
        }
        let files = match self {
            Lang::En => files!("en"),
            Lang::ZhCn => files!("zh-CN"),
            Lang::ZhTw => files!("zh-TW"),
            Lang::Ja => files!("ja"),
            Lang::Th => files!("th"),
        };
        files.join("\n")
    }
}

/// The best language from an `Accept-Language` header, honouring q-values.
pub fn from_accept_language(header: &str) -> Option<Lang> {
    let mut choices: Vec<(f32, usize, Lang)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if q <= 0.0 {
                return None;
            }
            Lang::parse(tag).map(|l| (q, i, l))
        })
        .collect();
    choices.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    choices.first().map(|c| c.2)
}

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static HashMap<Lang, Bundle> {
    static BUNDLES: OnceLock<HashMap<Lang, Bundle>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        Lang::ALL
            .iter()
            .map(|lang| {
                let id: LanguageIdentifier = lang.tag().parse().expect("built-in tags are valid");
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // Isolation marks around placeables confuse plain-text mail and tests.
                bundle.set_use_isolating(false);
                let resource =
                    FluentResource::try_new(lang.source()).unwrap_or_else(|(_, errors)| {
                        panic!("{}.ftl does not parse: {errors:?}", lang.tag())
                    });
                bundle
                    .add_resource(resource)
                    .unwrap_or_else(|e| panic!("{}.ftl: {e:?}", lang.tag()));
                (*lang, bundle)
            })
            .collect()
    })
}

/// Translates `id` with `args` into `lang`, falling back to English, then to the id itself.
pub fn t(lang: Lang, id: &str, args: &[(&str, String)]) -> String {
    let mut fluent_args = FluentArgs::new();
    for (k, v) in args {
        fluent_args.set(*k, FluentValue::from(v.clone()));
    }
    for candidate in [lang, Lang::En] {
        let Some(bundle) = bundles().get(&candidate) else {
            continue;
        };
        if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
            let mut errors = vec![];
            return bundle
                .format_pattern(pattern, Some(&fluent_args), &mut errors)
                .into_owned();
        }
    }
    id.to_string()
}

/// Whether `lang` has its own text for `id` (used by the completeness test).
pub fn has_message(lang: Lang, id: &str) -> bool {
    bundles().get(&lang).is_some_and(|b| b.has_message(id))
}

/// Every message id in the English source.
pub fn english_ids() -> Vec<String> {
    message_ids(&Lang::En.source())
}

/// The message ids of a Fluent source, in order (top-level `id = …` lines;
/// comments and continuation lines are not ids).
fn message_ids(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|l| !l.starts_with([' ', '#', '.']))
        .filter_map(|l| l.split_once(" = ").map(|(id, _)| id.trim().to_string()))
        .filter(|id| !id.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variables (`{ $name }`) a message's source text uses, sorted.
    fn variables(source: &str, id: &str) -> Vec<String> {
        let mut lines = source
            .lines()
            .skip_while(|l| !l.starts_with(&format!("{id} = ")));
        let mut text = lines.next().unwrap_or_default().to_string();
        text.extend(
            lines
                .take_while(|l| l.starts_with(' '))
                .map(|l| format!("\n{l}")),
        );
        let mut names: Vec<String> = text
            .split("{ $")
            .skip(1)
            .filter_map(|rest| rest.split_once(' ').map(|(name, _)| name.to_string()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every language has exactly the messages English has, no more, each
    /// with the same variables, and its own text (a bundle that failed to
    /// load one would fall back to English).
    #[test]
    fn every_locale_has_exactly_the_english_messages() {
        let english = english_ids();
        assert!(english.len() > 300, "English has {}", english.len());
        let english_source = Lang::En.source();
        for lang in Lang::ALL {
            let source = lang.source();
            let ids = message_ids(&source);
            let missing: Vec<&String> = english.iter().filter(|id| !ids.contains(id)).collect();
            let extra: Vec<&String> = ids.iter().filter(|id| !english.contains(id)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", lang.tag());
            assert!(
                extra.is_empty(),
                "{} has what English does not: {extra:?}",
                lang.tag()
            );
            let mut seen = std::collections::HashSet::new();
            for id in &ids {
                assert!(seen.insert(id), "{} defines {id} twice", lang.tag());
                assert!(has_message(lang, id), "{} does not load {id}", lang.tag());
                assert_eq!(
                    variables(&source, id),
                    variables(&english_source, id),
                    "{} {id} uses other variables than English",
                    lang.tag()
                );
            }
        }
    }

    /// Chinese and Japanese text takes full-width punctuation (，：；？！（）)
    /// beside its own characters; half-width marks there read as typos.
    #[test]
    fn cjk_messages_use_full_width_punctuation() {
        let cjk = |c: char| matches!(c as u32, 0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff);
        for lang in [Lang::ZhCn, Lang::ZhTw, Lang::Ja] {
            for line in lang.source().lines().filter(|l| !l.starts_with('#')) {
                let Some((id, text)) = line.split_once(" = ") else {
                    continue;
                };
                let chars: Vec<char> = text.chars().collect();
                for (i, c) in chars.iter().enumerate() {
                    if !",:;?!()".contains(*c) {
                        continue;
                    }
                    // The nearest letter on either side, over spaces.
                    let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
                    let after = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                    assert!(
                        !before.is_some_and(|c| cjk(*c)) && !after.is_some_and(|c| cjk(*c)),
                        "{} {id}: half-width {c:?} in {text:?}",
                        lang.tag()
                    );
                }
            }
        }
    }

    #[test]
    fn every_locale_parses_and_falls_back_per_message() {
        assert_eq!(t(Lang::Ja, "nav-sign-in", &[]), "ログイン");
        assert_eq!(t(Lang::En, "no-such-message", &[]), "no-such-message");
        assert_eq!(
            t(
                Lang::ZhCn,
                "problem-rate-limited",
                &[("seconds", "30".into())]
            ),
            "请求过于频繁。请在 30 秒后重试。"
        );
    }

    #[test]
    fn accept_language_honours_quality() {
        assert_eq!(
            from_accept_language("fr;q=1, zh-TW;q=0.8, en;q=0.9"),
            Some(Lang::En)
        );
        assert_eq!(from_accept_language("zh-Hant-HK"), Some(Lang::ZhTw));
        assert_eq!(from_accept_language("zh"), Some(Lang::ZhCn));
        assert_eq!(from_accept_language("de, fr"), None);
        assert_eq!(from_accept_language("ja;q=0, th"), Some(Lang::Th));
    }
}
