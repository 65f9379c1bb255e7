use super::domains::*;
use proptest::prelude::*;

#[test]
fn domains_are_stored_lowercase_without_the_root_dot() {
    assert_eq!(checked(" Example.CO.JP. "), Ok("example.co.jp".into()));
    assert_eq!(
        checked("xn--eckwd4c7c.xn--zckzah"),
        Ok("xn--eckwd4c7c.xn--zckzah".into())
    );
}

#[test]
fn what_is_not_a_domain_is_refused() {
    for bad in [
        "",
        "localhost",
        "exa mple.jp",
        "-example.jp",
        "example-.jp",
        "example..jp",
        "例え.jp",
        "192.168.0.1",
        "a@example.jp",
        "example.jp/path",
        &format!("{}.jp", "a".repeat(64)),
        &format!("{}jp", "a.".repeat(127)),
    ] {
        assert_eq!(checked(bad), Err(Refusal::Invalid), "{bad:?}");
    }
}

#[test]
fn public_mail_services_cannot_be_claimed() {
    for public in [
        "gmail.com",
        "Yahoo.co.jp",
        "qq.com",
        "line.me",
        "hotmail.co.th",
    ] {
        assert_eq!(checked(public), Err(Refusal::PublicMail), "{public}");
    }
    assert!(checked("mail.gmail-fans.jp").is_ok());
}

#[test]
fn the_txt_record_proves_only_its_own_token() {
    let records = vec![
        "v=spf1 -all".to_string(),
        format!(" {} ", txt_value("abc123")),
    ];
    assert!(txt_proves(&records, "abc123"));
    assert!(!txt_proves(&records, "abc12"));
    assert!(!txt_proves(&records, "abc1234"));
    assert!(!txt_proves(&[], "abc123"));
    assert_eq!(txt_name("example.jp"), "_koban-verification.example.jp");
}

#[test]
fn codes_go_only_to_administrative_mailboxes() {
    assert_eq!(proof_mailbox("PostMaster"), Some("postmaster"));
    assert_eq!(proof_mailbox("admin"), Some("admin"));
    assert_eq!(proof_mailbox("alice"), None);
    assert_eq!(proof_mailbox("admin+x"), None);
}

#[test]
fn only_the_exact_domain_of_an_address_counts() {
    assert_eq!(domain_of("Kenji@Example.JP"), Some("example.jp".into()));
    assert_eq!(
        domain_of("a@mail.example.jp"),
        Some("mail.example.jp".into())
    );
    assert_eq!(domain_of("no-at-sign"), None);
    assert_eq!(domain_of("a@gmail.com"), None);
}

proptest! {
    #[test]
    fn checking_is_idempotent(text in "[a-zA-Z0-9.-]{0,40}") {
        if let Ok(once) = checked(&text) {
            prop_assert_eq!(checked(&once), Ok(once.clone()));
            prop_assert!(once.bytes().all(|b| !b.is_ascii_uppercase()));
        }
    }

    #[test]
    fn anything_else_in_the_text_is_refused(
        left in "[a-z]{1,10}",
        junk in "[^a-zA-Z0-9.\\- ]",
    ) {
        let text = format!("{left}{junk}.jp");
        prop_assert!(checked(&text).is_err());
    }
}
