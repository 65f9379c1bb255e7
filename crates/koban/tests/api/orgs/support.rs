//! The enterprise support line: a support contact's ticket carries the
//! organization and its plan's tier; administrators follow every ticket
//! of the organization; a plain member's ticket is their own.

use super::*;
use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::json;

async fn open_ticket(t: &TestApp, token: &str, subject: &str) -> String {
    let (status, body) = t
        .post_as(
            token,
            "/api/v1/desk/tickets",
            json!({
                "subject": subject,
                "body": "社員の端末が乗っ取られた可能性があります。至急確認をお願いします。",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["reference"].as_str().expect("reference").to_string()
}

async fn the_enterprise_line_carries_the_organization(t: TestApp) {
    let owner = t.signed_up("sl-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Line Corp").await;
    let desk = t.staff("sl-desk@example.com", "admin").await;
    let (status, body) = put(
        &t,
        &desk,
        &format!("/api/v1/orgs/{org}/plan"),
        json!({ "plan": "enterprise" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let contact = member(
        &t,
        &owner,
        org,
        "sl-contact@example.com",
        &["support_contact"],
    )
    .await;
    let security = member(&t, &owner, org, "sl-sec@example.com", &["security_admin"]).await;
    let plain = member(&t, &owner, org, "sl-plain@example.com", &["member"]).await;

    let on_line = open_ticket(&t, &contact, "端末の乗っ取り").await;
    let own = open_ticket(&t, &plain, "パスワードを忘れた").await;
    let digits = |r: &str| r.chars().filter(char::is_ascii_digit).collect::<String>();
    let tier_of = |reference: &str| {
        format!(
            "SELECT COUNT(*) FROM desk_tickets WHERE reference = '{}' AND organization_id = {org} AND tier = 'enterprise'",
            digits(reference)
        )
    };
    assert_eq!(
        scalar(&t, &tier_of(&on_line)).await,
        1,
        "the contact's ticket is on the enterprise line"
    );
    assert_eq!(scalar(&t, &tier_of(&own)).await, 0);
    assert_eq!(
        scalar(
            &t,
            &format!(
                "SELECT COUNT(*) FROM desk_tickets WHERE reference = '{}' AND organization_id IS NULL AND tier = 'standard'",
                digits(&own)
            )
        )
        .await,
        1,
        "a plain member writes for themselves"
    );

    // Administrators follow the organization's tickets; others may not.
    let tickets = format!("/api/v1/orgs/{org}/tickets?open=true");
    let (status, listed) = t.get(Some(&owner), &tickets).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["reference"], on_line.as_str());
    assert_eq!(items[0]["tier"], "enterprise");
    let (status, body) = t.get(Some(&security), &tickets).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["permission"], "support.read_all");
    let outsider = t.signed_up("sl-outsider@example.com", PASSWORD).await;
    let (status, _) = t.get(Some(&outsider), &tickets).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The agent sees the organization beside its ticket; the requester
    // does not see the panel.
    let (status, seen) = t
        .get(
            Some(&desk),
            &format!("/api/v1/desk/tickets/{}", digits(&on_line)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    let panel = &seen["organization"];
    assert_eq!(panel["name"], "Line Corp", "{seen}");
    assert_eq!(panel["plan"], "enterprise");
    assert_eq!(panel["active_members"], 4);
    assert_eq!(panel["open_tickets"], 1);
    assert!(
        panel["recent_audit"]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.len() <= 5),
        "{panel}"
    );
    let (_, own_view) = t
        .get(
            Some(&contact),
            &format!("/api/v1/desk/tickets/{}", digits(&on_line)),
        )
        .await;
    assert_eq!(own_view["organization"], Value::Null, "{own_view}");
    let (_, other) = t
        .get(
            Some(&desk),
            &format!("/api/v1/desk/tickets/{}", digits(&own)),
        )
        .await;
    assert_eq!(other["organization"], Value::Null);
    let page = t
        .http
        .get(t.url(&format!("/desk/tickets/{}", digits(&on_line))))
        .header("cookie", format!("koban_session={desk}"))
        .header("accept-language", "en")
        .send()
        .await
        .expect("console page");
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("page");
    assert!(
        page.contains(r#"id="organization-panel" data-plan="enterprise""#),
        "{page}"
    );
    assert!(page.contains("Line Corp"));
    assert!(page.contains("4 active members, 0 suspended · 1 open tickets"));

    // The owner follows the organization's ticket beside its requester;
    // a security admin (no support.read_all) does not, nor does the owner
    // see a ticket off the line.
    let view = |r: &str| format!("/api/v1/desk/tickets/{}", digits(r));
    let (status, followed) = t.get(Some(&owner), &view(&on_line)).await;
    assert_eq!(status, StatusCode::OK, "{followed}");
    assert_eq!(followed["organization"], Value::Null, "staff only");
    assert_eq!(followed["events"], Value::Null, "staff only");
    let (status, _) = t.get(Some(&security), &view(&on_line)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t.get(Some(&owner), &view(&own)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The owner attaches an audit excerpt and the device list in one step
    // each; the agent reads them on the ticket.
    let evidence = format!("/api/v1/orgs/{org}/tickets/{on_line}/evidence");
    for bad in [
        json!({ "kind": "screenshots" }),
        json!({ "kind": "audit", "extra": true }),
        json!({ "kind": "audit", "note": "x".repeat(2001) }),
    ] {
        let (status, body) = t.post_as(&owner, &evidence, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (status, body) = t
        .post_as(&plain, &evidence, json!({ "kind": "audit" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = t
        .post_as(
            &owner,
            &format!("/api/v1/orgs/{org}/tickets/{own}/evidence"),
            json!({ "kind": "audit" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a ticket not on the line");
    for kind in ["audit", "devices"] {
        let (status, body) = t.post_as(&owner, &evidence, json!({ "kind": kind })).await;
        assert_eq!(status, StatusCode::CREATED, "{kind}: {body}");
    }
    let (_, seen) = t
        .get(
            Some(&desk),
            &format!("/api/v1/desk/tickets/{}", digits(&on_line)),
        )
        .await;
    let files: Vec<&str> = seen["attachments"]
        .as_array()
        .expect("attachments")
        .iter()
        .filter_map(|a| a["file_name"].as_str())
        .collect();
    assert_eq!(files, ["audit-excerpt.csv", "devices.csv"], "{seen}");
    assert!(
        seen["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .any(|m| m["body"]
                .as_str()
                .unwrap_or("")
                .contains("Line Corp attached audit-excerpt.csv")),
        "{seen}"
    );

    // On the standard plan the line is still the organization's, at the
    // standard tier.
    let (status, _) = put(
        &t,
        &desk,
        &format!("/api/v1/orgs/{org}/plan"),
        json!({ "plan": "standard" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let later = open_ticket(&t, &contact, "続報").await;
    assert_eq!(
        scalar(
            &t,
            &format!(
                "SELECT COUNT(*) FROM desk_tickets WHERE reference = '{}' AND organization_id = {org} AND tier = 'standard'",
                digits(&later)
            )
        )
        .await,
        1
    );
}
both!(the_enterprise_line_carries_the_organization);
