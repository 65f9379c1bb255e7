//! Forms: the defaults, each value rule, and properties of [`check`].

use super::*;
use jiff::Timestamp;
use proptest::prelude::*;

fn now() -> Timestamp {
    "2026-12-04T08:00:00Z".parse().expect("test time")
}

fn sub(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A valid value for each standard field.
fn good(f: Field) -> &'static str {
    match f {
        Field::Subject => "验证码收不到",
        Field::Body => "Since this morning no SMS arrives.\nTried twice.",
        Field::DeviceOs => "iOS",
        Field::DeviceOsVersion => "18.1",
        Field::ClientVersion => "13.4.2",
        Field::HappenedAt => "2026-12-04T16:30:00+09:00",
        Field::ErrorText => "E1024: too many attempts",
        Field::Screenshot => "att_01HZX3,att_01HZX4",
        Field::ContactUsed => "+81 90-1234-5678",
        Field::Steps => "1. open settings\n2. tap members",
    }
}

fn custom(id: &str, kind: CustomKind, required: bool) -> CustomField {
    CustomField {
        id: id.to_string(),
        kind,
        required,
        max_len: 40,
        labels: Labels::new(),
        hints: Labels::new(),
        option_labels: std::collections::BTreeMap::new(),
    }
}

#[test]
fn categories_and_fields_round_trip_their_ids() {
    for c in Category::ALL {
        assert_eq!(Category::parse(c.as_str()), Ok(c));
    }
    for f in Field::ALL {
        assert_eq!(Field::parse(f.as_str()), Ok(f));
        assert_eq!(
            FieldRef::from(f.as_str().to_string()),
            FieldRef::Standard(f)
        );
    }
    assert_eq!(Category::parse("Privacy"), Err(FormError::UnknownCategory));
    assert_eq!("other".parse::<Category>(), Ok(Category::Other));
    assert_eq!(
        FieldRef::from("order_no".to_string()),
        FieldRef::Custom("order_no".into())
    );
}

#[test]
fn every_default_form_is_valid_and_asks_what_the_brief_says() {
    for c in Category::ALL {
        let spec = default_form(c);
        assert_eq!(validate_spec(&spec), Ok(()), "{c:?}");
        assert_eq!(spec.category, c);
    }
    use Field::*;
    let cases: &[(Category, &[Field])] = &[
        (Category::CodeNotReceived, &[ContactUsed, HappenedAt]),
        (
            Category::CannotSignIn,
            &[ContactUsed, DeviceOs, ErrorText, HappenedAt],
        ),
        (Category::DeviceSecurity, &[DeviceOs, HappenedAt]),
        (Category::AccountStolen, &[ContactUsed, HappenedAt]),
        (Category::EnterprisePermissions, &[Steps]),
        (Category::BroadcastFailure, &[ErrorText, HappenedAt, Steps]),
    ];
    for (c, extra) in cases {
        let spec = default_form(*c);
        let mut want = vec![Subject, Body];
        want.extend_from_slice(extra);
        assert_eq!(spec.required, want, "{c:?}");
    }
    assert!(default_form(Category::CannotSignIn)
        .optional
        .contains(&Screenshot));
}

#[test]
fn each_value_rule() {
    let spec = FormSpec {
        category: Category::Other,
        required: vec![Field::Subject, Field::Body],
        optional: vec![
            Field::HappenedAt,
            Field::ClientVersion,
            Field::ContactUsed,
            Field::Screenshot,
            Field::DeviceOs,
        ],
        custom: vec![
            custom("seats", CustomKind::Number, false),
            custom(
                "plan",
                CustomKind::Choice {
                    options: vec!["free".into(), "pro".into()],
                },
                false,
            ),
            custom("since", CustomKind::Date, false),
            custom("note", CustomKind::Text { multiline: false }, false),
        ],
    };
    let cases: &[(&str, &str, Option<Problem>)] = &[
        ("happened_at", "2026-12-04T08:10:00Z", None),
        ("happened_at", "２０２６-１２-０４T０８：００：００Z", None),
        (
            "happened_at",
            "2026-12-04T09:00:00Z",
            Some(Problem::InTheFuture),
        ),
        ("happened_at", "yesterday", Some(Problem::NotADateTime)),
        (
            "happened_at",
            "2026-12-04T08:00:00",
            Some(Problem::NotADateTime),
        ),
        ("client_version", "13.4.2", None),
        ("client_version", "v13", Some(Problem::NotAVersion)),
        ("client_version", "13..4", Some(Problem::NotAVersion)),
        ("contact_used", "mei@example.com", None),
        ("contact_used", "０９０－１２３４－５６７８", None),
        ("contact_used", "(02) 2345 6789", None),
        ("contact_used", "mei@", Some(Problem::NotAContact)),
        ("contact_used", "12345", Some(Problem::NotAContact)),
        ("screenshot", "att_1, att-2", None),
        (
            "screenshot",
            "../etc/passwd",
            Some(Problem::NotAnAttachment),
        ),
        (
            "device_os",
            "Android\u{0007}",
            Some(Problem::HiddenCharacter),
        ),
        ("device_os", "Android\n14", Some(Problem::HiddenCharacter)),
        ("seats", "12", None),
        ("seats", "１２.５", None),
        ("seats", "twelve", Some(Problem::NotANumber)),
        ("seats", "1e5", Some(Problem::NotANumber)),
        ("plan", "pro", None),
        ("plan", "enterprise", Some(Problem::NotAnOption)),
        ("since", "2026-02-28", None),
        ("since", "2026-02-30", Some(Problem::NotADate)),
        ("note", "x", None),
    ];
    for (name, value, want) in cases {
        let mut pairs = vec![("subject", "s"), ("body", "b")];
        pairs.push((name, value));
        let got = check(&spec, &sub(&pairs), now());
        let problems: Vec<Problem> = got.invalid.iter().map(|(_, p)| *p).collect();
        assert_eq!(
            problems,
            want.iter().copied().collect::<Vec<_>>(),
            "{name}={value:?}"
        );
    }
    let long = "x".repeat(41);
    let got = check(&spec, &sub(&[("note", &long)]), now());
    assert_eq!(
        got.invalid,
        vec![(FieldRef::Custom("note".into()), Problem::TooLong)]
    );
}

#[test]
fn body_keeps_line_breaks_and_blank_values_count_as_missing() {
    let spec = default_form(Category::Other);
    let got = check(
        &spec,
        &sub(&[("subject", "  "), ("body", "a\nb\tc")]),
        now(),
    );
    assert_eq!(got.missing, vec![FieldRef::Standard(Field::Subject)]);
    assert!(got.invalid.is_empty());
}

#[test]
fn unknown_duplicate_and_off_form_fields_are_reported() {
    let spec = default_form(Category::Privacy);
    let pairs = sub(&[
        ("subject", "export my data"),
        ("body", "please"),
        ("body", "again"),
        ("contact_used", "mei@example.com"),
        ("device_os", "iOS"),
        ("is_admin", "true"),
        ("is_admin", "true"),
    ]);
    let got = check(&spec, &pairs, now());
    assert_eq!(
        got.unknown,
        vec!["device_os".to_string(), "is_admin".to_string()]
    );
    assert_eq!(
        got.invalid,
        vec![(FieldRef::Standard(Field::Body), Problem::Duplicate)]
    );
    assert!(
        got.missing.is_empty(),
        "a refused value is invalid, not missing"
    );
    assert!(!got.is_complete());
}

#[test]
fn unknown_names_are_bounded() {
    let spec = default_form(Category::Other);
    let pairs: Vec<(String, String)> = (0..100)
        .map(|i| (format!("n{i}{}", "n".repeat(100)), String::new()))
        .collect();
    let got = check(&spec, &pairs, now());
    assert_eq!(got.unknown.len(), MAX_UNKNOWN_REPORTED);
    assert!(got
        .unknown
        .iter()
        .all(|u| u.chars().count() <= MAX_UNKNOWN_REPORTED_CHARS));
}

#[test]
fn score_weighs_required_before_optional() {
    let spec = default_form(Category::CodeNotReceived);
    let required: Vec<(String, String)> = spec
        .required
        .iter()
        .map(|f| (f.as_str().to_string(), good(*f).to_string()))
        .collect();
    assert_eq!(check(&spec, &required, now()).score, 80);
    let mut all = required.clone();
    all.extend(
        spec.optional
            .iter()
            .map(|f| (f.as_str().to_string(), good(*f).to_string())),
    );
    let got = check(&spec, &all, now());
    assert_eq!(got.score, 100);
    assert!(got.is_complete());
    assert_eq!(check(&spec, &[], now()).score, 0);
}

#[test]
fn spec_problems_are_all_reported() {
    let spec = FormSpec {
        category: Category::Other,
        required: vec![Field::Subject, Field::Steps],
        optional: vec![Field::Steps],
        custom: vec![
            custom("Order", CustomKind::Number, false),
            custom("steps", CustomKind::Number, false),
            custom("plan", CustomKind::Choice { options: vec![] }, true),
            custom(
                "plan",
                CustomKind::Choice {
                    options: vec!["a".into(), "a".into(), " b".into()],
                },
                false,
            ),
            CustomField {
                max_len: 0,
                ..custom("empty", CustomKind::Date, false)
            },
        ],
    };
    let Err(issues) = validate_spec(&spec) else {
        panic!("the spec has problems");
    };
    let got: Vec<(&str, &str)> = issues
        .iter()
        .map(|i| (i.at.as_str(), i.problem.code()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("steps", "duplicate_field"),
            ("body", "must_be_required"),
            ("Order", "bad_custom_id"),
            ("steps", "custom_id_taken"),
            ("plan", "choice_without_options"),
            ("plan", "duplicate_custom_id"),
            ("plan", "bad_option"),
            ("plan", "duplicate_option"),
            ("empty", "max_len_out_of_range"),
        ]
    );
    let many = FormSpec {
        custom: (0..=MAX_CUSTOM_FIELDS)
            .map(|i| custom(&format!("f{i}"), CustomKind::Date, false))
            .collect(),
        ..default_form(Category::Other)
    };
    let Err(issues) = validate_spec(&many) else {
        panic!("too many fields");
    };
    assert_eq!(issues[0].problem, SpecProblem::TooManyFields);
}

fn any_category() -> impl Strategy<Value = Category> {
    proptest::sample::select(Category::ALL.to_vec())
}

proptest! {
    #[test]
    fn an_empty_submission_misses_every_required_field(c in any_category()) {
        let spec = default_form(c);
        let got = check(&spec, &[], now());
        let want: Vec<FieldRef> = spec.required.iter().map(|f| FieldRef::Standard(*f)).collect();
        prop_assert_eq!(got.missing, want);
        prop_assert_eq!(got.score, 0);
    }

    #[test]
    fn filling_the_required_fields_leaves_nothing_missing(
        c in any_category(),
        padding in "[ \t]{0,3}",
        extra in proptest::collection::btree_set(proptest::sample::select(Field::ALL.to_vec()), 0..4),
    ) {
        let spec = default_form(c);
        let pairs: Vec<(String, String)> = spec
            .required
            .iter()
            .chain(extra.iter().filter(|f| spec.optional.contains(f) && !spec.required.contains(f)))
            .map(|f| (f.as_str().to_string(), format!("{padding}{}{padding}", good(*f))))
            .collect();
        let got = check(&spec, &pairs, now());
        prop_assert!(got.missing.is_empty(), "{:?}", got);
        prop_assert!(got.invalid.is_empty(), "{:?}", got);
        prop_assert!(got.score >= 80);
    }

    #[test]
    fn names_off_the_form_are_always_unknown(
        c in any_category(),
        name in "[a-z_]{1,12}",
        value in any::<String>(),
    ) {
        let spec = default_form(c);
        prop_assume!(!spec.required.iter().chain(&spec.optional).any(|f| f.as_str() == name));
        let got = check(&spec, &[(name.clone(), value)], now());
        prop_assert_eq!(got.unknown, vec![name]);
    }

    #[test]
    fn check_is_total_and_its_score_bounded(
        c in any_category(),
        pairs in proptest::collection::vec(
            (proptest::sample::select(Field::ALL.to_vec()).prop_map(|f| f.as_str().to_string()), any::<String>()),
            0..12,
        ),
    ) {
        let spec = default_form(c);
        let got = check(&spec, &pairs, now());
        prop_assert!(got.score <= 100);
        // A field is reported at most once as missing, and never both
        // missing and invalid.
        for m in &got.missing {
            prop_assert!(!got.invalid.iter().any(|(f, _)| f == m));
        }
        prop_assert_eq!(got.score == 100, got.missing.is_empty() && got.invalid.is_empty()
            && spec.optional.iter().all(|f| pairs.iter().any(|(n, v)| n == f.as_str() && !v.trim().is_empty())));
    }

    #[test]
    fn hidden_characters_are_refused_in_any_field(
        c in any_category(),
        ch in proptest::sample::select(vec!['\u{0000}', '\u{001B}', '\u{007F}', '\u{200B}', '\u{202E}', '\u{FEFF}']),
    ) {
        let spec = default_form(c);
        for f in spec.required.iter() {
            let value = format!("a{ch}b");
            let got = check(&spec, &[(f.as_str().to_string(), value)], now());
            prop_assert_eq!(&got.invalid, &vec![(FieldRef::Standard(*f), Problem::HiddenCharacter)]);
        }
    }
}

proptest! {
    /// The pattern admins' API documents publish says what `validate_spec`
    /// accepts as a custom id.
    #[test]
    fn custom_ids_match_their_pattern(s in any::<String>(), generated in "[a-z][a-z0-9_]{0,31}") {
        let pattern = regex::Regex::new(CUSTOM_ID_PATTERN).expect("a valid pattern");
        prop_assert_eq!(spec::is_custom_id(&s), pattern.is_match(&s));
        prop_assert!(spec::is_custom_id(&generated));
    }
}
