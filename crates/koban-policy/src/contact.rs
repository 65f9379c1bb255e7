//! Phone numbers and email addresses as people type them, turned into the one
//! canonical form an account is found by: E.164 for phones, lower-case ASCII
//! for email.

use crate::text::{check_visible, TextProblem};
use phonenumber::country::Id as CountryId;
use phonenumber::Mode;
use unicode_normalization::UnicodeNormalization;

/// A verified-able way to reach a person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Contact {
    /// E.164, e.g. `+819012345678`.
    Phone(String),
    /// Lower-case ASCII address, e.g. `mei@example.com`.
    Email(String),
}

impl Contact {
    /// The canonical string stored and looked up.
    pub fn as_str(&self) -> &str {
        match self {
            Contact::Phone(s) | Contact::Email(s) => s,
        }
    }

    /// `"phone"` or `"email"`: also the API field name.
    pub fn kind(&self) -> &'static str {
        match self {
            Contact::Phone(_) => "phone",
            Contact::Email(_) => "email",
        }
    }

    /// A form safe to show to someone who has not proven they own it:
    /// `+81******5678`, `m***@example.com`.
    pub fn masked(&self) -> String {
        match self {
            Contact::Phone(p) => {
                let keep_start = 3.min(p.len());
                let keep_end = 4.min(p.len().saturating_sub(keep_start));
                format!(
                    "{}{}{}",
                    &p[..keep_start],
                    "*".repeat(p.len() - keep_start - keep_end),
                    &p[p.len() - keep_end..]
                )
            }
            Contact::Email(e) => match e.split_once('@') {
                Some((local, domain)) => {
                    let first = local.chars().next().unwrap_or('*');
                    format!("{first}***@{domain}")
                }
                None => "***".to_string(),
            },
        }
    }
}

/// Why a phone number or email address was refused; `code()` is the API reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContactProblem {
    #[error("the value is empty")]
    Empty,
    #[error("the value is too long")]
    TooLong,
    #[error("the value contains a hidden or control character")]
    HiddenCharacter,
    #[error("a phone number may only contain digits, spaces, dashes, brackets and a leading +")]
    PhoneCharacters,
    #[error(
        "the number has no country code; start it with + and the country code, or give the region"
    )]
    PhoneAmbiguous,
    #[error("the region is not a known two-letter country code")]
    UnknownRegion,
    #[error("this is not a valid phone number")]
    PhoneInvalid,
    #[error("this is not a valid email address")]
    EmailInvalid,
    #[error("email addresses must be written in ASCII letters")]
    EmailNotAscii,
}

impl ContactProblem {
    /// Stable machine-readable reason for API clients.
    pub fn code(self) -> &'static str {
        match self {
            ContactProblem::Empty => "empty",
            ContactProblem::TooLong => "too_long",
            ContactProblem::HiddenCharacter => "hidden_character",
            ContactProblem::PhoneCharacters => "phone_characters",
            ContactProblem::PhoneAmbiguous => "phone_ambiguous",
            ContactProblem::UnknownRegion => "unknown_region",
            ContactProblem::PhoneInvalid => "phone_invalid",
            ContactProblem::EmailInvalid => "email_invalid",
            ContactProblem::EmailNotAscii => "email_not_ascii",
        }
    }
}

impl From<TextProblem> for ContactProblem {
    fn from(_: TextProblem) -> Self {
        ContactProblem::HiddenCharacter
    }
}

/// The longest phone number or email address accepted, in characters.
pub const MAX_INPUT_CHARS: usize = 254;

/// The shape of an address [`parse_email`] accepts, without anchors, each
/// domain label at most 63 characters. The rest of the lengths are left to
/// the schema's `maxLength` and words: at most 64 characters before the `@`
/// and [`MAX_INPUT_CHARS`] in all.
macro_rules! email_shape {
    () => {
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}|xn--[A-Za-z0-9-]{0,57}[A-Za-z0-9])"
    };
}

/// The characters [`parse_phone`] reads a number from, without anchors:
/// digits (also full-width), a leading `+`, and the spaces, dashes, dots and
/// brackets people group digits with. Whether the number exists is for the
/// numbering plan to say.
macro_rules! phone_shape {
    () => {
        r"[ (\u3000]*[+\uFF0B]?[0-9\uFF10-\uFF19 ().\u2010-\u2015\u3000-]*[0-9\uFF10-\uFF19][0-9\uFF10-\uFF19 ().\u2010-\u2015\u3000-]*"
    };
}

/// An email address as [`parse_email`] accepts it (before trimming), as a
/// regular expression for API documents.
pub const EMAIL_PATTERN: &str = concat!("^", email_shape!(), "$");

/// A phone number's characters as [`parse_phone`] accepts them, as a regular
/// expression for API documents.
pub const PHONE_PATTERN: &str = concat!("^", phone_shape!(), "$");

/// A phone number or an email address, as [`parse_identifier`] tells them apart.
pub const IDENTIFIER_PATTERN: &str = concat!("^(", email_shape!(), "|", phone_shape!(), ")$");

/// A region as [`parse_phone`] takes it: an ISO 3166 alpha-2 code, any case.
pub const REGION_PATTERN: &str = "^[A-Za-z]{2}$";

/// Either kind of identifier, told apart by the `@`.
pub fn parse_identifier(input: &str, region: Option<&str>) -> Result<Contact, ContactProblem> {
    if input.contains('@') || input.contains('＠') {
        parse_email(input)
    } else {
        parse_phone(input, region)
    }
}

/// Parses an international phone number. Full-width digits and ideographic
/// spaces (common on CJK keyboards) are accepted; a number without a country
/// code is refused unless `region` (ISO 3166 alpha-2) says where it is from.
pub fn parse_phone(input: &str, region: Option<&str>) -> Result<Contact, ContactProblem> {
    if input.chars().count() > MAX_INPUT_CHARS {
        return Err(ContactProblem::TooLong);
    }
    check_visible(input, false)?;
    let folded: String = input.nfkc().collect();
    let compact: String = folded
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '\u{2010}'..='\u{2015}'))
        .collect();
    if compact.is_empty() {
        return Err(ContactProblem::Empty);
    }
    let (plus, digits) = match compact.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, compact.as_str()),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(ContactProblem::PhoneCharacters);
    }
    if digits.len() > 17 {
        return Err(ContactProblem::PhoneInvalid);
    }
    let country = match region.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => Some(
            r.to_ascii_uppercase()
                .parse::<CountryId>()
                .map_err(|_| ContactProblem::UnknownRegion)?,
        ),
        None => None,
    };
    if !plus && country.is_none() {
        return Err(ContactProblem::PhoneAmbiguous);
    }
    let text = if plus {
        format!("+{digits}")
    } else {
        digits.to_string()
    };
    let number = phonenumber::parse(country, &text).map_err(|_| ContactProblem::PhoneInvalid)?;
    if !number.is_valid() {
        return Err(ContactProblem::PhoneInvalid);
    }
    Ok(Contact::Phone(number.format().mode(Mode::E164).to_string()))
}

/// A stored E.164 number as people write it in its own country
/// (`+819012345678` → `090-1234-5678`); anything unparsable as it is.
pub fn display_phone(e164: &str) -> String {
    match phonenumber::parse(None, e164) {
        Ok(number) if number.is_valid() => number.format().mode(Mode::National).to_string(),
        _ => e164.to_string(),
    }
}

/// Parses an email address into lower-case ASCII. Deliberately stricter than
/// RFC 5322 (no quoted local parts, no comments, no IP literals): these are
/// addresses we must be able to deliver a code to and show an agent.
pub fn parse_email(input: &str) -> Result<Contact, ContactProblem> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(ContactProblem::Empty);
    }
    if trimmed.chars().count() > MAX_INPUT_CHARS {
        return Err(ContactProblem::TooLong);
    }
    check_visible(trimmed, false)?;
    if !trimmed.is_ascii() {
        return Err(ContactProblem::EmailNotAscii);
    }
    let lower = trimmed.to_ascii_lowercase();
    let (local, domain) = lower.split_once('@').ok_or(ContactProblem::EmailInvalid)?;
    if !valid_local_part(local) || !valid_domain(domain) {
        return Err(ContactProblem::EmailInvalid);
    }
    Ok(Contact::Email(lower))
}

fn valid_local_part(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-.";
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c))
}

fn valid_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let tld = labels[labels.len() - 1];
    let tld_ok =
        tld.len() >= 2 && (tld.chars().all(|c| c.is_ascii_alphabetic()) || tld.starts_with("xn--"));
    tld_ok
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn numbers_show_in_their_national_format() {
        assert_eq!(display_phone("+819012345678"), "090-1234-5678");
        assert_eq!(display_phone("+8613800138000"), "138 0013 8000");
        assert_eq!(display_phone("+66812345678"), "081 234 5678");
        assert_eq!(display_phone("not a number"), "not a number");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_in_the_shapes_people_type_them() {
        let ok = [
            ("+81 90-1234-5678", None, "+819012345678"),
            ("＋８１ ９０１２ ３４５６７８", None, "+819012345678"),
            ("090-1234-5678", Some("JP"), "+819012345678"),
            ("(415) 555-2671", Some("us"), "+14155552671"),
            ("+86 138 0013 8000", None, "+8613800138000"),
            ("+66 81 234 5678", None, "+66812345678"),
            ("+886 912 345 678", None, "+886912345678"),
            ("+81\u{3000}90 1234 5678", None, "+819012345678"),
        ];
        for (input, region, want) in ok {
            assert_eq!(
                parse_phone(input, region),
                Ok(Contact::Phone(want.into())),
                "{input}"
            );
        }
    }

    #[test]
    fn bad_phones_say_why() {
        let bad = [
            ("", None, ContactProblem::Empty),
            ("090-1234-5678", None, ContactProblem::PhoneAmbiguous),
            ("+81 90 1234 567a", None, ContactProblem::PhoneCharacters),
            ("+1 555", None, ContactProblem::PhoneInvalid),
            ("+999 1234567", None, ContactProblem::PhoneInvalid),
            ("0901234", Some("XX"), ContactProblem::UnknownRegion),
            (
                "+81\u{200B}9012345678",
                None,
                ContactProblem::HiddenCharacter,
            ),
            (
                "+81 90 1234 5678'; DROP TABLE accounts;--",
                None,
                ContactProblem::PhoneCharacters,
            ),
        ];
        for (input, region, want) in bad {
            assert_eq!(parse_phone(input, region), Err(want), "{input:?}");
        }
    }

    #[test]
    fn emails_are_lower_cased_and_strict() {
        assert_eq!(
            parse_email(" Mei.Lin@Example.COM "),
            Ok(Contact::Email("mei.lin@example.com".into()))
        );
        assert_eq!(
            parse_email("a+tag@sub.example.co.jp"),
            Ok(Contact::Email("a+tag@sub.example.co.jp".into()))
        );
        let bad = [
            ("no-at-sign", ContactProblem::EmailInvalid),
            ("a@b", ContactProblem::EmailInvalid),
            ("a..b@example.com", ContactProblem::EmailInvalid),
            ("a@-example.com", ContactProblem::EmailInvalid),
            ("<script>@example.com", ContactProblem::EmailInvalid),
            ("mei@exаmple.com", ContactProblem::EmailNotAscii),
            ("mei\u{200D}@example.com", ContactProblem::HiddenCharacter),
            ("a@b@example.com", ContactProblem::EmailInvalid),
        ];
        for (input, want) in bad {
            assert_eq!(parse_email(input), Err(want), "{input:?}");
        }
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(
            Contact::Phone("+819012345678".into()).masked(),
            "+81******5678"
        );
        assert_eq!(
            Contact::Email("mei@example.com".into()).masked(),
            "m***@example.com"
        );
    }

    #[test]
    fn identifier_is_told_apart_by_at_sign() {
        assert_eq!(
            parse_identifier("MEI@example.com", None).map(|c| c.kind()),
            Ok("email")
        );
        assert_eq!(
            parse_identifier("+819012345678", None).map(|c| c.kind()),
            Ok("phone")
        );
    }
}
