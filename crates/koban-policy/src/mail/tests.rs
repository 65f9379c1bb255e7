use super::automation::{classify, Automation, Signals};
use super::threading::*;
use crate::desk::reference::{self, Reference};
use proptest::prelude::*;

fn c(ticket: i64, clue: Clue, sender_known: bool) -> Candidate {
    Candidate {
        ticket,
        clue,
        sender_known,
    }
}

#[test]
fn the_strongest_clue_from_a_known_sender_wins() {
    use Clue::*;
    let table: &[(&[Candidate], Threading)] = &[
        (&[], Threading::New),
        (
            &[c(1, Subject, true)],
            Threading::Join {
                ticket: 1,
                clue: Subject,
            },
        ),
        // A header outranks the subject, whatever the order they come in.
        (
            &[c(1, Subject, true), c(2, InReplyTo, true)],
            Threading::Join {
                ticket: 2,
                clue: InReplyTo,
            },
        ),
        (
            &[c(3, References, true), c(2, InReplyTo, true)],
            Threading::Join {
                ticket: 2,
                clue: InReplyTo,
            },
        ),
        // The reply address is proof on its own: a colleague the requester
        // forwarded Koban's mail to joins.
        (
            &[c(4, ReplyAddress, false), c(2, InReplyTo, true)],
            Threading::Join {
                ticket: 4,
                clue: ReplyAddress,
            },
        ),
        // A stranger's header link is passed over for a known sender's weaker one.
        (
            &[c(2, InReplyTo, false), c(1, Subject, true)],
            Threading::Join {
                ticket: 1,
                clue: Subject,
            },
        ),
        // Two tickets on the same clue: the newer one.
        (
            &[c(5, References, true), c(9, References, true)],
            Threading::Join {
                ticket: 9,
                clue: References,
            },
        ),
    ];
    for (candidates, expected) in table {
        assert_eq!(
            decide(candidates, StrangerPolicy::Review),
            *expected,
            "{candidates:?}"
        );
    }
}

#[test]
fn a_stranger_never_joins_on_headers_or_subject() {
    let from_stranger = [c(7, Clue::Subject, false), c(8, Clue::InReplyTo, false)];
    assert_eq!(
        decide(&from_stranger, StrangerPolicy::NewTicket),
        Threading::NewLinked {
            related: 8,
            clue: Clue::InReplyTo
        }
    );
    assert_eq!(
        decide(&from_stranger, StrangerPolicy::Review),
        Threading::Review {
            related: 8,
            clue: Clue::InReplyTo
        }
    );
}

fn clue() -> impl Strategy<Value = Clue> {
    prop_oneof![
        Just(Clue::ReplyAddress),
        Just(Clue::InReplyTo),
        Just(Clue::References),
        Just(Clue::Subject)
    ]
}

proptest! {
    /// Whatever the clues, a mail joins only a ticket it pointed at, and
    /// only by proof or from a known sender.
    #[test]
    fn a_mail_joins_only_a_ticket_it_may_join(
        raw in prop::collection::vec((1i64..20, clue(), any::<bool>()), 0..8),
        review in any::<bool>(),
    ) {
        let candidates: Vec<Candidate> = raw.iter().map(|(t, cl, k)| c(*t, *cl, *k)).collect();
        let policy = if review { StrangerPolicy::Review } else { StrangerPolicy::NewTicket };
        match decide(&candidates, policy) {
            Threading::Join { ticket, clue } => prop_assert!(candidates
                .iter()
                .any(|x| x.ticket == ticket && x.clue == clue && (x.sender_known || clue.is_proof()))),
            Threading::NewLinked { related, .. } | Threading::Review { related, .. } => {
                prop_assert!(candidates.iter().all(|x| !x.sender_known && !x.clue.is_proof()));
                prop_assert!(candidates.iter().any(|x| x.ticket == related));
            }
            Threading::New => prop_assert!(candidates.is_empty()),
        }
    }

    /// The tag Koban writes is read back, from any subject around it.
    #[test]
    fn the_subject_tag_is_read_back(random in 0u64..10_000_000_000, before in "[a-zA-Z 件名]{0,20}", after in "[a-z ]{0,20}") {
        let r = Reference::from_random(random);
        let subject = format!("Re: {before} {} {after}", subject_tag(r));
        prop_assert_eq!(references_in_subject(&subject), vec![r]);
    }

    /// Answering an answer changes nothing: the subject keeps one `Re:`
    /// and the tag once, however often the two sides have replied.
    #[test]
    fn reply_subjects_settle_after_one_answer(random in 0u64..10_000_000_000, subject in "\\PC{0,60}", prefixes in proptest::collection::vec(prop_oneof![Just("Re: "), Just("RE[2]: "), Just("答复："), Just("AW: "), Just("返信: ")], 0..4)) {
        let r = Reference::from_random(random);
        let first = reply_subject(&format!("{}{subject}", prefixes.concat()), r);
        prop_assert!(first.starts_with("Re: "));
        prop_assert_eq!(first.matches(&subject_tag(r)).count(), 1);
        prop_assert_eq!(references_in_subject(&first).first().copied(), Some(r));
        let again = reply_subject(&format!("Re: {first}"), r);
        prop_assert_eq!(&reply_subject(&again, r), &again);
        prop_assert_eq!(again, first);
    }

    /// Any text at all: no panic, and every reference found is valid.
    #[test]
    fn subjects_never_panic(subject in "\\PC{0,80}") {
        for r in references_in_subject(&subject) {
            prop_assert!(reference::parse(&r.to_string()).is_ok());
        }
    }
}

#[test]
fn subject_references_need_a_hash_and_a_valid_check_digit() {
    let r = Reference::from_random(2_612_034_567);
    let shown = reference::format(r);
    assert_eq!(references_in_subject(&format!("Ticket #{shown}")), vec![r]);
    assert_eq!(
        references_in_subject(&format!("チケット＃{shown}")),
        vec![r]
    );
    // A bare number (a phone number, an order) is not read.
    assert!(references_in_subject(&format!("call {shown}")).is_empty());
    // One digit wrong: the check digit refuses it.
    let mut wrong: Vec<char> = shown.chars().collect();
    wrong[0] = if wrong[0] == '9' { '8' } else { '9' };
    let wrong: String = wrong.into_iter().collect();
    assert!(references_in_subject(&format!("[#{wrong}]")).is_empty());
    // Twice the same: once.
    let twice = format!("Re: [#{shown}] Re: [#{shown}]");
    assert_eq!(references_in_subject(&twice), vec![r]);
}

#[test]
fn reply_subjects_drop_the_prefixes_of_every_client() {
    let r = Reference::from_random(2_612_034_567);
    let tag = subject_tag(r);
    for (subject, expected) in [
        ("ログインできません".to_string(), "ログインできません"),
        ("Re: Re: login".to_string(), "login"),
        ("RE[3]: login".to_string(), "login"),
        ("答复: 登录问题".to_string(), "登录问题"),
        ("回覆：登入問題".to_string(), "登入問題"),
        ("AW: Sv: login".to_string(), "login"),
        (format!("Re: login {tag}"), "login"),
        (format!("{tag} Re: login"), "login"),
        // A word that only begins like a prefix is the subject's own.
        ("Rebooted phone".to_string(), "Rebooted phone"),
        ("Reset: password".to_string(), "Reset: password"),
    ] {
        assert_eq!(
            reply_subject(&subject, r),
            format!("Re: {expected} {tag}"),
            "{subject}"
        );
    }
    assert_eq!(reply_subject("Re:", r), format!("Re: {tag}"));
}

#[test]
fn recipients_split_into_base_and_token() {
    assert_eq!(
        split_recipient("Support+Ab12.cd@Example.COM"),
        Some(("support@example.com".into(), Some("Ab12.cd".into())))
    );
    assert_eq!(
        split_recipient("<help@example.com>"),
        Some(("help@example.com".into(), None))
    );
    for bad in [
        "",
        "no-at",
        "@example.com",
        "a@",
        "a+@x.y",
        "+t@x.y",
        "a+t/../x@x.y",
        "a@b@c",
    ] {
        assert_eq!(split_recipient(bad), None, "{bad}");
    }
    let long = format!("a+{}@x.y", "t".repeat(MAX_TOKEN_CHARS + 1));
    assert_eq!(split_recipient(&long), None);
    assert_eq!(
        reply_address("support@example.com", "tok"),
        Some("support+tok@example.com".into())
    );
    assert_eq!(reply_address("nonsense", "tok"), None);
}

#[test]
fn message_ids_are_cleaned_capped_and_newest_first() {
    let ids: Vec<String> = ["<a@x>", " <b@x> ", "<a@x>", "<>", "c@x"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(message_ids(&ids, 10), vec!["c@x", "a@x", "b@x"]);
    assert_eq!(message_ids(&ids, 2), vec!["c@x", "a@x"]);
}

#[test]
fn machines_are_told_from_people() {
    let s = |f: fn(&mut Signals)| {
        let mut s = Signals::default();
        f(&mut s);
        classify(&s)
    };
    assert_eq!(s(|_| {}), Automation::Person);
    assert_eq!(
        s(|s| s.auto_submitted = Some("no".into())),
        Automation::Person
    );
    assert_eq!(
        s(|s| s.auto_submitted = Some("Auto-Replied; owner-email=x@y".into())),
        Automation::AutoReply
    );
    assert_eq!(
        s(|s| s.auto_submitted = Some("auto-generated".into())),
        Automation::AutoReply
    );
    assert_eq!(s(|s| s.vendor_auto_reply = true), Automation::AutoReply);
    assert_eq!(s(|s| s.precedence = Some("Bulk".into())), Automation::Bulk);
    assert_eq!(
        s(|s| s.precedence = Some("auto_reply".into())),
        Automation::AutoReply
    );
    assert_eq!(s(|s| s.list = true), Automation::Bulk);
    assert_eq!(s(|s| s.delivery_report = true), Automation::Bounce);
    assert_eq!(
        s(|s| s.from_local = Some("mailer-daemon".into())),
        Automation::Bounce
    );
    assert!(Automation::Person.may_auto_answer());
    for a in [Automation::AutoReply, Automation::Bulk, Automation::Bounce] {
        assert!(!a.may_auto_answer());
    }
}

#[test]
fn the_language_of_a_mail_is_read_from_its_text() {
    use super::language::guess;
    let table = [
        ("My verification code never arrived.", None, "en"),
        ("验证码一直收不到，怎么办？", None, "zh-CN"),
        ("驗證碼一直收不到，怎麼辦？", None, "zh-TW"),
        ("認証コードが届きません。", None, "ja"),
        ("ไม่ได้รับรหัสยืนยันครับ", None, "th"),
        // Nothing tells simplified from traditional: the charset does.
        ("手", Some("big5"), "zh-TW"),
        ("手", Some("gb2312"), "zh-CN"),
        // A Japanese mail with a pasted English log line.
        (
            "ログインできません\nError: device limit reached (code 4031)",
            None,
            "ja",
        ),
        ("", None, "en"),
        // No words at all: the charset the client chose says it.
        ("", Some("iso-2022-jp"), "ja"),
        ("  \n", Some("Shift_JIS"), "ja"),
        ("", Some("big5-hkscs"), "zh-TW"),
        ("", Some("gb18030"), "zh-CN"),
        ("", Some("tis-620"), "th"),
        ("", Some("utf-8"), "en"),
        // Words outweigh the charset.
        ("Hello", Some("iso-2022-jp"), "en"),
    ];
    for (text, charset, expected) in table {
        assert_eq!(guess(text, charset), expected, "{text}");
    }
}

#[test]
fn a_bounce_names_the_delivery_and_why() {
    use super::bounce::read;
    let postfix = "Reporting-MTA: dns; mx.example.jp\r\n\r\nFinal-Recipient: rfc822; Taro@Example.jp\r\n\
        Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <taro@example.jp>: User unknown\r\n\r\n\
        Message-ID: <koban-delivery-42@desk.example>\r\nSubject: Re: help\r\n";
    let b = read(postfix);
    assert_eq!(b.delivery_id, Some(42));
    assert_eq!(
        b.message_id.as_deref(),
        Some("koban-delivery-42@desk.example")
    );
    assert_eq!(b.recipient.as_deref(), Some("taro@example.jp"));
    assert_eq!(b.status.as_deref(), Some("5.1.1"));
    assert_eq!(
        b.diagnostic.as_deref(),
        Some("550 5.1.1 <taro@example.jp>: User unknown")
    );
    assert!(b.permanent());
    let full = read("Status: 4.2.2 (mailbox full)\nMessage-ID: <koban-delivery-7@x>");
    assert_eq!(
        (full.delivery_id, full.status.as_deref(), full.permanent()),
        (Some(7), Some("4.2.2"), false)
    );
    // Not ours, not a status.
    let other = read("Status: delivered\nMessage-ID: <koban-delivery-x@y> <koban-delivery-12>");
    assert_eq!((other.delivery_id, other.status), (None, None));
}

proptest! {
    #[test]
    fn any_text_reads_as_a_bounce_without_panicking(text in "\\PC{0,300}") {
        let b = super::bounce::read(&text);
        if let Some(d) = b.diagnostic { prop_assert!(d.chars().count() <= 300); }
    }
}
