//! Finding the articles that answer what a requester is typing: the text
//! is cut into terms (Latin words, overlapping bigrams of Han, Kana and
//! Hangul runs, whole Thai runs), and an article scores for each term its
//! title or body holds, a title match weighing more. Unlike the full-text
//! index, which wants every word of a query, any term counts here: the
//! requester is still typing. Moving this onto the index would need an
//! any-word query, one answer per article in the reader's language, and
//! the index's lag and Thai tokens settled first.

use std::collections::BTreeSet;

/// How much a term found in the title counts, beside 1 in the body.
pub const TITLE_WEIGHT: u32 = 3;

/// Words too common to say anything about a problem.
const STOP_WORDS: &[&str] = &[
    "the", "and", "for", "you", "your", "are", "was", "with", "this", "that", "have", "has", "not",
    "but", "can", "cannot", "can't", "how", "what", "when", "why", "from", "into", "out", "all",
    "any", "its", "it's", "i'm", "our", "will", "would", "does", "did", "get", "got", "to", "of",
    "in", "on", "is", "it", "my", "me", "an", "or", "be", "do", "at", "by", "as", "if", "no", "so",
    "up", "we",
];

/// The kind of run a character belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    /// Han, Hiragana, Katakana, Hangul: written without spaces, cut into bigrams.
    Cjk,
    /// Thai: without spaces either; its runs are kept whole and looked for
    /// inside the article's text.
    Thai,
    Other,
}

fn script(c: char) -> Script {
    match c as u32 {
        0x0E00..=0x0E7F => Script::Thai,
        0x3040..=0x30FF // Hiragana, Katakana
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified
        | 0xF900..=0xFAFF // compatibility ideographs
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0x1100..=0x11FF // Hangul jamo
        | 0xFF66..=0xFF9F => Script::Cjk, // half-width Katakana
        _ if c.is_alphanumeric() || c == '\'' => Script::Latin,
        _ => Script::Other,
    }
}

/// One term of a text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Term {
    /// A word (lower case) or a CJK bigram (or a lone CJK character),
    /// matched against the other text's terms.
    Token(String),
    /// A Thai run, matched inside the other text.
    Run(String),
}

/// The terms of `text`, each once (a set). Stop words and one-letter
/// Latin words are dropped.
pub fn terms(text: &str) -> BTreeSet<Term> {
    let mut out = BTreeSet::new();
    let mut run = String::new();
    let mut kind = Script::Other;
    let flush = |run: &mut String, kind: Script, out: &mut BTreeSet<Term>| {
        match kind {
            Script::Latin => {
                let word = run.trim_matches('\'').to_lowercase();
                if word.chars().count() >= 2 && !STOP_WORDS.contains(&word.as_str()) {
                    out.insert(Term::Token(word));
                }
            }
            Script::Cjk => {
                let chars: Vec<char> = run.chars().collect();
                if chars.len() == 1 {
                    out.insert(Term::Token(run.clone()));
                }
                for pair in chars.windows(2) {
                    out.insert(Term::Token(pair.iter().collect()));
                }
            }
            Script::Thai if run.chars().count() >= 2 => {
                out.insert(Term::Run(run.clone()));
            }
            Script::Thai | Script::Other => {}
        }
        run.clear();
    };
    for c in text.chars() {
        let this = script(c);
        if this != kind {
            flush(&mut run, kind, &mut out);
            kind = this;
        }
        if this != Script::Other {
            run.push(c);
        }
    }
    flush(&mut run, kind, &mut out);
    out
}

/// One article's text as the scorer reads it, prepared once.
#[derive(Debug, Clone)]
pub struct Document {
    title_terms: BTreeSet<Term>,
    body_terms: BTreeSet<Term>,
    title: String,
    body: String,
}

impl Document {
    pub fn new(title: &str, body: &str) -> Document {
        Document {
            title_terms: terms(title),
            body_terms: terms(body),
            title: title.to_lowercase(),
            body: body.to_lowercase(),
        }
    }
}

/// Whether a text holds a term: a token among its terms, a Thai run
/// inside it, or (for a query's run) one of the text's runs inside the run.
fn holds(term: &Term, terms: &BTreeSet<Term>, text: &str) -> bool {
    match term {
        Term::Token(_) => terms.contains(term),
        Term::Run(run) => {
            text.contains(run.as_str())
                || terms.iter().any(|t| match t {
                    Term::Run(r) => r.chars().count() >= 3 && run.contains(r.as_str()),
                    Term::Token(_) => false,
                })
        }
    }
}

/// The score of `document` for the query's `terms`: [`TITLE_WEIGHT`] for
/// each term in the title, else 1 for each in the body.
pub fn score(query: &BTreeSet<Term>, document: &Document) -> u32 {
    query
        .iter()
        .map(|term| {
            if holds(term, &document.title_terms, &document.title) {
                TITLE_WEIGHT
            } else if holds(term, &document.body_terms, &document.body) {
                1
            } else {
                0
            }
        })
        .sum()
}

/// The indexes of the `documents` that match `query` best, at most `limit`,
/// best first (ties: the earlier document first). A document needs at
/// least two points (one title term, or two body terms) unless the query
/// has a single term: one common body word alone suggests nothing.
pub fn rank(query: &str, documents: &[Document], limit: usize) -> Vec<(usize, u32)> {
    let cut: String = query.chars().take(super::MAX_QUERY_CHARS).collect();
    let wanted = terms(&cut);
    if wanted.is_empty() {
        return Vec::new();
    }
    let least = if wanted.len() == 1 { 1 } else { 2 };
    let mut scored: Vec<(usize, u32)> = documents
        .iter()
        .enumerate()
        .map(|(i, d)| (i, score(&wanted, d)))
        .filter(|(_, s)| *s >= least)
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(limit);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tokens(text: &str) -> Vec<String> {
        terms(text)
            .into_iter()
            .map(|t| match t {
                Term::Token(s) | Term::Run(s) => s,
            })
            .collect()
    }

    #[test]
    fn text_is_cut_by_script() {
        assert_eq!(
            tokens("I can't sign in on my new phone"),
            ["new", "phone", "sign"]
        );
        assert_eq!(tokens("パスワード"), ["スワ", "パス", "ワー", "ード"]);
        assert_eq!(tokens("密码 忘"), ["密码", "忘"]);
        assert_eq!(tokens("ลืมรหัสผ่าน 2FA"), ["2fa", "ลืมรหัสผ่าน"]);
        assert!(tokens("!!! ... ").is_empty());
    }

    #[test]
    fn titles_weigh_more_than_bodies() {
        let docs = [
            Document::new(
                "Billing",
                "If your password reset code never came, check spam.",
            ),
            Document::new("Password reset code never came", "Check spam."),
            Document::new("Unrelated", "Nothing here."),
        ];
        let ranked = rank("password reset code", &docs, 5);
        assert_eq!(ranked.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 0]);
        assert!(ranked[0].1 > ranked[1].1);
    }

    #[test]
    fn chinese_japanese_and_thai_find_their_articles() {
        let docs = [
            Document::new("验证码收不到怎么办", "请检查短信拦截。"),
            Document::new("認証コードが届かない", "迷惑メールを確認してください。"),
            Document::new("ไม่ได้รับรหัสยืนยัน", "ตรวจสอบกล่องจดหมายขยะ"),
            Document::new("Device binding", "Bind a new device."),
        ];
        assert_eq!(rank("我的验证码一直收不到", &docs, 5)[0].0, 0);
        assert_eq!(rank("認証コードが来ません", &docs, 5)[0].0, 1);
        assert_eq!(rank("ไม่ได้รับรหัสยืนยันครับ", &docs, 5)[0].0, 2);
        assert!(rank("zzz qqq", &docs, 5).is_empty());
    }

    #[test]
    fn one_common_body_word_alone_suggests_nothing() {
        let docs = [Document::new("Billing", "Your phone bill and your plan.")];
        assert!(rank("phone broken screen", &docs, 5).is_empty());
        assert_eq!(rank("phone", &docs, 5).len(), 1);
    }

    proptest! {
        #[test]
        fn any_text_is_ranked_without_panic(query in "\\PC{0,80}", title in "\\PC{0,40}", body in "\\PC{0,200}") {
            let docs = [Document::new(&title, &body)];
            let ranked = rank(&query, &docs, 5);
            prop_assert!(ranked.len() <= 1);
        }

        #[test]
        fn a_title_always_finds_itself(title in "[a-z]{3,8}( [a-z]{3,8}){0,4}") {
            let docs = [Document::new("zzzz", "yyyy"), Document::new(&title, "")];
            let wanted = terms(&title);
            prop_assume!(!wanted.is_empty());
            let ranked = rank(&title, &docs, 5);
            prop_assert_eq!(ranked.first().map(|r| r.0), Some(1));
        }
    }
}
