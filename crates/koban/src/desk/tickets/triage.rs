//! Triage as the desk runs it: the pure classifier of
//! `koban_policy::desk::triage` with the model the desk has learned, and the
//! JSON-lines filter behind `koban desk triage`.

use koban_policy::desk::triage::{self, Model, Triage};
use std::io::{BufRead, Write};

/// The longest subject and body triage reads, in bytes: the words that
/// decide are near the start, and a bound keeps one request cheap.
pub const MAX_SUBJECT_BYTES: usize = 1_000;
pub const MAX_BODY_BYTES: usize = 20_000;

/// One ticket's text to classify.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageInput {
    #[schema(max_length = 1000)]
    pub subject: String,
    #[schema(max_length = 20000)]
    pub body: String,
}

/// What triage decided, and why.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TriageAnswer {
    /// One of the ten category identifiers.
    #[schema(example = "cannot_sign_in")]
    pub category: &'static str,
    pub urgent: bool,
    /// 0 to 1.
    pub confidence: f64,
    /// `rule`, `learned` or `fallback`.
    pub decided_by: &'static str,
    /// The phrase (rule) or the strongest words (learned) that decided.
    pub evidence: Vec<String>,
    /// Other problems the text also describes, most serious first.
    pub secondary: Vec<&'static str>,
}

impl From<Triage> for TriageAnswer {
    fn from(t: Triage) -> TriageAnswer {
        let (decided_by, evidence) = match t.decided_by {
            triage::DecidedBy::Rule { phrase } => ("rule", vec![phrase]),
            triage::DecidedBy::Learned { top_tokens } => ("learned", top_tokens),
            triage::DecidedBy::Fallback => ("fallback", vec![]),
        };
        TriageAnswer {
            category: t.category,
            urgent: t.urgent,
            confidence: (t.confidence * 1000.0).round() / 1000.0,
            decided_by,
            evidence,
            secondary: t.secondary,
        }
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary.
fn bounded(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Classifies one ticket's text.
pub fn classify(model: &Model, subject: &str, body: &str) -> Triage {
    triage::triage(
        model,
        bounded(subject, MAX_SUBJECT_BYTES),
        bounded(body, MAX_BODY_BYTES),
    )
}

/// One line of `koban desk triage`'s output.
#[derive(serde::Serialize)]
struct LineAnswer {
    category: &'static str,
    urgent: bool,
    confidence: f64,
}

/// Reads JSON lines with `subject` and `body` and writes one JSON line per
/// input line: the answer, or `{"line": n, "error": "…"}` for a line that is
/// not such an object (the rest still run). Returns how many lines failed.
pub fn filter(
    model: &Model,
    input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<usize> {
    let mut failed = 0;
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<TriageInput>(&line) {
            Ok(input) => {
                let t = classify(model, &input.subject, &input.body);
                serde_json::to_string(&LineAnswer {
                    category: t.category,
                    urgent: t.urgent,
                    confidence: (t.confidence * 1000.0).round() / 1000.0,
                })
            }
            Err(error) => {
                failed += 1;
                serde_json::to_string(&serde_json::json!({
                    "line": index + 1,
                    "error": format!("expected {{\"subject\": …, \"body\": …}}: {error}"),
                }))
            }
        };
        writeln!(output, "{}", answer.map_err(std::io::Error::other)?)?;
    }
    output.flush()?;
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_gets_an_answer_and_bad_lines_say_why() {
        let model = Model::builtin();
        let input = "{\"subject\":\"收不到验证码\",\"body\":\"短信验证码一直没有收到\"}\n\nnot json\n{\"subject\":\"x\"}\n";
        let mut out = Vec::new();
        let failed = filter(&model, input.as_bytes(), &mut out).expect("runs");
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(failed, 2);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["category"], "code_not_received");
        assert_eq!(lines[1]["line"], 3);
        assert_eq!(lines[2]["line"], 4);
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let text = "验".repeat(MAX_BODY_BYTES);
        let cut = bounded(&text, MAX_BODY_BYTES);
        assert!(cut.len() <= MAX_BODY_BYTES && cut.len() > MAX_BODY_BYTES - 3);
    }
}
