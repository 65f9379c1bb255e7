//! Labels per language and checkbox fields.

use super::*;
use jiff::Timestamp;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn now() -> Timestamp {
    "2026-12-04T08:00:00Z".parse().expect("test time")
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn field(id: &str, kind: CustomKind, required: bool) -> CustomField {
    CustomField {
        id: id.to_string(),
        kind,
        required,
        max_len: 3,
        labels: Labels::new(),
        hints: Labels::new(),
        option_labels: BTreeMap::new(),
    }
}

fn spec(custom: Vec<CustomField>) -> FormSpec {
    FormSpec {
        category: Category::Other,
        required: vec![Field::Subject, Field::Body],
        optional: vec![],
        custom,
    }
}

fn problems(spec: &FormSpec) -> Vec<SpecProblem> {
    validate_spec(spec)
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.problem)
        .collect()
}

fn plan() -> CustomField {
    let mut plan = field(
        "plan",
        CustomKind::Choice {
            options: vec!["free".into(), "pro".into()],
        },
        false,
    );
    plan.labels = labels(&[("en", "Plan"), ("ja", "プラン")]);
    plan.hints = labels(&[("en", "See your bill")]);
    plan.option_labels =
        BTreeMap::from([("pro".to_string(), labels(&[("en", "Pro"), ("th", "โปร")]))]);
    plan
}

#[test]
fn labels_fall_back_to_english_then_to_the_id() {
    let plan = plan();
    assert_eq!(plan.label("ja"), "プラン");
    assert_eq!(plan.label("th"), "Plan");
    assert_eq!(plan.label("xx"), "Plan");
    assert_eq!(plan.hint("zh-CN"), Some("See your bill"));
    assert_eq!(plan.option_label("pro", "th"), "โปร");
    assert_eq!(plan.option_label("pro", "ja"), "Pro");
    assert_eq!(plan.option_label("free", "ja"), "free");
    let bare = field("order_no", CustomKind::Number, false);
    assert_eq!(bare.label("ja"), "order_no");
    assert_eq!(bare.hint("ja"), None);
    assert!(bare.options().is_empty());
    assert_eq!(validate_spec(&spec(vec![plan])), Ok(()));
}

#[test]
fn labels_are_checked_language_length_english_and_options() {
    let mut f = plan();
    f.labels.insert("fr".into(), "Forfait".into());
    assert_eq!(problems(&spec(vec![f])), [SpecProblem::UnknownLanguage]);

    let mut f = plan();
    f.labels
        .insert("ja".into(), "あ".repeat(MAX_LABEL_CHARS + 1));
    assert_eq!(problems(&spec(vec![f])), [SpecProblem::LabelTooLong]);
    let mut f = plan();
    f.labels.insert("ja".into(), "あ".repeat(MAX_LABEL_CHARS));
    f.hints.insert("ja".into(), "あ".repeat(MAX_HINT_CHARS));
    assert_eq!(problems(&spec(vec![f])), []);

    let mut f = plan();
    f.labels.remove("en");
    assert_eq!(
        problems(&spec(vec![f])),
        [SpecProblem::EnglishLabelRequired]
    );
    let mut f = field("note", CustomKind::Date, false);
    f.hints = labels(&[("ja", "任意")]);
    assert_eq!(
        problems(&spec(vec![f])),
        [SpecProblem::EnglishLabelRequired]
    );
    let mut f = plan();
    f.option_labels
        .insert("free".into(), labels(&[("ja", "無料")]));
    assert_eq!(
        problems(&spec(vec![f])),
        [SpecProblem::EnglishLabelRequired]
    );

    let mut f = plan();
    f.option_labels
        .insert("gold".into(), labels(&[("en", "Gold")]));
    assert_eq!(problems(&spec(vec![f])), [SpecProblem::UnknownOption]);
    let mut f = field("seats", CustomKind::Number, false);
    f.option_labels
        .insert("one".into(), labels(&[("en", "One")]));
    assert_eq!(problems(&spec(vec![f])), [SpecProblem::UnknownOption]);

    let mut f = plan();
    f.labels.insert("th".into(), "a\u{202e}b".into());
    assert_eq!(problems(&spec(vec![f])), [SpecProblem::BadLabel]);
    let mut f = plan();
    f.labels.insert("th".into(), "   ".into());
    assert_eq!(problems(&spec(vec![f])), [SpecProblem::BadLabel]);
}

#[test]
fn tidy_trims_and_drops_blank_labels() {
    let mut f = plan();
    f.labels.insert("th".into(), "  แผน \n".into());
    f.labels.insert("zh-CN".into(), "   ".into());
    f.option_labels
        .insert("free".into(), labels(&[("ja", " ")]));
    tidy(&mut f);
    assert_eq!(f.labels.get("th").map(String::as_str), Some("แผน"));
    assert!(!f.labels.contains_key("zh-CN"));
    assert!(!f.option_labels.contains_key("free"));
    assert_eq!(validate_spec(&spec(vec![f])), Ok(()));
}

#[test]
fn specs_stored_before_labels_and_checkboxes_still_read() {
    let old = r#"{"category":"other","required":["subject","body"],"optional":[],
        "custom":[{"id":"plan","kind":{"type":"choice","options":["a"]},"required":false,"max_len":5}]}"#;
    let spec: FormSpec = serde_json::from_str(old).expect("an old spec reads");
    assert!(spec.custom[0].labels.is_empty());
    assert_eq!(spec.custom[0].label("ja"), "plan");
    // Saved again, it has no empty members.
    let json = serde_json::to_string(&spec).expect("serialises");
    assert!(
        !json.contains("labels") && !json.contains("hints"),
        "{json}"
    );
    let checkbox: CustomKind = serde_json::from_str(r#"{"type":"checkbox"}"#).expect("reads");
    assert_eq!(checkbox, CustomKind::Checkbox);
    assert_eq!(checkbox.type_name(), "checkbox");
    assert!(CustomKind::TYPES.contains(&"checkbox"));
}

#[test]
fn a_checkbox_is_true_or_false_and_a_required_one_must_be_ticked() {
    let form = spec(vec![
        field("owner", CustomKind::Checkbox, true),
        field("news", CustomKind::Checkbox, false),
    ]);
    let base = [("subject", "s"), ("body", "b")];
    let run = |extra: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = base
            .iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        check(&form, &pairs, now())
    };
    assert!(run(&[("owner", "true"), ("news", "false")]).is_complete());
    assert!(run(&[("owner", " true ")]).is_complete());
    let got = run(&[]);
    assert_eq!(got.missing, [FieldRef::Custom("owner".into())]);
    let got = run(&[("owner", "false")]);
    assert_eq!(
        got.invalid,
        [(FieldRef::Custom("owner".into()), Problem::MustBeChecked)]
    );
    assert!(got.missing.is_empty(), "refused, not also missing");
    for bad in ["yes", "2", "TRUE", "on", "1"] {
        let got = run(&[("owner", "true"), ("news", bad)]);
        assert_eq!(
            got.invalid,
            [(FieldRef::Custom("news".into()), Problem::NotTrueOrFalse)],
            "{bad}"
        );
    }
    assert_eq!(Problem::MustBeChecked.code(), "must_be_checked");
    assert_eq!(Problem::NotTrueOrFalse.code(), "not_true_or_false");
}

fn any_lang() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(LABEL_LANGUAGES.to_vec()).prop_map(str::to_string),
        "[a-zA-Z-]{0,8}",
    ]
}

proptest! {
    /// Whatever is written, a label is never blank: the viewer's language,
    /// English, or the id.
    #[test]
    fn a_label_is_always_shown(
        written in proptest::collection::btree_map(any_lang(), "[a-zA-Zあ-ん]{1,12}", 0..6),
        lang in any_lang(),
    ) {
        let mut f = field("order_no", CustomKind::Number, false);
        f.labels = written.clone();
        let shown = f.label(&lang);
        prop_assert!(!shown.is_empty());
        let want = written.get(&lang).or_else(|| written.get("en")).map(String::as_str).unwrap_or("order_no");
        prop_assert_eq!(shown, want);
    }

    /// A checkbox accepts exactly `true` and `false` (trimmed).
    #[test]
    fn only_true_and_false_tick_a_box(value in "\\PC{1,8}", required in any::<bool>()) {
        let form = spec(vec![field("ok", CustomKind::Checkbox, required)]);
        let pairs = vec![
            ("subject".to_string(), "s".to_string()),
            ("body".to_string(), "b".to_string()),
            ("ok".to_string(), value.clone()),
        ];
        let got = check(&form, &pairs, now());
        let v = value.trim();
        let ok = v == "true" || (v == "false" && !required) || v.is_empty() && !required;
        prop_assert_eq!(got.is_complete(), ok, "{:?}", got);
    }

    /// Tidying twice changes nothing more than tidying once.
    #[test]
    fn tidy_is_idempotent(written in proptest::collection::btree_map(any_lang(), "[ a-z]{0,6}", 0..6)) {
        let mut f = plan();
        f.labels = written;
        tidy(&mut f);
        let once = f.clone();
        tidy(&mut f);
        prop_assert_eq!(once, f);
    }
}
