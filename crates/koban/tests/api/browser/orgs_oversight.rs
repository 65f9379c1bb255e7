//! An owner oversees their organization in a real headless Chromium: in
//! English reads the audit log and its verification, and starts an access
//! review; then, in Chinese, decides on every member, is refused a
//! sign-off while someone is undecided, signs it off, and reads the
//! members' onboarding progress.

use super::*;
use crate::orgs::{account_id, member, new_org, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_an_owner_oversees_the_organization() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("orgs-oversight", "en", &t.base).await else {
        return;
    };
    let owner = t.signed_up("watch-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Harbor Oversight").await;
    let owner_id = account_id(&t, &owner).await;
    let kim = account_id(
        &t,
        &member(&t, &owner, org, "watch-kim@example.com", &["member"]).await,
    )
    .await;
    let lee = account_id(
        &t,
        &member(&t, &owner, org, "watch-lee@example.com", &["member"]).await,
    )
    .await;

    // The audit log, newest first, in words, and its verification.
    b.goto(&format!("/orgs/{org}/audit")).await;
    b.on_page("signin").await;
    b.sign_in("watch-owner@example.com", PASSWORD).await;
    b.on_page("org-audit").await;
    let verdict = b.text("#verification").await;
    assert!(
        verdict.contains("The chain is intact: 5 entries checked"),
        "{verdict}"
    );
    let log = b.text("#audit-entries").await;
    assert!(log.contains("Created the organization"), "{log}");
    assert!(log.contains("Joined the organization"), "{log}");
    assert!(b.has("#export-csv").await);
    b.shot("audit-log").await;

    // The access report, and a review started.
    b.click("#org-tab-access").await;
    b.on_page("org-access").await;
    let report = b.text("#access-report").await;
    assert!(
        report.contains("Administrator without two-step verification"),
        "{report}"
    );
    b.shot("access-report").await;
    b.click("#review-start").await;
    b.on_page("org-access-review").await;
    assert!(b
        .text_with("#notice", "access review has started")
        .await
        .contains("access review has started"));
    b.shot("review-started").await;

    // In Chinese: keep the owner (nobody else reviews) and Kim, revoke Lee.
    b.switch_language("zh-CN").await;
    b.on_page("org-access-review").await;
    assert!(b
        .text("#review-progress")
        .await
        .contains("已决定 0 / 3 位成员"));
    b.click(&format!("#keep-{owner_id}")).await;
    b.on_page("org-access-review").await;
    assert!(b
        .text_with("#notice", "决定已记录")
        .await
        .contains("决定已记录"));
    b.fill(&format!("#note-{kim}"), "仍在团队中").await;
    b.click(&format!("#keep-{kim}")).await;
    b.on_page("org-access-review").await;
    // One member undecided: the sign-off is refused and says why.
    b.click("#sign-off-submit").await;
    b.on_page("org-access-review").await;
    let alert = b.text("#alert").await;
    assert!(alert.contains("还有 1 名成员尚未决定"), "{alert}");
    assert_eq!(
        t.count("org_access_reviews WHERE signed_off_at IS NOT NULL")
            .await,
        0
    );
    b.shot("sign-off-refused").await;
    b.click(&format!("#revoke-{lee}")).await;
    b.on_page("org-access-review").await;
    b.fill("#signoff-note", "季度审查").await;
    b.click("#sign-off-submit").await;
    b.on_page("org-access-review").await;
    assert!(b
        .text_with("#notice", "已签署确认")
        .await
        .contains("已签署确认"));
    let revoke = b.text("#to-revoke").await;
    assert!(revoke.contains("watch-lee@example.com"), "{revoke}");
    assert_eq!(
        t.count("org_access_reviews WHERE signed_off_at IS NOT NULL AND note = '季度审查'")
            .await,
        1
    );
    b.shot("signed-off").await;

    // The sign-off is in the log, in Chinese.
    b.click("#org-tab-audit").await;
    b.on_page("org-audit").await;
    assert!(b
        .text("#audit-entries")
        .await
        .contains("签署确认了权限审查"));
    assert!(b.text("#verification").await.contains("链条完好"));

    // Onboarding progress, in Chinese.
    b.click("#org-tab-onboarding").await;
    b.on_page("org-onboarding").await;
    let progress = b.text("#onboarding-progress").await;
    assert!(
        progress.contains("两步验证") && progress.contains("未完成"),
        "{progress}"
    );
    assert!(progress.contains("watch-kim@example.com"), "{progress}");
    assert!(b.has("#notice-save").await);
    b.shot("onboarding").await;
    b.close().await;
}
