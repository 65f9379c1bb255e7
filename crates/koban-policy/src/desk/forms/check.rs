//! Whether a submitted form gives what its spec asks, field by field.

use super::{CustomField, CustomKind, Field, FieldRef, FormSpec};
use crate::contact::parse_email;
use crate::text::check_visible;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// How far in the future `happened_at` may be: phones' clocks drift and
/// people round up, but "tomorrow" is a typo worth pointing out.
pub const FUTURE_TOLERANCE_SECONDS: i64 = 15 * 60;

/// At most this many unknown field names are reported; a bot posting
/// thousands should not make the error response as large.
pub const MAX_UNKNOWN_REPORTED: usize = 20;

/// Unknown names are echoed back cut to this many characters.
pub const MAX_UNKNOWN_REPORTED_CHARS: usize = 64;

/// Why a submitted value was refused. [`Problem::code`] is stable: the app
/// keys its translations on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Longer than the field allows.
    TooLong,
    /// A control, invisible or bidi character (see [`crate::text`]).
    HiddenCharacter,
    /// `happened_at` is not an RFC 3339 date-time with an offset.
    NotADateTime,
    /// `happened_at` is later than now plus [`FUTURE_TOLERANCE_SECONDS`].
    InTheFuture,
    /// `client_version` is not dotted digits.
    NotAVersion,
    /// `contact_used` is neither an email address nor a phone number.
    NotAContact,
    /// A choice value that is not one of the options.
    NotAnOption,
    /// A number field that is not a decimal number.
    NotANumber,
    /// A date field that is not `YYYY-MM-DD`.
    NotADate,
    /// `screenshot` is not a list of attachment ids.
    NotAnAttachment,
    /// The same field was submitted twice.
    Duplicate,
    /// A checkbox value other than `true` or `false`.
    NotTrueOrFalse,
    /// A required checkbox left unticked.
    MustBeChecked,
}

impl Problem {
    /// The stable snake_case code, e.g. `"in_the_future"`.
    pub fn code(self) -> &'static str {
        match self {
            Problem::TooLong => "too_long",
            Problem::HiddenCharacter => "hidden_character",
            Problem::NotADateTime => "not_a_date_time",
            Problem::InTheFuture => "in_the_future",
            Problem::NotAVersion => "not_a_version",
            Problem::NotAContact => "not_a_contact",
            Problem::NotAnOption => "not_an_option",
            Problem::NotANumber => "not_a_number",
            Problem::NotADate => "not_a_date",
            Problem::NotAnAttachment => "not_an_attachment",
            Problem::Duplicate => "duplicate",
            Problem::NotTrueOrFalse => "not_true_or_false",
            Problem::MustBeChecked => "must_be_checked",
        }
    }
}

/// What [`check`] found. A form may be submitted when
/// [`Completeness::is_complete`] holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completeness {
    /// Required fields absent or blank, in the form's order.
    pub missing: Vec<FieldRef>,
    /// Fields given with a value that was refused, in submission order.
    pub invalid: Vec<(FieldRef, Problem)>,
    /// Submitted names this form does not have (at most
    /// [`MAX_UNKNOWN_REPORTED`], each cut to [`MAX_UNKNOWN_REPORTED_CHARS`]).
    pub unknown: Vec<String>,
    /// 0 to 100: how much of what support wants is there. Required fields
    /// weigh 80 points, optional ones 20, so a form with all it must have
    /// scores at least 80 and the page can still nudge for a screenshot.
    pub score: u8,
}

impl Completeness {
    /// Nothing missing, nothing refused, nothing unknown.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.invalid.is_empty() && self.unknown.is_empty()
    }
}

/// Checks a submission (field name, value pairs, as posted) against a
/// spec. Values are trimmed; a blank value counts as not given. `now` is
/// the server's clock, for `happened_at`.
///
/// Subject and body are required even if a spec forgets them. A field of
/// Koban's that this form does not list is unknown, like any other name:
/// accepting it silently would store data the admin chose not to collect.
pub fn check(spec: &FormSpec, submission: &[(String, String)], now: Timestamp) -> Completeness {
    let mut fields: Vec<FieldRef> = Vec::new();
    let mut required: Vec<FieldRef> = Vec::new();
    for f in Field::ALWAYS_REQUIRED.iter().chain(&spec.required) {
        push_once(&mut required, FieldRef::Standard(*f));
    }
    for c in spec.custom.iter().filter(|c| c.required) {
        push_once(&mut required, FieldRef::Custom(c.id.clone()));
    }
    for r in &required {
        push_once(&mut fields, r.clone());
    }
    for f in &spec.optional {
        push_once(&mut fields, FieldRef::Standard(*f));
    }
    for c in &spec.custom {
        push_once(&mut fields, FieldRef::Custom(c.id.clone()));
    }

    let mut given: Vec<FieldRef> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut invalid = Vec::new();
    let mut unknown = Vec::new();
    for (name, value) in submission {
        let Some(field) = fields.iter().find(|f| f.id() == name) else {
            let shown: String = name.chars().take(MAX_UNKNOWN_REPORTED_CHARS).collect();
            if unknown.len() < MAX_UNKNOWN_REPORTED && !unknown.contains(&shown) {
                unknown.push(shown);
            }
            continue;
        };
        if seen.contains(&name.as_str()) {
            if !invalid.contains(&(field.clone(), Problem::Duplicate)) {
                invalid.push((field.clone(), Problem::Duplicate));
            }
            given.retain(|g| g != field);
            continue;
        }
        seen.push(name);
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let verdict = match field {
            FieldRef::Standard(f) => check_standard(*f, value, now),
            FieldRef::Custom(id) => match spec.custom.iter().find(|c| &c.id == id) {
                Some(c) => check_custom(c, value),
                None => Ok(()),
            },
        };
        match verdict {
            Ok(()) => given.push(field.clone()),
            Err(p) => invalid.push((field.clone(), p)),
        }
    }

    let missing: Vec<FieldRef> = required
        .iter()
        .filter(|r| !is_given_or_invalid(r, &given, &invalid))
        .cloned()
        .collect();
    let optional_total = fields.len() - required.len();
    let required_ok = required.iter().filter(|r| given.contains(r)).count();
    let optional_ok = given.iter().filter(|g| !required.contains(g)).count();
    let score = score(required_ok, required.len(), optional_ok, optional_total);
    Completeness {
        missing,
        invalid,
        unknown,
        score,
    }
}

fn push_once(list: &mut Vec<FieldRef>, f: FieldRef) {
    if !list.contains(&f) {
        list.push(f);
    }
}

/// A field given with a refused value is reported once, as invalid, not
/// also as missing: the requester should fix the value, not look for it.
fn is_given_or_invalid(f: &FieldRef, given: &[FieldRef], invalid: &[(FieldRef, Problem)]) -> bool {
    given.contains(f) || invalid.iter().any(|(i, _)| i == f)
}

fn score(required_ok: usize, required: usize, optional_ok: usize, optional: usize) -> u8 {
    // A part with no fields is fully satisfied.
    let part =
        |ok: usize, all: usize, weight: usize| (weight * ok).checked_div(all).unwrap_or(weight);
    let points = if optional == 0 {
        part(required_ok, required, 100)
    } else {
        part(required_ok, required, 80) + part(optional_ok, optional, 20)
    };
    u8::try_from(points.min(100)).unwrap_or(100)
}

/// Longest value per standard field, in characters.
fn max_chars(f: Field) -> usize {
    match f {
        Field::Subject => 200,
        Field::Body | Field::Steps => 10_000,
        Field::ErrorText => 4_000,
        Field::DeviceOs => 64,
        Field::DeviceOsVersion | Field::ClientVersion => 32,
        Field::HappenedAt => 64,
        Field::ContactUsed => 254,
        Field::Screenshot => 1_000,
    }
}

fn check_text(value: &str, max: usize, multiline: bool) -> Result<(), Problem> {
    if value.chars().count() > max {
        return Err(Problem::TooLong);
    }
    check_visible(value, multiline).map_err(|_| Problem::HiddenCharacter)
}

fn check_standard(f: Field, value: &str, now: Timestamp) -> Result<(), Problem> {
    let multiline = matches!(f, Field::Body | Field::Steps | Field::ErrorText);
    check_text(value, max_chars(f), multiline)?;
    // Full-width digits, colons and plus signs come from CJK keyboards.
    let folded: String = value.nfkc().collect();
    match f {
        Field::HappenedAt => {
            let at: Timestamp = folded.parse().map_err(|_| Problem::NotADateTime)?;
            if at.as_second() > now.as_second().saturating_add(FUTURE_TOLERANCE_SECONDS) {
                return Err(Problem::InTheFuture);
            }
            Ok(())
        }
        Field::ClientVersion if !is_dotted_digits(&folded) => Err(Problem::NotAVersion),
        Field::ContactUsed if !is_contact_shape(&folded) => Err(Problem::NotAContact),
        Field::Screenshot if !is_attachment_list(value) => Err(Problem::NotAnAttachment),
        _ => Ok(()),
    }
}

fn check_custom(c: &CustomField, value: &str) -> Result<(), Problem> {
    // A checkbox holds one of two words whatever its `max_len` says.
    if c.kind == CustomKind::Checkbox {
        return match value {
            "true" => Ok(()),
            "false" if c.required => Err(Problem::MustBeChecked),
            "false" => Ok(()),
            _ => Err(Problem::NotTrueOrFalse),
        };
    }
    let max = usize::try_from(c.max_len).unwrap_or(usize::MAX);
    let multiline = matches!(c.kind, CustomKind::Text { multiline: true });
    check_text(value, max, multiline)?;
    match &c.kind {
        CustomKind::Text { .. } => Ok(()),
        CustomKind::Number => {
            let folded: String = value.nfkc().collect();
            is_decimal(&folded).then_some(()).ok_or(Problem::NotANumber)
        }
        CustomKind::Choice { options } => options
            .iter()
            .any(|o| o == value)
            .then_some(())
            .ok_or(Problem::NotAnOption),
        CustomKind::Checkbox => Ok(()),
        CustomKind::Date => {
            let folded: String = value.nfkc().collect();
            let shaped = folded.len() == 10 && folded.as_bytes().get(4) == Some(&b'-');
            match folded.parse::<jiff::civil::Date>() {
                Ok(_) if shaped => Ok(()),
                _ => Err(Problem::NotADate),
            }
        }
    }
}

/// `13`, `13.4`, `13.4.2.1`: what app stores show as a version.
fn is_dotted_digits(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() <= 4
        && parts
            .iter()
            .all(|p| (1..=6).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

/// An optional minus, up to 15 digits, an optional fraction of up to 6.
fn is_decimal(s: &str) -> bool {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits =
        |p: &str, max: usize| (1..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    digits(int, 15) && frac.is_none_or(|f| digits(f, 6))
}

/// An email address as sign-in accepts it, or something with a phone's
/// shape: 6 to 17 digits with the usual separators and perhaps a `+`.
/// Only the shape: the requester may type the number the local way, and an
/// agent reads it with the account's region in view.
fn is_contact_shape(s: &str) -> bool {
    if s.contains('@') {
        return parse_email(s).is_ok();
    }
    let compact: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '\u{2010}'..='\u{2015}'))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    (6..=17).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Up to 10 attachment ids (what the upload endpoint returned), separated by
/// commas.
fn is_attachment_list(s: &str) -> bool {
    let ids: Vec<&str> = s.split(',').map(str::trim).collect();
    ids.len() <= 10
        && ids.iter().all(|id| {
            (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}
