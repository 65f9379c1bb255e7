//! Triage holds its promises on any input: no panic, a known category, a
//! confidence in 0..=1, the same answer twice, and a model that survives
//! being saved and read back whatever it learned.

use std::sync::OnceLock;

use koban_policy::desk::triage::{parse_examples, triage, Model, CATEGORIES};
use proptest::prelude::*;

fn builtin() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(Model::builtin)
}

/// Text from the scripts tickets arrive in, plus the characters that tend to
/// break text code: combining marks, full-width forms, controls, emoji,
/// zero-width joiners, surrogate-adjacent planes.
fn ticket_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        "[a-zA-Z0-9 ,.!?'-]{0,12}",
        "[\u{4E00}-\u{9FFF}]{0,8}",
        "[\u{3040}-\u{30FF}ー]{0,8}",
        "[\u{0E00}-\u{0E7F}]{0,8}",
        "[\u{AC00}-\u{D7AF}\u{3100}-\u{312F}]{0,4}",
        "[\u{FF01}-\u{FF5E}\u{FF65}-\u{FF9F}]{0,6}",
        "[\u{0300}-\u{036F}\u{200B}-\u{200F}\u{202A}-\u{202E}\u{FEFF}\t\n\r\u{0}]{0,4}",
        "[\u{1F300}-\u{1FAFF}\u{20000}-\u{2A6DF}]{0,3}",
        Just("收不到验证码".to_string()),
        Just("乗っ取られた".to_string()),
        Just("broadcast failed today".to_string()),
        Just("忘記密碼".to_string()),
        any::<String>(),
    ];
    prop::collection::vec(pieces, 0..8).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn triage_is_total_bounded_and_deterministic(subject in ticket_text(), body in ticket_text()) {
        let a = triage(builtin(), &subject, &body);
        prop_assert!(CATEGORIES.contains(&a.category));
        prop_assert!(a.confidence.is_finite() && (0.0..=1.0).contains(&a.confidence), "{}", a.confidence);
        prop_assert!(!a.secondary.contains(&a.category));
        prop_assert!(a.secondary.iter().all(|c| CATEGORIES.contains(c)));
        let b = triage(builtin(), &subject, &body);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn an_empty_model_never_panics_either(body in ticket_text()) {
        let t = triage(&Model::empty(), "", &body);
        prop_assert!((0.0..=1.0).contains(&t.confidence));
    }

    #[test]
    fn a_model_round_trips_whatever_it_learned(
        tickets in prop::collection::vec((ticket_text(), ticket_text(), 0..CATEGORIES.len()), 0..6)
    ) {
        let mut m = Model::empty();
        for (s, b, c) in &tickets {
            m.learn(s, b, CATEGORIES[*c]).expect("a known category");
        }
        let back = Model::from_text(&m.to_text()).expect("reads what it wrote");
        prop_assert_eq!(back, m);
    }

    #[test]
    fn reading_garbage_is_an_error_not_a_panic(text in any::<String>()) {
        let _ = Model::from_text(&text);
        let _ = Model::from_text(&format!("koban-triage-nb 1\n{text}"));
        let _ = parse_examples(&text);
    }
}
