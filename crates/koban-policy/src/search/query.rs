//! What a person types into the search box, read as Koban's small query
//! language: words (all must match) and "quoted phrases" (the words in
//! that order). Nothing else is syntax: `AND`, `-`, `+`, `*`, `:`,
//! brackets and an unbalanced quote are text like any other, so a query
//! can neither fail to parse nor change meaning through an operator.

use super::tokens::{tokenize, Mode};

/// The longest query accepted, in characters. It also bounds the terms a
/// query reads: a token takes at least one character, so at most 256.
pub const MAX_QUERY_CHARS: usize = 256;

/// One thing a match must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Terms with their position relative to the first.
    pub terms: Vec<(usize, String)>,
    /// Written in quotes: the terms must stand in this order. An unquoted
    /// word of several terms (a CJK run's bigrams, `user@example.com`)
    /// needs every term; being in order only ranks it higher.
    pub quoted: bool,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub clauses: Vec<Clause>,
}

/// Why a query is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryProblem {
    /// Nothing but white space.
    Empty,
    /// Longer than [`MAX_QUERY_CHARS`] characters.
    TooLong,
}

impl QueryProblem {
    /// A stable machine-readable reason.
    pub fn code(self) -> &'static str {
        match self {
            QueryProblem::Empty => "empty",
            QueryProblem::TooLong => "too_long",
        }
    }
}

/// English words too common to require: `reset or change password` should
/// not demand the word "or". Dropped only from unquoted words, and only
/// when something else is left.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "i", "in", "is", "it", "my",
    "not", "of", "on", "or", "the", "to", "with",
];

/// Reads `input`. A query of punctuation alone is no error: it has no
/// clauses and finds nothing.
pub fn parse(input: &str) -> Result<Query, QueryProblem> {
    if input.trim().is_empty() {
        return Err(QueryProblem::Empty);
    }
    if input.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryProblem::TooLong);
    }
    let mut clauses = Vec::new();
    // Full-width and curly quotes delimit phrases as the ASCII one does.
    let unified: String = input
        .chars()
        .map(|c| match c {
            '\u{201C}' | '\u{201D}' | '\u{FF02}' => '"',
            other => other,
        })
        .collect();
    let pieces: Vec<&str> = unified.split('"').collect();
    // With an odd number of quotes, the last one opens nothing.
    let balanced = pieces.len() % 2 == 1;
    for (i, piece) in pieces.iter().enumerate() {
        let quoted = i % 2 == 1 && (balanced || i + 1 < pieces.len());
        if quoted {
            push(&mut clauses, piece, true);
        } else {
            for word in piece.split_whitespace() {
                push(&mut clauses, word, false);
            }
        }
    }
    let all_stop = clauses.iter().all(is_stop_word);
    if !all_stop {
        clauses.retain(|c| !is_stop_word(c));
    }
    Ok(Query { clauses })
}

fn push(clauses: &mut Vec<Clause>, text: &str, quoted: bool) {
    let tokens = tokenize(text, Mode::Query);
    let Some(first) = tokens.first().map(|t| t.position) else {
        return;
    };
    let clause = Clause {
        terms: tokens
            .into_iter()
            .map(|t| (t.position - first, t.text))
            .collect(),
        quoted,
    };
    if !clauses.contains(&clause) {
        clauses.push(clause);
    }
}

fn is_stop_word(clause: &Clause) -> bool {
    !clause.quoted && clause.terms.len() == 1 && STOP_WORDS.contains(&clause.terms[0].1.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(q: &Query) -> Vec<(Vec<&str>, bool)> {
        q.clauses
            .iter()
            .map(|c| (c.terms.iter().map(|(_, t)| t.as_str()).collect(), c.quoted))
            .collect()
    }

    #[test]
    fn words_phrases_and_operators_as_text() {
        let q = parse(r#"Reset "two factor" -login AND title:x"#).unwrap();
        assert_eq!(
            texts(&q),
            vec![
                (vec!["reset"], false),
                (vec!["two", "factor"], true),
                (vec!["login"], false),
                (vec!["title", "x"], false),
            ]
        );
    }

    #[test]
    fn an_unbalanced_quote_is_text() {
        let q = parse(r#"password "reset"#).unwrap();
        assert_eq!(
            texts(&q),
            vec![(vec!["password"], false), (vec!["reset"], false)]
        );
        let q = parse("\"").unwrap();
        assert!(q.clauses.is_empty());
    }

    #[test]
    fn cjk_words_carry_their_positions() {
        let q = parse("東京タワー").unwrap();
        assert_eq!(q.clauses.len(), 1);
        let positions: Vec<usize> = q.clauses[0].terms.iter().map(|(p, _)| *p).collect();
        assert_eq!(positions, vec![0, 1, 2, 3]);
        let q = parse("「密碼」“重設”").unwrap();
        assert_eq!(texts(&q)[1], (vec!["重设"], true));
    }

    #[test]
    fn limits() {
        assert_eq!(parse("  \t"), Err(QueryProblem::Empty));
        assert_eq!(parse(&"a".repeat(257)), Err(QueryProblem::TooLong));
        assert!(parse(&"a".repeat(256)).is_ok());
        // The longest CJK query is 255 bigrams, and fine.
        let q = parse(&"密碼".repeat(128)).unwrap();
        assert!(q.clauses[0].terms.len() <= MAX_QUERY_CHARS);
    }

    #[test]
    fn stop_words_are_dropped_unless_alone() {
        let q = parse("reset or change my password").unwrap();
        assert_eq!(q.clauses.len(), 3);
        let q = parse("or").unwrap();
        assert_eq!(q.clauses.len(), 1);
    }
}
