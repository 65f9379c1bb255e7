//! Triage accuracy on the repository's evaluation set. Prints the figures
//! for BENCHMARKS.md (`cargo test -p koban-policy --test triage_eval --
//! --nocapture`) and holds the held-out part to its floor.
//!
//! The held-out part is never trained on nor tuned against; its misses are
//! counted but not listed, so that reading this output cannot turn into
//! tuning on it. The tuning part's misses are listed: that is what they are for.

use koban_policy::desk::triage::{parse_examples, triage, DecidedBy, Example, Model, CATEGORIES};

const HELD_OUT: &str = include_str!("../data/triage/eval_heldout.tsv");
const TUNING: &str = include_str!("../data/triage/eval_tuning.tsv");
const LANGS: [&str; 4] = ["zh-CN", "zh-TW", "ja", "en"];

#[derive(Default)]
struct Score {
    total: usize,
    right: usize,
    urgent_right: usize,
    by_rule: usize,
    by_model: usize,
    per_category: Vec<(usize, usize)>,
    per_lang: Vec<(usize, usize)>,
    misses: Vec<String>,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn score(model: &Model, examples: &[&Example]) -> Score {
    let mut s = Score {
        per_category: vec![(0, 0); CATEGORIES.len()],
        per_lang: vec![(0, 0); LANGS.len()],
        ..Score::default()
    };
    for e in examples {
        let t = triage(model, &e.subject, &e.body);
        let ok = t.category == e.category;
        s.total += 1;
        s.right += ok as usize;
        s.urgent_right += (t.urgent == e.urgent) as usize;
        match t.decided_by {
            DecidedBy::Rule { .. } => s.by_rule += 1,
            DecidedBy::Learned { .. } => s.by_model += 1,
            DecidedBy::Fallback => {}
        }
        if let Some(c) = CATEGORIES.iter().position(|c| *c == e.category) {
            s.per_category[c].0 += ok as usize;
            s.per_category[c].1 += 1;
        }
        if let Some(l) = LANGS.iter().position(|l| *l == e.lang) {
            s.per_lang[l].0 += ok as usize;
            s.per_lang[l].1 += 1;
        }
        if !ok || t.urgent != e.urgent {
            s.misses.push(format!(
                "  want {}/{} got {}/{} by {:?}: {} | {}",
                e.category, e.urgent, t.category, t.urgent, t.decided_by, e.subject, e.body
            ));
        }
    }
    s
}

fn report(name: &str, s: &Score) {
    println!("\n### {name}: {} tickets", s.total);
    println!(
        "accuracy {:.3}, urgency accuracy {:.3}, decided by rule {:.0} %, by model {:.0} %",
        ratio(s.right, s.total),
        ratio(s.urgent_right, s.total),
        100.0 * ratio(s.by_rule, s.total),
        100.0 * ratio(s.by_model, s.total),
    );
    println!("| category | recall | n |\n|---|---|---|");
    for (c, (right, n)) in CATEGORIES.iter().zip(&s.per_category) {
        println!("| {c} | {:.3} | {n} |", ratio(*right, *n));
    }
    println!("| language | accuracy | n |\n|---|---|---|");
    for (l, (right, n)) in LANGS.iter().zip(&s.per_lang) {
        println!("| {l} | {:.3} | {n} |", ratio(*right, *n));
    }
}

fn load(text: &str) -> Vec<Example> {
    parse_examples(text).expect("evaluation files are well formed")
}

#[test]
fn the_evaluation_set_is_large_and_covers_every_category_in_every_language() {
    let held_out = load(HELD_OUT);
    let tuning = load(TUNING);
    assert!(held_out.len() + tuning.len() >= 400);
    assert!(
        held_out.len() * 10 >= (held_out.len() + tuning.len()) * 3,
        "held-out under 30 %"
    );
    for part in [&held_out, &tuning] {
        for lang in LANGS {
            for c in CATEGORIES {
                assert!(
                    part.iter().any(|e| e.lang == lang && e.category == c),
                    "{lang} lacks {c}"
                );
            }
        }
    }
}

#[test]
fn triage_accuracy_on_held_out_and_tuning_parts() {
    let held_out = load(HELD_OUT);
    let tuning = load(TUNING);
    let model = Model::builtin();

    let h = score(&model, &held_out.iter().collect::<Vec<_>>());
    report("held-out (never trained or tuned on)", &h);
    println!("misses: {} (not listed)", h.misses.len());

    let t = score(&model, &tuning.iter().collect::<Vec<_>>());
    report("tuning (also the model's training set)", &t);

    // Two-fold cross-validation on the tuning part: a fair figure for it.
    let mut cv = Score::default();
    for fold in 0..2 {
        let mut m = Model::empty();
        for (i, e) in tuning.iter().enumerate() {
            if i % 2 != fold {
                m.learn(&e.subject, &e.body, e.category)
                    .expect("known category");
            }
        }
        let test: Vec<&Example> = tuning
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == fold)
            .map(|(_, e)| e)
            .collect();
        let s = score(&m, &test);
        cv.total += s.total;
        cv.right += s.right;
        cv.urgent_right += s.urgent_right;
        cv.misses.extend(s.misses);
    }
    println!(
        "\n### tuning, two-fold cross-validation: accuracy {:.3}, urgency accuracy {:.3}",
        ratio(cv.right, cv.total),
        ratio(cv.urgent_right, cv.total)
    );
    println!("tuning misses (cross-validated):");
    for m in &cv.misses {
        println!("{m}");
    }

    throughput(&model, &held_out, &tuning);

    assert!(
        ratio(h.right, h.total) >= 0.9,
        "held-out accuracy below 0.9"
    );
    assert!(
        ratio(h.urgent_right, h.total) >= 0.85,
        "held-out urgency accuracy below 0.85"
    );
}

/// Tickets per second over the whole set; meaningful in a release build
/// (`cargo test --release ...`), indicative only in a debug one.
fn throughput(model: &Model, a: &[Example], b: &[Example]) {
    let all: Vec<&Example> = a.iter().chain(b).collect();
    let bytes: usize = all.iter().map(|e| e.subject.len() + e.body.len()).sum();
    let rounds = 20;
    let start = std::time::Instant::now();
    let mut urgent = 0;
    for _ in 0..rounds {
        for e in &all {
            urgent += triage(model, &e.subject, &e.body).urgent as usize;
        }
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let n = (rounds * all.len()) as f64;
    println!(
        "\nthroughput ({} build): {:.0} tickets/s, {:.1} MB/s of text ({urgent} urgent verdicts)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        n / secs,
        (rounds * bytes) as f64 / secs / 1e6,
    );
}
