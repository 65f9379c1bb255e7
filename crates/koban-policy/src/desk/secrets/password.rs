//! Passwords written after a label: `password: hunter2`, `密码是abc123`,
//! `パスワードは xyz です`, `รหัสผ่านคือ abc`, `pw=abc`.
//!
//! A label alone is not enough: "I reset my password yesterday" holds no
//! secret. A separator (a colon, `=`, or a word for "is") must follow, so
//! what comes after is the value. Only a CJK or Thai label may be followed
//! directly by an ASCII or quoted value (`密码abc123`, `密碼「abc」`), as
//! people write it in chat.

use super::chars::{is_colon, MASK_CHAR};
use super::{Secret, SecretKind};

/// Labels in lower case; longer first where one begins another.
const LABELS: [&str; 15] = [
    "password",
    "passwort",
    "passcode",
    "passwd",
    "pass",
    "pwd",
    "pw",
    "密码",
    "密碼",
    "口令",
    "パスワード",
    "暗証番号",
    "รหัสผ่าน",
    "비밀번호",
    "mật khẩu",
];

/// Words that mean "is" between a label and its value.
const IS_WORDS: [&str; 7] = ["is", "was", "是", "为", "為", "は", "คือ"];

/// What follows "password is" in error messages and complaints, not in
/// disclosures: "password is incorrect" must stay readable.
const NOT_VALUES: [&str; 40] = [
    "a",
    "accepted",
    "also",
    "an",
    "being",
    "case",
    "changed",
    "correct",
    "different",
    "empty",
    "expired",
    "fine",
    "forgotten",
    "incorrect",
    "invalid",
    "locked",
    "long",
    "lost",
    "missing",
    "my",
    "needed",
    "not",
    "now",
    "ok",
    "rejected",
    "required",
    "reset",
    "right",
    "same",
    "sent",
    "set",
    "short",
    "still",
    "strong",
    "the",
    "there",
    "too",
    "valid",
    "weak",
    "wrong",
];

/// Thai possessives people put between the label and "is" ("my password is").
const THAI_FILLERS: [&str; 4] = ["ของฉัน", "ของผม", "ของดิฉัน", "ของหนู"];

/// Characters that end an unquoted value: sentence punctuation of CJK text.
const STOPS: &str = "，。、；！？）」』】〉》";

/// Quote pairs a value may be wrapped in.
const QUOTES: [(char, char); 6] = [
    ('"', '"'),
    ('\'', '\''),
    ('「', '」'),
    ('『', '』'),
    ('“', '”'),
    ('‘', '’'),
];

/// The longest quoted value, in characters: past it, the quote is not a
/// password's but the start of a sentence.
const MAX_QUOTED_CHARS: usize = 64;

/// The most characters masked as one value. Longer runs are not passwords
/// people type, and the bound keeps a pasted blob of `pw=pw=pw=…` linear.
const MAX_VALUE_CHARS: usize = 256;

/// Passwords in `text`, found through `lower` (its ASCII-lower-cased copy,
/// which has the same byte offsets).
pub(super) fn find_passwords(text: &str, lower: &str, out: &mut Vec<Secret>) {
    for label in LABELS {
        for (at, _) in lower.match_indices(label) {
            let end = at + label.len();
            if label.is_ascii() && !ascii_word_bounded(lower, at, end) {
                continue;
            }
            if let Some(range) = value_after_label(text, end, !label.is_ascii()) {
                out.push(Secret {
                    kind: SecretKind::Password,
                    range,
                });
            }
        }
    }
}

fn ascii_word_bounded(lower: &str, start: usize, end: usize) -> bool {
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    !glued(super::chars::before(lower, start)) && !glued(super::chars::at(lower, end))
}

/// The value's byte range after a label ending at `pos`, if a separator
/// and a value follow.
fn value_after_label(
    text: &str,
    mut pos: usize,
    cjk_label: bool,
) -> Option<std::ops::Range<usize>> {
    let rest = text.get(pos..)?;
    let direct = cjk_label
        && rest.chars().next().is_some_and(|c| {
            c.is_ascii_alphanumeric() || QUOTES.iter().any(|(open, _)| *open == c)
        });
    if !direct {
        pos += skip_spaces(text, pos, 0)?;
        let here = text.get(pos..).unwrap_or("");
        if let Some(filler) = THAI_FILLERS.iter().find(|f| here.starts_with(*f)) {
            pos += filler.len();
        }
        let (len, worded) = separator(text, pos)?;
        pos += len;
        pos += skip_spaces(text, pos, 1)?;
        return value(text, pos, worded);
    }
    value(text, pos, false)
}

/// Bytes of white space at `pos`, allowing at most `newlines` line breaks
/// (a value on the line after `Password:` still counts).
fn skip_spaces(text: &str, pos: usize, newlines: usize) -> Option<usize> {
    let mut seen = 0;
    let mut len = 0;
    for c in text.get(pos..)?.chars() {
        if !c.is_whitespace() {
            break;
        }
        if c == '\n' {
            seen += 1;
            if seen > newlines {
                return None;
            }
        }
        len += c.len_utf8();
    }
    Some(len)
}

/// Bytes of the separator at `pos` (a colon, or an "is" word perhaps
/// followed by a colon), and whether it was a word.
fn separator(text: &str, pos: usize) -> Option<(usize, bool)> {
    let rest = text.get(pos..)?;
    if let Some(c) = rest.chars().next().filter(|c| is_colon(*c)) {
        return Some((c.len_utf8(), false));
    }
    let lower_start: String = rest
        .chars()
        .take(4)
        .collect::<String>()
        .to_ascii_lowercase();
    let word = IS_WORDS.iter().find(|w| lower_start.starts_with(*w))?;
    let after = rest.get(word.len()..)?;
    if word.is_ascii() && !after.starts_with(char::is_whitespace) {
        return None;
    }
    let spaces = skip_spaces(text, pos + word.len(), 0)?;
    let colon = after
        .get(spaces..)
        .and_then(|s| s.chars().next())
        .filter(|c| is_colon(*c))
        .map_or(0, char::len_utf8);
    Some((word.len() + spaces + colon, colon == 0))
}

/// The value at `pos`: a quoted string, or a run up to white space or CJK
/// punctuation. A value that starts in ASCII ends where ASCII ends
/// (`密码是abc123请帮我` holds `abc123`). A value that is already a mask is
/// no secret: that keeps masking idempotent.
///
/// After a word rather than a colon the value must start in ASCII and not
/// be a common word: "パスワードは忘れました" ("I forgot the password") and
/// "password is wrong" are sentences, not disclosures.
fn value(text: &str, pos: usize, worded: bool) -> Option<std::ops::Range<usize>> {
    let rest = text.get(pos..)?;
    let first = rest.chars().next()?;
    let quote = QUOTES.iter().any(|(open, _)| *open == first);
    if first == MASK_CHAR || first.is_control() || (worded && !first.is_ascii() && !quote) {
        return None;
    }
    if let Some((_, close)) = QUOTES.iter().find(|(open, _)| *open == first) {
        let inner = pos + first.len_utf8();
        let inside = text.get(inner..).unwrap_or("");
        let quoted = inside
            .char_indices()
            .take(MAX_QUOTED_CHARS)
            .take_while(|(_, c)| *c != '\n')
            .find(|(_, c)| c == close);
        if let Some((len, _)) = quoted {
            return (len > 0 && !inside.starts_with(MASK_CHAR)).then_some(inner..inner + len);
        }
    }
    let ascii = first.is_ascii();
    let len: usize = rest
        .chars()
        .take(MAX_VALUE_CHARS)
        .take_while(|c| {
            !c.is_whitespace() && !c.is_control() && !STOPS.contains(*c) && (!ascii || c.is_ascii())
        })
        .map(char::len_utf8)
        .sum();
    let word = rest.get(..len).unwrap_or("");
    let bare = word
        .trim_end_matches(|c: char| c.is_ascii_punctuation())
        .to_ascii_lowercase();
    if worded && NOT_VALUES.contains(&bare.as_str()) {
        return None;
    }
    (len > 0).then_some(pos..pos + len)
}
