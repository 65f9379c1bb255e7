//! Payment card numbers: 13 to 19 digits, grouped or not, that pass Luhn.
//!
//! Luhn is what tells a card from the many other long numbers in tickets
//! (order ids, reference numbers, phone numbers): nine in ten random digit
//! strings fail it, and a number that fails it is no card, so it is left
//! readable for the agent.

use super::chars::{
    after_mask_char, before, digit_runs, is_group_separator, is_word_char, DigitRun, MASK_CHAR,
};
use super::{Secret, SecretKind};

/// Digits in the shortest and longest card numbers (ISO/IEC 7812).
const CARD_DIGITS: std::ops::RangeInclusive<usize> = 13..=19;

/// Whether the digits pass the Luhn check.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// Card numbers in `text`.
///
/// Digit groups joined by one separator form a chain; within a chain the
/// leftmost, then longest, run of whole groups with 13–19 digits that
/// passes Luhn is a card, and the search goes on after it. Whole groups
/// only: a card is never cut out of the middle of a longer number. A group
/// right after a mask (`•••• 1234`) is the kept tail of a card already
/// masked, and never starts or joins a new one: that keeps masking
/// idempotent.
pub(super) fn find_cards(text: &str, out: &mut Vec<Secret>) {
    for chain in chains(text) {
        let mut i = 0;
        while i < chain.len() {
            // Groups are added only while the digits fit a card, so a long
            // chain costs linear time, not quadratic.
            let mut digits = String::new();
            let mut found = None;
            for (k, group) in chain.iter().enumerate().skip(i) {
                digits.push_str(&group.digits);
                if digits.len() > *CARD_DIGITS.end() {
                    break;
                }
                if CARD_DIGITS.contains(&digits.len()) && luhn_valid(&digits) {
                    found = Some(k);
                }
            }
            match found {
                Some(k) => {
                    out.push(Secret {
                        kind: SecretKind::CardNumber,
                        range: chain[i].start..chain[k].end,
                    });
                    i = k + 1;
                }
                None => i += 1,
            }
        }
    }
}

/// The card mask: four groups as cards are printed, the last four digits
/// kept so requester and agent can tell which card is meant. The length is
/// not kept: it would say which network issued the card.
pub(super) fn card_mask(text: &str, range: std::ops::Range<usize>) -> String {
    let digits: String = text
        .get(range)
        .unwrap_or("")
        .chars()
        .filter_map(super::chars::digit)
        .map(|d| char::from(b'0' + d))
        .collect();
    let last4 = digits.get(digits.len().saturating_sub(4)..).unwrap_or("");
    let dots: String = std::iter::repeat_n(MASK_CHAR, 4).collect();
    format!("{dots} {dots} {dots} {last4}")
}

fn chains(text: &str) -> Vec<Vec<DigitRun>> {
    let mut chains: Vec<Vec<DigitRun>> = Vec::new();
    let mut current: Vec<DigitRun> = Vec::new();
    for run in digit_runs(text) {
        if after_mask_char(text, run.start) {
            chains.push(std::mem::take(&mut current));
            continue;
        }
        let joined = current.last().is_some_and(|prev| {
            let gap = text.get(prev.end..run.start).unwrap_or("");
            let mut cs = gap.chars();
            matches!((cs.next(), cs.next()), (Some(c), None) if is_group_separator(c))
        });
        if !joined {
            chains.push(std::mem::take(&mut current));
        }
        current.push(run);
    }
    chains.push(current);
    // A chain glued to a word on either side is an identifier, not a card:
    // drop its glued end group.
    for chain in &mut chains {
        if chain
            .last()
            .is_some_and(|r| super::chars::at(text, r.end).is_some_and(is_word_char))
        {
            chain.pop();
        }
        if chain
            .first()
            .is_some_and(|r| before(text, r.start).is_some_and(is_word_char))
        {
            chain.remove(0);
        }
    }
    // A number after `+` is a phone number in international form, which can
    // reach 13 digits and pass Luhn by chance; no card is written so.
    chains.retain(|c| {
        c.first()
            .is_some_and(|r| !matches!(before(text, r.start), Some('+' | '＋')))
    });
    chains
}
