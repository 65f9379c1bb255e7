//! A person invited to an organization, reading Japanese, follows the
//! link of the invitation from their account, joins, works through the
//! organization's security checklist, then creates an organization of
//! their own (a blank name first refused) — in a real headless Chromium.

use super::*;
use crate::orgs::{invitation, invite, new_org};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_an_invitee_joins_and_works_through_the_checklist() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("orgs-home", "ja", &t.base).await else {
        return;
    };
    let owner = t.signed_up("owner@example.jp", PASSWORD).await;
    let org = new_org(&t, &owner, "みなと物流").await;
    let (status, body) = invite(&t, &owner, org, "haruto@example.jp", &["auditor"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (token, _) = invitation(&t, "haruto@example.jp").await;
    t.signed_up_in("haruto@example.jp", PASSWORD, Some("ja"))
        .await;

    // The link, signed out: sign in first, and land on the invitation.
    b.goto(&format!("/invites/{token}")).await;
    b.on_page("signin").await;
    b.sign_in("haruto@example.jp", PASSWORD).await;
    b.on_page("org-invite").await;
    let lead = b.text("#invite-org").await;
    assert!(lead.contains("みなと物流"), "{lead}");
    assert!(
        b.body_text().await.contains("監査担当"),
        "the role in Japanese"
    );
    b.shot("invitation").await;
    b.click("#invite-accept").await;

    // The overview: the organization, the role, the checklist.
    b.on_page("org-overview").await;
    assert!(!b.text("#notice").await.is_empty());
    assert!(b.text("#my-roles").await.contains("監査担当"));
    assert!(
        b.has("#org-tab-audit").await,
        "an auditor reads the audit log"
    );
    assert!(!b.has("#org-tab-access").await, "nor review access");
    assert_eq!(
        b.attr("#item-devices_reviewed", "data-done")
            .await
            .as_deref(),
        Some("false")
    );
    b.shot("checklist").await;
    b.click("#ack-devices_reviewed").await;
    b.on_page("org-overview").await;
    assert_eq!(
        b.attr("#item-devices_reviewed", "data-done")
            .await
            .as_deref(),
        Some("true")
    );
    b.click("#ack-security_notice").await;
    b.on_page("org-overview").await;
    assert_eq!(
        b.attr("#item-security_notice", "data-done")
            .await
            .as_deref(),
        Some("true")
    );
    b.shot("checklist-acknowledged").await;

    // From the account page to the list, and a new organization.
    b.goto("/account").await;
    b.click("#account-orgs-link").await;
    b.on_page("orgs").await;
    assert!(b.has(&format!("#org-{org}")).await);
    b.click("#create-submit").await;
    b.on_page("orgs").await;
    let error = b.text("#name-error").await;
    assert!(
        !error.is_empty() && !error.is_ascii(),
        "said in Japanese: {error}"
    );
    b.shot("blank-name").await;
    b.fill("#name", "はると設計事務所").await;
    b.click("#create-submit").await;
    b.on_page("org-overview").await;
    assert!(b.body_text().await.contains("はると設計事務所"));
    assert!(b.has("#org-tab-members").await, "the owner sees every tab");
    b.shot("created").await;
    b.close().await;
}
