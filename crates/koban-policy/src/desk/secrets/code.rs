//! One-time verification codes: 6 to 8 digits near a word for "code".
//!
//! Six digits alone are too common (amounts, dates, order numbers) to mask
//! on sight; next to "code", "验证码" or "認証コード" they are what an
//! attacker asks a victim to forward, and what an agent must never need.

use super::chars::{
    after_mask_char, at, back_chars, before, digit_runs, forward_chars, is_word_char,
};
use super::{Secret, SecretKind};

/// Digits in a one-time code.
const CODE_DIGITS: std::ops::RangeInclusive<usize> = 6..=8;

/// How far before the digits a keyword may be, in characters
/// ("your verification code for sign-in is 123456").
const BEFORE_CHARS: usize = 32;

/// How far after ("123456 is your code", "123456は認証コードです").
const AFTER_CHARS: usize = 16;

/// Keywords in lower case. ASCII ones must stand as words.
const KEYWORDS: [&str; 20] = [
    "code",
    "codes",
    "otp",
    "pin",
    "verification",
    "验证码",
    "驗證碼",
    "校验码",
    "校驗碼",
    "动态码",
    "動態碼",
    "认证码",
    "認證碼",
    "确认码",
    "確認碼",
    "コード",
    "認証番号",
    "確認番号",
    "ワンタイム",
    "รหัส",
];

/// Words that, right before "code", make it some other kind of code: an
/// error code must stay readable for the agent.
const NOT_SECRET_BEFORE: [&str; 9] = [
    "error ",
    "error_",
    "status ",
    "zip ",
    "postal ",
    "post ",
    "area ",
    "country ",
    "エラー",
];

/// Separators that glue digit groups into one longer number
/// (`090-123456`, `3.141592`); a run next to one is part of that number.
const NUMBER_GLUE: [char; 4] = ['-', '.', '/', ','];

/// Verification codes in `text`, found through `lower` (its ASCII-lower-cased
/// copy, with the same byte offsets).
pub(super) fn find_codes(text: &str, lower: &str, out: &mut Vec<Secret>) {
    for run in digit_runs(text) {
        if !CODE_DIGITS.contains(&run.digits.len())
            || glued(text, run.start, run.end)
            || after_mask_char(text, run.start)
        {
            continue;
        }
        let from = back_chars(lower, run.start, BEFORE_CHARS);
        let to = forward_chars(lower, run.end, AFTER_CHARS);
        // The nearest word before the digits is their label: after "error
        // code" they are an error code, whatever "QR code" follows.
        let near = match last_keyword(lower, from, run.start) {
            Some(secret) => secret,
            None => keywords(lower, run.end, to).any(|secret| secret),
        };
        if near {
            out.push(Secret {
                kind: SecretKind::VerificationCode,
                range: run.start..run.end,
            });
        }
    }
}

/// Whether the run is part of an identifier or a longer number.
fn glued(text: &str, start: usize, end: usize) -> bool {
    let (prev, next) = (before(text, start), at(text, end));
    if prev.is_some_and(is_word_char) || next.is_some_and(is_word_char) {
        return true;
    }
    let digit_beyond = |c: Option<char>, pos: Option<usize>| {
        c.is_some_and(|c| NUMBER_GLUE.contains(&c))
            && pos.is_some_and(|p| {
                before(text, p).is_some_and(|c| super::chars::digit(c).is_some())
                    || at(text, p).is_some_and(|c| super::chars::digit(c).is_some())
            })
    };
    digit_beyond(prev, prev.map(|c| start - c.len_utf8()))
        || digit_beyond(next, next.map(|c| end + c.len_utf8()))
}

/// The keywords standing as words in `lower[from..to]`, in order of
/// position, each true unless a word before it makes it a non-secret code.
fn keywords(lower: &str, from: usize, to: usize) -> impl Iterator<Item = bool> + '_ {
    let window = lower.get(from..to).unwrap_or("");
    let mut hits: Vec<(usize, bool)> = KEYWORDS
        .iter()
        .flat_map(|k| {
            window
                .match_indices(k)
                .map(move |(i, _)| (from + i, from + i + k.len()))
        })
        .filter(|&(start, end)| {
            let glue = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            let ascii = lower.get(start..end).is_some_and(str::is_ascii);
            !ascii || (!glue(before(lower, start)) && !glue(at(lower, end)))
        })
        .map(|(start, _)| {
            let head = lower.get(..start).unwrap_or("");
            (start, !NOT_SECRET_BEFORE.iter().any(|w| head.ends_with(w)))
        })
        .collect();
    hits.sort_unstable();
    hits.into_iter().map(|(_, secret)| secret)
}

/// Whether the last keyword in the window marks a secret; `None` if there
/// is no keyword.
fn last_keyword(lower: &str, from: usize, to: usize) -> Option<bool> {
    keywords(lower, from, to).last()
}
