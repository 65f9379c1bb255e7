//! Second-factor material: Koban's recovery codes and authenticator
//! (TOTP) secrets. Either one, pasted into a ticket, lets whoever reads it
//! pass the second factor for good, so both are masked.

use super::chars::{back_chars, before, MASK_CHAR};
use super::{Secret, SecretKind};

/// Koban's recovery-code alphabet (no `0 1 i l o`), as the security
/// service generates them: `xxxxx-xxxxx`.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Words near which an all-letter `xxxxx-xxxxx` is taken for a recovery
/// code; with a digit in it, the shape alone is enough.
const RECOVERY_WORDS: [&str; 9] = [
    "recovery",
    "backup",
    "恢复",
    "復原",
    "备用",
    "備用",
    "リカバリ",
    "バックアップ",
    "กู้คืน",
];

/// Words near which a base32 run is an authenticator secret.
const TOTP_WORDS: [&str; 13] = [
    "secret",
    "totp",
    "2fa",
    "authenticator",
    "setup key",
    "key",
    "密钥",
    "密鑰",
    "金鑰",
    "シークレット",
    "キー",
    "คีย์",
    "รหัสลับ",
];

/// How far before the value a keyword may be, in characters.
const KEYWORD_CHARS: usize = 48;

/// Base32 characters in the shortest authenticator secret (80 bits).
const MIN_TOTP_CHARS: usize = 16;

/// Recovery codes and TOTP secrets in `text`, through `lower` (its
/// ASCII-lower-cased copy, with the same byte offsets).
pub(super) fn find_second_factor(text: &str, lower: &str, out: &mut Vec<Secret>) {
    find_recovery_codes(lower, out);
    find_otpauth_secrets(lower, out);
    find_base32_secrets(text, lower, out);
}

fn find_recovery_codes(lower: &str, out: &mut Vec<Secret>) {
    let bytes = lower.as_bytes();
    let in_alphabet = |r: std::ops::Range<usize>| {
        bytes
            .get(r)
            .is_some_and(|s| s.iter().all(|b| RECOVERY_ALPHABET.contains(b)))
    };
    let glued = |i: Option<usize>| {
        i.and_then(|i| bytes.get(i))
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    };
    for (dash, _) in lower.match_indices('-') {
        let Some(start) = dash.checked_sub(5) else {
            continue;
        };
        let end = dash + 6;
        if !in_alphabet(start..dash) || !in_alphabet(dash + 1..end) {
            continue;
        }
        if glued(start.checked_sub(1)) || glued(Some(end)) {
            continue;
        }
        let has_digit = bytes[start..end].iter().any(u8::is_ascii_digit);
        if has_digit || keyword_before(lower, start, &RECOVERY_WORDS) {
            out.push(Secret {
                kind: SecretKind::RecoveryCode,
                range: start..end,
            });
        }
    }
}

/// The `secret=` parameter of an `otpauth://` URI, as in the QR code.
fn find_otpauth_secrets(lower: &str, out: &mut Vec<Secret>) {
    for (at, _) in lower.match_indices("otpauth://") {
        let uri_len = lower[at..]
            .find(|c: char| c.is_whitespace())
            .unwrap_or(lower.len() - at);
        let uri = &lower[at..at + uri_len];
        for key in ["?secret=", "&secret="] {
            if let Some(i) = uri.find(key) {
                let start = at + i + key.len();
                let len = lower[start..at + uri_len]
                    .find('&')
                    .unwrap_or(at + uri_len - start);
                if len > 0 && !lower[start..].starts_with(MASK_CHAR) {
                    out.push(Secret {
                        kind: SecretKind::TotpSecret,
                        range: start..start + len,
                    });
                }
            }
        }
    }
}

/// A base32 run (`JBSWY3DPEHPK3PXP`, or grouped by four, `JBSW Y3DP EHPK
/// 3PXP`) of at least [`MIN_TOTP_CHARS`] after a word for "secret" or
/// "key". Upper case or holding a digit 2–7: how authenticator setup pages
/// show them, and unlike a long word.
fn find_base32_secrets(text: &str, lower: &str, out: &mut Vec<Secret>) {
    let is_b32 = |c: char| c.is_ascii_alphabetic() || ('2'..='7').contains(&c);
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let starts = is_b32(char::from(bytes[i]))
            && before(text, i).is_none_or(|c| !c.is_ascii_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        // Groups of four joined by one space, or a single unbroken run.
        let mut end = i;
        let mut count = 0;
        loop {
            let run = bytes[end..]
                .iter()
                .take_while(|b| is_b32(char::from(**b)))
                .count();
            count += run;
            end += run;
            let grouped = run == 4 && bytes.get(end) == Some(&b' ');
            let next_is_b32 = bytes.get(end + 1).is_some_and(|b| is_b32(char::from(*b)));
            if !(grouped && next_is_b32) {
                break;
            }
            end += 1;
        }
        let bounded = bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
        let value = &text[i..end];
        let looks_generated = value.chars().any(|c| ('2'..='7').contains(&c))
            || value.chars().all(|c| !c.is_ascii_lowercase());
        if bounded
            && count >= MIN_TOTP_CHARS
            && looks_generated
            && keyword_before(lower, i, &TOTP_WORDS)
        {
            out.push(Secret {
                kind: SecretKind::TotpSecret,
                range: i..end,
            });
        }
        i = end.max(i + 1);
    }
}

fn keyword_before(lower: &str, at: usize, words: &[&str]) -> bool {
    let from = back_chars(lower, at, KEYWORD_CHARS);
    lower
        .get(from..at)
        .is_some_and(|w| words.iter().any(|k| w.contains(k)))
}
