//! The audit chain on both databases: appends keep it intact (concurrent
//! ones too), and a changed, removed or swapped entry, or a forged
//! checkpoint, is named by verify.

use crate::support::TestApp;
use koban::audit::{self, Record, PLATFORM};
use koban_policy::audit::Break;
use reqwest::StatusCode;
use serde_json::json;

async fn append_n(t: &TestApp, scope: &str, n: usize) {
    for i in 0..n {
        let details = json!({ "n": i });
        audit::append(
            &t.app.store,
            scope,
            Record {
                actor: "account:1",
                action: "account.unlock",
                target: &format!("account:{i}"),
                details: &details,
            },
        )
        .await
        .expect("append");
    }
}

async fn verify(t: &TestApp, scope: &str) -> audit::Verification {
    audit::verify(&t.app.store, &t.app.key, scope)
        .await
        .expect("verify")
}

async fn broken(t: &TestApp, scope: &str) -> Option<Break> {
    let v = verify(t, scope).await;
    assert!(!v.forged_checkpoint);
    v.broken
}

async fn exec(t: &TestApp, sql: &str) {
    sqlx::query(sql)
        .execute(t.app.store.write())
        .await
        .expect(sql);
}

/// What someone with the database in hand does first: the guards that
/// refuse UPDATE and DELETE go, so the rows can be edited.
async fn unguard(t: &TestApp) {
    match t.app.store.backend() {
        koban::store::Backend::Sqlite => {
            exec(t, "DROP TRIGGER audit_entries_no_update").await;
            exec(t, "DROP TRIGGER audit_entries_delete_behind_checkpoint").await;
        }
        koban::store::Backend::Postgres => {
            exec(
                t,
                "ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_guard",
            )
            .await;
        }
    }
}

async fn refused(t: &TestApp, sql: &str) -> bool {
    sqlx::query(sql).execute(t.app.store.write()).await.is_err()
}

async fn entries_are_not_changed_or_deleted_outside_retention(t: TestApp) {
    append_n(&t, PLATFORM, 4).await;
    assert!(refused(&t, "UPDATE audit_entries SET actor = 'x' WHERE seq = 2").await);
    assert!(refused(&t, "DELETE FROM audit_entries WHERE seq = 1").await);
    assert_eq!(t.count("audit_entries").await, 4);
    assert_eq!(
        audit::cut(&t.app.store, &t.app.key, PLATFORM, 2, 1_000)
            .await
            .expect("cut"),
        Some(2)
    );
    assert!(refused(&t, "DELETE FROM audit_entries WHERE seq = 3").await);
    assert_eq!(t.count("audit_entries").await, 2);
    assert_eq!(broken(&t, PLATFORM).await, None);
}
both!(entries_are_not_changed_or_deleted_outside_retention);

async fn id_of(t: &TestApp, seq: i64) -> i64 {
    sqlx::query_scalar("SELECT id FROM audit_entries WHERE scope = 'platform' AND seq = $1")
        .bind(seq)
        .fetch_one(t.app.store.read())
        .await
        .expect("id")
}

async fn a_changed_entry_is_named(t: TestApp) {
    append_n(&t, PLATFORM, 6).await;
    unguard(&t).await;
    append_n(&t, "org:7", 2).await;
    assert_eq!(broken(&t, PLATFORM).await, None);
    assert_eq!(verify(&t, PLATFORM).await.checked, 6);
    exec(
        &t,
        "UPDATE audit_entries SET target = 'account:99' WHERE scope = 'platform' AND seq = 3",
    )
    .await;
    assert_eq!(broken(&t, PLATFORM).await, Some(Break::Changed { seq: 3 }));
    assert_eq!(
        broken(&t, "org:7").await,
        None,
        "other scopes are untouched"
    );
}
both!(a_changed_entry_is_named);

async fn a_removed_entry_is_named(t: TestApp) {
    append_n(&t, PLATFORM, 6).await;
    unguard(&t).await;
    exec(
        &t,
        "DELETE FROM audit_entries WHERE scope = 'platform' AND seq = 4",
    )
    .await;
    assert_eq!(broken(&t, PLATFORM).await, Some(Break::Removed { seq: 4 }));
    exec(
        &t,
        "DELETE FROM audit_entries WHERE scope = 'platform' AND seq >= 4",
    )
    .await;
    assert_eq!(
        broken(&t, PLATFORM).await,
        Some(Break::Removed { seq: 4 }),
        "the head still says 6"
    );
}
both!(a_removed_entry_is_named);

async fn swapped_entries_are_named(t: TestApp) {
    append_n(&t, PLATFORM, 6).await;
    unguard(&t).await;
    let (a, b) = (id_of(&t, 2).await, id_of(&t, 5).await);
    // Entries 2 and 5 trade places in the order they were written.
    exec(
        &t,
        &format!("UPDATE audit_entries SET id = -1 WHERE id = {a}"),
    )
    .await;
    exec(
        &t,
        &format!("UPDATE audit_entries SET id = {a} WHERE id = {b}"),
    )
    .await;
    exec(
        &t,
        &format!("UPDATE audit_entries SET id = {b} WHERE id = -1"),
    )
    .await;
    assert_eq!(
        broken(&t, PLATFORM).await,
        Some(Break::Reordered { seq: 2 })
    );
}
both!(swapped_entries_are_named);

async fn a_cut_chain_verifies_from_its_checkpoint_and_a_forged_one_is_refused(t: TestApp) {
    append_n(&t, PLATFORM, 8).await;
    let pruned = audit::cut(&t.app.store, &t.app.key, PLATFORM, 5, 1_000)
        .await
        .expect("cut");
    assert_eq!(pruned, Some(5));
    let v = verify(&t, PLATFORM).await;
    assert_eq!(
        (v.broken, v.forged_checkpoint, v.from_seq, v.checked),
        (None, false, 5, 3)
    );
    append_n(&t, PLATFORM, 2).await;
    assert_eq!(broken(&t, PLATFORM).await, None);
    // No entry 50: nothing is cut.
    assert_eq!(
        audit::cut(&t.app.store, &t.app.key, PLATFORM, 50, 1_000)
            .await
            .expect("cut"),
        None
    );

    // A checkpoint moved later to hide entries after it is not the server's.
    exec(
        &t,
        "UPDATE audit_checkpoints SET seq = 7 WHERE scope = 'platform'",
    )
    .await;
    let v = verify(&t, PLATFORM).await;
    assert!(v.forged_checkpoint);
    exec(
        &t,
        "UPDATE audit_checkpoints SET seq = 5 WHERE scope = 'platform'",
    )
    .await;
    assert!(!verify(&t, PLATFORM).await.forged_checkpoint);
    // Its hash rewritten: forged too.
    exec(
        &t,
        "UPDATE audit_checkpoints SET hash = '00' || substr(hash, 3) WHERE scope = 'platform'",
    )
    .await;
    assert!(verify(&t, PLATFORM).await.forged_checkpoint);
}
both!(a_cut_chain_verifies_from_its_checkpoint_and_a_forged_one_is_refused);

async fn concurrent_appends_keep_the_chain(t: TestApp) {
    let mut tasks = Vec::new();
    for w in 0..8 {
        let app = t.app.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let details = json!({ "writer": w, "n": i });
                audit::append(
                    &app.store,
                    PLATFORM,
                    Record {
                        actor: &format!("account:{w}"),
                        action: "test.append",
                        target: "account:0",
                        details: &details,
                    },
                )
                .await
                .expect("append");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    let v = verify(&t, PLATFORM).await;
    assert_eq!((v.broken, v.checked, v.last_seq), (None, 200, 200));

    // The same through the group-commit appender, two scopes mixed.
    let appender = audit::appender::Appender::start(t.app.store.clone(), 64);
    let mut tasks = Vec::new();
    for w in 0..8 {
        let appender = appender.clone();
        tasks.push(tokio::spawn(async move {
            let scope = if w % 2 == 0 { PLATFORM } else { "org:3" };
            for i in 0..25 {
                let details = json!({ "writer": w, "n": i });
                appender
                    .append(
                        scope,
                        Record {
                            actor: "account:1",
                            action: "test.group",
                            target: "account:0",
                            details: &details,
                        },
                    )
                    .await
                    .expect("append");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    let v = verify(&t, PLATFORM).await;
    assert_eq!((v.broken, v.checked), (None, 300));
    let v = verify(&t, "org:3").await;
    assert_eq!((v.broken, v.checked), (None, 100));
    assert!(appender
        .append(
            "org:0",
            Record {
                actor: "a",
                action: "b",
                target: "c",
                details: &json!({})
            }
        )
        .await
        .is_err());
}
both!(concurrent_appends_keep_the_chain);

#[test]
fn scopes_have_one_spelling() {
    for good in ["platform", "org:1", "org:42"] {
        assert!(audit::valid_scope(good), "{good}");
    }
    for bad in [
        "", "org:", "org:0", "org:-1", "org:+1", "org:01", "Platform", "org:x",
    ] {
        assert!(!audit::valid_scope(bad), "{bad}");
    }
}

/// Who may read the platform chain over HTTP: desk admins only; an
/// organization's chain answers 404 until the enterprise domain decides.
async fn the_api_lists_filters_exports_and_verifies_for_admins(t: TestApp) {
    append_n(&t, PLATFORM, 3).await;
    let details = json!({ "note": "=HYPERLINK(\"http://x\")" });
    audit::append(
        &t.app.store,
        PLATFORM,
        Record {
            actor: "@evil",
            action: "test.formula",
            target: "-1+1",
            details: &details,
        },
    )
    .await
    .expect("append");
    let admin = t.staff("admin@example.com", "admin").await;
    let agent = t.staff("agent@example.com", "agent").await;
    let user = t.signed_up("user@example.com", "plum blossom 2026").await;
    let path = "/api/v1/audit/platform/verification";
    assert_eq!(t.get(None, path).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get(Some(&user), path).await.0, StatusCode::FORBIDDEN);
    assert_eq!(t.get(Some(&agent), path).await.0, StatusCode::FORBIDDEN);
    let (status, body) = t.get(Some(&admin), path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["broken"], serde_json::Value::Null);
    assert_eq!(body["checked"], 4);
    for other in ["org:1", "nope"] {
        let (status, _) = t
            .get(Some(&admin), &format!("/api/v1/audit/{other}/verification"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
    }

    let (status, body) = t
        .get(Some(&admin), "/api/v1/audit/platform/entries?limit=2")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"][0]["seq"], 4);
    assert_eq!(body["items"][1]["seq"], 3);
    let cursor = body["next_cursor"].as_str().expect("cursor").to_string();
    let (_, body) = t
        .get(
            Some(&admin),
            &format!("/api/v1/audit/platform/entries?limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(body["items"][0]["seq"], 2);
    assert_eq!(body["items"][1]["seq"], 1);
    assert_eq!(body["next_cursor"], serde_json::Value::Null);
    let (_, body) = t
        .get(
            Some(&admin),
            "/api/v1/audit/platform/entries?target=account%3A1",
        )
        .await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["items"][0]["seq"], 2);
    let (_, body) = t
        .get(
            Some(&admin),
            "/api/v1/audit/platform/entries?action=test.formula&actor=%40evil",
        )
        .await;
    assert_eq!(body["items"][0]["seq"], 4);
    for bad in ["limit=0", "from=5&to=1", "actor=", "cursor=zz"] {
        let (status, body) = t
            .get(
                Some(&admin),
                &format!("/api/v1/audit/platform/entries?{bad}"),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }

    let (status, body) = t
        .get(Some(&admin), "/api/v1/audit/platform/export?format=json")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(4));
    let response = t
        .http
        .get(t.url("/api/v1/audit/platform/export?format=csv&action=test.formula"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("csv");
    assert_eq!(response.status(), StatusCode::OK);
    let csv = response.text().await.expect("text");
    let line = csv.lines().nth(1).expect("a row");
    assert!(line.contains(",'@evil,"), "{line}");
    assert!(line.contains(",'-1+1,"), "{line}");
    assert!(!line.contains(",@evil"), "{line}");
    let (status, _) = t
        .get(Some(&admin), "/api/v1/audit/platform/export?format=xml")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(the_api_lists_filters_exports_and_verifies_for_admins);
