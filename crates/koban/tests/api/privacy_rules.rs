//! Retention per kind of data and regional rules (issue 15 §5) through
//! HTTP and the daily `privacy_retention` job: closed tickets and old files
//! deleted after their days, the audit log pruned behind a signed
//! checkpoint, a region's shorter retention applied to its accounts only,
//! a region whose tickets must not be exported getting an archive without
//! them and a localized reason; the erasure of organization memberships
//! and uploaded files; and bad settings refused at start.

use crate::desk::digits;
use crate::desk_attachments::upload;
use crate::support::TestApp;
use koban::audit::{self, Record};
use koban_policy::privacy::DAY_MS;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

/// Waits until `table_where` (a `COUNT(*)` condition) counts `want`.
async fn counts(t: &TestApp, table_where: &str, want: i64) {
    for _ in 0..200 {
        if t.count(table_where).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(t.count(table_where).await, want, "{table_where}");
}

/// Runs the retention job and waits until that run is done. The worker
/// may also be running the job's own daily turn (it is due when the server
/// starts), so this waits for at least one more finished run and for no run
/// due or under way, rather than for exactly one more.
async fn retention(t: &TestApp) {
    let kind = "jobs WHERE kind = 'privacy_retention' AND";
    let done = format!("{kind} status = 'done'");
    let before = t.count(&done).await;
    t.run_job_now("privacy_retention").await;
    for _ in 0..200 {
        let now = koban::store::now_ms();
        let due = format!("{kind} status = 'pending' AND run_at <= {now}");
        let running = format!("{kind} status = 'running'");
        if t.count(&done).await > before && t.count(&due).await == 0 && t.count(&running).await == 0
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the retention job did not finish");
}

/// Opens a ticket as `token`, with a file when `file` names one; returns
/// its reference number.
async fn ticket(t: &TestApp, token: &str, subject: &str, file: Option<&str>) -> String {
    let mut body = json!({ "subject": subject, "body": format!("{subject}: please help") });
    if let Some(name) = file {
        let text = format!("log of {subject}\n").into_bytes();
        let (status, up) = upload(t, Some(token), name, text, "attachment").await;
        assert_eq!(status, StatusCode::CREATED, "{up}");
        body["attachments"] = json!([up["token"]]);
    }
    let (status, opened) = t.post_as(token, "/api/v1/desk/tickets", body).await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    digits(&opened["reference"])
}

async fn close(t: &TestApp, reference: &str, at: i64) {
    t.exec(&format!(
        "UPDATE desk_tickets SET status = 'closed', closed_at = {at} WHERE reference = '{reference}'"
    ))
    .await;
}

fn ago(days: i64) -> i64 {
    koban::store::now_ms() - days * DAY_MS
}

async fn closed_tickets_and_old_files_go_after_their_days(t: TestApp) {
    let owner = t.signed_up("mali@example.com", PASSWORD).await;
    let old_closed = ticket(&t, &owner, "old closed", Some("a.log")).await;
    let open = ticket(&t, &owner, "still open", Some("b.log")).await;
    let new_closed = ticket(&t, &owner, "closed yesterday", None).await;
    close(&t, &old_closed, ago(31)).await;
    close(&t, &new_closed, ago(1)).await;
    // The open ticket is old too, and its file older than 10 days.
    t.exec(&format!(
        "UPDATE desk_tickets SET created_at = {} WHERE reference = '{open}'",
        ago(100)
    ))
    .await;
    t.exec(&format!(
        "UPDATE desk_attachments SET created_at = {}",
        ago(11)
    ))
    .await;
    let old_id = t
        .count(&format!(
            "desk_tickets WHERE reference = '{old_closed}' AND id > 0"
        ))
        .await;
    assert_eq!(old_id, 1);

    retention(&t).await;

    // The ticket closed 31 days ago is gone with everything of it.
    assert_eq!(
        t.count(&format!("desk_tickets WHERE reference = '{old_closed}'"))
            .await,
        0
    );
    for table in ["desk_messages", "desk_events", "desk_attachments"] {
        assert_eq!(
            t.count(&format!(
                "{table} WHERE ticket_id NOT IN (SELECT id FROM desk_tickets)"
            ))
            .await,
            0,
            "{table}"
        );
    }
    let (status, _) = t
        .get(Some(&owner), &format!("/api/v1/desk/tickets/{old_closed}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Open and recently closed tickets stay; the open one's old file goes,
    // recorded on the ticket.
    for reference in [&open, &new_closed] {
        let (status, shown) = t
            .get(Some(&owner), &format!("/api/v1/desk/tickets/{reference}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        assert_eq!(shown["attachments"], json!([]), "{shown}");
    }
    assert_eq!(t.count("desk_attachments").await, 0);
    assert_eq!(
        t.count("desk_events WHERE kind = 'attachment_deleted' AND detail LIKE '%retention%'")
            .await,
        1
    );
}
both!(
    closed_tickets_and_old_files_go_after_their_days,
    |c: &mut koban::config::Config| {
        c.privacy_ticket_days = 30;
        c.privacy_attachment_days = 10;
    }
);

async fn by_default_tickets_and_files_are_kept(t: TestApp) {
    let owner = t.signed_up("nok@example.com", PASSWORD).await;
    let reference = ticket(&t, &owner, "kept", Some("c.log")).await;
    close(&t, &reference, 1_000).await;
    t.exec("UPDATE desk_attachments SET created_at = 1000")
        .await;
    retention(&t).await;
    assert_eq!(t.count("desk_tickets").await, 1);
    assert_eq!(t.count("desk_attachments").await, 1);
}
both!(by_default_tickets_and_files_are_kept);

async fn the_audit_log_is_pruned_behind_a_signed_checkpoint(t: TestApp) {
    let details = json!({});
    for (scope, at) in [
        ("platform", 1_000),
        ("platform", 2_000),
        ("platform", ago(0)),
        ("org:5", 1_000),
    ] {
        let mut change = t.app.store.change().await.expect("change");
        audit::append_in(
            &t.app.store,
            &mut change,
            scope,
            at,
            &[Record {
                actor: "system:test",
                action: "test.entry",
                target: "account:1",
                details: &details,
            }],
        )
        .await
        .expect("append");
        change.commit().await.expect("commit");
    }
    retention(&t).await;
    assert_eq!(
        t.count("audit_entries WHERE action = 'test.entry'").await,
        1
    );
    assert_eq!(
        t.count("audit_checkpoints WHERE scope = 'platform' AND seq = 2")
            .await,
        1
    );
    assert_eq!(t.count("audit_checkpoints WHERE scope = 'org:5'").await, 1);
    let verified = audit::verify(&t.app.store, &t.app.key, "platform")
        .await
        .expect("verify");
    assert_eq!(verified.broken, None);
    assert!(!verified.forged_checkpoint);
    assert_eq!(verified.from_seq, 2);
    // The chain goes on from its head.
    audit::append(
        &t.app.store,
        "org:5",
        Record {
            actor: "system:test",
            action: "test.after",
            target: "account:1",
            details: &details,
        },
    )
    .await
    .expect("append");
    let verified = audit::verify(&t.app.store, &t.app.key, "org:5")
        .await
        .expect("verify");
    assert_eq!((verified.broken, verified.checked), (None, 1));
}
both!(
    the_audit_log_is_pruned_behind_a_signed_checkpoint,
    |c: &mut koban::config::Config| {
        c.privacy_audit_days = 1;
    }
);

/// Signs `email` up with a phone of `phone` (its region) and `locale`.
async fn person(t: &TestApp, email: &str, phone: &str, locale: &str) -> (String, i64) {
    let token = t.signed_up(email, PASSWORD).await;
    t.exec(&format!(
        "UPDATE accounts SET phone = '{phone}', locale = '{locale}' WHERE email = '{email}'"
    ))
    .await;
    let (_, me) = t.get(Some(&token), "/api/v1/me").await;
    (token, me["id"].as_i64().expect("id"))
}

async fn export_of(t: &TestApp, token: &str) -> Value {
    let (status, asked) = t.post_as(token, "/api/v1/me/exports", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
    let id = asked["id"].as_i64().expect("id");
    for _ in 0..200 {
        let (_, export) = t
            .get(Some(token), &format!("/api/v1/me/exports/{id}"))
            .await;
        if export["status"] == "ready" {
            let (status, archive) = t
                .get(Some(token), &format!("/api/v1/me/exports/{id}/download"))
                .await;
            assert_eq!(status, StatusCode::OK);
            return archive;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("export {id} never became ready");
}

async fn a_region_keeps_less_and_may_withhold_its_tickets(t: TestApp) {
    let (th, th_id) = person(&t, "somchai@example.th", "+66812345678", "th").await;
    let (jp, jp_id) = person(&t, "aiko@example.jp", "+81312345678", "ja").await;
    let other = t.signed_up("ken@example.com", PASSWORD).await;
    let (_, me) = t.get(Some(&other), "/api/v1/me").await;
    let other_id = me["id"].as_i64().expect("id");
    let mut references = vec![];
    for token in [&th, &jp, &other] {
        let reference = ticket(&t, token, "cannot sign in", None).await;
        close(&t, &reference, ago(2)).await;
        references.push(reference);
    }
    t.exec(&format!("UPDATE login_attempts SET at = {}", ago(2)))
        .await;
    t.exec(&format!("UPDATE deliveries SET created_at = {}", ago(2)))
        .await;
    for id in [th_id, jp_id, other_id] {
        assert!(
            t.count(&format!("login_attempts WHERE account_id = {id}"))
                .await
                > 0
        );
        assert!(
            t.count(&format!("deliveries WHERE account_id = {id}"))
                .await
                > 0
        );
    }

    retention(&t).await;

    // Thailand's one-day rules hold for the Thai account only.
    let kept = |id: i64| {
        [
            format!("login_attempts WHERE account_id = {id}"),
            format!("deliveries WHERE account_id = {id}"),
            format!("desk_tickets WHERE requester_account_id = {id}"),
        ]
    };
    for table in kept(th_id) {
        assert_eq!(t.count(&table).await, 0, "{table}");
    }
    for id in [jp_id, other_id] {
        for table in kept(id) {
            assert!(t.count(&table).await > 0, "{table}");
        }
    }

    // Japan's tickets stay home: the archive says why, in Japanese.
    let archive = export_of(&t, &jp).await;
    assert_eq!(archive["tickets"], json!([]), "{archive}");
    assert_eq!(archive["messages"], json!([]), "{archive}");
    assert_eq!(archive["withheld"]["region"], "JP");
    assert_eq!(
        archive["withheld"]["sections"],
        json!(["tickets", "messages"])
    );
    let reason = archive["withheld"]["reason"].as_str().expect("reason");
    assert!(reason.contains("お問い合わせ"), "{reason}");
    assert!(archive["account"]["email"] == "aiko@example.jp");
    // Elsewhere the tickets are in the archive and nothing is withheld.
    let archive = export_of(&t, &other).await;
    assert_eq!(archive["tickets"].as_array().map(Vec::len), Some(1));
    assert!(archive["messages"]
        .as_array()
        .is_some_and(|m| !m.is_empty()));
    assert!(archive.get("withheld").is_none(), "{archive}");
}
both!(
    a_region_keeps_less_and_may_withhold_its_tickets,
    |c: &mut koban::config::Config| {
        c.privacy_regional_rules =
            "TH: sign_in_history=1, tickets=1, delivery_records=1; JP: export_tickets=false".into();
    }
);

async fn erasure_takes_memberships_and_files(t: TestApp) {
    use crate::orgs::{member, new_org};
    let owner = t.signed_up("boss@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Acme").await;
    let email = "leaving@example.com";
    let leaving = member(&t, &owner, org, email, &["member"]).await;
    let (_, me) = t.get(Some(&leaving), "/api/v1/me").await;
    let account = me["id"].as_i64().expect("id");
    ticket(&t, &leaving, "with a file", Some("mine.log")).await;
    let (status, _) = upload(
        &t,
        Some(&leaving),
        "later.log",
        b"x\n".to_vec(),
        "attachment",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        t.count(&format!("org_members WHERE account_id = {account}"))
            .await,
        1
    );
    assert_eq!(t.count("desk_attachments").await, 1);

    t.stepped_up(&leaving, email).await;
    let (status, _) = t.post_as(&leaving, "/api/v1/me/deletion", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    t.exec("UPDATE privacy_deletions SET erase_after = 1").await;
    t.run_job_now("privacy_deletions").await;
    counts(&t, "privacy_deletions WHERE status = 'erased'", 1).await;

    for table in [
        "org_members",
        "org_onboarding_acks",
        "org_support_subscriptions",
    ] {
        assert_eq!(
            t.count(&format!("{table} WHERE account_id = {account}"))
                .await,
            0,
            "{table}"
        );
    }
    assert_eq!(
        t.count(&format!("org_invites WHERE contact = '{email}'"))
            .await,
        0
    );
    assert_eq!(t.count("org_members").await, 1, "the owner stays");
    assert_eq!(t.count("desk_attachments").await, 0);
    assert_eq!(t.count("desk_uploads").await, 0);
    // The organization no longer lists them.
    let (status, members) = t
        .get(Some(&owner), &format!("/api/v1/orgs/{org}/members"))
        .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert!(!members.to_string().contains(email), "{members}");
}
both!(erasure_takes_memberships_and_files);

#[tokio::test]
async fn bad_privacy_settings_stop_the_start() {
    type Change = fn(&mut koban::config::Config);
    let cases: [(Change, &str); 5] = [
        (
            |c| c.privacy_regional_rules = "XX: tickets=3".into(),
            "privacy_regional_rules: rule 1: `XX` is not an ISO 3166-1",
        ),
        (
            |c| c.privacy_regional_rules = "TH: tickets=-3".into(),
            "a regional retention is at least 1 day",
        ),
        (
            |c| c.privacy_regional_rules = "TH: audit_log=3".into(),
            "the audit log has no region",
        ),
        (
            |c| c.privacy_ticket_days = -1,
            "privacy_ticket_days: must not be negative",
        ),
        (
            |c| c.privacy_audit_days = -5,
            "privacy_audit_days: must not be negative",
        ),
    ];
    for (change, says) in cases {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().join("data");
        let db = dir.path().join("k.db");
        let mut config =
            crate::support::test_config(&format!("sqlite://{}?mode=rwc", db.display()), &data);
        change(&mut config);
        match koban::app::start(config).await {
            Err(koban::app::StartError::Config(message)) => {
                assert!(message.contains(says), "{says}: {message}")
            }
            Err(other) => panic!("{says}: {other}"),
            Ok(_) => panic!("{says}: started"),
        }
        // Refused before anything was created on disk.
        assert!(!data.exists() && !db.exists(), "{says}");
    }
}

async fn a_withheld_regions_tickets_leave_the_survey_export(t: TestApp) {
    use crate::surveys::{open, solve};
    let (jp, _) = person(&t, "hana@example.jp", "+81312345678", "ja").await;
    let other = t.signed_up("lee@example.com", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let supervisor = t.staff("lead@example.com", "supervisor").await;
    let mut references = vec![];
    for (token, email) in [(&jp, "hana@example.jp"), (&other, "lee@example.com")] {
        let reference = open(&t, token, "survey me").await;
        solve(&t, &agent, &reference, email).await;
        references.push(reference);
    }
    counts(&t, "desk_surveys", 2).await;
    let day = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    let response = t
        .http
        .get(t.url(&format!(
            "/api/v1/desk/reports/satisfaction/export?from={day}&to={day}&tz=UTC"
        )))
        .bearer_auth(&supervisor)
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK);
    let csv = response.text().await.expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    let digits_of = |line: &str| -> String {
        line.chars()
            .take_while(|c| *c != ',')
            .filter(char::is_ascii_digit)
            .collect()
    };
    assert_eq!(digits_of(lines[1]), digits_of(&references[1]), "{csv}");
    assert!(
        lines
            .iter()
            .all(|l| digits_of(l) != digits_of(&references[0])),
        "{csv}"
    );
}
both!(
    a_withheld_regions_tickets_leave_the_survey_export,
    |c: &mut koban::config::Config| {
        c.privacy_regional_rules = "JP: export_tickets=false".into();
    }
);

/// The privacy page says a region's tickets are withheld before the person
/// asks for the archive, in their language; other regions see no note.
async fn the_privacy_page_says_tickets_are_withheld_before_asking(t: TestApp) {
    use crate::security_pages::Pages;
    person(&t, "mio@example.jp", "+81312345678", "ja").await;
    person(&t, "somchai@example.com", "+66812345678", "th").await;
    for (email, note) in [
        ("mio@example.jp", Some("（JP）の規定により")),
        ("somchai@example.com", None),
    ] {
        let mut p = Pages::new(&t).await;
        p.sign_in(email, PASSWORD).await;
        let response = p.get("/account/privacy").await;
        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await.expect("html");
        assert_eq!(
            html.contains("id=\"export-withheld\""),
            note.is_some(),
            "{email}"
        );
        if let Some(words) = note {
            assert!(html.contains(words), "{html}");
        }
    }
}
both!(
    the_privacy_page_says_tickets_are_withheld_before_asking,
    |c: &mut koban::config::Config| {
        c.privacy_regional_rules = "JP: export_tickets=false".into();
    }
);
