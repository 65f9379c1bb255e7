//! Whether a form an admin edited can be saved.

use super::{CustomKind, Field, FormSpec};
use crate::text::check_visible;
use serde::{Deserialize, Serialize};

/// A custom field's id: a lower-case letter, then up to 31 lower-case
/// letters, digits or underscores. It is a submitted field name and a
/// translation key, so it stays plain ASCII.
pub const CUSTOM_ID_PATTERN: &str = "^[a-z][a-z0-9_]{0,31}$";

/// Custom fields per form: past this a form stops being filled in.
pub const MAX_CUSTOM_FIELDS: usize = 20;

/// Options per choice field.
pub const MAX_OPTIONS: usize = 50;

/// Characters per option id.
pub const MAX_OPTION_CHARS: usize = 64;

/// The largest `max_len` a custom field may have, in characters.
pub const MAX_CUSTOM_LEN: u32 = 10_000;

/// What is wrong with a spec; `code()` is the stable reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecProblem {
    /// A standard field listed twice (also: both required and optional).
    DuplicateField,
    /// Subject or body is not in the required list.
    MustBeRequired,
    /// A custom id that does not match [`CUSTOM_ID_PATTERN`].
    BadCustomId,
    /// Two custom fields with one id.
    DuplicateCustomId,
    /// A custom id that is a standard field's name.
    CustomIdTaken,
    /// A choice field with no options.
    ChoiceWithoutOptions,
    /// More than [`MAX_OPTIONS`] options.
    TooManyOptions,
    /// An option that is blank, too long or holds hidden characters.
    BadOption,
    /// The same option twice in one choice field.
    DuplicateOption,
    /// `max_len` of 0 or above [`MAX_CUSTOM_LEN`].
    MaxLenOutOfRange,
    /// More than [`MAX_CUSTOM_FIELDS`] custom fields.
    TooManyFields,
    /// A label or hint in a language not in [`super::LABEL_LANGUAGES`].
    UnknownLanguage,
    /// A label over [`super::MAX_LABEL_CHARS`] characters (a hint over
    /// [`super::MAX_HINT_CHARS`]).
    LabelTooLong,
    /// A blank label, or one with hidden characters.
    BadLabel,
    /// Labels or hints given without an English label, the fallback of
    /// every language.
    EnglishLabelRequired,
    /// Labels for an option the field does not have.
    UnknownOption,
}

impl SpecProblem {
    /// The stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            SpecProblem::DuplicateField => "duplicate_field",
            SpecProblem::MustBeRequired => "must_be_required",
            SpecProblem::BadCustomId => "bad_custom_id",
            SpecProblem::DuplicateCustomId => "duplicate_custom_id",
            SpecProblem::CustomIdTaken => "custom_id_taken",
            SpecProblem::ChoiceWithoutOptions => "choice_without_options",
            SpecProblem::TooManyOptions => "too_many_options",
            SpecProblem::BadOption => "bad_option",
            SpecProblem::DuplicateOption => "duplicate_option",
            SpecProblem::MaxLenOutOfRange => "max_len_out_of_range",
            SpecProblem::TooManyFields => "too_many_fields",
            SpecProblem::UnknownLanguage => "unknown_language",
            SpecProblem::LabelTooLong => "label_too_long",
            SpecProblem::BadLabel => "bad_label",
            SpecProblem::EnglishLabelRequired => "english_label_required",
            SpecProblem::UnknownOption => "unknown_option",
        }
    }
}

/// One problem, and the field it is about (a field id, or the form's
/// category id for problems of the whole form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecIssue {
    /// The field id the problem is about.
    pub at: String,
    /// What is wrong.
    pub problem: SpecProblem,
}

/// Every problem in a spec, so the admin fixes them in one go; `Ok` when
/// the spec can be saved.
pub fn validate_spec(spec: &FormSpec) -> Result<(), Vec<SpecIssue>> {
    let mut issues = Vec::new();
    let mut issue = |at: &str, problem| {
        issues.push(SpecIssue {
            at: at.to_string(),
            problem,
        })
    };

    let mut listed: Vec<Field> = Vec::new();
    for f in spec.required.iter().chain(&spec.optional) {
        if listed.contains(f) {
            issue(f.as_str(), SpecProblem::DuplicateField);
        } else {
            listed.push(*f);
        }
    }
    for f in Field::ALWAYS_REQUIRED {
        if !spec.required.contains(&f) {
            issue(f.as_str(), SpecProblem::MustBeRequired);
        }
    }
    if spec.custom.len() > MAX_CUSTOM_FIELDS {
        issue(spec.category.as_str(), SpecProblem::TooManyFields);
    }

    let mut ids: Vec<&str> = Vec::new();
    let mut label_issues = Vec::new();
    for c in &spec.custom {
        if !is_custom_id(&c.id) {
            issue(&c.id, SpecProblem::BadCustomId);
        } else if Field::parse(&c.id).is_ok() {
            issue(&c.id, SpecProblem::CustomIdTaken);
        } else if ids.contains(&c.id.as_str()) {
            issue(&c.id, SpecProblem::DuplicateCustomId);
        }
        ids.push(&c.id);
        super::labels::check_labels(c, &mut label_issues);
        if c.max_len == 0 || c.max_len > MAX_CUSTOM_LEN {
            issue(&c.id, SpecProblem::MaxLenOutOfRange);
        }
        if let CustomKind::Choice { options } = &c.kind {
            if options.is_empty() {
                issue(&c.id, SpecProblem::ChoiceWithoutOptions);
            }
            if options.len() > MAX_OPTIONS {
                issue(&c.id, SpecProblem::TooManyOptions);
            }
            if options.iter().any(|o| !is_option(o)) {
                issue(&c.id, SpecProblem::BadOption);
            }
            let has_duplicate = options
                .iter()
                .enumerate()
                .any(|(i, o)| options[..i].contains(o));
            if has_duplicate {
                issue(&c.id, SpecProblem::DuplicateOption);
            }
        }
    }
    issues.extend(label_issues);
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

/// Mirrors [`CUSTOM_ID_PATTERN`].
pub(super) fn is_custom_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (1..=32).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// An option is compared to the trimmed submitted value, so it must itself
/// be trimmed, or it could never be chosen.
fn is_option(o: &str) -> bool {
    !o.is_empty()
        && o.trim() == o
        && o.chars().count() <= MAX_OPTION_CHARS
        && check_visible(o, false).is_ok()
}
