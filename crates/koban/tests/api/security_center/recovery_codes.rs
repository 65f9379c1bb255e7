//! Recovery codes to copy, download and print.

use super::*;

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8")
}

async fn recovery_codes_can_be_kept(tag: &str, browser_lang: &str) {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start(
        &format!("security_center_codes_{tag}"),
        browser_lang,
        &t.base,
    )
    .await
    else {
        return;
    };
    let lang = lang_of(tag);
    let email = "codes@example.com";
    t.signed_up(email, PASSWORD).await;
    browser_signed_in(&b, email, tag).await;
    totp_on_through_the_page(&b).await;
    let codes: Vec<String> = b
        .text("#recovery-codes")
        .await
        .lines()
        .map(str::to_string)
        .filter(|l| l.len() == 11)
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");

    // Download: a text file with every code, what they are and whose.
    assert_eq!(
        b.attr("#codes-download", "download").await.as_deref(),
        Some("koban-recovery-codes.txt")
    );
    let href = b.attr("#codes-download", "href").await.unwrap_or_default();
    let file = percent_decoded(
        href.strip_prefix("data:text/plain;charset=utf-8,")
            .expect("a text file"),
    );
    assert!(
        file.starts_with(&msg(lang, "codes-file-title", &[])),
        "{file}"
    );
    assert!(file.contains(email), "{file}");
    for code in &codes {
        assert!(file.contains(code.as_str()), "{code} in {file}");
    }
    // Copy and print need the script, which shows their buttons.
    assert!(b
        .find("#codes-print")
        .await
        .is_displayed()
        .await
        .expect("shown"));
    b.click("#codes-copy").await;
    let copied = msg(lang, "codes-copied", &[]);
    crate::support::eventually("the copy is confirmed", || async {
        (b.text("#codes-status").await == copied).then_some(())
    })
    .await;
    b.shot("codes").await;

    // Leaving asks to confirm they were saved: not without the tick...
    b.click("#codes-saved").await;
    let missing = b
        .script("return document.getElementById('codes-kept').validity.valueMissing;")
        .await;
    assert_eq!(missing, json!(true));
    b.on_page("recovery-codes").await;
    // ...and with it, the methods page says so and counts them.
    b.click("#codes-kept").await;
    b.click("#codes-saved").await;
    b.on_page("two-factor").await;
    assert_eq!(
        b.text("#notice").await,
        msg(lang, "codes-saved-notice", &[])
    );
    assert_eq!(
        b.text("#codes-left").await,
        tr(lang, "security-codes-left", &[("count", "10")])
    );
    b.shot("codes-saved").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_recovery_codes_can_be_copied_downloaded_and_printed() {
    recovery_codes_can_be_kept("en", "en-US").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_recovery_codes_can_be_copied_downloaded_and_printed_in_traditional_chinese() {
    recovery_codes_can_be_kept("zh-TW", "zh-TW").await;
}
