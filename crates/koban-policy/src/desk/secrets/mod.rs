//! Secrets requesters paste into tickets — passwords, one-time codes, card
//! numbers, recovery codes, authenticator secrets — found and masked before agents, notifications or the search
//! index see them.
//!
//! People in trouble write "my password is hunter2" or forward the SMS
//! "验证码 482913" to support; a helpdesk that stores and shows that turns
//! every agent and every email copy into a leak. The stored original stays
//! with the ticket under access control; everything that fans out (agent
//! view by default, notification emails, LINE pushes, the search index)
//! gets [`mask`]'s output.
//!
//! Detection errs toward masking: a missed secret leaks, an extra mask
//! costs an agent one question. The exceptions are deliberate: a number that
//! fails Luhn is no card, and six digits without a word for "code" nearby
//! are an amount or an order number, which agents need to read.
#![warn(missing_docs)]

mod card;
mod chars;
mod code;
mod password;
mod totp;

#[cfg(test)]
mod tests;

pub use card::luhn_valid;

use serde::{Deserialize, Serialize};
use std::ops::Range;

/// What replaces a password or a code. Fixed, so the length of the secret
/// is not given away.
pub const MASK: &str = "••••••";

/// What kind of secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// 13–19 digits passing Luhn; masked to `•••• •••• •••• 1234`.
    CardNumber,
    /// 6–8 digits near a word for "code"; masked to [`MASK`].
    VerificationCode,
    /// A Koban recovery code (`xxxxx-xxxxx`); masked to [`MASK`].
    RecoveryCode,
    /// An authenticator secret (base32 after "secret"/"key", or an
    /// `otpauth://` URI's `secret=`); masked to [`MASK`].
    TotpSecret,
    /// The value after a password label; masked to [`MASK`].
    Password,
}

/// A secret's kind and where its value is: byte offsets into the text
/// given, on character boundaries. The label ("password:") is not part of
/// it and stays readable, so the agent knows what was there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    /// What was found.
    pub kind: SecretKind,
    /// Where its value is in the original text.
    pub range: Range<usize>,
}

/// Passes of [`mask`] at most. Each pass masks what it finds and looks
/// again, since a mask shorter than what it replaced can bring a keyword
/// within reach of a code; only a pass that finds nothing proves the output
/// idempotent. Every pass strictly lowers the count of characters that are
/// not `•`, so the loop ends; one or two passes are the rule, and the bound
/// only guards against a detector bug.
const MAX_PASSES: usize = 16;

/// Every secret in `text`, ordered, not overlapping.
pub fn find(text: &str) -> Vec<Secret> {
    mask(text).1
}

/// `text` with each secret's value replaced, and the secrets found (with
/// ranges into `text`). Masking masked text changes nothing; text without
/// secrets comes back as it was.
pub fn mask(text: &str) -> (String, Vec<Secret>) {
    let mut current = text.to_string();
    let mut found: Vec<Secret> = Vec::new();
    // Each pass's edits, to carry later finds back to the original offsets.
    let mut history: Vec<Vec<Edit>> = Vec::new();
    for _ in 0..MAX_PASSES {
        let secrets = detect(&current);
        if secrets.is_empty() {
            break;
        }
        for s in &secrets {
            let mut range = s.range.clone();
            for edits in history.iter().rev() {
                range = map_back(edits, range.start, true)..map_back(edits, range.end, false);
            }
            found.push(Secret {
                kind: s.kind,
                range,
            });
        }
        let (next, edits) = apply(&current, &secrets);
        current = next;
        history.push(edits);
    }
    (current, merge(found))
}

/// One pass of the detectors, overlaps merged.
fn detect(text: &str) -> Vec<Secret> {
    let lower = text.to_ascii_lowercase();
    let mut candidates = Vec::new();
    password::find_passwords(text, &lower, &mut candidates);
    card::find_cards(text, &mut candidates);
    code::find_codes(text, &lower, &mut candidates);
    totp::find_second_factor(text, &lower, &mut candidates);
    merge(candidates)
}

/// Sorts and joins overlapping secrets into one covering both, of the kind
/// masked hardest: a password typed as a card number loses its last four
/// digits too.
fn merge(mut secrets: Vec<Secret>) -> Vec<Secret> {
    secrets.sort_by_key(|s| (s.range.start, s.range.end));
    let mut merged: Vec<Secret> = Vec::new();
    for s in secrets {
        match merged.last_mut() {
            Some(last) if s.range.start < last.range.end => {
                last.range.end = last.range.end.max(s.range.end);
                last.kind = last.kind.max(s.kind);
            }
            _ => merged.push(s),
        }
    }
    merged
}

/// A replacement made by [`apply`]: `new` in the output stands for `old`
/// in the input.
struct Edit {
    old: Range<usize>,
    new: Range<usize>,
}

fn apply(text: &str, secrets: &[Secret]) -> (String, Vec<Edit>) {
    let mut out = String::with_capacity(text.len());
    let mut edits = Vec::with_capacity(secrets.len());
    let mut copied = 0;
    for s in secrets {
        out.push_str(text.get(copied..s.range.start).unwrap_or(""));
        let replacement = match s.kind {
            SecretKind::CardNumber => card::card_mask(text, s.range.clone()),
            _ => MASK.to_string(),
        };
        let start = out.len();
        out.push_str(&replacement);
        edits.push(Edit {
            old: s.range.clone(),
            new: start..out.len(),
        });
        copied = s.range.end;
    }
    out.push_str(text.get(copied..).unwrap_or(""));
    (out, edits)
}

/// Carries an offset of a pass's output back to its input. An offset
/// inside a replacement widens to the whole replaced value (`start` picks
/// its beginning, otherwise its end), so a later find never exposes part
/// of an earlier one.
fn map_back(edits: &[Edit], pos: usize, start: bool) -> usize {
    let mut shifted = pos;
    for e in edits {
        if pos >= e.new.end {
            shifted = e.old.end + (pos - e.new.end);
        } else if pos > e.new.start {
            return if start { e.old.start } else { e.old.end };
        } else {
            break;
        }
    }
    shifted
}
