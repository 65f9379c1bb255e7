//! Text to search tokens, without a dictionary, for the scripts Koban's
//! people write: Latin and other alphabets become lower-cased words with
//! accents folded; Han, Hiragana, Katakana and Hangul runs become
//! overlapping bigrams (as Lucene's CJK analyzer does); Thai, written without
//! spaces between words, becomes overlapping bigrams of character clusters.
//!
//! Thai is not cut into words by a segmenter: ICU4X's LSTM model (measured
//! cost in BENCHMARKS.md) cuts the same word differently alone and in a
//! sentence (`ลืมรหัส|ผ่าน` in "ลืมรหัสผ่าน…" but `รหัส|ผ่าน` as a query), so a
//! query would miss the tickets it names. Cluster bigrams match any
//! substring, as CJK bigrams do, with no model and no dictionary.
//!
//! Positions are real, so phrase queries work: a word takes one position, a
//! CJK run one position per character (the bigram starting at a character
//! takes its position). Tantivy's n-gram tokenizer puts every token at 0,
//! which is why it is not used.
//!
//! Text is NFKC-normalised first (full-width `ＡＢＣ１２３` and half-width
//! `ｶﾀｶﾅ` read as `ABC123` and `カタカナ`), and traditional Chinese
//! characters are folded to simplified ones ([`super::variants`]), so
//! `密碼` finds `密码`. Offsets always point into the original text, so a
//! snippet highlights what the person wrote.

use super::variants::fold_han;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// One token: its text, where it came from (byte offsets into the original
/// text) and its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub from: usize,
    pub to: usize,
    pub position: usize,
}

/// Indexing also emits each CJK character alone, at the position of the
/// bigram it starts, so a one-character query (`鍵`, `卡`) finds it; a
/// query of two or more characters asks for bigrams only, so `東京` does
/// not match a text that has `東` and `京` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Index,
    Query,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Word,
    Cjk,
    Thai,
    Other,
}

/// A character after normalisation, with the byte span it came from.
#[derive(Debug, Clone, Copy)]
struct Norm {
    c: char,
    from: usize,
    to: usize,
}

/// Splits `text` into tokens.
pub fn tokenize(text: &str, mode: Mode) -> Vec<Token> {
    let chars = normalized(text);
    let mut tokens = Vec::new();
    let mut position = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let class = class_of(chars[i].c);
        let mut j = i + 1;
        while j < chars.len() && continues(class, chars[j].c) {
            j += 1;
        }
        let run = &chars[i..j];
        match class {
            Class::Word => {
                // A run of marks alone folds to nothing (U+113B8): no token.
                let token = word(run, position);
                if !token.text.is_empty() {
                    tokens.push(token);
                    position += 1;
                }
            }
            Class::Cjk => position = bigrams(&cjk_units(run), position, mode, &mut tokens),
            Class::Thai => position = bigrams(&thai_units(run), position, mode, &mut tokens),
            Class::Other => {}
        }
        i = j;
    }
    tokens
}

/// The token texts only, for callers that need no offsets.
pub fn terms(text: &str, mode: Mode) -> Vec<String> {
    tokenize(text, mode).into_iter().map(|t| t.text).collect()
}

/// NFKC per character with the combining marks that follow it, so each
/// output character keeps the span of what produced it.
fn normalized(text: &str) -> Vec<Norm> {
    let mut out = Vec::with_capacity(text.len());
    let mut iter = text.char_indices().peekable();
    let mut cluster = String::new();
    while let Some((from, c)) = iter.next() {
        let mut to = from + c.len_utf8();
        cluster.clear();
        cluster.push(c);
        // Half-width voiced marks are not combining until normalised.
        while let Some(&(at, next)) = iter.peek() {
            if is_combining_mark(next) || matches!(next, '\u{FF9E}' | '\u{FF9F}') {
                cluster.push(next);
                to = at + next.len_utf8();
                iter.next();
            } else {
                break;
            }
        }
        out.extend(cluster.nfkc().map(|c| Norm { c, from, to }));
    }
    out
}

fn class_of(c: char) -> Class {
    match c as u32 {
        // Thai letters, vowels and marks; Thai digits read as digits.
        0x0E50..=0x0E59 => Class::Word,
        0x0E01..=0x0E4E => Class::Thai,
        // The Katakana middle dot and double hyphen separate words.
        0x30A0 | 0x30FB => Class::Other,
        0x3040..=0x30FF
        | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x3FFFF
        | 0xAC00..=0xD7AF
        | 0x1100..=0x11FF
        | 0x3130..=0x318F
        // 々 〆 〇 〻: iteration and number marks inside Japanese words.
        | 0x3005..=0x3007
        | 0x303B => Class::Cjk,
        _ if c.is_alphanumeric() => Class::Word,
        _ => Class::Other,
    }
}

fn continues(class: Class, c: char) -> bool {
    match class {
        Class::Other => false,
        // Accents left uncomposed belong to the letter before them.
        Class::Word => {
            class_of(c) == Class::Word
                || (is_combining_mark(c) && c as u32 >= 0x0300 && (c as u32) < 0x0370)
        }
        _ => class_of(c) == class,
    }
}

fn word(run: &[Norm], position: usize) -> Token {
    let mut text = String::with_capacity(run.len());
    for n in run {
        let c = match n.c as u32 {
            d @ 0x0E50..=0x0E59 => char::from(b'0' + (d - 0x0E50) as u8),
            _ => n.c,
        };
        // Lower case, then accents off: `Café` and `CAFE` are one word.
        for lower in c.to_lowercase() {
            text.extend(
                std::iter::once(lower)
                    .nfd()
                    .filter(|m| !is_combining_mark(*m)),
            );
        }
    }
    Token {
        text,
        from: run[0].from,
        to: run[run.len() - 1].to,
        position,
    }
}

/// A unit of a bigrammed run: a CJK character (folded), or a Thai
/// character cluster (a consonant with the vowels and tone marks written
/// on it), with its span in the original text.
struct Unit {
    text: String,
    from: usize,
    to: usize,
}

fn cjk_units(run: &[Norm]) -> Vec<Unit> {
    run.iter()
        .map(|n| Unit {
            text: fold_han(n.c).to_string(),
            from: n.from,
            to: n.to,
        })
        .collect()
}

/// `normalized` gave every character of one original cluster the same
/// span, so a Thai cluster is a stretch of equal spans.
fn thai_units(run: &[Norm]) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    for n in run {
        match units.last_mut() {
            Some(last) if last.from == n.from && last.to == n.to => last.text.push(n.c),
            _ => units.push(Unit {
                text: n.c.to_string(),
                from: n.from,
                to: n.to,
            }),
        }
    }
    units
}

/// Overlapping bigrams of a run's units, one position per unit; returns
/// the next free position.
fn bigrams(units: &[Unit], start: usize, mode: Mode, tokens: &mut Vec<Token>) -> usize {
    if units.len() == 1 {
        tokens.push(Token {
            text: units[0].text.clone(),
            from: units[0].from,
            to: units[0].to,
            position: start,
        });
        return start + 1;
    }
    for (i, unit) in units.iter().enumerate() {
        if mode == Mode::Index {
            tokens.push(Token {
                text: unit.text.clone(),
                from: unit.from,
                to: unit.to,
                position: start + i,
            });
        }
        if let Some(next) = units.get(i + 1) {
            tokens.push(Token {
                text: format!("{}{}", unit.text, next.text),
                from: unit.from,
                to: next.to,
                position: start + i,
            });
        }
    }
    start + units.len()
}

#[cfg(test)]
mod tests;
