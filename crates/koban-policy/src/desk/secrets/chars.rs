//! Character classes the detectors share. They read the text as typed:
//! full-width digits and colons from CJK keyboards count like ASCII ones,
//! and offsets stay those of the original text (nothing is normalised
//! first, or the ranges would not point into it).

/// The character a masked value is made of.
pub(super) const MASK_CHAR: char = '•';

/// The value of an ASCII or full-width digit.
pub(super) fn digit(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '０'..='９' => u8::try_from(c as u32 - '０' as u32).ok(),
        _ => None,
    }
}

/// What people put between groups of a card number: one space, a dash
/// (ASCII, typographic or full-width), an ideographic or no-break space.
pub(super) fn is_group_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '\u{00A0}' | '\u{2010}'..='\u{2015}' | '\u{3000}' | '－'
    )
}

/// A colon or equals sign, ASCII or full-width.
pub(super) fn is_colon(c: char) -> bool {
    matches!(c, ':' | '：' | '=' | '＝')
}

/// A character that glues onto a number or word: next to one, a digit run
/// is part of an identifier (`ORD123456`), not a secret of its own.
pub(super) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || digit(c).is_some()
}

/// The character before byte `at`, if any.
pub(super) fn before(text: &str, at: usize) -> Option<char> {
    text.get(..at).and_then(|s| s.chars().next_back())
}

/// The character at byte `at`, if any.
pub(super) fn at(text: &str, at: usize) -> Option<char> {
    text.get(at..).and_then(|s| s.chars().next())
}

/// Byte offset `n` characters before `at` (or 0).
pub(super) fn back_chars(text: &str, at: usize, n: usize) -> usize {
    text.get(..at)
        .and_then(|s| s.char_indices().rev().take(n).last())
        .map_or(at, |(i, _)| i)
}

/// Byte offset `n` characters after `at` (or the end).
pub(super) fn forward_chars(text: &str, at: usize, n: usize) -> usize {
    text.get(at..)
        .and_then(|s| s.char_indices().nth(n))
        .map_or(text.len(), |(i, _)| at + i)
}

/// A maximal run of digits: its byte range and its ASCII digits.
pub(super) struct DigitRun {
    pub start: usize,
    pub end: usize,
    pub digits: String,
}

/// Every maximal run of digits in `text`.
pub(super) fn digit_runs(text: &str) -> Vec<DigitRun> {
    let mut runs: Vec<DigitRun> = Vec::new();
    let mut current: Option<DigitRun> = None;
    for (i, c) in text.char_indices() {
        match (digit(c), current.as_mut()) {
            (Some(d), Some(run)) => {
                run.digits.push(char::from(b'0' + d));
                run.end = i + c.len_utf8();
            }
            (Some(d), None) => {
                current = Some(DigitRun {
                    start: i,
                    end: i + c.len_utf8(),
                    digits: char::from(b'0' + d).to_string(),
                });
            }
            (None, _) => runs.extend(current.take()),
        }
    }
    runs.extend(current);
    runs
}

/// Whether byte `start` directly follows a mask, or a mask and one
/// separator: the digits there are the kept tail of a masked card (`•••• 1234`)
/// and never start a new secret, which keeps masking idempotent.
pub(super) fn after_mask_char(text: &str, start: usize) -> bool {
    match before(text, start) {
        Some(sep) if is_group_separator(sep) => {
            before(text, start - sep.len_utf8()) == Some(MASK_CHAR)
        }
        Some(MASK_CHAR) => true,
        _ => false,
    }
}
