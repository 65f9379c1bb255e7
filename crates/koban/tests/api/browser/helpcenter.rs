//! The help center in a real headless Chromium: an editor reading
//! Japanese writes and publishes an article; a signed-out reader in
//! Japanese finds it from /help and says it helped; a reader in
//! Traditional Chinese gets it in Japanese with a note saying so.

use super::requester::select;
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_an_editor_publishes_in_japanese_and_readers_find_it() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    t.staff("henshu@example.jp", "supervisor").await;

    // The editor, in Japanese.
    let Some(mut b) = Browser::start("help-editor", "ja", &t.base).await else {
        return;
    };
    b.goto("/signin?next=/help/edit").await;
    b.on_page("signin").await;
    b.sign_in("henshu@example.jp", "staff password 1").await;
    b.on_page("help-edit").await;
    b.fill("#name_ja", "ログインとパスワード").await;
    b.fill("#name_en", "Sign-in and passwords").await;
    b.click("#category-create").await;
    b.on_page("help-edit").await;
    select(&b, "#lang", "ja").await;
    b.fill("#title", "認証コードが届かないとき").await;
    b.fill(
        "#body",
        "## 確認すること\n\n1. 迷惑メールフォルダを確認する\n2. **SMS の受信拒否**を解除する",
    )
    .await;
    b.shot("new-article").await;
    b.click("#article-publish").await;
    b.on_page("help-edit-article").await;
    assert_eq!(
        b.attr("#version-status", "data-status").await.as_deref(),
        Some("published")
    );
    b.shot("published").await;
    b.close().await;

    // A signed-out reader in Japanese finds it from /help and votes.
    let Some(mut r) = Browser::start("help-reader-ja", "ja", &t.base).await else {
        return;
    };
    r.goto("/help").await;
    r.on_page("help").await;
    assert!(r
        .text("#help-categories")
        .await
        .contains("ログインとパスワード"));
    r.shot("help-home").await;
    r.click("#help-newest a").await;
    r.on_page("help-article").await;
    assert_eq!(r.text("#article-title").await, "認証コードが届かないとき");
    assert!(
        !r.has("#fallback-note").await,
        "Japanese for a Japanese reader"
    );
    assert!(r.text("#article-body strong").await.contains("SMS"));
    r.click("#vote-yes").await;
    r.on_page("help-article").await;
    let thanks = r.text_with("#vote-thanks", "ありがとう").await;
    assert!(thanks.contains("ありがとう"), "{thanks}");
    assert_eq!(
        r.attr("#vote-yes", "aria-pressed").await.as_deref(),
        Some("true")
    );
    r.shot("voted").await;
    let url = r
        .client()
        .current_url()
        .await
        .expect("url")
        .path()
        .to_string();
    r.close().await;

    // A reader in Traditional Chinese: the Japanese text, with the note.
    let Some(mut z) = Browser::start("help-reader-zh-tw", "zh-TW", &t.base).await else {
        return;
    };
    z.goto(&url).await;
    z.on_page("help-article").await;
    let note = z.text("#fallback-note").await;
    assert!(
        note.contains("繁體中文") && note.contains("日本語"),
        "{note}"
    );
    assert_eq!(z.text("#article-title").await, "認証コードが届かないとき");
    z.shot("fallback").await;
    z.close().await;
    let yes = crate::support::scalar(&t, "SELECT COUNT(*) FROM help_votes WHERE helpful = 1").await;
    assert_eq!(yes, 1);
}
