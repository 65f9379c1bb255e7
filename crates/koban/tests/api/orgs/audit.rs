//! An organization's audit log through its own endpoints: auditors read
//! and export it (the export itself recorded), plain members do not,
//! outsiders do not see it exists, and a changed entry is named.

use super::*;
use crate::support::TestApp;
use reqwest::StatusCode;

async fn auditors_read_and_export_the_organizations_log(t: TestApp) {
    let owner = t.signed_up("log-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "=cmd|' /C calc'!A0").await;
    let auditor = member(&t, &owner, org, "log-auditor@example.com", &["auditor"]).await;
    let plain = member(&t, &owner, org, "log-plain@example.com", &["member"]).await;
    let base = format!("/api/v1/orgs/{org}/audit");

    let (status, page) = t
        .get(
            Some(&auditor),
            &format!("{base}/entries?action=member.joined"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().expect("items").len(), 2, "{page}");
    let (status, body) = t.get(Some(&plain), &format!("{base}/entries")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["permission"], "audit.read");
    let rival = t.signed_up("log-rival@example.com", PASSWORD).await;
    new_org(&t, &rival, "Rival").await;
    for path in ["entries", "verification", "export"] {
        let (status, _) = t.get(Some(&rival), &format!("{base}/{path}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // Not through the platform's endpoints either, even for a desk admin.
    let desk = t.staff("log-desk@example.com", "admin").await;
    let (status, _) = t
        .get(Some(&desk), &format!("/api/v1/audit/org:{org}/entries"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // CSV is formula-safe, and the export is in the log.
    let response = t
        .http
        .get(t.url(&format!("{base}/export?format=csv")))
        .bearer_auth(&auditor)
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK);
    let csv = response.text().await.expect("csv");
    assert!(csv.contains("organization.created"), "{csv}");
    let cells = csv.lines().flat_map(|line| line.split(','));
    let risky: Vec<&str> = cells
        .filter(|c| c.starts_with(['=', '+', '-', '@']))
        .collect();
    assert!(risky.is_empty(), "cells a spreadsheet runs: {risky:?}");
    let (status, _) = t
        .get(Some(&auditor), &format!("{base}/export?format=xml"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, exports) = t
        .get(
            Some(&auditor),
            &format!("{base}/entries?action=audit.exported"),
        )
        .await;
    assert_eq!(
        exports["items"].as_array().expect("items").len(),
        1,
        "one export recorded, not the refused one"
    );
    let (status, verification) = t.get(Some(&auditor), &format!("{base}/verification")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verification["broken"], Value::Null, "{verification}");

    // Someone edits an entry in the database: the page names it.
    let guard_off = match t.app.store.backend() {
        koban::store::Backend::Sqlite => "DROP TRIGGER audit_entries_no_update",
        koban::store::Backend::Postgres => {
            "ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_guard"
        }
    };
    t.exec(guard_off).await;
    t.exec(&format!(
        "UPDATE audit_entries SET actor = 'account:999' WHERE scope = 'org:{org}' AND seq = 2"
    ))
    .await;
    let (_, verification) = t.get(Some(&auditor), &format!("{base}/verification")).await;
    assert_eq!(verification["broken"]["seq"], 2, "{verification}");
}
both!(auditors_read_and_export_the_organizations_log);
