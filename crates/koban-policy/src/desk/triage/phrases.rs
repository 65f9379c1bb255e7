//! The rule layer's phrase list and its matcher.
//!
//! Phrases come from `data/triage/phrases.tsv` (category, phrase, weight) and
//! are normalised like tickets, then compiled once into an Aho-Corasick
//! automaton over bytes, so a ticket is scanned in one pass whatever the
//! number of phrases. A match inside a longer match of the same kind is
//! dropped (category phrases compete with each other, urgency phrases with
//! each other, guards with both): that lets a guard phrase (target `-`, such
//! as "not hacked") silence the shorter phrase it contains, and keeps
//! "盗用我的照片" (privacy) from also counting as "盗用" (takeover).
//!
//! Chinese and Japanese put the same words in many orders (验证码收不到,
//! 收不到验证码, 验证码一直都没收到), so a phrase may hold one `*`: its two
//! parts must appear in that order with at most [`GAP`] bytes between them.

use std::sync::{Arc, OnceLock};

use super::{category_index, norm};

/// The phrase list a model triages with: the built-in one, or the built-in
/// one with a support lead's additions compiled in.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The added lines, as given (`target<TAB>phrase<TAB>weight`).
    added: Vec<String>,
    /// None: the built-in list alone.
    set: Option<Arc<PhraseSet>>,
}

/// Two lists are the same when they add the same lines.
impl PartialEq for Rules {
    fn eq(&self, other: &Rules) -> bool {
        self.added == other.added
    }
}

impl Rules {
    /// The built-in list plus `added` lines; the line numbers (1-based, in
    /// `added`) that do not read, if any.
    pub(super) fn with(added: Vec<String>) -> Result<Rules, Vec<usize>> {
        let refused: Vec<usize> = added
            .iter()
            .enumerate()
            .filter(|(_, line)| line.contains('\n') || parse_line(line).is_none())
            .map(|(n, _)| n + 1)
            .collect();
        if !refused.is_empty() {
            return Err(refused);
        }
        if added.is_empty() {
            return Ok(Rules::default());
        }
        let mut text = BUILTIN_TEXT.to_string();
        for line in &added {
            text.push('\n');
            text.push_str(line);
        }
        Ok(Rules {
            set: Some(Arc::new(PhraseSet::parse(&text))),
            added,
        })
    }

    /// The compiled list.
    pub(super) fn set(&self) -> &PhraseSet {
        match &self.set {
            Some(set) => set,
            None => builtin(),
        }
    }
}

/// Whether one phrase line reads: a known target (a category, `urgent`,
/// `urgent@category` or `-`), a phrase with at most one `*` whose parts
/// are not empty once normalised, and a finite weight.
pub fn phrase_line_reads(target: &str, phrase: &str, weight: f64) -> bool {
    let line = format!("{target}\t{phrase}\t{weight}");
    !phrase.contains(['\t', '\n', '\r'])
        && !target.contains(['\t', '\n', '\r'])
        && parse_line(&line).is_some()
}

const BUILTIN_TEXT: &str = include_str!("../../../data/triage/phrases.tsv");

/// What a phrase votes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// A category, by its index in [`super::CATEGORIES`].
    Category(usize),
    /// Urgency, whatever the category (`urgent`) or only when the ticket
    /// lands in one category (`urgent@broadcast_failure`).
    Urgent(Option<usize>),
    /// Votes for nothing; exists to swallow the phrases it contains.
    Guard,
}

/// One line of the phrase file.
#[derive(Debug, Clone)]
pub(super) struct Phrase {
    /// As written in the file, for showing an agent what decided.
    pub text: String,
    pub target: Target,
    pub weight: f64,
}

/// Which piece of a phrase an automaton pattern is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Whole,
    Head,
    Tail,
}

#[derive(Debug, Clone, Copy)]
struct Pattern {
    phrase: usize,
    part: Part,
    /// Starts with a Latin letter or digit: must not match inside a word
    /// ("ban" is not in "urban"). The end is left open so stems match.
    word_start: bool,
}

/// One occurrence of a phrase in a normalised text (byte offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Hit {
    pub phrase: usize,
    pub start: usize,
    pub end: usize,
}

/// The compiled phrase list.
#[derive(Debug)]
pub(super) struct PhraseSet {
    pub phrases: Vec<Phrase>,
    patterns: Vec<Pattern>,
    automaton: Automaton,
    /// Lines of the file that could not be read; a test keeps this at zero.
    pub rejected: Vec<usize>,
}

/// Most bytes between the two parts of a `head*tail` phrase: ten CJK
/// characters or a few short English words.
pub(super) const GAP: usize = 30;

static BUILTIN: OnceLock<PhraseSet> = OnceLock::new();

/// The phrase list compiled into the binary.
pub(super) fn builtin() -> &'static PhraseSet {
    BUILTIN.get_or_init(|| PhraseSet::parse(BUILTIN_TEXT))
}

impl PhraseSet {
    /// Reads the tab-separated phrase file. Unreadable lines are skipped and
    /// recorded, never fatal: the list is data and a typo must not stop triage.
    pub fn parse(text: &str) -> PhraseSet {
        let mut phrases = Vec::new();
        let mut patterns = Vec::new();
        let mut bytes = Vec::new();
        let mut rejected = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((phrase, pieces)) = parse_line(line) else {
                rejected.push(n + 1);
                continue;
            };
            for (part, piece) in pieces {
                patterns.push(Pattern {
                    phrase: phrases.len(),
                    part,
                    word_start: piece.starts_with(|c: char| c.is_ascii_alphanumeric()),
                });
                bytes.push(piece.into_bytes());
            }
            phrases.push(phrase);
        }
        let automaton = Automaton::new(&bytes);
        PhraseSet {
            phrases,
            patterns,
            automaton,
            rejected,
        }
    }

    /// The phrases in `norm` (already normalised), each occurrence that is
    /// not inside a longer one, sorted by phrase and then position.
    pub fn find(&self, norm: &str, hits: &mut Vec<Hit>) {
        hits.clear();
        let mut pieces = Vec::new();
        let bytes = norm.as_bytes();
        let mut state = 0;
        for (i, &b) in bytes.iter().enumerate() {
            state = self.automaton.step(state, b);
            for &(pattern, len) in &self.automaton.out[state as usize] {
                let start = i + 1 - len as usize;
                let p = self.patterns[pattern as usize];
                if p.word_start && start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
                    continue;
                }
                let hit = Hit {
                    phrase: p.phrase,
                    start,
                    end: i + 1,
                };
                match p.part {
                    Part::Whole => hits.push(hit),
                    Part::Head => pieces.push((hit, true)),
                    Part::Tail => pieces.push((hit, false)),
                }
            }
        }
        join_pieces(&mut pieces, hits);
        // Urgency is a separate question from the category: an urgency phrase
        // must not hide a category phrase inside it, nor the reverse. Guards
        // take part in both contests.
        let is_urgent = |h: &Hit| matches!(self.phrases[h.phrase].target, Target::Urgent(_));
        let is_guard = |h: &Hit| self.phrases[h.phrase].target == Target::Guard;
        let mut urgency: Vec<Hit> = hits
            .iter()
            .copied()
            .filter(|h| is_urgent(h) || is_guard(h))
            .collect();
        hits.retain(|h| !is_urgent(h));
        drop_contained(hits);
        drop_contained(&mut urgency);
        hits.extend(urgency.into_iter().filter(is_urgent));
        hits.sort_unstable_by_key(|h| (h.phrase, h.start));
    }
}

fn parse_line(line: &str) -> Option<(Phrase, Vec<(Part, String)>)> {
    let mut fields = line.split('\t');
    let target = fields.next()?.trim();
    let text = fields.next()?.trim();
    let weight: f64 = fields.next()?.trim().parse().ok()?;
    if fields.next().is_some() || !weight.is_finite() {
        return None;
    }
    let target = match target {
        "-" => Target::Guard,
        "urgent" => Target::Urgent(None),
        t => match t.strip_prefix("urgent@") {
            Some(c) => Target::Urgent(Some(category_index(c)?)),
            None => Target::Category(category_index(t)?),
        },
    };
    let pieces = match text.split_once('*') {
        None => vec![(Part::Whole, norm::normalize(text))],
        Some((head, tail)) => vec![
            (Part::Head, norm::normalize(head)),
            (Part::Tail, norm::normalize(tail)),
        ],
    };
    if pieces.iter().any(|(_, p)| p.is_empty() || p.contains('*')) {
        return None;
    }
    let phrase = Phrase {
        text: text.to_string(),
        target,
        weight,
    };
    Some((phrase, pieces))
}

/// Turns heads and tails of `head*tail` phrases into hits: a tail that
/// starts after a head of the same phrase ended, within [`GAP`] bytes. The
/// nearest head before each tail is the one to try, so one pass suffices.
fn join_pieces(pieces: &mut [(Hit, bool)], hits: &mut Vec<Hit>) {
    pieces.sort_unstable_by_key(|(h, is_head)| (h.phrase, h.start, !*is_head));
    let mut head: Option<Hit> = None;
    for &(hit, is_head) in pieces.iter() {
        if head.is_some_and(|h| h.phrase != hit.phrase) {
            head = None;
        }
        if is_head {
            // A later head that ends no further is at least as close to any tail.
            if head.is_none_or(|h| hit.end >= h.end) {
                head = Some(hit);
            }
            continue;
        }
        if let Some(h) = head.filter(|h| h.end <= hit.start && hit.start - h.end <= GAP) {
            hits.push(Hit {
                phrase: hit.phrase,
                start: h.start,
                end: hit.end,
            });
        }
    }
}

/// Keeps hits that no other hit strictly covers. Sorted by start and then
/// longest first, a hit is covered exactly when an earlier one reaches at
/// least as far (and is not the very same span).
fn drop_contained(hits: &mut Vec<Hit>) {
    hits.sort_unstable_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut reach: Option<(usize, usize)> = None; // (end, start) of the farthest so far
    hits.retain(|h| {
        let covered = match reach {
            Some((end, start)) => end > h.end || (end == h.end && start < h.start),
            None => false,
        };
        if reach.is_none_or(|(end, _)| h.end > end) {
            reach = Some((h.end, h.start));
        }
        !covered
    });
}

/// A byte-level Aho-Corasick automaton: a trie of the patterns with failure
/// links, each state listing the patterns that end there (its own and those
/// of its failure chain, merged at build time).
#[derive(Debug)]
struct Automaton {
    /// Per state, its trie edges sorted by byte.
    edges: Vec<Vec<(u8, u32)>>,
    fail: Vec<u32>,
    /// Per state, (pattern index, pattern length) of every match ending here.
    out: Vec<Vec<(u32, u32)>>,
}

impl Automaton {
    fn new(patterns: &[Vec<u8>]) -> Automaton {
        let mut a = Automaton {
            edges: vec![Vec::new()],
            fail: vec![0],
            out: vec![Vec::new()],
        };
        for (id, pattern) in patterns.iter().enumerate() {
            let mut state = 0u32;
            for &b in pattern {
                state = match a.edge(state, b) {
                    Some(next) => next,
                    None => {
                        let next = a.edges.len() as u32;
                        a.edges.push(Vec::new());
                        a.fail.push(0);
                        a.out.push(Vec::new());
                        let list = &mut a.edges[state as usize];
                        let at = list.partition_point(|&(x, _)| x < b);
                        list.insert(at, (b, next));
                        next
                    }
                };
            }
            a.out[state as usize].push((id as u32, pattern.len() as u32));
        }
        // Breadth first, so a state's failure target is finished before it.
        let mut queue = std::collections::VecDeque::from([0u32]);
        while let Some(state) = queue.pop_front() {
            for i in 0..a.edges[state as usize].len() {
                let (b, child) = a.edges[state as usize][i];
                let target = if state == 0 {
                    0
                } else {
                    a.step(a.fail[state as usize], b)
                };
                a.fail[child as usize] = target;
                let inherited = a.out[target as usize].clone();
                a.out[child as usize].extend(inherited);
                queue.push_back(child);
            }
        }
        a
    }

    fn edge(&self, state: u32, b: u8) -> Option<u32> {
        let list = &self.edges[state as usize];
        list.binary_search_by_key(&b, |&(x, _)| x)
            .ok()
            .map(|i| list[i].1)
    }

    fn step(&self, mut state: u32, b: u8) -> u32 {
        loop {
            if let Some(next) = self.edge(state, b) {
                return next;
            }
            if state == 0 {
                return 0;
            }
            state = self.fail[state as usize];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(set: &PhraseSet, text: &str) -> Vec<String> {
        let mut hits = Vec::new();
        set.find(&norm::normalize(text), &mut hits);
        hits.iter()
            .map(|h| set.phrases[h.phrase].text.clone())
            .collect()
    }

    #[test]
    fn finds_overlapping_phrases_and_drops_contained_ones() {
        let set = PhraseSet::parse(
            "# comment\nbroadcast_failure\t群发失败\t3\ncannot_sign_in\t失败\t1\n\
             cannot_sign_in\t登录\t1\naccount_stolen\thack\t3\n-\tnot hacked\t0\n",
        );
        assert!(set.rejected.is_empty());
        assert_eq!(
            found(&set, "群發失敗了，登录也失败"),
            ["群发失败", "失败", "登录"]
        );
        assert_eq!(found(&set, "I was HACKED"), ["hack"]);
        assert_eq!(found(&set, "i am not hacked"), ["not hacked"]);
        assert_eq!(found(&set, "shack"), Vec::<String>::new());
    }

    #[test]
    fn a_star_joins_two_parts_in_order_within_the_gap() {
        let set = PhraseSet::parse("code_not_received\t验证码*收不到\t3\n");
        assert_eq!(found(&set, "验证码一直都收不到"), ["验证码*收不到"]);
        assert!(found(&set, "收不到验证码").is_empty());
        let far = format!("验证码{}收不到", "很".repeat(11));
        assert!(found(&set, &far).is_empty());
    }

    #[test]
    fn bad_lines_are_recorded_not_fatal() {
        let set = PhraseSet::parse("nope\tx\t1\nprivacy\tx\tmany\nprivacy\tok\t1\n");
        assert_eq!(set.rejected, [1, 2]);
        assert_eq!(set.phrases.len(), 1);
    }

    #[test]
    fn builtin_list_reads_cleanly_without_duplicates() {
        let set = builtin();
        assert_eq!(set.rejected, Vec::<usize>::new());
        // Two spellings that normalise alike would count twice.
        let mut seen = std::collections::HashMap::new();
        for p in &set.phrases {
            let key = (format!("{:?}", p.target), norm::normalize(&p.text));
            if let Some(first) = seen.insert(key, &p.text) {
                panic!("{first:?} and {:?} are the same phrase", p.text);
            }
        }
    }
}
