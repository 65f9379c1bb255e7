//! `koban demo` on both databases: the small demo fills an empty
//! database, the printed administrator and agent sign in through HTTP,
//! the agent's queue has tickets, the reports count them, search finds a
//! Japanese and a Thai ticket by their words, and a second run refuses
//! without changing anything.

use crate::support::{eventually, TestApp};
use koban::demo::{self, DemoError, Size};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn signed_in(t: &TestApp, (identifier, password): &(String, String)) -> String {
    let (status, body) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": identifier, "password": password }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{identifier}: {body}");
    body["session"]["token"]
        .as_str()
        .expect("token")
        .to_string()
}

/// The first ticket in `items` whose subject has a character in `range`.
fn subject_in(items: &[Value], range: std::ops::RangeInclusive<char>) -> (String, String) {
    let hit = items
        .iter()
        .find(|i| {
            i["subject"]
                .as_str()
                .is_some_and(|s| s.chars().any(|c| range.contains(&c)))
        })
        .unwrap_or_else(|| panic!("no ticket with a subject in {range:?}"));
    let field = |name: &str| hit[name].as_str().expect(name).to_string();
    (field("reference"), field("subject"))
}

async fn demo_fills_an_empty_desk_once(t: TestApp) {
    let quiet = |_: &str, _: u64, _: u64| {};
    let made = demo::run(&t.app, Size::Small, &quiet).await.expect("demo");
    assert_eq!(made.tickets, 40, "{made:?}");
    assert_eq!(made.statuses.values().sum::<usize>(), 40, "{made:?}");
    for status in ["new", "open", "solved"] {
        assert!(made.statuses.contains_key(status), "{status}: {made:?}");
    }
    assert!(
        made.surveys_answered > 0 && made.two_factor > 0 && made.locked > 0,
        "{made:?}"
    );
    assert_eq!(
        crate::support::scalar(&t, "SELECT COUNT(*) FROM desk_tickets").await,
        40
    );
    // Passwords are stored hashed like any other.
    assert_eq!(
        crate::support::scalar(
            &t,
            &format!(
                "SELECT COUNT(*) FROM accounts WHERE password_hash LIKE '%{}%'",
                made.admin.1
            )
        )
        .await,
        0
    );

    let admin = signed_in(&t, &made.admin).await;
    let agent = signed_in(&t, &made.agent).await;
    signed_in(&t, &made.user).await;

    // The agent's queue: every ticket of the month, newest first.
    let (status, queue) = t
        .get(Some(&agent), "/api/v1/desk/tickets?view=all&limit=100")
        .await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let items = queue["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 40, "{queue}");

    // Reports over the last month have data, some of it breached.
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let from = today.checked_sub(jiff::Span::new().days(31)).expect("date");
    let range = format!("from={from}&to={today}");
    let (status, volume) = t
        .get(
            Some(&admin),
            &format!("/api/v1/desk/reports/volume?{range}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{volume}");
    assert_eq!(volume["total"], 40, "{volume}");
    let busy_days = volume["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g["tickets"].as_i64() > Some(0))
        .count();
    assert!(busy_days >= 10, "spread over the month: {volume}");
    let (status, satisfaction) = t
        .get(
            Some(&admin),
            &format!("/api/v1/desk/reports/satisfaction?{range}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{satisfaction}");
    assert!(
        crate::support::scalar(
            &t,
            "SELECT COUNT(*) FROM desk_sla_clocks WHERE state = 'breached'"
        )
        .await
            > 0
    );

    // Search finds a Japanese ticket and a Thai one by their subjects.
    for (language, range) in [
        ("ja", '\u{3040}'..='\u{30ff}'),
        ("th", '\u{0e00}'..='\u{0e7f}'),
    ] {
        let (reference, subject) = subject_in(&items, range);
        let query: String = url::form_urlencoded::byte_serialize(subject.as_bytes()).collect();
        eventually(
            &format!("the {language} ticket {reference} found"),
            || async {
                let (status, found) = t
                    .get(Some(&agent), &format!("/api/v1/search?q={query}"))
                    .await;
                (status == StatusCode::OK
                    && found["items"].as_array().is_some_and(|hits| {
                        hits.iter().any(|h| h["reference"] == reference.as_str())
                    }))
                .then_some(())
            },
        )
        .await;
    }

    // A second run refuses and changes nothing.
    let accounts = crate::support::scalar(&t, "SELECT COUNT(*) FROM accounts").await;
    let again = demo::run(&t.app, Size::Small, &quiet).await;
    assert!(matches!(again, Err(DemoError::NotEmpty)), "{again:?}");
    assert_eq!(
        crate::support::scalar(&t, "SELECT COUNT(*) FROM accounts").await,
        accounts
    );
    assert_eq!(
        crate::support::scalar(&t, "SELECT COUNT(*) FROM desk_tickets").await,
        40
    );
}
both!(demo_fills_an_empty_desk_once);

/// The same seed makes the same desk: what tests and screenshots rely on.
async fn demo_is_deterministic(t: TestApp) {
    let quiet = |_: &str, _: u64, _: u64| {};
    let made = demo::run(&t.app, Size::Small, &quiet).await.expect("demo");
    let other = TestApp::start(t.db, |_| {}).await;
    let again = demo::run(&other.app, Size::Small, &quiet)
        .await
        .expect("demo");
    assert_eq!(made.statuses, again.statuses);
    assert_eq!(tickets(&t).await, tickets(&other).await);
}

/// Each ticket's subject, language, status and category, in the order
/// opened (not its priority: a running server raises it on a breach).
async fn tickets(t: &TestApp) -> Vec<(String, String, String, String)> {
    use sqlx::Row;
    t.settle().await;
    sqlx::query("SELECT subject, language, status, category FROM desk_tickets ORDER BY id")
        .fetch_all(t.app.store.read())
        .await
        .expect("tickets")
        .iter()
        .map(|r| {
            let text = |i: usize| r.try_get::<String, _>(i).expect("text");
            (text(0), text(1), text(2), text(3))
        })
        .collect()
}
both!(demo_is_deterministic);
