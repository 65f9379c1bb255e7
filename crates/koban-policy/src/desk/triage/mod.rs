//! Ticket triage: which problem a ticket is about and whether it is urgent,
//! from its subject and body in Chinese (either script), Japanese, English,
//! or a mix, with Thai tolerated.
//!
//! Two layers decide. The rule layer looks for phrases from
//! `data/triage/phrases.tsv`; a phrase list is what a support lead can read
//! and fix, so when it is sure (a category reaches [`STRONG`]) it wins. Below
//! that, a naive Bayes model over character bigrams and words decides, with
//! weaker phrase matches added to its evidence; the model learns from agents'
//! corrections ([`Model::learn`]). A guess the model is unsure of, or a text
//! with nothing recognisable, goes to `other` for a person to read. Every
//! answer says what decided it.
//!
//! When one ticket describes several problems, the most serious strongly
//! matched category wins: [`CATEGORIES`] is listed in that order.

mod bayes;
mod examples;
mod hanzi;
mod norm;
mod phrases;

use std::sync::OnceLock;

pub use bayes::{Model, ModelError, UnknownCategory};
pub use examples::{parse_examples, Example, ExampleError};
pub use phrases::phrase_line_reads;

use phrases::Target;

/// The account is in someone else's hands (urgent whenever triage is sure).
pub const ACCOUNT_STOLEN: &str = "account_stolen";
/// An official account's broadcast did not reach its followers.
pub const BROADCAST_FAILURE: &str = "broadcast_failure";
/// Locked, suspended, erroring or looping at sign-in, old device needed.
pub const CANNOT_SIGN_IN: &str = "cannot_sign_in";
/// Device list, unknown devices, binding a new phone, 2FA.
pub const DEVICE_SECURITY: &str = "device_security";
/// Enterprise roles, members, admin rights, multi-device policy.
pub const ENTERPRISE_PERMISSIONS: &str = "enterprise_permissions";
/// An SMS or email verification code that does not arrive.
pub const CODE_NOT_RECEIVED: &str = "code_not_received";
/// Forgotten password and the reset flow.
pub const FORGOT_PASSWORD: &str = "forgot_password";
/// Phone number or email already used by another account; duplicates.
pub const DUPLICATE_CONTACT: &str = "duplicate_contact";
/// Deletion, data requests, discoverability, harassment.
pub const PRIVACY: &str = "privacy";
/// Anything else.
pub const OTHER: &str = "other";

/// Every category, most serious first. The order is the tie-break when a
/// ticket strongly matches several: a takeover harms the user and their
/// contacts right now; a failed broadcast blocks a business's reach to many
/// people; being shut out of an account comes before the ways of securing or
/// administering one; a code that never arrives blocks more flows than a
/// forgotten password (whose reset needs that code); duplicates, privacy
/// requests and the rest can wait for a normal turn.
pub const CATEGORIES: [&str; 10] = [
    ACCOUNT_STOLEN,
    BROADCAST_FAILURE,
    CANNOT_SIGN_IN,
    DEVICE_SECURITY,
    ENTERPRISE_PERMISSIONS,
    CODE_NOT_RECEIVED,
    FORGOT_PASSWORD,
    DUPLICATE_CONTACT,
    PRIVACY,
    OTHER,
];

const N: usize = CATEGORIES.len();

/// A category's phrase weight at which the rule layer decides on its own.
pub const STRONG: f64 = 3.0;
/// How much one unit of phrase weight adds to the learned log-odds.
const RULE_BOOST: f64 = 1.0;
/// Urgency phrase weight at which a ticket is urgent.
const URGENT_AT: f64 = 2.0;
/// Most secondary categories reported.
const MAX_SECONDARY: usize = 3;
/// A category the model gives at least this share is worth a mention.
const SECONDARY_SHARE: f64 = 0.25;
/// Below this, a learned guess is no better than a person's first read:
/// the ticket goes to `other` rather than to a category that may be wrong
/// in a costly way (a vague "急急急" must not land in account_stolen and
/// become urgent).
const LEARNED_FLOOR: f64 = 0.25;
/// A learned account_stolen is urgent only when the model is this sure;
/// a phrase match always is.
const URGENT_LEARNED_STOLEN: f64 = 0.5;

/// The position of `name` in [`CATEGORIES`] (its seriousness rank).
pub fn category_index(name: &str) -> Option<usize> {
    CATEGORIES.iter().position(|c| *c == name)
}

/// What decided a triage, for the agent to see.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecidedBy {
    /// A phrase from the list, as written there.
    Rule { phrase: String },
    /// The model, with the ticket's tokens that pointed hardest its way.
    Learned { top_tokens: Vec<String> },
    /// Nothing recognisable: `other`, for a person to read.
    Fallback,
}

/// The triage of one ticket.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Triage {
    /// One of [`CATEGORIES`].
    pub category: &'static str,
    /// Needs a person now: takeover, fraud, a business unable to serve, a threat.
    pub urgent: bool,
    /// The combined model's probability of `category`, in `0..=1`.
    pub confidence: f64,
    /// The layer that decided, with its reason.
    pub decided_by: DecidedBy,
    /// Other problems the ticket seems to raise, most serious first.
    pub secondary: Vec<&'static str>,
    /// Why it is urgent: the category or the urgency phrase that weighed most.
    pub urgent_because: Option<String>,
}

impl Model {
    /// The model trained on the examples shipped in `data/triage/`
    /// (`eval_tuning.tsv`; never the held-out part).
    pub fn builtin() -> Model {
        static BUILTIN: OnceLock<Model> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let mut model = Model::empty();
                // The file is ours and a test reads it strictly; were it broken,
                // the learned layer would start empty and the rules still work.
                // Triage must never stop the desk.
                let examples = parse_examples(BUILTIN_EXAMPLES).unwrap_or_default();
                for e in examples {
                    let _ = model.learn(&e.subject, &e.body, e.category);
                }
                model
            })
            .clone()
    }
}

impl Model {
    /// This model with `lines` (`target<TAB>phrase<TAB>weight`, as in
    /// `data/triage/phrases.tsv`) added to the rule layer's built-in list;
    /// the 1-based numbers of the lines that do not read, if any.
    pub fn with_phrases(mut self, lines: Vec<String>) -> Result<Model, Vec<usize>> {
        self.rules = phrases::Rules::with(lines)?;
        Ok(self)
    }
}

/// The built-in training examples, for tests and tools.
pub const BUILTIN_EXAMPLES: &str = include_str!("../../../data/triage/eval_tuning.tsv");

/// Line numbers of the built-in phrase list that did not read: empty unless
/// the data file has a typo (a test keeps it so); for a startup self-check.
pub fn rejected_phrase_lines() -> &'static [usize] {
    &phrases::builtin().rejected
}

/// Phrase evidence of one ticket.
struct Rules {
    score: [f64; N],
    /// The heaviest phrase per category (index into the phrase list).
    best: [Option<usize>; N],
    urgent_any: f64,
    urgent_in: [f64; N],
    urgent_best: [Option<(f64, usize)>; N + 1],
}

fn score_rules(set: &phrases::PhraseSet, text: &str) -> Rules {
    let mut hits = Vec::new();
    set.find(text, &mut hits);
    let mut r = Rules {
        score: [0.0; N],
        best: [None; N],
        urgent_any: 0.0,
        urgent_in: [0.0; N],
        urgent_best: [None; N + 1],
    };
    let mut last = None;
    for h in &hits {
        // Hits come sorted by phrase: a phrase counts once however often it occurs.
        if last == Some(h.phrase) {
            continue;
        }
        last = Some(h.phrase);
        let p = &set.phrases[h.phrase];
        match p.target {
            Target::Category(c) => {
                r.score[c] += p.weight;
                if r.best[c].is_none_or(|b| set.phrases[b].weight < p.weight) {
                    r.best[c] = Some(h.phrase);
                }
            }
            Target::Urgent(scope) => {
                let slot = match scope {
                    Some(c) => {
                        r.urgent_in[c] += p.weight;
                        c
                    }
                    None => {
                        r.urgent_any += p.weight;
                        N
                    }
                };
                if r.urgent_best[slot].is_none_or(|(w, _)| w < p.weight) {
                    r.urgent_best[slot] = Some((p.weight, h.phrase));
                }
            }
            Target::Guard => {}
        }
    }
    r
}

/// Triages one ticket. Never fails: text that says nothing recognisable
/// comes back as `other`, decided by [`DecidedBy::Fallback`].
pub fn triage(model: &Model, subject: &str, body: &str) -> Triage {
    let text = bayes::ticket_text(subject, body);
    let set = model.rules.set();
    let rules = score_rules(set, &text);
    let tokens = bayes::distinct_tokens(&text);
    let posterior = model.posterior(&tokens);

    let mut logits = posterior.log;
    for (l, s) in logits.iter_mut().zip(rules.score) {
        *l += RULE_BOOST * s;
    }
    let probs = softmax(logits);
    let strong: Vec<usize> = (0..N).filter(|&c| rules.score[c] >= STRONG).collect();
    let any_rule = rules.score.iter().any(|&s| s > 0.0);

    let (chosen, decided_by) = if let Some(&c) = strong.first() {
        let phrase = rules.best[c].map(|p| set.phrases[p].text.clone());
        (
            c,
            DecidedBy::Rule {
                phrase: phrase.unwrap_or_default(),
            },
        )
    } else if (posterior.known == 0 && !any_rule) || probs[argmax(&probs)] < LEARNED_FLOOR {
        (N - 1, DecidedBy::Fallback)
    } else {
        let c = argmax(&probs);
        let top_tokens = model.evidence(&tokens, c, 5);
        (c, DecidedBy::Learned { top_tokens })
    };
    let confidence = match decided_by {
        DecidedBy::Fallback => 0.0,
        DecidedBy::Rule { .. } => probs[chosen].max(rule_confidence(&rules.score, &strong, chosen)),
        DecidedBy::Learned { .. } => probs[chosen],
    }
    .clamp(0.0, 1.0);

    let mut secondary: Vec<usize> = strong.iter().copied().filter(|&c| c != chosen).collect();
    secondary.extend(
        (0..N).filter(|&c| c != chosen && probs[c] >= SECONDARY_SHARE && !strong.contains(&c)),
    );
    secondary.sort_unstable();
    secondary.truncate(MAX_SECONDARY);

    let sure_stolen =
        matches!(decided_by, DecidedBy::Rule { .. }) || confidence >= URGENT_LEARNED_STOLEN;
    let (urgent, urgent_because) = urgency(set, &rules, chosen, sure_stolen);
    Triage {
        category: CATEGORIES[chosen],
        urgent,
        confidence,
        decided_by,
        secondary: secondary.into_iter().map(|c| CATEGORIES[c]).collect(),
        urgent_because,
    }
}

/// How sure the rules alone are of `chosen`: its phrase weight against all
/// strongly matched categories plus half a strong match of doubt, so one
/// strong phrase gives 2/3, more agreeing phrases approach 1, and a ticket
/// that strongly matches two problems is about a coin toss between them.
fn rule_confidence(score: &[f64; N], strong: &[usize], chosen: usize) -> f64 {
    let all: f64 = strong.iter().map(|&c| score[c]).sum();
    score[chosen] / (all + STRONG / 2.0)
}

/// A takeover the triage is sure of is always urgent; otherwise urgency
/// phrases that apply to any ticket and those scoped to the chosen category
/// add up.
fn urgency(
    set: &phrases::PhraseSet,
    rules: &Rules,
    chosen: usize,
    sure_stolen: bool,
) -> (bool, Option<String>) {
    if CATEGORIES[chosen] == ACCOUNT_STOLEN && sure_stolen {
        return (true, Some(ACCOUNT_STOLEN.to_string()));
    }
    if rules.urgent_any + rules.urgent_in[chosen] < URGENT_AT {
        return (false, None);
    }
    let best = [rules.urgent_best[N], rules.urgent_best[chosen]]
        .into_iter()
        .flatten()
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let phrase = best.map(|(_, p)| set.phrases[p].text.clone());
    (true, phrase)
}

fn softmax(logits: [f64; N]) -> [f64; N] {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut out = logits.map(|l| (l - max).exp());
    let sum: f64 = out.iter().sum();
    if sum.is_finite() && sum > 0.0 {
        for p in &mut out {
            *p /= sum;
        }
    } else {
        out = [1.0 / N as f64; N];
    }
    out
}

/// The most probable category; ties go to the more serious one.
fn argmax(probs: &[f64; N]) -> usize {
    let mut best = 0;
    for c in 1..N {
        if probs[c] > probs[best] {
            best = c;
        }
    }
    best
}

#[cfg(test)]
mod tests;
