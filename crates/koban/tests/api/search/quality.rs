//! Recall and precision on the labelled set in `tests/data/search_queries.json`:
//! each language's figures printed, and a floor each must keep.

use super::{open, q, refs, search, until, PASSWORD};
use crate::support::TestApp;
use std::collections::{BTreeMap, HashMap};

/// Below these a change to the tokenizer or the ranking made search worse.
const RECALL_FLOOR: f64 = 0.85;
const PRECISION_FLOOR: f64 = 0.85;

async fn recall_and_precision_in_every_language(t: TestApp) {
    let set: serde_json::Value =
        serde_json::from_str(include_str!("../../data/search_queries.json"))
            .expect("the labelled set is JSON");
    let agent = t.staff("agent5@example.com", "agent").await;
    let requester = t.signed_up("quality@example.com", PASSWORD).await;
    let mut by_reference: HashMap<String, String> = HashMap::new();
    let tickets = set["tickets"].as_array().expect("tickets");
    for ticket in tickets {
        let reference = open(
            &t,
            &requester,
            ticket["subject"].as_str().expect("subject"),
            ticket["body"].as_str().expect("body"),
        )
        .await;
        by_reference.insert(reference, ticket["id"].as_str().expect("id").to_string());
    }
    let last = by_reference.keys().cloned().collect::<Vec<_>>();
    until(&t, Some(&agent), "q=x&kind=ticket", |_| true).await;
    // Every ticket is in the index before anything is measured.
    for reference in &last {
        until(
            &t,
            Some(&agent),
            &format!("{}&kind=ticket", q(&super::digits(reference))),
            |b| refs(b).contains(reference),
        )
        .await;
    }
    // (relevant found, found, relevant) per language.
    let mut figures: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for query in set["queries"].as_array().expect("queries") {
        let lang = query["lang"].as_str().expect("lang").to_string();
        let text = query["q"].as_str().expect("q");
        let expected: Vec<&str> = query["expected"]
            .as_array()
            .expect("expected")
            .iter()
            .filter_map(|e| e.as_str())
            .collect();
        let (_, body) = search(
            &t,
            Some(&agent),
            &format!("{}&kind=ticket&limit=10", q(text)),
        )
        .await;
        let found: Vec<String> = refs(&body)
            .iter()
            .filter_map(|r| by_reference.get(r).cloned())
            .collect();
        let hits = found
            .iter()
            .filter(|f| expected.contains(&f.as_str()))
            .count();
        let missed: Vec<&&str> = expected
            .iter()
            .filter(|e| !found.iter().any(|f| f == **e))
            .collect();
        let extra: Vec<&String> = found
            .iter()
            .filter(|f| !expected.contains(&f.as_str()))
            .collect();
        if !missed.is_empty() || !extra.is_empty() {
            println!("search quality: {lang} {text:?}: missed {missed:?}, extra {extra:?}");
        }
        let entry = figures.entry(lang).or_default();
        entry.0 += hits;
        entry.1 += found.len();
        entry.2 += expected.len();
    }
    let mut failures = Vec::new();
    for (lang, (hits, found, relevant)) in &figures {
        let recall = *hits as f64 / (*relevant).max(1) as f64;
        let precision = *hits as f64 / (*found).max(1) as f64;
        println!("search quality: {lang:6} recall {recall:.2} precision {precision:.2} ({hits} of {relevant} relevant, {found} found)");
        if recall < RECALL_FLOOR || precision < PRECISION_FLOOR {
            failures.push(lang.clone());
        }
    }
    assert!(failures.is_empty(), "below the floor: {failures:?}");
}
both!(recall_and_precision_in_every_language);
