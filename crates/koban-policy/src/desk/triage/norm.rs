//! Normalised text and the tokens the learned layer counts.
//!
//! Phrases and tickets go through the same [`normalize`], so a phrase written
//! once in simplified Chinese also matches its traditional and Japanese
//! spellings, and `ＬＯＧＩＮ`, `Login` and `login` are one word.
//!
//! Tokens are slices of the normalised string: Latin words whole, Han, Kana,
//! Hangul and Bopomofo runs as single characters plus overlapping bigrams
//! (there are no spaces to split on and no dictionary to segment with), Thai
//! runs as character bigrams. Nothing is allocated per token.

use unicode_normalization::UnicodeNormalization;

use super::hanzi;

/// Appends the normalised form of `s` to `out`: NFKC (full-width Latin to
/// half-width, half-width Kana to full-width), lower case, traditional and
/// shinjitai Han folded to simplified, apostrophes dropped (`can't` = `cant`),
/// invisible characters removed and every run of white space or control
/// characters made one space.
pub(super) fn normalize_into(s: &str, out: &mut String) {
    let mut pending_space = !out.is_empty() && !out.ends_with(' ');
    for c in s.nfkc() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        if is_dropped(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c.is_uppercase() {
            out.extend(c.to_lowercase().map(hanzi::fold));
        } else {
            out.push(hanzi::fold(c));
        }
    }
}

/// [`normalize_into`] into a new string.
pub(super) fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    normalize_into(s, &mut out);
    out
}

fn is_dropped(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2018}' | '\u{2019}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}'
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Letters and digits of alphabetic scripts: tokens are whole words.
    Word,
    /// Han, Kana, Hangul, Bopomofo: unigrams and bigrams.
    Cjk,
    /// Thai and Lao: bigrams (no spaces, vowels and tone marks join the run).
    Thai,
    /// Punctuation, symbols, spaces: separators.
    Other,
}

fn class(c: char) -> Class {
    match c as u32 {
        0x0E00..=0x0EFF => Class::Thai,
        0x1100..=0x11FF
        | 0x3005
        | 0x3040..=0x30FF
        | 0x3100..=0x312F
        | 0x3130..=0x318F
        | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF
        | 0x20000..=0x2FFFF => Class::Cjk,
        _ if c.is_alphanumeric() => Class::Word,
        _ => Class::Other,
    }
}

/// Calls `f` with every token of the normalised text `norm`, in text order.
pub(super) fn for_each_token<'a>(norm: &'a str, mut f: impl FnMut(&'a str)) {
    let mut run_start = 0;
    let mut run_class = Class::Other;
    for (i, c) in norm.char_indices() {
        let k = class(c);
        if k != run_class {
            emit_run(&norm[run_start..i], run_class, &mut f);
            run_start = i;
            run_class = k;
        }
    }
    emit_run(&norm[run_start..], run_class, &mut f);
}

fn emit_run<'a>(run: &'a str, class: Class, f: &mut impl FnMut(&'a str)) {
    match class {
        Class::Other => {}
        Class::Word => {
            // Lone letters and bare numbers (phone numbers, codes, counts)
            // say nothing about the problem and would only dilute it.
            let mut chars = run.chars();
            let single = chars.next().is_some() && chars.next().is_none();
            if !single && !run.bytes().all(|b| b.is_ascii_digit()) {
                f(run);
            }
        }
        Class::Cjk | Class::Thai => {
            let mut prev: Option<usize> = None;
            let mut count = 0;
            for (i, c) in run.char_indices() {
                let end = i + c.len_utf8();
                if class == Class::Cjk {
                    f(&run[i..end]);
                }
                if let Some(p) = prev {
                    f(&run[p..end]);
                }
                prev = Some(i);
                count += 1;
            }
            if class == Class::Thai && count == 1 {
                f(run);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<String> {
        let norm = normalize(s);
        let mut out = Vec::new();
        for_each_token(&norm, |t| out.push(t.to_string()));
        out
    }

    #[test]
    fn normalises_width_case_script_and_space() {
        assert_eq!(
            normalize("ＬＯＧＩＮ  Can’t\n\t驗證碼"),
            "login cant 验证码"
        );
        assert_eq!(normalize("ｶﾀｶﾅ"), "カタカナ");
        assert_eq!(normalize("a\u{200B}b"), "ab");
    }

    #[test]
    fn cjk_runs_give_unigrams_and_bigrams_latin_gives_words() {
        assert_eq!(
            tokens("收不到code 123 x"),
            ["收", "不", "收不", "到", "不到", "code"]
        );
        assert_eq!(
            tokens("ログイン"),
            ["ロ", "グ", "ログ", "イ", "グイ", "ン", "イン"]
        );
    }

    #[test]
    fn thai_runs_give_bigrams() {
        assert_eq!(tokens("รหัส"), ["รห", "หั", "ัส"]);
        assert_eq!(tokens("ก"), ["ก"]);
    }
}
