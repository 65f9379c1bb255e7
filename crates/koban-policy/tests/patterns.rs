//! The regular expressions API documents publish say what the parsing
//! functions accept: strings made from a pattern are accepted, and strings
//! the functions accept match the pattern.

use koban_policy::contact::{parse_email, EMAIL_PATTERN, IDENTIFIER_PATTERN, PHONE_PATTERN};
use koban_policy::device::{
    valid_device_id, CLIENT_VERSION_PATTERN, DEVICE_ID_PATTERN, DEVICE_NAME_HEADER_PATTERN,
    MAX_NAME_CHARS,
};
use koban_policy::password::NEW_PASSWORD_PATTERN;
use koban_policy::text::{check_visible, NAME_PATTERN, SINGLE_LINE_PATTERN};
use proptest::prelude::*;

fn unanchored(pattern: &str) -> &str {
    pattern.trim_start_matches('^').trim_end_matches('$')
}

fn regex(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).expect("a valid pattern")
}

fn from(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
    proptest::string::string_regex(unanchored(pattern))
        .expect("a pattern proptest can generate from")
}

proptest! {
    #[test]
    fn single_line_text_matching_the_pattern_is_visible(s in from(SINGLE_LINE_PATTERN)) {
        prop_assert!(check_visible(&s, false).is_ok(), "{s:?}");
    }

    #[test]
    fn visible_text_matches_the_single_line_pattern(s in any::<String>()) {
        prop_assert_eq!(check_visible(&s, false).is_ok(), regex(SINGLE_LINE_PATTERN).is_match(&s), "{:?}", s);
    }

    /// What the server takes in `X-Koban-Device-Name`: trimmed, not empty, at
    /// most the name length, visible (a header is ASCII).
    #[test]
    fn device_name_headers_matching_the_pattern_are_taken(s in from(DEVICE_NAME_HEADER_PATTERN)) {
        let name = s.trim();
        prop_assert!(!name.is_empty() && name.chars().count() <= MAX_NAME_CHARS, "{s:?}");
        prop_assert!(check_visible(name, false).is_ok(), "{s:?}");
    }

    /// What the server takes in `X-Koban-Client-Version`: at most 32 visible ASCII characters.
    #[test]
    fn client_versions_match_the_pattern_exactly(s in "[ -~]{0,40}") {
        let taken = s.len() <= 32 && s.bytes().all(|b| b.is_ascii_graphic());
        prop_assert_eq!(taken, regex(CLIENT_VERSION_PATTERN).is_match(&s), "{:?}", s);
    }

    #[test]
    fn names_matching_the_pattern_survive_trimming(s in from(NAME_PATTERN)) {
        prop_assert!(!s.trim().is_empty() && check_visible(s.trim(), false).is_ok(), "{s:?}");
    }

}

proptest! {
    // Most strings the generator makes break a length rule the pattern leaves out.
    #![proptest_config(ProptestConfig { max_global_rejects: 1 << 16, ..ProptestConfig::default() })]

    #[test]
    fn emails_matching_the_pattern_are_accepted(s in from(EMAIL_PATTERN)) {
        let (local, domain) = s.split_once('@').expect("an @");
        // The pattern leaves lengths to maxLength and the description.
        prop_assume!(s.len() <= 254 && local.len() <= 64 && domain.split('.').all(|l| l.len() <= 63));
        prop_assert!(parse_email(&s).is_ok(), "{s:?}");
        prop_assert!(regex(IDENTIFIER_PATTERN).is_match(&s));
    }
}

proptest! {
    #[test]
    fn accepted_emails_match_the_pattern(local in "[a-z0-9.+_-]{1,20}", domain in "[a-z0-9.-]{1,20}") {
        let s = format!("{local}@{domain}");
        if parse_email(&s).is_ok() {
            prop_assert!(regex(EMAIL_PATTERN).is_match(&s), "{s:?}");
        }
    }

    #[test]
    fn device_ids_match_exactly(s in "[A-Za-z0-9._~ -]{0,140}") {
        prop_assert_eq!(valid_device_id(&s), regex(DEVICE_ID_PATTERN).is_match(&s));
    }

    #[test]
    fn new_passwords_without_controls_match(s in any::<String>()) {
        prop_assert_eq!(
            s.chars().any(char::is_control),
            !regex(NEW_PASSWORD_PATTERN).is_match(&s)
        );
    }
}

#[test]
fn phones_people_type_match_the_pattern() {
    for phone in [
        "+81 90-1234-5678",
        "＋８１ ９０１２ ３４５６７８",
        "090-1234-5678",
        "(415) 555-2671",
        "+81\u{3000}90 1234 5678",
    ] {
        assert!(regex(PHONE_PATTERN).is_match(phone), "{phone}");
        assert!(regex(IDENTIFIER_PATTERN).is_match(phone), "{phone}");
    }
    for not_a_phone in ["", "+", "abc", "+81 90 1234 567a"] {
        assert!(!regex(PHONE_PATTERN).is_match(not_a_phone), "{not_a_phone}");
    }
}
