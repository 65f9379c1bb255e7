//! New tickets read the desk's configuration (teams, members, calendars,
//! SLA policies, forms) from the node's copy, kept for a second: a change
//! made through this node's administration still applies to the very next
//! ticket, with the copy already warm.

use crate::desk_routing::{open, put};
use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const TEAMS: &str = "/api/v1/desk/admin/teams";
const POLICIES: &str = "/api/v1/desk/admin/sla-policies";

async fn ticket(t: &TestApp, agent: &str, reference: &str) -> Value {
    let (status, ticket) = t
        .get(Some(agent), &format!("/api/v1/desk/tickets/{reference}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    ticket
}

async fn a_change_applies_to_the_next_ticket_on_this_node(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    let ann = t.staff("ann@example.com", "agent").await;
    let ann_id: i64 = scalar(
        &t,
        "SELECT id FROM accounts WHERE email = 'ann@example.com'",
    )
    .await;
    let forgot = |n: usize| {
        let t = &t;
        async move {
            open(
                t,
                &format!("p{n}@example.com"),
                "zh-CN",
                "忘记密码",
                "我忘记密码了，怎么重置？",
            )
            .await
        }
    };
    // Warms the copy: the default team, nobody assigned.
    let first = ticket(&t, &ann, &forgot(0).await).await;
    assert_eq!(first["team"], "general", "{first}");
    // A team made now takes the next ticket, though the copy is fresh.
    let body = json!({ "slug": "passwords", "name": "Passwords",
        "categories": ["forgot_password"], "languages": ["zh-CN"], "calendar_id": 1 });
    let (status, made) = t.post_as(&admin, TEAMS, body).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let second = ticket(&t, &ann, &forgot(1).await).await;
    assert_eq!(second["team"], "passwords", "{second}");
    assert!(second["assignee_id"].is_null(), "{second}");
    // Its first member gets the next one.
    let member = format!("{TEAMS}/passwords/members/{ann_id}");
    let (status, body) = put(&t, &admin, &member, json!({ "cap": 5 })).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let third = ticket(&t, &ann, &forgot(2).await).await;
    assert_eq!(third["assignee_id"], ann_id, "{third}");
    // New SLA targets start the next ticket's clocks.
    let policies = json!({ "policies": [{ "first_response": 7, "resolution": 600 }] });
    let (status, body) = put(&t, &admin, POLICIES, policies).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let fourth = forgot(3).await;
    let target: i64 = scalar(
        &t,
        &format!(
            "SELECT c.target_minutes FROM desk_sla_clocks c JOIN desk_tickets t ON t.id = c.ticket_id
             WHERE t.reference = '{fourth}' AND c.metric = 'first_response'"
        ),
    )
    .await;
    assert_eq!(target, 7);
    // A form changed now checks the next ticket of its category.
    let user = t
        .signed_up("user@example.com", "correct horse battery")
        .await;
    let other =
        json!({ "category": "other", "subject": "Billing", "body": "Question about my bill" });
    let (status, opened) = t
        .post_as(&user, "/api/v1/desk/tickets", other.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let form = json!({
        "required": ["subject", "body"], "optional": [],
        "custom": [{ "id": "order_number", "kind": { "type": "number" }, "required": true, "max_len": 20 }],
    });
    let (status, saved) = put(&t, &admin, "/api/v1/desk/forms/other", form).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, problem) = t.post_as(&user, "/api/v1/desk/tickets", other).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "fields.order_number");
}
both!(a_change_applies_to_the_next_ticket_on_this_node);
