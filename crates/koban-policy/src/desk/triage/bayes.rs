//! The learned layer: multinomial naive Bayes over ticket tokens.
//!
//! Each distinct token counts once per ticket (the "binarised" variant): in
//! short support messages a repeated word says more about the writer's mood
//! than about the problem. Counts are Laplace-smoothed. Tokens the model has
//! never seen are ignored rather than smoothed, so a message full of new
//! words does not drift toward the category with the fewest tokens.

use std::collections::HashMap;

use super::{category_index, norm, CATEGORIES};

const N: usize = CATEGORIES.len();
const HEADER: &str = "koban-triage-nb 1";

/// Token counts per category; learns from labelled tickets and agents'
/// corrections, and round-trips through [`Model::to_text`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    /// Tickets learned per category.
    docs: [u64; N],
    /// Sum of the token counts per category.
    totals: [u64; N],
    /// Tickets per category that contained the token.
    vocab: HashMap<String, [u64; N]>,
    /// The rule layer's phrases: the built-in list, plus any a support
    /// lead added ([`Model::with_phrases`]). Not part of [`Model::to_text`].
    pub(super) rules: super::phrases::Rules,
}

/// Why a saved model could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The text does not start with the format's header line.
    #[error("not a triage model (first line must be {HEADER:?})")]
    Header,
    /// A category this build does not know (line, name).
    #[error("line {0}: unknown category {1:?}")]
    UnknownCategory(usize, String),
    /// A line that does not read (its number).
    #[error("line {0}: malformed")]
    Malformed(usize),
}

/// A category name outside [`CATEGORIES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown triage category {0:?}")]
pub struct UnknownCategory(pub String);

/// What the learned layer says about one ticket.
pub(super) struct Posterior {
    /// Natural-log joint likelihood per category (prior included).
    pub log: [f64; N],
    /// How many of the ticket's distinct tokens the model knows.
    pub known: usize,
}

impl Model {
    /// A model that has learned nothing.
    pub fn empty() -> Model {
        Model::default()
    }

    /// Counts one ticket under `category`: a training example or an agent's
    /// correction of a triage.
    pub fn learn(
        &mut self,
        subject: &str,
        body: &str,
        category: &str,
    ) -> Result<(), UnknownCategory> {
        let c = category_index(category).ok_or_else(|| UnknownCategory(category.to_string()))?;
        let text = ticket_text(subject, body);
        let tokens = distinct_tokens(&text);
        self.docs[c] += 1;
        self.totals[c] += tokens.len() as u64;
        for t in tokens {
            match self.vocab.get_mut(t) {
                Some(counts) => counts[c] += 1,
                None => {
                    let mut counts = [0; N];
                    counts[c] = 1;
                    self.vocab.insert(t.to_string(), counts);
                }
            }
        }
        Ok(())
    }

    /// Tickets learned so far.
    pub fn documents(&self) -> u64 {
        self.docs.iter().sum()
    }

    /// The log likelihood of each category for already-distinct `tokens`.
    pub(super) fn posterior(&self, tokens: &[&str]) -> Posterior {
        let docs: u64 = self.docs.iter().sum();
        let denominators = self.log_denominators();
        let mut log = [0.0; N];
        for (c, l) in log.iter_mut().enumerate() {
            *l = ((self.docs[c] as f64 + 1.0) / (docs as f64 + N as f64)).ln();
        }
        let mut known = 0;
        for t in tokens {
            let Some(counts) = self.vocab.get(*t) else {
                continue;
            };
            known += 1;
            for (c, l) in log.iter_mut().enumerate() {
                *l += token_log(counts[c], denominators[c]);
            }
        }
        Posterior { log, known }
    }

    /// ln(tokens in category + vocabulary size): the smoothed denominator,
    /// computed once per ticket rather than once per token.
    fn log_denominators(&self) -> [f64; N] {
        let v = self.vocab.len() as f64;
        self.totals.map(|t| (t as f64 + v).ln())
    }

    /// The tokens of a ticket that pull hardest toward `c` compared with the
    /// average of the other categories, strongest first: what an agent is
    /// shown as the reason for a learned decision.
    pub(super) fn evidence(&self, tokens: &[&str], c: usize, limit: usize) -> Vec<String> {
        let denominators = self.log_denominators();
        let mut scored: Vec<(f64, &str)> = tokens
            .iter()
            .filter_map(|t| {
                let counts = self.vocab.get(*t)?;
                let own = token_log(counts[c], denominators[c]);
                let others = (0..N)
                    .filter(|&o| o != c)
                    .map(|o| token_log(counts[o], denominators[o]))
                    .sum::<f64>()
                    / (N - 1) as f64;
                let lift = own - others;
                (lift > 0.0).then_some((lift, *t))
            })
            .collect();
        // Ties broken by the token itself so the answer never depends on order.
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        scored.truncate(limit);
        scored.into_iter().map(|(_, t)| t.to_string()).collect()
    }

    /// The counts as text: a header, the category names, tickets per
    /// category, then one line per token in byte order (stable diffs).
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(64 + self.vocab.len() * 24);
        out.push_str(HEADER);
        out.push_str("\ncategories");
        for c in CATEGORIES {
            out.push('\t');
            out.push_str(c);
        }
        out.push_str("\ndocs");
        push_counts(&mut out, &self.docs);
        let mut tokens: Vec<(&String, &[u64; N])> = self.vocab.iter().collect();
        tokens.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (t, counts) in tokens {
            out.push_str("\nt\t");
            out.push_str(t);
            push_counts(&mut out, counts);
        }
        out.push('\n');
        out
    }

    /// Reads what [`Model::to_text`] wrote. Categories are matched by name,
    /// so a file written before the list was reordered still reads.
    pub fn from_text(text: &str) -> Result<Model, ModelError> {
        let mut lines = text.lines().enumerate();
        if lines.next().map(|(_, l)| l.trim_end()) != Some(HEADER) {
            return Err(ModelError::Header);
        }
        let (n, line) = lines.next().ok_or(ModelError::Malformed(2))?;
        let mut fields = line.split('\t');
        if fields.next() != Some("categories") {
            return Err(ModelError::Malformed(n + 1));
        }
        let columns = fields
            .map(|f| {
                category_index(f).ok_or_else(|| ModelError::UnknownCategory(n + 1, f.to_string()))
            })
            .collect::<Result<Vec<usize>, _>>()?;
        let mut model = Model::empty();
        let (n, line) = lines.next().ok_or(ModelError::Malformed(3))?;
        model.docs = read_counts(line.strip_prefix("docs"), &columns, n + 1)?;
        for (n, line) in lines {
            if line.is_empty() {
                continue;
            }
            let rest = line
                .strip_prefix("t\t")
                .ok_or(ModelError::Malformed(n + 1))?;
            let (token, counts) = rest.split_once('\t').ok_or(ModelError::Malformed(n + 1))?;
            if token.is_empty() {
                return Err(ModelError::Malformed(n + 1));
            }
            let counts = read_counts(Some(counts), &columns, n + 1)?;
            for (total, count) in model.totals.iter_mut().zip(counts) {
                *total += count;
            }
            model.vocab.insert(token.to_string(), counts);
        }
        Ok(model)
    }
}

/// log P(token | category) with Laplace smoothing: ln(count + 1) minus the
/// category's log denominator. Most counts are zero, and their log is free.
fn token_log(count: u64, log_denominator: f64) -> f64 {
    if count == 0 {
        -log_denominator
    } else {
        (count as f64 + 1.0).ln() - log_denominator
    }
}

// Counts are read from a column order that may differ from CATEGORIES.
fn read_counts(
    fields: Option<&str>,
    columns: &[usize],
    line: usize,
) -> Result<[u64; N], ModelError> {
    let fields = fields.ok_or(ModelError::Malformed(line))?;
    let mut counts = [0; N];
    let mut read = 0;
    for (i, f) in fields.split('\t').filter(|f| !f.is_empty()).enumerate() {
        let c = *columns.get(i).ok_or(ModelError::Malformed(line))?;
        counts[c] = f.parse().map_err(|_| ModelError::Malformed(line))?;
        read += 1;
    }
    if read != columns.len() {
        return Err(ModelError::Malformed(line));
    }
    Ok(counts)
}

fn push_counts(out: &mut String, counts: &[u64; N]) {
    use std::fmt::Write;
    for n in counts {
        // Writing to a String cannot fail.
        let _ = write!(out, "\t{n}");
    }
}

/// Subject and body normalised into one string.
pub(super) fn ticket_text(subject: &str, body: &str) -> String {
    let mut text = String::with_capacity(subject.len() + body.len() + 1);
    norm::normalize_into(subject, &mut text);
    norm::normalize_into(body, &mut text);
    text
}

/// Each token of `text` once, in byte order (deterministic sums).
pub(super) fn distinct_tokens(text: &str) -> Vec<&str> {
    let mut tokens = Vec::with_capacity(text.len() / 2);
    norm::for_each_token(text, |t| tokens.push(t));
    tokens.sort_unstable();
    tokens.dedup();
    tokens
}
