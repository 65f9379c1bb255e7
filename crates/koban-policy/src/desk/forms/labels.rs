//! What a custom field is called on the form, per language: its label, an
//! optional hint under it, and the words for a choice field's options.
//!
//! Labels are keyed by the five languages Koban speaks. A form shows the
//! viewer's language, else English, else the field's id (or the option's
//! id): an admin who writes only English still gets a usable form in every
//! language, and one who writes nothing still gets a form at all.

use super::{CustomField, CustomKind, SpecIssue, SpecProblem};
use crate::text::check_visible;
use std::collections::BTreeMap;

/// The languages a label may be written in (BCP 47, as the app tags them).
pub const LABEL_LANGUAGES: [&str; 5] = ["en", "zh-CN", "zh-TW", "ja", "th"];

/// The language every other falls back to.
pub const FALLBACK_LABEL_LANGUAGE: &str = "en";

/// The longest label (of a field or an option), in characters.
pub const MAX_LABEL_CHARS: usize = 200;

/// The longest hint, in characters.
pub const MAX_HINT_CHARS: usize = 500;

/// Text by language tag.
pub type Labels = BTreeMap<String, String>;

/// The text in `lang`, else in English, else none.
pub fn pick<'a>(labels: &'a Labels, lang: &str) -> Option<&'a str> {
    labels
        .get(lang)
        .or_else(|| labels.get(FALLBACK_LABEL_LANGUAGE))
        .map(String::as_str)
}

impl CustomField {
    /// The field's label in `lang`, else English, else its id.
    pub fn label(&self, lang: &str) -> &str {
        pick(&self.labels, lang).unwrap_or(&self.id)
    }

    /// The hint under the field in `lang`, else English, else none.
    pub fn hint(&self, lang: &str) -> Option<&str> {
        pick(&self.hints, lang)
    }

    /// The words for option `option` in `lang`, else English, else the
    /// option's id (which is what is stored either way).
    pub fn option_label<'a>(&'a self, option: &'a str, lang: &str) -> &'a str {
        self.option_labels
            .get(option)
            .and_then(|labels| pick(labels, lang))
            .unwrap_or(option)
    }

    /// The option ids of a choice field; none for other kinds.
    pub fn options(&self) -> &[String] {
        match &self.kind {
            CustomKind::Choice { options } => options,
            _ => &[],
        }
    }
}

/// Trims every label, hint and option label and drops the blank ones, as
/// a spec is saved: a label of spaces is no label, and a stray space must
/// not make two labels look different.
pub fn tidy(field: &mut CustomField) {
    tidy_map(&mut field.labels);
    tidy_map(&mut field.hints);
    for labels in field.option_labels.values_mut() {
        tidy_map(labels);
    }
    field.option_labels.retain(|_, labels| !labels.is_empty());
}

fn tidy_map(labels: &mut Labels) {
    for text in labels.values_mut() {
        let trimmed = text.trim();
        if trimmed.len() != text.len() {
            *text = trimmed.to_string();
        }
    }
    labels.retain(|_, text| !text.is_empty());
}

/// The problems of one field's labels, hints and option labels. English is
/// required as soon as anything is written, since it is the fallback of
/// every other language.
pub(super) fn check_labels(field: &CustomField, issues: &mut Vec<SpecIssue>) {
    let mut issue = |problem| {
        let issue = SpecIssue {
            at: field.id.clone(),
            problem,
        };
        if !issues.contains(&issue) {
            issues.push(issue);
        }
    };
    let maps = std::iter::once((&field.labels, MAX_LABEL_CHARS))
        .chain(std::iter::once((&field.hints, MAX_HINT_CHARS)))
        .chain(field.option_labels.values().map(|l| (l, MAX_LABEL_CHARS)));
    for (labels, max) in maps {
        for (lang, text) in labels {
            if !LABEL_LANGUAGES.contains(&lang.as_str()) {
                issue(SpecProblem::UnknownLanguage);
            }
            if text.chars().count() > max {
                issue(SpecProblem::LabelTooLong);
            }
            if text.trim().is_empty() || check_visible(text, false).is_err() {
                issue(SpecProblem::BadLabel);
            }
        }
    }
    let written = !field.labels.is_empty() || !field.hints.is_empty();
    if written && !field.labels.contains_key(FALLBACK_LABEL_LANGUAGE) {
        issue(SpecProblem::EnglishLabelRequired);
    }
    for (option, labels) in &field.option_labels {
        if !field.options().contains(option) {
            issue(SpecProblem::UnknownOption);
        }
        if !labels.is_empty() && !labels.contains_key(FALLBACK_LABEL_LANGUAGE) {
            issue(SpecProblem::EnglishLabelRequired);
        }
    }
}
