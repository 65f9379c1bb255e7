use super::*;

fn model() -> Model {
    Model::builtin()
}

#[test]
fn the_four_languages_and_both_scripts_land_where_they_should() {
    let m = model();
    let cases = [
        ("", "收不到验证码！！", CODE_NOT_RECEIVED),
        ("", "驗證碼都收不到", CODE_NOT_RECEIVED),
        ("", "認証コードが届きません", CODE_NOT_RECEIVED),
        ("", "I never got the code", CODE_NOT_RECEIVED),
        ("号被盗了", "快帮我冻结", ACCOUNT_STOLEN),
        ("", "アカウントが乗っ取られました", ACCOUNT_STOLEN),
        ("", "someone hacked my account", ACCOUNT_STOLEN),
        ("", "บัญชีโดนแฮก", ACCOUNT_STOLEN),
    ];
    for (subject, body, expected) in cases {
        let t = triage(&m, subject, body);
        assert_eq!(t.category, expected, "{subject} {body}: {t:?}");
    }
}

#[test]
fn a_takeover_is_urgent_and_says_why() {
    let t = triage(&model(), "", "账号被盗了");
    assert!(t.urgent);
    assert_eq!(t.urgent_because.as_deref(), Some(ACCOUNT_STOLEN));
    assert!(matches!(t.decided_by, DecidedBy::Rule { ref phrase } if phrase == "被盗"));
}

#[test]
fn the_more_serious_of_two_strong_problems_wins_and_the_other_is_kept() {
    // A forgotten password and a takeover: the takeover comes first.
    let t = triage(
        &model(),
        "",
        "I forgot my password and now I think my account was hacked",
    );
    assert_eq!(t.category, ACCOUNT_STOLEN);
    assert!(t.secondary.contains(&FORGOT_PASSWORD), "{t:?}");
}

#[test]
fn a_guard_phrase_silences_the_phrase_it_contains() {
    let t = triage(
        &model(),
        "",
        "端末一覧に知らない端末がある。乗っ取られてはいないと思う",
    );
    assert_eq!(t.category, DEVICE_SECURITY, "{t:?}");
    assert!(!t.urgent);
}

#[test]
fn a_broadcast_failing_today_is_urgent_but_not_last_month() {
    let m = model();
    assert!(triage(&m, "群发失败", "今天的活动消息发不出去").urgent);
    assert!(!triage(&m, "群发失败", "上个月有几条群发失败，想知道原因").urgent);
}

#[test]
fn a_vague_cry_for_help_is_neither_a_takeover_nor_urgent() {
    for body in ["急急急！！！", "help", "助けて"] {
        let t = triage(&model(), "", body);
        assert!(!t.urgent, "{body}: {t:?}");
        assert_ne!(t.category, ACCOUNT_STOLEN, "{body}");
    }
}

#[test]
fn rule_confidence_falls_when_two_problems_compete() {
    let one = triage(&model(), "", "忘记密码了");
    let two = triage(&model(), "", "忘记密码了，账号也被锁定了");
    assert_eq!(
        one.decided_by,
        DecidedBy::Rule {
            phrase: "忘记密码".into()
        }
    );
    assert_eq!(two.category, CANNOT_SIGN_IN);
    assert_eq!(two.secondary, [FORGOT_PASSWORD]);
    assert!(one.confidence >= 0.6, "{one:?}");
    assert!(two.confidence < one.confidence, "{two:?}");
}

#[test]
fn nothing_recognisable_falls_back_to_other() {
    let t = triage(&model(), "", "!!! ??? 12345");
    assert_eq!(t.category, OTHER);
    assert_eq!(t.decided_by, DecidedBy::Fallback);
    assert_eq!(t.confidence, 0.0);
}

#[test]
fn an_empty_model_still_answers_from_the_rules() {
    let t = triage(&Model::empty(), "", "forgot my password");
    assert_eq!(t.category, FORGOT_PASSWORD);
}

#[test]
fn learning_a_correction_moves_the_model() {
    let mut m = Model::empty();
    for _ in 0..3 {
        m.learn("", "贴纸商店打不开", OTHER).unwrap();
        m.learn("", "官方号的粉丝列表导出不了", ENTERPRISE_PERMISSIONS)
            .unwrap();
    }
    let t = triage(&m, "", "粉丝列表导出");
    assert_eq!(t.category, ENTERPRISE_PERMISSIONS);
    assert!(matches!(t.decided_by, DecidedBy::Learned { .. }));
    assert_eq!(
        m.learn("", "x", "nope"),
        Err(UnknownCategory("nope".into()))
    );
}

#[test]
fn the_model_round_trips_through_text() {
    let m = model();
    let text = m.to_text();
    let back = Model::from_text(&text).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.to_text(), text);
}

#[test]
fn saved_models_with_other_column_orders_or_damage_are_handled() {
    let reordered = "koban-triage-nb 1\ncategories\tother\tprivacy\ndocs\t2\t1\nt\tab\t2\t0\n";
    let m = Model::from_text(reordered).unwrap();
    assert_eq!(m.documents(), 3);
    assert_eq!(Model::from_text("nope"), Err(ModelError::Header));
    let bad = "koban-triage-nb 1\ncategories\tother\tbogus\n";
    assert!(matches!(
        Model::from_text(bad),
        Err(ModelError::UnknownCategory(2, _))
    ));
    let short = "koban-triage-nb 1\ncategories\tother\ndocs\t1\nt\tab\t1\t2\n";
    assert_eq!(Model::from_text(short), Err(ModelError::Malformed(4)));
}

#[test]
fn the_builtin_examples_read_cleanly() {
    let examples = parse_examples(BUILTIN_EXAMPLES).unwrap();
    assert!(examples.len() >= 300);
    assert_eq!(model().documents(), examples.len() as u64);
}

#[test]
fn a_leads_phrase_decides_like_a_built_in_one() {
    let subject = "Zorblax widget is broken";
    let before = triage(&Model::builtin(), subject, "");
    assert_ne!(before.category, BROADCAST_FAILURE);
    let model = Model::builtin()
        .with_phrases(vec!["broadcast_failure\tzorblax\t3".to_string()])
        .expect("the line reads");
    let after = triage(&model, subject, "");
    assert_eq!(after.category, BROADCAST_FAILURE);
    assert_eq!(
        after.decided_by,
        DecidedBy::Rule {
            phrase: "zorblax".into()
        }
    );
    // The built-in phrases still work beside it.
    let stolen = triage(&model, "我的帳號被盜了", "有人登入我的帳號還改了密碼");
    assert_eq!(stolen.category, ACCOUNT_STOLEN);
}

#[test]
fn phrase_lines_that_do_not_read_are_named() {
    let lines = vec![
        "privacy\tdelete my data\t2".to_string(),
        "no_such_category\tfoo\t1".to_string(),
        "privacy\t*\t1".to_string(),
        "privacy\tfoo\tNaN".to_string(),
        "urgent@nowhere\tfoo\t1".to_string(),
    ];
    assert_eq!(
        Model::builtin().with_phrases(lines).map(|_| ()),
        Err(vec![2, 3, 4, 5])
    );
    assert!(phrase_line_reads("urgent@account_stolen", "被盗*转账", 2.0));
    assert!(!phrase_line_reads("privacy", "a\tb", 1.0));
    assert!(!phrase_line_reads("privacy", "", 1.0));
    assert_eq!(
        Model::builtin()
            .with_phrases(vec![])
            .expect("nothing added"),
        Model::builtin()
    );
}
