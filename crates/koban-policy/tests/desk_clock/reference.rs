//! Reference numbers: they survive the ways people write them, and the
//! check digit catches the ways people get them wrong.

use koban_policy::desk::reference::{
    check_digit, format, parse, Reference, ReferenceError, REFERENCE_DIGITS, REFERENCE_PATTERN,
};
use proptest::prelude::*;

fn regex(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).expect("a valid pattern")
}

/// Writes `s` the way a Japanese keyboard might: full-width digits and
/// full-width hyphens.
fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0xFF10 + (c as u32 - '0' as u32)).unwrap(),
            '-' => '\u{FF0D}',
            c => c,
        })
        .collect()
}

fn digits_string(d: &[u8]) -> String {
    d.iter().map(|d| char::from(b'0' + d)).collect()
}

#[test]
fn known_damm_values() {
    // The worked example from Damm's algorithm descriptions: 572 → 4.
    assert_eq!(check_digit(&[5, 7, 2]), 4);
    assert_eq!(check_digit(&[5, 7, 2, 4]), 0);
}

#[test]
fn shows_and_reads_the_grouped_form() {
    let r = Reference::from_random(0);
    assert_eq!(r.to_string().len(), REFERENCE_DIGITS);
    let shown = format(r);
    assert_eq!(shown.len(), 13);
    assert_eq!(&shown[4..5], "-");
    assert_eq!(&shown[9..10], "-");
    assert_eq!(parse(&shown), Ok(r));
    assert_eq!(shown.replace('-', ""), r.to_string());
}

#[test]
fn says_what_is_wrong() {
    let r = Reference::from_random(42).to_string();
    assert_eq!(parse(""), Err(ReferenceError::WrongLength { found: 0 }));
    assert_eq!(
        parse(&r[..10]),
        Err(ReferenceError::WrongLength { found: 10 })
    );
    assert_eq!(
        parse(&format!("{r}1")),
        Err(ReferenceError::WrongLength { found: 12 })
    );
    assert_eq!(
        parse(&"9".repeat(40)),
        Err(ReferenceError::WrongLength { found: 40 })
    );
    assert_eq!(
        parse(&format!("A{}", &r[1..])),
        Err(ReferenceError::NotADigit { found: 'A' })
    );
    assert_eq!(
        parse(&format!("{r}\n")),
        Err(ReferenceError::NotADigit { found: '\n' })
    );
    // Arabic-Indic digits are digits, but not ones a desk reads back.
    assert_eq!(parse("٠"), Err(ReferenceError::NotADigit { found: '٠' }));
    let last = r.as_bytes()[10] - b'0';
    let wrong = format!("{}{}", &r[..10], (last + 1) % 10);
    assert_eq!(parse(&wrong), Err(ReferenceError::WrongCheckDigit));
}

#[test]
fn stored_numbers_read_back_only_when_valid() {
    let r = Reference::from_random(7);
    assert_eq!(Reference::from_u64(r.as_u64()), Some(r));
    assert_eq!(Reference::from_u64(r.as_u64() + 1), None);
    assert_eq!(Reference::from_u64(u64::MAX), None);
    // A stored number with a leading zero is still eleven digits when shown.
    let zero_led = Reference::from_u64(0).expect("0000…0 checks to zero");
    assert_eq!(zero_led.to_string(), "00000000000");
}

proptest! {
    #[test]
    fn generated_numbers_parse_back(random in any::<u64>()) {
        let r = Reference::from_random(random);
        prop_assert_ne!(r.digits()[0], 0);
        prop_assert_eq!(parse(&r.to_string()), Ok(r));
        prop_assert_eq!(parse(&format(r)), Ok(r));
        prop_assert_eq!(r.to_string().parse::<Reference>(), Ok(r));
    }

    #[test]
    fn every_single_digit_substitution_is_refused(random in any::<u64>()) {
        let digits = Reference::from_random(random).digits();
        for at in 0..REFERENCE_DIGITS {
            for d in 0..10 {
                if d == digits[at] {
                    continue;
                }
                let mut typo = digits;
                typo[at] = d;
                prop_assert_eq!(parse(&digits_string(&typo)), Err(ReferenceError::WrongCheckDigit));
            }
        }
    }

    #[test]
    fn every_adjacent_transposition_is_refused(random in any::<u64>()) {
        let digits = Reference::from_random(random).digits();
        for at in 0..REFERENCE_DIGITS - 1 {
            if digits[at] == digits[at + 1] {
                continue;
            }
            let mut typo = digits;
            typo.swap(at, at + 1);
            prop_assert_eq!(parse(&digits_string(&typo)), Err(ReferenceError::WrongCheckDigit));
        }
    }

    #[test]
    fn written_forms_read_the_same(
        random in any::<u64>(),
        seps in proptest::collection::vec(
            prop::sample::select(vec!["", " ", "-", ".", "\u{3000}", "\u{FF0D}", "\u{2212}", "\u{30FC}", "  "]),
            REFERENCE_DIGITS + 1,
        ),
    ) {
        let r = Reference::from_random(random);
        let mut typed = String::new();
        for (i, c) in r.to_string().chars().enumerate() {
            typed.push_str(seps[i]);
            typed.push(c);
        }
        typed.push_str(seps[REFERENCE_DIGITS]);
        prop_assert_eq!(parse(&typed), Ok(r));
        prop_assert_eq!(parse(&full_width(&typed)), Ok(r));
        prop_assert_eq!(parse(&full_width(&format(r))), Ok(r));
        prop_assert!(regex(REFERENCE_PATTERN).is_match(&full_width(&typed)));
    }

    /// The published pattern and the parser agree on shape: a string that
    /// matches fails only on its check digit, and one that parses matches.
    #[test]
    fn the_pattern_describes_the_parser(s in "[0-9０-９ .\\-－−ー\u{3000}a]{0,16}") {
        let matches = regex(REFERENCE_PATTERN).is_match(&s);
        match parse(&s) {
            Ok(_) | Err(ReferenceError::WrongCheckDigit) => prop_assert!(matches, "{:?}", s),
            Err(_) => prop_assert!(!matches, "{:?}", s),
        }
    }

    #[test]
    fn matching_strings_fail_only_on_the_check_digit(
        s in proptest::string::string_regex(
            REFERENCE_PATTERN.trim_start_matches('^').trim_end_matches('$')
        ).unwrap()
    ) {
        prop_assert!(matches!(parse(&s), Ok(_) | Err(ReferenceError::WrongCheckDigit)), "{:?}", s);
    }
}
