//! A requester who wrote in signed out, reading Traditional Chinese, finds
//! the request again on `/support/lookup`: a mistyped number is refused,
//! the code arrives by mail (a real SMTP sink), a wrong code is refused,
//! the right one opens the request and a note is added. A number that is
//! nobody's reads exactly the same on every step, and no mail goes out.

use super::requester::send_request;
use super::*;
use crate::support::{eventually, SmtpServer};

/// The page's visible text with `reference` (shown back to the reader)
/// written as `#`, to compare the pages two numbers get.
async fn seen_without(b: &Browser, reference: &str) -> String {
    b.body_text().await.replace(reference, "#")
}

/// `reference` with its check digit (the last) changed.
fn mistyped(reference: &str) -> String {
    let mut digits: Vec<char> = reference.chars().collect();
    if let Some(last) = digits.last_mut() {
        *last = if *last == '0' { '1' } else { '0' };
    }
    digits.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_signed_out_requester_looks_up_their_request_with_a_code() {
    let smtp = SmtpServer::start().await;
    let t = TestApp::start(Db::Sqlite, |c| smtp.configure(c)).await;
    let Some(mut b) = Browser::start("lookup", "zh-TW", &t.base).await else {
        return;
    };
    let email = "mei@example.com.tw";
    b.goto("/support").await;
    b.find("html[lang=\"zh-TW\"]").await;
    let subject = "群發訊息一直失敗";
    let body = "從早上開始，群發給客戶的訊息都顯示失敗。";
    let reference = send_request(&mut b, subject, body, Some(email)).await;

    // Later, from "Contact support": the lookup.
    b.click("#footer-support").await;
    b.on_page("support").await;
    b.click("#lookup-link").await;
    b.on_page("support-lookup").await;
    let typo = mistyped(&reference);
    b.fill("#reference", &typo).await;
    b.click("#lookup-send").await;
    b.on_page("support-lookup").await;
    let error = b.text("#reference-error").await;
    assert!(
        !error.is_empty() && !error.is_ascii(),
        "said in Chinese: {error}"
    );
    assert_eq!(
        b.attr("#reference", "value").await.as_deref(),
        Some(typo.as_str()),
        "the number stays to be corrected"
    );
    assert!(!b.has("#lookup-code-form").await);
    b.shot("mistyped").await;
    assert_eq!(t.count("desk_lookups").await, 0, "nothing asked for");

    b.fill("#reference", &reference).await;
    b.click("#lookup-send").await;
    b.on_page("support-lookup").await;
    b.find("#lookup-code-form").await;
    assert_eq!(b.text("#lookup-reference").await, reference);
    let asked_known = seen_without(&b, &reference).await;
    b.shot("code-form").await;

    // The code, from the mail that reached the contact on file.
    let mail = eventually("the lookup mail", || async {
        smtp.messages()
            .into_iter()
            .find(|m| m.rcpt_to.iter().any(|r| r.contains(email)) && m.code().is_some())
    })
    .await;
    assert!(mail.text().contains(&reference), "{}", mail.text());
    let code = mail.code().expect("a code in the mail");

    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.fill("#code", wrong).await;
    b.click("#lookup-check").await;
    b.on_page("support-lookup").await;
    let error = b.text("#code-error").await;
    assert!(!error.is_empty() && !error.is_ascii(), "{error}");
    let wrong_known = seen_without(&b, &reference).await;
    b.shot("wrong-code").await;

    b.fill("#code", &code).await;
    b.click("#lookup-check").await;
    b.on_page("support-ticket").await;
    assert_eq!(b.text("#ticket-reference").await, reference);
    assert_eq!(b.text("#ticket-subject").await, subject);
    assert!(
        !b.has("#escalate-form").await,
        "escalating needs the account"
    );
    b.shot("request").await;
    let note = "補充：失敗的是 3 點那一批，共 1200 位客戶。";
    b.fill("#body", note).await;
    b.click("#reply-submit").await;
    b.on_page("support-ticket").await;
    assert!(b.text("#conversation").await.contains(note));
    b.shot("added").await;
    assert_eq!(
        t.count(&format!(
            "desk_messages WHERE author_kind = 'requester' AND body = '{note}'"
        ))
        .await,
        1
    );

    // A number that is nobody's: the same pages, word for word.
    let nobody = koban_policy::desk::reference::format(
        koban_policy::desk::reference::Reference::from_random(42),
    );
    assert_ne!(nobody, reference);
    b.goto("/support/lookup").await;
    b.on_page("support-lookup").await;
    b.fill("#reference", &nobody).await;
    b.click("#lookup-send").await;
    b.on_page("support-lookup").await;
    b.find("#lookup-code-form").await;
    assert_eq!(seen_without(&b, &nobody).await, asked_known);
    b.shot("nobody-code-form").await;
    b.fill("#code", wrong).await;
    b.click("#lookup-check").await;
    b.on_page("support-lookup").await;
    b.find("#code-error").await;
    assert_eq!(seen_without(&b, &nobody).await, wrong_known);
    b.shot("nobody-wrong-code").await;

    // Once the job behind the answer ran, still one code sent in all.
    eventually("the lookup jobs to run", || async {
        (t.count("jobs WHERE kind = 'desk_lookup_code' AND status IN ('pending', 'running')")
            .await
            == 0)
            .then_some(())
    })
    .await;
    assert_eq!(t.count("deliveries WHERE purpose = 'desk_lookup'").await, 1);
    b.close().await;
}
