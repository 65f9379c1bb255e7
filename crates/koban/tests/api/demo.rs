//! `koban demo` on both databases: the small demo fills an empty
//! database, the printed administrator and agent sign in through HTTP,
//! the agent's queue has tickets, the reports count them, search finds a
//! Japanese and a Thai ticket by their words, the enterprise owner finds
//! the company's members, roles, policy, frozen device, intact audit
//! chain, access review, onboarding and support-line tickets, the shop's
//! country rule refuses a sign-in from elsewhere, and a second run refuses
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
    let all = 40 + made.enterprise_tickets;
    assert_eq!(made.enterprise_tickets, 5, "{made:?}");
    assert_eq!(made.tickets, all, "{made:?}");
    assert_eq!(made.statuses.values().sum::<usize>(), all, "{made:?}");
    for status in ["new", "open", "solved"] {
        assert!(made.statuses.contains_key(status), "{status}: {made:?}");
    }
    assert!(
        made.surveys_answered > 0 && made.two_factor > 0 && made.locked > 0,
        "{made:?}"
    );
    assert_eq!(
        crate::support::scalar(&t, "SELECT COUNT(*) FROM desk_tickets").await,
        all as i64
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
    assert_eq!(items.len(), all, "{queue}");

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
    assert_eq!(volume["total"], all, "{volume}");
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

    enterprise_side(&t, &made, &agent).await;

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
        all as i64
    );
}
both!(demo_fills_an_empty_desk_once);

/// `GET path` as `token`, which must answer 200; its body.
async fn read(t: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = t.get(Some(token), path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().expect("items").clone()
}

/// The organizations as their owner, the agent and a stranger meet them.
async fn enterprise_side(t: &TestApp, made: &demo::Summary, agent: &str) {
    assert_eq!(made.organizations, 2, "{made:?}");
    let owner = signed_in(t, &made.enterprise_owner).await;
    let mine = read(t, &owner, "/api/v1/orgs").await;
    let mine = mine.as_array().expect("memberships");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["organization"]["plan"], "enterprise", "{mine:?}");
    assert_eq!(mine[0]["roles"], json!(["owner"]), "{mine:?}");
    let org = mine[0]["organization"]["id"].as_i64().expect("id");
    let path = |rest: &str| format!("/api/v1/orgs/{org}/{rest}");

    // Members in every built-in role that matters, a custom role, one
    // suspended with a reason, and some of the desk's requesters.
    let members = items(&read(t, &owner, &path("members?limit=100")).await);
    assert!(members.len() >= 12, "{members:?}");
    assert!(
        made.members > members.len(),
        "the shop's members too: {made:?}"
    );
    let roles = read(t, &owner, &path("roles")).await;
    let custom: Vec<&Value> = roles
        .as_array()
        .expect("roles")
        .iter()
        .filter(|r| r["built_in"] == false)
        .collect();
    assert_eq!(custom.len(), 1, "{roles}");
    let holding = |key: &str| {
        members
            .iter()
            .filter(|m| {
                m["roles"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|k| k == key))
            })
            .count()
    };
    for key in [
        "owner",
        "admin",
        "security_admin",
        "auditor",
        "support_contact",
        "member",
        custom[0]["key"].as_str().expect("key"),
    ] {
        assert!(holding(key) >= 1, "{key}: {members:?}");
    }
    let suspended: Vec<&Value> = members
        .iter()
        .filter(|m| m["status"] == "suspended")
        .collect();
    assert_eq!(suspended.len(), 1, "{members:?}");
    assert!(suspended[0]["status_reason"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    assert!(
        members.iter().any(|m| m["email"] == made.user.0.as_str()),
        "the printed requester works there: {members:?}"
    );
    let pending = items(&read(t, &owner, &path("invites")).await);
    assert_eq!(pending.len(), 1, "{pending:?}");

    // The policy, and the phone frozen with its reason.
    let policy = read(t, &owner, &path("policy")).await;
    assert!(
        policy["two_factor_grace_days"].as_i64() > Some(0),
        "{policy}"
    );
    assert!(policy["max_devices"].as_i64() > Some(0), "{policy}");
    assert!(policy["version"].as_i64() >= Some(1), "{policy}");
    let devices = items(&read(t, &owner, &path("devices?limit=100")).await);
    let frozen: Vec<&Value> = devices
        .iter()
        .filter(|d| !d["frozen_at"].is_null())
        .collect();
    assert_eq!(frozen.len(), 1, "{devices:?}");
    assert!(frozen[0]["frozen_reason"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));

    // The audit chain holds every step, intact.
    let check = read(t, &owner, &path("audit/verification")).await;
    assert!(check["broken"].is_null(), "{check}");
    assert!(check["checked"].as_i64() >= Some(30), "{check}");
    for action in [
        "organization.created",
        "organization.plan_changed",
        "domain.verified",
        "role.created",
        "member.joined",
        "member.joined_by_domain",
        "policy.changed",
        "device.frozen",
        "member.suspended",
        "onboarding.acknowledged",
        "access_review.decided",
    ] {
        let found = read(
            t,
            &owner,
            &path(&format!("audit/entries?action={action}&limit=1")),
        )
        .await;
        assert_eq!(items(&found).len(), 1, "{action}: {found}");
    }

    // An access review under way, partly decided; onboarding partly done.
    let reviews = read(t, &owner, &path("access-reviews")).await;
    let review = reviews["in_progress"]
        .as_i64()
        .expect("a review in progress");
    let review = read(t, &owner, &path(&format!("access-reviews/{review}"))).await;
    let decided = review["decided"].as_i64().unwrap_or(0);
    assert!(
        decided > 0 && decided < review["members"].as_i64().unwrap_or(0),
        "{review}"
    );
    let onboarding = items(&read(t, &owner, &path("onboarding?limit=100")).await);
    let acknowledged = onboarding
        .iter()
        .filter(|m| {
            m["items"].as_array().is_some_and(|items| {
                items
                    .iter()
                    .any(|i| i["item"] == "security_notice" && i["done"] == true)
            })
        })
        .count();
    assert!(
        acknowledged > 0 && acknowledged < onboarding.len(),
        "{onboarding:?}"
    );

    // The company's tickets on the enterprise line; the agent sees its panel.
    let tickets = items(&read(t, &owner, &path("tickets?limit=100")).await);
    assert_eq!(tickets.len(), 4, "{tickets:?}");
    assert!(
        tickets.iter().all(|t| t["tier"] == "enterprise"),
        "{tickets:?}"
    );
    let reference = tickets[0]["reference"].as_str().expect("reference");
    let ticket = read(t, agent, &format!("/api/v1/desk/tickets/{reference}")).await;
    assert_eq!(ticket["organization"]["id"], org, "{ticket}");
    assert_eq!(ticket["organization"]["plan"], "enterprise", "{ticket}");

    // The shop allows sign-in from Thailand only: Basel is refused.
    let (status, body) = t
        .send(
            t.http
                .post(t.url("/api/v1/sessions"))
                .header("x-forwarded-for", crate::mmdb::BASEL.ip)
                .json(&json!({ "identifier": made.shop_owner.0, "password": made.shop_owner.1 })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["rule"], "allowed_countries", "{body}");
}

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
