use super::*;
use proptest::prelude::*;

/// (text, where the history starts: the first line of it, or None)
const TABLE: &[(&str, Option<&str>)] = &[
    ("Hello\nThanks", None),
    (
        "Still broken.\n\nOn Mon, Dec 1, 2026 at 10:00 AM Koban Support <support@koban.example> wrote:\n> Please try again.\n> \n> Koban",
        Some("On Mon, Dec 1, 2026 at 10:00 AM"),
    ),
    // Gmail wraps a long attribution.
    (
        "Yes.\n\nOn Mon, Dec 1, 2026 at 10:00 AM Koban Support <\nsupport@koban.example> wrote:\n\n> Please try again.",
        Some("On Mon, Dec 1, 2026 at 10:00 AM Koban Support <\n"),
    ),
    // Apple Mail.
    (
        "Done\n\n> On Dec 1, 2026, at 10:00, Koban <support@koban.example> wrote:\n> \n> Try again",
        Some("> On Dec 1"),
    ),
    (
        "直りました。\n\n2026年12月1日(火) 10:00 Koban Support <support@koban.example>:\n\n> もう一度お試しください。",
        Some("2026年12月1日(火)"),
    ),
    (
        "直りました。\n\n山田太郎 さんは書きました:\n> 再起動してください。",
        Some("山田太郎 さんは書きました"),
    ),
    (
        "好了。\n\nKoban Support <support@koban.example> 于2026年12月1日周二 10:00写道：\n> 请再试一次。",
        Some("Koban Support <support@koban.example> 于"),
    ),
    (
        "好了。\n\n於 2026年12月1日 週二 上午10:00，Koban <support@koban.example> 寫道：\n> 請再試一次。",
        Some("於 2026年12月1日"),
    ),
    (
        "ได้แล้วครับ\n\nเมื่อ อ. 1 ธ.ค. 2026 เวลา 10:00 Koban <support@koban.example> เขียนว่า:\n> กรุณาลองใหม่",
        Some("เมื่อ อ. 1 ธ.ค."),
    ),
    (
        "It works now.\n\n-----Original Message-----\nFrom: Koban Support <support@koban.example>\nSent: Monday, December 1, 2026 10:00 AM\nSubject: RE: Login\n\nPlease try again.",
        Some("-----Original Message-----"),
    ),
    (
        "It works now.\n\n________________________________\nFrom: Koban Support <support@koban.example>\nSent: Monday, December 1, 2026 10:00 AM\nTo: Ann\n\nPlease try again.",
        Some("________________"),
    ),
    (
        "直りました。\n\n差出人: Koban Support <support@koban.example>\n送信日時: 2026年12月1日 10:00\n件名: RE: ログイン\n\nもう一度お試しください。",
        Some("差出人: Koban"),
    ),
    (
        "Thanks!\n\n-- \nAnn Lee\nAcme Ltd.",
        Some("-- \n"),
    ),
    // The signature comes before the quote in a top-posted reply.
    (
        "Thanks!\n-- \nAnn\n\nOn Mon, Dec 1, 2026 Koban <s@k.example> wrote:\n> Hi",
        Some("-- \n"),
    ),
    (
        "Done\nOn Mon, A <a@b.example> wrote:\n> x",
        Some("On Mon, A"),
    ),
    // A bare trailing quote.
    ("I agree\n> you said this", Some("> you said")),
    // Interleaved: the sender answers between the quoted lines.
    (
        "On Mon, Koban <s@k.example> wrote:\n> Which browser?\nFirefox.\n> Which version?\n120.",
        None,
    ),
    (
        "Hi,\nOn Mon, Koban <s@k.example> wrote:\n> Which browser?\nFirefox.",
        None,
    ),
    // All quote, nothing new: nothing is folded.
    ("> only a quote\n> more", None),
    ("-- \nsignature only", None),
    // "wrote:" inside a sentence is no attribution without a quote after it.
    ("My colleague wrote:\nit fails on Mondays", None),
    // A forwarded mail is what the sender wants read.
    (
        "See below.\n\n---------- Forwarded message ----------\nFrom: Bank <b@bank.example>\nDate: Mon\n\nYour code",
        None,
    ),
];

#[test]
fn history_is_found_where_each_client_puts_it() {
    for (text, start) in TABLE {
        let folded = fold(text);
        assert_eq!(format!("{}{}", folded.new, folded.quoted), *text);
        match start {
            None => assert_eq!(folded.quoted, "", "{text:?}"),
            Some(start) => assert!(
                folded.quoted.starts_with(start),
                "{text:?} folded at {:?}",
                folded.quoted
            ),
        }
    }
}

proptest! {
    #[test]
    fn nothing_is_lost_and_something_new_remains(
        lines in proptest::collection::vec(
            prop_oneof![
                "[a-z ]{0,12}",
                "> [a-z]{0,8}",
                Just("-- ".to_string()),
                Just("On Mon, A <a@b.c> wrote:".to_string()),
                Just("-----Original Message-----".to_string()),
                Just("From: A".to_string()),
                Just("Sent: Mon".to_string()),
                Just(String::new()),
                "\\PC{0,10}",
            ],
            0..12,
        ),
        crlf in any::<bool>(),
    ) {
        let text = lines.join(if crlf { "\r\n" } else { "\n" });
        let folded = fold(&text);
        prop_assert_eq!(format!("{}{}", folded.new, folded.quoted), text.clone());
        if !text.trim().is_empty() {
            prop_assert!(!folded.new.trim().is_empty());
        }
    }

    #[test]
    fn any_text_folds_without_panic(text in "\\PC*") {
        let folded = fold(&text);
        prop_assert_eq!(folded.new.len() + folded.quoted.len(), text.len());
    }
}

#[test]
fn a_hostile_body_folds_in_linear_time() {
    let text = format!("{}> end", "x wrote:\n".repeat(200_000));
    let started = std::time::Instant::now();
    let folded = fold(&text);
    assert!(folded.quoted.starts_with("x wrote:\n> end"));
    // A guard against a quadratic (or worse) reading, not a speed target
    // (that lives in the benchmarks): the linear reading takes well under a
    // second, a quadratic one hours, so the wide bound holds on a machine
    // busy with other builds (2 s did not, in CI's neighbours' company).
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let underscores = format!("new\n{}", "__________\n".repeat(200_000));
    assert_eq!(fold(&underscores).quoted, "");
}
