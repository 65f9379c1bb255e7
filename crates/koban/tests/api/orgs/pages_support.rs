//! The organization's support requests page: administrators who follow
//! the organization's tickets list them, subscribe to support's replies
//! (mailed in their own language, never to those who lost the right) and
//! attach evidence to a ticket; everyone else is refused.

use super::*;
use crate::support::{scalar, TestApp};
use serde_json::json;

async fn open_ticket(t: &TestApp, token: &str, subject: &str) -> String {
    let (status, body) = t
        .post_as(
            token,
            "/api/v1/desk/tickets",
            json!({ "subject": subject, "body": "社員のアカウントに見覚えのないログインがありました。" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["reference"].as_str().expect("reference").to_string()
}

async fn reply(t: &TestApp, agent: &str, reference: &str, text: &str) {
    let digits: String = reference.chars().filter(char::is_ascii_digit).collect();
    let (status, body) = t
        .post_as(
            agent,
            &format!("/api/v1/desk/tickets/{digits}/messages"),
            json!({ "body": text, "public": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn mails(t: &TestApp, purpose: &str, to: &str) -> i64 {
    scalar(
        t,
        &format!(
            "SELECT COUNT(*) FROM deliveries WHERE purpose = '{purpose}' AND destination = '{to}'"
        ),
    )
    .await
}

async fn administrators_follow_and_subscribe_to_their_support_line(t: TestApp) {
    let owner = t
        .signed_up_in("su-owner@example.jp", PASSWORD, Some("ja"))
        .await;
    let org = new_org(&t, &owner, "Sakura Support").await;
    let contact = member(
        &t,
        &owner,
        org,
        "su-contact@example.jp",
        &["support_contact"],
    )
    .await;
    member(&t, &owner, org, "su-auditor@example.jp", &["auditor"]).await;
    let agent = t.staff("su-agent@example.com", "agent").await;
    let reference = open_ticket(&t, &contact, "見覚えのないログイン").await;

    let mut owner_pages = pages_of(&t, "su-owner@example.jp").await;
    let path = format!("/orgs/{org}/support");
    let response = owner_pages.get(&path).await;
    let (status, html) = page_after(&mut owner_pages, response).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&reference) && html.contains("見覚えのないログイン"));
    assert!(html.contains("id=\"org-tab-support\""));

    // Not subscribed yet: a reply mails the requester only.
    reply(&t, &agent, &reference, "ログイン履歴を確認しました。").await;
    assert_eq!(mails(&t, "desk_replied", "su-contact@example.jp").await, 1);
    assert_eq!(
        mails(&t, "desk_subscriber_replied", "su-owner@example.jp").await,
        0
    );

    // Subscribed through the page: the next reply mails the owner, in Japanese.
    let response = owner_pages
        .post(&format!("{path}/subscription"), &[("subscribed", "on")])
        .await;
    let (status, html) = page_after(&mut owner_pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(html.contains("id=\"notice\""));
    assert_eq!(
        t.count(&format!("org_support_subscriptions WHERE org_id = {org}"))
            .await,
        1
    );
    let (status, body) = t
        .get(
            Some(&owner),
            &format!("/api/v1/orgs/{org}/support-subscription"),
        )
        .await;
    assert_eq!(
        (status, body["subscribed"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    reply(&t, &agent, &reference, "端末を凍結してください。").await;
    let mail = t
        .newest_delivery_of("desk_subscriber_replied", "su-owner@example.jp")
        .await;
    assert!(
        mail.contains("端末を凍結してください。") && mail.contains("サポートが返信"),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("/support/tickets/{reference}")),
        "{mail}"
    );
    assert_eq!(
        mails(&t, "desk_subscriber_replied", "su-contact@example.jp").await,
        0
    );
    assert_eq!(
        t.count("audit_entries WHERE action = 'support.subscribed'")
            .await,
        1,
        "in the organization's audit chain"
    );

    // Whoever may not follow the tickets sees no page and cannot subscribe.
    let mut auditor = pages_of(&t, "su-auditor@example.jp").await;
    let response = auditor.get(&path).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = auditor
        .post(&format!("{path}/subscription"), &[("subscribed", "on")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.count("org_support_subscriptions").await, 1);

    // Evidence: a kind that is not one changes nothing; the audit excerpt is attached.
    let evidence = format!("{path}/{reference}/evidence");
    let messages = || t.count("desk_messages");
    let before = messages().await;
    let response = owner_pages.post(&evidence, &[("kind", "passwords")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = owner_pages
        .post(
            &format!("{path}/2612-0000-000/evidence"),
            &[("kind", "audit")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(messages().await, before);
    let response = owner_pages.post(&evidence, &[("kind", "audit")]).await;
    let (status, html) = page_after(&mut owner_pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(messages().await, before + 1);

    // A subscriber whose role no longer follows the tickets gets no mail.
    let contact_id = account_id(&t, &contact).await;
    t.exec(&format!(
        "INSERT INTO org_support_subscriptions (org_id, account_id, created_at) VALUES ({org}, {contact_id}, 0)"
    ))
    .await;
    t.exec(&format!(
        "UPDATE org_members SET roles = 'member' WHERE org_id = {org} AND account_id = {contact_id}"
    ))
    .await;
    let owner_mails = mails(&t, "desk_subscriber_replied", "su-owner@example.jp").await;
    reply(&t, &agent, &reference, "凍結を確認しました。").await;
    assert_eq!(
        mails(&t, "desk_subscriber_replied", "su-owner@example.jp").await,
        owner_mails + 1,
        "the owner still follows"
    );
    assert_eq!(
        mails(&t, "desk_subscriber_replied", "su-contact@example.jp").await,
        0,
        "a plain member is not mailed even when subscribed"
    );

    // Unsubscribed: no more mail.
    let response = owner_pages
        .post(&format!("{path}/subscription"), &[("subscribed", "off")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    reply(&t, &agent, &reference, "本件は解決しました。").await;
    assert_eq!(
        mails(&t, "desk_subscriber_replied", "su-owner@example.jp").await,
        owner_mails + 1
    );
}
both!(administrators_follow_and_subscribe_to_their_support_line);
