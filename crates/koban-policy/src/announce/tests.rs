use super::*;
use proptest::prelude::*;

fn draft() -> Draft {
    let mut texts = BTreeMap::new();
    texts.insert(
        "th".to_string(),
        Text {
            title: "ปิดปรับปรุงระบบ".into(),
            body: "คืนนี้".into(),
        },
    );
    Draft {
        kind: "maintenance".into(),
        texts,
        regions: vec!["th".into(), "JP".into(), "TH".into()],
        starts_at: 1_000,
        ends_at: Some(2_000),
    }
}

fn codes(d: &Draft) -> Vec<(String, &'static str)> {
    validate(d).err().unwrap_or_default()
}

#[test]
fn a_good_draft_is_stored_in_its_canonical_form() {
    let valid = validate(&draft()).expect("valid");
    assert_eq!(valid.kind, Kind::Maintenance);
    assert_eq!(valid.regions, vec!["JP".to_string(), "TH".to_string()]);
    assert!(valid.texts.contains_key("th"));
}

/// A change to a good draft, the field it spoils and the reason's code.
type Case = (fn(&mut Draft), &'static str, &'static str);

#[test]
fn each_bad_field_is_named() {
    let cases: Vec<Case> = vec![
        (|d| d.kind = "outage".into(), "kind", "not_an_option"),
        (|d| d.texts.clear(), "texts", "required"),
        (
            |d| {
                d.texts.insert(
                    "fr".into(),
                    Text {
                        title: "x".into(),
                        body: String::new(),
                    },
                );
            },
            "texts.fr",
            "unknown_language",
        ),
        (
            |d| d.texts.get_mut("th").unwrap().title = "  ".into(),
            "texts.th.title",
            "empty",
        ),
        (
            |d| d.texts.get_mut("th").unwrap().title = "ก".repeat(201),
            "texts.th.title",
            "too_long",
        ),
        (
            |d| d.texts.get_mut("th").unwrap().title = "a\u{7}b".into(),
            "texts.th.title",
            "control_character",
        ),
        (
            |d| d.texts.get_mut("th").unwrap().body = "x".repeat(MAX_BODY_CHARS + 1),
            "texts.th.body",
            "too_long",
        ),
        (
            |d| d.regions = vec!["XX".into()],
            "regions",
            "unknown_region",
        ),
        (
            |d| d.regions = vec!["THA".into()],
            "regions",
            "unknown_region",
        ),
        (
            |d| d.regions = vec!["JP".into(); MAX_REGIONS + 1],
            "regions",
            "too_many",
        ),
        (
            |d| d.ends_at = Some(1_000),
            "ends_at",
            "announcement_ends_before_start",
        ),
        (
            |d| d.ends_at = Some(10),
            "ends_at",
            "announcement_ends_before_start",
        ),
        (|d| d.starts_at = -5, "ends_at", "out_of_range"),
    ];
    for (change, field, code) in cases {
        let mut d = draft();
        change(&mut d);
        let refused = codes(&d);
        assert!(
            refused.iter().any(|(f, c)| f == field && *c == code),
            "{field} {code}: {refused:?}"
        );
    }
}

#[test]
fn the_same_language_twice_is_refused() {
    let mut d = draft();
    d.texts.insert(
        "TH".into(),
        Text {
            title: "again".into(),
            body: String::new(),
        },
    );
    assert!(codes(&d).iter().any(|(_, c)| *c == "duplicate"));
}

#[test]
fn languages_and_regions_are_read_in_any_case() {
    assert_eq!(parse_lang("zh_tw"), Some("zh-TW"));
    assert_eq!(parse_lang("JA"), Some("ja"));
    assert_eq!(parse_lang("zh"), None);
    assert_eq!(parse_lang("de"), None);
    assert_eq!(parse_region(" tw "), Some("TW".into()));
    for bad in ["", "T", "ZZ", "UK", "1A", "ТН"] {
        assert_eq!(parse_region(bad), None, "{bad}");
    }
}

#[test]
fn a_phone_number_tells_its_region() {
    assert_eq!(region_of_phone("+66812345678"), Some("TH".into()));
    assert_eq!(region_of_phone("+819012345678"), Some("JP".into()));
    assert_eq!(region_of_phone("not a number"), None);
}

#[test]
fn current_means_published_and_inside_the_window() {
    let regions: Vec<String> = vec![];
    let shown = |status, starts_at, ends_at| Shown {
        status,
        starts_at,
        ends_at,
        regions: &regions,
    };
    let table = [
        (shown(Status::Published, 10, Some(20)), 10, true),
        (shown(Status::Published, 10, Some(20)), 19, true),
        (shown(Status::Published, 10, Some(20)), 20, false),
        (shown(Status::Published, 10, Some(20)), 9, false),
        (shown(Status::Published, 10, None), 1_000_000, true),
        (shown(Status::Draft, 10, None), 15, false),
        (shown(Status::Withdrawn, 10, None), 15, false),
    ];
    for (a, now, want) in table {
        assert_eq!(is_current(a, now), want, "{a:?} at {now}");
    }
}

#[test]
fn regions_concern_readers_known_to_be_there() {
    let some = vec!["TH".to_string(), "JP".to_string()];
    assert!(concerns(&[], None));
    assert!(concerns(&[], Some("TW")));
    assert!(concerns(&some, Some("th")));
    assert!(!concerns(&some, Some("TW")));
    assert!(!concerns(&some, None));
}

#[test]
fn the_reader_gets_their_language_then_english_then_any() {
    assert_eq!(pick_lang(&["en", "th"], "th"), Some("th"));
    assert_eq!(pick_lang(&["ja", "en"], "th"), Some("en"));
    assert_eq!(pick_lang(&["ja", "zh-TW"], "th"), Some("ja"));
    assert_eq!(pick_lang(&["zh-TW"], "zh-tw"), Some("zh-TW"));
    assert_eq!(pick_lang(&[], "th"), None);
}

proptest! {
    #[test]
    fn a_window_is_valid_exactly_when_it_ends_after_it_starts(start in 0i64..1 << 40, len in -1000i64..1000) {
        let ok = check_window(start, Some(start + len)).is_ok();
        prop_assert_eq!(ok, len > 0);
        prop_assert!(check_window(start, None).is_ok());
    }

    #[test]
    fn a_current_announcement_is_inside_its_window(start in 0i64..1000, len in 1i64..1000, now in 0i64..3000) {
        let regions: Vec<String> = vec![];
        let a = Shown { status: Status::Published, starts_at: start, ends_at: Some(start + len), regions: &regions };
        prop_assert_eq!(is_current(a, now), start <= now && now < start + len);
    }

    #[test]
    fn validation_never_panics(kind in ".{0,20}", tag in ".{0,8}", title in ".{0,50}", region in ".{0,4}", start in any::<i64>(), end in proptest::option::of(any::<i64>())) {
        let mut texts = BTreeMap::new();
        texts.insert(tag, Text { title, body: String::new() });
        let _ = validate(&Draft { kind, texts, regions: vec![region], starts_at: start, ends_at: end });
    }
}
