//! Labelled tickets in the repository's tab-separated form: the training
//! examples of the built-in model and both parts of the evaluation set.
//!
//! One ticket a line: `lang, category, urgent (0|1), subject, body`, tabs
//! between. `#` starts a comment line. In subject and body `\n`, `\t` and `\\`
//! stand for a line break, a tab and a backslash.

use super::{category_index, CATEGORIES};

/// One labelled ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// `zh-CN`, `zh-TW`, `ja`, `en`, ...
    pub lang: String,
    /// One of [`CATEGORIES`].
    pub category: &'static str,
    /// The urgency a person gave it.
    pub urgent: bool,
    /// May be empty (chat messages have none).
    pub subject: String,
    /// Line breaks and tabs restored from their escapes.
    pub body: String,
}

/// A line of an example file that does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ExampleError {
    /// 1-based line number in the file.
    pub line: usize,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Reads an example file; the first bad line is an error (these files are
/// ours and a silent skip would quietly shrink an evaluation).
pub fn parse_examples(text: &str) -> Result<Vec<Example>, ExampleError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |reason| ExampleError {
            line: n + 1,
            reason,
        };
        let fields: Vec<&str> = line.split('\t').collect();
        let [lang, category, urgent, subject, body] = fields[..] else {
            return Err(fail("expected 5 tab-separated fields"));
        };
        let category = category_index(category)
            .map(|i| CATEGORIES[i])
            .ok_or_else(|| fail("unknown category"))?;
        let urgent = match urgent {
            "0" => false,
            "1" => true,
            _ => return Err(fail("urgent must be 0 or 1")),
        };
        out.push(Example {
            lang: lang.to_string(),
            category,
            urgent,
            subject: unescape(subject),
            body: unescape(body),
        });
    }
    Ok(out)
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_comments_and_escapes() {
        let text = "# c\n\nja\tprivacy\t1\t\ta\\nb\\\\c\n";
        let got = parse_examples(text).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].category, "privacy");
        assert!(got[0].urgent);
        assert_eq!(got[0].subject, "");
        assert_eq!(got[0].body, "a\nb\\c");
    }

    #[test]
    fn bad_lines_are_errors_with_their_number() {
        let err = parse_examples("# c\nja\tnope\t0\ts\tb\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse_examples("ja\tother\t2\ts\tb").is_err());
        assert!(parse_examples("ja\tother\t0\ts").is_err());
    }
}
