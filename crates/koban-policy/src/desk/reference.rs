//! Ticket reference numbers: what a requester reads aloud on the phone,
//! types on a keypad and pastes from a mail. Digits only, because letters
//! are spelled differently in every language the desk serves and are hard
//! to type on a phone keypad. Ten random digits and a Damm check digit: the
//! check digit catches every single wrong digit and every swap of two
//! neighbours, the two mistakes people make copying numbers, so a typo
//! answers "not a valid number" instead of someone else's ticket.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Digits in a reference, check digit included.
pub const REFERENCE_DIGITS: usize = 11;
/// Random digits in a reference (the rest is the check digit).
pub const RANDOM_DIGITS: usize = REFERENCE_DIGITS - 1;

/// Characters [`parse`] skips between digits: ASCII and no-break space,
/// the ideographic space, the full stop, hyphens and dashes, the minus sign,
/// the full-width hyphen-minus and the katakana long-vowel mark (which
/// Japanese input methods give for "-").
macro_rules! separator_class {
    () => {
        r"\u0020\u00A0\u3000.\-\u2010-\u2015\u2212\u30FC\uFF0D"
    };
}

/// What [`parse`] accepts, for API documents: eleven ASCII or full-width
/// digits with separators anywhere. The check digit is beyond a pattern.
pub const REFERENCE_PATTERN: &str = concat!(
    "^[",
    separator_class!(),
    r"]*(?:[0-9\uFF10-\uFF19][",
    separator_class!(),
    "]*){11}$"
);

fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{A0}' | '\u{3000}' | '.' | '-' | '\u{2010}'
            ..='\u{2015}' | '\u{2212}' | '\u{30FC}' | '\u{FF0D}'
    )
}

/// The ASCII or full-width digit's value.
fn digit_value(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '\u{FF10}'..='\u{FF19}' => Some((c as u32 - 0xFF10) as u8),
        _ => None,
    }
}

/// Damm's quasigroup of order 10 (weakly totally anti-symmetric), from his
/// 2004 thesis. A row is the interim digit, a column the next digit.
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// The Damm check digit of `digits` (each 0–9); appending it makes the
/// whole run check to zero.
pub fn check_digit(digits: &[u8]) -> u8 {
    digits.iter().fold(0, |interim, &d| {
        DAMM[usize::from(interim)][usize::from(d % 10)]
    })
}

/// Why a typed reference was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("a reference number has only digits; {found:?} is not one")]
    NotADigit { found: char },
    #[error("a reference number has {REFERENCE_DIGITS} digits, not {found}")]
    WrongLength { found: usize },
    #[error("this is not a valid reference number; check for a mistyped digit")]
    WrongCheckDigit,
}

/// A valid reference. Holds the digits as a number (below 10^11, so it
/// fits a BIGINT column); shown and serialized as the 11-digit string,
/// leading zeros kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference(u64);

impl Reference {
    /// A new reference from a random number the caller drew (all 64 bits
    /// random). The first digit is never 0, so a spreadsheet or a person
    /// dropping "leading zeros" cannot shorten it; the bias of reducing 64
    /// bits to 9·10^9 values is below one in a billion.
    pub fn from_random(random: u64) -> Reference {
        const LOW: u64 = 1_000_000_000;
        let body = LOW + random % (9 * LOW);
        Reference(body * 10 + u64::from(check_digit(&digits_of(body, RANDOM_DIGITS))))
    }

    /// The reference stored as a number, read back. `None` unless it is a
    /// valid reference.
    pub fn from_u64(value: u64) -> Option<Reference> {
        (value < 10u64.pow(REFERENCE_DIGITS as u32)
            && check_digit(&digits_of(value, REFERENCE_DIGITS)) == 0)
            .then_some(Reference(value))
    }

    /// The number to store.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// The digits, most significant first.
    pub fn digits(self) -> [u8; REFERENCE_DIGITS] {
        let mut out = [0; REFERENCE_DIGITS];
        out.copy_from_slice(&digits_of(self.0, REFERENCE_DIGITS));
        out
    }
}

fn digits_of(mut value: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    for slot in out.iter_mut().rev() {
        *slot = (value % 10) as u8;
        value /= 10;
    }
    out
}

/// The reference as people see it: `2612-0345-678`. Groups of four, four
/// and three are what people read aloud and hold in mind in one go.
pub fn format(reference: Reference) -> String {
    let s = reference.to_string();
    format!("{}-{}-{}", &s[..4], &s[4..8], &s[8..])
}

/// Reads a reference as people type it: with or without separators,
/// in ASCII or full-width digits (see [`REFERENCE_PATTERN`]).
pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
    let mut value: u64 = 0;
    let mut count = 0;
    for c in input.chars() {
        if is_separator(c) {
            continue;
        }
        let d = digit_value(c).ok_or(ReferenceError::NotADigit { found: c })?;
        count += 1;
        // Keep counting past eleven so the error says how many there were,
        // but stop accumulating so the number cannot overflow.
        if count <= REFERENCE_DIGITS {
            value = value * 10 + u64::from(d);
        }
    }
    if count != REFERENCE_DIGITS {
        return Err(ReferenceError::WrongLength { found: count });
    }
    Reference::from_u64(value).ok_or(ReferenceError::WrongCheckDigit)
}

impl fmt::Display for Reference {
    /// The canonical form: eleven digits, no separators.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:011}", self.0)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Reference, ReferenceError> {
        parse(s)
    }
}

impl Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Reference {
    /// Lenient like [`parse`], so a client may send what the user typed.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Reference, D::Error> {
        let s = String::deserialize(deserializer)?;
        parse(&s).map_err(serde::de::Error::custom)
    }
}
