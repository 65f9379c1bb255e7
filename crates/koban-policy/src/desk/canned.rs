//! Canned responses: bodies with `{{variable}}` slots, one per language,
//! and the tags agents put on tickets.
//!
//! The slots are filled by plain text substitution from a fixed list of
//! names, never by a template engine: a body can only say what the list
//! offers, `{{7*7}}` is refused when the response is saved, and the text
//! put in (a requester's name, a subject) stays text: the page escapes it
//! like any other message.

use std::collections::BTreeMap;

/// The variables a body may use.
pub const VARIABLES: &[&str] = &[
    "requester.name",
    "requester.email",
    "ticket.reference",
    "ticket.subject",
    "ticket.status",
    "agent.name",
];

/// The language a body falls back to when the ticket's is missing.
pub const FALLBACK_LANGUAGE: &str = "en";

/// The longest body, in characters (a message's limit).
pub const MAX_BODY_CHARS: usize = 20_000;
/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 40;

/// Why a body cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyProblem {
    #[error("empty body")]
    Empty,
    #[error("body too long")]
    TooLong,
    /// `{{` without its `}}`.
    #[error("unclosed variable")]
    Unclosed,
    /// A name not in [`VARIABLES`] (an expression like `7*7` among them).
    #[error("unknown variable {0}")]
    UnknownVariable(String),
}

impl BodyProblem {
    /// The reason code the API and the pages show.
    pub fn code(&self) -> &'static str {
        match self {
            BodyProblem::Empty => "required",
            BodyProblem::TooLong => "too_long",
            BodyProblem::Unclosed | BodyProblem::UnknownVariable(_) => "unknown_variable",
        }
    }
}

/// One piece of a parsed body.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Variable(&'static str),
}

fn parse(body: &str) -> Result<Vec<Piece<'_>>, BodyProblem> {
    let mut pieces = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        pieces.push(Piece::Text(&rest[..start]));
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(BodyProblem::Unclosed)?;
        let name = after[..end].trim();
        let known = VARIABLES
            .iter()
            .find(|v| **v == name)
            .ok_or_else(|| BodyProblem::UnknownVariable(name.to_string()))?;
        pieces.push(Piece::Variable(known));
        rest = &after[end + 2..];
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

/// Checks a body as it is saved.
pub fn check_body(body: &str) -> Result<(), BodyProblem> {
    if body.trim().is_empty() {
        return Err(BodyProblem::Empty);
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(BodyProblem::TooLong);
    }
    parse(body).map(|_| ())
}

/// The body with each variable replaced by `value(name)`. The values are
/// inserted as they are and never read again, so a value that looks like
/// a variable stays text.
pub fn render(body: &str, value: impl Fn(&str) -> String) -> Result<String, BodyProblem> {
    let mut out = String::with_capacity(body.len());
    for piece in parse(body)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Variable(name) => out.push_str(&value(name)),
        }
    }
    Ok(out)
}

/// The body for a ticket in `language`: that language, else its primary
/// subtag alone (`ja-JP` finds `ja`), else English, else none.
pub fn pick<'a>(bodies: &'a BTreeMap<String, String>, language: &str) -> Option<&'a str> {
    let primary = language.split('-').next().unwrap_or(language);
    bodies
        .get(language)
        .or_else(|| bodies.get(primary))
        .or_else(|| bodies.get(FALLBACK_LANGUAGE))
        .map(String::as_str)
}

/// Why a tag is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TagProblem {
    #[error("empty tag")]
    Empty,
    #[error("tag too long")]
    TooLong,
    /// White space, a comma (the separator) or an invisible character.
    #[error("tag has a separator")]
    Separator,
}

impl TagProblem {
    /// The reason code the API and the pages show.
    pub fn code(self) -> &'static str {
        match self {
            TagProblem::Empty => "required",
            TagProblem::TooLong => "too_long",
            TagProblem::Separator => "invalid_value",
        }
    }
}

/// A tag as stored: trimmed and lower-cased; one word of up to
/// [`MAX_TAG_CHARS`] characters in any script.
pub fn tag(input: &str) -> Result<String, TagProblem> {
    let tag = input.trim().to_lowercase();
    if tag.is_empty() {
        return Err(TagProblem::Empty);
    }
    if tag.chars().count() > MAX_TAG_CHARS {
        return Err(TagProblem::TooLong);
    }
    if tag.chars().any(|c| {
        c.is_whitespace() || c == ',' || crate::text::check_visible(&c.to_string(), false).is_err()
    }) {
        return Err(TagProblem::Separator);
    }
    Ok(tag)
}

/// The tags in a comma-separated list, each checked, without repeats, in order.
pub fn tags(list: &str) -> Result<Vec<String>, TagProblem> {
    let mut out: Vec<String> = Vec::new();
    for part in list.split(',').filter(|p| !p.trim().is_empty()) {
        let t = tag(part)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn values(name: &str) -> String {
        match name {
            "requester.name" => "王小明".into(),
            "ticket.reference" => "2612-0345-678".into(),
            "agent.name" => "{{agent.name}}".into(),
            _ => String::new(),
        }
    }

    #[test]
    fn variables_are_filled_and_spaces_inside_the_braces_allowed() {
        let out = render(
            "{{requester.name}}様、{{ ticket.reference }} を承りました",
            values,
        );
        assert_eq!(out.as_deref(), Ok("王小明様、2612-0345-678 を承りました"));
    }

    #[test]
    fn a_value_that_looks_like_a_variable_stays_text() {
        assert_eq!(
            render("by {{agent.name}}", values).as_deref(),
            Ok("by {{agent.name}}")
        );
    }

    #[test]
    fn unknown_names_and_expressions_are_refused() {
        for (body, problem) in [
            ("{{7*7}}", BodyProblem::UnknownVariable("7*7".into())),
            (
                "{{ requester.password }}",
                BodyProblem::UnknownVariable("requester.password".into()),
            ),
            ("{{config}}", BodyProblem::UnknownVariable("config".into())),
            ("Hi {{requester.name", BodyProblem::Unclosed),
            ("   ", BodyProblem::Empty),
        ] {
            assert_eq!(check_body(body), Err(problem), "{body}");
        }
        assert_eq!(check_body("plain {single} braces"), Ok(()));
        assert_eq!(
            check_body(&"x".repeat(MAX_BODY_CHARS + 1)),
            Err(BodyProblem::TooLong)
        );
    }

    #[test]
    fn the_language_falls_back_to_its_primary_subtag_then_english() {
        let bodies: BTreeMap<String, String> =
            [("en", "hello"), ("ja", "こんにちは"), ("zh-TW", "您好")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(pick(&bodies, "ja"), Some("こんにちは"));
        assert_eq!(pick(&bodies, "ja-JP"), Some("こんにちは"));
        assert_eq!(pick(&bodies, "zh-TW"), Some("您好"));
        assert_eq!(pick(&bodies, "zh-CN"), Some("hello"));
        assert_eq!(pick(&bodies, "th"), Some("hello"));
        assert_eq!(pick(&BTreeMap::new(), "th"), None);
    }

    #[test]
    fn tags_are_one_word_each() {
        assert_eq!(
            tags(" VIP, 退款 ,vip,,"),
            Ok(vec!["vip".into(), "退款".into()])
        );
        assert_eq!(tag("two words"), Err(TagProblem::Separator));
        assert_eq!(tag("zero\u{200b}width"), Err(TagProblem::Separator));
        assert_eq!(tag(""), Err(TagProblem::Empty));
        assert_eq!(tag(&"a".repeat(41)), Err(TagProblem::TooLong));
        // Markup is only text here; the pages escape it.
        assert_eq!(tag("<b>x</b>").as_deref(), Ok("<b>x</b>"));
    }

    proptest! {
        #[test]
        fn text_without_braces_renders_as_itself(body in "[^{}]{1,200}") {
            prop_assume!(!body.trim().is_empty());
            prop_assert_eq!(render(&body, values), Ok(body.clone()));
        }

        #[test]
        fn rendering_never_panics(body in ".{0,200}") {
            let _ = render(&body, values);
            let _ = check_body(&body);
        }

        #[test]
        fn a_saved_tag_saves_again_unchanged(input in ".{0,60}") {
            if let Ok(t) = tag(&input) {
                prop_assert_eq!(tag(&t), Ok(t.clone()));
            }
        }
    }
}
