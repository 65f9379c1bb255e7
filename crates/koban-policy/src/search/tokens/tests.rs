use super::*;
use proptest::prelude::*;

fn texts(text: &str, mode: Mode) -> Vec<String> {
    terms(text, mode)
}

#[test]
fn latin_words_are_lowercased_and_folded() {
    assert_eq!(
        texts("Café RESET, user@Example.com #KB-2026", Mode::Index),
        ["cafe", "reset", "user", "example", "com", "kb", "2026"]
    );
}

#[test]
fn full_width_and_half_width_are_normalised() {
    assert_eq!(texts("ＰＩＮ１２３", Mode::Query), ["pin123"]);
    assert_eq!(
        texts("ﾊﾟｽﾜｰﾄﾞ", Mode::Query),
        texts("パスワード", Mode::Query)
    );
    assert_eq!(texts("๑๒๓", Mode::Query), ["123"]);
}

#[test]
fn cjk_runs_become_bigrams_with_real_positions() {
    let tokens = tokenize("東京タワー", Mode::Query);
    let pairs: Vec<(&str, usize)> = tokens
        .iter()
        .map(|t| (t.text.as_str(), t.position))
        .collect();
    assert_eq!(pairs, [("东京", 0), ("京タ", 1), ("タワ", 2), ("ワー", 3)]);
    // A lone character is its own token, in both modes.
    assert_eq!(texts("卡", Mode::Query), ["卡"]);
    // Indexing adds each character at the position of the bigram it starts.
    let index: Vec<(String, usize)> = tokenize("密碼", Mode::Index)
        .into_iter()
        .map(|t| (t.text, t.position))
        .collect();
    assert_eq!(
        index,
        [("密".into(), 0), ("密码".into(), 0), ("码".into(), 1)]
    );
}

#[test]
fn mixed_scripts_split_where_the_script_changes() {
    assert_eq!(
        texts("LINEの認証コード123", Mode::Query),
        ["line", "の认", "认证", "证コ", "コー", "ード", "123"]
    );
}

#[test]
fn thai_becomes_cluster_bigrams() {
    // ห with its vowel ั is one cluster; ผ with its tone mark ่ another.
    assert_eq!(texts("รหัสผ่าน", Mode::Query), ["รหั", "หัส", "สผ่", "ผ่า", "าน"]);
    // A word inside a sentence is found by the same bigrams at the same distances.
    let sentence = tokenize("ลืมรหัสผ่านเข้าบัญชีไม่ได้", Mode::Index);
    let query = tokenize("รหัสผ่าน", Mode::Query);
    let base = sentence
        .iter()
        .find(|t| t.text == query[0].text)
        .map(|t| t.position);
    for q in &query {
        assert!(sentence
            .iter()
            .any(|t| t.text == q.text && Some(t.position) == base.map(|b| b + q.position)));
    }
}

#[test]
fn offsets_point_into_the_original() {
    let text = "ＡＢ 密碼 ﾃｽﾄ";
    for t in tokenize(text, Mode::Index) {
        assert!(text.is_char_boundary(t.from) && text.is_char_boundary(t.to));
        assert!(t.from < t.to);
    }
    let t = &tokenize(text, Mode::Query)[0];
    assert_eq!(&text[t.from..t.to], "ＡＢ");
}

fn mixed_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9]{1,8}",
        "[ぁ-んァ-ン]{1,6}",
        "[一-龥]{1,6}",
        Just("ＡＢＣ".to_string()),
        Just("密碼帳號".to_string()),
        Just("รหัสผ่าน".to_string()),
        Just("บัญชีถูกล็อก".to_string()),
        Just("、".to_string()),
        Just(" ".to_string()),
        Just("\"".to_string()),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    /// Positions never go back; a query's strictly increase.
    #[test]
    fn positions_increase(text in mixed_text()) {
        let index = tokenize(&text, Mode::Index);
        for pair in index.windows(2) {
            prop_assert!(pair[0].position <= pair[1].position);
        }
        let query = tokenize(&text, Mode::Query);
        for pair in query.windows(2) {
            prop_assert!(pair[0].position < pair[1].position);
        }
        for t in index.iter().chain(&query) {
            prop_assert!(text.is_char_boundary(t.from) && text.is_char_boundary(t.to) && t.from < t.to);
            prop_assert!(!t.text.is_empty());
        }
    }

    /// What a query made of an indexed text asks for, the index has, at
    /// the same distances: the text finds itself, as words and as a phrase.
    #[test]
    fn a_text_finds_itself(text in mixed_text()) {
        let index = tokenize(&text, Mode::Index);
        let query = tokenize(&text, Mode::Query);
        if let Some(first) = query.first() {
            let base = index.iter().find(|t| t.text == first.text).map(|t| t.position);
            prop_assert!(base.is_some());
            let shift = base.unwrap_or(0) as i64 - first.position as i64;
            for q in &query {
                prop_assert!(
                    index.iter().any(|t| t.text == q.text && t.position as i64 == q.position as i64 + shift),
                    "{:?} missing from {:?}", q, index
                );
            }
        }
    }

    /// A CJK substring of an indexed run is found as a phrase.
    #[test]
    fn a_cjk_substring_finds_its_run(run in "[一-龥ぁ-ん]{2,12}", a in 0usize..12, len in 1usize..6) {
        let chars: Vec<char> = run.chars().collect();
        let a = a % chars.len();
        let b = (a + len).min(chars.len());
        let part: String = chars[a..b].iter().collect();
        let index = tokenize(&run, Mode::Index);
        for q in tokenize(&part, Mode::Query) {
            prop_assert!(index.iter().any(|t| t.text == q.text && t.position == q.position + a));
        }
    }
}
